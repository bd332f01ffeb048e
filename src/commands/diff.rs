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
    let session = ctx.session(named)?;
    let from = super::checkpoint::resolve(ctx, &session, rest.first().map_or("@", |s| s.as_str()))?;
    let (to, run_in) = match rest.get(1) {
        Some(spec) => (
            super::checkpoint::resolve(ctx, &session, spec)?.to_string(),
            ctx.main_root()?,
        ),
        None => {
            let path = super::checkpoint::worktree_of(ctx, &session)?;
            let now = checkpoint::capture(&ctx.repo.open_worktree(&path)?)?;
            (now.tree.to_string(), path)
        }
    };
    let mut cmd = git(&run_in).args(["diff", "--no-ext-diff"]);
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
