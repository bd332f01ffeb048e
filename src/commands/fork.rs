//! `git session fork`: a new session with exactly the source's current files (uncommitted and
//! untracked work included), independent from then on. The source is only read.

use crate::checkpoint;
use crate::context::Context;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::session::{Event, EventKind};

use super::new::{StartSpec, check_new_session, generate_free_name, start_session};

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
}

pub fn run(ctx: &Context, args: ForkArgs) -> CommandResult {
    let source = ctx.session(Some(&args.source))?;
    let name = match &args.new {
        Some(name) => name.clone(),
        None => generate_free_name(ctx)?,
    };
    let store = ctx.store();
    let main_root = ctx.main_root()?;
    let config = ctx.config()?;
    let (branch, path) = check_new_session(ctx, &config, &main_root, &name, args.no_worktree)?;
    let source_path = super::checkpoint::worktree_of(ctx, &source)?;
    let ckpt = lifecycle::record_checkpoint(
        &ctx.repo,
        &store,
        &source,
        &source_path,
        &format!("fork to {name}"),
    )?;
    let commit = ctx.repo.read_commit(ckpt.id)?;
    let head = commit.parents.first().copied().ok_or_else(|| {
        CommandError::user(format!(
            "session '{}' has no commits to branch from",
            source.name()
        ))
    })?;
    let spec = StartSpec {
        name: name.clone(),
        branch,
        at: head,
        base_ref: source.meta.branch.clone(),
        parent: Some(source.meta.id.clone()),
        goal: source.meta.goal.clone(),
        context: source.context.clone(),
        event: Event::new(
            EventKind::Forked,
            format!(
                "from {} at checkpoint {}",
                source.name(),
                &ckpt.id.to_string()[..12]
            ),
        )
        .with_checkpoint(ckpt.id),
        worktree: (!args.no_worktree).then_some(path),
        include_source: (!args.no_include).then(|| source_path.clone()),
    };
    let (session, path) = start_session(ctx, &config, &main_root, spec)?;
    match path {
        Some(path) => {
            let worktree = ctx.repo.open_worktree(&path)?;
            let snapshot = checkpoint::Snapshot::read(&ctx.repo, ckpt.id)?;
            checkpoint::apply_to_fresh_checkout(&worktree, &snapshot, head)?;
            ctx.out.status(&format!(
                "Forked '{}' as '{}' with its uncommitted work",
                source.name(),
                session.name()
            ));
            ctx.out.answer(&path.to_string_lossy())?;
        }
        None => {
            ctx.out.status(&format!(
                "Forked '{}' as '{}'; its uncommitted work is in checkpoint {} (`git session resume {name}` then `git session rewind @ {name}` restores it)",
                source.name(),
                session.name(),
                ckpt.id
            ));
            ctx.out.answer(&name)?;
        }
    }
    Ok(())
}
