//! `git session diff`: what changed between two checkpoints, or since one (the latest by
//! default) and the working tree now, untracked files included. The diff itself is git's.

use crate::checkpoint;
use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::git::git;

/// Show changes between checkpoints, or since one.
///
/// `diff` (latest checkpoint → working tree now),
/// `diff <ckpt>` (that checkpoint → now), `diff <a> <b>`. The session can be named first.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// [<name>] [<checkpoint> [<checkpoint>]]: checkpoints as full id, prefix, @ or @~N.
    #[arg(value_name = "ARGS", num_args = 0..=3)]
    pub args: Vec<String>,
    /// Show only names and status of changed files.
    #[arg(long)]
    pub name_status: bool,
    /// Show a diffstat.
    #[arg(long)]
    pub stat: bool,
    /// Compare the worktree with its HEAD instead: all its uncommitted work (staged,
    /// unstaged and untracked files).
    #[arg(long)]
    pub uncommitted: bool,
}

pub fn run(ctx: &Context, args: DiffArgs) -> CommandResult {
    let mut rest = args.args.as_slice();
    let named = match rest.first() {
        Some(first) if ctx.store().exists(first).unwrap_or(false) => {
            rest = &rest[1..];
            Some(first.as_str())
        }
        _ => None,
    };
    if rest.len() > 2 {
        return Err(CommandError::usage(
            "at most two checkpoints can be compared",
        ));
    }
    // Outside any session's worktree a first word that is no session's name cannot be a
    // checkpoint either: said as the unknown session it most likely meant.
    if named.is_none()
        && let Some(first) = rest.first()
        && crate::session::name::validate(first).is_ok()
        && ctx.current_session()?.is_none()
    {
        ctx.session(Some(first))?;
    }
    let session = ctx.session(named)?;
    let (from, to, run_in) = if args.uncommitted {
        if !rest.is_empty() {
            return Err(CommandError::usage(
                "--uncommitted compares the worktree with its HEAD: no checkpoint goes with it",
            ));
        }
        let path = super::checkpoint::worktree_of(ctx, &session)?;
        let wt = ctx.repo.open_worktree(&path)?;
        let now = checkpoint::capture(&wt)?;
        let from = match now.head {
            Some(head) => head,
            None => wt.write_tree(&[])?, // an unborn branch: everything is new
        };
        (from, now.tree.to_string(), path)
    } else {
        let (to, run_in) = to_and_dir(ctx, &session, rest)?;
        let from =
            super::checkpoint::resolve(ctx, &session, rest.first().map_or("@", |s| s.as_str()))?;
        (from, to, run_in)
    };
    let mut cmd = git(&run_in).args(["diff", "--no-ext-diff"]);
    if ctx.out.stdout_colored() {
        cmd = cmd.arg("--color=always");
    }
    if args.name_status {
        cmd = cmd.arg("--name-status");
    }
    if args.stat {
        cmd = cmd.arg("--stat");
    }
    let output = cmd.args([from.to_string(), to, "--".to_owned()]).run()?;
    if !output.is_empty() {
        ctx.out.answer(&output)?;
    }
    Ok(())
}

/// The other side of a checkpoint diff (the second checkpoint named, else the worktree now)
/// and where git runs.
fn to_and_dir(
    ctx: &Context,
    session: &crate::session::Session,
    rest: &[String],
) -> CommandResult<(String, std::path::PathBuf)> {
    Ok(match rest.get(1) {
        Some(spec) => (
            super::checkpoint::resolve(ctx, session, spec)?.to_string(),
            ctx.main_root()?,
        ),
        None => {
            let path = super::checkpoint::worktree_of(ctx, session)?;
            let now = checkpoint::capture(&ctx.repo.open_worktree(&path)?)?;
            (now.tree.to_string(), path)
        }
    })
}
