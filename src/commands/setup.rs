//! `git session setup`: run the `session.postCreate` setup commands in a session's worktree
//! again (the runner is `post_create::run_commands`, which `new`, `fork`, `resume` and
//! Claude Code's `WorktreeCreate` use for a new worktree).
//!
//! Commands from the tracked `.git-session.yaml` run only once approved on this machine
//! (`git session approve`, or a y/N prompt when stdin and stderr are a terminal); without
//! approval they are skipped with a line saying how to approve.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::post_create;
use crate::text::escape;

/// Run the session's setup commands (session.postCreate) in its worktree again.
///
/// They run with GIT_SESSION_NAME, GIT_SESSION_ID, GIT_SESSION_PORT, GIT_SESSION_MAIN,
/// GIT_SESSION_BRANCH and GIT_SESSION_WORKTREE set,
/// their output on stderr. Commands from the tracked .git-session.yaml run only once approved
/// on this machine (`git session approve`).
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
}

pub fn run(ctx: &Context, args: SetupArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    let config = ctx.config()?;
    let local = ctx.local();
    let path = lifecycle::find_worktree(&ctx.repo, &local, &session)?.ok_or_else(|| {
        CommandError::user(format!(
            "session '{}' has no worktree on this machine",
            escape(session.name())
        ))
        .hint(format!(
            "`git session resume {}` recreates it (and runs the setup commands)",
            escape(session.name())
        ))
    })?;
    let failed = post_create::run_commands(
        &ctx.repo,
        &local,
        &config,
        &ctx.main_root()?,
        &session,
        &path,
        &crate::render::TerminalApprover,
        &ctx.out,
    )?;
    if failed > 0 {
        return Err(CommandError::user(format!(
            "{failed} setup command(s) failed in '{}'",
            escape(session.name())
        )));
    }
    Ok(())
}
