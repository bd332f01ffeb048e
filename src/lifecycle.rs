//! Operations that span the session store, worktrees, includes and checkpoints: finding a
//! session's worktree on this machine, judging whether it holds work, creating one with its
//! `.worktreeinclude` files, and retiring one without ever losing work.
//!
//! Like every domain module, this returns data and never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::git::{ObjectId, Repo, WorktreeInfo, canonical};
use crate::include::{self, CopyReport, IncludeRules};
use crate::session::{EventKind, LocalStore, Session, Store, StoreError, saved};
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
    #[error(
        "{error}; the worktree is left at {} (moving it back to {} failed: {back})",
        aside.display(),
        path.display()
    )]
    LeftAside {
        error: String,
        aside: PathBuf,
        path: PathBuf,
        back: String,
    },
    #[error("session '{name}' has no worktree on this machine")]
    NoWorktree { name: String },
    #[error("session '{name}': {what} was interrupted (the process doing it is gone)")]
    Interrupted { name: String, what: &'static str },
    #[error(transparent)]
    Busy(#[from] crate::session::Busy),
    #[error(transparent)]
    Tx(#[from] crate::transaction::TxError),
    #[error("{} holds a repository of its own, which is never deleted; move it away first", path.display())]
    HoldsRepositories { path: PathBuf },
    #[error(
        "session '{name}' has its worktree left aside at {} by a command that was killed; nothing was changed",
        aside.display()
    )]
    StillAside { name: String, aside: PathBuf },
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
    // Where this machine recorded it, still a worktree of this repository there: what the
    // listing below would find first, without reading every worktree's files. A path that
    // leads elsewhere now (a symlink in its place) is left to the listing.
    let state = local.get(&session.meta.id);
    if let Some((stored, now)) = recorded_worktree(&state, session.name())
        && now == stored
        && !worktree::is_set_aside(&stored)
        && repo.is_linked_worktree_at(&stored)
    {
        return Ok(Some(stored));
    }
    Ok(find_worktree_in(&repo.linked_worktrees()?, local, session))
}

/// Where this machine recorded the session's worktree, as recorded (resolved then) and as it
/// resolves now: the two differ when a symlink was put in its place.
fn recorded_worktree(state: &crate::session::LocalState, name: &str) -> Option<(PathBuf, PathBuf)> {
    let stored = crate::git::clean_path(state.worktree_of(name)?);
    let now = canonical(&stored);
    Some((stored, now))
}

/// Whether the session has a worktree here, or one a killed removal or sync left aside
/// (which the commands that take the session's lock put back first).
pub fn has_worktree_here(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
) -> Result<bool, LifecycleError> {
    let worktrees = repo.linked_worktrees()?;
    if find_worktree_in(&worktrees, local, session).is_some() {
        return Ok(true);
    }
    let state = local.get(&session.meta.id);
    let recorded = state.worktree_of(session.name()).map(crate::git::normalize);
    Ok(!worktree::asides_of(&worktrees, recorded.as_deref(), &session.meta.branch).is_empty())
}

/// Like [`find_worktree`], over an already read list of linked worktrees.
pub fn find_worktree_in(
    worktrees: &[WorktreeInfo],
    local: &LocalStore,
    session: &Session,
) -> Option<PathBuf> {
    // A worktree a killed removal or sync moved aside is nobody's until it is put back
    // (`end`, `sync`, `resume` and `doctor --fix` do that under the session's lock).
    // Its `.git` must name git's record of it back: git run in a worktree whose `.git` was
    // made to name another repository's acts on that repository.
    let listed = |path: &Path| {
        worktrees.iter().find(|w| {
            w.exists && w.path == path && !worktree::is_set_aside(&w.path) && w.names_back()
        })
    };
    let branch = session.meta.branch.as_str();
    let has_branch = |w: &&WorktreeInfo| {
        w.exists
            && !worktree::is_set_aside(&w.path)
            && worktree::checked_out_branch(&w.git_dir).as_deref() == Some(branch)
            && w.names_back()
    };
    let state = local.get(&session.meta.id);
    let recorded = recorded_worktree(&state, session.name());
    // A recorded path that now leads elsewhere (a symlink put in its place) may lead to
    // another session's worktree: taken only with the session's branch checked out there.
    let redirected = recorded.as_ref().is_some_and(|(stored, now)| stored != now);
    let recorded = recorded.map(|(_, now)| now);
    if let Some(path) = &recorded
        && let Some(found) = listed(path)
        && (!redirected || has_branch(&found))
    {
        return recorded;
    }
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
    /// Tracked files git was told not to look at (`--assume-unchanged`, `--skip-worktree`)
    /// that differ from the index: no checkpoint holds them either.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden_edits: Vec<String>,
    /// Making the worktree was interrupted (what): it is half-made, nobody's work, and was
    /// not scanned. Retiring salvages and removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

impl WorkState {
    pub fn has_work(&self) -> bool {
        !self.changes.is_empty()
            || self.unmerged_commits > 0
            || !self.ignored_work.is_empty()
            || !self.hidden_edits.is_empty()
    }

    /// The files a forced removal saves machine-locally (`resume` puts them back): the
    /// ignored work and the hidden edits, which no checkpoint holds.
    pub fn files_to_save(&self) -> Vec<String> {
        let mut files = self.ignored_work.clone();
        files.extend(self.hidden_edits.iter().cloned());
        files
    }

    /// Whether the only work is commits (pushing them makes it safe).
    pub fn only_commits(&self) -> bool {
        self.changes.is_empty()
            && self.ignored_work.is_empty()
            && self.hidden_edits.is_empty()
            && self.unmerged_commits > 0
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
        if !self.hidden_edits.is_empty() {
            parts.push(format!(
                "{} file(s) changed that git was told not to look at (assume-unchanged or skip-worktree: {})",
                self.hidden_edits.len(),
                abbreviated(&self.hidden_edits)
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
    let (changes, hidden_edits) = wt.changed_and_hidden()?;
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
        hidden_edits,
        interrupted: None,
    })
}

/// The ignored files `.worktreeinclude` names that were changed or created in the
/// worktree at `path` (of session `id`) since it was made.
pub fn ignored_work_since_made(
    repo: &Repo,
    local: &LocalStore,
    id: &str,
    path: &Path,
) -> Result<Vec<String>, LifecycleError> {
    let since = local
        .get(id)
        .worktree_created_ns
        .or_else(|| git_file_mtime(path));
    match (repo.main()?.workdir(), since) {
        (Some(main_root), Some(since)) => ignored_work(repo, &main_root, path, since),
        _ => Ok(Vec::new()),
    }
}

/// The ignored files `.worktreeinclude` names in the worktree at `path` whose content is
/// not the main worktree's (a new worktree would not get them back by copying).
pub fn ignored_unlike_main(repo: &Repo, path: &Path) -> Result<Vec<String>, LifecycleError> {
    let Some(main_root) = repo.main()?.workdir() else {
        return Ok(Vec::new());
    };
    let root = canonical(path);
    Ok(ignored_work(repo, &main_root, &root, 0)?
        .into_iter()
        .filter(|rel| std::fs::read(root.join(rel)).ok() != std::fs::read(main_root.join(rel)).ok())
        .collect())
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
pub fn safe_tips(repo: &Repo, session: &Session) -> Vec<ObjectId> {
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
        crate::git::fsmonitor::watch_new(repo.gix(), path);
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
    crate::git::fsmonitor::watch_new(repo.gix(), path);
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
