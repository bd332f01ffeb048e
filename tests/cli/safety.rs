//! Regressions for ways work could be lost or hostile input could do damage.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use crate::support::{TestRepo, write_file};

#[test]
fn a_base_ref_from_session_yaml_cannot_make_unpushed_commits_look_safe() {
    let repo = TestRepo::new();
    let wt = repo.new_session("v");
    write_file(&wt.join("precious.txt"), "precious\n");
    repo.git_in(&wt, &["add", "-A"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "precious"]);
    // Rewrite the log's session.yaml as a fetched, hostile one might say.
    let yaml = repo
        .git(&["show", "refs/sessions/v:session.yaml"])
        .replace("base_ref: HEAD", "base_ref: session/v");
    repo.forge_log("v", &yaml, true);
    let out = repo.session(&["end", "v"]).ok();
    assert!(
        out.stderr
            .contains("1 commit(s) not on its base or upstream"),
        "{}",
        out.stderr
    );
    assert!(wt.join("precious.txt").exists());
}

/// A branch spelled as a ref in a fetched or edited session.yaml (`refs/heads/main`) is
/// refused, never made into `refs/heads/refs/heads/main` beside the real `main`.
#[test]
fn a_branch_spelled_as_a_ref_is_refused() {
    let repo = TestRepo::new();
    repo.new_session("v");
    for spelled in ["refs/heads/main", "refs/tags/v1"] {
        let yaml = repo
            .git(&["show", "refs/sessions/v:session.yaml"])
            .replace("branch: session/v", &format!("branch: {spelled}"));
        repo.forge_log("v", &yaml, true);
        let out = repo.session(&["show", "v"]).fails();
        assert!(
            out.stderr.contains("must not begin with 'refs/'"),
            "{}",
            out.stderr
        );
    }
    repo.session(&["end", "v"]).fails();
    let branches = repo.git(&["for-each-ref", "--format=%(refname)", "refs/heads/refs/"]);
    assert_eq!(branches, "");
}

/// A process still working in a worktree being removed (its current directory followed the
/// move aside) may write after the last capture: what it writes is kept beside, never
/// deleted; what the capture holds is deleted. (`git worktree remove --force` deleted both.)
#[test]
fn a_file_written_after_the_last_capture_of_a_removal_is_kept() {
    let repo = TestRepo::new();
    let wt = repo.new_session("w");
    write_file(&wt.join("work.txt"), "work\n");
    write_file(&wt.join("deep/er/more.txt"), "more\n");
    repo.set_env("GIT_SESSION_TEST_WRITE_AT", "removal-captured");
    let out = repo.session(&["end", "w", "--remove"]).ok();
    let kept = repo.root.join(".worktrees/w.written-during-removal");
    assert!(
        out.stderr.contains(&format!(
            "something wrote in the worktree of 'w' after its last checkpoint began: those files are kept in {}, in no checkpoint",
            kept.display()
        )),
        "{}",
        out.stderr
    );
    assert!(!wt.exists());
    let mut left: Vec<String> = walk(&kept);
    left.sort();
    assert_eq!(left, ["written-at-removal-captured.txt"]);
    // What the capture held is in the session's log.
    let commits = repo.git(&["rev-list", "refs/sessions/w"]);
    assert!(commits.lines().any(|c| {
        let show = |path: &str| {
            repo.cmd_in(&repo.root, "git", &["show", &format!("{c}:{path}")])
                .stdout
        };
        show("work.txt") == "work\n" && show("deep/er/more.txt") == "more\n"
    }));
    assert!(!repo.git(&["worktree", "list"]).contains("removing"));
    // Said once by the removal, and by `doctor` until someone has looked.
    let doctor = repo.session(&["doctor"]);
    assert!(
        doctor.stdout.contains("kept-files") && doctor.stdout.contains(&kept.display().to_string()),
        "{}",
        doctor.stdout
    );
    // `land` removes the same way, and says so.
    let wt = repo.new_session("l");
    write_file(&wt.join("landed.txt"), "landed\n");
    let out = repo.session(&["land", "l", "--include-uncommitted"]).ok();
    let kept = repo.root.join(".worktrees/l.written-during-removal");
    assert!(
        out.stderr.contains(&format!(
            "something wrote in the worktree of 'l' after its last checkpoint began: those files are kept in {}, in no checkpoint",
            kept.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(walk(&kept), ["written-at-removal-captured.txt"]);
    assert_eq!(repo.git(&["show", "main:landed.txt"]), "landed");
}

/// Killed part-way through that removal, `doctor --fix` finishes it by the clock it marked:
/// the late file is kept beside (an ignored one too, which a salvage would have skipped),
/// what the checkpoint holds goes, and nothing across a mount or in a `.git` directory put
/// in the way is touched.
#[test]
fn a_removal_killed_part_way_is_finished_by_its_clock() {
    for step in ["removal-marked", "removal-swept"] {
        let repo = TestRepo::new();
        let wt = repo.new_session("w");
        write_file(&wt.join("work.txt"), "work\n");
        std::fs::write(repo.root.join(".git/info/exclude"), "written-at-*\n").unwrap();
        repo.set_env("GIT_SESSION_TEST_WRITE_AT", "removal-captured");
        repo.set_env("GIT_SESSION_FAULT", step);
        let out = repo.session(&["end", "w", "--remove"]);
        assert_ne!(out.code, 0, "{step}: not killed");
        repo.set_env("GIT_SESSION_FAULT", "none");
        let doctor = repo.session(&["doctor", "--fix"]);
        assert!(
            doctor.code == 0 || doctor.code == 1,
            "{step}: {}",
            doctor.stderr
        );
        let kept = repo.root.join(".worktrees/w.written-during-removal");
        assert_eq!(walk(&kept), ["written-at-removal-captured.txt"], "{step}");
        assert!(!wt.exists(), "{step}");
        let after = repo.session(&["doctor"]);
        assert!(
            after.stdout.contains("kept-files"),
            "{step}: {}",
            after.stdout
        );
        assert!(
            !after.stdout.contains("interrupted"),
            "{step}: {}",
            after.stdout
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(
                walk(&path)
                    .into_iter()
                    .map(|p| format!("{}/{p}", path.file_name().unwrap().to_string_lossy())),
            );
        } else {
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn file_names_that_are_not_utf8_survive_checkpoint_and_rewind() {
    let repo = TestRepo::new();
    let wt = repo.new_session("bytes");
    let e_acute = std::ffi::OsStr::from_bytes(b"lat\xe9.txt");
    let e_grave = std::ffi::OsStr::from_bytes(b"lat\xe8.txt");
    std::fs::write(wt.join(e_acute), "acute\n").unwrap();
    std::fs::write(wt.join(e_grave), "grave\n").unwrap();
    repo.session(&["checkpoint", "bytes"]).ok();
    std::fs::remove_file(wt.join(e_acute)).unwrap();
    std::fs::write(wt.join(e_grave), "changed\n").unwrap();
    repo.session(&["rewind", "@", "bytes"]).ok();
    assert_eq!(
        std::fs::read_to_string(wt.join(e_acute)).unwrap(),
        "acute\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join(e_grave)).unwrap(),
        "grave\n"
    );
}

#[test]
fn rewind_refuses_to_overwrite_ignored_files() {
    let repo = TestRepo::new();
    let wt = repo.new_session("ign");
    write_file(&wt.join("cfg.local"), "checkpointed\n");
    repo.session(&["checkpoint", "ign"]).ok();
    std::fs::write(repo.root.join(".git/info/exclude"), "cfg.local\n").unwrap();
    write_file(&wt.join("cfg.local"), "newer, ignored, in no checkpoint\n");
    let out = repo.session(&["rewind", "@", "ign"]).fails();
    assert!(out.stderr.contains("cfg.local"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(wt.join("cfg.local")).unwrap(),
        "newer, ignored, in no checkpoint\n"
    );
}

#[test]
fn end_works_from_inside_the_worktree_it_removes() {
    let repo = TestRepo::new();
    let wt = repo.new_session("inside");
    repo.session_in(&wt, &["end"]).ok();
    assert!(!wt.exists());
    assert_eq!(repo.meta("inside")["status"], "complete");
    assert!(repo.git(&["branch", "--list", "session/inside"]).is_empty());
}

#[test]
fn dirty_submodules_keep_the_worktree() {
    let repo = TestRepo::new();
    repo.add_submodule("sm");
    let wt = repo.new_session("subwork");
    repo.init_submodules(&wt);
    std::fs::write(wt.join("sm/s.txt"), "only here\n").unwrap();
    repo.git_in(
        &wt.join("sm"),
        &["commit", "-q", "-am", "submodule-only commit"],
    );
    let out = repo.session(&["end", "subwork"]).ok();
    assert!(wt.exists(), "{}", out.stderr);
    let forced = repo.session(&["end", "subwork", "--remove"]).ok();
    assert!(
        wt.join("sm/s.txt").exists(),
        "never force-removed with submodule repositories: {}",
        forced.stderr
    );
}

#[test]
fn hostile_settings_and_metadata_are_refused_without_panics() {
    let repo = TestRepo::new();
    repo.new_session("ok");
    // A time that slices through a multi-byte character.
    let yaml = repo.git(&["show", "refs/sessions/ok:session.yaml"]);
    let bad = yaml.replacen("updated: ", "updated: 2026-01-01T00:00:00+1é00 #", 1);
    repo.forge_log("ok", &bad, false);
    let out = repo.session(&["list"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));

    // Settings from a tracked file that would overflow or escape.
    repo.write(".git-session.yaml", "retentionDays: 200000000000000\n");
    // Named, not used: the default applies.
    let out = repo.session(&["gc", "--dry-run"]).ok();
    assert!(
        out.stderr.contains("session.retentionDays") && out.stderr.contains("is ignored"),
        "{}",
        out.stderr
    );
    let outside = repo.home.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    repo.write(".git-session.yaml", "worktreeDir: wt\n");
    std::os::unix::fs::symlink(&outside, repo.root.join("wt")).unwrap();
    let out = repo.session(&["new", "--head", "escape"]).fails();
    assert!(
        out.stderr.contains("outside the repository"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    repo.write(".git-session.yaml", "remote: /tmp/attacker\n");
    let out = repo.session(&["new", "--pr", "7"]).fails();
    assert!(
        out.stderr
            .contains("no remote '/tmp/attacker' is configured"),
        "{}",
        out.stderr
    );
}

#[test]
fn core_filemode_false_keeps_index_modes_like_git() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[("run.sh", "#!/bin/sh\n"), ("chmod-only.sh", "#!/bin/sh\n")],
        "script",
    );
    repo.git(&["config", "core.fileMode", "false"]);
    let wt = repo.new_session("modes");
    std::fs::write(wt.join("run.sh"), "#!/bin/sh\necho changed\n").unwrap();
    for f in ["run.sh", "chmod-only.sh"] {
        std::fs::set_permissions(wt.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Like `git status`: the changed content counts, the ignored mode change does not.
    let listed = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(listed[0]["changes"], 1, "{listed}");
    let ckpt = repo
        .session(&["checkpoint", "modes"])
        .ok()
        .line()
        .to_owned();
    assert!(
        repo.git(&["ls-tree", &ckpt, "run.sh"])
            .starts_with("100644")
    );
}

#[test]
fn rewind_keeps_files_ignored_now_even_when_the_checkpoint_does_not_ignore_them() {
    let repo = TestRepo::new();
    let wt = repo.new_session("rules");
    repo.session(&["checkpoint", "rules"]).ok();
    write_file(&wt.join("app/.gitignore"), ".env.local\nnode_modules/\n");
    write_file(&wt.join("app/index.js"), "src\n");
    repo.git_in(&wt, &["add", "app"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "app"]);
    write_file(&wt.join("app/.env.local"), "SECRET=1\n");
    write_file(&wt.join("app/node_modules/dep/x.js"), "dep\n");
    repo.session(&["rewind", "@", "rules"]).ok();
    assert!(!wt.join("app/index.js").exists());
    assert_eq!(
        std::fs::read_to_string(wt.join("app/.env.local")).unwrap(),
        "SECRET=1\n"
    );
    assert!(wt.join("app/node_modules/dep/x.js").exists());
}

#[test]
fn only_a_valid_git_directory_makes_a_nested_repository() {
    let repo = TestRepo::new();
    let wt = repo.new_session("fake");
    repo.session(&["checkpoint", "fake"]).ok();
    write_file(&wt.join("sub/.git"), "junk\n");
    write_file(&wt.join("sub/work.txt"), "precious\n");
    write_file(&wt.join("sub2/.git/config"), "junk\n");
    write_file(&wt.join("sub2/work.txt"), "precious too\n");
    let ckpt = repo.session(&["checkpoint", "fake"]).ok().line().to_owned();
    let listing = repo.git(&["ls-tree", "-r", "--name-only", &ckpt]);
    assert!(listing.contains("sub/work.txt"), "{listing}");
    assert!(listing.contains("sub2/work.txt"), "{listing}");
    assert!(!listing.contains(".git"), "{listing}");
    // Rewinding to before they existed leaves them (and their `.git`) alone.
    repo.session(&["rewind", "@~1", "fake"]).ok();
    for (path, text) in [("sub/.git", "junk\n"), ("sub/work.txt", "precious\n")] {
        assert_eq!(std::fs::read_to_string(wt.join(path)).unwrap(), text);
    }
    assert!(wt.join("sub2/.git/config").exists());
}

#[test]
fn nested_repositories_are_never_overwritten_or_force_removed() {
    let repo = TestRepo::new();
    let wt = repo.new_session("nest");
    write_file(&wt.join("n"), "a file\n");
    repo.session(&["checkpoint", "nest"]).ok();
    std::fs::remove_file(wt.join("n")).unwrap();
    let nested = wt.join("n");
    repo.init_repository(&nested);
    let out = repo.session(&["rewind", "@", "nest"]).fails();
    assert!(out.stderr.contains("nested"), "{}", out.stderr);
    assert!(nested.join(".git").is_dir() && nested.join("a").exists());

    let out = repo.session(&["end", "nest", "--remove"]).ok();
    assert!(out.stderr.contains("repositories"), "{}", out.stderr);
    assert!(nested.join("a").exists(), "{}", out.stderr);
    let out = repo.session(&["rm", "nest", "--force"]).ok();
    assert!(nested.join("a").exists(), "{}", out.stderr);
}

#[test]
fn fetched_metadata_cannot_steal_another_sessions_worktree_or_branch() {
    let repo = TestRepo::new();
    let good = repo.new_session("good");
    repo.git(&["branch", "feature"]);
    let outside = repo.home.join("elsewhere");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        outside.to_str().unwrap(),
        "feature",
    ]);
    write_file(&outside.join(".env"), "SECRET=1\n");
    let feature_tip = repo.git(&["rev-parse", "feature"]);
    let yaml = repo.git(&["show", "refs/sessions/good:session.yaml"]);
    // Same id as 'good', and a branch checked out in a worktree 'new' did not make.
    let evil = yaml
        .replace("name: good", "name: evil")
        .replace("session/good", "feature")
        .replace(
            &format!("base: {}", repo.meta("good")["base"].as_str().unwrap()),
            &format!("base: {feature_tip}"),
        );
    repo.forge_log("evil", &evil, false);
    let out = repo.session(&["rm", "evil", "--force"]).ok();
    assert!(good.exists(), "{}", out.stderr);
    assert!(outside.join(".env").exists(), "{}", out.stderr);
    assert_eq!(repo.git(&["rev-parse", "feature"]), feature_tip);
    assert!(!repo.git(&["branch", "--list", "session/good"]).is_empty());
    // And gc of an old forged session leaves them alone too.
    repo.forge_log("evil2", &evil.replace("name: evil", "name: evil2"), false);
    repo.advance(90 * 24 * 3600);
    repo.session(&["gc"]).ok();
    assert!(outside.join(".env").exists());
}

#[test]
fn odd_names_and_checkpoint_specs_get_one_line_errors() {
    let repo = TestRepo::new();
    repo.new_session("s");
    for name in ["a..b", "x@{1}", ".a", "x\ny"] {
        let out = repo.session(&["show", name]).fails();
        assert!(
            out.stderr.contains("invalid session name"),
            "{}",
            out.stderr
        );
        assert_eq!(out.error_lines(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("\ny'"), "{}", out.stderr);
    }
    // Shown as every message shows outside text: a backslash as one, an escape as `\x1b`.
    let out = repo.session(&["show", "a\\b"]).fails();
    assert!(
        out.stderr
            .starts_with("error: invalid session name 'a\\b': "),
        "{}",
        out.stderr
    );
    let out = repo.session(&["show", "e\u{1b}[31mx"]).fails();
    assert!(
        out.stderr
            .starts_with("error: invalid session name 'e\\x1b[31mx': "),
        "{}",
        out.stderr
    );
    repo.session(&["checkpoint", "s"]).ok();
    let out = repo.session(&["rewind", "a\nb", "s"]).fails();
    assert!(
        out.stderr.starts_with("error: ") && !out.stderr.contains("a\nb"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(r"a\nb"), "{}", out.stderr);
    // A session may be named HEAD (its branch is session/HEAD), its branch may not.
    repo.session(&["new", "HEAD", "--no-worktree"]).ok();
    repo.session(&["rm", "HEAD", "--force"]).ok();
    repo.git(&["config", "session.branchPrefix", ""]);
    let out = repo.session(&["new", "HEAD", "--no-worktree"]).fails();
    assert!(
        out.stderr.contains("must not be named 'HEAD'"),
        "{}",
        out.stderr
    );
    repo.git(&["config", "--unset", "session.branchPrefix"]);
}

/// A directory with a `.git` git cannot open: a stray file, a repository without HEAD, one
/// whose HEAD is empty.
fn broken_repositories(repo: &TestRepo, wt: &std::path::Path) {
    write_file(&wt.join("stray/.git"), "junk\n");
    write_file(&wt.join("stray/s"), "s\n");
    for (dir, damage) in [("nohead", "rm"), ("emptyhead", "empty")] {
        let path = wt.join(dir);
        repo.init_repository(&path);
        match damage {
            "rm" => std::fs::remove_file(path.join(".git/HEAD")).unwrap(),
            _ => std::fs::write(path.join(".git/HEAD"), "").unwrap(),
        }
    }
}

#[test]
fn rewind_never_deletes_a_directory_that_holds_a_git_entry() {
    let repo = TestRepo::new();
    let wt = repo.new_session("stray");
    let before = repo
        .session(&["checkpoint", "stray"])
        .ok()
        .line()
        .to_owned();
    broken_repositories(&repo, &wt);
    // An empty repository (no commit yet) where the checkpoint has a file is in the way.
    repo.session(&["rewind", &before, "stray"]).ok();
    for path in [
        "stray/.git",
        "nohead/.git/objects",
        "emptyhead/.git/objects",
    ] {
        assert!(wt.join(path).exists(), "{path} survives");
    }
    write_file(&wt.join("inner/x"), "old\n");
    let with_file = repo
        .session(&["checkpoint", "stray"])
        .ok()
        .line()
        .to_owned();
    std::fs::remove_dir_all(wt.join("inner")).unwrap();
    std::fs::create_dir(wt.join("inner")).unwrap();
    repo.git_in(&wt.join("inner"), &["init", "-q"]);
    write_file(&wt.join("inner/x"), "precious\n");
    let out = repo.session(&["rewind", &with_file, "stray"]).fails();
    assert!(out.stderr.contains("inner"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(wt.join("inner/x")).unwrap(),
        "precious\n"
    );
}

#[test]
fn worktrees_holding_any_repository_are_never_removed() {
    let repo = TestRepo::new();
    repo.commit_files(&[(".gitignore", "vendor/\n")], "ignore vendor");
    let wt = repo.new_session("vendored");
    let lib = wt.join("vendor/lib");
    repo.init_repository(&lib);
    // Clean as far as git status goes, and still kept.
    let out = repo.session(&["end", "vendored"]).ok();
    assert!(lib.join(".git").is_dir(), "{}", out.stderr);
    assert!(out.stderr.contains("vendor/lib"), "{}", out.stderr);

    let wt = repo.new_session("odd");
    let name = std::ffi::OsStr::from_bytes(b"r\xff\nx");
    let odd = wt.join(name);
    repo.init_repository(&odd);
    let out = repo.session(&["end", "odd", "--remove"]).ok();
    assert!(odd.join(".git").is_dir(), "{}", out.stderr);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with("warning"))
        .unwrap();
    assert!(
        warning.ends_with("r\u{fffd}\\nx"),
        "one line: {}",
        out.stderr
    );
}

#[test]
fn a_worktree_moved_with_git_is_still_the_sessions() {
    let repo = TestRepo::new();
    let wt = repo.new_session("moving");
    let moved = repo.home.join("moved");
    repo.git(&[
        "worktree",
        "move",
        wt.to_str().unwrap(),
        moved.to_str().unwrap(),
    ]);
    let out = repo.session(&["path", "moving"]).ok();
    assert_eq!(
        std::path::Path::new(out.line()),
        std::fs::canonicalize(&moved).unwrap()
    );
    repo.session_in(&moved, &["show"]).ok();
    // doctor records where it went; it does not forget it as gone.
    let out = repo.session(&["doctor", "--fix"]);
    assert!(out.stdout.contains("moved-worktree"), "{}", out.stdout);
    let out = repo.session(&["path", "moving"]).ok();
    assert_eq!(
        std::path::Path::new(out.line()),
        std::fs::canonicalize(&moved).unwrap()
    );
    repo.session(&["checkpoint", "moving"]).ok();
}

#[test]
fn worktree_dirs_that_hold_tracked_files_or_git_internals_are_refused() {
    let repo = TestRepo::new();
    repo.commit_files(&[("src/m.rs", "x\n")], "src");
    for dir in ["src", ".git/worktrees", ".GIT/x", "a/.git"] {
        repo.write(".git-session.yaml", &format!("worktreeDir: {dir}\n"));
        let out = repo.session(&["new", "--head", "refused"]).fails();
        assert!(
            out.stderr.starts_with("error: session.worktreeDir"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("\nerror"), "{}", out.stderr);
        repo.git(&["config", "session.worktreeDir", dir]);
        repo.session(&["new", "--head", "refused"]).fails();
        repo.git(&["config", "--unset", "session.worktreeDir"]);
    }
    // A name with glob characters is excluded literally, not as a pattern.
    repo.write(".git-session.yaml", "worktreeDir: '*'\n");
    repo.session(&["new", "--head", "star"]).ok();
    write_file(&repo.root.join("src/new.rs"), "new\n");
    let status = repo.git(&["status", "--porcelain"]);
    assert!(status.contains("src/new.rs"), "{status}");
}

#[test]
fn a_worktree_path_leading_to_another_sessions_worktree_or_repository_is_not_used() {
    let repo = TestRepo::new();
    let a = repo.new_session("a");
    let b = repo.new_session("b");
    write_file(&b.join("precious.txt"), "b's work\n");
    // a's worktree moved away by hand and a symlink to b's put in its place.
    let away = repo.home.join("a-away");
    std::fs::rename(&a, &away).unwrap();
    std::os::unix::fs::symlink(&b, &a).unwrap();
    repo.session(&["checkpoint", "a"]).fails();
    repo.session(&["end", "a", "--remove"]);
    assert_eq!(
        std::fs::read_to_string(b.join("precious.txt")).unwrap(),
        "b's work\n"
    );
    assert!(repo.git(&["worktree", "list"]).contains("[session/b]"));

    // s's `.git` made to name another repository's worktree: git run there would act on it.
    let other = TestRepo::new();
    let o = other.new_session("o");
    let s = repo.new_session("s");
    write_file(&s.join("mine.txt"), "s's work\n");
    let ckpt = repo.session(&["checkpoint", "s"]).ok().line().to_owned();
    let before = other.git(&["rev-parse", "refs/heads/session/o"]);
    write_file(&o.join("theirs.txt"), "o's work\n");
    std::fs::copy(o.join(".git"), s.join(".git")).unwrap();
    let out = repo.session(&["rewind", &ckpt, "s"]).fails();
    assert_eq!(out.error_lines(), 1, "{}", out.stderr);
    assert_eq!(other.git(&["rev-parse", "refs/heads/session/o"]), before);
    assert_eq!(
        std::fs::read_to_string(o.join("theirs.txt")).unwrap(),
        "o's work\n"
    );
    assert!(s.join("mine.txt").exists());
}
