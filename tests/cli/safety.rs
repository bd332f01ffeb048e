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
    let out = repo.session(&["gc"]).fails();
    assert!(
        out.stderr.contains("session.retentionDays"),
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
    repo.write("run.sh", "#!/bin/sh\n");
    repo.write("chmod-only.sh", "#!/bin/sh\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "script"]);
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
