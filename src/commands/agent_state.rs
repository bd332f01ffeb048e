//! `git session agent-state <state> [<name>]`: any agent or script reports what it is doing
//! (`working`, `needs-input`, `idle`, `exited`), as Claude Code's hooks do, so `list`,
//! `show` and the live view can say which session waits for a person. A change into
//! `needs-input` or `idle` runs `session.notify`.

use crate::agent::state::{self, AgentState};
use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::session::Session;

/// Report what the agent in a session is doing.
///
/// Inside a session's worktree no name is needed. `--tool` names the agent (default
/// `agent`). Entering `needs-input`, or `idle` (its turn is over), runs the
/// `session.notify` commands with GIT_SESSION_NAME, GIT_SESSION_ID and GIT_SESSION_STATE set.
#[derive(Debug, clap::Args)]
pub struct AgentStateArgs {
    /// working, needs-input, idle or exited.
    #[arg(value_parser = ["working", "needs-input", "idle", "exited"])]
    pub state: String,
    /// The session (default: the one whose worktree you are in).
    pub name: Option<String>,
    /// Who reports (codex, gemini, a script's name).
    #[arg(long, default_value = "agent")]
    pub tool: String,
}

pub fn run(ctx: &Context, args: AgentStateArgs) -> CommandResult {
    let state = AgentState::parse(&args.state).expect("clap checked it");
    let tool = args.tool.as_str();
    if tool.is_empty() {
        return Err(CommandError::usage(
            "--tool needs a name (codex, gemini, my-script)",
        ));
    }
    if tool.len() > 64 {
        return Err(CommandError::usage(
            "--tool takes a name of at most 64 characters",
        ));
    }
    if !tool
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
    {
        return Err(CommandError::usage(format!(
            "--tool '{}': letters, digits, '-', '_', '.' and '+' only",
            crate::text::escape(tool)
        )));
    }
    let session = match &args.name {
        Some(name) => ctx.session(Some(name))?,
        None => ctx.current_session()?.ok_or_else(|| {
            CommandError::user("not inside a session's worktree: name the session")
        })?,
    };
    if crate::lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)?.is_none() {
        return Err(CommandError::user(format!(
            "session '{}' has no worktree here: no agent can be working in it",
            crate::text::escape(session.name())
        ))
        .hint(format!(
            "`git session resume {}` makes it again",
            crate::text::escape(session.name())
        )));
    }
    report(ctx, &session, tool, state)
}

/// Records `state` for the session's agent and, when it starts needing the person or its
/// turn ends, runs `session.notify` (detached: the agent never waits for it).
pub fn report(ctx: &Context, session: &Session, tool: &str, state: AgentState) -> CommandResult {
    let now = crate::session::time::now_secs();
    let before = state::record(&ctx.local(), &session.meta.id, tool, state, now)?;
    if before != Some(state) && matches!(state, AgentState::NeedsInput | AgentState::Idle) {
        notify(ctx, session, state);
    }
    Ok(())
}

/// Starts each allowed `session.notify` command through `sh -c` in the main worktree, with
/// the session's name and state in its environment; a tracked one only once approved.
fn notify(ctx: &Context, session: &Session, state: AgentState) {
    let Ok(config) = ctx.config() else { return };
    let commands = crate::post_create::commands_of(&config, &crate::config::NOTIFY);
    if commands.is_empty() {
        return;
    }
    let approvals = crate::post_create::Approvals::load(&ctx.repo.common_dir());
    let Ok(root) = ctx.main_root() else { return };
    for command in commands.iter().filter(|c| approvals.allows(c)) {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &command.command])
            .current_dir(&root)
            .env("GIT_SESSION_NAME", &session.meta.name)
            .env("GIT_SESSION_ID", &session.meta.id)
            .env("GIT_SESSION_STATE", state.as_str());
        let _ = crate::git::runner::start_detached(cmd);
    }
}
