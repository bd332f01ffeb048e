//! `git session rewind`: make the working tree exactly a checkpoint again. The state before is
//! checkpointed first, so a rewind is undone by `git session undo` (or by rewinding to the id
//! it prints).

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::lifecycle::LifecycleError;
use crate::ops;
use crate::session::SessionLock;

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
        .map_err(LifecycleError::from)?;
    let mut tx = ctx.transaction();
    let pre = ops::rewind::restore(
        &lock,
        &mut tx,
        &ctx.local(),
        &session,
        &path,
        target,
        &ctx.out,
    )?;
    tx.finish()?;
    drop(lock);
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
