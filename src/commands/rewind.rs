//! `git session rewind`: make the working tree exactly a checkpoint again. The state before is
//! checkpointed first, so a rewind is undone by rewinding to the id it prints.

use crate::checkpoint;
use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::session::{Event, EventKind, SessionLock};

/// Make the working tree exactly a checkpoint again.
///
/// Restores file contents and modes, files not in it removed (ignored files left
/// alone), HEAD and its branch moved back to the checkpoint's parent, the index matching HEAD.
/// First takes a pre-rewind checkpoint and prints its id.
#[derive(Debug, clap::Args)]
pub struct RewindArgs {
    /// The checkpoint: full id, unique prefix, @ (the latest) or @~N (the N-th before it).
    pub checkpoint: String,
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
}

pub fn run(ctx: &Context, args: RewindArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    let path = super::checkpoint::worktree_of(ctx, &session)?;
    let target = super::checkpoint::resolve(ctx, &session, &args.checkpoint)?;
    // No background scan checkpoints the tree halfway through.
    let lock = SessionLock::acquire(&ctx.repo.common_dir(), &session.meta.id, session.name())
        .map_err(crate::lifecycle::LifecycleError::from)?;
    let pre = restore(ctx, &lock, &session, &path, target)?;
    ctx.touch(&session);
    ctx.out
        .status(&format!("Rewound '{}' to {target}", session.name()));
    if !ctx.cwd.exists() {
        ctx.out.hint(&format!(
            "the directory your shell is in is not in that checkpoint: cd {}",
            path.display()
        ));
    }
    ctx.out.answer(&pre.to_string())?;
    Ok(())
}

/// The worktree at `path` becomes checkpoint `target`, after every precondition is checked
/// and the state it had is checkpointed (returned). Also finishes an interrupted restore.
pub fn restore(
    ctx: &Context,
    lock: &SessionLock,
    session: &crate::session::Session,
    path: &std::path::Path,
    target: crate::git::ObjectId,
) -> CommandResult<crate::git::ObjectId> {
    let worktree = ctx.repo.open_worktree(path)?;
    let snapshot = checkpoint::Snapshot::read(&ctx.repo, target)?;
    // Every precondition (operation in progress, locks, what would be overwritten) is checked
    // before anything is written, the pre-rewind checkpoint included.
    let prepared = checkpoint::prepare_restore(&worktree, &snapshot).map_err(|e| {
        CommandError::from(e).hint(format!("nothing was changed in {}", path.display()))
    })?;
    let store = ctx.store();
    let local = ctx.local();
    // A restore that was interrupted is finished from here: its half-made state is taken too.
    let pre = lifecycle::checkpoint_locked(
        lock,
        &ctx.repo,
        &store,
        &local,
        session,
        path,
        lifecycle::Take::new("pre-rewind").when_pending(lifecycle::WhenPending::Checkpoint),
    )?
    .expect("recorded");
    let undo = format!(
        "git session rewind {} {}",
        &crate::git::short_id(pre.id),
        session.name()
    );
    ctx.out.status(&format!(
        "Saved the current state as {} (undo with `{undo}`)",
        pre.id
    ));
    prepared.apply().map_err(|e| {
        let cause = CommandError::from(e);
        CommandError {
            message: format!(
                "the rewind stopped part-way: {}; checkpoint {} holds the state before",
                cause.message,
                &crate::git::short_id(pre.id)
            ),
            ..cause
        }
        .hint(format!("`{undo}` restores it"))
    })?;
    let detail = format!(
        "to {} (state before: {})",
        &crate::git::short_id(target),
        &crate::git::short_id(pre.id)
    );
    store.record(
        session.name(),
        Event::new(EventKind::Rewound, detail),
        |_, _| {},
    )?;
    Ok(pre.id)
}
