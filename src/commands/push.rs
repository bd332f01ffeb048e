//! `git session push`: share sessions like branches. A dirty session is checkpointed first so
//! its uncommitted work travels; the files a push would publish for the first time are
//! checked for secrets; then one atomic push sends the logs, their branches and the merged
//! provenance notes (`session::sync::push`).

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::ops::share;

/// Push sessions (log, branch, checkpoints, provenance notes) to a remote.
///
/// Checkpoints a dirty session first (unless --no-checkpoint), refuses files that look like
/// secrets, then runs one atomic `git push` of refs/sessions/<name>, the session's branch and
/// refs/notes/sessions (the remote's notes fetched and merged first). The remote is the one
/// given, else session.remote, else the branch's upstream remote, else origin.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The remote, then the sessions (default: the current session). A lone argument that is
    /// not a remote is a session name.
    #[arg(value_name = "REMOTE|NAME")]
    pub args: Vec<String>,
    /// Push every session.
    #[arg(long)]
    pub all: bool,
    /// Do not checkpoint dirty sessions first (their uncommitted work stays here).
    #[arg(long)]
    pub no_checkpoint: bool,
    /// Show what would be pushed; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Push files that look like secrets (.env*, *.pem, private keys, tokens) anyway.
    #[arg(long)]
    pub allow_secrets: bool,
    /// Print what was pushed as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: PushArgs) -> CommandResult {
    let config = ctx.config()?;
    let main_root = ctx.main_root()?;
    let local = ctx.local();
    let env = share::Env {
        repo: &ctx.repo,
        local: &local,
        config: &config,
        main_root: &main_root,
        reporter: &ctx.out,
    };
    // Asked only when no session may be named (a lone argument can be a remote).
    let current = if args.all || args.args.len() > 1 {
        None
    } else {
        ctx.current_session()?
    };
    let spec = share::PushSpec {
        args: args.args,
        all: args.all,
        no_checkpoint: args.no_checkpoint,
        dry_run: args.dry_run,
        allow_secrets: args.allow_secrets,
        current,
    };
    let mut tx = ctx.transaction();
    let report = share::push(&env, &mut tx, spec)?;
    tx.finish()?;
    for failed in &report.not_pushed {
        ctx.out.error(&failed.reason);
        for hint in &failed.hints {
            ctx.out.hint(hint);
        }
    }
    if args.json {
        ctx.out.json(&report)?;
    } else {
        for session in &report.sessions {
            ctx.out.answer(&crate::text::escape(&session.remote_name))?;
        }
    }
    if report.not_pushed.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = report
        .not_pushed
        .iter()
        .map(|n| format!("'{}'", crate::text::escape(&n.name)))
        .collect();
    Err(CommandError::user(format!(
        "{} session(s) were not pushed: {} (see above); the others were",
        names.len(),
        names.join(", ")
    )))
}
