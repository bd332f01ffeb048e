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
    /// Commits on its base ref as it is here now (`base_ref`) not on the session's HEAD: how
    /// far the base has moved on. Null when the base ref does not resolve here.
    pub behind: Option<usize>,
    pub created: String,
    pub updated: String,
    pub last_active: String,
    /// Name of the session this one was forked from.
    pub parent: Option<String>,
    pub parent_id: Option<String>,
    pub checkpoints: usize,
    pub last_checkpoint: Option<String>,
    /// When the latest checkpoint was taken (RFC 3339).
    pub last_checkpoint_at: Option<String>,
    /// The session's port on this machine (`GIT_SESSION_PORT`), when it was given one.
    pub port: Option<u16>,
    pub goal: Option<String>,
    /// The agent working in it: the tool and its session id as session.yaml says, and what
    /// it last reported doing here (`agent-state`, Claude Code's hooks).
    pub agent: Option<AgentView>,
    /// The pathspecs it claims (empty: nothing).
    pub owns: Vec<String>,
    /// The live sessions that changed some of the same files (see `overlaps`).
    pub overlaps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventRecord>>,
}

/// A session's agent as `list`, `show` and the live view show it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// working, needs-input, idle, exited, or stale (working, and silent longer than
    /// `session.agentStaleAfter`); null when it never reported on this machine.
    pub state: Option<String>,
    /// When that state began (RFC 3339).
    pub since: Option<String>,
}

fn agent_view(
    recorded: Option<&crate::session::Agent>,
    report: Option<&crate::agent::state::AgentReport>,
    stale_after: i64,
) -> Option<AgentView> {
    let now = time::now_secs();
    match (recorded, report) {
        (None, None) => None,
        (recorded, report) => Some(AgentView {
            tool: report
                .map(|r| r.tool.clone())
                .or_else(|| recorded.map(|a| a.tool.clone()))
                .unwrap_or_default(),
            session_id: recorded.and_then(|a| a.session_id.clone()),
            state: report.map(|r| crate::agent::state::shown(r, now, stale_after).to_owned()),
            since: report.map(|r| time::format_rfc3339(r.since)),
        }),
    }
}

/// Facts shared by the views of many sessions, read once.
pub struct ViewInputs {
    /// `session.agentStaleAfter` in seconds.
    stale_after: i64,
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
    /// `stale_after`: `session.agentStaleAfter` in seconds.
    pub fn read(
        repo: &Repo,
        local: &LocalStore,
        sessions: &[Session],
        stale_after: i64,
    ) -> Result<ViewInputs, LifecycleError> {
        ViewInputs::read_with(repo, local, sessions, true, stale_after)
    }

    /// As [`read`](Self::read); with `scan` false, the worktrees' changes are as the hooks'
    /// status cache last saw them (unknown where it has none) instead of scanned now: a first
    /// paint.
    pub fn read_with(
        repo: &Repo,
        local: &LocalStore,
        sessions: &[Session],
        scan: bool,
        stale_after: i64,
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
        let mut statuses = if scan {
            worktree_statuses(repo, &paths)
        } else {
            let cache = crate::watch::load(&common);
            paths
                .iter()
                .map(|path| {
                    let cached = cache
                        .as_ref()
                        .and_then(|c| c.sessions.iter().find(|e| e.worktree == *path));
                    let changes = cached
                        .map(|e| e.changed)
                        .ok_or_else(|| "not looked at yet".to_owned());
                    (
                        path.clone(),
                        WorktreeStatus {
                            changes,
                            head: None,
                        },
                    )
                })
                .collect()
        };
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
            stale_after,
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
    let behind = head.and_then(|head| {
        let tip = base_tip(repo, &meta.base_ref)?;
        repo.count_ahead(tip, &[head]).ok()
    });
    let last_checkpoint_at = meta
        .last_checkpoint_id()
        .and_then(|id| repo.read_commit(id).ok())
        .map(|c| time::format_rfc3339(c.time));
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
        behind,
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
        last_checkpoint_at,
        port: local_state.port,
        goal: meta.goal.clone(),
        agent: agent_view(
            meta.agent.as_ref(),
            local_state.agent_state.as_ref(),
            inputs.stale_after,
        ),
        owns: meta.owns.clone(),
        overlaps: Vec::new(),
        events: None,
    })
}

/// The commit the ref `base_ref` names here now (a branch, a remote-tracking branch, a tag,
/// or HEAD), looked up as a ref and never parsed as a revision: it may come from a fetched
/// session.yaml, and `:/text` or `@{…}` would walk whole histories.
fn base_tip(repo: &Repo, base_ref: &str) -> Option<ObjectId> {
    if base_ref == "HEAD" {
        return repo.head_commit().ok().flatten();
    }
    let candidates: Vec<String> = if base_ref.starts_with("refs/") {
        vec![base_ref.to_owned()]
    } else {
        ["refs/heads/", "refs/remotes/", "refs/tags/"]
            .iter()
            .map(|prefix| format!("{prefix}{base_ref}"))
            .collect()
    };
    candidates
        .iter()
        .find_map(|name| repo.read_ref(name).ok().flatten())
        .filter(|id| repo.read_commit(*id).is_ok())
}

/// One session's view, its worktree scanned now (`show`, `new --json`).
pub fn view_of(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    stale_after: i64,
) -> Result<SessionView, LifecycleError> {
    let inputs = ViewInputs::read(repo, local, std::slice::from_ref(session), stale_after)?;
    build(repo, local, &inputs, session)
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

/// Sessions whose agent waits for a person first (`agent::state::attention_rank`), then by
/// name.
pub fn sort_by_attention(views: &mut [SessionView]) {
    views.sort_by_key(|v| {
        (
            crate::agent::state::attention_rank(v.agent.as_ref().and_then(|a| a.state.as_deref())),
            v.name.clone(),
        )
    });
}

/// Every session as `list` shows it (open ones, and ended ones whose worktree `end` kept),
/// with the sessions each overlaps: the snapshot the live view redraws from.
///
/// With `scan` false, nothing is scanned and overlaps are left out: the worktrees' changes
/// come from the hooks' status cache (a first paint, filled in by the next snapshot).
pub fn snapshot(
    repo: &Repo,
    local: &LocalStore,
    scan: bool,
    stale_after: i64,
) -> Result<Vec<SessionView>, LifecycleError> {
    let sessions: Vec<Session> = Store::new(repo).list()?.into_iter().flatten().collect();
    let inputs = ViewInputs::read_with(repo, local, &sessions, scan, stale_after)?;
    let mut views = Vec::new();
    for session in &sessions {
        let view = build(repo, local, &inputs, session)?;
        if session.meta.status.is_open() || view.worktree.is_some() {
            views.push(view);
        }
    }
    if !scan {
        return Ok(views);
    }
    if let Ok(report) = overlap_report(repo, local, &sessions, false, None) {
        for v in &mut views {
            v.overlaps = report.partners(&v.name);
        }
    }
    Ok(views)
}

/// What the live view's detail pane shows of one session besides its row: read for the
/// selected session only.
#[derive(Debug, Clone, Default)]
pub struct SessionDetail {
    pub name: String,
    /// context.md.
    pub context: Option<String>,
    /// The latest handoff.md.
    pub handoff: Option<String>,
    /// The newest events first.
    pub events: Vec<EventRecord>,
    /// git's `diff --stat` of its uncommitted work (staged, unstaged and untracked files),
    /// or why it could not be read; None when it has no worktree here.
    pub uncommitted: Option<Result<String, String>>,
}

/// How many events the detail pane shows.
const DETAIL_EVENTS: usize = 6;

/// Reads [`SessionDetail`] for the session `name`, whose worktree here (if any) is
/// `worktree`; the diff stat is `width` columns wide.
pub fn detail(
    repo: &Repo,
    name: &str,
    worktree: Option<&std::path::Path>,
    width: u16,
) -> Result<SessionDetail, LifecycleError> {
    let store = Store::new(repo);
    let session = store.load(name)?;
    let handoff = store.read_file(&session, crate::session::store::HANDOFF_FILE)?;
    let events = store.events(&session, Some(DETAIL_EVENTS))?;
    let uncommitted = worktree.map(|path| uncommitted_stat(repo, path, width));
    Ok(SessionDetail {
        name: name.to_owned(),
        context: session.context.clone(),
        handoff,
        events,
        uncommitted,
    })
}

/// The worktree's files as a tree (as a checkpoint takes them, untracked files included)
/// against its HEAD, as git's diff stat; empty when nothing is uncommitted.
fn uncommitted_stat(repo: &Repo, path: &std::path::Path, width: u16) -> Result<String, String> {
    let stat = || -> Result<String, Box<dyn std::error::Error>> {
        let wt = repo.open_worktree(path)?;
        let capture = crate::checkpoint::capture(&wt)?;
        let Some(head) = capture.head else {
            return Err("no commit yet".into());
        };
        if repo.read_commit(head)?.tree == capture.tree {
            return Ok(String::new());
        }
        Ok(wt.diff_stat(head, capture.tree, width)?)
    };
    stat().map_err(|e| crate::text::one_line(e.as_ref()))
}

/// Tells the live view when its snapshot may be out of date, without building one: the
/// sessions' refs and branches, the machine-local records (agent state among them), the
/// worktrees' indexes and HEADs, and, through the file-system monitor, their files. Without
/// a monitor, files are only caught by a rebuild every [`UNMONITORED_EVERY`].
pub struct ChangeWatch {
    common: PathBuf,
    ticker: Option<crate::git::fsmonitor::Ticker>,
    last: Option<u64>,
    last_rebuild: std::time::Instant,
}

/// How often the live view rebuilds without a file-system monitor to say files changed.
pub const UNMONITORED_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl ChangeWatch {
    pub fn new(repo: &Repo, local: &LocalStore) -> ChangeWatch {
        let mut worktrees: Vec<PathBuf> = repo.workdir().into_iter().collect();
        worktrees.extend(local.worktrees().into_iter().map(|(_, path)| path));
        ChangeWatch {
            common: repo.common_dir(),
            ticker: crate::git::fsmonitor::Ticker::new(repo.gix(), &worktrees),
            last: None,
            last_rebuild: std::time::Instant::now(),
        }
    }

    /// One that cannot ask the monitor (the repository could not be opened).
    pub fn without_repo(common: &std::path::Path) -> ChangeWatch {
        ChangeWatch {
            common: common.to_owned(),
            ticker: None,
            last: None,
            last_rebuild: std::time::Instant::now(),
        }
    }

    /// Whether the snapshot should be built again now.
    pub fn should_rebuild(&mut self) -> bool {
        let stamp = self.stamp();
        let files = match &mut self.ticker {
            Some(ticker) => ticker.changed(),
            None => None,
        };
        let due = match files {
            Some(changed) => changed,
            None => self.last_rebuild.elapsed() >= UNMONITORED_EVERY,
        };
        let rebuild = due || self.last != Some(stamp);
        self.last = Some(stamp);
        if rebuild {
            self.last_rebuild = std::time::Instant::now();
        }
        rebuild
    }

    /// A hash of the names, sizes and times of what decides the snapshot besides files: the
    /// sessions' refs, the machine-local records, each worktree's HEAD and index (a commit in
    /// a session moves both), and the repository's own.
    fn stamp(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        use std::os::unix::fs::MetadataExt;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut stat = |path: PathBuf| {
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                (path, m.size(), m.mtime(), m.mtime_nsec()).hash(&mut hasher);
            }
        };
        for file in ["packed-refs", "HEAD", "index"] {
            stat(self.common.join(file));
        }
        let mut todo = vec![
            self.common.join("refs").join("sessions"),
            self.common.join("session").join("local"),
        ];
        while let Some(dir) = todo.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(entry.path());
                }
                stat(entry.path());
            }
        }
        if let Ok(worktrees) = std::fs::read_dir(self.common.join("worktrees")) {
            for worktree in worktrees.flatten() {
                stat(worktree.path().join("HEAD"));
                stat(worktree.path().join("index"));
            }
        }
        hasher.finish()
    }
}
