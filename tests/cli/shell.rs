//! What a git user expects from the command line: `git session` alone, `status` and the
//! aliases, `shell-init` changing directory, and completions offering session names.

use std::path::Path;

use crate::support::{Out, TestRepo};

fn installed(shell: &str) -> bool {
    std::process::Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `program` in `shell` (as `shell -c`) in `dir`.
fn in_shell(repo: &TestRepo, dir: &Path, shell: &str, program: &str) -> Out {
    repo.cmd_in(dir, shell, &["-c", program])
}

#[test]
fn git_session_alone_shows_the_current_session_or_the_list() {
    let repo = TestRepo::new();
    let path = repo.new_session("alpha");
    repo.new_session("beta");
    let listed = repo.cmd_in(&repo.root, "git", &["session"]).ok();
    assert!(listed.stdout.starts_with("NAME"), "{}", listed.stdout);
    assert!(listed.stdout.contains("alpha") && listed.stdout.contains("beta"));
    let current = repo.cmd_in(&path.join("."), "git", &["session"]).ok();
    assert!(current.stdout.starts_with("name            alpha\n"), "{}", current.stdout);
    assert!(!current.stdout.contains("beta"));
}

#[test]
fn status_and_the_aliases_people_type() {
    let repo = TestRepo::new();
    let path = repo.new_session("alpha");
    let st = repo.session_in(&path, &["st", "--json"]).ok().json();
    assert_eq!(st["name"], "alpha");
    let outside = repo.session(&["status"]).fails();
    assert!(outside.stderr.contains("not inside a session's worktree"));
    assert!(outside.stderr.contains("git session list"));
    assert!(repo.session(&["ls"]).ok().stdout.contains("alpha"));
    assert_eq!(repo.session(&["switch", "alpha"]).ok().line(), path.to_str().unwrap());
    repo.session(&["delete", "alpha"]).ok();
    assert!(repo.session(&["ls", "--all"]).ok().stdout.is_empty());
}

/// `eval "$(git session shell-init <shell>)"`, then switch, new and fork change directory,
/// and everything else reaches git unchanged, exit status included.
fn shell_init_changes_directory(shell: &str, eval: &str, status: &str) {
    if !installed(shell) {
        eprintln!("{shell} is not installed; skipped");
        return;
    }
    let repo = TestRepo::new();
    let alpha = repo.new_session("alpha");
    let program = format!(
        "{eval}
git session switch alpha >/dev/null; pwd
cd ..; git session new beta >/dev/null; pwd
git session fork beta gamma >/dev/null; pwd
git session path gamma >/dev/null; pwd
git session new delta --no-worktree; pwd
git session switch nosuch; echo \"exit {status}\"; pwd
git rev-parse --verify -q nosuch; echo \"exit {status}\"
git -c core.abbrev=7 log -1 --format='%s' 'HEAD'
"
    );
    let out = in_shell(&repo, &repo.root, shell, &program).ok();
    let worktrees = alpha.parent().unwrap();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let beta = worktrees.join("beta").display().to_string();
    let gamma = worktrees.join("gamma").display().to_string();
    assert_eq!(
        lines,
        [
            alpha.to_str().unwrap(),
            &beta,
            &gamma,
            &gamma,
            "delta",
            &gamma,
            "exit 1",
            &gamma,
            "exit 1",
            "initial",
        ],
        "stderr: {}",
        out.stderr
    );
}

#[test]
fn shell_init_bash() {
    shell_init_changes_directory("bash", "eval \"$(git session shell-init bash)\"", "$?");
}

#[test]
fn shell_init_zsh() {
    shell_init_changes_directory("zsh", "eval \"$(git session shell-init zsh)\"", "$?");
}

#[test]
fn shell_init_fish() {
    shell_init_changes_directory("fish", "git session shell-init fish | source", "$status");
}
