//! `git session show`: one session in detail, with its recent events.

use crate::command_context::Context;
use crate::error::CommandResult;

/// Show one session and its recent events.
///
/// The same fields as `list --json`, plus its recent events. With no
/// name, the session whose worktree holds the current directory.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: ShowArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    crate::render::session_detail(ctx, &session, args.json)
}
