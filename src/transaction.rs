//! One transaction per state-changing command (jj's `start_transaction` / `tx.finish`).
//!
//! A transaction is the only writer of refs. It collects the command's ref edits with the
//! values they expect, its log events, its machine-local changes and its effects on
//! worktrees and files; `finish` applies the ref edits in one reference transaction together
//! with the operation log's keep-alive ref, and appends the operation's record to the log
//! (`oplog`). Reads through the transaction see its own staged edits (`read_ref`, `load`).
//!
//! Log events are recorded as *appends*: when another process recorded an event on the same
//! session meanwhile (a hook's checkpoint), the appends are built again on top of it and the
//! transaction retried, so no event is ever lost (the compare-and-swap retry `Store` had).
//! Any other ref that moved meanwhile fails the transaction.
//!
//! Some steps need refs to be real before the command ends (git must see a branch before
//! `git worktree add` checks it out; a crash must leave a session the next command can
//! finish): `flush` applies what is staged so far. Dropped without `finish` (an error, a
//! panic), the transaction runs the compensations registered so far, newest first: flushed
//! refs go back when nobody moved them since, machine-local records are restored, and the
//! operations' own compensations (a worktree made moments ago is removed) run.
//!
//! A process killed after a flush runs nothing. Most of what that leaves is finished by the
//! pending markers (`resume`, `doctor`); a `land`'s target branch is not a session's to
//! finish: such a transaction keeps a journal naming that ref (`journal_ref`), written
//! before each apply to `$GIT_COMMON_DIR/session/journal/<id>.json` under a lock it holds
//! while it lives, and removed when it ends. The next command (not a hook: it runs inside
//! someone's git command) finishes a dead one's journal (`adopt_killed`): the named ref's
//! move, if it happened, is recorded as an operation killed part-way, which `undo` takes
//! back.

use std::path::{Path, PathBuf};

use crate::git::{Expect, ObjectId, RefUpdate, Repo, RepoError};
use crate::oplog::{
    self, FileChange, LocalChange, OpLog, OpLogError, OpRecord, Published, RefChange, SessionRef,
    WorktreeChange,
};
use crate::session::store::{MAX_ATTEMPTS, ref_name};
use crate::session::{Event, LocalState, LocalStore, Session, SessionMeta, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    OpLog(#[from] OpLogError),
    #[error("could not update machine-local state in {}", dir.display())]
    Local {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} exists: another git is updating that ref, or one was killed and left it behind; nothing was recorded",
        lock.display()
    )]
    Locked { lock: PathBuf },
}

/// How old the lock of the operation log's ref must be to be left behind by a killed
/// process: git-session holds it for the milliseconds a reference transaction takes.
const STALE_OPLOG_LOCK: std::time::Duration = std::time::Duration::from_secs(30);

/// Removes `lock` when it is older than [`STALE_OPLOG_LOCK`]. Moved to a name of this
/// process's first and looked at again there: a fresh lock another process took meanwhile
/// (after another one removed the stale one) is put back, never deleted.
fn take_back_stale_lock(lock: &std::path::Path) {
    let old = |path: &std::path::Path| crate::fsutil::untouched_for(path, STALE_OPLOG_LOCK);
    if !old(lock) {
        return;
    }
    let mine = lock.with_extension(format!("lock.stale-{}", std::process::id()));
    if std::fs::rename(lock, &mine).is_err() {
        return;
    }
    if old(&mine) {
        let _ = std::fs::remove_file(&mine);
    } else if std::fs::hard_link(&mine, lock).is_ok() {
        // Someone's live lock: back where it was (unless a new one is there already).
        let _ = std::fs::remove_file(&mine);
    }
}

/// How an event changes a session's metadata and context (run again when it is rebuilt).
type MetaChange = Box<dyn FnMut(&mut SessionMeta, &mut Option<String>)>;

/// A log event staged for a session: rebuilt on top of another process's events when the log
/// moved meanwhile.
struct Append {
    event: Event,
    change: MetaChange,
}

/// A ref change not applied yet.
struct Staged {
    name: String,
    /// The value it had when the transaction first touched it (what it must still be).
    expect: Expect,
    /// The value the transaction gives it (None: deleted).
    new: Option<ObjectId>,
    message: String,
    /// When it is a session's log: the session name and the events to rebuild on conflict.
    /// An empty list means it cannot be rebuilt (a creation, a rename, a deletion).
    log: Option<(String, Vec<Append>)>,
}

type Compensation = Box<dyn FnOnce(&Repo)>;

/// A file's bytes and permission bits.
type FileState = (Vec<u8>, u32);

pub struct Transaction<'r> {
    repo: &'r Repo,
    record: OpRecord,
    staged: Vec<Staged>,
    /// File contents (and permission bits) before the transaction first touched them.
    files_before: Vec<(PathBuf, Option<FileState>)>,
    compensations: Vec<Compensation>,
    finished: bool,
    /// What was flushed so far must stay, whatever happens next (see [`Transaction::persist`]).
    persisted: bool,
    /// Records older than this (seconds) leave the log and the keep-alive chain (`gc`).
    prune_before: Option<i64>,
    /// The records kept when the chain was rebuilt without the old ones.
    pruned: Option<Pruned>,
    /// The lock this transaction holds on its journal while it lives, once it wrote one
    /// (see [`Journal`]).
    journal_lock: Option<std::fs::File>,
    /// The refs whose move this transaction's journal records ([`Transaction::journal_ref`]);
    /// none: it keeps no journal.
    journal_refs: Vec<String>,
    /// Ctrl-C, a closed terminal and a polite kill held off from [`Transaction::hold_signals`]
    /// until the transaction is done: finished, or rolled back when dropped.
    held: Option<crate::signals::Held>,
}

/// What a journaling transaction has applied, or is about to: what records it if its
/// process is killed. Its `.lock` file is held (flock) by the process while it runs: a lock
/// another process can take is a dead process's, in any pid namespace.
#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    record: OpRecord,
    /// The refs whose move is recorded, when it happened ([`Transaction::journal_ref`]).
    #[serde(default)]
    refs: Vec<String>,
}

/// Where the journals are.
fn journal_dir(common: &Path) -> PathBuf {
    common.join("session").join("journal")
}

/// What pruning the operation log left.
struct Pruned {
    kept: Vec<OpRecord>,
}

impl<'r> Transaction<'r> {
    /// Starts a transaction for `command` (the command line, for the log). `automatic`:
    /// taken by a hook or a background process.
    pub fn start(repo: &'r Repo, command: &str, automatic: bool) -> Transaction<'r> {
        Transaction {
            repo,
            record: OpRecord {
                id: oplog::new_id(),
                time: repo.now().unwrap_or(0),
                command: command.to_owned(),
                automatic,
                sessions: Vec::new(),
                refs: Vec::new(),
                worktrees: Vec::new(),
                local: Vec::new(),
                files: Vec::new(),
                published: None,
                undoes: None,
            },
            staged: Vec::new(),
            files_before: Vec::new(),
            compensations: Vec::new(),
            finished: false,
            persisted: false,
            prune_before: None,
            pruned: None,
            journal_lock: None,
            journal_refs: Vec::new(),
            held: None,
        }
    }

    /// From now on until this transaction is finished or rolled back, SIGINT, SIGHUP and
    /// SIGTERM are held off, and git runs in a process group of its own (out of the
    /// terminal's Ctrl-C): for a step that must not stop half-way, such as moving a
    /// worktree's files with the ref that goes with them.
    pub fn hold_signals(&mut self) {
        self.held.get_or_insert_with(crate::signals::Held::new);
    }

    /// Keeps a journal from now on, naming `name`: killed part-way, this operation's move of
    /// that ref (a landing's target, which belongs to no session), and its worktree's files
    /// with it, are recorded by the next command for `undo` to take back.
    pub fn journal_ref(&mut self, name: &str) {
        if !self.journal_refs.iter().any(|r| r == name) {
            self.journal_refs.push(name.to_owned());
        }
    }

    /// The record so far with the staged ref edits in it, as if they were applied.
    fn record_with_staged(&self) -> OpRecord {
        let mut record = self.record.clone();
        for staged in &self.staged {
            if staged.new != staged.expect.value() {
                let hex = |id: Option<ObjectId>| id.map(|i| i.to_string());
                merge_change(
                    &mut record.refs,
                    &staged.name,
                    hex(staged.expect.value()),
                    hex(staged.new),
                );
            }
        }
        record
    }

    /// Writes the journal: the record so far with the ref edits about to apply.
    fn write_journal(&mut self) -> Result<(), TxError> {
        let record = self.record_with_staged();
        let dir = journal_dir(&self.repo.common_dir());
        let local = |source| TxError::Local {
            dir: dir.clone(),
            source,
        };
        if self.journal_lock.is_none() {
            std::fs::create_dir_all(&dir).map_err(local)?;
            let lock = std::fs::File::create(dir.join(format!("{}.lock", self.record.id)))
                .map_err(local)?;
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                .map_err(|e| local(e.into()))?;
            self.journal_lock = Some(lock);
        }
        let journal = Journal {
            record,
            refs: self.journal_refs.clone(),
        };
        let bytes = serde_json::to_vec(&journal).expect("journals serialize");
        crate::fsutil::write_atomic(&dir.join(format!("{}.json", self.record.id)), &bytes, None)
            .map_err(local)?;
        Ok(())
    }

    /// Removes the journal: the transaction ended (recorded, or taken back). The json first:
    /// a lock left without one is nothing to adopt.
    fn remove_journal(&mut self) {
        if let Some(lock) = self.journal_lock.take() {
            let dir = journal_dir(&self.repo.common_dir());
            let _ = std::fs::remove_file(dir.join(format!("{}.json", self.record.id)));
            let _ = std::fs::remove_file(dir.join(format!("{}.lock", self.record.id)));
            drop(lock);
        }
    }

    /// Applies what is staged and makes everything done so far permanent: the step that
    /// follows destroys something (files overwritten, a worktree removed), and what was just
    /// recorded (the checkpoint holding them) must stay reachable even if that step fails.
    /// Dropped unfinished after this, the transaction runs no compensation and records what
    /// it did as an operation that failed part-way.
    pub fn persist(&mut self) -> Result<(), TxError> {
        self.flush()?;
        self.compensations.clear();
        self.persisted = true;
        crate::fault::point("persisted");
        Ok(())
    }

    pub fn repo(&self) -> &'r Repo {
        self.repo
    }

    /// The operation's id (its record in the log once finished).
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// Marks this operation as undoing `op`.
    pub fn set_undoes(&mut self, op: &str) {
        self.record.undoes = Some(op.to_owned());
    }

    /// Notes that the operation concerns `session` (for `op log --session` and `undo`).
    pub fn touch(&mut self, session: &Session) {
        self.touch_named(session.name(), &session.meta.id);
    }

    pub fn touch_named(&mut self, name: &str, id: &str) {
        if !self
            .record
            .sessions
            .iter()
            .any(|s| s.id == id && s.name == name)
        {
            self.record.sessions.push(SessionRef {
                name: name.to_owned(),
                id: id.to_owned(),
            });
        }
    }

    // ---- reading through the transaction -------------------------------------------------

    /// The value of `name` as this transaction sees it (its staged edit, else the ref).
    pub fn read_ref(&self, name: &str) -> Result<Option<ObjectId>, RepoError> {
        match self.staged.iter().find(|s| s.name == name) {
            Some(staged) => Ok(staged.new),
            None => self.repo.read_ref(name),
        }
    }

    /// Session `name` as this transaction sees it.
    pub fn load(&self, name: &str) -> Result<Session, StoreError> {
        crate::session::name::validate(name)?;
        match self.read_ref(&ref_name(name))? {
            Some(tip) => Ok(Store::new(self.repo).read_at(name, tip)?.0),
            None => Err(StoreError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    // ---- staging ---------------------------------------------------------------------------

    /// Stages `name` → `new`. `seen`: the value the caller judged (and built on), which the
    /// update then expects; read again here only when the caller judged nothing, never in
    /// between (a value read twice could hide another process's change).
    fn stage(
        &mut self,
        name: &str,
        seen: Option<Expect>,
        new: Option<ObjectId>,
        message: &str,
        log: Option<(String, Option<Append>)>,
    ) -> Result<(), RepoError> {
        if let Some(staged) = self.staged.iter_mut().find(|s| s.name == name) {
            staged.new = new;
            staged.message = message.to_owned();
            match (&mut staged.log, log) {
                (Some((_, appends)), Some((_, Some(append)))) if !appends.is_empty() => {
                    appends.push(append)
                }
                (_, Some((session, append))) => {
                    // Anything but another append makes the log unrebuildable.
                    staged.log = Some((session, Vec::new()));
                    let _ = append;
                }
                (_, None) => {}
            }
            return Ok(());
        }
        let expect = match seen {
            Some(expect) => expect,
            None => Expect::from_value(self.repo.read_ref(name)?),
        };
        self.staged.push(Staged {
            name: name.to_owned(),
            expect,
            new,
            message: message.to_owned(),
            log: log.map(|(session, append)| (session, append.into_iter().collect())),
        });
        Ok(())
    }

    /// Stages `name` → `new`, expecting it as it is now (or as this transaction left it).
    pub fn set_ref(&mut self, name: &str, new: ObjectId, message: &str) -> Result<(), RepoError> {
        self.stage(name, None, Some(new), message, None)
    }

    /// Stages `name` → `new` when it is now `expect`; a ref that is not is a conflict now,
    /// before anything is applied.
    pub fn update_ref(
        &mut self,
        name: &str,
        new: ObjectId,
        expect: Expect,
        message: &str,
    ) -> Result<(), RepoError> {
        if self.read_ref(name)? != expect.value() {
            return Err(RepoError::RefConflict {
                ref_name: name.to_owned(),
            });
        }
        self.stage(name, Some(expect), Some(new), message, None)
    }

    /// Stages deleting `name` when it is now `expect`.
    pub fn delete_ref(
        &mut self,
        name: &str,
        expect: ObjectId,
        message: &str,
    ) -> Result<(), RepoError> {
        if self.read_ref(name)? != Some(expect) {
            return Err(RepoError::RefConflict {
                ref_name: name.to_owned(),
            });
        }
        self.stage(name, Some(Expect::At(expect)), None, message, None)
    }

    /// Records that git itself moved `name` from `before` (a command it ran: `git worktree
    /// add -b`, `git reset`, `git branch -m`, a fetch): it goes in the record, and back when
    /// the transaction is dropped unfinished and nobody moved it since.
    pub fn record_external(
        &mut self,
        name: &str,
        before: Option<ObjectId>,
    ) -> Result<(), RepoError> {
        let after = self.repo.read_ref(name)?;
        if after == before {
            return Ok(());
        }
        self.push_ref_change(name, before, after);
        let name = name.to_owned();
        self.compensations.push(Box::new(move |repo: &Repo| {
            revert_ref(repo, &name, after, before);
        }));
        Ok(())
    }

    /// Sets the note on `commit` in `notes_ref` to what `update` makes of the current one
    /// (gix writes the notes ref, retrying on conflict); the ref's move goes in the record.
    pub fn update_note(
        &mut self,
        notes_ref: &str,
        commit: ObjectId,
        message: &str,
        update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, RepoError> {
        let before = self.repo.read_ref(notes_ref)?;
        let changed = self.repo.update_note(notes_ref, commit, message, update)?;
        self.record_external(notes_ref, before)?;
        Ok(changed)
    }

    /// Records, before git runs, that a command of git's is about to move `name` from `before`
    /// to `after` (a fast-forward in a worktree that has it checked out): in the journal
    /// first, so a kill while git runs leaves the move for the next command to record
    /// ([`adopt_killed`]), and taken back with the rest when the transaction is dropped
    /// unfinished and nobody moved it since. The caller checks git moved it.
    pub fn external_ahead(&mut self, name: &str, before: ObjectId, after: ObjectId) {
        self.push_ref_change(name, Some(before), Some(after));
        if self.journal_refs.iter().any(|r| r == name) {
            let _ = self.write_journal();
        }
        let name = name.to_owned();
        self.compensations.push(Box::new(move |repo: &Repo| {
            revert_ref(repo, &name, Some(after), Some(before));
        }));
    }

    /// Runs `f`, which starts git, with the journal's lock handed down to the processes it
    /// starts: killed meanwhile, the lock stays held until git ends too, so the next command
    /// records the operation ([`adopt_killed`]) only once git's part of it is over (it would
    /// find the ref not moved yet, and drop the journal).
    pub fn inheriting_journal_lock<T>(&self, f: impl FnOnce() -> T) -> T {
        use std::os::fd::AsFd;
        let fd = self.journal_lock.as_ref().map(|lock| lock.as_fd());
        if let Some(fd) = fd {
            let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty());
        }
        let out = f();
        if let Some(fd) = fd {
            let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
        }
        out
    }

    /// Records git's changes to every ref under `prefix` since `before` (a snapshot taken with
    /// [`Transaction::snapshot_refs`]).
    pub fn record_external_prefix(
        &mut self,
        before: &[(String, ObjectId)],
        prefix: &str,
    ) -> Result<(), RepoError> {
        let after = self.repo.list_refs(prefix)?;
        let mut names: Vec<&String> = before.iter().chain(after.iter()).map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        let find = |list: &[(String, ObjectId)], name: &str| {
            list.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
        };
        let changes: Vec<(String, Option<ObjectId>, Option<ObjectId>)> = names
            .into_iter()
            .map(|n| (n.clone(), find(before, n), find(&after, n)))
            .filter(|(_, b, a)| b != a)
            .collect();
        for (name, before, after) in changes {
            self.push_ref_change(&name, before, after);
        }
        Ok(())
    }

    /// The refs under `prefix`, for [`Transaction::record_external_prefix`].
    pub fn snapshot_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, RepoError> {
        self.repo.list_refs(prefix)
    }

    fn push_ref_change(&mut self, name: &str, old: Option<ObjectId>, new: Option<ObjectId>) {
        let hex = |id: Option<ObjectId>| id.map(|i| i.to_string());
        match self.record.refs.iter_mut().find(|c| c.name == name) {
            Some(change) => change.new = hex(new),
            None => self.record.refs.push(RefChange {
                name: name.to_owned(),
                old: hex(old),
                new: hex(new),
            }),
        }
        self.record
            .refs
            .retain(|c| c.old != c.new || c.name != name);
    }

    // ---- sessions ----------------------------------------------------------------------------

    /// Creates session `meta.name` with its first event. Refused when the name is taken, now
    /// or (at `finish`) by then.
    pub fn create_session(
        &mut self,
        meta: SessionMeta,
        event: Event,
        context: Option<&str>,
    ) -> Result<Session, TxError> {
        let session = Store::new(self.repo).build_create(meta, event, context)?;
        let name = ref_name(session.name());
        if self.read_ref(&name)?.is_some() {
            return Err(StoreError::AlreadyExists {
                name: session.name().to_owned(),
            }
            .into());
        }
        self.stage(
            &name,
            Some(Expect::Absent),
            Some(session.tip),
            "session: created",
            Some((session.name().to_owned(), None)),
        )?;
        self.touch(&session);
        Ok(session)
    }

    /// Records `event` on session `name`: `change` edits its metadata as the transaction sees
    /// it now, and again on top of whatever another process records meanwhile.
    pub fn record(
        &mut self,
        name: &str,
        event: Event,
        change: impl FnMut(&mut SessionMeta, &mut Option<String>) + 'static,
    ) -> Result<Session, TxError> {
        let mut change: MetaChange = Box::new(change);
        let refname = ref_name(name);
        let base = self
            .read_ref(&refname)?
            .ok_or_else(|| StoreError::NotFound {
                name: name.to_owned(),
            })?;
        crate::session::name::validate(name).map_err(StoreError::from)?;
        let session = Store::new(self.repo).build_event(name, base, &event, &mut change)?;
        let message = format!("session: {}", event.kind.as_str());
        self.stage(
            &refname,
            Some(Expect::At(base)),
            Some(session.tip),
            &message,
            Some((name.to_owned(), Some(Append { event, change }))),
        )?;
        self.touch(&session);
        Ok(session)
    }

    /// Moves session `old` to the name `new` (a `renamed:` event under the new ref, the old
    /// ref deleted).
    pub fn rename_session(
        &mut self,
        old: &str,
        new: &str,
        mut change: impl FnMut(&mut SessionMeta),
    ) -> Result<Session, TxError> {
        let current = self.load(old)?;
        let renamed = Store::new(self.repo).build_rename(&current, new, &mut change)?;
        let new_ref = ref_name(new);
        if self.read_ref(&new_ref)?.is_some() {
            return Err(StoreError::AlreadyExists {
                name: new.to_owned(),
            }
            .into());
        }
        self.stage(
            &new_ref,
            Some(Expect::Absent),
            Some(renamed.tip),
            "session: renamed",
            Some((new.to_owned(), None)),
        )?;
        self.stage(
            &ref_name(old),
            Some(Expect::At(current.tip)),
            None,
            "session: renamed",
            Some((old.to_owned(), None)),
        )?;
        self.touch(&current);
        self.touch(&renamed);
        Ok(renamed)
    }

    /// Deletes session `name`: a `deleted:` event, then its log moves to the trash
    /// (`refs/sessions-trash/<id>-<tip>`). Returns the trash ref.
    pub fn trash_session(&mut self, name: &str) -> Result<String, TxError> {
        self.record(
            name,
            Event::new(crate::session::EventKind::Deleted, name.to_owned()),
            |_, _| {},
        )?;
        // The trash ref is named after the final tip.
        self.flush()?;
        let session = self.load(name)?;
        let trash_ref = Store::trash_ref_for(&session);
        self.update_ref(&trash_ref, session.tip, Expect::Absent, "session: deleted")?;
        self.stage(
            &ref_name(name),
            Some(Expect::At(session.tip)),
            None,
            "session: deleted",
            Some((name.to_owned(), None)),
        )?;
        Ok(trash_ref)
    }

    /// Moves an unreadable session's log to the trash as it is.
    pub fn trash_unreadable(&mut self, name: &str) -> Result<String, TxError> {
        crate::session::name::validate(name).map_err(StoreError::from)?;
        let refname = ref_name(name);
        let tip = self
            .read_ref(&refname)?
            .ok_or_else(|| StoreError::NotFound {
                name: name.to_owned(),
            })?;
        let trash_ref = Store::unreadable_trash_ref(tip);
        if self.read_ref(&trash_ref)? != Some(tip) {
            self.update_ref(
                &trash_ref,
                tip,
                Expect::Absent,
                "session: deleted unreadable",
            )?;
        }
        self.delete_ref(&refname, tip, "session: deleted unreadable")?;
        Ok(trash_ref)
    }

    // ---- machine-local state, files, worktrees ----------------------------------------------

    /// Changes the machine-local record of session `id` now (pending markers must be on disk
    /// before the work they guard), recording it; restored when the transaction is dropped
    /// unfinished and nobody changed it since.
    pub fn local_update(
        &mut self,
        local: &LocalStore,
        id: &str,
        change: impl FnOnce(&mut LocalState),
    ) -> Result<LocalState, TxError> {
        let (before, after) = local
            .update_from(id, change)
            .map_err(|source| TxError::Local {
                dir: local.dir().to_owned(),
                source,
            })?;
        self.push_local(local, id, before, Some(after.clone()));
        Ok(after)
    }

    /// Removes the machine-local record of session `id`.
    pub fn local_remove(&mut self, local: &LocalStore, id: &str) {
        if let Ok(before @ Some(_)) = local.replace(id, None) {
            self.push_local(local, id, before, None);
        }
    }

    /// Replaces the machine-local record of session `id` (None: removes it).
    pub fn local_put(
        &mut self,
        local: &LocalStore,
        id: &str,
        state: Option<&LocalState>,
    ) -> Result<(), TxError> {
        let before = local.replace(id, state).map_err(|source| TxError::Local {
            dir: local.dir().to_owned(),
            source,
        })?;
        self.push_local(local, id, before, state.cloned());
        Ok(())
    }

    fn push_local(
        &mut self,
        local: &LocalStore,
        id: &str,
        before: Option<LocalState>,
        after: Option<LocalState>,
    ) {
        match self.record.local.iter_mut().find(|c| c.id == id) {
            Some(change) => change.after = after.clone(),
            None => {
                self.record.local.push(LocalChange {
                    id: id.to_owned(),
                    before: before.clone(),
                    after: after.clone(),
                });
                let dir = local.dir().to_owned();
                let id = id.to_owned();
                self.compensations.push(Box::new(move |_repo: &Repo| {
                    let store = LocalStore::new_at(&dir);
                    let now = store.get_existing(&id);
                    // Only when nobody changed it meanwhile.
                    if now.is_some() || after.is_none() {
                        match before {
                            Some(state) => {
                                let _ = store.put(&id, &state);
                            }
                            None => store.remove(&id),
                        }
                    }
                }));
            }
        }
    }

    /// Notes that the operation is about to rewrite `path` (a hook file, a settings file,
    /// `.git/config`): its bytes now go in the record, its bytes at `finish` too.
    pub fn watch_file(&mut self, path: &Path) {
        if self.files_before.iter().any(|(p, _)| p == path) {
            return;
        }
        let before = read_with_mode(path);
        self.files_before.push((path.to_owned(), before.clone()));
        let path = path.to_owned();
        self.compensations.push(Box::new(move |_repo: &Repo| {
            let _ = match &before {
                Some((bytes, mode)) => crate::fsutil::write_atomic(&path, bytes, Some(*mode)),
                None => std::fs::remove_file(&path).or(Ok(())),
            };
        }));
    }

    pub fn worktree(&mut self, change: WorktreeChange) {
        self.record.worktrees.push(change);
    }

    pub fn published(&mut self, published: Published) {
        self.record.published = Some(published);
    }

    /// Registers what to do when the transaction is dropped unfinished (run newest first).
    pub fn on_rollback(&mut self, compensation: impl FnOnce(&Repo) + 'static) {
        self.compensations.push(Box::new(compensation));
    }

    // ---- applying ------------------------------------------------------------------------------

    fn updates(&self, extra: Option<&RefUpdate>) -> Vec<RefUpdate> {
        self.staged
            .iter()
            .filter(|s| s.new != s.expect.value())
            .map(|s| RefUpdate {
                name: s.name.clone(),
                expect: s.expect,
                new: s.new,
                message: s.message.clone(),
            })
            .chain(extra.cloned())
            .collect()
    }

    /// After a conflict: every staged log whose ref moved is built again on top of it; any
    /// other ref that moved is an error.
    fn rebuild_moved(&mut self) -> Result<(), TxError> {
        let store = Store::new(self.repo);
        for staged in &mut self.staged {
            let actual = self.repo.read_ref(&staged.name)?;
            if actual == staged.expect.value() {
                continue;
            }
            match &mut staged.log {
                Some((name, appends)) if !appends.is_empty() && actual.is_some() => {
                    let mut base = actual.expect("checked above");
                    for append in appends.iter_mut() {
                        base = store
                            .build_event(name, base, &append.event, &mut append.change)?
                            .tip;
                    }
                    staged.expect = Expect::from_value(actual);
                    staged.new = Some(base);
                }
                Some((name, _)) if actual.is_none() => {
                    return Err(StoreError::NotFound { name: name.clone() }.into());
                }
                Some((name, _)) => {
                    return Err(StoreError::Contended {
                        name: name.clone(),
                        event: "this command's events".into(),
                    }
                    .into());
                }
                None => {
                    return Err(RepoError::RefConflict {
                        ref_name: staged.name.clone(),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Applies everything staged so far in one reference transaction (retried with logs
    /// rebuilt when another process recorded on them meanwhile).
    pub fn flush(&mut self) -> Result<(), TxError> {
        self.apply(false)
    }

    fn apply(&mut self, with_record: bool) -> Result<(), TxError> {
        for attempt in 0..MAX_ATTEMPTS {
            let keep = if with_record {
                self.fill_record_files();
                let record = self.record_with_staged();
                // A prune is recorded even alone: the chain it rebuilt must be set.
                if record.is_empty() && self.prune_before.is_none() {
                    None
                } else {
                    let previous = self.repo.read_ref(oplog::KEEP_REF)?;
                    let base = match self.prune_before {
                        Some(before) => self.rebuilt_chain(previous, before)?,
                        None => previous,
                    };
                    let commit = oplog::keep_commit(self.repo, base, &record)?;
                    Some((
                        record,
                        RefUpdate {
                            name: oplog::KEEP_REF.to_owned(),
                            expect: Expect::from_value(previous),
                            new: Some(commit),
                            message: "session: operation".into(),
                        },
                    ))
                }
            } else {
                None
            };
            let updates = self.updates(keep.as_ref().map(|(_, u)| u));
            // Before the record's own apply too: what only `finish` applies (a kept
            // session's branch) is in it.
            // Best effort: a journal that cannot be written (a read-only directory) leaves the
            // command as it was before journals, not failed.
            if !self.journal_refs.is_empty()
                && self.staged.iter().any(|s| s.new != s.expect.value())
            {
                let _ = self.write_journal();
            }
            crate::fault::point(if with_record { "finish" } else { "flush" });
            match self.repo.apply_ref_edits(&updates) {
                Ok(()) => {
                    for staged in std::mem::take(&mut self.staged) {
                        if staged.new == staged.expect.value() {
                            continue;
                        }
                        let (old, new) = (staged.expect.value(), staged.new);
                        self.push_ref_change(&staged.name, old, new);
                        let name = staged.name;
                        self.compensations.push(Box::new(move |repo: &Repo| {
                            revert_ref(repo, &name, new, old);
                        }));
                    }
                    if let Some((record, _)) = keep {
                        self.record = record;
                    }
                    return Ok(());
                }
                Err(RepoError::RefConflict { ref_name }) => {
                    if ref_name != oplog::KEEP_REF {
                        self.rebuild_moved()?;
                    }
                    // Every command records in the operation log: its lock left by a killed
                    // process would stop them all. git-session (and git's gc, briefly) hold
                    // it for milliseconds, so one this old is nobody's.
                    take_back_stale_lock(
                        &self
                            .repo
                            .common_dir()
                            .join(format!("{}.lock", oplog::KEEP_REF)),
                    );
                    // Backs off a little: another process is committing its own.
                    std::thread::sleep(std::time::Duration::from_millis(2 << attempt.min(6)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // A lock file in the way (a killed process's) is said as such, not as contention.
        let common = self.repo.common_dir();
        let locked = self
            .staged
            .iter()
            .map(|s| s.name.as_str())
            .chain(with_record.then_some(oplog::KEEP_REF))
            .map(|name| common.join(format!("{name}.lock")))
            .chain(std::iter::once(common.join("packed-refs.lock")))
            .find(|lock| lock.exists());
        if let Some(lock) = locked {
            return Err(TxError::Locked { lock });
        }
        Err(StoreError::Contended {
            name: self
                .record
                .sessions
                .first()
                .map_or_else(String::new, |s| s.name.clone()),
            event: "this command's events".into(),
        }
        .into())
    }

    fn fill_record_files(&mut self) {
        self.record.files = self
            .files_before
            .iter()
            .filter_map(|(path, before)| {
                let after = read_with_mode(path);
                (after != *before).then(|| FileChange {
                    path: path.clone(),
                    before: before.as_ref().map(|(b, _)| oplog::to_hex(b)),
                    after: after.as_ref().map(|(b, _)| oplog::to_hex(b)),
                    before_mode: before.as_ref().map(|(_, m)| *m),
                    after_mode: after.as_ref().map(|(_, m)| *m),
                })
            })
            .collect();
    }

    /// Drops from the log (and from the keep-alive chain, so `git gc` may collect what only
    /// they kept) the records older than `before` (seconds), when the transaction finishes.
    pub fn prune_log(&mut self, before: i64) {
        self.prune_before = Some(before);
    }

    /// The chain at `tip` without the records older than `before`: `tip` itself when none
    /// is, else a new chain of the others.
    fn rebuilt_chain(
        &mut self,
        tip: Option<ObjectId>,
        before: i64,
    ) -> Result<Option<ObjectId>, TxError> {
        let all = oplog::chain_records(self.repo, tip)?;
        let dropped = all.iter().take_while(|r| r.time < before).count();
        if dropped == 0 {
            self.pruned = None;
            return Ok(tip);
        }
        let kept = all[dropped..].to_vec();
        let base = oplog::build_chain(self.repo, &kept)?;
        self.pruned = Some(Pruned { kept });
        Ok(base)
    }

    /// Applies what is staged together with the operation's record (one reference
    /// transaction), then appends the record to the log. Returns the record.
    pub fn finish(mut self) -> Result<OpRecord, TxError> {
        // Held from moving the chain to writing the file: records reach the file in chain
        // order, and a rewrite by `gc` loses none.
        let log = OpLog::new(&self.repo.common_dir());
        let lock = log.lock().ok();
        self.apply(true)?;
        self.finished = true;
        crate::fault::point("record");
        if (!self.record.is_empty() || self.prune_before.is_some())
            && let Some(lock) = &lock
        {
            // The keep-alive chain holds it already; a failure here is repaired by `doctor`.
            let _ = match &mut self.pruned {
                Some(pruned) => {
                    let mut records = std::mem::take(&mut pruned.kept);
                    records.push(self.record.clone());
                    log.rewrite(lock, &records)
                }
                None => log.append(lock, std::slice::from_ref(&self.record)),
            };
        }
        self.remove_journal();
        Ok(std::mem::replace(
            &mut self.record,
            OpRecord {
                id: String::new(),
                time: 0,
                command: String::new(),
                automatic: false,
                sessions: Vec::new(),
                refs: Vec::new(),
                worktrees: Vec::new(),
                local: Vec::new(),
                files: Vec::new(),
                published: None,
                undoes: None,
            },
        ))
    }
}

/// A file's bytes and permission bits, None when it is not there.
fn read_with_mode(path: &Path) -> Option<FileState> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(path).ok()?;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    Some((bytes, mode))
}

fn merge_change(refs: &mut Vec<RefChange>, name: &str, old: Option<String>, new: Option<String>) {
    match refs.iter_mut().find(|c| c.name == name) {
        Some(change) => change.new = new,
        None => refs.push(RefChange {
            name: name.to_owned(),
            old,
            new,
        }),
    }
    refs.retain(|c| c.old != c.new);
}

/// Puts `name` back from `from` to `to`, only if it is still at `from`.
fn revert_ref(repo: &Repo, name: &str, from: Option<ObjectId>, to: Option<ObjectId>) {
    let _ = repo.apply_ref_edits(&[RefUpdate {
        name: name.to_owned(),
        expect: Expect::from_value(from),
        new: to,
        message: "session: taken back (the command failed)".into(),
    }]);
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if self.persisted {
            // What happened stays, and is recorded (the staged rest is not applied).
            self.staged.clear();
            self.record.command.push_str(" (failed part-way)");
            self.prune_before = None;
            let log = OpLog::new(&self.repo.common_dir());
            let lock = log.lock().ok();
            if self.apply(true).is_ok() {
                if !self.record.is_empty()
                    && let Some(lock) = &lock
                {
                    let _ = log.append(lock, std::slice::from_ref(&self.record));
                }
                self.remove_journal();
            }
            // Not recorded: the journal stays for the next command to record.
            return;
        }
        for compensation in std::mem::take(&mut self.compensations).into_iter().rev() {
            compensation(self.repo);
        }
        self.remove_journal();
    }
}

/// Records the operations whose process was killed while it kept a journal (see
/// [`Journal`]), each as one killed part-way holding what `undo` can safely take back: the
/// refs it named ([`Transaction::journal_ref`]) that are still where it put them, the notes
/// it moved, and those branches' moves in their worktrees. Everything else a killed command
/// leaves is finished by the pending markers (`resume`, `doctor`). A journal whose process
/// still holds its lock is left alone (a git a landing started holds it too: git moves
/// files, then the ref, and is waited for). Returns what was recorded.
pub fn adopt_killed(repo: &Repo) -> Result<Vec<OpRecord>, TxError> {
    let dir = journal_dir(&repo.common_dir());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut journals = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .map(str::to_owned)
        else {
            continue;
        };
        // Held while its process lives; taken here, it stays held while this records it.
        let Ok(lock) = std::fs::File::options()
            .write(true)
            .open(dir.join(format!("{id}.lock")))
        else {
            continue;
        };
        if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            continue;
        }
        let Some(journal) =
            crate::fsutil::read_json::<Journal>(&path).filter(|j| j.record.id == id)
        else {
            continue;
        };
        journals.push((journal, path, lock));
    }
    // In the order they began.
    journals.sort_by_key(|(journal, _, _)| journal.record.time);
    let mut adopted = Vec::new();
    let mut recorded: Option<std::collections::HashSet<String>> = None;
    for (journal, path, lock) in journals {
        let Journal { mut record, refs } = journal;
        // Killed between recording and removing its journal: recorded already.
        let recorded = match &mut recorded {
            Some(ids) => ids,
            None => recorded.insert(
                oplog::chain_records(repo, repo.read_ref(oplog::KEEP_REF)?)?
                    .into_iter()
                    .map(|r| r.id)
                    .collect(),
            ),
        };
        let in_place = |change: &RefChange| {
            repo.read_ref(&change.name)
                .ok()
                .map(|now| now.map(|id| id.to_string()))
                == Some(change.new.clone())
        };
        let moved: Vec<RefChange> = record
            .refs
            .iter()
            .filter(|c| refs.contains(&c.name) && in_place(c))
            .cloned()
            .collect();
        if !recorded.contains(&record.id) && !moved.is_empty() {
            record.worktrees.retain(|w| match w {
                WorktreeChange::Advanced { branch, .. } => moved
                    .iter()
                    .any(|c| c.name == format!("refs/heads/{branch}")),
                _ => false,
            });
            let notes: Vec<RefChange> = record
                .refs
                .iter()
                .filter(|c| c.name.starts_with("refs/notes/") && in_place(c))
                .cloned()
                .collect();
            record.refs = moved.into_iter().chain(notes).collect();
            record.local.clear();
            record.files.clear();
            record.command.push_str(" (killed part-way)");
            let mut tx = Transaction::start(repo, "", record.automatic);
            tx.record = record;
            let done = tx.finish()?;
            recorded.insert(done.id.clone());
            adopted.push(done);
        }
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("lock"));
        drop(lock);
    }
    Ok(adopted)
}

/// Whether an operation that keeps a journal is under way: its journal's lock is held (by
/// its process, or by a git it started that outlived a kill). What it did is not in the log
/// yet, so an `undo` now would pick the operation before it.
pub fn operation_under_way(repo: &Repo) -> bool {
    let Ok(entries) = std::fs::read_dir(journal_dir(&repo.common_dir())) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        path.extension().is_some_and(|e| e == "lock")
            && path.with_extension("json").exists()
            && std::fs::File::options()
                .write(true)
                .open(&path)
                .is_ok_and(|lock| {
                    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockShared)
                        .is_err()
                })
    })
}

/// The text of a command line for the log: the arguments after the program, each quoted
/// for the shell when it needs it.
pub fn command_line() -> String {
    std::env::args()
        .skip(1)
        .map(|a| {
            crate::text::shell_quote_unless(&a, |c| {
                c.is_ascii_alphanumeric() || "-_./:=@+,%^~#".contains(c)
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}
