//! `git session doctor`: find, and with `--fix` repair, what killed or crashed commands left
//! (`ops::doctor`).

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::ops::{self, Site};

/// Find (and with --fix repair) what a killed or crashed command left.
///
/// Interrupted checkouts, copies and restores; worktrees git lists that are gone, or that
/// exist but git lost; machine-local records naming missing paths; stale ref locks; records
/// missing from the operation log; unreadable sessions (reported, never deleted). Each
/// finding says what --fix does; whatever it would remove is salvaged into the log first.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Repair what can be repaired.
    #[arg(long)]
    pub fix: bool,
    /// Print the findings as a JSON array.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: DoctorArgs) -> CommandResult {
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let config = ctx.config()?;
    let branch_prefix = config.branch_prefix()?;
    let remote = config.string(&crate::config::REMOTE);
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let mut env = ops::resume::Env {
        tx: &mut tx,
        local: &local,
        site: Site {
            worktree_dir: &worktree_dir,
            main_root: &main_root,
        },
        branch_prefix: &branch_prefix,
        default_remote: &remote,
        reporter: &ctx.out,
    };
    let findings = ops::doctor::doctor(&mut env, args.fix)?;
    tx.finish()?;
    if args.json {
        ctx.out.json(&findings)?;
    } else if findings.is_empty() {
        ctx.out.status("nothing to repair");
    } else {
        let mut text = String::new();
        for f in &findings {
            let state = if f.fixed {
                "fixed"
            } else if args.fix {
                "left"
            } else {
                "found"
            };
            text.push_str(&crate::text::escape(&format!(
                "{state:<6} {:<19} {}: {}",
                f.kind, f.subject, f.problem
            )));
            text.push('\n');
            if !f.fixed {
                text.push_str(&format!("       --fix: {}\n", crate::text::escape(&f.fix)));
            }
        }
        ctx.out.answer(&text)?;
    }
    let open = findings.iter().filter(|f| !f.fixed).count();
    match (open, args.fix) {
        (0, _) => Ok(()),
        (_, false) => Err(
            CommandError::user(format!("{open} thing(s) to look at (see above)"))
                .hint("`git session doctor --fix` repairs what it can"),
        ),
        (_, true) => Err(CommandError::user(format!(
            "{open} thing(s) need a person (see above); the rest was repaired"
        ))),
    }
}
