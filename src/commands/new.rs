//! `git session new`: create a session, its branch and its worktree (with `.worktreeinclude`
//! files copied), and print the worktree's absolute path, so `cd "$(git session new x)"` works.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command_context::Context;
use crate::config::{self, Config};
use crate::create;
use crate::error::{CommandError, CommandResult};
use crate::git::{ObjectId, remote};
use crate::session::{Event, EventKind, SessionLock, name};
use crate::session_view::{self, ViewInputs};

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

pub struct Base {
    pub commit: ObjectId,
    pub base_ref: String,
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
    if let Some(path) = finish_interrupted(ctx, &name)? {
        return print_result(
            ctx,
            &ctx.store().load(&name)?,
            &name,
            Some(&path),
            args.json,
        );
    }
    let placement = placement(ctx, &config, &main_root, &name, !args.no_worktree)?;
    let base = resolve_base(ctx, &config, &main_root, &args)?;
    let spec = create::NewSession {
        name: name.clone(),
        placement,
        at: base.commit,
        base_ref: base.base_ref.clone(),
        parent: None,
        goal: args.goal.clone(),
        context: None,
        agent: None,
        event: Event::new(EventKind::Created, format!("{name} from {}", base.base_ref)),
        include_source: (!args.no_include).then(|| main_root.clone()),
    };
    let created = start(ctx, &config, &main_root, spec)?;
    if let Some(path) = &created.worktree {
        super::setup::after_create(ctx, &config, &created.session, path);
    }
    print_result(
        ctx,
        &created.session,
        &name,
        created.worktree.as_deref(),
        args.json,
    )
}

/// The branch and worktree path a new session `name` gets, refused when taken.
pub fn placement(
    ctx: &Context,
    config: &Config,
    main_root: &Path,
    name: &str,
    with_worktree: bool,
) -> CommandResult<create::Placement> {
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    create::check(
        &ctx.repo,
        name,
        &config.branch_prefix()?,
        &worktree_dir,
        with_worktree,
    )
    .map_err(|e| match e {
        create::CreateError::BranchExists { branch } => {
            CommandError::user(format!("branch '{branch}' already exists")).hint(format!(
                "pick another session name, or delete the branch with `git branch -d {branch}`"
            ))
        }
        other => other.into(),
    })
}

/// Creates the session (for `new` and `fork`) and narrates it.
pub fn start(
    ctx: &Context,
    config: &Config,
    main_root: &Path,
    spec: create::NewSession,
) -> CommandResult<create::Created> {
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    let site = create::Site {
        worktree_dir: &worktree_dir,
        main_root,
    };
    let (name, branch) = (spec.name.clone(), spec.placement.branch.clone());
    if spec.placement.worktree.is_some() {
        // HEAD alone says little inside another session's worktree: name its branch.
        let from = match ctx.here.head_ref_name().ok().flatten() {
            Some(head) if spec.base_ref == "HEAD" => format!(
                "HEAD ({})",
                crate::text::escape(head.strip_prefix("refs/heads/").unwrap_or(&head))
            ),
            _ => crate::text::escape(&spec.base_ref),
        };
        ctx.out.status(&format!(
            "Creating worktree for session '{name}' on branch {branch} from {from}"
        ));
    }
    let created = create::create(&ctx.repo, &ctx.local(), &site, spec, &ctx.copy_progress())
        .map_err(|e| CommandError::from(e).hint("the session was not created"))?;
    if created.worktree.is_none() {
        ctx.out.status(&format!(
            "Created session '{name}' on branch {branch} (no worktree)"
        ));
    }
    if let Some(report) = &created.includes {
        report_includes(ctx, report);
    }
    if let Some(path) = &created.worktree {
        super::hook_event::install_into_new_worktree(ctx, path);
    }
    Ok(created)
}

/// A session of this name whose include copy a killed `new` left unfinished: finish it
/// and return its worktree.
///
/// Only when nobody holds the session: a pending marker under a held lock is another
/// process making it right now, and this `new` of the same name refuses (`new` never takes
/// over a session someone else is making).
fn finish_interrupted(ctx: &Context, name: &str) -> CommandResult<Option<PathBuf>> {
    let Ok(session) = ctx.store().load(name) else {
        return Ok(None);
    };
    let local = ctx.local();
    let Some(what) = local.get(&session.meta.id).pending() else {
        return Ok(None);
    };
    let Some(lock) = SessionLock::try_acquire(&ctx.repo.common_dir(), &session.meta.id) else {
        return Err(CommandError::user(format!(
            "session '{name}' is being made by another git-session process ({what})"
        ))
        .hint("wait for it to finish, or pick another name"));
    };
    // Judged again under the lock: the other process may have finished meanwhile.
    if local.get(&session.meta.id).pending().is_none() {
        return Ok(None);
    }
    let (path, _) = super::resume::ensure_worktree(ctx, &lock, &session, false, None)?;
    Ok(Some(path))
}

/// Finishes an include copy a killed process left undone, saying so.
pub fn finish_includes(
    ctx: &Context,
    lock: &SessionLock,
    config: &Config,
    main_root: &Path,
    session: &crate::session::Session,
    path: &Path,
) -> CommandResult {
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    let site = create::Site {
        worktree_dir: &worktree_dir,
        main_root,
    };
    let local = ctx.local();
    if let Some(report) = create::finish_includes(
        lock,
        &ctx.repo,
        &local,
        &site,
        session,
        path,
        &ctx.copy_progress(),
    )? {
        ctx.out.status(&format!(
            "Finished the .worktreeinclude copy into '{}' that an interrupted command left undone",
            session.name()
        ));
        report_includes(ctx, &report);
    }
    Ok(())
}

/// Narrates a `.worktreeinclude` copy.
pub fn report_includes(ctx: &Context, report: &crate::include::CopyReport) {
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

fn print_result(
    ctx: &Context,
    session: &crate::session::Session,
    name: &str,
    path: Option<&Path>,
    json: bool,
) -> CommandResult {
    if json {
        let local = ctx.local();
        let inputs = ViewInputs::read(&ctx.repo, &local, std::slice::from_ref(session))?;
        ctx.out
            .json(&session_view::build(&ctx.repo, &local, &inputs, session)?)?;
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

/// The commit a new session starts from and how the user named it (--base, --pr,
/// session.baseRef).
pub fn resolve_base(
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
    // Only remote-tracking branches move (`origin/HEAD` is what this is for).
    let configured = ctx.repo.config_strings(&format!("remote.{remote}.fetch"));
    let specs = crate::session::sync::branch_refspecs(&remote, &configured);
    let fetched = remote::fetch(main_root, &remote, &specs, false, timeout);
    if let Err(e) = fetched {
        ctx.out.status(&format!(
            "note: fetching {remote} failed ({}); starting from HEAD",
            crate::text::one_line(&e)
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
    remote_name: &str,
    pr: u64,
) -> CommandResult<Base> {
    if !remote::exists(&ctx.repo, remote_name) {
        return Err(
            CommandError::user(format!("no remote '{remote_name}' is configured"))
                .hint("pull requests are fetched from session.remote (default: origin)"),
        );
    }
    let refspec = remote::pull_request_ref(pr);
    ctx.out
        .status(&format!("Fetching {refspec} from {remote_name}"));
    let commit =
        remote::fetch_pull_request(&ctx.repo, main_root, remote_name, pr).map_err(|e| {
            CommandError::from(e).hint(format!("does {remote_name} have pull request {pr}?"))
        })?;
    Ok(Base {
        commit,
        base_ref: refspec,
    })
}
