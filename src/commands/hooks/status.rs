//! `git session hooks status`: where each shim is, whether git will run it, and which hook
//! manager is in charge.

use crate::command_context::Context;
use crate::error::CommandResult;

/// Show where git-session's hooks are and whether git runs them.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print the state as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: StatusArgs) -> CommandResult {
    let reports = crate::git_hooks::status(&ctx.repo)?;
    if args.json {
        return ctx.out.json(&reports);
    }
    if reports.is_empty() {
        return ctx.out.answer(
            "no worktree here for git to run hooks in (a bare repository with no linked worktree)",
        );
    }
    let mut text = String::new();
    for report in &reports {
        let source = match &report.location.hooks_path {
            Some(value) => format!("core.hooksPath = {value}"),
            None => "$GIT_COMMON_DIR/hooks".to_owned(),
        };
        let manager = report
            .location
            .manager
            .map(|m| format!(", managed by {}", m.as_str()))
            .unwrap_or_default();
        text.push_str(&format!(
            "{} ({source}{manager}; worktree {})\n",
            report.location.dir.display(),
            report.worktree.display()
        ));
        for file in &report.files {
            let runs = match (file.action, file.runs) {
                ("not installed", _) => String::new(),
                (_, true) => "  [runs]".to_owned(),
                (_, false) => "  [does not run]".to_owned(),
            };
            text.push_str(&format!("  {}{runs}\n", super::file_line(file)));
        }
    }
    ctx.out.answer(&text)
}
