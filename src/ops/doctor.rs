//! `doctor`: what a killed or crashed command can leave, found (and, asked to, repaired)
//! without ever losing work: whatever a repair would remove is salvaged into a session's log
//! or moved to the trash first, and each finding says what the repair does before it is run.
//! Never prints.

use std::path::{Path, PathBuf};

use crate::git::{Repo, RepoError};
use crate::lifecycle;
use crate::oplog::{self, OpLog};
use crate::ops::OpResult;
use crate::ops::resume::{self, Env};
use crate::session::{SessionLock, Store, StoreError};

/// One thing found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// What kind of thing (`include-staging`, `interrupted`, `interrupted-removal`,
    /// `moved-worktree`,
    /// `missing-worktree`, `lost-worktree`, `orphan-worktree`, `orphan-branch`,
    /// `missing-branch`, `local-record`, `stale-lock`, `index-lock`, `unreadable-session`,
    /// `oplog`, `fsmonitor`, `kept-files`).
    pub kind: &'static str,
    /// What it is about: a session, a path, a ref.
    pub subject: String,
    /// What is wrong.
    pub problem: String,
    /// What `--fix` does about it ("nothing" for what only a person may decide).
    pub fix: String,
    /// Whether `--fix` ran and repaired it.
    pub fixed: bool,
}

impl Finding {
    fn new(kind: &'static str, subject: impl Into<String>, problem: String, fix: &str) -> Finding {
        Finding {
            kind,
            subject: subject.into(),
            problem,
            fix: fix.to_owned(),
            fixed: false,
        }
    }
}

/// How old a ref's `.lock` file must be before doctor calls it stale (git holds one for the
/// milliseconds an update takes; a killed process leaves it for good, and every command
/// that records on that ref fails until it goes).
const STALE_REF_LOCK_SECS: u64 = 60;
const STALE_REF_LOCK: std::time::Duration = std::time::Duration::from_secs(STALE_REF_LOCK_SECS);

/// Looks for everything; with `fix`, repairs what it can (through `env.tx`).
pub fn doctor(env: &mut Env<'_, '_>, fix: bool) -> OpResult<Vec<Finding>> {
    let repo = env.tx.repo();
    let mut out = Vec::new();
    let store = Store::new(repo);
    let mut sessions = Vec::new();
    // An unreadable session's branch is still its own: never called an orphan.
    let mut unreadable = Vec::new();
    // One listing: a session made or removed meanwhile cannot shift names against entries.
    for entry in store.list_from_logs()? {
        match entry {
            Ok(session) => sessions.push(session),
            Err(StoreError::Malformed { name, reason }) => {
                unreadable.push(format!("{}{name}", env.branch_prefix));
                out.push(Finding::new(
                "unreadable-session",
                name.clone(),
                reason,
                &format!(
                    "nothing: inspect it with `git show refs/sessions/{0}:session.yaml`; `git session rm {0}` moves it to the trash",
                    crate::text::shell_word(&name)
                ),
            ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Include copies a killed process left half-done, next to the worktrees.
    for dir in crate::include::abandoned_staging(env.site.worktree_dir) {
        let mut finding = Finding::new(
            "include-staging",
            dir.display().to_string(),
            "a .worktreeinclude copy a killed command left (copies only)".into(),
            "remove it",
        );
        if fix && std::fs::remove_dir_all(&dir).is_ok() {
            finding.fixed = true;
        }
        out.push(finding);
    }
    // Sessions with an interrupted checkout, copy or restore, or a worktree gone.
    let worktrees = repo.linked_worktrees()?;
    // Where the sessions' worktrees live, for the files removals kept beside them (below).
    let mut beside: Vec<PathBuf> = Vec::new();
    for session in &sessions {
        let state = env.local.get(&session.meta.id);
        let recorded = state.worktree_of(session.name()).map(crate::git::normalize);
        // A removal killed after it moved the worktree aside: whole, it goes back where it
        // belongs; half-deleted (its `.git` gone), the rest goes (the removal had judged and
        // checkpointed its work before it began). Never recorded as the session's worktree.
        let home = recorded
            .clone()
            .or_else(|| env.local.expected_worktree(session.name()));
        beside.extend(home.as_deref().and_then(Path::parent).map(PathBuf::from));
        let asides = crate::worktree::asides_of(&worktrees, home.as_deref(), &session.meta.branch);
        let mut whole_put_back = false;
        if let Some(home) = &home
            && !asides.is_empty()
            && let Some(lock) = SessionLock::try_acquire(&repo.common_dir(), &session.meta.id)
        {
            for aside in &asides {
                let whole = crate::worktree::aside_is_whole(aside);
                // A whole one is this session's only when its branch is checked out there.
                let branch_here = worktrees.iter().any(|w| {
                    w.exists
                        && w.path == crate::git::canonical(aside)
                        && crate::worktree::checked_out_branch(&w.git_dir).as_deref()
                            == Some(session.meta.branch.as_str())
                });
                if whole && !branch_here {
                    continue;
                }
                let mut finding = Finding::new(
                    "interrupted-removal",
                    session.name(),
                    if whole {
                        format!(
                            "a removal or a sync was killed after moving its worktree aside to {}",
                            aside.display()
                        )
                    } else {
                        format!(
                            "a removal was killed while deleting its worktree: {} is what is left (the work was checkpointed first)",
                            aside.display()
                        )
                    },
                    if whole {
                        "put it back where it belongs"
                    } else {
                        "salvage what differs from its branch into its log, then delete the rest"
                    },
                );
                let target = crate::worktree::home_of_aside(aside).unwrap_or_else(|| home.clone());
                if fix {
                    if whole && !whole_put_back && std::fs::symlink_metadata(&target).is_err() {
                        crate::worktree::move_to(repo, aside, &target)
                            .map_err(lifecycle::LifecycleError::from)?;
                        // Back where it came from (the user may have moved it there): that
                        // is where the session's records say it is now.
                        if recorded.as_deref() != Some(target.as_path()) {
                            let (id, at) = (session.meta.id.clone(), target.clone());
                            env.tx
                                .local_update(env.local, &id, move |s| s.worktree = Some(at))?;
                        }
                        whole_put_back = true;
                        finding.fixed = true;
                    } else if !whole {
                        // What cannot go now (a file it may not delete) is said on its line;
                        // the other repairs still run.
                        match crate::repair::clear_interrupted_removal(
                            &lock, env.tx, session, aside,
                        ) {
                            Ok(_) => finding.fixed = true,
                            Err(e) => finding.problem.push_str(&format!(
                                "; it could not be deleted: {}",
                                crate::text::one_line(&e)
                            )),
                        }
                    }
                }
                out.push(finding);
            }
            drop(lock);
        }
        // An interrupted checkout, copy or restore (a killed rewind or sync included), judged
        // after a worktree set aside went back where it belongs.
        if let Some(what) = state.pending()
            && let Some(lock) = SessionLock::try_acquire(&repo.common_dir(), &session.meta.id)
        {
            let mut finding = Finding::new(
                "interrupted",
                session.name(),
                format!("{what} was interrupted (the process doing it is gone)"),
                "finish it (a half-made worktree: what looks like work in it is salvaged into the log, then it is made again)",
            );
            if fix {
                // What stops it (a rebase stopped in the worktree, say) is said on its line;
                // the other repairs still run.
                match resume::ensure_worktree(env, &lock, session, false, None) {
                    Ok(_) => finding.fixed = true,
                    Err(e) => finding.problem.push_str(&format!(
                        "; it could not be finished: {}",
                        crate::text::one_line(&e)
                    )),
                }
            }
            out.push(finding);
            continue;
        }
        if state.pending().is_some() {
            // Another process is making or changing it right now: nothing to judge.
            continue;
        }
        if whole_put_back {
            continue;
        }
        // Moved (`git worktree move`, or a rename that was interrupted): where its branch is.
        // Outside the worktree directory only for a session this machine made under that
        // branch, as every command finds it (`lifecycle::find_worktree_in`): a fetched session
        // names a branch, and that must not lead to someone else's worktree.
        let made_here = state.branch.as_deref() == Some(session.meta.branch.as_str());
        let moved_to = worktrees.iter().find(|w| {
            w.exists
                && (made_here || w.path.starts_with(env.site.worktree_dir))
                && w.names_back()
                && !asides.iter().any(|a| crate::git::canonical(a) == w.path)
                && crate::worktree::checked_out_branch(&w.git_dir).as_deref()
                    == Some(session.meta.branch.as_str())
        });
        if let (Some(path), Some(moved)) = (&recorded, moved_to)
            && !path.exists()
        {
            let mut finding = Finding::new(
                "moved-worktree",
                session.name(),
                format!(
                    "its worktree moved from {} to {}",
                    path.display(),
                    moved.path.display()
                ),
                "record where it is now",
            );
            if fix {
                let (id, to) = (session.meta.id.clone(), moved.path.clone());
                env.tx
                    .local_update(env.local, &id, move |s| s.worktree = Some(to))?;
                finding.fixed = true;
            }
            out.push(finding);
            continue;
        }
        if let Some(path) = &recorded
            && !path.exists()
        {
            let listed = worktrees.iter().any(|w| w.path == *path);
            let mut finding = Finding::new(
                "missing-worktree",
                session.name(),
                format!(
                    "its worktree {} is gone{}",
                    path.display(),
                    if listed { " (git still lists it)" } else { "" }
                ),
                "forget it (what it had staged is kept in the log); `git session resume` makes it again",
            );
            if fix {
                crate::ops::retire::forget_missing_worktrees(env.tx, env.local, session, None)?;
                let id = session.meta.id.clone();
                env.tx.local_update(env.local, &id, |s| s.worktree = None)?;
                finding.fixed = true;
            }
            out.push(finding);
        }
    }
    // Worktree directories git lost (their `.git` file names a gone administrative dir).
    // What a killed removal or sync set aside was judged above.
    if let Ok(entries) = std::fs::read_dir(env.site.worktree_dir) {
        for entry in entries.flatten() {
            let path = crate::git::canonical(&entry.path());
            if crate::worktree::is_set_aside(&path) {
                continue;
            }
            let dot_git = path.join(".git");
            let Ok(text) = std::fs::read_to_string(&dot_git) else {
                continue;
            };
            let Some(admin) = text.trim().strip_prefix("gitdir: ") else {
                continue;
            };
            if std::path::Path::new(admin).exists() || worktrees.iter().any(|w| w.path == path) {
                continue;
            }
            let owner = sessions.iter().find(|s| {
                env.local
                    .get(&s.meta.id)
                    .worktree_of(s.name())
                    .map(crate::git::canonical)
                    == Some(path.clone())
                    || env.site.worktree_dir.join(s.name()) == path
            });
            let mut finding = Finding::new(
                "lost-worktree",
                path.display().to_string(),
                "git lost its record of this worktree (its administrative directory is gone)"
                    .into(),
                match owner {
                    Some(_) => {
                        "salvage what it holds into its session's log, remove it; `git session resume` makes it again"
                    }
                    None => {
                        "nothing: it belongs to no session (move its files away, then delete it)"
                    }
                },
            );
            if fix && let Some(session) = owner {
                let lock =
                    SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
                        .map_err(lifecycle::LifecycleError::from)?;
                let id = session.meta.id.clone();
                let recorded = path.clone();
                // Marked half-made, so the repair salvages and removes it as it does one a
                // killed `new` left.
                env.tx.local_update(env.local, &id, move |s| {
                    s.worktree = Some(recorded);
                    s.checkout_pending = true;
                })?;
                crate::repair::undo_interrupted(&lock, env.tx, env.local, session)?;
                finding.fixed = true;
            }
            out.push(finding);
        }
    }
    // Worktrees in the sessions' directory that no session has.
    for w in worktrees.iter().filter(|w| w.exists) {
        // Still there (a repair above may have removed it); one set aside by a killed
        // removal or sync is judged above, with its session.
        if crate::worktree::is_set_aside(&w.path)
            || !w.path.starts_with(env.site.worktree_dir)
            || std::fs::symlink_metadata(w.path.join(".git")).is_err()
        {
            continue;
        }
        let owned = sessions.iter().any(|s| {
            lifecycle::find_worktree_in(&worktrees, env.local, s).as_deref() == Some(&w.path)
        });
        if !owned {
            out.push(Finding::new(
                "orphan-worktree",
                w.path.display().to_string(),
                "a worktree in the sessions' directory that belongs to no session".into(),
                "nothing: `git worktree remove` it once its work is safe (or `git session restore` its session)",
            ));
        }
    }
    // Session branches no session names (a `new` killed between making the branch and
    // recording the session), and active sessions whose branch is gone.
    let mut checked_out: Vec<String> = worktrees
        .iter()
        .filter(|w| w.exists)
        .filter_map(|w| crate::worktree::checked_out_branch(&w.git_dir))
        .collect();
    // The main worktree's branch too (git lists it apart from the linked ones).
    checked_out.extend(crate::worktree::checked_out_branch(&repo.common_dir()));
    let heads = repo.list_refs("refs/heads/")?;
    let prefix = format!("refs/heads/{}", env.branch_prefix);
    for (name, tip) in &heads {
        let Some(branch) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        if !name.starts_with(&prefix)
            || sessions.iter().any(|s| s.meta.branch == branch)
            || unreadable.iter().any(|b| b == branch)
            || checked_out.iter().any(|b| b == branch)
        {
            continue;
        }
        let mut others: Vec<_> = heads
            .iter()
            .filter(|(n, _)| n != name)
            .map(|(_, id)| *id)
            .collect();
        for prefix in ["refs/remotes/", "refs/tags/"] {
            others.extend(repo.list_refs(prefix)?.into_iter().map(|(_, id)| id));
        }
        others.extend(repo.head_commit()?);
        let own = repo.count_ahead(*tip, &others)?;
        let mut finding = Finding::new(
            "orphan-branch",
            branch,
            if own == 0 {
                "a session branch no session names; every commit on it is on another branch".into()
            } else {
                format!(
                    "a session branch no session names, with {own} commit(s) no other branch has"
                )
            },
            if own == 0 {
                "delete it (nothing is lost; `git session undo` brings it back)"
            } else {
                "nothing: merge or delete it yourself (`git branch -D`)"
            },
        );
        if fix && own == 0 {
            env.tx.delete_ref(name, *tip, "session: doctor")?;
            finding.fixed = true;
        }
        out.push(finding);
    }
    for session in &sessions {
        let live = matches!(
            session.meta.status,
            crate::session::Status::Active | crate::session::Status::Paused
        );
        if live
            && env
                .local
                .get(&session.meta.id)
                .worktree_of(session.name())
                .is_none()
            && !heads
                .iter()
                .any(|(n, _)| n.strip_prefix("refs/heads/") == Some(session.meta.branch.as_str()))
        {
            out.push(Finding::new(
                "missing-branch",
                session.name(),
                format!(
                    "its branch '{}' is gone",
                    crate::text::escape(&session.meta.branch)
                ),
                "nothing: `git session resume` makes it again from the session's log",
            ));
        }
    }
    // Machine-local records of sessions that are gone, pointing at missing paths.
    for (id, state) in env.local.all() {
        if sessions.iter().any(|s| s.meta.id == id) {
            continue;
        }
        if let Some(path) = &state.worktree
            && !path.exists()
        {
            let mut finding = Finding::new(
                "local-record",
                id.clone(),
                format!(
                    "a machine-local record of a session that is gone, naming {}",
                    path.display()
                ),
                "remove the record",
            );
            if fix {
                env.tx.local_remove(env.local, &id);
                finding.fixed = true;
            }
            out.push(finding);
        }
    }
    // Ref locks a killed process left (git-session's own refs).
    for lock in stale_ref_locks(repo, env.branch_prefix)? {
        let mut finding = Finding::new(
            "stale-lock",
            lock.display().to_string(),
            format!(
                "a ref lock older than {} seconds (a process holding it was killed)",
                STALE_REF_LOCK_SECS
            ),
            "remove it",
        );
        if fix && std::fs::remove_file(&lock).is_ok() {
            finding.fixed = true;
        }
        out.push(finding);
    }
    // Temporary packs a killed capture (or a killed git) left: a day old, no process is
    // writing them any more. git's gc removes them too, after two weeks.
    for file in stale_temporary_packs(repo) {
        let mut finding = Finding::new(
            "temporary-pack",
            file.display().to_string(),
            "a temporary pack older than a day (the process writing it was killed)".into(),
            "remove it",
        );
        if fix && std::fs::remove_file(&file).is_ok() {
            finding.fixed = true;
        }
        out.push(finding);
    }
    // git's index locks in the worktrees (the main one too: `land` moves its files with git's
    // read-tree): reported, never removed (git records no owner).
    let main_lock = repo
        .workdir()
        .is_some()
        .then(|| repo.common_dir().join("index.lock"));
    let linked_locks = worktrees
        .iter()
        .filter(|w| w.exists)
        .map(|w| w.git_dir.join("index.lock"));
    for lock in main_lock.into_iter().chain(linked_locks) {
        if lock.exists() {
            out.push(Finding::new(
                "index-lock",
                lock.display().to_string(),
                "git's index lock: another git process is at work there, or one was killed".into(),
                "nothing: when no git is running there, delete the file",
            ));
        }
    }
    // Records the operation log's file lacks (a crash between the refs and the file).
    // Judged under the log's lock: a command finishing now is not a crash.
    let log = OpLog::new(&repo.common_dir());
    let log_lock = log.lock().map_err(crate::transaction::TxError::from)?;
    let chain = oplog::chain_records(repo, repo.read_ref(oplog::KEEP_REF)?)?;
    let known: std::collections::HashSet<String> = log
        .newest_first()
        .map_err(crate::transaction::TxError::from)?
        .map(|r| r.id)
        .collect();
    let missing = chain.iter().filter(|r| !known.contains(&r.id)).count();
    if missing > 0 {
        let mut finding = Finding::new(
            "oplog",
            log.path().display().to_string(),
            format!(
                "{missing} operation(s) are in {} but not in the log's file",
                oplog::KEEP_REF
            ),
            "write the file again from the chain",
        );
        if fix {
            log.rewrite(&log_lock, &chain)
                .map_err(crate::transaction::TxError::from)?;
            finding.fixed = true;
        }
        out.push(finding);
    }
    // What removals kept because something wrote it after their last checkpoint began (or it
    // could not be deleted): in no checkpoint, said once by the removal, said here until a
    // person has looked.
    // Where sessions that are gone had theirs too.
    beside.extend(env.local.worktree_dir().map(PathBuf::from));
    beside.sort();
    beside.dedup();
    for dir in beside {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut kept: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                crate::worktree::is_kept_files_dir(&e.file_name().to_string_lossy())
                    && e.file_type().is_ok_and(|t| t.is_dir())
                    && !worktrees
                        .iter()
                        .any(|w| w.path == crate::git::canonical(&e.path()))
            })
            .map(|e| e.path())
            .collect();
        kept.sort();
        for path in kept {
            out.push(Finding::new(
                "kept-files",
                path.display().to_string(),
                "files a removal kept (written after its last checkpoint began, or not deletable) are here, in no checkpoint".into(),
                "nothing: look through them, then delete the directory",
            ));
        }
    }
    // A monitor turned on that does not answer: every scan walks every file.
    if crate::git::fsmonitor::mode(repo.gix()) == crate::git::fsmonitor::Mode::Watchman
        && let Err(e) = crate::git::fsmonitor::server_version(&repo.common_dir())
    {
        out.push(Finding::new(
            "fsmonitor",
            "session.fsmonitor",
            format!(
                "set to watchman, but no watchman answers ({}): every scan looks at every file",
                crate::text::one_line(&e)
            ),
            "nothing: `git session fsmonitor enable` starts watchman, `disable` turns it off",
        ));
    }
    Ok(out)
}

/// `tmp_pack_*` files in the pack directory untouched for a day.
fn stale_temporary_packs(repo: &Repo) -> Vec<PathBuf> {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
    let Ok(entries) = std::fs::read_dir(repo.common_dir().join("objects/pack")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("tmp_pack_"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|path| crate::fsutil::untouched_for(path, DAY))
        .collect();
    out.sort();
    out
}

/// `.lock` files of git-session's refs older than [`STALE_REF_LOCK_SECS`].
fn stale_ref_locks(repo: &Repo, branch_prefix: &str) -> Result<Vec<PathBuf>, RepoError> {
    let common = repo.common_dir();
    let mut out = Vec::new();
    // git-session's refs: its sessions, trash, fetched sessions, notes (not git's own
    // `refs/notes/commits`) and the operation log's chain.
    let mut pending = vec![
        common.join("refs/sessions"),
        common.join("refs/sessions-trash"),
        common.join("refs/remote-sessions"),
        common.join("refs/notes/remotes"),
        common.join("refs/notes"),
        common.join("refs"),
    ];
    // Sessions' branches too (those under the branch prefix): one locked by a killed
    // process stops its session's commands. Not the user's other branches.
    let prefix = branch_prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        pending.push(common.join("refs/heads").join(prefix));
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(dir) = pending.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let top = dir == common.join("refs");
        let notes = dir == common.join("refs/notes");
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if !top && !notes {
                    pending.push(path);
                }
                continue;
            }
            let ours = match () {
                _ if top => name.starts_with("sessions-oplog"),
                _ if notes => name.starts_with("sessions"),
                _ => true,
            };
            let old = crate::fsutil::untouched_for(&path, STALE_REF_LOCK);
            if ours && name.ends_with(".lock") && old {
                out.push(path);
            }
        }
    }
    // packed-refs' own lock stops every deletion of a packed ref.
    let packed = common.join("packed-refs.lock");
    if crate::fsutil::untouched_for(&packed, STALE_REF_LOCK) {
        out.push(packed);
    }
    out.sort();
    Ok(out)
}
