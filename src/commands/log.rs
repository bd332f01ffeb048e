//! `git session log`: a session's events, newest first.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::text::escape;

/// Show a session's events newest first: time, event, message, checkpoint id.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Show at most this many events.
    #[arg(short = 'n', long)]
    pub max_count: Option<usize>,
    /// Print the events as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: LogArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    let events = ctx.store().events(&session, args.max_count)?;
    if args.json {
        ctx.out.json(&events)?;
        return Ok(());
    }
    let mut text = String::new();
    for e in &events {
        let ckpt = e
            .checkpoint
            .as_deref()
            .map(|c| format!("  [{}]", &c[..12.min(c.len())]))
            .unwrap_or_default();
        text.push_str(&format!(
            "{}  {}: {}{ckpt}\n",
            e.time,
            escape(&e.event),
            escape(&e.message)
        ));
    }
    ctx.out.answer(&text)?;
    Ok(())
}
