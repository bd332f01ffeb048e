//! `git session sync`: sessions brought onto their base's new tip (`ops::sync`), one row each.

use crate::command_context::Context;
use crate::config;
use crate::error::{CommandError, CommandResult};
use crate::ops::sync::{self, Outcome, Request, Row};
use crate::worktree::Integration;

/// Bring sessions up to date with their base (rebase by default), uncommitted work carried.
///
/// Each session's branch goes onto its base ref's current tip (fetched first when it is a
/// remote's branch) or --onto, in its own worktree, its uncommitted and staged work carried
/// across. A session whose sync would conflict is not touched; one where git stops part-way
/// is put back exactly as it was. Exit 1 when any session could not be synced. One operation:
/// `git session undo` puts every synced session back.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The sessions (default: the one whose worktree holds the current directory).
    pub names: Vec<String>,
    /// Every live session with a worktree here.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Sync onto this revision instead of each session's base ref.
    #[arg(long, value_name = "REV")]
    pub onto: Option<String>,
    /// Rebase the session's commits (the default; session.syncStrategy).
    #[arg(long, conflicts_with = "merge")]
    pub rebase: bool,
    /// Merge the new base into the session's branch.
    #[arg(long)]
    pub merge: bool,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: SyncArgs) -> CommandResult {
    let config = ctx.config()?;
    let how = match (args.rebase, args.merge) {
        (true, _) => Integration::Rebase,
        (_, true) => Integration::Merge,
        _ => match config
            .one_of(&config::SYNC_STRATEGY, &["rebase", "merge"])?
            .as_str()
        {
            "merge" => Integration::Merge,
            _ => Integration::Rebase,
        },
    };
    let sessions = if args.all {
        ctx.store()
            .list()?
            .into_iter()
            .flatten()
            .filter(|s| s.meta.status.is_open())
            .filter(|s| {
                crate::lifecycle::has_worktree_here(&ctx.repo, &ctx.local(), s).unwrap_or(false)
            })
            .collect()
    } else if args.names.is_empty() {
        vec![ctx.session(None)?]
    } else {
        args.names
            .iter()
            .map(|n| ctx.session(Some(n)))
            .collect::<CommandResult<Vec<_>>>()?
    };
    let req = Request {
        onto: args.onto.clone(),
        how,
        fetch_timeout: std::time::Duration::from_secs(config.number(&config::FETCH_TIMEOUT_SECS)?),
        automatic: false,
    };
    let main_root = ctx.main_root()?;
    let mut tx = ctx.transaction();
    let rows = sync::sync(&mut tx, &ctx.local(), &main_root, &sessions, &req, &ctx.out)?;
    tx.finish()?;
    if args.json {
        ctx.out.json(&rows)?;
    } else if rows.is_empty() {
        ctx.out
            .status("no live session with a worktree here to sync");
    } else {
        ctx.out.answer(&render(&rows))?;
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.ok()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let any = |outcome: Outcome| failed.iter().any(|r| r.outcome == outcome);
    let mut err = CommandError::user(format!("{} session(s) could not be synced", failed.len()));
    if any(Outcome::WouldConflict) {
        err = err.hint("for a conflict: resolve it in the session's worktree with git (`git rebase <base>` or `git merge <base>` stops at each conflict), then sync again; `git session overlaps <name>` shows the files");
    }
    if any(Outcome::Stopped) {
        // git itself stopped: a conflict the trial merge did not foresee, or no identity to
        // commit with, a hook that refused, and so on; the row has git's words.
        err = err.hint("where git stopped, its row says on what; put that right (or sync by hand in the session's worktree with `git rebase <base>` or `git merge <base>`), then sync again");
    }
    if any(Outcome::Skipped) {
        // A git at work there, an operation in progress, an ignored file in the way.
        err =
            err.hint("where a session was skipped, its row says why; sync again once that is over");
    }
    Err(err)
}

fn render(rows: &[Row]) -> String {
    let short = |h: &Option<String>| {
        h.as_deref()
            .map(|h| h.get(..12).unwrap_or(h).to_owned())
            .unwrap_or_default()
    };
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for r in rows {
        let what = match r.outcome {
            Outcome::Synced => format!(
                "synced            {} -> {} (onto {})",
                short(&r.from),
                short(&r.to),
                crate::text::escape(r.onto.as_deref().unwrap_or(""))
            ),
            Outcome::AlreadyCurrent => "already current".to_owned(),
            Outcome::WouldConflict => format!(
                "would conflict    {}",
                r.files
                    .iter()
                    .take(5)
                    .map(|f| crate::text::escape(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Outcome::Skipped => format!(
                "skipped           {}",
                crate::text::escape(r.why.as_deref().unwrap_or(""))
            ),
            Outcome::Stopped => format!(
                "stopped           {}",
                crate::text::escape(r.why.as_deref().unwrap_or(""))
            ),
        };
        text.push_str(&format!(
            "{:<width$}  {}\n",
            crate::text::escape(&r.name),
            what
        ));
    }
    text
}
