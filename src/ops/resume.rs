//! Resuming a session: marking it active again and making sure it has a whole worktree here —
//! made again from its branch (or the remote's copy of it, or its base) when missing, finished
//! when a killed command left it half-made.
//!
//! A session fetched from a remote (`refs/remote-sessions/<remote>/<name>`) is taken up with
//! the same id: adopted when it exists only there, fast-forwarded when the local log is
//! behind (its worktree brought to the newer checkpoint), refused when both sides have events
//! the other lacks. `--as` forks a fetched copy into a new session. Never prints.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::git::{Expect, ObjectId};
use crate::lifecycle;
use crate::oplog::{SessionRef, WorktreeChange};
use crate::ops::checkpoint::{Take, checkpoint_if_dirty, checkpoint_locked};
use crate::ops::create::{self, NewSession};
use crate::ops::{OpError, OpResult, Site};
use crate::report::Reporter;
use crate::session::store::{HANDOFF_FILE, ref_name};
use crate::session::sync::{self, Relation, RemoteEntry};
use crate::session::{
    Event, EventKind, LocalStore, Session, SessionLock, Status, Store, StoreError, saved,
};
use crate::transaction::Transaction;
use crate::worktree::{self, Start};

/// What resuming needs besides the session's name.
pub struct Env<'a, 'r> {
    pub tx: &'a mut Transaction<'r>,
    pub local: &'a LocalStore,
    pub site: Site<'a>,
    pub branch_prefix: &'a str,
    /// `session.remote`: where a recreated branch is looked for.
    pub default_remote: &'a str,
    pub reporter: &'a dyn Reporter,
}

/// How a session was resumed.
#[derive(Debug)]
pub struct Resumed {
    pub session: Session,
    pub path: PathBuf,
    /// The worktree was made now (setup commands are due).
    pub made: bool,
    /// The latest handoff, to repeat to whoever resumes.
    pub handoff: Option<String>,
}

/// `resume <name>` (or `<remote>/<name>`; `local`: continue the local session whatever its
/// fetched copies hold).
pub fn resume(
    env: &mut Env<'_, '_>,
    spec: &str,
    local_only: bool,
    no_include: bool,
) -> OpResult<Resumed> {
    let repo = env.tx.repo();
    let (session, from_remote) = if local_only {
        (env.tx.load(spec)?, None)
    } else {
        take_up(env, spec)?
    };
    // Waits for another process making or changing the worktree.
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
        .map_err(lifecycle::LifecycleError::from)?;
    let (path, made) = ensure_worktree(env, &lock, &session, no_include, from_remote.as_deref())?;
    // Taking up a fetched session records nothing: the worktree's place is this machine's
    // business, and an event here would make the two copies diverge at once.
    let recreated = made && from_remote.is_none();
    if session.meta.status != Status::Active || recreated {
        let detail = if recreated {
            "worktree recreated"
        } else {
            "active again"
        };
        env.tx.record(
            &session.meta.name,
            Event::new(EventKind::Resumed, detail),
            |meta, _| meta.status = Status::Active,
        )?;
    }
    let name = session.meta.name.clone();
    let recorded = path.clone();
    env.tx.local_update(env.local, &session.meta.id, move |s| {
        s.worktree = Some(recorded);
        s.name = Some(name);
    })?;
    let handoff = Store::new(repo)
        .read_file(&session, HANDOFF_FILE)
        .ok()
        .flatten();
    let session = env.tx.load(session.name())?;
    Ok(Resumed {
        session,
        path,
        made,
        handoff,
    })
}

/// The session's worktree here, whole, under its lock: a half-made one a killed command left
/// is salvaged and made again, an unfinished include copy or restore is finished, and a
/// missing one is made. Also says whether it was made now.
pub fn ensure_worktree(
    env: &mut Env<'_, '_>,
    lock: &SessionLock,
    session: &Session,
    no_include: bool,
    from_remote: Option<&str>,
) -> OpResult<(PathBuf, bool)> {
    let repo = env.tx.repo();
    // A removal or sync killed after it moved the worktree aside: back where it belongs (or,
    // half deleted, salvaged and made again below).
    crate::ops::retire::put_back_interrupted_removal(lock, env.tx, env.local, session)?;
    if let Some(undone) = crate::repair::undo_interrupted(lock, env.tx, env.local, session)? {
        report_undone(env.reporter, session.name(), &undone);
    }
    match lifecycle::find_worktree(repo, env.local, session)? {
        Some(path) => {
            let progress = env.reporter.copy_progress();
            if let Some(report) = create::finish_includes(
                lock,
                env.tx,
                env.local,
                &env.site,
                session,
                &path,
                progress.as_ref(),
            )? {
                env.reporter.status(&format!(
                    "Finished the .worktreeinclude copy into '{}' that an interrupted command left undone",
                    session.name()
                ));
                create::report_includes(env.reporter, &report);
            }
            finish_interrupted_restore(env, lock, session, &path)?;
            Ok((path, false))
        }
        None => {
            let path = recreate(env, lock, session, no_include, from_remote)?;
            Ok((path, true))
        }
    }
}

/// Narrates the undoing of a half-made worktree a killed command left.
pub fn report_undone(reporter: &dyn Reporter, name: &str, undone: &crate::repair::Undone) {
    let name = crate::text::escape(name);
    if let Some(id) = &undone.salvaged {
        reporter.warn(&format!(
            "the worktree of '{name}' was half-made ({} was interrupted); what looked like work in it is kept as {} (`git session log {name}` shows it)",
            undone.what,
            &id[..12.min(id.len())],
        ));
    }
    if let Some(path) = &undone.removed {
        reporter.status(&format!(
            "Removed the half-made worktree of '{name}' at {} ({} was interrupted)",
            path.display(),
            undone.what
        ));
    }
}

/// A checkpoint was being put into this worktree when the process was killed (a fork, a
/// resume, a catch-up): the restore is finished as `rewind` does it, the state found there
/// checkpointed first.
fn finish_interrupted_restore(
    env: &mut Env<'_, '_>,
    lock: &SessionLock,
    session: &Session,
    path: &Path,
) -> OpResult {
    let Some(target) = env
        .local
        .get(&session.meta.id)
        .restore_pending
        .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
    else {
        return Ok(());
    };
    env.reporter.status(&format!(
        "Putting checkpoint {} into the worktree was interrupted; finishing it",
        crate::git::short_id(target)
    ));
    crate::ops::rewind::restore(lock, env.tx, env.local, session, path, target, env.reporter)?;
    // The worktree holds that checkpoint again: it is the latest, not the half-made state
    // the restore checkpointed first.
    env.tx.record(
        session.name(),
        Event::linking(
            EventKind::Checkpoint,
            target,
            "put back after an interruption",
        ),
        |_, _| {},
    )?;
    create::restore_done(env.tx, env.local, session)?;
    Ok(())
}

/// The session `spec` names (`<name>` or `<remote>/<name>`), brought up to date with its
/// fetched copy: adopted when it exists only there, fast-forwarded when the local log is
/// behind, refused when they diverged. Also returns the remote whose branch a recreated
/// worktree should start from.
fn take_up(env: &mut Env<'_, '_>, spec: &str) -> OpResult<(Session, Option<String>)> {
    let repo = env.tx.repo();
    let store = Store::new(repo);
    let copies = sync::find_remote(repo, spec)?;
    let explicit: Vec<&RemoteEntry> = copies.iter().filter(|c| c.display() == spec).collect();
    let (name, copies): (String, Vec<&RemoteEntry>) = match explicit.first() {
        // A local session of this very name wins over reading it as <remote>/<name>.
        Some(entry) if !store.exists(spec).unwrap_or(false) => (entry.name.clone(), explicit),
        _ => (
            spec.to_owned(),
            copies.iter().filter(|c| c.name == spec).collect(),
        ),
    };
    let local = match env.tx.load(&name) {
        Ok(session) => Some(session),
        Err(StoreError::NotFound { .. }) if !copies.is_empty() => None,
        Err(e) => return Err(e.into()),
    };
    let Some(local) = local else {
        let entry = match copies.as_slice() {
            [one] => *one,
            many if many.iter().all(|c| c.tip == many[0].tip) => many[0],
            many => {
                let names: Vec<String> = many.iter().map(|c| c.display()).collect();
                return Err(OpError::refused(format!(
                    "session '{name}' exists on several remotes ({})",
                    names.join(", ")
                ))
                .hint(format!("say which: `git session resume {}`", names[0])));
            }
        };
        // Judged whole by the fetch that brought it: only what is newer is walked.
        let session = sync::check_log(repo, entry, &sync::checked_tips(repo))?;
        store.check_new_name(&name)?;
        // The same session under another name here (renamed on one side): two local
        // sessions with one id would share machine-local state.
        if let Some(twin) = store
            .list()?
            .into_iter()
            .flatten()
            .find(|s| s.meta.id == session.meta.id)
        {
            return Err(OpError::refused(format!(
                "{} is the local session '{}' under another name (same id {}); it was renamed on one side",
                crate::text::escape(&entry.display()),
                crate::text::escape(twin.name()),
                session.meta.id
            ))
            .hint(format!(
                "`git session rename {} {}` follows the rename here; `git session resume {} --as <new name>` keeps both",
                twin.name(),
                name,
                entry.display()
            )));
        }
        // A fetched session must not take over a branch of this repository (its `main`, a
        // branch someone works on): only one it will create.
        if worktree::branch_exists(repo, &session.meta.branch)? {
            return Err(OpError::refused(format!(
                "{} works on branch '{}', which already exists here and is not its",
                crate::text::escape(&entry.display()),
                crate::text::escape(&session.meta.branch)
            ))
            .hint(format!(
                "`git session resume {} --as <new name>` takes it up on a branch of its own",
                entry.display()
            )));
        }
        env.tx.update_ref(
            &ref_name(&name),
            entry.tip,
            Expect::Absent,
            "session: from remote",
        )?;
        // Real before a worktree is made for it: an interrupted take-up is finished by the
        // next resume (and a failed one is taken back with the transaction).
        env.tx.flush()?;
        env.reporter.status(&format!(
            "Taking up session '{}' from {} (same id {})",
            crate::text::escape(&name),
            entry.remote,
            session.meta.id
        ));
        let session = env.tx.load(&name)?;
        env.tx.touch(&session);
        return Ok((session, Some(entry.remote.clone())));
    };
    let mut session = local;
    let mut from_remote = None;
    for entry in copies {
        let mut known = sync::checked_tips(repo);
        known.push(session.tip);
        let copy = match sync::check_log(repo, entry, &known) {
            Ok(copy) => copy,
            // A refused copy the user did not name does not stop the local session.
            Err(e) if spec != entry.display() => {
                env.reporter.warn(&format!(
                    "ignoring {}: {}",
                    crate::text::escape(&entry.display()),
                    crate::text::one_line(&e)
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if copy.meta.id != session.meta.id {
            if spec == entry.display() {
                return Err(OpError::refused(format!(
                    "{} is another session (id {}) than the local '{}' (id {})",
                    crate::text::escape(spec),
                    copy.meta.id,
                    crate::text::escape(&name),
                    session.meta.id
                ))
                .hint(format!(
                    "rename the local one (`git session rename {name} <new>`), then resume {spec}"
                )));
            }
            continue;
        }
        let keep_yours = format!(
            "`git session resume {name} --local` continues yours as it is; `git session resume {} --as {name}-2` takes the other up as a new session",
            entry.display()
        );
        match sync::relate(repo, session.tip, entry.tip)? {
            Relation::Same | Relation::Ahead | Relation::Unrelated => {}
            Relation::Behind if copy.meta.branch != session.meta.branch => {
                // Taking it would move the session onto another branch of this repository
                // (its `main`, say), which push would then send and rewind would reset.
                return Err(OpError::refused(format!(
                    "{} moved session '{}' from branch '{}' to '{}'; the log was not moved",
                    crate::text::escape(&entry.display()),
                    crate::text::escape(&name),
                    crate::text::escape(&session.meta.branch),
                    crate::text::escape(&copy.meta.branch)
                ))
                .hint(keep_yours));
            }
            Relation::Behind => {
                // A half-made worktree here is finished first (the next step judges it).
                let worktree = lifecycle::find_worktree(repo, env.local, &session)?;
                if worktree.is_some() && env.local.get(&session.meta.id).checkout_pending {
                    let lock =
                        SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
                            .map_err(lifecycle::LifecycleError::from)?;
                    ensure_worktree(env, &lock, &session, false, None)?;
                }
                // The worktree here must hold nothing the log lacks before the log moves on,
                // and must then show what the newer log holds.
                let worktree = lifecycle::find_worktree(repo, env.local, &session)?;
                if let Some(path) = &worktree
                    && let Some(recorded) = checkpoint_if_dirty(
                        env.tx,
                        env.local,
                        &session,
                        path,
                        "before taking up newer events",
                    )?
                    && recorded.new
                {
                    return Err(OpError::refused(format!(
                        "the worktree of '{}' changed since its last checkpoint (now checkpoint {}), and {} has newer events; the log was not moved",
                        crate::text::escape(&name),
                        &crate::git::short_id(recorded.id),
                        crate::text::escape(&entry.display())
                    ))
                    .hint(keep_yours));
                }
                fast_forward(env, &session, entry, worktree.is_some())?;
                let before = std::mem::replace(&mut session, env.tx.load(&name)?);
                from_remote = Some(entry.remote.clone());
                if let Some(path) = &worktree {
                    catch_up_worktree(env, &before, &session, entry, path)?;
                }
            }
            Relation::Diverged => {
                return Err(OpError::refused(format!(
                    "session '{}' and {} have diverged: each has events the other lacks; nothing was changed",
                    crate::text::escape(&name),
                    crate::text::escape(&entry.display())
                ))
                .hint(keep_yours));
            }
        }
    }
    env.tx.touch(&session);
    Ok((session, from_remote))
}

/// `resume <remote>/<name> --as <new>`: a new session forked from the fetched copy's latest
/// checkpoint (parent: the copy's id), its files in place as uncommitted work.
pub fn take_up_as(
    env: &mut Env<'_, '_>,
    spec: &str,
    new: &str,
    no_include: bool,
) -> OpResult<Resumed> {
    let repo = env.tx.repo();
    let copies = sync::find_remote(repo, spec)?;
    let entry = match copies.as_slice() {
        [one] => one,
        [] => {
            return Err(OpError::refused(format!(
                "no fetched session '{}'",
                crate::text::escape(spec)
            ))
            .hint("`git session fetch` brings a remote's sessions; `git session list --all` shows them"));
        }
        many => {
            let names: Vec<String> = many.iter().map(|c| c.display()).collect();
            return Err(OpError::refused(format!(
                "'{}' names several fetched sessions ({})",
                crate::text::escape(spec),
                names.join(", ")
            ))
            .hint(format!(
                "say which: `git session resume {} --as {new}`",
                names[0]
            )));
        }
    };
    let copy = sync::check_log(repo, entry, &sync::checked_tips(repo))?;
    let ckpt = sync::latest_checkpoint(repo, entry.tip)?;
    let (at, snapshot) = match ckpt {
        Some(c) => {
            let snapshot = checkpoint::Snapshot::read(repo, c)?;
            (snapshot.head, Some(snapshot))
        }
        None => (
            repo.read_ref(&format!(
                "refs/remotes/{}/{}",
                entry.remote, copy.meta.branch
            ))?,
            None,
        ),
    };
    let at = at.ok_or_else(|| {
        OpError::refused(format!(
            "{} has no checkpoint and its branch was not fetched",
            entry.display()
        ))
    })?;
    let placement = create::placement(repo, &env.site, env.branch_prefix, new, true)?;
    let mut event = Event::new(EventKind::Forked, format!("from {}", entry.display()));
    if let Some(s) = &snapshot {
        event = event.with_checkpoint(s.id);
    }
    let base_ref = format!("{}/{}", entry.remote, copy.meta.branch);
    let spec = NewSession {
        name: new.to_owned(),
        placement,
        at,
        base_ref: base_ref.clone(),
        parent: Some(copy.meta.id.clone()),
        goal: copy.meta.goal.clone(),
        context: copy.context.clone(),
        agent: None,
        owns: copy.meta.owns.clone(),
        event,
        include_source: (!no_include).then(|| env.site.main_root.to_owned()),
    };
    let created = create::start(env.tx, env.local, &env.site, spec, &base_ref, env.reporter)?;
    let path = created
        .worktree
        .clone()
        .expect("a session made with a worktree has one");
    if let Some(snapshot) = &snapshot {
        let wt = repo.open_worktree(&path)?;
        // Should it fail, the transaction takes the new session back whole: the same
        // command can be tried again.
        checkpoint::apply_to_fresh_checkout(&wt, snapshot, at).map_err(|e| {
            OpError::refused(format!(
                "{}; '{}' was not made, {} is as it was",
                crate::text::one_line(&e),
                crate::text::escape(new),
                crate::text::escape(&entry.display())
            ))
        })?;
        create::restore_done(env.tx, env.local, &created.session)?;
    }
    env.reporter.status(&format!(
        "Took up {} as the new session '{}'",
        crate::text::escape(&entry.display()),
        crate::text::escape(new)
    ));
    Ok(Resumed {
        session: env.tx.load(new)?,
        path,
        made: true,
        handoff: None,
    })
}

/// After a fast-forward: the worktree (which held exactly an older checkpoint of the log) now
/// gets the newer log's latest checkpoint, when that was taken on the remote's branch tip (or
/// the branch is not fetched); otherwise says how to bring the new commits.
fn catch_up_worktree(
    env: &mut Env<'_, '_>,
    before: &Session,
    session: &Session,
    entry: &RemoteEntry,
    path: &Path,
) -> OpResult {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = env.tx.repo();
    let branch = &session.meta.branch;
    let Some(latest) = sync::latest_checkpoint(repo, session.tip)? else {
        return Ok(());
    };
    let snapshot = checkpoint::Snapshot::read(repo, latest)?;
    let remote_tip = repo.read_ref(&format!("refs/remotes/{}/{branch}", entry.remote))?;
    let wt = repo.open_worktree(path)?;
    let here = wt.head_commit()?;
    let behind = match (here, snapshot.head) {
        (Some(here), Some(there)) => repo.count_ahead(here, &[there])? == 0,
        _ => false,
    };
    if !behind || remote_tip.is_some_and(|tip| Some(tip) != snapshot.head) {
        env.reporter.hint(&format!(
            "{}/{branch} has commits after its latest checkpoint: `git merge --ff-only {}/{branch}` in the worktree brings them",
            entry.remote, entry.remote
        ));
        return Ok(());
    }
    // Everything is checked, then the worktree judged again, under the session's lock, right
    // before it is overwritten: work done since the first look is never lost.
    let lock = SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
        .map_err(lifecycle::LifecycleError::from)?;
    let prepared = checkpoint::prepare_restore(&wt, &snapshot)?;
    let capture = checkpoint::capture(&wt)?;
    let at = |s: &checkpoint::Snapshot| {
        capture.head == s.head && capture.tree == s.tree && capture.staged == s.staged
    };
    if at(&snapshot) {
        return Ok(());
    }
    // Clean on the commit it was judged on (a commit made meanwhile would be reset away).
    let clean = capture.staged.is_none()
        && capture.head == here
        && match capture.head {
            Some(head) => repo.read_commit(head)?.tree == capture.tree,
            None => false,
        };
    let held = before
        .meta
        .last_checkpoint_id()
        .and_then(|id| checkpoint::Snapshot::read(repo, id).ok());
    if !clean && !held.as_ref().is_some_and(at) {
        let recorded = checkpoint_locked(
            &lock,
            env.tx,
            env.local,
            session,
            path,
            Take::new("changed while being brought up to date"),
        )?
        .expect("recorded");
        return Err(OpError::refused(format!(
            "the worktree of '{}' changed while it was being brought up to date; it was left as it is (checkpoint {})",
            crate::text::escape(session.name()),
            &crate::git::short_id(recorded.id)
        ))
        .hint(format!(
            "the newer checkpoint is in the log: `git session rewind {} {}` brings it",
            &crate::git::short_id(latest),
            crate::text::escape(session.name())
        )));
    }
    let previous = match held {
        Some(s) if at(&s) => s.id,
        // Clean: what it held is its HEAD, as a checkpoint of the clean state.
        _ => repo.write_commit(
            capture.tree,
            &capture.head.into_iter().collect::<Vec<_>>(),
            "clean before being brought up to date",
        )?,
    };
    create::restore_begun(env.tx, env.local, session, latest)?;
    // The log's fast-forward is real before the files change, and stays.
    env.tx.persist()?;
    let head_ref = wt.head_ref_name()?;
    let head_before = match &head_ref {
        Some(name) => repo.read_ref(name)?,
        None => None,
    };
    let applied = prepared.apply();
    if let Some(name) = &head_ref {
        env.tx.record_external(name, head_before)?;
    }
    applied?;
    create::restore_done(env.tx, env.local, session)?;
    env.tx.worktree(WorktreeChange::Restored {
        session: SessionRef {
            name: session.name().to_owned(),
            id: session.meta.id.clone(),
        },
        path: path.to_owned(),
        before: previous.to_string(),
        after: latest.to_string(),
    });
    drop(lock);
    env.reporter.status(&format!(
        "Brought the worktree to the newer checkpoint {} (what it held before is in the log)",
        &crate::git::short_id(latest)
    ));
    Ok(())
}

/// Moves the local log (and the branch, when no worktree has it checked out and it is
/// behind) forward to the fetched copy.
fn fast_forward(
    env: &mut Env<'_, '_>,
    session: &Session,
    entry: &RemoteEntry,
    has_worktree: bool,
) -> OpResult {
    let repo = env.tx.repo();
    env.tx.update_ref(
        &ref_name(session.name()),
        entry.tip,
        Expect::At(session.tip),
        "session: fast-forward to remote",
    )?;
    env.reporter.status(&format!(
        "Fast-forwarded session '{}' to {}",
        crate::text::escape(session.name()),
        crate::text::escape(&entry.display())
    ));
    let branch = &session.meta.branch;
    let (Some(mine), Some(theirs)) = (
        env.tx.read_ref(&format!("refs/heads/{branch}"))?,
        repo.read_ref(&format!("refs/remotes/{}/{branch}", entry.remote))?,
    ) else {
        return Ok(());
    };
    if mine == theirs || repo.count_ahead(mine, &[theirs])? > 0 {
        return Ok(());
    }
    if has_worktree {
        return Ok(()); // the worktree catches up by itself (catch_up_worktree)
    }
    if crate::ops::retire::branch_checked_out_elsewhere(repo, branch, None)? {
        env.reporter.hint(&format!(
            "{branch} is checked out in another worktree, so it was left alone: `git merge --ff-only {}/{branch}` there brings the new commits",
            entry.remote
        ));
        return Ok(());
    }
    env.tx.update_ref(
        &format!("refs/heads/{branch}"),
        theirs,
        Expect::At(mine),
        "session: fast-forward to remote",
    )?;
    Ok(())
}

/// Makes the session's worktree again: its branch where it was (the local branch, else the
/// tip or checkpoint the log kept, else the remote's copy, else the base), the last
/// checkpoint's uncommitted work (staged state too) when it was taken on that commit, this
/// machine's `.worktreeinclude` files, and the ignored files a forced removal saved.
fn recreate(
    env: &mut Env<'_, '_>,
    lock: &SessionLock,
    session: &Session,
    no_include: bool,
    from_remote: Option<&str>,
) -> OpResult<PathBuf> {
    let repo = env.tx.repo();
    let store = Store::new(repo);
    let path = env.site.worktree_dir.join(&session.meta.name);
    crate::ops::retire::forget_missing_worktrees(env.tx, env.local, session, Some(&path))?;
    if path.exists() {
        return Err(OpError::refused(format!(
            "{} exists but is not this session's worktree",
            path.display()
        ))
        .hint("move it away, then resume again"));
    }
    let session = &env.tx.load(session.name())?;
    let branch = session.meta.branch.clone();
    let remote = from_remote.unwrap_or(env.default_remote).to_owned();
    // A session taken up from a remote starts from the remote's branch, as pushed.
    let pushed_branch = match from_remote {
        Some(r) => repo.read_ref(&format!("refs/remotes/{r}/{branch}"))?,
        None => None,
    };
    let latest = match pushed_branch {
        Some(tip) => Some(tip),
        None => lifecycle::last_known_head(repo, &store, session)?,
    };
    let mut branch_created = env.local.get(&session.meta.id).created_branch(&branch);
    let start = if worktree::branch_exists(repo, &branch)? {
        Start::ExistingBranch {
            branch: branch.clone(),
        }
    } else {
        let at = match latest {
            Some(head) => head,
            None => match repo.read_ref(&format!("refs/remotes/{remote}/{branch}"))? {
                Some(tip) => tip,
                None => ObjectId::from_hex(session.meta.base.as_bytes())
                    .ok()
                    .filter(|b| repo.has_object(*b))
                    .ok_or_else(|| {
                        OpError::refused(format!(
                            "session '{}' has no branch here and its base {} is not in this repository",
                            session.meta.name, session.meta.base
                        ))
                        .hint(format!(
                            "fetch the branch {branch} or the base commit, then resume again"
                        ))
                    })?,
            },
        };
        branch_created = true;
        env.reporter.status(&match from_remote {
            Some(r) if pushed_branch == Some(at) => format!(
                "Creating the branch {branch} at {r}/{branch} ({})",
                &crate::git::short_id(at)
            ),
            Some(r) => format!(
                "Creating the branch {branch} at {} ({r} has no branch {branch}; this is where the session's log last saw it)",
                &crate::git::short_id(at)
            ),
            None => format!(
                "The branch {branch} was gone; recreating it at {}",
                &crate::git::short_id(at)
            ),
        });
        Start::NewBranch {
            branch: branch.clone(),
            at,
        }
    };
    env.reporter.status(&format!(
        "{} the worktree of session '{}' at {}",
        if from_remote.is_some() {
            "Creating"
        } else {
            "Recreating"
        },
        session.meta.name,
        path.display()
    ));
    let source = (!no_include).then_some(env.site.main_root);
    // The checkpoint to put back is known before the worktree is made, so a process killed
    // while either happens leaves a record of it for the next resume.
    let head = match &start {
        Start::ExistingBranch { branch } => repo.read_ref(&format!("refs/heads/{branch}"))?,
        Start::NewBranch { at, .. } => Some(*at),
    };
    // A checkpoint an interrupted command was putting in wins over the log's latest.
    let interrupted = env
        .local
        .get(&session.meta.id)
        .restore_pending
        .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
        .and_then(|id| checkpoint::Snapshot::read(repo, id).ok());
    let pending = interrupted.filter(|s| s.head == head);
    // One whose HEAD is not the branch's now (a sync killed after it moved the branch): the
    // worktree is made at the branch, then the session is put back as it was, branch and all.
    let put_back_after = interrupted.filter(|s| s.head != head).map(|s| s.id);
    let restore = match pending {
        Some(snapshot) => Some(snapshot),
        None => lifecycle::restorable_checkpoint(repo, &store, session, head)?,
    };
    let progress = env.reporter.copy_progress();
    let (path, includes) = create::make_worktree(
        lock,
        env.tx,
        env.local,
        &env.site,
        session,
        &path,
        &start,
        branch_created,
        source,
        restore.map(|s| s.id),
        progress.as_ref(),
    )?;
    if let Some(report) = &includes {
        create::report_includes(env.reporter, report);
    }
    create::install_hooks(repo, &path, env.reporter);
    let wt = repo.open_worktree(&path)?;
    if let Some(snapshot) = restore {
        let head = snapshot.head.expect("a restorable checkpoint has a HEAD");
        // Should it fail, the worktree made just now goes with the transaction (nobody
        // worked in it), so the next resume starts over and puts the work back then.
        checkpoint::apply_to_fresh_checkout(&wt, &snapshot, head).map_err(|e| {
            OpError::refused(format!(
                "{}; the worktree was not made, checkpoint {} still holds the work",
                crate::text::one_line(&e),
                &crate::git::short_id(snapshot.id)
            ))
        })?;
        create::restore_done(env.tx, env.local, session)?;
        env.reporter.status(&format!(
            "Put back the uncommitted work of checkpoint {}",
            &crate::git::short_id(snapshot.id)
        ));
    }
    if let Some(target) = put_back_after {
        create::restore_begun(env.tx, env.local, session, target)?;
        finish_interrupted_restore(env, lock, session, &path)?;
    }
    let common = repo.common_dir();
    for save in saved::saves(&common, &session.meta.id, session.name()) {
        let count = saved::restore(&save, &path).map_err(|e| {
            OpError::refused(format!(
                "{}; the saved files are still in {}",
                crate::text::one_line(&e),
                save.display()
            ))
        })?;
        env.reporter.status(&format!(
            "Put back {count} file(s) no checkpoint holds, saved when the worktree was removed (from {})",
            save.display()
        ));
    }
    Ok(path)
}
