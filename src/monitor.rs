//! The file-system monitor as the user manages it (`git session fsmonitor`): turning it on
//! (a running watchman, every worktree watched) and off, what it did for each worktree, and
//! a check that its answers are the full scan's. Scans themselves use it through
//! `git::fsmonitor::worktree_changes_explained`; nothing here is on their path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::git::Repo;
use crate::git::fsmonitor::{self, Answer, Mode};
use crate::session::LocalStore;

/// How long `enable` waits for watchman to start.
const START_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum MonitorOpError {
    #[error("could not start watchman: {0}")]
    NoWatchman(String),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(transparent)]
    Repo(#[from] crate::git::RepoError),
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

/// One worktree as the monitor sees it.
#[derive(Debug, Serialize)]
pub struct WorktreeMonitor {
    /// The session it belongs to; None for the main worktree (or one no session knows).
    pub session: Option<String>,
    pub path: PathBuf,
    /// The root watchman watches for it (the worktree itself, or a directory above).
    pub watched: Option<String>,
    /// Whether the server answers now, still watches that root, and gave the clock (it did
    /// not restart since).
    pub answering: bool,
    /// Whether the last scan's answer came from the monitor.
    pub monitored: bool,
    /// watchman's clock at the last answer.
    pub clock: Option<String>,
    /// Paths every scan looks at again, reported or not: those that differed from the index
    /// at the last one.
    pub listed: usize,
    /// Why the last full scan was needed.
    pub last_full: Option<String>,
    /// When that was (seconds since the epoch).
    pub last_full_at: Option<i64>,
    /// When a question about its root last went unanswered, within the last seconds: until
    /// the server answers again (its crawl is done), scans do not wait for it.
    pub busy_since: Option<i64>,
}

/// `git session fsmonitor status`.
#[derive(Debug, Serialize)]
pub struct MonitorStatus {
    /// `session.fsmonitor` as it applies: off, watchman or auto.
    pub setting: &'static str,
    /// The value set, when it means nothing (it is taken as auto).
    pub unknown_setting: Option<String>,
    /// The version of the watchman server that answers.
    pub server: Option<String>,
    /// Why no server answers.
    pub problem: Option<String>,
    pub worktrees: Vec<WorktreeMonitor>,
}

fn setting_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Off => "off",
        Mode::Watchman => "watchman",
        Mode::Auto => "auto",
    }
}

/// The main worktree and every session's worktree that exists, with the session's name.
fn worktrees(main_root: &Path, local: &LocalStore) -> Vec<(Option<String>, PathBuf)> {
    let mut out = vec![(None, main_root.to_owned())];
    out.extend(local.worktrees().into_iter().map(|(n, p)| (Some(n), p)));
    out
}

pub fn status(repo: &Repo, main_root: &Path, local: &LocalStore) -> MonitorStatus {
    let common = repo.common_dir();
    let (found, problem) = match fsmonitor::server(&common) {
        Ok(found) => (Some(found), None),
        Err(e) => (None, Some(crate::text::one_line(&e))),
    };
    let worktrees = worktrees(main_root, local)
        .into_iter()
        .map(|(session, path)| {
            let state = fsmonitor::load_state(&common, &path);
            let (last_full, last_full_at) = match state.last_full {
                Some((why, at)) => (Some(why), Some(at)),
                None => (None, None),
            };
            let watched = state.watched.map(|w| w.root);
            let busy_since = watched
                .as_deref()
                .and_then(|root| fsmonitor::busy_since(&common, root));
            // Watched by the server that answers now, and the clock is one of its own.
            let answering = found.as_ref().is_some_and(|server| {
                watched.as_ref().is_some_and(|r| server.roots.contains(r))
                    && state.clock.as_deref().is_none_or(|c| server.gave(c))
            });
            WorktreeMonitor {
                busy_since,
                session,
                path,
                answering,
                watched,
                monitored: state.monitored,
                listed: state.listed.len(),
                clock: state.clock,
                last_full,
                last_full_at,
            }
        })
        .collect();
    MonitorStatus {
        setting: setting_name(fsmonitor::mode(repo.gix())),
        unknown_setting: fsmonitor::unknown_setting(repo.gix()),
        server: found.map(|server| server.version),
        problem,
        worktrees,
    }
}

/// Starts watchman when it is not running, sets `session.fsmonitor = watchman` and watches
/// every worktree.
pub fn enable(
    repo: &Repo,
    main_root: &Path,
    local: &LocalStore,
) -> Result<MonitorStatus, MonitorOpError> {
    let common = repo.common_dir();
    if let Err(e) = fsmonitor::server_version(&common) {
        // A socket the user named is where they run their server: none is started elsewhere.
        if fsmonitor::watchman_sock().is_some() {
            return Err(MonitorOpError::NoWatchman(crate::text::one_line(&e)));
        }
        let sock = fsmonitor::start_server(START_TIMEOUT)
            .map_err(|e| MonitorOpError::NoWatchman(crate::text::one_line(&e)))?;
        fsmonitor::remember_socket(&common, &sock);
        fsmonitor::server_version(&common)
            .map_err(|e| MonitorOpError::NoWatchman(crate::text::one_line(&e)))?;
    }
    crate::git::git_root(main_root)
        .args(["config", "session.fsmonitor", "watchman"])
        .run()?;
    for (_, path) in worktrees(main_root, local) {
        fsmonitor::watch_path(&common, &path, fsmonitor::CRAWL_DEADLINE)
            .map_err(|e| MonitorOpError::NoWatchman(crate::text::one_line(&e)))?;
    }
    Ok(status(&Repo::discover(main_root)?, main_root, local))
}

/// Sets `session.fsmonitor = off`, removes the watches it made and what it kept. A watchman
/// server keeps running (other tools may use it).
pub fn disable(
    repo: &Repo,
    main_root: &Path,
    local: &LocalStore,
) -> Result<MonitorStatus, MonitorOpError> {
    crate::git::git_root(main_root)
        .args(["config", "session.fsmonitor", "off"])
        .run()?;
    let common = repo.common_dir();
    for (_, path) in worktrees(main_root, local) {
        fsmonitor::forget(&common, &path);
    }
    fsmonitor::forget_socket(&common);
    fsmonitor::forget_busy(&common);
    Ok(status(&Repo::discover(main_root)?, main_root, local))
}

/// What `verify` found in one worktree.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub session: Option<String>,
    pub path: PathBuf,
    /// Whether the monitor answered (else both were full scans).
    pub monitored: bool,
    /// Why it did not.
    pub full_because: Option<String>,
    /// Tracked paths gone, by the full scan.
    pub removed: usize,
    /// Paths that may differ from the index, by the full scan.
    pub changed: usize,
    /// The checkpoint tree from each answer.
    pub tree: String,
    pub monitor_tree: String,
    /// Paths only one of the two reported.
    pub only_monitor: Vec<String>,
    pub only_full: Vec<String>,
}

impl Verification {
    pub fn agrees(&self) -> bool {
        self.only_monitor.is_empty() && self.only_full.is_empty() && self.tree == self.monitor_tree
    }
}

/// Scans every worktree both ways (the monitor's answer first, then a full scan) and
/// compares the answers and the checkpoint trees made from them. Writes the objects a
/// checkpoint would, and no ref.
pub fn verify(
    repo: &Repo,
    main_root: &Path,
    local: &LocalStore,
    only: Option<&str>,
) -> Result<Vec<Verification>, MonitorOpError> {
    let mut out = Vec::new();
    for (session, path) in worktrees(main_root, local) {
        if only.is_some() && session.as_deref() != only {
            continue;
        }
        let wt = repo.open_worktree(&path)?;
        let (mut answer, mut monitor_changes, mut full_changes) = (None, None, None);
        let monitor_capture = crate::checkpoint::capture_with(&wt, |repo, index| {
            let (changes, how) = fsmonitor::worktree_changes_explained(repo, index)?;
            // Captured as a checkpoint would be: what the last capture computed is used, and
            // what this one computes is kept for the next.
            let scanned = crate::checkpoint::Scanned {
                changes: changes.clone(),
                seen: how.seen.clone(),
                memo: how.memo.clone(),
                unsaved: None,
            };
            answer = Some(how);
            monitor_changes = Some(changes);
            Ok(scanned)
        })?;
        let full_capture = crate::checkpoint::capture_with(&wt, |repo, index| {
            let changes = crate::git::scan::full_scan(repo, index)?;
            full_changes = Some(changes.clone());
            Ok(crate::checkpoint::Scanned {
                changes,
                ..Default::default()
            })
        })?;
        let (mut monitor_tree, tree) = (monitor_capture.tree, full_capture.tree);
        // A checkpoint taken now, as `checkpoint` takes it: with nothing changed since the
        // capture above, it stands the index's tree in for the index when it can, and so
        // checks that tree too.
        if monitor_tree == tree
            && let Ok(again) = crate::checkpoint::capture(&wt)
        {
            monitor_tree = again.tree;
        }
        let monitor_changes = monitor_changes.unwrap_or_default();
        let full_changes = full_changes.unwrap_or_default();
        // What differs from the index: a file listed for its stale stat data that holds what
        // the index says is not (the monitor stops listing it once a capture found that).
        let listed = |c: &crate::git::scan::WorktreeChanges, clean: &[gix::bstr::BString]| {
            let clean: HashSet<&gix::bstr::BString> = clean.iter().collect();
            let mut all: Vec<String> = c
                .removed
                .iter()
                .map(|p| format!("removed {}", crate::git::printable_path(p)))
                .chain(
                    c.to_hash
                        .iter()
                        .filter(|p| !clean.contains(p))
                        .map(|p| format!("changed {}", crate::git::printable_path(p))),
                )
                .collect();
            all.sort();
            all
        };
        let m = listed(&monitor_changes, &monitor_capture.clean);
        let f = listed(&full_changes, &full_capture.clean);
        let (m_set, f_set): (HashSet<&String>, HashSet<&String>) =
            (m.iter().collect(), f.iter().collect());
        let (monitored, full_because) = match answer {
            Some(Answer {
                full_because: None, ..
            }) => (true, None),
            Some(Answer {
                full_because: Some(why),
                ..
            }) => (false, Some(why)),
            None => (false, None),
        };
        out.push(Verification {
            session,
            path,
            monitored,
            full_because,
            removed: full_changes.removed.len(),
            changed: full_changes.to_hash.len() - full_capture.clean.len(),
            tree: tree.to_string(),
            monitor_tree: monitor_tree.to_string(),
            only_monitor: m.iter().filter(|p| !f_set.contains(p)).cloned().collect(),
            only_full: f.iter().filter(|p| !m_set.contains(p)).cloned().collect(),
        });
        if out.last().is_some_and(|v| !v.agrees()) {
            fsmonitor::forget_memo(wt.gix());
        }
    }
    Ok(out)
}
