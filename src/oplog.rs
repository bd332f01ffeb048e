//! The operation log: one record per state-changing command (DESIGN §8), what `git session
//! op log` lists and `undo` reverses. Machine-local (records name paths on this machine):
//! kept in `$GIT_COMMON_DIR/session/oplog.jsonl`, one JSON line per operation, oldest first.
//!
//! Everything a record needs to be undone stays reachable from `refs/sessions-oplog`: a chain
//! of commits, one per operation, whose message is the record and whose parents after the
//! first are the commits it names (old ref values, checkpoints), so `git gc` keeps them. The
//! chain moves in the same reference transaction as the operation's own refs (see
//! `transaction`), so a record is never lost once its refs changed; the file is the fast
//! index, rebuilt from the chain when a crash left it behind (`doctor`).
//!
//! Reading the newest records reads the file backwards, a block at a time, so `op log -n 20`
//! costs the same with 10 operations or 10,000. Never prints.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::git::{ObjectId, Repo, RepoError};
use crate::session::LocalState;

/// The reference that keeps what the records need reachable.
pub const KEEP_REF: &str = "refs/sessions-oplog";
const FILE: &str = "oplog.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum OpLogError {
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no operation '{0}' in the operation log (`git session op log` lists them)")]
    NotFound(String),
    #[error("'{0}' matches several operations; use more digits")]
    Ambiguous(String),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A session an operation touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    pub name: String,
    pub id: String,
}

/// A reference an operation changed: from `old` to `new` (None: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefChange {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl RefChange {
    pub fn old_id(&self) -> Option<ObjectId> {
        self.old
            .as_deref()
            .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
    }

    pub fn new_id(&self) -> Option<ObjectId> {
        self.new
            .as_deref()
            .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
    }
}

/// What an operation did to a worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum WorktreeChange {
    /// A worktree was made at `path` with `branch` checked out at `head`; `checkpoint` is
    /// the one whose files were put into it (a fork, a recreated worktree), if any.
    Created {
        session: SessionRef,
        path: PathBuf,
        branch: String,
        head: Option<String>,
        checkpoint: Option<String>,
    },
    /// The worktree at `path` was removed; `checkpoint` holds its files (uncommitted and
    /// staged work) as they were, or None when it was clean at `head`; `saved` is where the
    /// ignored files it changed were kept.
    Removed {
        session: SessionRef,
        path: PathBuf,
        branch: String,
        head: Option<String>,
        checkpoint: Option<String>,
        saved: Option<PathBuf>,
    },
    /// The worktree moved (`git worktree move`).
    Moved {
        session: SessionRef,
        from: PathBuf,
        to: PathBuf,
    },
    /// The session's branch was renamed (`git branch -m`, which also repoints the HEAD of
    /// the worktree that has it checked out).
    BranchRenamed {
        session: SessionRef,
        from: String,
        to: String,
    },
    /// The branch checked out in the worktree at `path` moved from `from` to `to` with its
    /// files, local changes elsewhere kept (`land` fast-forwarding its target there).
    Advanced {
        path: PathBuf,
        branch: String,
        from: String,
        to: String,
    },
    /// The worktree's files went from checkpoint `before` to checkpoint `after` (rewind,
    /// catching up with a fetched log).
    Restored {
        session: SessionRef,
        path: PathBuf,
        before: String,
        after: String,
    },
}

/// A machine-local record an operation changed (None: there was none / it was removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalChange {
    pub id: String,
    pub before: Option<LocalState>,
    pub after: Option<LocalState>,
}

/// A file outside git's objects an operation rewrote (hook files, Claude Code's settings,
/// `info/exclude`, `.git/config`): its bytes before and after (hex; None: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The file's permission bits before and after (an executable hook stays executable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_mode: Option<u32>,
}

/// What a push published: no undo can take it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub remote: String,
    pub refs: Vec<String>,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    pub id: String,
    /// Seconds since the epoch (git's committer clock, so `GIT_COMMITTER_DATE` pins it).
    pub time: i64,
    /// The command line, without the program name.
    pub command: String,
    /// Taken by a hook or a background process, not by someone's command: `undo` without
    /// an id passes over it.
    #[serde(default)]
    pub automatic: bool,
    #[serde(default)]
    pub sessions: Vec<SessionRef>,
    #[serde(default)]
    pub refs: Vec<RefChange>,
    #[serde(default)]
    pub worktrees: Vec<WorktreeChange>,
    #[serde(default)]
    pub local: Vec<LocalChange>,
    #[serde(default)]
    pub files: Vec<FileChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// The operation this one undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

/// Whether `h` is an object id in hex.
fn is_object_hex(h: &str) -> bool {
    matches!(h.len(), 40 | 64) && h.bytes().all(|b| b.is_ascii_hexdigit())
}

impl OpRecord {
    /// Whether every id in it is well-formed (a record that is not is read as unreadable:
    /// the file is machine-local, but a hand-edited line must not steer an undo).
    pub fn is_well_formed(&self) -> bool {
        let id_ok = |h: &Option<String>| h.as_deref().is_none_or(is_object_hex);
        self.id.len() == 12
            && self.id.bytes().all(|b| b.is_ascii_hexdigit())
            && self
                .refs
                .iter()
                .all(|c| id_ok(&c.old) && id_ok(&c.new) && (c.old.is_some() || c.new.is_some()))
            && self.worktrees.iter().all(|w| match w {
                WorktreeChange::Created {
                    head, checkpoint, ..
                }
                | WorktreeChange::Removed {
                    head, checkpoint, ..
                } => id_ok(head) && id_ok(checkpoint),
                WorktreeChange::Restored { before, after, .. } => {
                    is_object_hex(before) && is_object_hex(after)
                }
                WorktreeChange::Advanced { from, to, .. } => {
                    is_object_hex(from) && is_object_hex(to)
                }
                WorktreeChange::Moved { .. } | WorktreeChange::BranchRenamed { .. } => true,
            })
            && self.files.iter().all(|f| {
                [&f.before, &f.after]
                    .into_iter()
                    .all(|h| h.as_deref().is_none_or(|h| from_hex(h).is_some()))
            })
            && self
                .undoes
                .as_deref()
                .is_none_or(|u| u.len() == 12 && u.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// Whether it changed anything (a command that found nothing to do records nothing).
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
            && self.worktrees.is_empty()
            && self.local.is_empty()
            && self.files.is_empty()
            && self.published.is_none()
    }

    /// Whether it touched the session with this id.
    pub fn touches_id(&self, id: &str) -> bool {
        self.sessions.iter().any(|s| s.id == id)
    }

    pub fn touches(&self, session: &str) -> bool {
        self.sessions
            .iter()
            .any(|s| s.name == session || s.id == session)
    }

    /// The commits it names that must stay reachable for it to be undone (and redone).
    pub fn commits(&self) -> Vec<ObjectId> {
        let hex = |h: &Option<String>| {
            h.as_deref()
                .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
        };
        let mut out: Vec<ObjectId> = Vec::new();
        for change in &self.refs {
            out.extend(hex(&change.old));
            out.extend(hex(&change.new));
        }
        for change in &self.worktrees {
            match change {
                WorktreeChange::Created {
                    head, checkpoint, ..
                }
                | WorktreeChange::Removed {
                    head, checkpoint, ..
                } => {
                    out.extend(hex(head));
                    out.extend(hex(checkpoint));
                }
                WorktreeChange::Moved { .. } | WorktreeChange::BranchRenamed { .. } => {}
                WorktreeChange::Advanced { from, to, .. } => {
                    out.extend(hex(&Some(from.clone())));
                    out.extend(hex(&Some(to.clone())));
                }
                WorktreeChange::Restored { before, after, .. } => {
                    out.extend(hex(&Some(before.clone())));
                    out.extend(hex(&Some(after.clone())));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Hex of bytes (file contents in [`FileChange`]).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The log's file and lock.
pub struct OpLog {
    dir: PathBuf,
}

impl OpLog {
    pub fn new(common_dir: &Path) -> OpLog {
        OpLog {
            dir: common_dir.join("session"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    fn io<'p>(
        action: &'static str,
        path: &'p Path,
    ) -> impl FnOnce(std::io::Error) -> OpLogError + 'p {
        move |source| OpLogError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// Takes the lock that makes undos one at a time: held from picking the operation to
    /// recording the undo, so two `undo`s at once never both take back the same one.
    pub fn undo_lock(&self) -> Result<LogLock, OpLogError> {
        std::fs::create_dir_all(&self.dir).map_err(Self::io("create", &self.dir))?;
        let lock_path = self.dir.join("undo.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Self::io("open", &lock_path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Self::io("lock", &lock_path)(e.into()))?;
        Ok(LogLock { _file: file })
    }

    /// Takes the log's lock: held by a transaction from moving the keep-alive chain until
    /// its record is in the file, so the file follows the chain in order and `gc` can
    /// rewrite both without losing a record another process is adding.
    pub fn lock(&self) -> Result<LogLock, OpLogError> {
        std::fs::create_dir_all(&self.dir).map_err(Self::io("create", &self.dir))?;
        let lock_path = self.dir.join("oplog.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Self::io("open", &lock_path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Self::io("lock", &lock_path)(e.into()))?;
        Ok(LogLock { _file: file })
    }

    /// Appends records (one write each, so readers never see two interleaved).
    pub fn append(&self, _lock: &LogLock, records: &[OpRecord]) -> Result<(), OpLogError> {
        let path = self.path();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(Self::io("open", &path))?;
        // A line a crash cut short is ended first, so it cannot swallow the next record.
        let len = file.metadata().map_err(Self::io("read", &path))?.len();
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(Self::io("read", &path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(Self::io("write", &path))?;
            }
        }
        for record in records {
            let mut line = serde_json::to_vec(record).expect("records serialize");
            line.push(b'\n');
            file.write_all(&line).map_err(Self::io("write", &path))?;
        }
        Ok(())
    }

    /// Brings the file level with the keep-alive chain, which moves first: a command killed
    /// between the two, or a line cut short, leaves the file behind, and `undo` must never
    /// pick from a log that misses the newest operations. Cheap when they agree (the chain's
    /// newest record is the file's); otherwise the file is written again from the chain.
    /// Returns how many records the file lacked.
    pub fn catch_up(&self, repo: &Repo) -> Result<usize, OpLogError> {
        let Some(tip) = repo.read_ref(KEEP_REF)? else {
            return Ok(0);
        };
        let newest_in_chain = record_of(repo, &repo.read_commit(tip)?).map(|r| r.id);
        if newest_in_chain.is_none() || self.newest_first()?.next().map(|r| r.id) == newest_in_chain
        {
            return Ok(0);
        }
        let lock = self.lock()?;
        let chain = chain_records(repo, Some(tip))?;
        let known: std::collections::HashSet<String> = self.newest_first()?.map(|r| r.id).collect();
        let missing = chain.iter().filter(|r| !known.contains(&r.id)).count();
        if missing > 0
            || self.newest_first()?.next().map(|r| r.id) != chain.last().map(|r| r.id.clone())
        {
            self.rewrite(&lock, &chain)?;
        }
        Ok(missing)
    }

    /// The operation that undid `id` (and was not itself undone since), if one did.
    pub fn undone_by(&self, id: &str) -> Result<Option<String>, OpLogError> {
        let mut undone = std::collections::HashSet::new();
        for record in self.newest_first()? {
            if record.id == id {
                break;
            }
            if undone.contains(&record.id) {
                continue;
            }
            if let Some(target) = record.undoes {
                if target == id {
                    return Ok(Some(record.id));
                }
                undone.insert(target);
            }
        }
        Ok(None)
    }

    /// The number of records older than `before` (seconds), counted from the oldest.
    pub fn count_older(&self, before: i64) -> Result<usize, OpLogError> {
        let path = self.path();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Self::io("read", &path)(e)),
        };
        Ok(text
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<OpRecord>(line).ok())
            .take_while(|r| r.time < before)
            .count())
    }

    /// Records newest first, read lazily from the end of the file; an unreadable line is
    /// skipped (a crash mid-write leaves at most the last one cut).
    pub fn newest_first(&self) -> Result<NewestFirst, OpLogError> {
        let path = self.path();
        let file = match std::fs::File::open(&path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Self::io("read", &path)(e)),
        };
        let end = match &file {
            Some(f) => f.metadata().map_err(Self::io("read", &path))?.len(),
            None => 0,
        };
        Ok(NewestFirst {
            file,
            pos: end,
            tail: Vec::new(),
            lines: Vec::new(),
            overlong: false,
        })
    }

    /// The record whose id is `spec` or starts with it (4 or more digits).
    pub fn find(&self, spec: &str) -> Result<OpRecord, OpLogError> {
        let spec = spec.trim().to_ascii_lowercase();
        if spec.len() < 4 {
            return Err(OpLogError::NotFound(spec));
        }
        let mut found: Option<OpRecord> = None;
        for record in self.newest_first()? {
            if record.id.starts_with(&spec) {
                if found.as_ref().is_some_and(|f| f.id != record.id) {
                    return Err(OpLogError::Ambiguous(spec));
                }
                found = Some(record);
            }
        }
        found.ok_or(OpLogError::NotFound(spec))
    }

    /// Every record, oldest first.
    pub fn all(&self) -> Result<Vec<OpRecord>, OpLogError> {
        let mut out: Vec<OpRecord> = self.newest_first()?.collect();
        out.reverse();
        Ok(out)
    }

    /// Replaces the whole log with `records` (oldest first): `gc` drops old ones.
    pub fn rewrite(&self, _lock: &LogLock, records: &[OpRecord]) -> Result<(), OpLogError> {
        let mut text = Vec::new();
        for record in records {
            text.extend(serde_json::to_vec(record).expect("records serialize"));
            text.push(b'\n');
        }
        let path = self.path();
        crate::fsutil::write_atomic(&path, &text, None).map_err(Self::io("write", &path))
    }
}

/// The held lock of the operation log; released when dropped.
pub struct LogLock {
    _file: std::fs::File,
}

/// Iterator over records, newest first.
pub struct NewestFirst {
    file: Option<std::fs::File>,
    /// Where the unread part of the file ends.
    pos: u64,
    /// Bytes read that precede the lines already split off (a partial line).
    tail: Vec<u8>,
    /// Complete lines not returned yet, oldest first (popped from the end).
    lines: Vec<Vec<u8>>,
    /// Inside a line over [`MAX_LINE`], being skipped.
    overlong: bool,
}

const BLOCK: u64 = 64 * 1024;
/// No record is longer (the files an operation rewrites are small).
const MAX_LINE: usize = 16 * 1024 * 1024;

impl Iterator for NewestFirst {
    type Item = OpRecord;

    fn next(&mut self) -> Option<OpRecord> {
        loop {
            while let Some(line) = self.lines.pop() {
                if let Ok(record) = serde_json::from_slice::<OpRecord>(&line)
                    && record.is_well_formed()
                {
                    return Some(record);
                }
            }
            let file = self.file.as_mut()?;
            if self.pos == 0 {
                if self.tail.is_empty() {
                    return None;
                }
                self.lines.push(std::mem::take(&mut self.tail));
                continue;
            }
            let start = self.pos.saturating_sub(BLOCK);
            let mut block = vec![0; (self.pos - start) as usize];
            file.seek(SeekFrom::Start(start)).ok()?;
            file.read_exact(&mut block).ok()?;
            self.pos = start;
            // A line longer than any record is dropped whole (no record is that long; copying
            // it again for every block would be quadratic).
            if self.tail.len() > MAX_LINE {
                self.tail.clear();
                self.overlong = true;
            }
            if self.overlong {
                match block.iter().rposition(|b| *b == b'\n') {
                    Some(end) => {
                        block.truncate(end + 1);
                        self.overlong = false;
                    }
                    None => continue,
                }
            }
            block.extend_from_slice(&self.tail);
            let mut parts: Vec<Vec<u8>> =
                block.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            // The first part may continue in the block before this one.
            self.tail = if self.pos > 0 {
                parts.remove(0)
            } else {
                Vec::new()
            };
            self.lines = parts.into_iter().filter(|l| !l.is_empty()).collect();
        }
    }
}

/// A new operation id: 12 hex digits.
pub fn new_id() -> String {
    format!(
        "{:012x}",
        crate::session::name::random_seed() & 0xffff_ffff_ffff
    )
}

/// The commit that keeps `record`'s commits reachable, on top of the chain at `previous`:
/// its message is the record itself.
pub fn keep_commit(
    repo: &Repo,
    previous: Option<ObjectId>,
    record: &OpRecord,
) -> Result<ObjectId, RepoError> {
    // The first parent is always the chain: the previous keep commit, or a root that holds
    // no record, never a commit the record names (which anyone could have written to look
    // like a record).
    let previous = match previous {
        Some(previous) => previous,
        None => repo.write_commit(repo.write_tree(&[])?, &[], ROOT_MESSAGE)?,
    };
    // Commits are kept as parents; a ref may also have held another kind of object (a
    // session ref someone pointed at a blob, say): as a parent it would break `git gc` and
    // `git fsck` for the whole repository, so it is kept as an entry of the tree instead.
    let mut parents: Vec<ObjectId> = vec![previous];
    let mut entries: Vec<crate::git::TreeEntry> = Vec::new();
    for id in record.commits() {
        use gix::objs::tree::EntryKind;
        let mode = match repo.object_kind(id) {
            Some(gix::object::Kind::Commit) => {
                parents.push(id);
                continue;
            }
            Some(gix::object::Kind::Blob) => EntryKind::Blob,
            Some(gix::object::Kind::Tree) => EntryKind::Tree,
            // A tag, or nothing: not kept (a tag cannot be a tree's entry).
            Some(gix::object::Kind::Tag) | None => continue,
        };
        let name = id.to_string();
        if !entries.iter().any(|e| e.name == name.as_str()) {
            entries.push(crate::git::TreeEntry {
                name: name.into(),
                mode: mode.into(),
                id,
            });
        }
    }
    let tree = repo.write_tree(&entries)?;
    let message = format!(
        "op {}\n\n{}\n",
        record.id,
        serde_json::to_string(record).expect("records serialize")
    );
    repo.write_commit(tree, &parents, &message)
}

/// The records the keep-alive chain from `tip` holds, oldest first.
pub fn chain_records(repo: &Repo, tip: Option<ObjectId>) -> Result<Vec<OpRecord>, RepoError> {
    let mut records = Vec::new();
    let mut next = tip;
    while let Some(id) = next {
        let commit = repo.read_commit(id)?;
        // The oldest keep commit has no chain below it: its first parent, if any, is a
        // commit its record names.
        let Some(record) = record_of(repo, &commit) else {
            break;
        };
        records.push(record);
        next = commit.parents.first().copied();
    }
    records.reverse();
    Ok(records)
}

/// A keep-alive chain holding only `records` (oldest first): what `gc` leaves when it drops
/// old records, so the commits only they kept can go.
pub fn build_chain(repo: &Repo, records: &[OpRecord]) -> Result<Option<ObjectId>, RepoError> {
    let mut tip = None;
    for record in records {
        tip = Some(keep_commit(repo, tip, record)?);
    }
    Ok(tip)
}

/// The message of the commit a chain starts from.
const ROOT_MESSAGE: &str = "sessions-oplog root\n";

/// The record a keep commit holds (None for another commit: the chain's root, or anything
/// that is not a keep commit — `op <id>` and a well-formed record, and a tree that is empty
/// or holds only objects the record names that are not commits, each named by its id).
pub fn record_of(repo: &Repo, commit: &crate::git::CommitInfo) -> Option<OpRecord> {
    const EMPTY_TREES: [&str; 2] = [
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
    ];
    let (subject, body) = commit.message.split_once("\n\n")?;
    let record: OpRecord = serde_json::from_str(body.trim()).ok()?;
    if !(subject == format!("op {}", record.id) && record.is_well_formed()) {
        return None;
    }
    if EMPTY_TREES.contains(&commit.tree.to_string().as_str()) {
        return Some(record);
    }
    let named = record.commits();
    let entries = repo.read_tree(commit.tree).ok()?;
    entries
        .iter()
        .all(|e| {
            (e.mode.is_blob() || e.mode.is_tree())
                && e.name == e.id.to_string().as_str()
                && named.contains(&e.id)
        })
        .then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> OpRecord {
        OpRecord {
            id: id.into(),
            time: 1,
            command: format!("checkpoint {id}"),
            automatic: false,
            sessions: vec![],
            refs: vec![],
            worktrees: vec![],
            local: vec![],
            files: vec![],
            published: None,
            undoes: None,
        }
    }

    #[test]
    fn newest_first_across_blocks_and_a_cut_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = OpLog::new(dir.path());
        let records: Vec<OpRecord> = (0..3000).map(|i| record(&format!("{i:012x}"))).collect();
        log.append(&log.lock().unwrap(), &records).unwrap();
        // A crash mid-write leaves a cut line at the end.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"{\"id\":\"cut")
            .unwrap();
        let read: Vec<String> = log.newest_first().unwrap().map(|r| r.id).collect();
        assert_eq!(read.len(), 3000);
        assert_eq!(read[0], format!("{:012x}", 2999));
        assert_eq!(read[2999], format!("{:012x}", 0));
        assert_eq!(
            log.find(&format!("{:012x}", 1500)).unwrap().id,
            format!("{:012x}", 1500)
        );
        assert!(matches!(
            log.find("00000000"),
            Err(OpLogError::Ambiguous(_))
        ));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(from_hex(&to_hex(b"\x00\xffab")).unwrap(), b"\x00\xffab");
        assert!(from_hex("abc").is_none());
    }
}
