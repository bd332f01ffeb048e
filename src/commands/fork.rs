//! `git session fork`: a new session with exactly the source's current files (uncommitted and
//! untracked work included), independent from then on. The source is only read.

use crate::checkpoint;
use crate::command_context::Context;
use crate::create;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::session::{Event, EventKind};

use super::new::{generate_free_name, placement, start};

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
    let placement = placement(ctx, &config, &main_root, &name, !args.no_worktree)?;
    // A session with a worktree here is checkpointed now; one without (ended, or made on
    // another machine) is forked from its last checkpoint.
    let source_path = lifecycle::find_worktree(&ctx.repo, &ctx.local(), &source)?;
    let ckpt = match &source_path {
        Some(path) => {
            lifecycle::record_checkpoint(
                &ctx.repo,
                &store,
                &ctx.local(),
                &source,
                path,
                &format!("fork to {name}"),
            )?
            .id
        }
        None => store.latest_checkpoint(&source)?.ok_or_else(|| {
            CommandError::user(format!(
                "session '{}' has no worktree here and no checkpoint to fork from",
                source.name()
            ))
            .hint(format!(
                "`git session resume {}` recreates its worktree; fork it then",
                source.name()
            ))
        })?,
    };
    let snapshot = checkpoint::Snapshot::read(&ctx.repo, ckpt)?;
    let head = snapshot.head.ok_or_else(|| {
        CommandError::user(format!(
            "session '{}' has no commits to branch from",
            source.name()
        ))
    })?;
    let spec = create::NewSession {
        name: name.clone(),
        placement,
        at: head,
        base_ref: source.meta.branch.clone(),
        parent: Some(source.meta.id.clone()),
        goal: source.meta.goal.clone(),
        context: source.context.clone(),
        agent: None,
        event: Event::new(
            EventKind::Forked,
            format!(
                "from {} at checkpoint {}",
                source.name(),
                &crate::git::short_id(ckpt)
            ),
        )
        .with_checkpoint(ckpt),
        // Included files come from the source's worktree, or the main one when it has none.
        include_source: (!args.no_include)
            .then(|| source_path.clone().unwrap_or_else(|| main_root.clone())),
    };
    let created = start(ctx, &config, &main_root, spec)?;
    let session = &created.session;
    match &created.worktree {
        Some(path) => {
            let worktree = ctx.repo.open_worktree(path)?;
            if let Err(e) = checkpoint::apply_to_fresh_checkout(&worktree, &snapshot, head) {
                // Nobody worked in the fork yet: it goes, so the same fork can be tried again.
                create::discard(&ctx.repo, &ctx.local(), session, Some(path), head);
                return Err(CommandError::from(e).hint(format!(
                    "the fork '{}' was not made; '{}' is as it was",
                    session.name(),
                    source.name()
                )));
            }
            create::restore_done(&ctx.local(), session);
            ctx.out.status(&format!(
                "Forked '{}' as '{}' with its uncommitted work",
                source.name(),
                session.name()
            ));
            super::setup::after_create(ctx, &config, session, path);
            ctx.out.answer(&path.to_string_lossy())?;
        }
        None => {
            ctx.out.status(&format!(
                "Forked '{}' as '{}'; its uncommitted work is in checkpoint {} (`git session resume {name}` restores it)",
                source.name(),
                session.name(),
                ckpt
            ));
            ctx.out.answer(&name)?;
        }
    }
    Ok(())
}
