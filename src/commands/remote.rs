//! `git session remote setup`: add the refspecs that make a plain `git fetch` bring a
//! remote's sessions and provenance notes too (idempotent).

use crate::command_context::Context;
use crate::config;
use crate::error::CommandResult;
use crate::git::remote;
use crate::session::sync;

/// Configure a remote for sessions.
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    pub command: RemoteCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RemoteCommand {
    /// Add refspecs so `git fetch <remote>` also fetches sessions and notes (idempotent).
    ///
    /// Adds +refs/sessions/*:refs/remote-sessions/<remote>/* and the notes refspec to
    /// remote.<remote>.fetch. The fetched notes are merged by the next `git session fetch`
    /// or `push`.
    Setup {
        /// The remote (default: session.remote, else origin).
        remote: Option<String>,
    },
}

pub fn run(ctx: &Context, args: RemoteArgs) -> CommandResult {
    match args.command {
        RemoteCommand::Setup { remote: name } => {
            let main_root = ctx.main_root()?;
            let name = match name {
                Some(n) => n,
                None => ctx.config()?.string(&config::REMOTE),
            };
            remote::check_name(&ctx.repo, &name)?;
            let key = format!("remote.{name}.fetch");
            let mut existing = ctx.repo.config_strings(&key);
            if existing.is_empty() {
                // A remote without fetch refspecs keeps fetching its branches as before.
                let heads = format!("+refs/heads/*:refs/remotes/{name}/*");
                remote::config_add(&main_root, &key, &heads)?;
                existing.push(heads);
            }
            let mut added = 0;
            for spec in sync::fetch_refspecs(&name) {
                if !existing.contains(&spec) {
                    remote::config_add(&main_root, &key, &spec)?;
                    added += 1;
                }
            }
            ctx.out.status(&if added == 0 {
                format!("{name} already fetches sessions and notes")
            } else {
                format!("`git fetch {name}` now also fetches sessions and provenance notes")
            });
            Ok(())
        }
    }
}
