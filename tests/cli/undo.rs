//! Undo round trips: for each operation, `undo` gives back exactly the state before (refs,
//! worktrees, every file's bytes, `git status`), and undoing the undo gives the state after.
//! And what undo refuses: a push, a session that changed since, a path taken.

use std::path::Path;

use crate::support::{TestRepo, same, state, tree_state, write_file};

fn dirty(repo: &TestRepo, name: &str) -> std::path::PathBuf {
    let wt = repo.new_session(name);
    write_file(&wt.join("README.md"), "hello\nchanged\n");
    write_file(&wt.join("dir/new.txt"), "new file\n");
    write_file(&wt.join("staged.txt"), "staged\n");
    repo.git_in(&wt, &["add", "staged.txt"]);
    wt
}

/// Runs `args`, then checks undo gives the state before and redo the state after.
#[track_caller]
fn round_trip(repo: &TestRepo, dir: &Path, args: &[&str]) {
    let before = state(repo);
    repo.session_in(dir, args).ok();
    let after = state(repo);
    assert_ne!(before, after, "{args:?} changed nothing");
    repo.session(&["undo"]).ok();
    same(&state(repo), &before, &format!("undo of {args:?}"));
    repo.session(&["redo"]).ok();
    same(&state(repo), &after, &format!("redo of {args:?}"));
    repo.session(&["undo"]).ok();
    same(&state(repo), &before, &format!("undo again of {args:?}"));
}

/// A session ref someone pointed at a blob, removed: the operation log keeps the blob
/// reachable without making it a commit's parent (which broke `git fsck` and `git gc` for
/// the whole repository), and undo brings the ref back.
#[test]
fn removing_a_session_ref_that_points_at_a_blob_leaves_the_repository_sound() {
    let repo = TestRepo::new();
    repo.session(&["new", "--no-worktree", "vic"]).ok();
    let blob = repo.git(&["hash-object", "-w", "--stdin"]);
    repo.git(&["update-ref", "refs/sessions/vic", &blob]);
    repo.session(&["rm", "vic"]).ok();
    assert!(!repo.has_ref(&repo.root, "refs/sessions/vic"));
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    repo.git(&["gc", "--quiet", "--prune=now"]);
    repo.session(&["undo"]).ok();
    assert_eq!(repo.git(&["rev-parse", "refs/sessions/vic"]), blob);
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    // The chain is still read whole (its file rebuilt from it, as after a lost append).
    let listed = |repo: &TestRepo| {
        let log = repo.session(&["op", "log", "--json"]).ok().json();
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| r["command"].as_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
    };
    let before = listed(&repo);
    assert_eq!(before.len(), 3, "{before:?}");
    std::fs::remove_file(repo.root.join(".git/session/oplog.jsonl")).unwrap();
    assert_eq!(listed(&repo), before);
}

#[test]
fn every_operation_round_trips() {
    let repo = TestRepo::new();
    let root = repo.root.clone();
    round_trip(&repo, &root, &["new", "--head", "a"]);
    let wt = dirty(&repo, "s");
    round_trip(&repo, &wt, &["checkpoint"]);
    round_trip(&repo, &root, &["fork", "s", "f"]);
    round_trip(&repo, &root, &["rename", "s", "t"]);
    round_trip(&repo, &root, &["context", "s", "--append", "next: tests"]);
    round_trip(&repo, &root, &["handoff", "s", "-m", "over to you"]);
    let ckpt = repo.session(&["checkpoint", "s"]).ok().line().to_owned();
    write_file(&wt.join("later.txt"), "after the checkpoint\n");
    round_trip(&repo, &wt, &["rewind", &ckpt]);
    round_trip(&repo, &root, &["end", "s", "--remove"]);
    round_trip(&repo, &root, &["rm", "--force", "s"]);
    round_trip(&repo, &root, &["hooks", "install"]);
    round_trip(&repo, &root, &["claude", "install"]);
    repo.new_session("clean");
    round_trip(&repo, &root, &["end", "clean"]);
    repo.advance(30 * 86_400);
    round_trip(&repo, &root, &["gc"]);
}

#[test]
fn a_resume_that_made_the_worktree_again_round_trips() {
    let repo = TestRepo::new();
    dirty(&repo, "s");
    repo.session(&["end", "s", "--remove"]).ok();
    round_trip(&repo, &repo.root.clone(), &["resume", "s"]);
}

#[test]
fn undo_refuses_what_changed_since_and_a_push() {
    let repo = TestRepo::new();
    let wt = dirty(&repo, "s");
    repo.session(&["end", "s", "--remove"]).ok();
    // The path is taken: nothing changes.
    std::fs::create_dir_all(&wt).unwrap();
    let before = state(&repo);
    let out = repo.session(&["undo"]).fails();
    assert!(out.stderr.contains("is taken"), "{}", out.stderr);
    assert_eq!(state(&repo), before);
    std::fs::remove_dir(&wt).unwrap();
    // A session that gained an event since: refused by name.
    repo.session(&["undo"]).ok();
    repo.session(&["checkpoint", "s", "-m", "one more"]).ok();
    let op = repo
        .session(&["op", "log", "--json", "-n", "3"])
        .ok()
        .json()[1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = repo.session(&["undo", &op]).fails();
    assert!(
        out.stderr.contains("session 's' changed since"),
        "{}",
        out.stderr
    );
    // A push cannot be unpublished; the line names what would delete it.
    let bare = repo.home.join("remote.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.session(&["push", "origin", "s"]).ok();
    let log = repo
        .session(&["op", "log", "--json", "-n", "1"])
        .ok()
        .json();
    assert_eq!(log[0]["sessions"][0]["name"], "s", "{log:#}");
    let before = state(&repo);
    let out = repo.session(&["undo"]).fails();
    assert!(
        out.stderr.contains("cannot be unpublished"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("git push origin --delete"),
        "{}",
        out.stderr
    );
    assert_eq!(state(&repo), before);
}

/// Inside a session's worktree, `undo` takes back that session's latest operation, not
/// another agent's newer one.
#[test]
fn undo_in_a_worktree_is_scoped_to_its_session() {
    let repo = TestRepo::new();
    let a = dirty(&repo, "a");
    let b = dirty(&repo, "b");
    repo.session_in(&a, &["checkpoint"]).ok();
    let b_before = state(&repo);
    repo.session_in(&b, &["checkpoint"]).ok();
    let a_log = repo.git(&["rev-parse", "refs/sessions/a"]);
    let out = repo.session_in(&a, &["undo"]).ok();
    assert!(out.stderr.contains("Undid"), "{}", out.stderr);
    assert_ne!(repo.git(&["rev-parse", "refs/sessions/a"]), a_log);
    // b's checkpoint is still there.
    assert_ne!(
        repo.git(&["rev-parse", "refs/sessions/b"]),
        b_before
            .refs
            .lines()
            .find(|l| l.starts_with("refs/sessions/b "))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
    );
    // An automatic operation (Claude Code's Stop hook checkpointing b) is passed over by a
    // plain undo in b: it picks b's own checkpoint, which the automatic one came after, so
    // it refuses; the automatic one is undone by naming it.
    write_file(&b.join("turn.txt"), "an agent's turn\n");
    let stop = repo.cmd_in(
        &b,
        "sh",
        &[
            "-c",
            "printf '{}' | \"$1\" claude stop",
            "sh",
            crate::support::BIN,
        ],
    );
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    let log = repo
        .session(&["op", "log", "--session", "b", "--json"])
        .ok()
        .json();
    assert_eq!(log[0]["automatic"], true, "{log}");
    let out = repo.session_in(&b, &["undo"]).fails();
    assert!(
        out.stderr.contains("session 'b' changed since"),
        "{}",
        out.stderr
    );
    let auto = log[0]["id"].as_str().unwrap();
    let out = repo.session_in(&b, &["undo", auto, "--json"]).ok().json();
    assert_eq!(out["op"], auto);
}

/// `trash` lists what `rm` deleted; `restore` brings it back with its id, its log and its
/// worktree with the files; a taken name is refused with `--as` offered.
#[test]
fn trash_and_restore() {
    let repo = TestRepo::new();
    let wt = dirty(&repo, "s");
    let id = repo.meta("s")["id"].as_str().unwrap().to_owned();
    let files = tree_state(&wt);
    repo.session(&["rm", "--force", "s"]).ok();
    let trash = repo.session(&["trash", "--json"]).ok().json();
    assert_eq!(trash[0]["name"], "s");
    assert_eq!(trash[0]["id"], id.as_str());
    repo.new_session("s");
    let out = repo.session(&["restore", "s"]).fails();
    assert!(out.stderr.contains("--as"), "{}", out.stderr);
    let out = repo.session(&["restore", &id[..8], "--as", "s2"]).ok();
    let path = std::path::PathBuf::from(out.line());
    assert_eq!(repo.meta("s2")["id"], id.as_str());
    assert_eq!(tree_state(&path), files);
    assert_eq!(
        repo.git_in(
            &path,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        " M README.md\nA  staged.txt\n?? dir/new.txt"
    );
}

/// `gc` drops records older than `session.opLogDays` from the log and from the chain that
/// keeps their commits; the newer ones stay undoable.
#[test]
fn gc_prunes_the_operation_log() {
    let repo = TestRepo::new();
    repo.new_session("old");
    repo.session(&["context", "old", "--append", "early"]).ok();
    repo.advance(100 * 86_400);
    repo.session(&["context", "old", "--append", "later"]).ok();
    let ops = |repo: &TestRepo| -> Vec<String> {
        let log = repo.session(&["op", "log", "--json"]).ok().json();
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| r["command"].as_str().unwrap().to_owned())
            .collect()
    };
    let chain = |repo: &TestRepo| {
        repo.git(&[
            "rev-list",
            "--count",
            "--first-parent",
            "--grep=^op ",
            "refs/sessions-oplog",
        ])
    };
    assert_eq!(chain(&repo), "3");
    repo.git(&["config", "session.opLogDays", "200"]);
    let out = repo.session(&["gc", "--dry-run"]).ok();
    assert!(!out.stdout.contains("operation log"), "{}", out.stdout);
    repo.git(&["config", "session.opLogDays", "90"]);
    let out = repo.session(&["gc", "--dry-run"]).ok();
    assert!(
        out.stdout
            .contains("would prune      operation log                  2 operation(s) older than session.opLogDays (90d)"),
        "{}",
        out.stdout
    );
    assert_eq!(ops(&repo).len(), 3);
    repo.session(&["gc"]).ok();
    assert_eq!(ops(&repo), ["gc", "context old --append later"]);
    assert_eq!(chain(&repo), "2");
    // What stays can still be undone.
    repo.session(&["undo"]).ok();
    let text = repo.session(&["context", "old"]).ok().stdout;
    assert!(text.contains("early") && !text.contains("later"), "{text}");
    repo.git(&["fsck", "--no-progress"]);
}

/// `doctor` names each problem with what `--fix` will do; `--fix` repairs what can be
/// repaired without losing anything (as an operation `undo` takes back) and leaves the rest.
#[test]
fn doctor_finds_and_fixes() {
    let repo = TestRepo::new();
    // A session branch no session names, all of it on main; one with a commit of its own.
    repo.git(&["branch", "session/ghost"]);
    repo.git(&["checkout", "-q", "-b", "session/own"]);
    repo.commit_files(&[("own.txt", "own\n")], "own work");
    repo.git(&["checkout", "-q", "main"]);
    // A live session whose branch someone deleted.
    repo.session(&["new", "--head", "--no-worktree", "light"])
        .ok();
    repo.git(&["branch", "-D", "session/light"]);
    // A worktree deleted behind git's back.
    let gone = repo.new_session("gone");
    std::fs::remove_dir_all(&gone).unwrap();
    // git's index lock in a session worktree: reported, never removed.
    let busy = repo.new_session("busy");
    let index_lock = repo.root.join(".git/worktrees/busy/index.lock");
    std::fs::write(&index_lock, "").unwrap();
    // An unreadable session.
    repo.forge_log("broken", "version: [1\n", false);
    // Findings left unrepaired make doctor exit 1.
    let kinds = |repo: &TestRepo, args: &[&str]| -> String {
        let found = repo.session(args).fails().json();
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} -> {}{}",
                    f["kind"].as_str().unwrap(),
                    f["subject"]
                        .as_str()
                        .unwrap()
                        .replace(&*repo.root.to_string_lossy(), "<repo>"),
                    f["fix"].as_str().unwrap(),
                    if f["fixed"] == true { " [fixed]" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(kinds(&repo, &["doctor", "--json"]), @r"
    unreadable-session broken -> nothing: inspect it with `git show refs/sessions/broken:session.yaml`; `git session rm broken` moves it to the trash
    missing-worktree gone -> forget it (what it had staged is kept in the log); `git session resume` makes it again
    orphan-branch session/ghost -> delete it (nothing is lost; `git session undo` brings it back)
    orphan-branch session/own -> nothing: merge or delete it yourself (`git branch -D`)
    missing-branch light -> nothing: `git session resume` makes it again from the session's log
    index-lock <repo>/.git/worktrees/busy/index.lock -> nothing: when no git is running there, delete the file
    ");
    insta::assert_snapshot!(kinds(&repo, &["doctor", "--fix", "--json"]), @r"
    unreadable-session broken -> nothing: inspect it with `git show refs/sessions/broken:session.yaml`; `git session rm broken` moves it to the trash
    missing-worktree gone -> forget it (what it had staged is kept in the log); `git session resume` makes it again [fixed]
    orphan-branch session/ghost -> delete it (nothing is lost; `git session undo` brings it back) [fixed]
    orphan-branch session/own -> nothing: merge or delete it yourself (`git branch -D`)
    missing-branch light -> nothing: `git session resume` makes it again from the session's log
    index-lock <repo>/.git/worktrees/busy/index.lock -> nothing: when no git is running there, delete the file
    ");
    assert!(!repo.has_ref(&repo.root, "refs/heads/session/ghost"));
    assert!(repo.has_ref(&repo.root, "refs/heads/session/own"));
    assert!(index_lock.exists() && busy.exists());
    assert!(repo.has_ref(&repo.root, "refs/sessions/broken"));
    // The repair is an operation: undo brings the branch back.
    repo.session(&["undo"]).ok();
    assert!(repo.has_ref(&repo.root, "refs/heads/session/ghost"));
    // The worktree it forgot is made again by resume.
    let back = std::path::PathBuf::from(repo.session(&["resume", "gone"]).ok().line());
    assert!(back.join("README.md").exists());
}

/// A command killed after its refs moved but before its record reached the file: `undo`
/// takes back that operation, not the one before it; a line cut short swallows nothing.
#[test]
fn undo_after_a_crash_takes_back_the_newest_operation() {
    let repo = TestRepo::new();
    repo.new_session("a");
    let crashed = repo.cmd_in(
        &repo.root,
        "sh",
        &[
            "-c",
            "GIT_SESSION_FAULT=record \"$1\" new --head b",
            "sh",
            crate::support::BIN,
        ],
    );
    assert_ne!(crashed.code, 0);
    let out = repo.session(&["undo", "--json"]).ok().json();
    assert_eq!(out["command"], "new --head b");
    assert!(repo.root.join(".worktrees/a").exists());
    assert!(!repo.has_ref(&repo.root, "refs/sessions/b"));
    // A cut line: the next record still reads, and undo takes it back.
    let log = repo.root.join(".git/session/oplog.jsonl");
    let mut text = std::fs::read(&log).unwrap();
    text.extend_from_slice(b"{\"id\":\"cut");
    std::fs::write(&log, text).unwrap();
    repo.new_session("c");
    let out = repo.session(&["undo", "--json"]).ok().json();
    assert_eq!(out["command"], "new --head c");
    // The chain starts at a root of its own: no commit a record names is taken for one.
    let roots = repo.git(&[
        "log",
        "--max-parents=0",
        "--first-parent",
        "--format=%s",
        "refs/sessions-oplog",
    ]);
    assert_eq!(roots, "sessions-oplog root");
    // The file gone: doctor writes it again from the chain, every record in order.
    let before = repo.session(&["op", "log", "--json"]).ok().json();
    std::fs::remove_file(&log).unwrap();
    let found = repo.session(&["doctor", "--json"]).fails().json();
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "oplog")
    );
    repo.session(&["doctor", "--fix"]).ok();
    assert_eq!(repo.session(&["op", "log", "--json"]).ok().json(), before);
}

/// Undoing an operation twice (two terminals at once, or by id again) is refused the
/// second time; a hand-edited record with a bad id is unreadable, never a panic.
#[test]
fn an_operation_is_undone_once() {
    let repo = TestRepo::new();
    repo.new_session("s");
    repo.session(&["context", "s", "--append", "note"]).ok();
    let op = repo
        .session(&["op", "log", "--json", "-n", "1"])
        .ok()
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outcomes: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (repo, op) = (&repo, &op);
                s.spawn(move || repo.session(&["undo", op]).code)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes.iter().filter(|c| **c == 0).count(),
        1,
        "{outcomes:?}"
    );
    let out = repo.session(&["undo", &op]).fails();
    assert!(out.stderr.contains("already undone"), "{}", out.stderr);
    let log = repo.root.join(".git/session/oplog.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&format!(
        "{{\"id\":\"abcdefabcdef\",\"time\":1,\"command\":\"x\",\"refs\":[{{\"name\":\"refs/heads/main\",\"old\":\"{}\",\"new\":null}}]}}\n",
        "é".repeat(20)
    ));
    std::fs::write(&log, text).unwrap();
    let out = repo.session(&["op", "show", "abcdefabcdef"]).fails();
    assert_eq!(out.error_lines(), 1, "{}", out.stderr);
    assert!(repo.has_ref(&repo.root, "refs/heads/main"));
}

/// An ignored file `.worktreeinclude` names that the session changed is work: undo of the
/// `new` keeps the worktree; a forced removal's saved copy survives undo, redo and undo.
#[test]
fn changed_ignored_include_files_are_work_to_undo() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".gitignore", ".env\n"), (".worktreeinclude", ".env\n")],
        "include",
    );
    repo.write(".env", "KEY=main\n");
    let wt = repo.new_session("s");
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_file(&wt.join(".env"), "KEY=session\n");
    let out = repo.session(&["undo"]).ok();
    assert!(out.stderr.contains("kept the worktree"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(wt.join(".env")).unwrap(),
        "KEY=session\n"
    );
    let wt = repo.new_session("t");
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_file(&wt.join(".env"), "KEY=t\n");
    repo.session(&["rm", "--force", "t"]).ok();
    for step in ["undo", "redo", "undo"] {
        repo.session(&[step]).ok();
    }
    assert_eq!(std::fs::read_to_string(wt.join(".env")).unwrap(), "KEY=t\n");
}

/// `doctor --fix` never deletes the branch the main worktree has checked out.
#[test]
fn doctor_keeps_the_branch_checked_out_here() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "session/zzz"]);
    repo.session(&["doctor", "--fix"]).ok();
    assert!(repo.has_ref(&repo.root, "refs/heads/session/zzz"));
    assert_eq!(
        repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]),
        "session/zzz"
    );
}

/// `doctor` reads every session's log itself: one whose objects went missing is found even
/// though what a listing read from it is kept, and its branch is not taken for an orphan.
#[test]
fn doctor_finds_a_log_whose_objects_went_missing_after_it_was_listed() {
    let repo = TestRepo::new();
    repo.session(&["new", "--no-worktree", "lost"]).ok();
    repo.session(&["list"]).ok();
    let blob = repo.git(&["rev-parse", "refs/sessions/lost:session.yaml"]);
    let (dir, file) = blob.split_at(2);
    std::fs::remove_file(repo.root.join(".git/objects").join(dir).join(file)).unwrap();
    let found = repo.session(&["doctor", "--json"]).fails().json();
    let kinds: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["kind"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(kinds, ["unreadable-session lost"], "{found}");
    repo.session(&["doctor", "--fix"]).fails();
    assert!(repo.has_ref(&repo.root, "refs/heads/session/lost"));
}
