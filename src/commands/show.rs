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
    let session = match ctx.session(args.name.as_deref()) {
        Ok(session) => session,
        // No local session of that name (not one that cannot be read), and one fetched copy
        // of it: shown as it was fetched.
        Err(e) => match args
            .name
            .as_deref()
            .filter(|name| !ctx.store().exists(name).unwrap_or(true))
            .and_then(|name| fetched(ctx, name))
        {
            Some((copy, shown)) => {
                ctx.out.status(&format!(
                    "{shown} as fetched: not taken up here (`git session resume {shown}` takes it up)"
                ));
                copy
            }
            None => return Err(e),
        },
    };
    crate::render::session_detail(ctx, &session, args.json)
}

/// The one fetched copy `name` (`<remote>/<name>`, or a bare name) stands for, read with the
/// same checks as a local session's log, and how the user names it (escaped).
fn fetched(ctx: &Context, name: &str) -> Option<(crate::session::Session, String)> {
    match crate::session::sync::find_remote(&ctx.repo, name)
        .ok()?
        .as_slice()
    {
        [one] => {
            let session = ctx.store().read_tip(&one.name, one.tip).ok()?;
            Some((session, crate::text::shell_word(&one.display())))
        }
        _ => None,
    }
}
