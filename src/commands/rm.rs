//! `git session rm`: delete a session. Its log moves to refs/sessions-trash/ (recoverable
//! until gc purges it); a worktree with work is kept unless --force, which checkpoints first.

use serde::Serialize;

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::retire::{self, Retirement};
use crate::session::StoreError;

/// Delete a session (its log goes to the trash).
///
/// Its log is moved to refs/sessions-trash/<id>-<tip>. A worktree holding work
/// is kept (its path printed); --force removes it too, after a safety checkpoint.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The session to delete.
    pub name: String,
    /// Remove the worktree and branch even if they hold work (checkpointed first).
    #[arg(long, short)]
    pub force: bool,
    /// Print what happened as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct RmReport {
    name: String,
    trash_ref: String,
    #[serde(flatten)]
    retirement: Retirement,
}

pub fn run(ctx: &Context, args: RmArgs) -> CommandResult {
    let session = match ctx.store().load(&args.name) {
        Ok(session) => session,
        // A session this version cannot read (damaged, or from a newer version) is not
        // garbage: its log goes to the trash as it is; its worktree, if any, is left alone.
        Err(StoreError::Malformed { reason, .. }) => {
            let mut tx = ctx.transaction();
            let trash_ref = tx.trash_unreadable(&args.name)?;
            tx.finish()?;
            ctx.out.warn(&format!(
                "session '{}' is unreadable ({reason}); its worktree, if it has one, is left alone",
                args.name
            ));
            ctx.out.status(&format!(
                "Moved its log to {trash_ref} (kept for session.trashDays)"
            ));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    ctx.main_root()?; // sessions need a main worktree: refuse bare repositories here
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let retirement = retire::retire(&mut tx, &local, &session, args.force)?;
    let trash_ref = tx.trash_session(session.name())?;
    if retirement.worktree.is_none() || retirement.removed {
        tx.local_remove(&local, &session.meta.id);
    }
    tx.finish()?;
    if args.json {
        ctx.out.json(&RmReport {
            name: args.name,
            trash_ref,
            retirement,
        })?;
        return Ok(());
    }
    let path = retirement.worktree.as_ref().map_or_else(
        || "<path>".to_owned(),
        |p| crate::text::escape(&crate::text::shell_quote(&p.to_string_lossy())),
    );
    let branch = crate::text::escape(&session.meta.branch);
    let kept_hint = if retirement.holds_repositories {
        format!(
            "it is a plain git worktree now, holding repositories no checkpoint can keep: move them \
             away, then `git worktree remove {path}` and `git branch -D {branch}`"
        )
    } else if retirement.locked {
        format!(
            "it is a plain git worktree now, locked: unlock it as said above, then \
             `git worktree remove --force {path}` and `git branch -D {branch}`"
        )
    } else {
        format!(
            "it is a plain git worktree now: `git worktree remove --force {path}` and \
             `git branch -D {branch}` delete it once its work is safe elsewhere \
             (`git session rm --force` would have checkpointed the work, then removed it)"
        )
    };
    crate::render::report_retirement(ctx, &args.name, &retirement, &kept_hint, &trash_ref)?;
    ctx.out.status(&format!(
        "Deleted session '{}' (its log is kept as {trash_ref} until gc)",
        args.name
    ));
    Ok(())
}
