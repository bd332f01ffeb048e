//! The index's stat data brought up to date once a scan has read files and found them to hold
//! what the index says, as `git status` does (its opportunistic index update).
//!
//! A checkout writes the files and then the index, most of them in the same second: git's
//! racy-clean rule cannot tell those files from ones written again within that second, so every
//! status after it reads them in full, until a git command writes the index again. In a
//! session worktree just made, that is tens of thousands of files for each scan, until the
//! agent's first `git status` or commit. Once a scan has read them, the index is written again
//! with the stat data they had before they were read; the scans after it look no further.
//!
//! Written as git writes it, and only where nothing can be lost:
//! - under `index.lock`, created exclusively (a git command holding it wins, and the index is
//!   left as it is) once the new index is written beside it, so that it is held for a check
//!   and a rename only; and only while the index file is still the one the scan read and its
//!   checksum holds (the scan does not verify it: a corrupt index is not given a good one);
//! - only by a command run for its own sake (a checkpoint, and what captures the worktree as
//!   one: `push`, `diff --uncommitted`, the checkpoint before a rewind or a removal), never
//!   by one that runs beside the user's git commands, whose lock would make a git command
//!   started meanwhile fail: the git hooks and what they start, the live view
//!   ([`leave_optional_locks`]), nor with `GIT_OPTIONAL_LOCKS=0` (what tools that run
//!   `git status` in the background set), nor while git has pointed this process at another
//!   index (`GIT_INDEX_FILE`: inside a hook, that is the index of a commit under way);
//! - only an index gix writes back whole: version 2, with no extension but the cached trees
//!   and the end-of-entries marker (a split index, resolve-undo records, an untracked or
//!   monitor cache are left alone), a checksum, no conflict, and no entry git was told to
//!   pass by (intent-to-add, skip-worktree, assume-unchanged);
//! - an entry takes the stat data of its file only when the file was last changed a second
//!   before the scan began, by the file system's clock (a write in the same second as its
//!   stat would not change the seconds git compares); every other entry git would have
//!   judged racily clean is marked as git marks such entries (size 0), so it is read again;
//! - only when it pays: writing 100,000 entries costs about what reading a few thousand small
//!   files does, and not when the file-system monitor answers for the worktree from here on
//!   (its scans look only at what changes; the caller decides).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gix::bstr::BStr;
use gix::index::entry::{Flags, Mode, Stat};

/// Whether a hard link failed here for another reason than a lock in the way (a file
/// system without them): the index is not written again in this process.
static NO_HARD_LINKS: AtomicBool = AtomicBool::new(false);

/// Whether this process leaves git's optional locks alone (see [`leave_optional_locks`]).
static LEAVE_OPTIONAL_LOCKS: AtomicBool = AtomicBool::new(false);

/// From now on this process never writes the index, as `GIT_OPTIONAL_LOCKS=0` asks: for a
/// process that runs beside the user's git commands.
pub fn leave_optional_locks() {
    LEAVE_OPTIONAL_LOCKS.store(true, Ordering::SeqCst);
}

/// At least this many entries are refreshed, and at least one entry in [`FRACTION`]: fewer
/// are cheaper to read again than the whole index is to write.
const AT_LEAST: usize = 1000;
const FRACTION: usize = 16;

/// Writes the index `index` (as read, from its file) again with the stat data of `verified`:
/// files whose content the caller found to be what their entry says, each with the stat data
/// taken before it was read. `started` is when the scan began, before its first `lstat`.
/// The monitor's state about the old index is moved to the new one (the same entries).
/// Anything in the way means it is not written (never an error: the scans after it just
/// read those files again).
pub fn refresh(
    repo: &gix::Repository,
    index: &gix::index::File,
    verified: &[(&BStr, Stat)],
    started: std::time::SystemTime,
) {
    let _ = refresh_index(repo, index, verified, started);
}

fn refresh_index(
    repo: &gix::Repository,
    index: &gix::index::File,
    verified: &[(&BStr, Stat)],
    started: std::time::SystemTime,
) -> Option<()> {
    let dir = index.path().parent()?;
    // What a refresh killed before its rename left (one `readdir`: left where the refresh
    // that would follow it may never come).
    crate::fsutil::sweep_prefixed(dir, TEMP_PREFIX, crate::fsutil::STALE_TEMP);
    if verified.len() < AT_LEAST
        || verified.len() * FRACTION < index.entries().len()
        || LEAVE_OPTIONAL_LOCKS.load(Ordering::SeqCst)
        || NO_HARD_LINKS.load(Ordering::SeqCst)
        || lock_path(index.path()).exists()
        || std::env::var_os("GIT_INDEX_FILE").is_some()
        || std::env::var_os("GIT_OPTIONAL_LOCKS").is_some_and(|v| v == "0" || v == "false")
        || !writable_whole(index)
    {
        return None;
    }
    let state = refreshed(index, verified, started)?;
    let new = write_locked(index, state)?;
    super::fsmonitor::index_refreshed(repo, &super::fsmonitor::index_identity(index), &new);
    Some(())
}

/// Whether gix writes `index` back with nothing lost, and no entry is one a refresh must
/// leave alone.
fn writable_whole(index: &gix::index::File) -> bool {
    use gix::index::Version;
    // Version 3 only for extended flags, which no entry may have here.
    index.version() == Version::V2
        && index.checksum().is_some_and(|c| !c.is_null())
        && !split(index.path())
        && index.resolve_undo().is_none()
        && index.untracked().is_none()
        && index.fs_monitor().is_none()
        && !index.is_sparse()
        && index.entries().iter().all(|e| {
            e.stage_raw() == 0
                && !e
                    .flags
                    .intersects(Flags::INTENT_TO_ADD | Flags::SKIP_WORKTREE | Flags::ASSUME_VALID)
        })
}

/// Whether the index at `path` is split (`core.splitIndex`): gix reads the shared part into
/// it and would write the two back as one. git keeps the shared part beside the index, in a
/// `sharedindex.<id>` file (one may stay a while after the split is undone: then too).
fn split(path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return true;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().any(|e| {
        e.file_name()
            .as_encoded_bytes()
            .starts_with(b"sharedindex.")
    })
}

/// The last second a file may have been changed in for its entry to take its stat data: a
/// second before the one the scan began in, a tick of the file system's clock earlier (it
/// lags the system's clock by up to a tick: 50 ms taken, or 2 s where times carry no
/// nanoseconds), so that a write after the `lstat` changes the seconds git compares.
fn last_settled_second(started: std::time::SystemTime, stat: &Stat) -> Option<u64> {
    let coarse = stat.mtime.nsecs == 0 && stat.ctime.nsecs == 0;
    let tick = std::time::Duration::from_millis(if coarse { 2000 } else { 50 });
    let settled = started.checked_sub(tick)?;
    let secs = settled
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    secs.checked_sub(1)
}

/// The entries of `index` with the stat data of `verified` taken in, and every other entry
/// git would judge racily clean marked; None when nothing would change.
fn refreshed(
    index: &gix::index::File,
    verified: &[(&BStr, Stat)],
    started: std::time::SystemTime,
) -> Option<gix::index::State> {
    let options = gix::index::entry::stat::Options::default();
    let timestamp = index.timestamp();
    let mut state: gix::index::State = (**index).clone();
    // Every entry racily clean as of the old index's time would no longer be once the index
    // is written later: marked as git marks them, so it is read again (unless verified below).
    for entry in state.entries_mut() {
        if entry.mode != Mode::COMMIT
            && entry.stat.is_racy(timestamp, options)
            && !entry.id.is_empty_blob()
        {
            entry.stat.size = 0;
        }
    }
    let mut changed = 0usize;
    for (path, stat) in verified {
        // Changed too late: a write after the `lstat`, in the same second, would leave the
        // seconds git compares as they are.
        let Some(last) = last_settled_second(started, stat) else {
            continue;
        };
        if u64::from(stat.mtime.secs) > last || u64::from(stat.ctime.secs) > last {
            continue;
        }
        let Ok(pos) = state.entry_index_by_path(path) else {
            continue;
        };
        let entry = &mut state.entries_mut()[pos];
        if matches!(
            entry.mode,
            Mode::FILE | Mode::FILE_EXECUTABLE | Mode::SYMLINK
        ) {
            entry.stat = *stat;
            changed += 1;
        }
    }
    (changed > 0).then_some(state)
}

/// What the new index is written as, beside the index, before it takes the index's place.
const TEMP_PREFIX: &str = "index.git-session-";

/// Writes `state` over the index file `index` was read from: the new file's identity, None
/// when git holds `index.lock` or the file changed since it was read. The new index is
/// written aside first and becomes `index.lock` by a hard link, made only when there is
/// none: the lock is held for a check and a rename, not for the writing, so a git-session
/// killed meanwhile leaves a file of its own (swept later), not a lock every git command
/// after stops at.
fn write_locked(index: &gix::index::File, state: gix::index::State) -> Option<String> {
    let path = index.path();
    let dir = path.parent()?;
    let hash_len = index.object_hash().len_in_bytes();
    let read = super::fsmonitor::index_identity(index);
    // Whole: the scan did not verify its checksum, and a corrupt index must not be given a
    // good one. (A file put in its place since is told by its identity, under the lock.)
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file()
        || super::fsmonitor::index_file_identity(path, hash_len).as_ref() != Some(&read)
        || index.verify_integrity().is_err()
    {
        return None;
    }
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .ok()?;
    // The index's own permissions (a shared repository's group may need to read it).
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .ok()?;
    let new = gix::index::File::from_state(state, path.to_owned());
    let mut out = std::io::BufWriter::with_capacity(1 << 20, temp.as_file());
    let options = gix::index::write::Options {
        extensions: gix::index::write::Extensions::Given {
            tree_cache: true,
            end_of_index_entry: index.had_end_of_index_marker(),
        },
        skip_hash: false,
    };
    let (version, _) = new.write_to(&mut out, options).ok()?;
    out.flush().ok()?;
    drop(out);
    if version != index.version() {
        return None;
    }
    // The rename keeps the file's time: this is the identity the index has once in place.
    let written = super::fsmonitor::index_file_identity(temp.path(), hash_len)?;
    let lock_path = lock_path(path);
    // Ctrl-C while the lock is held would leave it behind for every git command after.
    let _held = crate::signals::Held::new();
    if let Err(e) = std::fs::hard_link(temp.path(), &lock_path) {
        // A network file system may say the name exists when a retried link made it.
        let ours = |p: &Path| {
            std::fs::symlink_metadata(p)
                .map(|m| (m.dev(), m.ino()))
                .ok()
        };
        if e.kind() == std::io::ErrorKind::AlreadyExists
            && let Some(lock) = ours(&lock_path)
            && Some(lock) == ours(temp.path())
        {
            let _ = std::fs::remove_file(&lock_path);
        } else if e.kind() != std::io::ErrorKind::AlreadyExists {
            NO_HARD_LINKS.store(true, Ordering::SeqCst);
        }
        return None;
    }
    let lock = Lock(&lock_path);
    // Still the file the scan read, now that no git command can write it.
    if super::fsmonitor::index_file_identity(path, hash_len).as_ref() != Some(&read) {
        return None;
    }
    std::fs::rename(&lock_path, path).ok()?;
    std::mem::forget(lock);
    // (The temporary name goes with `temp`; the file stays, as the index.)
    Some(written)
}

/// The lock git takes to write the index at `path`.
fn lock_path(path: &Path) -> std::path::PathBuf {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    std::path::PathBuf::from(lock)
}

/// Removes the lock file unless it became the index.
struct Lock<'a>(&'a Path);

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}
