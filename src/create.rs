//! Creating a session, as one operation for `new`, `fork` and (for a worktree that must be made
//! again) `resume`: check that the name, branch and path are free, write the log, create the
//! branch and worktree with its `.worktreeinclude` copy, and undo all of it if a step fails
//! (nothing in it holds work yet).
//!
//! It returns a report the commands render and never prints. The include copy is recorded in
//! machine-local state as pending before it starts and done after, so a copy a `kill -9`
//! interrupted is noticed and finished by the next `resume` or `new` of that name.

use std::path::{Path, PathBuf};

use crate::git::{Expect, ObjectId, Repo, canonical};
use crate::include::{CopyReport, Progress};
use crate::lifecycle::{self, LifecycleError};
use crate::session::{
    Event, LocalState, LocalStore, Session, SessionLock, SessionMeta, Status, Store, StoreError,
    model, new_id, time,
};
use crate::worktree::{self, Start, WorktreeError};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("branch '{branch}' already exists")]
    BranchExists { branch: String },
    #[error("{} already exists", path.display())]
    PathTaken { path: PathBuf },
    #[error("{0}")]
    BadBranch(String),
    #[error("could not record machine-local state in {}", dir.display())]
    Local {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    #[error(transparent)]
    Repo(#[from] crate::git::RepoError),
}

/// Where a new session goes, as checked by [`check`].
#[derive(Debug, Clone)]
pub struct Placement {
    pub branch: String,
    /// The worktree path (None: a session without a worktree).
    pub worktree: Option<PathBuf>,
}

/// Refuses a session whose name, branch or worktree path is taken.
pub fn check(
    repo: &Repo,
    name: &str,
    branch_prefix: &str,
    worktree_dir: &Path,
    with_worktree: bool,
) -> Result<Placement, CreateError> {
    Store::new(repo).check_new_name(name)?;
    let branch = format!("{branch_prefix}{name}");
    model::check_branch(&branch).map_err(|e| CreateError::BadBranch(e.0))?;
    if worktree::branch_exists(repo, &branch)? {
        return Err(CreateError::BranchExists { branch });
    }
    let path = worktree_dir.join(name);
    if with_worktree && path.exists() {
        return Err(CreateError::PathTaken { path });
    }
    Ok(Placement {
        branch,
        worktree: with_worktree.then_some(path),
    })
}

/// Everything a new session is made of.
pub struct NewSession {
    pub name: String,
    pub placement: Placement,
    /// The commit the branch starts at (and the session's base).
    pub at: ObjectId,
    pub base_ref: String,
    pub parent: Option<String>,
    pub goal: Option<String>,
    pub context: Option<String>,
    pub agent: Option<crate::session::Agent>,
    /// The first event (`created`, or `forked` linking the checkpoint it starts from).
    pub event: Event,
    /// Where `.worktreeinclude` files are copied from (None: no copy).
    pub include_source: Option<PathBuf>,
}

/// What creating (or finishing) a worktree did.
#[derive(Debug)]
pub struct Created {
    pub session: Session,
    pub worktree: Option<PathBuf>,
    /// The include copy, when one ran.
    pub includes: Option<CopyReport>,
    /// The new session's lock, held until the caller has finished putting it together (a
    /// fork's checkpoint goes in next): until then a killed process leaves a marker nobody
    /// holds, which the next command undoes.
    pub lock: SessionLock,
}

/// Where worktrees go and what the include copy must leave out.
pub struct Site<'a> {
    pub worktree_dir: &'a Path,
    pub main_root: &'a Path,
}

/// Creates the session's log, its branch and (optionally) its worktree; on failure, removes
/// what it created.
pub fn create(
    repo: &Repo,
    local: &LocalStore,
    site: &Site<'_>,
    spec: NewSession,
    progress: &dyn Progress,
) -> Result<Created, CreateError> {
    let now = time::format_rfc3339(repo.now()?);
    let id = new_id();
    // A fresh id: nobody else can hold it.
    let lock = SessionLock::try_acquire(&repo.common_dir(), &id).ok_or_else(|| {
        CreateError::Lifecycle(LifecycleError::Busy(crate::session::Busy {
            name: spec.name.clone(),
            waited: std::time::Duration::ZERO,
        }))
    })?;
    let meta = SessionMeta {
        version: model::SCHEMA_VERSION,
        id,
        name: spec.name.clone(),
        status: Status::Active,
        created: now.clone(),
        updated: now,
        branch: spec.placement.branch.clone(),
        base: spec.at.to_string(),
        base_ref: spec.base_ref.clone(),
        parent: spec.parent.clone(),
        last_checkpoint: spec.event.checkpoint.map(|c| c.to_string()),
        goal: spec.goal.clone(),
        agent: spec.agent.clone(),
        extra: Default::default(),
    };
    let store = Store::new(repo);
    // A fork's or a take-up's checkpoint goes into the worktree next.
    let restore = spec.event.checkpoint;
    let session = store.create(meta, spec.event, spec.context.as_deref())?;
    let branch = spec.placement.branch.clone();
    let undo = |path: Option<&Path>| discard(repo, local, &session, path, spec.at);
    let Some(path) = spec.placement.worktree else {
        let created = repo.update_ref(
            &format!("refs/heads/{branch}"),
            spec.at,
            Expect::Absent,
            "session: created",
        );
        if let Err(e) = created {
            undo(None);
            return Err(e.into());
        }
        put_local(repo, local, &session, None, true, false, None)?;
        return Ok(Created {
            session,
            worktree: None,
            includes: None,
            lock,
        });
    };
    let start = Start::NewBranch {
        branch: branch.clone(),
        at: spec.at,
    };
    match make_worktree(
        &lock,
        repo,
        local,
        site,
        &session,
        &path,
        &start,
        true,
        spec.include_source.as_deref(),
        restore,
        progress,
    ) {
        Ok((path, includes)) => Ok(Created {
            session,
            worktree: Some(path),
            includes,
            lock,
        }),
        Err(e) => {
            undo(Some(&path));
            Err(e)
        }
    }
}

/// Takes back a session [`create`] just made, when what was to follow failed before anyone
/// worked in it: its worktree (a fresh checkout and copies of included files), its branch
/// (only while still at `at`), its log (only while nothing was recorded after creation) and
/// its machine-local record.
pub fn discard(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    path: Option<&Path>,
    at: ObjectId,
) {
    if let Some(path) = path {
        forget_fresh_worktree(repo, path);
    }
    let _ = repo.delete_ref(
        &crate::session::store::ref_name(session.name()),
        session.tip,
    );
    let _ = worktree::delete_branch(repo, &session.meta.branch, at);
    local.remove(&session.meta.id);
}

/// Removes a worktree made moments ago for a session (nothing in it but the checkout and
/// copies of included files), when it is registered with git.
pub fn forget_fresh_worktree(repo: &Repo, path: &Path) {
    if repo
        .linked_worktrees()
        .is_ok_and(|w| w.iter().any(|w| w.path == canonical(path)))
    {
        let _ = worktree::remove(repo, path, true);
    }
}

/// Creates a worktree for an existing session at `path` (for `new`, `fork` and `resume`),
/// recording it, and whether its checkout and include copy are still pending, in
/// machine-local state. The caller holds the session's lock.
#[allow(clippy::too_many_arguments)]
pub fn make_worktree(
    _lock: &SessionLock,
    repo: &Repo,
    local: &LocalStore,
    site: &Site<'_>,
    session: &Session,
    path: &Path,
    start: &Start,
    branch_created: bool,
    include_source: Option<&Path>,
    restore: Option<ObjectId>,
    progress: &dyn Progress,
) -> Result<(PathBuf, Option<CopyReport>), CreateError> {
    worktree::ensure_excluded(&repo.common_dir(), site.main_root, site.worktree_dir)?;
    // Recorded first: a process killed during the copy leaves a record saying so.
    put_local(
        repo,
        local,
        session,
        Some(canonical(path)),
        branch_created,
        include_source.is_some(),
        restore,
    )?;
    let includes = lifecycle::create_worktree(
        repo,
        path,
        start,
        include_source,
        &[site.worktree_dir.to_owned()],
        progress,
    )?;
    let path = canonical(path);
    local
        .update(&session.meta.id, |s| {
            s.worktree = Some(path.clone());
            s.includes_pending = false;
            s.checkout_pending = false;
        })
        .map_err(|source| local_error(local, source))?;
    Ok((path, includes))
}

/// The checkpoint the worktree was made for is in place: nothing is left to finish.
pub fn restore_done(local: &LocalStore, session: &Session) {
    let _ = local.update(&session.meta.id, |s| s.restore_pending = None);
}

/// Finishes an include copy that was interrupted (the worktree exists; what it already has
/// wins, so a second copy only adds what is missing). None when nothing was pending.
pub fn finish_includes(
    _lock: &SessionLock,
    repo: &Repo,
    local: &LocalStore,
    site: &Site<'_>,
    session: &Session,
    path: &Path,
    progress: &dyn Progress,
) -> Result<Option<CopyReport>, CreateError> {
    if !local.get(&session.meta.id).includes_pending {
        return Ok(None);
    }
    let report = lifecycle::copy_includes_into(
        repo,
        site.main_root,
        path,
        &[site.worktree_dir.to_owned()],
        progress,
    )?;
    local
        .update(&session.meta.id, |s| s.includes_pending = false)
        .map_err(|source| local_error(local, source))?;
    Ok(Some(report))
}

fn put_local(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    worktree: Option<PathBuf>,
    branch_created: bool,
    includes_pending: bool,
    restore: Option<ObjectId>,
) -> Result<(), CreateError> {
    // What belongs to the session for its life here (its port, its agent's transcript)
    // survives a worktree made again, when the record was made for this session.
    let kept = local.get(&session.meta.id);
    let kept = (kept.name.as_deref() == Some(session.name())).then_some(kept);
    let checkout_pending = worktree.is_some();
    let state = LocalState {
        worktree,
        last_active: repo.now().ok(),
        branch_created,
        name: Some(session.meta.name.clone()),
        branch: Some(session.meta.branch.clone()),
        includes_pending,
        worktree_created_ns: Some(now_ns()),
        port: kept.as_ref().and_then(|k| k.port),
        agent_transcript: kept.and_then(|k| k.agent_transcript),
        restore_pending: restore.map(|id| id.to_string()),
        checkout_pending,
        auto_checkpoint_at: None,
    };
    local
        .put(&session.meta.id, &state)
        .map_err(|source| local_error(local, source))
}

fn local_error(local: &LocalStore, source: std::io::Error) -> CreateError {
    CreateError::Local {
        dir: local.dir().to_owned(),
        source,
    }
}

/// Nanoseconds since the epoch (file modification times are compared against it).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
