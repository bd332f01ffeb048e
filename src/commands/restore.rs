//! `git session restore`: bring a deleted session back from the trash (`ops::restore`).

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::{self, Site};

/// Bring a deleted session back: same id, its log, and its worktree with its files when it
/// had one.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The session's name, or its id (4 or more leading digits).
    pub session: String,
    /// Restore it under this name (when its own is taken meanwhile).
    #[arg(long = "as", value_name = "NEW")]
    pub as_name: Option<String>,
}

pub fn run(ctx: &Context, args: RestoreArgs) -> CommandResult {
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let config = ctx.config()?;
    let branch_prefix = config.branch_prefix()?;
    let remote = config.string(&crate::config::REMOTE);
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let mut env = ops::resume::Env {
        tx: &mut tx,
        local: &local,
        site: Site {
            worktree_dir: &worktree_dir,
            main_root: &main_root,
        },
        branch_prefix: &branch_prefix,
        default_remote: &remote,
        reporter: &ctx.out,
    };
    let (name, path) = ops::restore::restore(&mut env, &args.session, args.as_name.as_deref())?;
    tx.finish()?;
    ctx.out.status(&format!(
        "Restored session '{}'",
        crate::text::escape(&name)
    ));
    match path {
        Some(path) => ctx.out.answer(&path.to_string_lossy()),
        None => ctx.out.answer(&name),
    }
}
