//! The command line: global options and the subcommand enum. Each subcommand's arguments
//! live next to its implementation in `commands/`.

use clap::{Parser, Subcommand};

use crate::commands;
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

#[derive(Debug, Subcommand)]
pub enum Command {
    New(commands::new::NewArgs),
    #[command(visible_alias = "ls")]
    List(commands::list::ListArgs),
    #[command(visible_alias = "st")]
    Status(commands::status::StatusArgs),
    Show(commands::show::ShowArgs),
    Path(commands::path::PathArgs),
    #[command(visible_alias = "switch")]
    Resume(commands::resume::ResumeArgs),
    Rename(commands::rename::RenameArgs),
    End(commands::end::EndArgs),
    #[command(visible_alias = "delete")]
    Rm(commands::rm::RmArgs),
    Gc(commands::gc::GcArgs),
    Checkpoint(commands::checkpoint::CheckpointArgs),
    Log(commands::log::LogArgs),
    Diff(commands::diff::DiffArgs),
    Rewind(commands::rewind::RewindArgs),
    Fork(commands::fork::ForkArgs),
    Hooks(commands::hooks::HooksArgs),
    #[command(hide = true)]
    Hook(commands::hook::HookArgs),
    Push(commands::push::PushArgs),
    Fetch(commands::fetch::FetchArgs),
    Remote(commands::remote::RemoteArgs),
    Context(commands::context::ContextArgs),
    Handoff(commands::handoff::HandoffArgs),
    Man(commands::man::ManArgs),
    Completions(commands::completions::CompletionsArgs),
    ShellInit(commands::shell_init::ShellInitArgs),
    Env(commands::env::EnvArgs),
    Setup(commands::setup::SetupArgs),
    Approve(commands::approve::ApproveArgs),
    Claude(commands::claude::ClaudeArgs),
    #[command(name = "__complete", hide = true)]
    Complete(commands::complete::CompleteArgs),
}
