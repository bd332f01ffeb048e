//! `git session rename`: a new name for the same session (same id). The ref, a default-named
//! branch and a default-placed worktree directory move with it.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::worktree;

/// Rename a session; its default-named branch and default-placed worktree move too.
#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    /// The session's current name.
    pub old: String,
    /// Its new name.
    pub new: String,
}

pub fn run(ctx: &Context, args: RenameArgs) -> CommandResult {
    let session = ctx.session(Some(&args.old))?;
    let store = ctx.store();
    store.check_new_name(&args.new)?;
    let main_root = ctx.main_root()?;
    let config = ctx.config()?;
    let prefix = config.branch_prefix()?;
    let local = ctx.local();

    let old_branch = session.meta.branch.clone();
    let new_branch = if old_branch == format!("{prefix}{}", args.old) {
        format!("{prefix}{}", args.new)
    } else {
        old_branch.clone()
    };
    let branch_moves = new_branch != old_branch && worktree::branch_exists(&ctx.repo, &old_branch)?;
    if branch_moves && worktree::branch_exists(&ctx.repo, &new_branch)? {
        return Err(CommandError::user(format!(
            "branch '{new_branch}' already exists"
        )));
    }
    let worktree_dir = ctx.worktree_dir(&config, &main_root)?;
    let old_path = lifecycle::find_worktree(&ctx.repo, &local, &session)?;
    let new_path = old_path.as_ref().and_then(|p| {
        (*p == crate::git::canonical(&worktree_dir.join(&args.old)))
            .then(|| worktree_dir.join(&args.new))
    });

    if let (Some(from), Some(to)) = (&old_path, &new_path) {
        worktree::move_to(&ctx.repo, from, to)?;
    }
    let undo_move = || {
        if let (Some(from), Some(to)) = (&old_path, &new_path) {
            let _ = worktree::move_to(&ctx.repo, to, from);
        }
    };
    if branch_moves && let Err(e) = worktree::rename_branch(&ctx.repo, &old_branch, &new_branch) {
        undo_move();
        return Err(e.into());
    }
    let renamed = store.rename(&args.old, &args.new, |meta| {
        meta.branch = new_branch.clone()
    });
    if let Err(e) = renamed {
        if branch_moves {
            let _ = worktree::rename_branch(&ctx.repo, &new_branch, &old_branch);
        }
        undo_move();
        return Err(e.into());
    }
    let final_path = new_path
        .map(|p| crate::git::canonical(&p))
        .or(old_path.clone());
    local.update(&session.meta.id, |s| {
        s.worktree = final_path.clone();
        s.last_active = ctx.repo.now().ok();
        s.name = Some(args.new.clone());
        if s.branch.as_deref() == Some(old_branch.as_str()) {
            s.branch = Some(new_branch.clone());
        }
    })?;
    ctx.out
        .status(&format!("Renamed session '{}' to '{}'", args.old, args.new));
    if let (Some(from), Some(to)) = (&old_path, &final_path)
        && from != to
        && ctx.cwd.starts_with(from)
    {
        let rest = ctx
            .cwd
            .strip_prefix(from)
            .unwrap_or(std::path::Path::new(""));
        ctx.out.hint(&format!(
            "the worktree your shell is in moved: cd {}",
            to.join(rest).display()
        ));
    }
    if let Some(path) = final_path {
        ctx.out.answer(&path.to_string_lossy())?;
    }
    Ok(())
}
