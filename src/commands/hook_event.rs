//! `git session hook <event>`: what the shims in git's hook files call (hidden from help).
//!
//! It never blocks or fails a git operation: every problem becomes one warning line on stderr
//! and exit 0, a watchdog ends it quietly after `session.hookTimeout`, and
//! `GIT_SESSION_HOOKS=0` turns it off. It looks at the hook's own repository through the
//! variables git sets (`GIT_DIR`, `GIT_INDEX_FILE` …) and clears them for anything aimed at
//! another worktree (the runner and `Repo::open_worktree` do). Slow work (scanning other
//! worktrees, checkpointing forgotten ones) runs in a detached background process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command_context::Context;
use crate::config::{self, Config};
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::ops;
use crate::output::Output;
use crate::provenance;
use crate::session::Session;
use crate::transaction::Transaction;
use crate::watch;

/// Run git-session's part of a git hook (called by the installed shims).
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// post-commit, post-checkout, pre-push, or refresh (the background scan).
    pub event: String,
    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// When the work has sat this long, warnings name it even with checkpoints off.
const DEFAULT_INTERVAL_SECS: i64 = 30 * 60;

pub fn run(out: Output, args: HookArgs) -> CommandResult {
    if std::env::var_os("GIT_SESSION_HOOKS").is_some_and(|v| v == "0") {
        return Ok(());
    }
    let out = out.quiet();
    // Inside a git command, or started by one: the user's next git command must not find
    // the index locked.
    crate::git::index_refresh::leave_optional_locks();
    let event = args.event.clone();
    if ["refresh", "auto-sync", "auto-checkpoint"].contains(&event.as_str()) {
        // Before any thread starts (threads take the priority of the one that makes them),
        // and before the repository is opened: the hook that started this one may still
        // be running, inside a commit.
        yield_to_foreground();
    }
    let Ok(ctx) = Context::open(out) else {
        return Ok(()); // not in a repository git-session can read: nothing to say
    };
    let result = if event == "refresh" {
        refresh(&ctx)
    } else if event == "auto-sync" {
        auto_sync(&ctx)
    } else if event == "auto-checkpoint" {
        match args.args.first() {
            Some(id) => auto_checkpoint(&ctx, id),
            None => Ok(()),
        }
    } else {
        start_watchdog(&ctx);
        handle(&ctx, &args)
    };
    if let Err(e) = result {
        ctx.out
            .warn(&format!("git-session ({event} hook): {}", e.message));
    }
    // Left to the process's exit, as in `commands::run` (a hook runs inside a commit).
    std::mem::forget(ctx);
    Ok(())
}

/// The hooks' background work (a scan, a checkpoint, a sync) runs at nice 10: the commands
/// people and agents wait on come first, the commit that started it among them.
fn yield_to_foreground() {
    use rustix::process::{getpriority_process, setpriority_process};
    // Never raised: a process started lower stays lower.
    if getpriority_process(None).is_ok_and(|nice| nice < 10) {
        let _ = setpriority_process(None, 10);
    }
}

/// Ends the process quietly once `session.hookTimeout` has passed.
fn start_watchdog(ctx: &Context) {
    let timeout = ctx
        .config()
        .ok()
        .and_then(|c| c.duration_ms(&config::HOOK_TIMEOUT, false).ok().flatten())
        .unwrap_or(2000);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(timeout));
        // A line being written to stderr is finished first, never cut to a bare `warning:`.
        let _stderr = std::io::stderr().lock();
        // A ref or notes update in flight is finished first, so no `<ref>.lock` outlives
        // the process.
        crate::git::writes::exit_between_writes(0);
    });
}

fn handle(ctx: &Context, args: &HookArgs) -> CommandResult {
    match args.event.as_str() {
        "post-commit" => post_commit(ctx),
        "post-merge" => post_merge(ctx, args.args.first().map(String::as_str)),
        "post-checkout" => {
            // Only a branch checkout (flag 1), not a checkout of files.
            if args.args.get(2).map(String::as_str) == Some("1") && !rewriting(ctx) {
                warn_forgotten(ctx)?;
            }
            Ok(())
        }
        "pre-push" => pre_push(ctx),
        "post-rewrite" => post_rewrite(ctx),
        _ => Ok(()), // an event a newer shim knows: nothing to do
    }
}

/// A rebase (or `git am`'s sibling, `rebase --apply`) is replaying commits: notes follow
/// them through `notes.rewriteRef`, and their intermediate states are not worth a warning.
fn rewriting(ctx: &Context) -> bool {
    let git_dir = ctx.here.git_dir();
    git_dir.join("rebase-merge").exists()
        || (git_dir.join("rebase-apply").exists()
            && !git_dir.join("rebase-apply/applying").exists())
}

fn interval_secs(config: &Config) -> Result<Option<i64>, CommandError> {
    Ok(config.checkpoint_interval_secs()?)
}

fn post_commit(ctx: &Context) -> CommandResult {
    if rewriting(ctx) {
        return Ok(());
    }
    match ctx.current_session_listing()? {
        Some(crate::command_context::SessionsHere {
            here: Some((session, _)),
            all: sessions,
        }) => {
            let Some(head) = ctx.here.head_commit()? else {
                return warn_forgotten(ctx);
            };
            let look = record_commit(ctx, &session, head)?;
            let warned = warn_commit_overlaps(ctx, &session, &sessions, head);
            let warned = warned.and_then(|()| warn_forgotten(ctx));
            // Last, whatever the warnings came to: the look scans a whole worktree, and the
            // commit is not over until this hook is.
            if let Some(look) = look {
                start_look(ctx, &session, look)?;
            }
            warned
        }
        _ => {
            start_auto_sync(ctx)?;
            warn_forgotten(ctx)
        }
    }
}

/// With `session.autoSync = true` (git config only: a tracked file must not start rebases in
/// everyone's worktrees), a commit on a branch sessions start from starts a background
/// `sync` of those sessions; the commit never waits for it.
fn start_auto_sync(ctx: &Context) -> CommandResult {
    let config = ctx.config()?;
    if !config
        .flag(&config::AUTO_SYNC, &[config::Origin::GitConfig])
        .unwrap_or(false)
    {
        return Ok(());
    }
    let Some(branch) = ctx
        .here
        .head_ref_name()?
        .and_then(|r| r.strip_prefix("refs/heads/").map(str::to_owned))
    else {
        return Ok(());
    };
    let in_main = ctx.here.git_dir() == ctx.repo.common_dir();
    let based_here = ctx.store().list()?.into_iter().flatten().any(|s| {
        s.meta.status.is_open()
            && (s.meta.base_ref == branch
                || s.meta.base_ref == format!("refs/heads/{branch}")
                || (s.meta.base_ref == "HEAD" && in_main))
    });
    if based_here && let Ok(root) = ctx.main_root() {
        spawn_detached(&root, &["hook", "auto-sync"]);
    }
    Ok(())
}

/// The background sync a commit on a base branch started: every live session whose base
/// moved and that syncs cleanly is synced (an automatic operation); the others are left as
/// they are and listed in `session/cache/auto-sync.json`.
fn auto_sync(ctx: &Context) -> CommandResult {
    let config = ctx.config()?;
    let how = match config
        .one_of(&config::SYNC_STRATEGY, &["rebase", "merge"])?
        .as_str()
    {
        "merge" => crate::worktree::Integration::Merge,
        _ => crate::worktree::Integration::Rebase,
    };
    let local = ctx.local();
    let sessions: Vec<Session> = ctx
        .store()
        .list()?
        .into_iter()
        .flatten()
        .filter(|s| s.meta.status.is_open())
        .filter(|s| {
            lifecycle::find_worktree(&ctx.repo, &local, s)
                .ok()
                .flatten()
                .is_some()
        })
        .collect();
    let req = crate::ops::sync::Request {
        onto: None,
        how,
        fetch_timeout: Duration::from_secs(0),
        automatic: true,
    };
    let main_root = ctx.main_root()?;
    let mut tx = Transaction::start(&ctx.repo, "hook auto-sync", true);
    let rows = crate::ops::sync::sync(&mut tx, &local, &main_root, &sessions, &req, &ctx.out)?;
    tx.finish()?;
    let left: Vec<&crate::ops::sync::Row> = rows.iter().filter(|r| !r.ok()).collect();
    let path = ctx.repo.common_dir().join("session/cache/auto-sync.json");
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = crate::fsutil::write_atomic(
        &path,
        &serde_json::to_vec_pretty(&serde_json::json!({
            "time": ctx.repo.now().unwrap_or(0),
            "not_synced": left,
        }))
        .expect("serializes"),
        None,
    );
    Ok(())
}

/// [`warn_overlaps`] for the commit `head` (HEAD, just made).
fn warn_commit_overlaps(
    ctx: &Context,
    session: &Session,
    sessions: &[Session],
    head: crate::git::ObjectId,
) -> CommandResult {
    let commit = ctx.repo.read_commit(head)?;
    let before = match commit.parents.first() {
        Some(parent) => Some(ctx.repo.read_commit(*parent)?.tree),
        None => None,
    };
    warn_overlaps(ctx, session, sessions, before, commit.tree)
}

/// Files a commit (or a push) carries that another live session changed or claims, or that
/// lie outside this session's own claim: one line each, at most five. Never blocks.
fn warn_overlaps(
    ctx: &Context,
    session: &Session,
    sessions: &[Session],
    before: Option<crate::git::ObjectId>,
    after: crate::git::ObjectId,
) -> CommandResult {
    let touched: Vec<String> = ctx
        .repo
        .changed_files(before, after)?
        .into_iter()
        .map(|c| c.path)
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let lines = crate::footprint::touch_warnings(
        &ctx.repo,
        &ctx.local(),
        sessions,
        Some(session),
        &touched,
        MAX_OVERLAP_LINES,
    )
    .map_err(|e| CommandError::user(crate::text::one_line(&e)))?;
    for line in lines {
        ctx.out.warn(&crate::text::escape(&line));
    }
    Ok(())
}

/// At most this many overlap warnings per commit or push.
const MAX_OVERLAP_LINES: usize = 5;

/// After `git merge` (or a pull that merged): git runs post-merge, not post-commit, for the
/// merge commit a clean merge makes. In a session's worktree it gets its provenance note;
/// a fast-forward or a squash (argument `1`) made no commit of the session's.
fn post_merge(ctx: &Context, squash: Option<&str>) -> CommandResult {
    if squash == Some("1") || rewriting(ctx) {
        return Ok(());
    }
    let Some(session) = ctx.current_session()? else {
        // A merge or pull on a branch sessions start from.
        return start_auto_sync(ctx);
    };
    let Some(head) = ctx.here.head_commit()? else {
        return Ok(());
    };
    let commit = ctx.repo.read_commit(head)?;
    let before = ctx.here.read_ref("ORIG_HEAD")?;
    // A fast-forward onto someone's merge commit whose first parent was HEAD looks the
    // same: HEAD's reflog says which it was.
    let made_here = last_reflog_message(ctx).is_some_and(|m| !m.contains("Fast-forward"));
    let merged_now =
        commit.parents.len() > 1 && commit.parents.first() == before.as_ref() && made_here;
    if !merged_now {
        return Ok(());
    }
    let text = provenance::note_text(&session.meta);
    let mut tx = Transaction::start(&ctx.repo, "hook post-merge", true);
    tx.touch(&session);
    tx.update_note(
        provenance::NOTES_REF,
        head,
        &format!("session: provenance note for {}", session.meta.name),
        move |current| provenance::appended(current, &text),
    )?;
    tx.finish()?;
    ctx.touch(&session);
    Ok(())
}

/// The message of HEAD's newest reflog entry in this worktree (`merge x: Fast-forward`,
/// `merge x: Merge made by the 'ort' strategy.`).
fn last_reflog_message(ctx: &Context) -> Option<String> {
    let log = std::fs::read_to_string(ctx.here.git_dir().join("logs").join("HEAD")).ok()?;
    let line = log.lines().next_back()?;
    Some(line.split_once('\t')?.1.to_owned())
}

/// A detached look for uncommitted work to checkpoint, due after a commit ([`record_commit`]).
struct Look {
    /// Where to start it (the main worktree).
    root: PathBuf,
    /// When it was found due.
    at: i64,
}

/// In a session's worktree: provenance note, last activity, and whether a checkpoint is due
/// (the last one, or the last time one was looked for, is older than the interval): then
/// the returned [`Look`] is started by [`start_look`] once the warnings are out. Whether
/// the tree is dirty takes a scan of the whole worktree, which a commit never waits for.
fn record_commit(
    ctx: &Context,
    session: &Session,
    head: crate::git::ObjectId,
) -> CommandResult<Option<Look>> {
    let text = provenance::note_text(&session.meta);
    let mut tx = Transaction::start(&ctx.repo, "hook post-commit", true);
    tx.touch(session);
    tx.update_note(
        provenance::NOTES_REF,
        head,
        &format!("session: provenance note for {}", session.meta.name),
        move |current| provenance::appended(current, &text),
    )?;
    tx.finish()?;
    ctx.touch(session);
    let config = ctx.config()?;
    let Some(interval) = interval_secs(&config)? else {
        return Ok(None);
    };
    let last = session
        .meta
        .last_checkpoint_id()
        .and_then(|id| ctx.repo.read_commit(id).ok())
        .map(|c| c.time);
    let now = ctx.repo.now()?;
    let local = ctx.local();
    let looked = local.get(&session.meta.id).auto_checkpoint_at;
    if last.max(looked).is_some_and(|t| now - t < interval) {
        return Ok(None);
    }
    Ok(ctx.repo.workdir().map(|root| Look { root, at: now }))
}

/// Starts the look `record_commit` found due, then keeps the time, so the commits after it
/// within the interval start none (kept only once started: a hook ended by its timeout
/// before this leaves the next commit to start it).
fn start_look(ctx: &Context, session: &Session, look: Look) -> CommandResult {
    spawn_detached(&look.root, &["hook", "auto-checkpoint", &session.meta.id]);
    ctx.local()
        .update(&session.meta.id, |s| s.auto_checkpoint_at = Some(look.at))?;
    Ok(())
}

/// The detached half of [`start_look`]: checkpoints the session's worktree when it is
/// dirty. It can afford to wait for another process holding the session (the background
/// refresh scanning it, a removal): up to half a minute.
fn auto_checkpoint(ctx: &Context, id: &str) -> CommandResult {
    let Some(session) = ctx
        .store()
        .list()?
        .into_iter()
        .flatten()
        .find(|s| s.meta.id == id)
    else {
        return Ok(());
    };
    let local = ctx.local();
    let Some(path) = lifecycle::find_worktree(&ctx.repo, &local, &session)? else {
        return Ok(());
    };
    let Ok(lock) = crate::session::SessionLock::acquire_within(
        &ctx.repo.common_dir(),
        id,
        session.name(),
        std::time::Duration::from_secs(30),
    ) else {
        return Ok(());
    };
    let mut tx = Transaction::start(&ctx.repo, "hook auto-checkpoint", true);
    match ops::checkpoint::checkpoint_locked(
        &lock,
        &mut tx,
        &local,
        &session,
        &path,
        ops::checkpoint::Take::new("automatic, after a commit").if_dirty(),
    ) {
        Ok(_) => {}
        // Removed meanwhile: nothing to keep.
        Err(lifecycle::LifecycleError::NoWorktree { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    tx.finish()?;
    Ok(())
}

/// Names other sessions whose work has sat untouched (from the status cache, brought up to
/// date through the file-system monitor when one answers), and starts a background refresh
/// when the cache is old.
fn warn_forgotten(ctx: &Context) -> CommandResult {
    let config = ctx.config()?;
    let interval = interval_secs(&config)?.unwrap_or(DEFAULT_INTERVAL_SECS);
    let common = ctx.repo.common_dir();
    let mut cache = watch::load(&common);
    let now = watch::now();
    if let Some(cache) = &mut cache {
        let here = ctx.here.workdir();
        if watch::bring_up_to_date(&ctx.repo, cache, interval, here.as_deref()) {
            let _ = watch::save(&common, cache);
        }
        let forgotten = watch::forgotten(cache, now, interval, here.as_deref());
        for line in watch::warning_lines(&forgotten, now) {
            ctx.out.warn(&line);
        }
    }
    if watch::is_stale(cache.as_ref(), now)
        && let Some(root) = ctx.repo.workdir()
        && ctx.store().names().is_ok_and(|n| !n.is_empty())
    {
        spawn_detached(&root, &["hook", "refresh"]);
    }
    Ok(())
}

/// Starts `git-session <args>` detached: no terminal, no inherited pipes (git and whoever
/// reads its output do not wait for it), none of the hook's repository variables. With
/// `GIT_SESSION_HOOKS_SYNC=1` (tests, debugging) it runs to the end before the hook returns.
fn spawn_detached(main_root: &Path, args: &[&str]) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let wait = std::env::var_os("GIT_SESSION_HOOKS_SYNC").is_some_and(|v| v == "1");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args).current_dir(main_root);
    if let Ok(mut child) = crate::git::runner::start_detached(cmd)
        && wait
    {
        let _ = child.wait();
    }
}

/// The background scan: at most one at a time per repository (a lock), it refreshes the
/// status cache and checkpoints forgotten work.
fn refresh(ctx: &Context) -> CommandResult {
    let lock_path = ctx.repo.common_dir().join("session").join("refresh.lock");
    if let Some(dir) = lock_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let lock = std::fs::File::create(&lock_path)?;
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Ok(()); // another refresh is running
    }
    // What writers killed part-way left in the directories of git-session's own state.
    for dir in ["cache", "local", "fsmonitor"] {
        let dir = ctx.repo.common_dir().join("session").join(dir);
        crate::fsutil::sweep_temps(&dir, crate::fsutil::STALE_TEMP);
    }
    let config = ctx.config()?;
    let interval = interval_secs(&config)?;
    let mut tx = Transaction::start(&ctx.repo, "hook refresh", true);
    watch::refresh(
        &mut tx,
        &ctx.local(),
        interval.unwrap_or(DEFAULT_INTERVAL_SECS),
        interval.is_some(),
    )?;
    tx.finish()?;
    Ok(())
}

/// After an amend or a rebase copied notes to the new commits: drop our paragraph where the
/// copy repeated it.
fn post_rewrite(ctx: &Context) -> CommandResult {
    let mut input = String::new();
    let _ = std::io::stdin().take(1 << 20).read_to_string(&mut input);
    let mut tx = Transaction::start(&ctx.repo, "hook post-rewrite", true);
    for new in input.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        let Ok(new) = crate::git::ObjectId::from_hex(new.as_bytes()) else {
            continue;
        };
        tx.update_note(
            provenance::NOTES_REF,
            new,
            "session: provenance note tidied after a rewrite",
            |current| current.and_then(provenance::deduplicated),
        )?;
    }
    tx.finish()?;
    Ok(())
}

/// Says when a pushed branch belongs to a session whose worktree holds uncommitted work the
/// push does not carry. Never refuses the push.
fn pre_push(ctx: &Context) -> CommandResult {
    let mut input = String::new();
    let _ = std::io::stdin().take(1 << 20).read_to_string(&mut input);
    let branches: Vec<&str> = input
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .collect();
    if branches.is_empty() {
        return Ok(());
    }
    let local = ctx.local();
    let worktrees = ctx.repo.linked_worktrees()?;
    let sessions: Vec<Session> = ctx.store().list()?.into_iter().flatten().collect();
    for session in &sessions {
        if !branches.contains(&session.meta.branch.as_str()) {
            continue;
        }
        // What the push carries: from what the remote has of the branch (or where the
        // session started) to what is pushed.
        let line = input.lines().find(|l| {
            l.split_whitespace().next() == Some(&format!("refs/heads/{}", session.meta.branch))
        });
        let ids: Vec<crate::git::ObjectId> = line
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|w| crate::git::ObjectId::from_hex(w.as_bytes()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if let [pushed, remote, ..] = ids[..]
            && ctx.repo.has_object(pushed)
        {
            let from = Some(remote)
                .filter(|r| !r.is_null() && ctx.repo.has_object(*r))
                .or_else(|| session.meta.base_id());
            let before = match from {
                Some(c) => Some(ctx.repo.read_commit(c)?.tree),
                None => None,
            };
            warn_overlaps(
                ctx,
                session,
                &sessions,
                before,
                ctx.repo.read_commit(pushed)?.tree,
            )?;
        }
        let Some(path) = lifecycle::find_worktree_in(&worktrees, &local, session) else {
            continue;
        };
        let changed = ctx.repo.open_worktree(&path)?.changed_paths()?.len();
        if changed > 0 {
            ctx.out.warn(&format!(
                "session '{}' has {changed} uncommitted file(s) in {} that this push does not carry; `git session push {}` sends them too (as a checkpoint)",
                session.meta.name,
                path.display(),
                session.meta.name
            ));
        }
    }
    Ok(())
}

/// Installs the shims into a new worktree's own hooks directory (a relative
/// `core.hooksPath`) while the hooks are installed; narrates problems as a warning.
pub fn install_into_new_worktree(ctx: &Context, worktree: &Path) {
    match crate::git_hooks::install_for_new_worktree(&ctx.repo, worktree) {
        Ok(Some(report)) => {
            let created = report
                .files
                .iter()
                .filter(|f| f.action == "created")
                .count();
            if created > 0 {
                ctx.out.status(&format!(
                    "Installed git-session's hooks in {}",
                    report.location.dir.display()
                ));
            }
        }
        Ok(None) => {}
        Err(e) => ctx.out.warn(&format!(
            "could not install git-session's hooks in the new worktree: {}",
            crate::text::one_line(&e)
        )),
    }
}
