//! `git session trash`: the sessions `rm` deleted, which `restore` brings back.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::restore;

/// List deleted sessions (kept in the trash for session.trashDays).
#[derive(Debug, clap::Args)]
pub struct TrashArgs {
    /// Print them as a JSON array.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: TrashArgs) -> CommandResult {
    let trashed = restore::trashed(&ctx.repo)?;
    // Logs `rm` kept that cannot be read as sessions: said on stderr, with how to look.
    let unreadable = restore::unreadable_in_trash(&ctx.repo, &trashed)?;
    for found in &unreadable {
        ctx.out.status(&format!(
            "{} holds a log that cannot be read as a session (`git show` it; undo of its removal puts it back)",
            crate::text::escape(found)
        ));
    }
    if args.json {
        return ctx.out.json(&trashed);
    }
    if trashed.is_empty() {
        ctx.out.status(if unreadable.is_empty() {
            "the trash is empty"
        } else {
            "the trash holds no readable session"
        });
        return Ok(());
    }
    let mut text = String::new();
    for t in &trashed {
        text.push_str(&format!(
            "{}  {}  deleted {}{}\n",
            crate::text::escape(&t.name),
            t.id,
            t.deleted,
            t.worktree
                .as_ref()
                .map(|p| format!(
                    "  (had a worktree at {})",
                    crate::text::escape(&p.display().to_string())
                ))
                .unwrap_or_default()
        ));
    }
    ctx.out.answer(&text)
}
