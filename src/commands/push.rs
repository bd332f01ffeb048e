//! `git session push`: share sessions like branches. A dirty session is checkpointed first so
//! its uncommitted work travels; the files a push would publish for the first time are
//! checked for secrets; then one atomic push sends the logs, their branches and the merged
//! provenance notes (`session::sync::push`).

use std::path::Path;

use crate::command_context::Context;
use crate::config::{self, Config, Origin};
use crate::error::{CommandError, CommandResult};
use crate::git::remote;
use crate::lifecycle;
use crate::secrets;
use crate::session::{Session, sync};

/// Push sessions (log, branch, checkpoints, provenance notes) to a remote.
///
/// Checkpoints a dirty session first (unless --no-checkpoint), refuses files that look like
/// secrets, then runs one atomic `git push` of refs/sessions/<name>, the session's branch and
/// refs/notes/sessions (the remote's notes fetched and merged first). The remote is the one
/// given, else session.remote, else the branch's upstream remote, else origin.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The remote, then the sessions (default: the current session). A lone argument that is
    /// not a remote is a session name.
    #[arg(value_name = "REMOTE|NAME")]
    pub args: Vec<String>,
    /// Push every session.
    #[arg(long)]
    pub all: bool,
    /// Do not checkpoint dirty sessions first (their uncommitted work stays here).
    #[arg(long)]
    pub no_checkpoint: bool,
    /// Show what would be pushed; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Push files that look like secrets (.env*, *.pem, private keys, tokens) anyway.
    #[arg(long)]
    pub allow_secrets: bool,
    /// Print what was pushed as JSON.
    #[arg(long)]
    pub json: bool,
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

pub fn run(ctx: &Context, args: PushArgs) -> CommandResult {
    let config = ctx.config()?;
    let main_root = ctx.main_root()?;
    let (remote_arg, names) = split_remote(ctx, &args.args);
    if let Some(given) = remote_arg
        && !remote::exists(&ctx.repo, given)
    {
        let what = if names.is_empty() {
            "remote or session"
        } else {
            "remote"
        };
        return Err(CommandError::user(format!(
            "no {what} named '{}'",
            crate::text::escape(given)
        ))
        .hint("`git remote -v` lists the remotes, `git session list` the sessions"));
    }
    let store = ctx.store();
    let mut sessions: Vec<Session> = if args.all {
        let mut all = Vec::new();
        for entry in store.list()? {
            all.push(entry?);
        }
        all
    } else if names.is_empty() {
        vec![ctx.session(None)?]
    } else {
        names
            .iter()
            .map(|n| store.load(n))
            .collect::<Result<_, _>>()?
    };
    if sessions.is_empty() {
        return Err(CommandError::user("there are no sessions to push"));
    }
    let remote_name = choose_remote(ctx, &config, remote_arg, &sessions[0]);
    remote::check_name(&ctx.repo, &remote_name)?;
    let mut just_made = Vec::new();
    // A dry run takes no checkpoint, but judges the files one would publish.
    let mut would_checkpoint = Vec::new();
    let mut failed = Vec::new();
    if !args.no_checkpoint && !args.dry_run {
        (sessions, just_made) = checkpoint_dirty(ctx, sessions, &mut failed)?;
        if !failed.is_empty() && !args.all {
            let (_, first) = failed.remove(0);
            return Err(CommandError {
                message: format!("{}; nothing was pushed", first.message),
                ..first
            });
        }
        for (_, e) in &failed {
            ctx.out.error(&e.message);
            for hint in &e.hints {
                ctx.out.hint(hint);
            }
        }
        if sessions.is_empty() {
            return Err(CommandError::user("no session could be pushed (see above)"));
        }
    } else if !args.no_checkpoint {
        would_checkpoint = uncommitted_files(ctx, &sessions)?;
    }
    if !(args.allow_secrets || config.flag(&config::PUSH_SECRETS, &[Origin::GitConfig])?)
        && let Err(refused) =
            refuse_secrets(ctx, &remote_name, &sessions, &just_made, would_checkpoint)
    {
        // The checkpoints this push took are taken back (their files are still on disk), so
        // ignoring the files and pushing again works.
        for (name, before, after) in &just_made {
            let _ = ctx.repo.update_ref(
                &crate::session::store::ref_name(name),
                *before,
                crate::git::Expect::At(*after),
                "session: checkpoint taken back (push refused)",
            );
        }
        let refused = if just_made.is_empty() {
            refused
        } else {
            refused.hint("the checkpoint this push took was taken back; the files are as they were")
        };
        return Err(refused);
    }
    push_lfs_objects(ctx, &main_root, &remote_name, &sessions, args.dry_run)?;
    let names: Vec<&str> = sessions.iter().map(|s| s.name()).collect();
    ctx.out.status(&format!(
        "{} {} to {remote_name}",
        if args.dry_run {
            "Would push"
        } else {
            "Pushing"
        },
        names.join(", ")
    ));
    let outcome = sync::push(&ctx.repo, &main_root, &remote_name, &sessions, args.dry_run)?;
    if let Some(problem) = &outcome.notes_problem {
        ctx.out
            .warn(&format!("{problem}; the provenance notes were not pushed"));
    }
    if outcome.attempts > 1 {
        ctx.out.status(&format!(
            "The remote's notes moved meanwhile; merged them and pushed again ({} attempts)",
            outcome.attempts
        ));
    }
    let report = PushReport {
        remote: remote_name.clone(),
        dry_run: args.dry_run,
        sessions: sessions
            .iter()
            .map(|session| PushedSession {
                name: session.name().to_owned(),
                remote_name: format!("{remote_name}/{}", session.name()),
                log: session.tip.to_string(),
                checkpoint: just_made
                    .iter()
                    .find(|(name, _, _)| name == session.name())
                    .and_then(|_| session.meta.last_checkpoint.clone()),
            })
            .collect(),
        notes_pushed: outcome.notes_pushed,
        attempts: outcome.attempts,
    };
    let not_pushed = |failed: &[(String, CommandError)]| {
        let names: Vec<String> = failed
            .iter()
            .map(|(n, _)| format!("'{}'", crate::text::escape(n)))
            .collect();
        CommandError::user(format!(
            "{} session(s) were not pushed: {} (see above); the others were",
            failed.len(),
            names.join(", ")
        ))
    };
    if args.json {
        ctx.out.json(&report)?;
    } else {
        for session in &report.sessions {
            ctx.out.answer(&crate::text::escape(&session.remote_name))?;
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(not_pushed(&failed)),
    }
}

/// `push [<remote>] [<name>…]`: the first argument is the remote when one of that name is
/// configured or no session has that name.
fn split_remote<'a>(ctx: &Context, args: &'a [String]) -> (Option<&'a str>, &'a [String]) {
    match args.split_first() {
        Some((first, rest))
            if remote::exists(&ctx.repo, first) || !ctx.store().exists(first).unwrap_or(false) =>
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
fn choose_remote(ctx: &Context, config: &Config, given: Option<&str>, session: &Session) -> String {
    if let Some(remote) = given {
        return remote.to_owned();
    }
    let (configured, origin) = config.get(&config::REMOTE);
    if origin == Origin::GitConfig {
        return configured;
    }
    if origin == Origin::SharedFile && configured != config::REMOTE.default {
        ctx.out.warn(&format!(
            "session.remote = '{}' in {} is not used by push (where work is published comes from git config); `git config session.remote {}` makes it so",
            crate::text::escape(&configured),
            config::SHARED_FILE,
            crate::text::escape(&configured)
        ));
    }
    ctx.repo
        .config_string(&format!("branch.{}.remote", session.meta.branch))
        .filter(|r| r != ".")
        .unwrap_or_else(|| config::REMOTE.default.to_owned())
}

/// A log tip moved by a checkpoint this push took: (session, tip before, tip after).
type JustMade = (String, crate::git::ObjectId, crate::git::ObjectId);

/// Checkpoints each dirty session. One that cannot be checkpointed (an unreadable
/// worktree, an interrupted restore) is named in `failed` and left out of the push: with
/// `--all` the others still go, a named one stops the push.
fn checkpoint_dirty(
    ctx: &Context,
    sessions: Vec<Session>,
    failed: &mut Vec<(String, CommandError)>,
) -> CommandResult<(Vec<Session>, Vec<JustMade>)> {
    let store = ctx.store();
    let local = ctx.local();
    let mut out = Vec::new();
    let mut made = Vec::new();
    for session in sessions {
        let Some(path) = lifecycle::find_worktree(&ctx.repo, &local, &session)? else {
            out.push(session);
            continue;
        };
        // A half-restored worktree (an interrupted fork or resume) is no one's work.
        if local.get(&session.meta.id).pending().is_some() {
            failed.push((
                session.name().to_owned(),
                CommandError::user(format!(
                    "putting a checkpoint into the worktree of '{}' was interrupted",
                    session.name()
                ))
                .hint(format!(
                    "`git session resume {}` finishes it",
                    session.name()
                )),
            ));
            continue;
        }
        // One scan: nothing is recorded for a clean worktree, nor when the last checkpoint
        // already holds this state.
        let recorded = match lifecycle::checkpoint_if_dirty(
            &ctx.repo,
            &store,
            &local,
            &session,
            &path,
            "before push",
        ) {
            Ok(recorded) => recorded,
            Err(e) => {
                let e = CommandError::from(e);
                failed.push((
                    session.name().to_owned(),
                    CommandError {
                        message: format!(
                            "cannot checkpoint session '{}': {}",
                            crate::text::escape(session.name()),
                            e.message
                        ),
                        ..e
                    },
                ));
                continue;
            }
        };
        let Some(recorded) = recorded else {
            out.push(session);
            continue;
        };
        let after = store.load(session.name())?;
        if recorded.new {
            ctx.out.status(&format!(
                "Checkpointed '{}' ({}) so its uncommitted work travels",
                session.name(),
                &crate::git::short_id(recorded.id)
            ));
            made.push((session.name().to_owned(), session.tip, after.tip));
        }
        out.push(after);
    }
    Ok((out, made))
}

/// Refuses files that look like secrets among those the push publishes for the first time:
/// what the new checkpoints hold beyond their HEAD and beyond the remote's copy.
/// What a checkpoint of each dirty session would publish beyond its HEAD (for a dry run).
fn uncommitted_files(ctx: &Context, sessions: &[Session]) -> CommandResult<Vec<secrets::Finding>> {
    let local = ctx.local();
    let mut out = Vec::new();
    for session in sessions {
        let Some(path) = lifecycle::find_worktree(&ctx.repo, &local, session)? else {
            continue;
        };
        let wt = ctx.repo.open_worktree(&path)?;
        let capture = crate::checkpoint::capture(&wt)?;
        let head_tree = match capture.head {
            Some(head) => Some(ctx.repo.read_commit(head)?.tree),
            None => None,
        };
        let mut work = secrets::changed_blobs(&ctx.repo, capture.tree, head_tree)?;
        if let Some(staged) = capture.staged {
            work.extend(secrets::changed_blobs(&ctx.repo, staged, head_tree)?);
        }
        out.extend(secrets::scan(&ctx.repo, &work)?);
    }
    Ok(out)
}

fn refuse_secrets(
    ctx: &Context,
    remote_name: &str,
    sessions: &[Session],
    just_made: &[JustMade],
    uncommitted: Vec<secrets::Finding>,
) -> CommandResult {
    let mut findings = uncommitted;
    // Checkpoints recorded before this push that hold a finding: ignoring the file now does
    // not take it out of them.
    let mut older: Vec<String> = Vec::new();
    for session in sessions {
        let remote_tip = ctx
            .repo
            .read_ref(&sync::remote_ref(remote_name, session.name()))?;
        let published_before = match remote_tip {
            Some(tip) if ctx.repo.has_object(tip) => sync::latest_checkpoint(&ctx.repo, tip)?
                .map(|c| ctx.repo.read_commit(c).map(|c| c.tree))
                .transpose()?,
            _ => None,
        };
        for ckpt in sync::new_checkpoints(&ctx.repo, session, remote_tip)? {
            let commit = ctx.repo.read_commit(ckpt)?;
            let head_tree = match commit.parents.first() {
                Some(head) => Some(ctx.repo.read_commit(*head)?.tree),
                None => None,
            };
            let mut work = secrets::changed_blobs(&ctx.repo, commit.tree, head_tree)?;
            if let Some(before) = published_before {
                let new = secrets::changed_blobs(&ctx.repo, commit.tree, Some(before))?;
                work.retain(|path, _| new.contains_key(path));
            }
            // The staged state travels too (the checkpoint's second parent).
            if let Some(index) = commit.parents.get(1) {
                let staged = ctx.repo.read_commit(*index)?.tree;
                work.extend(secrets::changed_blobs(&ctx.repo, staged, head_tree)?);
            }
            let found = secrets::scan(&ctx.repo, &work)?;
            let made_now = just_made.iter().any(|(_, _, tip)| {
                ctx.repo
                    .read_commit(*tip)
                    .is_ok_and(|c| c.parents.get(1) == Some(&ckpt))
            });
            if !found.is_empty() && !made_now {
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
    let err = CommandError::user(format!(
        "refusing to push what looks like secrets: {}",
        list.join(", ")
    ));
    let err = if older.is_empty() {
        err.hint("add them to .gitignore (or .git/info/exclude) and push again; checkpoints leave ignored files out")
    } else {
        err.hint(format!(
            "{} already hold them and would be published with the session's log: ignoring the files now does not take them out",
            older.join(", ")
        ))
    };
    Err(err.hint(
        "if they are not secrets, push with --allow-secrets (git config session.pushSecrets true)",
    ))
}

/// Uploads the LFS objects the pushed refs reach, unless the repository's pre-push hook is
/// git-lfs's (the user's `git push` then does it). Only in repositories that use LFS.
fn push_lfs_objects(
    ctx: &Context,
    main_root: &Path,
    remote_name: &str,
    sessions: &[Session],
    dry_run: bool,
) -> CommandResult {
    let common = ctx.repo.common_dir();
    if dry_run || !common.join("lfs").is_dir() {
        return Ok(());
    }
    let hooks = ctx
        .repo
        .config_string("core.hooksPath")
        .map(|p| main_root.join(p))
        .unwrap_or_else(|| common.join("hooks"));
    let hook = std::fs::read_to_string(hooks.join("pre-push")).unwrap_or_default();
    if hook.contains("git lfs") || hook.contains("git-lfs") {
        return Ok(());
    }
    if !remote::lfs_available(main_root) {
        ctx.out.warn(
            "this repository has Git LFS objects but `git lfs` is not installed; they are not pushed",
        );
        return Ok(());
    }
    let refs: Vec<String> = sessions
        .iter()
        .map(|s| crate::session::store::ref_name(s.name()))
        .collect();
    remote::lfs_push(main_root, remote_name, &refs).map_err(|e| {
        CommandError::from(e)
            .hint("nothing was pushed: the session's Git LFS files would not resolve elsewhere")
    })
}
