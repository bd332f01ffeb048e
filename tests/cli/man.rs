#[test]
fn the_committed_man_page_is_current() {
    let page = String::from_utf8(git_session::commands::man::render(|| {
        <git_session::cli::Cli as clap::CommandFactory>::command()
    }))
    .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/git-session.1");
    if std::env::var_os("UPDATE_MAN").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "man/git-session.1 is stale: run `UPDATE_MAN=1 cargo test --test cli man` and commit it"
    );
}

#[test]
fn man_install_puts_the_page_under_the_prefix() {
    let repo = crate::support::TestRepo::new();
    let prefix = repo.home.join("prefix");
    let out = repo
        .session(&["man", "--install", prefix.to_str().unwrap()])
        .ok();
    assert!(prefix.join("share/man/man1/git-session.1").is_file());
    assert!(out.stdout.trim().ends_with("git-session.1"));
    // Without a value: next to the binary that runs (the test binary's target dir here).
    repo.session(&["man", "--install"]).ok();
}

#[test]
fn completions_define_the_function_gits_bash_completion_calls() {
    let repo = crate::support::TestRepo::new();
    let out = repo.session(&["completions", "bash"]).ok();
    assert!(out.stdout.contains("_git_session()"));
    // Complete as git's bash completion would: subcommands, then a subcommand's options.
    let script = repo.home.join("completion.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str| {
        let program = format!(
            "source '{}'; words=({words}); cword=$((${{#words[@]}} - 1)); _git_session; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        );
        repo.cmd_in(&repo.root, "bash", &["-c", &program])
            .ok()
            .stdout
    };
    assert_eq!(
        complete("git session re").trim(),
        "remote restore redo resume rename rewind"
    );
    assert!(complete("git session new --").contains("--no-worktree"));
    assert!(complete("git session rewind --").contains("--help"));
    repo.session(&["completions", "zsh"]).ok();
}
