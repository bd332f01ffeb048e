//! The command line: the global options, around the subcommand enum that lives with the
//! subcommands in `commands/` (as jj keeps it). `main` parses this and hands the parts to
//! `commands::run`.

use clap::Parser;

use crate::commands::Command;
use crate::output::ColorChoice;

/// Named, resumable, forkable sessions for parallel work, stored in git itself.
///
/// Each session has a branch, usually a linked worktree of its own, an event log and
/// checkpoints under refs/sessions/<name>, so it can be pushed and resumed elsewhere.
/// With no command: the current session inside a session's worktree (as `status`), else the
/// list of open sessions (as `list`).
#[derive(Debug, Parser)]
#[command(
    name = "git-session",
    bin_name = "git session",
    version,
    max_term_width = 100
)]
#[command(after_help = "Run `git session <command> --help` for details on one command.")]
pub struct Cli {
    /// When to color output: auto (only on a terminal, honoring NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Option<Command>,
}
