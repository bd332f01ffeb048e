#[test]
fn the_committed_man_page_is_current() {
    let page = String::from_utf8(git_session::commands::man::render()).unwrap();
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
fn completions_define_the_function_gits_bash_completion_calls() {
    let repo = crate::support::TestRepo::new();
    let out = repo.session(&["completions", "bash"]).ok();
    assert!(out.stdout.contains("_git_session()"));
    repo.session(&["completions", "zsh"]).ok();
}
