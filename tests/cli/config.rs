//! Configuration: `git -c` settings, mistakes in `.git-session.yaml`, `~` and `refs/heads/`.

use crate::support::TestRepo;

#[test]
fn git_dash_c_settings_apply_and_win_over_files() {
    let repo = TestRepo::new();
    repo.git(&["config", "session.worktreeDir", "from-file"]);
    let out = repo
        .cmd_in(
            &repo.root,
            "git",
            &[
                "-c",
                "session.worktreeDir=alt",
                "session",
                "new",
                "x",
                "--head",
            ],
        )
        .ok();
    assert_eq!(out.line(), repo.root.join("alt/x").display().to_string());
    // GIT_CONFIG_COUNT (what `git --config-env` and scripts use) applies as well.
    let bad = repo.cmd_in(
        &repo.root,
        "env",
        &[
            "GIT_CONFIG_COUNT=1",
            "GIT_CONFIG_KEY_0=session.retentionDays",
            "GIT_CONFIG_VALUE_0=soon",
            "git",
            "session",
            "gc",
            "-n",
        ],
    );
    assert!(bad.fails().stderr.contains("session.retentionDays"));
    let bad = repo
        .cmd_in(
            &repo.root,
            "git",
            &["-c", "session.retentionDays=abc", "session", "gc", "-n"],
        )
        .fails();
    assert!(
        bad.stderr
            .contains("session.retentionDays = 'abc' is invalid"),
        "{}",
        bad.stderr
    );
}

#[test]
fn shared_file_mistakes_are_reported() {
    let repo = TestRepo::new();
    repo.commit_files(&[(".git-session.yaml", "worktreDir: wt\n")], "config");
    let out = repo.session(&["new", "a", "--head"]).ok();
    assert!(
        out.stderr
            .contains("unknown key 'worktreDir' is ignored (did you mean 'worktreeDir'?)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("unknown key").count(),
        1,
        "{}",
        out.stderr
    );

    repo.commit_files(&[(".git-session.yaml", "worktreeDir: [1, 2]\n")], "config");
    let bad = repo.session(&["new", "b", "--head"]).fails();
    assert!(
        bad.stderr
            .contains(".git-session.yaml: worktreeDir must be a string, not a list"),
        "{}",
        bad.stderr
    );

    repo.commit_files(&[(".git-session.yaml", "worktreeDir: ~/x\n")], "config");
    let bad = repo.session(&["new", "c", "--head"]).fails();
    assert!(bad.stderr.contains("`~` is not expanded"), "{}", bad.stderr);
    assert!(!repo.root.join("~").exists());
}

#[test]
fn tilde_from_git_config_means_home_and_refs_heads_prefix_is_dropped() {
    let repo = TestRepo::new();
    repo.git(&["config", "session.worktreeDir", "~/wt"]);
    repo.git(&["config", "session.branchPrefix", "refs/heads/agent/"]);
    let out = repo.session(&["new", "a", "--head"]).ok();
    assert_eq!(out.line(), repo.home.join("wt/a").display().to_string());
    assert!(!repo.root.join("~").exists());
    repo.git(&["rev-parse", "--verify", "refs/heads/agent/a"]);
}

/// An invalid value in `.git-session.yaml` is named once, when the file is read, and the
/// default applies: `new` does not fail on a `portRange` it does not need, and `gc` does not
/// find a bad `retentionDays` only when it runs.
#[test]
fn invalid_shared_values_are_warned_about_once_and_ignored() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(
            ".git-session.yaml",
            "portRange: 5-1\nretentionDays: 0\nfetchTimeout: forever\n",
        )],
        "config",
    );
    let out = repo.session(&["new", "a", "--head"]).ok();
    for key in ["portRange", "retentionDays", "fetchTimeout"] {
        assert_eq!(
            out.stderr.matches(&format!("session.{key} = ")).count(),
            1,
            "{key}: {}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("setup commands not run"),
        "{}",
        out.stderr
    );
    repo.session(&["gc", "--dry-run"]).ok();
    let env = repo.session(&["env", "a", "--json"]).ok().json();
    let port = env["GIT_SESSION_PORT"].as_u64().unwrap();
    assert!((10000..=19999).contains(&port), "{port}");
}
