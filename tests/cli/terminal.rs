//! What git-session draws on a terminal (run under `script`, which gives it a pty): the
//! include copy's progress line, and color as `color.ui` says.

use std::path::Path;

use crate::support::{TestRepo, write_file};

/// Runs `git <args>` on a pty (stdout and stderr both go to it) with `TERM` set and
/// `NO_COLOR` unset; returns what the terminal received. None when `script` is missing.
fn on_terminal(repo: &TestRepo, args: &str) -> Option<String> {
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        eprintln!("skipped: no `script` to run on a pty");
        return None;
    }
    let command = format!("env -u NO_COLOR TERM=xterm git {args}");
    Some(
        repo.cmd_in(&repo.root, "script", &["-qec", &command, "/dev/null"])
            .stdout,
    )
}

#[test]
fn include_copy_shows_progress_on_a_terminal_only() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            (".gitignore", "node_modules/\n"),
            (".worktreeinclude", "node_modules/\n"),
        ],
        "includes",
    );
    for i in 0..20 {
        write_file(
            &repo.root.join(format!("node_modules/p{i}/index.js")),
            "module.exports = 1;\n",
        );
    }
    let piped = repo.session(&["new", "a", "--head"]).ok();
    assert!(!piped.stderr.contains("Copying"), "{}", piped.stderr);
    assert!(
        Path::new(piped.line())
            .join("node_modules/p3/index.js")
            .is_file()
    );
    let Some(shown) = on_terminal(&repo, "session new b --head") else {
        return;
    };
    assert!(shown.contains("Copying included files"), "{shown:?}");
    assert!(shown.contains("/20 files"), "{shown:?}");
}

#[test]
fn color_ui_never_turns_color_off() {
    let repo = TestRepo::new();
    repo.commit_files(&[(".git-session.yaml", "remot: origin\n")], "config");
    let Some(colored) = on_terminal(&repo, "session new a --head") else {
        return;
    };
    assert!(colored.contains("\x1b[33mwarning:"), "{colored:?}");
    let plain = on_terminal(&repo, "-c color.ui=never session new b --head").unwrap();
    assert!(plain.contains("warning: .git-session.yaml"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // The final error line too.
    repo.git(&["config", "color.ui", "false"]);
    let error = on_terminal(&repo, "session new b --head").unwrap();
    assert!(error.contains("error: "), "{error:?}");
    assert!(!error.contains('\x1b'), "{error:?}");
}

/// context.md can come from a fetched session: on a terminal its control sequences are
/// shown escaped (as `show` does); into a pipe it is passed on exactly. And text a fetch
/// would refuse (NUL bytes) is refused when it is set, not after it was pushed.
#[test]
fn context_is_escaped_on_a_terminal_and_nul_bytes_are_refused() {
    let repo = TestRepo::new();
    repo.new_session("c");
    let file = repo.home.join("context.md");
    std::fs::write(&file, "title\x1b]0;pwned\x07\nnext\n").unwrap();
    repo.session(&["context", "c", "--set", file.to_str().unwrap()])
        .ok();
    let piped = repo.session(&["context", "c"]).ok();
    assert_eq!(piped.stdout, "title\x1b]0;pwned\x07\nnext\n");
    if let Some(shown) = on_terminal(&repo, "session context c") {
        assert!(!shown.contains('\x1b'), "{shown:?}");
        assert!(shown.contains("\\x1b]0;pwned"), "{shown:?}");
    }
    std::fs::write(&file, "nul\0byte\n").unwrap();
    let out = repo
        .session(&["context", "c", "--set", file.to_str().unwrap()])
        .fails();
    assert!(out.stderr.contains("NUL"), "{}", out.stderr);
    assert_eq!(
        repo.session(&["context", "c"]).ok().stdout,
        "title\x1b]0;pwned\x07\nnext\n"
    );
}
