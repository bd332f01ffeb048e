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
    let ckpt = repo
        .session_in(&wt, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
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
    let ckpt = repo
        .session_in(&wt, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
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
    repo.cmd_in(&repo.root, "chmod", &["+x", shim.join("git").to_str().unwrap()])
        .ok();
    let script = format!(
        "PATH='{}':\"$PATH\" '{BIN}' rewind {ckpt}",
        shim.display()
    );
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
