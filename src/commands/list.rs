//! `git session list`: one row per session — what is running, dirty, ahead, stale.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::session::sync;

use crate::session_view::{self as view, SessionView, ViewInputs};

/// List sessions: status, agent, changes, commits ahead, last activity, overlaps, worktree.
///
/// One row per session: name, status, agent state, branch, changed files, commits ahead of
/// base, last activity, parent, the sessions it overlaps, worktree. Complete and archived
/// sessions are hidden unless --all is given. --all also lists fetched sessions
/// (<remote>/<name>) and how each relates to the local session of that name (in sync, ahead,
/// behind, diverged, unrelated: another id; none: no local session).
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Include complete and archived sessions, and fetched ones.
    #[arg(short, long)]
    pub all: bool,
    /// Print a JSON array of sessions.
    #[arg(long)]
    pub json: bool,
    /// Order: `name` (default), or `attention`: sessions whose agent needs input first, then
    /// those whose agent finished its turn, stale ones, working ones, the rest.
    #[arg(long, value_parser = ["name", "attention"], default_value = "name")]
    pub sort: String,
}

pub fn run(ctx: &Context, args: ListArgs) -> CommandResult {
    let mut sessions = Vec::new();
    let mut unreadable = Vec::new();
    for entry in ctx.store().list()? {
        match entry {
            Ok(session) => sessions.push(session),
            Err(e) => {
                let name = match &e {
                    crate::session::store::StoreError::Malformed { name, .. } => {
                        Some(crate::text::shell_word(name))
                    }
                    _ => None,
                };
                unreadable.push((name, crate::text::one_line(&e)));
            }
        }
    }
    let remote_views = if args.all {
        remote_views(ctx, &sessions)?
    } else {
        Vec::new()
    };
    let local = ctx.local();
    let stale_after = ctx.config()?.agent_stale_after()?;
    let inputs = ViewInputs::read(&ctx.repo, &local, &sessions, stale_after)?;
    let mut views = Vec::new();
    for session in &sessions {
        let view = view::build(&ctx.repo, &local, &inputs, session)?;
        // Ended sessions are hidden, unless `end` kept their worktree because it holds work.
        if args.all || session.meta.status.is_open() || view.worktree.is_some() {
            views.push(view);
        }
    }
    if args.sort == "attention" {
        view::sort_by_attention(&mut views);
    }
    let mut remote_views = remote_views;
    match view::overlap_report(&ctx.repo, &local, &sessions, args.all, None) {
        Ok(report) => {
            for v in &mut views {
                v.overlaps = report.partners(&v.name);
            }
            for v in &mut remote_views {
                v.overlaps = report.partners(&v.name);
            }
        }
        Err(why) => ctx.out.warn(&why),
    }
    if args.json {
        let mut all: Vec<serde_json::Value> = Vec::new();
        for v in &views {
            all.push(serde_json::to_value(v).map_err(|e| CommandError::internal(e.to_string()))?);
        }
        for v in &remote_views {
            all.push(serde_json::to_value(v).map_err(|e| CommandError::internal(e.to_string()))?);
        }
        ctx.out.json(&all)?;
    } else if !views.is_empty() || !remote_views.is_empty() {
        let mut text = String::new();
        if !views.is_empty() {
            text.push_str(&render_table(ctx, &views)?);
        }
        if !remote_views.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&render_remote_table(ctx, &remote_views));
        }
        ctx.out.answer(&text)?;
    } else if unreadable.is_empty() {
        ctx.out.status(if args.all {
            "no sessions"
        } else {
            "no open sessions (--all shows ended and fetched ones)"
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
            for (_, line) in &unreadable[..unreadable.len() - 1] {
                ctx.out.error(line);
            }
            // The name filled in when there is one to name.
            let name = match unreadable.as_slice() {
                [(Some(name), _)] => name.clone(),
                _ => "<name>".to_owned(),
            };
            let last = unreadable.pop().map(|(_, line)| line).unwrap_or_default();
            Err(CommandError::user(last).hint(format!(
                "inspect it with `git show refs/sessions/{name}:session.yaml`; `git session rm {name}` moves it to the trash"
            )))
        }
    }
}

/// A fetched session (`refs/remote-sessions/<remote>/<name>`) as `list --all` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteView {
    /// `<remote>/<name>`.
    pub name: String,
    pub remote: String,
    pub session: String,
    pub id: String,
    pub status: String,
    pub branch: String,
    pub updated: String,
    /// How the local session of the same name relates to this copy: null when there is
    /// none, else "in sync", "ahead", "behind", "diverged" or "unrelated" (another id).
    pub local: Option<String>,
    /// The live sessions that changed some of the same files.
    pub overlaps: Vec<String>,
}

/// Fetched sessions, judged by their newest log commit (a fetched copy that cannot be read is
/// a warning: it is no local work, and the others are listed).
fn remote_views(
    ctx: &Context,
    sessions: &[crate::session::Session],
) -> CommandResult<Vec<RemoteView>> {
    let store = ctx.store();
    let mut out = Vec::new();
    for entry in sync::remote_entries(&ctx.repo, &[])? {
        let copy = match crate::session::name::validate(&entry.name)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                store
                    .read_tip(&entry.name, entry.tip)
                    .map_err(|e| crate::text::one_line(&e))
            })
            .and_then(|s| sync::check_portable(&s.meta).map(|()| s))
        {
            Ok(copy) => copy,
            Err(reason) => {
                ctx.out.warn(&format!(
                    "fetched session '{}' is unreadable: {reason}",
                    crate::text::escape(&entry.display())
                ));
                continue;
            }
        };
        let local = match sessions.iter().find(|s| s.name() == entry.name) {
            None => None,
            Some(local) if local.meta.id != copy.meta.id => Some(sync::Relation::Unrelated),
            Some(local) => Some(sync::relate(&ctx.repo, local.tip, entry.tip)?),
        };
        out.push(RemoteView {
            name: entry.display(),
            remote: entry.remote.clone(),
            session: entry.name.clone(),
            id: copy.meta.id.clone(),
            status: copy.meta.status.as_str().to_owned(),
            branch: copy.meta.branch.clone(),
            updated: copy.meta.updated.clone(),
            local: local.map(|r| r.as_str().to_owned()),
            overlaps: Vec::new(),
        });
    }
    Ok(out)
}

fn render_remote_table(ctx: &Context, views: &[RemoteView]) -> String {
    let headers = [
        "FETCHED",
        "STATUS",
        "BRANCH",
        "UPDATED",
        "LOCAL COPY",
        "OVERLAPS",
    ];
    let rows: Vec<[String; 6]> = views
        .iter()
        .map(|v| {
            [
                v.name.clone(),
                v.status.clone(),
                v.branch.clone(),
                v.updated.clone(),
                v.local.clone().unwrap_or_else(|| "none".into()),
                overlaps_cell(&v.overlaps),
            ]
            .map(|cell| crate::text::escape(&cell))
        })
        .collect();
    table(ctx, &headers, &rows)
}

fn render_table(ctx: &Context, views: &[SessionView]) -> CommandResult<String> {
    let now = ctx.repo.now()?;
    let headers = [
        "NAME", "STATUS", "AGENT", "BRANCH", "CHANGES", "AHEAD", "ACTIVE", "FROM", "OVERLAPS",
        "WORKTREE",
    ];
    let rows: Vec<[String; 10]> = views
        .iter()
        .map(|v| {
            // Names, branches and paths may come from a fetched session.yaml.
            [
                v.name.clone(),
                v.status.clone(),
                v.agent
                    .as_ref()
                    .and_then(|a| a.state.clone())
                    .unwrap_or_else(|| "-".into()),
                v.branch.clone(),
                v.changes.map_or_else(|| "?".into(), |n| n.to_string()),
                v.ahead.to_string(),
                crate::session::time::ago(now, &v.last_active),
                v.parent.clone().unwrap_or_else(|| "-".into()),
                overlaps_cell(&v.overlaps),
                v.worktree
                    .as_ref()
                    .map_or_else(|| "-".into(), |p| p.display().to_string()),
            ]
            .map(|cell| crate::text::escape(&cell))
        })
        .collect();
    Ok(table(ctx, &headers, &rows))
}

fn overlaps_cell(names: &[String]) -> String {
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

/// Left-aligned columns two spaces apart, the header dimmed; cells are already escaped.
fn table<const N: usize>(ctx: &Context, headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out
    };
    let mut text = ctx.out.dim(&line(&headers.map(String::from)));
    text.push('\n');
    for row in rows {
        text.push_str(&line(row));
        text.push('\n');
    }
    text
}
