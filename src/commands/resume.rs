//! `git session resume`: mark a session active again and make sure it has a worktree here,
//! recreating one from its branch (or the remote's copy of it, or its base) when missing.

use crate::checkpoint;
use crate::config;
use crate::context::Context;
use crate::create;
use crate::error::{CommandError, CommandResult};
use crate::git::ObjectId;
use crate::lifecycle;
use crate::session::{Event, EventKind, Status, saved};
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
}

pub fn run(ctx: &Context, args: ResumeArgs) -> CommandResult {
    let session = ctx.session(Some(&args.name))?;
    let local = ctx.local();
    let main_root = ctx.main_root()?;
    let config = ctx.config()?;
    let mut recreated = false;
    let path = match lifecycle::find_worktree(&ctx.repo, &local, &session)? {
        Some(path) => {
            super::new::finish_includes(ctx, &config, &main_root, &session, &path)?;
            path
        }
        None => {
            recreated = true;
            recreate(ctx, &config, &main_root, &session, args.no_include)?
        }
    };
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
    if recreated {
        super::setup::after_create(ctx, &config, &session, &path);
    }
    ctx.out.answer(&path.to_string_lossy())?;
    Ok(())
}

/// Makes the session's worktree again: its branch where it was (the local branch, else the
/// tip or checkpoint the log kept, else the remote's copy, else the base), the last
/// checkpoint's uncommitted work (staged state too) when it was taken on that commit, this
/// machine's `.worktreeinclude` files, and the ignored files a forced removal saved.
fn recreate(
    ctx: &Context,
    config: &crate::config::Config,
    main_root: &std::path::Path,
    session: &crate::session::Session,
    no_include: bool,
) -> CommandResult<std::path::PathBuf> {
    let local = ctx.local();
    let _ = worktree::prune(&ctx.repo);
    let worktree_dir = ctx.worktree_dir(config, main_root)?;
    let path = worktree_dir.join(&session.meta.name);
    if path.exists() {
        return Err(CommandError::user(format!(
            "{} exists but is not this session's worktree",
            path.display()
        ))
        .hint("move it away, then resume again"));
    }
    let branch = session.meta.branch.clone();
    let remote = config.string(&config::REMOTE);
    let store = ctx.store();
    let latest = lifecycle::last_known_head(&ctx.repo, &store, session)?;
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
        ctx.out.status(&format!(
            "The branch {branch} was gone; recreating it at {}",
            &at.to_string()[..12]
        ));
        Start::NewBranch {
            branch: branch.clone(),
            at,
        }
    };
    ctx.out.status(&format!(
        "Recreating the worktree of session '{}' at {}",
        session.meta.name,
        path.display()
    ));
    let site = create::Site {
        worktree_dir: &worktree_dir,
        main_root,
    };
    let source = (!no_include).then_some(main_root);
    let (path, includes) = create::make_worktree(
        &ctx.repo,
        &local,
        &site,
        session,
        &path,
        &start,
        branch_created,
        source,
        &ctx.copy_progress(),
    )?;
    if let Some(report) = &includes {
        super::new::report_includes(ctx, report);
    }
    super::hook::install_into_new_worktree(ctx, &path);
    let wt = ctx.repo.open_worktree(&path)?;
    if let Some(snapshot) = lifecycle::restorable_checkpoint(&ctx.repo, &store, session, &wt)? {
        let head = snapshot.head.expect("a restorable checkpoint has a HEAD");
        checkpoint::apply_to_fresh_checkout(&wt, &snapshot, head)?;
        ctx.out.status(&format!(
            "Put back the uncommitted work of checkpoint {}",
            &snapshot.id.to_string()[..12]
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
