//! The everyday path on a repository shaped like a real one — a submodule, a few thousand
//! files in nested directories, a history with merges, the git hooks installed — with
//! `git status` and every file's bytes compared at each step, instead of the handful of
//! files most tests use. Problems such as dropped submodules hid behind tiny repositories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{TestRepo, tree_state, write_file};

fn status(repo: &TestRepo, wt: &Path) -> String {
    repo.git_in(wt, &["status", "--porcelain=v1", "--untracked-files=all"])
}

/// Status and file bytes, together.
fn snapshot(repo: &TestRepo, wt: &Path) -> (String, BTreeMap<String, String>) {
    (status(repo, wt), tree_state(wt))
}

/// Compares two file maps, naming only the paths that differ.
#[track_caller]
fn same_files(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, what: &str) {
    let differ: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: these differ: {differ:?}");
}

fn build(repo: &TestRepo) {
    for i in 0..2000 {
        write_file(
            &repo
                .root
                .join(format!("src/m{}/p{}/f{i}.rs", i / 400, (i / 40) % 10)),
            &format!("// {i}\npub fn f{i}() {{}}\n"),
        );
    }
    repo.commit_files(&[(".gitignore", "target/\n*.log\n")], "tree");
    // A history with merges.
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit_files(&[("src/m0/p0/topic.rs", "topic\n")], "topic work");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_files(&[("src/m1/p1/main.rs", "main\n")], "main work");
    repo.git(&["merge", "-q", "--no-edit", "topic"]);
    repo.add_submodule("vendor/lib");
}

#[test]
fn the_everyday_path_on_a_real_sized_repository() {
    let repo = TestRepo::new();
    build(&repo);
    repo.session(&["hooks", "install"]).ok();
    let bare = repo.home.join("remote.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);

    // new: a clean worktree, submodule not checked out (as git leaves it).
    let wt = repo.new_session("work");
    assert_eq!(status(&repo, &wt), "");
    assert!(wt.join("vendor/lib").is_dir());

    // edit: modified, new, deleted, staged, and an ignored log.
    write_file(&wt.join("src/m2/p3/f1000.rs"), "// changed\n");
    write_file(&wt.join("src/new/mod.rs"), "pub mod x;\n");
    std::fs::remove_file(wt.join("src/m4/p9/f1999.rs")).unwrap();
    write_file(&wt.join("src/m1/p1/main.rs"), "staged\n");
    repo.git_in(&wt, &["add", "src/m1/p1/main.rs"]);
    write_file(&wt.join("build.log"), "ignored\n");
    let edited = snapshot(&repo, &wt);

    // checkpoint: nothing on disk or in the index moves.
    let ckpt = repo.session_in(&wt, &["checkpoint"]).ok().line().to_owned();
    let now = snapshot(&repo, &wt);
    assert_eq!(now.0, edited.0);
    same_files(&now.1, &edited.1, "after checkpoint");
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        crate::checkpoint::git_add_all_tree(&repo, &wt, "work")
    );

    // commit with the hooks: a provenance note, the rest of the work left as it was.
    repo.git_in(&wt, &["commit", "-q", "-m", "staged work"]);
    let note = repo.git_in(&wt, &["notes", "--ref=sessions", "show", "HEAD"]);
    assert!(note.contains("session: work"), "{note}");
    let committed = snapshot(&repo, &wt);

    // fork: the same files, uncommitted work included.
    let fork = PathBuf::from(repo.session(&["fork", "work", "side"]).ok().line());
    let forked = snapshot(&repo, &fork);
    assert_eq!(forked.0, committed.0);
    let mut without_log = committed.1.clone();
    without_log.remove("build.log");
    same_files(
        &forked.1,
        &without_log,
        "the fork (ignored files stay where they were)",
    );

    // rewind: back to the checkpoint, then forward again to the state before.
    write_file(&wt.join("src/m0/p0/f0.rs"), "// a mistake\n");
    let pre = repo
        .session_in(&wt, &["rewind", &ckpt])
        .ok()
        .line()
        .to_owned();
    let now = snapshot(&repo, &wt);
    assert_eq!(now.0, edited.0);
    same_files(&now.1, &edited.1, "after rewind");
    repo.session_in(&wt, &["rewind", &pre]).ok();
    assert!(
        std::fs::read_to_string(wt.join("src/m0/p0/f0.rs"))
            .unwrap()
            .contains("a mistake")
    );

    // push, and take up elsewhere: the same status and bytes (but the ignored log).
    let here = snapshot(&repo, &wt);
    repo.session_in(&wt, &["push"]).ok();
    let other = TestRepo::empty();
    other.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    other.git(&["fetch", "-q", "origin"]);
    other.git(&["checkout", "-q", "-b", "main", "origin/main"]);
    other.session(&["fetch"]).ok();
    let there = PathBuf::from(other.session(&["resume", "work"]).ok().line());
    let taken = snapshot(&other, &there);
    assert_eq!(taken.0, here.0.replace("?? build.log\n", ""));
    let mut mine = here.1.clone();
    mine.remove("build.log");
    same_files(&taken.1, &mine, "taken up elsewhere");

    // end: kept (it holds work) until forced; forced, resume brings it back as it was.
    let out = repo.session(&["end", "work"]).ok();
    assert_eq!(PathBuf::from(out.line()), wt);
    repo.session(&["end", "work", "--remove"]).ok();
    assert!(!wt.exists());
    let back = PathBuf::from(repo.session(&["resume", "work"]).ok().line());
    // The ignored build log was not named by .worktreeinclude: a forced removal drops it.
    assert_eq!(status(&repo, &back), here.0.replace("?? build.log\n", ""));
    same_files(&tree_state(&back), &mine, "resumed after a forced end");
}
