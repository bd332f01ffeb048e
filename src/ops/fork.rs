//! Forking a session: a new session with exactly the source's current files (uncommitted
//! and untracked work included), independent from then on. The source is only read (and
//! checkpointed, so the fork has something to start from). Never prints.

use std::path::PathBuf;

use crate::checkpoint;
use crate::lifecycle;
use crate::ops::create::{self, NewSession};
use crate::ops::{OpError, OpResult, Site};
use crate::report::Reporter;
use crate::session::{Event, EventKind, LocalStore, Session};
use crate::transaction::Transaction;

/// What a fork made.
#[derive(Debug)]
pub struct Forked {
    pub session: Session,
    pub worktree: Option<PathBuf>,
    /// The checkpoint of the source it started from.
    pub checkpoint: crate::git::ObjectId,
    /// Whether that checkpoint holds uncommitted work (files or staged changes beyond the
    /// source's HEAD).
    pub carried_work: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn fork(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    branch_prefix: &str,
    source: &Session,
    name: &str,
    with_worktree: bool,
    no_include: bool,
    owns: Option<Vec<String>>,
    reporter: &dyn Reporter,
) -> OpResult<Forked> {
    let repo = tx.repo();
    let placement = create::placement(repo, site, branch_prefix, name, with_worktree)?;
    // A session with a worktree here is checkpointed now; one without (ended, or made on
    // another machine) is forked from its last checkpoint.
    let source_path = lifecycle::find_worktree(repo, local, source)?;
    let ckpt = match &source_path {
        Some(path) => {
            crate::ops::checkpoint::record_checkpoint(
                tx,
                local,
                source,
                path,
                &format!("fork to {name}"),
            )?
            .id
        }
        None => crate::session::Store::new(repo)
            .latest_checkpoint(source)?
            .ok_or_else(|| {
                OpError::refused(format!(
                    "session '{}' has no worktree here and no checkpoint to fork from",
                    source.name()
                ))
                .hint(format!(
                    "`git session resume {}` recreates its worktree; fork it then",
                    source.name()
                ))
            })?,
    };
    let snapshot = checkpoint::Snapshot::read(repo, ckpt)?;
    let head = snapshot.head.ok_or_else(|| {
        OpError::refused(format!(
            "session '{}' has no commits to branch from",
            source.name()
        ))
    })?;
    let spec = NewSession {
        name: name.to_owned(),
        placement,
        at: head,
        base_ref: source.meta.branch.clone(),
        parent: Some(source.meta.id.clone()),
        goal: source.meta.goal.clone(),
        context: source.context.clone(),
        agent: None,
        owns: owns.unwrap_or_else(|| source.meta.owns.clone()),
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
        include_source: (!no_include).then(|| {
            source_path
                .clone()
                .unwrap_or_else(|| site.main_root.to_owned())
        }),
    };
    let carried_work = snapshot.staged.is_some() || repo.read_commit(head)?.tree != snapshot.tree;
    let created = create::start(tx, local, site, spec, source.name(), reporter)?;
    if let Some(path) = &created.worktree {
        let worktree = repo.open_worktree(path)?;
        // Should it fail, the transaction takes the fork back whole (nobody worked in it
        // yet), so the same fork can be tried again.
        checkpoint::apply_to_fresh_checkout(&worktree, &snapshot, head).map_err(|e| {
            OpError::refused(format!(
                "{}; the fork '{}' was not made, '{}' is as it was",
                crate::text::one_line(&e),
                created.session.name(),
                source.name()
            ))
        })?;
        create::restore_done(tx, local, &created.session)?;
    }
    Ok(Forked {
        session: tx.load(name)?,
        worktree: created.worktree,
        checkpoint: ckpt,
        carried_work,
    })
}
