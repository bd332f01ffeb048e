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
    // No local session of that name (not one that cannot be read), and one fetched copy of
    // it: shown as it was fetched, read with the same checks as a local session's log.
    let fetched = args
        .name
        .as_deref()
        .filter(|name| !ctx.store().exists(name).unwrap_or(true))
        .and_then(|name| ctx.fetched_copy(name));
    let session = match fetched {
        Some(copy) => {
            let session = ctx.store().read_tip(&copy.name, copy.tip)?;
            let shown = crate::text::shell_word(&copy.display());
            ctx.out.status(&format!(
                "{shown} as fetched: not taken up here (`git session resume {shown}` takes it up)"
            ));
            session
        }
        None => ctx.session(args.name.as_deref())?,
    };
    crate::render::session_detail(ctx, &session, args.json)
}
