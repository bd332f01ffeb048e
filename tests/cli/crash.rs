//! Crash safety, proven by fault injection: for every step of each command (the steps a
//! debug build reports through `GIT_SESSION_FAULT_TRACE`), the process is aborted there (as
//! `kill -9` would), `doctor --fix` runs, and then every byte of work that existed before is
//! still reachable (from a ref, or on disk where it was), `list` works, and running the
//! command again completes it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::{BIN, TestRepo, write_file};

/// A command to crash, on a repository set up for it.
struct Scenario {
    name: &'static str,
    /// Builds the repository (and a remote, when the command needs one).
    setup: fn() -> Setup,
    args: &'static [&'static str],
    /// Whether the command's work is done (after a rerun if it was needed).
    done: fn(&Setup) -> bool,
}

struct Setup {
    repo: TestRepo,
    /// Another clone, for take-up and fetch.
    other: Option<TestRepo>,
    /// Where the command runs.
    dir: PathBuf,
    _bare: Option<PathBuf>,
    /// What `{ckpt}` in the arguments stands for.
    ckpt: String,
}

impl Setup {
    fn at(&self) -> &TestRepo {
        self.other.as_ref().unwrap_or(&self.repo)
    }
}

fn dirty(repo: &TestRepo, name: &str) -> PathBuf {
    let wt = repo.new_session(name);
    write_file(&wt.join("README.md"), "hello\nchanged\n");
    write_file(&wt.join("new dir/new.txt"), "new file\n");
    write_file(&wt.join("staged.txt"), "staged\n");
    repo.git_in(&wt, &["add", "staged.txt"]);
    wt
}

fn plain() -> Setup {
    let repo = TestRepo::new();
    let dir = repo.root.clone();
    Setup {
        repo,
        other: None,
        dir,
        _bare: None,
        ckpt: String::new(),
    }
}

fn with_dirty_s() -> Setup {
    let setup = plain();
    dirty(&setup.repo, "s");
    setup
}

fn dirty_and_clean() -> Setup {
    let setup = with_dirty_s();
    setup.repo.new_session("c");
    setup
}

fn with_ended_s() -> Setup {
    let setup = with_dirty_s();
    setup.repo.session(&["end", "s", "--remove"]).ok();
    setup
}

fn dirty_s_behind() -> Setup {
    let setup = with_dirty_s();
    setup
        .repo
        .commit_files(&[("main-only.txt", "main moved\n")], "main moves");
    setup
}

fn with_checkpoints() -> Setup {
    let mut setup = with_dirty_s();
    setup.ckpt = setup
        .repo
        .session(&["checkpoint", "s"])
        .ok()
        .line()
        .to_owned();
    write_file(&setup.repo.root.join(".worktrees/s/later.txt"), "later\n");
    setup
}

fn with_remote() -> Setup {
    let repo = TestRepo::new();
    let bare = repo.home.join("remote.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    dirty(&repo, "s");
    let dir = repo.root.clone();
    Setup {
        repo,
        other: None,
        dir,
        _bare: Some(bare),
        ckpt: String::new(),
    }
}

fn pushed_elsewhere() -> Setup {
    let mut setup = with_remote();
    setup.repo.session(&["push", "origin", "s"]).ok();
    let other = TestRepo::empty();
    let bare = setup._bare.clone().unwrap();
    other.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    other.git(&["fetch", "-q", "origin"]);
    other.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    setup.dir = other.root.clone();
    setup.other = Some(other);
    setup
}

fn fetched_elsewhere() -> Setup {
    let setup = pushed_elsewhere();
    setup.at().session(&["fetch"]).ok();
    setup
}

fn status(repo: &TestRepo, wt: &Path) -> Option<String> {
    if !wt.is_dir() {
        return None;
    }
    let out = repo.cmd_in(
        wt,
        "git",
        &["status", "--porcelain=v1", "--untracked-files=all"],
    );
    (out.code == 0).then_some(out.stdout)
}

fn has_session(repo: &TestRepo, name: &str) -> bool {
    repo.has_ref(&repo.root, &format!("refs/sessions/{name}"))
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "new",
        setup: plain,
        args: &["new", "--head", "x"],
        done: |s| {
            has_session(&s.repo, "x")
                && status(&s.repo, &s.repo.root.join(".worktrees/x")).as_deref() == Some("")
        },
    },
    Scenario {
        name: "fork",
        setup: with_dirty_s,
        args: &["fork", "s", "f"],
        done: |s| {
            let a = status(&s.repo, &s.repo.root.join(".worktrees/s"));
            has_session(&s.repo, "f") && status(&s.repo, &s.repo.root.join(".worktrees/f")) == a
        },
    },
    Scenario {
        name: "resume",
        setup: with_ended_s,
        args: &["resume", "s"],
        done: |s| {
            status(&s.repo, &s.repo.root.join(".worktrees/s"))
                .is_some_and(|st| st.contains("new dir/new.txt") && st.contains("A  staged.txt"))
        },
    },
    Scenario {
        name: "take-up",
        setup: fetched_elsewhere,
        args: &["resume", "s"],
        done: |s| {
            status(s.at(), &s.at().root.join(".worktrees/s"))
                .is_some_and(|st| st.contains("new dir/new.txt"))
        },
    },
    Scenario {
        name: "end --remove",
        setup: with_dirty_s,
        args: &["end", "s", "--remove"],
        done: |s| !s.repo.root.join(".worktrees/s").exists(),
    },
    Scenario {
        name: "rm --force",
        setup: with_dirty_s,
        args: &["rm", "--force", "s"],
        done: |s| !has_session(&s.repo, "s") && !s.repo.root.join(".worktrees/s").exists(),
    },
    Scenario {
        name: "gc",
        setup: dirty_and_clean,
        args: &["gc", "--older-than", "0s"],
        done: |s| {
            s.repo
                .session(&["gc", "--older-than", "0s", "--dry-run"])
                .code
                == 0
        },
    },
    Scenario {
        name: "rewind",
        setup: with_checkpoints,
        args: &["rewind", "{ckpt}", "s"],
        done: |s| !s.repo.root.join(".worktrees/s/later.txt").exists(),
    },
    Scenario {
        name: "sync",
        setup: dirty_s_behind,
        args: &["sync", "s"],
        done: |s| {
            let wt = s.repo.root.join(".worktrees/s");
            wt.join("main-only.txt").exists()
                && status(&s.repo, &wt).is_some_and(|st| st.contains("new dir/new.txt"))
        },
    },
    Scenario {
        name: "rename",
        setup: with_dirty_s,
        args: &["rename", "s", "t"],
        done: |s| {
            has_session(&s.repo, "t")
                && !has_session(&s.repo, "s")
                && status(&s.repo, &s.repo.root.join(".worktrees/t"))
                    .is_some_and(|st| st.contains("new dir/new.txt"))
        },
    },
    Scenario {
        name: "push",
        setup: with_remote,
        args: &["push", "origin", "s"],
        done: |s| s.repo.has_ref(s._bare.as_ref().unwrap(), "refs/sessions/s"),
    },
    Scenario {
        name: "fetch",
        setup: pushed_elsewhere,
        args: &["fetch"],
        done: |s| {
            s.at()
                .has_ref(&s.at().root, "refs/remote-sessions/origin/s")
        },
    },
    Scenario {
        name: "undo",
        setup: with_ended_s,
        args: &["undo"],
        done: |s| {
            status(&s.repo, &s.repo.root.join(".worktrees/s"))
                .is_some_and(|st| st.contains("new dir/new.txt"))
        },
    },
];

/// Every uncommitted file in the session worktrees: (where, its blob id).
fn work(repo: &TestRepo) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(repo.root.join(".worktrees")) else {
        return out;
    };
    for entry in entries.flatten() {
        let wt = entry.path();
        let Some(st) = status(repo, &wt) else {
            continue;
        };
        for line in st.lines() {
            let path = line[3..].trim_matches('"');
            let file = wt.join(path);
            if file.is_file() {
                let blob = repo.git(&["hash-object", file.to_str().unwrap()]);
                out.push((file, blob));
            }
        }
    }
    out
}

fn reachable_blobs(repo: &TestRepo) -> BTreeSet<String> {
    repo.git(&["rev-list", "--objects", "--all"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn run(setup: &Setup, args: &[&str], env: &[(&str, &str)]) -> crate::support::Out {
    let mut script = String::new();
    for (k, v) in env {
        script.push_str(&format!("{k}='{v}' "));
    }
    script.push_str(&format!("'{BIN}'"));
    for a in args {
        script.push_str(&format!(" '{}'", a.replace("{ckpt}", &setup.ckpt)));
    }
    setup.at().cmd_in(&setup.dir, "sh", &["-c", &script])
}

fn crash_everywhere(scenario: &Scenario) {
    // The steps this command passes.
    let learn = (scenario.setup)();
    let trace = learn.repo.home.join("trace");
    let out = run(
        &learn,
        scenario.args,
        &[("GIT_SESSION_FAULT_TRACE", trace.to_str().unwrap())],
    );
    assert_eq!(out.code, 0, "{}: {}", scenario.name, out.stderr);
    let steps: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!steps.is_empty(), "{}: no steps traced", scenario.name);
    for step in steps {
        let setup = (scenario.setup)();
        let before = work(setup.at());
        let out = run(&setup, scenario.args, &[("GIT_SESSION_FAULT", &step)]);
        let context = format!("{} killed at {step}", scenario.name);
        assert_ne!(out.code, 0, "{context}: it was not killed");
        let doctor = setup.at().session(&["doctor", "--fix"]);
        assert!(
            doctor.code == 0 || doctor.code == 1,
            "{context}: doctor: {}",
            doctor.stderr
        );
        assert!(
            !doctor.stderr.contains("panicked"),
            "{context}: {}",
            doctor.stderr
        );
        let reachable = reachable_blobs(setup.at());
        for (file, blob) in &before {
            // Where it was, or in a worktree moved since (a rename).
            let worktrees = setup.at().root.join(".worktrees");
            let rel: PathBuf = file
                .strip_prefix(&worktrees)
                .map(|r| r.components().skip(1).collect())
                .unwrap_or_default();
            let candidates = std::fs::read_dir(&worktrees)
                .map(|d| d.flatten().map(|e| e.path().join(&rel)).collect::<Vec<_>>())
                .unwrap_or_default();
            let on_disk = candidates.iter().any(|f| {
                f.is_file() && setup.at().git(&["hash-object", f.to_str().unwrap()]) == *blob
            });
            assert!(
                on_disk || reachable.contains(blob),
                "{context}: the work in {} is lost",
                file.display()
            );
        }
        let list = setup.at().session(&["list", "--all"]);
        assert_eq!(list.code, 0, "{context}: list: {}", list.stderr);
        if !(scenario.done)(&setup) {
            let again = run(&setup, scenario.args, &[]);
            assert_eq!(again.code, 0, "{context}: run again: {}", again.stderr);
            assert!(
                (scenario.done)(&setup),
                "{context}: run again did not complete it"
            );
        }
    }
}

#[test]
fn every_step_of_every_command_survives_a_crash() {
    let only = std::env::var("CRASH_SCENARIO").ok();
    for scenario in SCENARIOS {
        if only.as_deref().is_some_and(|o| o != scenario.name) {
            continue;
        }
        crash_everywhere(scenario);
    }
}

/// `end s --remove` killed right after it moved the worktree aside: where it is now.
fn killed_after_moving_aside(setup: &Setup) -> PathBuf {
    let out = run(
        setup,
        &["end", "s", "--remove"],
        &[("GIT_SESSION_FAULT", "persisted")],
    );
    assert_ne!(out.code, 0, "the fault point was reached: {}", out.stderr);
    let mut entries = std::fs::read_dir(setup.repo.root.join(".worktrees"))
        .unwrap()
        .flatten()
        .map(|e| e.path());
    let aside = entries.next().expect("moved aside");
    assert!(entries.next().is_none(), "only the one moved aside");
    aside
}

/// What the sessions' directory holds, by name.
fn in_worktree_dir(repo: &TestRepo) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(repo.root.join(".worktrees"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect()
}

/// As `git worktree remove` leaves a worktree part-way: the marker written before it began
/// in its administrative directory (its `.git` file still there).
fn mark_removal_begun(aside: &Path) {
    let admin = std::fs::read_to_string(aside.join(".git")).unwrap();
    let admin = PathBuf::from(admin.trim().strip_prefix("gitdir: ").unwrap());
    std::fs::write(admin.join("git-session-removing"), "").unwrap();
}

/// A removal killed after it moved the worktree aside: the next `end` puts it back before
/// judging, removes it from where it belongs, and `undo` brings it back there, work and all.
#[test]
fn a_removal_killed_after_moving_the_worktree_aside_is_finished_where_it_belongs() {
    let setup = with_dirty_s();
    let repo = &setup.repo;
    killed_after_moving_aside(&setup);
    let wt = repo.root.join(".worktrees/s");
    assert!(!wt.exists(), "moved aside before the crash");
    repo.session(&["end", "s", "--remove"]).ok();
    let hidden = in_worktree_dir(repo);
    assert!(hidden.is_empty(), "nothing left aside: {hidden:?}");
    let undo = repo.session(&["undo"]).ok();
    assert!(
        undo.stderr.contains(".worktrees/s"),
        "brought back where it belongs: {}",
        undo.stderr
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("README.md")).unwrap(),
        "hello\nchanged\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("new dir/new.txt")).unwrap(),
        "new file\n"
    );
}

/// A removal killed while git was deleting the worktree it had moved aside (its `.git` file
/// already gone): what is left is never taken for the session's worktree (git run there
/// would act on the main worktree around it); doctor deletes it, and `end` finishes.
#[test]
fn a_removal_killed_while_deleting_never_lets_a_command_act_on_the_main_worktree() {
    let setup = with_dirty_s();
    let repo = &setup.repo;
    write_file(&repo.root.join("main-work.txt"), "main\n");
    let aside = [killed_after_moving_aside(&setup)];
    std::fs::remove_file(aside[0].join(".git")).unwrap();
    let main_status = || repo.git(&["status", "--porcelain"]);
    let before = main_status();
    let list = repo.session(&["list", "--json"]).ok();
    assert!(
        !list.stdout.contains(".removing-"),
        "never recorded as its worktree: {}",
        list.stdout
    );
    repo.session(&["checkpoint", "s"]);
    repo.session(&["rewind", "@", "s"]);
    assert_eq!(main_status(), before, "the main worktree untouched");
    let doctor = repo.session(&["doctor"]);
    assert!(
        doctor.stdout.contains("interrupted-removal") && !doctor.stdout.contains("moved-worktree"),
        "{}",
        doctor.stdout
    );
    repo.session(&["doctor", "--fix"]);
    assert!(!aside[0].exists(), "what was left is deleted");
    repo.session(&["end", "s", "--remove"]).ok();
    assert_eq!(main_status(), before, "the main worktree untouched");
    assert_eq!(
        std::fs::read_to_string(repo.root.join("main-work.txt")).unwrap(),
        "main\n"
    );
}

/// A rewind killed while it writes the files leaves a half-rewound worktree: `doctor` says so,
/// no checkpoint records the half-made state as the latest, and `doctor --fix` finishes the
/// rewind (the state before it is still the checkpoint the rewind took first).
#[test]
fn a_rewind_killed_while_writing_files_is_reported_and_finished() {
    let setup = with_checkpoints();
    let repo = &setup.repo;
    let wt = repo.root.join(".worktrees/s");
    write_file(&wt.join("later.txt"), "after the checkpoint\n");
    let out = run(
        &setup,
        &["rewind", "{ckpt}", "s"],
        &[("GIT_SESSION_FAULT", "restoring-files")],
    );
    assert_ne!(out.code, 0, "the fault point was reached: {}", out.stderr);
    let doctor = repo.session(&["doctor", "--json"]);
    assert!(
        doctor
            .stdout
            .contains("putting a checkpoint into its worktree was interrupted"),
        "{}",
        doctor.stdout
    );
    let refused = repo.session(&["checkpoint", "s"]).fails();
    assert!(refused.stderr.contains("interrupted"), "{}", refused.stderr);
    // A temporary pack a killed capture left a day ago is reported and removed; one being
    // written now is not.
    let pack_dir = repo.root.join(".git/objects/pack");
    let (old, new) = (pack_dir.join("tmp_pack_old"), pack_dir.join("tmp_pack_new"));
    for file in [&old, &new] {
        write_file(file, "PACK");
    }
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
    let doctor = repo.session(&["doctor"]);
    assert!(doctor.stdout.contains("tmp_pack_old"), "{}", doctor.stdout);
    assert!(!doctor.stdout.contains("tmp_pack_new"), "{}", doctor.stdout);
    repo.session(&["doctor", "--fix"]).ok();
    assert!(!old.exists() && new.exists());
    assert!(!wt.join("later.txt").exists(), "the rewind finished");
    let log = repo.session(&["log", "s"]).ok().stdout;
    assert!(log.contains("pre-rewind"), "{log}");
    repo.session(&["doctor"]).ok();
}

/// A removal killed while git deleted the worktree, its `.git` file not deleted yet: the
/// marker written before the deletion tells it from a whole one. `doctor --fix` salvages
/// what is left that differs from the branch (a write after the removal's checkpoint
/// included) and deletes the rest; the session's latest checkpoint is not a tree of
/// deletions, and `end` finishes.
#[test]
fn a_removal_killed_with_the_git_file_still_there_is_salvaged_not_put_back() {
    let setup = with_dirty_s();
    let repo = &setup.repo;
    let aside = killed_after_moving_aside(&setup);
    // As `git worktree remove` would leave it part-way: README.md deleted, a file written
    // after the checkpoint still there.
    mark_removal_begun(&aside);
    std::fs::remove_file(aside.join("README.md")).unwrap();
    write_file(&aside.join("late.txt"), "written after the checkpoint\n");
    let doctor = repo.session(&["doctor"]);
    assert!(
        doctor.stdout.contains("killed while deleting its worktree"),
        "{}",
        doctor.stdout
    );
    repo.session(&["doctor", "--fix"]).ok();
    assert!(!aside.exists(), "what was left is gone");
    assert!(!repo.root.join(".worktrees/s").exists(), "not put back");
    let log = repo.session(&["log", "s", "--json"]).ok().json();
    let salvaged = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "salvaged")
        .unwrap_or_else(|| panic!("a salvaged event: {log:#}"));
    let id = salvaged["checkpoint"].as_str().unwrap();
    assert_eq!(
        repo.git(&["show", &format!("{id}:late.txt")]),
        "written after the checkpoint"
    );
    repo.session(&["end", "s", "--remove"]).ok();
    repo.session(&["doctor"]).ok();
}

/// Left aside by a killed removal, a worktree is nobody's until it is put back: `list` does
/// not show it as the session's, `checkpoint` finds no worktree, and `resume` puts a whole
/// one back where it belongs, or salvages a half-deleted one and makes the worktree again.
#[test]
fn commands_never_take_a_worktree_left_aside_and_resume_puts_it_back() {
    for half_deleted in [false, true] {
        let setup = with_dirty_s();
        let repo = &setup.repo;
        let aside = killed_after_moving_aside(&setup);
        if half_deleted {
            mark_removal_begun(&aside);
            std::fs::remove_file(aside.join("staged.txt")).unwrap();
        }
        let list = repo.session(&["list", "--json"]).ok();
        assert!(!list.stdout.contains(".removing-"), "{}", list.stdout);
        let refused = repo.session(&["checkpoint", "s"]).fails();
        assert!(refused.stderr.contains("no worktree"), "{}", refused.stderr);
        let resumed = repo.session(&["resume", "s"]).ok();
        let wt = repo.root.join(".worktrees/s");
        assert_eq!(
            std::path::Path::new(resumed.line()).canonicalize().unwrap(),
            wt.canonicalize().unwrap(),
            "{}",
            resumed.stderr
        );
        assert!(
            !aside.exists(),
            "half deleted {half_deleted}: nothing left aside"
        );
        assert_eq!(
            std::fs::read_to_string(wt.join("new dir/new.txt")).unwrap(),
            "new file\n",
            "half deleted {half_deleted}"
        );
        assert_eq!(
            std::fs::read_to_string(wt.join("staged.txt")).unwrap(),
            "staged\n",
            "half deleted {half_deleted}: made again from the checkpoint"
        );
    }
}

/// A session with a checkpoint, whose rewind to it was killed while it wrote the files.
fn rewind_killed_while_writing_files() -> Setup {
    let setup = with_checkpoints();
    let out = run(
        &setup,
        &["rewind", "{ckpt}", "s"],
        &[("GIT_SESSION_FAULT", "restoring-files")],
    );
    assert_ne!(out.code, 0, "the fault point was reached: {}", out.stderr);
    setup
}

/// `end` of a half-rewound worktree says to finish the rewind first; once finished, the
/// worktree goes and nothing is left pending: `doctor --fix` does not bring it back.
#[test]
fn removing_a_half_rewound_worktree_leaves_nothing_pending() {
    let setup = rewind_killed_while_writing_files();
    let repo = &setup.repo;
    let refused = repo.session(&["end", "s", "--remove"]).fails();
    assert!(
        refused
            .stderr
            .contains("`git session resume s` finishes it"),
        "{}",
        refused.stderr
    );
    repo.session(&["resume", "s"]).ok();
    repo.session(&["end", "s", "--remove"]).ok();
    let doctor = repo.session(&["doctor", "--fix"]).ok();
    assert!(!doctor.stdout.contains("interrupted"), "{}", doctor.stdout);
    assert!(!repo.root.join(".worktrees/s").exists());
}

/// A repair doctor cannot finish (a rebase stopped in the half-rewound worktree) is said on
/// its line, and doctor's other repairs still run.
#[test]
fn a_repair_doctor_cannot_finish_is_said_and_the_rest_still_run() {
    let setup = rewind_killed_while_writing_files();
    let repo = &setup.repo;
    let git_dir = PathBuf::from(repo.git_in(
        &repo.root.join(".worktrees/s"),
        &["rev-parse", "--absolute-git-dir"],
    ));
    std::fs::create_dir_all(git_dir.join("rebase-merge")).unwrap();
    std::fs::write(
        git_dir.join("rebase-merge/head-name"),
        "refs/heads/session/s\n",
    )
    .unwrap();
    // Another thing to repair: a ref lock a killed process left, a minute old.
    let lock = repo.root.join(".git/refs/sessions/gone.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::File::options()
        .append(true)
        .open(&lock)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
    let doctor = repo.session(&["doctor", "--fix"]).fails();
    assert!(
        doctor
            .stdout
            .contains("could not be finished: rebase is in progress"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("fixed  stale-lock"),
        "{}",
        doctor.stdout
    );
    assert!(!lock.exists());
}

/// A worktree the user moved (`git worktree move`), then a removal killed after moving it
/// aside: the leftover is found by its branch, not only beside the recorded place, and
/// the next `end` finishes the removal.
#[test]
fn a_leftover_of_a_moved_worktree_is_found_by_its_branch() {
    let setup = with_dirty_s();
    let repo = &setup.repo;
    let moved = repo.root.join(".worktrees/moved");
    repo.git(&[
        "worktree",
        "move",
        repo.root.join(".worktrees/s").to_str().unwrap(),
        moved.to_str().unwrap(),
    ]);
    let aside = killed_after_moving_aside(&setup);
    assert!(
        aside
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".moved.removing-"),
        "{aside:?}"
    );
    let doctor = repo.session(&["doctor"]);
    assert!(
        doctor.stdout.contains("interrupted-removal"),
        "{}",
        doctor.stdout
    );
    // One repair puts it back where it came from and records it there.
    repo.session(&["doctor", "--fix"]).ok();
    assert!(moved.join("README.md").exists());
    repo.session(&["doctor"]).ok();
    repo.session(&["end", "s", "--remove"]).ok();
    let left = in_worktree_dir(repo);
    assert!(left.is_empty(), "nothing left: {left:?}");
    let log = repo.session(&["log", "s"]).ok().stdout;
    assert!(log.contains("checkpoint"), "the work is in the log: {log}");
}

/// A sync killed with the work out: running it again says to finish first (and puts the
/// worktree back where it belongs); when instead the worktree it left aside is removed by
/// hand, making the worktree again puts the session back as it was before the sync, its
/// uncommitted work included.
#[test]
fn a_sync_killed_with_the_work_out_is_finished_before_anything_else() {
    for by_hand in [false, true] {
        let setup = dirty_s_behind();
        let repo = &setup.repo;
        let out = run(
            &setup,
            &["sync", "s"],
            &[("GIT_SESSION_FAULT", "sync-integrated")],
        );
        assert_ne!(out.code, 0, "the fault point was reached: {}", out.stderr);
        if by_hand {
            // git's own command, as the user might; the work is in the sync's first
            // checkpoint.
            let aside = in_worktree_dir(repo)
                .into_iter()
                .find(|n| n.to_string_lossy().starts_with(".s.removing-"))
                .expect("left aside");
            repo.git(&[
                "worktree",
                "remove",
                "--force",
                repo.root.join(".worktrees").join(aside).to_str().unwrap(),
            ]);
        } else {
            let again = repo.session(&["sync", "s"]).fails();
            assert!(
                again.stdout.contains("resume s` finishes it"),
                "{}",
                again.stdout
            );
        }
        repo.session(&["doctor", "--fix"]).ok();
        let wt = repo.root.join(".worktrees/s");
        assert_eq!(
            std::fs::read_to_string(wt.join("new dir/new.txt")).unwrap(),
            "new file\n",
            "by hand {by_hand}"
        );
        assert_eq!(
            std::fs::read_to_string(wt.join("README.md")).unwrap(),
            "hello\nchanged\n",
            "by hand {by_hand}"
        );
        assert!(
            in_worktree_dir(repo).iter().all(|n| n == "s"),
            "by hand {by_hand}"
        );
        repo.session(&["doctor"]).ok();
        repo.session(&["sync", "s"]).ok();
        assert!(wt.join("main-only.txt").exists(), "synced after all");
    }
}
