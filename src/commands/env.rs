//! `git session env`: a session's environment as `export` lines, for
//! `eval "$(git session env)"` in a shell, a Makefile or an agent's setup.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::lifecycle;

/// Print a session's environment as shell `export` lines.
///
/// GIT_SESSION_NAME, GIT_SESSION_ID, GIT_SESSION_PORT (a port of the session's own, from
/// session.portRange, stable for its life and unique among this machine's live sessions),
/// GIT_SESSION_MAIN (the main worktree), GIT_SESSION_BRANCH and GIT_SESSION_WORKTREE.
/// Use it as `eval "$(git session env)"`.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Print the variables as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: EnvArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    let config = ctx.config()?;
    let worktree = lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)?;
    let env = crate::post_create::session_env(
        &ctx.repo,
        &ctx.local(),
        &config,
        &ctx.main_root()?,
        &session,
        worktree.as_deref(),
    )?;
    if args.json {
        ctx.out.json(&env)
    } else {
        ctx.out.answer(&env.exports())
    }
}
