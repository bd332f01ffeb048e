//! Sessions that know about each other (issue 17): owned paths, files two live sessions both
//! changed (committed, uncommitted, only in a checkpoint; a teammate's fetched over `git
//! daemon`), which of them would conflict (checked against `git merge-tree` by hand), the
//! base ref's newer tip, renames, hostile fetched `owns`, the hooks' warnings and Claude
//! Code's `PreToolUse` answers under each policy.

use std::path::Path;

use crate::support::{BIN, TestRepo, write_file};

fn repo_with_files() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            ("shared.txt", "one\ntwo\nthree\nfour\nfive\n"),
            ("src/a/x.rs", "a\n"),
            ("src/b/y.rs", "b\n"),
            ("src/b/gen/types.rs", "generated\n"),
            ("docs/guide.md", "guide\n"),
            (
                "old-name.txt",
                "a file that will be renamed\nwith enough lines\nto be found\n",
            ),
        ],
        "files",
    );
    repo
}

fn commit_all(repo: &TestRepo, wt: &Path, message: &str) {
    repo.git_in(wt, &["add", "-A"]);
    repo.git_in(wt, &["commit", "-q", "-m", message]);
}

fn overlaps(repo: &TestRepo, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["overlaps", "--json"];
    all.extend(args);
    repo.session(&all).ok().json()
}

fn pairs(report: &serde_json::Value) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let names = strings(&p["sessions"]);
            (
                names[0].clone(),
                names[1].clone(),
                strings(&p["files"]),
                strings(&p["conflicts"]),
            )
        })
        .collect()
}

fn entry<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no entry for {name}: {report}"))
}

/// What git's own merge says conflicts, for two commits.
fn merge_tree_conflicts(repo: &TestRepo, ours: &str, theirs: &str) -> Vec<String> {
    let out = repo.cmd_in(
        &repo.root,
        "git",
        &[
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            ours,
            theirs,
        ],
    );
    let mut files: Vec<String> = out.stdout.lines().skip(1).map(str::to_owned).collect();
    files.retain(|l| !l.is_empty());
    files.dedup();
    files
}

/// The same file changed committed in one session and uncommitted in another; a file
/// changed only in a checkpoint (the worktree moved on since); disjoint edits; a conflict
/// and a clean merge, both checked against `git merge-tree`; a rename; list's column.
#[test]
fn sessions_that_change_the_same_files() {
    let repo = repo_with_files();
    let a = repo.new_session("a");
    let b = repo.new_session("b");
    let c = repo.new_session("c");
    let d = repo.new_session("d");
    // a commits a change to line 2; b leaves a change to line 2 uncommitted: a conflict.
    write_file(&a.join("shared.txt"), "one\nTWO (a)\nthree\nfour\nfive\n");
    commit_all(&repo, &a, "a: line two");
    write_file(&b.join("shared.txt"), "one\nTWO (b)\nthree\nfour\nfive\n");
    // c changes line 5 only in a checkpoint, then puts the file back: a clean merge with a.
    write_file(&c.join("shared.txt"), "one\ntwo\nthree\nfour\nFIVE (c)\n");
    repo.session(&["checkpoint", "c"]).ok();
    write_file(&c.join("shared.txt"), "one\ntwo\nthree\nfour\nfive\n");
    // d renames a file b edits, and edits elsewhere: disjoint but for the rename.
    repo.git_in(&d, &["mv", "old-name.txt", "new-name.txt"]);
    write_file(&d.join("docs/guide.md"), "guide, by d\n");
    commit_all(&repo, &d, "d: rename");
    write_file(
        &b.join("old-name.txt"),
        "a file that will be renamed\nwith enough lines\nedited by b\n",
    );
    // Without a checkpoint b's uncommitted work is not seen; --now scans it.
    let before = overlaps(&repo, &[]);
    assert!(
        pairs(&before).iter().all(|p| p.0 != "b" && p.1 != "b"),
        "{before}"
    );
    repo.session(&["checkpoint", "b"]).ok();
    let report = overlaps(&repo, &[]);
    let found = pairs(&report);
    assert_eq!(
        found,
        [
            (
                "a".into(),
                "b".into(),
                vec!["shared.txt".into()],
                vec!["shared.txt".into()]
            ),
            ("a".into(), "c".into(), vec!["shared.txt".into()], vec![]),
            ("b".into(), "c".into(), vec!["shared.txt".into()], vec![]),
            // The rename follows b's edit into the new name: no conflict, as in git.
            ("b".into(), "d".into(), vec!["old-name.txt".into()], vec![]),
        ],
        "{report}"
    );
    // git's own merge agrees, on the same commits (b's and c's checkpoints).
    let ckpt = |name: &str| {
        repo.meta(name)["last_checkpoint"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let head_a = repo.git(&["rev-parse", "session/a"]);
    assert_eq!(
        merge_tree_conflicts(&repo, &head_a, &ckpt("b")),
        ["shared.txt"]
    );
    assert!(merge_tree_conflicts(&repo, &head_a, &ckpt("c")).is_empty());
    let head_d = repo.git(&["rev-parse", "session/d"]);
    assert!(merge_tree_conflicts(&repo, &head_d, &ckpt("b")).is_empty());
    // list shows who overlaps whom, in the table and in JSON.
    let listed = repo.session(&["list", "--json"]).ok().json();
    let of = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["overlaps"]
            .clone()
    };
    assert_eq!(of("a"), serde_json::json!(["b", "c"]));
    assert_eq!(of("d"), serde_json::json!(["b"]));
    // The human view: riskiest first, one line per finding.
    let table = repo.session(&["overlaps"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("RISK"), "{table}");
    assert!(
        lines[1].starts_with("conflict") && lines.last().unwrap().starts_with("overlap"),
        "{table}"
    );
    // One session's view.
    let only_d = overlaps(&repo, &["d"]);
    assert_eq!(pairs(&only_d).len(), 1);
    assert_eq!(only_d["sessions"].as_array().unwrap().len(), 1);
}

/// A session whose work would conflict with its base ref's newer tip says so.
#[test]
fn conflicts_with_the_base_tip() {
    let repo = repo_with_files();
    repo.git(&["config", "session.baseRef", "head"]);
    let s = repo.new_session("s");
    write_file(&s.join("shared.txt"), "one\nTWO (s)\nthree\nfour\nfive\n");
    commit_all(&repo, &s, "s");
    assert!(
        entry(&overlaps(&repo, &[]), "s")["conflicts_with_base"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    repo.commit_files(
        &[("shared.txt", "one\nTWO (main)\nthree\nfour\nfive\n")],
        "main moves on",
    );
    let report = overlaps(&repo, &[]);
    assert_eq!(
        entry(&report, "s")["conflicts_with_base"],
        serde_json::json!(["shared.txt"])
    );
    let table = repo.session(&["overlaps"]).ok().stdout;
    assert!(table.contains("s ↔ main"), "{table}");
}

/// Ownership by pathspec: directories, globs and exclusions, edits inside and outside; `own`
/// changes it as an undoable event; `new --owns` refuses what a pathspec cannot hold; `fork`
/// inherits it.
#[test]
fn owned_paths() {
    let repo = repo_with_files();
    let a = repo.session(&[
        "new",
        "--head",
        "a",
        "--owns",
        "src/a",
        "--owns",
        ":(glob)docs/**/*.md",
    ]);
    let a = std::path::PathBuf::from(a.ok().line());
    let b = std::path::PathBuf::from(
        repo.session(&[
            "new",
            "--head",
            "b",
            "--owns",
            "src/b",
            "--owns",
            ":!src/b/gen",
        ])
        .ok()
        .line(),
    );
    write_file(&a.join("src/a/x.rs"), "a, edited\n");
    write_file(&a.join("docs/guide.md"), "guide, by a\n");
    write_file(&a.join("src/b/y.rs"), "b's file, edited by a\n");
    write_file(&a.join("src/b/gen/types.rs"), "regenerated by a\n");
    write_file(&a.join("README.md"), "hello from a\n");
    commit_all(&repo, &a, "a");
    write_file(&b.join("src/b/y.rs"), "b, edited\n");
    commit_all(&repo, &b, "b");
    let report = overlaps(&repo, &[]);
    let ea = entry(&report, "a");
    assert_eq!(
        ea["outside_owned"],
        serde_json::json!(["README.md", "src/b/gen/types.rs", "src/b/y.rs"])
    );
    // gen/ is excluded from b's claim.
    assert_eq!(ea["in_owned_by"], serde_json::json!({"b": ["src/b/y.rs"]}));
    assert_eq!(entry(&report, "b")["outside_owned"], serde_json::json!([]));
    // own: show, add, remove, clear; each an event undo takes back.
    assert_eq!(
        repo.session(&["own", "b"]).ok().stdout,
        "src/b\n:!src/b/gen\n"
    );
    repo.session(&["own", "b", "--add", "README.md"]).ok();
    assert_eq!(
        repo.meta("b")["owns"],
        serde_json::json!(["src/b", ":!src/b/gen", "README.md"])
    );
    repo.session(&["own", "b", "--remove", ":!src/b/gen"]).ok();
    assert_eq!(
        repo.meta("b")["owns"],
        serde_json::json!(["src/b", "README.md"])
    );
    let report = overlaps(&repo, &[]);
    assert_eq!(
        entry(&report, "a")["in_owned_by"],
        serde_json::json!({"b": ["README.md", "src/b/gen/types.rs", "src/b/y.rs"]})
    );
    repo.session(&["undo"]).ok();
    assert_eq!(
        repo.meta("b")["owns"],
        serde_json::json!(["src/b", ":!src/b/gen", "README.md"])
    );
    repo.session(&["own", "b", "--clear"]).ok();
    assert!(repo.meta("b").get("owns").is_none());
    let out = repo.session(&["own", "b", "--remove", "src/x"]).fails();
    assert!(out.stderr.contains("does not claim"), "{}", out.stderr);
    for bad in ["/etc", "../up", ":(attr:x)y"] {
        let out = repo
            .session(&["new", "--head", "bad", "--owns", bad])
            .fails();
        assert_eq!(out.error_lines(), 1, "{}", out.stderr);
        assert!(!repo.has_ref(&repo.root, "refs/sessions/bad"));
        repo.session(&["own", "a", bad]).fails();
    }
    // A fork claims what its source claims, unless told otherwise.
    repo.session(&["fork", "a", "a2"]).ok();
    assert_eq!(repo.meta("a2")["owns"], repo.meta("a")["owns"]);
    repo.session(&["fork", "a", "a3", "--owns", "src/other"])
        .ok();
    assert_eq!(repo.meta("a3")["owns"], serde_json::json!(["src/other"]));
    let shown = repo.session(&["show", "a"]).ok().stdout;
    assert!(
        shown.contains("owns            src/a :(glob)docs/**/*.md"),
        "{shown}"
    );
}

/// A teammate's pushed session, fetched over `git daemon`, is compared too (`--all`); its
/// `owns` with a hostile path is refused at fetch, never used.
#[test]
fn a_teammates_fetched_session_over_git_daemon() {
    let a = repo_with_files();
    let bare = a.home.join("team.git");
    a.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let Some((_daemon, url)) = crate::support::git_daemon(&a, &bare) else {
        eprintln!("skipped: git daemon is not available");
        return;
    };
    a.git(&["remote", "add", "origin", &url]);
    a.git(&["push", "-q", "origin", "main"]);
    let theirs = a.new_session("theirs");
    write_file(
        &theirs.join("shared.txt"),
        "one\ntwo\nTHREE (teammate)\nfour\nfive\n",
    );
    a.session(&["own", "theirs", "src/b"]).ok();
    a.session(&["push", "origin", "theirs"]).ok();
    // A second clone: its own session edits the same file.
    let b = crate::support::TestRepo::empty();
    b.git(&["remote", "add", "origin", &url]);
    b.git(&["fetch", "-q", "origin"]);
    b.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    let mine = b.new_session("mine");
    write_file(
        &mine.join("shared.txt"),
        "one\ntwo\nthree (mine)\nfour\nfive\n",
    );
    write_file(&mine.join("src/b/y.rs"), "mine too\n");
    b.session(&["checkpoint", "mine"]).ok();
    b.session(&["fetch", "origin"]).ok();
    assert!(pairs(&overlaps(&b, &[])).is_empty());
    let report = overlaps(&b, &["--all"]);
    assert_eq!(
        pairs(&report),
        [(
            "mine".into(),
            "origin/theirs".into(),
            vec!["shared.txt".into()],
            vec!["shared.txt".into()]
        )],
        "{report}"
    );
    assert_eq!(
        entry(&report, "mine")["in_owned_by"],
        serde_json::json!({"origin/theirs": ["src/b/y.rs"]})
    );
    let listed = b.session(&["list", "--all", "--json"]).ok().json();
    assert!(
        listed
            .to_string()
            .contains("\"overlaps\":[\"origin/theirs\"]"),
        "{listed}"
    );
    // A log whose owns names a path outside: refused at fetch, so never compared.
    a.forge_log(
        "theirs",
        &a.git(&["show", "refs/sessions/theirs:session.yaml"])
            .replace("- src/b", "- /etc/passwd"),
        true,
    );
    a.git(&[
        "push",
        "-q",
        "-f",
        "origin",
        "refs/sessions/theirs:refs/sessions/theirs",
    ]);
    let out = b.session(&["fetch", "origin"]).fails();
    assert!(out.stderr.contains("owns"), "{}", out.stderr);
    let report = overlaps(&b, &["--all"]);
    assert_eq!(
        entry(&report, "mine")["in_owned_by"],
        serde_json::json!({"origin/theirs": ["src/b/y.rs"]})
    );
}

/// The git hooks warn on a commit (and before a push) that touches another live session's
/// files or strays outside the session's own claim; nothing when nothing overlaps.
#[test]
fn hooks_warn_on_commit_and_push() {
    let repo = repo_with_files();
    repo.session(&["hooks", "install"]).ok();
    let a = std::path::PathBuf::from(
        repo.session(&["new", "--head", "a", "--owns", "src/a"])
            .ok()
            .line(),
    );
    let b = repo.new_session("b");
    write_file(&b.join("shared.txt"), "one\ntwo (b)\nthree\nfour\nfive\n");
    repo.session(&["checkpoint", "b"]).ok();
    write_file(&a.join("src/a/x.rs"), "inside\n");
    repo.git_in(&a, &["add", "-A"]);
    let quiet = repo.cmd_in(&a, "git", &["commit", "-q", "-m", "inside"]);
    assert_eq!(quiet.stderr, "", "nothing overlaps: nothing said");
    write_file(&a.join("shared.txt"), "one\ntwo (a)\nthree\nfour\nfive\n");
    repo.git_in(&a, &["add", "-A"]);
    let loud = repo.cmd_in(&a, "git", &["commit", "-q", "-m", "shared"]);
    assert_eq!(
        loud.stderr,
        "warning: shared.txt is also changed by session 'b'\nwarning: shared.txt is outside what session 'a' claims\n"
    );
    let bare = repo.home.join("r.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let push = repo.cmd_in(
        &a,
        "git",
        &["push", "-q", bare.to_str().unwrap(), "session/a"],
    );
    assert!(
        push.stderr
            .contains("warning: shared.txt is also changed by session 'b'"),
        "{}",
        push.stderr
    );
}

/// Claude Code's `PreToolUse` hook, fed the JSON Claude Code sends, under each policy; silent
/// for a file nothing claims, and for bad input.
#[test]
fn pre_tool_use_answers_by_policy() {
    let repo = repo_with_files();
    let a = std::path::PathBuf::from(
        repo.session(&["new", "--head", "a", "--owns", "src/a"])
            .ok()
            .line(),
    );
    let b = std::path::PathBuf::from(
        repo.session(&["new", "--head", "b", "--owns", "src/b"])
            .ok()
            .line(),
    );
    write_file(&b.join("shared.txt"), "one\ntwo (b)\nthree\nfour\nfive\n");
    repo.session(&["checkpoint", "b"]).ok();
    let ask = |file: &Path, tool: &str| {
        let json = serde_json::json!({
            "session_id": "0b5c2e6a-1111-2222-3333-444455556666",
            "transcript_path": "/tmp/t.jsonl",
            "cwd": a,
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": {"file_path": file, "old_string": "a", "new_string": "b"},
        })
        .to_string();
        let out = repo.cmd_in(
            &a,
            "sh",
            &[
                "-c",
                "printf '%s' \"$1\" | \"$2\" claude pre-tool-use",
                "sh",
                &json,
                BIN,
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    assert_eq!(
        ask(&a.join("src/a/x.rs"), "Edit"),
        "",
        "its own file: silent"
    );
    assert_eq!(
        ask(&a.join("src/a/new.rs"), "Write"),
        "",
        "a new file of its own: silent"
    );
    let warn: serde_json::Value =
        serde_json::from_str(&ask(&a.join("src/b/y.rs"), "Edit")).unwrap();
    assert_eq!(
        warn,
        serde_json::json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "additionalContext": "git-session: src/b/y.rs is claimed by session 'b' (its owns); src/b/y.rs is outside what session 'a' claims"
        }})
    );
    repo.git(&["config", "session.ownsPolicy", "ask"]);
    let asked: serde_json::Value =
        serde_json::from_str(&ask(&a.join("shared.txt"), "MultiEdit")).unwrap();
    assert_eq!(asked["hookSpecificOutput"]["permissionDecision"], "ask");
    assert_eq!(
        asked["hookSpecificOutput"]["permissionDecisionReason"],
        "git-session: shared.txt is also changed by session 'b'; shared.txt is outside what session 'a' claims"
    );
    repo.git(&["config", "session.ownsPolicy", "deny"]);
    let denied: serde_json::Value =
        serde_json::from_str(&ask(&a.join("src/b/y.rs"), "Write")).unwrap();
    assert_eq!(denied["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(
        denied["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("claimed by session 'b'")
    );
    // A `Write` carries the whole file: denied all the same when it is megabytes long
    // (the hook read a megabyte at most and let it through), with its input read to the end.
    let payload = repo.home.join("big-write.json");
    let json = serde_json::json!({
        "session_id": "0b5c2e6a-1111-2222-3333-444455556666",
        "cwd": a,
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": {"content": "A".repeat(3 << 20), "file_path": a.join("src/b/big.rs")},
    });
    std::fs::write(&payload, json.to_string()).unwrap();
    let out = repo.cmd_in(
        &a,
        "sh",
        &[
            "-c",
            "\"$2\" claude pre-tool-use < \"$1\"",
            "sh",
            payload.to_str().unwrap(),
            BIN,
        ],
    );
    let big: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stderr);
    assert_eq!(big["hookSpecificOutput"]["permissionDecision"], "deny");
    // Through `..` inside a missing directory: judged where it lands (b's claim).
    let through = ask(&a.join("src/zz/../b/new.rs"), "Write");
    assert!(through.contains("claimed by session 'b'"), "{through}");
    // An edit in another session's worktree is named as such.
    let elsewhere = ask(&b.join("README.md"), "Edit");
    assert!(
        elsewhere.contains("is in the worktree of session 'b', not in the worktree of session 'a'"),
        "{elsewhere}"
    );
    // Outside every worktree, through `..`, not JSON, no path: silent and exit 0.
    assert_eq!(ask(Path::new("/etc/passwd"), "Edit"), "");
    assert_eq!(ask(&a.join("../b/../../../../etc/hosts"), "Edit"), "");
    let out = repo.cmd_in(
        &a,
        "sh",
        &[
            "-c",
            "printf 'not json' | \"$1\" claude pre-tool-use",
            "sh",
            BIN,
        ],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // SessionStart tells the agent its claim and whose files it shares.
    write_file(&a.join("shared.txt"), "one\ntwo (a)\nthree\nfour\nfive\n");
    repo.session(&["checkpoint", "a"]).ok();
    let json = serde_json::json!({"session_id": "x", "cwd": a, "hook_event_name": "SessionStart", "source": "startup"}).to_string();
    let out = repo.cmd_in(
        &a,
        "sh",
        &[
            "-c",
            "printf '%s' \"$1\" | \"$2\" claude session-start",
            "sh",
            &json,
            BIN,
        ],
    );
    assert!(
        out.stdout.contains("This session claims (owns): src/a."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Session 'b' also changed: shared.txt."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Session 'b' claims: src/b."),
        "{}",
        out.stdout
    );
}
