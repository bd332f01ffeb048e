//! Taking checkpoints: the one writer of checkpoints, under the session's lock, recording
//! each in the session's log through the command's transaction. Never prints.

use std::path::Path;

use crate::checkpoint;
use crate::git::{ObjectId, Repo, canonical};
use crate::lifecycle::{LifecycleError, find_worktree, restorable_checkpoint};
use crate::session::{Event, EventKind, LocalStore, Session, SessionLock, Store};
use crate::transaction::Transaction;

/// A checkpoint as recorded in a session's log.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: ObjectId,
    /// The HEAD it was taken on (its first parent).
    pub head: Option<ObjectId>,
    /// False when nothing changed since the last checkpoint, which was reused.
    pub new: bool,
    /// For a new one, what it holds beyond HEAD when its capture could tell.
    pub beyond_head: Option<checkpoint::BeyondHead>,
}

/// How a checkpoint is taken.
#[derive(Debug, Clone, Copy)]
pub struct Take<'m> {
    pub message: &'m str,
    /// Recorded by a background process: the session's last activity stays as it was.
    pub background: bool,
    /// Record nothing when the worktree is clean (its files and index are HEAD's).
    pub only_if_dirty: bool,
    /// What to do when a command that was putting a checkpoint into the worktree was
    /// interrupted (a half-restored tree).
    pub when_pending: WhenPending,
}

/// What a checkpoint of a half-restored worktree does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenPending {
    /// Refuse: `resume` finishes the restore first.
    Refuse,
    /// Take it as a checkpoint (a rewind that finishes the restore records it first).
    Checkpoint,
    /// Keep it as a `salvaged:` event, never the latest checkpoint (the checkpoint being put
    /// in stays the latest, so `resume` brings it whole): a forced removal.
    Salvage,
}

impl<'m> Take<'m> {
    pub fn new(message: &'m str) -> Take<'m> {
        Take {
            message,
            background: false,
            only_if_dirty: false,
            when_pending: WhenPending::Refuse,
        }
    }

    #[must_use]
    pub fn when_pending(self, when_pending: WhenPending) -> Self {
        Take {
            when_pending,
            ..self
        }
    }

    #[must_use]
    pub fn in_background(self) -> Self {
        Take {
            background: true,
            ..self
        }
    }

    #[must_use]
    pub fn if_dirty(self) -> Self {
        Take {
            only_if_dirty: true,
            ..self
        }
    }
}

/// Takes a checkpoint of the session's worktree and links it into the session's log, unless
/// nothing changed since the last one (same tree, same HEAD), which is then returned. Waits
/// for the session's lock: a worktree being removed, made or rewound is never snapshotted
/// half-way (after the wait it is judged again, see [`checkpoint_locked`]).
pub fn record_checkpoint(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    message: &str,
) -> Result<Recorded, LifecycleError> {
    let common = tx.repo().common_dir();
    let lock = SessionLock::acquire(&common, &session.meta.id, session.name())?;
    let take = Take::new(message);
    let recorded = checkpoint_locked(&lock, tx, local, session, worktree_path, take)?;
    Ok(recorded.expect("a checkpoint is recorded unless only_if_dirty"))
}

/// [`record_checkpoint`] of the session's worktree on this machine, found under the lock (a
/// command naming the session need not look for it first as well).
pub fn record_checkpoint_here(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    message: &str,
) -> Result<Recorded, LifecycleError> {
    let recorded = take_here(tx, local, session, Take::new(message))?;
    Ok(recorded.expect("a checkpoint is recorded unless only_if_dirty"))
}

/// [`checkpoint_if_dirty`] of the session's worktree on this machine, found under the lock;
/// None when it has none here, too (or the session was removed meanwhile).
pub fn checkpoint_here_if_dirty(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    message: &str,
) -> Result<Option<Recorded>, LifecycleError> {
    match take_here(tx, local, session, Take::new(message).if_dirty()) {
        Err(LifecycleError::NoWorktree { .. }) => Ok(None),
        other => other,
    }
}

/// Takes `take` of the session's worktree on this machine, found under the session's lock;
/// `NoWorktree` when it has none here (or the session was removed meanwhile).
fn take_here(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    take: Take<'_>,
) -> Result<Option<Recorded>, LifecycleError> {
    let common = tx.repo().common_dir();
    let lock = SessionLock::acquire(&common, &session.meta.id, session.name())?;
    let fresh = load_locked(&lock, tx, session)?;
    let Some(path) = find_worktree(tx.repo(), local, &fresh)? else {
        return Err(LifecycleError::NoWorktree {
            name: session.name().to_owned(),
        });
    };
    take_at(tx, local, &fresh, &path, take, true)
}

/// Takes a checkpoint when the worktree differs from its HEAD (files or staged state) and
/// from the last checkpoint; None when it is clean. Waits for the session's lock.
pub fn checkpoint_if_dirty(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    message: &str,
) -> Result<Option<Recorded>, LifecycleError> {
    let common = tx.repo().common_dir();
    let lock = SessionLock::acquire(&common, &session.meta.id, session.name())?;
    let take = Take::new(message).if_dirty();
    checkpoint_locked(&lock, tx, local, session, worktree_path, take)
}

/// The one writer of checkpoints, under the session's lock. The session and its worktree are
/// judged as they are now, not as the caller saw them before it got the lock: the session
/// must still have this worktree (a removal that just finished leaves none), and no checkout
/// or restore may be pending in it (a half-made tree is nobody's work).
pub fn checkpoint_locked(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    take: Take<'_>,
) -> Result<Option<Recorded>, LifecycleError> {
    let repo = tx.repo();
    let fresh = load_locked(lock, tx, session)?;
    let wanted = canonical(worktree_path);
    if find_worktree(repo, local, &fresh)?.as_deref() != Some(wanted.as_path()) {
        return Err(LifecycleError::NoWorktree {
            name: session.name().to_owned(),
        });
    }
    take_at(tx, local, &fresh, &wanted, take, true)
}

/// A checkpoint of a worktree its removal has just moved aside (`git worktree move`, under
/// the session's lock): the session's records still name where it was, so it is captured
/// where it is now, by the same rules (a half-restored tree is salvaged, not recorded as
/// the latest checkpoint).
pub fn checkpoint_aside(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    aside: &Path,
    take: Take<'_>,
) -> Result<Option<Recorded>, LifecycleError> {
    let fresh = load_locked(lock, tx, session)?;
    take_at(tx, local, &fresh, aside, take, false)
}

/// The session as it is now, under its lock: still the one the lock is for (a removal and
/// a new session of the same name in between give none).
fn load_locked(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    session: &Session,
) -> Result<Session, LifecycleError> {
    let fresh = tx.load(session.name())?;
    if fresh.meta.id != lock.id() {
        return Err(LifecycleError::NoWorktree {
            name: session.name().to_owned(),
        });
    }
    Ok(fresh)
}

/// Takes the checkpoint of the worktree at `wanted` for `fresh` (read under its lock).
/// `where_recorded`: the worktree is where the session's records say, so the file-system
/// monitor's word about it may spare the scan, and what was captured is remembered.
fn take_at(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    fresh: &Session,
    wanted: &Path,
    take: Take<'_>,
    where_recorded: bool,
) -> Result<Option<Recorded>, LifecycleError> {
    let repo = tx.repo();
    let session = fresh;
    let state = local.get(&fresh.meta.id);
    let half_made = state.checkout_pending || state.restore_pending.is_some();
    if half_made
        && (state.checkout_pending || take.when_pending == WhenPending::Refuse)
        && let Some(what) = state.pending()
    {
        return Err(LifecycleError::Interrupted {
            name: session.name().to_owned(),
            what,
        });
    }
    let wt = repo.open_worktree(wanted)?;
    // The monitor's answer is waited for (a few milliseconds after many writes).
    wt.load_indexes_behind();
    let asked = crate::git::fsmonitor::ask(wt.gix());
    if where_recorded
        && !half_made
        && let Some(last) = unchanged_since_captured(repo, &wt, wanted, fresh, &state, &asked)?
    {
        if take.only_if_dirty && is_clean(repo, last.head, last.staged, last.tree)? {
            return Ok(None);
        }
        return Ok(Some(Recorded {
            id: last.id,
            head: last.head,
            new: false,
            beyond_head: None,
        }));
    }
    let capture = checkpoint::capture_asked(&wt, asked)?;
    if half_made && take.when_pending == WhenPending::Salvage {
        let id = checkpoint::commit(&wt, &capture, take.message)?;
        tx.record(
            session.name(),
            Event::linking(EventKind::Salvaged, id, take.message),
            |_, _| {},
        )?;
        return Ok(Some(Recorded {
            id,
            head: capture.head,
            new: true,
            beyond_head: None,
        }));
    }
    if take.only_if_dirty && is_clean(repo, capture.head, capture.staged, capture.tree)? {
        return Ok(None);
    }
    let seen = capture.seen.clone();
    let head = capture.head;
    let recorded = record_captured(tx, fresh, &wt, capture, take.message, take.background)?;
    if !where_recorded {
        return Ok(Some(recorded));
    }
    let captured = seen.map(|seen| crate::session::CapturedAsOf {
        checkpoint: recorded.id.to_string(),
        head: head.map(|h| h.to_string()),
        seen,
    });
    if captured.is_some() || state.captured.is_some() {
        let _ = local.update(&fresh.meta.id, |s| s.captured = captured);
    }
    Ok(Some(recorded))
}

/// Whether a worktree state (its HEAD, staged tree and files' tree) is just HEAD: nothing to
/// keep.
fn is_clean(
    repo: &Repo,
    head: Option<ObjectId>,
    staged: Option<ObjectId>,
    tree: ObjectId,
) -> Result<bool, LifecycleError> {
    Ok(match head {
        Some(head) => staged.is_none() && repo.read_commit(head)?.tree == tree,
        None => false,
    })
}

/// The last checkpoint, when the file-system monitor says nothing changed in the worktree
/// since its capture here and HEAD has not moved: taking a checkpoint now would give that
/// one again, so no scan is needed. `asked` answers when no scan moved the monitor's state
/// on since that capture; otherwise the monitor is asked about the capture's own clock.
fn unchanged_since_captured(
    repo: &Repo,
    wt: &Repo,
    path: &Path,
    session: &Session,
    state: &crate::session::LocalState,
    asked: &crate::git::fsmonitor::Asked,
) -> Result<Option<checkpoint::Snapshot>, LifecycleError> {
    let Some(captured) = &state.captured else {
        return Ok(None);
    };
    let Some(last) = session.meta.last_checkpoint_id() else {
        return Ok(None);
    };
    if gix::ObjectId::from_hex(captured.checkpoint.as_bytes()).ok() != Some(last)
        || captured.head != wt.head_commit()?.map(|h| h.to_string())
    {
        return Ok(None);
    }
    let unchanged = match asked.unchanged_since(&captured.seen) {
        Some(unchanged) => unchanged,
        None => crate::git::fsmonitor::Looker::new(wt.gix()).is_some_and(|mut looker| {
            looker.look(path, &captured.seen) == crate::git::fsmonitor::Look::Unchanged
        }),
    };
    if !unchanged {
        return Ok(None);
    }
    Ok(checkpoint::Snapshot::read(repo, last).ok())
}

/// Links `capture` into the log as a checkpoint event (`background`: see
/// [`Event::in_background`]).
fn record_captured(
    tx: &mut Transaction<'_>,
    session: &Session,
    wt: &Repo,
    capture: checkpoint::Capture,
    message: &str,
    background: bool,
) -> Result<Recorded, LifecycleError> {
    let repo = tx.repo();
    if let Some(last) = session.meta.last_checkpoint_id()
        && let Ok(last) = checkpoint::Snapshot::read(repo, last)
        && last.tree == capture.tree
        && last.head == capture.head
        && last.staged == capture.staged
    {
        let last = last.id;
        return Ok(Recorded {
            id: last,
            head: capture.head,
            new: false,
            beyond_head: None,
        });
    }
    let id = checkpoint::commit(wt, &capture, message)?;
    let event = Event::linking(EventKind::Checkpoint, id, message);
    let event = if background {
        event.in_background()
    } else {
        event
    };
    tx.record(session.name(), event, |_, _| {})?;
    Ok(Recorded {
        id,
        head: capture.head,
        new: true,
        beyond_head: capture.beyond_head,
    })
}

/// A clean worktree about to be removed whose latest checkpoint holds uncommitted work (since
/// deleted or committed): a checkpoint of the clean state is recorded (no scan: it is HEAD's
/// tree), so a later `resume` does not bring back what the user had thrown away.
pub fn record_clean_state(
    tx: &mut Transaction<'_>,
    session: &Session,
    wt: &Repo,
) -> Result<(), LifecycleError> {
    let repo = tx.repo();
    let store = Store::new(repo);
    if restorable_checkpoint(repo, &store, session, wt.head_commit()?)?.is_none() {
        return Ok(());
    }
    let Some(head) = wt.head_commit()? else {
        return Ok(());
    };
    let message = "clean when its worktree was removed";
    let id = repo.write_commit(repo.read_commit(head)?.tree, &[head], message)?;
    tx.record(
        session.name(),
        Event::linking(EventKind::Checkpoint, id, message),
        |_, _| {},
    )?;
    Ok(())
}
