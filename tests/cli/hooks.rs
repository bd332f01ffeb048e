//! The git hooks against real git: install/uninstall/status, each event, notes through amend
//! and rebase, forgotten-work warnings and background checkpoints, hook managers.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{TestRepo, write_file};

fn hooks_dir(repo: &TestRepo, dir: &Path) -> PathBuf {
    let path = repo.git_in(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
    );
    PathBuf::from(path)
}

fn install(repo: &TestRepo) {
    repo.session(&["hooks", "install"]).ok();
}

fn commit_in(repo: &TestRepo, dir: &Path, file: &str, message: &str) -> crate::support::Out {
    write_file(&dir.join(file), message);
    repo.git_in(dir, &["add", file]);
    let out = repo.cmd_in(dir, "git", &["commit", "-q", "-m", message]);
    assert_eq!(out.code, 0, "commit failed: {}", out.stderr);
    out
}

fn note(repo: &TestRepo, dir: &Path, rev: &str) -> String {
    let out = repo.cmd_in(dir, "git", &["notes", "--ref=sessions", "show", rev]);
    out.stdout
}

fn user_hook(path: &Path, text: &str) {
    write_file(path, text);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_finds_the_directory_git_uses_keeps_user_hooks_and_uninstalls_byte_for_byte() {
    let repo = TestRepo::new();
    let wt = repo.new_session("s");
    let dir = hooks_dir(&repo, &repo.root);
    // A user hook that ends in exec: ours must still run, and it too.
    let marker = repo.home.join("user-hook-ran");
    let original = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\nexec true\n",
        marker.display()
    );
    user_hook(&dir.join("post-commit"), &original);
    install(&repo);
    let status = repo.session(&["hooks", "status", "--json"]).ok().json();
    assert_eq!(
        Path::new(status[0]["dir"].as_str().unwrap()),
        dir,
        "the oracle is git rev-parse --git-path hooks"
    );
    assert!(
        status[0]["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["runs"] == true)
    );
    let installed = std::fs::read(dir.join("post-commit")).unwrap();
    install(&repo);
    assert_eq!(
        std::fs::read(dir.join("post-commit")).unwrap(),
        installed,
        "idempotent"
    );
    assert!(
        std::fs::metadata(dir.join("pre-push"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111
            != 0
    );
    assert_eq!(
        repo.git(&["config", "--get-all", "notes.rewriteRef"]),
        "refs/notes/sessions"
    );
    assert_eq!(
        repo.git(&["config", "notes.sessions.mergeStrategy"]),
        "cat_sort_uniq"
    );

    commit_in(&repo, &wt, "a.txt", "in the session");
    assert!(
        std::fs::read_to_string(&marker).unwrap().len() <= 1,
        "the user's hook ran"
    );
    assert!(note(&repo, &wt, "HEAD").contains("session: s"), "and ours");

    repo.session(&["hooks", "uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("post-commit")).unwrap(),
        original
    );
    assert!(
        !dir.join("pre-push").exists(),
        "files install created are deleted"
    );
    assert!(!dir.join("post-checkout").exists());
    assert!(
        repo.cmd_in(&repo.root, "git", &["config", "notes.rewriteRef"])
            .code
            != 0
    );
    assert!(
        repo.cmd_in(
            &repo.root,
            "git",
            &["config", "notes.sessions.mergeStrategy"]
        )
        .code
            != 0
    );
}

#[test]
fn core_hooks_path_relative_absolute_and_from_a_linked_worktree() {
    // Absolute.
    let repo = TestRepo::new();
    let abs = repo.home.join("shared hooks");
    repo.git(&["config", "core.hooksPath", abs.to_str().unwrap()]);
    let wt = repo.new_session("a");
    repo.session_in(&wt, &["hooks", "install"]).ok();
    assert_eq!(hooks_dir(&repo, &wt), abs);
    assert!(abs.join("post-commit").is_file());
    commit_in(&repo, &wt, "x", "absolute");
    assert!(note(&repo, &wt, "HEAD").contains("session: a"));

    // Relative: each worktree has its own directory, and new sessions get the shims too
    // without them counting as work.
    let repo = TestRepo::new();
    repo.git(&["config", "core.hooksPath", "githooks"]);
    let before = repo.new_session("before");
    repo.session(&["hooks", "install"]).ok();
    for dir in [&repo.root, &before] {
        let expected = hooks_dir(&repo, dir);
        assert!(
            expected.join("post-commit").is_file(),
            "{}",
            expected.display()
        );
    }
    let after = repo.new_session("after");
    assert!(hooks_dir(&repo, &after).join("post-commit").is_file());
    let status = repo.session(&["list", "--json"]).ok().json();
    for s in status.as_array().unwrap() {
        assert_eq!(
            s["changes"], 0,
            "hook files are not the session's work: {s}"
        );
    }
    commit_in(&repo, &after, "y", "relative");
    assert!(note(&repo, &after, "HEAD").contains("session: after"));
    let out = repo.session(&["hooks", "status"]).ok();
    assert!(
        out.stdout.contains("core.hooksPath = githooks"),
        "{}",
        out.stdout
    );
    // Uninstall takes its info/exclude lines out again.
    repo.session(&["hooks", "uninstall"]).ok();
    let exclude = std::fs::read_to_string(repo.root.join(".git/info/exclude")).unwrap();
    assert!(!exclude.contains("githooks"), "{exclude}");
}

#[test]
fn a_tracked_hook_file_is_changed_only_with_tracked() {
    let repo = TestRepo::new();
    repo.git(&["config", "core.hooksPath", "tracked-hooks"]);
    user_hook(
        &repo.root.join("tracked-hooks/post-commit"),
        "#!/bin/sh\ntrue\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "hooks"]);
    let out = repo.session(&["hooks", "install"]).ok();
    assert!(out.stdout.contains("skipped"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(repo.root.join("tracked-hooks/post-commit")).unwrap(),
        "#!/bin/sh\ntrue\n"
    );
    repo.session(&["hooks", "install", "--tracked"]).ok();
    assert!(
        std::fs::read_to_string(repo.root.join("tracked-hooks/post-commit"))
            .unwrap()
            .contains("git-session hook post-commit")
    );
}

#[test]
fn notes_are_appended_and_survive_amend_and_rebase() {
    let repo = TestRepo::new();
    install(&repo);
    let wt = repo.new_session("n");
    commit_in(&repo, &wt, "one", "one");
    // A note by hand on the next commit is kept; ours is appended.
    write_file(&wt.join("two"), "two");
    repo.git_in(&wt, &["add", "two"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "two"]);
    let two = note(&repo, &wt, "HEAD");
    assert!(two.contains("session: n"));
    repo.git_in(
        &wt,
        &[
            "notes",
            "--ref=sessions",
            "append",
            "-m",
            "reviewed by hand",
            "HEAD",
        ],
    );
    repo.git_in(&wt, &["commit", "-q", "--amend", "-m", "two, amended"]);
    let amended = note(&repo, &wt, "HEAD");
    assert!(amended.contains("reviewed by hand"), "{amended}");
    assert_eq!(amended.matches("session: n").count(), 1, "{amended}");
    // An interactive rebase that rewrites both commits keeps both notes.
    let base = repo.git_in(&wt, &["rev-parse", "HEAD~2"]);
    let out = repo.cmd_in(
        &wt,
        "env",
        &[
            "GIT_SEQUENCE_EDITOR=true",
            "git",
            "rebase",
            "-q",
            "-i",
            "--force-rebase",
            &base,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(note(&repo, &wt, "HEAD").contains("reviewed by hand"));
    assert_eq!(note(&repo, &wt, "HEAD").matches("session: n").count(), 1);
    assert!(note(&repo, &wt, "HEAD~1").contains("session: n"));
    // Commits in the main worktree get no note.
    commit_in(&repo, &repo.root, "main.txt", "main");
    assert!(note(&repo, &repo.root, "HEAD").is_empty());
}

#[test]
fn a_commit_in_a_dirty_session_takes_a_checkpoint_when_the_last_is_old() {
    let repo = TestRepo::new();
    // The look for work to checkpoint runs detached; here it is waited for.
    repo.set_env("GIT_SESSION_HOOKS_SYNC", "1");
    install(&repo);
    let wt = repo.new_session("auto");
    write_file(&wt.join("left-over.txt"), "not committed\n");
    // A clean filter that notes the nice value of whoever hashes a `*.nice` file: the look
    // runs below the commands people wait on.
    let niceness = repo.home.join("niceness");
    let filter = repo.home.join("nice-filter");
    write_file(
        &filter,
        &format!(
            "#!/bin/sh\nawk '{{print $19}}' /proc/$$/stat >> '{}'\ncat\n",
            niceness.display()
        ),
    );
    std::fs::set_permissions(&filter, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let quoted = format!("'{}'", filter.display());
    repo.git(&["config", "filter.nice.clean", &quoted]);
    write_file(&wt.join(".gitattributes"), "*.nice filter=nice\n");
    write_file(&wt.join("left-over.nice"), "not committed either\n");
    commit_in(&repo, &wt, "done.txt", "one");
    let automatic = |repo: &TestRepo| {
        repo.events("auto")
            .iter()
            .filter(|e| e.contains("automatic, after a commit"))
            .count()
    };
    assert_eq!(automatic(&repo), 1, "no checkpoint yet: one is taken");
    let noted = |path: &Path| -> Vec<i32> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect()
    };
    let background = noted(&niceness);
    std::fs::remove_file(&niceness).unwrap();
    write_file(&wt.join("left-over.nice"), "changed\n");
    repo.session_in(&wt, &["checkpoint"]).ok();
    let foreground = noted(&niceness);
    assert!(!background.is_empty() && !foreground.is_empty());
    assert!(
        background.iter().all(|n| *n == foreground[0].max(10)),
        "{background:?} in the background, {foreground:?} in the foreground"
    );
    commit_in(&repo, &wt, "done2.txt", "two");
    assert_eq!(automatic(&repo), 1, "the last one is younger than 30m");
    repo.advance(31 * 60);
    commit_in(&repo, &wt, "done3.txt", "three");
    assert_eq!(automatic(&repo), 2);
    // A clean tree after the commit: nothing to keep.
    for file in ["left-over.txt", "left-over.nice", ".gitattributes"] {
        std::fs::remove_file(wt.join(file)).unwrap();
    }
    repo.advance(31 * 60);
    commit_in(&repo, &wt, "done4.txt", "four");
    assert_eq!(automatic(&repo), 2);
    repo.git(&["config", "session.checkpointInterval", "off"]);
    write_file(&wt.join("left-over.txt"), "again\n");
    repo.advance(31 * 60);
    commit_in(&repo, &wt, "done5.txt", "five");
    assert_eq!(automatic(&repo), 2, "off");
    // Without git-session on PATH the shims are silent and harmless.
    let out = repo.cmd_in(
        &wt,
        "env",
        &[
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "git",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "no binary",
        ],
    );
    assert_eq!(out.code, 0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn forgotten_work_is_named_and_checkpointed_in_the_background() {
    let repo = TestRepo::new();
    install(&repo);
    repo.git(&["config", "session.checkpointInterval", "0"]);
    let clean = commit_in(&repo, &repo.root, "quiet.txt", "no sessions yet");
    assert!(
        clean.stderr.is_empty(),
        "silent with nothing to say: {}",
        clean.stderr
    );
    let dirty = repo.new_session("forgotten");
    repo.new_session("tidy");
    write_file(&dirty.join("wip.txt"), "work in progress\n");
    let updated = repo.meta("forgotten")["updated"].clone();
    repo.advance(86_400);
    // The first commit starts a background scan; it checkpoints the forgotten session.
    commit_in(&repo, &repo.root, "a.txt", "first");
    let mut found = false;
    for _ in 0..100 {
        if repo
            .events("forgotten")
            .iter()
            .any(|e| e.contains("forgotten work"))
        {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        found,
        "no background checkpoint: {:?}",
        repo.events("forgotten")
    );
    // The refresh notes how long it took: a slow one is started less often.
    let cache_file = repo.root.join(".git/session/status-cache.json");
    let mut took = None;
    for _ in 0..100 {
        took = std::fs::read(&cache_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|c| c["took_ms"].as_u64());
        if took.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(took.is_some(), "no took_ms in the status cache");
    assert_eq!(
        repo.meta("forgotten")["updated"],
        updated,
        "saving forgotten work is nobody's activity: the session stays idle"
    );
    // Later commits and branch switches name it, in one line, until the work is committed.
    let out = commit_in(&repo, &repo.root, "b.txt", "second");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("'forgotten'") && lines[0].contains("checkpoint"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("tidy"));
    let out = repo.cmd_in(&repo.root, "git", &["checkout", "-q", "-b", "elsewhere"]);
    assert!(out.stderr.contains("'forgotten'"), "{}", out.stderr);
    // Not named inside its own worktree; GIT_SESSION_HOOKS=0 silences everything.
    let out = repo.cmd_in(
        &repo.root,
        "env",
        &[
            "GIT_SESSION_HOOKS=0",
            "git",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "quiet",
        ],
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn pre_push_warns_and_passes_its_input_on_to_the_users_hook() {
    let repo = TestRepo::new();
    let remote = repo.home.join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let dir = hooks_dir(&repo, &repo.root);
    let seen = repo.home.join("pre-push-input");
    user_hook(
        &dir.join("pre-push"),
        &format!("#!/bin/sh\ncat > '{}'\nexit 0\n", seen.display()),
    );
    install(&repo);
    let wt = repo.new_session("p");
    write_file(&wt.join("uncommitted.txt"), "u\n");
    let out = repo.cmd_in(&wt, "git", &["push", "-q", "origin", "session/p"]);
    assert_eq!(out.code, 0, "never refuses: {}", out.stderr);
    assert!(out.stderr.contains("does not carry"), "{}", out.stderr);
    let input = std::fs::read_to_string(&seen).unwrap();
    assert!(input.starts_with("refs/heads/session/p "), "{input:?}");
    // A remote whose path is not UTF-8: git passes it to the hook as it is.
    use std::os::unix::ffi::OsStrExt;
    let odd = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(
        &[remote.as_os_str().as_bytes(), b"-\xff.git"].concat(),
    ));
    let empty = repo.home.join("empty.git");
    repo.git(&["init", "-q", "--bare", empty.to_str().unwrap()]);
    std::fs::rename(&empty, &odd).unwrap();
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(repo.root.join(".git/config"))
        .unwrap();
    std::io::Write::write_all(
        &mut config,
        &[
            b"[remote \"odd\"]\n\turl = ",
            odd.as_os_str().as_bytes(),
            b"\n",
        ]
        .concat(),
    )
    .unwrap();
    let out = repo.cmd_in(&wt, "git", &["push", "-q", "odd", "session/p"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not carry") && !out.stderr.contains("Usage"),
        "{}",
        out.stderr
    );
}

#[test]
fn broken_sessions_never_block_git() {
    let repo = TestRepo::new();
    install(&repo);
    let wt = repo.new_session("ok");
    repo.new_session("broken");
    repo.forge_log("broken", "not: [valid\n", true);
    let gone = repo.new_session("gone");
    std::fs::remove_dir_all(&gone).unwrap();
    let out = commit_in(&repo, &wt, "f", "still works");
    assert!(out.stderr.lines().count() <= 1, "{}", out.stderr);
    assert!(note(&repo, &wt, "HEAD").contains("session: ok"));
    // Detached HEAD, a cherry-pick, a merge.
    repo.git_in(&wt, &["checkout", "-q", "--detach"]);
    let out = commit_in(&repo, &wt, "g", "detached");
    assert!(out.stderr.lines().count() <= 1, "{}", out.stderr);
    // session.yaml so broken that no session can be listed: still nothing fails.
    repo.forge_log("ok", "version: 99\n", true);
    let out = commit_in(&repo, &wt, "h", "unreadable");
    assert!(out.stderr.lines().count() <= 1, "{}", out.stderr);
}

/// pre-commit from PyPI, when it can be installed (`.ci/run` does).
fn pre_commit_bin() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PRE_COMMIT_BIN").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/.ci/venv/bin/pre-commit"
        ))),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

#[test]
fn pre_commit_and_ours_both_run_and_survive_its_reinstall() {
    let Some(pre_commit) = pre_commit_bin() else {
        eprintln!("skipped: pre-commit is not installed (.ci/run installs it)");
        return;
    };
    let repo = TestRepo::new();
    let ran = repo.home.join("pre-commit-ran");
    write_file(
        &repo.root.join(".pre-commit-config.yaml"),
        &format!(
            "default_install_hook_types: [pre-commit, post-commit]\nrepos:\n- repo: local\n  hooks:\n  - id: mark\n    name: mark\n    entry: sh -c 'echo ran >> \"{}\"'\n    language: system\n    always_run: true\n    pass_filenames: false\n    stages: [post-commit]\n",
            ran.display()
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "pre-commit config"]);
    let pc = pre_commit.to_str().unwrap();
    repo.cmd_in(&repo.root, pc, &["install"]).ok();
    install(&repo);
    let status = repo.session(&["hooks", "status"]).ok();
    assert!(status.stdout.contains("pre-commit"), "{}", status.stdout);
    let wt = repo.new_session("pc");
    commit_in(&repo, &wt, "a", "first");
    assert!(note(&repo, &wt, "HEAD").contains("session: pc"), "ours ran");
    assert!(
        std::fs::read_to_string(&ran).unwrap().contains("ran"),
        "pre-commit's ran"
    );
    // pre-commit reinstalls over its own file: ours lives in the .legacy file it chains to.
    repo.cmd_in(&repo.root, pc, &["install"]).ok();
    std::fs::remove_file(&ran).unwrap();
    commit_in(&repo, &wt, "b", "second");
    assert!(
        note(&repo, &wt, "HEAD").contains("session: pc"),
        "ours survived the reinstall"
    );
    assert!(ran.exists(), "pre-commit's still runs");
    // `install -f` drops the chained files on purpose: status says ours is gone, not silence.
    repo.cmd_in(&repo.root, pc, &["install", "-f"]).ok();
    let status = repo.session(&["hooks", "status"]).ok();
    assert!(status.stdout.contains("overwritten"), "{}", status.stdout);
    install(&repo);
    commit_in(&repo, &wt, "c", "third");
    assert!(
        note(&repo, &wt, "HEAD").contains("session: pc"),
        "reinstalled"
    );
}

/// husky from npm, when it can be installed (`.ci/run` does).
fn husky_bin() -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.ci/husky/node_modules/husky/bin.js"
    ));
    path.is_file().then_some(path)
}

#[test]
fn husky_and_ours_both_run() {
    let Some(husky) = husky_bin() else {
        eprintln!("skipped: husky is not installed (.ci/run installs it)");
        return;
    };
    let repo = TestRepo::new();
    let ran = repo.home.join("husky-ran");
    repo.cmd_in(&repo.root, "node", &[husky.to_str().unwrap()])
        .ok();
    assert_eq!(repo.git(&["config", "core.hooksPath"]), ".husky/_");
    user_hook(
        &repo.root.join(".husky/post-commit"),
        &format!("echo ran >> '{}'\n", ran.display()),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "husky"]);
    std::fs::remove_file(&ran).ok();
    install(&repo);
    let status = repo.session(&["hooks", "status"]).ok();
    assert!(status.stdout.contains("husky"), "{}", status.stdout);
    commit_in(&repo, &repo.root, "m", "main");
    assert!(ran.exists(), "husky's hook ran");
    // With --tracked, ours lives in .husky/<hook>, which survives `husky` reinstalling `_/`
    // and, once committed, reaches every worktree; it runs once, not also from `_/`.
    let out = repo.session(&["hooks", "install", "--tracked"]).ok();
    assert!(out.stderr.contains("commit"), "{}", out.stderr);
    repo.cmd_in(&repo.root, "node", &[husky.to_str().unwrap()])
        .ok();
    repo.git(&["commit", "-q", "-am", "git-session's hook, shared"]);
    let wt = repo.new_session("h");
    assert!(
        repo.git_in(&wt, &["status", "--porcelain"]).is_empty(),
        "the hook is not the session's work"
    );
    repo.cmd_in(&wt, "node", &[husky.to_str().unwrap()]).ok();
    std::fs::remove_file(&ran).ok();
    commit_in(&repo, &wt, "x", "in session");
    assert!(ran.exists(), "husky's hook ran in the session");
    assert!(note(&repo, &wt, "HEAD").contains("session: h"), "ours ran");
}

/// lefthook from npm, when it can be installed (`.ci/run` does).
fn lefthook_bin() -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.ci/lefthook/node_modules/.bin/lefthook"
    ));
    path.is_file().then_some(path)
}

#[test]
fn lefthook_and_ours_both_run_and_survive_its_reinstall() {
    let Some(lefthook) = lefthook_bin() else {
        eprintln!("skipped: lefthook is not installed (.ci/run installs it)");
        return;
    };
    let lefthook = lefthook.to_str().unwrap();
    let repo = TestRepo::new();
    let remote = repo.home.join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let ran = repo.home.join("lefthook-ran");
    write_file(
        &repo.root.join("lefthook.yml"),
        &format!(
            "post-commit:\n  jobs:\n    - name: mark\n      run: echo ran >> '{}'\npre-push:\n  jobs:\n    - name: noop\n      run: 'true'\n",
            ran.display()
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "lefthook config"]);
    repo.cmd_in(&repo.root, lefthook, &["install"]).ok();
    // The user's own local config: kept byte for byte.
    let local = repo.root.join("lefthook-local.yml");
    let original = "# mine\npre-commit:\n  jobs:\n    - run: 'true'";
    write_file(&local, original);
    let out = repo.session(&["hooks", "install"]).ok();
    assert!(out.stdout.contains("lefthook-local.yml"), "{}", out.stdout);
    let installed = std::fs::read(&local).unwrap();
    assert!(installed.starts_with(original.as_bytes()));
    repo.session(&["hooks", "install"]).ok();
    assert_eq!(std::fs::read(&local).unwrap(), installed, "idempotent");
    let dir = hooks_dir(&repo, &repo.root);
    assert!(
        !std::fs::read_to_string(dir.join("post-commit"))
            .unwrap()
            .contains("git-session hook"),
        "no block in lefthook's file: the handler would run twice"
    );
    let status = repo.session(&["hooks", "status", "--json"]).ok().json();
    let entry = status[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["event"] == "post-commit" && f["path"] == local.to_str().unwrap())
        .cloned()
        .unwrap_or_else(|| panic!("no lefthook entry: {status}"));
    assert_eq!(entry["action"], "installed", "{entry}");
    assert_eq!(entry["runs"], true, "{entry}");

    let wt = repo.new_session("lh");
    assert!(
        repo.git_in(&wt, &["status", "--porcelain"]).is_empty(),
        "the session's lefthook-local.yml is not its work"
    );
    let out = commit_in(&repo, &wt, "a", "first");
    assert_eq!(
        note(&repo, &wt, "HEAD").matches("session: lh").count(),
        1,
        "ours ran, once: {}",
        out.stderr
    );
    assert!(ran.exists(), "lefthook's job ran");
    // lefthook rewrites its hook files: ours is in its config and still runs.
    repo.cmd_in(&repo.root, lefthook, &["install"]).ok();
    std::fs::remove_file(&ran).unwrap();
    commit_in(&repo, &wt, "b", "second");
    assert!(note(&repo, &wt, "HEAD").contains("session: lh"), "survived");
    assert!(ran.exists());
    // pre-push's standard input reaches our handler through lefthook.
    write_file(&wt.join("uncommitted.txt"), "u\n");
    let out = repo.cmd_in(&wt, "git", &["push", "-q", "origin", "session/lh"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("does not carry"), "{}", out.stderr);

    repo.session(&["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&local).unwrap(), original);
    assert!(!wt.join("lefthook-local.yml").exists(), "created: deleted");
}

/// A compiled hook (`cp /bin/true .git/hooks/pre-push`) is left as it is: a shell block
/// prepended to it would break every push. A hook without a shebang still gets the block, and
/// uninstall names it.
#[test]
fn compiled_hooks_are_left_alone_and_unshebanged_ones_are_named() {
    let repo = TestRepo::new();
    let dir = hooks_dir(&repo, &repo.root);
    std::fs::create_dir_all(&dir).unwrap();
    let binary = std::fs::read("/bin/true").unwrap();
    std::fs::write(dir.join("pre-push"), &binary).unwrap();
    std::fs::set_permissions(dir.join("pre-push"), std::fs::Permissions::from_mode(0o755)).unwrap();
    user_hook(&dir.join("post-checkout"), "echo plain shell, no shebang\n");
    let out = repo.session(&["hooks", "install"]).ok();
    assert!(out.stdout.contains("a compiled program"), "{}", out.stdout);
    assert_eq!(std::fs::read(dir.join("pre-push")).unwrap(), binary);
    let status = repo.session(&["hooks", "status"]).ok().stdout;
    let line = status.lines().find(|l| l.contains("pre-push")).unwrap();
    assert!(line.contains("not installed"), "{status}");
    // A push still works.
    let bare = repo.home.join("r.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["push", "-q", bare.to_str().unwrap(), "main"]);
    let out = repo.session(&["hooks", "uninstall"]).ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("post-checkout"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.split_whitespace().nth(1) == Some("post-checkout"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("post-checkout")).unwrap(),
        "echo plain shell, no shebang\n"
    );
}

/// A merge commit made in a session's worktree gets its provenance note (git runs
/// post-merge, not post-commit, for it); a fast-forward adds none.
#[test]
fn merge_commits_in_a_session_get_a_note() {
    let repo = TestRepo::new();
    install(&repo);
    let wt = repo.new_session("m");
    repo.git_in(&wt, &["checkout", "-q", "-b", "side"]);
    commit_in(&repo, &wt, "side.txt", "side");
    repo.git_in(&wt, &["checkout", "-q", "session/m"]);
    commit_in(&repo, &wt, "mine.txt", "mine");
    let out = repo.cmd_in(&wt, "git", &["merge", "-q", "--no-edit", "side"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        repo.git_in(&wt, &["rev-list", "--count", "--merges", "-1", "HEAD"]),
        "1"
    );
    assert!(
        note(&repo, &wt, "HEAD").contains("session: m"),
        "{}",
        note(&repo, &wt, "HEAD")
    );
    // A fast-forward onto a merge commit made outside any session, whose first parent is
    // the session's HEAD (so it looks like a merge made here): not the session's work, so
    // no note is added.
    let f = repo.new_session("f");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.git(&["checkout", "-q", "-b", "side2"]);
    repo.commit_files(&[("side2.txt", "side2\n")], "side2");
    repo.git(&["checkout", "-q", "other"]);
    repo.git(&["merge", "-q", "--no-ff", "--no-edit", "side2"]);
    repo.git(&["checkout", "-q", "main"]);
    let notes_before = repo.git(&["rev-parse", "refs/notes/sessions"]);
    repo.git_in(&f, &["merge", "-q", "--ff-only", "other"]);
    assert_eq!(
        repo.git_in(&f, &["rev-parse", "HEAD"]),
        repo.git(&["rev-parse", "other"])
    );
    assert_eq!(
        repo.git(&["rev-parse", "refs/notes/sessions"]),
        notes_before
    );
}

/// A core.hooksPath outside the repository (set globally, say) is shared: install says so,
/// and one repository's uninstall keeps the shims another repository installed there.
#[test]
fn a_shared_hooks_path_keeps_the_shims_while_another_repository_uses_them() {
    let a = TestRepo::new();
    let b = TestRepo::new();
    let shared = a.home.join("global-hooks");
    std::fs::create_dir_all(&shared).unwrap();
    for repo in [&a, &b] {
        repo.git(&["config", "core.hooksPath", shared.to_str().unwrap()]);
    }
    let out = a.session(&["hooks", "install"]).ok();
    assert!(
        out.stderr.contains("outside this repository"),
        "{}",
        out.stderr
    );
    b.session(&["hooks", "install"]).ok();
    let out = a.session(&["hooks", "uninstall"]).ok();
    assert!(out.stdout.contains("kept"), "{}", out.stdout);
    assert!(
        std::fs::read_to_string(shared.join("post-commit"))
            .unwrap()
            .contains("git-session hook post-commit"),
        "b still uses them"
    );
    b.session(&["hooks", "uninstall"]).ok();
    assert!(!shared.join("post-commit").exists());
    let left: Vec<_> = std::fs::read_dir(&shared).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
    // Shims nothing records the users of (an older install): kept, and said why.
    a.session(&["hooks", "install"]).ok();
    std::fs::remove_file(shared.join(".git-session.json")).unwrap();
    let out = a.session(&["hooks", "uninstall"]).ok();
    assert!(
        out.stdout
            .contains("nothing records which repositories use these hooks"),
        "{}",
        out.stdout
    );
    assert!(
        std::fs::read_to_string(shared.join("post-commit"))
            .unwrap()
            .contains("git-session hook post-commit")
    );
}

/// A hook that runs out of time (`session.hookTimeout`) ends quietly, mid-update or not: the
/// commits all go through and no lock file (a ref's, the notes') outlives it to block the
/// next git command.
#[test]
fn a_hook_out_of_time_leaves_no_lock() {
    let repo = TestRepo::new();
    install(&repo);
    let wt = repo.new_session("t");
    repo.git(&["config", "session.hookTimeout", "1ms"]);
    for i in 0..10 {
        commit_in(&repo, &wt, "f.txt", &format!("c{i}"));
        let locks: Vec<_> = walk_locks(&repo.root.join(".git"));
        assert!(locks.is_empty(), "left behind: {locks:?}");
    }
    assert_eq!(
        repo.git_in(&wt, &["rev-list", "--count", "main..HEAD"]),
        "10"
    );
}

fn walk_locks(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_locks(&path));
        } else if path.extension().is_some_and(|e| e == "lock")
            && !path.components().any(|c| c.as_os_str() == "session")
        {
            found.push(path);
        }
    }
    found
}
