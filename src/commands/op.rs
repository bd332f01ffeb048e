//! `git session op log|show`: the operation log, what `undo` takes back (`oplog`).

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::oplog::{OpLog, OpRecord, WorktreeChange};

/// The operation log: every state-changing command, newest first.
///
/// Each operation lists the refs it changed (old and new value), the worktrees it made or
/// removed and the machine-local records it changed. `git session undo <op>` takes one back.
#[derive(Debug, clap::Args)]
pub struct OpArgs {
    #[command(subcommand)]
    pub command: OpCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum OpCommand {
    /// List operations, newest first.
    Log(LogArgs),
    /// Show one operation in full.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// At most this many.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Only operations on this session.
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// Print them as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The operation's id (or a unique prefix of 4 or more digits).
    pub op: String,
    /// Print it as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: OpArgs) -> CommandResult {
    let log = OpLog::new(&ctx.repo.common_dir());
    log.catch_up(&ctx.repo)?;
    match args.command {
        OpCommand::Log(args) => {
            let records: Vec<OpRecord> = log
                .newest_first()?
                .filter(|r| args.session.as_deref().is_none_or(|s| r.touches(s)))
                .take(args.limit)
                .collect();
            if args.json {
                return ctx.out.json(&records);
            }
            if records.is_empty() && args.limit > 0 {
                ctx.out.status("no operations yet");
                return Ok(());
            }
            let mut text = String::new();
            for record in &records {
                text.push_str(&crate::text::escape(&line(record)));
                text.push('\n');
            }
            ctx.out.answer(&text)
        }
        OpCommand::Show(args) => {
            let record = log.find(&args.op)?;
            if args.json {
                return ctx.out.json(&record);
            }
            ctx.out
                .answer(&crate::text::escape_multiline(&detail(&record)))
        }
    }
}

/// One line: id, time, what, which sessions.
fn line(record: &OpRecord) -> String {
    let sessions: Vec<&str> = record.sessions.iter().map(|s| s.name.as_str()).collect();
    let mut flags = Vec::new();
    if record.automatic {
        flags.push("automatic".to_owned());
    }
    if let Some(undid) = &record.undoes {
        flags.push(format!("undoes {undid}"));
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", flags.join(", "))
    };
    format!(
        "{}  {}  {}{flags}  [{}]",
        record.id,
        crate::session::time::format_rfc3339(record.time),
        record.command,
        sessions.join(", ")
    )
}

fn detail(record: &OpRecord) -> String {
    let mut text = format!("{}\n", line(record));
    for change in &record.refs {
        let short = |v: &Option<String>| {
            v.as_deref()
                .map_or("(none)".to_owned(), |h| h.get(..12).unwrap_or(h).to_owned())
        };
        text.push_str(&format!(
            "  ref {}: {} -> {}\n",
            change.name,
            short(&change.old),
            short(&change.new)
        ));
    }
    for change in &record.worktrees {
        text.push_str(&match change {
            WorktreeChange::Created { path, branch, .. } => {
                format!("  worktree made: {} ({branch})\n", path.display())
            }
            WorktreeChange::Removed {
                path, checkpoint, ..
            } => format!(
                "  worktree removed: {}{}\n",
                path.display(),
                checkpoint
                    .as_deref()
                    .map(|c| format!(" (its files: checkpoint {})", c.get(..12).unwrap_or(c)))
                    .unwrap_or_default()
            ),
            WorktreeChange::Moved { from, to, .. } => {
                format!("  worktree moved: {} -> {}\n", from.display(), to.display())
            }
            WorktreeChange::BranchRenamed { from, to, .. } => {
                format!("  branch renamed: {from} -> {to}\n")
            }
            WorktreeChange::Advanced {
                path,
                branch,
                from,
                to,
            } => format!(
                "  {branch} moved in {}: {} -> {}\n",
                path.display(),
                from.get(..12).unwrap_or(from),
                to.get(..12).unwrap_or(to)
            ),
            WorktreeChange::Restored {
                path,
                before,
                after,
                ..
            } => format!(
                "  files of {}: checkpoint {} -> {}\n",
                path.display(),
                before.get(..12).unwrap_or(before),
                after.get(..12).unwrap_or(after)
            ),
        });
    }
    for change in &record.local {
        text.push_str(&format!("  machine-local record of {}\n", change.id));
    }
    for change in &record.files {
        text.push_str(&format!("  file {}\n", change.path.display()));
    }
    if let Some(published) = &record.published {
        text.push_str(&format!(
            "  published to {}: {}\n",
            published.remote,
            published.refs.join(", ")
        ));
    }
    text
}
