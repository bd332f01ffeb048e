//! `git session show`: one session in detail, with its recent events.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::text::{escape, escape_multiline};

use crate::session_view::{self as view, ViewInputs};

const RECENT_EVENTS: usize = 10;

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
    let local = ctx.local();
    let inputs = ViewInputs::read(&ctx.repo, &local, std::slice::from_ref(&session))?;
    let mut v = view::build(&ctx.repo, &local, &inputs, &session)?;
    if let Some(why) = &v.error {
        ctx.out.warn(&view::cannot_judge(&v, why));
    }
    v.events = Some(ctx.store().events(&session, Some(RECENT_EVENTS))?);
    if args.json {
        ctx.out.json(&v)?;
        return Ok(());
    }
    let mut text = String::new();
    let mut field = |k: &str, val: &str| text.push_str(&format!("{k:<16}{}\n", escape(val)));
    field("name", &v.name);
    field("id", &v.id);
    field("status", &v.status);
    field("branch", &v.branch);
    field("base", &format!("{} ({})", v.base, v.base_ref));
    field(
        "worktree",
        &v.worktree
            .as_ref()
            .map_or_else(|| "-".into(), |p| p.display().to_string()),
    );
    field(
        "changes",
        &v.changes.map_or_else(|| "?".into(), |n| n.to_string()),
    );
    field("ahead", &v.ahead.to_string());
    field("created", &v.created);
    field("last active", &v.last_active);
    field("parent", v.parent.as_deref().unwrap_or("-"));
    field("checkpoints", &v.checkpoints.to_string());
    if let Some(goal) = &v.goal {
        field("goal", goal);
    }
    if let Some(agent) = &v.agent {
        match &agent.session_id {
            Some(id) => field("agent", &format!("{} (session {id})", agent.tool)),
            None => field("agent", &agent.tool),
        }
    }
    text.push_str("\nrecent events:\n");
    for e in v.events.as_deref().unwrap_or_default() {
        text.push_str(&escape_multiline(&format!(
            "  {}  {}: {}\n",
            e.time,
            escape(&e.event),
            escape(&e.message)
        )));
    }
    if let Some(context) = &session.context {
        text.push_str("\ncontext:\n");
        text.push_str(&escape_multiline(context));
    }
    if let Some(handoff) = ctx
        .store()
        .read_file(&session, crate::session::store::HANDOFF_FILE)?
    {
        text.push_str("\nlatest handoff:\n");
        text.push_str(&escape_multiline(&handoff));
    }
    ctx.out.answer(&text)?;
    Ok(())
}
