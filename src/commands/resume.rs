//! `git session resume`: mark a session active again and make sure it has a worktree here,
//! recreating one from its branch (or the remote's copy of it, or its base) when missing; a
//! fetched session is taken up (`ops::resume`). The latest handoff is repeated on stderr.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::{self, Site};

/// Resume a session and print its worktree path.
///
/// Marks it active and prints its worktree path, recreating the worktree
/// from the session's branch (or from its base when the branch is gone) if needed.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The session to resume.
    pub name: String,
    /// Do not copy the files .worktreeinclude names into a recreated worktree.
    #[arg(long)]
    pub no_include: bool,
    /// Continue the local session as it is, whatever its fetched copies hold.
    #[arg(long, conflicts_with = "as_name")]
    pub local: bool,
    /// Take a fetched copy (<remote>/<name>) up as a new session of this name (a fork of it,
    /// with its latest checkpoint's files), e.g. when it diverged from the local one.
    #[arg(long = "as", value_name = "NEW")]
    pub as_name: Option<String>,
}

pub fn run(ctx: &Context, args: ResumeArgs) -> CommandResult {
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
    let resumed = match &args.as_name {
        Some(new) => ops::resume::take_up_as(&mut env, &args.name, new, args.no_include)?,
        None => ops::resume::resume(&mut env, &args.name, args.local, args.no_include)?,
    };
    tx.finish()?;
    ctx.touch(&resumed.session);
    if resumed.made {
        crate::render::run_setup(ctx, &resumed.session, &resumed.path)?;
    }
    if let Some(handoff) = &resumed.handoff {
        ctx.out.status(&format!(
            "Latest handoff:\n{}",
            crate::text::escape_multiline(handoff.trim_end())
        ));
    }
    ctx.out.answer(&resumed.path.to_string_lossy())?;
    Ok(())
}
