//! `git session ui`: one live screen of every session and its agent. It reads the same
//! snapshot `list` prints (`session_view::snapshot`), rebuilt on a background thread so a
//! keypress never waits for a scan, and takes actions by running git-session's own commands
//! (the same operations, each recorded and undoable), reporting their outcome in a status
//! line. No git or file-system logic of its own: [`app`] is the state and its keys, [`draw`]
//! the screen, this file the terminal and the loop.

mod app;
mod draw;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::{execute, terminal};

use crate::session_view::{SessionDetail, SessionView};
pub use app::{Action, App};

/// How often the loader asks whether anything changed.
const REFRESH: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("`git session ui` needs a terminal (use `git session list` elsewhere)")]
    NotATerminal,
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error("stopped by {0}; the terminal is restored")]
    Stopped(&'static str),
}

/// Puts the terminal back however the screen ends (return, error, panic).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

fn enter_terminal() -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)
}

/// What the loader thread sends: a new snapshot, or why it could not be built.
type Loaded = Result<Vec<SessionView>, String>;

/// The session (and its worktree) whose detail the pane shows, and the width of its diff
/// stat.
type DetailOf = (String, Option<PathBuf>, u16);

/// What the screen asks the loader for.
enum Want {
    /// A snapshot now.
    Refresh,
    /// The detail of another session (or at another width), now and after every snapshot.
    Detail(DetailOf),
}

/// What the loader sends back.
enum Got {
    Snapshot(Loaded),
    Detail(Result<SessionDetail, (String, String)>),
}

/// Runs the screen until the user quits. `load` builds a snapshot (on another thread;
/// `false`: from what is cached, for the first paint),
/// again whenever `changed` (asked every REFRESH) says something it depends on changed;
/// `detail` reads the selected session's detail (on that thread too, after each snapshot);
/// `run` runs one git-session command line and returns its outcome for the status line;
/// `interactive` runs one with the terminal handed over (a pager, tmux).
pub fn run_screen(
    color: bool,
    untouched_after: i64,
    load: impl Fn(bool) -> Loaded + Send + 'static,
    detail: impl Fn(&DetailOf) -> Result<SessionDetail, String> + Send + 'static,
    changed: impl FnMut() -> bool + Send + 'static,
    run: impl Fn(&[String]) -> (bool, String),
    interactive: impl Fn(&[String]) -> (bool, String),
) -> Result<(), UiError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(UiError::NotATerminal);
    }
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous_hook(info);
    }));
    // Told to stop: the loop ends and the terminal is restored on the way out.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        let _ = signal_hook::flag::register_usize(
            signal,
            std::sync::Arc::clone(&stop),
            signal as usize,
        );
    }
    enter_terminal()?;
    let _restore = Restore;
    // A terminal that hung up (its window closed) only ever reads as end-of-file, and
    // crossterm's reader then spins inside `event::read` for good, where the loop below
    // cannot see it: a watchdog ends the process instead.
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            if terminal_gone() {
                restore_terminal();
                std::process::exit(1);
            }
        }
    });
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;

    // The loader: a snapshot now, then on request, or when `changed` says something did
    // (looked at every REFRESH); the selected session's detail when asked and after each
    // snapshot.
    let (want_tx, want_rx) = mpsc::channel::<Want>();
    let (got_tx, got_rx) = mpsc::channel::<Got>();
    std::thread::spawn(move || {
        let mut changed = changed;
        let mut detail_of: Option<DetailOf> = None;
        let read_detail =
            |of: &DetailOf| Got::Detail(detail(of).map_err(|why| (of.0.clone(), why)));
        // What is cached first, then everything as it is now.
        if got_tx.send(Got::Snapshot(load(false))).is_err() {
            return;
        }
        let _ = changed(); // the state the first full snapshot is of
        loop {
            if got_tx.send(Got::Snapshot(load(true))).is_err() {
                return;
            }
            if let Some(of) = &detail_of
                && got_tx.send(read_detail(of)).is_err()
            {
                return;
            }
            loop {
                match want_rx.recv_timeout(REFRESH) {
                    Ok(first) => {
                        // Only the newest of what queued up counts (moving down many rows
                        // asks for each row's detail on the way).
                        let (mut refresh, mut new_detail) = (false, false);
                        for want in std::iter::once(first).chain(want_rx.try_iter()) {
                            match want {
                                Want::Refresh => refresh = true,
                                Want::Detail(of) => {
                                    detail_of = Some(of);
                                    new_detail = true;
                                }
                            }
                        }
                        if refresh {
                            let _ = changed();
                            break; // the snapshot, then the detail
                        }
                        if new_detail
                            && let Some(of) = &detail_of
                            && got_tx.send(read_detail(of)).is_err()
                        {
                            return;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) if changed() => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    });

    let mut app = App::new(color);
    app.untouched_after = untouched_after;
    let mut dirty = true;
    let mut asked: Option<DetailOf> = None;
    loop {
        while let Ok(got) = got_rx.try_recv() {
            match got {
                Got::Snapshot(loaded) => app.loaded(loaded, Instant::now()),
                Got::Detail(detail) => app.detail = Some(detail),
            }
            dirty = true;
        }
        // The detail follows the selection (and the width its diff stat has).
        let width = draw::detail_width(app.width);
        let wanted = app
            .wanted_detail()
            .map(|(name, worktree)| (name, worktree, width));
        if let Some(of) = &wanted
            && wanted != asked
        {
            let _ = want_tx.send(Want::Detail(of.clone()));
            asked = wanted;
        }
        if dirty {
            terminal.draw(|frame| draw::screen(frame, &mut app))?;
            dirty = false;
        }
        match stop.load(std::sync::atomic::Ordering::SeqCst) {
            0 => {}
            n if n == signal_hook::consts::SIGTERM as usize => {
                return Err(UiError::Stopped("SIGTERM"));
            }
            n if n == signal_hook::consts::SIGHUP as usize => {
                return Err(UiError::Stopped("SIGHUP"));
            }
            _ => return Err(UiError::Stopped("SIGINT")),
        }
        if !event::poll(Duration::from_millis(100))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => app.key(key),
            Event::Resize(..) => Action::Redraw,
            _ => Action::None,
        };
        dirty = true;
        match action {
            Action::None | Action::Redraw => {}
            Action::Quit => break,
            Action::Refresh => {
                let _ = want_tx.send(Want::Refresh);
            }
            Action::Run(args) => {
                app.status(format!("running git session {} …", args.join(" ")));
                terminal.draw(|frame| draw::screen(frame, &mut app))?;
                let (ok, said) = run(&args);
                app.finished(ok, said);
                let _ = want_tx.send(Want::Refresh);
            }
            Action::Hand(args) => {
                restore_terminal();
                let (ok, said) = interactive(&args);
                // Ctrl-C in the pager was the pager's, not a request to end this screen.
                let _ = stop.compare_exchange(
                    signal_hook::consts::SIGINT as usize,
                    0,
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                );
                enter_terminal()?;
                terminal.clear()?;
                app.finished(ok, said);
                let _ = want_tx.send(Want::Refresh);
            }
        }
    }
    Ok(())
}

/// Whether the terminal hung up (its window closed without a signal reaching us): it then
/// answers a size query with an error, while its reads only return end-of-file.
fn terminal_gone() -> bool {
    rustix::termios::tcgetwinsize(std::io::stdout()).is_err()
}

/// The git-session binary running this screen (actions run it).
pub fn own_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("git-session"))
}
