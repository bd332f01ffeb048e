//! Commands killed part-way, and commands racing each other: whatever is left, the next
//! command notices it, keeps anything that looks like work, and finishes the job; nothing
//! reports success over a half-made worktree, and two racers never both win.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{BIN, TestRepo, write_file};

/// A repository with `n` tracked files, so a checkout or a removal takes a moment.
fn repo_with_files(n: usize) -> TestRepo {
    let repo = TestRepo::new();
    for i in 0..n {
        write_file(
            &repo.root.join(format!("src/d{}/f{i}.txt", i / 100)),
            &format!("file {i}\n"),
        );
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "files"]);
    repo
}

fn status(repo: &TestRepo, wt: &Path) -> String {
    repo.git_in(wt, &["status", "--porcelain=v1", "--untracked-files=all"])
}

/// A directory holding a `git` that runs `script` for commands matching `pattern` (a shell
/// `case` pattern over all its arguments) and the real git otherwise.
fn fake_git(repo: &TestRepo, pattern: &str, script: &str) -> PathBuf {
    let real = repo
        .cmd_in(&repo.root, "sh", &["-c", "command -v git"])
        .ok()
        .line()
        .to_owned();
    let dir = repo.home.join(format!("fake-git-{}", pattern.len()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("git"),
        format!(
            "#!/bin/sh\nreal='{real}'\ncase \"$*\" in {pattern}) {script};; esac\nexec \"$real\" \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(dir.join("git"), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs the binary (not `git session`: git would put its exec-path first) with `dir` first on
/// PATH.
fn session_with_path(repo: &TestRepo, dir: &Path, args: &str) -> crate::support::Out {
    repo.cmd_in(
        &repo.root,
        "sh",
        &[
            "-c",
            &format!("PATH='{}':\"$PATH\" '{BIN}' {args}", dir.display()),
        ],
    )
}

/// `new` killed while git checks the worktree out (git and git-session both, as `kill -9`
/// of the process group would): the next `new` of that name makes it whole, or says nothing
/// was there; never a worktree without an index that `list` counts as thousands of changes.
#[test]
fn a_new_killed_during_the_checkout_is_made_whole_by_the_next() {
    let repo = repo_with_files(800);
    for (round, delay) in ["0", "0.05"].iter().enumerate() {
        let name = format!("half{round}");
        let killer = fake_git(
            &repo,
            "*'worktree add'*",
            &format!("\"$real\" \"$@\" & pid=$!; sleep {delay}; kill -9 $pid $PPID; exit 1"),
        );
        let killed = session_with_path(&repo, &killer, &format!("new --head {name}"));
        assert_ne!(killed.code, 0, "{}", killed.stderr);
        // Whatever was left, nothing reports it fine but broken.
        let list = repo.session(&["list", "--json"]);
        let text = format!("{}{}", list.stdout, list.stderr);
        assert!(!text.contains("\"changes\": 8"), "{text}");
        let out = repo.session(&["new", "--head", &name]);
        if !repo.has_ref(&repo.root, &format!("refs/sessions/{name}")) {
            continue; // killed before the log was written: made from scratch now
        }
        let path = PathBuf::from(out.ok().line());
        assert!(path.join("src/d7/f799.txt").is_file(), "round {round}");
        assert_eq!(status(&repo, &path), "", "round {round}");
        let listed = repo.session(&["list", "--json"]).ok().json();
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["changes"], 0, "{row}");
        // And it goes as a clean one does (git's `initializing` lock does not stop it).
        repo.session(&["end", &name]).ok();
        assert!(!path.exists());
    }
}

/// What a kill leaves in git's own records: a worktree directory without its index, still
/// locked `initializing`, its administrative directory without `commondir` and with a HEAD
/// of zeros (which makes `git fetch` fail). `resume` salvages what looks like work, removes
/// all of it and makes the worktree again; `end --remove` of such a session removes it.
#[test]
fn a_half_made_worktree_is_salvaged_and_made_again() {
    let repo = TestRepo::new();
    let path = repo.new_session("half");
    let local_dir = repo.root.join(".git/session/local");
    let record = std::fs::read_dir(&local_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&record).unwrap();
    let text = text.replacen('{', "{\n  \"checkout_pending\": true,", 1);
    std::fs::write(&record, text).unwrap();
    let admin = repo.root.join(".git/worktrees/half");
    std::fs::remove_file(admin.join("index")).unwrap();
    std::fs::remove_file(admin.join("commondir")).unwrap();
    std::fs::write(admin.join("locked"), "initializing\n").unwrap();
    std::fs::write(admin.join("HEAD"), format!("{}\n", "0".repeat(40))).unwrap();
    // Someone wrote a file there meanwhile: it looks like work.
    write_file(&path.join("notes.txt"), "mine\n");
    let out = repo.session(&["resume", "half"]).ok();
    assert!(out.stderr.contains("half-made"), "{}", out.stderr);
    assert_eq!(PathBuf::from(out.line()), path);
    assert_eq!(status(&repo, &path), "");
    assert!(!admin.join("locked").exists());
    let salvaged = repo
        .events("half")
        .into_iter()
        .find(|e| e.starts_with("salvaged:"))
        .expect("a salvaged event");
    let id = salvaged.split_whitespace().nth(1).unwrap();
    assert_eq!(repo.git(&["show", &format!("{id}:notes.txt")]), "mine");
    repo.git(&["fetch", "-q", "."]);

    // The same left by a `new` that was never resumed: `end --remove` takes it away.
    let path = repo.new_session("gone");
    let record = std::fs::read_dir(&local_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains("\"gone\""))
        .unwrap();
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(
        &record,
        text.replacen('{', "{\n  \"checkout_pending\": true,", 1),
    )
    .unwrap();
    let admin = repo.root.join(".git/worktrees/gone");
    std::fs::remove_file(admin.join("index")).unwrap();
    std::fs::write(admin.join("locked"), "initializing\n").unwrap();
    let out = repo.session(&["end", "gone", "--remove"]).ok();
    assert!(out.stderr.contains("half-made"), "{}", out.stderr);
    assert!(!path.exists() && !admin.exists());
}

/// A lock someone took on purpose (`git worktree lock`) is not broken by end or rm: they say
/// so and how to unlock it, instead of git's raw refusal.
#[test]
fn a_locked_worktree_is_kept_with_a_hint() {
    let repo = TestRepo::new();
    let path = repo.new_session("held");
    repo.git(&[
        "worktree",
        "lock",
        "--reason",
        "on a USB disk",
        path.to_str().unwrap(),
    ]);
    let out = repo.session(&["end", "held", "--remove"]).ok();
    assert!(out.stderr.contains("on a USB disk"), "{}", out.stderr);
    assert!(out.stderr.contains("git worktree unlock"), "{}", out.stderr);
    assert!(
        out.stderr.contains("unlock it as said above"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("pass --remove"), "{}", out.stderr);
    assert!(path.exists());
}

/// Four `new` of one name at once: exactly one makes it, the others exit 1 and change
/// nothing of the winner's.
#[test]
fn parallel_news_of_one_name_have_one_winner() {
    let repo = repo_with_files(1500);
    let mut children = Vec::new();
    for _ in 0..4 {
        let script = format!("'{BIN}' new --head same");
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &script]).current_dir(&repo.root);
        cmd.env_clear()
            .env("PATH", crate::support::path_with_bin())
            .env("HOME", &repo.home)
            .env("GIT_CONFIG_GLOBAL", repo.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("WATCHMAN_SOCK", repo.home.join("no-watchman.sock"))
            .env("LC_ALL", "C");
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push(cmd.spawn().unwrap());
    }
    let outcomes: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let won: Vec<_> = outcomes.iter().filter(|o| o.status.success()).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        outcomes
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    for lost in outcomes.iter().filter(|o| !o.status.success()) {
        assert_eq!(lost.status.code(), Some(1));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&won[0].stdout).trim());
    assert_eq!(status(&repo, &path), "");
    assert_eq!(repo.events("same").len(), 1, "{:?}", repo.events("same"));
}

/// Checkpoints taken over and over while `end --remove` removes the worktree: each one holds
/// the whole tree or is refused; none is recorded after the session ended, so `resume` brings
/// back exactly the work that was there.
#[test]
fn checkpoints_racing_a_removal_never_record_a_half_removed_tree() {
    let repo = repo_with_files(3000);
    let path = repo.new_session("race");
    write_file(&path.join("work.txt"), "uncommitted\n");
    let looper = format!(
        "while [ -d '{p}/src' ]; do '{BIN}' checkpoint race >/dev/null 2>&1; '{BIN}' claude stop </dev/null >/dev/null 2>&1; echo >> '{h}/rounds'; done",
        p = path.display(),
        h = repo.home.display()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &looper]).current_dir(&path);
    cmd.env_clear()
        .env("PATH", crate::support::path_with_bin())
        .env("HOME", &repo.home)
        .env("GIT_CONFIG_GLOBAL", repo.home.join(".gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("WATCHMAN_SOCK", repo.home.join("no-watchman.sock"));
    let mut looping = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    repo.session(&["end", "race", "--remove"]).ok();
    looping.wait().unwrap();
    // The race ran: the loop went round before the end.
    let rounds = std::fs::read_to_string(repo.home.join("rounds")).unwrap_or_default();
    assert!(rounds.lines().count() >= 1, "the checkpoints never ran");
    let events = repo.events("race");
    let ended = events.iter().position(|e| e.starts_with("ended:")).unwrap();
    assert!(
        events[..ended]
            .iter()
            .all(|e| !e.starts_with("checkpoint:")),
        "a checkpoint after the end: {events:?}"
    );
    for ckpt in repo
        .git(&["log", "--format=%P", "refs/sessions/race"])
        .lines()
        .filter_map(|parents| parents.split_whitespace().nth(1))
    {
        let files = repo.git(&["ls-tree", "-r", "--name-only", ckpt]);
        assert_eq!(
            files.lines().count(),
            3002,
            "checkpoint {ckpt} is not whole"
        );
    }
    let back = PathBuf::from(repo.session(&["resume", "race"]).ok().line());
    assert_eq!(status(&repo, &back), "?? work.txt");
}

/// An uninitialized submodule (every linked worktree has one: git leaves the directory empty)
/// keeps its gitlink in checkpoints, as `git add -A` does, and survives rewind, fork and
/// resume; an initialized one records its HEAD.
#[test]
fn submodules_not_checked_out_stay_in_every_checkpoint() {
    let repo = TestRepo::new();
    repo.add_submodule("sub");
    let path = repo.new_session("s");
    assert!(path.join("sub").is_dir());
    write_file(&path.join("new.txt"), "x\n");
    let ckpt = repo
        .session_in(&path, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
    let listing = repo.git(&["ls-tree", &ckpt]);
    assert!(listing.contains("160000 commit"), "{listing}");
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        crate::checkpoint::git_add_all_tree(&repo, &path, "s")
    );
    repo.session_in(&path, &["rewind", "@"]).ok();
    assert!(path.join("sub").is_dir());
    assert_eq!(status(&repo, &path), "?? new.txt");
    let fork = PathBuf::from(repo.session(&["fork", "s", "f"]).ok().line());
    assert_eq!(status(&repo, &fork), "?? new.txt");
    repo.session(&["end", "s", "--remove"]).ok();
    let back = PathBuf::from(repo.session(&["resume", "s"]).ok().line());
    assert_eq!(status(&repo, &back), "?? new.txt");
    // Initialized, its HEAD moved: the checkpoint records the new HEAD.
    repo.init_submodules(&back);
    write_file(&back.join("sub/more.txt"), "more\n");
    repo.git_in(&back.join("sub"), &["add", "-A"]);
    repo.git_in(&back.join("sub"), &["commit", "-q", "-m", "more"]);
    let moved = repo.git_in(&back.join("sub"), &["rev-parse", "HEAD"]);
    let ckpt = repo
        .session_in(&back, &["checkpoint"])
        .ok()
        .line()
        .to_owned();
    assert!(
        repo.git(&["ls-tree", &ckpt, "sub"]).contains(&moved),
        "{}",
        repo.git(&["ls-tree", &ckpt])
    );
}

/// Ctrl-C while a sync has the worktree aside and its work taken out: noted, not obeyed. The
/// sync finishes, the worktree is back where it belongs with the work carried, and git (in a
/// process group of its own meanwhile) was not interrupted either.
#[test]
fn a_sync_interrupted_while_its_work_is_out_finishes_first() {
    let repo = TestRepo::new();
    repo.git(&["config", "session.baseRef", "head"]);
    let wt = repo.new_session("s");
    write_file(&wt.join("wip.txt"), "uncommitted\n");
    write_file(&wt.join("feature.txt"), "feature\n");
    repo.git_in(&wt, &["add", "feature.txt"]);
    repo.git_in(&wt, &["commit", "-qm", "feature"]);
    repo.commit_files(&[("main-only.txt", "main moved\n")], "main moves");
    // git-session's parent is the shell; the fake git's parent is git-session.
    let interrupter = fake_git(&repo, "rebase\\ --quiet*", "kill -INT $PPID; sleep 0.3");
    let out = session_with_path(&repo, &interrupter, "sync s");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(wt.join("wip.txt")).unwrap(),
        "uncommitted\n"
    );
    assert!(wt.join("main-only.txt").exists(), "synced");
    let left: Vec<_> = std::fs::read_dir(repo.root.join(".worktrees"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("s")], "nothing left aside");
}
