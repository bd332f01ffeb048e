//! Retiring a session's worktree and branch without ever losing work (`end`, `rm`, `gc`,
//! Claude Code's `WorktreeRemove`): judged first ([`plan`], which `gc --dry-run` prints),
//! then carried out ([`execute`]) under the session's lock, through the command's
//! transaction, each removed worktree recorded with what holds its files so `undo` can bring
//! it back. Never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::git::{ObjectId, Repo};
use crate::lifecycle::{LifecycleError, WorkState, find_worktree, safe_tips, work_state};
use crate::oplog::{SessionRef, WorktreeChange};
use crate::ops::checkpoint::{
    Take, WhenPending, checkpoint_aside, checkpoint_locked, record_clean_state,
};
use crate::session::{Event, EventKind, LocalStore, Session, SessionLock, Store, saved};
use crate::transaction::Transaction;
use crate::worktree;

/// git's record of this session's worktree when its directory is gone (deleted, or moved by
/// hand without `git worktree move`), so its branch can be checked out or deleted again.
/// Only this session's: another worktree's directory may be on a disk not mounted now. What
/// was staged there is linked into the log first (its commits are on the branch; its files,
/// if it was moved, stay wherever they are).
pub fn forget_missing_worktrees(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    expected: Option<&Path>,
) -> Result<Vec<PathBuf>, LifecycleError> {
    let repo = tx.repo();
    let store = Store::new(repo);
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
            let covered = store
                .latest_checkpoint(&tx.load(session.name())?)?
                .is_some_and(|c| {
                    checkpoint::Snapshot::read(repo, c)
                        .is_ok_and(|s| s.head == Some(head) && (!staged_work || s.staged == staged))
                });
            if (staged_work || own_commits) && !covered {
                let message = format!(
                    "what the missing worktree at {} had staged",
                    missing.path.display()
                );
                let kept = repo.write_commit(staged.unwrap_or(head_tree), &[head], &message)?;
                tx.record(
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
    /// Kept because git has it locked (`git worktree lock`; forcing does not help).
    pub locked: bool,
    /// Kept only because of commits that are not on the base or upstream (push them).
    pub only_commits: bool,
    /// Worktrees of the session whose directories were gone (deleted, or moved without
    /// `git worktree move`): git's record of them was dropped.
    pub missing: Vec<PathBuf>,
    /// Files written at the worktree's path while it was being removed (by an agent that
    /// makes the directories it writes into): left there, in no checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_meanwhile: Option<PathBuf>,
    /// Files in the worktree changed after its last capture began (a process still working
    /// in it), or that could not be deleted: kept, in no checkpoint, when the rest was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_files: Option<worktree::Kept>,
    /// A half-made worktree (a killed `new`, `fork` or `resume`) was removed: what was
    /// interrupted, and the commit keeping what looked like work in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<crate::repair::Undone>,
}

impl Retirement {
    /// Nothing was there to retire: no worktree, nothing removed, kept, saved or salvaged.
    pub fn did_nothing(&self) -> bool {
        self.worktree.is_none()
            && !self.removed
            && !self.branch_deleted
            && self.checkpoint.is_none()
            && self.saved_files.is_none()
            && self.kept_because.is_none()
            && self.missing.is_empty()
            && self.interrupted.is_none()
    }
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
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
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
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    force: bool,
) -> Result<Retirement, LifecycleError> {
    let plan = plan(tx.repo(), local, session, None)?;
    execute(tx, local, session, &plan, force)
}

/// Carries out a [`RetirePlan`]: checkpoint and save first when forced over work, then remove
/// the worktree and the branch, keeping what the plan says must stay.
pub fn execute(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    plan: &RetirePlan,
    force: bool,
) -> Result<Retirement, LifecycleError> {
    let repo = tx.repo();
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())?;
    // Judged again under the lock: the caller's plan may be a minute old (a busy session),
    // and work done since must count.
    let session = &tx.load(session.name())?;
    let put_back = put_back_interrupted_removal(&lock, tx, local, session)?;
    // One that could not go back (a rebase stopped in it, something in the way) may hold the
    // session's work: nothing is ended or deleted around it.
    if let Some(aside) = left_aside(repo, local, session).first() {
        return Err(LifecycleError::StillAside {
            name: session.name().to_owned(),
            aside: aside.clone(),
        });
    }
    // A checkpoint being put back (a killed rewind, sync or resume) is finished first: the
    // half-made worktree is not the session's work, and its removal would leave the
    // session's latest checkpoint a half-made tree.
    if let Some(what) = local
        .get(&session.meta.id)
        .pending()
        .filter(|_| local.get(&session.meta.id).restore_pending.is_some())
    {
        return Err(LifecycleError::Interrupted {
            name: session.name().to_owned(),
            what,
        });
    }
    // Planned again under the lock whenever there may be a worktree now (one put back, or
    // one another process made or moved while this waited); without one, planning is cheap.
    let fresh;
    let plan = if plan.worktree.is_some()
        || put_back
        || crate::lifecycle::find_worktree(repo, local, session)?.is_some()
    {
        fresh = self::plan(repo, local, session, None)?;
        &fresh
    } else {
        plan
    };
    tx.touch(session);
    let mut out = Retirement {
        worktree: plan.worktree.as_ref().map(|(path, _)| path.clone()),
        removed: false,
        branch_deleted: false,
        checkpoint: None,
        saved_files: None,
        kept_because: None,
        holds_repositories: false,
        locked: false,
        only_commits: false,
        missing: Vec::new(),
        written_meanwhile: None,
        kept_files: None,
        interrupted: None,
    };
    // The HEAD the safety checkpoint was taken on: its history is reachable from the log.
    let mut covered_head = None;
    if let Some((_, work)) = &plan.worktree
        && work.interrupted.is_some()
    {
        // Half-made: what looks like work is salvaged into the log, then it goes.
        match crate::repair::undo_interrupted(&lock, tx, local, session)? {
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
    } else if let Some((path, work)) = &plan.worktree {
        if work.has_work() && !force {
            out.kept_because = Some(work.reason());
            out.only_commits = work.only_commits();
            return Ok(out);
        }
        let wt = repo.open_worktree(path)?;
        let head = wt.head_commit()?;
        let before_removal =
            Take::new("before removing the worktree").when_pending(WhenPending::Salvage);
        let keep = match &plan.repositories {
            Some(why) => Some((why.clone(), true)),
            None => worktree::lock_reason(repo, path)?.map(|reason| {
                let unlock = crate::text::shell_quote(&path.to_string_lossy());
                let why = format!(
                    "git has it locked ({reason}); `git worktree unlock {unlock}` unlocks it"
                );
                (why, false)
            }),
        };
        if let Some((why, repositories)) = keep {
            // Kept: its work is checkpointed and its ignored files saved all the same.
            if work.has_work() {
                let ckpt = checkpoint_locked(&lock, tx, local, session, path, before_removal)?
                    .expect("recorded");
                out.checkpoint = Some(ckpt.id.to_string());
            }
            let to_save = work.files_to_save();
            if !to_save.is_empty() {
                out.saved_files = Some(save_unheld(repo, session, path, &to_save)?);
            }
            out.kept_because = Some(why);
            out.holds_repositories = repositories;
            out.locked = !repositories;
            return Ok(out);
        }
        // Moved aside first (one rename, beside it): an agent writing by path after this
        // fails instead of writing into files about to be deleted, and what is checkpointed
        // below is everything written before the move. When git cannot move it, it is
        // checkpointed and removed where it is.
        let aside = worktree::move_aside(repo, path);
        let here = aside.as_deref().unwrap_or(path);
        let checkpoint_here = |tx: &mut Transaction<'_>| {
            match &aside {
                Some(aside) => checkpoint_aside(&lock, tx, local, session, aside, before_removal),
                None => checkpoint_locked(&lock, tx, local, session, path, before_removal),
            }
            .map(|c| c.expect("recorded unless only_if_dirty"))
        };
        // A step failed: the worktree goes back where it was; when that fails too, the
        // error says where it is.
        let put_back = |error: LifecycleError| match &aside {
            Some(aside) => match worktree::move_to(repo, aside, path) {
                Ok(()) => error,
                Err(back) => LifecycleError::LeftAside {
                    error: crate::text::one_line(&error),
                    aside: aside.clone(),
                    path: path.clone(),
                    back: crate::text::one_line(&back),
                },
            },
            None => error,
        };
        // What the last capture before a forced removal began after: files changed later
        // are in no checkpoint, and are not deleted (`worktree::remove_captured`).
        let mut captured = None;
        if work.has_work() {
            // A writer that opened a file before the move (`echo > file` truncates, then
            // writes) may write into the moved copy after it was captured: it is captured
            // once more, and checkpointed again only when its files changed since.
            if aside.is_some() {
                checkpoint_here(tx).map_err(put_back)?;
            }
            captured = worktree::FileClock::read(here);
            let ckpt = checkpoint_here(tx).map_err(put_back)?;
            crate::fault::write_at("removal-captured", here);
            out.checkpoint = Some(ckpt.id.to_string());
            covered_head = ckpt.head;
        }
        let to_save = work.files_to_save();
        if !to_save.is_empty() {
            let saved = save_unheld(repo, session, here, &to_save).map_err(put_back)?;
            out.saved_files = Some(saved);
        }
        if !work.has_work() {
            record_clean_state(tx, session, &wt).map_err(put_back)?;
        }
        // The events so far are real before the files go, and stay.
        tx.persist().map_err(|e| put_back(e.into()))?;
        // Judged clean under the lock: git judges again (no --force), and what appeared
        // meanwhile (an agent writing without the lock) is checkpointed before a forced
        // removal.
        let forced = |captured: Option<worktree::FileClock>| match captured {
            Some(captured) => worktree::remove_captured(repo, here, path, captured).map(Some),
            // No file could be made there to read its clock: git's forced removal.
            None => worktree::remove(repo, here, true).map(|()| None),
        };
        let mut removed = if force && work.has_work() {
            forced(captured)
        } else {
            worktree::remove(repo, here, false).map(|()| None)
        };
        if removed.is_err() && force && !work.has_work() {
            let captured = worktree::FileClock::read(here);
            let ckpt = checkpoint_here(tx).map_err(put_back)?;
            out.checkpoint = Some(ckpt.id.to_string());
            covered_head = ckpt.head;
            tx.persist().map_err(|e| put_back(e.into()))?;
            removed = forced(captured);
        }
        if let Ok(Some(kept)) = &removed
            && kept.dir.is_some()
        {
            out.kept_files = Some(kept.clone());
        }
        if let Err(e) = removed {
            // Once deleting had begun it stays aside, marked, for `doctor --fix`: put back
            // home, the worktree would be missing its files.
            let e = match e {
                e @ worktree::WorktreeError::PartRemoved { .. } => e.into(),
                e => put_back(e.into()),
            };
            if force {
                return Err(e);
            }
            out.kept_because = Some(format!(
                "git refused to remove it: {}",
                crate::text::one_line(&e)
            ));
            return Ok(out);
        }
        // An agent that creates the directories it writes into may have made the path again
        // after the move: what it wrote there is in no checkpoint, and stays.
        if aside.is_some() && std::fs::symlink_metadata(path).is_ok() {
            out.written_meanwhile = Some(path.clone());
        }
        crate::fault::point("worktree-removed");
        out.removed = true;
        tx.worktree(WorktreeChange::Removed {
            session: SessionRef {
                name: session.name().to_owned(),
                id: session.meta.id.clone(),
            },
            path: path.clone(),
            branch: session.meta.branch.clone(),
            head: head.map(|h| h.to_string()),
            checkpoint: out.checkpoint.clone(),
            saved: out.saved_files.clone(),
        });
    } else {
        out.missing = forget_missing_worktrees(tx, local, session, None)?;
    }
    drop(lock);
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
                tx.record(
                    session.name(),
                    Event::linking(EventKind::KeptBranchTip, tip, &message),
                    |_, _| {},
                )?;
            }
            let refname = format!("refs/heads/{branch}");
            if tx.read_ref(&refname)? == Some(tip) {
                tx.delete_ref(&refname, tip, "session: branch deleted")?;
                out.branch_deleted = true;
            }
        }
    }
    let id = session.meta.id.clone();
    // With the worktree gone, nothing is pending in it any more (a restore a killed rewind
    // or sync left: its half-made state was checkpointed before the removal).
    if local
        .get_existing(&id)
        .is_some_and(|s| s.worktree.is_some() || s.restore_pending.is_some())
    {
        tx.local_update(local, &id, |s| {
            s.worktree = None;
            s.restore_pending = None;
        })?;
    }
    Ok(out)
}

/// What killed removals or syncs of the session left aside ([`worktree::asides_of`]).
pub(crate) fn left_aside(repo: &Repo, local: &LocalStore, session: &Session) -> Vec<PathBuf> {
    let state = local.get(&session.meta.id);
    let recorded = state.worktree_of(session.name()).map(crate::git::normalize);
    let worktrees = repo.linked_worktrees().unwrap_or_default();
    worktree::asides_of(&worktrees, recorded.as_deref(), &session.meta.branch)
}

/// A removal (or a sync) killed after it moved the worktree aside (`.<name>.removing-<pid>-<n>`, beside
/// where the session's records say it is) left it there: under the session's lock, nobody
/// is at it now, and it goes back before anything is judged (so a removal now records, and
/// an undo brings back, the path it belongs at); true when it went back. One killed while
/// git was deleting it left
/// part of it: what differs from the branch is salvaged into the log, and the rest goes
/// (that removal had judged and checkpointed the work before it began).
pub(crate) fn put_back_interrupted_removal(
    lock: &SessionLock,
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
) -> Result<bool, LifecycleError> {
    let repo = tx.repo();
    let state = local.get(&session.meta.id);
    let Some(recorded) = state.worktree_of(session.name()).map(crate::git::normalize) else {
        return Ok(false);
    };
    let worktrees = repo.linked_worktrees()?;
    let asides = worktree::asides_of(&worktrees, Some(&recorded), &session.meta.branch);
    if asides.is_empty() {
        return Ok(false);
    }
    let mut put_back = false;
    // Whole, and with the session's branch checked out there: the session's.
    let ours = |aside: &Path| {
        let aside = crate::git::canonical(aside);
        worktrees.iter().any(|w| {
            w.exists
                && w.path == aside
                && worktree::checked_out_branch(&w.git_dir).as_deref()
                    == Some(session.meta.branch.as_str())
        })
    };
    for aside in asides {
        let home = worktree::home_of_aside(&aside).unwrap_or_else(|| recorded.clone());
        if !worktree::aside_is_whole(&aside) {
            // Left for `doctor` when it cannot go now (it says what is in the way).
            let _ = crate::repair::clear_interrupted_removal(lock, tx, session, &aside);
        } else if ours(&aside) && std::fs::symlink_metadata(&home).is_err() {
            worktree::move_to(repo, &aside, &home)?;
            put_back = true;
        }
    }
    Ok(put_back)
}

/// Saves machine-locally what no checkpoint holds (the ignored files the session changed,
/// its hidden edits: `WorkState::files_to_save`) before the worktree goes.
fn save_unheld(
    repo: &Repo,
    session: &Session,
    worktree: &Path,
    files: &[String],
) -> Result<PathBuf, LifecycleError> {
    let stamp = repo.now()?;
    Ok(saved::save(
        &repo.common_dir(),
        &session.meta.id,
        session.name(),
        stamp,
        worktree,
        files,
    )?)
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
