//! `git session gc`: retention (see `ops::gc`). Parses the durations, runs the operation,
//! prints each decision and its reason.

use crate::command_context::Context;
use crate::config;
use crate::error::{CommandError, CommandResult};
use crate::ops::gc::{Policy, gc};
use crate::session::time;

/// Archive inactive sessions and purge old trash.
///
/// Reports each decision and its reason.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Inactivity that makes a session stale: 30s, 15m, 12h, 7d, 2w (default:
    /// session.retentionDays, 7 days).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Report what would happen without changing anything.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print the decisions as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: GcArgs) -> CommandResult {
    let config = ctx.config()?;
    let retention = match &args.older_than {
        Some(text) => time::parse_duration(text)
            .filter(|secs| *secs <= 100 * 365 * 86_400)
            .ok_or_else(|| {
                CommandError::usage(format!(
                    "'{text}' is not a duration (use e.g. 30s, 15m, 12h, 7d, 2w)"
                ))
            })?,
        None => config.number(&config::RETENTION_DAYS)? as i64 * 86_400,
    };
    // The trash has its own retention: --older-than judges inactivity only, so a
    // `gc --older-than 0s` right after `rm --force` cannot drop the safety checkpoint.
    let policy = Policy {
        retention,
        trash_days: config.number(&config::TRASH_DAYS)? as i64,
        oplog_days: config.number(&config::OPLOG_DAYS)? as i64,
        now: ctx.repo.now()?,
        dry_run: args.dry_run,
    };
    ctx.main_root()?; // sessions need a main worktree: refuse bare repositories here
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let report = gc(&mut tx, &local, &policy, &ctx.out)?;
    tx.finish()?;
    if report.removed.iter().any(|p| ctx.cwd.starts_with(p))
        && let Ok(root) = ctx.main_root()
    {
        ctx.out.hint(&format!(
            "gc removed the worktree your shell is in: cd {}",
            root.display()
        ));
    }
    if args.json {
        ctx.out.json(&report.decisions)?;
        return Ok(());
    }
    let verb = if args.dry_run { "would " } else { "" };
    let mut text = String::new();
    for d in &report.decisions {
        text.push_str(&format!(
            "{verb}{:<10} {:<30} {}\n",
            d.action,
            crate::text::escape(&d.name),
            crate::text::escape(&d.reason)
        ));
    }
    if text.is_empty() {
        ctx.out.status("nothing to do");
    } else {
        ctx.out.answer(&text)?;
    }
    Ok(())
}
