//! Operations that span the session store, worktrees, includes and checkpoints: finding a
//! session's worktree on this machine, judging whether it holds work, creating one with its
//! `.worktreeinclude` files, and retiring one without ever losing work.
//!
//! Like every domain module, this returns data and never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::git::{ObjectId, Repo, WorktreeInfo, canonical};
use crate::include::{self, CopyReport, IncludeRules};
use crate::session::{Event, EventKind, LocalStore, Session, Store, StoreError};
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
}

impl WorkState {
    pub fn has_work(&self) -> bool {
        !self.changes.is_empty() || self.unmerged_commits > 0
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
        if self.unmerged_commits > 0 {
            parts.push(format!(
                "{} commit(s) not on its base or upstream",
                self.unmerged_commits
            ));
        }
        parts.join(" and ")
    }
}

/// Looks at a session's worktree: uncommitted changes and commits beyond what is safe.
pub fn work_state(
    repo: &Repo,
    session: &Session,
    worktree_path: &Path,
) -> Result<WorkState, LifecycleError> {
    assess(repo, session, &repo.open_worktree(worktree_path)?)
}

fn assess(repo: &Repo, session: &Session, wt: &Repo) -> Result<WorkState, LifecycleError> {
    let changes = wt.changed_paths()?;
    let unmerged_commits = match wt.head_commit()? {
        Some(head) => repo.count_ahead(head, &safe_tips(repo, session))?,
        None => 0,
    };
    Ok(WorkState {
        changes,
        unmerged_commits,
    })
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

fn plan_includes(
    repo: &Repo,
    source: &Path,
    skip_dirs: &[PathBuf],
) -> Result<Option<(PathBuf, Vec<include::PlannedCopy>)>, LifecycleError> {
    let source = canonical(source);
    let Some(rules) = IncludeRules::load(&source)? else {
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

/// A checkpoint as recorded in a session's log.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub id: ObjectId,
    /// The HEAD it was taken on (its first parent).
    pub head: Option<ObjectId>,
    /// False when nothing changed since the last checkpoint, which was reused.
    pub new: bool,
}

/// Takes a checkpoint of the session's worktree and links it into the session's log, unless
/// nothing changed since the last one (same tree, same HEAD), which is then returned.
pub fn record_checkpoint(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
    worktree_path: &Path,
    message: &str,
) -> Result<Recorded, LifecycleError> {
    record_in(
        repo,
        store,
        session,
        &repo.open_worktree(worktree_path)?,
        message,
    )
}

fn record_in(
    repo: &Repo,
    store: &Store<'_>,
    session: &Session,
    wt: &Repo,
    message: &str,
) -> Result<Recorded, LifecycleError> {
    let capture = checkpoint::capture(wt)?;
    if let Some(last) = session
        .meta
        .last_checkpoint
        .as_deref()
        .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
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
    let detail = format!("{} {message}", &id.to_string()[..12]);
    store.record(
        session.name(),
        Event::new(EventKind::Checkpoint, detail).with_checkpoint(id),
        |_, _| {},
    )?;
    Ok(Recorded {
        id,
        head: capture.head,
        new: true,
    })
}

/// What happened to a worktree being retired.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retirement {
    pub worktree: Option<PathBuf>,
    pub removed: bool,
    pub branch_deleted: bool,
    /// The safety checkpoint taken before removing work, if any.
    pub checkpoint: Option<String>,
    /// Why the worktree was kept, when it was.
    pub kept_because: Option<String>,
    /// Kept because it holds repositories of its own (forcing does not help).
    pub holds_repositories: bool,
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
    let located = match find_worktree(repo, local, session)? {
        Some(path) => {
            let state = work_state(repo, session, &path)?;
            Some((path, state))
        }
        None => None,
    };
    retire_assessed(repo, store, local, session, located, force)
}

/// [`retire`] for a caller that already located the worktree and judged its work.
pub fn retire_assessed(
    repo: &Repo,
    store: &Store<'_>,
    local: &LocalStore,
    session: &Session,
    located: Option<(PathBuf, WorkState)>,
    force: bool,
) -> Result<Retirement, LifecycleError> {
    let mut out = Retirement {
        worktree: located.as_ref().map(|(path, _)| path.clone()),
        removed: false,
        branch_deleted: false,
        checkpoint: None,
        kept_because: None,
        holds_repositories: false,
    };
    // The HEAD the safety checkpoint was taken on: its history is reachable from the log.
    let mut covered_head = None;
    if let Some((path, state)) = &located {
        if state.has_work() && !force {
            out.kept_because = Some(state.reason());
            return Ok(out);
        }
        let wt = repo.open_worktree(path)?;
        if state.has_work() {
            let ckpt = record_in(repo, store, session, &wt, "before removing the worktree")?;
            out.checkpoint = Some(ckpt.id.to_string());
            covered_head = ckpt.head;
        }
        if let Some(why) = holds_repositories(&wt)? {
            out.kept_because = Some(why);
            out.holds_repositories = true;
            return Ok(out);
        }
        if let Err(e) = worktree::remove(repo, path, force) {
            if force {
                return Err(e.into());
            }
            out.kept_because = Some(format!(
                "git refused to remove it: {}",
                crate::error::one_line(&e)
            ));
            return Ok(out);
        }
        out.removed = true;
    } else {
        let _ = worktree::prune(repo);
    }
    let branch = &session.meta.branch;
    if let Some(tip) = deletable_branch_tip(repo, local, session, None)? {
        let covered = covered_head == Some(tip);
        let unmerged = !covered && repo.count_ahead(tip, &safe_tips(repo, session))? > 0;
        if unmerged && !force {
            out.kept_because = Some(unmerged_branch(branch));
        } else {
            // Keep the branch's commits reachable from the log before deleting it. Even when
            // they look safe: that judgement trusts `base` from session.yaml, which may come
            // from a remote, so no other ref holding them means they are kept.
            if unmerged || (!covered && !held_by_other_refs(repo, branch, tip)?) {
                let detail = format!(
                    "{} tip of branch {branch} before deleting it",
                    &tip.to_string()[..12]
                );
                store.record(
                    session.name(),
                    Event::new(EventKind::KeptBranchTip, detail).with_checkpoint(tip),
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

fn unmerged_branch(branch: &str) -> String {
    format!("branch '{branch}' has commits not on its base or upstream")
}

/// Why [`retire_assessed`] without force would keep the worktree or the branch, judged
/// without acting (`gc --dry-run`); git itself may still refuse a removal.
pub fn would_keep(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    located: Option<&(PathBuf, WorkState)>,
) -> Result<Option<String>, LifecycleError> {
    if let Some((path, state)) = located {
        if state.has_work() {
            return Ok(Some(state.reason()));
        }
        if let Some(why) = holds_repositories(&repo.open_worktree(path)?)? {
            return Ok(Some(why));
        }
    }
    let except = located.map(|(path, _)| path.as_path());
    if let Some(tip) = deletable_branch_tip(repo, local, session, except)?
        && repo.count_ahead(tip, &safe_tips(repo, session))? > 0
    {
        return Ok(Some(unmerged_branch(&session.meta.branch)));
    }
    Ok(None)
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
fn branch_checked_out_elsewhere(
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
