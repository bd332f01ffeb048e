//! One pass over a worktree that answers the question behind checkpoints and status: which
//! paths may differ from the index (tracked files whose stat data changed, that vanished or
//! changed type, conflicts, intent-to-add entries) and which untracked files are not ignored.
//!
//! gix's status answers the same question in two passes (a stat of every index entry by full
//! path, and a separate directory walk for untracked files). On a 100,000-file worktree that
//! is as slow as `git status`, and DESIGN §7 wants a checkpoint at half of git's cost. Here
//! each directory is read once, its entries are matched against the index's sorted entries,
//! and tracked files are stat-ed relative to the open directory (no path walk in the kernel),
//! on as many threads as there are cores. gix still provides the index, the stat comparison
//! (with git's racy-git rule and `core.trustctime`/`core.checkStat`) and the ignore rules.
//!
//! The answer errs towards "may differ": the caller hashes what is listed (a checkpoint
//! stores it, a status compares it with the index), and an unchanged file just hashes to its
//! old id again.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stat};

#[cfg(not(target_os = "linux"))]
use rustix::fs::Dir;
use rustix::fs::{AtFlags, FileType, OFlags};

use super::capture_memo::Stamp;
use super::error::{GixContext, RepoError};

/// What differs between a worktree and its index, as paths relative to the worktree.
#[derive(Debug, Default, Clone)]
pub struct WorktreeChanges {
    /// Tracked paths that are gone from the worktree (or became something git cannot track).
    pub removed: Vec<BString>,
    /// Paths whose content must be hashed: tracked files that may have changed, and untracked,
    /// not ignored files (a nested repository or a submodule is listed as its directory).
    pub to_hash: Vec<BString>,
    /// The stat data the scan took of files it listed in `to_hash`, where it took any (the
    /// scan of candidates takes it of each): a capture need not take it again.
    pub stamps: HashMap<BString, Stamp>,
    /// Every `.gitattributes` the scan met in the directories it read, tracked or not,
    /// ignored or not, with its stat data. A full scan reads every directory a listed file
    /// is in, and the directories above it, so after one these are all the attribute files
    /// that decide how the files a capture hashes are filtered ([`attributes_digest`]); the
    /// scan of candidates reads only some directories.
    pub attribute_files: Vec<(BString, Stamp)>,
    /// One of them could not be stat-ed: what they hold cannot be vouched for.
    pub attribute_files_unknown: bool,
}

/// What the `.gitattributes` files a full scan met are, as one value: equal for two scans
/// only when the same files were there with the same stat data (so the same contents).
/// None when one could not be stat-ed.
pub fn attributes_digest(changes: &WorktreeChanges, hash: gix::hash::Kind) -> Option<String> {
    if changes.attribute_files_unknown {
        return None;
    }
    let mut sorted: Vec<&(BString, Stamp)> = changes.attribute_files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = gix::hash::hasher(hash);
    for (path, stamp) in sorted {
        hasher.update(path);
        hasher.update(b"\0");
        hasher.update(stamp.to_text().as_bytes());
        hasher.update(b"\n");
    }
    hasher.try_finalize().ok().map(|id| id.to_string())
}

/// Whether one of the `.gitattributes` files the scan met changed within a tick of `at` (the
/// scan's start): a rewrite in the same tick would not change its stat data, so the digest
/// cannot vouch for it later.
pub fn attributes_racy(changes: &WorktreeChanges, at: std::time::SystemTime) -> bool {
    changes.attribute_files.iter().any(|(_, s)| s.racy(at))
}

/// Reads the worktree's index as git does, without verifying its checksum (git leaves that to
/// `git fsck`): on a 100,000-file index the verification costs about as much as the reading.
pub fn read_index(repo: &gix::Repository) -> Result<gix::index::File, RepoError> {
    let path = repo.index_path();
    if !path.exists() {
        let empty = gix::index::State::new(repo.object_hash());
        return Ok(gix::index::File::from_state(empty, path));
    }
    decode_index(&path, repo.object_hash())
}

fn decode_index(path: &Path, hash: gix::hash::Kind) -> Result<gix::index::File, RepoError> {
    let options = gix::index::decode::Options::default();
    gix::index::File::at(path, hash, true, options).map_err(|e| RepoError::BadIndex {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

/// A filter pipeline (git's clean filters, line endings) for hashing worktree files. Not
/// `repo.filter_pipeline()`: that reads the whole index again.
///
/// Its attributes are those of the tree `git add -A` writes: each `.gitattributes` is read
/// from the worktree, and from the index only when the index marks it skip-worktree (sparse
/// checkout). git itself falls back to the index for any `.gitattributes` missing on disk,
/// but `git add -A` drops a deleted one from the index before it hashes the files that
/// follow it, so a deleted or replaced `.gitattributes` must not apply (gix's
/// `WorktreeThenIdMapping` would take it from the index).
pub fn filter_pipeline<'r>(
    repo: &'r gix::Repository,
    index: &gix::index::State,
) -> Result<gix::filter::Pipeline<'r>, RepoError> {
    let what = || "reading the attributes of the worktree".to_owned();
    let source = gix::worktree::stack::state::attributes::Source::WorktreeThenIdMapping;
    let fallback = skipped_files(index, b".gitattributes");
    let attributes = repo.attributes_only(&fallback, source).context(what)?;
    gix::filter::Pipeline::new(repo, attributes.detach()).context(what)
}

/// An index holding only the entries of `index` named `name` (`.gitattributes`,
/// `.gitignore`) that are skip-worktree: the ones git reads from the index because they are
/// not on disk. What gix's attribute and ignore stacks need of an index, without their walk
/// of every entry.
pub fn skipped_files(index: &gix::index::State, name: &[u8]) -> gix::index::State {
    let mut out = gix::index::State::new(index.object_hash());
    // A version 2 index has no extended flags, so no skip-worktree entry: not walked.
    if index.version() == gix::index::Version::V2 {
        return out;
    }
    for entry in index.entries() {
        if !entry.flags.contains(Flags::SKIP_WORKTREE) {
            continue;
        }
        let path = entry.path(index);
        let base = path
            .rfind_byte(b'/')
            .map_or(path, |pos| path[pos + 1..].as_bstr());
        // gix matches the name again, case-folded or not as core.ignoreCase says.
        if base.eq_ignore_ascii_case(name) {
            out.dangerously_push_entry(entry.stat, entry.id, entry.flags, entry.mode, path);
        }
    }
    out
}

/// What a worktree path holds, read as `git add` reads it.
pub enum OnDisk {
    /// A file (through git's clean filters, its executable bit as on disk) or a symlink (its
    /// target): the kind and the content as git stores it.
    Blob(gix::objs::tree::EntryKind, Vec<u8>),
    /// A directory (a submodule or a nested repository) or what git cannot track.
    Other,
}

/// Reads the worktree path `path` (relative to `workdir`) for hashing: its `lstat`, taken
/// before anything is read (a write after that changes it), and what it holds; None when it
/// is gone. One `lstat`; a file is then opened without following a symlink or blocking on a
/// fifo put in its place since, checked to be the file the `lstat` saw, and read to its end.
pub fn read_worktree_file(
    workdir: &Path,
    pipeline: &mut gix::filter::Pipeline<'_>,
    index: &gix::index::State,
    path: &BStr,
) -> Result<Option<(rustix::fs::Stat, OnDisk)>, RepoError> {
    use gix::filter::plumbing::pipeline::convert::ToGitOutcome;
    use gix::objs::tree::EntryKind;
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let what = || format!("reading {} in the worktree", path.to_str_lossy());
    let rela_path = Path::new(OsStr::from_bytes(path));
    let full = workdir.join(rela_path);
    // A path replaced between the `lstat` and the `open` is looked at again.
    for _ in 0..2 {
        let stat = match rustix::fs::lstat(&full) {
            Ok(stat) => stat,
            Err(e) if vanished(&e.into()) => return Ok(None),
            Err(e) => return Err(io_failure(path, e.into())),
        };
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Symlink => {
                let target = match std::fs::read_link(&full) {
                    Ok(target) => target,
                    Err(e)
                        if vanished(&e)
                            || e.raw_os_error()
                                == Some(rustix::io::Errno::INVAL.raw_os_error()) =>
                    {
                        continue;
                    }
                    Err(e) => return Err(io_failure(path, e)),
                };
                let target = target.into_os_string().into_vec();
                return Ok(Some((stat, OnDisk::Blob(EntryKind::Link, target))));
            }
            FileType::RegularFile => {}
            _ => return Ok(Some((stat, OnDisk::Other))),
        }
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
            .open(&full)
        {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => continue,
            Err(e) if vanished(&e) => return Ok(None),
            Err(e) => return Err(io_failure(path, e)),
        };
        let opened = rustix::fs::fstat(&file).map_err(|e| io_failure(path, e.into()))?;
        if FileType::from_raw_mode(opened.st_mode) != FileType::RegularFile
            || (opened.st_dev, opened.st_ino) != (stat.st_dev, stat.st_ino)
        {
            continue;
        }
        let mut data = Vec::with_capacity(usize::try_from(stat.st_size).unwrap_or(0));
        // Through `take`: `File::read_to_end` would `stat` the file again for its length.
        match pipeline
            .convert_to_git(file, rela_path, index)
            .context(what)?
        {
            ToGitOutcome::Unchanged(file) => file.take(u64::MAX).read_to_end(&mut data).map(drop),
            ToGitOutcome::Buffer(buf) => {
                data.extend_from_slice(buf);
                Ok(())
            }
            ToGitOutcome::Process(mut stream) => stream.read_to_end(&mut data).map(drop),
        }
        .map_err(|e| io_failure(path, e))?;
        let kind = if stat.st_mode & 0o100 != 0 {
            EntryKind::BlobExecutable
        } else {
            EntryKind::Blob
        };
        return Ok(Some((stat, OnDisk::Blob(kind, data))));
    }
    Err(io_failure(
        path,
        std::io::Error::other("it was replaced twice while it was being read"),
    ))
}

/// The tree mode (as on disk, executable bit included) and blob id of the worktree file at
/// `path`, computed without writing anything; None when it is gone or cannot be tracked.
pub fn worktree_blob(
    repo: &gix::Repository,
    pipeline: &mut gix::filter::Pipeline<'_>,
    index: &gix::index::State,
    path: &BStr,
) -> Result<Option<(gix::objs::tree::EntryMode, gix::ObjectId)>, RepoError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(None);
    };
    let Some((_, OnDisk::Blob(kind, data))) = read_worktree_file(workdir, pipeline, index, path)?
    else {
        return Ok(None);
    };
    let id = gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, &data)
        .context(|| format!("hashing {}", path.to_str_lossy()))?;
    Ok(Some((kind.into(), id)))
}

/// Scans the whole worktree of `repo` against `index`: every directory read, every tracked
/// file stat-ed.
pub fn full_scan(
    repo: &gix::Repository,
    index: &gix::index::State,
) -> Result<WorktreeChanges, RepoError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(WorktreeChanges::default()); // a bare repository has nothing to scan
    };
    let root = Job {
        place: Place::Root(workdir.to_owned()),
        prefix: BString::default(),
        entries: 0..index.entries().len(),
    };
    let rules = Rules::of(repo)?;
    run_jobs(repo, index, &rules, vec![root], WorktreeChanges::default())
}

/// Scans only what may have changed: each of `candidates` (paths a file-system monitor
/// reported, and those the previous answer listed) judged on its own, as the full scan would
/// judge it where its walk reaches it, and the whole subtree of each directory in `subtrees`
/// (one whose `.gitignore` changed). Everything else is taken as it was.
pub fn scan_candidates(
    repo: &gix::Repository,
    index: &gix::index::State,
    candidates: &[BString],
    subtrees: &[BString],
) -> Result<WorktreeChanges, RepoError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(WorktreeChanges::default());
    };
    let rules = Rules::of(repo)?;
    let mut worker = Worker {
        repo,
        index,
        rules: &rules,
        excludes: None,
        names: Names::default(),
        out: WorktreeChanges::default(),
    };
    let mut jobs = Vec::new();
    let mut memo = Memo::default();
    let mut walked: Vec<BString> = Vec::new();
    for dir in subtrees {
        let prefix = with_slash(dir);
        // Judged as the walk would reach it: below an ignored directory or a nested
        // repository (which is listed itself), or inside a `.git`, there is nothing to walk.
        if !worker.reaches(workdir, dir.as_bstr(), &mut memo)? {
            walked.push(prefix);
            continue;
        }
        let entries = index
            .prefixed_entries_range(prefix.as_bstr())
            .unwrap_or(0..0);
        let path = workdir.join(std::ffi::OsStr::from_bytes(dir));
        if is_real_dir_memo(workdir, dir, &mut memo.dirs) {
            jobs.push(Job {
                place: Place::Root(path),
                prefix: prefix.clone(),
                entries,
            });
        } else {
            worker.removed(entries);
        }
        walked.push(prefix);
    }
    let mut candidates: Vec<&BString> = candidates
        .iter()
        .filter(|c| !walked.iter().any(|w| c.starts_with(w.as_slice())))
        .collect();
    candidates.sort();
    candidates.dedup();
    for path in candidates {
        worker.candidate(workdir, path.as_bstr(), &mut jobs, &mut memo)?;
    }
    let mut out = run_jobs(repo, index, &rules, jobs, worker.out)?;
    out.removed.sort();
    out.removed.dedup();
    out.to_hash.sort();
    out.to_hash.dedup();
    Ok(out)
}

fn with_slash(dir: &[u8]) -> BString {
    let mut prefix = BString::from(dir.to_vec());
    if !prefix.is_empty() && !prefix.ends_with(b"/") {
        prefix.push(b'/');
    }
    prefix
}

/// What `scan_candidates` learned about directories, so candidates in one directory look
/// at it once.
#[derive(Default)]
struct Memo {
    /// Whether each is a real directory (`is_real_dir_memo`).
    dirs: HashMap<BString, bool>,
    /// What each means for the candidates below it.
    above: HashMap<BString, Above>,
    /// Each opened once.
    open: HashMap<BString, Arc<OwnedFd>>,
    /// The worktree's root, opened for `openat2` (Linux).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    root: Option<OwnedFd>,
    /// Whether `openat2` is refused here (an old kernel, a sandbox).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    no_openat2: bool,
}

#[derive(Clone, Copy)]
enum Above {
    Walk,
    Stop,
    Gone,
}

/// Whether `rel` under `root` is a directory reached through directories only (git never
/// follows a symlink into the worktree), each directory looked at once (`seen`).
pub(crate) fn is_real_dir_memo(root: &Path, rel: &[u8], seen: &mut HashMap<BString, bool>) -> bool {
    let rel = rel.strip_suffix(b"/").unwrap_or(rel);
    if rel.is_empty() {
        return true;
    }
    if let Some(known) = seen.get(rel.as_bstr()) {
        return *known;
    }
    let parent_ok = match rel.rfind_byte(b'/') {
        Some(i) => is_real_dir_memo(root, &rel[..i], seen),
        None => true,
    };
    let ok = parent_ok
        && std::fs::symlink_metadata(root.join(std::ffi::OsStr::from_bytes(rel)))
            .is_ok_and(|m| m.is_dir());
    seen.insert(BString::from(rel), ok);
    ok
}

/// The directory `rel` under `root`, opened, when it is one reached through directories
/// only (as [`is_real_dir_memo`] judges); None when it is not (gone, not a directory, a
/// symlink on the way). On Linux one `openat2` that refuses symlinks does both; where it is
/// refused for any other reason, each directory on the way is looked at instead.
fn open_real_dir(root: &Path, rel: &[u8], memo: &mut Memo) -> Result<Option<OwnedFd>, RepoError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mode = rustix::fs::Mode::empty();
    #[cfg(target_os = "linux")]
    if !memo.no_openat2 {
        if memo.root.is_none() {
            memo.root =
                Some(rustix::fs::open(root, flags, mode).map_err(|e| io_failure(b"", e.into()))?);
        }
        let base = memo.root.as_ref().expect("opened above");
        let rel_path = if rel.is_empty() { b".".as_slice() } else { rel };
        let resolve = rustix::fs::ResolveFlags::NO_SYMLINKS;
        match rustix::fs::openat2(
            base,
            std::ffi::OsStr::from_bytes(rel_path),
            flags | OFlags::NOFOLLOW,
            mode,
            resolve,
        ) {
            Ok(dir) => return Ok(Some(dir)),
            Err(e) if vanished(&e.into()) => return Ok(None),
            Err(e) => {
                memo.no_openat2 = matches!(e, rustix::io::Errno::NOSYS | rustix::io::Errno::PERM)
            }
        }
    }
    if !is_real_dir_memo(root, rel, &mut memo.dirs) {
        return Ok(None);
    }
    match rustix::fs::open(root.join(std::ffi::OsStr::from_bytes(rel)), flags, mode) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if vanished(&e.into()) => Ok(None),
        Err(e) => Err(io_failure(rel, e.into())),
    }
}

/// Runs `jobs` (directories to read, each with the index entries under it) on as many
/// threads as there are cores, adding what they find to `out`.
fn run_jobs(
    repo: &gix::Repository,
    index: &gix::index::State,
    rules: &Rules,
    jobs: Vec<Job>,
    mut out: WorktreeChanges,
) -> Result<WorktreeChanges, RepoError> {
    if jobs.is_empty() {
        return Ok(out);
    }
    let pending = jobs.len();
    let queue = Queue {
        state: Mutex::new(QueueState {
            jobs,
            pending,
            failed: None,
        }),
        wake: Condvar::new(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let parts: Vec<WorktreeChanges> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let repo = repo.clone();
                let (queue, rules) = (&queue, rules);
                scope.spawn(move || {
                    let mut worker = Worker {
                        repo: &repo,
                        index,
                        rules,
                        excludes: None,
                        names: Names::default(),
                        out: WorktreeChanges::default(),
                    };
                    while let Some(job) = queue.next() {
                        let found = worker.scan_dir(job);
                        queue.finish(found);
                    }
                    worker.out
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("scan threads do not panic"))
            .collect()
    });
    if let Some(err) = queue.state.into_inner().expect("no thread panicked").failed {
        return Err(err);
    }
    for part in parts {
        out.removed.extend(part.removed);
        out.to_hash.extend(part.to_hash);
        out.stamps.extend(part.stamps);
        out.attribute_files.extend(part.attribute_files);
        out.attribute_files_unknown |= part.attribute_files_unknown;
    }
    Ok(out)
}

/// The configuration that decides whether a tracked file looks changed.
struct Rules {
    stat: gix::index::entry::stat::Options,
    fs: gix::fs::Capabilities,
}

impl Rules {
    fn of(repo: &gix::Repository) -> Result<Rules, RepoError> {
        let what = || "reading the worktree's configuration".to_owned();
        Ok(Rules {
            stat: repo.stat_options().context(what)?,
            fs: repo.filesystem_options().context(what)?,
        })
    }
}

/// A directory to read: where it is, its path with a trailing `/` (empty for the root), and
/// the range of index entries under it (empty for an untracked directory).
struct Job {
    place: Place,
    prefix: BString,
    entries: std::ops::Range<usize>,
}

/// Where a directory is. Queued directories hold their parent's descriptor, not their own,
/// so a directory with thousands of subdirectories costs one descriptor, not thousands.
enum Place {
    Root(PathBuf),
    In(Arc<OwnedFd>, CString),
}

impl Job {
    fn open(&self) -> std::io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mode = rustix::fs::Mode::empty();
        Ok(match &self.place {
            Place::Root(path) => rustix::fs::open(path, flags, mode)?,
            // Never through a symlink: git does not follow them.
            Place::In(parent, name) => {
                rustix::fs::openat(parent, name, flags | OFlags::NOFOLLOW, mode)?
            }
        })
    }
}

struct QueueState {
    jobs: Vec<Job>,
    /// Jobs queued or being worked on; the scan is done when this reaches zero.
    pending: usize,
    failed: Option<RepoError>,
}

struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
}

impl Queue {
    fn next(&self) -> Option<Job> {
        let mut state = self.state.lock().expect("no thread panicked");
        loop {
            if state.failed.is_some() {
                return None;
            }
            if let Some(job) = state.jobs.pop() {
                return Some(job);
            }
            if state.pending == 0 {
                return None;
            }
            state = self.wake.wait(state).expect("no thread panicked");
        }
    }

    fn finish(&self, found: Result<Vec<Job>, RepoError>) {
        let mut state = self.state.lock().expect("no thread panicked");
        state.pending -= 1;
        match found {
            Ok(jobs) => {
                state.pending += jobs.len();
                state.jobs.extend(jobs);
            }
            Err(err) => {
                state.failed.get_or_insert(err);
            }
        }
        self.wake.notify_all();
    }
}

/// What a directory holds under one name, according to the index.
struct Tracked<'a> {
    name: &'a BStr,
    entries: std::ops::Range<usize>,
    /// Entries live below this name (it is a directory in the index).
    is_dir: bool,
}

struct Worker<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    rules: &'a Rules,
    /// Created on the first untracked path: most directories hold none.
    excludes: Option<gix::AttributeStack<'a>>,
    /// The buffer for a directory's names, reused.
    names: Names,
    out: WorktreeChanges,
}

impl<'a> Worker<'a> {
    fn scan_dir(&mut self, job: Job) -> Result<Vec<Job>, RepoError> {
        let dir = match job.open() {
            Ok(dir) => Arc::new(dir),
            // It changed while it was read: whatever the index has under it is gone.
            Err(e) if vanished(&e) => {
                self.removed(job.entries);
                return Ok(Vec::new());
            }
            Err(e) => return Err(io_failure(&job.prefix, e)),
        };
        let mut names = std::mem::take(&mut self.names);
        let result = names
            .read(&dir)
            .map_err(|e| io_failure(&job.prefix, e))
            .and_then(|()| self.match_names(&job, &dir, &names));
        self.names = names;
        result
    }

    /// Whether the directory at `prefix` (with its trailing `/`) is a repository of its own:
    /// its `.git` is a git directory or a file pointing at one, as gix judges it (close to
    /// git; a repository whose HEAD is empty passes here and not in git). Any other `.git`
    /// entry is skipped and the directory is walked like any other. Whatever the verdict,
    /// rewind and worktree removal never delete a directory holding a `.git`
    /// (`Repo::nested_repositories`).
    fn is_repository(&self, prefix: &[u8]) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let Some(root) = self.repo.workdir() else {
            return false;
        };
        let dot_git = root
            .join(std::ffi::OsStr::from_bytes(prefix))
            .join(gix::discover::DOT_GIT_DIR);
        gix::discover::is_git(&dot_git).is_ok()
    }

    /// Walks a directory's names and its index entries side by side, both sorted by name.
    fn match_names(
        &mut self,
        job: &Job,
        dir: &Arc<OwnedFd>,
        names: &Names,
    ) -> Result<Vec<Job>, RepoError> {
        let count = names.spans.len();
        if job.entries.is_empty()
            && !job.prefix.is_empty()
            && (0..count).any(|i| names.name(i) == ".git")
            && self.is_repository(&job.prefix)
        {
            // An untracked nested repository: git records it as a gitlink to its HEAD.
            self.out
                .to_hash
                .push(job.prefix[..job.prefix.len() - 1].into());
            return Ok(Vec::new());
        }
        let tracked = self.tracked_children(job);
        let mut subdirs = Vec::new();
        let mut next = 0;
        for i in 0..count {
            let name = names.name(i);
            if name == ".git" {
                continue;
            }
            while next < tracked.len() && tracked[next].name < name {
                self.removed(tracked[next].entries.clone());
                next += 1;
            }
            let mut found = Found {
                job,
                dir,
                name,
                c_name: names.c_name(i),
                kind: names.spans[i].kind,
                known: None,
            };
            if super::capture_memo::names_attributes(name) {
                // An ignored one is not stat-ed otherwise: failing, it fails only the vouching.
                match found.stat() {
                    Ok(known) => found.known = known,
                    Err(_) => self.out.attribute_files_unknown = true,
                }
                if let Some(stat) = &found.known {
                    self.out
                        .attribute_files
                        .push((found.path(), Stamp::from_stat(stat)));
                }
            }
            let mut matched = false;
            while next < tracked.len() && tracked[next].name == name {
                matched = true;
                let here = &tracked[next];
                next += 1;
                if found.kind == FileType::Unknown {
                    match found.stat()? {
                        Some(stat) => {
                            found.kind = FileType::from_raw_mode(stat.st_mode);
                            found.known = Some(stat);
                        }
                        None => {
                            self.removed(here.entries.clone());
                            continue;
                        }
                    }
                }
                if !here.is_dir {
                    self.tracked_file(&found, here.entries.clone(), &mut subdirs)?;
                } else if found.kind == FileType::Directory {
                    subdirs.push(found.subdir(here.entries.clone()));
                } else {
                    // A tracked directory became a file or a symlink.
                    self.removed(here.entries.clone());
                    self.untracked(&found, &mut subdirs)?;
                }
            }
            if !matched {
                self.untracked(&found, &mut subdirs)?;
            }
        }
        for here in &tracked[next..] {
            self.removed(here.entries.clone());
        }
        Ok(subdirs)
    }

    /// Groups the index entries of a directory by their first path component, sorted by name.
    fn tracked_children(&self, job: &Job) -> Vec<Tracked<'a>> {
        let entries = self.index.entries();
        let backing = self.index.path_backing();
        let mut out = Vec::new();
        let mut i = job.entries.start;
        while i < job.entries.end {
            let path = entries[i].path_in(backing);
            let rest = &path[job.prefix.len()..];
            let (name_end, is_dir) = match rest.find_byte(b'/') {
                Some(pos) => (job.prefix.len() + pos, true),
                None => (path.len(), false),
            };
            let end = if is_dir {
                // Everything under `name/` follows, contiguous in the sorted index.
                let dir = &path[..=name_end];
                i + entries[i..job.entries.end]
                    .partition_point(|e| e.path_in(backing).starts_with(dir))
            } else {
                // One entry, or one per stage of a conflict.
                let name = &path[..name_end];
                i + entries[i..job.entries.end]
                    .iter()
                    .take_while(|e| e.path_in(backing) == name)
                    .count()
            };
            out.push(Tracked {
                name: path[job.prefix.len()..name_end].as_bstr(),
                entries: i..end,
                is_dir,
            });
            i = end;
        }
        // Index order puts `a/b` after `a-c`; directory entries come in plain name order.
        out.sort_by(|a, b| a.name.cmp(b.name));
        out
    }

    /// A tracked file (its entries: one, or several conflict stages) found on disk.
    fn tracked_file(
        &mut self,
        found: &Found<'_>,
        entries: std::ops::Range<usize>,
        subdirs: &mut Vec<Job>,
    ) -> Result<(), RepoError> {
        let entry = &self.index.entries()[entries.start];
        let path = entry.path(self.index);
        if entries.len() == 1
            && entry
                .flags
                .intersects(Flags::SKIP_WORKTREE | Flags::ASSUME_VALID)
        {
            return Ok(());
        }
        if found.kind == FileType::Directory {
            if entry.mode == Mode::COMMIT {
                // A submodule checked out: its HEAD is what gets recorded. One that is not
                // (an empty directory, as git leaves it in every new worktree) keeps the
                // index's gitlink, as `git add -A` does.
                let mut prefix = path.to_owned();
                prefix.push(b'/');
                if self.is_repository(&prefix) {
                    self.out.to_hash.push(path.to_owned());
                }
            } else {
                self.removed(entries);
                self.untracked(found, subdirs)?;
            }
            return Ok(());
        }
        if entries.len() > 1 || entry.stage_raw() != 0 || entry.flags.contains(Flags::INTENT_TO_ADD)
        {
            self.out.to_hash.push(path.to_owned());
            return Ok(());
        }
        match found.stat()? {
            None => self.removed(entries),
            Some(stat) if self.looks_changed(entry, &stat) => {
                self.out.to_hash.push(path.to_owned())
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn looks_changed(&self, entry: &gix::index::Entry, stat: &rustix::fs::Stat) -> bool {
        let kind = FileType::from_raw_mode(stat.st_mode);
        let same_kind = match entry.mode {
            Mode::FILE | Mode::FILE_EXECUTABLE => kind == FileType::RegularFile,
            // Without core.symlinks, git checks symlinks out as files holding the target.
            Mode::SYMLINK => {
                kind == FileType::Symlink
                    || (!self.rules.fs.symlink && kind == FileType::RegularFile)
            }
            _ => false,
        };
        if !same_kind {
            return true;
        }
        if self.rules.fs.executable_bit && kind == FileType::RegularFile {
            let executable = stat.st_mode & 0o100 != 0;
            if executable != (entry.mode == Mode::FILE_EXECUTABLE) {
                return true;
            }
        }
        let now = stat_of(stat);
        !now.matches(&entry.stat, self.rules.stat)
            // Files modified since the index was written may be "racily clean".
            || now.is_racy(self.index.timestamp(), self.rules.stat)
            // git marks racily clean entries by zeroing their size.
            || (entry.stat.size == 0 && !entry.id.is_empty_blob())
    }

    /// An untracked path: hashed (files), entered (directories) or skipped (ignored).
    fn untracked(&mut self, found: &Found<'_>, subdirs: &mut Vec<Job>) -> Result<(), RepoError> {
        // A file system that does not say what an entry is (`DT_UNKNOWN`) is asked.
        let kind = match found.kind {
            FileType::Unknown => match found.stat()? {
                Some(stat) => FileType::from_raw_mode(stat.st_mode),
                None => return Ok(()), // gone since the directory was read
            },
            kind => kind,
        };
        let is_dir = match kind {
            FileType::Directory => true,
            FileType::RegularFile | FileType::Symlink => false,
            _ => return Ok(()), // sockets, fifos and devices cannot be tracked
        };
        let path = found.path();
        if self.is_ignored(path.as_bstr(), is_dir)? {
            return Ok(());
        }
        if !is_dir {
            self.out.to_hash.push(path);
        } else {
            subdirs.push(found.subdir(0..0));
        }
        Ok(())
    }

    fn is_ignored(&mut self, path: &BStr, is_dir: bool) -> Result<bool, RepoError> {
        let what = || format!("reading the ignore rules for {}", path.to_str_lossy());
        if self.excludes.is_none() {
            let source =
                gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped;
            let skipped = skipped_files(self.index, b".gitignore");
            self.excludes = Some(self.repo.excludes(&skipped, None, source).context(what)?);
        }
        let excludes = self.excludes.as_mut().expect("created above");
        let mode = if is_dir { Mode::DIR } else { Mode::FILE };
        Ok(excludes
            .at_entry(path, Some(mode))
            .context(what)?
            .is_excluded())
    }

    /// One path that may have changed, judged as the full scan judges it where its walk
    /// reaches it: its index entries (a file's, or everything under a directory), what is on
    /// disk, and for an untracked path the ignore rules of every untracked directory above
    /// it. A directory to walk (new and not ignored) goes to `jobs`.
    fn candidate(
        &mut self,
        workdir: &Path,
        path: &BStr,
        jobs: &mut Vec<Job>,
        memo: &mut Memo,
    ) -> Result<(), RepoError> {
        if path.is_empty()
            || path
                .split(|b| *b == b'/')
                .any(|c| c.is_empty() || c == b".git" || c == b"..")
        {
            return Ok(());
        }
        let file_entries = self.index.entry_range(path);
        let dir_prefix = with_slash(path);
        let dir_entries = self.index.prefixed_entries_range(dir_prefix.as_bstr());
        let gone = |worker: &mut Self| {
            if let Some(e) = file_entries.clone() {
                worker.removed(e);
            }
            if let Some(e) = dir_entries.clone() {
                worker.removed(e);
            }
        };
        let (parent, name) = match path.rfind_byte(b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        // What stands above it: a directory git does not walk into makes it invisible.
        let mut above = BString::default();
        for part in parent.split(|b| *b == b'/').filter(|p| !p.is_empty()) {
            if !above.is_empty() {
                above.push(b'/');
            }
            above.extend_from_slice(part);
            let verdict = match memo.above.get(&above) {
                Some(known) => *known,
                None => {
                    let verdict = self.above(workdir, &above, memo)?;
                    memo.above.insert(above.clone(), verdict);
                    verdict
                }
            };
            match verdict {
                Above::Walk => continue,
                Above::Stop => return Ok(()),
                Above::Gone => {
                    gone(self);
                    return Ok(());
                }
            }
        }
        let parent_path = workdir.join(std::ffi::OsStr::from_bytes(parent));
        let dir = match memo.open.get(parent) {
            Some(dir) => dir.clone(),
            None => match open_real_dir(workdir, parent, memo)? {
                Some(dir) => {
                    let dir = Arc::new(dir);
                    memo.open.insert(BString::from(parent), dir.clone());
                    dir
                }
                None => {
                    gone(self);
                    return Ok(());
                }
            },
        };
        let job = Job {
            place: Place::Root(parent_path),
            prefix: with_slash(parent),
            entries: 0..0,
        };
        let c_name = CString::new(name.to_vec()).map_err(|_| {
            io_failure(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in a name"),
            )
        })?;
        let mut found = Found {
            job: &job,
            dir: &dir,
            name: name.as_bstr(),
            c_name: &c_name,
            kind: FileType::Unknown,
            known: None,
        };
        let Some(stat) = found.stat()? else {
            gone(self);
            return Ok(());
        };
        found.kind = FileType::from_raw_mode(stat.st_mode);
        found.known = Some(stat);
        if matches!(found.kind, FileType::RegularFile | FileType::Symlink) {
            self.out
                .stamps
                .insert(path.to_owned(), Stamp::from_stat(&stat));
        }
        match (file_entries, dir_entries) {
            (Some(entries), _) => self.tracked_file(&found, entries, jobs),
            // A tracked directory still a directory: what changed in it is listed itself.
            (None, Some(_)) if found.kind == FileType::Directory => Ok(()),
            (None, Some(entries)) => {
                self.removed(entries);
                self.untracked(&found, jobs)
            }
            (None, None) => self.untracked(&found, jobs),
        }
    }

    /// Whether a walk from the root gets into directory `dir` (every directory down to it,
    /// itself included, judged as [`Self::above`] does); what stands in the way is listed
    /// as the walk would list it.
    fn reaches(&mut self, workdir: &Path, dir: &BStr, memo: &mut Memo) -> Result<bool, RepoError> {
        if dir
            .split(|b| *b == b'/')
            .any(|c| c.is_empty() || c == b".git" || c == b"..")
        {
            return Ok(false);
        }
        let mut above = BString::default();
        for part in dir.split(|b| *b == b'/') {
            if !above.is_empty() {
                above.push(b'/');
            }
            above.extend_from_slice(part);
            let verdict = match memo.above.get(&above) {
                Some(known) => *known,
                None => {
                    let verdict = self.above(workdir, &above, memo)?;
                    memo.above.insert(above.clone(), verdict);
                    verdict
                }
            };
            match verdict {
                Above::Walk => continue,
                Above::Stop => return Ok(false),
                // Gone: the walk's own check below says what was there.
                Above::Gone => return Ok(true),
            }
        }
        Ok(true)
    }

    /// What a directory above a candidate means for it: walked into (tracked, or untracked
    /// and neither ignored nor a repository), a stop (ignored, or a nested repository or
    /// submodule, which is listed itself), or gone (not a directory any more).
    fn above(
        &mut self,
        workdir: &Path,
        above: &BString,
        memo: &mut Memo,
    ) -> Result<Above, RepoError> {
        let as_dir = with_slash(above);
        let tracked_dir = self
            .index
            .prefixed_entries_range(as_dir.as_bstr())
            .is_some();
        if let Some(range) = self.index.entry_range(above.as_bstr()) {
            // A file or a submodule of the index stands where a directory is wanted.
            let entry = &self.index.entries()[range.start];
            if entry.mode == Mode::COMMIT {
                if self.is_repository(&as_dir) {
                    self.out.to_hash.push(above.clone());
                }
                return Ok(Above::Stop);
            }
        }
        if tracked_dir {
            return Ok(Above::Walk);
        }
        if !is_real_dir_memo(workdir, above, &mut memo.dirs) {
            return Ok(Above::Gone);
        }
        if self.is_ignored(above.as_bstr(), true)? {
            return Ok(Above::Stop);
        }
        if self.is_repository(&as_dir) {
            self.out.to_hash.push(above.clone());
            return Ok(Above::Stop);
        }
        Ok(Above::Walk)
    }

    /// Index entries whose files are gone (skip-worktree entries are meant to be absent).
    fn removed(&mut self, entries: std::ops::Range<usize>) {
        let mut last: Option<&BStr> = None;
        for entry in &self.index.entries()[entries] {
            let path = entry.path(self.index);
            if entry.flags.contains(Flags::SKIP_WORKTREE) || last == Some(path) {
                continue;
            }
            last = Some(path);
            self.out.removed.push(path.to_owned());
        }
    }
}

pub fn stat_of(stat: &rustix::fs::Stat) -> Stat {
    use gix::index::entry::stat::Time;
    // Truncations as git does them.
    Stat {
        mtime: Time {
            secs: stat.st_mtime as u32,
            nsecs: stat.st_mtime_nsec as u32,
        },
        ctime: Time {
            secs: stat.st_ctime as u32,
            nsecs: stat.st_ctime_nsec as u32,
        },
        dev: stat.st_dev as u32,
        ino: stat.st_ino as u32,
        uid: stat.st_uid,
        gid: stat.st_gid,
        size: stat.st_size as u32,
    }
}

/// The names in a directory (`.` and `..` left out), each with its type as the directory
/// reports it (possibly [`FileType::Unknown`]), in one buffer: a 100,000-file worktree would
/// otherwise cost as many allocations.
struct Names {
    /// Each name followed by its NUL, ready for the system calls.
    bytes: Vec<u8>,
    spans: Vec<Span>,
    /// Where the kernel writes directory entries.
    #[cfg(target_os = "linux")]
    buffer: Vec<u8>,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            bytes: Vec::new(),
            spans: Vec::new(),
            #[cfg(target_os = "linux")]
            buffer: Vec::with_capacity(32 * 1024),
        }
    }
}

/// One name in [`Names::bytes`].
struct Span {
    /// The name's first 8 bytes as a big-endian number (zero-padded: names hold no NUL), so
    /// that sorting compares numbers and only looks at the bytes on a tie.
    key: u64,
    start: usize,
    /// Where the NUL is.
    end: usize,
    kind: FileType,
}

fn push_name(bytes: &mut Vec<u8>, spans: &mut Vec<Span>, name: &[u8], kind: FileType) {
    if name == b"." || name == b".." {
        return;
    }
    let mut key = [0u8; 8];
    let head = name.len().min(8);
    key[..head].copy_from_slice(&name[..head]);
    let start = bytes.len();
    bytes.extend_from_slice(name);
    spans.push(Span {
        key: u64::from_be_bytes(key),
        start,
        end: bytes.len(),
        kind,
    });
    bytes.push(0);
}

impl Names {
    fn read(&mut self, dir: &OwnedFd) -> std::io::Result<()> {
        self.bytes.clear();
        self.spans.clear();
        #[cfg(target_os = "linux")]
        {
            // getdents64 into one reused buffer: rustix's `Dir` allocates per name.
            let mut entries = rustix::fs::RawDir::new(dir, self.buffer.spare_capacity_mut());
            while let Some(entry) = entries.next() {
                let entry = entry?;
                push_name(
                    &mut self.bytes,
                    &mut self.spans,
                    entry.file_name().to_bytes(),
                    entry.file_type(),
                );
            }
        }
        #[cfg(not(target_os = "linux"))]
        for entry in Dir::read_from(dir)? {
            let entry = entry?;
            push_name(
                &mut self.bytes,
                &mut self.spans,
                entry.file_name().to_bytes(),
                entry.file_type(),
            );
        }
        if crate::fault::entry_types_hidden() {
            for span in &mut self.spans {
                span.kind = FileType::Unknown;
            }
        }
        let bytes = &self.bytes;
        self.spans.sort_unstable_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then_with(|| bytes[a.start..a.end].cmp(&bytes[b.start..b.end]))
        });
        Ok(())
    }

    fn name(&self, i: usize) -> &BStr {
        let span = &self.spans[i];
        self.bytes[span.start..span.end].as_bstr()
    }

    fn c_name(&self, i: usize) -> &CStr {
        let span = &self.spans[i];
        CStr::from_bytes_with_nul(&self.bytes[span.start..=span.end]).expect("one NUL, at the end")
    }
}

/// A name found in the directory of a [`Job`].
struct Found<'j> {
    job: &'j Job,
    /// The open directory it is in.
    dir: &'j Arc<OwnedFd>,
    name: &'j BStr,
    c_name: &'j CStr,
    kind: FileType,
    /// Its stat data once taken.
    known: Option<rustix::fs::Stat>,
}

impl Found<'_> {
    fn path(&self) -> BString {
        let mut path = BString::from(Vec::with_capacity(self.job.prefix.len() + self.name.len()));
        path.extend_from_slice(&self.job.prefix);
        path.extend_from_slice(self.name);
        path
    }

    /// Its stat data (not following a symlink), or None when it is gone.
    fn stat(&self) -> Result<Option<rustix::fs::Stat>, RepoError> {
        if let Some(known) = self.known {
            return Ok(Some(known));
        }
        match rustix::fs::statat(self.dir.as_ref(), self.c_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(e) if vanished(&e.into()) => Ok(None),
            Err(e) => Err(io_failure(&self.path(), e.into())),
        }
    }

    /// The job that reads this directory, with the index entries under it.
    fn subdir(&self, entries: std::ops::Range<usize>) -> Job {
        let mut prefix = self.path();
        prefix.push(b'/');
        Job {
            place: Place::In(Arc::clone(self.dir), self.c_name.to_owned()),
            prefix,
            entries,
        }
    }
}

/// Whether an error means the path disappeared or is no longer a directory: the worktree
/// changed while it was read, and the path counts as gone.
fn vanished(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error())
        || e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

fn io_failure(path: &[u8], e: std::io::Error) -> RepoError {
    let path = path.to_str_lossy();
    RepoError::Gix {
        context: format!(
            "reading {} in the worktree",
            if path.is_empty() { "." } else { &path }
        ),
        source: Box::new(e),
    }
}
