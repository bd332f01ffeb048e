use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::support::{BIN, TestRepo, tree_state, write_file};

/// A session worktree with every kind of change DESIGN and the issue list.
fn messy_session(repo: &TestRepo, name: &str) -> std::path::PathBuf {
    repo.commit_files(
        &[
            (".gitignore", "*.log\nbuild/\n"),
            ("keep.txt", "keep\n"),
            ("modify.txt", "before\n"),
            ("delete.txt", "doomed\n"),
            ("rename-me.txt", "moving\n"),
            ("script.sh", "#!/bin/sh\n"),
            ("dir/nested/deep.txt", "deep\n"),
        ],
        "tracked files",
    );
    let wt = repo.new_session(name);
    write_file(&wt.join("modify.txt"), "after\n");
    std::fs::remove_file(wt.join("delete.txt")).unwrap();
    std::fs::rename(wt.join("rename-me.txt"), wt.join("renamed.txt")).unwrap();
    std::fs::set_permissions(wt.join("script.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("keep.txt", wt.join("link")).unwrap();
    write_file(&wt.join("new/dirs/all/the/way.txt"), "nested new\n");
    std::fs::write(wt.join("binary.bin"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    write_file(&wt.join("with space/ünïcödé name.txt"), "spaces\n");
    std::fs::write(wt.join("empty"), "").unwrap();
    write_file(&wt.join("ignored.log"), "not in checkpoints\n");
    write_file(&wt.join("build/out.o"), "ignored dir\n");
    repo.git_in(&wt, &["add", "renamed.txt"]); // one staged change too
    wt
}

#[test]
fn checkpoint_then_rewind_restores_the_tree_byte_for_byte() {
    let repo = TestRepo::new();
    let wt = messy_session(&repo, "round");
    let before = tree_state(&wt);
    let status_before = repo.git_in(&wt, &["status", "--porcelain", "--untracked-files=all"]);
    let index_before = std::fs::read(repo.root.join(".git/worktrees/round/index")).unwrap();
    let index_mtime = std::fs::metadata(repo.root.join(".git/worktrees/round/index"))
        .unwrap()
        .mtime_nsec();
    let file_mtime = std::fs::metadata(wt.join("modify.txt"))
        .unwrap()
        .mtime_nsec();
    let head_before = repo.git_in(&wt, &["rev-parse", "HEAD"]);

    let ckpt = repo
        .session_in(&wt, &["checkpoint", "-m", "before the mess"])
        .ok()
        .line()
        .to_owned();
    assert_eq!(ckpt.len(), 40);
    // Nothing the user has was touched.
    assert_eq!(
        std::fs::read(repo.root.join(".git/worktrees/round/index")).unwrap(),
        index_before
    );
    assert_eq!(
        std::fs::metadata(repo.root.join(".git/worktrees/round/index"))
            .unwrap()
            .mtime_nsec(),
        index_mtime
    );
    assert_eq!(
        std::fs::metadata(wt.join("modify.txt"))
            .unwrap()
            .mtime_nsec(),
        file_mtime
    );
    assert_eq!(repo.git_in(&wt, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(tree_state(&wt), before);
    // The checkpoint is exactly what `git add -A` into a copy of the index would record.
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        git_add_all_tree(&repo, &wt, "round")
    );
    assert_eq!(repo.git(&["rev-parse", &format!("{ckpt}^")]), head_before);
    assert!(
        repo.git(&["ls-tree", "-r", "--name-only", &ckpt])
            .lines()
            .all(|p| !p.ends_with(".log") && !p.starts_with("build/"))
    );

    // Mess it up: edits, deletions, new files, a commit that moves HEAD.
    write_file(&wt.join("modify.txt"), "messed\n");
    std::fs::remove_dir_all(wt.join("new")).unwrap();
    std::fs::remove_file(wt.join("link")).unwrap();
    write_file(&wt.join("stray/file.txt"), "should disappear\n");
    std::fs::set_permissions(wt.join("script.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    repo.git_in(&wt, &["add", "-A"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "moves HEAD"]);

    let out = repo.session_in(&wt, &["rewind", &ckpt[..10]]).ok();
    let pre_rewind = out.line().to_owned();
    assert_eq!(pre_rewind.len(), 40, "prints the pre-rewind checkpoint");
    assert_eq!(
        tree_state(&wt),
        before,
        "byte-identical files, modes and links"
    );
    assert_eq!(
        repo.git_in(&wt, &["rev-parse", "HEAD"]),
        head_before,
        "HEAD moved back"
    );
    assert_eq!(
        repo.git_in(&wt, &["rev-parse", "session/round"]),
        head_before,
        "and its branch"
    );
    assert_eq!(
        repo.git_in(&wt, &["diff", "--cached", "--name-status"]),
        "A\trenamed.txt",
        "the index is back as staged at the checkpoint"
    );
    let status_after = repo.git_in(&wt, &["status", "--porcelain", "--untracked-files=all"]);
    let sorted = |s: &str| {
        let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    // `git status` is exactly as it was, the staged addition included.
    assert_eq!(sorted(&status_after), sorted(&status_before));

    // The rewind itself can be undone.
    repo.session_in(&wt, &["rewind", &pre_rewind]).ok();
    assert!(wt.join("stray/file.txt").exists());
    assert_eq!(
        std::fs::read_to_string(wt.join("modify.txt")).unwrap(),
        "messed\n"
    );
    // Newest first: the state before the undo, the state before the first rewind, `ckpt`.
    repo.session_in(&wt, &["rewind", "@~2"]).ok();
    assert_eq!(tree_state(&wt), before);
}

pub(crate) fn git_add_all_tree(repo: &TestRepo, wt: &Path, id: &str) -> String {
    let scratch = repo.home.join(format!("index-{id}"));
    let index = repo.root.join(format!(".git/worktrees/{id}/index"));
    std::fs::copy(&index, &scratch).unwrap();
    // Like `cp -p`: git judges racily clean entries by the index file's mtime.
    let mtime = std::fs::metadata(&index).unwrap().modified().unwrap();
    let copy = std::fs::File::options().write(true).open(&scratch).unwrap();
    copy.set_modified(mtime).unwrap();
    let script = format!(
        "GIT_INDEX_FILE='{0}' git add -A && GIT_INDEX_FILE='{0}' git write-tree",
        scratch.display()
    );
    repo.cmd_in(wt, "sh", &["-c", &script])
        .ok()
        .line()
        .to_owned()
}

#[test]
fn unchanged_trees_reuse_the_last_checkpoint_and_index_lock_is_no_obstacle() {
    let repo = TestRepo::new();
    let wt = repo.new_session("calm");
    write_file(&wt.join("a.txt"), "a\n");
    let first = repo.session(&["checkpoint", "calm"]).ok().line().to_owned();
    let events = repo.events("calm").len();
    let again = repo.session(&["checkpoint", "calm"]).ok();
    assert_eq!(again.line(), first);
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert_eq!(repo.events("calm").len(), events, "nothing new recorded");

    let lock = repo.root.join(".git/worktrees/calm/index.lock");
    std::fs::write(&lock, "held by someone else").unwrap();
    write_file(&wt.join("b.txt"), "b\n");
    let second = repo.session(&["checkpoint", "calm"]).ok().line().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "held by someone else"
    );
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(repo.git(&["show", &format!("{second}:b.txt")]), "b");
}

#[test]
fn ignore_sources_and_submodules_are_treated_like_git_add_all() {
    let repo = TestRepo::new();
    repo.add_submodule("modules/sub");
    let excludes = repo.home.join("global-excludes");
    std::fs::write(&excludes, "*.global\n").unwrap();
    repo.git(&["config", "core.excludesFile", excludes.to_str().unwrap()]);
    std::fs::write(repo.root.join(".git/info/exclude"), "*.local\n").unwrap();
    let wt = repo.new_session("ign");
    repo.init_submodules(&wt);
    for f in ["a.global", "b.local", "c.txt"] {
        write_file(&wt.join(f), "x\n");
    }
    std::fs::write(wt.join("modules/sub/s.txt"), "dirty submodule\n").unwrap();
    let ckpt = repo.session(&["checkpoint", "ign"]).ok().line().to_owned();
    let files = repo.git(&["ls-tree", "-r", "--name-only", &ckpt]);
    assert!(
        files.contains("c.txt") && !files.contains("a.global") && !files.contains("b.local"),
        "{files}"
    );
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        git_add_all_tree(&repo, &wt, "ign")
    );
}

/// Every shape the one-pass scan handles separately, each checked against `git add -A`.
#[test]
fn worktree_shapes_agree_with_git_add_all() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "build/\n*.o\n");
    for (path, text) in [
        ("dir-to-file/a.txt", "a\n"),
        ("file-to-dir", "f\n"),
        ("dir-to-link/b.txt", "b\n"),
        ("a-c", "sorts before a/\n"),
        ("a/b", "sorts after a-c\n"),
        ("a0", "sorts after a/\n"),
        ("racy.txt", "1111\n"),
        ("assumed.txt", "assumed\n"),
        ("skipped.txt", "skipped\n"),
        ("conflict.txt", "base\n"),
        ("emptied/only.txt", "the directory stays, empty\n"),
    ] {
        repo.write(path, text);
    }
    repo.write("build/keep.txt", "tracked though ignored\n");
    repo.git(&["add", "-A", "-f"]);
    repo.git(&["commit", "-q", "-m", "shapes"]);
    let wt = repo.new_session("shapes");
    repo.git_in(&wt, &["config", "core.trustctime", "false"]);

    // A conflicted merge: stages 1-3 in the index, markers in the file.
    repo.git_in(&wt, &["checkout", "-q", "-b", "other"]);
    write_file(&wt.join("conflict.txt"), "theirs\n");
    repo.git_in(&wt, &["commit", "-q", "-am", "theirs"]);
    repo.git_in(&wt, &["checkout", "-q", "-"]);
    write_file(&wt.join("conflict.txt"), "ours\n");
    repo.git_in(&wt, &["commit", "-q", "-am", "ours"]);
    let merge = repo.cmd_in(&wt, "git", &["merge", "-q", "other"]);
    assert_eq!(merge.code, 1, "the merge conflicts: {}", merge.stdout);

    std::fs::remove_dir_all(wt.join("dir-to-file")).unwrap();
    write_file(&wt.join("dir-to-file"), "now a file\n");
    std::fs::remove_file(wt.join("file-to-dir")).unwrap();
    write_file(&wt.join("file-to-dir/inside.txt"), "now a dir\n");
    std::fs::remove_dir_all(wt.join("dir-to-link")).unwrap();
    std::os::unix::fs::symlink("a", wt.join("dir-to-link")).unwrap();
    write_file(&wt.join("a/new"), "new in a/\n");
    std::fs::remove_file(wt.join("emptied/only.txt")).unwrap();
    write_file(&wt.join("build/new.txt"), "ignored: build/ is\n");
    write_file(&wt.join("fresh/x.o"), "ignored by *.o\n");
    write_file(&wt.join("fresh/y.txt"), "new\n");
    write_file(&wt.join("intent.txt"), "intent to add\n");
    repo.git_in(&wt, &["add", "-N", "intent.txt"]);
    repo.git_in(&wt, &["update-index", "--assume-unchanged", "assumed.txt"]);
    write_file(
        &wt.join("assumed.txt"),
        "changed, but git is told not to look\n",
    );
    repo.git_in(&wt, &["update-index", "--skip-worktree", "skipped.txt"]);
    std::fs::remove_file(wt.join("skipped.txt")).unwrap();
    // Same size and mtime as the index entry (ctime not trusted): only the racy-git rule
    // (modified no earlier than the index was written) finds this change. The index gets
    // the file's mtime too, as if both were written in the same second.
    let racy = wt.join("racy.txt");
    let mtime = std::fs::metadata(&racy).unwrap().modified().unwrap();
    write_file(&racy, "2222\n");
    for path in [racy.clone(), repo.root.join(".git/worktrees/shapes/index")] {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(mtime).unwrap();
    }
    // An untracked repository inside: recorded as a gitlink to its HEAD, as git does.
    let nested = wt.join("nested");
    std::fs::create_dir(&nested).unwrap();
    repo.git_in(&nested, &["init", "-q"]);
    write_file(&nested.join("n.txt"), "nested\n");
    repo.git_in(&nested, &["add", "n.txt"]);
    repo.git_in(&nested, &["commit", "-q", "-m", "nested"]);

    let ckpt = repo
        .session(&["checkpoint", "shapes"])
        .ok()
        .line()
        .to_owned();
    let ours = repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]);
    let gits = git_add_all_tree(&repo, &wt, "shapes");
    assert_eq!(
        ours,
        gits,
        "checkpoint differs from git add -A:\n{}",
        repo.git(&["diff-tree", "-r", &gits, &ours])
    );
    let files = repo.git(&["ls-tree", "-r", "--name-only", &ckpt]);
    for (path, present) in [
        ("racy.txt", true),
        ("nested", true),
        ("intent.txt", true),
        ("skipped.txt", true),
        ("build/keep.txt", true),
        ("build/new.txt", false),
        ("fresh/x.o", false),
    ] {
        assert_eq!(
            files.lines().any(|l| l == path),
            present,
            "{path} in\n{files}"
        );
    }
    assert_eq!(repo.git(&["show", &format!("{ckpt}:racy.txt")]), "2222");
    assert_eq!(
        repo.git(&["show", &format!("{ckpt}:assumed.txt")]),
        "assumed"
    );
}

#[test]
fn a_sparse_index_keeps_the_directories_outside_the_cone() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            ("in/a.txt", "in the cone\n"),
            ("out/b.txt", "outside\n"),
            ("out/deeper/c.txt", "outside\n"),
        ],
        "two dirs",
    );
    let wt = repo.new_session("sparse");
    repo.git_in(
        &wt,
        &["sparse-checkout", "set", "--cone", "--sparse-index", "in"],
    );
    assert!(!wt.join("out").exists());
    let listed = repo.git_in(&wt, &["ls-files", "--sparse"]);
    assert!(
        listed.lines().any(|l| l == "out/"),
        "a sparse index: {listed}"
    );
    write_file(&wt.join("in/a.txt"), "changed\n");
    write_file(&wt.join("in/new.txt"), "new\n");
    let ckpt = repo
        .session(&["checkpoint", "sparse"])
        .ok()
        .line()
        .to_owned();
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        git_add_all_tree(&repo, &wt, "sparse")
    );
    assert_eq!(
        repo.git(&["show", &format!("{ckpt}:out/deeper/c.txt")]),
        "outside"
    );
}

/// Queued directories must not each hold a descriptor: a wide tree would run out of them.
#[test]
fn a_wide_tree_checkpoints_within_a_small_descriptor_limit() {
    let repo = TestRepo::new();
    let wt = repo.new_session("wide");
    for i in 0..300 {
        write_file(&wt.join(format!("wide/d{i}/f.txt")), "x\n");
    }
    let script = format!("ulimit -n 64 && exec '{BIN}' checkpoint wide");
    let ckpt = repo
        .cmd_in(&wt, "sh", &["-c", &script])
        .ok()
        .line()
        .to_owned();
    let files = repo.git(&["ls-tree", "-r", "--name-only", &ckpt, "wide"]);
    assert_eq!(files.lines().count(), 300);
}

#[test]
fn log_and_diff_show_the_history() {
    let repo = TestRepo::new();
    let wt = repo.new_session("hist");
    write_file(&wt.join("one.txt"), "1\n");
    let first = repo
        .session(&["checkpoint", "hist", "-m", "one"])
        .ok()
        .line()
        .to_owned();
    write_file(&wt.join("two.txt"), "2\n");
    let second = repo
        .session(&["checkpoint", "hist", "-m", "two"])
        .ok()
        .line()
        .to_owned();
    write_file(&wt.join("three.txt"), "3\n");
    // Outside a session's worktree, a first word that names no session says so.
    let out = repo.session(&["diff", "nosuch"]).fails();
    assert!(
        out.stderr.starts_with("error: no session named 'nosuch'"),
        "{}",
        out.stderr
    );

    let log = repo.session(&["log", "hist", "--json"]).ok().json();
    assert_eq!(log[0]["event"], "checkpoint");
    assert_eq!(log[0]["checkpoint"], second.as_str());
    assert_eq!(log[0]["message"], "two", "the id is in its own field");
    assert_eq!(log[1]["checkpoint"], first.as_str());
    assert_eq!(log.as_array().unwrap().last().unwrap()["event"], "created");
    let text = repo.session(&["log", "hist"]).ok().stdout;
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(&format!("checkpoint: two  [{}]", &second[..12])),
        "{text}"
    );

    let since_latest = repo.session_in(&wt, &["diff", "--name-status"]).ok();
    assert_eq!(since_latest.line(), "A\tthree.txt", "untracked files count");
    let between = repo
        .session(&["diff", "hist", "@~1", "@", "--name-status"])
        .ok();
    assert_eq!(between.line(), "A\ttwo.txt");
    let from_first = repo
        .session(&["diff", "hist", &first[..8], "--name-status"])
        .ok();
    assert_eq!(from_first.line(), "A\tthree.txt\nA\ttwo.txt");
    repo.session(&["diff", "hist", "@~5"]).fails();
}

#[test]
fn rewind_refuses_during_a_merge() {
    let repo = TestRepo::new();
    let wt = repo.new_session("merging");
    write_file(&wt.join("README.md"), "theirs\n");
    repo.git_in(&wt, &["commit", "-q", "-am", "theirs"]);
    repo.session(&["checkpoint", "merging"]).ok();
    repo.git(&["checkout", "-q", "-b", "other", "HEAD"]);
    repo.write("README.md", "ours\n");
    repo.git(&["commit", "-q", "-am", "ours"]);
    repo.git(&["checkout", "-q", "main"]);
    let merge = repo.cmd_in(&wt, "git", &["merge", "-q", "other"]);
    assert_ne!(merge.code, 0, "a conflict is expected");
    let out = repo.session(&["rewind", "@", "merging"]).fails();
    assert!(out.stderr.contains("in progress"), "{}", out.stderr);
    assert!(wt.join(".git").exists());
    assert!(
        repo.git_in(&wt, &["status", "--porcelain"])
            .contains("UU README.md"),
        "nothing was touched"
    );
}

#[test]
fn fork_copies_uncommitted_work_and_leaves_the_source_alone() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".gitignore", ".env\n"), (".worktreeinclude", ".env\n")],
        "ignore",
    );
    let src = messy_session(&repo, "source");
    write_file(&src.join(".env"), "SOURCE_SECRET=1\n");
    repo.git_in(
        &src,
        &["commit", "-q", "-m", "committed in source", "--allow-empty"],
    );
    let before = tree_state(&src);
    let index_before = std::fs::read(repo.root.join(".git/worktrees/source/index")).unwrap();
    let status_before = repo.git_in(&src, &["status", "--porcelain", "--untracked-files=all"]);

    let out = repo.session(&["fork", "source", "alt"]).ok();
    let alt = repo.root.join(".worktrees/alt");
    assert_eq!(out.line(), alt.display().to_string());
    let mut expected = before.clone();
    expected.retain(|k, _| !k.ends_with(".log") && !k.starts_with("build/"));
    let mut got = tree_state(&alt);
    got.retain(|k, _| !k.ends_with(".log") && !k.starts_with("build/"));
    assert_eq!(
        got, expected,
        "same files, uncommitted and untracked work included, .env via .worktreeinclude"
    );
    assert_eq!(
        repo.git_in(&alt, &["rev-parse", "HEAD"]),
        repo.git_in(&src, &["rev-parse", "HEAD"])
    );
    assert_eq!(
        repo.git_in(&alt, &["diff", "--cached", "--name-only"]),
        "",
        "the fork's index is its HEAD: the work is uncommitted and unstaged"
    );
    assert_eq!(tree_state(&src), before, "the source's files are untouched");
    assert_eq!(
        std::fs::read(repo.root.join(".git/worktrees/source/index")).unwrap(),
        index_before
    );
    assert_eq!(
        repo.git_in(&src, &["status", "--porcelain", "--untracked-files=all"]),
        status_before
    );

    let meta = repo.meta("alt");
    assert_eq!(meta["parent"], repo.meta("source")["id"]);
    let listed = repo.session(&["list", "--json"]).ok().json();
    let alt_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "alt")
        .unwrap()
        .clone();
    assert_eq!(alt_row["parent"], "source");
    assert!(
        repo.session(&["list"])
            .ok()
            .stdout
            .lines()
            .any(|l| l.starts_with("alt ") && l.contains(" source "))
    );
    // Independent from here on.
    write_file(&alt.join("only-in-alt.txt"), "alt\n");
    assert!(!src.join("only-in-alt.txt").exists());
    let light = repo
        .session(&["fork", "source", "light", "--no-worktree"])
        .ok();
    assert_eq!(light.line(), "light");
}

/// A fork gets the main worktree's included files, then the checkpoint's: where the
/// checkpoint adds a path an included file already holds (itself, or as a parent directory),
/// the fork stops before writing anything and is taken back.
#[test]
fn fork_refuses_to_overwrite_included_files_with_checkpointed_ones() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            (".gitignore", "config.local\ncache\n"),
            (".worktreeinclude", "config.local\ncache\n"),
        ],
        "ignore",
    );
    repo.write("config.local", "MAIN\n");
    repo.write("cache", "MAIN CACHE\n");
    let src = repo.new_session("src");
    // The session stops ignoring them, so its checkpoint holds its own versions.
    write_file(&src.join(".gitignore"), "");
    write_file(&src.join("config.local"), "SRC\n");
    std::fs::remove_file(src.join("cache")).unwrap();
    write_file(&src.join("cache/x"), "SRC X\n");
    write_file(&src.join("fresh/new.txt"), "new\n");
    repo.session(&["checkpoint", "src"]).ok();
    repo.session(&["end", "--force", "src"]).ok();

    let err = repo.session(&["fork", "src", "alt"]).fails();
    assert!(
        err.stderr.contains("would overwrite ignored files")
            && err.stderr.contains("cache, config.local"),
        "{}",
        err.stderr
    );
    // The fork is taken back whole (nobody worked in it); the originals are untouched.
    assert!(!repo.root.join(".worktrees/alt").exists());
    assert!(!repo.has_ref(&repo.root, "refs/sessions/alt"));
    let main_file = |p: &str| std::fs::read_to_string(repo.root.join(p)).unwrap();
    assert_eq!(main_file("config.local"), "MAIN\n");
    assert_eq!(main_file("cache"), "MAIN CACHE\n");

    // Without the included files in the way, the same fork brings the checkpoint's.
    repo.session(&["fork", "src", "plain", "--no-include"]).ok();
    let plain = repo.root.join(".worktrees/plain");
    assert_eq!(
        std::fs::read_to_string(plain.join("config.local")).unwrap(),
        "SRC\n"
    );
    assert_eq!(
        std::fs::read_to_string(plain.join("cache/x")).unwrap(),
        "SRC X\n"
    );
    assert_eq!(
        std::fs::read_to_string(plain.join("fresh/new.txt")).unwrap(),
        "new\n"
    );
}

/// A tracked symlink that the session turns into a directory is no obstacle to a fork, even
/// though the path below it exists through the old link.
#[test]
fn fork_turns_a_tracked_symlink_into_a_directory() {
    let repo = TestRepo::new();
    write_file(&repo.root.join("src/a"), "through the link\n");
    std::os::unix::fs::symlink("src", repo.root.join("lib")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "link"]);
    let src = repo.new_session("links");
    std::fs::remove_file(src.join("lib")).unwrap();
    write_file(&src.join("lib/a"), "a real directory now\n");
    repo.session(&["fork", "links", "forked"]).ok();
    let forked = repo.root.join(".worktrees/forked");
    assert!(!forked.join("lib").symlink_metadata().unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(forked.join("lib/a")).unwrap(),
        "a real directory now\n"
    );
    assert_eq!(
        std::fs::read_to_string(forked.join("src/a")).unwrap(),
        "through the link\n"
    );
}

/// A small deterministic generator, so a failing sequence can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn random_edits_round_trip_through_checkpoint_and_rewind() {
    let repo = TestRepo::new();
    let wt = repo.new_session("random");
    let names = [
        "a.txt",
        "b c.txt",
        "dir/ü.txt",
        "dir/sub/d.bin",
        "deep/er/e",
        "f.sh",
        "empty",
    ];
    let mut rng = Lcg(0x5eed);
    for round in 0..6 {
        for _ in 0..12 {
            let name = names[rng.next(names.len())];
            let path = wt.join(name);
            match rng.next(7) {
                0 | 1 => {
                    if path.is_symlink() {
                        std::fs::remove_file(&path).unwrap();
                    }
                    write_file(&path, &format!("round {round} {}\n", rng.next(1000)));
                }
                2 => {
                    let _ = std::fs::remove_file(&path);
                }
                3 if path.is_file() && !path.is_symlink() => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .unwrap();
                }
                4 => {
                    let _ = std::fs::remove_file(&path);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::os::unix::fs::symlink(names[rng.next(names.len())], &path).unwrap();
                }
                5 if path.is_file() => {
                    let to = wt.join(format!("moved-{}", rng.next(5)));
                    if !to.exists() {
                        std::fs::rename(&path, to).unwrap();
                    }
                }
                6 => std::fs::write(
                    wt.join(format!("bin-{}", rng.next(3))),
                    [0u8, 255, round as u8, 10, 0],
                )
                .unwrap(),
                _ => {}
            }
        }
        if round % 2 == 1 {
            repo.git_in(&wt, &["add", "-A"]);
            repo.git_in(&wt, &["commit", "-q", "-m", &format!("round {round}")]);
        }
        let state = tree_state(&wt);
        let head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
        let ckpt = repo
            .session(&["checkpoint", "random"])
            .ok()
            .line()
            .to_owned();
        let ours = repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]);
        let gits = git_add_all_tree(&repo, &wt, "random");
        if ours != gits {
            panic!(
                "round {round}: checkpoint differs from git add -A:\n{}",
                repo.git(&["diff-tree", "-r", &gits, &ours])
            );
        }
        // Mess it up, then come back.
        write_file(&wt.join("junk/new.txt"), "junk\n");
        for name in names.iter().take(3) {
            let _ = std::fs::remove_file(wt.join(name));
        }
        repo.git_in(&wt, &["commit", "-q", "--allow-empty", "-m", "moves HEAD"]);
        repo.session(&["rewind", &ckpt, "random"]).ok();
        assert_eq!(tree_state(&wt), state, "round {round}");
        assert_eq!(
            repo.git_in(&wt, &["rev-parse", "HEAD"]),
            head,
            "round {round}"
        );
    }
}

/// `diff --uncommitted`: everything not committed (staged, unstaged, untracked), whatever the
/// checkpoints hold; no checkpoint can go with it.
#[test]
fn diff_uncommitted_shows_all_work_against_head() {
    let repo = TestRepo::new();
    let wt = repo.new_session("s");
    std::fs::write(wt.join("README.md"), "changed\n").unwrap();
    std::fs::write(wt.join("staged.txt"), "staged\n").unwrap();
    repo.git_in(&wt, &["add", "staged.txt"]);
    std::fs::write(wt.join("untracked.txt"), "untracked\n").unwrap();
    repo.session(&["checkpoint", "s"]).ok();
    let out = repo
        .session(&["diff", "s", "--uncommitted", "--name-status"])
        .ok();
    assert_eq!(
        out.stdout, "M\tREADME.md\nA\tstaged.txt\nA\tuntracked.txt\n",
        "{}",
        out.stderr
    );
    assert_eq!(repo.session(&["diff", "s", "@", "--uncommitted"]).code, 2);
}

/// A capture of many new objects writes them as one pack that git verifies and reads back
/// (the tree `git add -A` would write, a rewind that brings the files back); a small one
/// writes loose objects.
#[test]
fn a_large_capture_writes_one_pack_git_accepts() {
    let repo = TestRepo::new();
    let wt = repo.new_session("big");
    let packs = || -> Vec<std::path::PathBuf> {
        let mut idx: Vec<_> = std::fs::read_dir(repo.root.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        idx.sort();
        idx
    };
    let before = packs();
    // Enough objects for a pack compressed in two parts; small trees are stored, blobs
    // compressed.
    for i in 0..250 {
        let body = format!("file {i}\n").repeat(if i == 3 { 4000 } else { i % 5 + 1 });
        write_file(&wt.join(format!("many/d{}/f{i}.txt", i % 7)), &body);
    }
    let ckpt = repo
        .session_in(&wt, &["checkpoint", "-m", "many"])
        .ok()
        .line()
        .to_owned();
    let new: Vec<_> = packs()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "one pack for the capture");
    let verified = repo.git(&["verify-pack", "-v", new[0].to_str().unwrap()]);
    // 250 blobs; the trees of many/d0..d6, many/ and the root.
    assert!(verified.contains("non delta: 259 objects"), "{verified}");
    let in_pack = |path: &str| -> (u64, u64) {
        let id = repo.git(&["rev-parse", &format!("{ckpt}:{path}")]);
        let line = verified.lines().find(|l| l.starts_with(&id)).unwrap();
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(2)
            .map(|f| f.parse().unwrap())
            .collect();
        (fields[0], fields[1])
    };
    let (size, packed) = in_pack("many/d3/f3.txt");
    assert!(packed < size / 10, "compressed: {size} bytes in {packed}");
    let (size, packed) = in_pack("many/d4/f4.txt");
    assert!(
        packed < size,
        "a small blob compressed: {size} bytes in {packed}"
    );
    let (size, packed) = in_pack("many/d4");
    assert!(
        packed > size,
        "a small tree stored: {size} bytes in {packed}"
    );
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    let mode = std::fs::metadata(&new[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o222, 0, "read-only, as git leaves packs");
    assert_eq!(
        repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]),
        git_add_all_tree(&repo, &wt, "big")
    );
    // A few objects more: loose, no second pack.
    write_file(&wt.join("one.txt"), "one\n");
    repo.session_in(&wt, &["checkpoint", "-m", "one"]).ok();
    assert_eq!(packs().len(), before.len() + 1);
    // The packed checkpoint restores what it holds.
    std::fs::remove_dir_all(wt.join("many")).unwrap();
    repo.session_in(&wt, &["rewind", &ckpt]).ok();
    assert_eq!(
        std::fs::read_to_string(wt.join("many/d3/f10.txt")).unwrap(),
        "file 10\n"
    );
    assert!(!wt.join("one.txt").exists());
    // Past gc.autoPackLimit, git's maintenance is started to fold the packs, as after a fetch.
    repo.git(&["config", "gc.autoPackLimit", "1"]);
    for i in 0..120 {
        write_file(&wt.join(format!("more/f{i}.txt")), &format!("more {i}\n"));
    }
    repo.session_in(&wt, &["checkpoint", "-m", "more"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while packs().len() > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(packs().len(), 1, "git gc --auto folded the packs");
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    // The same state captured again (a push or a diff right after a checkpoint, with no
    // monitor): its trees are in the database already, and no pack of copies is written.
    repo.git(&["config", "--unset", "gc.autoPackLimit"]);
    for i in 0..120 {
        write_file(&wt.join(format!("wide/w{i}/f.txt")), &format!("wide {i}\n"));
    }
    repo.session_in(&wt, &["checkpoint", "-m", "wide"]).ok();
    let wide = packs().len();
    repo.session_in(&wt, &["diff", "--stat", "@"]).ok();
    repo.session_in(&wt, &["checkpoint", "-m", "again"]).ok();
    assert_eq!(packs().len(), wide, "no pack of copies");
    repo.git(&["fsck", "--strict", "--no-dangling"]);
}

/// A checkout leaves its files racily clean (written in the second of the index): every scan
/// reads them again until the index is written again. A checkpoint that read them writes
/// their stat data into the index, as `git status` does — not while someone holds the
/// index's lock, nor with `GIT_OPTIONAL_LOCKS=0` or `GIT_INDEX_FILE`, nor from a git hook or
/// a status of every worktree, nor over an index gix cannot write back whole (an untracked
/// cache, a split index, a bad checksum). A file rewritten in that second with the same size
/// and time, told apart only by its content, stays modified for git and for the checkpoints
/// after.
#[test]
fn a_checkpoint_writes_the_stat_data_of_racily_clean_files_into_the_index() {
    let repo = TestRepo::new();
    let files: Vec<(String, String)> = (0..1200)
        .map(|i| (format!("d{}/f{i}.txt", i % 10), format!("file {i}\n")))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    repo.commit_files(&files, "many files");
    // Only the content tells the rewritten file apart: not its inode change time.
    repo.git(&["config", "core.trustctime", "false"]);
    let wt = repo.new_session("racy");
    let index = repo.root.join(".git/worktrees/racy/index");
    let touch_back = |path: &Path, at: &str| {
        let out = repo.cmd_in(&wt, "touch", &["-m", "-d", at, path.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    };
    let rewritten = wt.join("d3/f3.txt");
    let meta = std::fs::metadata(&rewritten).unwrap();
    write_file(&rewritten, "FILE 3\n");
    touch_back(
        &rewritten,
        &format!("@{}.{:09}", meta.mtime(), meta.mtime_nsec()),
    );
    // The scans begin in a later second than every file's time; the index's time before
    // them all makes every entry racily clean.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let make_racy = || touch_back(&index, "@1000000000");
    make_racy();
    let entries = repo.git_in(&wt, &["ls-files", "-s"]);
    // The index's bytes and time: a refresh that takes stat data equal to the entries' (the
    // files did not change) changes only the time.
    let read = || {
        let meta = std::fs::metadata(&index).unwrap();
        (
            std::fs::read(&index).unwrap(),
            meta.mtime(),
            meta.mtime_nsec(),
        )
    };

    let before = read();
    let lock = repo.root.join(".git/worktrees/racy/index.lock");
    std::fs::write(&lock, "held by someone else").unwrap();
    let first = repo.session(&["checkpoint", "racy"]).ok().line().to_owned();
    assert_eq!(repo.git(&["show", &format!("{first}:d3/f3.txt")]), "FILE 3");
    assert!(read() == before, "left alone while git holds the lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "held by someone else"
    );
    std::fs::remove_file(&lock).unwrap();
    let env = |assignment: &str| {
        repo.cmd_in(&repo.root, "env", &[assignment, BIN, "checkpoint", "racy"])
            .ok();
    };
    env("GIT_OPTIONAL_LOCKS=0");
    assert!(
        read() == before,
        "left alone while git's locks are not to be taken"
    );
    // As inside a hook, where it names the index of a commit under way.
    env(&format!("GIT_INDEX_FILE={}", index.display()));
    assert!(read() == before, "left alone with GIT_INDEX_FILE set");

    // What a refresh killed before its rename left beside the index, an hour ago.
    let admin = repo.root.join(".git/worktrees/racy");
    let left = admin.join("index.git-session-left");
    std::fs::write(&left, "half an index").unwrap();
    touch_back(&left, "@1000000000");
    let again = repo.session(&["checkpoint", "racy"]).ok();
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert!(read() != before, "written again");
    let names: Vec<String> = std::fs::read_dir(&admin)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("index"))
        .collect();
    assert_eq!(names, ["index"], "no lock, no temporary file left");
    assert_eq!(repo.git_in(&wt, &["ls-files", "-s"]), entries);
    let debug = repo.git_in(&wt, &["ls-files", "--debug"]);
    assert_eq!(
        debug.matches("size: 0\t").count(),
        1,
        "only the rewritten file is left for a reading: {debug}"
    );
    assert_eq!(
        repo.git_in(&wt, &["status", "--porcelain", "--untracked-files=no"]),
        " M d3/f3.txt"
    );
    let third = repo.session(&["checkpoint", "racy"]).ok();
    assert_eq!(third.line(), first);

    // An untracked cache in the index: gix would not write it back.
    repo.git_in(&wt, &["update-index", "--untracked-cache"]);
    repo.git_in(&wt, &["status", "--porcelain"]);
    make_racy();
    let cached = read();
    repo.session(&["checkpoint", "racy"]).ok();
    assert!(
        read() == cached,
        "an index with an untracked cache is left alone"
    );

    // Without it: what reads the status of every worktree (`show`, `list`, the live view)
    // and a checkpoint the git hooks start leave the index to git; a checkpoint writes it.
    repo.git_in(&wt, &["update-index", "--no-untracked-cache"]);
    make_racy();
    let plain = read();
    repo.session(&["show", "racy"]).ok();
    write_file(&wt.join("hooked.txt"), "after a commit\n");
    let id = repo.meta("racy")["id"].as_str().unwrap().to_owned();
    repo.session(&["hook", "auto-checkpoint", &id]).ok();
    assert!(read() == plain, "left to git by show and the hooks");
    let hooked = repo.session(&["log", "racy"]).ok().stdout;
    assert!(hooked.contains("automatic, after a commit"), "{hooked}");
    repo.session(&["checkpoint", "racy"]).ok();
    assert!(read() != plain, "written again by a checkpoint");
    assert_eq!(repo.git_in(&wt, &["ls-files", "-s"]), entries);

    // A corrupt index (its checksum no longer holds) is not given a good checksum.
    make_racy();
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[12] ^= 0x55; // the first entry's inode change time: git reads past it
    std::fs::write(&index, &bytes).unwrap();
    make_racy();
    let corrupt = read();
    repo.session(&["checkpoint", "racy"]).ok();
    assert!(read() == corrupt, "a corrupt index is left alone");
    std::fs::remove_file(&index).unwrap();
    repo.git_in(&wt, &["reset", "-q"]);

    // A split index: gix would write its two parts back as one.
    repo.git_in(&wt, &["update-index", "--split-index"]);
    make_racy();
    let split = read();
    repo.session(&["checkpoint", "racy"]).ok();
    assert!(read() == split, "a split index is left alone");
}
