//! `git session setup`: run the `session.postCreate` setup commands in a session's worktree
//! again; and [`after_create`], which `new`, `fork`, `resume` (when it makes the worktree
//! again) and `claude worktree-create` call to run them in a new worktree.
//!
//! Commands from the tracked `.git-session.yaml` run only once approved on this machine
//! (`git session approve`, or a y/N prompt when stdin and stderr are a terminal); without
//! approval they are skipped with a line saying how to approve.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::command_context::Context;
use crate::config::{Config, SHARED_FILE};
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::port;
use crate::post_create::{self, Approvals, SessionEnv, SetupCommand};
use crate::session::Session;
use crate::text::escape;

/// Run the session's setup commands (session.postCreate) in its worktree again.
///
/// They run with GIT_SESSION_NAME, GIT_SESSION_ID, GIT_SESSION_PORT and GIT_SESSION_MAIN set,
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
    let path = lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)?.ok_or_else(|| {
        CommandError::user(format!(
            "session '{}' has no worktree on this machine",
            escape(session.name())
        ))
        .hint(format!(
            "`git session resume {}` recreates it (and runs the setup commands)",
            escape(session.name())
        ))
    })?;
    let failed = run_commands(ctx, &config, &session, &path)?;
    if failed > 0 {
        return Err(CommandError::user(format!(
            "{failed} setup command(s) failed in '{}'",
            escape(session.name())
        )));
    }
    Ok(())
}

/// Runs the setup commands in a newly made worktree. A failure is a warning (the session
/// exists), with the command that runs them again.
pub fn after_create(ctx: &Context, config: &Config, session: &Session, path: &Path) {
    match run_commands(ctx, config, session, path) {
        Ok(0) => {}
        Ok(_) => ctx.out.hint(&format!(
            "fix it, then run the setup commands again with `git session setup {}`",
            session.name()
        )),
        Err(e) => {
            ctx.out
                .warn(&format!("setup commands not run: {}", e.message));
            ctx.out.hint(&format!(
                "run them with `git session setup {}`",
                session.name()
            ));
        }
    }
}

/// Runs each setup command in `path`; returns how many failed.
fn run_commands(
    ctx: &Context,
    config: &Config,
    session: &Session,
    path: &Path,
) -> CommandResult<usize> {
    let commands = post_create::commands(config);
    if commands.is_empty() {
        return Ok(0);
    }
    let env = session_env(ctx, config, session, Some(path))?;
    let mut approvals = Approvals::load(&ctx.repo.common_dir());
    let mut failed = 0;
    for command in &commands {
        if !approvals.allows(command) && !ask_approval(ctx, &mut approvals, command)? {
            ctx.out.warn(&format!(
                "skipped setup command `{}` from {SHARED_FILE}: not approved on this machine; read it, approve it with `git session approve -- '<the command>'`, then run `git session setup {}`",
                command.command,
                session.name()
            ));
            continue;
        }
        ctx.out
            .status(&format!("Running setup command `{}`", command.command));
        if let Err(e) = post_create::run(&command.command, path, &env) {
            ctx.out.warn(&crate::text::one_line(&e));
            failed += 1;
        }
    }
    Ok(failed)
}

/// On a terminal, asks whether to run (and so approve) a tracked command; false elsewhere.
pub fn ask_approval(
    ctx: &Context,
    approvals: &mut Approvals,
    command: &SetupCommand,
) -> CommandResult<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{SHARED_FILE} asks to run `{}` in the new worktree. Run it (and remember this approval on this machine)? [y/N] ",
        escape(&command.command)
    );
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        return Ok(false);
    }
    approvals
        .approve([command.command.as_str()])
        .map_err(|e| CommandError::internal(crate::text::one_line(&e)))?;
    ctx.out.status("Approved");
    Ok(true)
}

/// The session's environment; assigns its port on first use.
pub fn session_env(
    ctx: &Context,
    config: &Config,
    session: &Session,
    worktree: Option<&Path>,
) -> CommandResult<SessionEnv> {
    let range = config.port_range()?;
    let live: HashSet<String> = ctx
        .store()
        .list()?
        .into_iter()
        .flatten()
        .filter(|s| s.meta.status.is_open())
        .map(|s| s.meta.id)
        .collect();
    let port = port::ensure(&ctx.local(), &live, &session.meta.id, session.name(), range)?;
    Ok(SessionEnv {
        name: session.meta.name.clone(),
        id: session.meta.id.clone(),
        port,
        main: ctx.main_root()?,
        branch: session.meta.branch.clone(),
        worktree: worktree.map(Path::to_owned),
    })
}
