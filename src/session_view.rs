//! The one view of a session that `list`, `show` and `new --json` print (and the live screen
//! reads): the facts about each session, gathered in one place from the store, the
//! machine-local state and its worktree, as data. Commands render it as a table row, a
//! detail page or JSON, so all of them always agree. Field names are stable. Never prints.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::git::{ObjectId, Repo};
use crate::lifecycle::{self, LifecycleError};
use crate::session::{EventRecord, LocalStore, Session, Store, time};

#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub name: String,
    pub id: String,
    pub status: String,
    pub branch: String,
    pub base: String,
    pub base_ref: String,
    /// Absolute path of the worktree on this machine, or null.
    pub worktree: Option<PathBuf>,
    /// Null when the worktree could not be read (see `error`).
    pub dirty: Option<bool>,
    /// Modified + staged + deleted + untracked files in the worktree; null when it could not
    /// be read (see `error`).
    pub changes: Option<usize>,
    /// Why the worktree could not be read (e.g. a corrupt index), or null.
    pub error: Option<String>,
    /// Commits on the session's HEAD (or branch) not on its base.
    pub ahead: usize,
    pub created: String,
    pub updated: String,
    pub last_active: String,
    /// Name of the session this one was forked from.
    pub parent: Option<String>,
    pub parent_id: Option<String>,
    pub checkpoints: usize,
    pub last_checkpoint: Option<String>,
    pub goal: Option<String>,
    /// The agent working in it (Claude Code, with its session id), as session.yaml says.
    pub agent: Option<crate::session::Agent>,
    /// The pathspecs it claims (empty: nothing).
    pub owns: Vec<String>,
    /// The live sessions that changed some of the same files (see `overlaps`).
    pub overlaps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventRecord>>,
}

/// Facts shared by the views of many sessions, read once.
pub struct ViewInputs {
    names_by_id: HashMap<String, String>,
    /// Per session name (unique, where ids may not be: a fetched session.yaml can reuse
    /// another's): its worktree as [`lifecycle::find_worktree_in`] matched it, by id and
    /// name, with its status, computed for all sessions at once.
    worktrees: HashMap<String, (PathBuf, WorktreeStatus)>,
}

/// What was read in one worktree.
#[derive(Debug, Clone)]
struct WorktreeStatus {
    /// The number of changed files, or why the worktree could not be read.
    changes: Result<usize, String>,
    /// Its HEAD (None when unborn or unreadable).
    head: Option<ObjectId>,
}

impl ViewInputs {
    pub fn read(
        repo: &Repo,
        local: &LocalStore,
        sessions: &[Session],
    ) -> Result<ViewInputs, LifecycleError> {
        let mut names_by_id: HashMap<String, String> = sessions
            .iter()
            .map(|s| (s.meta.id.clone(), s.meta.name.clone()))
            .collect();
        if sessions.iter().any(|s| {
            s.meta
                .parent
                .as_ref()
                .is_some_and(|p| !names_by_id.contains_key(p))
        }) {
            for s in Store::new(repo).list()?.into_iter().flatten() {
                names_by_id
                    .entry(s.meta.id.clone())
                    .or_insert(s.meta.name.clone());
            }
        }
        let linked = repo.linked_worktrees()?;
        let located: Vec<(String, PathBuf)> = sessions
            .iter()
            .filter_map(|s| {
                lifecycle::find_worktree_in(&linked, local, s).map(|p| (s.meta.name.clone(), p))
            })
            .collect();
        // A worktree being made (or half-made by a killed command) is nobody's work yet:
        // not scanned, and said so.
        let common = repo.common_dir();
        let mut half_made: HashMap<PathBuf, WorktreeStatus> = HashMap::new();
        for session in sessions {
            let state = local.get(&session.meta.id);
            if !state.checkout_pending {
                continue;
            }
            let Some((_, path)) = located.iter().find(|(n, _)| *n == session.meta.name) else {
                continue;
            };
            let why = if crate::session::SessionLock::held_elsewhere(&common, &session.meta.id) {
                "it is being made right now".to_owned()
            } else {
                format!(
                    "making it was interrupted; `git session resume {}` makes it whole",
                    crate::text::escape(session.name())
                )
            };
            half_made.insert(
                path.clone(),
                WorktreeStatus {
                    changes: Err(why),
                    head: None,
                },
            );
        }
        let paths: Vec<PathBuf> = located
            .iter()
            .map(|(_, p)| p.clone())
            .filter(|p| !half_made.contains_key(p))
            .collect();
        let mut statuses = worktree_statuses(repo, &paths);
        statuses.extend(half_made);
        let worktrees = located
            .into_iter()
            .filter_map(|(name, path)| {
                statuses
                    .get(&path)
                    .map(|status| (name, (path.clone(), status.clone())))
            })
            .collect();
        Ok(ViewInputs {
            names_by_id,
            worktrees,
        })
    }
}

pub fn build(
    repo: &Repo,
    local: &LocalStore,
    inputs: &ViewInputs,
    session: &Session,
) -> Result<SessionView, LifecycleError> {
    let store = Store::new(repo);
    let meta = &session.meta;
    let located = inputs.worktrees.get(&meta.name);
    let worktree = located.map(|(path, _)| path.clone());
    let base = ObjectId::from_hex(meta.base.as_bytes()).ok();
    let (changes, head) = match located {
        Some((_, status)) => (status.changes.clone(), status.head),
        None => (Ok(0), None),
    };
    let head = match head {
        Some(head) => Some(head),
        None if changes.is_ok() && located.is_some() => None, // an unborn branch
        None => repo.read_ref(&format!("refs/heads/{}", meta.branch))?,
    };
    let (changes, error) = match changes {
        Ok(n) => (Some(n), None),
        Err(why) => (None, Some(why)),
    };
    let ahead = match head {
        Some(head) => repo.count_ahead(head, &base.into_iter().collect::<Vec<_>>())?,
        None => 0,
    };
    let local_state = local.get(&meta.id);
    let updated = time::parse_rfc3339(&meta.updated).unwrap_or(0);
    let last_active = local_state.last_active.map_or(updated, |t| t.max(updated));
    Ok(SessionView {
        name: meta.name.clone(),
        id: meta.id.clone(),
        status: meta.status.as_str().to_owned(),
        branch: meta.branch.clone(),
        base: meta.base.clone(),
        base_ref: meta.base_ref.clone(),
        worktree,
        dirty: changes.map(|n| n > 0),
        changes,
        error,
        ahead,
        created: meta.created.clone(),
        updated: meta.updated.clone(),
        last_active: time::format_rfc3339(last_active),
        parent: meta.parent.as_ref().map(|id| {
            inputs.names_by_id.get(id).cloned().unwrap_or_else(|| {
                // Deleted: its name from the trash, when the trash still has it.
                match store.trashed_name(id) {
                    Some(name) => format!("{name} (deleted)"),
                    None => "deleted".to_owned(),
                }
            })
        }),
        parent_id: meta.parent.clone(),
        checkpoints: store.checkpoint_count(session)?,
        last_checkpoint: meta.last_checkpoint.clone(),
        goal: meta.goal.clone(),
        agent: meta.agent.clone(),
        owns: meta.owns.clone(),
        overlaps: Vec::new(),
        events: None,
    })
}

/// The status of many worktrees, several at a time (each on its own repository handle). One
/// that cannot be read says why in its entry; the others are still read.
fn worktree_statuses(repo: &Repo, paths: &[PathBuf]) -> HashMap<PathBuf, WorktreeStatus> {
    let shared = repo.thread_safe();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(paths.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(paths.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let repo = crate::git::Repo::from_thread_safe(&shared);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let status = match repo.open_worktree(path) {
                        Ok(wt) => WorktreeStatus {
                            changes: wt
                                .changed_paths()
                                .map(|c| c.len())
                                .map_err(|e| crate::text::one_line(&e)),
                            head: wt.head_commit().ok().flatten(),
                        },
                        Err(e) => WorktreeStatus {
                            changes: Err(crate::text::one_line(&e)),
                            head: None,
                        },
                    };
                    results
                        .lock()
                        .expect("no panics while holding it")
                        .push((path.clone(), status));
                }
            });
        }
    });
    results
        .into_inner()
        .expect("threads are done")
        .into_iter()
        .collect()
}

/// Which sessions share changed files (judged on files only, as `list` and `show` print
/// it); a failure is returned in words for the caller to warn about.
pub fn overlap_report(
    repo: &Repo,
    local: &LocalStore,
    sessions: &[Session],
    remote: bool,
    focus: Option<&str>,
) -> Result<crate::overlap::Report, String> {
    let scope = crate::footprint::Scope { remote, now: false };
    crate::footprint::overlaps(
        repo,
        local,
        sessions,
        scope,
        focus,
        crate::overlap::Depth::Files,
    )
    .map(|(report, _)| report)
    .map_err(|e| format!("overlaps not judged: {}", crate::text::one_line(&e)))
}

/// The warning for a session whose worktree could not be read.
pub fn cannot_judge(view: &SessionView, why: &str) -> String {
    let path = view
        .worktree
        .as_ref()
        .map_or_else(String::new, |p| format!(" at {}", p.display()));
    crate::text::escape(&format!(
        "cannot judge session '{}': its worktree{path} cannot be read: {why}",
        view.name
    ))
}
