//! Racing processes, with the transaction in place: whoever loses exits 1 and changes
//! nothing, and nothing anyone recorded or committed goes missing.

use crate::support::{TestRepo, write_file};

fn op_commands(repo: &TestRepo) -> Vec<String> {
    let log = repo
        .session(&["op", "log", "--json", "-n", "100"])
        .ok()
        .json();
    log.as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap().to_owned())
        .collect()
}

/// Eight `new` of different names and four of one name at once: the eight and exactly one
/// of the four make it, each with one operation; the three others exit 1 and leave no trace.
/// Then four checkpoints of one session at once: every id printed is in its log.
#[test]
fn parallel_news_and_checkpoints() {
    let repo = TestRepo::new();
    let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    let outcomes: Vec<(String, i32)> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(String::as_str)
            .chain(["same"; 4])
            .map(|name| {
                let repo = &repo;
                s.spawn(move || (name.to_owned(), repo.session(&["new", "--head", name]).code))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, code) in &outcomes {
        if name != "same" {
            assert_eq!(*code, 0, "new {name}");
        }
    }
    let mut same: Vec<i32> = outcomes
        .iter()
        .filter(|(n, _)| n == "same")
        .map(|(_, c)| *c)
        .collect();
    same.sort_unstable();
    assert_eq!(same, [0, 1, 1, 1]);
    let mut made = op_commands(&repo);
    made.sort();
    let mut want: Vec<String> = names
        .iter()
        .map(String::as_str)
        .chain(["same"])
        .map(|n| format!("new --head {n}"))
        .collect();
    want.sort();
    assert_eq!(made, want);
    assert_eq!(repo.events("same").len(), 1);
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 10);

    let wt = repo.root.join(".worktrees/same");
    let printed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (repo, wt) = (&repo, &wt);
                s.spawn(move || {
                    write_file(&wt.join(format!("agent-{i}.txt")), "work\n");
                    repo.session_in(wt, &["checkpoint"]).ok().line().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let logged = repo.git(&["log", "--format=%P", "refs/sessions/same"]);
    for id in &printed {
        assert!(
            logged.contains(id.as_str()),
            "checkpoint {id} is not in the log"
        );
    }
    repo.git(&["fsck", "--no-progress"]);
}

/// `gc` deleting old ended sessions while new ones are made: every new one is whole
/// (listed, with its worktree), and gc archived only what it judged.
#[test]
fn gc_racing_new() {
    let repo = TestRepo::new();
    for name in ["old1", "old2", "old3"] {
        repo.new_session(name);
        repo.session(&["end", name, "--remove"]).ok();
    }
    repo.advance(30 * 86_400);
    let fresh = ["n1", "n2", "n3", "n4"];
    std::thread::scope(|s| {
        let repo = &repo;
        s.spawn(move || repo.session(&["gc"]).ok());
        for name in fresh {
            s.spawn(move || repo.session(&["new", "--head", name]).ok());
        }
    });
    let listed = repo.session(&["list", "--all", "--json"]).ok().json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["n1", "n2", "n3", "n4", "old1", "old2", "old3"]);
    for name in ["old1", "old2", "old3"] {
        assert_eq!(repo.meta(name)["status"], "archived", "{name}");
    }
    for name in fresh {
        assert!(
            repo.root
                .join(".worktrees")
                .join(name)
                .join("README.md")
                .exists()
        );
        assert_eq!(repo.events(name).len(), 1);
    }
    repo.git(&["fsck", "--no-progress"]);
}

/// `undo` of the `new` that made a worktree, while an agent commits in it: either the undo
/// goes first (and the commits fail: no worktree), or it keeps the worktree with its work, or
/// it refuses; every commit made stays reachable. Rounds start the agent at different moments
/// of the undo.
#[test]
fn undo_racing_a_commit() {
    let repo = TestRepo::new();
    for (round, delay_ms) in [0, 2, 4, 6, 8, 10, 12].into_iter().enumerate() {
        let name = format!("s{round}");
        let wt = repo.new_session(&name);
        let commits: Vec<String> = std::thread::scope(|s| {
            let (repo, wt) = (&repo, &wt);
            let committer = s.spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                let mut made = Vec::new();
                for i in 0..10 {
                    if !wt.exists() {
                        break;
                    }
                    if std::fs::write(wt.join(format!("c{i}.txt")), "agent work\n").is_err() {
                        break;
                    }
                    let add = repo.cmd_in(wt, "git", &["add", "-A"]);
                    let commit = repo.cmd_in(wt, "git", &["commit", "-qm", &format!("c{i}")]);
                    let head = repo.cmd_in(wt, "git", &["rev-parse", "HEAD"]);
                    if add.code == 0 && commit.code == 0 && head.code == 0 {
                        made.push(head.stdout.trim().to_owned());
                    }
                }
                made
            });
            let undo = repo.session(&["undo"]);
            assert!(undo.code == 0 || undo.code == 1, "{}", undo.stderr);
            committer.join().unwrap()
        });
        for id in &commits {
            let holders = repo.git(&["for-each-ref", "--contains", id, "--format=%(refname)"]);
            assert!(!holders.is_empty(), "commit {id} is reachable from no ref");
        }
        repo.session(&["list", "--json"]).ok();
    }
    repo.git(&["fsck", "--no-progress"]);
}

/// `undo` of a rename while another command records events on the session: the undo either
/// happens whole (name, branch and worktree back) or changes nothing; never half.
#[test]
fn undo_racing_events_is_whole_or_nothing() {
    let repo = TestRepo::new();
    for round in 0..6u64 {
        let (old, new) = (format!("s{round}"), format!("t{round}"));
        repo.new_session(&old);
        repo.session(&["rename", &old, &new]).ok();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let undo = std::thread::scope(|s| {
            let (repo, stop, new) = (&repo, &stop, &new);
            s.spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(round * 4));
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    repo.session(&["context", new, "--append", "note"]);
                }
            });
            let undo = repo.session(&["undo", "--json"]);
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            undo
        });
        let listed = repo.session(&["list", "--json"]).ok().json();
        let row = |name: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .cloned()
        };
        // The undo may take back a context append that finished before it began (the newest
        // operation): then the rename stands, whole.
        let undid_rename = undo.code == 0
            && undo.json()["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("rename"));
        let (name, gone) = if undid_rename {
            (&old, &new)
        } else {
            assert!(
                undo.code == 0
                    || undo.stderr.contains("nothing was changed")
                    || undo.stderr.contains("was changed by another process"),
                "{}",
                undo.stderr
            );
            (&new, &old)
        };
        let row = row(name).unwrap_or_else(|| {
            panic!(
                "{name} missing: {listed}\nundo said: {} {}",
                undo.stdout, undo.stderr
            )
        });
        assert!(row_is_whole(&repo, &row, name), "{row}");
        assert!(!repo.has_ref(&repo.root, &format!("refs/sessions/{gone}")));
    }
}

/// A session row whose worktree is where its name says, on its branch.
fn row_is_whole(repo: &TestRepo, row: &serde_json::Value, name: &str) -> bool {
    let path = repo.root.join(".worktrees").join(name);
    row["worktree"].as_str() == Some(path.to_str().unwrap())
        && repo.git_in(&path, &["rev-parse", "--abbrev-ref", "HEAD"]) == format!("session/{name}")
}
