//! `git session undo` and `git session redo`: take an operation back (`ops::undo`).

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::oplog::OpLog;
use crate::ops::undo::{self, Pick};
use crate::ops::{self, Site};

/// Take back the last operation (inside a session's worktree: that session's).
///
/// Refs go back, a removed worktree comes back with its files (uncommitted and staged work
/// as they were), a worktree the operation made goes when nobody worked in it since. Refused,
/// changing nothing, when something changed since. `undo` is an operation too: undoing it
/// redoes. A push cannot be unpublished.
#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The operation (`git session op log` lists them); default: the latest one a person ran.
    pub op: Option<String>,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Redo what the last `undo` took back (undo that undo).
#[derive(Debug, clap::Args)]
pub struct RedoArgs {
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: UndoArgs) -> CommandResult {
    // Matched by id: a session named like another's id must not match it.
    let session = ctx
        .current_session()?
        .map(|s| (s.meta.id.clone(), s.meta.name.clone()));
    let pick = match &args.op {
        Some(op) => Pick::Id(op),
        None => Pick::Latest {
            session: session.as_ref().map(|(i, n)| (i.as_str(), n.as_str())),
        },
    };
    undo_and_report(ctx, pick, args.json)
}

pub fn run_redo(ctx: &Context, args: RedoArgs) -> CommandResult {
    let session = ctx
        .current_session()?
        .map(|s| (s.meta.id.clone(), s.meta.name.clone()));
    undo_and_report(
        ctx,
        Pick::Redo {
            session: session.as_ref().map(|(i, n)| (i.as_str(), n.as_str())),
        },
        args.json,
    )
}

fn undo_and_report(ctx: &Context, pick: Pick<'_>, json: bool) -> CommandResult {
    let log = OpLog::new(&ctx.repo.common_dir());
    // One undo at a time, from picking to recording: a second one picks after the first
    // is recorded (and is refused when it would take back the same operation).
    let _one_at_a_time = log.undo_lock()?;
    // The chain moves before the file: a command killed between the two must not make
    // `undo` take back the operation before it.
    let caught_up = log.catch_up(&ctx.repo)?;
    if caught_up > 0 {
        ctx.out.status(&format!(
            "The operation log lacked {caught_up} operation(s) a killed command left out; put them back"
        ));
    }
    // A landing under way (or the git it started, still at work after it was killed) is not
    // in the log yet: picked now, the operation before it would be taken back.
    if crate::transaction::operation_under_way(&ctx.repo) {
        return Err(CommandError::user(
            "an operation is under way (a landing, or the git it started): it is not in the log yet; nothing was changed",
        )
        .hint("undo again once it is done (`git session op log` shows it then)"));
    }
    let record = undo::pick(&log, pick)?;
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let site = Site {
        worktree_dir: &worktree_dir,
        main_root: &main_root,
    };
    let mut tx = ctx.transaction();
    let undone = ops::undo::undo(&mut tx, &ctx.local(), &site, &record, &ctx.out)?;
    tx.finish()?;
    if json {
        return ctx.out.json(&undone);
    }
    for path in &undone.kept {
        ctx.out.warn(&format!(
            "kept the worktree at {} that the operation made: it holds work made since (a plain git worktree now)",
            path.display()
        ));
    }
    for path in &undone.removed {
        ctx.out.status(&format!(
            "Removed the worktree it made at {}",
            path.display()
        ));
    }
    for path in &undone.reverted {
        ctx.out.status(&format!(
            "Put the files of {} back as they were",
            path.display()
        ));
    }
    ctx.out.status(&format!(
        "Undid {} (`{}`)",
        undone.op,
        crate::text::escape(&undone.command)
    ));
    Ok(())
}
