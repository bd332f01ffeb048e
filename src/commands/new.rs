//! `git session new`: create a session, its branch and its worktree (with `.worktreeinclude`
//! files copied), and print the worktree's absolute path, so `cd "$(git session new x)"` works.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{self, Config};
use crate::context::Context;
use crate::error::{CommandError, CommandResult};
use crate::git::{Expect, ObjectId, git};
use crate::lifecycle;
use crate::session::{
    Event, EventKind, LocalState, SessionMeta, Status, model, name, new_id, time,
};
use crate::worktree::{self, Start};

/// Start a new session and print its worktree path.
///
/// Creates a branch, a worktree, and a log under refs/sessions/<name>.
///
/// Prints only the worktree's absolute path on stdout. The base is origin/HEAD after a short
/// fetch (session.baseRef = fresh, the default), the current HEAD (session.baseRef = head or
/// --head), or any revision given with --base. `new '#1234'` starts from pull request 1234.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Session name (git ref rules; `feature/auth` is fine). Generated when omitted.
    /// `#1234` means `--pr 1234`.
    pub name: Option<String>,
    /// Start from this revision.
    #[arg(long, value_name = "REV", conflicts_with_all = ["head", "pr"])]
    pub base: Option<String>,
    /// Start from the current HEAD instead of origin/HEAD.
    #[arg(long, conflicts_with = "pr")]
    pub head: bool,
    /// Start from the remote's refs/pull/<N>/head, as session pr-<N>.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Create the session and its branch, but no worktree.
    #[arg(long)]
    pub no_worktree: bool,
    /// Do not copy the files .worktreeinclude names.
    #[arg(long)]
    pub no_include: bool,
    /// The session's goal, kept in session.yaml.
    #[arg(short = 'm', long = "goal", value_name = "GOAL")]
    pub goal: Option<String>,
    /// Print the new session as JSON instead of the path.
    #[arg(long)]
    pub json: bool,
}

struct Base {
    commit: ObjectId,
    base_ref: String,
}

pub fn run(ctx: &Context, mut args: NewArgs) -> CommandResult {
    if let Some(pr) = args.name.as_deref().and_then(|n| n.strip_prefix('#')) {
        let number = pr
            .parse()
            .map_err(|_| CommandError::usage(format!("'#{pr}' is not a pull request number")))?;
        args.pr = Some(number);
        args.name = None;
    }
    let name = match (&args.name, args.pr) {
        (Some(name), _) => name.clone(),
        (None, Some(pr)) => format!("pr-{pr}"),
        (None, None) => generate_free_name(ctx)?,
    };
    let main_root = ctx.main_root()?;
    let config = ctx.config()?;
    let (branch, path) = check_new_session(ctx, &config, &main_root, &name, args.no_worktree)?;
    let base = resolve_base(ctx, &config, &main_root, &args)?;
    let spec = StartSpec {
        name: name.clone(),
        branch,
        at: base.commit,
        base_ref: base.base_ref.clone(),
        parent: None,
        goal: args.goal.clone(),
        context: None,
        event: Event::new(EventKind::Created, format!("{name} from {}", base.base_ref)),
        worktree: (!args.no_worktree).then_some(path),
        include_source: (!args.no_include).then(|| main_root.clone()),
    };
    let (session, path) = start_session(ctx, &config, &main_root, spec)?;
    print_result(ctx, &session, &name, path.as_deref(), args.json)
}

/// Refuses a session whose name, branch or worktree path is taken; returns the branch name
/// and the worktree path it would get.
pub fn check_new_session(
    ctx: &Context,
    config: &Config,
    main_root: &Path,
    name: &str,
    no_worktree: bool,
) -> CommandResult<(String, PathBuf)> {
    ctx.store().check_new_name(name).map_err(|e| {
        let taken = matches!(e, crate::session::StoreError::AlreadyExists { .. });
        let err = CommandError::from(e);
        if taken {
            err.hint(format!(
                "`git session resume {name}` continues it; or pick another name"
            ))
        } else {
            err
        }
    })?;
    let branch = format!("{}{name}", config.branch_prefix()?);
    model::check_branch(&branch).map_err(|e| CommandError::user(e.0))?;
    if worktree::branch_exists(&ctx.repo, &branch)? {
        return Err(
            CommandError::user(format!("branch '{branch}' already exists")).hint(format!(
                "pick another session name, or delete the branch with `git branch -d {branch}`"
            )),
        );
    }
    let path = ctx.worktree_dir(config, main_root)?.join(name);
    if !no_worktree && path.exists() {
        return Err(CommandError::user(format!(
            "{} already exists",
            path.display()
        )));
    }
    Ok((branch, path))
}

/// Everything needed to start a session (for `new` and `fork`).
pub struct StartSpec {
    pub name: String,
    pub branch: String,
    /// The commit the branch starts at (and the session's base).
    pub at: ObjectId,
    pub base_ref: String,
    pub parent: Option<String>,
    pub goal: Option<String>,
    pub context: Option<String>,
    pub event: Event,
    /// Where to create the worktree; None for a session without one.
    pub worktree: Option<PathBuf>,
    /// Where `.worktreeinclude` files are copied from.
    pub include_source: Option<PathBuf>,
}

/// Creates the session's log, its branch and (optionally) its worktree; on failure, removes
/// what it created (nothing in it holds work yet).
pub fn start_session(
    ctx: &Context,
    config: &Config,
    main_root: &Path,
    spec: StartSpec,
) -> CommandResult<(crate::session::Session, Option<PathBuf>)> {
    let now = time::format_rfc3339(ctx.repo.now()?);
    let meta = SessionMeta {
        version: model::SCHEMA_VERSION,
        id: new_id(),
        name: spec.name.clone(),
        status: Status::Active,
        created: now.clone(),
        updated: now,
        branch: spec.branch.clone(),
        base: spec.at.to_string(),
        base_ref: spec.base_ref.clone(),
        parent: spec.parent.clone(),
        last_checkpoint: spec.event.checkpoint.map(|c| c.to_string()),
        goal: spec.goal.clone(),
        agent: None,
        extra: Default::default(),
    };
    let name = spec.name.clone();
    let branch = spec.branch.clone();
    let store = ctx.store();
    let session = store.create(meta, spec.event, spec.context.as_deref())?;
    let at = spec.at;
    // Undoes a failed start: nothing in it holds work yet.
    let undo = |ctx: &Context, path: &Path| {
        if ctx
            .repo
            .linked_worktrees()
            .is_ok_and(|w| w.iter().any(|w| w.path == crate::git::canonical(path)))
        {
            let _ = worktree::remove(&ctx.repo, path, true);
        }
        let _ = ctx
            .repo
            .delete_ref(&crate::session::store::ref_name(&name), session.tip);
        let _ = worktree::delete_branch(&ctx.repo, &branch, at);
    };
    let local = ctx.local();
    let Some(path) = spec.worktree else {
        let created = ctx.repo.update_ref(
            &format!("refs/heads/{branch}"),
            spec.at,
            Expect::Absent,
            "session: created",
        );
        if let Err(e) = created {
            let _ = ctx
                .repo
                .delete_ref(&crate::session::store::ref_name(&name), session.tip);
            return Err(e.into());
        }
        local.put(
            &session.meta.id,
            &LocalState {
                worktree: None,
                last_active: ctx.repo.now().ok(),
                branch_created: true,
                name: Some(name.to_string()),
                branch: Some(branch.clone()),
            },
        )?;
        ctx.out.status(&format!(
            "Created session '{name}' on branch {branch} (no worktree)"
        ));
        return Ok((session, None));
    };
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    worktree::ensure_excluded(&ctx.repo.common_dir(), main_root, &worktree_dir)?;
    ctx.out.status(&format!(
        "Creating worktree for session '{name}' on branch {branch} from {}",
        spec.base_ref
    ));
    let start = Start::NewBranch {
        branch: branch.clone(),
        at: spec.at,
    };
    let created = lifecycle::create_worktree(
        &ctx.repo,
        &path,
        &start,
        spec.include_source.as_deref(),
        &[worktree_dir],
        &ctx.copy_progress(),
    );
    let report = match created {
        Ok(report) => report,
        Err(e) => {
            undo(ctx, &path);
            return Err(CommandError::from(e).hint("the session was not created"));
        }
    };
    let path = crate::git::canonical(&path);
    local.put(
        &session.meta.id,
        &LocalState {
            worktree: Some(path.clone()),
            last_active: ctx.repo.now().ok(),
            branch_created: true,
            name: Some(name.to_string()),
            branch: Some(branch.clone()),
        },
    )?;
    if let Some(report) = report {
        if report.files + report.symlinks > 0 {
            ctx.out.status(&format!(
                "Copied {} file(s) and {} symlink(s) named by .worktreeinclude ({} KiB)",
                report.files,
                report.symlinks,
                report.bytes / 1024
            ));
        }
        for skipped in &report.skipped {
            ctx.out.warn(&format!(
                "not copied: {skipped} (the new worktree already has it, or a parent of it is a symlink there)"
            ));
        }
    }
    Ok((session, Some(path)))
}

fn print_result(
    ctx: &Context,
    session: &crate::session::Session,
    name: &str,
    path: Option<&Path>,
    json: bool,
) -> CommandResult {
    if json {
        let inputs = super::view::ViewInputs::read(ctx, std::slice::from_ref(session))?;
        ctx.out.json(&super::view::build(ctx, &inputs, session)?)?;
    } else {
        match path {
            Some(path) => ctx.out.answer(&path.to_string_lossy())?,
            None => ctx.out.answer(name)?,
        }
    }
    Ok(())
}

pub fn generate_free_name(ctx: &Context) -> CommandResult<String> {
    let existing = ctx.store().names()?;
    let mut seed = name::random_seed();
    for _ in 0..50 {
        let candidate = name::generated(seed);
        if !existing.iter().any(|e| name::collides(e, &candidate)) {
            return Ok(candidate);
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    Err(CommandError::user("could not find a free generated name")
        .hint("name the session yourself"))
}

fn resolve_base(
    ctx: &Context,
    config: &Config,
    main_root: &Path,
    args: &NewArgs,
) -> CommandResult<Base> {
    let remote = config.string(&config::REMOTE);
    if let Some(rev) = &args.base {
        let commit = ctx.here.resolve_commit(rev)?;
        return Ok(Base {
            commit,
            base_ref: rev.clone(),
        });
    }
    if let Some(pr) = args.pr {
        return fetch_pull_request(ctx, main_root, &remote, pr);
    }
    let head = || -> CommandResult<Base> {
        let commit = ctx.here.head_commit()?.ok_or_else(|| {
            CommandError::user("this repository has no commits yet")
                .hint("make a first commit, then start a session")
        })?;
        Ok(Base {
            commit,
            base_ref: "HEAD".into(),
        })
    };
    let mode = config.string(&config::BASE_REF);
    if args.head || mode == "head" {
        return head();
    }
    if mode != "fresh" {
        return Err(CommandError::user(format!(
            "session.baseRef = '{mode}' is invalid: expected 'fresh' or 'head'"
        )));
    }
    if ctx
        .repo
        .config_string(&format!("remote.{remote}.url"))
        .is_none()
    {
        ctx.out
            .status(&format!("note: no remote '{remote}'; starting from HEAD"));
        return head();
    }
    let timeout = Duration::from_secs(config.number(&config::FETCH_TIMEOUT_SECS, 0..=600)?);
    let fetched = git(main_root)
        .args(["fetch", "--quiet", "--no-tags", "--", &remote])
        .run_with_timeout(timeout);
    if let Err(e) = fetched {
        ctx.out.status(&format!(
            "note: fetching {remote} failed ({}); starting from HEAD",
            crate::error::one_line(&e)
        ));
        return head();
    }
    match ctx.repo.read_ref(&format!("refs/remotes/{remote}/HEAD"))? {
        Some(commit) => Ok(Base {
            commit,
            base_ref: format!("{remote}/HEAD"),
        }),
        None => {
            ctx.out.status(&format!(
                "note: {remote}/HEAD is not set (`git remote set-head {remote} --auto` sets it); starting from HEAD"
            ));
            head()
        }
    }
}

fn fetch_pull_request(
    ctx: &Context,
    main_root: &Path,
    remote: &str,
    pr: u64,
) -> CommandResult<Base> {
    if ctx
        .repo
        .config_string(&format!("remote.{remote}.url"))
        .is_none()
    {
        return Err(
            CommandError::user(format!("no remote '{remote}' is configured"))
                .hint("pull requests are fetched from session.remote (default: origin)"),
        );
    }
    let refspec = format!("refs/pull/{pr}/head");
    ctx.out.status(&format!("Fetching {refspec} from {remote}"));
    git(main_root)
        .args(["fetch", "--quiet", "--no-tags", "--", remote, &refspec])
        .run_with_timeout(Duration::from_secs(300))
        .map_err(|e| {
            CommandError::from(e).hint(format!("does {remote} have pull request {pr}?"))
        })?;
    let fetch_head: PathBuf = ctx
        .repo
        .gix()
        .main_repo()
        .map(|r| r.git_dir().join("FETCH_HEAD"))
        .unwrap_or_default();
    let text = std::fs::read_to_string(&fetch_head).unwrap_or_default();
    let hex: String = text.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    let commit = ObjectId::from_hex(hex.as_bytes()).map_err(|_| {
        CommandError::user(format!(
            "could not read what `git fetch {remote} {refspec}` fetched"
        ))
    })?;
    Ok(Base {
        commit,
        base_ref: refspec,
    })
}
