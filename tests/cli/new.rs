use std::path::Path;

use crate::support::{TestRepo, path_with_bin};

#[test]
fn new_prints_only_the_path_and_creates_session_branch_and_worktree() {
    let repo = TestRepo::new();
    let out = repo
        .session(&[
            "new",
            "--head",
            "auth-refactor",
            "-m",
            "split the auth module",
        ])
        .ok();
    let path = repo.root.join(".worktrees/auth-refactor");
    assert_eq!(
        out.stdout,
        format!("{}\n", path.display()),
        "stdout is the path and nothing else"
    );
    assert!(path.join("README.md").is_file());
    assert_eq!(
        repo.git_in(&path, &["symbolic-ref", "HEAD"]),
        "refs/heads/session/auth-refactor"
    );
    let exclude = std::fs::read_to_string(repo.root.join(".git/info/exclude")).unwrap();
    assert!(exclude.lines().any(|l| l == "/.worktrees/"), "{exclude}");
    assert!(
        repo.git(&["status", "--porcelain"]).is_empty(),
        "the main worktree stays clean"
    );

    let meta = repo.meta("auth-refactor");
    assert_eq!(meta["version"], 1);
    assert_eq!(meta["name"], "auth-refactor");
    assert_eq!(meta["status"], "active");
    assert_eq!(meta["branch"], "session/auth-refactor");
    assert_eq!(meta["base"], repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(meta["base_ref"], "main");
    assert_eq!(meta["parent"], serde_json::Value::Null);
    assert_eq!(meta["goal"], "split the auth module");
    assert_eq!(meta["created"], "2026-01-01T00:00:00Z");
    assert!(
        !meta.to_string().contains(&*repo.root.to_string_lossy()),
        "no absolute paths in session.yaml"
    );
    let message = repo.git(&["log", "-1", "--format=%B", "refs/sessions/auth-refactor"]);
    assert!(
        message.starts_with("created: auth-refactor from main"),
        "{message}"
    );
    assert!(
        message.contains(&format!("Session-Id: {}", meta["id"].as_str().unwrap())),
        "{message}"
    );
    assert!(message.contains("Session-Event: created"), "{message}");
}

#[test]
fn works_as_git_session_through_path_from_subdirectories_and_linked_worktrees() {
    let repo = TestRepo::new();
    repo.write("src/deep/file.txt", "x\n");
    let out = repo
        .cmd_in(
            &repo.root.join("src/deep"),
            "git",
            &["session", "new", "--head", "one"],
        )
        .ok();
    assert_eq!(
        out.line(),
        repo.root.join(".worktrees/one").display().to_string()
    );
    let linked = repo.root.join(".worktrees/one");
    // From inside a linked worktree, sessions still land next to the main worktree.
    let out = repo.session_in(&linked, &["new", "--head", "two"]).ok();
    assert_eq!(
        out.line(),
        repo.root.join(".worktrees/two").display().to_string()
    );
    let elsewhere = repo.home.clone();
    let out = repo
        .cmd_in(
            &elsewhere,
            "git",
            &["-C", repo.root.to_str().unwrap(), "session", "path", "two"],
        )
        .ok();
    assert_eq!(
        out.line(),
        repo.root.join(".worktrees/two").display().to_string()
    );
    assert!(
        path_with_bin().starts_with(
            Path::new(crate::support::BIN)
                .parent()
                .unwrap()
                .to_str()
                .unwrap()
        )
    );
}

#[test]
fn generated_names_and_base_choices() {
    let repo = TestRepo::new();
    let first = repo.git(&["rev-parse", "HEAD"]);
    repo.commit_files(&[("second.txt", "2\n")], "second");
    let out = repo.session(&["new", "--head"]).ok();
    let name = Path::new(out.line())
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(name.split('-').count(), 3, "adjective-verb-noun: {name}");
    assert_eq!(repo.meta(&name)["name"], name);

    repo.session(&["new", "--base", &first, "old"]).ok();
    assert_eq!(repo.meta("old")["base"], first);
    assert_eq!(repo.git(&["rev-parse", "session/old"]), first);
    let bad = repo.session(&["new", "--base", "no-such-rev", "x"]).fails();
    assert!(
        bad.stderr.contains("'no-such-rev' does not name a commit"),
        "{}",
        bad.stderr
    );
}

#[test]
fn fresh_base_uses_origin_head_and_falls_back_to_head() {
    let repo = TestRepo::new();
    // No remote: HEAD, with a note on stderr.
    let out = repo.session(&["new", "no-remote"]).ok();
    assert!(out.stderr.contains("no remote 'origin'"), "{}", out.stderr);
    // The branch HEAD was on, by name.
    assert_eq!(repo.meta("no-remote")["base_ref"], "main");

    // A remote that is ahead: origin/HEAD after the fetch.
    let upstream = repo.home.join("upstream.git");
    repo.git(&[
        "clone",
        "-q",
        "--bare",
        repo.root.to_str().unwrap(),
        upstream.to_str().unwrap(),
    ]);
    let pusher = repo.home.join("pusher");
    repo.git(&[
        "clone",
        "-q",
        upstream.to_str().unwrap(),
        pusher.to_str().unwrap(),
    ]);
    std::fs::write(pusher.join("new.txt"), "upstream work\n").unwrap();
    repo.git_in(&pusher, &["add", "-A"]);
    repo.git_in(&pusher, &["commit", "-q", "-m", "upstream"]);
    repo.git_in(
        &pusher,
        &["push", "-q", "origin", "HEAD:main", "HEAD:refs/pull/7/head"],
    );
    let upstream_tip = repo.git_in(&pusher, &["rev-parse", "HEAD"]);
    repo.git(&["remote", "add", "origin", upstream.to_str().unwrap()]);
    repo.git(&["fetch", "-q", "origin"]);
    repo.git(&["remote", "set-head", "origin", "main"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]); // stale until new fetches
    let out = repo.session(&["new", "fresh"]).ok();
    assert_eq!(repo.meta("fresh")["base_ref"], "origin/HEAD");
    assert_eq!(repo.meta("fresh")["base"], upstream_tip);
    assert!(Path::new(out.line()).join("new.txt").is_file());

    // Pull requests: '#7' and --pr.
    repo.session(&["new", "#7"]).ok();
    assert_eq!(repo.meta("pr-7")["base"], upstream_tip);
    assert_eq!(repo.meta("pr-7")["base_ref"], "refs/pull/7/head");
    repo.session(&["new", "--pr", "999"]).fails();
    assert!(
        repo.session(&["list", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "pr-999")
    );

    // A mirror refspec (and fetch.prune) in the remote's config: the fetch moves only
    // remote-tracking refs, never the local sessions the remote lacks.
    repo.git(&["config", "--add", "remote.origin.fetch", "+refs/*:refs/*"]);
    repo.git(&["config", "fetch.prune", "true"]);
    repo.session(&["new", "mirrored"]).ok();
    for name in ["fresh", "pr-7", "mirrored"] {
        repo.git(&["rev-parse", "--verify", &format!("refs/sessions/{name}")]);
    }
    repo.git(&["config", "--unset", "fetch.prune"]);

    // An unreachable remote: HEAD, with a note.
    repo.git(&[
        "remote",
        "set-url",
        "origin",
        repo.home.join("gone.git").to_str().unwrap(),
    ]);
    let out = repo.session(&["new", "offline"]).ok();
    assert!(
        out.stderr.contains("fetching origin failed"),
        "{}",
        out.stderr
    );
    assert_eq!(repo.meta("offline")["base_ref"], "main");
}

#[test]
fn refuses_empty_repositories_and_taken_names() {
    let empty = TestRepo::empty();
    let out = empty.session(&["new", "--head", "x"]).fails();
    assert!(out.stderr.contains("no commits yet"), "{}", out.stderr);
    assert!(
        empty
            .session(&["list", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    let repo = TestRepo::new();
    repo.new_session("x");
    let out = repo.session(&["new", "--head", "x"]).fails();
    assert!(
        out.stderr.contains("a session named 'x' already exists"),
        "{}",
        out.stderr
    );
    repo.git(&["branch", "session/y"]);
    let out = repo.session(&["new", "--head", "y"]).fails();
    assert!(
        out.stderr.contains("branch 'session/y' already exists"),
        "{}",
        out.stderr
    );
    assert!(
        repo.git(&["for-each-ref", "refs/sessions/y"]).is_empty(),
        "a refused new leaves nothing behind"
    );
}

#[test]
fn no_worktree_creates_only_the_session_and_branch() {
    let repo = TestRepo::new();
    let out = repo
        .session(&["new", "--head", "--no-worktree", "light"])
        .ok();
    assert_eq!(out.line(), "light");
    assert!(!repo.root.join(".worktrees/light").exists());
    assert_eq!(
        repo.git(&["rev-parse", "session/light"]),
        repo.git(&["rev-parse", "HEAD"])
    );
    let out = repo.session(&["path", "light"]).fails();
    assert!(out.stderr.contains("has no worktree"), "{}", out.stderr);
}

#[test]
fn concurrent_news_never_corrupt_each_other() {
    let repo = TestRepo::new();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ["c1", "c2", "c3", "c4", "same", "same"]
            .into_iter()
            .map(|name| {
                let repo = &repo;
                s.spawn(move || (name, repo.session(&["new", "--head", "--no-include", name])))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, out) in &results {
        if *name != "same" {
            assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        }
    }
    let same: Vec<_> = results
        .iter()
        .filter(|(n, _)| *n == "same")
        .map(|(_, o)| o.code)
        .collect();
    assert_eq!(
        same.iter().filter(|c| **c == 0).count(),
        1,
        "exactly one `new same` wins: {same:?}"
    );
    assert_eq!(same.iter().filter(|c| **c == 1).count(), 1);
    let listed = repo.session(&["list", "--json"]).ok().json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c1", "c2", "c3", "c4", "same"]);
    // Ending them all at once loses no event either.
    std::thread::scope(|s| {
        for name in ["c1", "c2", "c3", "c4"] {
            let repo = &repo;
            s.spawn(move || repo.session(&["end", name]).ok());
        }
    });
    for name in ["c1", "c2", "c3", "c4"] {
        assert_eq!(repo.meta(name)["status"], "complete");
        assert!(!repo.root.join(".worktrees").join(name).exists());
    }
    repo.git(&["fsck", "--no-progress"]);
}

#[test]
fn new_inside_a_session_names_the_branch_it_starts_from() {
    let repo = TestRepo::new();
    let outer = repo.new_session("outer");
    let out = repo.session_in(&outer, &["new", "inner"]).ok();
    assert!(out.stderr.contains("from session/outer"), "{}", out.stderr);
    assert_eq!(repo.meta("inner")["base_ref"], "session/outer");
}
