//! The live view's screen: the sessions table, the selected session's details, the status
//! line and the key footer. Every text from a session (names, goals, paths) is escaped.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::app::{App, Mode};
use crate::text::escape;

const KEYS: &str = "? help  q quit  / filter  enter open  d diff  c checkpoint  n new  f fork  e end  x remove  u undo  r refresh";

fn style(app: &App, color: Color) -> Style {
    if app.color {
        Style::default().fg(color)
    } else {
        Style::default()
    }
}

/// The detail pane's share of the screen's height (it has at least 8 rows).
fn detail_height(height: u16) -> u16 {
    (height * 2 / 5).max(8)
}

/// The width of the diff stat in the detail pane's right half, for a screen `width` wide.
pub fn detail_width(width: u16) -> u16 {
    (width - width / 2).saturating_sub(2).max(20)
}

/// "12s", "5m", "3h", "2d": how long ago `then` (RFC 3339) was; "-" when unknown.
fn age(now: i64, then: Option<&str>) -> String {
    then.and_then(crate::session::time::parse_rfc3339)
        .map_or_else(
            || "-".into(),
            |then| crate::session::time::age_secs(now, then),
        )
}

pub fn screen(frame: &mut Frame, app: &mut App) {
    app.width = frame.area().width;
    let [table_area, detail_area, status_area, keys_area] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Length(detail_height(frame.area().height)),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    sessions(frame, app, table_area);
    detail(frame, app, detail_area);
    status(frame, app, status_area);
    let keys = match &app.mode {
        Mode::Filter => format!(
            "filter: {}▏ (enter keeps it, esc clears)",
            escape(&app.filter)
        ),
        Mode::Confirm { question, .. } => question.clone(),
        Mode::Name { fork_of, text } => match fork_of {
            Some(source) => format!(
                "fork '{}' as (empty: a generated name): {}▏",
                escape(source),
                escape(text)
            ),
            None => format!("new session (empty: a generated name): {}▏", escape(text)),
        },
        _ => KEYS.to_owned(),
    };
    frame.render_widget(
        Paragraph::new(keys).style(Style::default().add_modifier(Modifier::DIM)),
        keys_area,
    );
    if app.mode == Mode::Help {
        help(frame);
    }
}

/// `text` cut to `width` characters, its end marked with `…` when it was cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The columns besides NAME and OVERLAPS, the gaps between all nine, and the borders.
const FIXED_WIDTH: u16 = 1 + 15 + 7 + 8 + 6 + 5 + 5 + 8 + 2;

fn sessions(frame: &mut Frame, app: &mut App, area: Rect) {
    let now = crate::session::time::now_secs();
    let visible = app.visible();
    // NAME as wide as the longest name, leaving OVERLAPS at least 8 columns.
    let longest = visible
        .iter()
        .map(|v| escape(&v.name).chars().count())
        .max()
        .unwrap_or(0);
    let name_width = (longest as u16)
        .max(10)
        .min(area.width.saturating_sub(FIXED_WIDTH + 8).max(10));
    let overlaps_width = area.width.saturating_sub(FIXED_WIDTH + name_width).max(8);
    let header = Row::new([
        "", "NAME", "AGENT", "CHANGES", "±BASE", "ACTIVE", "CKPT", "PORT", "OVERLAPS",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = visible
        .iter()
        .map(|v| {
            let (state, since) = match &v.agent {
                Some(a) => (
                    a.state.clone().unwrap_or_else(|| "-".into()),
                    a.since.as_deref(),
                ),
                None => ("-".into(), None),
            };
            let state_style = match state.as_str() {
                "needs-input" => style(app, Color::Yellow).add_modifier(Modifier::BOLD),
                "idle" => style(app, Color::Cyan),
                "working" => style(app, Color::Green),
                "stale" => style(app, Color::Red),
                _ => Style::default(),
            };
            let agent = match since {
                Some(_) => format!("{state} {}", age(now, since)),
                None => state,
            };
            // Work nobody has touched for a checkpoint interval.
            let untouched = v.changes.unwrap_or(0) > 0
                && crate::session::time::parse_rfc3339(&v.last_active)
                    .is_some_and(|t| now - t >= app.untouched_after);
            let base = match v.behind {
                Some(behind) => format!("+{} -{behind}", v.ahead),
                None => format!("+{}", v.ahead),
            };
            Row::new([
                Span::raw(if untouched { "!" } else { " " }),
                Span::raw(fit(&escape(&v.name), name_width as usize)),
                Span::styled(agent, state_style),
                Span::raw(v.changes.map_or_else(|| "?".into(), |n| n.to_string())),
                Span::raw(base),
                Span::raw(age(now, Some(&v.last_active))),
                Span::raw(age(now, v.last_checkpoint_at.as_deref())),
                Span::raw(v.port.map_or_else(|| "-".into(), |p| p.to_string())),
                Span::raw(if v.overlaps.is_empty() {
                    "-".to_owned()
                } else {
                    fit(&escape(&v.overlaps.join(",")), overlaps_width as usize)
                }),
            ])
        })
        .collect();
    let title = format!(
        " git session ui — {} session(s){} ",
        visible.len(),
        if app.filter.is_empty() {
            String::new()
        } else {
            format!(", filter '{}'", escape(&app.filter))
        }
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(name_width),
            Constraint::Length(15),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Min(8),
        ],
    )
    .header(header)
    .block(Block::default().borders(Borders::ALL).title(title))
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(app.selected_index());
    *state.offset_mut() = app.offset;
    frame.render_stateful_widget(table, area, &mut state);
    app.offset = state.offset();
}

fn detail(frame: &mut Frame, app: &App, area: Rect) {
    let Some(v) = app.selected_view() else {
        let text = if app.sessions.is_empty() {
            "no sessions yet: n makes one"
        } else {
            "nothing matches the filter"
        };
        frame.render_widget(
            Paragraph::new(text).block(Block::default().borders(Borders::ALL)),
            area,
        );
        return;
    };
    let now = crate::session::time::now_secs();
    let dim = Style::default().add_modifier(Modifier::DIM);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    // Left: the facts, then context.md and the latest handoff.
    let mut lines = Vec::new();
    let mut field = |name: &str, value: String| {
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<11}"), dim),
            Span::raw(escape(&value)),
        ]));
    };
    if let Some(goal) = &v.goal {
        field("goal", goal.clone());
    }
    field(
        "branch",
        format!(
            "{} from {}, {} ahead{}",
            v.branch,
            v.base_ref,
            v.ahead,
            v.behind
                .map_or_else(String::new, |b| format!(", {b} behind"))
        ),
    );
    if let Some(agent) = &v.agent {
        field(
            "agent",
            match (&agent.state, &agent.since) {
                (Some(state), since) => {
                    format!("{} {state} for {}", agent.tool, age(now, since.as_deref()))
                }
                (None, _) => format!("{} (no state reported)", agent.tool),
            },
        );
    }
    field(
        "checkpoint",
        match &v.last_checkpoint {
            Some(id) => format!(
                "{} ({} ago), {} in all",
                &id[..12.min(id.len())],
                age(now, v.last_checkpoint_at.as_deref()),
                v.checkpoints
            ),
            None => "none yet".into(),
        },
    );
    if let Some(port) = v.port {
        field("port", port.to_string());
    }
    if !v.owns.is_empty() {
        field("owns", v.owns.join(" "));
    }
    if let Some(error) = &v.error {
        field("error", error.clone());
    }
    let detail = app.selected_detail();
    if let Some(Ok(d)) = &detail {
        for (title, text) in [("context", &d.context), ("handoff", &d.handoff)] {
            if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                lines.push(Line::styled(title.to_owned(), dim));
                lines.extend(text.lines().map(|l| Line::raw(format!("  {}", escape(l)))));
            }
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:<11}", "worktree"), dim),
        Span::raw(
            v.worktree
                .as_ref()
                .map_or_else(|| "none here".into(), |p| escape(&p.display().to_string())),
        ),
    ]));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} ", escape(&v.name))),
        ),
        left,
    );
    // Right: the uncommitted work as git's diff stat, then the recent events.
    let mut lines: Vec<Line> = Vec::new();
    match &detail {
        None => lines.push(Line::styled("reading…", dim)),
        Some(Err(why)) => lines.push(Line::raw(format!("cannot read it: {}", escape(why)))),
        Some(Ok(d)) => {
            match &d.uncommitted {
                None => lines.push(Line::styled("no worktree here", dim)),
                Some(Err(why)) => lines.push(Line::raw(format!("uncommitted: {}", escape(why)))),
                Some(Ok(stat)) if stat.trim().is_empty() => {
                    lines.push(Line::styled("nothing uncommitted", dim))
                }
                Some(Ok(stat)) => lines.extend(stat.lines().map(|l| Line::raw(escape(l)))),
            }
            if !d.events.is_empty() {
                lines.push(Line::styled("recent events", dim));
            }
            for e in &d.events {
                lines.push(Line::raw(format!(
                    "{:>4} {}: {}",
                    age(now, Some(&e.time)),
                    escape(&e.event),
                    escape(e.message.lines().next().unwrap_or(""))
                )));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" uncommitted · events "),
        ),
        right,
    );
}

fn status(frame: &mut Frame, app: &App, area: Rect) {
    let text = match &app.load_error {
        Some(why) => format!("cannot read the sessions: {}", escape(why)),
        None => escape(&app.status),
    };
    let color = if app.status_ok && app.load_error.is_none() {
        Color::Reset
    } else {
        Color::Red
    };
    frame.render_widget(Paragraph::new(text).style(style(app, color)), area);
}

fn help(frame: &mut Frame) {
    let area = frame.area();
    let text = [
        "j k ↑ ↓ PgUp PgDn g G   move",
        "/                       filter by name, branch or agent state",
        "enter                   open the session's tmux window",
        "d                       its uncommitted work as a diff, in git's pager",
        "c                       checkpoint it",
        "n / f                   a new session / a fork of this one",
        "e / x                   end / remove it (asks first)",
        "u                       undo the last operation",
        "r                       refresh now (it refreshes by itself)",
        "q, ctrl-c               quit",
        "",
        "Sessions whose agent needs input come first. ! marks work",
        "nobody has touched for session.checkpointInterval. ±BASE:",
        "commits ahead of and behind its base; CKPT: the last",
        "checkpoint's age; below: context, handoff, events, diff stat.",
        "",
        "any key closes this",
    ]
    .join("\n");
    // As wide and tall as the text and its border, on a terminal that has the room; a
    // smaller one wraps it.
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as u16;
    let width = area.width.min(widest + 2);
    let height = area.height.min(text.lines().count() as u16 + 2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" keys ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn fit_marks_what_it_cuts() {
        assert_eq!(super::fit("short", 10), "short");
        assert_eq!(super::fit("exactly-10", 10), "exactly-10");
        assert_eq!(super::fit("a-rather-long-name", 10), "a-rather-…");
        assert_eq!(super::fit("ünïcödé-námé", 5), "ünïc…");
    }
}
