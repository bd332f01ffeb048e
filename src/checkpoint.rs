//! The snapshot engine: a checkpoint is a commit whose tree is the whole working tree
//! (tracked files as they are on disk plus untracked, not ignored files) and whose first
//! parent is the worktree's HEAD, so `git diff <ckpt>^ <ckpt>` is exactly the uncommitted
//! work (DESIGN §2).
//!
//! It never touches the user's index, HEAD or files: the index is read, never written (so a
//! checkpoint works while another process holds `index.lock`); gix's status finds what differs
//! from the index; only those files (and untracked ones) are hashed, on several threads, with
//! git's filters applied; trees are built bottom-up, reusing the index's cached tree ids for
//! directories nothing changed in.
//!
//! Restoring a checkpoint (rewind, fork) writes the index, which gix must not do, so those steps
//! run the user's git.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::Flags;
use gix::objs::tree::{EntryKind, EntryMode};

use crate::git::capture_memo::{Kept, Memo, Stamp};
use crate::git::fsmonitor::Seen;
use crate::git::scan::WorktreeChanges;
use crate::git::{GitError, GixContext, ObjectId, Repo, RepoError, TreeEntry, git_root};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("a checkpoint needs a worktree, and this repository is bare")]
    Bare,
    #[error("{0} is in progress in {1}; finish or abort it first")]
    OperationInProgress(String, PathBuf),
    #[error("{} exists: another git process is at work in this worktree, or one crashed and left it behind", .0.display())]
    Locked(PathBuf),
    #[error("checkpoint {0} holds a path git cannot check out ({1}); nothing was restored")]
    UnsafePath(String, String),
    #[error("restoring would overwrite ignored files that no checkpoint holds: {}; move them away first", .0.join(", "))]
    WouldOverwriteIgnored(Vec<String>),
    #[error("restoring would overwrite changes git was told not to look at (assume-unchanged), which no checkpoint holds: {}", .0.join(", "))]
    WouldOverwriteAssumed(Vec<String>),
    #[error("restoring would overwrite repositories nested in the worktree, whose history no checkpoint holds: {}; move them away first", .0.join(", "))]
    WouldOverwriteRepositories(Vec<String>),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A capture from the index's tree met what only the index can answer (taken again
    /// with the index read; never reaches the user).
    #[error("the index's tree cannot stand in for the index here")]
    StandIn,
}

/// The state of a worktree, captured as a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub tree: ObjectId,
    /// The worktree's HEAD commit (None on an unborn branch).
    pub head: Option<ObjectId>,
    /// The index's tree, when it differs from HEAD's (something is staged). Recorded as the
    /// checkpoint's second parent, as `git stash` does, so a restore can stage it again.
    pub staged: Option<ObjectId>,
    /// What the capture is as of, when the file-system monitor can later tell whether the
    /// worktree changed since.
    pub seen: Option<crate::git::fsmonitor::Seen>,
    /// Files the scan listed that hold what the index says after all (stale stat data).
    pub clean: Vec<BString>,
    /// What the tree holds beyond HEAD's, when the capture can tell without comparing trees.
    pub beyond_head: Option<BeyondHead>,
}

/// The files a capture's tree holds that HEAD's tree does not (added, or with other content),
/// known from what the capture replaced when the index is HEAD's tree, and the start of each
/// file it hashed: what a push judges for secrets, without reading trees and blobs back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeyondHead {
    /// By path, as [`crate::secrets::changed_blobs`] gives them.
    pub files: std::collections::BTreeMap<String, ObjectId>,
    pub leading: HashMap<ObjectId, crate::git::batch::Leading>,
}

/// A checkpoint as read back from its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub id: ObjectId,
    /// The whole working tree.
    pub tree: ObjectId,
    /// The HEAD it was taken on.
    pub head: Option<ObjectId>,
    /// The staged state (the index's tree) when it differed from HEAD.
    pub staged: Option<ObjectId>,
}

impl Snapshot {
    /// Reads checkpoint `id`. A second parent counts as its staged state only when it is a
    /// commit on the same HEAD (checkpoints written before staged states were kept have none).
    pub fn read(repo: &Repo, id: ObjectId) -> Result<Snapshot, CheckpointError> {
        let commit = repo.read_commit(id)?;
        let head = commit.parents.first().copied();
        let staged = match commit.parents.get(1) {
            Some(index) => {
                let index = repo.read_commit(*index)?;
                (index.parents.first().copied() == head).then_some(index.tree)
            }
            None => None,
        };
        Ok(Snapshot {
            id,
            tree: commit.tree,
            head,
            staged,
        })
    }
}

/// What a scan hands the capture: what differs from the index, what that answer is as of,
/// and what the last capture computed that may still be taken (`Answer::memo`).
#[derive(Debug, Default)]
pub struct Scanned {
    pub changes: WorktreeChanges,
    pub seen: Option<Seen>,
    pub memo: Option<Memo>,
    /// The monitor's state as of `seen`, written with what this capture computes.
    pub unsaved: Option<crate::git::fsmonitor::Unsaved>,
}

/// Captures the working tree of `worktree` as a tree object.
pub fn capture(worktree: &Repo) -> Result<Capture, CheckpointError> {
    capture_asked(worktree, crate::git::fsmonitor::ask(worktree.gix()))
}

/// [`capture`] with the monitor already asked what changed (a caller that first wanted to
/// know whether anything did).
pub fn capture_asked(
    worktree: &Repo,
    asked: crate::git::fsmonitor::Asked,
) -> Result<Capture, CheckpointError> {
    match crate::git::fsmonitor::answer_without_index(worktree.gix(), &asked) {
        Some(free) => {
            crate::fault::point("capture-from-index-tree");
            let crate::git::fsmonitor::IndexFree {
                stand_in,
                root,
                trees,
                changes,
                answer,
                unsaved,
                identity,
            } = free;
            let source = Source::Tree {
                stand_in: &stand_in,
                root,
                trees: std::cell::RefCell::new(trees),
                identity,
            };
            let scanned = Scanned {
                changes,
                seen: answer.seen,
                memo: answer.memo,
                unsaved: Some(unsaved),
            };
            match capture_from(worktree, source, |_| Ok(scanned)) {
                // Taken again with the index read (nothing was written).
                Err(CheckpointError::StandIn) => capture_reading_index(worktree, asked),
                other => other,
            }
        }
        None => capture_reading_index(worktree, asked),
    }
}

/// [`capture_asked`] with the index read.
fn capture_reading_index(
    worktree: &Repo,
    asked: crate::git::fsmonitor::Asked,
) -> Result<Capture, CheckpointError> {
    capture_with(worktree, |repo, index| {
        let (changes, answer, unsaved) = crate::git::fsmonitor::answer(repo, index, asked)?;
        Ok(Scanned {
            changes,
            seen: answer.seen,
            memo: answer.memo,
            unsaved,
        })
    })
}

/// [`capture`] with the scan given (`fsmonitor verify` captures with both kinds).
pub fn capture_with(
    worktree: &Repo,
    scan: impl FnOnce(&gix::Repository, &gix::index::File) -> Result<Scanned, RepoError>,
) -> Result<Capture, CheckpointError> {
    let repo = worktree.gix();
    if repo.workdir().is_none() {
        return Err(CheckpointError::Bare);
    }
    let index = crate::git::scan::read_index(repo)?;
    capture_from(worktree, Source::Index(&index), |repo| scan(repo, &index))
}

/// What a capture knows of the index.
enum Source<'a> {
    /// The index as read.
    Index(&'a gix::index::File),
    /// An index unchanged since the monitor's state was about it, and plain then: what a
    /// scan asked of it, from its root tree (`crate::git::index_tree`).
    Tree {
        stand_in: &'a gix::index::State,
        root: ObjectId,
        trees: std::cell::RefCell<crate::git::index_tree::Trees>,
        /// The index file's identity the stand-in is for.
        identity: String,
    },
}

impl Source<'_> {
    fn state(&self) -> &gix::index::State {
        match self {
            Source::Index(index) => index,
            Source::Tree { stand_in, .. } => stand_in,
        }
    }

    /// The index's tree, when its cached root is valid.
    fn root(&self) -> Option<ObjectId> {
        match self {
            Source::Index(index) => crate::git::index_tree::valid_root(index),
            Source::Tree { root, .. } => Some(*root),
        }
    }

    /// Whether ids computed against this index may be kept for the next capture: only an
    /// index with a checksum tells one version from another by more than its time.
    fn vouches(&self) -> bool {
        match self {
            Source::Index(index) => index.checksum().is_some_and(|c| !c.is_null()),
            Source::Tree { .. } => true,
        }
    }
}

fn capture_from(
    worktree: &Repo,
    source: Source<'_>,
    scan: impl FnOnce(&gix::Repository) -> Result<Scanned, RepoError>,
) -> Result<Capture, CheckpointError> {
    let repo = worktree.gix();
    let index = source.state();
    let root = worktree.workdir().ok_or(CheckpointError::Bare)?;
    let now = std::time::SystemTime::now();
    // What this capture writes, written at once before anything can point at it.
    let batch = crate::git::batch::ObjectBatch::default();
    let (mut scanned, reuse, known, fresh, hashed) =
        crate::git::with_short_paths(repo, |repo| -> Result<_, CheckpointError> {
            let mut scanned = scan(repo)?;
            // An index without a checksum (`index.skipHash`) is told apart by its time alone:
            // too little to vouch for ids computed against it.
            if !source.vouches() {
                scanned.memo = None;
            }
            // The listed files the last capture has an id for, with their stat data now: an
            // id is taken again only for a file whose stat data has not changed since.
            let current: HashMap<BString, Stamp> = match &scanned.memo {
                Some(memo) => scanned
                    .changes
                    .to_hash
                    .iter()
                    .filter(|p| memo.files.contains_key(*p))
                    .filter_map(|p| {
                        let seen = scanned.changes.stamps.get(p).copied();
                        let stamp = seen.or_else(|| Stamp::of(&root.join(p.to_path().ok()?)))?;
                        Some((p.clone(), stamp))
                    })
                    .collect(),
                None => HashMap::new(),
            };
            let good = |path: &BStr| -> Option<Kept> {
                let kept = scanned.memo.as_ref()?.files.get(path)?;
                (current.get(path) == Some(&kept.stamp)).then_some(*kept)
            };
            // Trees the last capture wrote that nothing below changed in since: the files
            // in them are not looked at.
            let present = worktree.presence();
            let reuse = reusable_trees(
                worktree,
                &present,
                scanned.memo.as_ref(),
                &scanned.changes,
                &good,
            );
            let (mut known, mut fresh) = (Vec::new(), Vec::new());
            for path in &scanned.changes.to_hash {
                if in_any(path.as_ref(), &reuse) {
                    continue;
                }
                match good(path.as_ref()) {
                    Some(kept) if present.has(kept.id) => known.push((path.clone(), kept)),
                    _ => fresh.push(path.clone()),
                }
            }
            let keep_stamps = scanned.seen.is_some();
            let hashed = hash_files(
                repo,
                &batch,
                index,
                &fresh,
                keep_stamps,
                &scanned.changes.stamps,
            )?;
            Ok((scanned, reuse, known, fresh, hashed))
        })?;
    let changes = &scanned.changes;

    let mut dirty_dirs: HashSet<BString> = HashSet::new();
    let mut replaced: HashMap<&BStr, Hashed> = HashMap::new();
    for path in &changes.removed {
        mark_parents(&mut dirty_dirs, path.as_ref());
        replaced.insert(path.as_ref(), None);
    }
    // Left in the reused trees, but listed all the same: their directories differ from the
    // index, and one nothing in the index has (untracked files only) is found through them.
    // What they hold is never looked at (the reused tree stands for it).
    for path in changes
        .to_hash
        .iter()
        .filter(|p| in_any(p.as_ref(), &reuse))
    {
        mark_parents(&mut dirty_dirs, path.as_ref());
        let kept = scanned
            .memo
            .as_ref()
            .and_then(|m| m.files.get(path))
            .map(|kept| (kept.mode, kept.id));
        replaced.insert(path.as_ref(), kept);
    }
    let fs = repo
        .filesystem_options()
        .context(|| "reading core.fileMode".to_owned())?;
    // Submodules, nested repositories and what could not be hashed: never kept for the next
    // capture (a HEAD moves without a file in the worktree changing).
    let mut volatile: Vec<&BStr> = Vec::new();
    // The stat data of each file whose id may be kept for the next capture.
    let mut stamps: HashMap<&BStr, Stamp> = HashMap::new();
    // Listed files that hold what the index says after all (git left their stat data
    // stale: a checkout in the same second as its index write); the index stands for them.
    let mut clean: Vec<&BStr> = Vec::new();
    // Listed files found clean, with their stat data: the index takes it (`index_refresh`),
    // unless the monitor answers from here on (its scans look only at what changes, and
    // those files are not among them).
    let refreshes = matches!(source, Source::Index(_)) && scanned.seen.is_none();
    let mut verified: Vec<(&BStr, gix::index::entry::Stat)> = Vec::new();
    for (path, file) in fresh.iter().zip(hashed) {
        let HashedFile {
            hashed: mut result,
            stamp,
            stat,
        } = file;
        if let Some(stamp) = stamp
            && !stamp.racy(now)
        {
            stamps.insert(path.as_ref(), stamp);
        }
        let repository = result.is_none_or(|(mode, _)| mode.kind() == EntryKind::Commit)
            || index
                .entry_by_path(path.as_ref())
                .is_some_and(|e| e.mode == gix::index::entry::Mode::COMMIT);
        if repository {
            volatile.push(path.as_ref());
        }
        // A submodule whose HEAD cannot be read (an unborn branch) keeps its gitlink, as in
        // `git add -A`.
        if result.is_none() && gitlink_stays(index, path.as_ref(), worktree) {
            continue;
        }
        // With both trusted the mode is as on disk: no index lookup.
        if let Some((mode, _)) = &mut result
            && (!fs.executable_bit || !fs.symlink)
        {
            *mode = recorded_mode(*mode, mode_source(index, path.as_ref()), &fs);
        }
        if same_as_index(index, path.as_ref(), result) {
            clean.push(path.as_ref());
            if let Some(stat) = stat.filter(|_| refreshes) {
                verified.push((path.as_ref(), stat));
            }
            continue;
        }
        mark_parents(&mut dirty_dirs, path.as_ref());
        replaced.insert(path.as_ref(), result);
    }
    for (path, kept) in &known {
        if same_as_index(index, path.as_ref(), Some((kept.mode, kept.id))) {
            clean.push(path.as_ref());
            continue;
        }
        mark_parents(&mut dirty_dirs, path.as_ref());
        stamps.insert(path.as_ref(), kept.stamp);
        replaced.insert(path.as_ref(), Some((kept.mode, kept.id)));
    }
    let mut replaced: Vec<(&BStr, Hashed)> = replaced.into_iter().collect();
    replaced.sort_unstable_by(|a, b| a.0.cmp(b.0));

    let writer = TreeWriter {
        repo,
        batch: &batch,
        index,
        dirty: &dirty_dirs,
        reuse: &reuse,
        written: std::cell::RefCell::new(Vec::new()),
    };
    let tree = match &source {
        Source::Index(_) => {
            let cache = index.tree().filter(|_| !index.is_sparse());
            writer.write_dir(index.entries(), &replaced, b"", cache)?
        }
        Source::Tree { root, trees, .. } => writer.edit_dir(trees, Some(*root), &replaced, b"")?,
    };
    let written = writer.written.into_inner();
    let tree = match tree {
        Some(tree) => tree,
        None => worktree.write_tree(&[])?,
    };
    let head = worktree.head_commit()?;
    // An index rewritten while the capture stood its old tree in for it (a commit moving HEAD
    // too): taken again with the index read.
    if let Source::Tree { identity, .. } = &source
        && crate::git::fsmonitor::index_identity_now(repo).as_deref() != Some(identity.as_str())
    {
        return Err(CheckpointError::StandIn);
    }
    let leading = batch.finish(repo, tree)?;
    if let Some(seen) = &scanned.seen {
        let memo = next_memo(
            scanned.memo.as_ref(),
            &reuse,
            &replaced,
            &stamps,
            &volatile,
            written,
        );
        crate::git::fsmonitor::remember(repo, seen, &memo, scanned.unsaved.take(), &clean);
    }
    // The stat data of the files found clean go into the index, as `git status` puts them:
    // the scans after this one would read them again.
    if let Source::Index(file) = &source
        && refreshes
    {
        crate::git::index_refresh::refresh(repo, file, &verified, now);
    }
    let staged = staged_tree(worktree, index, head, source.root())?;
    // Nothing staged by a valid cached root: the index is HEAD's tree, so the tree differs
    // from HEAD's exactly where the capture replaced an index entry. A reused tree stands
    // for files not looked at: then only a comparison of trees can tell.
    let index_is_head = staged.is_none() && head.is_some() && source.root().is_some();
    let beyond_head = (index_is_head && reuse.is_empty()).then(|| {
        let files: std::collections::BTreeMap<String, ObjectId> = replaced
            .iter()
            .filter_map(|(path, hashed)| {
                let (mode, id) = (*hashed)?;
                let file = matches!(
                    mode.kind(),
                    EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link
                );
                let in_head = index.entry_by_path(path).is_some_and(|e| {
                    e.id == id && e.stage_raw() == 0 && !e.flags.contains(Flags::INTENT_TO_ADD)
                });
                (file && !in_head).then(|| (path.to_str_lossy().into_owned(), id))
            })
            .collect();
        // Only the starts of what it names are judged.
        let named: HashSet<ObjectId> = files.values().copied().collect();
        let mut leading = leading;
        leading.retain(|id, _| named.contains(id));
        BeyondHead { files, leading }
    });
    let clean = clean.into_iter().map(BStr::to_owned).collect();
    Ok(Capture {
        tree,
        head,
        staged,
        seen: scanned.seen,
        clean,
        beyond_head,
    })
}

/// Whether a file hashed as `hashed` holds what its one index entry says (same id and mode;
/// not unmerged, intent-to-add, skip-worktree or a submodule).
fn same_as_index(index: &gix::index::State, path: &BStr, hashed: Hashed) -> bool {
    let Some((mode, id)) = hashed else {
        return false;
    };
    let Some(range) = index.entry_range(path) else {
        return false;
    };
    let entry = &index.entries()[range.start];
    range.len() == 1
        && entry.stage_raw() == 0
        && !entry
            .flags
            .intersects(Flags::INTENT_TO_ADD | Flags::SKIP_WORKTREE | Flags::ASSUME_VALID)
        && entry.mode != gix::index::entry::Mode::COMMIT
        && entry.id == id
        && entry.mode.to_tree_entry_mode() == Some(mode)
}

/// The trees of the last capture's memo that this one takes as they are: the topmost ones
/// with nothing below that the memo cannot vouch for (a listed file it has no id for or
/// whose stat data changed — a write nobody reported, a repository appearing —, a kept file
/// no longer listed, or a deletion), whose objects, and the objects of everything the memo has below them, are
/// still in the database.
fn reusable_trees(
    worktree: &Repo,
    present: &crate::git::Presence<'_>,
    memo: Option<&Memo>,
    changes: &WorktreeChanges,
    good: &dyn Fn(&BStr) -> Option<Kept>,
) -> HashMap<BString, ObjectId> {
    let mut reuse = HashMap::new();
    let Some(memo) = memo.filter(|m| !m.trees.is_empty()) else {
        return reuse;
    };
    let mut poisoned: HashSet<&[u8]> = HashSet::new();
    // A kept file no longer listed changed in a way nobody reported (deleted, or made equal
    // to the index): the trees above it are no longer what is there.
    let listed: HashSet<&BString> = changes.to_hash.iter().collect();
    let doubtful = changes
        .to_hash
        .iter()
        .filter(|p| good(p.as_ref()).is_none())
        .chain(&changes.removed)
        .chain(memo.files.keys().filter(|p| !listed.contains(p)));
    for path in doubtful {
        poisoned.insert(b"");
        poisoned.insert(path.as_slice());
        for (i, byte) in path.iter().enumerate() {
            if *byte == b'/' {
                poisoned.insert(&path[..i]);
            }
        }
    }
    let below = |path: &BString, dir: &BString| {
        dir.is_empty() || (path.starts_with(dir.as_slice()) && path.get(dir.len()) == Some(&b'/'))
    };
    let mut dirs: Vec<(&BString, &ObjectId)> = memo.trees.iter().collect();
    dirs.sort_by_key(|(dir, _)| dir.len());
    for (dir, id) in dirs {
        if poisoned.contains(dir.as_slice()) || in_any(dir.as_ref(), &reuse) {
            continue;
        }
        let whole = worktree.is_tree(*id)
            && memo
                .files
                .iter()
                .filter(|(p, _)| below(p, dir))
                .all(|(_, kept)| present.has(kept.id))
            && memo
                .trees
                .iter()
                .filter(|(p, _)| below(p, dir))
                .all(|(_, id)| present.has(*id));
        if whole {
            reuse.insert(dir.clone(), *id);
        }
    }
    reuse
}

/// Whether `path` is below (or is) one of `dirs` (`""` holds everything).
fn in_any(path: &BStr, dirs: &HashMap<BString, ObjectId>) -> bool {
    if dirs.is_empty() {
        return false;
    }
    if dirs.contains_key(path) || dirs.contains_key(BStr::new(b"")) {
        return true;
    }
    path.iter()
        .enumerate()
        .any(|(i, byte)| *byte == b'/' && dirs.contains_key(&path[..i]))
}

/// What this capture computed, for the next: every file it hashed (unless racily new) or
/// took from the memo,
/// every tree written for a directory that differs from the index, and what it left in the
/// reused trees. Submodules and nested repositories are left out (their HEAD moves without a
/// file changing), and so are the directories above anything left out.
fn next_memo(
    last: Option<&Memo>,
    reuse: &HashMap<BString, ObjectId>,
    replaced: &[(&BStr, Hashed)],
    stamps: &HashMap<&BStr, Stamp>,
    volatile: &[&BStr],
    written: Vec<(BString, ObjectId)>,
) -> Memo {
    let mut memo = Memo::default();
    for (path, result) in replaced {
        if let Some((mode, id)) = result
            && let Some(stamp) = stamps.get(path)
            && !volatile.contains(path)
        {
            let kept = Kept {
                mode: *mode,
                id: *id,
                stamp: *stamp,
            };
            memo.files.insert(BString::from(path.to_vec()), kept);
        }
    }
    // A tree is kept only when every path it replaced is kept too: one that is not (a
    // repository, a file hashed within a tick of its change, a deletion) could leave the
    // listing later without a report (made ignored, deleted, a checkout in the same second),
    // and a full scan, which knows nothing kept of it, would take the tree with it inside.
    let mut unkept_dirs: HashSet<&[u8]> = HashSet::new();
    for path in replaced
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| !memo.files.contains_key(*path))
        .chain(volatile.iter().copied())
    {
        unkept_dirs.insert(b"");
        for (i, byte) in path.iter().enumerate() {
            if *byte == b'/' {
                unkept_dirs.insert(&path[..i]);
            }
        }
    }
    for (dir, id) in written {
        if !unkept_dirs.contains(dir.as_slice()) {
            memo.trees.insert(dir, id);
        }
    }
    if let Some(last) = last {
        for (path, hashed) in &last.files {
            if in_any(path.as_ref(), reuse) {
                memo.files.insert(path.clone(), *hashed);
            }
        }
        for (dir, id) in &last.trees {
            if in_any(dir.as_ref(), reuse) {
                memo.trees.insert(dir.clone(), *id);
            }
        }
    }
    memo
}

/// Whether `path` is a gitlink in the index whose directory is there: git keeps the gitlink
/// when it cannot read the submodule's HEAD.
fn gitlink_stays(index: &gix::index::State, path: &BStr, worktree: &Repo) -> bool {
    let is_gitlink = index
        .entry_by_path(path)
        .is_some_and(|e| e.mode == gix::index::entry::Mode::COMMIT);
    is_gitlink
        && worktree.workdir().is_some_and(|root| {
            path.to_path()
                .is_ok_and(|rel| root.join(rel).symlink_metadata().is_ok_and(|m| m.is_dir()))
        })
}

/// The index's tree when it differs from HEAD's; None when nothing is staged, on an unborn
/// branch (the checkpoint's first parent must stay HEAD) and during a conflict.
fn staged_tree(
    worktree: &Repo,
    index: &gix::index::State,
    head: Option<ObjectId>,
    root: Option<ObjectId>,
) -> Result<Option<ObjectId>, CheckpointError> {
    let Some(head) = head else { return Ok(None) };
    // A valid cached root (`root`) is the staged tree, and says no entry is unmerged (git
    // drops the cached trees above an unmerged entry): the entries are not looked at.
    if let Some(root) = root {
        let head_tree = worktree.read_commit(head)?.tree;
        return Ok((root != head_tree).then_some(root));
    }
    if index.entries().iter().any(|e| e.stage_raw() != 0) {
        return Ok(None);
    }
    let (clean, none) = (HashSet::new(), HashMap::new());
    let batch = crate::git::batch::ObjectBatch::default();
    let writer = TreeWriter {
        repo: worktree.gix(),
        batch: &batch,
        index,
        dirty: &clean,
        reuse: &none,
        written: std::cell::RefCell::new(Vec::new()),
    };
    let cache = index.tree().filter(|_| !index.is_sparse());
    let tree = match writer.write_dir(index.entries(), &[], b"", cache)? {
        Some(tree) => tree,
        None => worktree.write_tree(&[])?,
    };
    drop(writer);
    batch.finish(worktree.gix(), tree)?;
    let head_tree = worktree.read_commit(head)?.tree;
    Ok((tree != head_tree).then_some(tree))
}

/// Writes the checkpoint commit for a capture.
pub fn commit(
    worktree: &Repo,
    capture: &Capture,
    message: &str,
) -> Result<ObjectId, CheckpointError> {
    let mut parents: Vec<ObjectId> = capture.head.into_iter().collect();
    if let Some(staged) = capture.staged {
        parents.push(worktree.write_commit(
            staged,
            &parents,
            &format!("index: staged at checkpoint: {message}\n"),
        )?);
    }
    Ok(worktree.write_commit(capture.tree, &parents, &format!("checkpoint: {message}\n"))?)
}

/// The index entry whose mode git consults when it adds `path` (its `ce_mode_from_stat`):
/// stage 0, else stage 2 when it follows stage 1 of a conflict, else the first stage.
fn mode_source(index: &gix::index::State, path: &BStr) -> Option<gix::index::entry::Mode> {
    let range = index.entry_range(path)?;
    let entries = &index.entries()[range];
    let first = entries.first()?;
    match entries.get(1) {
        Some(second) if first.stage_raw() == 1 && second.stage_raw() == 2 => Some(second.mode),
        _ => Some(first.mode),
    }
}

/// The mode `git add` records for a file it found on disk as `on_disk`, given the mode of
/// its index entry: without core.fileMode a regular file keeps the index's file mode (or is
/// 100644 when the index has no file there), and without core.symlinks a regular file keeps
/// the index's symlink mode.
fn recorded_mode(
    on_disk: EntryMode,
    index: Option<gix::index::entry::Mode>,
    fs: &gix::fs::Capabilities,
) -> EntryMode {
    use gix::index::entry::Mode;
    if !on_disk.is_blob() {
        return on_disk;
    }
    if !fs.symlink && index == Some(Mode::SYMLINK) {
        return EntryKind::Link.into();
    }
    if !fs.executable_bit {
        return match index {
            Some(Mode::FILE_EXECUTABLE) => EntryKind::BlobExecutable.into(),
            _ => EntryKind::Blob.into(),
        };
    }
    on_disk
}

/// A hashed worktree file: its tree mode and object id, or None when it vanished.
type Hashed = Option<(EntryMode, ObjectId)>;

/// One file hashed: its mode and id, with `keep_stamps` its stat data as the memo keeps it,
/// and its stat data as the index records it; both taken before it was read.
struct HashedFile {
    hashed: Hashed,
    stamp: Option<Stamp>,
    stat: Option<gix::index::entry::Stat>,
}

/// Hashes worktree files into the object database on several threads, with git's filters
/// applied; None for a path that vanished or cannot be tracked.
/// Each file's id, and with `keep_stamps` its stat data taken before it is read (a write
/// while it is read changes the stat data, so the id is not taken again).
fn hash_files(
    repo: &gix::Repository,
    batch: &crate::git::batch::ObjectBatch,
    index: &gix::index::State,
    paths: &[BString],
    keep_stamps: bool,
    scan_stamps: &HashMap<BString, Stamp>,
) -> Result<Vec<HashedFile>, CheckpointError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8)
        .min(paths.len().div_ceil(16))
        .max(1);
    // Every `threads`-th path to each thread: sorted paths come in runs that cost alike (a
    // new directory of small files, edits spread over many directories).
    let results: Vec<Result<Vec<HashedFile>, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|first| {
                let repo = repo.clone();
                scope.spawn(move || -> Result<Vec<_>, RepoError> {
                    let mut pipeline = crate::git::scan::filter_pipeline(&repo, index)?;
                    let mut out = Vec::with_capacity(paths.len() / threads + 1);
                    for path in paths.iter().skip(first).step_by(threads) {
                        // Taken before the file is read (the scan's, else the read's own): a
                        // write after it changes what a later capture sees.
                        let (hashed, read) =
                            batch.add_worktree_file(&mut pipeline, path.as_ref(), index)?;
                        let stamp = keep_stamps
                            .then(|| {
                                let read = read.as_ref().map(Stamp::from_stat);
                                scan_stamps.get(path).copied().or(read)
                            })
                            .flatten();
                        let stat = read.as_ref().map(crate::git::scan::stat_of);
                        out.push(HashedFile {
                            hashed,
                            stamp,
                            stat,
                        });
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("hashing threads do not panic"))
            .collect()
    });
    let mut parts = Vec::with_capacity(threads);
    for part in results {
        parts.push(part?.into_iter());
    }
    // Back in the order of `paths`.
    let mut out = Vec::with_capacity(paths.len());
    for i in 0..paths.len() {
        out.push(parts[i % threads].next().expect("one result per path"));
    }
    Ok(out)
}

fn mark_parents(dirs: &mut HashSet<BString>, path: &BStr) {
    dirs.insert(BString::default());
    for (pos, byte) in path.iter().enumerate() {
        if *byte == b'/' {
            dirs.insert(path[..pos].into());
        }
    }
}

/// Writes the checkpoint's trees from the index's entries and the replaced paths, both
/// sorted by path. Directories nothing changed in keep the id the index's cached tree has
/// for them, without looking at their entries.
struct TreeWriter<'a> {
    repo: &'a gix::Repository,
    batch: &'a crate::git::batch::ObjectBatch,
    index: &'a gix::index::State,
    dirty: &'a HashSet<BString>,
    /// Trees of the last capture taken as they are, by directory.
    reuse: &'a HashMap<BString, ObjectId>,
    /// The trees of the directories that differ from the index, as written or reused.
    written: std::cell::RefCell<Vec<(BString, ObjectId)>>,
}

impl TreeWriter<'_> {
    /// Writes the tree of the directory `prefix` (`""` for the root, else `dir/`), whose index
    /// entries and replaced paths are `entries` and `replaced`; None when it has no files left
    /// (git records no empty directories).
    fn write_dir(
        &self,
        entries: &[gix::index::Entry],
        replaced: &[(&BStr, Hashed)],
        prefix: &[u8],
        cache: Option<&gix::index::extension::Tree>,
    ) -> Result<Option<ObjectId>, CheckpointError> {
        let dir = prefix.strip_suffix(b"/").unwrap_or(prefix);
        if let Some(cached) = cache
            && cached.num_entries.is_some()
            && !self.dirty.contains(dir.as_bstr())
        {
            return Ok(Some(cached.id));
        }
        let dirty = self.dirty.contains(dir.as_bstr());
        if dirty && let Some(id) = self.reuse.get(dir.as_bstr()) {
            self.written.borrow_mut().push((dir.into(), *id));
            return Ok(Some(*id));
        }
        let (mut i, mut j) = (0, 0);
        let mut tree_entries = Vec::new();
        loop {
            let from_index = entries.get(i).map(|e| e.path(self.index));
            let path = match (from_index, replaced.get(j)) {
                (Some(a), Some((b, _))) => a.min(b),
                (Some(a), None) => a,
                (None, Some((b, _))) => b,
                (None, None) => break,
            };
            let rest = &path[prefix.len()..];
            let Some(pos) = rest.find_byte(b'/') else {
                // A file: replaced (all its index entries, conflict stages too, give way) or
                // as the index has it.
                if replaced.get(j).is_some_and(|r| r.0 == path) {
                    if let Some((mode, id)) = replaced[j].1 {
                        tree_entries.push(TreeEntry {
                            name: rest.into(),
                            mode,
                            id,
                        });
                    }
                    j += 1;
                    while entries.get(i).is_some_and(|e| e.path(self.index) == path) {
                        i += 1;
                    }
                } else {
                    let entry = &entries[i];
                    if let Some(mode) = entry.mode.to_tree_entry_mode()
                        && entry.stage_raw() == 0
                        && !entry.flags.contains(Flags::INTENT_TO_ADD)
                    {
                        tree_entries.push(TreeEntry {
                            name: rest.into(),
                            mode,
                            id: entry.id,
                        });
                    }
                    i += 1;
                }
                continue;
            };
            let name = &rest[..pos];
            let sub_prefix = &path[..prefix.len() + pos + 1];
            // Everything under `sub_prefix` follows, contiguous in both lists.
            let i_end =
                i + entries[i..].partition_point(|e| e.path(self.index).starts_with(sub_prefix));
            let j_end = j + replaced[j..].partition_point(|r| r.0.starts_with(sub_prefix));
            let id = match entries.get(i) {
                // A sparse index stores a directory outside the cone as one `dir/` entry.
                Some(entry)
                    if entry.mode == gix::index::entry::Mode::DIR
                        && entry.path(self.index) == sub_prefix =>
                {
                    Some(entry.id)
                }
                _ => {
                    let child_cache =
                        cache.and_then(|c| c.children.iter().find(|t| t.name.as_slice() == name));
                    self.write_dir(
                        &entries[i..i_end],
                        &replaced[j..j_end],
                        sub_prefix,
                        child_cache,
                    )?
                }
            };
            if let Some(id) = id {
                tree_entries.push(TreeEntry {
                    name: name.into(),
                    mode: EntryKind::Tree.into(),
                    id,
                });
            }
            (i, j) = (i_end, j_end);
        }
        if tree_entries.is_empty() {
            return Ok(None);
        }
        let id = self.batch.add_tree(self.repo, &tree_entries)?;
        if dirty {
            self.written.borrow_mut().push((dir.into(), id));
        }
        Ok(Some(id))
    }

    /// Writes the trees by editing the index's root tree instead, for an index that holds
    /// exactly that tree (`Source::Tree`, `trees` the tree objects read for it): the tree of
    /// the directory `prefix` (`""` for the root, else `dir/`), which is `base` in the index,
    /// with `replaced` (the replaced paths below it, sorted) put in; None when it has no files
    /// left. Directories nothing changed in keep their ids. What the index could not hold (a
    /// file and a directory of one name) is [`CheckpointError::StandIn`]: the capture is taken
    /// again with the index read.
    fn edit_dir(
        &self,
        trees: &std::cell::RefCell<crate::git::index_tree::Trees>,
        base: Option<ObjectId>,
        replaced: &[(&BStr, Hashed)],
        prefix: &[u8],
    ) -> Result<Option<ObjectId>, CheckpointError> {
        let dir = prefix.strip_suffix(b"/").unwrap_or(prefix);
        if !self.dirty.contains(dir.as_bstr()) {
            return Ok(base);
        }
        if let Some(id) = self.reuse.get(dir.as_bstr()) {
            self.written.borrow_mut().push((dir.into(), *id));
            return Ok(Some(*id));
        }
        // The replaced paths: files right here, and the runs below each subdirectory.
        let mut files: HashMap<&[u8], Hashed> = HashMap::new();
        let mut subdirs: HashMap<&[u8], std::ops::Range<usize>> = HashMap::new();
        let mut j = 0;
        while j < replaced.len() {
            let path = replaced[j].0;
            let rest = &path[prefix.len()..];
            match rest.find_byte(b'/') {
                None => {
                    files.insert(rest, replaced[j].1);
                    j += 1;
                }
                Some(pos) => {
                    let sub_prefix = &path[..prefix.len() + pos + 1];
                    let end = j + replaced[j..].partition_point(|r| r.0.starts_with(sub_prefix));
                    subdirs.insert(&rest[..pos], j..end);
                    j = end;
                }
            }
        }
        let base_entries = match base {
            Some(id) => trees.borrow_mut().entries(self.repo, id)?,
            None => std::rc::Rc::from([]),
        };
        let mut tree_entries = Vec::new();
        let mut base_dirs: HashMap<&[u8], ObjectId> = HashMap::new();
        for (name, kind, id) in base_entries.iter() {
            let below = subdirs.contains_key(name.as_slice());
            let here = files.contains_key(name.as_slice());
            match (*kind == EntryKind::Tree, here, below) {
                // A directory that is something else now: what was below it is listed.
                (true, true, false) => return Err(CheckpointError::StandIn),
                (true, _, true) => {
                    base_dirs.insert(name.as_slice(), *id);
                    continue;
                }
                (_, true, _) => continue,
                // A file (or submodule) with paths below it, and not itself replaced.
                (false, false, true) => return Err(CheckpointError::StandIn),
                _ => {}
            }
            tree_entries.push(TreeEntry {
                name: name.clone(),
                mode: (*kind).into(),
                id: *id,
            });
        }
        let mut here: HashSet<&[u8]> = HashSet::new();
        for (name, hashed) in files {
            if let Some((mode, id)) = hashed {
                here.insert(name);
                tree_entries.push(TreeEntry {
                    name: name.into(),
                    mode,
                    id,
                });
            }
        }
        for (name, range) in subdirs {
            let mut sub_prefix = prefix.to_vec();
            sub_prefix.extend_from_slice(name);
            sub_prefix.push(b'/');
            let base = base_dirs.get(name).copied();
            if let Some(id) = self.edit_dir(trees, base, &replaced[range], &sub_prefix)? {
                // A file and a directory of one name: not a tree git could hold.
                if here.contains(name) {
                    return Err(CheckpointError::StandIn);
                }
                tree_entries.push(TreeEntry {
                    name: name.into(),
                    mode: EntryKind::Tree.into(),
                    id,
                });
            }
        }
        if tree_entries.is_empty() {
            return Ok(None);
        }
        let id = self.batch.add_tree(self.repo, &tree_entries)?;
        self.written.borrow_mut().push((dir.into(), id));
        Ok(Some(id))
    }
}

/// Makes the worktree's files exactly the checkpoint's tree (tracked files restored, files
/// that are not in it removed, ignored files left alone), then puts HEAD (and its branch)
/// at `head` and the index at HEAD. Directories holding a `.git` of their own are never
/// overwritten or removed. Runs the user's git: the index is written.
pub fn restore(worktree: &Repo, snapshot: &Snapshot) -> Result<(), CheckpointError> {
    prepare_restore(worktree, snapshot)?.apply()
}

/// A [`restore`] whose preconditions were all checked, nothing touched yet.
#[derive(Debug)]
pub struct PreparedRestore {
    snapshot: Snapshot,
    root: PathBuf,
    /// Directories holding a `.git`, which `git clean` must spare.
    repositories: Vec<BString>,
}

/// Checks everything that would stop [`restore`] part-way, before it touches a file: no
/// operation in progress, no lock git would trip on (the index, HEAD, HEAD's branch), nothing
/// in the way that no checkpoint holds (ignored files, nested repositories).
pub fn prepare_restore(
    worktree: &Repo,
    snapshot: &Snapshot,
) -> Result<PreparedRestore, CheckpointError> {
    let root = worktree.workdir().ok_or(CheckpointError::Bare)?;
    if let Some(op) = worktree.operation_in_progress() {
        return Err(CheckpointError::OperationInProgress(op, root));
    }
    if let Some(lock) = worktree
        .held_locks(snapshot.head.is_some())?
        .into_iter()
        .next()
    {
        return Err(CheckpointError::Locked(lock));
    }
    // `read-tree --reset -u` overwrites them (skip-worktree files it leaves alone).
    let assumed = worktree.assumed_edits()?;
    if !assumed.is_empty() {
        return Err(CheckpointError::WouldOverwriteAssumed(assumed));
    }
    let target = worktree.tree_paths(snapshot.tree)?;
    let staged = staged_changes(worktree, snapshot)?;
    check_paths(
        snapshot.id,
        target
            .iter()
            .map(|(p, _)| p.as_bstr())
            .chain(staged.iter().map(|p| p.as_bstr())),
    )?;
    let repositories = refuse_what_is_in_the_way(worktree, &target, true)?;
    Ok(PreparedRestore {
        snapshot: *snapshot,
        root,
        repositories,
    })
}

impl PreparedRestore {
    /// Does the restore. A failure here may leave the worktree part-way: callers keep a
    /// checkpoint of the state before and say which.
    pub fn apply(self) -> Result<(), CheckpointError> {
        let PreparedRestore {
            snapshot,
            root,
            repositories,
        } = self;
        let (tree, head) = (snapshot.tree, snapshot.head);
        // Untracked, not ignored files are removed first, judged by the ignore rules in force
        // now: the pre-rewind checkpoint holds exactly those. Cleaning after the switch would
        // judge by the checkpoint's rules and could delete ignored files no checkpoint holds.
        // Every directory holding a `.git` is excluded, valid repository or not (git's `clean`
        // spares only those it can open, and no checkpoint holds a `.git`).
        let excludes = repositories.iter().flat_map(|path| {
            use std::os::unix::ffi::OsStringExt;
            let pattern = std::ffi::OsString::from_vec(crate::git::gitignore_literal(path));
            [std::ffi::OsString::from("-e"), pattern]
        });
        git_root(&root)
            .args(["clean", "-f", "-d", "-q"])
            .args(excludes)
            .run()?;
        crate::fault::point("restoring-files");
        // Index and files become the tree; tracked files that are not in it are removed.
        git_root(&root)
            .args(["read-tree", "--reset", "-u", "-v", &tree.to_string()])
            .with_progress()
            .run()?;
        match head {
            Some(head) => {
                // Moves HEAD's branch (or a detached HEAD) and resets the index, keeping files.
                git_root(&root)
                    .args(["reset", "-q", &head.to_string()])
                    .run()?;
                if let Some(staged) = snapshot.staged {
                    // Staged again (the files stay); entries that match keep their stat data.
                    git_root(&root)
                        .args(["read-tree", "--reset", &staged.to_string()])
                        .run()?;
                }
            }
            None => {
                git_root(&root).args(["read-tree", "--empty"]).run()?;
            }
        }
        Ok(())
    }
}

/// Brings a checkpoint's files into a worktree that was just checked out at `head` (a fork):
/// only the paths that differ between `head` and `tree` are written, and the index goes back
/// to `head` keeping the stat data of everything else, so nothing re-reads the other files
/// (`restore` would check every one of them).
pub fn apply_to_fresh_checkout(
    worktree: &Repo,
    snapshot: &Snapshot,
    head: ObjectId,
) -> Result<(), CheckpointError> {
    let tree = snapshot.tree;
    let root = worktree.workdir().ok_or(CheckpointError::Bare)?;
    let head_tree = worktree.read_commit(head)?.tree;
    let changes = worktree.tree_changes(Some(head_tree), tree)?;
    let staged = staged_changes(worktree, snapshot)?;
    check_paths(
        snapshot.id,
        changes
            .iter()
            .map(|c| c.path.as_bstr())
            .chain(staged.iter().map(|p| p.as_bstr())),
    )?;
    if changes
        .iter()
        .any(|c| c.old.is_some_and(|(mode, _)| mode.is_tree()))
    {
        // A directory of `head` goes: what the include copy put inside it would go with it,
        // which only a walk of the whole worktree finds.
        let target = worktree.tree_paths(tree)?;
        refuse_what_is_in_the_way(worktree, &target, false)?;
    } else {
        let in_the_way = occupied_by_untracked(&root, &changes);
        if !in_the_way.is_empty() {
            return Err(CheckpointError::WouldOverwriteIgnored(in_the_way));
        }
    }
    let (tree_hex, head_hex) = (tree.to_string(), head.to_string());
    crate::fault::point("applying-checkpoint");
    // A two-tree merge: like switching branches from `head` to `tree`.
    git_root(&root)
        .args(["read-tree", "-m", "-u", "-v", &head_hex, &tree_hex])
        .with_progress()
        .run()?;
    // The index back at `head` (or the staged state); entries that match keep their stat data.
    match snapshot.staged {
        None => git_root(&root).args(["read-tree", "-m", &head_hex]).run()?,
        Some(staged) => git_root(&root)
            .args(["read-tree", "--reset", &staged.to_string()])
            .run()?,
    };
    Ok(())
}

/// Refuses a checkpoint naming a path git would refuse to check out (`..`, `.git`, an empty
/// or `.` component) before anything is touched: git would stop part-way, after `clean`.
/// Checkpoints can come from a remote.
fn check_paths<'a>(
    id: ObjectId,
    paths: impl IntoIterator<Item = &'a BStr>,
) -> Result<(), CheckpointError> {
    // As git's `verify_path` with its defaults (`core.protectNTFS` is on everywhere): a
    // backslash separates too, and `.git` hides behind trailing dots and spaces or `git~1`.
    let plain = |c: &[u8]| {
        let trimmed = c.trim_end_with(|ch| ch == '.' || ch == ' ');
        !c.is_empty()
            && c != b"."
            && c != b".."
            && !trimmed.eq_ignore_ascii_case(b".git")
            && !c.eq_ignore_ascii_case(b"git~1")
    };
    for path in paths {
        if !path.split(|b| *b == b'/' || *b == b'\\').all(plain) {
            return Err(CheckpointError::UnsafePath(
                crate::git::short_id(id),
                crate::git::printable_path(path),
            ));
        }
    }
    Ok(())
}

/// The paths of `staged` (a checkpoint's staged tree) that differ from `tree`.
fn staged_changes(worktree: &Repo, snapshot: &Snapshot) -> Result<Vec<BString>, CheckpointError> {
    Ok(match snapshot.staged {
        Some(staged) => worktree
            .tree_changes(Some(snapshot.tree), staged)?
            .into_iter()
            .map(|c| c.path)
            .collect(),
        None => Vec::new(),
    })
}

/// What is on disk at `rel` below `root` (not following a final symlink), when it is there
/// under exactly that name: a case-insensitive file system also finds the tracked
/// `Readme.md` when asked for `README.md`, so a hit is checked against its directory's list.
fn on_disk(root: &std::path::Path, rel: &BStr) -> Option<std::fs::Metadata> {
    let path = root.join(rel.to_path().ok()?);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    let name = path.file_name()?;
    std::fs::read_dir(path.parent()?)
        .ok()?
        .filter_map(Result::ok)
        .any(|e| e.file_name() == name)
        .then_some(meta)
}

/// In a fresh checkout of a tree, the paths that `changes` (from that tree) adds but find
/// something on disk already: a file or directory at the path, or a non-directory where one
/// of its new parent directories goes. Only the include copy can have put it there, and no
/// checkpoint holds it.
fn occupied_by_untracked(
    root: &std::path::Path,
    changes: &[crate::git::TreeChange],
) -> Vec<String> {
    // Files of the old tree that become directories: git replaces those itself.
    let replaced: HashSet<&BStr> = changes
        .iter()
        .filter(|c| c.old.is_some() && c.new.is_some_and(|(mode, _)| mode.is_tree()))
        .map(|c| c.path.as_bstr())
        .collect();
    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.old.is_none()) {
        let path = change.path.as_bstr();
        let mut in_the_way = None;
        let mut below_replaced = false;
        for (at, _) in path.iter().enumerate().filter(|(_, b)| **b == b'/') {
            let dir = path[..at].as_bstr();
            if replaced.contains(dir) {
                // What the old tree had here (a file, a symlink) goes, and all below is new.
                below_replaced = true;
                break;
            }
            let not_a_dir = root
                .join(dir.to_path().unwrap_or(std::path::Path::new("")))
                .symlink_metadata()
                .is_ok_and(|m| !m.is_dir());
            if not_a_dir && on_disk(root, dir).is_some() {
                in_the_way = Some(dir);
                break;
            }
        }
        if in_the_way.is_none() && !below_replaced && on_disk(root, path).is_some() {
            in_the_way = Some(path);
        }
        if let Some(p) = in_the_way {
            let p = crate::git::printable_path(p);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Refuses when writing `target` (every path of a tree, sorted) would overwrite or remove
/// what no checkpoint holds: ignored files (checkpoints leave them out) and, when
/// `repositories` is set, directories holding a `.git` of their own (a checkpoint holds at
/// most the commit they point at). Returns those directories.
fn refuse_what_is_in_the_way(
    worktree: &Repo,
    target: &[(BString, EntryMode)],
    repositories: bool,
) -> Result<Vec<BString>, CheckpointError> {
    let find = |p: &[u8]| {
        target
            .binary_search_by(|(path, _)| path.as_slice().cmp(p))
            .ok()
            .map(|i| target[i].1)
    };
    let has_below = |dir: &[u8]| {
        let mut prefix = dir.to_vec();
        prefix.push(b'/');
        let at = target.partition_point(|(p, _)| p.as_slice() < prefix.as_slice());
        target.get(at).is_some_and(|(p, _)| p.starts_with(&prefix))
    };
    let has_above = |path: &[u8]| {
        path.iter()
            .enumerate()
            .any(|(pos, b)| *b == b'/' && find(&path[..pos]).is_some())
    };
    let ignored: Vec<String> = worktree
        .ignored_paths()?
        .iter()
        .map(|p| p.trim_end_with(|c| c == '/'))
        .filter(|p| find(p).is_some() || has_below(p) || has_above(p))
        .map(crate::git::printable_path)
        .collect();
    if !ignored.is_empty() {
        return Err(CheckpointError::WouldOverwriteIgnored(ignored));
    }
    if !repositories {
        return Ok(Vec::new());
    }
    let nested = worktree.nested_repositories()?;
    let in_the_way: Vec<String> = nested
        .iter()
        .filter(|path| {
            // A gitlink at the same path leaves the repository alone.
            let replaced = find(path).is_some_and(|m| !m.is_commit());
            replaced || has_below(path) || has_above(path)
        })
        .map(|p| crate::git::printable_path(p))
        .collect();
    if !in_the_way.is_empty() {
        return Err(CheckpointError::WouldOverwriteRepositories(in_the_way));
    }
    Ok(nested)
}

/// Why a checkpoint reference did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("the session has no checkpoints yet")]
    NoCheckpoints,
    #[error("'{0}' is not a checkpoint of this session (use a full id, a unique prefix, @ or @~N)")]
    Unknown(String),
    #[error("'{0}' matches several checkpoints; use more digits")]
    Ambiguous(String),
    #[error("'{spec}' goes back further than the {count} checkpoint(s) there are")]
    TooFarBack { spec: String, count: usize },
}

/// Picks a checkpoint from a session's checkpoints (newest first) by full id, unique prefix
/// (4 or more hex digits), `@` (the latest) or `@~N` (the N-th before the latest).
pub fn select(checkpoints: &[ObjectId], spec: &str) -> Result<ObjectId, SelectError> {
    // Echoed in errors: keep them on one line whatever the argument holds.
    let spec = &spec.escape_debug().to_string();
    if checkpoints.is_empty() {
        return Err(SelectError::NoCheckpoints);
    }
    if spec == "@" || spec == "@~0" {
        return Ok(checkpoints[0]);
    }
    if let Some(n) = spec.strip_prefix("@~") {
        let n: usize = n
            .parse()
            .map_err(|_| SelectError::Unknown(spec.to_owned()))?;
        return checkpoints.get(n).copied().ok_or(SelectError::TooFarBack {
            spec: spec.to_owned(),
            count: checkpoints.len(),
        });
    }
    let lower = spec.to_ascii_lowercase();
    if lower.len() < 4 || !lower.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SelectError::Unknown(spec.to_owned()));
    }
    let mut matches = checkpoints
        .iter()
        .filter(|id| id.to_string().starts_with(&lower));
    let first = matches
        .next()
        .ok_or_else(|| SelectError::Unknown(spec.to_owned()))?;
    if matches.any(|other| other != first) {
        return Err(SelectError::Ambiguous(spec.to_owned()));
    }
    Ok(*first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hex: &str) -> ObjectId {
        ObjectId::from_hex(format!("{hex:0<40}").as_bytes()).unwrap()
    }

    #[test]
    fn paths_git_refuses_to_check_out_are_refused() {
        let refused = [
            ".git/config",
            "a/.GIT/x",
            "git~1/x",
            "a/.git. /x",
            "a\\.git\\hooks",
            "../up",
            "a//b",
            "./a",
        ];
        for path in refused {
            let err = check_paths(id("ab"), [BStr::new(path)]).unwrap_err();
            assert!(matches!(err, CheckpointError::UnsafePath(..)), "{path}");
        }
        let fine = [
            ".gitignore",
            "a/.github/x",
            "git~2",
            "a.git/b",
            "dir/.gitkeep",
        ];
        check_paths(id("ab"), fine.map(BStr::new)).unwrap();
    }

    #[test]
    fn modes_follow_git_add() {
        use gix::index::entry::Mode;
        let caps = |executable_bit, symlink| gix::fs::Capabilities {
            precompose_unicode: false,
            ignore_case: false,
            executable_bit,
            symlink,
        };
        let (file, exe, link) = (
            EntryMode::from(EntryKind::Blob),
            EntryMode::from(EntryKind::BlobExecutable),
            EntryMode::from(EntryKind::Link),
        );
        let trusted = caps(true, true);
        assert_eq!(recorded_mode(exe, None, &trusted), exe);
        assert_eq!(
            recorded_mode(file, Some(Mode::FILE_EXECUTABLE), &trusted),
            file
        );
        // core.fileMode=false: new files are 100644, tracked ones keep the index's mode.
        let no_mode = caps(false, true);
        assert_eq!(recorded_mode(exe, None, &no_mode), file);
        assert_eq!(recorded_mode(exe, Some(Mode::FILE), &no_mode), file);
        assert_eq!(
            recorded_mode(file, Some(Mode::FILE_EXECUTABLE), &no_mode),
            exe
        );
        assert_eq!(recorded_mode(exe, Some(Mode::SYMLINK), &no_mode), file);
        assert_eq!(recorded_mode(link, Some(Mode::FILE), &no_mode), link);
        // core.symlinks=false: a file where the index has a symlink stays a symlink.
        let no_links = caps(true, false);
        assert_eq!(recorded_mode(file, Some(Mode::SYMLINK), &no_links), link);
        assert_eq!(recorded_mode(exe, Some(Mode::FILE), &no_links), exe);
    }

    #[test]
    fn selects_by_position_and_prefix() {
        let list = [id("abc1"), id("abc2"), id("def0")];
        assert_eq!(select(&list, "@"), Ok(list[0]));
        assert_eq!(select(&list, "@~2"), Ok(list[2]));
        assert_eq!(
            select(&list, "@~3"),
            Err(SelectError::TooFarBack {
                spec: "@~3".into(),
                count: 3
            })
        );
        assert_eq!(select(&list, "def0"), Ok(list[2]));
        assert_eq!(select(&list, "ABC2"), Ok(list[1]));
        assert_eq!(select(&list, &list[1].to_string()), Ok(list[1]));
        assert_eq!(
            select(&list, "abc"),
            Err(SelectError::Unknown("abc".into()))
        );
        assert_eq!(select(&list, "abc1"), Ok(list[0]));
        assert_eq!(
            select(&list, "ffff"),
            Err(SelectError::Unknown("ffff".into()))
        );
        assert_eq!(
            select(&list, "@~x"),
            Err(SelectError::Unknown("@~x".into()))
        );
        assert_eq!(select(&[], "@"), Err(SelectError::NoCheckpoints));
        let dup = [id("abcd1"), id("abcd2")];
        assert_eq!(
            select(&dup, "abcd"),
            Err(SelectError::Ambiguous("abcd".into()))
        );
    }
}
