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
    "behind",
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
    NAME  STATUS  AGENT  BRANCH        CHANGES  AHEAD  ACTIVE    FROM  OVERLAPS  WORKTREE
    busy  active  -      session/busy  2        1      just now  -     -         <repo>/.worktrees/busy
    idle  active  -      session/idle  0        0      just now  -     -         <repo>/.worktrees/idle
    ");

    // The base moves on: both are one behind it.
    repo.git(&["commit", "-q", "--allow-empty", "-m", "base moves"]);
    let listed = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(listed[0]["behind"], 1, "{}", listed[0]);
    assert_eq!(listed[1]["behind"], 1);
    assert_eq!(listed[0]["last_checkpoint_at"], serde_json::Value::Null);

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

/// What agents report (Claude Code's hooks with the JSON it sends, `agent-state` from a
/// script) shows in `list`, `show` and their JSON; a silent working agent turns stale;
/// `--sort attention` puts the sessions that wait for a person first.
#[test]
fn agent_state_from_hooks_and_scripts() {
    let repo = TestRepo::new();
    let claude = repo.new_session("claude-one");
    let script = repo.new_session("scripted");
    repo.new_session("quiet");
    let hook = |event: &str, sub: &str| {
        let payload = format!(
            r#"{{"session_id":"abc","cwd":"{}","hook_event_name":"{event}","prompt":"hi","message":"Claude needs your permission to use Bash","tool_name":"Bash","tool_input":{{"command":"ls"}}}}"#,
            claude.display()
        );
        let out = repo.cmd_in(
            &repo.root,
            "sh",
            &[
                "-c",
                &format!("printf '%s' '{payload}' | git session claude {sub}"),
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        repo.session(&["show", "claude-one", "--json"]).ok().json()["agent"].clone()
    };
    assert_eq!(
        hook("UserPromptSubmit", "user-prompt-submit")["state"],
        "working"
    );
    assert_eq!(hook("PreToolUse", "pre-tool-use")["state"], "working");
    assert_eq!(hook("Notification", "notification")["state"], "needs-input");
    let idle = hook("Stop", "stop");
    assert_eq!(idle["state"], "idle");
    assert_eq!(idle["tool"], "claude");
    assert!(idle["since"].as_str().unwrap().ends_with('Z'), "{idle}");
    assert_eq!(hook("SessionEnd", "session-end")["state"], "exited");
    hook("Notification", "notification");

    // Any other agent, from inside its worktree or by name.
    repo.session_in(&script, &["agent-state", "working", "--tool", "codex"])
        .ok();
    let shown = repo.session(&["show", "scripted", "--json"]).ok().json();
    assert_eq!(shown["agent"]["tool"], "codex");
    assert_eq!(shown["agent"]["state"], "working");
    repo.session(&["agent-state", "busy", "scripted"]);
    repo.session(&["agent-state", "idle"]).fails();
    repo.session(&["agent-state", "idle", "nobody"]).fails();
    for (tool, said) in [
        ("", "--tool needs a name"),
        ("my tool", "letters, digits"),
        ("\x1b[31mred", "letters, digits"),
        (&"x".repeat(65), "at most 64"),
    ] {
        let out = repo.session(&["agent-state", "idle", "scripted", "--tool", tool]);
        assert_eq!(out.code, 2, "{tool:?}: {}", out.stderr);
        assert!(out.stderr.contains(said), "{tool:?}: {}", out.stderr);
    }

    let order = |repo: &TestRepo| -> Vec<String> {
        repo.session(&["list", "--sort", "attention", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(order(&repo), ["claude-one", "scripted", "quiet"]);
    let table = repo.session(&["list", "--sort", "attention"]).ok().stdout;
    let agents: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(agents, ["needs-input", "working", "-"], "{table}");

    // Silent for longer than session.agentStaleAfter: stale, after the idle ones.
    repo.git(&["config", "session.agentStaleAfter", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let shown = repo.session(&["show", "scripted", "--json"]).ok().json();
    assert_eq!(shown["agent"]["state"], "stale");
    let text = repo.session(&["show", "scripted"]).ok().stdout;
    assert!(text.contains("codex, stale since"), "{text}");
    // No worktree here: no agent can be working in it.
    repo.session(&["new", "--no-worktree", "bare"]).ok();
    let out = repo.session(&["agent-state", "working", "bare"]).fails();
    assert!(
        out.stderr.contains("has no worktree here"),
        "{}",
        out.stderr
    );
    // A value that means nothing is an error, not a silent default.
    repo.git(&["config", "session.agentStaleAfter", "bogus"]);
    let out = repo.session(&["list"]).fails();
    assert!(
        out.stderr.contains("session.agentStaleAfter"),
        "{}",
        out.stderr
    );
}

/// `session.notify` runs when an agent starts needing input or its turn ends, with the
/// session's name and state; one from the tracked file only once approved.
#[test]
fn notify_runs_on_needs_input_and_idle_once_approved() {
    let repo = TestRepo::new();
    let wt = repo.new_session("n");
    let log = repo.home.join("notified");
    let command = format!(
        "echo \"$GIT_SESSION_NAME $GIT_SESSION_STATE\" >> '{}'",
        log.display()
    );
    let wait_lines = |n: usize| {
        for _ in 0..50 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.lines().count() >= n {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    // From the tracked file: not before it is approved.
    repo.commit_files(
        &[(
            ".git-session.yaml",
            &format!("notify: ['{}']\n", command.replace('\'', "''")),
        )],
        "notify",
    );
    repo.session_in(&wt, &["agent-state", "needs-input"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "");
    let listed = repo.session(&["approve", "--list"]).ok().stdout;
    assert!(listed.contains("pending"), "{listed}");
    repo.session(&["approve", "--", &command]).ok();
    repo.session_in(&wt, &["agent-state", "working"]).ok();
    repo.session_in(&wt, &["agent-state", "needs-input"]).ok();
    assert_eq!(wait_lines(1), "n needs-input\n");
    // Again the same state: no second notice; the turn's end: one.
    repo.session_in(&wt, &["agent-state", "needs-input"]).ok();
    repo.session_in(&wt, &["agent-state", "idle"]).ok();
    assert_eq!(wait_lines(2), "n needs-input\nn idle\n");
}

/// Sessions are kept as read, by log tip, in `session/cache/sessions.json`: listing from the
/// copy says what listing from the logs says, a moved ref is read afresh (and only the tips
/// the refs name are kept), and a copy that is garbage or fails the checks `session.yaml`
/// gets is not believed.
#[test]
fn the_kept_copy_of_the_sessions_lists_what_the_logs_say() {
    let repo = TestRepo::new();
    repo.new_session("a");
    repo.new_session("b");
    let kept = repo.root.join(".git/session/cache/sessions.json");
    let list = |repo: &TestRepo| repo.session(&["list", "--json"]).ok().stdout;
    let _ = std::fs::remove_file(&kept);
    let from_logs = list(&repo);
    assert!(kept.exists(), "listing keeps what it read");
    assert_eq!(list(&repo), from_logs);
    let text = std::fs::read_to_string(&kept).unwrap();
    // The copy is what a listing shows (a goal is not checked: a hand-edited one shows).
    assert!(text.contains("\"name\":\"a\""), "{text}");
    std::fs::write(
        &kept,
        text.replace(
            "\"name\":\"a\"",
            "\"name\":\"a\",\"goal\":\"from the copy\"",
        ),
    )
    .unwrap();
    assert_eq!(
        repo.session(&["list", "--json"]).ok().json()[0]["goal"],
        "from the copy"
    );
    // Garbage, and a copy whose session fails the checks, are read past.
    std::fs::write(&kept, "{{{").unwrap();
    assert_eq!(list(&repo), from_logs);
    std::fs::write(
        &kept,
        text.replace("\"name\":\"a\"", "\"name\":\"\\u001b[31mx\""),
    )
    .unwrap();
    assert_eq!(list(&repo), from_logs);
    // A moved ref is read from its log; the copy keeps the tips the refs name now.
    repo.session(&["own", "b", "src"]).ok();
    let rows = repo.session(&["list", "--json"]).ok().json();
    assert_eq!(rows[1]["owns"], serde_json::json!(["src"]), "{rows}");
    let copy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    let mut keys: Vec<&String> = copy["sessions"].as_object().unwrap().keys().collect();
    keys.sort();
    let tip = |name: &str| repo.git(&["rev-parse", &format!("refs/sessions/{name}")]);
    assert_eq!(
        keys,
        [&format!("a {}", tip("a")), &format!("b {}", tip("b"))],
        "{copy}"
    );
}
