//! `git session hooks install`: the shims into every hooks directory git uses here.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::git_hooks::{self, InstallOptions};

/// Install git-session's shims into the hook files git runs.
///
/// Into core.hooksPath when it is set (relative: in every worktree), else
/// $GIT_COMMON_DIR/hooks. Existing hook content is kept and still runs; a second install
/// changes nothing. Also adds refs/notes/sessions to notes.rewriteRef and sets
/// notes.sessions.mergeStrategy=cat_sort_uniq, so provenance survives amend, rebase and merges.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Replace a block that differs from this version's.
    #[arg(long)]
    pub force: bool,
    /// Also edit hook files the repository tracks (e.g. husky's .husky/<hook>).
    #[arg(long)]
    pub tracked: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: InstallArgs) -> CommandResult {
    let mut tx = ctx.transaction();
    for path in git_hooks::files_touched(&ctx.repo)? {
        tx.watch_file(&path);
    }
    let reports = git_hooks::install(
        &ctx.repo,
        InstallOptions {
            force: args.force,
            tracked: args.tracked,
        },
    )?;
    tx.finish()?;
    if args.json {
        return ctx.out.json(&reports);
    }
    let mut text = String::new();
    for report in &reports {
        let manager = report
            .location
            .manager
            .map(|m| format!(" (managed by {})", m.as_str()))
            .unwrap_or_default();
        text.push_str(&format!("{}{manager}\n", report.location.dir.display()));
        for file in &report.files {
            text.push_str(&format!("  {}\n", super::file_line(file)));
        }
    }
    ctx.out.answer(&text)?;
    let root = ctx.repo.workdir();
    if args.tracked
        && reports.iter().flat_map(|r| &r.files).any(|f| {
            matches!(f.action, "installed" | "updated" | "created")
                && root.as_ref().is_some_and(|r| f.path.starts_with(r))
                && !f.path.starts_with(ctx.repo.common_dir())
        })
    {
        ctx.out
            .hint("commit the hook files edited above, so every worktree and clone runs them");
    }
    for report in reports.iter().filter(|r| r.location.shared) {
        ctx.out.warn(&format!(
            "{} lies outside this repository (core.hooksPath, set globally?): every repository using it runs these hooks too; `git session hooks uninstall` keeps them while another repository that installed them there still uses it",
            report.location.dir.display()
        ));
    }
    if reports
        .iter()
        .flat_map(|r| &r.files)
        .any(|f| f.action == "skipped")
    {
        ctx.out.hint(
            "skipped files are named above with the reason; `git session hooks status` checks them",
        );
    }
    Ok(())
}
