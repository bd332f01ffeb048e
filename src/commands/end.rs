//! `git session end`: mark a session complete and tidy up after it, never losing work.

use serde::Serialize;

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::lifecycle::{self, Retirement};
use crate::session::{Event, EventKind, Status};

/// End a session; remove its worktree if nothing would be lost.
///
/// Status becomes complete. A clean worktree (no uncommitted or untracked files, no
/// commits beyond its base or upstream) is removed with its branch; one with work is kept
/// and its path printed. --remove removes it anyway, after a checkpoint that keeps the work
/// reachable from the session's log.
#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Remove the worktree and branch even if they hold work (checkpointed first).
    #[arg(long)]
    pub remove: bool,
    /// Same as --remove.
    #[arg(long, short)]
    pub force: bool,
    /// Print what happened as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct EndReport {
    name: String,
    status: &'static str,
    #[serde(flatten)]
    retirement: Retirement,
}

pub fn run(ctx: &Context, args: EndArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    ctx.main_root()?; // sessions need a main worktree: refuse bare repositories here
    let store = ctx.store();
    let retirement = lifecycle::retire(
        &ctx.repo,
        &store,
        &ctx.local(),
        &session,
        args.remove || args.force,
    )?;
    let detail = match (&retirement.kept_because, retirement.removed) {
        (Some(why), _) => format!("worktree kept: {why}"),
        (None, true) => "worktree removed".to_owned(),
        (None, false) => "no worktree".to_owned(),
    };
    store.record(
        session.name(),
        Event::new(EventKind::Ended, detail),
        |meta, _| meta.status = Status::Complete,
    )?;
    ctx.touch(&session);
    let name = session.name().to_owned();
    if args.json {
        ctx.out.json(&EndReport {
            name,
            status: Status::Complete.as_str(),
            retirement,
        })?;
        return Ok(());
    }
    let kept_hint = if retirement.holds_repositories {
        "move away what is named above, then end it again (its work is checkpointed when forced)"
            .to_owned()
    } else if retirement.only_commits {
        format!(
            "push the branch (`git push -u <remote> {}`) or merge it, or pass --remove to remove it anyway (its commits stay reachable from the session's log)",
            session.meta.branch
        )
    } else {
        "commit or discard the work, or pass --remove to remove it after a checkpoint".to_owned()
    };
    let held_by = format!("refs/sessions/{name}");
    report_retirement(ctx, &name, &retirement, &kept_hint, &held_by)?;
    ctx.out.status(&format!("Session '{name}' is complete"));
    Ok(())
}

/// Narrates the undoing of a half-made worktree a killed command left.
pub fn report_undone(ctx: &Context, name: &str, undone: &crate::repair::Undone) {
    let name = crate::text::escape(name);
    if let Some(id) = &undone.salvaged {
        ctx.out.warn(&format!(
            "the worktree of '{name}' was half-made ({} was interrupted); what looked like work in it is kept as {} (`git session log {name}` shows it)",
            undone.what,
            &id[..12.min(id.len())],
        ));
    }
    if let Some(path) = &undone.removed {
        ctx.out.status(&format!(
            "Removed the half-made worktree of '{name}' at {} ({} was interrupted)",
            path.display(),
            undone.what
        ));
    }
}

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
        report_undone(ctx, name, undone);
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
