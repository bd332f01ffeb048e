use std::path::Path;

use crate::support::{TestRepo, write_file};

fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    !repo.git(&["branch", "--list", branch]).is_empty()
}

#[test]
fn end_removes_clean_sessions_and_keeps_work() {
    let repo = TestRepo::new();
    let clean = repo.new_session("clean");
    let out = repo.session(&["end", "clean"]).ok();
    assert!(
        out.stdout.is_empty(),
        "nothing to print when removed: {}",
        out.stdout
    );
    assert!(!clean.exists());
    assert!(!branch_exists(&repo, "session/clean"));
    assert_eq!(repo.meta("clean")["status"], "complete");

    let dirty = repo.new_session("dirty");
    std::fs::write(dirty.join("notes.txt"), "untracked work\n").unwrap();
    let out = repo.session(&["end", "dirty"]).ok();
    assert_eq!(
        out.line(),
        dirty.display().to_string(),
        "the kept path is the answer"
    );
    assert!(
        out.stderr.contains("1 uncommitted or untracked file(s)"),
        "{}",
        out.stderr
    );
    assert!(dirty.join("notes.txt").is_file());
    assert_eq!(repo.meta("dirty")["status"], "complete");

    let committed = repo.new_session("committed");
    std::fs::write(committed.join("c.txt"), "c\n").unwrap();
    repo.git_in(&committed, &["add", "-A"]);
    repo.git_in(&committed, &["commit", "-q", "-m", "unpushed"]);
    let out = repo.session(&["end", "committed"]).ok();
    assert!(
        out.stderr
            .contains("1 commit(s) not on its base or upstream"),
        "{}",
        out.stderr
    );
    assert!(committed.exists());
    assert!(branch_exists(&repo, "session/committed"));
}

#[test]
fn end_remove_checkpoints_work_before_removing() {
    let repo = TestRepo::new();
    let path = repo.new_session("risky");
    std::fs::write(path.join("README.md"), "edited\n").unwrap();
    std::fs::write(path.join("new.txt"), "new\n").unwrap();
    let out = repo
        .session(&["end", "risky", "--remove", "--json"])
        .ok()
        .json();
    assert_eq!(out["removed"], true);
    assert_eq!(out["branch_deleted"], true);
    let ckpt = out["checkpoint"].as_str().unwrap().to_owned();
    assert!(!path.exists());
    // The work is reachable from the session's log and exactly the uncommitted changes.
    repo.git(&["merge-base", "--is-ancestor", &ckpt, "refs/sessions/risky"]);
    assert_eq!(repo.git(&["show", &format!("{ckpt}:new.txt")]), "new");
    assert_eq!(repo.git(&["show", &format!("{ckpt}:README.md")]), "edited");
    assert_eq!(
        repo.git(&["diff", "--name-only", &format!("{ckpt}^"), &ckpt]),
        "README.md\nnew.txt"
    );
    assert_eq!(repo.meta("risky")["last_checkpoint"], ckpt);
    repo.git(&["gc", "-q", "--prune=now"]);
    assert_eq!(
        repo.git(&["show", &format!("{ckpt}:new.txt")]),
        "new",
        "gc keeps checkpoints"
    );
}

#[test]
fn rm_trashes_the_log_and_respects_work() {
    let repo = TestRepo::new();
    repo.new_session("gone");
    let id = repo.meta("gone")["id"].as_str().unwrap().to_owned();
    let out = repo.session(&["rm", "gone"]).ok();
    assert!(
        out.stderr.contains(&format!("refs/sessions-trash/{id}")),
        "{}",
        out.stderr
    );
    assert!(repo.git(&["for-each-ref", "refs/sessions/gone"]).is_empty());
    let trash = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        &format!("refs/sessions-trash/{id}-*"),
    ]);
    assert!(
        repo.git(&["log", "-1", "--format=%s", &trash])
            .starts_with("deleted:")
    );
    // A session restored from the trash can be deleted again.
    repo.git(&["update-ref", "refs/sessions/gone", &trash]);
    repo.session(&["rm", "gone"]).ok();
    assert!(repo.git(&["for-each-ref", "refs/sessions/gone"]).is_empty());

    let kept = repo.new_session("kept");
    std::fs::write(kept.join("wip.txt"), "wip\n").unwrap();
    let out = repo.session(&["rm", "kept"]).ok();
    assert_eq!(out.line(), kept.display().to_string());
    assert!(out.stderr.contains("warning:"), "{}", out.stderr);
    assert!(kept.join("wip.txt").exists());

    let forced = repo.new_session("forced");
    std::fs::write(forced.join("wip.txt"), "wip\n").unwrap();
    let out = repo
        .session(&["rm", "forced", "--force", "--json"])
        .ok()
        .json();
    let ckpt = out["checkpoint"].as_str().unwrap();
    assert!(!forced.exists());
    let trash = out["trash_ref"].as_str().unwrap();
    repo.git(&["merge-base", "--is-ancestor", ckpt, trash]);
    assert_eq!(repo.git(&["show", &format!("{ckpt}:wip.txt")]), "wip");
}

#[test]
fn rename_moves_ref_branch_and_worktree_and_keeps_the_id() {
    let repo = TestRepo::new();
    let old = repo.new_session("old");
    std::fs::write(old.join("wip.txt"), "wip\n").unwrap();
    let id = repo.meta("old")["id"].clone();
    let out = repo.session(&["rename", "old", "team/new"]).ok();
    let new = repo.root.join(".worktrees/team/new");
    assert_eq!(out.line(), new.display().to_string());
    assert!(!old.exists());
    assert!(
        new.join("wip.txt").is_file(),
        "uncommitted work moves with the worktree"
    );
    assert_eq!(
        repo.git_in(&new, &["symbolic-ref", "HEAD"]),
        "refs/heads/session/team/new"
    );
    assert!(repo.git(&["for-each-ref", "refs/sessions/old"]).is_empty());
    let meta = repo.meta("team/new");
    assert_eq!(meta["id"], id);
    assert_eq!(meta["branch"], "session/team/new");
    assert_eq!(repo.events("team/new")[0], "renamed: old -> team/new");
    repo.new_session("other");
    repo.session(&["rename", "team/new", "other"]).fails();
    repo.session(&["rename", "team/new", "team"]).fails();
    repo.session(&["path", "team/new"]).ok();
}

#[test]
fn resume_recreates_a_missing_worktree_from_branch_or_base() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".gitignore", ".env\n"), (".worktreeinclude", ".env\n")],
        "ignore",
    );
    repo.write(".env", "SECRET=1\n");
    let path = repo.new_session("again");
    std::fs::write(path.join("committed.txt"), "kept on the branch\n").unwrap();
    repo.git_in(&path, &["add", "-A"]);
    repo.git_in(&path, &["commit", "-q", "-m", "work"]);
    std::fs::remove_dir_all(&path).unwrap(); // removed by hand
    repo.session(&["end", "again"]).ok();
    assert_eq!(repo.meta("again")["status"], "complete");
    let out = repo.session(&["resume", "again"]).ok();
    assert_eq!(out.line(), path.display().to_string());
    assert!(
        path.join("committed.txt").is_file(),
        "recreated from the branch"
    );
    assert!(
        path.join(".env").is_file(),
        ".worktreeinclude applies to recreated worktrees"
    );
    assert_eq!(repo.meta("again")["status"], "active");

    // With the branch gone too, the worktree comes back where the branch was: `end
    // --remove` kept its tip in the log.
    let tip = repo.git(&["rev-parse", "session/again"]);
    repo.session(&["end", "again", "--remove"]).ok();
    assert!(!branch_exists(&repo, "session/again"));
    let out = repo.session(&["resume", "again"]).ok();
    assert!(Path::new(out.line()).join("committed.txt").is_file());
    assert_eq!(repo.git(&["rev-parse", "session/again"]), tip);
}

#[test]
fn gc_archives_stale_clean_sessions_checkpoints_dirty_ones_and_purges_trash() {
    let repo = TestRepo::new();
    let clean = repo.new_session("stale-clean");
    let dirty = repo.new_session("stale-dirty");
    std::fs::write(dirty.join("wip.txt"), "wip\n").unwrap();
    repo.new_session("trashed");
    repo.session(&["rm", "trashed"]).ok();
    repo.advance(3 * 86_400);
    let fresh = repo.new_session("fresh");
    // The trash has its own retention (session.trashDays, default 90); --older-than only
    // judges inactivity.
    let plan = repo
        .session(&["gc", "--older-than", "2d", "--dry-run", "--json"])
        .ok()
        .json();
    assert!(
        plan.as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] != "purge")
    );
    repo.git(&["config", "session.trashDays", "2"]);

    let plan = repo
        .session(&["gc", "--older-than", "2d", "--dry-run", "--json"])
        .ok()
        .json();
    let action = |name: &str| {
        plan.as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["action"].clone())
    };
    assert_eq!(action("stale-clean").unwrap(), "archive");
    assert_eq!(action("stale-dirty").unwrap(), "checkpoint");
    assert_eq!(action("fresh").unwrap(), "keep");
    assert!(
        plan.as_array()
            .unwrap()
            .iter()
            .any(|d| d["action"] == "purge")
    );
    assert!(clean.exists(), "--dry-run changes nothing");

    let out = repo.session(&["gc"]).ok();
    assert!(
        out.stdout.contains("keep"),
        "default retention is 7 days: {}",
        out.stdout
    );
    assert!(clean.exists());

    let done = repo
        .session(&["gc", "--older-than", "2d", "--json"])
        .ok()
        .json();
    assert!(!clean.exists());
    assert_eq!(repo.meta("stale-clean")["status"], "archived");
    assert!(dirty.join("wip.txt").exists());
    let ckpt = done
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "stale-dirty")
        .unwrap()["checkpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(repo.git(&["show", &format!("{ckpt}:wip.txt")]), "wip");
    assert!(fresh.exists());
    assert!(
        repo.git(&["for-each-ref", "refs/sessions-trash/"])
            .is_empty(),
        "old trash is purged"
    );
    let bad = repo.session(&["gc", "--older-than", "soon"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn gc_dry_run_predicts_what_gc_keeps() {
    let repo = TestRepo::new();
    let wt = repo.new_session("gone");
    write_file(&wt.join("f"), "committed\n");
    repo.git_in(&wt, &["add", "f"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "only on the session branch"]);
    std::fs::remove_dir_all(&wt).unwrap();
    let nested = repo.new_session("nested");
    repo.init_repository(&nested.join("vendor"));
    repo.write(".git/info/exclude", "vendor/\n/.worktrees/\n");
    repo.advance(30 * 24 * 3600);
    let decisions = |args: &[&str]| {
        let out = repo.session(args).ok().json();
        let mut pairs: Vec<(String, String)> = out
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["name"].to_string(), d["action"].to_string()))
            .collect();
        pairs.sort();
        pairs
    };
    let predicted = decisions(&["gc", "--dry-run", "--json"]);
    let done = decisions(&["gc", "--json"]);
    assert_eq!(predicted, done);
    assert!(
        done.iter().all(|(_, action)| action == "\"keep\""),
        "{done:?}"
    );
}

/// Ending a session whose worktree directory is gone forgets git's record of that worktree
/// only (another one's directory may just be moved or unmounted), and keeps what was staged
/// there in the log.
#[test]
fn a_missing_worktree_is_forgotten_alone_and_its_staged_state_kept() {
    let repo = TestRepo::new();
    let gone = repo.new_session("gone");
    let other = repo.new_session("other");
    write_file(&gone.join("staged.txt"), "staged only\n");
    repo.git_in(&gone, &["add", "staged.txt"]);
    // Both moved by hand (not with `git worktree move`): git loses track of both.
    let away = repo.home.join("away");
    let other_away = repo.home.join("other-away");
    std::fs::rename(&gone, &away).unwrap();
    std::fs::rename(&other, &other_away).unwrap();
    let out = repo.session(&["end", "gone"]).ok();
    assert!(
        out.stderr.contains("was gone (deleted, or moved"),
        "{}",
        out.stderr
    );
    let listed = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(
        listed.contains(&format!("worktree {}", other.display())),
        "the other session's record stays: {listed}"
    );
    assert!(
        !listed.contains(&format!("worktree {}", gone.display())),
        "{listed}"
    );
    let event = repo.git(&[
        "log",
        "--first-parent",
        "--format=%H",
        "--grep=had staged",
        "refs/sessions/gone",
    ]);
    let ckpt = repo.git(&["rev-parse", &format!("{event}^2")]);
    assert_eq!(
        repo.git(&["show", &format!("{ckpt}:staged.txt")]),
        "staged only"
    );
    // Moved back and repaired, the other one still works.
    std::fs::rename(&other_away, &other).unwrap();
    repo.git_in(&other, &["status", "--porcelain"]);
}

/// Work checkpointed, then thrown away, then the clean worktree ended: resume brings back
/// the clean state, not the thrown-away work.
#[test]
fn resume_after_a_clean_end_does_not_bring_back_discarded_work() {
    let repo = TestRepo::new();
    let wt = repo.new_session("disc");
    write_file(&wt.join("junk.txt"), "thrown away\n");
    repo.session(&["checkpoint", "disc"]).ok();
    std::fs::remove_file(wt.join("junk.txt")).unwrap();
    repo.session(&["end", "disc"]).ok();
    assert!(!wt.exists());
    repo.session(&["resume", "disc"]).ok();
    assert!(!wt.join("junk.txt").exists());
    assert_eq!(repo.git_in(&wt, &["status", "--porcelain"]), "");
    // The discarded work is still in the log.
    let event = repo.git(&[
        "log",
        "--first-parent",
        "--format=%H",
        "--skip=0",
        "-1",
        "--grep=clean when",
        "refs/sessions/disc",
    ]);
    let older = repo.git(&["rev-parse", &format!("{event}^")]);
    assert!(
        repo.git(&["log", "--first-parent", "--format=%s", &older])
            .contains("checkpoint:")
    );
}

/// A worktree deleted by hand after a checkpoint: ending and resuming the session puts all
/// of its work back (staged, unstaged, untracked), and a detached HEAD there is no obstacle.
#[test]
fn a_worktree_deleted_by_hand_comes_back_whole() {
    let repo = TestRepo::new();
    repo.commit_files(&[("f", "f\n"), ("g", "g\n")], "files");
    let wt = repo.new_session("s");
    write_file(&wt.join("f"), "f staged\n");
    repo.git_in(&wt, &["add", "f"]);
    write_file(&wt.join("g"), "g unstaged\n");
    write_file(&wt.join("untracked.txt"), "new\n");
    repo.session(&["checkpoint", "s"]).ok();
    let status = repo.git_in(&wt, &["status", "--porcelain"]);
    std::fs::remove_dir_all(&wt).unwrap();
    repo.session(&["end", "s"]).ok();
    repo.session(&["resume", "s"]).ok();
    assert_eq!(repo.git_in(&wt, &["status", "--porcelain"]), status);

    // Detached there, then deleted: resume clears git's record of it and starts over.
    let wt = repo.new_session("d");
    repo.git_in(&wt, &["checkout", "-q", "--detach"]);
    std::fs::remove_dir_all(&wt).unwrap();
    repo.session(&["resume", "d"]).ok();
    assert!(wt.join(".git").is_file());
}

/// A name whose branch would be too long is refused before anything moves: `new` makes
/// nothing, `rename` leaves the worktree on its branch, clean.
#[test]
fn a_name_whose_branch_would_be_too_long_changes_nothing() {
    let repo = TestRepo::new();
    let long = "e".repeat(95);
    let out = repo.session(&["new", &long]).fails();
    assert!(out.stderr.contains("its branch would be"), "{}", out.stderr);
    let wt = repo.new_session("s1");
    let out = repo.session(&["rename", "s1", &long]).fails();
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(
        repo.git_in(&wt, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "session/s1"
    );
    assert_eq!(repo.git_in(&wt, &["status", "--porcelain"]), "");
}

/// Ending an ended session again records nothing, so `undo` still takes back the real end.
#[test]
fn ending_again_records_nothing_and_undo_takes_back_the_real_end() {
    let repo = TestRepo::new();
    let wt = repo.new_session("s");
    std::fs::write(wt.join("work.txt"), "work\n").unwrap();
    repo.session(&["end", "s", "--remove"]).ok();
    let again = repo.session(&["end", "s", "--remove"]).ok();
    assert!(
        again.stderr.contains("already complete"),
        "{}",
        again.stderr
    );
    let undo = repo.session(&["undo"]).ok();
    assert!(undo.stderr.contains("end s --remove"), "{}", undo.stderr);
    assert_eq!(
        std::fs::read_to_string(wt.join("work.txt")).unwrap(),
        "work\n"
    );
}
