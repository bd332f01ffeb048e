use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git_session::include::IncludeRules;

use crate::support::{TestRepo, write_file};

const ORACLE_PATHS: &[&str] = &[
    ".env",
    "x/.env",
    "build/.env",
    "build/sub/x.o",
    "build/keep.txt",
    "a.txt",
    "b.txt",
    "ab.txt",
    "keep.txt",
    "doc/a.md",
    "doc/sub/b.md",
    "a/b",
    "a/x/y/b",
    "#hash",
    "!bang",
    "trailing ",
    "node_modules/pkg/index.js",
    "node_modules/other/x.js",
    "config/secrets.json",
    "deep/a/b.txt",
    "sub/x.o",
    "x/sub/y.o",
    "Space Dir/f.txt",
    "ünï/cödé.txt",
];

const ORACLE_PATTERNS: &[&str] = &[
    ".env",
    "/.env",
    "*.env",
    "**/.env",
    "build/",
    "build",
    "/build/",
    "build/*",
    "build/**",
    "build/**/*.o",
    "**/sub/",
    "sub/x.o",
    "*.o",
    "*.o\n!sub/x.o",
    "node_modules/pkg/",
    "a/**/b",
    "\\#hash",
    "\\!bang",
    "trailing\\ ",
    "trailing ",
    "[ab].txt",
    "?.txt",
    "doc/*.md",
    "doc/**/*.md",
    "# comment\n.env",
    "build/\n!build/keep.txt",
    "*.txt\n!keep.txt",
    "config/secrets.json",
    "**/secrets.json",
    "deep/**",
    "/deep/a",
    "deep/a/",
    "Space Dir/",
    "ünï/*.txt",
    "[!a].txt",
    "**/b",
    "x/",
    "!.env",
    "*\n!*/\n!*.txt",
];

/// The matcher agrees with `git check-ignore --no-index` given the same lines as excludes.
#[test]
fn matcher_agrees_with_git_check_ignore() {
    let repo = TestRepo::empty();
    for path in ORACLE_PATHS {
        write_file(&repo.root.join(path), "x\n");
    }
    let mut mismatches = Vec::new();
    for (i, patterns) in ORACLE_PATTERNS.iter().enumerate() {
        let file = repo.home.join(format!("patterns-{i}"));
        std::fs::write(&file, format!("{patterns}\n")).unwrap();
        let out = repo.cmd_in(
            &repo.root,
            "sh",
            &["-c", &format!("printf '%s\\n' \"$@\" | git -c core.quotePath=false -c core.excludesFile='{}' check-ignore --no-index --stdin", file.display()), "sh"]
                .into_iter()
                .chain(ORACLE_PATHS.iter().copied())
                .collect::<Vec<_>>(),
        );
        let git_says: BTreeSet<&str> = out.stdout.lines().collect();
        let rules = IncludeRules::parse(format!("{patterns}\n").as_bytes());
        for path in ORACLE_PATHS {
            if rules.matches(path, false) != git_says.contains(path) {
                mismatches.push(format!(
                    "{patterns:?} on {path:?}: git says {}",
                    git_says.contains(path)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn files_under(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let child = rel.join(entry.file_name());
            if child.as_os_str() == ".git" {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(child);
            } else {
                out.insert(child.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The example layout from DESIGN §3: `.gitignore` = `build/ node_modules/ other/ .env`.
fn example_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            (".gitignore", "build/\nnode_modules/\nother/\n.env\n"),
            ("src/tracked.js", "tracked\n"),
        ],
        "layout",
    );
    for f in [
        ".env",
        "build/.env",
        "build/sub/x.o",
        "build/sub/.env",
        "node_modules/pkg/index.js",
        "node_modules/pkg/lib/a.js",
        "node_modules/other/b.js",
        "other/.env",
        "other/x.js",
        "src/.env",
    ] {
        repo.write(f, &format!("{f}\n"));
    }
    repo
}

fn copied_by_git_session(repo: &TestRepo, name: &str, include: &str) -> BTreeSet<String> {
    repo.write(".worktreeinclude", include);
    let path = repo.new_session(name);
    let tracked: BTreeSet<String> = repo
        .git_in(&path, &["ls-files"])
        .lines()
        .map(str::to_owned)
        .collect();
    files_under(&path).difference(&tracked).cloned().collect()
}

#[test]
fn copies_what_claude_code_copies_for_the_documented_cases() {
    let repo = example_repo();
    let cases: &[(&str, &[&str])] = &[
        ("build/.env\n", &["build/.env"]),
        ("build/**/*.o\n", &["build/sub/x.o"]),
        (
            "build/*\n",
            &["build/.env", "build/sub/.env", "build/sub/x.o"],
        ),
        (
            "build\n",
            &["build/.env", "build/sub/.env", "build/sub/x.o"],
        ),
        (
            "node_modules/pkg/\n",
            &["node_modules/pkg/index.js", "node_modules/pkg/lib/a.js"],
        ),
        (".env\n**/.env\n*.js\n", &[".env", "src/.env"]),
        (
            "build/.env\n**/.env\n",
            &[".env", "build/.env", "build/sub/.env", "src/.env"],
        ),
    ];
    for (i, (include, expected)) in cases.iter().enumerate() {
        let got = copied_by_git_session(&repo, &format!("case{i}"), include);
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, expected, "for .worktreeinclude {include:?}");
    }
}

#[test]
fn keeps_modes_and_symlinks_and_never_leaves_the_repository() {
    let repo = TestRepo::new();
    let outside = repo.home.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "outside\n").unwrap();
    repo.write(".gitignore", "bin/\nlinks/\n.env\nforced.txt\nescape\n");
    repo.write("forced.txt", "tracked despite .gitignore\n");
    repo.git(&["add", "-A"]);
    repo.git(&["add", "-f", "forced.txt"]);
    repo.git(&["commit", "-q", "-m", "layout"]);
    repo.write("bin/tool", "#!/bin/sh\n");
    std::fs::set_permissions(
        repo.root.join("bin/tool"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.write("links/real.txt", "real\n");
    std::os::unix::fs::symlink("real.txt", repo.root.join("links/relative")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), repo.root.join("links/out-file")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.root.join("escape")).unwrap();
    repo.write(".env", "SECRET=1\n");
    repo.write(
        ".worktreeinclude",
        "bin/\nlinks/\n.env\nforced.txt\nescape\nescape/secret\n../outside/secret\n/../../outside\n",
    );
    let path = repo.new_session("modes");
    let tool = std::fs::metadata(path.join("bin/tool")).unwrap();
    assert_eq!(
        tool.permissions().mode() & 0o777,
        0o755,
        "the exec bit is kept"
    );
    assert_eq!(
        std::fs::read_link(path.join("links/relative")).unwrap(),
        Path::new("real.txt")
    );
    assert_eq!(
        std::fs::read_link(path.join("links/out-file")).unwrap(),
        outside.join("secret"),
        "a link stays a link"
    );
    assert_eq!(
        std::fs::read_link(path.join("escape")).unwrap(),
        outside,
        "a linked directory is not entered"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("forced.txt")).unwrap(),
        "tracked despite .gitignore\n"
    );
    assert_eq!(
        repo.git_in(&path, &["status", "--porcelain"]),
        "",
        "tracked files are never overwritten"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing was written outside"
    );
    assert!(!repo.home.join("outside/secret.orig").exists());
    // --no-include copies nothing.
    let bare = repo
        .session(&["new", "--head", "--no-include", "bare"])
        .ok();
    assert!(!Path::new(bare.line()).join(".env").exists());
}

/// Optional: compares with Claude Code's own copy when its CLI is installed (`.ci/run`
/// installs it from npm; set CLAUDE_CODE_BIN or put `claude` on PATH).
#[test]
fn copy_equals_claude_codes_own() {
    let claude = std::env::var_os("CLAUDE_CODE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("claude"))
                    .find(|c| c.is_file())
            })
        });
    let Some(claude) = claude else {
        eprintln!("skipped: Claude Code's CLI is not installed");
        return;
    };
    let repo = example_repo();
    for (i, include) in [
        "build/.env\n**/.env\n",
        "build/*\nnode_modules/pkg/\n",
        ".env\n**/.env\n*.js\nbuild/**/*.o\n",
    ]
    .iter()
    .enumerate()
    {
        let ours = copied_by_git_session(&repo, &format!("ours{i}"), include);
        let out = repo.cmd_in(
            &repo.root,
            claude.to_str().unwrap(),
            &["--worktree", &format!("cc{i}"), "-p", "hi"],
        );
        let theirs_root = repo.root.join(format!(".claude/worktrees/cc{i}"));
        assert!(
            theirs_root.is_dir(),
            "claude did not create its worktree: {}",
            out.stderr
        );
        let tracked: BTreeSet<String> = repo
            .git_in(&theirs_root, &["ls-files"])
            .lines()
            .map(str::to_owned)
            .collect();
        let theirs: BTreeSet<String> = files_under(&theirs_root)
            .difference(&tracked)
            .cloned()
            .collect();
        assert_eq!(ours, theirs, "for .worktreeinclude {include:?}");
    }
}

#[test]
fn fifos_and_other_worktrees_are_never_copied() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            (".gitignore", "build/\n.env\n"),
            (".worktreeinclude", "build/*\n.*\n"),
        ],
        "includes",
    );
    write_file(&repo.root.join("build/x"), "x\n");
    write_file(&repo.root.join(".env"), "SECRET=1\n");
    let fifo = repo.root.join("build/pipe");
    let made = repo.cmd_in(&repo.root, "mkfifo", &[fifo.to_str().unwrap()]);
    assert_eq!(made.code, 0);
    // Would block forever opening the fifo.
    let a = repo.new_session("a");
    assert!(a.join("build/x").exists() && !a.join("build/pipe").exists());
    write_file(&a.join("wip.txt"), "a's work\n");
    // Session a's worktree now sits inside the main worktree where `.*` matches nothing new,
    // but under another worktreeDir it is an ignored directory like any other.
    repo.git(&["config", "session.worktreeDir", "wt2"]);
    let b = repo.new_session("b");
    assert!(b.join(".env").exists());
    assert!(
        !b.join(".worktrees/a").exists(),
        "another session's worktree was copied"
    );
}

#[test]
fn staging_left_by_a_killed_new_is_removed_a_day_later() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[(".gitignore", ".env\n"), (".worktreeinclude", ".env\n")],
        "includes",
    );
    write_file(&repo.root.join(".env"), "SECRET=1\n");
    let old = repo.root.join(".worktrees/.git-session-include-old");
    let fresh = repo.root.join(".worktrees/.git-session-include-fresh");
    write_file(&old.join(".env"), "SECRET=1\n");
    write_file(&fresh.join(".env"), "SECRET=1\n");
    let aged = repo.cmd_in(
        &repo.root,
        "touch",
        &["-d", "2 days ago", old.to_str().unwrap()],
    );
    assert_eq!(aged.code, 0);
    repo.new_session("after");
    assert!(!old.exists());
    assert!(fresh.exists(), "a running new's staging is left alone");
}
