use crate::support::TestRepo;

#[test]
fn bad_names_are_refused_with_the_rule_broken() {
    let repo = TestRepo::new();
    let cases = [
        ("has space", "must not contain ' '"),
        ("a..b", "must not contain '..'"),
        ("-rf", "must not begin with '-'"),
        (".hidden", "may begin with '.'"),
        ("x.lock", "end with '.lock'"),
        ("a//b", "'//'"),
        ("trailing/", "'//'"),
        ("a:b", "must not contain ':'"),
        ("a@{1}", "'@{'"),
        ("tab\there", "control characters"),
    ];
    for (name, rule) in cases {
        let out = repo.session(&["new", "--head", "--", name]).fails();
        assert!(out.stderr.contains(rule), "{name:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
    let long = "x".repeat(101);
    let out = repo.session(&["new", "--head", &long]).fails();
    assert!(out.stderr.contains("at most 100 bytes"), "{}", out.stderr);
    assert!(repo.git(&["for-each-ref", "refs/sessions/"]).is_empty());
}

#[test]
fn prefix_collisions_are_refused_and_nested_and_unicode_names_work() {
    let repo = TestRepo::new();
    let nested = repo.new_session("feature/auth");
    assert_eq!(nested, repo.root.join(".worktrees/feature/auth"));
    for clash in ["feature", "feature/auth/x"] {
        let out = repo.session(&["new", "--head", clash]).fails();
        assert!(
            out.stderr
                .contains("collides with existing session 'feature/auth'"),
            "{}",
            out.stderr
        );
    }
    let unicode = repo.new_session("café-ünï");
    assert!(unicode.join("README.md").is_file());
    assert_eq!(repo.meta("café-ünï")["branch"], "session/café-ünï");
    repo.session(&["new", "--head", "feature/other"]).ok();
}
