//! `git session status` (`st`): the session you are standing in, as `show` prints it; outside
//! one, a one-line refusal pointing at `list`. Also what `git session` alone shows inside one.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};

/// Show the session whose worktree holds the current directory.
///
/// The same view as `show` with no name; outside a session's worktree it says so and
/// exits 1.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: StatusArgs) -> CommandResult {
    let Some(session) = ctx.current_session()? else {
        return Err(CommandError::user("not inside a session's worktree")
            .hint("run `git session list` to see sessions"));
    };
    crate::render::session_detail(ctx, &session, args.json)
}
