//! The trash: sessions `rm` deleted (their logs under `refs/sessions-trash/`, kept for
//! `session.trashDays`), listed, and brought back by `restore` with the same id, their log
//! and — when they had one — their worktree with its files. Never prints.

use std::path::PathBuf;

use crate::git::{Expect, ObjectId};
use crate::lifecycle::LifecycleError;
use crate::oplog::{OpLog, WorktreeChange};
use crate::ops::resume::{self, Env};
use crate::ops::{OpError, OpResult};
use crate::session::store::{TRASH_PREFIX, ref_name};
use crate::session::{Event, EventKind, SessionLock, Status, Store};

/// A deleted session in the trash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Trashed {
    pub name: String,
    pub id: String,
    /// `refs/sessions-trash/…`.
    pub trash_ref: String,
    /// When it was deleted (RFC 3339).
    pub deleted: String,
    /// The worktree it had when it was deleted, if any (machine-local: from the log).
    pub worktree: Option<PathBuf>,
    #[serde(skip)]
    pub tip: ObjectId,
}

/// Every readable session in the trash, newest deletion first.
pub fn trashed(repo: &crate::git::Repo) -> OpResult<Vec<Trashed>> {
    let store = Store::new(repo);
    let log = OpLog::new(&repo.common_dir());
    let removed: Vec<(String, PathBuf)> = log
        .newest_first()
        .map(|records| {
            records
                .filter(|r| r.refs.iter().any(|c| c.name.starts_with(TRASH_PREFIX)))
                .flat_map(|r| {
                    r.worktrees.into_iter().filter_map(|w| match w {
                        WorktreeChange::Removed { session, path, .. } => Some((session.id, path)),
                        _ => None,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (trash_ref, tip, time) in store.trashed()? {
        let Some(rest) = trash_ref.strip_prefix(TRASH_PREFIX) else {
            continue;
        };
        let Some((id, _)) = rest.rsplit_once('-') else {
            continue;
        };
        // An unreadable session's log, kept as it was: not a session of id `unreadable`.
        if id == "unreadable" {
            continue;
        }
        let Some(name) = store.trashed_name(id) else {
            continue;
        };
        out.push(Trashed {
            worktree: removed
                .iter()
                .find(|(sid, _)| sid == id)
                .map(|(_, p)| p.clone()),
            name,
            id: id.to_owned(),
            trash_ref,
            deleted: crate::session::time::format_rfc3339(time),
            tip,
        });
    }
    out.sort_by(|a, b| b.deleted.cmp(&a.deleted));
    Ok(out)
}

/// Logs `rm` moved to the trash that cannot be read as a session (`rm` of an unreadable
/// session keeps its log as it is): their refs, by name, less the `readable` ones
/// [`trashed`] found. Neither listed as sessions nor restorable; `undo` of the removal puts
/// one back.
pub fn unreadable_in_trash(repo: &crate::git::Repo, readable: &[Trashed]) -> OpResult<Vec<String>> {
    Ok(Store::new(repo)
        .trashed()?
        .into_iter()
        .map(|(trash_ref, _, _)| trash_ref)
        .filter(|r| !readable.iter().any(|t| t.trash_ref == *r))
        .collect())
}

/// Brings back the trashed session named `spec` (or whose id starts with it), as `as_name`
/// when given. Returns its name and its worktree, when one was made.
pub fn restore(
    env: &mut Env<'_, '_>,
    spec: &str,
    as_name: Option<&str>,
) -> OpResult<(String, Option<PathBuf>)> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = env.tx.repo();
    let all = trashed(repo)?;
    // By name: the latest deleted of that name. By id prefix: it must name one session.
    let by_id: Vec<_> = all
        .iter()
        .filter(|t| spec.len() >= 4 && t.id.starts_with(spec))
        .collect();
    if !all.iter().any(|t| t.name == spec) && by_id.iter().any(|t| t.id != by_id[0].id) {
        return Err(OpError::refused(format!(
            "'{}' is the start of more than one deleted session's id",
            crate::text::escape(spec)
        ))
        .hint("`git session trash` lists them; give more of the id"));
    }
    let found = all
        .iter()
        .find(|t| t.name == spec || (spec.len() >= 4 && t.id.starts_with(spec)))
        .cloned()
        .ok_or_else(|| {
            let unreadable = unreadable_in_trash(repo, &all).unwrap_or_default();
            match unreadable.iter().find(|r| {
                spec.len() >= 4
                    && r.strip_prefix(TRASH_PREFIX)
                        .is_some_and(|n| n.starts_with(spec))
            }) {
                Some(found) => OpError::refused(format!(
                    "{} holds a log that cannot be read as a session; it cannot be restored",
                    crate::text::escape(found)
                ))
                .hint(format!(
                    "inspect it with `git show {}`; `git session undo` of its removal puts it back",
                    crate::text::escape(found)
                )),
                None => OpError::refused(format!(
                    "no session '{}' in the trash",
                    crate::text::escape(spec)
                ))
                .hint("`git session trash` lists what it holds"),
            }
        })?;
    let name = as_name.unwrap_or(&found.name).to_owned();
    if let Err(e) = Store::new(repo).check_new_name(&name) {
        return Err(OpError::refused(format!(
            "{}; the session was not restored",
            crate::text::one_line(&e)
        ))
        .hint(format!(
            "`git session restore {} --as <new name>` restores it under another name",
            found.name
        )));
    }
    let tip = if name == found.name {
        found.tip
    } else {
        let session = Store::new(repo).read_at(&found.name, found.tip)?.0;
        // A default-named branch follows the name, as `rename` does.
        let (old_default, new_default) = (
            format!("{}{}", env.branch_prefix, found.name),
            format!("{}{name}", env.branch_prefix),
        );
        let renamed = Store::new(repo).build_rename(&session, &name, &mut |meta| {
            if meta.branch == old_default {
                meta.branch = new_default.clone();
            }
        })?;
        renamed.tip
    };
    env.tx
        .update_ref(&ref_name(&name), tip, Expect::Absent, "session: restored")?;
    env.tx.record(
        &name,
        Event::new(EventKind::Restored, "from the trash"),
        |meta, _| meta.status = Status::Active,
    )?;
    env.tx
        .delete_ref(&found.trash_ref, found.tip, "session: restored")?;
    env.tx.flush()?;
    let session = env.tx.load(&name)?;
    if found.worktree.is_none() {
        return Ok((name, None));
    }
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
        .map_err(LifecycleError::from)?;
    let (path, _) = resume::ensure_worktree(env, &lock, &session, false, None)?;
    Ok((name, Some(path)))
}
