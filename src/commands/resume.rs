//! `git session resume`: mark a session active again and make sure it has a worktree here,
//! recreating one from its branch (or the remote's copy of it, or its base) when missing.

use crate::config;
use crate::context::Context;
use crate::error::{CommandError, CommandResult};
use crate::git::ObjectId;
use crate::lifecycle;
use crate::session::{Event, EventKind, LocalState, Status};
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
    let mut recreated = false;
    let path = match lifecycle::find_worktree(&ctx.repo, &local, &session)? {
        Some(path) => path,
        None => {
            let _ = worktree::prune(&ctx.repo);
            let config = ctx.config()?;
            let worktree_dir = ctx.worktree_dir(&config, &main_root)?;
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
            let mut branch_created = local.get(&session.meta.id).created_branch(&branch);
            let start = if worktree::branch_exists(&ctx.repo, &branch)? {
                Start::ExistingBranch {
                    branch: branch.clone(),
                }
            } else if let Some(tip) = ctx
                .repo
                .read_ref(&format!("refs/remotes/{remote}/{branch}"))?
            {
                branch_created = true;
                Start::NewBranch {
                    branch: branch.clone(),
                    at: tip,
                }
            } else {
                let base = ObjectId::from_hex(session.meta.base.as_bytes())
                    .ok()
                    .filter(|b| ctx.repo.has_object(*b))
                    .ok_or_else(|| {
                        CommandError::user(format!(
                            "session '{}' has no branch here and its base {} is not in this repository",
                            session.meta.name, session.meta.base
                        ))
                        .hint(format!("fetch the branch {branch} or the base commit, then resume again"))
                    })?;
                branch_created = true;
                if let Some(ckpt) = &session.meta.last_checkpoint {
                    ctx.out.hint(&format!(
                        "the branch was gone; the last checkpoint {ckpt} holds the work as it was"
                    ));
                }
                Start::NewBranch {
                    branch: branch.clone(),
                    at: base,
                }
            };
            worktree::ensure_excluded(&ctx.repo.common_dir(), &main_root, &worktree_dir)?;
            ctx.out.status(&format!(
                "Recreating the worktree of session '{}' at {}",
                session.meta.name,
                path.display()
            ));
            let source = (!args.no_include).then_some(main_root.as_path());
            lifecycle::create_worktree(
                &ctx.repo,
                &path,
                &start,
                source,
                &[worktree_dir],
                &ctx.copy_progress(),
            )
            .map_err(CommandError::from)?;
            let path = crate::git::canonical(&path);
            local.put(
                &session.meta.id,
                &LocalState {
                    worktree: Some(path.clone()),
                    last_active: ctx.repo.now().ok(),
                    branch_created,
                    name: Some(session.meta.name.clone()),
                    branch: Some(branch.clone()),
                },
            )?;
            recreated = true;
            path
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
    ctx.out.answer(&path.to_string_lossy())?;
    Ok(())
}
