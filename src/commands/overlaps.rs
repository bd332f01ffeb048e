//! `git session overlaps`: which live sessions are heading for the same files, which of those
//! would conflict, and which stray outside their `owns` or into another's — from branch tips
//! and checkpoints (`--now` scans the worktrees first), never touching a worktree.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::footprint::{self, Scope};
use crate::overlap::Report;

/// Show which live sessions edit the same files, and which would conflict.
///
/// For each pair of live sessions, the files both changed since their merge base (commits
/// plus the uncommitted work in their latest checkpoints) and which of those a merge would
/// leave conflicted; for each session, the files it changed outside its `owns` or inside
/// another session's, and the files that would conflict with its base ref's tip. Riskiest
/// first; pairs that share nothing are left out.
#[derive(Debug, clap::Args)]
pub struct OverlapsArgs {
    /// Only this session's overlaps.
    pub name: Option<String>,
    /// Scan the worktrees here first (their files now, not their latest checkpoints).
    #[arg(long)]
    pub now: bool,
    /// Also compare the sessions fetched from remotes (teammates' pushed sessions).
    #[arg(short, long)]
    pub all: bool,
    /// Print one JSON object: `pairs` and `sessions`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: OverlapsArgs) -> CommandResult {
    let mut sessions = Vec::new();
    for entry in ctx.store().list()? {
        match entry {
            Ok(session) => sessions.push(session),
            Err(e) => ctx.out.warn(&crate::text::one_line(&e)),
        }
    }
    if let Some(name) = &args.name
        && !sessions.iter().any(|s| s.name() == name)
    {
        // A fetched one may be named as <remote>/<name> with --all.
        if !(args.all && name.contains('/')) {
            ctx.session(Some(name))?;
        }
    }
    let scope = Scope {
        remote: args.all,
        now: args.now,
    };
    let (report, skipped) = footprint::overlaps(
        &ctx.repo,
        &ctx.local(),
        &sessions,
        scope,
        args.name.as_deref(),
        crate::overlap::Depth::Conflicts,
    )
    .map_err(|e| CommandError::user(crate::text::one_line(&e)))?;
    for why in &skipped {
        ctx.out.warn(&format!("left out: {why}"));
    }
    if args.json {
        return ctx.out.json(&report);
    }
    let rows = rows(&report);
    if rows.is_empty() {
        ctx.out.status(&format!(
            "no overlaps among {} live session(s)",
            report
                .sessions
                .len()
                .max(if args.name.is_some() { 1 } else { 0 })
        ));
        return Ok(());
    }
    ctx.out.answer(&render(&rows))
}

/// One line of the table.
struct Row {
    /// 0 is the riskiest.
    rank: u8,
    kind: &'static str,
    who: String,
    what: String,
}

fn rows(report: &Report) -> Vec<Row> {
    let mut rows = Vec::new();
    for pair in &report.pairs {
        let who = format!("{} ↔ {}", pair.sessions[0], pair.sessions[1]);
        if pair.conflicts.is_empty() {
            rows.push(Row {
                rank: 2,
                kind: "overlap",
                who,
                what: format!(
                    "{} changed by both: {}",
                    files(pair.files.len()),
                    list(&pair.files)
                ),
            });
        } else {
            rows.push(Row {
                rank: 0,
                kind: "conflict",
                who,
                what: format!(
                    "{} would conflict: {}{}",
                    files(pair.conflicts.len()),
                    list(&pair.conflicts),
                    if pair.files.len() > pair.conflicts.len() {
                        format!(" ({} changed by both)", pair.files.len())
                    } else {
                        String::new()
                    }
                ),
            });
        }
    }
    for s in &report.sessions {
        if !s.conflicts_with_base.is_empty() {
            rows.push(Row {
                rank: 0,
                kind: "conflict",
                who: format!("{} ↔ {}", s.name, s.base_ref),
                what: format!(
                    "{} would conflict with its base's tip: {}",
                    files(s.conflicts_with_base.len()),
                    list(&s.conflicts_with_base)
                ),
            });
        }
        for (owner, owned) in &s.in_owned_by {
            rows.push(Row {
                rank: 1,
                kind: "owned",
                who: s.name.clone(),
                what: format!(
                    "{} that '{owner}' claims: {}",
                    files(owned.len()),
                    list(owned)
                ),
            });
        }
        if !s.outside_owned.is_empty() {
            rows.push(Row {
                rank: 3,
                kind: "outside",
                who: s.name.clone(),
                what: format!(
                    "{} outside its owns: {}",
                    files(s.outside_owned.len()),
                    list(&s.outside_owned)
                ),
            });
        }
    }
    rows.sort_by_key(|r| r.rank);
    rows
}

fn files(n: usize) -> String {
    if n == 1 {
        "1 file".to_owned()
    } else {
        format!("{n} files")
    }
}

/// The first few paths, escaped.
fn list(paths: &[String]) -> String {
    let mut text = paths
        .iter()
        .take(3)
        .map(|p| crate::text::escape(p))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > 3 {
        text.push_str(&format!(", … {} more", paths.len() - 3));
    }
    text
}

fn render(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.who.chars().count())
        .max()
        .unwrap_or(0)
        .max("SESSIONS".len());
    let mut text = format!("{:<9} {:<width$}  FILES\n", "RISK", "SESSIONS");
    for r in rows {
        text.push_str(&format!(
            "{:<9} {:<width$}  {}\n",
            r.kind,
            crate::text::escape(&r.who),
            r.what
        ));
    }
    text
}
