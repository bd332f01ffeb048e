//! Making a worktree exactly a checkpoint again (`rewind`, and finishing a restore a killed
//! command left half-done): every precondition is checked, the state before is checkpointed
//! and made real in the log, then the files, the index and HEAD change. Never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint::{self, CheckpointError};
use crate::git::ObjectId;
use crate::lifecycle::LifecycleError;
use crate::oplog::{SessionRef, WorktreeChange};
use crate::ops::checkpoint::{Take, WhenPending, checkpoint_locked};
use crate::report::Reporter;
use crate::session::{Event, EventKind, LocalStore, Session, SessionLock};
use crate::transaction::Transaction;

#[derive(Debug, thiserror::Error)]
pub enum RewindError {
    /// Refused before anything was touched.
    #[error("{source}")]
    Refused {
        #[source]
        source: CheckpointError,
        path: PathBuf,
    },
    /// git stopped part-way; `pre` holds the state before.
    #[error("the rewind stopped part-way: {}; checkpoint {} holds the state before", crate::text::one_line(source), crate::git::short_id(*pre))]
    PartWay {
        #[source]
        source: CheckpointError,
        pre: ObjectId,
        name: String,
    },
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
}

impl From<crate::transaction::TxError> for RewindError {
    fn from(e: crate::transaction::TxError) -> Self {
        RewindError::Lifecycle(e.into())
    }
}

/// The worktree at `path` becomes checkpoint `target`, after every precondition is checked
/// and the state it had is checkpointed (returned) and recorded. Also finishes an
/// interrupted restore (its half-made state is what gets checkpointed first).
pub fn restore(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    path: &Path,
    target: ObjectId,
    reporter: &dyn Reporter,
) -> Result<ObjectId, RewindError> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = tx.repo();
    let worktree = repo.open_worktree(path).map_err(LifecycleError::from)?;
    let snapshot = checkpoint::Snapshot::read(repo, target).map_err(LifecycleError::from)?;
    // Every precondition (operation in progress, locks, what would be overwritten) is checked
    // before anything is written, the pre-rewind checkpoint included.
    let prepared = checkpoint::prepare_restore(&worktree, &snapshot).map_err(|source| {
        RewindError::Refused {
            source,
            path: path.to_owned(),
        }
    })?;
    let take = Take::new("pre-rewind").when_pending(WhenPending::Checkpoint);
    let pre = checkpoint_locked(lock, tx, local, session, path, take)?
        .expect("recorded")
        .id;
    // Reachable from the log before any file is overwritten, and kept whatever follows; a
    // kill while the files change leaves the restore marked unfinished (`doctor` reports
    // it, and the next command that needs the worktree finishes it).
    crate::ops::create::restore_begun(tx, local, session, target).map_err(LifecycleError::from)?;
    tx.persist()?;
    reporter.status(&format!(
        "Saved the current state as {pre} (`git session undo` takes the rewind back)"
    ));
    let head_ref = worktree.head_ref_name().map_err(LifecycleError::from)?;
    let head_before = match &head_ref {
        Some(name) => repo.read_ref(name).map_err(LifecycleError::from)?,
        None => None,
    };
    crate::fault::point("restoring");
    let applied = prepared.apply();
    crate::fault::point("restored");
    // `git reset` moved HEAD's branch (also when a later step failed).
    if let Some(name) = &head_ref {
        tx.record_external(name, head_before)
            .map_err(LifecycleError::from)?;
    }
    applied.map_err(|source| RewindError::PartWay {
        source,
        pre,
        name: session.name().to_owned(),
    })?;
    crate::ops::create::restore_done(tx, local, session).map_err(LifecycleError::from)?;
    let detail = format!(
        "to {} (state before: {})",
        crate::git::short_id(target),
        crate::git::short_id(pre)
    );
    tx.record(
        session.name(),
        Event::new(EventKind::Rewound, detail),
        |_, _| {},
    )?;
    tx.worktree(WorktreeChange::Restored {
        session: SessionRef {
            name: session.name().to_owned(),
            id: session.meta.id.clone(),
        },
        path: path.to_owned(),
        before: pre.to_string(),
        after: target.to_string(),
    });
    Ok(pre)
}
