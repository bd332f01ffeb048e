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
    assert_eq!(out.error_lines(), 1, "{}", out.stderr);
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

/// A repository whose `.worktreeinclude` copies the ignored `.env`.
fn repo_with_env() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            (".gitignore", ".env\n*.log\n"),
            (".worktreeinclude", ".env\n*.log\n"),
        ],
        "ignore",
    );
    repo.write(".env", "SECRET=1\n");
    repo
}

#[test]
fn ignored_files_the_session_changed_are_work() {
    let repo = repo_with_env();
    let path = repo.new_session("s");
    assert_eq!(
        std::fs::read_to_string(path.join(".env")).unwrap(),
        "SECRET=1\n"
    );
    // Copied and untouched: not work; `end` removes the worktree.
    let clean = repo.new_session("clean");
    repo.session(&["end", "clean"]).ok();
    assert!(!clean.exists());
    // Edited: a plain end keeps the worktree and says why.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(path.join(".env"), "SECRET=edited\n").unwrap();
    write_file(&path.join("debug.log"), "created by the session\n");
    let out = repo.session(&["end", "s"]).ok();
    assert!(path.join(".env").is_file());
    assert!(out.stderr.contains(".worktreeinclude"), "{}", out.stderr);
    assert_eq!(out.line(), path.display().to_string());
    // A forced removal saves them machine-locally (never into a checkpoint) and says where.
    let out = repo.session(&["end", "s", "--remove"]).ok();
    assert!(!path.exists());
    assert!(out.stderr.contains("session/saved"), "{}", out.stderr);
    let ckpts = repo.git(&["log", "--format=%H", "refs/sessions/s"]);
    for id in ckpts.lines() {
        let files = repo.git(&["ls-tree", "-r", "--name-only", id]);
        assert!(!files.contains(".env"), "a checkpoint holds a secret");
    }
    // Resume brings them back.
    let out = repo.session(&["resume", "s"]).ok();
    let path = std::path::PathBuf::from(out.line());
    assert_eq!(
        std::fs::read_to_string(path.join(".env")).unwrap(),
        "SECRET=edited\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("debug.log")).unwrap(),
        "created by the session\n"
    );
}

/// A local edit git was told to pass by (`--skip-worktree`, `--assume-unchanged`): no
/// status shows it and no checkpoint holds it, and `git worktree remove` deletes it.
#[test]
fn edits_git_was_told_not_to_look_at_are_work() {
    let repo = TestRepo::new();
    repo.commit_files(&[("local.conf", "port = 1\n")], "config");
    std::os::unix::fs::symlink("README.md", repo.root.join("link")).unwrap();
    repo.git(&["add", "link"]);
    repo.git(&["commit", "-qm", "a link"]);
    let path = repo.new_session("h");
    repo.git_in(
        &path,
        &["update-index", "--skip-worktree", "README.md", "link"],
    );
    repo.git_in(&path, &["update-index", "--assume-unchanged", "local.conf"]);
    write_file(&path.join("README.md"), "my local notes\n");
    write_file(&path.join("local.conf"), "port = 2\n");
    std::fs::remove_file(path.join("link")).unwrap();
    std::os::unix::fs::symlink("local.conf", path.join("link")).unwrap();
    assert_eq!(repo.git_in(&path, &["status", "--porcelain"]), "");
    let out = repo.session(&["end", "h"]).ok();
    assert!(path.join("local.conf").is_file());
    assert!(out.stderr.contains("skip-worktree"), "{}", out.stderr);
    let out = repo.session(&["end", "h", "--remove"]).ok();
    assert!(!path.exists());
    assert!(out.stderr.contains("session/saved"), "{}", out.stderr);
    let out = repo.session(&["resume", "h"]).ok();
    let path = std::path::PathBuf::from(out.line());
    for (file, text) in [
        ("README.md", "my local notes\n"),
        ("local.conf", "port = 2\n"),
    ] {
        assert_eq!(std::fs::read_to_string(path.join(file)).unwrap(), text);
    }
    // A link comes back as the link it was.
    assert_eq!(
        std::fs::read_link(path.join("link")).unwrap(),
        std::path::Path::new("local.conf")
    );
    // A landing that removes the worktree saves them too, and says so.
    repo.git_in(&path, &["commit", "-qam", "the notes"]);
    repo.git_in(&path, &["update-index", "--skip-worktree", "local.conf"]);
    write_file(&path.join("local.conf"), "port = 3\n");
    let out = repo.session(&["land", "h"]).ok();
    assert!(!path.exists());
    assert!(out.stderr.contains("session/saved"), "{}", out.stderr);
}

/// `git read-tree --reset -u` overwrites an assume-unchanged file's edit (`git reset
/// --hard` does too) and the pre-rewind checkpoint cannot hold it: refused. A skip-worktree
/// file's edit git leaves alone.
#[test]
fn a_rewind_never_overwrites_an_edit_git_was_told_to_pass_by() {
    let repo = TestRepo::new();
    repo.commit_files(&[("local.conf", "port = 1\n")], "config");
    let path = repo.new_session("r");
    write_file(&path.join("work.txt"), "one\n");
    repo.session_in(&path, &["checkpoint"]).ok();
    repo.git_in(&path, &["update-index", "--assume-unchanged", "local.conf"]);
    write_file(&path.join("local.conf"), "port = 2\n");
    write_file(&path.join("work.txt"), "two\n");
    let out = repo.session_in(&path, &["rewind", "@"]).fails();
    assert!(out.stderr.contains("assume-unchanged"), "{}", out.stderr);
    assert!(out.stderr.contains("local.conf"), "{}", out.stderr);
    let read = |file: &str| std::fs::read_to_string(path.join(file)).unwrap();
    assert_eq!(
        (read("local.conf"), read("work.txt")),
        ("port = 2\n".into(), "two\n".into())
    );
    // A sync, which puts the worktree back from a checkpoint when git stops, leaves it be.
    repo.commit_files(&[("upstream.txt", "new\n")], "upstream");
    let out = repo.session(&["sync", "r"]).fails();
    assert!(out.stdout.contains("assume-unchanged"), "{}", out.stdout);
    assert!(!path.join("upstream.txt").exists());
    repo.git_in(
        &path,
        &["update-index", "--no-assume-unchanged", "local.conf"],
    );
    repo.git_in(&path, &["update-index", "--skip-worktree", "local.conf"]);
    repo.session_in(&path, &["rewind", "@"]).ok();
    assert_eq!(
        (read("local.conf"), read("work.txt")),
        ("port = 2\n".into(), "one\n".into())
    );
}

#[test]
fn resume_after_forced_removal_brings_back_commits_and_uncommitted_work() {
    let repo = TestRepo::new();
    let path = repo.new_session("w");
    write_file(&path.join("committed.txt"), "c\n");
    repo.git_in(&path, &["add", "-A"]);
    repo.git_in(&path, &["commit", "-q", "-m", "unpushed"]);
    let tip = repo.git_in(&path, &["rev-parse", "HEAD"]);
    write_file(&path.join("README.md"), "staged\n");
    repo.git_in(&path, &["add", "README.md"]);
    write_file(&path.join("README.md"), "on disk\n");
    write_file(&path.join("untracked.txt"), "u\n");
    let status_before = repo.git_in(&path, &["status", "--porcelain"]);
    let out = repo.session(&["end", "w", "--remove"]).ok();
    assert!(!path.exists());
    assert!(out.stderr.contains("refs/sessions/w"), "{}", out.stderr);
    let out = repo.session(&["resume", "w"]).ok();
    let path = std::path::PathBuf::from(out.line());
    assert_eq!(repo.git_in(&path, &["rev-parse", "HEAD"]), tip);
    assert_eq!(
        repo.git_in(&path, &["status", "--porcelain"]),
        status_before
    );
    assert_eq!(repo.git_in(&path, &["show", ":README.md"]), "staged");
    assert_eq!(
        std::fs::read_to_string(path.join("README.md")).unwrap(),
        "on disk\n"
    );
}

#[test]
fn gc_older_than_never_purges_fresh_trash() {
    let repo = TestRepo::new();
    let path = repo.new_session("doomed");
    write_file(&path.join("work.txt"), "precious\n");
    let out = repo.session(&["rm", "doomed", "--force"]).ok();
    assert!(
        out.stderr.contains("refs/sessions-trash/"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("reachable from refs/sessions/doomed"),
        "{}",
        out.stderr
    );
    repo.advance(3600);
    let dry = repo.session(&["gc", "--older-than", "0s", "-n"]).ok();
    assert!(dry.stdout.contains("session.trashDays"), "{}", dry.stdout);
    repo.session(&["gc", "--older-than", "0s"]).ok();
    let trash = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/sessions-trash/",
    ]);
    assert!(!trash.is_empty(), "the trash was purged");
    // The work is still reachable: some commit in the trashed log holds work.txt.
    let all = repo.git(&["log", "--all", "--format=%H"]);
    assert!(all.lines().any(|c| {
        repo.cmd_in(
            &repo.root,
            "git",
            &["cat-file", "-e", &format!("{c}:work.txt")],
        )
        .code
            == 0
    }));
    // session.trashDays = 0 purges.
    repo.git(&["config", "session.trashDays", "0"]);
    repo.session(&["gc"]).ok();
    assert!(
        repo.git(&["for-each-ref", "refs/sessions-trash/"])
            .is_empty()
    );
}

#[test]
fn ended_sessions_holding_work_stay_listed_and_deleted_parents_are_named() {
    let repo = TestRepo::new();
    let path = repo.new_session("kept");
    write_file(&path.join("x.txt"), "x\n");
    repo.session(&["end", "kept"]).ok();
    let list = repo.session(&["list"]).ok();
    assert!(list.stdout.contains("kept"), "{}", list.stdout);
    repo.new_session("parent");
    repo.session(&["fork", "parent", "child"]).ok();
    repo.session(&["rm", "parent"]).ok();
    let json = repo.session(&["show", "child", "--json"]).ok().json();
    assert_eq!(json["parent"], "parent (deleted)");
    // A session without a worktree forks from its last checkpoint.
    repo.session(&["end", "kept", "--remove"]).ok();
    let out = repo.session(&["fork", "kept", "kept-2"]).ok();
    assert!(std::path::Path::new(out.line()).join("x.txt").is_file());
}

#[test]
fn an_unreadable_session_can_be_moved_to_the_trash() {
    let repo = TestRepo::new();
    repo.new_session("broken");
    // From a newer version, its name still readable: not taken for a restorable session.
    repo.forge_log("broken", "version: 99\nname: broken\n", true);
    let out = repo.session(&["list"]).fails();
    assert!(
        out.stderr.ends_with(
            "hint: inspect it with `git show refs/sessions/broken:session.yaml`; `git session rm broken` moves it to the trash\n"
        ),
        "{}",
        out.stderr
    );
    repo.session(&["rm", "broken"]).ok();
    assert!(repo.git(&["for-each-ref", "refs/sessions/"]).is_empty());
    let kept = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/sessions-trash/",
    ]);
    assert!(
        kept.starts_with("refs/sessions-trash/unreadable-"),
        "{kept}"
    );
    // Not a session the trash can list or restore, but said, with how to look and undo.
    let listed = repo.session(&["trash"]).ok();
    assert_eq!(
        listed.stderr,
        format!(
            "{kept} holds a log that cannot be read as a session (`git show` it; undo of its removal puts it back)\n\
             the trash holds no readable session\n"
        )
    );
    let short = kept.strip_prefix("refs/sessions-trash/").unwrap();
    let refused = repo.session(&["restore", short]).fails();
    assert!(
        refused.stderr.starts_with(&format!(
            "error: {kept} holds a log that cannot be read as a session; it cannot be restored\n"
        )),
        "{}",
        refused.stderr
    );
    repo.session(&["undo"]).ok();
    assert!(repo.has_ref(&repo.root, "refs/sessions/broken"));
}

#[test]
fn an_interrupted_include_copy_is_finished_by_resume() {
    let repo = repo_with_env();
    let path = repo.new_session("half");
    // What a `kill -9` during the copy leaves: the record says pending, the file is missing.
    std::fs::remove_file(path.join(".env")).unwrap();
    let local_dir = repo.root.join(".git/session/local");
    let record = std::fs::read_dir(&local_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&record).unwrap();
    let text = text.replace("\"includes_pending\": false", "\"includes_pending\": true");
    std::fs::write(&record, text).unwrap();
    // And a staging directory nobody holds anymore.
    let stale = path.parent().unwrap().join(".git-session-include-stale");
    write_file(&stale.join(".lock"), "");
    write_file(&stale.join("big"), "copy\n");
    let out = repo.session(&["resume", "half"]).ok();
    assert!(
        out.stderr.contains("Finished the .worktreeinclude copy"),
        "{}",
        out.stderr
    );
    assert!(path.join(".env").is_file());
    repo.new_session("next");
    assert!(!stale.exists(), "a stale staging directory was left behind");
}

#[test]
fn fork_applies_the_main_worktrees_untracked_worktreeinclude() {
    let repo = TestRepo::new();
    repo.commit_files(&[(".gitignore", ".env\n")], "ignore");
    repo.write(".worktreeinclude", ".env\n"); // untracked: only the main worktree has it
    repo.write(".env", "SECRET=1\n");
    let src = repo.new_session("src");
    std::fs::write(src.join(".env"), "SECRET=edited\n").unwrap();
    let out = repo.session(&["fork", "src", "copy"]).ok();
    let copy = std::path::PathBuf::from(out.line());
    assert_eq!(
        std::fs::read_to_string(copy.join(".env")).unwrap(),
        "SECRET=edited\n",
        "copied from the source's worktree by the main worktree's rules"
    );
}

/// A ref lock a killed process left: the operation log's own (which every command records
/// on) is taken back once it is 10 s old; one on a session's branch is named in the error,
/// and doctor removes it once it is a minute old.
#[test]
fn ref_locks_left_by_a_killed_process() {
    let repo = crate::support::TestRepo::new();
    repo.new_session("s");
    let common = repo.root.join(".git");
    let oplog_lock = common.join("refs/sessions-oplog.lock");
    std::fs::write(&oplog_lock, "").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    let set_old = |path: &std::path::Path| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    };
    set_old(&oplog_lock);
    repo.session(&["context", "s", "--append", "still recorded"])
        .ok();
    assert!(!oplog_lock.exists());
    let branch_lock = common.join("refs/heads/session/s.lock");
    std::fs::write(&branch_lock, "").unwrap();
    let out = repo.session(&["end", "s"]).fails();
    assert!(
        out.stderr.contains("session/s.lock exists") && out.stderr.contains("doctor --fix"),
        "{}",
        out.stderr
    );
    set_old(&branch_lock);
    let findings = repo.session(&["doctor", "--fix", "--json"]).json();
    assert!(findings.to_string().contains("stale-lock"), "{findings}");
    assert!(!branch_lock.exists());
    repo.session(&["end", "s"]).ok();
}

/// git's record of a session's worktree damaged (its `gitdir` file emptied): every command
/// says so at once and changes nothing (the worktree's work must not look gone); `git
/// worktree repair` mends it.
#[test]
fn a_damaged_worktree_record_is_an_error_not_a_missing_worktree() {
    let repo = crate::support::TestRepo::new();
    let wt = repo.new_session("s2");
    std::fs::write(wt.join("work.txt"), "work\n").unwrap();
    let admin = repo.root.join(".git/worktrees/s2");
    std::fs::write(admin.join("gitdir"), "").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for path in [admin.join("gitdir"), admin.clone()] {
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let out = repo.session(&["list"]).fails();
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    repo.session(&["end", "s2"]).fails();
    assert!(repo.has_ref(&repo.root, "refs/heads/session/s2"));
    assert!(wt.join("work.txt").exists());
    repo.git(&["worktree", "repair", wt.to_str().unwrap()]);
    let listed = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(listed[0]["changes"], 1, "{listed}");
    // The record of a worktree of the user's own (not a session's branch) damaged: left
    // out, as git's listing leaves it out; git-session goes on.
    let other = repo.home.join("other");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "other",
        other.to_str().unwrap(),
    ]);
    let admin = repo.root.join(".git/worktrees/other");
    std::fs::write(admin.join("gitdir"), "").unwrap();
    for path in [admin.join("gitdir"), admin.clone()] {
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    repo.session(&["list"]).ok();
    repo.session(&["doctor"]).ok();
}

/// Small refusals from a walk-through: an empty checkpoint message, a worktree directory that
/// is the repository's root, hooks in a bare repository with no worktree; and an empty
/// list is no output at all (not an empty line).
#[test]
fn empty_and_rootless_inputs_are_refused_in_one_line() {
    let repo = TestRepo::new();
    repo.new_session("s");
    let out = repo.session(&["checkpoint", "s", "-m", " "]).fails();
    assert_eq!(
        out.stderr,
        "error: a checkpoint message cannot be empty\nhint: leave out -m for the default message\n"
    );
    assert_eq!(repo.session(&["log", "s", "-n", "0"]).ok().stdout, "");
    for (value, why) in [
        ("", "that is the repository's root"),
        (".", "that is the repository's root"),
        ("/", "that is the file system's root"),
        ("   ", "only blanks"),
    ] {
        repo.git(&["config", "session.worktreeDir", value]);
        let out = repo.session(&["new", "t"]).fails();
        assert!(out.stderr.contains(why), "{value:?}: {}", out.stderr);
        assert!(!repo.root.join("t").exists());
    }
    repo.git(&["config", "--unset", "session.worktreeDir"]);
    let bare = repo.home.join("bare.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let out = repo.session_in(&bare, &["hooks", "install"]).fails();
    assert!(
        out.stderr.contains("no worktree for hooks"),
        "{}",
        out.stderr
    );
    assert!(!bare.join("hooks/post-commit").exists());
    let out = repo.session_in(&bare, &["land", "x"]).fails();
    assert!(out.stderr.contains("bare repository"), "{}", out.stderr);
    assert_eq!(
        repo.session_in(&bare, &["hooks", "status"]).ok().stdout,
        "no worktree here for git to run hooks in (a bare repository with no linked worktree)\n"
    );
    // With a linked worktree, the hooks go in (the bare repository's settings are written
    // from its git directory).
    let linked = repo.home.join("linked");
    repo.git(&["push", "-q", bare.to_str().unwrap(), "HEAD:refs/heads/main"]);
    repo.cmd_in(
        &bare,
        "git",
        &["worktree", "add", "-q", linked.to_str().unwrap(), "main"],
    );
    repo.session_in(&bare, &["hooks", "install"]).ok();
    assert!(bare.join("hooks/post-commit").exists());
}

/// `fork` says it carried uncommitted work only when there was some.
#[test]
fn fork_says_it_carried_uncommitted_work_only_when_there_was_some() {
    let repo = TestRepo::new();
    let wt = repo.new_session("a");
    let clean = repo.session(&["fork", "a", "b"]).ok();
    assert!(
        clean.stderr.contains("Forked 'a' as 'b'"),
        "{}",
        clean.stderr
    );
    assert!(!clean.stderr.contains("uncommitted"), "{}", clean.stderr);
    crate::support::write_file(&wt.join("wip.txt"), "wip\n");
    let dirty = repo.session(&["fork", "a", "c"]).ok();
    assert!(
        dirty
            .stderr
            .contains("Forked 'a' as 'c' with its uncommitted work"),
        "{}",
        dirty.stderr
    );
}

/// Renaming into a directory of its own name says how to get there, and changes nothing.
#[test]
fn rename_into_its_own_directory_says_how() {
    let repo = TestRepo::new();
    repo.new_session("a");
    let out = repo.session(&["rename", "a", "a/b"]).fails();
    assert_eq!(
        out.stderr,
        "error: 'a' and 'a/b' cannot both be names at once (one is a directory of the other); rename to another name first, then to 'a/b'\n"
    );
    repo.session(&["rename", "a", "tmp"]).ok();
    repo.session(&["rename", "tmp", "a/b"]).ok();
    assert!(repo.root.join(".worktrees/a/b").is_dir());
}
