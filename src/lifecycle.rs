//! Operations that span the session store, worktrees, includes and checkpoints: finding a
//! session's worktree on this machine, judging whether it holds work, creating one with its
//! `.worktreeinclude` files, and retiring one without ever losing work.
//!
//! Like every domain module, this returns data and never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::git::{ObjectId, Repo, WorktreeInfo, canonical};
use crate::include::{self, CopyReport, IncludeRules};
use crate::session::{
    Event, EventKind, LocalStore, Session, SessionLock, Store, StoreError, saved,
};
use crate::worktree::{self, Start, WorktreeError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    #[error(transparent)]
    Include(#[from] include::IncludeError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Repo(#[from] crate::git::RepoError),
    #[error(transparent)]
    Saved(#[from] saved::SavedError),
    #[error("session '{name}' has no worktree on this machine")]
    NoWorktree { name: String },
    #[error("session '{name}': {what} was interrupted (the process doing it is gone)")]
    Interrupted { name: String, what: &'static str },
    #[error(transparent)]
    Busy(#[from] crate::session::Busy),
    #[error("{} holds a repository of its own, which is never deleted; move it away first", path.display())]
    HoldsRepositories { path: PathBuf },
}

/// Where a session's worktree is on this machine, if it has one: the recorded path when git
/// still lists it, else the linked worktree at the place `new` would have put it, when it has
/// the session's branch checked out. Never a worktree elsewhere: a fetched session names its
/// branch, and that must not lead `rm` or `gc` to another worktree on this machine.
pub fn find_worktree(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
) -> Result<Option<PathBuf>, LifecycleError> {
    Ok(find_worktree_in(&repo.linked_worktrees()?, local, session))
}

/// Like [`find_worktree`], over an already read list of linked worktrees.
pub fn find_worktree_in(
    worktrees: &[WorktreeInfo],
    local: &LocalStore,
    session: &Session,
) -> Option<PathBuf> {
    let listed = |path: &Path| worktrees.iter().find(|w| w.exists && w.path == path);
    let state = local.get(&session.meta.id);
    let recorded = state.worktree_of(session.name()).map(canonical);
    if let Some(path) = &recorded
        && listed(path).is_some()
    {
        return recorded;
    }
    let branch = session.meta.branch.as_str();
    let has_branch = |w: &&WorktreeInfo| {
        w.exists && worktree::checked_out_branch(&w.git_dir).as_deref() == Some(branch)
    };
    // This machine made the session under this name and branch: its worktree may have been
    // moved with `git worktree move`, and the branch says where it went.
    if recorded.is_some()
        && state.branch.as_deref() == Some(branch)
        && let Some(found) = worktrees.iter().find(has_branch)
    {
        return Some(found.path.clone());
    }
    let expected = canonical(&local.expected_worktree(session.name())?);
    listed(&expected)
        .filter(has_branch)
        .map(|found| found.path.clone())
}

/// What a worktree holds that is not safe elsewhere.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WorkState {
    /// Modified, staged, deleted and untracked (not ignored) paths.
    pub changes: Vec<String>,
    /// Commits on HEAD that are on neither the base, the base ref now, nor the upstream.
    pub unmerged_commits: usize,
    /// Ignored files `.worktreeinclude` names that the session changed or created (modified
    /// since the worktree was made). No checkpoint holds them.
    pub ignored_work: Vec<String>,
    /// Making the worktree was interrupted (what): it is half-made, nobody's work, and was
    /// not scanned. Retiring salvages and removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

impl WorkState {
    pub fn has_work(&self) -> bool {
        !self.changes.is_empty() || self.unmerged_commits > 0 || !self.ignored_work.is_empty()
    }

    /// Whether the only work is commits (pushing them makes it safe).
    pub fn only_commits(&self) -> bool {
        self.changes.is_empty() && self.ignored_work.is_empty() && self.unmerged_commits > 0
    }

    /// Why the worktree is kept, in a few words.
    pub fn reason(&self) -> String {
        let mut parts = Vec::new();
        if !self.changes.is_empty() {
            parts.push(format!(
                "{} uncommitted or untracked file(s)",
                self.changes.len()
            ));
        }
        if !self.ignored_work.is_empty() {
            parts.push(format!(
                "{} ignored file(s) named by .worktreeinclude that the session changed or created ({})",
                self.ignored_work.len(),
                abbreviated(&self.ignored_work)
            ));
        }
        if self.unmerged_commits > 0 {
            parts.push(format!(
                "{} commit(s) not on its base or upstream",
                self.unmerged_commits
            ));
        }
        parts.join(" and ")
    }
}

fn abbreviated(paths: &[String]) -> String {
    let mut text = paths.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if paths.len() > 3 {
        text.push_str(&format!(", … {} more", paths.len() - 3));
    }
    text
}

/// Looks at a session's worktree: uncommitted changes, commits beyond what is safe, and
/// ignored files named by `.worktreeinclude` that the session changed or created.
pub fn work_state(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
) -> Result<WorkState, LifecycleError> {
    let state = local.get(&session.meta.id);
    if state.checkout_pending {
        return Ok(WorkState {
            interrupted: state.pending().map(str::to_owned),
            ..Default::default()
        });
    }
    let wt = repo.open_worktree(worktree_path)?;
    let changes = wt.changed_paths()?;
    let unmerged_commits = match wt.head_commit()? {
        Some(head) => repo.count_ahead(head, &safe_tips(repo, session))?,
        None => 0,
    };
    let since = local
        .get(&session.meta.id)
        .worktree_created_ns
        .or_else(|| git_file_mtime(worktree_path));
    let ignored_work = match (repo.workdir(), since) {
        (Some(main_root), Some(since)) => ignored_work(repo, &main_root, worktree_path, since)?,
        _ => Vec::new(),
    };
    Ok(WorkState {
        changes,
        unmerged_commits,
        ignored_work,
        interrupted: None,
    })
}

/// When `git worktree add` wrote the worktree's `.git` file: the creation time of worktrees
/// made before it was recorded.
fn git_file_mtime(worktree: &Path) -> Option<u64> {
    let modified = std::fs::symlink_metadata(worktree.join(".git"))
        .ok()?
        .modified()
        .ok()?;
    Some(
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos() as u64,
    )
}

/// The ignored regular files in `worktree` that the main worktree's `.worktreeinclude`
/// names and that were modified after `since_ns`: copies keep their source's modification
/// time, so these were changed or created by the session. Symlinks are not counted.
fn ignored_work(
    repo: &Repo,
    main_root: &Path,
    worktree: &Path,
    since_ns: u64,
) -> Result<Vec<String>, LifecycleError> {
    let Some(rules) = IncludeRules::load(main_root)? else {
        return Ok(Vec::new());
    };
    let root = canonical(worktree);
    let ignored = repo.open_worktree(&root)?.ignored_entries()?;
    let plan = include::plan(&rules, &root, &ignored, &[])?;
    let since = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(since_ns);
    let mut out: Vec<String> = include::planned_files(&plan, &root)?
        .into_iter()
        .filter(|rel| {
            std::fs::symlink_metadata(root.join(rel))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > since)
        })
        .map(|rel| rel.to_string_lossy().into_owned())
        .collect();
    out.sort();
    Ok(out)
}

/// Commits whose history is safe elsewhere: the base commit, and what remote-tracking refs
/// hold (the base ref when it names one, like `origin/HEAD`, and the branch's upstream). Only
/// remote-tracking refs count: session.yaml may come from a remote, and a `base_ref` naming a
/// local branch (even the session's own) must not make unpushed commits look safe.
fn safe_tips(repo: &Repo, session: &Session) -> Vec<ObjectId> {
    let mut tips = Vec::new();
    if let Ok(base) = ObjectId::from_hex(session.meta.base.as_bytes()) {
        tips.push(base);
    }
    let base_ref = session.meta.base_ref.trim_start_matches("refs/remotes/");
    if let Ok(Some(id)) = repo.read_ref(&format!("refs/remotes/{base_ref}")) {
        tips.push(id);
    }
    let branch = &session.meta.branch;
    if let (Some(remote), Some(merge)) = (
        repo.config_string(&format!("branch.{branch}.remote")),
        repo.config_string(&format!("branch.{branch}.merge")),
    ) && remote != "."
        && let Ok(Some(id)) = repo.read_ref(&format!(
            "refs/remotes/{remote}/{}",
            merge.trim_start_matches("refs/heads/")
        ))
    {
        tips.push(id);
    }
    tips
}

/// Creates a worktree and copies `.worktreeinclude` files from `include_source` into it. The
/// copy runs while git checks the worktree out (into a staging directory next to it) and is
/// moved into place afterwards; `progress` hears how the copy advances.
pub fn create_worktree(
    repo: &Repo,
    path: &Path,
    start: &Start,
    include_source: Option<&Path>,
    skip_dirs: &[PathBuf],
    progress: &dyn include::Progress,
) -> Result<Option<CopyReport>, LifecycleError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let plan = match include_source {
        Some(source) => plan_includes(repo, source, skip_dirs)?,
        None => None,
    };
    let Some((source, plan)) = plan.filter(|(_, p)| !p.is_empty()) else {
        worktree::add(repo, path, start)?;
        return Ok(include_source.map(|_| CopyReport::default()));
    };
    let staging = include::Staging::new_in(parent)?;
    let (added, copied) = std::thread::scope(|scope| {
        let copier =
            scope.spawn(|| include::copy_planned(&plan, &source, staging.path(), progress));
        let added = worktree::add(repo, path, start);
        (
            added,
            copier.join().expect("the copy thread does not panic"),
        )
    });
    added?;
    let mut report = copied?;
    include::move_into_worktree(&plan, staging.path(), path, &mut report);
    Ok(Some(report))
}

/// Copies `.worktreeinclude` files from `source` into an existing worktree at `path` (to
/// finish a copy a killed process left undone): what the worktree already has wins.
pub fn copy_includes_into(
    repo: &Repo,
    source: &Path,
    path: &Path,
    skip_dirs: &[PathBuf],
    progress: &dyn include::Progress,
) -> Result<CopyReport, LifecycleError> {
    let Some((source, plan)) =
        plan_includes(repo, source, skip_dirs)?.filter(|(_, p)| !p.is_empty())
    else {
        return Ok(CopyReport::default());
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    let staging = include::Staging::new_in(parent)?;
    let mut report = include::copy_planned(&plan, &source, staging.path(), progress)?;
    include::move_into_worktree(&plan, staging.path(), path, &mut report);
    Ok(report)
}

fn plan_includes(
    repo: &Repo,
    source: &Path,
    skip_dirs: &[PathBuf],
) -> Result<Option<(PathBuf, Vec<include::PlannedCopy>)>, LifecycleError> {
    let source = canonical(source);
    // The rules are the main worktree's `.worktreeinclude` (tracked or not), whichever
    // worktree the files come from (a fork copies from its source's).
    let rules_root = repo.workdir().unwrap_or_else(|| source.clone());
    let Some(rules) = IncludeRules::load(&rules_root)? else {
        return Ok(None);
    };
    let source_repo = repo.open_worktree(&source)?;
    let ignored = source_repo.ignored_entries()?;
    // Other worktrees inside the source (sessions' own, wherever worktreeDir pointed when
    // they were made) are never copied: their `.git` file would bind the copy to them.
    let linked: Vec<PathBuf> = repo
        .linked_worktrees()?
        .into_iter()
        .map(|w| w.path)
        .collect();
    let skip: Vec<String> = skip_dirs
        .iter()
        .chain(&linked)
        .filter_map(|d| {
            crate::git::normalize(d)
                .strip_prefix(&source)
                .ok()
                .map(|r| r.to_string_lossy().into_owned())
        })
        .filter(|r| !r.is_empty())
        .collect();
    let plan = include::plan(&rules, &source, &ignored, &skip)?;
    Ok(Some((source, plan)))
}

/// The commit the session's branch was last known at, from its log: the newest of a branch
/// tip kept before deleting the branch and the HEAD of a checkpoint.
pub fn last_known_head(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
) -> Result<Option<ObjectId>, LifecycleError> {
    for (kind, linked) in store.links(session)? {
        match kind {
            EventKind::KeptBranchTip if repo.has_object(linked) => return Ok(Some(linked)),
            kind if kind.links_checkpoint() => {
                if let Ok(snapshot) = checkpoint::Snapshot::read(repo, linked)
                    && let Some(head) = snapshot.head
                {
                    return Ok(Some(head));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// The session's latest checkpoint when it holds uncommitted work taken on `head` (so
/// putting its files back on that commit reverts no commit).
pub fn restorable_checkpoint(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
    head: Option<ObjectId>,
) -> Result<Option<checkpoint::Snapshot>, LifecycleError> {
    let Some(latest) = store.latest_checkpoint(session)? else {
        return Ok(None);
    };
    let snapshot = checkpoint::Snapshot::read(repo, latest)?;
    let Some(head) = head else {
        return Ok(None);
    };
    if snapshot.head != Some(head) {
        return Ok(None);
    }
    let head_tree = repo.read_commit(head)?.tree;
    Ok((snapshot.tree != head_tree || snapshot.staged.is_some()).then_some(snapshot))
}

/// A clean worktree about to be removed whose latest checkpoint holds uncommitted work (since
/// deleted or committed): a checkpoint of the clean state is recorded (no scan: it is HEAD's
/// tree), so a later `resume` does not bring back what the user had thrown away.
fn record_clean_state(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
    wt: &Repo,
) -> Result<(), LifecycleError> {
    if restorable_checkpoint(repo, store, session, wt.head_commit()?)?.is_none() {
        return Ok(());
    }
    let Some(head) = wt.head_commit()? else {
        return Ok(());
    };
    let message = "clean when its worktree was removed";
    let id = repo.write_commit(repo.read_commit(head)?.tree, &[head], message)?;
    store.record(
        session.name(),
        Event::linking(EventKind::Checkpoint, id, message),
        |_, _| {},
    )?;
    Ok(())
}

/// A checkpoint as recorded in a session's log.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub id: ObjectId,
    /// The HEAD it was taken on (its first parent).
    pub head: Option<ObjectId>,
    /// False when nothing changed since the last checkpoint, which was reused.
    pub new: bool,
}

/// How a checkpoint is taken.
#[derive(Debug, Clone, Copy)]
pub struct Take<'m> {
    pub message: &'m str,
    /// Recorded by a background process: the session's last activity stays as it was.
    pub background: bool,
    /// Record nothing when the worktree is clean (its files and index are HEAD's).
    pub only_if_dirty: bool,
    /// What to do when a command that was putting a checkpoint into the worktree was
    /// interrupted (a half-restored tree).
    pub when_pending: WhenPending,
}

/// What a checkpoint of a half-restored worktree does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenPending {
    /// Refuse: `resume` finishes the restore first.
    Refuse,
    /// Take it as a checkpoint (a rewind that finishes the restore records it first).
    Checkpoint,
    /// Keep it as a `salvaged:` event, never the latest checkpoint (the checkpoint being put
    /// in stays the latest, so `resume` brings it whole): a forced removal.
    Salvage,
}

impl<'m> Take<'m> {
    pub fn new(message: &'m str) -> Take<'m> {
        Take {
            message,
            background: false,
            only_if_dirty: false,
            when_pending: WhenPending::Refuse,
        }
    }

    #[must_use]
    pub fn when_pending(self, when_pending: WhenPending) -> Self {
        Take {
            when_pending,
            ..self
        }
    }

    #[must_use]
    pub fn in_background(self) -> Self {
        Take {
            background: true,
            ..self
        }
    }

    #[must_use]
    pub fn if_dirty(self) -> Self {
        Take {
            only_if_dirty: true,
            ..self
        }
    }
}

/// Takes a checkpoint of the session's worktree and links it into the session's log, unless
/// nothing changed since the last one (same tree, same HEAD), which is then returned. Waits
/// for the session's lock: a worktree being removed, made or rewound is never snapshotted
/// half-way (after the wait it is judged again, see [`checkpoint_locked`]).
pub fn record_checkpoint(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    message: &str,
) -> Result<Recorded, LifecycleError> {
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())?;
    let recorded = checkpoint_locked(
        &lock,
        repo,
        store,
        local,
        session,
        worktree_path,
        Take::new(message),
    )?;
    Ok(recorded.expect("a checkpoint is recorded unless only_if_dirty"))
}

/// Takes a checkpoint when the worktree differs from its HEAD (files or staged state) and
/// from the last checkpoint; None when it is clean. Waits for the session's lock.
pub fn checkpoint_if_dirty(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    message: &str,
) -> Result<Option<Recorded>, LifecycleError> {
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())?;
    checkpoint_locked(
        &lock,
        repo,
        store,
        local,
        session,
        worktree_path,
        Take::new(message).if_dirty(),
    )
}

/// The one writer of checkpoints, under the session's lock. The session and its worktree are
/// judged as they are now, not as the caller saw them before it got the lock: the session
/// must still have this worktree (a removal that just finished leaves none), and no checkout
/// or restore may be pending in it (a half-made tree is nobody's work).
pub fn checkpoint_locked(
    lock: &SessionLock,
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    worktree_path: &Path,
    take: Take<'_>,
) -> Result<Option<Recorded>, LifecycleError> {
    let fresh = store.load(session.name())?;
    if fresh.meta.id != lock.id() {
        return Err(LifecycleError::NoWorktree {
            name: session.name().to_owned(),
        });
    }
    let wanted = canonical(worktree_path);
    if find_worktree(repo, local, &fresh)?.as_deref() != Some(wanted.as_path()) {
        return Err(LifecycleError::NoWorktree {
            name: session.name().to_owned(),
        });
    }
    let state = local.get(&fresh.meta.id);
    let half_made = state.checkout_pending || state.restore_pending.is_some();
    if half_made
        && (state.checkout_pending || take.when_pending == WhenPending::Refuse)
        && let Some(what) = state.pending()
    {
        return Err(LifecycleError::Interrupted {
            name: session.name().to_owned(),
            what,
        });
    }
    let wt = repo.open_worktree(&wanted)?;
    let capture = checkpoint::capture(&wt)?;
    if half_made && take.when_pending == WhenPending::Salvage {
        let id = checkpoint::commit(&wt, &capture, take.message)?;
        store.record(
            session.name(),
            Event::linking(EventKind::Salvaged, id, take.message),
            |_, _| {},
        )?;
        return Ok(Some(Recorded {
            id,
            head: capture.head,
            new: true,
        }));
    }
    if take.only_if_dirty {
        let clean = match capture.head {
            Some(head) => capture.staged.is_none() && repo.read_commit(head)?.tree == capture.tree,
            None => false,
        };
        if clean {
            return Ok(None);
        }
    }
    Ok(Some(record_captured(
        repo,
        store,
        &fresh,
        &wt,
        capture,
        take.message,
        take.background,
    )?))
}

/// Links `capture` into the log as a checkpoint event (`background`: see
/// [`Event::in_background`]).
fn record_captured(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
    wt: &Repo,
    capture: checkpoint::Capture,
    message: &str,
    background: bool,
) -> Result<Recorded, LifecycleError> {
    if let Some(last) = session.meta.last_checkpoint_id()
        && let Ok(last) = checkpoint::Snapshot::read(repo, last)
        && last.tree == capture.tree
        && last.head == capture.head
        && last.staged == capture.staged
    {
        let last = last.id;
        return Ok(Recorded {
            id: last,
            head: capture.head,
            new: false,
        });
    }
    let id = checkpoint::commit(wt, &capture, message)?;
    let event = Event::linking(EventKind::Checkpoint, id, message);
    let event = if background {
        event.in_background()
    } else {
        event
    };
    store.record(session.name(), event, |_, _| {})?;
    Ok(Recorded {
        id,
        head: capture.head,
        new: true,
    })
}

/// git's record of this session's worktree when its directory is gone (deleted, or moved by
/// hand without `git worktree move`), so its branch can be checked out or deleted again.
/// Only this session's: another worktree's directory may be on a disk not mounted now. What
/// was staged there is linked into the log first (its commits are on the branch; its files,
/// if it was moved, stay wherever they are).
pub fn forget_missing_worktrees(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    expected: Option<&Path>,
) -> Result<Vec<PathBuf>, LifecycleError> {
    let branch = &session.meta.branch;
    let mut paths: Vec<PathBuf> = local.get(&session.meta.id).worktree.into_iter().collect();
    paths.extend(expected.map(Path::to_path_buf));
    let tip = repo.read_ref(&format!("refs/heads/{branch}"))?;
    let mut forgotten = Vec::new();
    for missing in worktree::missing_of(repo, branch, &paths)? {
        if let Some(head) = worktree::missing_head(repo, &missing) {
            let staged = worktree::staged_tree(repo, &missing);
            let head_tree = repo.read_commit(head)?.tree;
            // A detached HEAD with commits of its own is kept reachable too.
            let own_commits = tip.is_none_or(|tip| repo.count_ahead(head, &[tip]).unwrap_or(1) > 0);
            let staged_work = staged.is_some_and(|t| t != head_tree);
            // The latest checkpoint may hold it already (taken on that HEAD, same staged state).
            let covered = store.latest_checkpoint(session)?.is_some_and(|c| {
                checkpoint::Snapshot::read(repo, c)
                    .is_ok_and(|s| s.head == Some(head) && (!staged_work || s.staged == staged))
            });
            if (staged_work || own_commits) && !covered {
                let message = format!(
                    "what the missing worktree at {} had staged",
                    missing.path.display()
                );
                let kept = repo.write_commit(staged.unwrap_or(head_tree), &[head], &message)?;
                store.record(
                    session.name(),
                    Event::linking(EventKind::KeptStaged, kept, &message),
                    |_, _| {},
                )?;
            }
        }
        worktree::forget(&missing)?;
        forgotten.push(missing.path);
    }
    Ok(forgotten)
}

/// What happened to a worktree being retired.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retirement {
    pub worktree: Option<PathBuf>,
    pub removed: bool,
    pub branch_deleted: bool,
    /// The safety checkpoint taken before removing work, if any.
    pub checkpoint: Option<String>,
    /// Where the ignored files the session changed were saved before a forced removal.
    pub saved_files: Option<PathBuf>,
    /// Why the worktree was kept, when it was.
    pub kept_because: Option<String>,
    /// Kept because it holds repositories of its own (forcing does not help).
    pub holds_repositories: bool,
    /// Kept only because of commits that are not on the base or upstream (push them).
    pub only_commits: bool,
    /// Worktrees of the session whose directories were gone (deleted, or moved without
    /// `git worktree move`): git's record of them was dropped.
    pub missing: Vec<PathBuf>,
    /// A half-made worktree (a killed `new`, `fork` or `resume`) was removed: what was
    /// interrupted, and the commit keeping what looked like work in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<crate::repair::Undone>,
}

/// What retiring a session would do, judged without changing anything: `gc --dry-run`
/// prints it, `end`, `rm` and `gc` carry it out with [`execute`].
#[derive(Debug, Clone)]
pub struct RetirePlan {
    /// The session's worktree here and what it holds.
    pub worktree: Option<(PathBuf, WorkState)>,
    /// Why it can never be removed: repositories of its own.
    pub repositories: Option<String>,
    /// The branch tip retiring may delete (created here, checked out nowhere else).
    pub branch_tip: Option<ObjectId>,
    /// That tip has commits on neither the base nor the upstream.
    pub branch_unmerged: bool,
    pub branch: String,
}

impl RetirePlan {
    /// Why retiring (with `force` or not) would keep the worktree or the branch.
    pub fn kept_because(&self, force: bool) -> Option<String> {
        if let Some((_, work)) = &self.worktree
            && work.has_work()
            && !force
        {
            return Some(work.reason());
        }
        if let Some(why) = &self.repositories {
            return Some(why.clone());
        }
        (self.branch_unmerged && !force).then(|| unmerged_branch_text(&self.branch))
    }
}

/// Judges what retiring `session` would do. `located` is its worktree and work, when the
/// caller found them already; otherwise they are looked up here.
pub fn plan(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    located: Option<Option<(PathBuf, WorkState)>>,
) -> Result<RetirePlan, LifecycleError> {
    let worktree = match located {
        Some(located) => located,
        None => match find_worktree(repo, local, session)? {
            Some(path) => {
                let work = work_state(repo, local, session, &path)?;
                Some((path, work))
            }
            None => None,
        },
    };
    let repositories = match &worktree {
        Some((_, work)) if work.interrupted.is_some() => None,
        Some((path, _)) => holds_repositories(&repo.open_worktree(path)?)?,
        None => None,
    };
    let except = worktree.as_ref().map(|(path, _)| path.as_path());
    let branch_tip = deletable_branch_tip(repo, local, session, except)?;
    let branch_unmerged = match branch_tip {
        Some(tip) => repo.count_ahead(tip, &safe_tips(repo, session))? > 0,
        None => false,
    };
    Ok(RetirePlan {
        worktree,
        repositories,
        branch_tip,
        branch_unmerged,
        branch: session.meta.branch.clone(),
    })
}

/// Removes a session's worktree and branch. With work in it, keeps it unless `force`, and
/// when forced, checkpoints first so the work stays reachable from the session's log.
pub fn retire(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    force: bool,
) -> Result<Retirement, LifecycleError> {
    let plan = plan(repo, local, session, None)?;
    execute(repo, store, local, session, &plan, force)
}

/// Carries out a [`RetirePlan`]: checkpoint and save first when forced over work, then remove
/// the worktree and the branch, keeping what the plan says must stay.
pub fn execute(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    plan: &RetirePlan,
    force: bool,
) -> Result<Retirement, LifecycleError> {
    let mut out = Retirement {
        worktree: plan.worktree.as_ref().map(|(path, _)| path.clone()),
        removed: false,
        branch_deleted: false,
        checkpoint: None,
        saved_files: None,
        kept_because: None,
        holds_repositories: false,
        only_commits: false,
        missing: Vec::new(),
        interrupted: None,
    };
    // The HEAD the safety checkpoint was taken on: its history is reachable from the log.
    let mut covered_head = None;
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())?;
    if let Some((path, work)) = &plan.worktree
        && work.interrupted.is_some()
    {
        // Half-made: what looks like work is salvaged into the log, then it goes.
        match crate::repair::undo_interrupted(&lock, repo, store, local, session)? {
            Some(undone) => {
                out.removed = undone.removed.is_some();
                out.checkpoint = undone.salvaged.clone();
                out.interrupted = Some(undone);
            }
            None => {
                out.kept_because = Some(format!(
                    "{} finished while this command looked at it; run the command again",
                    work.interrupted.as_deref().unwrap_or("making it")
                ));
                return Ok(out);
            }
        }
        let _ = path;
    } else if let Some((path, work)) = &plan.worktree {
        if work.has_work() && !force {
            out.kept_because = Some(work.reason());
            out.only_commits = work.only_commits();
            return Ok(out);
        }
        let wt = repo.open_worktree(path)?;
        let before_removal =
            Take::new("before removing the worktree").when_pending(WhenPending::Salvage);
        if work.has_work() {
            let ckpt = checkpoint_locked(&lock, repo, store, local, session, path, before_removal)?
                .expect("recorded");
            out.checkpoint = Some(ckpt.id.to_string());
            covered_head = ckpt.head;
        }
        if !work.ignored_work.is_empty() {
            let stamp = repo.now()?;
            let saved = saved::save(
                &repo.common_dir(),
                &session.meta.id,
                session.name(),
                stamp,
                path,
                &work.ignored_work,
            )?;
            out.saved_files = Some(saved);
        }
        if let Some(why) = &plan.repositories {
            out.kept_because = Some(why.clone());
            out.holds_repositories = true;
            return Ok(out);
        }
        if let Some(reason) = worktree::lock_reason(repo, path)? {
            out.kept_because = Some(format!(
                "git has it locked ({reason}); `git worktree unlock {}` unlocks it",
                crate::post_create::shell_quote(&path.to_string_lossy())
            ));
            return Ok(out);
        }
        if !work.has_work() {
            record_clean_state(repo, store, session, &wt)?;
        }
        // Judged clean before the lock: git judges again (no --force), and what appeared
        // meanwhile is checkpointed before a forced removal.
        let mut removed = worktree::remove(repo, path, force && work.has_work());
        if removed.is_err() && force && !work.has_work() {
            let ckpt = checkpoint_locked(&lock, repo, store, local, session, path, before_removal)?
                .expect("recorded");
            out.checkpoint = Some(ckpt.id.to_string());
            covered_head = ckpt.head;
            removed = worktree::remove(repo, path, true);
        }
        if let Err(e) = removed {
            if force {
                return Err(e.into());
            }
            out.kept_because = Some(format!(
                "git refused to remove it: {}",
                crate::text::one_line(&e)
            ));
            return Ok(out);
        }
        out.removed = true;
    } else {
        out.missing = forget_missing_worktrees(repo, store, local, session, None)?;
    }
    let branch = &session.meta.branch;
    if let Some(tip) = plan.branch_tip {
        let covered = covered_head == Some(tip);
        let unmerged = !covered && plan.branch_unmerged;
        if unmerged && !force {
            out.kept_because = Some(unmerged_branch_text(branch));
            out.only_commits = true;
        } else {
            // Keep the branch's commits reachable from the log before deleting it. Even when
            // they look safe: that judgement trusts `base` from session.yaml, which may come
            // from a remote, so no other ref holding them means they are kept.
            if unmerged || (!covered && !held_by_other_refs(repo, branch, tip)?) {
                let message = format!("tip of branch {branch} before deleting it");
                store.record(
                    session.name(),
                    Event::linking(EventKind::KeptBranchTip, tip, &message),
                    |_, _| {},
                )?;
            }
            out.branch_deleted = worktree::delete_branch(repo, branch, tip)?;
        }
    }
    local.update(&session.meta.id, |s| s.worktree = None).ok();
    Ok(out)
}

fn has_submodule_repositories(wt: &Repo) -> bool {
    std::fs::read_dir(wt.git_dir().join("modules")).is_ok_and(|mut d| d.next().is_some())
}

/// Why a worktree holding repositories of its own is never removed, clean or forced:
/// submodules keep their commits in its git directory, nested repositories (even ignored
/// ones, which `git worktree remove` deletes without asking) in themselves, and no
/// checkpoint can hold either.
fn holds_repositories(wt: &Repo) -> Result<Option<String>, LifecycleError> {
    let mut repositories: Vec<String> = wt
        .nested_repositories()?
        .iter()
        .map(|p| crate::git::printable_path(p))
        .collect();
    if repositories.is_empty() && has_submodule_repositories(wt) {
        repositories.push("submodules".to_owned());
    }
    Ok((!repositories.is_empty()).then(|| {
        format!(
            "it holds repositories whose history no checkpoint can hold: {}",
            repositories.join(", ")
        )
    }))
}

fn unmerged_branch_text(branch: &str) -> String {
    format!("branch '{branch}' has commits not on its base or upstream")
}

/// The tip of the session's branch when retiring may delete it: git-session created it on
/// this machine and no worktree (other than `except`, about to go) has it checked out.
fn deletable_branch_tip(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    except: Option<&Path>,
) -> Result<Option<ObjectId>, LifecycleError> {
    let branch = &session.meta.branch;
    if !local.get(&session.meta.id).created_branch(branch)
        || branch_checked_out_elsewhere(repo, branch, except)?
    {
        return Ok(None);
    }
    Ok(repo.read_ref(&format!("refs/heads/{branch}"))?)
}

/// Whether another local branch or a remote-tracking ref holds every commit of `tip`.
fn held_by_other_refs(repo: &Repo, branch: &str, tip: ObjectId) -> Result<bool, LifecycleError> {
    let own = format!("refs/heads/{branch}");
    let mut others = Vec::new();
    for prefix in ["refs/heads/", "refs/remotes/"] {
        others.extend(
            repo.list_refs(prefix)?
                .into_iter()
                .filter(|(name, _)| *name != own)
                .map(|(_, id)| id),
        );
    }
    Ok(repo.count_ahead(tip, &others)? == 0)
}

/// Whether `branch` is checked out in the main worktree or a linked one other than `except`.
pub fn branch_checked_out_elsewhere(
    repo: &Repo,
    branch: &str,
    except: Option<&Path>,
) -> Result<bool, LifecycleError> {
    let linked = repo.linked_worktrees()?;
    if linked.iter().any(|w| {
        // A worktree deleted by hand is pruned before a branch is judged: it holds nothing.
        w.exists
            && Some(w.path.as_path()) != except
            && worktree::checked_out_branch(&w.git_dir).as_deref() == Some(branch)
    }) {
        return Ok(true);
    }
    let main_head = repo.main()?.head_ref_name()?;
    Ok(main_head.is_some_and(|n| n == format!("refs/heads/{branch}")))
}
