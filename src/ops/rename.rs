//! Renaming a session: a new name for the same session (same id). The ref, a default-named
//! branch and a default-placed worktree directory move with it, through the transaction (a
//! step that fails takes back the ones before). Never prints.

use std::path::PathBuf;

use crate::lifecycle;
use crate::oplog::{SessionRef, WorktreeChange};
use crate::ops::{OpError, OpResult, Site};
use crate::session::{LocalStore, Store};
use crate::transaction::Transaction;
use crate::worktree;

/// What a rename did.
#[derive(Debug)]
pub struct Renamed {
    /// The worktree before and after (the same when it stayed where it was).
    pub worktree: Option<(PathBuf, PathBuf)>,
}

pub fn rename(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: &Site<'_>,
    branch_prefix: &str,
    old: &str,
    new: &str,
) -> OpResult<Renamed> {
    let repo = tx.repo();
    let session = tx.load(old)?;
    // Into a directory of its own name (`a` → `a/b`), or its own directory (`a/b` → `a`):
    // the refs, the branch and the worktree would each have to be both at once.
    let nested = |outer: &str, inner: &str| inner.starts_with(&format!("{outer}/"));
    if nested(old, new) || nested(new, old) {
        return Err(OpError::refused(format!(
            "'{}' and '{}' cannot both be names at once (one is a directory of the other); rename to another name first, then to '{}'",
            crate::text::escape(old),
            crate::text::escape(new),
            crate::text::escape(new)
        )));
    }
    Store::new(repo).check_new_name(new)?;
    let old_branch = session.meta.branch.clone();
    let new_branch = if old_branch == format!("{branch_prefix}{old}") {
        format!("{branch_prefix}{new}")
    } else {
        old_branch.clone()
    };
    // Checked before anything moves: a branch name git-session cannot record would fail the
    // rename half-way.
    if let Err(e) = crate::session::name::validate_branch(&new_branch) {
        return Err(OpError::refused(format!(
            "its branch would be '{}', which is not a usable branch name: {}; nothing was changed",
            crate::text::escape(&new_branch),
            e.rule
        )));
    }
    let branch_moves = new_branch != old_branch && worktree::branch_exists(repo, &old_branch)?;
    if branch_moves && worktree::branch_exists(repo, &new_branch)? {
        return Err(OpError::refused(format!(
            "branch '{new_branch}' already exists"
        )));
    }
    let old_path = lifecycle::find_worktree(repo, local, &session)?;
    let new_path = old_path.as_ref().and_then(|p| {
        (*p == crate::git::canonical(&site.worktree_dir.join(old)))
            .then(|| site.worktree_dir.join(new))
    });
    let who = SessionRef {
        name: new.to_owned(),
        id: session.meta.id.clone(),
    };
    if let (Some(from), Some(to)) = (&old_path, &new_path) {
        worktree::move_to(repo, from, to)?;
        crate::fault::point("worktree-moved");
        let (from, to) = (from.clone(), to.clone());
        tx.on_rollback(move |repo| {
            let _ = worktree::move_to(repo, &to, &from);
        });
        tx.worktree(WorktreeChange::Moved {
            session: who.clone(),
            from: old_path.clone().expect("checked"),
            to: crate::git::canonical(new_path.as_ref().expect("checked")),
        });
    }
    if branch_moves {
        let (old_ref, new_ref) = (
            format!("refs/heads/{old_branch}"),
            format!("refs/heads/{new_branch}"),
        );
        let before = repo.read_ref(&old_ref)?;
        worktree::rename_branch(repo, &old_branch, &new_branch)?;
        crate::fault::point("branch-renamed");
        let (ob, nb) = (old_branch.clone(), new_branch.clone());
        tx.on_rollback(move |repo| {
            let _ = worktree::rename_branch(repo, &nb, &ob);
        });
        tx.record_external(&old_ref, before)?;
        tx.record_external(&new_ref, None)?;
        tx.worktree(WorktreeChange::BranchRenamed {
            session: who.clone(),
            from: old_branch.clone(),
            to: new_branch.clone(),
        });
    }
    let branch = new_branch.clone();
    tx.rename_session(old, new, move |meta| meta.branch = branch.clone())?;
    let final_path = new_path
        .map(|p| crate::git::canonical(&p))
        .or(old_path.clone());
    let (recorded, name, ob, nb) = (
        final_path.clone(),
        new.to_owned(),
        old_branch.clone(),
        new_branch.clone(),
    );
    tx.local_update(local, &session.meta.id, move |s| {
        s.worktree = recorded;
        s.name = Some(name);
        if s.branch.as_deref() == Some(ob.as_str()) {
            s.branch = Some(nb);
        }
    })?;
    Ok(Renamed {
        worktree: old_path.zip(final_path),
    })
}
