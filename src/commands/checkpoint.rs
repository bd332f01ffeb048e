//! `git session checkpoint`: snapshot the session's working tree (uncommitted and untracked
//! work included) without touching its index, HEAD or files, and print the commit id.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::ops;
use crate::session::Session;

/// Snapshot the working tree and print the checkpoint id.
///
/// A checkpoint is a commit of the whole working tree (untracked files too, ignored ones
/// not) whose parent is HEAD, linked into the session's log. Prints its full id. When
/// nothing changed since the last checkpoint, records nothing and prints the last id.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// What this checkpoint is for.
    #[arg(short, long, default_value = "manual checkpoint")]
    pub message: String,
}

pub fn run(ctx: &Context, args: CheckpointArgs) -> CommandResult {
    if args.message.trim().is_empty() {
        return Err(CommandError::user("a checkpoint message cannot be empty")
            .hint("leave out -m for the default message"));
    }
    let session = ctx.session(args.name.as_deref())?;
    let mut tx = ctx.transaction();
    let recorded =
        ops::checkpoint::record_checkpoint_here(&mut tx, &ctx.local(), &session, &args.message)?;
    tx.finish()?;
    if !recorded.new {
        ctx.out.status("nothing changed since the last checkpoint");
    }
    ctx.touch(&session);
    ctx.out.answer(&recorded.id.to_string())?;
    Ok(())
}

/// The session's worktree here, or an error saying how to get one.
pub fn worktree_of(ctx: &Context, session: &Session) -> CommandResult<std::path::PathBuf> {
    lifecycle::find_worktree(&ctx.repo, &ctx.local(), session)?.ok_or_else(|| {
        CommandError::user(format!(
            "session '{}' has no worktree on this machine",
            session.name()
        ))
        .hint(format!(
            "`git session resume {}` recreates it",
            session.name()
        ))
    })
}

/// Resolves a checkpoint reference (`@`, `@~N`, a full id or unique prefix) in a session.
pub fn resolve(
    ctx: &Context,
    session: &Session,
    spec: &str,
) -> CommandResult<crate::git::ObjectId> {
    let checkpoints = ctx.store().checkpoints(session)?;
    crate::checkpoint::select(&checkpoints, spec).map_err(|e| {
        let hint = match e {
            crate::checkpoint::SelectError::NoCheckpoints => {
                format!("`git session checkpoint {}` takes one", session.name())
            }
            _ => format!("`git session log {}` lists its checkpoints", session.name()),
        };
        CommandError::user(format!("session '{}': {e}", session.name())).hint(hint)
    })
}
