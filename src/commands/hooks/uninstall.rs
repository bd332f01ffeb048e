//! `git session hooks uninstall`: take out exactly what install put in.

use crate::command_context::Context;
use crate::error::CommandResult;

/// Remove git-session's shims and the config values install added.
///
/// Every hook file is restored byte for byte; files install created are deleted.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: UninstallArgs) -> CommandResult {
    let mut tx = ctx.transaction();
    for path in crate::git_hooks::files_touched(&ctx.repo)? {
        tx.watch_file(&path);
    }
    let files = crate::git_hooks::uninstall(&ctx.repo)?;
    tx.finish()?;
    if args.json {
        return ctx.out.json(&files);
    }
    if files.is_empty() {
        ctx.out.status("no git-session hooks were installed");
        return Ok(());
    }
    let text: String = files
        .iter()
        .map(|f| format!("{}\n", super::file_line(f)))
        .collect();
    ctx.out.answer(&text)
}
