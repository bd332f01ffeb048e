//! Creating a session, as one operation for `new`, `fork` and (for a worktree that must be made
//! again) `resume`: check that the name, branch and path are free, write the log, create the
//! branch and worktree with its `.worktreeinclude` copy — all through the command's
//! transaction, so a step that fails takes back the ones before it (nothing holds work yet).
//!
//! It returns a report the commands render and never prints. The checkout and the include
//! copy are recorded in machine-local state as pending before they start and done after,
//! under the session's lock, so what a `kill -9` interrupted is noticed and finished (or
//! salvaged and made again) by the next `resume` or `new` of that name.

use std::path::{Path, PathBuf};

use crate::git::{Expect, ObjectId, Repo, canonical};
use crate::include::{CopyReport, Progress};
use crate::lifecycle::{self, LifecycleError};
use crate::oplog::{SessionRef, WorktreeChange};
use crate::session::{
    Event, LocalState, LocalStore, Session, SessionLock, SessionMeta, Status, Store, StoreError,
    model, new_id, time,
};
use crate::transaction::{Transaction, TxError};
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
    #[error(transparent)]
    Tx(#[from] TxError),
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
    crate::session::name::validate_branch(&branch).map_err(|e| {
        CreateError::BadBranch(format!(
            "its branch would be '{}', which is not a usable branch name: {}",
            crate::text::escape(&branch),
            e.rule
        ))
    })?;
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
    /// The pathspecs it claims (checked by the caller).
    pub owns: Vec<String>,
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

pub use super::Site;

/// Creates the session's log, its branch and (optionally) its worktree, through `tx`: when a
/// step fails, dropping the transaction takes back what the steps before did.
pub fn create(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    spec: NewSession,
    progress: &dyn Progress,
) -> Result<Created, CreateError> {
    let repo = tx.repo();
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
        owns: spec.owns.clone(),
        extra: Default::default(),
    };
    // A fork's or a take-up's checkpoint goes into the worktree next.
    let restore = spec.event.checkpoint;
    let session = tx.create_session(meta, spec.event, spec.context.as_deref())?;
    // The session exists before its worktree: a killed command leaves a session the next
    // one can finish.
    tx.flush()?;
    let branch = spec.placement.branch.clone();
    let Some(path) = spec.placement.worktree else {
        tx.update_ref(
            &format!("refs/heads/{branch}"),
            spec.at,
            Expect::Absent,
            "session: created",
        )?;
        put_local(tx, local, &session, None, true, false, None)?;
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
    let (path, includes) = make_worktree(
        &lock,
        tx,
        local,
        site,
        &session,
        &path,
        &start,
        true,
        spec.include_source.as_deref(),
        restore,
        progress,
    )?;
    Ok(Created {
        session,
        worktree: Some(path),
        includes,
        lock,
    })
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
    tx: &mut Transaction<'_>,
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
    let repo = tx.repo();
    worktree::ensure_excluded(&repo.common_dir(), site.main_root, site.worktree_dir)?;
    // Recorded first: a process killed during the checkout or the copy leaves a record
    // saying so.
    put_local(
        tx,
        local,
        session,
        Some(canonical(path)),
        branch_created,
        include_source.is_some(),
        restore,
    )?;
    let branch_ref = format!("refs/heads/{}", session.meta.branch);
    let branch_before = repo.read_ref(&branch_ref)?;
    // Taken back when a later step fails: nobody worked in it yet.
    let made_at = path.to_owned();
    tx.on_rollback(move |repo: &Repo| forget_fresh_worktree(repo, &made_at));
    let made = lifecycle::create_worktree(
        repo,
        path,
        start,
        include_source,
        &[site.worktree_dir.to_owned()],
        progress,
    );
    crate::fault::point("worktree-added");
    // `git worktree add -b` made the branch, even when a later step failed.
    tx.record_external(&branch_ref, branch_before)?;
    let includes = made?;
    let path = canonical(path);
    tx.local_update(local, &session.meta.id, |s| {
        s.worktree = Some(path.clone());
        s.includes_pending = false;
        s.checkout_pending = false;
    })?;
    tx.worktree(WorktreeChange::Created {
        session: SessionRef {
            name: session.name().to_owned(),
            id: session.meta.id.clone(),
        },
        path: path.clone(),
        branch: session.meta.branch.clone(),
        head: repo.read_ref(&branch_ref)?.map(|h| h.to_string()),
        checkpoint: restore.map(|c| c.to_string()),
    });
    Ok((path, includes))
}

/// Checkpoint `target` is about to be put into the session's worktree: until
/// [`restore_done`], a kill leaves the restore marked unfinished (`doctor` reports it, the
/// next command that needs the worktree finishes it).
pub fn restore_begun(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    target: ObjectId,
) -> Result<(), crate::transaction::TxError> {
    let target = target.to_string();
    tx.local_update(local, &session.meta.id, move |s| {
        s.restore_pending = Some(target)
    })?;
    Ok(())
}

/// The checkpoint the worktree was made for is in place: nothing is left to finish.
pub fn restore_done(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
) -> Result<(), crate::transaction::TxError> {
    tx.local_update(local, &session.meta.id, |s| s.restore_pending = None)?;
    Ok(())
}

/// Finishes an include copy that was interrupted (the worktree exists; what it already has
/// wins, so a second copy only adds what is missing). None when nothing was pending.
pub fn finish_includes(
    _lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    session: &Session,
    path: &Path,
    progress: &dyn Progress,
) -> Result<Option<CopyReport>, CreateError> {
    if !local.get(&session.meta.id).includes_pending {
        return Ok(None);
    }
    let repo = tx.repo();
    let report = lifecycle::copy_includes_into(
        repo,
        site.main_root,
        path,
        &[site.worktree_dir.to_owned()],
        progress,
    )?;
    tx.local_update(local, &session.meta.id, |s| s.includes_pending = false)?;
    Ok(Some(report))
}

fn put_local(
    tx: &mut Transaction<'_>,
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
        last_active: tx.repo().now().ok(),
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
        captured: None,
        agent_state: None,
    };
    tx.local_put(local, &session.meta.id, Some(&state))?;
    Ok(())
}

/// Nanoseconds since the epoch (file modification times are compared against it).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Creates a session as `new`, `fork`, a take-up `--as` and Claude Code's `WorktreeCreate`
/// do, narrating it, and installs the git hooks into its worktree when they are installed
/// and it has a hooks directory of its own.
pub fn start(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    spec: NewSession,
    from: &str,
    reporter: &dyn crate::report::Reporter,
) -> Result<Created, CreateError> {
    let (name, branch) = (spec.name.clone(), spec.placement.branch.clone());
    if spec.placement.worktree.is_some() {
        reporter.status(&format!(
            "Creating worktree for session '{name}' on branch {branch} from {from}"
        ));
    }
    let progress = reporter.copy_progress();
    let created = create(tx, local, site, spec, progress.as_ref())?;
    if created.worktree.is_none() {
        reporter.status(&format!(
            "Created session '{name}' on branch {branch} (no worktree)"
        ));
    }
    if let Some(report) = &created.includes {
        report_includes(reporter, report);
    }
    if let Some(path) = &created.worktree {
        install_hooks(tx.repo(), path, reporter);
    }
    Ok(created)
}

/// Narrates a `.worktreeinclude` copy.
pub fn report_includes(reporter: &dyn crate::report::Reporter, report: &CopyReport) {
    if report.files + report.symlinks > 0 {
        reporter.status(&format!(
            "Copied {} file(s) and {} symlink(s) named by .worktreeinclude ({} KiB)",
            report.files,
            report.symlinks,
            report.bytes / 1024
        ));
    }
    for skipped in &report.skipped {
        reporter.warn(&format!(
            "not copied: {skipped} (the new worktree already has it, or a parent of it is a symlink there)"
        ));
    }
}

/// Installs the shims into a new worktree's own hooks directory (a relative
/// `core.hooksPath`) while the hooks are installed; a problem is a warning.
pub fn install_hooks(repo: &Repo, worktree: &Path, reporter: &dyn crate::report::Reporter) {
    match crate::git_hooks::install_for_new_worktree(repo, worktree) {
        Ok(Some(report)) => {
            let created = report
                .files
                .iter()
                .filter(|f| f.action == "created")
                .count();
            if created > 0 {
                reporter.status(&format!(
                    "Installed git-session's hooks in {}",
                    report.location.dir.display()
                ));
            }
        }
        Ok(None) => {}
        Err(e) => reporter.warn(&format!(
            "could not install git-session's hooks in the new worktree: {}",
            crate::text::one_line(&e)
        )),
    }
}

/// The branch and worktree path a new session `name` gets, refused when taken.
pub fn placement(
    repo: &Repo,
    site: &Site<'_>,
    branch_prefix: &str,
    name: &str,
    with_worktree: bool,
) -> super::OpResult<Placement> {
    check(repo, name, branch_prefix, site.worktree_dir, with_worktree).map_err(|e| match e {
        CreateError::BranchExists { branch } => {
            super::OpError::refused(format!("branch '{branch}' already exists")).hint(format!(
                "pick another session name, or delete the branch with `git branch -d {branch}`"
            ))
        }
        other => other.into(),
    })
}
