//! Claude Code integration: installing its hooks, and each hook against real git, fed the
//! JSON Claude Code sends; then `claude --worktree` itself, when its CLI is installed.

use std::path::{Path, PathBuf};

use crate::support::{BIN, Out, TestRepo, write_file};

/// Runs `git-session claude <hook>` in `dir` with `json` on stdin.
fn hook(repo: &TestRepo, dir: &Path, sub: &str, json: &str) -> Out {
    repo.cmd_in(
        dir,
        "sh",
        &[
            "-c",
            "printf '%s' \"$1\" | \"$2\" claude \"$3\"",
            "sh",
            json,
            BIN,
            sub,
        ],
    )
}

fn create_json(repo: &TestRepo, name: &str) -> String {
    serde_json::json!({
        "session_id": "11111111-2222-3333-4444-555555555555",
        "transcript_path": repo.home.join(".claude/projects/p/t.jsonl"),
        "cwd": repo.root,
        "hook_event_name": "WorktreeCreate",
        "name": name,
        "permission_mode": "default",
    })
    .to_string()
}

fn with_includes() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".gitignore", ".env\n"), (".worktreeinclude", ".env\n")],
        "includes",
    );
    write_file(&repo.root.join(".env"), "SECRET=1\n");
    repo
}

const SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(npm test)"
    ],
    "deny": []
  },
  "hooks": {
    "Stop": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ],
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "./check.sh",
            "timeout": 5
          }
        ]
      }
    ]
  },
  "env": {
    "DEBUG": "1"
  }
}
"#;

#[test]
fn install_and_uninstall_keep_every_other_key_and_hook() {
    let repo = TestRepo::new();
    let file = repo.root.join(".claude/settings.local.json");
    write_file(&file, SETTINGS);
    let out = repo.session(&["claude", "install"]).ok();
    assert_eq!(out.line(), file.to_str().unwrap());
    let installed = std::fs::read_to_string(&file).unwrap();
    let value: serde_json::Value = serde_json::from_str(&installed).unwrap();
    let before: serde_json::Value = serde_json::from_str(SETTINGS).unwrap();
    for key in ["model", "permissions", "env"] {
        assert_eq!(value[key], before[key]);
    }
    assert_eq!(
        value["hooks"]["PreToolUse"][0],
        before["hooks"]["PreToolUse"][0]
    );
    // Every tool call: the agent is working (edits are told apart by the handler).
    assert_eq!(
        value["hooks"]["PreToolUse"][1]["matcher"],
        serde_json::Value::Null
    );
    assert_eq!(value["hooks"]["Stop"][0], before["hooks"]["Stop"][0]);
    for (event, command) in [
        ("WorktreeCreate", "git session claude worktree-create"),
        ("WorktreeRemove", "git session claude worktree-remove"),
        ("Stop", "git session claude stop"),
        ("SessionStart", "git session claude session-start"),
        ("PreToolUse", "git session claude pre-tool-use"),
    ] {
        let groups = value["hooks"][event].as_array().unwrap();
        assert_eq!(groups.last().unwrap()["hooks"][0]["command"], command);
    }
    repo.session(&["claude", "install"]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), installed);
    repo.session(&["claude", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), SETTINGS);
    repo.session(&["claude", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), SETTINGS);

    // --shared writes the tracked settings.json instead.
    repo.session(&["claude", "install", "--shared"]).ok();
    assert!(repo.root.join(".claude/settings.json").is_file());

    let broken = "{ \"model\": \"opus\", \n";
    write_file(&file, broken);
    let out = repo.session(&["claude", "install"]).fails();
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("is not valid JSON"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

/// The local settings file is this machine's: install makes git ignore it when nothing
/// did, and uninstall takes back the file and the exclude line it created.
#[test]
fn local_settings_are_ignored_and_uninstall_leaves_nothing_behind() {
    let repo = TestRepo::new();
    let exclude = repo.root.join(".git/info/exclude");
    let exclude_before = std::fs::read(&exclude).unwrap_or_default();
    let file = repo.root.join(".claude/settings.local.json");
    let out = repo.session(&["claude", "install"]).ok();
    assert!(file.is_file());
    assert!(out.stderr.contains("info/exclude"), "{}", out.stderr);
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the settings are not untracked work"
    );
    repo.session(&["claude", "uninstall"]).ok();
    assert!(!file.exists() && !repo.root.join(".claude").exists());
    assert_eq!(std::fs::read(&exclude).unwrap_or_default(), exclude_before);

    // A session's copy (made by .worktreeinclude) keeps the line: it must stay ignored.
    repo.commit_files(
        &[(".worktreeinclude", ".claude/settings.local.json\n")],
        "include",
    );
    repo.session(&["claude", "install"]).ok();
    let wt = repo.new_session("copy");
    assert!(wt.join(".claude/settings.local.json").is_file());
    repo.session(&["claude", "uninstall"]).ok();
    assert!(!file.exists());
    assert_eq!(
        repo.git_in(&wt, &["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the session's copy is still ignored"
    );

    // Already ignored by the project: nothing is added.
    repo.session(&["rm", "--force", "copy"]).ok();
    repo.commit_files(&[(".gitignore", ".claude/settings.local.json\n")], "ignore");
    let exclude_before = std::fs::read(&exclude).unwrap_or_default();
    let out = repo.session(&["claude", "install"]).ok();
    assert!(!out.stderr.contains("info/exclude"), "{}", out.stderr);
    assert_eq!(std::fs::read(&exclude).unwrap_or_default(), exclude_before);
}

#[test]
fn worktree_create_makes_a_session_as_new_does_and_reuse_reopens_it() {
    let repo = with_includes();
    let out = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "feat"),
    )
    .ok();
    let path = PathBuf::from(out.line());
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "only the path: {}",
        out.stdout
    );
    assert!(path.is_absolute() && path.join("README.md").is_file());
    assert_eq!(path, repo.root.join(".worktrees/feat"));
    assert_eq!(
        std::fs::read_to_string(path.join(".env")).unwrap(),
        "SECRET=1\n",
        ".worktreeinclude applied"
    );
    let meta = repo.meta("feat");
    assert_eq!(meta["agent"]["tool"], "claude");
    assert_eq!(
        meta["agent"]["session_id"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(meta["branch"], "session/feat");
    let shown = repo.session(&["show", "feat"]).ok().stdout;
    assert!(
        shown.contains("claude (session 11111111-2222-3333-4444-555555555555)"),
        "{shown}"
    );
    let yaml = repo.git(&["show", "refs/sessions/feat:session.yaml"]);
    assert!(!yaml.contains("t.jsonl"), "the transcript path stays local");
    let local = std::fs::read_to_string(
        std::fs::read_dir(repo.root.join(".git/session/local"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(local.contains("t.jsonl"), "{local}");

    // The same name again reopens it (here, and after its worktree was removed).
    let again = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "feat"),
    )
    .ok();
    assert_eq!(again.stdout, out.stdout);
    repo.session(&["end", "feat"]).ok();
    let reopened = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "feat"),
    )
    .ok();
    assert_eq!(reopened.stdout, out.stdout);
    assert!(path.join(".env").is_file());
    assert_eq!(repo.meta("feat")["status"], "active");

    // Bad input: exit 1, one line, nothing made.
    for json in [
        create_json(&repo, "bad name.lock"),
        create_json(&repo, "two..dots"),
        "{\"cwd\": \"/\"".to_owned(),
        "{}".to_owned(),
    ] {
        let out = hook(&repo, &repo.root, "worktree-create", &json).fails();
        assert!(out.stdout.is_empty());
        let first = out.stderr.lines().next().unwrap();
        assert!(
            first.starts_with("error:") && !first.contains("refs/"),
            "{first}"
        );
    }
    assert_eq!(
        repo.session(&["list", "--all", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn worktree_remove_checkpoints_work_and_removes_the_worktree() {
    let repo = TestRepo::new();
    let out = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "wip"),
    )
    .ok();
    let path = PathBuf::from(out.line());
    write_file(&path.join("README.md"), "changed\n");
    write_file(&path.join("new/untracked.txt"), "untracked work\n");
    let json = serde_json::json!({
        "session_id": "s1", "cwd": path, "hook_event_name": "WorktreeRemove",
        "worktree_path": path,
    })
    .to_string();
    let out = hook(&repo, &path, "worktree-remove", &json).ok();
    assert!(!path.exists(), "exit 0 means the worktree is gone");
    assert!(out.stderr.contains("refs/sessions/wip"), "{}", out.stderr);
    assert_eq!(repo.git(&["branch", "--list", "session/wip"]), "");
    let meta = repo.meta("wip");
    assert_eq!(meta["status"], "complete");
    let ckpt = meta["last_checkpoint"].as_str().unwrap().to_owned();
    repo.git(&["merge-base", "--is-ancestor", &ckpt, "refs/sessions/wip"]);
    assert_eq!(
        repo.git(&["show", &format!("{ckpt}:new/untracked.txt")]),
        "untracked work"
    );
    assert_eq!(repo.git(&["show", &format!("{ckpt}:README.md")]), "changed");

    // Gone already: nothing to do. Not a session's worktree: refused, left alone.
    hook(&repo, &repo.root, "worktree-remove", &json).ok();
    let other = repo.root.join("elsewhere");
    repo.git(&["worktree", "add", "-q", "--detach", other.to_str().unwrap()]);
    let json = serde_json::json!({ "worktree_path": other }).to_string();
    hook(&repo, &repo.root, "worktree-remove", &json).fails();
    assert!(other.exists());

    // Deleted by hand before Claude asked: the session still ends and its branch goes.
    let out = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "gone"),
    )
    .ok();
    let path = PathBuf::from(out.line());
    std::fs::remove_dir_all(&path).unwrap();
    let json = serde_json::json!({ "worktree_path": path }).to_string();
    hook(&repo, &repo.root, "worktree-remove", &json).ok();
    assert_eq!(repo.meta("gone")["status"], "complete");
    assert_eq!(repo.git(&["branch", "--list", "session/gone"]), "");

    // Moved away with `git worktree move`, then asked for by its old path: the moved one was
    // kept on purpose and stays.
    let out = hook(
        &repo,
        &repo.root,
        "worktree-create",
        &create_json(&repo, "moved"),
    )
    .ok();
    let old = PathBuf::from(out.line());
    let kept = repo.home.join("kept");
    repo.git(&[
        "worktree",
        "move",
        old.to_str().unwrap(),
        kept.to_str().unwrap(),
    ]);
    let json = serde_json::json!({ "worktree_path": old }).to_string();
    let out = hook(&repo, &repo.root, "worktree-remove", &json).fails();
    assert!(
        out.stderr.contains("now has its worktree at"),
        "{}",
        out.stderr
    );
    assert!(kept.join(".git").is_file());
    assert_eq!(repo.meta("moved")["status"], "active");
}

#[test]
fn stop_checkpoints_a_dirty_session_once_per_change_and_never_blocks() {
    let repo = TestRepo::new();
    let path = repo.new_session("turns");
    let json = r#"{"session_id":"abc-123","hook_event_name":"Stop","stop_hook_active":false}"#;
    let before = repo.events("turns").len();
    let out = hook(&repo, &path, "stop", json).ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert_eq!(repo.events("turns").len(), before, "clean: no checkpoint");
    write_file(&path.join("a.txt"), "turn 1\n");
    let out = hook(&repo, &path, "stop", json).ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    let events = repo.events("turns");
    assert_eq!(events.len(), before + 1);
    assert!(
        events[0].starts_with("checkpoint: ") && events[0].contains("claude session abc-123"),
        "{events:?}"
    );
    hook(&repo, &path, "stop", json).ok();
    assert_eq!(repo.events("turns").len(), before + 1, "unchanged: reused");
    // Outside a session, and with input it cannot read: exit 0.
    let out = hook(&repo, &repo.root, "stop", json).ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    let out = hook(&repo, &path, "stop", "not json").ok();
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn session_start_tells_the_agent_its_session_and_nothing_elsewhere() {
    let repo = TestRepo::new();
    let out = repo
        .session(&["new", "--head", "-m", "ship the \x1b[31mparser", "start"])
        .ok();
    let path = PathBuf::from(out.line());
    // A context and a handoff in the log's newest tree (as `context` and `handoff` write them).
    let tree = repo.git(&["rev-parse", "refs/sessions/start^{tree}"]);
    let listing = repo.git(&["ls-tree", &tree]);
    let ctx_blob = blob(&repo, "Decided: use a \x1b]0;title\x07 lexer\n");
    let handoff_blob = blob(&repo, "Next: write tests\n");
    let mktree = format!(
        "{listing}\n100644 blob {ctx_blob}\tcontext.md\n100644 blob {handoff_blob}\thandoff.md\n"
    );
    let file = repo.home.join("tree.txt");
    std::fs::write(&file, mktree).unwrap();
    let new_tree = repo
        .cmd_in(
            &repo.root,
            "sh",
            &["-c", "git mktree < \"$1\"", "sh", file.to_str().unwrap()],
        )
        .ok()
        .line()
        .to_owned();
    let commit = repo.git(&[
        "commit-tree",
        "-p",
        "refs/sessions/start",
        "-m",
        "context: edited",
        &new_tree,
    ]);
    repo.git(&["update-ref", "refs/sessions/start", &commit]);
    write_file(&path.join("dirty.txt"), "x\n");

    let json = r#"{"session_id":"s","hook_event_name":"SessionStart","source":"startup"}"#;
    let out = hook(&repo, &path, "session-start", json).ok();
    let text = &out.stdout;
    assert!(text.contains("session 'start'"), "{text}");
    assert!(text.contains("Goal: ship the \\x1b[31mparser"), "{text}");
    assert!(
        text.contains("Decided: use a \\x1b]0;title\\x07 lexer"),
        "{text}"
    );
    assert!(text.contains("Next: write tests"), "{text}");
    assert!(
        text.contains("Uncommitted changes: 1 file(s): dirty.txt"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "control characters are escaped");
    let out = hook(&repo, &repo.root, "session-start", json).ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

fn blob(repo: &TestRepo, text: &str) -> String {
    let file = repo.home.join("blob.txt");
    std::fs::write(&file, text).unwrap();
    repo.git(&["hash-object", "-w", file.to_str().unwrap()])
}

/// Claude Code's CLI (`.ci/run` installs it; set CLAUDE_CODE_BIN or put `claude` on PATH):
/// the test is skipped when it is absent.
fn claude_bin() -> Option<PathBuf> {
    std::env::var_os("CLAUDE_CODE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("claude"))
                    .find(|c| c.is_file())
            })
        })
        .filter(|p| p.is_file())
}

/// `claude --worktree <name> -p hi` runs WorktreeCreate and SessionStart before it needs a
/// login, and SessionEnd when it gives up: the session is made by our hook, includes applied
/// and the agent recorded, the agent is told about it, and its state ends as `exited`.
#[test]
fn claude_code_worktree_flag_creates_a_session() {
    let Some(claude) = claude_bin() else {
        eprintln!("skipped: Claude Code's CLI is not installed (set CLAUDE_CODE_BIN)");
        return;
    };
    let repo = with_includes();
    repo.session(&["claude", "install"]).ok();
    // Trust the repository, as accepting Claude Code's dialog would.
    let trust = serde_json::json!({
        "hasCompletedOnboarding": true,
        "projects": { repo.root.to_str().unwrap(): { "hasTrustDialogAccepted": true } },
    });
    std::fs::write(repo.home.join(".claude.json"), trust.to_string()).unwrap();
    // Keep what session-start printed, to look at it.
    let settings = repo.root.join(".claude/settings.local.json");
    let seen = repo.home.join("session-start.txt");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "\"git session claude session-start\"",
        &serde_json::to_string(&format!(
            "git session claude session-start > '{}'",
            seen.display()
        ))
        .unwrap(),
    );
    std::fs::write(&settings, text).unwrap();

    let out = repo.cmd_in(
        &repo.root,
        claude.to_str().unwrap(),
        &["--worktree", "cc", "-p", "hi"],
    );
    let path = repo.root.join(".worktrees/cc");
    assert!(
        path.join(".env").is_file(),
        "no session worktree with includes: {} {}",
        out.stdout,
        out.stderr
    );
    let meta = repo.meta("cc");
    assert_eq!(meta["agent"]["tool"], "claude");
    assert!(
        meta["agent"]["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    // Its agent state came through the real CLI's hooks too: the run ended (SessionEnd).
    let shown = repo.session(&["show", "cc", "--json"]).ok().json();
    assert_eq!(shown["agent"]["state"], "exited", "{shown}");
    let told = std::fs::read_to_string(&seen).unwrap_or_default();
    assert!(
        told.contains("session 'cc'"),
        "session-start said: {told:?}"
    );
}
