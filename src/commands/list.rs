//! `git session list`: one row per session — what is running, dirty, ahead, stale.

use crate::context::Context;
use crate::error::{CommandError, CommandResult};

use super::view::{self, SessionView, ViewInputs};

/// List sessions: status, changes, commits ahead, last activity, worktree.
///
/// One row per session: name, status, branch, changed files, commits ahead of base, last
/// activity, parent, worktree. Complete and archived sessions are hidden unless --all is given.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Include complete and archived sessions.
    #[arg(short, long)]
    pub all: bool,
    /// Print a JSON array of sessions.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: ListArgs) -> CommandResult {
    let mut sessions = Vec::new();
    let mut unreadable = Vec::new();
    for entry in ctx.store().list()? {
        match entry {
            Ok(session) => sessions.push(session),
            Err(e) => unreadable.push(crate::text::one_line(&e)),
        }
    }
    let inputs = ViewInputs::read(ctx, &sessions)?;
    let mut views = Vec::new();
    for session in &sessions {
        let view = view::build(ctx, &inputs, session)?;
        // Ended sessions are hidden, unless `end` kept their worktree because it holds work.
        if args.all || session.meta.status.is_open() || view.worktree.is_some() {
            views.push(view);
        }
    }
    if args.json {
        ctx.out.json(&views)?;
    } else if !views.is_empty() {
        ctx.out.answer(&render_table(ctx, &views)?)?;
    } else if unreadable.is_empty() {
        ctx.out.status(if args.all {
            "no sessions"
        } else {
            "no open sessions (--all shows ended ones)"
        });
    }
    for v in &views {
        if let Some(why) = &v.error {
            ctx.out.warn(&view::cannot_judge(v, why));
        }
    }
    match unreadable.len() {
        0 => Ok(()),
        _ => {
            for line in &unreadable[..unreadable.len() - 1] {
                ctx.out.error(line);
            }
            Err(CommandError::user(unreadable.last().cloned().unwrap_or_default())
                .hint("inspect it with `git show refs/sessions/<name>:session.yaml`; `git session rm <name>` moves it to the trash"))
        }
    }
}

fn render_table(ctx: &Context, views: &[SessionView]) -> CommandResult<String> {
    let now = ctx.repo.now()?;
    let headers = [
        "NAME", "STATUS", "BRANCH", "CHANGES", "AHEAD", "ACTIVE", "FROM", "WORKTREE",
    ];
    let rows: Vec<[String; 8]> = views
        .iter()
        .map(|v| {
            // Names, branches and paths may come from a fetched session.yaml.
            [
                v.name.clone(),
                v.status.clone(),
                v.branch.clone(),
                v.changes.map_or_else(|| "?".into(), |n| n.to_string()),
                v.ahead.to_string(),
                view::ago(now, &v.last_active),
                v.parent.clone().unwrap_or_else(|| "-".into()),
                v.worktree
                    .as_ref()
                    .map_or_else(|| "-".into(), |p| p.display().to_string()),
            ]
            .map(|cell| crate::text::escape(&cell))
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out
    };
    let mut text = ctx.out.dim(&line(&headers.map(String::from)));
    text.push('\n');
    for row in &rows {
        text.push_str(&line(row));
        text.push('\n');
    }
    Ok(text)
}
