//! `git session open <name> [-- <command>…]`: the session's tmux window, made in its
//! worktree when it is not there (`crate::tmux`); without tmux, the path.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};

/// Open a session's tmux window (made in its worktree when missing).
///
/// Inside tmux: switch to the window for that session in the current tmux session, making it
/// when it is not there. Outside tmux: the same in the tmux session
/// `git-session-<repository>`, then attach to it (on a terminal; elsewhere it says how). A new
/// window runs the command given after `--`, else `session.agentCommand` (e.g. `claude`),
/// else a shell; an existing one is only selected. Without tmux it prints the worktree path
/// (as `path` does).
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// The session.
    pub name: String,
    /// What a new window runs (default: session.agentCommand, else a shell).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

impl From<crate::tmux::TmuxError> for CommandError {
    fn from(err: crate::tmux::TmuxError) -> Self {
        CommandError::user(crate::error::one_line(&err))
    }
}

pub fn run(ctx: &Context, args: OpenArgs) -> CommandResult {
    let session = ctx.session(Some(&args.name))?;
    crate::render::open_window(ctx, &session, &args.command)
}
