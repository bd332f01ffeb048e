//! One module per subcommand, each with its clap `Args` and a `run`; this file is the flat
//! dispatcher. Commands get the repository through [`Context`], opened once.

pub mod agent_state;
pub mod approve;
pub mod checkpoint;
pub mod claude;
pub mod complete;
pub mod completions;
pub mod context;
pub mod diff;
pub mod doctor;
pub mod end;
pub mod env;
pub mod fetch;
pub mod fork;
pub mod fsmonitor;
pub mod gc;
pub mod handoff;
pub mod hook_event;
pub mod hooks;
pub mod land;
pub mod list;
pub mod log;
pub mod man;
pub mod new;
pub mod op;
pub mod open;
pub mod overlaps;
pub mod own;
pub mod path;
pub mod push;
pub mod remote;
pub mod rename;
pub mod restore;
pub mod resume;
pub mod rewind;
pub mod rm;
pub mod setup;
pub mod shell_init;
pub mod show;
pub mod status;
pub mod sync;
pub mod trash;
pub mod ui;
pub mod undo;

use clap::Subcommand;

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::output::{ColorChoice, Output};

#[derive(Debug, Subcommand)]
pub enum Command {
    New(new::NewArgs),
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    #[command(visible_alias = "st")]
    Status(status::StatusArgs),
    Show(show::ShowArgs),
    Path(path::PathArgs),
    Open(open::OpenArgs),
    #[command(visible_alias = "switch")]
    Resume(resume::ResumeArgs),
    Rename(rename::RenameArgs),
    End(end::EndArgs),
    #[command(visible_alias = "delete")]
    Rm(rm::RmArgs),
    Gc(gc::GcArgs),
    Checkpoint(checkpoint::CheckpointArgs),
    Log(log::LogArgs),
    Diff(diff::DiffArgs),
    Rewind(rewind::RewindArgs),
    Fork(fork::ForkArgs),
    Own(own::OwnArgs),
    Overlaps(overlaps::OverlapsArgs),
    Ui(ui::UiArgs),
    Land(land::LandArgs),
    Sync(sync::SyncArgs),
    Hooks(hooks::HooksArgs),
    #[command(hide = true)]
    Hook(hook_event::HookArgs),
    Push(push::PushArgs),
    Fetch(fetch::FetchArgs),
    Remote(remote::RemoteArgs),
    Context(context::ContextArgs),
    /// The operation log (`op log`, `op show`).
    Op(op::OpArgs),
    Undo(undo::UndoArgs),
    /// List deleted sessions.
    Trash(trash::TrashArgs),
    Doctor(doctor::DoctorArgs),
    Fsmonitor(fsmonitor::FsmonitorArgs),
    Restore(restore::RestoreArgs),
    Redo(undo::RedoArgs),
    Handoff(handoff::HandoffArgs),
    Man(man::ManArgs),
    Completions(completions::CompletionsArgs),
    ShellInit(shell_init::ShellInitArgs),
    Env(env::EnvArgs),
    Setup(setup::SetupArgs),
    Approve(approve::ApproveArgs),
    AgentState(agent_state::AgentStateArgs),
    Claude(claude::ClaudeArgs),
    #[command(name = "__complete", hide = true)]
    Complete(complete::CompleteArgs),
}

/// The whole command line's definition, for the commands that describe it (`man`,
/// `completions`, the completer): `main` passes it in, so nothing here depends on `cli`.
pub type CliDefinition = fn() -> clap::Command;

pub fn run(command: Option<Command>, color: ColorChoice, cli: CliDefinition) -> CommandResult {
    let result = run_command(command, color, cli);
    // Git's maintenance, when a capture's pack asked for it, once the command's refs point
    // at what it wrote.
    crate::git::batch::start_wanted_maintenance();
    result
}

fn run_command(command: Option<Command>, color: ColorChoice, cli: CliDefinition) -> CommandResult {
    let out = Output::new(color);
    // Commands that need no repository.
    let command = match command {
        Some(Command::Man(args)) => return man::run(&out, &args, cli),
        Some(Command::Completions(args)) => return completions::run(&out, &args, cli),
        Some(Command::ShellInit(args)) => return shell_init::run(&out, &args),
        Some(Command::Complete(args)) => return complete::run(out, &args, cli),
        // Never fails a git operation: opens the repository itself and reports quietly.
        Some(Command::Hook(args)) => return hook_event::run(out, args),
        // Claude Code's hooks find the repository from the directory Claude names.
        Some(Command::Claude(args)) => return claude::run(out, args),
        command => command,
    };
    let ctx = Context::open(out)?;
    // What a command killed part-way left for the next one (a landing's target moved, or its
    // files), first: read-only commands then show the state as it is meant to be, and `undo`
    // picks the killed operation.
    for record in crate::transaction::adopt_killed(&ctx.repo).unwrap_or_default() {
        ctx.out.status(&format!(
            "Recorded `{}`: it was killed after changing refs (`git session undo` takes it back)",
            crate::text::escape(&record.command)
        ));
    }
    let Some(command) = command else {
        return current_or_list(&ctx);
    };
    let result = match command {
        Command::New(args) => new::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Path(args) => path::run(&ctx, args),
        Command::Open(args) => open::run(&ctx, args),
        Command::Resume(args) => resume::run(&ctx, args),
        Command::Rename(args) => rename::run(&ctx, args),
        Command::End(args) => end::run(&ctx, args),
        Command::Rm(args) => rm::run(&ctx, args),
        Command::Gc(args) => gc::run(&ctx, args),
        Command::Checkpoint(args) => checkpoint::run(&ctx, args),
        Command::Log(args) => log::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::Rewind(args) => rewind::run(&ctx, args),
        Command::Fork(args) => fork::run(&ctx, args),
        Command::Own(args) => own::run(&ctx, args),
        Command::Overlaps(args) => overlaps::run(&ctx, args),
        Command::Ui(args) => ui::run(&ctx, args),
        Command::Land(args) => land::run(&ctx, args),
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Hooks(args) => hooks::run(&ctx, args),
        Command::Env(args) => env::run(&ctx, args),
        Command::Setup(args) => setup::run(&ctx, args),
        Command::Approve(args) => approve::run(&ctx, args),
        Command::AgentState(args) => agent_state::run(&ctx, args),
        Command::Push(args) => push::run(&ctx, args),
        Command::Fetch(args) => fetch::run(&ctx, args),
        Command::Remote(args) => remote::run(&ctx, args),
        Command::Context(args) => context::run(&ctx, args),
        Command::Op(args) => op::run(&ctx, args),
        Command::Undo(args) => undo::run(&ctx, args),
        Command::Trash(args) => trash::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Fsmonitor(args) => fsmonitor::run(&ctx, args),
        Command::Restore(args) => restore::run(&ctx, args),
        Command::Redo(args) => undo::run_redo(&ctx, args),
        Command::Handoff(args) => handoff::run(&ctx, args),
        Command::Man(_)
        | Command::Completions(_)
        | Command::ShellInit(_)
        | Command::Complete(_)
        | Command::Hook(_)
        | Command::Claude(_) => {
            unreachable!("handled above")
        }
    };
    // The repository handles are left to the process's exit, which unmaps their pack indexes
    // and frees their caches at once (dropping them one by one took a millisecond after every
    // command). Nothing in them writes when dropped.
    std::mem::forget(ctx);
    result
}

/// `git session` alone: the current session inside one's worktree, else the open sessions
/// (as jj shows its log).
fn current_or_list(ctx: &Context) -> CommandResult {
    match ctx.current_session()? {
        Some(session) => crate::render::session_detail(ctx, &session, false),
        None => list::run(
            ctx,
            list::ListArgs {
                all: false,
                json: false,
                sort: "name".into(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        crate::cli::Cli::command().debug_assert();
    }
}
