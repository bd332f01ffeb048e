//! `git session fork`: a new session with exactly the source's current files (uncommitted and
//! untracked work included), independent from then on. The source is only read.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::{self, Site};

/// Fork a session, uncommitted work included.
///
/// Checkpoints the source, branch from its HEAD, and restore the checkpoint's
/// files in the new worktree as uncommitted changes. Context is copied and the new session's
/// parent is the source. Prints the new worktree's path.
#[derive(Debug, clap::Args)]
pub struct ForkArgs {
    /// The session to fork.
    pub source: String,
    /// Name of the new session (generated when omitted).
    pub new: Option<String>,
    /// Create the session and its branch, but no worktree.
    #[arg(long)]
    pub no_worktree: bool,
    /// Do not copy the files .worktreeinclude names.
    #[arg(long)]
    pub no_include: bool,
    /// Claim the files this pathspec names (repeatable) instead of what the source claims.
    #[arg(long = "owns", value_name = "PATHSPEC")]
    pub owns: Vec<String>,
    /// Then open the new session's tmux window (as `git session open`).
    #[arg(long, conflicts_with = "no_worktree")]
    pub open: bool,
}

pub fn run(ctx: &Context, args: ForkArgs) -> CommandResult {
    crate::git::pathspec::Owns::new(&args.owns)
        .map_err(|why| crate::error::CommandError::user(format!("--owns: {why}")))?;
    let source = ctx.session(Some(&args.source))?;
    let name = match &args.new {
        Some(name) => name.clone(),
        None => ops::base::generate_free_name(&ctx.repo)?,
    };
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let site = Site {
        worktree_dir: &worktree_dir,
        main_root: &main_root,
    };
    let branch_prefix = ctx.config()?.branch_prefix()?;
    let mut tx = ctx.transaction();
    let forked = ops::fork::fork(
        &mut tx,
        &ctx.local(),
        &site,
        &branch_prefix,
        &source,
        &name,
        !args.no_worktree,
        args.no_include,
        (!args.owns.is_empty()).then(|| args.owns.clone()),
        &ctx.out,
    )?;
    tx.finish()?;
    match &forked.worktree {
        Some(path) => {
            ctx.out.status(&format!(
                "Forked '{}' as '{}'{}",
                source.name(),
                forked.session.name(),
                if forked.carried_work {
                    " with its uncommitted work"
                } else {
                    ""
                }
            ));
            crate::render::run_setup(ctx, &forked.session, path)?;
            ctx.out.answer(&path.to_string_lossy())?;
            if args.open {
                crate::render::open_window(ctx, &forked.session, &[])?;
            }
        }
        None if !forked.carried_work => {
            ctx.out.status(&format!(
                "Forked '{}' as '{}' (`git session resume {name}` makes its worktree)",
                source.name(),
                forked.session.name(),
            ));
            ctx.out.answer(&name)?;
        }
        None => {
            ctx.out.status(&format!(
                "Forked '{}' as '{}'; its uncommitted work is in checkpoint {} (`git session resume {name}` restores it)",
                source.name(),
                forked.session.name(),
                forked.checkpoint
            ));
            ctx.out.answer(&name)?;
        }
    }
    Ok(())
}
