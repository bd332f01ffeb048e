//! Creating, moving and removing linked worktrees. These run the user's own `git` (hooks,
//! LFS, sparse checkout and locks apply, which gix's versions skip), through the one runner;
//! a forced removal deletes the files itself, only those its last checkpoint could hold
//! ([`remove_captured`]), and leaves git's record of the worktree to git.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::git::{GitError, ObjectId, Repo, RepoError, git, git_root};

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("{} already exists", path.display())]
    PathTaken { path: PathBuf },
    #[error("this repository is bare; worktrees need a working tree to run git in")]
    Bare,
    #[error("branch '{branch}' already exists")]
    BranchExists { branch: String },
    #[error("could not update {}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A removal stopped after it began deleting: the worktree must not be put back.
    #[error("the removal of {} stopped part-way ({reason}); its work is checkpointed{}", path.display(), kept.as_ref().map(|k| format!(", and what was written since is in {}", k.display())).unwrap_or_default())]
    PartRemoved {
        path: PathBuf,
        kept: Option<PathBuf>,
        reason: String,
    },
}

/// What a new worktree starts from.
#[derive(Debug, Clone)]
pub enum Start {
    /// Create `branch` at this commit.
    NewBranch { branch: String, at: ObjectId },
    /// Check out an existing local branch.
    ExistingBranch { branch: String },
}

/// `git worktree add` of `path` (run from the main worktree).
pub fn add(repo: &Repo, path: &Path, start: &Start) -> Result<(), WorktreeError> {
    if path.exists()
        && fs::read_dir(path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(WorktreeError::PathTaken {
            path: path.to_owned(),
        });
    }
    let cmd = git(git_dir_of(repo)?).args(["worktree", "add", "--quiet"]);
    let cmd = match start {
        Start::NewBranch { branch, at } => cmd
            .arg("-b")
            .arg(branch)
            .arg("--")
            .arg(path)
            .arg(at.to_string()),
        Start::ExistingBranch { branch } => cmd.arg("--").arg(path).arg(branch),
    };
    serialized(repo, || cmd.run())?;
    Ok(())
}

/// Where to run `git worktree …` for `repo`: any of its worktrees will do.
fn git_dir_of(repo: &Repo) -> Result<PathBuf, WorktreeError> {
    repo.workdir().ok_or(WorktreeError::Bare)
}

/// Runs `f` while holding `$GIT_COMMON_DIR/session/worktrees.lock`. Concurrent
/// `git worktree add`s race in git itself (one reads the other's half-written
/// `.git/worktrees/<id>/`), so git-session never runs two at once in one repository.
pub(crate) fn serialized<T>(repo: &Repo, f: impl FnOnce() -> T) -> T {
    let common_dir = repo.common_dir();
    let lock = fs::create_dir_all(common_dir.join("session")).and_then(|_| {
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(common_dir.join("session/worktrees.lock"))
    });
    // Without a lock file (read-only git dir), run anyway: git fails cleanly if it must.
    let _guard = lock.ok().filter(|file| file.lock().is_ok());
    f()
}

/// `git worktree remove`. Without `force`, git checks once more that nothing would be lost
/// (an agent may have written since we looked) and refuses otherwise; with `force`, callers
/// take a safety checkpoint first.
pub fn remove(repo: &Repo, path: &Path, force: bool) -> Result<(), WorktreeError> {
    // Its refusals are recognized by their words below: untranslated.
    let cmd = git(git_dir_of(repo)?)
        .env("LC_ALL", "C")
        .args(["worktree", "remove"]);
    let cmd = if force { cmd.arg("--force") } else { cmd };
    let cmd = cmd.arg("--").arg(path);
    crate::git::fsmonitor::forget(&repo.common_dir(), path);
    let marker = admin_of(repo, path)?.map(|admin| admin.join(REMOVING_MARKER));
    if let Some(marker) = &marker {
        let _ = fs::write(marker, b"");
    }
    let removed = serialized(repo, || cmd.run());
    if let (Err(GitError::Failed { stderr, .. }), Some(marker)) = (&removed, &marker) {
        // git refused before deleting anything (work in it without --force, a lock): the
        // worktree is whole. Any other failure may have come part-way: the marker stays.
        if stderr.contains("--force") || stderr.contains("locked") {
            let _ = fs::remove_file(marker);
        }
    }
    removed?;
    Ok(())
}

/// The clock of the file system a directory is on, read as it stamps a file changed now
/// (its ctime, which no call can set back). Read just before a capture: a file changed after
/// the capture began is stamped later than this, a file the capture could not have missed
/// earlier ([`remove_captured`]).
#[derive(Debug, Clone, Copy)]
pub struct FileClock {
    stamp: (i64, i64),
    /// The machine's clocks when it was read: a wall clock set back since (the kernel
    /// stamps ctime from it) makes every stamp untrustworthy.
    wall: std::time::SystemTime,
    steady: std::time::Instant,
}

impl FileClock {
    /// The clock of the file system `dir` is on (read through a file made beside it, never
    /// in it: killed meanwhile, no file of ours is left in the work), once it has moved on
    /// from the tick it was in: a file changed in that tick, before this returned, is stamped
    /// earlier than what it returns. None when no file can be made there (or the clock stands
    /// still for 2.1 s: one whose stamps are not even whole seconds).
    pub fn read(dir: &Path) -> Option<FileClock> {
        let beside = dir.parent().filter(|p| !p.as_os_str().is_empty())?;
        let stamp = || -> Option<(i64, i64)> {
            use std::os::unix::fs::MetadataExt;
            let probe = tempfile::Builder::new()
                .prefix(".git-session-clock-")
                .tempfile_in(beside)
                .ok()?;
            let meta = probe.as_file().metadata().ok()?;
            Some((meta.ctime(), meta.ctime_nsec()))
        };
        let first = stamp()?;
        // A tick is 1–10 ms on Linux; FAT and some network file systems stamp whole (or even)
        // seconds, and are waited for all the same.
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(2100) {
            let pause = if started.elapsed() < std::time::Duration::from_millis(50) {
                1
            } else {
                50
            };
            std::thread::sleep(std::time::Duration::from_millis(pause));
            let now = stamp()?;
            if now > first {
                return Some(FileClock {
                    stamp: now,
                    wall: std::time::SystemTime::now(),
                    steady: std::time::Instant::now(),
                });
            }
        }
        None
    }

    /// Whether the wall clock went back since this was read (by more than a second's
    /// slack): files changed since may carry stamps from before it.
    fn set_back(&self) -> bool {
        let steady = self.steady.elapsed();
        let wall = std::time::SystemTime::now()
            .duration_since(self.wall)
            .unwrap_or_default();
        wall + std::time::Duration::from_secs(1) < steady
    }
}

/// What [`remove_captured`] kept.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Kept {
    /// Where the files it did not delete went (`<home>.written-during-removal`).
    pub dir: Option<PathBuf>,
    /// Files changed after the capture began.
    pub newer: usize,
    /// Files (or directories) it could not delete, and why, for the first one (its path
    /// relative to `dir`).
    pub stuck: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_stuck: Option<String>,
}

impl Kept {
    /// Counts `what` as not deletable (the first one named, with `why`). Always false: it
    /// is not gone.
    fn stuck_at(&mut self, what: &Path, why: String) -> bool {
        self.stuck += 1;
        self.first_stuck
            .get_or_insert_with(|| format!("{}: {why}", what.display()));
        false
    }
}

/// Removes the linked worktree at `path` (moved aside, its work just checkpointed), deleting
/// only files last changed before `captured` (read before that checkpoint's capture began):
/// a process still working in it (its current directory followed the move) may have written
/// since, and what it wrote is in no checkpoint. Those files, and any that could not be
/// deleted, are kept, moved with their directories to `<home>.written-during-removal` (or
/// `…-2`, …; `home` the worktree's own path). git's record of the worktree goes once its
/// directory is gone (`git worktree remove` of a path that is no more). Nothing is deleted
/// before git's record carries the clock ([`finish_marked`] finishes from it, killed
/// part-way); once deleting has begun, a failure is [`WorktreeError::PartRemoved`]: the
/// worktree must not be put back.
pub fn remove_captured(
    repo: &Repo,
    path: &Path,
    home: &Path,
    captured: FileClock,
) -> Result<Kept, WorktreeError> {
    let io = |source| WorktreeError::Io {
        path: path.to_owned(),
        source,
    };
    crate::git::fsmonitor::forget(&repo.common_dir(), path);
    if captured.set_back() {
        return Err(io(std::io::Error::other(
            "the clock was set back since the checkpoint began: nothing deleted",
        )));
    }
    // Killed from here on, the worktree is known to be part-deleted (`aside_is_whole`), and
    // by what clock.
    let admin = admin_of(repo, path)?
        .ok_or_else(|| io(std::io::Error::other("git lists no worktree there")))?;
    let (secs, nanos) = captured.stamp;
    fs::write(admin.join(REMOVING_MARKER), format!("{secs} {nanos}\n")).map_err(io)?;
    crate::fault::point("removal-marked");
    finish_marked(repo, path, home, captured.stamp)
}

/// The clock a removal killed part-way had read, from its mark in git's record of the
/// worktree at `aside`; None when it was git's removal (no clock) or there is no mark.
pub fn marked_clock(repo: &Repo, aside: &Path) -> Option<(i64, i64)> {
    let admin = admin_of(repo, aside).ok()??;
    let text = crate::fsutil::read_regular(&admin.join(REMOVING_MARKER), 64)?;
    let text = String::from_utf8(text).ok()?;
    let (secs, nanos) = text.trim().split_once(' ')?;
    Some((secs.parse().ok()?, nanos.parse().ok()?))
}

/// The deleting half of [`remove_captured`], under its mark; also how a removal killed
/// part-way is finished from the clock it had marked ([`marked_clock`]): what was changed
/// before it goes, the rest is kept.
pub fn finish_marked(
    repo: &Repo,
    path: &Path,
    home: &Path,
    stamp: (i64, i64),
) -> Result<Kept, WorktreeError> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use std::os::fd::AsFd;
    let part = |reason: String, kept: Option<PathBuf>| WorktreeError::PartRemoved {
        path: path.to_owned(),
        kept,
        reason,
    };
    let top = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| part(e.to_string(), None))?;
    let mut kept = Kept::default();
    // Paths below the top, as they are named once kept.
    sweep(top.as_fd(), Path::new(""), stamp, &mut kept, true);
    crate::fault::point("removal-swept");
    // The `.git` file last, and only a file (or a link) of that name: a directory put
    // there is someone's, and kept.
    let link = match rustix::fs::statat(&top, ".git", AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
            kept.newer += 1;
            None
        }
        Ok(_) => {
            let link = crate::fsutil::read_regular(&path.join(".git"), 64 << 10);
            rustix::fs::unlinkat(&top, ".git", AtFlags::empty())
                .map_err(|e| part(e.to_string(), None))?;
            link
        }
        Err(_) => None,
    };
    if fs::remove_dir(path).is_err() {
        let parent = home.parent().unwrap_or(Path::new("."));
        let name = home.file_name().unwrap_or_default().to_string_lossy();
        let free = (1..1000)
            .map(|n| match n {
                1 => parent.join(format!("{name}{KEPT_SUFFIX}")),
                n => parent.join(format!("{name}{KEPT_SUFFIX}-{n}")),
            })
            .find(|p| fs::symlink_metadata(p).is_err());
        match free.map(|dir| fs::rename(path, &dir).map(|()| dir)) {
            Some(Ok(dir)) => {
                // Something made after the sweep read its directory is there too.
                kept.newer = kept.newer.max(usize::from(kept.stuck == 0));
                kept.dir = Some(dir);
            }
            failed => {
                // Left aside, part-deleted and marked: `doctor --fix` finishes it.
                if let Some(link) = &link
                    && let Ok(fd) = rustix::fs::openat(
                        &top,
                        ".git",
                        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
                        Mode::from_raw_mode(0o644),
                    )
                {
                    use std::io::Write;
                    let _ = fs::File::from(fd).write_all(link);
                }
                return Err(part(
                    match failed {
                        Some(Err(e)) => e.to_string(),
                        _ => "no name free to keep its files under".into(),
                    },
                    None,
                ));
            }
        }
    }
    crate::fault::point("removal-kept");
    let cmd = git(git_dir_of(repo)?)
        .args(["worktree", "remove", "--"])
        .arg(path);
    serialized(repo, || cmd.run()).map_err(|e| part(e.to_string(), kept.dir.clone()))?;
    Ok(kept)
}

/// What the directory a removal keeps files in is named after the worktree's
/// (`<name>.written-during-removal`, then `-2`, `-3`, …).
const KEPT_SUFFIX: &str = ".written-during-removal";

/// Whether `name` is that of a directory a removal kept files in ([`KEPT_SUFFIX`]).
pub fn is_kept_files_dir(name: &str) -> bool {
    name.rsplit_once(KEPT_SUFFIX).is_some_and(|(home, n)| {
        !home.is_empty()
            && (n.is_empty()
                || n.strip_prefix('-')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    })
}

/// Deletes what is below the directory `dir` (open, at `shown`) and was last changed before
/// `captured`, and the directories that empties, working through directory handles: a
/// directory swapped for a symlink meanwhile is never followed. Never enters another file
/// system, never deletes the top's `.git`. Whether `dir` was emptied.
fn sweep(
    dir: std::os::fd::BorrowedFd<'_>,
    shown: &Path,
    captured: (i64, i64),
    kept: &mut Kept,
    top: bool,
) -> bool {
    use rustix::fs::{AtFlags, Dir, FileType};
    let Ok(device) = rustix::fs::fstat(dir).map(|s| s.st_dev) else {
        return kept.stuck_at(shown, "cannot be read".into());
    };
    let names: Vec<std::ffi::CString> = match Dir::read_from(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_owned())
            .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
            .collect(),
        Err(e) => return kept.stuck_at(shown, e.to_string()),
    };
    let mut emptied = true;
    for name in names {
        if top && name.as_bytes() == b".git" {
            continue;
        }
        let path = shown.join(std::ffi::OsStr::from_bytes(name.as_bytes()));
        let Ok(stat) = rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue; // gone already
        };
        let gone = if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            if stat.st_dev == device {
                sweep_subdir(dir, &name, &path, captured, kept)
            } else {
                kept.stuck_at(&path, "another file system is mounted there".into())
            }
        } else if stat_before(&stat, captured) {
            match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => true,
                Err(e) => kept.stuck_at(&path, e.to_string()),
            }
        } else {
            kept.newer += 1;
            false
        };
        emptied &= gone;
    }
    emptied
}

/// [`sweep`] of the directory `name` in `dir` (at `path`), then the directory itself when
/// that emptied it. Whether it is gone.
fn sweep_subdir(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
    path: &Path,
    captured: (i64, i64),
    kept: &mut Kept,
) -> bool {
    use rustix::fs::{AtFlags, Mode, OFlags};
    use rustix::io::Errno;
    use std::os::fd::AsFd;
    let sub = match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(sub) => sub,
        // Swapped for something else (a link, a file) since it was looked at: changed
        // after the capture, kept.
        Err(Errno::NOTDIR | Errno::LOOP) => {
            kept.newer += 1;
            return false;
        }
        Err(e) => return kept.stuck_at(path, e.to_string()),
    };
    if !sweep(sub.as_fd(), path, captured, kept, false) {
        return false;
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) => true,
        // Not empty: something was made in it since it was read.
        Err(Errno::NOTEMPTY) => {
            kept.newer += 1;
            false
        }
        Err(e) => kept.stuck_at(path, e.to_string()),
    }
}

/// Whether what `statat` said of a file was last changed before `captured`.
fn stat_before(stat: &rustix::fs::Stat, captured: (i64, i64)) -> bool {
    (
        stat.st_ctime,
        i64::try_from(stat.st_ctime_nsec).unwrap_or(i64::MAX),
    ) < captured
}

/// The administrative directory of the linked worktree at `path`, when git lists one there.
fn admin_of(repo: &Repo, path: &Path) -> Result<Option<PathBuf>, WorktreeError> {
    let wanted = crate::git::canonical(path);
    Ok(repo
        .linked_worktrees()?
        .into_iter()
        .find(|w| w.path == wanted)
        .map(|w| w.git_dir))
}

/// Why git has the linked worktree at `path` locked (`git worktree lock`, or the
/// `initializing` lock of a `git worktree add` that did not finish); None when it is not.
/// git refuses to move or remove a locked worktree, even forced once.
pub fn lock_reason(repo: &Repo, path: &Path) -> Result<Option<String>, WorktreeError> {
    let wanted = crate::git::canonical(path);
    let Some(info) = repo
        .linked_worktrees()?
        .into_iter()
        .find(|w| w.path == wanted)
    else {
        return Ok(None);
    };
    Ok(fs::read_to_string(info.git_dir.join("locked"))
        .ok()
        .map(|reason| match reason.trim() {
            "" => "no reason given".to_owned(),
            reason => crate::text::escape(reason),
        }))
}

/// `git worktree move`.
pub fn move_to(repo: &Repo, from: &Path, to: &Path) -> Result<(), WorktreeError> {
    if to.exists() {
        return Err(WorktreeError::PathTaken {
            path: to.to_owned(),
        });
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|source| WorktreeError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    let cmd = git(git_dir_of(repo)?)
        .args(["worktree", "move", "--"])
        .arg(from)
        .arg(to);
    crate::git::fsmonitor::forget(&repo.common_dir(), from);
    serialized(repo, || cmd.run())?;
    crate::git::fsmonitor::watch_new(repo.gix(), to);
    Ok(())
}

/// Moves a linked worktree about to be removed aside, beside where it is (the same file
/// system: one rename), with `git worktree move`; None when git cannot (it is then removed
/// where it is). Nothing watches the new place.
pub fn move_aside(repo: &Repo, path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    let name = path.file_name()?.to_string_lossy().into_owned();
    let aside = (0..100)
        .map(|n| parent.join(format!(".{name}.removing-{}-{n}", std::process::id())))
        .find(|p| fs::symlink_metadata(p).is_err())?;
    // A marker an earlier removal that failed left: this worktree is whole now.
    let wanted = crate::git::canonical(path);
    if let Some(info) = repo
        .linked_worktrees()
        .ok()?
        .into_iter()
        .find(|w| w.path == wanted)
    {
        let _ = fs::remove_file(info.git_dir.join(REMOVING_MARKER));
    }
    let cmd = git(git_dir_of(repo).ok()?)
        .args(["worktree", "move", "--"])
        .arg(path)
        .arg(&aside);
    serialized(repo, || cmd.run()).ok()?;
    crate::git::fsmonitor::forget(&repo.common_dir(), path);
    Some(aside)
}

/// What removals of the worktree at `path` that were killed after [`move_aside`] left beside
/// it (`.<name>.removing-<pid>-<n>`): a worktree still whole, or (its `.git` file gone) what
/// `git worktree remove` had not deleted yet.
pub fn set_aside(path: &Path) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!(".{}.removing-", name.to_string_lossy());
    // Exactly `<pid>-<n>` after it: another session's name may begin with this one's
    // (`api` and `api.removing-v1`).
    let ours = |file: &std::ffi::OsStr| {
        let file = file.to_string_lossy();
        file.strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(pid, n)| {
                [pid, n]
                    .iter()
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    let mut out: Vec<PathBuf> = fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| ours(&e.file_name()))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Whether `path` is where [`move_aside`] puts a worktree (`.<name>.removing-<pid>-<n>`):
/// never a session's worktree, whatever branch it has checked out.
pub fn is_set_aside(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    rest.rsplit_once(".removing-")
        .and_then(|(_, tail)| tail.split_once('-'))
        .is_some_and(|(pid, n)| {
            [pid, n]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Every worktree killed removals or syncs of a session left aside: beside its recorded
/// place (`recorded`, whole or not), and any linked worktree set aside elsewhere with its
/// `branch` checked out (the user may have moved the worktree with `git worktree move`).
pub fn asides_of(
    worktrees: &[crate::git::WorktreeInfo],
    recorded: Option<&Path>,
    branch: &str,
) -> Vec<PathBuf> {
    let mut out = recorded.map(set_aside).unwrap_or_default();
    for w in worktrees {
        if w.exists
            && is_set_aside(&w.path)
            && !out.iter().any(|a| crate::git::canonical(a) == w.path)
            && checked_out_branch(&w.git_dir).as_deref() == Some(branch)
        {
            out.push(w.path.clone());
        }
    }
    out
}

/// Where a worktree [`move_aside`] moved belongs: `<dir>/.<name>.removing-<pid>-<n>` came
/// from `<dir>/<name>` (for one beside a session's recorded worktree, that worktree's path).
pub fn home_of_aside(aside: &Path) -> Option<PathBuf> {
    if !is_set_aside(aside) {
        return None;
    }
    let name = aside.file_name()?.to_string_lossy().into_owned();
    let (home, _) = name.strip_prefix('.')?.rsplit_once(".removing-")?;
    Some(aside.parent()?.join(home))
}

/// Written into a worktree's administrative directory before `git worktree remove` deletes
/// it: a leftover whose `.git` is still there but that carries it may be half deleted (git
/// deletes in directory order, the `.git` file perhaps last).
const REMOVING_MARKER: &str = "git-session-removing";

/// Whether what [`set_aside`] found is a worktree whole: its `.git` is there and no removal
/// had begun deleting it.
pub fn aside_is_whole(aside: &Path) -> bool {
    // Read as a small regular file: a fifo or a device put in its place never hangs us.
    let Some(text) = crate::fsutil::read_regular(&aside.join(".git"), 64 << 10)
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    let Some(admin) = text.trim().strip_prefix("gitdir:") else {
        return false;
    };
    let admin = PathBuf::from(admin.trim());
    let admin = if admin.is_absolute() {
        admin
    } else {
        aside.join(admin)
    };
    admin.is_dir() && !admin.join(REMOVING_MARKER).exists()
}

/// git's record of a linked worktree whose directory is gone (deleted, or moved by hand).
#[derive(Debug, Clone)]
pub struct Missing {
    /// Where the worktree was.
    pub path: PathBuf,
    /// Its private git directory (`.git/worktrees/<id>`): HEAD, index, logs.
    pub git_dir: PathBuf,
}

/// The worktrees with `branch` checked out, or recorded at one of `paths` (a detached HEAD,
/// a rebase under way), whose directories are gone and that are not locked: what
/// `git worktree prune` would drop, for one session only (another worktree's directory may
/// be moved or on an unmounted disk; that is not ours to judge).
pub fn missing_of(
    repo: &Repo,
    branch: &str,
    paths: &[PathBuf],
) -> Result<Vec<Missing>, WorktreeError> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| crate::git::normalize(p)).collect();
    Ok(repo
        .linked_worktrees()?
        .into_iter()
        .filter(|w| !w.exists && !w.git_dir.join("locked").exists())
        .filter(|w| {
            checked_out_branch(&w.git_dir).as_deref() == Some(branch)
                || paths.contains(&crate::git::normalize(&w.path))
        })
        .map(|w| Missing {
            path: w.path,
            git_dir: w.git_dir,
        })
        .collect())
}

/// The commit a missing worktree's HEAD names (its branch's tip, or a detached commit).
pub fn missing_head(repo: &Repo, missing: &Missing) -> Option<ObjectId> {
    let head = fs::read_to_string(missing.git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    match head.strip_prefix("ref: ") {
        Some(name) => repo.read_ref(name).ok().flatten(),
        None => ObjectId::from_hex(head.as_bytes()).ok(),
    }
}

/// The tree of a missing worktree's index (what was staged there), None when it has no
/// index or git cannot write it (unmerged entries, missing objects).
pub fn staged_tree(repo: &Repo, missing: &Missing) -> Option<ObjectId> {
    let index = missing.git_dir.join("index");
    if !index.is_file() {
        return None;
    }
    let out = git(git_dir_of(repo).ok()?)
        .env("GIT_INDEX_FILE", &index)
        .args(["write-tree"])
        .run()
        .ok()?;
    ObjectId::from_hex(out.trim().as_bytes()).ok()
}

/// Drops git's record of a missing worktree (its private git directory), as
/// `git worktree prune` does for it.
pub fn forget(missing: &Missing) -> Result<(), WorktreeError> {
    fs::remove_dir_all(&missing.git_dir).map_err(|source| WorktreeError::Io {
        path: missing.git_dir.clone(),
        source,
    })
}

/// `git branch -m` (it also repoints the HEAD of the worktree that has the branch checked out).
pub fn rename_branch(repo: &Repo, old: &str, new: &str) -> Result<(), WorktreeError> {
    git(git_dir_of(repo)?)
        .args(["branch", "-m", "--", old, new])
        .run()?;
    Ok(())
}

pub fn branch_exists(repo: &Repo, branch: &str) -> Result<bool, WorktreeError> {
    Ok(repo.read_ref(&format!("refs/heads/{branch}"))?.is_some())
}

/// Adds `dir` (when it is inside the main worktree) to `$GIT_COMMON_DIR/info/exclude`, never
/// to a tracked `.gitignore`.
pub fn ensure_excluded(
    common_dir: &Path,
    main_root: &Path,
    dir: &Path,
) -> Result<(), WorktreeError> {
    let main_root = crate::git::canonical(main_root);
    let dir = crate::git::normalize(dir);
    let Ok(rel) = dir.strip_prefix(&main_root) else {
        return Ok(());
    };
    if rel.as_os_str().is_empty() {
        return Ok(());
    }
    use std::os::unix::ffi::OsStrExt;
    let line = String::from_utf8_lossy(&crate::git::gitignore_literal(rel.as_os_str().as_bytes()))
        .into_owned();
    crate::git::exclude::add(common_dir, Some("session worktrees (git-session)"), &[line])
        .map_err(|source| WorktreeError::Io {
            path: crate::git::exclude::path(common_dir),
            source,
        })?;
    Ok(())
}

/// The branch a linked worktree has checked out, from its private `HEAD` file.
pub fn checked_out_branch(git_dir: &Path) -> Option<String> {
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    if let Some(branch) = head.trim().strip_prefix("ref: refs/heads/") {
        return Some(branch.to_owned());
    }
    // HEAD detached by a rebase under way: the branch being rebased is still this
    // worktree's (git refuses to check it out elsewhere too).
    ["rebase-merge", "rebase-apply"].iter().find_map(|dir| {
        fs::read_to_string(git_dir.join(dir).join("head-name"))
            .ok()?
            .trim()
            .strip_prefix("refs/heads/")
            .map(str::to_owned)
    })
}

// ---- bringing work together (land, sync), in one worktree ----------------------------------

/// `git read-tree -m -u <from> <to>` in the worktree at `path`: its index and files go from
/// `from`'s tree to `to`'s as a fast-forward moves them, every other change kept (staged ones
/// too). git refuses, changing nothing, when a local change or an untracked file (an ignored
/// one included: no checkpoint holds those) is in the way. The caller moves the branch.
pub fn move_files(path: &Path, from: ObjectId, to: ObjectId) -> Result<(), WorktreeError> {
    let read_tree = || {
        git_root(path)
            .env("LC_ALL", "C")
            .args(["read-tree", "-m", "-u"])
            .arg(from.to_string())
            .arg(to.to_string())
            .run()
    };
    match read_tree() {
        // A file only touched (its stat data newer than the index's) is not a change, but
        // read-tree calls it "not uptodate" without the refresh `git status` does. It changed
        // nothing: the index is refreshed (a stat of every file, so only then) and it is
        // tried once more; what does differ is left to it to judge.
        Err(GitError::Failed { stderr, .. }) if stderr.contains("not uptodate") => {
            let _ = git_root(path)
                .args(["update-index", "-q", "--refresh"])
                .run();
            read_tree()?;
        }
        other => {
            other?;
        }
    }
    Ok(())
}

/// Fast-forwards `branch`, checked out in the worktree at `path`, to `to`, its files with it,
/// as `git merge --ff-only` does (git moves the branch only from the HEAD it read, and keeps
/// staged and unstaged changes in other files). Faster than [`move_files`] on a large
/// worktree: git stats its files on threads first (`read-tree` stats them one by one as it
/// merges). Everything of the user's that makes a merge do more, or other, than a
/// fast-forward is turned off for it: `branch.<branch>.mergeOptions` (a `--squash` there
/// fills the index and leaves the ref), `pull.twohead` (`ours` makes a merge commit of a
/// fast-forward), `merge.verifySignatures`, `merge.autoStash` (it would move changes in the
/// way aside rather than refuse), every hook (none runs for the rest of a landing either),
/// and the automatic maintenance git starts after a merge, which would outlive it holding
/// what it inherited ([`crate::transaction::Transaction::inheriting_journal_lock`]). Ignored
/// files are never overwritten (`--no-overwrite-ignore`: no checkpoint holds those). git
/// refuses, changing nothing, when a local change or an untracked file is in the way or `to`
/// does not descend from HEAD.
pub fn fast_forward(
    path: &Path,
    branch: &str,
    to: ObjectId,
    reflog: &str,
) -> Result<(), WorktreeError> {
    git_root(path)
        .env("LC_ALL", "C")
        .env("GIT_REFLOG_ACTION", reflog)
        .args(["-c", "core.hooksPath=/dev/null", "-c", "pull.twohead=ort"])
        .args(["-c", "maintenance.auto=false", "-c", "gc.auto=0"])
        .arg("-c")
        .arg(format!("branch.{branch}.mergeOptions="))
        .args([
            "merge",
            "-q",
            "--ff-only",
            "--no-squash",
            "--no-verify-signatures",
        ])
        .args([
            "--no-overwrite-ignore",
            "--no-autostash",
            "--no-stat",
            "--no-edit",
        ])
        .arg(to.to_string())
        .run()?;
    Ok(())
}

/// Commits every change in the worktree at `path` (`git add -A`, `git commit`), as the user
/// would: their hooks run. Returns the new HEAD.
pub fn commit_all(repo: &Repo, path: &Path, message: &str) -> Result<ObjectId, WorktreeError> {
    git_root(path).args(["add", "-A"]).run()?;
    git_root(path)
        .args(["commit", "--quiet", "-m", message])
        .run()?;
    repo.open_worktree(path)?.head_commit()?.ok_or_else(|| {
        WorktreeError::Repo(RepoError::BadRevision {
            spec: "HEAD".into(),
        })
    })
}

/// How a session's branch is brought onto a new base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Integration {
    Rebase,
    Merge,
}

/// Makes the worktree at `path` a clean checkout of its HEAD (tracked files back, untracked
/// ones gone, ignored ones kept): the caller checkpointed it first.
pub fn clean_to_head(path: &Path) -> Result<(), WorktreeError> {
    git_root(path)
        .args(["reset", "--hard", "--quiet", "HEAD"])
        .run()?;
    git_root(path).args(["clean", "-fdq"]).run()?;
    Ok(())
}

/// `git rebase <onto>` (or `git merge --no-edit <onto>`) in the clean worktree at `path`, as
/// the user would run it (their hooks and merge drivers apply). When git stops part-way it is
/// aborted, so nothing is left mid-rebase, and the error says what git said.
pub fn integrate(path: &Path, onto: ObjectId, how: Integration) -> Result<(), WorktreeError> {
    let onto = onto.to_string();
    let (run, abort) = match how {
        Integration::Rebase => (
            git_root(path).args(["rebase", "--quiet", &onto]),
            git_root(path).args(["rebase", "--abort"]),
        ),
        Integration::Merge => (
            git_root(path).args(["merge", "--quiet", "--no-edit", &onto]),
            git_root(path).args(["merge", "--abort"]),
        ),
    };
    if let Err(mut e) = run.run() {
        let _ = abort.run();
        // git's advice for going on with what it stopped (`git rebase --continue`) is moot:
        // it was aborted.
        if let crate::git::GitError::Failed { stderr, .. } = &mut e {
            let said: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim_start().starts_with("hint:"))
                .collect();
            // Unless that was all it said.
            if said.iter().any(|l| !l.trim().is_empty()) {
                *stderr = said.join("\n");
            }
        }
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Only `.<name>.removing-<pid>-<n>` is a leftover of this session's removal: another
    /// session's name may begin with this one's and `.removing-`.
    #[test]
    fn set_aside_finds_only_this_sessions_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            ".api.removing-123-0",
            ".api.removing-v1.removing-77-0",
            ".api.removing-1-2.removing-5-0",
            ".api.removing-9-",
            ".apix.removing-1-0",
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let found: Vec<String> = super::set_aside(&dir.path().join("api"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, [".api.removing-123-0"]);
        assert!(super::is_set_aside(&dir.path().join(".api.removing-123-0")));
        assert!(super::is_set_aside(
            &dir.path().join(".api.removing-v1.removing-77-0")
        ));
        assert!(!super::is_set_aside(&dir.path().join("api.removing-1-0")));
        assert!(!super::is_set_aside(&dir.path().join(".api.removing-9-")));
        assert_eq!(
            super::home_of_aside(&dir.path().join(".api.removing-v1.removing-77-0")),
            Some(dir.path().join("api.removing-v1"))
        );
    }

    /// What changed after the clock was read is kept, with the directories holding it;
    /// what did not is deleted, and the directories that empties.
    #[test]
    fn a_sweep_deletes_only_what_changed_before_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p);
        std::fs::create_dir_all(at("old/deeper")).unwrap();
        std::fs::create_dir_all(at("mixed")).unwrap();
        for p in ["old/deeper/a", "old/b", "mixed/c", "appended", "top"] {
            std::fs::write(at(p), "before\n").unwrap();
        }
        std::fs::write(at(".git"), "gitdir: x\n").unwrap();
        let clock = super::FileClock::read(&at("mixed")).unwrap();
        std::fs::write(at("mixed/new"), "after\n").unwrap();
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(at("appended"))
            .unwrap();
        file.write_all(b"after\n").unwrap();
        let top = std::fs::File::open(dir.path()).unwrap();
        let mut kept = super::Kept::default();
        use std::os::fd::AsFd;
        assert!(!super::sweep(
            top.as_fd(),
            dir.path(),
            clock.stamp,
            &mut kept,
            true
        ));
        assert_eq!((kept.newer, kept.stuck), (2, 0));
        let mut left: Vec<String> = walkdir(dir.path());
        left.sort();
        assert_eq!(left, [".git", "appended", "mixed/new"]);
    }

    fn walkdir(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                out.extend(walkdir(&path).into_iter().map(|p| format!("{name}/{p}")));
            } else {
                out.push(name);
            }
        }
        out
    }
}
