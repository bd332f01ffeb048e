//! The live view's state and what each key does: pure, so it is tested without a terminal.

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::session_view::{SessionDetail, SessionView};

/// What the loop does after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Redraw,
    Quit,
    /// Rebuild the snapshot now.
    Refresh,
    /// Run `git-session <args>`, its outcome in the status line.
    Run(Vec<String>),
    /// Run `git-session <args>` with the terminal handed over (a pager, tmux).
    Hand(Vec<String>),
}

/// Waiting for an answer or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    /// A yes/no question before running `args`.
    Confirm {
        question: String,
        args: Vec<String>,
    },
    /// A name for `new` (None) or for a fork of the given session.
    Name {
        fork_of: Option<String>,
        text: String,
    },
    Help,
}

pub struct App {
    pub color: bool,
    /// Seconds after which work nobody touched is marked (`session.checkpointInterval`).
    pub untouched_after: i64,
    pub sessions: Vec<SessionView>,
    pub filter: String,
    pub mode: Mode,
    /// The selected session's name (kept across refreshes).
    pub selected: Option<String>,
    /// The first visible row.
    pub offset: usize,
    pub status: String,
    pub status_ok: bool,
    pub loaded_at: Option<Instant>,
    pub load_error: Option<String>,
    /// The detail pane's extra facts, for the session it names, or why they could not be
    /// read.
    pub detail: Option<Result<SessionDetail, (String, String)>>,
    /// The screen's width when it was last drawn.
    pub width: u16,
}

impl App {
    pub fn new(color: bool) -> App {
        App {
            color,
            untouched_after: 30 * 60,
            sessions: Vec::new(),
            filter: String::new(),
            mode: Mode::Normal,
            selected: None,
            offset: 0,
            status: "loading…".into(),
            status_ok: true,
            loaded_at: None,
            load_error: None,
            detail: None,
            width: 80,
        }
    }

    pub fn loaded(&mut self, loaded: Result<Vec<SessionView>, String>, at: Instant) {
        match loaded {
            Ok(mut sessions) => {
                crate::session_view::sort_by_attention(&mut sessions);
                self.sessions = sessions;
                self.load_error = None;
                if self.status == "loading…" {
                    self.status.clear();
                }
            }
            Err(why) => self.load_error = Some(why),
        }
        self.loaded_at = Some(at);
        if self.selected_index().is_none() {
            self.selected = self.visible().first().map(|v| v.name.clone());
        }
    }

    /// The selected session's detail, when it has been read (it follows the selection).
    pub fn selected_detail(&self) -> Option<Result<&SessionDetail, &str>> {
        let name = self.selected.as_deref()?;
        match self.detail.as_ref()? {
            Ok(d) if d.name == name => Some(Ok(d)),
            Err((n, why)) if n == name => Some(Err(why.as_str())),
            _ => None,
        }
    }

    /// The session (and its worktree) whose detail the pane needs now.
    pub fn wanted_detail(&self) -> Option<(String, Option<std::path::PathBuf>)> {
        self.selected_view()
            .map(|v| (v.name.clone(), v.worktree.clone()))
    }

    pub fn status(&mut self, text: String) {
        self.status = text;
        self.status_ok = true;
    }

    pub fn finished(&mut self, ok: bool, said: String) {
        self.status = said;
        self.status_ok = ok;
    }

    /// The sessions the filter lets through, in order.
    pub fn visible(&self) -> Vec<&SessionView> {
        let needle = self.filter.to_lowercase();
        self.sessions
            .iter()
            .filter(|v| {
                needle.is_empty()
                    || v.name.to_lowercase().contains(&needle)
                    || v.branch.to_lowercase().contains(&needle)
                    || v.agent
                        .as_ref()
                        .and_then(|a| a.state.as_deref())
                        .is_some_and(|s| s.contains(&needle))
            })
            .collect()
    }

    pub fn selected_index(&self) -> Option<usize> {
        let name = self.selected.as_deref()?;
        self.visible().iter().position(|v| v.name == name)
    }

    pub fn selected_view(&self) -> Option<&SessionView> {
        let i = self.selected_index()?;
        self.visible().get(i).copied()
    }

    fn step(&mut self, by: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            self.selected = None;
            return;
        }
        let at = self.selected_index().unwrap_or(0) as isize;
        let to = (at + by).clamp(0, visible.len() as isize - 1) as usize;
        self.selected = Some(visible[to].name.clone());
    }

    pub fn key(&mut self, key: KeyEvent) -> Action {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c {
            return Action::Quit;
        }
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                Action::Redraw
            }
            Mode::Filter => {
                match key.code {
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Enter => self.mode = Mode::Normal,
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    KeyCode::Char(c) if !c.is_control() => self.filter.push(c),
                    _ => {}
                }
                if self.selected_index().is_none() {
                    self.selected = self.visible().first().map(|v| v.name.clone());
                }
                Action::Redraw
            }
            Mode::Confirm { args, .. } => {
                self.mode = Mode::Normal;
                match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => Action::Run(args),
                    _ => {
                        self.status("cancelled".into());
                        Action::Redraw
                    }
                }
            }
            Mode::Name { fork_of, mut text } => match key.code {
                KeyCode::Esc => {
                    self.mode = Mode::Normal;
                    self.status("cancelled".into());
                    Action::Redraw
                }
                KeyCode::Enter => {
                    self.mode = Mode::Normal;
                    let name = text.trim().to_owned();
                    let mut args = match fork_of {
                        Some(source) => vec!["fork".to_owned(), source],
                        None => vec!["new".to_owned()],
                    };
                    if !name.is_empty() {
                        args.push(name.clone());
                        self.selected = Some(name);
                    }
                    Action::Run(args)
                }
                KeyCode::Backspace => {
                    text.pop();
                    self.mode = Mode::Name { fork_of, text };
                    Action::Redraw
                }
                KeyCode::Char(c) if !c.is_control() => {
                    text.push(c);
                    self.mode = Mode::Name { fork_of, text };
                    Action::Redraw
                }
                _ => Action::None,
            },
            Mode::Normal => self.normal_key(key),
        }
    }

    fn normal_key(&mut self, key: KeyEvent) -> Action {
        let name = self.selected_view().map(|v| v.name.clone());
        let on = |args: &[&str]| -> Vec<String> {
            let mut out: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            if let Some(name) = &name {
                out.push(name.clone());
            }
            out
        };
        match key.code {
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Char('j') | KeyCode::Down => {
                self.step(1);
                Action::Redraw
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.step(-1);
                Action::Redraw
            }
            KeyCode::PageDown => {
                self.step(10);
                Action::Redraw
            }
            KeyCode::PageUp => {
                self.step(-10);
                Action::Redraw
            }
            KeyCode::Home | KeyCode::Char('g') => {
                self.step(isize::MIN / 2);
                Action::Redraw
            }
            KeyCode::End | KeyCode::Char('G') => {
                self.step(isize::MAX / 2);
                Action::Redraw
            }
            KeyCode::Char('/') => {
                self.mode = Mode::Filter;
                Action::Redraw
            }
            KeyCode::Char('?') => {
                self.mode = Mode::Help;
                Action::Redraw
            }
            KeyCode::Char('r') => {
                self.status("refreshing…".into());
                Action::Refresh
            }
            KeyCode::Char('u') => Action::Run(vec!["undo".into()]),
            KeyCode::Char('n') => {
                self.mode = Mode::Name {
                    fork_of: None,
                    text: String::new(),
                };
                Action::Redraw
            }
            _ if name.is_none() => Action::None,
            KeyCode::Char('c') => Action::Run(on(&["checkpoint"])),
            KeyCode::Char('f') => {
                self.mode = Mode::Name {
                    fork_of: name.clone(),
                    text: String::new(),
                };
                Action::Redraw
            }
            KeyCode::Char('e') => {
                let n = crate::text::escape(name.as_deref().unwrap_or(""));
                self.mode = Mode::Confirm {
                    question: format!(
                        "end '{n}'? a clean worktree and its branch go; one with work is kept (y/n)"
                    ),
                    args: on(&["end"]),
                };
                Action::Redraw
            }
            KeyCode::Char('x') => {
                let n = crate::text::escape(name.as_deref().unwrap_or(""));
                self.mode = Mode::Confirm {
                    question: format!(
                        "remove '{n}'? its log goes to the trash (restore brings it back); a worktree with work is kept (y/n)"
                    ),
                    args: on(&["rm"]),
                };
                Action::Redraw
            }
            KeyCode::Char('d') => Action::Hand(on(&["diff"])),
            KeyCode::Enter => Action::Hand(on(&["open"])),
            _ => Action::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn view(name: &str, state: Option<&str>) -> SessionView {
        SessionView {
            name: name.into(),
            id: name.into(),
            status: "active".into(),
            branch: format!("session/{name}"),
            base: String::new(),
            base_ref: "main".into(),
            worktree: None,
            dirty: Some(false),
            changes: Some(0),
            error: None,
            ahead: 0,
            behind: Some(0),
            created: String::new(),
            updated: String::new(),
            last_active: String::new(),
            parent: None,
            parent_id: None,
            checkpoints: 0,
            last_checkpoint: None,
            last_checkpoint_at: None,
            port: None,
            goal: None,
            agent: state.map(|s| crate::session_view::AgentView {
                tool: "claude".into(),
                session_id: None,
                state: Some(s.into()),
                since: None,
            }),
            owns: Vec::new(),
            overlaps: Vec::new(),
            events: None,
        }
    }

    #[test]
    fn keys_move_filter_ask_and_run() {
        let mut app = App::new(false);
        app.loaded(
            Ok(vec![
                view("alpha", None),
                view("beta", Some("needs-input")),
                view("gamma", Some("working")),
            ]),
            Instant::now(),
        );
        // Needs input first.
        assert_eq!(app.selected.as_deref(), Some("beta"));
        assert_eq!(app.key(key('j')), Action::Redraw);
        assert_eq!(app.selected.as_deref(), Some("gamma"));
        assert_eq!(
            app.key(key('c')),
            Action::Run(vec!["checkpoint".into(), "gamma".into()])
        );
        assert_eq!(app.key(key('x')), Action::Redraw);
        assert!(matches!(app.mode, Mode::Confirm { .. }));
        assert_eq!(app.key(key('n')), Action::Redraw, "anything but y cancels");
        assert_eq!(app.key(key('e')), Action::Redraw);
        assert_eq!(
            app.key(key('y')),
            Action::Run(vec!["end".into(), "gamma".into()])
        );
        app.key(key('/'));
        for c in "alp".chars() {
            app.key(key(c));
        }
        app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(app.visible().len(), 1);
        assert_eq!(app.selected.as_deref(), Some("alpha"));
        app.key(key('f'));
        for c in "copy".chars() {
            app.key(key(c));
        }
        assert_eq!(
            app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Action::Run(vec!["fork".into(), "alpha".into(), "copy".into()])
        );
        assert_eq!(app.key(key('q')), Action::Quit);
    }
}
