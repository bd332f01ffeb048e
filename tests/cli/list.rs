use crate::support::TestRepo;

const KEYS: &[&str] = &[
    "name",
    "id",
    "status",
    "branch",
    "base",
    "worktree",
    "dirty",
    "changes",
    "ahead",
    "created",
    "last_active",
    "parent",
    "checkpoints",
];

#[test]
fn list_and_show_report_changes_ahead_and_activity() {
    let repo = TestRepo::new();
    let path = repo.new_session("busy");
    repo.new_session("idle");
    std::fs::write(path.join("README.md"), "changed\n").unwrap();
    std::fs::write(path.join("new.txt"), "new\n").unwrap();
    std::fs::write(path.join("committed.txt"), "c\n").unwrap();
    repo.git_in(&path, &["add", "committed.txt"]);
    repo.git_in(&path, &["commit", "-q", "-m", "work"]);

    let listed = repo.session(&["list", "--json"]).ok().json();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        for key in KEYS {
            assert!(row.get(*key).is_some(), "missing {key} in {row}");
        }
    }
    let busy = &rows[0];
    assert_eq!(busy["name"], "busy");
    assert_eq!(busy["dirty"], true);
    assert_eq!(busy["changes"], 2, "{busy}");
    assert_eq!(busy["ahead"], 1);
    assert_eq!(busy["worktree"], path.display().to_string());
    assert_eq!(rows[1]["dirty"], false);
    assert_eq!(rows[1]["changes"], 0);

    let table = repo.session(&["list"]).ok().stdout;
    insta::assert_snapshot!(table.replace(&*repo.root.to_string_lossy(), "<repo>"), @r"
    NAME  STATUS  BRANCH        CHANGES  AHEAD  ACTIVE    FROM  OVERLAPS  WORKTREE
    busy  active  session/busy  2        1      just now  -     -         <repo>/.worktrees/busy
    idle  active  session/idle  0        0      just now  -     -         <repo>/.worktrees/idle
    ");

    let shown = repo.session_in(&path, &["show", "--json"]).ok().json();
    assert_eq!(shown["name"], "busy");
    assert_eq!(shown["events"][0]["event"], "created");
    repo.session(&["show"]).fails();

    repo.session(&["end", "idle"]).ok();
    let open = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "complete sessions are hidden"
    );
    let all = repo.session(&["list", "--all", "--json"]).ok().json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["status"], "complete");
    assert_eq!(all[1]["worktree"], serde_json::Value::Null);
}

/// `changes` counts what `git status --porcelain --untracked-files=all` lists, however each
/// change came about; files only touched are not changes.
#[test]
fn changes_count_what_git_status_lists() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    repo.add_submodule("modules/sub");
    repo.write(".gitignore", "*.log\n");
    for f in [
        "touched.txt",
        "chmod.sh",
        "staged.txt",
        "deleted.txt",
        "both.txt",
    ] {
        repo.write(f, &format!("{f}\n"));
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "files"]);
    let wt = repo.new_session("counted");
    repo.init_submodules(&wt);
    let count = |repo: &TestRepo| {
        let rows = repo.session(&["list", "--json"]).ok().json();
        rows[0]["changes"].as_u64().unwrap() as usize
    };
    let git_count = || {
        let status = repo.git_in(&wt, &["status", "--porcelain", "--untracked-files=all"]);
        status.lines().filter(|l| !l.is_empty()).count()
    };

    // Same content, new mtime: git refreshes it away, and so must we.
    std::fs::write(wt.join("touched.txt"), "touched.txt\n").unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(wt.join("touched.txt"))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(count(&repo), 0);
    assert_eq!(git_count(), 0);

    std::fs::set_permissions(wt.join("chmod.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(wt.join("staged.txt"), "staged change\n").unwrap();
    repo.git_in(&wt, &["add", "staged.txt"]);
    std::fs::write(wt.join("both.txt"), "staged\n").unwrap();
    repo.git_in(&wt, &["add", "both.txt"]);
    std::fs::write(wt.join("both.txt"), "and changed again\n").unwrap();
    std::fs::remove_file(wt.join("deleted.txt")).unwrap();
    std::fs::write(wt.join("modules/sub/s.txt"), "dirty submodule\n").unwrap();
    std::fs::write(wt.join("new.txt"), "untracked\n").unwrap();
    std::fs::write(wt.join("ignored.log"), "ignored\n").unwrap();
    assert_eq!(git_count(), 6);
    assert_eq!(count(&repo), 6);
}

#[test]
fn a_malformed_session_is_named_and_does_not_hide_the_others() {
    let repo = TestRepo::new();
    repo.new_session("good");
    repo.new_session("bad");
    // Hand-edit bad's session.yaml into garbage, as a fetched or edited log might be.
    for garbage in [
        "version: [unclosed\n",
        "version: 1\nname: bad\n",
        "{{{{",
        "version: 1\nid: x\nname: bad\nstatus: active\ncreated: now\nupdated: now\nbranch: ../../../etc\nbase: 0\nbase_ref: HEAD\nparent: null\nlast_checkpoint: null\n",
    ] {
        repo.forge_log("bad", garbage, false);
        let out = repo.session(&["list", "--json"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("session 'bad' is unreadable"),
            "{}",
            out.stderr
        );
        let rows = out.json();
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["name"], "good");
        let out = repo.session(&["show", "bad"]).fails();
        assert!(
            out.stderr.contains("session 'bad' is unreadable"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
        repo.session(&["end", "bad"]).fails();
    }
}

/// The checkpoint count `list` and `show` print is kept per log tip: it stays right as the
/// log grows, and when the log is moved back (a different history), it is counted again.
#[test]
fn checkpoint_counts_follow_the_log() {
    let repo = crate::support::TestRepo::new();
    let path = repo.new_session("c");
    let count = |repo: &crate::support::TestRepo| {
        repo.session(&["show", "c", "--json"]).ok().json()["checkpoints"]
            .as_u64()
            .unwrap()
    };
    for i in 0..3 {
        crate::support::write_file(&path.join("f.txt"), &format!("{i}\n"));
        repo.session(&["checkpoint", "c"]).ok();
    }
    let three = repo.git(&["rev-parse", "refs/sessions/c"]);
    assert_eq!(count(&repo), 3);
    crate::support::write_file(&path.join("f.txt"), "again\n");
    repo.session(&["checkpoint", "c"]).ok();
    assert_eq!(count(&repo), 4);
    // The same checkpoint linked twice counts once.
    repo.session(&["checkpoint", "c"]).ok();
    assert_eq!(count(&repo), 4);
    repo.git(&["update-ref", "refs/sessions/c", &format!("{three}~1")]);
    assert_eq!(count(&repo), 2);
}
