//! What a killed command leaves in a session's worktree, noticed and undone.
//!
//! Making a worktree (`new`, `fork`, `resume`) and putting a checkpoint into one record a
//! pending marker in machine-local state first, and hold the session's lock while they work.
//! A marker whose session lock nobody holds was left by a process that is gone: the worktree
//! is half-made (no index, git's `initializing` lock, part of the checkout) or half-restored.
//! Nobody worked in it, but to be sure, anything in it that differs from what the checkout
//! was writing is kept as a `salvaged:` event in the session's log; then the worktree and
//! git's record of it are removed, so the next step can make it again. Never prints.

use std::path::{Path, PathBuf};

use crate::git::{ObjectId, Repo, canonical, git};
use crate::lifecycle::LifecycleError;
use crate::session::{Event, EventKind, LocalStore, Session, SessionLock};
use crate::transaction::Transaction;

/// What undoing an interrupted command did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Undone {
    /// What was interrupted (as [`crate::session::LocalState::pending`] says).
    pub what: String,
    /// The half-made worktree that was removed.
    pub removed: Option<PathBuf>,
    /// The commit holding what looked like work in it (linked into the log).
    pub salvaged: Option<String>,
}

/// Whether making the session's worktree was interrupted: its marker is there, and `lock`
/// (the caller's own hold of the session) proves nobody else is at it. An interrupted restore
/// is finished instead (as `rewind` does), which keeps the ignored files the worktree holds.
pub fn interrupted(
    _lock: &SessionLock,
    local: &LocalStore,
    session: &Session,
) -> Option<&'static str> {
    let state = local.get(&session.meta.id);
    if state.checkout_pending {
        state.pending()
    } else {
        None
    }
}

/// Under the session's lock: when making its worktree was interrupted, salvages what looks
/// like work, removes the half-made worktree and git's record of it, and clears the markers.
/// None when nothing was interrupted.
pub fn undo_interrupted(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
) -> Result<Option<Undone>, LifecycleError> {
    let repo = tx.repo();
    let Some(what) = interrupted(lock, local, session) else {
        return Ok(None);
    };
    let state = local.get(&session.meta.id);
    let path = state
        .worktree_of(session.name())
        .map(Path::to_path_buf)
        .or_else(|| local.expected_worktree(session.name()));
    let mut out = Undone {
        what: what.to_owned(),
        ..Default::default()
    };
    if let Some(path) = &path {
        let path = crate::git::normalize(path);
        // The git that was checking it out may outlive whoever started it (only git-session
        // was killed): it holds the index lock until it is done.
        wait_for_index_locks(&admin_dirs_for(repo, &path));
        if path.is_dir() {
            refuse_repositories(&path)?;
            out.salvaged = salvage(tx, session, &path)?.map(|id| id.to_string());
        }
        // What was salvaged stays in the log before the directory goes.
        tx.persist()?;
        if remove_half_made(repo, &path)? {
            out.removed = Some(path);
        }
    }
    // A checkpoint that was to be put into it stays pending: the worktree made again gets
    // it (not the log's latest, which may be another).
    tx.local_update(local, &session.meta.id, |s| {
        s.worktree = None;
        s.checkout_pending = false;
        s.includes_pending = false;
    })?;
    Ok(Some(out))
}

/// Under the session's lock: what a removal killed while deleting the worktree left
/// beside where it belongs (`aside`, as [`crate::worktree::set_aside`] finds it, not whole).
/// The removal had judged and checkpointed the worktree first; what is left that differs
/// from the session's branch is salvaged into the log all the same (a write since then is in
/// no checkpoint), then the rest and git's record of it go. The salvaged commit, if any.
pub fn clear_interrupted_removal(
    _lock: &SessionLock,
    tx: &mut Transaction<'_>,
    session: &Session,
    aside: &Path,
) -> Result<Option<String>, LifecycleError> {
    let repo = tx.repo();
    // git-session's own removal, by the clock it marked: finished as it would have, what
    // was changed after its checkpoint began kept beside (`doctor` lists it), nothing
    // entered across a mount.
    if let Some(stamp) = crate::worktree::marked_clock(repo, aside)
        && let Some(home) = crate::worktree::home_of_aside(aside)
    {
        crate::worktree::finish_marked(repo, aside, &home, stamp)?;
        return Ok(None);
    }
    refuse_repositories(aside)?;
    let salvaged = salvage(tx, session, aside)?.map(|id| id.to_string());
    // What was salvaged stays in the log before the directory goes.
    tx.persist()?;
    remove_half_made(repo, aside)?;
    Ok(salvaged)
}

/// The commit the checkout was writing: the session's branch, else its base.
fn start_commit(repo: &Repo, session: &Session) -> Option<ObjectId> {
    repo.read_ref(&format!("refs/heads/{}", session.meta.branch))
        .ok()
        .flatten()
        .or_else(|| ObjectId::from_hex(session.meta.base.as_bytes()).ok())
        .filter(|id| repo.has_object(*id))
}

/// Snapshots the directory with a private index (the worktree's own may be missing or half
/// written) and keeps it when it holds a file that the start commit lacks or has otherwise:
/// files the checkout had not written yet are no work.
fn salvage(
    tx: &mut Transaction<'_>,
    session: &Session,
    path: &Path,
) -> Result<Option<ObjectId>, LifecycleError> {
    let repo = tx.repo();
    let scratch = tempfile::Builder::new()
        .prefix("git-session-salvage-")
        .tempdir_in(repo.common_dir())
        .map_err(|e| io(path, e))?;
    let index = scratch.path().join("index");
    let common = repo.common_dir();
    let run = |args: &[&str]| {
        git(path)
            .env("GIT_INDEX_FILE", &index)
            .arg(format!("--git-dir={}", common.display()))
            .arg(format!("--work-tree={}", path.display()))
            .args(args)
            .run()
    };
    run(&["add", "-A", "--", "."]).map_err(crate::worktree::WorktreeError::from)?;
    let tree = run(&["write-tree"]).map_err(crate::worktree::WorktreeError::from)?;
    let tree = ObjectId::from_hex(tree.trim().as_bytes()).map_err(|e| {
        LifecycleError::Repo(crate::git::RepoError::Gix {
            context: "reading the tree git wrote".into(),
            source: Box::new(e),
        })
    })?;
    let start = start_commit(repo, session);
    let start_tree = match start {
        Some(start) => Some(repo.read_commit(start)?.tree),
        None => None,
    };
    let work = repo
        .tree_changes(start_tree, tree)?
        .iter()
        .any(|change| change.new.is_some());
    if !work {
        return Ok(None);
    }
    let message = "what an interrupted command left in the worktree";
    let parents: Vec<ObjectId> = start.into_iter().collect();
    let id = repo.write_commit(tree, &parents, message)?;
    tx.record(
        session.name(),
        Event::linking(EventKind::Salvaged, id, message),
        |_, _| {},
    )?;
    Ok(Some(id))
}

fn io(path: &Path, e: std::io::Error) -> LifecycleError {
    LifecycleError::Repo(crate::git::RepoError::Gix {
        context: format!("salvaging {}", path.display()),
        source: Box::new(e),
    })
}

/// A half-made worktree cannot hold repositories of its own, unless someone put them there:
/// those are never deleted.
fn refuse_repositories(path: &Path) -> Result<(), LifecycleError> {
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if entry.file_name() == ".git" && dir != path {
                return Err(LifecycleError::HoldsRepositories { path: dir.clone() });
            }
            if is_dir {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

/// git's administrative directories (`$GIT_COMMON_DIR/worktrees/<id>`) for a worktree at
/// `path`: the one whose `gitdir` names it, and any left without a `gitdir` under its name
/// (git writes that file after creating the directory).
pub fn admin_dirs_for(repo: &Repo, path: &Path) -> Vec<PathBuf> {
    let dot_git = canonical(path).join(".git");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(repo.common_dir().join("worktrees")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(
            |admin| match std::fs::read_to_string(admin.join("gitdir")) {
                Ok(text) => {
                    let named = PathBuf::from(text.trim());
                    named == dot_git || crate::git::normalize(&named) == dot_git
                }
                // No `gitdir` yet: a `git worktree add` that stopped right after it began
                // (git writes the `initializing` lock first). Its name is the worktree's,
                // perhaps with a number git added; the caller holds the worktrees lock, so
                // it is no add of git-session's still running.
                Err(_) => {
                    admin.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.strip_prefix(name.as_str())
                            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
                    }) && (admin.join("locked").exists()
                        || std::fs::read_dir(admin).is_ok_and(|mut d| d.next().is_none()))
                }
            },
        )
        .collect()
}

/// How long a git still checking out a half-made worktree is waited for.
const CHECKOUT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn wait_for_index_locks(admins: &[PathBuf]) {
    let started = std::time::Instant::now();
    while admins.iter().any(|a| a.join("index.lock").exists()) && started.elapsed() < CHECKOUT_WAIT
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `remove_dir_all`, again when something was written into the tree while it went.
fn remove_tree(path: &Path) -> Result<(), LifecycleError> {
    let mut attempt = 0;
    loop {
        match std::fs::remove_dir_all(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if attempt < 5 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(io(path, e)),
        }
    }
}

/// Removes a half-made worktree at `path` and git's record of it (its `initializing` lock
/// included). Whether anything was there.
fn remove_half_made(repo: &Repo, path: &Path) -> Result<bool, LifecycleError> {
    let admins = crate::worktree::serialized(repo, || admin_dirs_for(repo, path));
    let existed = path.exists() || !admins.is_empty();
    for admin in &admins {
        let _ = std::fs::remove_file(admin.join("locked"));
    }
    if !admins.is_empty() && path.exists() {
        // git removes what it knows how to; what it cannot judge (no index, a HEAD of
        // zeros) is removed below.
        let _ = crate::worktree::remove(repo, path, true);
    }
    for admin in admins {
        remove_tree(&admin)?;
    }
    remove_tree(path)?;
    Ok(existed)
}
