//! `git session open` against a real tmux server of the test's own (`TMUX_TMPDIR` in the
//! test's directory), from outside tmux and from inside it; skipped without tmux.

use std::path::{Path, PathBuf};

use crate::support::{BIN, TestRepo, Tmux};

/// The test's tmux server, and what its windows are.
struct Server(Tmux);

impl Server {
    fn new(repo: &TestRepo) -> Option<Server> {
        Tmux::start(repo).map(Server)
    }

    fn tmux(&self, args: &[&str]) -> String {
        self.0.tmux(args)
    }

    /// `session window path` per window, of every tmux session.
    fn windows(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .tmux(&[
                "list-windows",
                "-a",
                "-F",
                "#{session_name} #{window_name} #{pane_current_path}",
            ])
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }
}

fn wait_for(path: &Path) -> bool {
    for _ in 0..100 {
        if path.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

#[test]
fn open_makes_one_window_per_session_inside_and_outside_tmux() {
    let repo = TestRepo::new();
    let Some(server) = Server::new(&repo) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let a = repo.new_session("a");
    // Outside tmux: the repository's tmux session, made now; no terminal, so no attach.
    let out = repo.session(&["open", "a"]).ok();
    assert!(
        out.stderr.contains("tmux attach -t git-session-repo__"),
        "{}",
        out.stderr
    );
    let session = "git-session-repo__";
    assert_eq!(server.windows(), [format!("{session} a {}", a.display())]);
    // Again: selected, not made twice.
    let out = repo.session(&["open", "a"]).ok();
    assert!(
        out.stderr.contains("selected tmux window"),
        "{}",
        out.stderr
    );
    assert_eq!(server.windows().len(), 1);

    // A command after `--` runs in the new window, in the worktree.
    let b = repo.new_session("b");
    repo.session(&["open", "b", "--", "sh", "-c", "pwd > opened.txt; sleep 60"])
        .ok();
    assert!(wait_for(&b.join("opened.txt")));
    assert_eq!(
        std::fs::read_to_string(b.join("opened.txt"))
            .unwrap()
            .trim(),
        b.to_string_lossy()
    );
    // session.agentCommand, for a window made by `new --open`.
    repo.git(&[
        "config",
        "session.agentCommand",
        "touch agent-ran; sleep 60",
    ]);
    let c = PathBuf::from(repo.session(&["new", "c", "--open"]).ok().line());
    assert!(wait_for(&c.join("agent-ran")));

    // Inside tmux (TMUX names the server): the current tmux session gets the window.
    let socket = server.tmux(&[
        "display-message",
        "-p",
        "-t",
        session,
        "#{socket_path},#{pid},0",
    ]);
    repo.set_env("TMUX", socket.trim());
    let d = repo.new_session("d");
    let out = repo.session(&["open", "d"]).ok();
    assert!(out.stderr.contains("made tmux window"), "{}", out.stderr);
    assert!(!out.stderr.contains("attach"), "{}", out.stderr);
    let windows = server.windows();
    assert_eq!(windows.len(), 4, "{windows:?}");
    assert!(
        windows.contains(&format!("{session} d {}", d.display())),
        "{windows:?}"
    );
    repo.session(&["open", "nobody"]).fails();
    // A window that is there is only selected: a command given is said not to run.
    let out = repo.session(&["open", "d", "--", "echo", "other"]).ok();
    assert!(
        out.stderr.contains("the command was not run"),
        "{}",
        out.stderr
    );
    // A command that ends at once: said so, in one line.
    repo.new_session("e");
    let out = repo
        .session(&["open", "e", "--", "sh", "-c", "exit 3"])
        .fails();
    assert!(out.stderr.contains("ended at once"), "{}", out.stderr);
}

#[test]
fn without_tmux_open_prints_the_path() {
    let repo = TestRepo::new();
    let a = repo.new_session("a");
    // A PATH with git and git-session only.
    let bin = repo.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = crate::support::real_git();
    std::os::unix::fs::symlink(&git, bin.join("git")).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("git-session")).unwrap();
    let out = repo.cmd_in(
        &repo.root,
        "/usr/bin/env",
        &[
            &format!("PATH={}", bin.display()),
            "git-session",
            "open",
            "a",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), a.to_string_lossy());
    assert!(
        out.stderr.contains("tmux is not installed"),
        "{}",
        out.stderr
    );
}
