//! Regression tests for the "never lose work" hardening: each one failed before its fix.

use crate::support::{TestRepo, write_file};

/// Runs `script` with bash in `dir` under the test environment; `$GS` is the binary.
fn bash(repo: &TestRepo, dir: &std::path::Path, script: &str) -> crate::support::Out {
    let script = format!("GS='{}'; {script}", crate::support::BIN);
    repo.cmd_in(dir, "bash", &["-c", &script])
}

#[test]
fn a_closed_stderr_never_aborts_an_operation() {
    let repo = TestRepo::new();
    let path = repo.new_session("s");
    std::fs::write(path.join("a.txt"), "one\n").unwrap();
    let ckpt = repo
        .session_in(&path, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
    std::fs::write(path.join("a.txt"), "two\n").unwrap();
    // stderr and stdout both go into a pipe nobody reads.
    let out = bash(
        &repo,
        &path,
        &format!("exec 3>&1; \"$GS\" rewind {ckpt} 2>&1 | true; echo \"${{PIPESTATUS[0]}}\""),
    );
    assert_eq!(out.stdout.trim(), "0", "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(path.join("a.txt")).unwrap(),
        "one\n"
    );
    // A closed stdout alone is success too, and the table reader got what it wanted.
    let out = bash(
        &repo,
        &repo.root,
        "\"$GS\" list | head -c0; echo \"${PIPESTATUS[0]}\"",
    );
    assert_eq!(out.stdout.trim(), "0", "{}", out.stderr);
}

#[test]
fn control_sequences_in_session_data_are_escaped() {
    let repo = TestRepo::new();
    repo.new_session("evil");
    let goal = "\u{1b}]0;pwned\u{7}\u{1b}[2Jgoal";
    let yaml = repo.git(&["show", "refs/sessions/evil:session.yaml"]);
    let yaml = format!("{yaml}\ngoal: \"\\e]0;pwned\\a\\e[2Jgoal\"\n");
    repo.forge_log("evil", &yaml, true);
    for args in [&["show", "evil"][..], &["list"], &["log", "evil"]] {
        let out = repo.session(args).ok();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains('\u{1b}'),
            "{args:?} printed an escape: {all:?}"
        );
        assert!(!all.contains('\u{7}'), "{args:?} printed a bell: {all:?}");
    }
    let out = repo.session(&["show", "evil"]).ok();
    assert!(out.stdout.contains("\\x1b]0;pwned"), "{}", out.stdout);
    // JSON stays exact.
    let json = repo.session(&["show", "evil", "--json"]).ok().json();
    assert_eq!(json["goal"], goal);
    // Errors naming session data are escaped too.
    let out = repo.session(&["rewind", "\u{1b}[2J", "evil"]).fails();
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}

#[test]
fn oversized_session_yaml_is_refused_with_its_size() {
    let repo = TestRepo::new();
    repo.new_session("big");
    repo.new_session("fine");
    let yaml = repo.git(&["show", "refs/sessions/big:session.yaml"]);
    let padding = "x".repeat(2 * 1024 * 1024);
    repo.forge_log("big", &format!("{yaml}\npadding: {padding}\n"), true);
    let out = repo.session(&["show", "big"]).fails();
    assert!(
        out.stderr.contains("MiB") || out.stderr.contains("bytes"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("error"))
            .count(),
        1
    );
    // The other session is still listed.
    let out = repo.session(&["list"]);
    assert!(out.stdout.contains("fine"), "{}", out.stdout);
    assert!(out.stderr.contains("big"), "{}", out.stderr);
    let _ = write_file;
}

#[test]
fn staged_content_that_differs_from_the_file_survives_rewind() {
    let repo = TestRepo::new();
    let path = repo.new_session("s");
    std::fs::write(path.join("README.md"), "staged\n").unwrap();
    repo.git_in(&path, &["add", "README.md"]);
    std::fs::write(path.join("README.md"), "on disk\n").unwrap();
    let ckpt = repo
        .session_in(&path, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
    // `git diff <ckpt>^ <ckpt>` is still exactly the uncommitted work.
    let diff = repo.git_in(&path, &["diff", &format!("{ckpt}^"), &ckpt]);
    assert!(diff.contains("+on disk"), "{diff}");
    std::fs::write(path.join("README.md"), "lost?\n").unwrap();
    repo.git_in(&path, &["add", "README.md"]);
    repo.session_in(&path, &["rewind", &ckpt]).ok();
    assert_eq!(
        std::fs::read_to_string(path.join("README.md")).unwrap(),
        "on disk\n"
    );
    assert_eq!(repo.git_in(&path, &["show", ":README.md"]), "staged");
    // Staging alone (same files on disk) is a change worth a new checkpoint.
    repo.git_in(&path, &["reset", "-q"]);
    let again = repo
        .session_in(&path, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
    assert_ne!(
        again, ckpt,
        "unstaging changed what a restore would bring back"
    );
}
