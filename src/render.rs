//! Narration shared by several commands (what happened to a retired worktree), written to the
//! command's output. The one place besides `commands/` that prints: commands call these
//! instead of each other.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::retire::Retirement;

/// Narrates what happened to a worktree; prints its path on stdout when it was kept, with
/// `kept_hint` saying what the user can do about it.
/// `held_by` is the ref that holds the session's log afterwards (the trash ref after `rm`).
pub fn report_retirement(
    ctx: &Context,
    name: &str,
    r: &Retirement,
    kept_hint: &str,
    held_by: &str,
) -> CommandResult {
    if let Some(undone) = &r.interrupted {
        crate::ops::resume::report_undone(&ctx.out, name, undone);
    }
    for path in &r.missing {
        ctx.out.warn(&format!(
            "the worktree of '{name}' at {} was gone (deleted, or moved without `git worktree move`); git's record of it was dropped (anything it had staged is kept in the log)",
            path.display()
        ));
    }
    if let Some(ckpt) = &r.checkpoint {
        ctx.out.status(&format!(
            "Checkpointed the work of '{name}' as {ckpt} (reachable from {held_by})"
        ));
    }
    if let Some(saved) = &r.saved_files {
        ctx.out.status(&format!(
            "Saved the ignored files the session changed or created (no checkpoint holds them) in {}",
            saved.display()
        ));
    }
    match (&r.kept_because, &r.worktree) {
        (Some(why), Some(path)) if !r.removed => {
            ctx.out
                .warn(&format!("kept the worktree of '{name}': {why}"));
            ctx.out.hint(kept_hint);
            ctx.out.answer(&path.to_string_lossy())?;
        }
        (Some(why), _) => ctx.out.warn(&format!("kept {why}")),
        (None, _) => {}
    }
    if r.removed {
        ctx.out.status(&format!("Removed the worktree of '{name}'"));
        if let (Some(path), Ok(root)) = (&r.worktree, ctx.main_root())
            && ctx.cwd.starts_with(path)
        {
            ctx.out.hint(&format!(
                "your shell was in it and now is nowhere: cd {}",
                root.display()
            ));
        }
    }
    if r.branch_deleted {
        ctx.out.status("Deleted its branch");
    }
    Ok(())
}

/// Asks on the terminal whether a setup command from the tracked file may run (and so be
/// approved on this machine); no when stdin or stderr is not a terminal.
pub struct TerminalApprover;

impl crate::post_create::Approver for TerminalApprover {
    fn ask(&self, command: &crate::post_create::SetupCommand) -> bool {
        use std::io::{BufRead, IsTerminal, Write};
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return false;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "{} asks to run `{}` in the new worktree. Run it (and remember this approval on this machine)? [y/N] ",
            crate::config::SHARED_FILE,
            crate::text::escape(&command.command)
        );
        let _ = err.flush();
        drop(err);
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }
}

/// Runs the setup commands in a worktree a command just made (warnings on failure).
pub fn run_setup(
    ctx: &Context,
    session: &crate::session::Session,
    path: &std::path::Path,
) -> CommandResult {
    let config = ctx.config()?;
    crate::post_create::after_create(
        &ctx.repo,
        &ctx.local(),
        &config,
        &ctx.main_root()?,
        session,
        path,
        &TerminalApprover,
        &ctx.out,
    );
    Ok(())
}
