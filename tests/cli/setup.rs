//! Setup commands (`session.postCreate`), their approval, and the per-session environment
//! (`git session env`, ports).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::support::TestRepo;

const RECORD_ENV: &str = "printf '%s %s %s %s' \"$GIT_SESSION_NAME\" \"$GIT_SESSION_ID\" \"$GIT_SESSION_PORT\" \"$GIT_SESSION_MAIN\" > setup.out; echo ran setup";

fn env_json(repo: &TestRepo, name: &str) -> serde_json::Value {
    repo.session(&["env", "--json", name]).ok().json()
}

#[test]
fn post_create_runs_in_new_worktrees_with_the_session_env() {
    let repo = TestRepo::new();
    repo.git(&["config", "--add", "session.postCreate", RECORD_ENV]);
    repo.git(&["config", "--add", "session.postCreate", "touch second"]);
    let out = repo.session(&["new", "--head", "one"]).ok();
    let path = PathBuf::from(out.line());
    assert_eq!(out.stdout.lines().count(), 1, "output goes to stderr");
    assert!(out.stderr.contains("ran setup"), "{}", out.stderr);
    let env = env_json(&repo, "one");
    let expected = format!(
        "one {} {} {}",
        env["GIT_SESSION_ID"].as_str().unwrap(),
        env["GIT_SESSION_PORT"],
        repo.root.display()
    );
    assert_eq!(
        std::fs::read_to_string(path.join("setup.out")).unwrap(),
        expected
    );
    assert!(path.join("second").is_file());

    // fork, and resume when it makes the worktree again, run them too; the port stays.
    let fork = PathBuf::from(repo.session(&["fork", "one", "two"]).ok().line());
    assert!(
        std::fs::read_to_string(fork.join("setup.out"))
            .unwrap()
            .starts_with("two ")
    );
    let port = env["GIT_SESSION_PORT"].clone();
    repo.session(&["end", "--remove", "one"]).ok();
    assert!(!path.exists());
    repo.session(&["resume", "one"]).ok();
    assert_eq!(
        std::fs::read_to_string(path.join("setup.out")).unwrap(),
        expected
    );
    assert_eq!(env_json(&repo, "one")["GIT_SESSION_PORT"], port);

    // A failing command is a warning: the session exists, and `setup` runs them again.
    repo.git(&[
        "config",
        "--add",
        "session.postCreate",
        "echo broken >&2; exit 7",
    ]);
    let out = repo.session(&["new", "--head", "three"]).ok();
    assert!(out.stderr.contains("(exit 7)"), "{}", out.stderr);
    assert!(
        out.stderr.contains("git session setup three"),
        "{}",
        out.stderr
    );
    let three = PathBuf::from(out.line());
    std::fs::remove_file(three.join("second")).unwrap();
    repo.session_in(&three, &["setup"]).fails();
    assert!(three.join("second").is_file());
    repo.git(&["config", "--unset-all", "session.postCreate", "exit 7"]);
    repo.session(&["setup", "three"]).ok();
}

#[test]
fn tracked_commands_never_run_unapproved() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".git-session.yaml", "postCreate:\n  - touch pwned\n")],
        "team setup",
    );
    let out = repo.session(&["new", "--head", "a"]).ok();
    let a = PathBuf::from(out.line());
    assert!(!a.join("pwned").exists(), "ran before approval");
    assert!(out.stderr.contains("git session approve"), "{}", out.stderr);
    let listed = repo.session(&["approve", "--list"]).ok();
    assert_eq!(listed.line(), "pending   touch pwned");
    repo.session(&["setup", "a"]).ok();
    assert!(!a.join("pwned").exists(), "setup ran it before approval");

    // Nothing is approved unseen: without a terminal, only the exact text approves.
    let out = repo.session(&["approve"]).fails();
    assert!(out.stderr.contains("exact text"), "{}", out.stderr);
    repo.session(&["approve", "--", "touch  pwned"]).fails();
    repo.session(&["approve", "--", "touch pwned"]).ok();
    assert!(
        repo.root
            .join(".git/session/approved-commands.json")
            .is_file()
    );
    repo.session(&["setup", "a"]).ok();
    assert!(a.join("pwned").exists());
    let b = repo.new_session("b");
    assert!(b.join("pwned").exists());

    // A changed command needs a new approval.
    repo.commit_files(
        &[(".git-session.yaml", "postCreate: touch pwned2\n")],
        "changed",
    );
    let c = repo.new_session("c");
    assert!(!c.join("pwned2").exists());
    // The user's own git config replaces the file's list and needs no approval.
    repo.git(&["config", "session.postCreate", "touch mine"]);
    let d = repo.new_session("d");
    assert!(d.join("mine").exists() && !d.join("pwned2").exists());
}

#[test]
fn env_prints_exports_and_ports_are_stable_and_unique() {
    let repo = TestRepo::new();
    // As many ports as sessions: every collision has to move to the next free one.
    repo.git(&["config", "session.portRange", "20000-20019"]);
    let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    for name in &names {
        repo.session(&["new", "--head", "--no-worktree", name]).ok();
    }
    let ports = |repo: &TestRepo| -> Vec<u64> {
        names
            .iter()
            .map(|n| env_json(repo, n)["GIT_SESSION_PORT"].as_u64().unwrap())
            .collect()
    };
    let first = ports(&repo);
    let unique: BTreeSet<u64> = first.iter().copied().collect();
    assert_eq!(unique.len(), 20, "{first:?}");
    assert!(first.iter().all(|p| (20000..=20019).contains(p)));
    assert_eq!(ports(&repo), first, "stable");
    repo.session(&["new", "--head", "--no-worktree", "extra"])
        .ok();
    repo.session(&["env", "extra"]).fails();
    // An ended session's port is free again.
    repo.session(&["end", "s3"]).ok();
    assert_eq!(env_json(&repo, "extra")["GIT_SESSION_PORT"], first[3]);

    // export lines a shell can eval.
    let out = repo.session(&["env", "s0"]).ok();
    assert!(
        out.stdout.contains("export GIT_SESSION_NAME='s0'\n"),
        "{}",
        out.stdout
    );
    let shell = format!(
        "{}\nprintf '%s:%s' \"$GIT_SESSION_PORT\" \"$GIT_SESSION_MAIN\"",
        out.stdout
    );
    let evaluated = repo.cmd_in(&repo.root, "sh", &["-c", &shell]).ok();
    assert_eq!(
        evaluated.stdout,
        format!("{}:{}", first[0], repo.root.display())
    );
    repo.git(&["config", "session.portRange", "90-80"]);
    repo.session(&["env", "s0"]).fails();
}
