//! `git session hooks install|uninstall|status`: put git-session's shims into the hook files
//! git runs (warnings about forgotten work, automatic checkpoints, commit provenance), take
//! them out again, and say where they are. The work is in the domain module `crate::git_hooks`;
//! these files narrate it.

pub mod install;
pub mod status;
pub mod uninstall;

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::git_hooks::FileReport;

/// Manage git-session's git hooks.
///
/// post-commit: provenance notes in refs/notes/sessions, automatic checkpoints, warnings about
/// forgotten work in other sessions; post-checkout: the same warnings; pre-push: a warning
/// when a pushed session branch leaves uncommitted work behind; post-rewrite: the notes an
/// amend or rebase copies tidied; post-merge: provenance notes on a merge commit.
#[derive(Debug, clap::Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub command: HooksCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum HooksCommand {
    Install(install::InstallArgs),
    Uninstall(uninstall::UninstallArgs),
    Status(status::StatusArgs),
}

pub fn run(ctx: &Context, args: HooksArgs) -> CommandResult {
    match args.command {
        HooksCommand::Install(args) => install::run(ctx, args),
        HooksCommand::Uninstall(args) => uninstall::run(ctx, args),
        HooksCommand::Status(args) => status::run(ctx, args),
    }
}

/// One line for a hook file: `<action> <event> <path> (note)`.
fn file_line(file: &FileReport) -> String {
    let mut line = format!(
        "{:<13} {:<14} {}",
        file.action,
        file.event,
        file.path.display()
    );
    if let Some(note) = &file.note {
        line.push_str(&format!("  ({note})"));
    }
    line
}
