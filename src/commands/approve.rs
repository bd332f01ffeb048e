//! `git session approve`: approve the commands the tracked `.git-session.yaml` names (setup
//! commands, landing checks, the notify command), on this machine. A command that arrives with a pull never runs before that (DESIGN §4);
//! the approval is for the exact text, so a changed command needs a new one.

use serde::Serialize;

use crate::command_context::Context;
use crate::config::SHARED_FILE;
use crate::error::{CommandError, CommandResult};
use crate::post_create::{self, Approvals};
use crate::text::escape;

/// Approve the commands in .git-session.yaml on this machine.
///
/// Setup commands, landing checks (session.preLand) and the notify command (session.notify)
/// alike.
///
/// Prints the commands it approved. Approvals are kept in the repository's git directory,
/// never pushed, and hold for the exact command text.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// Approve exactly these command texts (each must be one the tracked file names). Without
    /// them, each pending command is shown and asked about on a terminal.
    #[arg(value_name = "COMMAND")]
    pub commands: Vec<String>,
    /// Only list the commands and whether they are approved.
    #[arg(long)]
    pub list: bool,
    /// Print the commands as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    command: String,
    approved: bool,
}

pub fn run(ctx: &Context, args: ApproveArgs) -> CommandResult {
    let config = ctx.config()?;
    // Setup commands and landing checks alike.
    let mut tracked: Vec<_> = post_create::commands(&config)
        .into_iter()
        .chain(post_create::commands_of(&config, &crate::config::PRE_LAND))
        .chain(post_create::commands_of(&config, &crate::config::NOTIFY))
        .filter(|c| c.tracked)
        .collect();
    tracked.dedup_by(|a, b| a.command == b.command);
    let mut approvals = Approvals::load(&ctx.repo.common_dir());
    if !args.list {
        let pending: Vec<_> = tracked.iter().filter(|c| !approvals.allows(c)).collect();
        let mut approved = 0;
        if args.commands.is_empty() {
            // Nothing is approved unseen: each command is shown and asked about.
            use std::io::IsTerminal;
            let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            if !pending.is_empty() && !terminal {
                return Err(CommandError::user(format!(
                    "{} command(s) from {SHARED_FILE} wait for approval, and there is no terminal to ask on",
                    pending.len()
                ))
                .hint("read them with `git session approve --list`, then approve each by its exact text: `git session approve -- '<command>'`"));
            }
            for command in &pending {
                use crate::post_create::Approver;
                if crate::render::TerminalApprover.ask(command) {
                    approvals
                        .approve([command.command.as_str()])
                        .map_err(|e| CommandError::internal(crate::text::one_line(&e)))?;
                    ctx.out.status("Approved");
                    approved += 1;
                }
            }
        } else {
            for text in &args.commands {
                let Some(command) = tracked.iter().find(|c| &c.command == text) else {
                    return Err(CommandError::user(format!(
                        "`{}` is not a command {SHARED_FILE} names",
                        escape(text)
                    ))
                    .hint("`git session approve --list` shows them, exactly"));
                };
                if !approvals.allows(command) {
                    approvals
                        .approve([command.command.as_str()])
                        .map_err(|e| CommandError::internal(crate::text::one_line(&e)))?;
                    approved += 1;
                }
            }
        }
        ctx.out.status(&format!(
            "Approved {approved} command(s) from {SHARED_FILE} on this machine"
        ));
    }
    let rows: Vec<Row> = tracked
        .iter()
        .map(|c| Row {
            command: c.command.clone(),
            approved: approvals.allows(c),
        })
        .collect();
    if args.json {
        return ctx.out.json(&rows);
    }
    if tracked.is_empty() {
        ctx.out
            .status(&format!("{SHARED_FILE} names no commands to approve"));
        return Ok(());
    }
    let text: String = rows
        .iter()
        .map(|r| {
            let state = if r.approved { "approved" } else { "pending " };
            format!("{state}  {}\n", escape(&r.command))
        })
        .collect();
    ctx.out.answer(&text)
}
