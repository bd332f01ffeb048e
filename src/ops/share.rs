//! Sharing: `push` (checkpoint what is dirty, refuse what looks like secrets, one atomic push
//! of the logs, their branches and the merged provenance notes) and `fetch` (a remote's
//! sessions into `refs/remote-sessions/`, each judged before it is used). Both run in the
//! command's transaction; a push records what it published, which no undo can take back.
//! Never prints.

use std::collections::HashMap;
use std::path::Path;

use crate::config::{self, Config, Origin};
use crate::git::{ObjectId, Repo, remote};
use crate::lifecycle;
use crate::oplog::Published;
use crate::ops::{OpError, OpResult};
use crate::report::Reporter;
use crate::secrets;
use crate::session::{LocalStore, Session, Store, sync};
use crate::transaction::Transaction;

/// What push and fetch read besides their arguments.
pub struct Env<'a> {
    pub repo: &'a Repo,
    pub local: &'a LocalStore,
    pub config: &'a Config,
    pub main_root: &'a Path,
    pub reporter: &'a dyn Reporter,
}

/// What the user asked `push` to do.
#[derive(Debug, Clone, Default)]
pub struct PushSpec {
    /// The remote, then the sessions (the first word is the remote when it names one).
    pub args: Vec<String>,
    pub all: bool,
    pub no_checkpoint: bool,
    pub dry_run: bool,
    pub allow_secrets: bool,
    /// The current session, when the command runs inside one's worktree.
    pub current: Option<Session>,
}

/// Pushes sessions, returning what was pushed (`not_pushed`: the sessions `--all` left out).
pub fn push(env: &Env<'_>, tx: &mut Transaction<'_>, spec: PushSpec) -> OpResult<PushReport> {
    let (remote_arg, names) = split_remote(env, &spec.args);
    if let Some(given) = remote_arg
        && !remote::exists(env.repo, given)
    {
        let what = if names.is_empty() {
            "remote or session"
        } else {
            "remote"
        };
        return Err(
            OpError::refused(format!("no {what} named '{}'", crate::text::escape(given)))
                .hint("`git remote -v` lists the remotes, `git session list` the sessions"),
        );
    }
    let store = Store::new(env.repo);
    let mut sessions: Vec<Session> = if spec.all {
        let mut all = Vec::new();
        for entry in store.list()? {
            all.push(entry?);
        }
        all
    } else if names.is_empty() {
        vec![spec.current.clone().ok_or_else(|| {
            OpError::refused("not inside a session's worktree, and no session was named")
                .hint("name one, or run `git session list` to see sessions")
        })?]
    } else {
        names
            .iter()
            .map(|n| store.load(n))
            .collect::<Result<_, _>>()?
    };
    if sessions.is_empty() {
        return Err(OpError::refused("there are no sessions to push"));
    }
    for session in &sessions {
        tx.touch(session);
    }
    let remote_name = choose_remote(env, env.config, remote_arg, &sessions[0]);
    remote::check_name(env.repo, &remote_name)?;
    let allowed = spec.allow_secrets
        || env
            .config
            .flag(&config::PUSH_SECRETS, &[Origin::GitConfig])
            .map_err(|e| OpError::refused(crate::text::one_line(&e)))?;
    let mut just_made = Vec::new();
    // A dry run takes no checkpoint, but judges the files one would publish.
    let mut would_checkpoint = Vec::new();
    let mut failed = Vec::new();
    // The checkpoints the sessions hold already, judged on a thread while the new ones are
    // taken (a capture is mostly one thread's work).
    let mut earlier = None;
    if !spec.no_checkpoint && !spec.dry_run {
        if !allowed {
            earlier = Some(judge_earlier(env, &remote_name, &sessions));
        }
        (sessions, just_made) = checkpoint_dirty(env, tx, sessions, &mut failed)?;
        if !failed.is_empty() && !spec.all {
            let first = failed.remove(0);
            return Err(OpError::Refused {
                message: format!("{}; nothing was pushed", first.reason),
                hints: first.hints,
            });
        }
        if sessions.is_empty() {
            return Err(OpError::refused("no session could be pushed"));
        }
    } else if !spec.no_checkpoint {
        would_checkpoint = uncommitted_files(env, &sessions)?;
    }
    // What the thread could not judge (an error, a session checkpointing dropped) is judged
    // below, as any checkpoint it did not get to.
    let earlier = earlier
        .and_then(|handle| handle.join().ok())
        .and_then(Result::ok)
        .unwrap_or_default();
    if !allowed
        && let Err(refused) = refuse_secrets(
            env,
            &remote_name,
            &sessions,
            &just_made,
            would_checkpoint,
            earlier,
        )
    {
        // The checkpoints this push took go with the transaction (their files are still on
        // disk), so ignoring the files and pushing again works.
        return Err(if just_made.is_empty() {
            refused
        } else {
            refused.hint("the checkpoint this push took was taken back; the files are as they were")
        });
    }
    // What is published is what was judged, real here first.
    tx.flush()?;
    push_lfs_objects(env, env.main_root, &remote_name, &sessions, spec.dry_run)?;
    let names: Vec<&str> = sessions.iter().map(|s| s.name()).collect();
    env.reporter.status(&format!(
        "{} {} to {remote_name}",
        if spec.dry_run {
            "Would push"
        } else {
            "Pushing"
        },
        names.join(", ")
    ));
    let outcome = sync::push(tx, env.main_root, &remote_name, &sessions, spec.dry_run)?;
    if let Some(problem) = &outcome.notes_problem {
        env.reporter
            .warn(&format!("{problem}; the provenance notes were not pushed"));
    }
    if outcome.attempts > 1 {
        env.reporter.status(&format!(
            "The remote's notes moved meanwhile; merged them and pushed again ({} attempts)",
            outcome.attempts
        ));
    }
    if !spec.dry_run {
        let mut refs: Vec<String> = Vec::new();
        for session in &sessions {
            refs.extend(sync::push_refspecs(env.repo, session)?);
        }
        if outcome.notes_pushed {
            refs.push(sync::NOTES_REF.to_owned());
        }
        tx.published(Published {
            remote: remote_name.clone(),
            refs,
        });
    }
    Ok(PushReport {
        remote: remote_name.clone(),
        dry_run: spec.dry_run,
        sessions: sessions
            .iter()
            .map(|session| PushedSession {
                name: session.name().to_owned(),
                remote_name: format!("{remote_name}/{}", session.name()),
                log: session.tip.to_string(),
                checkpoint: just_made
                    .iter()
                    .find(|made| made.session == session.name())
                    .and_then(|_| session.meta.last_checkpoint.clone()),
            })
            .collect(),
        notes_pushed: outcome.notes_pushed,
        attempts: outcome.attempts,
        not_pushed: failed,
    })
}

/// What a push did, for people (`<remote>/<name>` lines) and for programs (`--json`).
#[derive(Debug, serde::Serialize)]
pub struct PushReport {
    pub remote: String,
    pub dry_run: bool,
    pub sessions: Vec<PushedSession>,
    /// Whether refs/notes/sessions went along.
    pub notes_pushed: bool,
    /// Push attempts (more than one when the remote's notes moved meanwhile).
    pub attempts: usize,
    /// Sessions `--all` left out because they could not be checkpointed.
    pub not_pushed: Vec<NotPushed>,
}

#[derive(Debug, serde::Serialize)]
pub struct PushedSession {
    pub name: String,
    /// `<remote>/<name>`, as `list --all` and `resume` name the remote copy.
    pub remote_name: String,
    /// The log commit pushed.
    pub log: String,
    /// The checkpoint this push took first, if it took one.
    pub checkpoint: Option<String>,
}

/// `push [<remote>] [<name>…]`: the first argument is the remote when one of that name is
/// configured or no session has that name.
fn split_remote<'a>(env: &Env<'_>, args: &'a [String]) -> (Option<&'a str>, &'a [String]) {
    match args.split_first() {
        Some((first, rest))
            if remote::exists(env.repo, first)
                || !Store::new(env.repo).exists(first).unwrap_or(false) =>
        {
            (Some(first.as_str()), rest)
        }
        _ => (None, args),
    }
}

/// The remote given, else `session.remote` from the user's git config, else the upstream
/// remote of the session's branch, else `origin`. Where work is published is never decided
/// by the tracked `.git-session.yaml`: it arrives with a pull, and could send uncommitted
/// work to another remote the user has (a public fork).
fn choose_remote(env: &Env<'_>, config: &Config, given: Option<&str>, session: &Session) -> String {
    if let Some(remote) = given {
        return remote.to_owned();
    }
    let (configured, origin) = config.get(&config::REMOTE);
    if origin == Origin::GitConfig {
        return configured;
    }
    if origin == Origin::SharedFile && configured != config::REMOTE.default {
        env.reporter.warn(&format!(
            "session.remote = '{}' in {} is not used by push (where work is published comes from git config); `git config session.remote {}` makes it so",
            crate::text::escape(&configured),
            config::SHARED_FILE,
            crate::text::escape(&configured)
        ));
    }
    env.repo
        .config_string(&format!("branch.{}.remote", session.meta.branch))
        .filter(|r| r != ".")
        .unwrap_or_else(|| config::REMOTE.default.to_owned())
}

/// A checkpoint this push took.
struct JustMade {
    session: String,
    checkpoint: crate::git::ObjectId,
    /// What it holds beyond HEAD, when its capture could tell.
    beyond_head: Option<crate::checkpoint::BeyondHead>,
}

/// A session that could not be pushed, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotPushed {
    pub name: String,
    pub reason: String,
    #[serde(skip)]
    pub hints: Vec<String>,
}

/// Checkpoints each dirty session (staged in `tx`). One that cannot be checkpointed (an
/// unreadable worktree, an interrupted restore) is named in `failed` and left out.
fn checkpoint_dirty(
    env: &Env<'_>,
    tx: &mut Transaction<'_>,
    sessions: Vec<Session>,
    failed: &mut Vec<NotPushed>,
) -> OpResult<(Vec<Session>, Vec<JustMade>)> {
    let local = env.local;
    let mut out = Vec::new();
    let mut made = Vec::new();
    for session in sessions {
        // A half-made or half-restored worktree (an interrupted command) is no one's work.
        if let Some(what) = local.get(&session.meta.id).pending() {
            if lifecycle::find_worktree(env.repo, local, &session)?.is_none() {
                out.push(session);
                continue;
            }
            failed.push(NotPushed {
                name: session.name().to_owned(),
                reason: format!(
                    "{what} was interrupted in the worktree of '{}'",
                    crate::text::escape(session.name())
                ),
                hints: vec![format!(
                    "`git session resume {}` finishes it",
                    session.name()
                )],
            });
            continue;
        }
        // One scan: nothing is recorded for a clean worktree (or none here), nor when the
        // last checkpoint already holds this state. The worktree is found under the lock.
        let recorded = match crate::ops::checkpoint::checkpoint_here_if_dirty(
            tx,
            local,
            &session,
            "before push",
        ) {
            Ok(recorded) => recorded,
            Err(e) => {
                let e = crate::error::CommandError::from(e);
                failed.push(NotPushed {
                    name: session.name().to_owned(),
                    reason: format!(
                        "cannot checkpoint session '{}': {}",
                        crate::text::escape(session.name()),
                        e.message
                    ),
                    hints: e.hints,
                });
                continue;
            }
        };
        let Some(recorded) = recorded else {
            out.push(session);
            continue;
        };
        let after = tx.load(session.name())?;
        if recorded.new {
            env.reporter.status(&format!(
                "Checkpointed '{}' ({}) so its uncommitted work travels",
                session.name(),
                &crate::git::short_id(recorded.id)
            ));
            made.push(JustMade {
                session: session.name().to_owned(),
                checkpoint: recorded.id,
                beyond_head: recorded.beyond_head,
            });
        }
        out.push(after);
    }
    Ok((out, made))
}

/// Refuses files that look like secrets among those the push publishes for the first time:
/// what the new checkpoints hold beyond their HEAD and beyond the remote's copy.
/// What a checkpoint of each dirty session would publish beyond its HEAD (for a dry run).
fn uncommitted_files(env: &Env<'_>, sessions: &[Session]) -> OpResult<Vec<secrets::Finding>> {
    let local = env.local;
    let mut out = Vec::new();
    let mut judge = secrets::Judge::new(env.repo);
    for session in sessions {
        let Some(path) = lifecycle::find_worktree(env.repo, local, session)? else {
            continue;
        };
        let wt = env.repo.open_worktree(&path)?;
        let capture = crate::checkpoint::capture(&wt)?;
        let head_tree = match capture.head {
            Some(head) => Some(env.repo.read_commit(head)?.tree),
            None => None,
        };
        out.extend(judge.scan(&secrets::changed_blobs(env.repo, capture.tree, head_tree)?)?);
        if let Some(staged) = capture.staged {
            out.extend(judge.scan(&secrets::changed_blobs(env.repo, staged, head_tree)?)?);
        }
    }
    Ok(out)
}

/// What each checkpoint would publish that looks like a secret, by checkpoint.
type Judged = HashMap<ObjectId, Vec<secrets::Finding>>;

/// Judges, on a thread, the checkpoints `sessions` hold now that `remote` does not have yet:
/// what the push publishes besides the checkpoints it is about to take.
fn judge_earlier(
    env: &Env<'_>,
    remote: &str,
    sessions: &[Session],
) -> std::thread::JoinHandle<OpResult<Judged>> {
    let repo = env.repo.with_object_cache(16 << 20);
    let remote = remote.to_owned();
    let sessions = sessions.to_vec();
    std::thread::spawn(move || {
        let mut judge = secrets::Judge::new(&repo);
        let mut judged = Judged::new();
        for session in &sessions {
            let remote_tip = remote_tip(&repo, &remote, session)?;
            for ckpt in sync::new_checkpoints(&repo, session, remote_tip)? {
                let found = judge_checkpoint(&repo, &mut judge, ckpt, None, remote_tip)?;
                judged.insert(ckpt, found);
            }
        }
        Ok(judged)
    })
}

/// The remote's copy of `session` as last pushed or fetched (its log's tip).
fn remote_tip(repo: &Repo, remote: &str, session: &Session) -> OpResult<Option<ObjectId>> {
    Ok(repo.read_ref(&sync::remote_ref(remote, session.name()))?)
}

/// The tree of the latest checkpoint in the remote's copy of a session (`remote_tip`, as
/// last pushed or fetched): what it published before.
fn published_tree(repo: &Repo, remote_tip: Option<ObjectId>) -> OpResult<Option<ObjectId>> {
    Ok(match remote_tip {
        Some(tip) if repo.has_object(tip) => sync::latest_checkpoint(repo, tip)?
            .map(|c| repo.read_commit(c).map(|c| c.tree))
            .transpose()?,
        _ => None,
    })
}

/// What checkpoint `ckpt` publishes that looks like a secret and the remote's copy of the
/// session (`remote_tip`) does not hold, its staged state included.
/// `beyond`: what the capture that took it says it holds beyond HEAD (then its files are not
/// read back).
fn judge_checkpoint(
    repo: &Repo,
    judge: &mut secrets::Judge<'_>,
    ckpt: ObjectId,
    beyond: Option<&crate::checkpoint::BeyondHead>,
    remote_tip: Option<ObjectId>,
) -> OpResult<Vec<secrets::Finding>> {
    let commit = repo.read_commit(ckpt)?;
    let head_tree = match commit.parents.first() {
        Some(head) => Some(repo.read_commit(*head)?.tree),
        None => None,
    };
    let work = match beyond {
        Some(beyond) => {
            judge.know(&beyond.leading);
            beyond.files.clone()
        }
        None => secrets::changed_blobs(repo, commit.tree, head_tree)?,
    };
    let mut found = judge.scan(&work)?;
    // What the remote already has is not published again: asked only of what was found,
    // since most pushes find nothing.
    if !found.is_empty()
        && let Some(before) = published_tree(repo, remote_tip)?
    {
        let new = secrets::changed_blobs(repo, commit.tree, Some(before))?;
        found.retain(|f| new.contains_key(&f.path));
    }
    // The staged state travels too (the checkpoint's second parent).
    if let Some(index) = commit.parents.get(1) {
        let staged = repo.read_commit(*index)?.tree;
        found.extend(judge.scan(&secrets::changed_blobs(repo, staged, head_tree)?)?);
    }
    Ok(found)
}

fn refuse_secrets(
    env: &Env<'_>,
    remote_name: &str,
    sessions: &[Session],
    just_made: &[JustMade],
    uncommitted: Vec<secrets::Finding>,
    mut earlier: Judged,
) -> OpResult {
    let mut findings = uncommitted;
    // Checkpoints recorded before this push that hold a finding: ignoring the file now does
    // not take it out of them.
    let mut older: Vec<String> = Vec::new();
    // Each new checkpoint is compared with its HEAD and with what was published before:
    // the trees of the checkpoint are read once.
    let cached = env.repo.with_object_cache(16 << 20);
    let env = &Env {
        repo: &cached,
        ..*env
    };
    let mut judge = secrets::Judge::new(env.repo);
    for session in sessions {
        let remote_tip = remote_tip(env.repo, remote_name, session)?;
        for ckpt in sync::new_checkpoints(env.repo, session, remote_tip)? {
            let made_now = just_made.iter().find(|made| made.checkpoint == ckpt);
            // A checkpoint this push took says what it holds beyond HEAD, and how each file
            // it hashed starts; any other was judged while it was taken, or is compared with
            // HEAD now and its files read back.
            let found = match earlier.remove(&ckpt) {
                Some(found) if made_now.is_none() => found,
                _ => {
                    let beyond = made_now.and_then(|made| made.beyond_head.as_ref());
                    judge_checkpoint(env.repo, &mut judge, ckpt, beyond, remote_tip)?
                }
            };
            if !found.is_empty() && made_now.is_none() {
                older.push(format!(
                    "checkpoint {} of '{}'",
                    &crate::git::short_id(ckpt),
                    session.name()
                ));
            }
            for finding in found {
                if !findings
                    .iter()
                    .any(|f: &secrets::Finding| f.path == finding.path)
                {
                    findings.push(finding);
                }
            }
        }
    }
    if findings.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = findings
        .iter()
        .map(|f| format!("{} ({})", crate::text::escape(&f.path), f.why))
        .collect();
    let err = OpError::refused(format!(
        "refusing to push what looks like secrets: {}",
        list.join(", ")
    ));
    let err = if older.is_empty() {
        err.hint("add them to .gitignore (or .git/info/exclude) and push again; checkpoints leave ignored files out")
    } else {
        err.hint(format!(
            "{} already {} them and would be published with the session's log: ignoring the files now does not take them out",
            older.join(", "),
            if older.len() == 1 { "holds" } else { "hold" }
        ))
    };
    Err(err.hint(
        "if they are not secrets, push with --allow-secrets (git config session.pushSecrets true)",
    ))
}

/// Uploads the LFS objects the pushed refs reach, unless the repository's pre-push hook is
/// git-lfs's (the user's `git push` then does it). Only in repositories that use LFS.
fn push_lfs_objects(
    env: &Env<'_>,
    main_root: &Path,
    remote_name: &str,
    sessions: &[Session],
    dry_run: bool,
) -> OpResult {
    let common = env.repo.common_dir();
    if dry_run || !common.join("lfs").is_dir() {
        return Ok(());
    }
    let hooks = env
        .repo
        .config_string("core.hooksPath")
        .map(|p| main_root.join(p))
        .unwrap_or_else(|| common.join("hooks"));
    let hook = std::fs::read_to_string(hooks.join("pre-push")).unwrap_or_default();
    if hook.contains("git lfs") || hook.contains("git-lfs") {
        return Ok(());
    }
    if !remote::lfs_available(main_root) {
        env.reporter.warn(
            "this repository has Git LFS objects but `git lfs` is not installed; they are not pushed",
        );
        return Ok(());
    }
    let refs: Vec<String> = sessions
        .iter()
        .map(|s| crate::session::store::ref_name(s.name()))
        .collect();
    remote::lfs_push(main_root, remote_name, &refs).map_err(|e| {
        OpError::refused(crate::text::one_line(&e))
            .hint("nothing was pushed: the session's Git LFS files would not resolve elsewhere")
    })
}

/// What a fetch brought, for `--json` (people read the same on stderr).
#[derive(Debug, Default, serde::Serialize)]
pub struct FetchReport {
    pub remote: String,
    /// New or updated fetched sessions that passed the checks.
    pub sessions: Vec<FetchedSession>,
    /// Fetched sessions dropped by `--prune`.
    pub pruned: Vec<String>,
    /// Why each refused item was refused (one line each).
    pub refused: Vec<String>,
    /// Whether the remote's notes were merged into the local ones.
    pub notes_merged: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct FetchedSession {
    pub name: String,
    /// `<remote>/<name>`.
    pub remote_name: String,
    /// How the local session of that name relates to it (`ahead`, `behind`, …), if any.
    pub local: Option<String>,
}

/// Fetches `remote`'s sessions, branches and notes; judges each fetched session (a refused
/// one is reported and not kept).
pub fn fetch(
    env: &Env<'_>,
    tx: &mut Transaction<'_>,
    remote_name: &str,
    prune: bool,
) -> OpResult<FetchReport> {
    let repo = env.repo;
    remote::check_name(repo, remote_name)?;
    let before: Vec<sync::RemoteEntry> =
        sync::remote_entries(repo, std::slice::from_ref(&remote_name.to_owned()))?;
    let configured = repo.config_strings(&format!("remote.{remote_name}.fetch"));
    let refspecs = sync::fetch_all_refspecs(remote_name, &configured);
    env.reporter
        .status(&format!("Fetching sessions from {remote_name}"));
    // git writes the refs itself: what it changed goes in the record.
    let prefixes = [
        format!("{}{remote_name}/", sync::REMOTE_SESSIONS_PREFIX),
        format!("refs/remotes/{remote_name}/"),
        format!("refs/notes/remotes/{remote_name}/"),
    ];
    let mut snapshots = Vec::new();
    for prefix in &prefixes {
        snapshots.push(tx.snapshot_refs(prefix)?);
    }
    let fetched = remote::fetch(
        env.main_root,
        remote_name,
        &refspecs,
        prune,
        remote::TRANSFER_TIMEOUT,
    );
    crate::fault::point("fetched");
    for (prefix, before) in prefixes.iter().zip(&snapshots) {
        tx.record_external_prefix(before, prefix)?;
    }
    fetched?;
    let mut report = FetchReport {
        remote: remote_name.to_owned(),
        ..Default::default()
    };
    match sync::merge_remote_notes(tx, env.main_root, remote_name) {
        Ok(sync::NotesMerge::Merged) => {
            report.notes_merged = true;
            env.reporter.status(&format!(
                "Merged {remote_name}'s provenance notes into refs/notes/sessions"
            ))
        }
        Ok(_) => {}
        Err(e @ sync::SyncError::HostileNotes { .. }) => {
            report.refused.push(crate::text::one_line(&e));
        }
        Err(e) => return Err(e.into()),
    }
    let store = Store::new(repo);
    let after = sync::remote_entries(repo, std::slice::from_ref(&remote_name.to_owned()))?;
    for gone in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.name == b.name))
    {
        env.reporter.status(&format!(
            "  pruned {} (the remote no longer has it)",
            crate::text::escape(&gone.display())
        ));
        report.pruned.push(gone.display());
    }
    for entry in after {
        let previous = before.iter().find(|b| b.name == entry.name).map(|b| b.tip);
        if previous == Some(entry.tip) {
            continue;
        }
        // What was checked before (the previous copy, the local log) need not be again.
        let mut known: Vec<_> = previous.into_iter().collect();
        if let Ok(Some(local)) = repo.read_ref(&crate::session::store::ref_name(&entry.name)) {
            known.push(local);
        }
        match sync::check_log(repo, &entry, &known) {
            Ok(session) => {
                sync::remember_checked(repo, entry.tip);
                let relation = match store.load(&entry.name) {
                    Ok(local) if local.meta.id != session.meta.id => {
                        Some(sync::Relation::Unrelated)
                    }
                    Ok(local) => Some(sync::relate(repo, local.tip, entry.tip)?),
                    Err(_) => None,
                };
                let note = match relation {
                    None => String::new(),
                    Some(r) => format!(" (local session: {})", r.as_str()),
                };
                env.reporter.status(&format!(
                    "  {}{note}",
                    crate::text::escape(&entry.display())
                ));
                report.sessions.push(FetchedSession {
                    name: entry.name.clone(),
                    remote_name: entry.display(),
                    local: relation.map(|r| r.as_str().to_owned()),
                });
            }
            Err(e) => {
                report.refused.push(crate::text::one_line(&e));
                // Not kept: the copy fetched before (if any) stays, or nothing does, so
                // `list --all` and `resume` never meet it; the next fetch judges it again.
                let tracking = sync::remote_ref(remote_name, &entry.name);
                match previous {
                    Some(old) => tx.set_ref(&tracking, old, "session: refused copy dropped")?,
                    None => tx.delete_ref(&tracking, entry.tip, "session: refused copy dropped")?,
                }
            }
        }
    }
    env.reporter.status(&format!(
        "Fetched {} new or updated session(s) from {remote_name}",
        report.sessions.len()
    ));
    Ok(report)
}
