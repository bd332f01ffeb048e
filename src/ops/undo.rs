//! Taking an operation back (`undo`, and `redo`, which undoes an undo): its refs go back by
//! compare-and-swap, a worktree it removed comes back at its path with exactly its
//! checkpointed files (uncommitted work uncommitted again, staged state staged again, the
//! ignored files a forced removal saved put back), a worktree it made goes when nobody
//! worked in it since, files it rewrote get their old bytes, machine-local records their old
//! state. Everything is judged before anything changes: when something changed since (the
//! session gained a checkpoint or a commit, a path is taken), the undo refuses in one line
//! naming it. The undo is an operation itself, so undoing it redoes. Never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint::{self, Snapshot};
use crate::git::{Expect, ObjectId, Repo};
use crate::lifecycle;
use crate::oplog::{self, OpLog, OpRecord, SessionRef, WorktreeChange};
use crate::ops::create;
use crate::ops::{OpError, OpResult, Site};
use crate::report::Reporter;
use crate::session::{LocalStore, SessionLock, saved};
use crate::transaction::Transaction;
use crate::worktree::{self, Start};

/// Which operation `undo` takes back by default.
pub enum Pick<'a> {
    /// The latest operation a person ran (automatic ones passed over), of this session (by
    /// id) when given (the one whose worktree the command runs in).
    Latest { session: Option<(&'a str, &'a str)> },
    /// The latest one, when it is an undo (`redo`).
    Redo { session: Option<(&'a str, &'a str)> },
    /// The operation with this id (or unique prefix).
    Id(&'a str),
}

/// The operation to undo.
pub fn pick(log: &OpLog, pick: Pick<'_>) -> OpResult<OpRecord> {
    match pick {
        Pick::Id(spec) => log.find(spec).map_err(|e| OpError::refused(e.to_string())),
        Pick::Latest { session } | Pick::Redo { session } => {
            let redo = matches!(pick, Pick::Redo { .. });
            let latest = log
                .newest_first()
                .map_err(|e| OpError::refused(e.to_string()))?
                .filter(|r| !r.automatic && !r.is_empty())
                .find(|r| session.is_none_or(|(id, _)| r.touches_id(id)));
            let what = match session {
                Some((_, name)) => format!(" of session '{}'", crate::text::escape(name)),
                None => String::new(),
            };
            match latest {
                Some(record) if !redo || record.undoes.is_some() => Ok(record),
                Some(_) => Err(OpError::refused(format!(
                    "nothing to redo: the latest operation{what} is not an undo"
                ))
                .hint("`git session op log` lists the operations")),
                None => Err(OpError::refused(format!(
                    "there is no operation{what} to {}",
                    if redo { "redo" } else { "undo" }
                ))),
            }
        }
    }
}

/// What an undo did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Undone {
    /// The operation taken back.
    pub op: String,
    pub command: String,
    /// Worktrees brought back.
    pub restored: Vec<PathBuf>,
    /// Worktrees the operation made that were removed.
    pub removed: Vec<PathBuf>,
    /// Worktrees the operation made that were kept (they hold work made since).
    pub kept: Vec<PathBuf>,
    /// Worktrees whose files went back to an earlier checkpoint.
    pub reverted: Vec<PathBuf>,
    /// Refs that went back.
    pub refs: usize,
}

/// Undoes `record` through `tx` (whose record then says it undid it).
pub fn undo(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    record: &OpRecord,
    reporter: &dyn Reporter,
) -> OpResult<Undone> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = tx.repo();
    if let Some(published) = &record.published {
        let refs: Vec<String> = published
            .refs
            .iter()
            .map(|r| r.rsplit(':').next().unwrap_or(r).to_owned())
            .collect();
        return Err(OpError::refused(format!(
            "operation {} pushed to {}, and a push cannot be unpublished; nothing was changed",
            record.id, published.remote
        ))
        .hint(format!(
            "`git push {} --delete {}` deletes what it published there (others may have fetched it already)",
            published.remote,
            refs.join(" ")
        )));
    }
    let mut out = Undone {
        op: record.id.clone(),
        command: record.command.clone(),
        ..Default::default()
    };
    for session in &record.sessions {
        tx.touch_named(&session.name, &session.id);
    }
    // Held from the judging to the end: a hook's or another command's checkpoint cannot
    // come between what is judged and what is changed. In id order, so two undos never
    // wait on each other.
    let mut ids: Vec<(&str, &str)> = record
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup_by_key(|(id, _)| *id);
    let mut locks = Vec::with_capacity(ids.len());
    for (id, name) in ids {
        let lock = SessionLock::acquire(&repo.common_dir(), id, name)
            .map_err(lifecycle::LifecycleError::from)?;
        locks.push((id.to_owned(), lock));
    }
    let lock_of = |id: &str| locks.iter().find(|(held, _)| held == id).map(|(_, l)| l);
    // Judged under the locks: another undo of the same operation may have just finished.
    if let Some(by) = OpLog::new(&repo.common_dir())
        .undone_by(&record.id)
        .map_err(crate::transaction::TxError::from)?
    {
        return Err(OpError::refused(format!(
            "operation {} was already undone by {by}; nothing was changed",
            record.id
        ))
        .hint(format!("`git session undo {by}` redoes it")));
    }
    // ---- judge everything first ----
    let mut keep_branches: Vec<String> = Vec::new();
    // Branches a landing fast-forwarded in a worktree that still has them checked out.
    let mut advanced_here: Vec<String> = Vec::new();
    let mut remove_made: Vec<&WorktreeChange> = Vec::new();
    for change in &record.worktrees {
        match change {
            WorktreeChange::Created {
                session,
                path,
                branch,
                head,
                checkpoint,
            } => {
                if !worktree_listed(repo, path)? {
                    continue;
                }
                let _ = session;
                if holds_only(
                    repo,
                    local,
                    &session.id,
                    path,
                    head.as_deref(),
                    checkpoint.as_deref(),
                )? {
                    remove_made.push(change);
                } else {
                    keep_branches.push(format!("refs/heads/{branch}"));
                    out.kept.push(path.clone());
                }
            }
            WorktreeChange::Removed { path, .. } => {
                if path.exists() {
                    return Err(OpError::refused(format!(
                        "{} is taken: the worktree this operation removed cannot come back there; nothing was changed",
                        path.display()
                    ))
                    .hint("move it away, then undo again"));
                }
            }
            WorktreeChange::BranchRenamed { from, to, .. } => {
                if !worktree::branch_exists(repo, to)? || worktree::branch_exists(repo, from)? {
                    return Err(OpError::refused(format!(
                        "branch '{}' cannot be renamed back to '{}'; nothing was changed",
                        crate::text::escape(to),
                        crate::text::escape(from)
                    )));
                }
            }
            WorktreeChange::Moved { from, to, .. } => {
                if from.exists() || !to.exists() {
                    return Err(OpError::refused(format!(
                        "the worktree moved to {} cannot go back to {}; nothing was changed",
                        to.display(),
                        from.display()
                    )));
                }
            }
            WorktreeChange::Restored {
                session,
                path,
                after,
                ..
            } => {
                let after = parse(after)?;
                if !worktree_listed(repo, path)? || !holds_checkpoint(repo, path, after)? {
                    return Err(OpError::refused(format!(
                        "the worktree of '{}' changed since this operation put checkpoint {} in it; nothing was changed",
                        crate::text::escape(&session.name),
                        crate::git::short_id(after)
                    ))
                    .hint(format!(
                        "`git session checkpoint {}` keeps what it holds now; `git session rewind` goes to any checkpoint",
                        session.name
                    )));
                }
            }
            WorktreeChange::Advanced { path, branch, .. } => {
                // Put back with its worktree's files when the branch is still checked out
                // there; else the ref alone goes back (judged with the other refs).
                let here = path.exists()
                    && crate::git::canonical(path).join(".git").exists()
                    && repo
                        .open_worktree(path)
                        .ok()
                        .and_then(|wt| wt.head_ref_name().ok().flatten())
                        .as_deref()
                        == Some(format!("refs/heads/{branch}").as_str());
                if here {
                    advanced_here.push(format!("refs/heads/{branch}"));
                }
            }
        }
    }
    // Refs that a worktree restore sets itself (HEAD's branch, reset by the restore).
    let restored_branches: Vec<String> = record
        .worktrees
        .iter()
        .filter_map(|c| match c {
            WorktreeChange::Restored { path, .. } => repo
                .open_worktree(path)
                .ok()
                .and_then(|wt| wt.head_ref_name().ok().flatten()),
            _ => None,
        })
        .collect();
    for change in &record.refs {
        if keep_branches.contains(&change.name) {
            continue;
        }
        let now = tx.read_ref(&change.name)?;
        // Already back (an undo that was interrupted and is run again) is fine too.
        if now != change.new_id() && now != change.old_id() {
            return Err(OpError::refused(format!(
                "{}; nothing was changed",
                moved_since(&change.name)
            ))
            .hint("`git session op log` shows what happened since; undo that first, or leave it"));
        }
    }
    for file in &record.files {
        let now = std::fs::read(&file.path).ok().map(|b| oplog::to_hex(&b));
        if now != file.after {
            return Err(OpError::refused(format!(
                "{} changed since this operation wrote it; nothing was changed",
                file.path.display()
            )));
        }
    }
    // ---- then change ----
    // Refs first, in one compare-and-swap: when another process moved one since the judging,
    // nothing has changed yet. Left for later: the branches of worktrees still to be
    // removed (gone with their worktree), the ones a restore or `git branch -m` moves.
    let made_branches: Vec<String> = remove_made
        .iter()
        .filter_map(|c| match c {
            WorktreeChange::Created { branch, .. } if !branch.is_empty() => {
                Some(format!("refs/heads/{branch}"))
            }
            _ => None,
        })
        .collect();
    let renamed: Vec<String> = record
        .worktrees
        .iter()
        .flat_map(|c| match c {
            WorktreeChange::BranchRenamed { from, to, .. } => {
                vec![format!("refs/heads/{from}"), format!("refs/heads/{to}")]
            }
            _ => Vec::new(),
        })
        .collect();
    let later = |name: &String| {
        made_branches.contains(name) || renamed.contains(name) || advanced_here.contains(name)
    };
    stage_refs(
        tx,
        record,
        &keep_branches,
        &restored_branches,
        // A restore below moves its worktree's branch itself, with the files.
        |n| !later(n) && !restored_branches.contains(n),
        &mut out,
    )?;
    tx.flush().map_err(changed_meanwhile)?;
    // Files back where a checkpoint went in (the restore resets HEAD's branch itself).
    for change in &record.worktrees {
        if let WorktreeChange::Restored {
            session,
            path,
            before,
            after,
        } = change
        {
            let wt = repo.open_worktree(path)?;
            let snapshot = Snapshot::read(repo, parse(before)?)?;
            let prepared = checkpoint::prepare_restore(&wt, &snapshot)?;
            // What it holds now is checkpoint `after`, reachable from the record's chain.
            let head_ref = wt.head_ref_name()?;
            let head_before = match &head_ref {
                Some(name) => repo.read_ref(name)?,
                None => None,
            };
            prepared.apply()?;
            if let Some(name) = &head_ref {
                tx.record_external(name, head_before)?;
            }
            tx.worktree(WorktreeChange::Restored {
                session: session.clone(),
                path: path.clone(),
                before: after.clone(),
                after: before.clone(),
            });
            out.reverted.push(path.clone());
        }
    }
    for change in &remove_made {
        let WorktreeChange::Created {
            session,
            path,
            branch,
            head,
            checkpoint,
        } = change
        else {
            continue;
        };
        // Judged again just before: an agent may have written a file or committed since
        // (git itself takes no session lock). Refused now, the refs go back as they were.
        if !holds_only(
            repo,
            local,
            &session.id,
            path,
            head.as_deref(),
            checkpoint.as_deref(),
        )? {
            return Err(OpError::refused(format!(
                "{} gained work while the undo ran; nothing was changed",
                path.display()
            ))
            .hint("`git session undo` again judges it anew"));
        }
        // Ignored files it was made with that a copy from the main worktree would not give
        // back (a forced removal's saved `.env`, put back by an undo): saved again, so a
        // redo puts them back once more.
        let keep = lifecycle::ignored_unlike_main(repo, path)?;
        let saved = if keep.is_empty() {
            None
        } else {
            Some(saved::save(
                &repo.common_dir(),
                &session.id,
                &session.name,
                repo.now()?,
                path,
                &keep,
            )?)
        };
        worktree::remove(repo, path, true)?;
        // It held exactly what it was made with: that is what a redo brings back.
        tx.worktree(WorktreeChange::Removed {
            session: session.clone(),
            path: path.clone(),
            branch: branch.clone(),
            head: head.clone(),
            checkpoint: checkpoint.clone(),
            saved,
        });
        out.removed.push(path.clone());
    }
    for change in record.worktrees.iter().rev() {
        match change {
            WorktreeChange::Moved { session, from, to } => {
                worktree::move_to(repo, to, from)?;
                let (back_from, back_to) = (from.clone(), to.clone());
                tx.on_rollback(move |repo| {
                    let _ = worktree::move_to(repo, &back_from, &back_to);
                });
                tx.worktree(WorktreeChange::Moved {
                    session: session.clone(),
                    from: to.clone(),
                    to: from.clone(),
                });
            }
            WorktreeChange::BranchRenamed { session, from, to } => {
                // git moves the worktree's HEAD with the branch; a ref alone would not.
                let (old_ref, new_ref) = (format!("refs/heads/{to}"), format!("refs/heads/{from}"));
                let before = repo.read_ref(&old_ref)?;
                worktree::rename_branch(repo, to, from)?;
                let (back_from, back_to) = (from.clone(), to.clone());
                tx.on_rollback(move |repo| {
                    let _ = worktree::rename_branch(repo, &back_from, &back_to);
                });
                tx.record_external(&old_ref, before)?;
                tx.record_external(&new_ref, None)?;
                tx.worktree(WorktreeChange::BranchRenamed {
                    session: session.clone(),
                    from: to.clone(),
                    to: from.clone(),
                });
            }
            _ => {}
        }
    }
    // Branches a landing moved in their worktree: back with the files (the ref first judged:
    // it must still be where the landing left it).
    for change in &record.worktrees {
        if let WorktreeChange::Advanced {
            path,
            branch,
            from,
            to,
        } = change
        {
            let name = format!("refs/heads/{branch}");
            if !advanced_here.contains(&name) {
                continue;
            }
            let (from_id, to_id) = (parse(from)?, parse(to)?);
            let now = tx.read_ref(&name)?;
            if now == Some(from_id) {
                continue;
            }
            if now != Some(to_id) {
                return Err(OpError::refused(format!(
                    "{}; nothing was changed",
                    moved_since(&name)
                )));
            }
            worktree::move_files(path, to_id, from_id).map_err(|e| {
                OpError::refused(format!(
                    "the worktree at {} cannot go back: {}",
                    path.display(),
                    crate::text::one_line(&e)
                ))
                .hint("commit or stash the changes there that the landing touched, then undo again")
            })?;
            let back = path.clone();
            tx.on_rollback(move |_| {
                let _ = worktree::move_files(&back, from_id, to_id);
            });
            tx.update_ref(
                &name,
                from_id,
                crate::git::Expect::At(to_id),
                "session: undo",
            )?;
            tx.worktree(WorktreeChange::Advanced {
                path: path.clone(),
                branch: branch.clone(),
                from: to.clone(),
                to: from.clone(),
            });
            out.refs += 1;
        }
    }
    // The branches of the worktrees removed, now nothing has them checked out.
    stage_refs(
        tx,
        record,
        &keep_branches,
        &restored_branches,
        |n| made_branches.contains(n),
        &mut out,
    )?;
    tx.flush().map_err(changed_meanwhile)?;
    crate::fault::point("undo-refs");
    for change in &record.local {
        tx.local_put(local, &change.id, change.before.as_ref())?;
    }
    for change in record.worktrees.iter().rev() {
        if let WorktreeChange::Removed {
            session,
            path,
            branch,
            head,
            checkpoint,
            saved,
        } = change
        {
            bring_back(
                tx,
                lock_of(&session.id),
                local,
                site,
                session,
                path,
                branch,
                head.as_deref(),
                checkpoint.as_deref(),
                saved.as_deref(),
                reporter,
            )?;
            out.restored.push(path.clone());
        }
    }
    for file in &record.files {
        tx.watch_file(&file.path);
        let result = match file.before.as_deref().and_then(oplog::from_hex) {
            Some(bytes) => crate::fsutil::write_atomic(&file.path, &bytes, file.before_mode),
            None => std::fs::remove_file(&file.path),
        };
        result.map_err(|e| {
            OpError::refused(format!("could not put {} back: {e}", file.path.display()))
        })?;
    }
    tx.set_undoes(&record.id);
    Ok(out)
}

/// Stages the compare-and-swap that puts back each ref of `record` that `wanted` names
/// (those kept or moved by git itself left out).
fn stage_refs(
    tx: &mut Transaction<'_>,
    record: &OpRecord,
    keep: &[String],
    restored: &[String],
    wanted: impl Fn(&String) -> bool,
    out: &mut Undone,
) -> OpResult {
    for change in record.refs.iter().rev() {
        if keep.contains(&change.name) || !wanted(&change.name) {
            continue;
        }
        let (new, old) = (change.new_id(), change.old_id());
        let now = tx.read_ref(&change.name)?;
        if now == old || (restored.contains(&change.name) && now != new) {
            continue;
        }
        match old {
            Some(old) => {
                tx.update_ref(&change.name, old, Expect::from_value(new), "session: undo")?
            }
            None => tx.delete_ref(
                &change.name,
                new.expect("a change has a new or an old value"),
                "session: undo",
            )?,
        }
        out.refs += 1;
    }
    Ok(())
}

/// A ref moved by another process between the judging and the change.
fn changed_meanwhile(e: crate::transaction::TxError) -> OpError {
    match e {
        crate::transaction::TxError::Repo(crate::git::RepoError::RefConflict { ref_name }) => {
            OpError::refused(format!(
                "{} while the undo ran; nothing was changed",
                moved_since(&ref_name)
            ))
            .hint("`git session undo` again judges it anew")
        }
        e => e.into(),
    }
}

fn parse(hex: &str) -> OpResult<ObjectId> {
    ObjectId::from_hex(hex.as_bytes()).map_err(|_| {
        OpError::refused(format!(
            "the operation log names '{hex}', which is no object id"
        ))
    })
}

fn worktree_listed(repo: &Repo, path: &Path) -> OpResult<bool> {
    let wanted = crate::git::canonical(path);
    Ok(repo
        .linked_worktrees()?
        .iter()
        .any(|w| w.exists && w.path == wanted))
}

/// Whether the worktree at `path` holds exactly checkpoint `id` (its files, HEAD and staged
/// state).
fn holds_checkpoint(repo: &Repo, path: &Path, id: ObjectId) -> OpResult<bool> {
    let wt = repo.open_worktree(path)?;
    let capture = checkpoint::capture(&wt)?;
    let snapshot = Snapshot::read(repo, id)?;
    Ok(capture.tree == snapshot.tree
        && capture.head == snapshot.head
        && capture.staged == snapshot.staged)
}

/// Whether a worktree an operation made still holds only what it was made with: checkpoint
/// `checkpoint` put in, or a clean checkout of `head` — and no ignored file
/// `.worktreeinclude` names changed since (a `.env` edited there is work too), nor a file
/// git was told not to look at.
fn holds_only(
    repo: &Repo,
    local: &LocalStore,
    session_id: &str,
    path: &Path,
    head: Option<&str>,
    checkpoint: Option<&str>,
) -> OpResult<bool> {
    if !lifecycle::ignored_work_since_made(repo, local, session_id, path)?.is_empty()
        || !repo.open_worktree(path)?.hidden_edits()?.is_empty()
    {
        return Ok(false);
    }
    if let Some(id) = checkpoint {
        return holds_checkpoint(repo, path, parse(id)?);
    }
    let wt = repo.open_worktree(path)?;
    let capture = checkpoint::capture(&wt)?;
    let head = head.map(parse).transpose()?;
    Ok(capture.head == head
        && capture.staged.is_none()
        && match head {
            Some(h) => repo.read_commit(h)?.tree == capture.tree,
            None => false,
        })
}

/// What an operation names as a ref that moved since, in words.
fn moved_since(name: &str) -> String {
    if let Some(session) = name.strip_prefix(crate::session::store::SESSIONS_PREFIX) {
        format!(
            "session '{}' changed since (it gained a checkpoint or an event after this operation)",
            crate::text::escape(session)
        )
    } else if let Some(branch) = name.strip_prefix("refs/heads/") {
        format!(
            "branch '{}' moved since (a commit, a reset?)",
            crate::text::escape(branch)
        )
    } else {
        format!("{} changed since", crate::text::escape(name))
    }
}

/// Makes a removed worktree again: its branch (back by now) or detached HEAD, the
/// checkpoint's files put in, this machine's `.worktreeinclude` files, the saved ignored
/// files.
#[allow(clippy::too_many_arguments)]
fn bring_back(
    tx: &mut Transaction<'_>,
    held: Option<&SessionLock>,
    local: &LocalStore,
    site: &Site<'_>,
    who: &SessionRef,
    path: &Path,
    branch: &str,
    head: Option<&str>,
    checkpoint: Option<&str>,
    saved_files: Option<&Path>,
    reporter: &dyn Reporter,
) -> OpResult {
    let repo = tx.repo();
    let session = tx.load(&who.name)?;
    let acquired;
    let lock = match held {
        Some(lock) => lock,
        None => {
            acquired = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
                .map_err(lifecycle::LifecycleError::from)?;
            &acquired
        }
    };
    let head = head.map(parse).transpose()?;
    let start = if !branch.is_empty() && worktree::branch_exists(repo, branch)? {
        Start::ExistingBranch {
            branch: branch.to_owned(),
        }
    } else {
        let at = head.ok_or_else(|| {
            OpError::refused(format!(
                "the operation log does not say which commit {} had checked out",
                path.display()
            ))
        })?;
        Start::NewBranch {
            branch: branch.to_owned(),
            at,
        }
    };
    let snapshot = checkpoint
        .map(parse)
        .transpose()?
        .map(|c| Snapshot::read(repo, c))
        .transpose()?;
    let progress = reporter.copy_progress();
    let (made, includes) = create::make_worktree(
        lock,
        tx,
        local,
        site,
        &session,
        path,
        &start,
        local.get(&session.meta.id).branch_created,
        Some(site.main_root),
        snapshot.map(|s| s.id),
        progress.as_ref(),
    )?;
    if let Some(report) = &includes {
        create::report_includes(reporter, report);
    }
    if let Some(snapshot) = &snapshot {
        let wt = repo.open_worktree(&made)?;
        let on = snapshot.head.or(head).ok_or_else(|| {
            OpError::refused("the checkpoint of the removed worktree has no HEAD")
        })?;
        checkpoint::apply_to_fresh_checkout(&wt, snapshot, on)?;
        create::restore_done(tx, local, &session)?;
    }
    if let Some(save) = saved_files {
        let mut done = save.as_os_str().to_owned();
        done.push(".restored");
        let done = PathBuf::from(done);
        let from = if save.exists() { save.to_owned() } else { done };
        if from.exists() {
            saved::restore(&from, &made)?;
        }
        // What was put back is what it is made with: only later changes are work.
        let made_ns = create::now_ns();
        tx.local_update(local, &session.meta.id, move |s| {
            s.worktree_created_ns = Some(made_ns)
        })?;
    }
    reporter.status(&format!(
        "Brought back the worktree of '{}' at {}",
        crate::text::escape(session.name()),
        made.display()
    ));
    Ok(())
}
