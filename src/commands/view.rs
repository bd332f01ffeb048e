//! The view of a session that `list`, `show` and `new --json` print: one struct, rendered as
//! a table row or serialized as JSON, so both always agree. Field names are stable.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::context::Context;
use crate::error::CommandResult;
use crate::git::ObjectId;
use crate::lifecycle;
use crate::session::{EventRecord, Session, time};

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
    pub dirty: bool,
    /// Modified + staged + deleted + untracked files in the worktree.
    pub changes: usize,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventRecord>>,
}

/// Facts shared by the views of many sessions, read once.
pub struct ViewInputs {
    names_by_id: HashMap<String, String>,
    /// Per session id: its worktree, with the number of changed files and HEAD there,
    /// computed for all sessions at once.
    worktrees: HashMap<String, (PathBuf, WorktreeStatus)>,
}

type WorktreeStatus = (usize, Option<ObjectId>);

impl ViewInputs {
    pub fn read(ctx: &Context, sessions: &[Session]) -> CommandResult<ViewInputs> {
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
            for s in ctx.store().list()?.into_iter().flatten() {
                names_by_id
                    .entry(s.meta.id.clone())
                    .or_insert(s.meta.name.clone());
            }
        }
        let linked = ctx.repo.linked_worktrees()?;
        let local = ctx.local();
        let located: Vec<(String, PathBuf)> = sessions
            .iter()
            .filter_map(|s| {
                lifecycle::find_worktree_in(&linked, &local, s).map(|p| (s.meta.id.clone(), p))
            })
            .collect();
        let paths: Vec<PathBuf> = located.iter().map(|(_, p)| p.clone()).collect();
        let statuses = worktree_statuses(ctx, &paths)?;
        let worktrees = located
            .into_iter()
            .filter_map(|(id, path)| {
                statuses
                    .get(&path)
                    .map(|status| (id, (path.clone(), *status)))
            })
            .collect();
        Ok(ViewInputs {
            names_by_id,
            worktrees,
        })
    }
}

pub fn build(ctx: &Context, inputs: &ViewInputs, session: &Session) -> CommandResult<SessionView> {
    let meta = &session.meta;
    let located = inputs.worktrees.get(&meta.id);
    let worktree = located.map(|(path, _)| path.clone());
    let base = ObjectId::from_hex(meta.base.as_bytes()).ok();
    let (changes, head) = match located {
        Some((_, status)) => *status,
        None => (
            0,
            ctx.repo.read_ref(&format!("refs/heads/{}", meta.branch))?,
        ),
    };
    let ahead = match head {
        Some(head) => ctx
            .repo
            .count_ahead(head, &base.into_iter().collect::<Vec<_>>())?,
        None => 0,
    };
    let local_state = ctx.local().get(&meta.id);
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
        dirty: changes > 0,
        changes,
        ahead,
        created: meta.created.clone(),
        updated: meta.updated.clone(),
        last_active: time::format_rfc3339(last_active),
        parent: meta.parent.as_ref().map(|id| {
            inputs.names_by_id.get(id).cloned().unwrap_or_else(|| {
                // Deleted: its name from the trash, when the trash still has it.
                match ctx.store().trashed_name(id) {
                    Some(name) => format!("{name} (deleted)"),
                    None => "deleted".to_owned(),
                }
            })
        }),
        parent_id: meta.parent.clone(),
        checkpoints: ctx.store().checkpoint_count(session)?,
        last_checkpoint: meta.last_checkpoint.clone(),
        goal: meta.goal.clone(),
        events: None,
    })
}

/// The status of many worktrees, several at a time (each on its own repository handle).
fn worktree_statuses(
    ctx: &Context,
    paths: &[PathBuf],
) -> CommandResult<HashMap<PathBuf, WorktreeStatus>> {
    let shared = ctx.repo.thread_safe();
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
                    let status = repo
                        .open_worktree(path)
                        .and_then(|wt| Ok((wt.changed_paths()?.len(), wt.head_commit()?)));
                    results
                        .lock()
                        .expect("no panics while holding it")
                        .push((path.clone(), status));
                }
            });
        }
    });
    let mut out = HashMap::new();
    for (path, status) in results.into_inner().expect("threads are done") {
        out.insert(path, status?);
    }
    Ok(out)
}

/// "3m ago", "2h ago", "5d ago".
pub fn ago(now: i64, then: &str) -> String {
    let Some(then) = time::parse_rfc3339(then) else {
        return "?".into();
    };
    let secs = (now - then).max(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}
