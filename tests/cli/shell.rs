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
    assert!(
        current.stdout.starts_with("name            alpha\n"),
        "{}",
        current.stdout
    );
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
    assert_eq!(
        repo.session(&["switch", "alpha"]).ok().line(),
        path.to_str().unwrap()
    );
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
    // Under `set -u`, `git` with no arguments is still git's usage, not an unbound variable.
    let repo = TestRepo::new();
    let program =
        "set -u; eval \"$(git session shell-init bash)\"; git >/dev/null; echo \"exit $?\"";
    assert_eq!(
        in_shell(&repo, &repo.root, "bash", program).ok().line(),
        "exit 1"
    );
}

#[test]
fn shell_init_zsh() {
    shell_init_changes_directory("zsh", "eval \"$(git session shell-init zsh)\"", "$?");
}

#[test]
fn shell_init_fish() {
    shell_init_changes_directory("fish", "git session shell-init fish | source", "$status");
}

/// Writes `git session completions <shell>` to a file and returns its path.
fn completion_script(repo: &TestRepo, shell: &str) -> String {
    let out = repo.session(&["completions", shell]).ok();
    let path = repo.home.join(format!("completion.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path.display().to_string()
}

#[test]
fn bash_completion_offers_session_names() {
    let repo = TestRepo::new();
    repo.new_session("alpha");
    repo.new_session("beta");
    let script = completion_script(&repo, "bash");
    // As git's bash completion calls it for `git session …`, and as bash does for git-session.
    let through_git = |line: &str| {
        let program = format!(
            "source '{script}'; words=({line} ''); cword=$((${{#words[@]}} - 1)); _git_session; echo \"${{COMPREPLY[*]}}\""
        );
        in_shell(&repo, &repo.root, "bash", &program).ok().stdout
    };
    let direct = |line: &str| {
        let program = format!(
            "source '{script}'; COMP_WORDS=({line} ''); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _git_session_complete git-session '' \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\""
        );
        in_shell(&repo, &repo.root, "bash", &program).ok().stdout
    };
    assert_eq!(through_git("git session show").trim(), "alpha beta");
    assert_eq!(through_git("git session switch").trim(), "alpha beta");
    assert_eq!(through_git("git session log -n 3").trim(), "alpha beta");
    assert_eq!(through_git("git session rewind @").trim(), "alpha beta");
    assert!(!through_git("git session rewind").contains("alpha"));
    assert!(!through_git("git session fork alpha").contains("alpha"));
    assert_eq!(direct("git-session rm").trim(), "alpha beta");
    assert!(!direct("git-session new").contains("alpha"));
    assert!(through_git("git session").contains("status"));
    assert!(!through_git("git session").contains("__complete"));
}

/// A session name is data: completing it never runs it (`compgen -W` would expand
/// `$(touch pwned)`), and names with quotes come out quoted for the command line.
#[test]
fn bash_completion_never_runs_a_session_name() {
    let repo = TestRepo::new();
    repo.new_session("$(touch${IFS}pwned)");
    repo.new_session("it's");
    let script = completion_script(&repo, "bash");
    let program = format!(
        "source '{script}'; words=(git session switch ''); cword=3; _git_session; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = in_shell(&repo, &repo.root, "bash", &program).ok().stdout;
    assert!(!repo.root.join("pwned").exists(), "a session name ran");
    let offered: Vec<&str> = out.lines().collect();
    assert_eq!(
        offered,
        ["\\$\\(touch\\$\\{IFS\\}pwned\\)", "it\\'s"],
        "{out}"
    );
}

#[test]
fn zsh_completion_offers_session_names() {
    if !installed("zsh") {
        eprintln!("zsh is not installed; skipped");
        return;
    }
    let repo = TestRepo::new();
    repo.new_session("alpha");
    let script = completion_script(&repo, "zsh");
    // _arguments calls the action with compadd options first; words start at the subcommand
    // (only the positionals for a `*::` spec such as diff's).
    let names = |words: &str, action: &str| {
        let program = format!(
            "autoload -U compinit && compinit -u -d \"$HOME/.zcompdump\"; source '{script}'
compadd() {{ print -r -- \"$*|${{(j: :)${{(P)${{@[-1]}}}}}}\"; }}
words=({words} ''); CURRENT=${{#words}}; {action}"
        );
        in_shell(&repo, &repo.root, "zsh", &program).ok().stdout
    };
    assert_eq!(
        names("show", "_git_session_names -J x show 2").trim(),
        "-J x -a names|alpha"
    );
    assert_eq!(
        names("rewind", "_git_session_names rewind 2").trim(),
        "-a names|"
    );
    assert_eq!(
        names("", "_git_session_names diff 1").trim(),
        "-a names|alpha"
    );
}

#[test]
fn fish_completion_offers_session_names() {
    if !installed("fish") {
        eprintln!("fish is not installed; skipped");
        return;
    }
    let repo = TestRepo::new();
    repo.new_session("alpha");
    let script = completion_script(&repo, "fish");
    let complete = |line: &str| {
        let program = format!("source '{script}'; complete -C '{line}'");
        in_shell(&repo, &repo.root, "fish", &program).ok().stdout
    };
    assert_eq!(complete("git-session show ").trim(), "alpha");
    assert_eq!(complete("git-session switch --no-include ").trim(), "alpha");
    assert_eq!(complete("git-session rewind ").trim(), "");
    assert!(complete("git-session st").contains("status"));
}
