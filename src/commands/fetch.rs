//! `git session fetch`: bring a remote's sessions into `refs/remote-sessions/<remote>/*`
//! (never over a local session), its branches, and its provenance notes merged into the
//! local ones; then judge every fetched log, one warning per session that is refused.

use crate::command_context::Context;
use crate::config;
use crate::error::{CommandError, CommandResult};
use crate::ops::share;

/// Fetch a remote's sessions and provenance notes.
///
/// Sessions land in refs/remote-sessions/<remote>/<name> (see them with `list --all`, take
/// one up with `resume <name>`), branches in refs/remotes/<remote>/, and the remote's notes
/// are merged into refs/notes/sessions. Each fetched session is checked; a malformed or
/// hostile one is reported and left unused.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The remote (default: session.remote, else origin).
    pub remote: Option<String>,
    /// Drop fetched sessions the remote no longer has (and, as `git fetch --prune` does,
    /// remote-tracking branches it deleted). Local sessions are never touched.
    #[arg(short, long)]
    pub prune: bool,
    /// Print what was fetched as JSON (on stdout; narration stays on stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: FetchArgs) -> CommandResult {
    let config = ctx.config()?;
    let main_root = ctx.main_root()?;
    let remote_name = args
        .remote
        .clone()
        .unwrap_or_else(|| config.string(&config::REMOTE));
    let local = ctx.local();
    let env = share::Env {
        repo: &ctx.repo,
        local: &local,
        config: &config,
        main_root: &main_root,
        reporter: &ctx.out,
    };
    let mut tx = ctx.transaction();
    let report = share::fetch(&env, &mut tx, &remote_name, args.prune)?;
    tx.finish()?;
    for refused in &report.refused {
        ctx.out.error(refused);
    }
    if args.json {
        ctx.out.json(&report)?;
    }
    if !report.refused.is_empty() {
        return Err(CommandError::user(format!(
            "{} fetched item(s) from {remote_name} were refused (see above); the others are usable",
            report.refused.len()
        )));
    }
    Ok(())
}
