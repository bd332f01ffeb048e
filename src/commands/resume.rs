//! `git session resume`: mark a session active again and make sure it has a worktree here,
//! recreating one from its branch (or the remote's copy of it, or its base) when missing.
//!
//! A session fetched from a remote (`refs/remote-sessions/<remote>/<name>`) is taken up with
//! the same id: adopted when it exists only there, fast-forwarded when the local log is
//! behind, refused when both sides have events the other lacks. The latest handoff is
//! repeated on stderr.

use crate::checkpoint;
use crate::command_context::Context;
use crate::config;
use crate::create;
use crate::error::{CommandError, CommandResult};
use crate::git::Expect;
use crate::git::ObjectId;
use crate::lifecycle;
use crate::session::store::{HANDOFF_FILE, ref_name};
use crate::session::sync::{self, Relation, RemoteEntry};
use crate::session::{Event, EventKind, Session, SessionLock, Status, saved};
use crate::worktree::{self, Start};

/// Resume a session and print its worktree path.
///
/// Marks it active and prints its worktree path, recreating the worktree
/// from the session's branch (or from its base when the branch is gone) if needed.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The session to resume.
    pub name: String,
    /// Do not copy the files .worktreeinclude names into a recreated worktree.
    #[arg(long)]
    pub no_include: bool,
    /// Continue the local session as it is, whatever its fetched copies hold.
    #[arg(long, conflicts_with = "as_name")]
    pub local: bool,
    /// Take a fetched copy (<remote>/<name>) up as a new session of this name (a fork of it,
    /// with its latest checkpoint's files), e.g. when it diverged from the local one.
    #[arg(long = "as", value_name = "NEW")]
    pub as_name: Option<String>,
}

pub fn run(ctx: &Context, args: ResumeArgs) -> CommandResult {
    if let Some(new) = &args.as_name {
        return take_up_as(ctx, &args.name, new, args.no_include);
    }
    // `<remote>/<name>` takes up, or fast-forwards, the local `<name>`.
    let store = ctx.store();
    let existed = [
        Some(args.name.as_str()),
        args.name.split_once('/').map(|(_, n)| n),
    ]
    .into_iter()
    .flatten()
    .any(|n| store.exists(n).unwrap_or(true));
    let (session, from_remote) = if args.local {
        (ctx.session(Some(&args.name))?, None)
    } else {
        take_up(ctx, &args.name)?
    };
    // A session taken up from a remote just now is let go again if its worktree cannot be
    // made, so a later resume starts over rather than from a half-made copy.
    let taken_up = !existed && from_remote.is_some();
    let local = ctx.local();
    let config = ctx.config()?;
    // Waits for another process making or changing the worktree.
    let lock = SessionLock::acquire(&ctx.repo.common_dir(), &session.meta.id, session.name())
        .map_err(lifecycle::LifecycleError::from)?;
    let (path, made) = match ensure_worktree(
        ctx,
        &lock,
        &session,
        args.no_include,
        from_remote.as_deref(),
    ) {
        Ok(made) => made,
        Err(e) => {
            if taken_up {
                let _ = ctx.repo.delete_ref(&ref_name(session.name()), session.tip);
            }
            return Err(e);
        }
    };
    // Taking up a fetched session records nothing: the worktree's place is this machine's
    // business, and an event here would make the two copies diverge at once.
    let recreated = made && from_remote.is_none();
    if session.meta.status != Status::Active || recreated {
        let detail = if recreated {
            "worktree recreated"
        } else {
            "active again"
        };
        ctx.store().record(
            &session.meta.name,
            Event::new(EventKind::Resumed, detail),
            |meta, _| meta.status = Status::Active,
        )?;
    }
    local.update(&session.meta.id, |s| {
        s.worktree = Some(path.clone());
        s.last_active = ctx.repo.now().ok();
        s.name = Some(session.meta.name.clone());
    })?;
    // Setup commands may run git-session themselves.
    drop(lock);
    if made {
        super::setup::after_create(ctx, &config, &session, &path);
    }
    if let Ok(Some(handoff)) = ctx.store().read_file(&session, HANDOFF_FILE) {
        ctx.out.status(&format!(
            "Latest handoff:\n{}",
            crate::text::escape_multiline(handoff.trim_end())
        ));
    }
    ctx.out.answer(&path.to_string_lossy())?;
    Ok(())
}

/// The session's worktree here, whole, under its lock: a half-made one a killed command left
/// is salvaged and made again, an unfinished include copy or restore is finished, and a
/// missing one is made. Also says whether it was made now.
pub(crate) fn ensure_worktree(
    ctx: &Context,
    lock: &SessionLock,
    session: &Session,
    no_include: bool,
    from_remote: Option<&str>,
) -> CommandResult<(std::path::PathBuf, bool)> {
    let local = ctx.local();
    let main_root = ctx.main_root()?;
    let config = ctx.config()?;
    if let Some(undone) =
        crate::repair::undo_interrupted(lock, &ctx.repo, &ctx.store(), &local, session)?
    {
        super::end::report_undone(ctx, session.name(), &undone);
    }
    match lifecycle::find_worktree(&ctx.repo, &local, session)? {
        Some(path) => {
            super::new::finish_includes(ctx, lock, &config, &main_root, session, &path)?;
            finish_interrupted_restore(ctx, lock, session, &path)?;
            Ok((path, false))
        }
        None => {
            let path = recreate(
                ctx,
                lock,
                &config,
                &main_root,
                session,
                no_include,
                from_remote,
            )?;
            Ok((path, true))
        }
    }
}

/// A checkpoint was being put into this worktree when the process was killed (a fork, a
/// resume, a catch-up): the restore is finished as `rewind` does it, the state found there
/// checkpointed first.
fn finish_interrupted_restore(
    ctx: &Context,
    lock: &SessionLock,
    session: &Session,
    path: &std::path::Path,
) -> CommandResult {
    let local = ctx.local();
    let Some(target) = local
        .get(&session.meta.id)
        .restore_pending
        .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
    else {
        return Ok(());
    };
    ctx.out.status(&format!(
        "Putting checkpoint {} into the worktree was interrupted; finishing it",
        crate::git::short_id(target)
    ));
    super::rewind::restore(ctx, lock, session, path, target)?;
    // The worktree holds that checkpoint again: it is the latest, not the half-made state
    // the restore checkpointed first.
    ctx.store().record(
        session.name(),
        Event::linking(
            EventKind::Checkpoint,
            target,
            "put back after an interruption",
        ),
        |_, _| {},
    )?;
    create::restore_done(&local, session);
    Ok(())
}

/// The session `spec` names (`<name>` or `<remote>/<name>`), brought up to date with its
/// fetched copy: adopted when it exists only there, fast-forwarded when the local log is
/// behind, refused when they diverged. Also returns the remote whose branch a recreated
/// worktree should start from.
fn take_up(ctx: &Context, spec: &str) -> CommandResult<(Session, Option<String>)> {
    let store = ctx.store();
    let copies = sync::find_remote(&ctx.repo, spec)?;
    let explicit: Vec<&RemoteEntry> = copies.iter().filter(|c| c.display() == spec).collect();
    let (name, copies): (String, Vec<&RemoteEntry>) = match explicit.first() {
        // A local session of this very name wins over reading it as <remote>/<name>.
        Some(entry) if !store.exists(spec).unwrap_or(false) => (entry.name.clone(), explicit),
        _ => (
            spec.to_owned(),
            copies.iter().filter(|c| c.name == spec).collect(),
        ),
    };
    let local = match store.load(&name) {
        Ok(session) => Some(session),
        Err(crate::session::StoreError::NotFound { .. }) if !copies.is_empty() => None,
        Err(e) => return Err(e.into()),
    };
    let Some(local) = local else {
        let entry = match copies.as_slice() {
            [one] => *one,
            many if many.iter().all(|c| c.tip == many[0].tip) => many[0],
            many => {
                let names: Vec<String> = many.iter().map(|c| c.display()).collect();
                return Err(CommandError::user(format!(
                    "session '{name}' exists on several remotes ({})",
                    names.join(", ")
                ))
                .hint(format!("say which: `git session resume {}`", names[0])));
            }
        };
        // Judged whole by the fetch that brought it: only what is newer is walked.
        let session = sync::check_log(&ctx.repo, entry, &sync::checked_tips(&ctx.repo))?;
        store.check_new_name(&name)?;
        // The same session under another name here (renamed on one side): two local
        // sessions with one id would share machine-local state.
        if let Some(twin) = store
            .list()?
            .into_iter()
            .flatten()
            .find(|s| s.meta.id == session.meta.id)
        {
            return Err(CommandError::user(format!(
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
        if worktree::branch_exists(&ctx.repo, &session.meta.branch)? {
            return Err(CommandError::user(format!(
                "{} works on branch '{}', which already exists here and is not its",
                crate::text::escape(&entry.display()),
                crate::text::escape(&session.meta.branch)
            ))
            .hint(format!(
                "`git session resume {} --as <new name>` takes it up on a branch of its own",
                entry.display()
            )));
        }
        ctx.repo.update_ref(
            &ref_name(&name),
            entry.tip,
            Expect::Absent,
            "session: from remote",
        )?;
        ctx.out.status(&format!(
            "Taking up session '{}' from {} (same id {})",
            crate::text::escape(&name),
            entry.remote,
            session.meta.id
        ));
        return Ok((store.load(&name)?, Some(entry.remote.clone())));
    };
    let mut session = local;
    let mut from_remote = None;
    for entry in copies {
        let mut known = sync::checked_tips(&ctx.repo);
        known.push(session.tip);
        let copy = match sync::check_log(&ctx.repo, entry, &known) {
            Ok(copy) => copy,
            // A refused copy the user did not name does not stop the local session.
            Err(e) if spec != entry.display() => {
                ctx.out.warn(&format!(
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
                return Err(CommandError::user(format!(
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
        match sync::relate(&ctx.repo, session.tip, entry.tip)? {
            Relation::Same | Relation::Ahead | Relation::Unrelated => {}
            Relation::Behind if copy.meta.branch != session.meta.branch => {
                // Taking it would move the session onto another branch of this repository
                // (its `main`, say), which push would then send and rewind would reset.
                return Err(CommandError::user(format!(
                    "{} moved session '{}' from branch '{}' to '{}'; the log was not moved",
                    crate::text::escape(&entry.display()),
                    crate::text::escape(&name),
                    crate::text::escape(&session.meta.branch),
                    crate::text::escape(&copy.meta.branch)
                ))
                .hint(format!(
                    "`git session resume {name} --local` continues yours as it is; `git session resume {} --as {name}-2` takes the other up as a new session",
                    entry.display()
                )));
            }
            Relation::Behind => {
                // The worktree here must hold nothing the log lacks before the log moves on,
                // and must then show what the newer log holds.
                let worktree = lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)?;
                if let Some(path) = &worktree
                    && let Some(recorded) = lifecycle::checkpoint_if_dirty(
                        &ctx.repo,
                        &store,
                        &ctx.local(),
                        &session,
                        path,
                        "before taking up newer events",
                    )?
                    && recorded.new
                {
                    return Err(CommandError::user(format!(
                        "the worktree of '{}' changed since its last checkpoint (now checkpoint {}), and {} has newer events; the log was not moved",
                        crate::text::escape(&name),
                        &crate::git::short_id(recorded.id),
                        crate::text::escape(&entry.display())
                    ))
                    .hint(format!(
                        "`git session resume {name} --local` continues yours as it is; `git session resume {} --as {name}-2` takes the other up as a new session",
                        entry.display()
                    )));
                }
                fast_forward(ctx, &session, entry, worktree.is_some())?;
                let before = std::mem::replace(&mut session, store.load(&name)?);
                from_remote = Some(entry.remote.clone());
                if let Some(path) = &worktree {
                    catch_up_worktree(ctx, &before, &session, entry, path)?;
                }
            }
            Relation::Diverged => {
                return Err(CommandError::user(format!(
                    "session '{}' and {} have diverged: each has events the other lacks; nothing was changed",
                    crate::text::escape(&name),
                    crate::text::escape(&entry.display())
                ))
                .hint(format!(
                    "`git session resume {name} --local` continues yours as it is; `git session resume {} --as {name}-2` takes the other up as a new session",
                    entry.display()
                )));
            }
        }
    }
    Ok((session, from_remote))
}

/// `resume <remote>/<name> --as <new>`: a new session forked from the fetched copy's latest
/// checkpoint (parent: the copy's id), its files in place as uncommitted work.
fn take_up_as(ctx: &Context, spec: &str, new: &str, no_include: bool) -> CommandResult {
    let copies = sync::find_remote(&ctx.repo, spec)?;
    let entry = match copies.as_slice() {
        [one] => one,
        [] => {
            return Err(CommandError::user(format!(
                "no fetched session '{}'",
                crate::text::escape(spec)
            ))
            .hint("`git session fetch` brings a remote's sessions; `git session list --all` shows them"));
        }
        many => {
            let names: Vec<String> = many.iter().map(|c| c.display()).collect();
            return Err(CommandError::user(format!(
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
    let copy = sync::check_log(&ctx.repo, entry, &sync::checked_tips(&ctx.repo))?;
    let ckpt = sync::latest_checkpoint(&ctx.repo, entry.tip)?;
    let (at, snapshot) = match ckpt {
        Some(c) => {
            let snapshot = checkpoint::Snapshot::read(&ctx.repo, c)?;
            (snapshot.head, Some(snapshot))
        }
        None => (
            ctx.repo.read_ref(&format!(
                "refs/remotes/{}/{}",
                entry.remote, copy.meta.branch
            ))?,
            None,
        ),
    };
    let at = at.ok_or_else(|| {
        CommandError::user(format!(
            "{} has no checkpoint and its branch was not fetched",
            entry.display()
        ))
    })?;
    let config = ctx.config()?;
    let main_root = ctx.main_root()?;
    let placement = super::new::placement(ctx, &config, &main_root, new, true)?;
    let mut event = Event::new(EventKind::Forked, format!("from {}", entry.display()));
    if let Some(s) = &snapshot {
        event = event.with_checkpoint(s.id);
    }
    let spec = create::NewSession {
        name: new.to_owned(),
        placement,
        at,
        base_ref: format!("{}/{}", entry.remote, copy.meta.branch),
        parent: Some(copy.meta.id.clone()),
        goal: copy.meta.goal.clone(),
        context: copy.context.clone(),
        agent: None,
        event,
        include_source: (!no_include).then(|| main_root.clone()),
    };
    let created = super::new::start(ctx, &config, &main_root, spec)?;
    let path = created
        .worktree
        .ok_or_else(|| CommandError::internal("the new session has no worktree"))?;
    if let Some(snapshot) = &snapshot {
        let wt = ctx.repo.open_worktree(&path)?;
        if let Err(e) = checkpoint::apply_to_fresh_checkout(&wt, snapshot, at) {
            // Nobody worked in it yet: it goes, so the same command can be tried again.
            create::discard(&ctx.repo, &ctx.local(), &created.session, Some(&path), at);
            return Err(CommandError::from(e).hint(format!(
                "'{}' was not made; {} is as it was",
                crate::text::escape(new),
                crate::text::escape(&entry.display())
            )));
        }
        create::restore_done(&ctx.local(), &created.session);
    }
    ctx.out.status(&format!(
        "Took up {} as the new session '{}'",
        crate::text::escape(&entry.display()),
        crate::text::escape(new)
    ));
    ctx.out.answer(&path.to_string_lossy())?;
    Ok(())
}

/// Moves the local log (and the branch, when no worktree has it checked out and it is
/// behind) forward to the fetched copy.
/// After a fast-forward: the worktree (which held exactly an older checkpoint of the log) now
/// gets the newer log's latest checkpoint, when that was taken on the remote's branch tip (or
/// the branch is not fetched); otherwise says how to bring the new commits.
fn catch_up_worktree(
    ctx: &Context,
    before: &Session,
    session: &Session,
    entry: &RemoteEntry,
    path: &std::path::Path,
) -> CommandResult {
    let branch = &session.meta.branch;
    let Some(latest) = sync::latest_checkpoint(&ctx.repo, session.tip)? else {
        return Ok(());
    };
    let snapshot = checkpoint::Snapshot::read(&ctx.repo, latest)?;
    let remote_tip = ctx
        .repo
        .read_ref(&format!("refs/remotes/{}/{branch}", entry.remote))?;
    let wt = ctx.repo.open_worktree(path)?;
    let here = wt.head_commit()?;
    let behind = match (here, snapshot.head) {
        (Some(here), Some(there)) => ctx.repo.count_ahead(here, &[there])? == 0,
        _ => false,
    };
    if !behind || remote_tip.is_some_and(|tip| Some(tip) != snapshot.head) {
        ctx.out.hint(&format!(
            "{}/{branch} has commits after its latest checkpoint: `git merge --ff-only {}/{branch}` in the worktree brings them",
            entry.remote, entry.remote
        ));
        return Ok(());
    }
    // Everything is checked, then the worktree judged again, under the session's lock, right
    // before it is overwritten: work done since the first look is never lost.
    let lock = SessionLock::acquire(&ctx.repo.common_dir(), &session.meta.id, session.name())
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
            Some(head) => ctx.repo.read_commit(head)?.tree == capture.tree,
            None => false,
        };
    let held = before
        .meta
        .last_checkpoint_id()
        .and_then(|id| checkpoint::Snapshot::read(&ctx.repo, id).ok());
    if !clean && !held.as_ref().is_some_and(at) {
        let recorded = lifecycle::checkpoint_locked(
            &lock,
            &ctx.repo,
            &ctx.store(),
            &ctx.local(),
            session,
            path,
            lifecycle::Take::new("changed while being brought up to date"),
        )?
        .expect("recorded");
        return Err(CommandError::user(format!(
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
    let local = ctx.local();
    local
        .update(&session.meta.id, |s| {
            s.restore_pending = Some(latest.to_string())
        })
        .map_err(|e| CommandError::internal(format!("cannot write machine-local state: {e}")))?;
    prepared.apply()?;
    create::restore_done(&local, session);
    ctx.out.status(&format!(
        "Brought the worktree to the newer checkpoint {} (what it held before is in the log)",
        &crate::git::short_id(latest)
    ));
    Ok(())
}

fn fast_forward(
    ctx: &Context,
    session: &Session,
    entry: &RemoteEntry,
    has_worktree: bool,
) -> CommandResult {
    ctx.repo.update_ref(
        &ref_name(session.name()),
        entry.tip,
        Expect::At(session.tip),
        "session: fast-forward to remote",
    )?;
    ctx.out.status(&format!(
        "Fast-forwarded session '{}' to {}",
        crate::text::escape(session.name()),
        crate::text::escape(&entry.display())
    ));
    let branch = &session.meta.branch;
    let (Some(mine), Some(theirs)) = (
        ctx.repo.read_ref(&format!("refs/heads/{branch}"))?,
        ctx.repo
            .read_ref(&format!("refs/remotes/{}/{branch}", entry.remote))?,
    ) else {
        return Ok(());
    };
    if mine == theirs || ctx.repo.count_ahead(mine, &[theirs])? > 0 {
        return Ok(());
    }
    if has_worktree {
        return Ok(()); // the worktree catches up by itself (catch_up_worktree)
    }
    if lifecycle::branch_checked_out_elsewhere(&ctx.repo, branch, None)? {
        ctx.out.hint(&format!(
            "{branch} is checked out in another worktree, so it was left alone: `git merge --ff-only {}/{branch}` there brings the new commits",
            entry.remote
        ));
        return Ok(());
    }
    ctx.repo.update_ref(
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
    ctx: &Context,
    lock: &SessionLock,
    config: &crate::config::Config,
    main_root: &std::path::Path,
    session: &crate::session::Session,
    no_include: bool,
    from_remote: Option<&str>,
) -> CommandResult<std::path::PathBuf> {
    let local = ctx.local();
    let store = ctx.store();
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    let path = worktree_dir.join(&session.meta.name);
    lifecycle::forget_missing_worktrees(&ctx.repo, &store, &local, session, Some(&path))?;
    if path.exists() {
        return Err(CommandError::user(format!(
            "{} exists but is not this session's worktree",
            path.display()
        ))
        .hint("move it away, then resume again"));
    }
    let branch = session.meta.branch.clone();
    let remote = from_remote.map_or_else(|| config.string(&config::REMOTE), str::to_owned);
    let store = ctx.store();
    // A session taken up from a remote starts from the remote's branch, as pushed.
    let pushed_branch = match from_remote {
        Some(r) => ctx.repo.read_ref(&format!("refs/remotes/{r}/{branch}"))?,
        None => None,
    };
    let latest = match pushed_branch {
        Some(tip) => Some(tip),
        None => lifecycle::last_known_head(&ctx.repo, &store, session)?,
    };
    let mut branch_created = local.get(&session.meta.id).created_branch(&branch);
    let start = if worktree::branch_exists(&ctx.repo, &branch)? {
        Start::ExistingBranch {
            branch: branch.clone(),
        }
    } else {
        let at = match latest {
            Some(head) => head,
            None => match ctx
                .repo
                .read_ref(&format!("refs/remotes/{remote}/{branch}"))?
            {
                Some(tip) => tip,
                None => ObjectId::from_hex(session.meta.base.as_bytes())
                    .ok()
                    .filter(|b| ctx.repo.has_object(*b))
                    .ok_or_else(|| {
                        CommandError::user(format!(
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
        ctx.out.status(&match from_remote {
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
    ctx.out.status(&format!(
        "{} the worktree of session '{}' at {}",
        if from_remote.is_some() {
            "Creating"
        } else {
            "Recreating"
        },
        session.meta.name,
        path.display()
    ));
    let site = create::Site {
        worktree_dir: &worktree_dir,
        main_root,
    };
    let source = (!no_include).then_some(main_root);
    // The checkpoint to put back is known before the worktree is made, so a process killed
    // while either happens leaves a record of it for the next resume.
    let head = match &start {
        Start::ExistingBranch { branch } => ctx.repo.read_ref(&format!("refs/heads/{branch}"))?,
        Start::NewBranch { at, .. } => Some(*at),
    };
    let restore = lifecycle::restorable_checkpoint(&ctx.repo, &store, session, head)?;
    let (path, includes) = create::make_worktree(
        lock,
        &ctx.repo,
        &local,
        &site,
        session,
        &path,
        &start,
        branch_created,
        source,
        restore.map(|s| s.id),
        &ctx.copy_progress(),
    )?;
    if let Some(report) = &includes {
        super::new::report_includes(ctx, report);
    }
    super::hook_event::install_into_new_worktree(ctx, &path);
    let wt = ctx.repo.open_worktree(&path)?;
    if let Some(snapshot) = restore {
        let head = snapshot.head.expect("a restorable checkpoint has a HEAD");
        if let Err(e) = checkpoint::apply_to_fresh_checkout(&wt, &snapshot, head) {
            // The worktree made just now goes (nobody worked in it), so the next resume
            // starts over and puts the checkpoint's work back then.
            create::forget_fresh_worktree(&ctx.repo, &path);
            if let Start::NewBranch { branch, at } = &start {
                let _ = worktree::delete_branch(&ctx.repo, branch, *at);
            }
            let _ = local.update(&session.meta.id, |s| s.worktree = None);
            return Err(CommandError::from(e).hint(format!(
                "the worktree was not made; checkpoint {} still holds the work",
                &crate::git::short_id(snapshot.id)
            )));
        }
        create::restore_done(&local, session);
        ctx.out.status(&format!(
            "Put back the uncommitted work of checkpoint {}",
            &crate::git::short_id(snapshot.id)
        ));
    }
    let common = ctx.repo.common_dir();
    for save in saved::saves(&common, &session.meta.id, session.name()) {
        let count = saved::restore(&save, &path).map_err(|e| {
            CommandError::from(lifecycle::LifecycleError::from(e))
                .hint(format!("the saved files are still in {}", save.display()))
        })?;
        ctx.out.status(&format!(
            "Put back {count} ignored file(s) saved when the worktree was removed (from {})",
            save.display()
        ));
    }
    Ok(path)
}
