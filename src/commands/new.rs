//! `git session new`: create a session, its branch and its worktree (with `.worktreeinclude`
//! files copied), and print the worktree's absolute path, so `cd "$(git session new x)"` works.

use std::path::PathBuf;

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::ops::base::{self, BaseSpec};
use crate::ops::{self, Site, create};
use crate::session::{Event, EventKind, SessionLock};
use crate::session_view;

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
    /// Claim the files this pathspec names (repeatable; git pathspec syntax: `src/auth`,
    /// `:(glob)**/*.rs`, `:!src/auth/generated`).
    #[arg(long = "owns", value_name = "PATHSPEC")]
    pub owns: Vec<String>,
    /// Print the new session as JSON instead of the path.
    #[arg(long)]
    pub json: bool,
    /// Then open its tmux window (as `git session open`).
    #[arg(long, conflicts_with = "no_worktree")]
    pub open: bool,
}

pub fn run(ctx: &Context, mut args: NewArgs) -> CommandResult {
    if let Some(pr) = args.name.as_deref().and_then(|n| n.strip_prefix('#')) {
        let number = pr
            .parse()
            .map_err(|_| CommandError::usage(format!("'#{pr}' is not a pull request number")))?;
        args.pr = Some(number);
        args.name = None;
    }
    // Pathspecs `owns` cannot hold are refused before anything is made.
    crate::git::pathspec::Owns::new(&args.owns)
        .map_err(|why| CommandError::user(format!("--owns: {why}")))?;
    let name = match (&args.name, args.pr) {
        (Some(name), _) => name.clone(),
        (None, Some(pr)) => format!("pr-{pr}"),
        (None, None) => base::generate_free_name(&ctx.repo)?,
    };
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let site = Site {
        worktree_dir: &worktree_dir,
        main_root: &main_root,
    };
    let config = ctx.config()?;
    let branch_prefix = config.branch_prefix()?;
    if let Some((session, path)) = finish_interrupted(ctx, &site, &branch_prefix, &name)? {
        crate::render::run_setup(ctx, &session, &path)?;
        return print_result(ctx, &session, &name, Some(&path), args.json);
    }
    let placement = create::placement(&ctx.repo, &site, &branch_prefix, &name, !args.no_worktree)?;
    let spec = BaseSpec {
        rev: args.base.clone(),
        head: args.head,
        pr: args.pr,
    };
    let base = base::resolve(&ctx.repo, &ctx.here, &config, &main_root, &spec, &ctx.out)?;
    let spec = create::NewSession {
        name: name.clone(),
        placement,
        at: base.commit,
        base_ref: base.base_ref.clone(),
        parent: None,
        goal: args.goal.clone(),
        context: None,
        agent: None,
        owns: args.owns.clone(),
        event: Event::new(EventKind::Created, format!("{name} from {}", base.base_ref)),
        include_source: (!args.no_include).then(|| main_root.clone()),
    };
    let from = from_text(ctx, &spec.base_ref);
    let mut tx = ctx.transaction();
    let created =
        create::start(&mut tx, &ctx.local(), &site, spec, &from, &ctx.out).map_err(|e| {
            CommandError::from(ops::OpError::from(e)).hint("the session was not created")
        })?;
    tx.finish()?;
    // Setup commands may run git-session themselves.
    drop(created.lock);
    if let Some(path) = &created.worktree {
        crate::render::run_setup(ctx, &created.session, path)?;
    }
    print_result(
        ctx,
        &created.session,
        &name,
        created.worktree.as_deref(),
        args.json,
    )?;
    if args.open {
        crate::render::open_window(ctx, &created.session, &[])?;
    }
    Ok(())
}

/// How the base is named in narration: HEAD alone says little inside another session's
/// worktree, so its branch is named too.
fn from_text(ctx: &Context, base_ref: &str) -> String {
    match ctx.here.head_ref_name().ok().flatten() {
        Some(head) if base_ref == "HEAD" => format!(
            "HEAD ({})",
            crate::text::escape(head.strip_prefix("refs/heads/").unwrap_or(&head))
        ),
        _ => crate::text::escape(base_ref),
    }
}

/// A session of this name whose worktree a killed `new` left unfinished (half checked out,
/// or its include copy not done): it is finished (or salvaged and made again) and returned.
///
/// Only when nobody holds the session: a pending marker under a held lock is another
/// process making it right now, and this `new` of the same name refuses (`new` never takes
/// over a session someone else is making).
fn finish_interrupted(
    ctx: &Context,
    site: &Site<'_>,
    branch_prefix: &str,
    name: &str,
) -> CommandResult<Option<(crate::session::Session, PathBuf)>> {
    let Ok(session) = ctx.store().load(name) else {
        return Ok(None);
    };
    let local = ctx.local();
    let Some(what) = local.get(&session.meta.id).pending() else {
        return Ok(None);
    };
    // A moment's wait: `list` may be looking (it takes the lock briefly to tell).
    let lock = SessionLock::acquire_within(
        &ctx.repo.common_dir(),
        &session.meta.id,
        name,
        std::time::Duration::from_secs(2),
    )
    .map_err(|_| {
        CommandError::user(format!(
            "session '{name}' is being made by another git-session process ({what})"
        ))
        .hint("wait for it to finish, or pick another name")
    })?;
    // Judged again under the lock: the other process may have finished meanwhile.
    if local.get(&session.meta.id).pending().is_none() {
        return Ok(None);
    }
    let config = ctx.config()?;
    let remote = config.string(&crate::config::REMOTE);
    let mut tx = ctx.transaction();
    let mut env = ops::resume::Env {
        tx: &mut tx,
        local: &local,
        site: *site,
        branch_prefix,
        default_remote: &remote,
        reporter: &ctx.out,
    };
    let (path, _) = ops::resume::ensure_worktree(&mut env, &lock, &session, false, None)?;
    tx.finish()?;
    Ok(Some((ctx.store().load(name)?, path)))
}

fn print_result(
    ctx: &Context,
    session: &crate::session::Session,
    name: &str,
    path: Option<&std::path::Path>,
    json: bool,
) -> CommandResult {
    if json {
        let stale_after = ctx.config()?.agent_stale_after()?;
        ctx.out.json(&session_view::view_of(
            &ctx.repo,
            &ctx.local(),
            session,
            stale_after,
        )?)?;
    } else {
        match path {
            Some(path) => ctx.out.answer(&path.to_string_lossy())?,
            None => ctx.out.answer(name)?,
        }
    }
    Ok(())
}
