//! Regression tests for judging before acting: a rewind checks every precondition before it
//! touches a file, a session whose worktree cannot be read is named and never retired, and a
//! session that reuses another's id gets none of its worktree.

use std::path::{Path, PathBuf};

use crate::support::{BIN, TestRepo, write_file};

/// The private git directory of a linked worktree.
fn git_dir(repo: &TestRepo, worktree: &Path) -> PathBuf {
    PathBuf::from(repo.git_in(worktree, &["rev-parse", "--absolute-git-dir"]))
}

#[test]
fn rewind_checks_every_lock_before_touching_a_file() {
    let repo = TestRepo::new();
    let wt = repo.new_session("locked");
    let ckpt = repo.session_in(&wt, &["checkpoint"]).ok().line().to_owned();
    write_file(&wt.join("scratch.txt"), "untracked work\n");
    write_file(&wt.join("README.md"), "edited\n");
    let branch = repo.meta("locked")["branch"].as_str().unwrap().to_owned();
    let common = PathBuf::from(repo.git(&["rev-parse", "--git-common-dir"]));
    let common = if common.is_absolute() {
        common
    } else {
        repo.root.join(common)
    };
    let locks = [
        git_dir(&repo, &wt).join("index.lock"),
        git_dir(&repo, &wt).join("HEAD.lock"),
        common.join(format!("refs/heads/{branch}.lock")),
    ];
    let checkpoints = repo.events("locked").len();
    for lock in &locks {
        std::fs::write(lock, "").unwrap();
        let out = repo.session_in(&wt, &["rewind", &ckpt]).fails();
        let name = lock.file_name().unwrap().to_str().unwrap();
        assert!(out.stderr.contains(name), "names {name}: {}", out.stderr);
        std::fs::remove_file(lock).unwrap();
        assert_eq!(
            std::fs::read_to_string(wt.join("scratch.txt")).unwrap(),
            "untracked work\n",
            "the untracked file survives a refused rewind ({name})"
        );
        assert_eq!(
            std::fs::read_to_string(wt.join("README.md")).unwrap(),
            "edited\n"
        );
    }
    assert_eq!(
        repo.events("locked").len(),
        checkpoints,
        "a refused rewind records nothing"
    );
    repo.session_in(&wt, &["rewind", &ckpt]).ok();
    assert!(!wt.join("scratch.txt").exists());
}

#[test]
fn a_rewind_that_fails_part_way_names_the_state_before() {
    let repo = TestRepo::new();
    let wt = repo.new_session("partway");
    let ckpt = repo.session_in(&wt, &["checkpoint"]).ok().line().to_owned();
    write_file(&wt.join("scratch.txt"), "untracked work\n");
    // A git that fails where the rewind writes the index, after `git clean` ran.
    let shim = repo.home.join("shim");
    let real_git = repo.cmd_in(&repo.root, "sh", &["-c", "command -v git"]);
    write_file(
        &shim.join("git"),
        &format!(
            "#!/bin/sh\nif [ \"$1\" = read-tree ]; then echo 'injected failure' >&2; exit 1; fi\nexec '{}' \"$@\"\n",
            real_git.line()
        ),
    );
    repo.cmd_in(
        &repo.root,
        "chmod",
        &["+x", shim.join("git").to_str().unwrap()],
    )
    .ok();
    let script = format!("PATH='{}':\"$PATH\" '{BIN}' rewind {ckpt}", shim.display());
    let out = repo.cmd_in(&wt, "sh", &["-c", &script]).fails();
    assert!(!wt.join("scratch.txt").exists(), "it did stop part-way");
    let pre = repo.session(&["log", "partway"]).ok().stdout;
    assert!(out.stderr.contains("part-way"), "{}", out.stderr);
    let named = out
        .stderr
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 12 && pre.contains(*word))
        .unwrap_or_else(|| panic!("names the pre-rewind checkpoint: {}", out.stderr));
    assert!(
        out.stderr
            .contains(&format!("git session rewind {named} partway")),
        "{}",
        out.stderr
    );
    repo.session_in(&wt, &["rewind", named]).ok();
    assert_eq!(
        std::fs::read_to_string(wt.join("scratch.txt")).unwrap(),
        "untracked work\n"
    );
}

/// Two sessions, `good` (one changed file) and `broken` (its worktree's index overwritten
/// with garbage).
fn one_broken(repo: &TestRepo) -> (PathBuf, PathBuf) {
    let good = repo.new_session("good");
    let broken = repo.new_session("broken");
    write_file(&good.join("wip.txt"), "wip\n");
    std::fs::write(git_dir(repo, &broken).join("index"), "not an index at all").unwrap();
    (good, broken)
}

fn row<'a>(rows: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed: {rows}"))
}

#[test]
fn a_corrupt_index_is_named_and_the_other_sessions_still_listed() {
    let repo = TestRepo::new();
    let (_, broken) = one_broken(&repo);

    let out = repo.session(&["list"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let cells = |name: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} is listed: {}", out.stdout));
        line.split_whitespace().map(str::to_owned).collect()
    };
    assert_eq!(cells("good")[4], "1", "{}", out.stdout);
    assert_eq!(cells("broken")[4], "?", "{}", out.stdout);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("'broken'"))
        .unwrap_or_else(|| panic!("a warning names the session: {}", out.stderr));
    assert!(warning.contains("cannot judge"), "{warning}");
    assert!(warning.contains("index"), "says why: {warning}");

    let rows = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(row(&rows, "good")["changes"], 1);
    assert!(row(&rows, "good")["error"].is_null());
    let bad = row(&rows, "broken");
    assert!(bad["changes"].is_null() && bad["dirty"].is_null(), "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("index"), "{bad}");
    assert_eq!(bad["worktree"], broken.to_str().unwrap());

    let out = repo.session(&["show", "broken"]).ok();
    assert!(out.stderr.contains("cannot judge"), "{}", out.stderr);
}

#[test]
fn gc_keeps_a_session_it_cannot_judge_and_handles_the_others() {
    let repo = TestRepo::new();
    let (good, broken) = one_broken(&repo);
    std::fs::remove_file(good.join("wip.txt")).unwrap();
    repo.advance(3 * 86_400);

    for args in [
        &["gc", "--older-than", "2d", "-n", "--json"][..],
        &["gc", "--older-than", "2d", "--json"],
    ] {
        let decisions = repo.session(args).ok().json();
        let bad = row(&decisions, "broken");
        assert_eq!(bad["action"], "keep", "{args:?}: {bad}");
        let reason = bad["reason"].as_str().unwrap();
        assert!(reason.starts_with("cannot judge: "), "{reason}");
        assert_eq!(row(&decisions, "good")["action"], "archive", "{args:?}");
    }
    assert!(broken.join(".git").exists(), "never retired");
    assert_eq!(repo.meta("broken")["status"], "active");
    assert!(!good.exists());
    assert_eq!(repo.meta("good")["status"], "archived");
}

#[test]
fn a_session_reusing_another_id_gets_none_of_its_worktree() {
    let repo = TestRepo::new();
    let real = repo.new_session("real");
    write_file(&real.join("wip.txt"), "wip\n");
    // A fetched copy of another's session.yaml under a name of its own.
    let yaml = repo
        .git(&["show", "refs/sessions/real:session.yaml"])
        .replace("real", "impostor");
    repo.forge_log("impostor", &yaml, false);
    assert_eq!(repo.meta("impostor")["id"], repo.meta("real")["id"]);

    let rows = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(row(&rows, "real")["worktree"], real.to_str().unwrap());
    assert_eq!(row(&rows, "real")["changes"], 1);
    let impostor = row(&rows, "impostor");
    assert!(impostor["worktree"].is_null(), "{impostor}");
    assert_eq!(impostor["changes"], 0, "{impostor}");
    let show = repo.session(&["show", "impostor", "--json"]).ok().json();
    assert!(show["worktree"].is_null(), "{show}");
}
