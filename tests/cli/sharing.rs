//! Sharing (issue 10): push from one clone, fetch and resume in another, through a bare
//! repository on disk and once through `git daemon` on loopback; notes merged from both sides;
//! divergence and rejected pushes refused with nothing lost; hostile fetched logs refused one
//! by one; secrets refused; Git LFS objects carried.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{BIN, TestRepo, tree_state, write_file};

/// Clone A (with a commit pushed to a bare `remote.git`) and clone B of the same remote.
fn pair() -> (TestRepo, TestRepo, PathBuf) {
    let a = TestRepo::new();
    let bare = a.home.join("remote.git");
    a.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    a.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    a.git(&["push", "-q", "origin", "main"]);
    let b = clone_of(&bare);
    (a, b, bare)
}

fn clone_of(url: &Path) -> TestRepo {
    let b = TestRepo::empty();
    b.git(&["remote", "add", "origin", url.to_str().unwrap()]);
    b.git(&["fetch", "-q", "origin"]);
    b.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    b
}

/// Uncommitted, staged and untracked work of every kind the issue names.
fn make_work(repo: &TestRepo, wt: &Path) {
    write_file(&wt.join("README.md"), "hello\nchanged on A\n");
    write_file(&wt.join("dir with space/new file ü.txt"), "new\n");
    write_file(&wt.join("tool.sh"), "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(wt.join("tool.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("README.md", wt.join("link")).unwrap();
    write_file(&wt.join("staged.txt"), "staged\n");
    repo.git_in(wt, &["add", "staged.txt"]);
}

fn status(repo: &TestRepo, wt: &Path) -> String {
    repo.git_in(wt, &["status", "--porcelain=v1", "--untracked-files=all"])
}

#[test]
fn push_fetch_resume_carries_uncommitted_work_and_the_same_id() {
    let (a, b, bare) = pair();
    let wt_a = a.new_session("feat");
    make_work(&a, &wt_a);
    a.session(&["context", "feat", "--append", "goal: share it"])
        .ok();
    a.session(&["handoff", "feat", "-m", "Known risks: none", "--to", "B"])
        .ok();
    let pushed = a.session_in(&wt_a, &["push"]).ok();
    assert_eq!(pushed.line(), "origin/feat");
    for r in ["refs/sessions/feat", "refs/heads/session/feat"] {
        a.git_in(&bare, &["rev-parse", "--verify", "-q", r]);
    }

    b.session(&["fetch"]).ok();
    let listed = b.session(&["list", "--all", "--json"]).ok().json();
    assert_eq!(listed[0]["name"], "origin/feat", "{listed}");
    // Before it is taken up, `show` shows the fetched copy, and says how to take it up.
    let shown = b.session(&["show", "origin/feat"]).ok();
    assert_eq!(
        shown.stderr,
        "origin/feat as fetched: not taken up here (`git session resume origin/feat` takes it up)\n"
    );
    assert!(
        shown.stdout.starts_with("name            feat\n"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("goal: share it"), "{}", shown.stdout);
    // Commands that act on a session name the fetched copy and how to take it up.
    let ended = b.session(&["end", "origin/feat"]).fails();
    assert_eq!(
        ended.stderr,
        "error: no local session named 'origin/feat'; 'origin/feat' is a fetched session\n\
         hint: `git session resume origin/feat` takes it up here; `git session list --all` lists fetched sessions\n"
    );
    let resumed = b.session(&["resume", "feat"]).ok();
    assert!(
        resumed.stderr.contains("Known risks: none"),
        "{}",
        resumed.stderr
    );
    let wt_b = PathBuf::from(resumed.line());
    assert_eq!(tree_state(&wt_a), tree_state(&wt_b));
    assert_eq!(status(&a, &wt_a), status(&b, &wt_b));
    assert!(status(&b, &wt_b).contains("A  staged.txt"));
    assert_eq!(a.meta("feat")["id"], b.meta("feat")["id"]);
    assert_eq!(
        b.session(&["context", "feat"]).ok().line(),
        "goal: share it"
    );
    assert!(b.session(&["show", "feat"]).ok().stdout.contains("To: B"));
}

#[test]
fn notes_from_both_sides_survive_both_pushes() {
    let (a, b, bare) = pair();
    let wt_a = a.new_session("n");
    a.git_in(
        &wt_a,
        &["notes", "--ref=sessions", "add", "-m", "from A", "HEAD"],
    );
    a.session(&["push", "origin", "n"]).ok();
    // B notes the same commit without having fetched A's notes.
    b.git(&["notes", "--ref=sessions", "add", "-m", "from B", "HEAD"]);
    b.session(&["fetch"]).ok();
    let wt_b = PathBuf::from(b.session(&["resume", "n"]).ok().line());
    b.git_in(
        &wt_b,
        &["commit", "-q", "--allow-empty", "-m", "B's commit"],
    );
    b.git_in(
        &wt_b,
        &[
            "notes",
            "--ref=sessions",
            "add",
            "-m",
            "B's commit note",
            "HEAD",
        ],
    );
    b.session(&["push", "n"]).ok();
    let head = a.git(&["rev-parse", "main"]);
    let note = a.git_in(&bare, &["notes", "--ref=sessions", "show", &head]);
    assert!(note.contains("from A") && note.contains("from B"), "{note}");
    let b_head = b.git_in(&wt_b, &["rev-parse", "HEAD"]);
    assert_eq!(
        a.git_in(&bare, &["notes", "--ref=sessions", "show", &b_head]),
        "B's commit note"
    );
}

#[test]
fn the_remote_notes_moving_during_a_push_is_merged_and_retried() {
    let (a, b, bare) = pair();
    let wt_a = a.new_session("r");
    a.git_in(
        &wt_a,
        &["notes", "--ref=sessions", "add", "-m", "from A", "HEAD"],
    );
    // B's notes reach the remote while A's push is under way (from A's pre-push hook, once).
    b.git(&["notes", "--ref=sessions", "add", "-m", "from B", "HEAD"]);
    let hook = a.root.join(".git/hooks/pre-push");
    let marker = a.home.join("hook-ran");
    write_file(
        &hook,
        &format!(
            "#!/bin/sh\n[ -e '{m}' ] && exit 0\ntouch '{m}'\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\ncd '{b}' && git push -q origin refs/notes/sessions:refs/notes/sessions\n",
            m = marker.display(),
            b = b.root.display()
        ),
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = a.session(&["push", "origin", "r"]).ok();
    assert!(out.stderr.contains("attempts"), "{}", out.stderr);
    let head = a.git(&["rev-parse", "main"]);
    let note = a.git_in(&bare, &["notes", "--ref=sessions", "show", &head]);
    assert!(note.contains("from A") && note.contains("from B"), "{note}");
}

#[test]
fn divergence_is_refused_on_push_and_resume_with_nothing_lost() {
    let (a, b, bare) = pair();
    a.new_session("d");
    a.session(&["push", "origin", "d"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "d"]).ok();
    b.session(&["context", "d", "--append", "B was here"]).ok();
    b.session(&["push", "d"]).ok();
    a.session(&["context", "d", "--append", "A was here"]).ok();
    let a_tip = a.git(&["rev-parse", "refs/sessions/d"]);
    let remote_tip = a.git_in(&bare, &["rev-parse", "refs/sessions/d"]);

    let refused = a.session(&["push", "d"]).fails();
    assert_eq!(
        refused
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1
    );
    assert!(refused.stderr.contains("rejected"), "{}", refused.stderr);
    assert_eq!(
        a.git_in(&bare, &["rev-parse", "refs/sessions/d"]),
        remote_tip
    );

    a.session(&["fetch"]).ok();
    assert!(
        a.session(&["list", "--all"])
            .ok()
            .stdout
            .contains("diverged")
    );
    let refused = a.session(&["resume", "d"]).fails();
    assert!(refused.stderr.contains("diverged"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--as"), "{}", refused.stderr);
    assert_eq!(a.git(&["rev-parse", "refs/sessions/d"]), a_tip);
    // Both sides' events are still there, and the remote copy can be taken up beside.
    let theirs = a.session(&["resume", "origin/d", "--as", "d-2"]).ok();
    assert!(std::fs::metadata(theirs.line()).is_ok());
    assert!(
        a.session(&["context", "d-2"])
            .ok()
            .stdout
            .contains("B was here")
    );
    assert!(
        a.session(&["context", "d"])
            .ok()
            .stdout
            .contains("A was here")
    );
    a.session(&["resume", "d", "--local"]).ok();
}

#[test]
fn behind_is_fast_forwarded_on_resume() {
    let (a, b, _bare) = pair();
    a.new_session("ff");
    a.session(&["push", "origin", "ff"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "ff"]).ok();
    a.session(&["context", "ff", "--append", "later on A"]).ok();
    a.session(&["push", "ff"]).ok();
    b.session(&["fetch"]).ok();
    assert!(b.session(&["list", "--all"]).ok().stdout.contains("behind"));
    let out = b.session(&["resume", "ff"]).ok();
    assert!(out.stderr.contains("Fast-forwarded"), "{}", out.stderr);
    assert!(
        b.session(&["context", "ff"])
            .ok()
            .stdout
            .contains("later on A")
    );
}

#[test]
fn a_fast_forward_brings_the_newer_files_into_an_existing_worktree() {
    let (a, b, bare) = pair();
    let wt_a = a.new_session("ffw");
    write_file(&wt_a.join("README.md"), "first edit\n");
    a.session(&["push", "origin", "ffw"]).ok();
    b.session(&["fetch"]).ok();
    let wt_b = PathBuf::from(b.session(&["resume", "ffw"]).ok().line());
    write_file(&wt_a.join("README.md"), "first edit\nsecond edit\n");
    a.session(&["push", "ffw"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "ffw"]).ok();
    assert_eq!(
        tree_state(&wt_b),
        tree_state(&wt_a),
        "B shows A's second edit"
    );
    // Pushing from B now carries nothing older over A's work.
    b.session(&["push", "ffw"]).ok();
    let c = clone_of(&bare);
    c.session(&["fetch"]).ok();
    let wt_c = PathBuf::from(c.session(&["resume", "ffw"]).ok().line());
    assert_eq!(
        std::fs::read_to_string(wt_c.join("README.md")).unwrap(),
        "first edit\nsecond edit\n"
    );
    // Local changes since the last checkpoint: the log is not moved, the work is kept.
    write_file(&wt_a.join("README.md"), "third\n");
    a.session(&["push", "ffw"]).ok();
    write_file(&wt_b.join("mine.txt"), "B's own\n");
    b.session(&["fetch"]).ok();
    b.session(&["resume", "ffw"]).fails();
    assert!(wt_b.join("mine.txt").is_file());
}

#[test]
fn a_fetched_session_cannot_take_over_an_existing_branch() {
    let (a, b, _bare) = pair();
    a.git(&["config", "session.branchPrefix", ""]);
    a.git(&["branch", "-q", "-m", "main", "trunk"]);
    a.git(&["checkout", "-q", "-b", "other"]);
    a.session(&["new", "--head", "--no-worktree", "main"]).ok();
    a.session(&["push", "origin", "main"]).ok();
    b.session(&["fetch"]).ok();
    let before = b.git(&["rev-parse", "main"]);
    let out = b.session(&["resume", "origin/main"]).fails();
    assert!(out.stderr.contains("already exists here"), "{}", out.stderr);
    assert_eq!(b.git(&["rev-parse", "main"]), before);
}

#[test]
fn a_session_renamed_elsewhere_is_not_taken_up_twice() {
    let (a, b, _bare) = pair();
    a.new_session("before");
    a.session(&["push", "origin", "before"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "before"]).ok();
    a.session(&["rename", "before", "after"]).ok();
    a.session(&["push", "origin", "after"]).ok();
    b.session(&["fetch"]).ok();
    let out = b.session(&["resume", "after"]).fails();
    assert!(out.stderr.contains("under another name"), "{}", out.stderr);
    assert!(!b.has_ref(&b.root, "refs/sessions/after"));
}

#[test]
fn a_rejected_push_leaves_nothing_half_pushed() {
    let (a, b, bare) = pair();
    let wt_a = a.new_session("half");
    // Someone else pushed a branch of the same name first.
    b.git(&["commit", "-q", "--allow-empty", "-m", "theirs"]);
    b.git(&["push", "-q", "origin", "HEAD:refs/heads/session/half"]);
    write_file(&wt_a.join("x.txt"), "x\n");
    let out = a.session(&["push", "origin", "half"]).fails();
    assert!(
        out.stderr.contains("refs/heads/session/half"),
        "{}",
        out.stderr
    );
    assert!(
        !a.has_ref(&bare, "refs/sessions/half"),
        "the session's log was pushed alone"
    );
}

#[test]
fn files_that_look_like_secrets_are_refused() {
    let (a, _b, bare) = pair();
    let wt = a.new_session("s");
    write_file(&wt.join(".env.production"), "PASSWORD=hunter2\n");
    write_file(
        &wt.join("keys/deploy"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    write_file(
        &wt.join("notes.txt"),
        "token=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n",
    );
    write_file(&wt.join("ok.txt"), "fine\n");
    let out = a.session(&["push", "origin", "s"]).fails();
    for name in [".env.production", "keys/deploy", "notes.txt"] {
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("ok.txt"), "{}", out.stderr);
    assert!(out.stderr.contains(".gitignore"), "{}", out.stderr);
    assert!(!a.has_ref(&bare, "refs/sessions/s"));
    // The refused push took its checkpoint back: ignoring the files is enough.
    std::fs::write(
        a.root.join(".git/info/exclude"),
        ".env.production\nkeys/\nnotes.txt\n",
    )
    .unwrap();
    a.session(&["push", "origin", "s"]).ok();
    // Staged-only secrets are found too (the checkpoint's staged state travels).
    write_file(
        &wt.join("id_rsa"),
        "-----BEGIN RSA PRIVATE KEY-----\nfake\n",
    );
    a.git_in(&wt, &["add", "-f", "id_rsa"]);
    std::fs::remove_file(wt.join("id_rsa")).unwrap();
    let out = a.session(&["push", "origin", "s"]).fails();
    assert!(out.stderr.contains("id_rsa"), "{}", out.stderr);
    a.session(&["push", "origin", "s", "--allow-secrets"]).ok();
    // A file staged as one thing and turned into a secret since: both versions travel, and
    // the one on disk is judged too.
    a.git_in(&wt, &["reset", "-q", "--", "id_rsa"]);
    write_file(&wt.join("config.txt"), "harmless\n");
    a.git_in(&wt, &["add", "config.txt"]);
    write_file(&wt.join("config.txt"), "AKIAABCDEFGHIJKLMNOP\n");
    let out = a.session(&["push", "origin", "s"]).fails();
    assert!(out.stderr.contains("config.txt"), "{}", out.stderr);
    assert!(!out.stderr.contains("id_rsa"), "{}", out.stderr);
}

/// A checkpoint taken before the push holds a secret the worktree no longer has: the push
/// still refuses (the log would publish it), names that checkpoint, and pushes nothing; the
/// checkpoint it took itself is judged as well.
#[test]
fn a_secret_in_an_earlier_checkpoint_is_refused() {
    let (a, _b, bare) = pair();
    let wt = a.new_session("s");
    write_file(&wt.join(".env.local"), "API_KEY=hunter2\n");
    let old = a.session(&["checkpoint", "s"]).ok().line().to_owned();
    std::fs::remove_file(wt.join(".env.local")).unwrap();
    write_file(
        &wt.join("notes.txt"),
        "token=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n",
    );
    let out = a.session(&["push", "origin", "s"]).fails();
    assert!(out.stderr.contains(".env.local"), "{}", out.stderr);
    assert!(out.stderr.contains("notes.txt"), "{}", out.stderr);
    assert!(out.stderr.contains(&old[..7]), "{}", out.stderr);
    assert!(out.stderr.contains("already holds them"), "{}", out.stderr);
    assert!(!a.has_ref(&bare, "refs/sessions/s"));
}

/// Writes a log commit into `repo` by hand: `files` (name, content) in its tree.
fn forge(
    repo: &TestRepo,
    dir: &Path,
    files: &[(&str, &[u8])],
    parent: Option<&str>,
    msg: &str,
) -> String {
    let mut listing = String::new();
    for (name, content) in files {
        let file = repo.home.join("forged-blob");
        std::fs::write(&file, content).unwrap();
        let blob = repo.git_in(dir, &["hash-object", "-w", file.to_str().unwrap()]);
        listing.push_str(&format!("100644 blob {blob}\t{name}\n"));
    }
    let list_file = repo.home.join("forged-listing");
    std::fs::write(&list_file, listing).unwrap();
    let tree = repo
        .cmd_in(
            dir,
            "sh",
            &["-c", &format!("git mktree < '{}'", list_file.display())],
        )
        .ok()
        .line()
        .to_owned();
    let mut args = vec!["commit-tree", "-m", msg];
    if let Some(p) = parent {
        args.extend(["-p", p]);
    }
    args.push(&tree);
    repo.git_in(dir, &args)
}

#[test]
fn hostile_fetched_sessions_are_refused_one_by_one() {
    let (a, b, bare) = pair();
    a.new_session("good");
    a.session(&["push", "origin", "good"]).ok();
    let good_yaml = a.git(&["show", "refs/sessions/good:session.yaml"]);
    let id = a.meta("good")["id"].as_str().unwrap().to_owned();
    let msg = format!("created: x\n\nSession-Id: {id}\nSession-Event: created\n");
    let yaml_for = |name: &str| good_yaml.replace("name: good", &format!("name: {name}"));
    let mut cases: Vec<(&str, String)> = Vec::new();
    // Name disagreeing with the ref.
    cases.push((
        "wrong-name",
        forge(
            &a,
            &bare,
            &[("session.yaml", good_yaml.as_bytes())],
            None,
            &msg,
        ),
    ));
    // Oversized blob.
    let big = format!("{}\nbig: '{}'\n", yaml_for("big"), "x".repeat(1_100_000));
    cases.push((
        "big",
        forge(&a, &bare, &[("session.yaml", big.as_bytes())], None, &msg),
    ));
    // YAML alias bomb.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str(&yaml_for("bomb"));
    cases.push((
        "bomb",
        forge(&a, &bare, &[("session.yaml", bomb.as_bytes())], None, &msg),
    ));
    // Absolute and `..` paths.
    let abs = yaml_for("abs").replace("base_ref: main", "base_ref: /etc/passwd");
    cases.push((
        "abs",
        forge(&a, &bare, &[("session.yaml", abs.as_bytes())], None, &msg),
    ));
    let dotdot = format!(
        "{}transcript: ../../../home/x/.ssh/id_rsa\n",
        yaml_for("dotdot")
    );
    cases.push((
        "dotdot",
        forge(
            &a,
            &bare,
            &[("session.yaml", dotdot.as_bytes())],
            None,
            &msg,
        ),
    ));
    // Unknown status.
    let status = yaml_for("status").replace("status: active", "status: running");
    cases.push((
        "status",
        forge(
            &a,
            &bare,
            &[("session.yaml", status.as_bytes())],
            None,
            &msg,
        ),
    ));
    // A log commit without session.yaml (under a good tip).
    let root = forge(&a, &bare, &[("other.txt", b"x")], None, &msg);
    let on_top = forge(
        &a,
        &bare,
        &[("session.yaml", yaml_for("nometa").as_bytes())],
        Some(&root),
        &msg,
    );
    cases.push(("nometa", on_top));
    // Not a chain of log commits: the first parent is a plain commit of the project.
    let main = a.git_in(&bare, &["rev-parse", "main"]);
    cases.push((
        "chain",
        forge(
            &a,
            &bare,
            &[("session.yaml", yaml_for("chain").as_bytes())],
            Some(&main),
            &msg,
        ),
    ));
    // A chain onto another session's log.
    let good_tip = a.git_in(&bare, &["rev-parse", "refs/sessions/good"]);
    let other_id = yaml_for("otherid").replace(&id, "0000111122223333");
    let other_msg = msg.replace(&id, "0000111122223333");
    cases.push((
        "otherid",
        forge(
            &a,
            &bare,
            &[("session.yaml", other_id.as_bytes())],
            Some(&good_tip),
            &other_msg,
        ),
    ));
    // A name breaking DESIGN §2 (over 100 bytes).
    let long = "l".repeat(120);
    cases.push((
        "long",
        forge(
            &a,
            &bare,
            &[("session.yaml", yaml_for(&long).as_bytes())],
            None,
            &msg,
        ),
    ));
    for (name, commit) in &cases {
        let name = if *name == "long" { long.as_str() } else { name };
        a.git_in(
            &bare,
            &["update-ref", &format!("refs/sessions/{name}"), commit],
        );
    }
    // Notes that are not text.
    let binary = forge(
        &a,
        &bare,
        &[(main.as_str(), b"\x00\x01binary")],
        None,
        "notes",
    );
    a.git_in(&bare, &["update-ref", "refs/notes/sessions", &binary]);

    let out = b.session(&["fetch"]).fails();
    for (name, _) in &cases {
        let shown = if *name == "long" { &long[..20] } else { name };
        assert!(
            out.stderr.contains(&format!("origin/{shown}")),
            "{name}: {}",
            out.stderr
        );
    }
    assert!(
        out.stderr
            .contains("notes fetched from 'origin' are refused"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("origin/good"), "{}", out.stderr);
    assert!(!b.has_ref(&b.root, "refs/notes/sessions"));
    // Refused copies are not kept: nothing lists or resumes them.
    assert_eq!(
        b.git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/remote-sessions/"
        ]),
        "refs/remote-sessions/origin/good"
    );
    // The good one keeps working. A plain `git fetch` (as after `remote setup`) brings the
    // hostile ones unchecked: resume refuses them too.
    b.session(&["resume", "good"]).ok();
    b.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/sessions/*:refs/remote-sessions/origin/*",
    ]);
    let refused = b.session(&["resume", "abs"]).fails();
    assert!(
        refused.stderr.contains("outside the repository"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        refused
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1
    );
    b.session(&["resume", "chain"]).fails();
    let listed = b.session(&["list", "--all"]).ok();
    assert!(listed.stdout.contains("origin/good"), "{}", listed.stdout);
}

#[test]
fn remote_setup_makes_a_plain_fetch_bring_sessions() {
    let (a, b, _bare) = pair();
    a.new_session("plain");
    a.session(&["push", "origin", "plain"]).ok();
    b.session(&["remote", "setup"]).ok();
    b.session(&["remote", "setup"]).ok();
    let specs = b.git(&["config", "--get-all", "remote.origin.fetch"]);
    assert_eq!(
        specs
            .lines()
            .filter(|l| l.contains("remote-sessions"))
            .count(),
        1,
        "{specs}"
    );
    b.git(&["fetch", "-q", "origin"]);
    b.git(&["rev-parse", "--verify", "refs/remote-sessions/origin/plain"]);
}

#[test]
fn fetch_prune_drops_fetched_sessions_the_remote_deleted() {
    let (a, b, bare) = pair();
    a.new_session("gone");
    a.new_session("kept");
    a.session(&["push", "origin", "gone", "kept"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "origin/kept"]).ok();
    a.git_in(&bare, &["update-ref", "-d", "refs/sessions/gone"]);
    a.git_in(&bare, &["update-ref", "-d", "refs/sessions/kept"]);
    // Without --prune the fetched copies stay.
    b.session(&["fetch"]).ok();
    b.git(&["rev-parse", "--verify", "refs/remote-sessions/origin/gone"]);
    let out = b.session(&["fetch", "--prune"]).ok();
    assert!(out.stderr.contains("pruned origin/gone"), "{}", out.stderr);
    let left = b.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/remote-sessions/",
    ]);
    assert!(!left.contains("/gone") && !left.contains("/kept"), "{left}");
    // The session taken up here is local and stays.
    b.git(&["rev-parse", "--verify", "refs/sessions/kept"]);
    // A mirror refspec in the remote's config writes nowhere but remote-tracking refs.
    b.git(&["config", "--add", "remote.origin.fetch", "+refs/*:refs/*"]);
    b.session(&["fetch", "--prune"]).ok();
    b.git(&["rev-parse", "--verify", "refs/sessions/kept"]);
    b.git(&["rev-parse", "--verify", "refs/heads/session/kept"]);
}

#[test]
fn context_and_handoff_are_logged_events() {
    let repo = TestRepo::new();
    repo.new_session("c");
    assert_eq!(repo.session(&["context", "c"]).ok().stdout, "");
    let file = repo.home.join("ctx.md");
    std::fs::write(&file, "# Goal\nship it\n").unwrap();
    repo.session(&["context", "c", "--set", file.to_str().unwrap()])
        .ok();
    repo.session(&["context", "c", "--append", "next: tests"])
        .ok();
    assert_eq!(
        repo.session(&["context", "c"]).ok().stdout,
        "# Goal\nship it\n\nnext: tests\n"
    );
    repo.session(&["handoff", "c", "-m", "Commands run: cargo test"])
        .ok();
    let events = repo.events("c");
    assert!(events[0].starts_with("handoff:"), "{events:?}");
    assert!(events[1].starts_with("context:"), "{events:?}");
    let handoff = repo.git(&["show", "refs/sessions/c:handoff.md"]);
    assert!(handoff.contains("Commands run: cargo test"), "{handoff}");
    assert!(handoff.contains("## Commits since the base"), "{handoff}");
    // A later event keeps the handoff.
    repo.session(&["context", "c", "--append", "more"]).ok();
    repo.git(&["show", "refs/sessions/c:handoff.md"]);
    assert_eq!(
        repo.session(&["handoff", "c"]).code,
        2,
        "no text: a usage error"
    );
}

/// A free TCP port on 127.0.0.1.
#[test]
fn sharing_over_git_daemon_on_loopback() {
    let (a, _b, bare) = pair();
    let Some((_daemon, url)) = crate::support::git_daemon(&a, &bare) else {
        eprintln!("skipped: git daemon is not available");
        return;
    };
    a.git(&["remote", "add", "net", &url]);
    let wt = a.new_session("net");
    make_work(&a, &wt);
    a.session(&["push", "net", "net"]).ok();
    let b = TestRepo::empty();
    b.git(&["remote", "add", "net", &url]);
    b.git(&["fetch", "-q", "net"]);
    b.git(&["checkout", "-q", "-B", "main", "net/main"]);
    b.session(&["fetch", "net"]).ok();
    let wt_b = PathBuf::from(b.session(&["resume", "net/net"]).ok().line());
    assert_eq!(tree_state(&wt), tree_state(&wt_b));
    assert_eq!(status(&a, &wt), status(&b, &wt_b));
}

#[test]
fn lfs_objects_travel_through_git_lfs_pre_push_hook() {
    lfs_round_trip(true);
}

#[test]
fn lfs_objects_travel_without_git_lfs_pre_push_hook() {
    lfs_round_trip(false);
}

fn lfs_round_trip(keep_hook: bool) {
    let probe = std::process::Command::new("git")
        .args(["lfs", "version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: git-lfs is not installed");
        return;
    }
    let (a, _b, bare) = pair();
    let url = format!("file://{}", bare.display());
    a.git(&["remote", "set-url", "origin", &url]);
    a.git(&["lfs", "install", "--local"]);
    a.git(&["lfs", "track", "*.bin"]);
    a.commit_files(&[("tracked.bin", "committed lfs content\n")], "lfs");
    a.git(&["push", "-q", "origin", "main"]);
    let wt = a.new_session("lfs");
    if !keep_hook {
        // Another tool's pre-push hook, which does not chain to git-lfs's (written after the
        // worktree was made: git-lfs puts its own back where there is none).
        let hook = a.root.join(".git/hooks/pre-push");
        std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    }
    write_file(&wt.join("tracked.bin"), "uncommitted lfs content\n");
    write_file(&wt.join("new.bin"), "new lfs content\n");
    a.session(&["push", "origin", "lfs"]).ok();
    // The checkpoint holds pointers, and the remote has the objects they point at.
    let pointer = a.git(&["show", "refs/sessions/lfs^2:new.bin"]);
    assert!(pointer.starts_with("version https://git-lfs"), "{pointer}");
    let oid = pointer
        .lines()
        .find_map(|l| l.strip_prefix("oid sha256:"))
        .unwrap()
        .to_owned();
    let stored = bare.join(format!("lfs/objects/{}/{}/{oid}", &oid[..2], &oid[2..4]));
    assert!(stored.is_file(), "{} is missing", stored.display());
    let b = clone_of(&bare);
    b.git(&["remote", "set-url", "origin", &url]);
    b.git(&["lfs", "install", "--local"]);
    b.git(&["lfs", "pull"]);
    b.session(&["fetch"]).ok();
    let wt_b = PathBuf::from(b.session(&["resume", "lfs"]).ok().line());
    assert_eq!(
        std::fs::read_to_string(wt_b.join("tracked.bin")).unwrap(),
        "uncommitted lfs content\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt_b.join("new.bin")).unwrap(),
        "new lfs content\n"
    );
}

#[test]
fn a_dry_run_push_judges_secrets_too() {
    let (a, _b, _bare) = pair();
    let wt = a.new_session("dry");
    write_file(
        &wt.join("id_rsa"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n",
    );
    let out = a.session(&["push", "-n", "origin", "dry"]).fails();
    assert!(out.stderr.contains("id_rsa"), "{}", out.stderr);
    assert!(!out.stderr.contains("Would push"), "{}", out.stderr);
}

/// A fetched log that moves the session onto another branch (`main`) is not fast-forwarded.
#[test]
fn a_fetched_copy_moving_the_session_to_another_branch_is_refused() {
    let (a, b, bare) = pair();
    a.new_session("s");
    a.session(&["push", "origin", "s"]).ok();
    b.session(&["fetch"]).ok();
    b.session(&["resume", "s"]).ok();
    let yaml = a.git(&["show", "refs/sessions/s:session.yaml"]);
    assert!(yaml.contains("branch: session/s"), "{yaml}");
    let id = a.meta("s")["id"].as_str().unwrap().to_owned();
    let tip = a.git_in(&bare, &["rev-parse", "refs/sessions/s"]);
    let moved = yaml.replace("branch: session/s", "branch: main");
    let msg = format!("resumed: elsewhere\n\nSession-Id: {id}\nSession-Event: resumed\n");
    let forged = forge(
        &a,
        &bare,
        &[("session.yaml", moved.as_bytes())],
        Some(&tip),
        &msg,
    );
    a.git_in(&bare, &["update-ref", "refs/sessions/s", &forged]);
    b.session(&["fetch"]).ok();
    let out = b.session(&["resume", "s"]).fails();
    assert!(
        out.stderr.contains("from branch 'session/s' to 'main'"),
        "{}",
        out.stderr
    );
    assert_eq!(b.meta("s")["branch"], "session/s");
    assert_eq!(b.git(&["rev-parse", "refs/sessions/s"]), tip);
}

/// A fetched checkpoint naming `.git/config` is refused before anything is written, and the
/// half-made session is taken back, so the same resume fails the same way again.
#[test]
fn a_fetched_checkpoint_with_a_path_git_refuses_is_refused_whole() {
    let (a, b, bare) = pair();
    let wt = a.new_session("s");
    write_file(&wt.join("work.txt"), "work\n");
    a.session(&["push", "origin", "s"]).ok();
    let id = a.meta("s")["id"].as_str().unwrap().to_owned();
    let yaml = a.git(&["show", "refs/sessions/s:session.yaml"]);
    let tip = a.git_in(&bare, &["rev-parse", "refs/sessions/s"]);
    let head = a.git_in(&bare, &["rev-parse", "refs/heads/session/s"]);
    // The checkpoint: HEAD's tree plus `.git/config`.
    let blob = a.cmd_in(
        &bare,
        "sh",
        &["-c", "echo '[core]' | git hash-object -w --stdin"],
    );
    let blob = blob.ok().line().to_owned();
    let sub = a.cmd_in(
        &bare,
        "sh",
        &[
            "-c",
            &format!("printf '100644 blob {blob}\\tconfig\\n' | git mktree"),
        ],
    );
    let sub = sub.ok().line().to_owned();
    let listing =
        format!("{{ git ls-tree {head}; printf '040000 tree {sub}\\t.git\\n'; }} | git mktree");
    let tree = a
        .cmd_in(&bare, "sh", &["-c", &listing])
        .ok()
        .line()
        .to_owned();
    let ckpt = a.git_in(
        &bare,
        &["commit-tree", "-m", "checkpoint", "-p", &head, &tree],
    );
    let msg =
        format!("checkpoint: {ckpt} hostile\n\nSession-Id: {id}\nSession-Event: checkpoint\n");
    let yaml_file = a.home.join("yaml");
    std::fs::write(&yaml_file, &yaml).unwrap();
    let yaml_blob = a.git_in(&bare, &["hash-object", "-w", yaml_file.to_str().unwrap()]);
    let log_tree = a.cmd_in(
        &bare,
        "sh",
        &[
            "-c",
            &format!("printf '100644 blob {yaml_blob}\\tsession.yaml\\n' | git mktree"),
        ],
    );
    let log_tree = log_tree.ok().line().to_owned();
    let log = a.git_in(
        &bare,
        &[
            "commit-tree",
            "-m",
            &msg,
            "-p",
            &tip,
            "-p",
            &ckpt,
            &log_tree,
        ],
    );
    a.git_in(&bare, &["update-ref", "refs/sessions/s", &log]);
    b.session(&["fetch"]).ok();
    for _ in 0..2 {
        let out = b.session(&["resume", "s"]).fails();
        assert!(
            out.stderr
                .contains("a path git cannot check out (.git/config)"),
            "{}",
            out.stderr
        );
        assert!(!b.root.join(".worktrees/s").exists());
        assert!(!b.has_ref(&b.root, "refs/heads/session/s"));
    }
}

/// The log goes as it was judged: a checkpoint someone takes while the push runs (an
/// agent's hook, the background refresh) is not published unjudged.
#[test]
fn push_sends_the_log_as_it_was_judged() {
    let (a, _b, bare) = pair();
    let wt = a.new_session("s");
    write_file(&wt.join("work.txt"), "work\n");
    // With local notes, push fetches the remote's first: the moment to slip a checkpoint in.
    a.git(&["notes", "--ref=sessions", "add", "-m", "a note", "HEAD"]);
    let script = a.home.join("upload-pack");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf 'SECRET=1\\n' > '{wt}/.env.production'\n\
             (cd '{wt}' && git session checkpoint s) >/dev/null 2>&1\n\
             exec git-upload-pack \"$@\"\n",
            wt = wt.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Run through a shell: quoted, as the test's path has spaces.
    let quoted = format!("'{}'", script.display());
    a.git(&["config", "remote.origin.uploadpack", &quoted]);
    a.session(&["push", "origin", "s"]).ok();
    let local = a.git(&["rev-parse", "refs/sessions/s^"]);
    assert!(
        a.git(&["log", "-1", "--format=%s", "refs/sessions/s"])
            .starts_with("checkpoint:"),
        "the script took its checkpoint"
    );
    assert_eq!(
        a.git_in(&bare, &["rev-parse", "refs/sessions/s"]),
        local,
        "the remote has the log as the push judged it"
    );
}

#[test]
fn push_and_fetch_answer_in_json() {
    let (a, b, _bare) = pair();
    let wt = a.new_session("j");
    write_file(&wt.join("work.txt"), "work\n");
    let pushed = a.session(&["push", "origin", "j", "--json"]).ok().json();
    assert_eq!(pushed["remote"], "origin");
    assert_eq!(pushed["dry_run"], false);
    let session = &pushed["sessions"][0];
    assert_eq!(session["name"], "j");
    assert_eq!(session["remote_name"], "origin/j");
    assert_eq!(session["log"], a.git(&["rev-parse", "refs/sessions/j"]));
    assert_eq!(session["checkpoint"], a.meta("j")["last_checkpoint"]);
    assert!(session["checkpoint"].is_string(), "{pushed}");
    // Human output: one line per session.
    let again = a.session(&["push", "origin", "j"]).ok();
    assert_eq!(again.stdout, "origin/j\n");

    let fetched = b.session(&["fetch", "--json"]).ok().json();
    assert_eq!(fetched["remote"], "origin");
    assert_eq!(fetched["sessions"][0]["remote_name"], "origin/j");
    assert_eq!(fetched["sessions"][0]["local"], serde_json::Value::Null);
    assert_eq!(fetched["refused"], serde_json::json!([]));
    assert_eq!(fetched["pruned"], serde_json::json!([]));
}

/// On a terminal, `context --edit` and `handoff` without `-m` open the editor git would
/// (`GIT_EDITOR` here). `script` gives them a terminal; skipped where it is missing.
#[test]
fn context_edit_and_handoff_open_gits_editor_on_a_terminal() {
    let repo = TestRepo::new();
    if repo.cmd_in(&repo.root, "script", &["--version"]).code != 0 {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    repo.new_session("e");
    let editor = repo.home.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'typed in the editor\\n' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let on_terminal = |command: &str| {
        // A shell command, as git runs it: the path has spaces, so it is quoted inside.
        let line = format!(
            "GIT_EDITOR=\"'{}'\" git session {command}",
            editor.display()
        );
        repo.cmd_in(&repo.root, "script", &["-qec", &line, "/dev/null"])
    };
    let out = on_terminal("context --edit e");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        repo.session(&["context", "e"]).ok().stdout,
        "typed in the editor\n"
    );
    let out = on_terminal("handoff e");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let handoff = repo.git(&["show", "refs/sessions/e:handoff.md"]);
    assert!(handoff.contains("## Known risks"), "{handoff}");
    assert!(handoff.contains("typed in the editor"), "{handoff}");

    // Someone appends while the editor is open: the edit is not recorded over it.
    std::fs::write(
        &editor,
        "#!/bin/sh
git session context e --append 'meanwhile' >/dev/null 2>&1
         printf 'my edit\n' >> \"$1\"\n",
    )
    .unwrap();
    let out = on_terminal("context --edit e");
    assert_ne!(out.code, 0);
    assert!(
        out.stdout.contains("while it was being edited"),
        "{}",
        out.stdout
    );
    let context = repo.session(&["context", "e"]).ok().stdout;
    assert!(
        context.ends_with("meanwhile\n") && !context.contains("my edit"),
        "{context}"
    );
}

/// A resume killed while it puts the checkpoint into the new worktree: the next resume
/// finishes it (files and `git status` as on the other machine), and push refuses the
/// half-made worktree meanwhile.
#[test]
fn an_interrupted_resume_is_finished_by_the_next() {
    let (a, b, _bare) = pair();
    let wt = a.new_session("k");
    make_work(&a, &wt);
    a.session(&["push", "origin", "k"]).ok();
    b.session(&["fetch"]).ok();
    // A `git` that kills git-session when it starts writing the checkpoint's files.
    let real = b
        .cmd_in(&b.root, "sh", &["-c", "command -v git"])
        .ok()
        .line()
        .to_owned();
    let dir = b.home.join("killer");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("git"),
        format!(
            "#!/bin/sh\ncase \"$*\" in *'read-tree -m -u'*) kill -9 $PPID; exit 1;; esac\nexec '{real}' \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(dir.join("git"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let killed = b.cmd_in(
        &b.root,
        "sh",
        // The binary itself: `git session` would put git's exec-path first in PATH.
        &[
            "-c",
            &format!("PATH='{}':\"$PATH\" '{BIN}' resume k", dir.display()),
        ],
    );
    assert_ne!(killed.code, 0, "{}", killed.stderr);
    let wt_b = b.root.join(".worktrees/k");
    assert!(
        wt_b.join(".git").is_file(),
        "the worktree was made, the work not yet put in"
    );
    assert_ne!(status(&b, &wt_b), status(&a, &wt));
    let out = b.session(&["push", "origin", "k"]).fails();
    assert!(out.stderr.contains("was interrupted"), "{}", out.stderr);
    let out = b.session(&["resume", "k"]).ok();
    assert!(out.stderr.contains("finishing it"), "{}", out.stderr);
    assert_eq!(status(&b, &wt_b), status(&a, &wt));
    assert_eq!(tree_state(&wt_b), tree_state(&wt));
    // Finished: nothing is pending any more.
    assert!(
        !b.session(&["resume", "k"])
            .ok()
            .stderr
            .contains("finishing")
    );
}

#[test]
fn push_names_what_it_cannot_find() {
    let (a, _b, _bare) = pair();
    a.new_session("s");
    let out = a.session(&["push", "nosuch"]).fails();
    assert!(
        out.stderr.contains("no remote or session named 'nosuch'"),
        "{}",
        out.stderr
    );
    let out = a.session(&["push", "nosuch", "s"]).fails();
    assert!(
        out.stderr.contains("no remote named 'nosuch'"),
        "{}",
        out.stderr
    );
    let out = a.session(&["push", "origin", "nosuch"]).fails();
    assert!(
        out.stderr.contains("no session named 'nosuch'"),
        "{}",
        out.stderr
    );
}

/// A tracked `.git-session.yaml` arrives with a pull: its `remote` never decides where a
/// push publishes work (here a second, public remote), git config does.
#[test]
fn the_tracked_file_cannot_send_a_push_elsewhere() {
    let (a, _b, bare) = pair();
    let public = a.home.join("public.git");
    a.git(&["init", "-q", "--bare", public.to_str().unwrap()]);
    a.git(&["remote", "add", "public", public.to_str().unwrap()]);
    a.commit_files(
        &[(".git-session.yaml", "remote: public\n")],
        "shared config",
    );
    let wt = a.new_session("p");
    write_file(&wt.join("secret-plan.txt"), "uncommitted\n");
    let out = a.session_in(&wt, &["push"]).ok();
    assert!(out.stderr.contains("is not used by push"), "{}", out.stderr);
    assert!(a.has_ref(&bare, "refs/sessions/p"));
    assert!(!a.has_ref(&public, "refs/sessions/p"));
    // The user's own git config does decide.
    a.git(&["config", "session.remote", "public"]);
    a.session_in(&wt, &["push"]).ok();
    assert!(a.has_ref(&public, "refs/sessions/p"));
}

/// The secrets check judges what an LFS-tracked file holds, not its pointer: the same bytes
/// that are refused in `key.txt` are refused in an LFS-tracked `key.bin`.
#[test]
fn secrets_in_lfs_tracked_files_are_refused() {
    let probe = std::process::Command::new("git")
        .args(["lfs", "version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: git-lfs is not installed");
        return;
    }
    let (a, _b, bare) = pair();
    a.git(&["lfs", "install", "--local"]);
    a.git(&["lfs", "track", "*.bin"]);
    a.commit_files(&[("tracked.bin", "lfs content\n")], "lfs");
    let wt = a.new_session("key");
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n";
    write_file(&wt.join("key.bin"), key);
    let out = a.session(&["push", "origin", "key"]).fails();
    assert!(out.stderr.contains("key.bin"), "{}", out.stderr);
    assert!(out.stderr.contains("private key"), "{}", out.stderr);
    assert!(!a.has_ref(&bare, "refs/sessions/key"));
}

/// Taking up a fetched session makes a worktree here: the user's own setup commands run in
/// it, as for `new`. When the remote has no branch for it, resume says where the branch is
/// made instead of naming a remote branch that does not exist.
#[test]
fn taking_up_runs_setup_and_names_where_the_branch_starts() {
    let (a, b, bare) = pair();
    let wt = a.new_session("t");
    make_work(&a, &wt);
    a.session(&["push", "origin", "t"]).ok();
    b.git(&["config", "--add", "session.postCreate", "touch set-up-ran"]);
    b.session(&["fetch"]).ok();
    let out = b.session(&["resume", "t"]).ok();
    let path = PathBuf::from(out.line());
    assert!(path.join("set-up-ran").exists(), "{}", out.stderr);
    // A session whose branch the remote lacks (deleted there after the push).
    let wt = a.new_session("u");
    make_work(&a, &wt);
    a.session(&["push", "origin", "u"]).ok();
    a.git(&[
        "push",
        "-q",
        bare.to_str().unwrap(),
        ":refs/heads/session/u",
    ]);
    b.session(&["fetch", "--prune"]).ok();
    let out = b.session(&["resume", "u"]).ok();
    assert!(
        out.stderr.contains("origin has no branch session/u"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("at origin/session/u"),
        "{}",
        out.stderr
    );
}

/// `push --all` with one session whose worktree cannot be read: that one is named and left
/// out, the others are pushed, and the exit status says not everything went. A corrupt index
/// gets the hint that repairs it.
#[test]
fn push_all_names_the_session_it_cannot_checkpoint() {
    let (a, _b, bare) = pair();
    let good = a.new_session("good");
    write_file(&good.join("g.txt"), "g\n");
    let bad = a.new_session("bad");
    write_file(&bad.join("b.txt"), "b\n");
    std::fs::write(a.root.join(".git/worktrees/bad/index"), "garbage").unwrap();
    let out = a.session(&["push", "--all", "origin"]).fails();
    assert!(out.stderr.contains("'bad'"), "{}", out.stderr);
    assert!(out.stderr.contains("git reset"), "{}", out.stderr);
    assert!(a.has_ref(&bare, "refs/sessions/good"));
    assert!(!a.has_ref(&bare, "refs/sessions/bad"));
    let out = a.session(&["end", "bad"]).fails();
    assert!(out.stderr.contains("git reset"), "{}", out.stderr);
}
