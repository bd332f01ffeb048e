//! `git session approve`: approve the setup commands the tracked `.git-session.yaml` names,
//! on this machine. A command that arrives with a pull never runs before that (DESIGN §4);
//! the approval is for the exact text, so a changed command needs a new one.

use serde::Serialize;

use crate::config::SHARED_FILE;
use crate::context::Context;
use crate::error::{CommandError, CommandResult};
use crate::setup::{self, Approvals};
use crate::text::escape;

/// Approve the setup commands in .git-session.yaml on this machine.
///
/// Prints the commands it approved. Approvals are kept in the repository's git directory,
/// never pushed, and hold for the exact command text.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
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
    let tracked: Vec<_> = setup::commands(&config)
        .into_iter()
        .filter(|c| c.tracked)
        .collect();
    let mut approvals = Approvals::load(&ctx.repo.common_dir());
    if !args.list {
        let pending: Vec<&str> = tracked
            .iter()
            .filter(|c| !approvals.allows(c))
            .map(|c| c.command.as_str())
            .collect();
        if !pending.is_empty() {
            approvals
                .approve(pending.iter().copied())
                .map_err(|e| CommandError::internal(crate::text::one_line(&e)))?;
        }
        ctx.out.status(&format!(
            "Approved {} setup command(s) from {SHARED_FILE} on this machine",
            pending.len()
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
            .status(&format!("{SHARED_FILE} names no setup commands"));
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
