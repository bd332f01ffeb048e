//! Forgotten work: sessions whose worktree holds uncommitted or untracked work nobody has
//! touched for a while. The git hooks warn about them after every commit and checkout, so the
//! signal must be cheap: a full status of every other worktree on 100,000 files costs far more
//! than a commit. It comes from a cache written by the last scan (with its age), which a
//! background process refreshes, checkpointing each forgotten session as it goes.
//!
//! With a file-system monitor answering, the hooks first bring the cache up to date
//! ([`bring_up_to_date`]): a worktree nothing changed in since its scan keeps its entry, one
//! touched lately is not forgotten, one touched long ago is scanned again (O(changes)). What
//! the cache can still miss: work in a worktree whose index changed since its scan, or
//! anything without a monitor (until the next refresh, started by the next hook once the
//! cache is a minute old, or twenty times as old as its scan took), and a scan that failed.
//! A worktree deleted since is dropped when its path is gone. Destructive decisions (end,
//! rm, gc, rewind) never read this cache: they keep their full scan. This module never
//! prints.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::lifecycle::{self, LifecycleError};
use crate::session::{LocalStore, SessionLock, Store};

const CACHE_FILE: &str = "status-cache.json";
/// A cache older than this is refreshed (in the background) by the next hook.
pub const REFRESH_AFTER_SECS: i64 = 60;
/// Or, when its scan took longer than a twentieth of that (no monitor, many large
/// worktrees), older than this many times the scan: the refresh then keeps to about a
/// twentieth of the machine's time.
const REFRESH_COST_FACTOR: i64 = 20;
/// ... but never older than this (one slow scan, on a busy machine, does not put the
/// forgotten-work checkpoints off for long).
const REFRESH_AT_MOST_SECS: i64 = 15 * 60;
/// At most this many sessions are named; the rest are counted.
const MAX_LINES: usize = 5;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Cache {
    /// When the scan ended (seconds since the epoch, this machine's clock).
    pub scanned_at: i64,
    /// How long the refresh that wrote it took, in milliseconds (0: not known).
    #[serde(default)]
    pub took_ms: u64,
    pub sessions: Vec<Entry>,
}

/// One session's worktree as the last scan saw it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub worktree: PathBuf,
    /// Uncommitted and untracked (not ignored) paths.
    pub changed: usize,
    /// The newest modification time among the changed files that exist.
    pub newest_change: Option<i64>,
    /// The checkpoint holding this state, and when it was taken.
    pub checkpoint: Option<String>,
    pub checkpoint_time: Option<i64>,
    /// What the scan is as of, when the file-system monitor can tell whether the worktree
    /// changed since ([`bring_up_to_date`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<crate::git::fsmonitor::Seen>,
}

fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("session").join(CACHE_FILE)
}

pub fn now() -> i64 {
    crate::session::time::now_secs()
}

/// The cache, when there is a readable one.
pub fn load(common_dir: &Path) -> Option<Cache> {
    crate::fsutil::read_json(&path(common_dir))
}

/// Writes the cache (atomically).
pub fn save(common_dir: &Path, cache: &Cache) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(cache).expect("serializes");
    crate::fsutil::write_atomic(&path(common_dir), &bytes, None)
}

/// Whether the next hook should start a refresh: the cache is a minute old, or twenty times
/// as old as its scan took when that is longer (45 worktrees of 100,000 files each take
/// about 9 s to scan without a monitor: one refresh every 3 minutes, not every minute).
pub fn is_stale(cache: Option<&Cache>, now: i64) -> bool {
    cache.is_none_or(|c| {
        let cost = i64::try_from(c.took_ms / 1000).unwrap_or(i64::MAX);
        let after = REFRESH_AFTER_SECS
            .max(cost.saturating_mul(REFRESH_COST_FACTOR))
            .min(REFRESH_AT_MOST_SECS);
        now - c.scanned_at >= after || c.scanned_at > now
    })
}

/// The sessions whose work has sat untouched for at least `interval` seconds, other than the
/// one in `here`, whose worktree still exists.
pub fn forgotten<'c>(
    cache: &'c Cache,
    now: i64,
    interval: i64,
    here: Option<&Path>,
) -> Vec<&'c Entry> {
    cache
        .sessions
        .iter()
        .filter(|e| e.changed > 0)
        .filter(|e| here.is_none_or(|h| !h.starts_with(&e.worktree)))
        .filter(|e| now - e.newest_change.unwrap_or(cache.scanned_at) >= interval)
        .filter(|e| e.worktree.is_dir())
        .collect()
}

/// One line per forgotten session (at most five, then how many more).
pub fn warning_lines(entries: &[&Entry], now: i64) -> Vec<String> {
    let mut lines: Vec<String> = entries
        .iter()
        .take(MAX_LINES)
        .map(|e| {
            let age = e.newest_change.map_or("a while".to_owned(), |t| {
                crate::session::time::human(now - t)
            });
            let safe = match (&e.checkpoint, e.checkpoint_time) {
                (Some(id), Some(t)) => format!(
                    "checkpoint {} holds it ({} ago)",
                    &id[..12.min(id.len())],
                    crate::session::time::human(now - t)
                ),
                _ => "no checkpoint holds it".to_owned(),
            };
            format!(
                "session '{}' has {} uncommitted file(s) untouched for {age}; {safe}: {}",
                crate::text::escape(&e.name),
                e.changed,
                e.worktree.display()
            )
        })
        .collect();
    if entries.len() > MAX_LINES {
        lines.push(format!(
            "… and {} more (git session list)",
            entries.len() - MAX_LINES
        ));
    }
    lines
}

/// Scans every session worktree on this machine, checkpoints each one whose work has sat
/// for `interval` seconds (unless `checkpoint` is off), and writes the cache. One session
/// that cannot be read is left out; the others are still scanned.
pub fn refresh(
    tx: &mut crate::transaction::Transaction<'_>,
    local: &LocalStore,
    interval: i64,
    checkpoint: bool,
) -> Result<Cache, LifecycleError> {
    let started = std::time::Instant::now();
    let repo = tx.repo();
    let store = Store::new(repo);
    let worktrees = repo.linked_worktrees()?;
    let mut sessions = Vec::new();
    for listed in store.list()?.into_iter().flatten() {
        let Some(path) = lifecycle::find_worktree_in(&worktrees, local, &listed) else {
            continue;
        };
        // Being removed, made or rewound right now: the next scan sees how it ends.
        let Some(lock) = SessionLock::try_acquire(&repo.common_dir(), &listed.meta.id) else {
            continue;
        };
        // Half-made by a command that was killed: nobody's work (the next command undoes it).
        if local.get(&listed.meta.id).pending().is_some() {
            continue;
        }
        // As it is now, under the lock: ended, or its worktree gone, means nothing to keep.
        let Ok(session) = store.load(listed.name()) else {
            continue;
        };
        if session.meta.id != listed.meta.id
            || !session.meta.status.is_open()
            || !repo
                .linked_worktrees()
                .is_ok_and(|w| w.iter().any(|w| w.exists && w.path == path))
        {
            continue;
        }
        let Ok(wt) = repo.open_worktree(&path) else {
            continue;
        };
        let Ok((mut entry, changes)) = scan_entry(&wt, &session.meta.id, &session.meta.name, &path)
        else {
            continue;
        };
        let newest_change = entry.newest_change;
        let forgotten = newest_change.is_none_or(|t| now() - t >= interval);
        if checkpoint && !changes.is_empty() && forgotten {
            // One session that cannot be checkpointed (an unreadable file) is still warned
            // about, as holding work no checkpoint has; the others are scanned on.
            let take = crate::ops::checkpoint::Take::new("forgotten work, saved by the git hooks")
                .in_background();
            if let Ok(Some(recorded)) =
                crate::ops::checkpoint::checkpoint_locked(&lock, tx, local, &session, &path, take)
            {
                entry.checkpoint = Some(recorded.id.to_string());
                entry.checkpoint_time = repo.read_commit(recorded.id).ok().map(|c| c.time);
            }
        }
        sessions.push(entry);
    }
    let cache = Cache {
        scanned_at: now(),
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        sessions,
    };
    save(&repo.common_dir(), &cache).map_err(|e| {
        LifecycleError::Repo(crate::git::RepoError::Gix {
            context: "writing the status cache".into(),
            source: e.into(),
        })
    })?;
    Ok(cache)
}

/// One worktree scanned now (no checkpoint taken).
fn scan_entry(
    wt: &crate::git::Repo,
    id: &str,
    name: &str,
    path: &Path,
) -> Result<(Entry, Vec<String>), crate::git::RepoError> {
    let (changes, seen) = wt.changed_paths_seen()?;
    let newest_change = changes
        .iter()
        .filter_map(|rel| fs::symlink_metadata(path.join(rel)).ok()?.modified().ok())
        .filter_map(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .max();
    let entry = Entry {
        id: id.to_owned(),
        name: name.to_owned(),
        worktree: path.to_owned(),
        changed: changes.len(),
        newest_change,
        checkpoint: None,
        checkpoint_time: None,
        seen,
    };
    Ok((entry, changes))
}

/// Brings the cache's entries up to date where the file-system monitor can tell cheaply,
/// so the hooks warn about the worktrees as they are now: an entry whose worktree has not
/// changed since its scan stands; one touched within `interval` is not forgotten (its newest
/// change is now); one touched only before that is scanned again (the monitor makes it
/// O(changes)). Entries it cannot judge (no monitor, another index) stay as the last
/// background scan left them. Returns whether any entry was scanned again.
pub fn bring_up_to_date(
    repo: &crate::git::Repo,
    cache: &mut Cache,
    interval: i64,
    here: Option<&Path>,
) -> bool {
    let now = now();
    let (looked, looks): (Vec<usize>, Vec<_>) = {
        let (looked, asks): (Vec<usize>, Vec<(&Path, &crate::git::fsmonitor::Seen)>) = cache
            .sessions
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| {
                let elsewhere = !here.is_some_and(|h| h.starts_with(&entry.worktree))
                    && entry.worktree.is_dir();
                // Clean at a scan younger than `interval`: whatever was done since is
                // younger too, so it cannot be forgotten yet.
                let may_be_forgotten = entry.changed != 0 || now - cache.scanned_at >= interval;
                let seen = entry
                    .seen
                    .as_ref()
                    .filter(|_| elsewhere && may_be_forgotten)?;
                Some((index, (entry.worktree.as_path(), seen)))
            })
            .unzip();
        if asks.is_empty() {
            return false;
        }
        // A connection and the settings read, made when some session needs a look.
        let Some(mut looker) = crate::git::fsmonitor::Looker::new(repo.gix()) else {
            return false;
        };
        (looked, looker.look_all(&asks))
    };
    let mut rescanned = false;
    for (index, look) in looked.into_iter().zip(looks) {
        let entry = &mut cache.sessions[index];
        use crate::git::fsmonitor::Look;
        match look {
            Look::Unchanged | Look::Unknown => {}
            Look::Touched { newest } => {
                let newest = newest.unwrap_or(now);
                if now - newest < interval {
                    // Worked on lately: not forgotten, whatever it holds.
                    entry.newest_change = Some(newest.max(entry.newest_change.unwrap_or(0)));
                    entry.seen = None;
                    continue;
                }
                let Ok(wt) = repo.open_worktree(&entry.worktree) else {
                    continue;
                };
                if let Ok((fresh, _)) = scan_entry(&wt, &entry.id, &entry.name, &entry.worktree) {
                    // The work changed since any checkpoint the last scan took.
                    *entry = fresh;
                    rescanned = true;
                }
            }
        }
    }
    rescanned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, changed: usize, newest: i64) -> Entry {
        Entry {
            id: name.into(),
            name: name.into(),
            worktree: std::env::temp_dir(),
            changed,
            newest_change: Some(newest),
            checkpoint: None,
            checkpoint_time: None,
            seen: None,
        }
    }

    #[test]
    fn names_old_work_at_most_five_times() {
        let cache = Cache {
            scanned_at: 1000,
            took_ms: 0,
            sessions: (0..7)
                .map(|i| entry(&format!("s{i}"), 1, 0))
                .chain([entry("fresh", 3, 990), entry("clean", 0, 0)])
                .collect(),
        };
        let found = forgotten(&cache, 1000, 60, None);
        assert_eq!(found.len(), 7, "fresh and clean are not forgotten");
        let lines = warning_lines(&found, 1000);
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[5], "… and 2 more (git session list)");
        assert!(lines[0].contains("no checkpoint holds it"), "{}", lines[0]);
        assert_eq!(forgotten(&cache, 1000, 0, None).len(), 8, "0 counts any");
        assert!(is_stale(None, 0));
        assert!(!is_stale(Some(&cache), 1030));
        assert!(is_stale(Some(&cache), 1060));
        // A refresh that took 9 s: the next one three minutes later, not one.
        let slow = Cache {
            took_ms: 9_000,
            ..cache
        };
        assert!(!is_stale(Some(&slow), 1060));
        assert!(!is_stale(Some(&slow), 1179));
        assert!(is_stale(Some(&slow), 1180));
        // One that took ten minutes: the next one at most a quarter of an hour later.
        let slowest = Cache {
            took_ms: 600_000,
            ..slow
        };
        assert!(is_stale(Some(&slowest), 1000 + 15 * 60));
    }
}
