//! `git session ui` in a real terminal: tmux (a private server) runs it in a pane, the test
//! sends keys and reads the screen. Skipped without tmux.

use crate::support::{TestRepo, Tmux, write_file};

/// The pane `ui` runs in, on the test's tmux server.
struct Pane(Tmux);

impl Pane {
    fn tmux(&self, args: &[&str]) -> String {
        self.0.tmux(args)
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "ui"])
    }

    /// Waits (up to 10 s) until the screen shows `text`.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        for _ in 0..200 {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the screen never showed {text:?}:\n{}", self.screen());
    }

    /// Runs `ui` for `repo` in a new tmux session `name`, `width`×`height`.
    fn start_ui(&self, repo: &TestRepo, name: &str, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        self.tmux(&[
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            &height,
            "-s",
            name,
            &ui_script(repo),
        ]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ui"];
        args.extend(keys);
        self.tmux(&args);
    }
}

/// The shell line that runs `ui` in the pane, then says how it exited and whether the
/// terminal is back in its usual (cooked) mode.
fn ui_script(repo: &TestRepo) -> String {
    format!(
        "cd '{}' && env -i PATH='{}' HOME='{}' GIT_CONFIG_GLOBAL='{}/.gitconfig' GIT_CONFIG_NOSYSTEM=1 WATCHMAN_SOCK=/nonexistent TERM=xterm git session ui; echo \"ui exited $?\"; stty -a | grep -q -- -icanon && echo 'terminal: raw' || echo 'terminal: cooked'; sleep 60",
        repo.root.display(),
        crate::support::path_with_bin(),
        repo.home.display(),
        repo.home.display(),
    )
}

#[test]
fn the_live_view_in_a_terminal() {
    let repo = TestRepo::new();
    let Some(tmux) = Tmux::start(&repo) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let pane = Pane(tmux);
    let alpha = repo.new_session("alpha");
    repo.new_session("beta");
    repo.session_in(&alpha, &["agent-state", "needs-input", "--tool", "codex"])
        .ok();
    repo.session(&[
        "context",
        "alpha",
        "--append",
        "Next: the parser's error messages.",
    ])
    .ok();
    pane.start_ui(&repo, "ui", 100, 30);
    // First paint: both sessions, the one that needs input first.
    let screen = pane.wait_for("beta");
    let alpha_at = screen.find("alpha").unwrap();
    assert!(alpha_at < screen.find("beta").unwrap(), "{screen}");
    assert!(screen.contains("needs-input"), "{screen}");
    // The detail pane: the selected session's context and its (empty) uncommitted work.
    pane.wait_for("nothing uncommitted");
    let screen = pane.wait_for("the parser's error messages");
    assert!(screen.contains("created"), "its recent events: {screen}");
    // An edit in a worktree shows by itself (here without a monitor: within 5 s).
    write_file(&alpha.join("new.txt"), "work\n");
    let screen = pane.wait_for("1 file changed");
    assert!(screen.contains("new.txt"), "the diff stat: {screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("alpha") && l.contains(" 1 ")),
        "{screen}"
    );
    // Filter, then checkpoint the one left.
    pane.keys(&["/", "bet", "Enter"]);
    let screen = pane.wait_for("1 session(s), filter 'bet'");
    assert!(!screen.contains("alpha"), "{screen}");
    pane.keys(&["/", "Escape"]);
    pane.wait_for("2 session(s)");
    // The help, whole (its longest line and its border) at this width.
    pane.keys(&["?"]);
    pane.wait_for("its uncommitted work as a diff, in git's pager│");
    pane.keys(&["Escape"]);
    pane.keys(&["g", "c"]);
    pane.wait_for("git session checkpoint alpha:");
    assert_eq!(repo.events("alpha").len(), 3, "{:?}", repo.events("alpha"));
    // End asks first, says what it keeps, and runs on y; undo brings the session back.
    pane.keys(&["j", "e"]);
    pane.wait_for("end 'beta'? a clean worktree and its branch go");
    pane.keys(&["y"]);
    pane.wait_for("git session end beta:");
    let status = repo.session(&["show", "beta", "--json"]).ok().json();
    assert_eq!(status["status"], "complete");
    pane.keys(&["u"]);
    pane.wait_for("git session undo:");
    let status = repo.session(&["show", "beta", "--json"]).ok().json();
    assert_eq!(status["status"], "active");
    // A smaller terminal still draws; q quits and gives the terminal back.
    pane.tmux(&["resize-window", "-t", "ui", "-x", "80", "-y", "24"]);
    pane.wait_for("alpha");
    pane.keys(&["q"]);
    let screen = pane.wait_for("terminal: ");
    assert!(screen.contains("ui exited 0"), "{screen}");
    assert!(screen.contains("terminal: cooked"), "{screen}");
    assert!(!screen.contains("git session ui —"), "{screen}");

    // Not on a terminal: one line, pointing at list.
    let out = repo.session(&["ui"]).fails();
    assert!(out.stderr.contains("git session list"), "{}", out.stderr);
}

/// 200 sessions at 80×24: the list scrolls to its end and back; SIGTERM ends the screen with
/// the terminal given back.
#[test]
fn two_hundred_sessions_scroll_and_sigterm_restores_the_terminal() {
    let repo = TestRepo::new();
    let Some(tmux) = Tmux::start(&repo) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let pane = Pane(tmux);
    std::thread::scope(|s| {
        for half in 0..2 {
            let repo = &repo;
            s.spawn(move || {
                for i in (half * 100)..(half * 100 + 100) {
                    let name = format!("s{i:03}");
                    repo.session(&["new", "--no-worktree", "--head", &name])
                        .ok();
                }
            });
        }
    });
    pane.start_ui(&repo, "ui", 80, 24);
    let screen = pane.wait_for("200 session(s)");
    assert!(screen.contains("s000"), "{screen}");
    assert!(!screen.contains("s199"), "{screen}");
    pane.keys(&["G"]);
    let screen = pane.wait_for("s199");
    assert!(!screen.contains("s000"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("s199") && l.contains("s199 ─")),
        "the last one is selected (its detail shows): {screen}"
    );
    pane.keys(&["PageUp", "PageUp"]);
    pane.wait_for("s179");
    pane.keys(&["g"]);
    pane.wait_for("s000");
    // SIGTERM: the ui process is the pane shell's child.
    let shell = pane.tmux(&["display-message", "-p", "-t", "ui", "#{pane_pid}"]);
    let shell = shell.trim();
    let children =
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
    let ui = children
        .split_whitespace()
        .next()
        .expect("ui runs in the pane");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", ui])
        .status()
        .unwrap();
    assert!(killed.success());
    let screen = pane.wait_for("terminal: ");
    assert!(screen.contains("stopped by SIGTERM"), "{screen}");
    assert!(screen.contains("ui exited 1"), "{screen}");
    assert!(screen.contains("terminal: cooked"), "{screen}");
    // Its window closed: it ends too (it does not spin on a terminal that is gone).
    pane.start_ui(&repo, "gone", 80, 24);
    for _ in 0..200 {
        let screen = pane.tmux(&["capture-pane", "-p", "-t", "gone"]);
        if screen.contains("200 session(s)") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ui = ui_pid(&pane, "gone");
    pane.tmux(&["kill-session", "-t", "gone"]);
    let proc_dir = std::path::PathBuf::from(format!("/proc/{ui}"));
    for _ in 0..100 {
        if !proc_dir.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("ui (pid {ui}) still runs after its terminal closed");
}

/// The pid of what the shell in tmux session `session`'s pane runs (`git session ui`).
fn ui_pid(pane: &Pane, session: &str) -> String {
    let shell = pane.tmux(&["display-message", "-p", "-t", session, "#{pane_pid}"]);
    let shell = shell.trim();
    let children =
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .next()
        .expect("ui runs in the pane")
        .to_owned()
}
