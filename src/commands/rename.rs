//! `git session rename`: a new name for the same session (same id). The ref, a default-named
//! branch and a default-placed worktree directory move with it.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::{self, Site};

/// Rename a session; its default-named branch and default-placed worktree move too.
#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    /// The session's current name.
    pub old: String,
    /// Its new name.
    pub new: String,
}

pub fn run(ctx: &Context, args: RenameArgs) -> CommandResult {
    ctx.session(Some(&args.old))?;
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let site = Site {
        worktree_dir: &worktree_dir,
        main_root: &main_root,
    };
    let prefix = ctx.config()?.branch_prefix()?;
    let mut tx = ctx.transaction();
    let renamed = ops::rename::rename(&mut tx, &ctx.local(), &site, &prefix, &args.old, &args.new)?;
    tx.finish()?;
    ctx.out
        .status(&format!("Renamed session '{}' to '{}'", args.old, args.new));
    if let Some((from, to)) = &renamed.worktree {
        if from != to && ctx.cwd.starts_with(from) {
            let rest = ctx
                .cwd
                .strip_prefix(from)
                .unwrap_or(std::path::Path::new(""));
            ctx.out.hint(&format!(
                "the worktree your shell is in moved: cd {}",
                to.join(rest).display()
            ));
        }
        ctx.out.answer(&to.to_string_lossy())?;
    }
    Ok(())
}
