//! `git session path`: the worktree path of a session, for `cd "$(git session path x)"`.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;

/// Print the absolute path of a session's worktree (exit 1 if it has none here).
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// The session.
    pub name: String,
}

pub fn run(ctx: &Context, args: PathArgs) -> CommandResult {
    let session = ctx.session(Some(&args.name))?;
    match lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)? {
        Some(path) => {
            ctx.out.answer(&path.to_string_lossy())?;
            Ok(())
        }
        None => Err(CommandError::user(format!(
            "session '{}' has no worktree on this machine",
            args.name
        ))
        .hint(format!("`git session resume {}` recreates it", args.name))),
    }
}
