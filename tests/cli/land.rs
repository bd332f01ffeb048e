//! From parallel to merged (issue 18): `land` with each strategy gives the history git would,
//! updates the target's worktree keeping its unrelated changes, refuses without changing
//! anything, and is undone exactly; `sync` of clean, dirty, conflicting and git-stopped
//! sessions, its rows, and its undo.

use std::path::PathBuf;

use crate::support::{BIN, TestRepo, same, state, write_file};

fn base_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.git(&["config", "session.baseRef", "head"]);
    repo.commit_files(
        &[
            ("lib.txt", "one\ntwo\nthree\nfour\nfive\nsix\nseven\n"),
            ("other.txt", "other\n"),
        ],
        "base",
    );
    repo
}

/// A session with two commits on lib.txt's first line and a new file.
fn session_with_commits(repo: &TestRepo, name: &str) -> PathBuf {
    let wt = repo.new_session(name);
    write_file(
        &wt.join("lib.txt"),
        "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n",
    );
    repo.git_in(&wt, &["commit", "-qam", "first line"]);
    write_file(&wt.join("feature.txt"), "feature\n");
    repo.git_in(&wt, &["add", "feature.txt"]);
    repo.git_in(&wt, &["commit", "-qm", "a feature"]);
    wt
}

fn tree_of(repo: &TestRepo, rev: &str) -> String {
    repo.git(&["rev-parse", &format!("{rev}^{{tree}}")])
}

/// What git itself produces for a strategy, in a throwaway clone: the tree of the result.
fn by_hand(repo: &TestRepo, strategy: &str, branch: &str) -> String {
    let dir = repo.home.join(format!("by-hand-{strategy}"));
    repo.git(&[
        "clone",
        "-q",
        repo.root.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    repo.git_in(
        &dir,
        &["fetch", "-q", "origin", &format!("{branch}:{branch}")],
    );
    match strategy {
        "squash" => {
            repo.git_in(&dir, &["merge", "-q", "--squash", branch]);
            repo.git_in(&dir, &["commit", "-qm", "squash"]);
        }
        "merge" => {
            repo.git_in(&dir, &["merge", "-q", "--no-ff", "--no-edit", branch]);
        }
        _ => {
            repo.git_in(&dir, &["checkout", "-q", branch]);
            repo.git_in(&dir, &["rebase", "-q", "main"]);
        }
    }
    repo.git_in(&dir, &["rev-parse", "HEAD^{tree}"])
}

#[test]
fn each_strategy_lands_what_git_would() {
    for strategy in ["squash", "rebase", "merge"] {
        let repo = base_repo();
        session_with_commits(&repo, "s");
        // main moves on elsewhere in the file: the landing merges with it.
        repo.commit_files(
            &[("lib.txt", "one\ntwo\nthree\nfour\nfive\nsix\nSEVEN\n")],
            "main moves",
        );
        let before_main = repo.git(&["rev-parse", "main"]);
        let want = by_hand(&repo, strategy, "session/s");
        let landed = repo
            .session(&["land", "s", &format!("--{strategy}")])
            .ok()
            .line()
            .to_owned();
        assert_eq!(repo.git(&["rev-parse", "main"]), landed);
        assert_eq!(tree_of(&repo, "main"), want, "{strategy}");
        let parents = repo.git(&["log", "-1", "--format=%P", "main"]);
        match strategy {
            "squash" => {
                assert_eq!(parents, before_main);
                let message = repo.git(&["log", "-1", "--format=%B", "main"]);
                assert!(
                    message.contains("- ") && message.contains("first line"),
                    "{message}"
                );
                let note = repo.git(&["notes", "--ref=sessions", "show", "main"]);
                assert!(
                    note.contains("session: s") && note.contains("landed: squash of"),
                    "{note}"
                );
            }
            "merge" => assert_eq!(parents.split(' ').count(), 2),
            _ => {
                assert_eq!(
                    repo.git(&["rev-list", "--count", &format!("{before_main}..main")]),
                    "2"
                );
                assert_eq!(repo.git(&["log", "-1", "--format=%s", "main"]), "a feature");
            }
        }
        // The main worktree (which has main checked out) moved with it.
        assert_eq!(repo.git(&["status", "--porcelain"]), "", "{strategy}");
        assert_eq!(
            std::fs::read_to_string(repo.root.join("feature.txt")).unwrap(),
            "feature\n"
        );
        // The session ended: worktree and branch gone.
        assert_eq!(repo.meta("s")["status"], "complete");
        assert!(!repo.root.join(".worktrees/s").exists());
        assert!(!repo.has_ref(&repo.root, "refs/heads/session/s"));
    }
}

/// The target's worktree keeps its own changes in other files; undo gives back refs, files and
/// `git status` exactly, the session and its worktree included.
#[test]
fn land_keeps_local_changes_and_undo_restores_everything() {
    let repo = base_repo();
    let wt = session_with_commits(&repo, "s");
    write_file(&wt.join("notes.txt"), "untracked in the session\n");
    repo.session(&["land", "s", "--include-uncommitted", "--dry-run"])
        .ok();
    write_file(&repo.root.join("other.txt"), "a local change on main\n");
    write_file(&repo.root.join("scratch.txt"), "untracked on main\n");
    let before = state(&repo);
    let out = repo.session(&["land", "s"]).fails();
    assert!(
        out.stderr.contains("uncommitted work: notes.txt"),
        "{}",
        out.stderr
    );
    same(&state(&repo), &before, "a refused landing");
    // lib.txt, which the landing writes, only touched on main: not a change.
    let touched = std::fs::File::options()
        .append(true)
        .open(repo.root.join("lib.txt"))
        .unwrap();
    touched
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(touched);
    repo.session(&["land", "s", "--include-uncommitted"]).ok();
    assert_eq!(
        std::fs::read_to_string(repo.root.join("other.txt")).unwrap(),
        "a local change on main\n"
    );
    assert!(repo.root.join("notes.txt").exists());
    repo.session(&["undo"]).ok();
    same(&state(&repo), &before, "undo of land");
    repo.session(&["redo"]).ok();
    assert!(repo.root.join("notes.txt").exists());
}

/// Without any identity configured (git guesses one for its own commits), a landing still
/// writes its provenance note: gix writes notes with an author as well as a committer.
#[test]
fn land_without_an_identity_writes_its_note() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    std::fs::write(
        repo.home.join(".gitconfig"),
        "[init]\n\tdefaultBranch = main\n",
    )
    .unwrap();
    repo.session(&["land", "s"]).ok();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let note = repo.git(&["notes", "--ref=refs/notes/sessions", "show", head.trim()]);
    assert!(note.contains("session: s"), "{note}");
}

/// Refusals change nothing: nothing to land, a conflict, a failing check, a check from the
/// tracked file not approved, the target's worktree dirty where the landing writes.
#[test]
fn refused_landings_change_nothing() {
    let repo = base_repo();
    repo.new_session("empty");
    let before = state(&repo);
    let out = repo.session(&["land", "empty"]).fails();
    assert!(out.stderr.contains("nothing to land"), "{}", out.stderr);
    same(&state(&repo), &before, "nothing to land");

    session_with_commits(&repo, "s");
    repo.commit_files(
        &[("lib.txt", "uno\ntwo\nthree\nfour\nfive\nsix\nseven\n")],
        "main changes the first line too",
    );
    let before = state(&repo);
    let out = repo.session(&["land", "s"]).fails();
    assert!(
        out.stderr.contains("would conflict in lib.txt"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("git merge main"), "{}", out.stderr);
    same(&state(&repo), &before, "a conflict");

    let repo = base_repo();
    session_with_commits(&repo, "s");
    repo.git(&["config", "session.preLand", "test ! -f feature.txt"]);
    let before = state(&repo);
    let out = repo.session(&["land", "s"]).fails();
    assert!(
        out.stderr.contains("test ! -f feature.txt"),
        "{}",
        out.stderr
    );
    same(&state(&repo), &before, "a failing check");
    repo.git(&["config", "--unset", "session.preLand"]);
    repo.commit_files(
        &[(".git-session.yaml", "preLand: test -f feature.txt\n")],
        "checks",
    );
    let out = repo.session(&["land", "s"]).fails();
    assert!(out.stderr.contains("not approved"), "{}", out.stderr);
    repo.session(&["approve", "--", "test -f feature.txt"]).ok();
    write_file(&repo.root.join("feature.txt"), "in the way on main\n");
    let before = state(&repo);
    let out = repo.session(&["land", "s"]).fails();
    assert!(
        out.stderr
            .contains("has untracked or ignored files where the landing writes: feature.txt"),
        "{}",
        out.stderr
    );
    same(&state(&repo), &before, "an untracked file in the way");
    std::fs::remove_file(repo.root.join("feature.txt")).unwrap();
    write_file(
        &repo.root.join("lib.txt"),
        "one\ntwo\nthree\nfour\nfive\nsix\nseven, edited on main\n",
    );
    let before = state(&repo);
    let out = repo.session(&["land", "s"]).fails();
    assert!(
        out.stderr
            .contains("has changes in files the landing writes: lib.txt"),
        "{}",
        out.stderr
    );
    same(&state(&repo), &before, "a dirty target worktree");
    repo.git(&["checkout", "--", "lib.txt"]);
    // Approved, the check runs on the landing tree, and passes.
    let out = repo.session(&["land", "s", "--keep"]).ok();
    assert!(out.stderr.contains("Running check"), "{}", out.stderr);
    // --keep: the session goes on from what landed.
    assert_eq!(repo.meta("s")["status"], "active");
    assert_eq!(
        repo.git(&["rev-parse", "session/s"]),
        repo.git(&["rev-parse", "main"])
    );
    // Its base is what landed: nothing of it is unlanded, and ending it removes its clean
    // worktree (it said "1 commit(s) not on its base" and kept it).
    assert_eq!(repo.meta("s")["base"], repo.git(&["rev-parse", "main"]));
    let out = repo.session(&["end", "s"]).ok();
    assert!(!out.stderr.contains("not on its base"), "{}", out.stderr);
}

fn three_sessions(repo: &TestRepo) -> (PathBuf, PathBuf, PathBuf) {
    let clean = repo.new_session("clean");
    write_file(&clean.join("clean.txt"), "clean\n");
    repo.git_in(&clean, &["add", "clean.txt"]);
    repo.git_in(&clean, &["commit", "-qm", "clean work"]);
    let dirty = repo.new_session("dirty");
    write_file(
        &dirty.join("lib.txt"),
        "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n",
    );
    repo.git_in(&dirty, &["commit", "-qam", "dirty: first line"]);
    write_file(
        &dirty.join("lib.txt"),
        "ONE\ntwo\nthree\nFOUR (uncommitted)\nfive\nsix\nseven\n",
    );
    write_file(&dirty.join("staged.txt"), "staged\n");
    repo.git_in(&dirty, &["add", "staged.txt"]);
    write_file(&dirty.join("untracked.txt"), "untracked\n");
    let clash = repo.new_session("clash");
    write_file(
        &clash.join("lib.txt"),
        "one\ntwo\nthree\nfour\nfive\nsix\nSEVEN (clash)\n",
    );
    repo.git_in(&clash, &["commit", "-qam", "clash: last line"]);
    (clean, dirty, clash)
}

/// `sync --all`: a clean session rebased, a dirty one rebased with its uncommitted, staged
/// and untracked work carried, a conflicting one left untouched and reported; rows, JSON,
/// exit 1; undo puts every synced one back exactly.
#[test]
fn sync_all_carries_work_and_leaves_conflicts_untouched() {
    let repo = base_repo();
    let (clean, dirty, clash) = three_sessions(&repo);
    repo.commit_files(
        &[(
            "lib.txt",
            "one\ntwo\nthree\nfour\nfive\nsix\nseven (main)\n",
        )],
        "main moves",
    );
    let main = repo.git(&["rev-parse", "main"]);
    let clash_before = crate::support::tree_state(&clash);
    let clash_head = repo.git_in(&clash, &["rev-parse", "HEAD"]);
    let before = state(&repo);
    let out = repo.session(&["sync", "--all", "--json"]).fails();
    let rows = out.json();
    let outcome = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome("clean")["outcome"], "synced");
    assert_eq!(outcome("dirty")["outcome"], "synced");
    assert_eq!(outcome("clash")["outcome"], "would-conflict");
    assert_eq!(outcome("clash")["files"], serde_json::json!(["lib.txt"]));
    for wt in [&clean, &dirty] {
        assert_eq!(repo.git_in(wt, &["merge-base", "HEAD", "main"]), main);
        assert_eq!(repo.git_in(wt, &["rev-list", "--count", "main..HEAD"]), "1");
    }
    assert_eq!(
        repo.git_in(
            &dirty,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        " M lib.txt\nA  staged.txt\n?? untracked.txt"
    );
    assert_eq!(
        std::fs::read_to_string(dirty.join("lib.txt")).unwrap(),
        "ONE\ntwo\nthree\nFOUR (uncommitted)\nfive\nsix\nseven (main)\n"
    );
    assert_eq!(crate::support::tree_state(&clash), clash_before);
    assert_eq!(repo.git_in(&clash, &["rev-parse", "HEAD"]), clash_head);
    // The table.
    let again = repo.session(&["sync", "--all"]).fails();
    assert!(again.stdout.contains("already current"), "{}", again.stdout);
    assert!(
        again.stdout.contains("would conflict    lib.txt"),
        "{}",
        again.stdout
    );
    // Undo of the first sync (the second changed nothing).
    let op = repo.session(&["op", "log", "--json"]).ok().json();
    let first = op
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["command"] == "sync --all --json")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    repo.session(&["undo", &first]).ok();
    let mut now = state(&repo);
    // Only the sessions' logs may differ (undo records on them); refs of branches must not.
    now.refs = now
        .refs
        .lines()
        .filter(|l| !l.starts_with("refs/sessions/"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut want = before;
    want.refs = want
        .refs
        .lines()
        .filter(|l| !l.starts_with("refs/sessions/"))
        .collect::<Vec<_>>()
        .join("\n");
    same(&now, &want, "undo of sync");
}

/// git stops part-way where the prediction on trees saw no conflict (a merge driver that
/// fails only in the session's worktree, where an ignored marker file sits): the session is
/// put back exactly, nothing is left mid-rebase.
#[test]
fn a_sync_git_stops_is_put_back() {
    let repo = base_repo();
    repo.commit_files(
        &[
            (".gitattributes", "lib.txt merge=picky\n"),
            (".gitignore", ".stop-here\n"),
        ],
        "driver",
    );
    repo.git(&[
        "config",
        "merge.picky.driver",
        "test ! -e .stop-here && git merge-file %A %O %B",
    ]);
    let wt = repo.new_session("s");
    write_file(&wt.join(".stop-here"), "");
    write_file(
        &wt.join("lib.txt"),
        "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n",
    );
    repo.git_in(&wt, &["commit", "-qam", "first line"]);
    write_file(&wt.join("wip.txt"), "uncommitted\n");
    repo.commit_files(
        &[(
            "lib.txt",
            "one\ntwo\nthree\nfour\nfive\nsix\nseven (main)\n",
        )],
        "main moves",
    );
    let files = crate::support::tree_state(&wt);
    let status = repo.git_in(&wt, &["status", "--porcelain=v1", "--untracked-files=all"]);
    let head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    let out = repo.session(&["sync", "s", "--json"]).fails();
    let row = &out.json()[0];
    assert_eq!(row["outcome"], "stopped", "{row}");
    // git's own words are on the row; the hint does not speak of conflicts git never met.
    assert!(
        out.stderr.ends_with(
            "hint: where git stopped, its row says on what; put that right (or sync by hand in the session's worktree with `git rebase <base>` or `git merge <base>`), then sync again\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(crate::support::tree_state(&wt), files);
    assert_eq!(
        repo.git_in(&wt, &["status", "--porcelain=v1", "--untracked-files=all"]),
        status
    );
    assert_eq!(repo.git_in(&wt, &["rev-parse", "HEAD"]), head);
    let git_dir = PathBuf::from(repo.git_in(&wt, &["rev-parse", "--absolute-git-dir"]));
    for leftover in ["rebase-merge", "rebase-apply", "MERGE_HEAD"] {
        assert!(!git_dir.join(leftover).exists(), "{leftover} left behind");
    }
    // git's advice for going on (`git rebase --continue`) is not passed on: it was aborted.
    assert!(!row.to_string().contains("--continue"), "{row}");
    // A merge tells its conflict on stdout only: the row has it.
    let out = repo.session(&["sync", "s", "--merge", "--json"]).fails();
    let row = &out.json()[0];
    assert_eq!(row["outcome"], "stopped", "{row}");
    assert!(row.to_string().contains("CONFLICT"), "{row}");
    assert_eq!(crate::support::tree_state(&wt), files);
    for leftover in ["rebase-merge", "rebase-apply", "MERGE_HEAD"] {
        assert!(!git_dir.join(leftover).exists(), "{leftover} left behind");
    }
}

/// Checkpoints racing a sync, then a landing: every checkpoint printed stays in the log, the
/// loop really ran, and the last thing written is never lost.
#[test]
fn land_and_sync_racing_checkpoints() {
    for command in ["sync", "land"] {
        let repo = base_repo();
        let wt = session_with_commits(&repo, "s");
        repo.commit_files(&[("other.txt", "main moved\n")], "main moves");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let taken = std::sync::atomic::AtomicUsize::new(0);
        let (printed, last) = std::thread::scope(|s| {
            let (repo, stop, wt, taken) = (&repo, &stop, &wt, &taken);
            let checkpoints = s.spawn(move || {
                let mut ids = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) || i < 2 {
                    // Counted once written: a write into a removed worktree is no write.
                    if std::fs::write(wt.join("wip.txt"), format!("{}\n", i + 1)).is_err() {
                        break;
                    }
                    i += 1;
                    let out = repo.session(&["checkpoint", "s"]);
                    if out.code == 0 {
                        ids.push(out.stdout.trim().to_owned());
                        taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                (ids, i)
            });
            // The race starts once the loop has taken a checkpoint (on a busy machine the
            // command could otherwise end before the loop's first one).
            let started = std::time::Instant::now();
            while taken.load(std::sync::atomic::Ordering::SeqCst) == 0
                && started.elapsed() < std::time::Duration::from_secs(60)
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let args: &[&str] = if command == "sync" {
                &["sync", "s"]
            } else {
                &["land", "s", "--include-uncommitted"]
            };
            let _ = repo.session(args);
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            checkpoints.join().unwrap()
        });
        assert!(
            !printed.is_empty(),
            "{command}: the checkpoint loop never ran"
        );
        let logged = repo.git(&["log", "--format=%P", "refs/sessions/s"]);
        for id in &printed {
            assert!(
                logged.contains(id.as_str()),
                "{command}: checkpoint {id} is not in the log"
            );
        }
        // The last write is in the worktree, or in a checkpoint of the session's log.
        let want = format!("{last}\n");
        let in_worktree = std::fs::read_to_string(wt.join("wip.txt")).ok() == Some(want.clone());
        let in_log = repo
            .git(&["log", "--format=%P", "refs/sessions/s"])
            .lines()
            .filter_map(|p| p.split(' ').nth(1).map(str::to_owned))
            .any(|c| {
                repo.cmd_in(&repo.root, "git", &["show", &format!("{c}:wip.txt")])
                    .stdout
                    == want
            });
        assert!(
            in_worktree || in_log,
            "{command}: the last write ({last}) is lost"
        );
    }
}

/// `land --keep --include-uncommitted`, then undo: the uncommitted, staged and untracked work
/// is back as it was. A staged change in the target's worktree survives a landing and its
/// undo.
#[test]
fn keep_with_uncommitted_work_and_staged_changes_in_the_target_undo_exactly() {
    let repo = base_repo();
    let wt = session_with_commits(&repo, "s");
    write_file(
        &wt.join("lib.txt"),
        "ONE\ntwo\nthree\nfour\nfive\nsix\nseven (dirty)\n",
    );
    write_file(&wt.join("untracked.txt"), "untracked\n");
    write_file(&wt.join("staged.txt"), "staged\n");
    repo.git_in(&wt, &["add", "staged.txt"]);
    write_file(&repo.root.join("main-staged.txt"), "staged on main\n");
    repo.git(&["add", "main-staged.txt"]);
    let before = state(&repo);
    repo.session(&["land", "s", "--keep", "--include-uncommitted", "--rebase"])
        .ok();
    assert_eq!(
        repo.git(&["status", "--porcelain=v1"]),
        "A  main-staged.txt"
    );
    assert_eq!(repo.git_in(&wt, &["status", "--porcelain=v1"]), "");
    repo.session(&["undo"]).ok();
    same(
        &state(&repo),
        &before,
        "undo of land --keep --include-uncommitted",
    );
}

/// A session made from the main worktree's branch lands into and syncs with that branch,
/// not with whatever the main worktree has checked out later.
#[test]
fn the_base_branch_is_remembered_by_name() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit_files(&[("feature-only.txt", "x\n")], "feature work");
    let plan = repo
        .session(&["land", "s", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(plan["into"], "main");
    repo.session(&["sync", "s"]).ok();
    assert!(!repo.root.join(".worktrees/s/feature-only.txt").exists());
}

/// git replaces an ignored file the new base tracks without a word: a sync that would do so
/// is refused, and a landing leaves the target's ignored file alone (refused too).
#[test]
fn ignored_files_are_never_overwritten() {
    let repo = base_repo();
    repo.commit_files(&[(".gitignore", "app.log\n")], "ignore logs");
    let wt = session_with_commits(&repo, "s");
    write_file(&wt.join("app.log"), "precious local log\n");
    write_file(&repo.root.join("app.log"), "from main\n");
    repo.git(&["add", "-f", "app.log"]);
    repo.git(&["commit", "-qm", "main tracks app.log"]);
    let out = repo.session(&["sync", "s", "--json"]).fails();
    assert_eq!(out.json()[0]["outcome"], "skipped", "{}", out.stdout);
    assert!(
        out.stderr
            .ends_with("error: 1 session(s) could not be synced\nhint: where a session was skipped, its row says why; sync again once that is over\n"),
        "only skipped: no talk of conflicts: {}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("app.log")).unwrap(),
        "precious local log\n"
    );
    // The other way round: the session tracks it, main has it ignored and untracked.
    let repo = base_repo();
    repo.commit_files(&[(".gitignore", "app.log\n")], "ignore logs");
    let wt = session_with_commits(&repo, "t");
    write_file(&wt.join("app.log"), "from the session\n");
    repo.git_in(&wt, &["add", "-f", "app.log"]);
    repo.git_in(&wt, &["commit", "-qm", "track app.log"]);
    write_file(&repo.root.join("app.log"), "precious main log\n");
    let before = state(&repo);
    repo.session(&["land", "t"]).fails();
    same(&state(&repo), &before, "a landing over an ignored file");
    assert_eq!(
        std::fs::read_to_string(repo.root.join("app.log")).unwrap(),
        "precious main log\n"
    );
}

/// A `land` killed after it moved the target (as `kill -9` would, there) is recorded by the
/// next command as an operation killed part-way, and `undo` takes it back. The walk-through
/// found `main` moved with no record, and `undo` taking back the operation before instead.
#[test]
fn a_land_killed_after_moving_the_target_is_recorded_and_undone() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    let before = state(&repo);
    let main_before = repo.git(&["rev-parse", "main"]);
    let out = repo.cmd_in(
        &repo.root,
        "env",
        &["GIT_SESSION_FAULT=land-moved", BIN, "land", "s"],
    );
    assert_ne!(out.code, 0, "it was not killed: {}", out.stderr);
    assert_ne!(repo.git(&["rev-parse", "main"]), main_before, "main moved");
    let undo = repo.session(&["undo"]).ok();
    assert!(
        undo.stderr
            .contains("Recorded `land s (killed part-way)`: it was killed after changing refs (`git session undo` takes it back)"),
        "{}",
        undo.stderr
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
    same(&state(&repo), &before, "undo of a killed land");
    // Recorded once: nothing is left for doctor.
    let doctor = repo.session(&["doctor"]).ok();
    assert!(
        !doctor.stdout.contains("killed-operation"),
        "{}",
        doctor.stdout
    );
    // A target no worktree has checked out: recorded, and taken back.
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    let before = state(&repo);
    let out = repo.cmd_in(
        &repo.root,
        "env",
        &["GIT_SESSION_FAULT=land-moved", BIN, "land", "s"],
    );
    assert_ne!(out.code, 0, "it was not killed: {}", out.stderr);
    assert_ne!(repo.git(&["rev-parse", "main"]), main_before);
    repo.session(&["undo"]).ok();
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
    same(
        &state(&repo),
        &before,
        "undo of a killed land into a branch checked out nowhere",
    );
}

/// A target worktree in the middle of git's own work (a conflicted merge, a rebase of the
/// target) is refused by the plan, `--dry-run` included, changing nothing. The walk-through
/// saw the dry run promise a landing git then refused, and a landing move `main` under a
/// rebase of it.
#[test]
fn a_target_worktree_that_git_is_busy_in_is_refused() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.commit_files(&[("other.txt", "side\n")], "side");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_files(&[("other.txt", "main\n")], "main");
    let merge = repo.cmd_in(&repo.root, "git", &["merge", "-q", "side"]);
    assert_ne!(merge.code, 0, "no conflict: {}", merge.stdout);
    let before = state(&repo);
    for args in [&["land", "s", "--dry-run"][..], &["land", "s"]] {
        let out = repo.session(args).fails();
        assert!(
            out.stderr.contains("a merge is in progress there"),
            "{}",
            out.stderr
        );
        assert_eq!(out.error_lines(), 1, "{}", out.stderr);
    }
    same(
        &state(&repo),
        &before,
        "a landing into a worktree mid-merge",
    );
    repo.git(&["merge", "--abort"]);
    let rebase = repo.cmd_in(
        &repo.root,
        "env",
        &[
            "GIT_SEQUENCE_EDITOR=sed -i s/^pick/edit/",
            "git",
            "rebase",
            "-q",
            "-i",
            "HEAD~1",
        ],
    );
    assert_eq!(rebase.code, 0, "{}", rebase.stderr);
    let main_before = repo.git(&["rev-parse", "main"]);
    let out = repo.session(&["land", "s"]).fails();
    assert!(out.stderr.contains("in progress there"), "{}", out.stderr);
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
}

/// The target's worktree moves by `git merge --ff-only`: settings of the user's that make a
/// merge do more or other than that (a review found `mergeOptions=--squash` left the landing
/// staged and `main` where it was, `pull.twohead=ours` made a merge commit that threw the
/// landing away) change nothing, and no maintenance git would start after it lingers.
#[test]
fn user_merge_settings_do_not_change_a_landing() {
    let repo = base_repo();
    for (key, value) in [
        ("branch.main.mergeOptions", "--squash -s ours"),
        ("pull.twohead", "ours"),
        ("merge.verifySignatures", "true"),
        ("merge.autoStash", "true"),
        ("merge.ff", "false"),
        ("gc.auto", "1"),
    ] {
        repo.git(&["config", key, value]);
    }
    session_with_commits(&repo, "s");
    let landing = repo.git(&["rev-parse", "session/s^{tree}"]);
    repo.session(&["land", "s"]).ok();
    assert_eq!(repo.git(&["rev-parse", "main^{tree}"]), landing);
    let parents = repo.git(&["show", "-s", "--format=%P", "main"]);
    assert!(!parents.contains(' '), "a merge: {parents}");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

/// A PATH with a `git` first on it that runs the shell `action` when it is asked to `merge`
/// (land's fast-forward of the target), then the real git.
fn path_with_git_doing(repo: &TestRepo, dir: &str, action: &str) -> String {
    let bin = repo.home.join(dir);
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("git");
    let real_git = crate::support::real_git();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \" $* \" in *\" merge \"*) {action} ;; esac\nexec {real_git} \"$@\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// Killed while git fast-forwards the target (a `git` first on PATH kills git-session as
/// git starts, and git goes on): the next command records the landing, its worktree
/// holding exactly what landed, and `undo` takes it back. The walk-through killed it inside
/// the files' move when they moved first: the main worktree held the landing staged, and
/// nothing recorded it.
#[test]
fn a_land_killed_while_git_moves_the_target_is_recorded_by_the_next_command() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    write_file(&repo.root.join("mine.txt"), "the user's own, untracked\n");
    let before = state(&repo);
    let main_before = repo.git(&["rev-parse", "main"]);
    let path = path_with_git_doing(&repo, "kill-bin", "kill -9 $PPID; sleep 0.5");
    let out = repo.cmd_in(
        &repo.root,
        "env",
        &[&format!("PATH={path}"), BIN, "land", "s"],
    );
    assert_ne!(out.code, 0, "it was not killed: {}", out.stderr);
    // git finishes on its own, holding the journal's lock meanwhile: a command that looks
    // before must leave the journal be (it would find nothing moved yet), and the next
    // command after finds git's work done.
    repo.session(&["list"]).ok();
    // An undo meanwhile would take back the operation before it: refused.
    let undo = repo.session(&["undo"]).fails();
    assert!(undo.stderr.contains("under way"), "{}", undo.stderr);
    for _ in 0..100 {
        if repo.git(&["rev-parse", "main"]) != main_before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let list = repo.session(&["list"]).ok();
    assert!(
        list.stderr.contains("land s (killed part-way)"),
        "{}",
        list.stderr
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? mine.txt");
    assert_eq!(
        repo.git(&["rev-parse", "main^{tree}"]),
        repo.git(&["rev-parse", "session/s^{tree}"])
    );
    repo.session(&["undo"]).ok();
    same(
        &state(&repo),
        &before,
        "undo of a land killed while git moved the target",
    );
}

/// Ctrl-C while git moves the target's files (the terminal signals the whole process group):
/// the landing is held until done, git's merge is not reached, and it is recorded like
/// any other. A `git` first on PATH stands in for the terminal at `merge`.
#[test]
fn ctrl_c_while_the_target_files_move_finishes_the_landing() {
    let repo = base_repo();
    session_with_commits(&repo, "s");
    let landing = repo.git(&["rev-parse", "session/s^{tree}"]);
    let path = path_with_git_doing(
        &repo,
        "ctrl-c-bin",
        "kill -INT -\"$(ps -o pgid= -p \"$PPID\" | tr -d ' ')\"; sleep 0.3",
    );
    // In a process group of its own (setsid), so the signal reaches only the landing.
    let out = repo.cmd_in(
        &repo.root,
        "env",
        &[&format!("PATH={path}"), "setsid", "-w", BIN, "land", "s"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(repo.git(&["rev-parse", "main^{tree}"]), landing);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert!(!repo.root.join(".git/index.lock").exists());
    let log = repo.session(&["op", "log", "-n", "1"]).ok();
    assert!(log.stdout.contains("land s"), "{}", log.stdout);
}
