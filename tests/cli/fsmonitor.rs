//! The monitor-backed scan against the full scan: a randomized differential run against a
//! private watchman server (skipped when watchman is not installed), and a fake monitor that
//! gives wrong, stale and broken answers to prove each fallback.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::support::{TestRepo, write_file};

/// A watchman server of the test's own, on a socket in its directory.
struct Watchman {
    dir: PathBuf,
}

impl Watchman {
    fn start(dir: &Path) -> Option<Watchman> {
        std::fs::create_dir_all(dir).ok()?;
        let server = Watchman {
            dir: dir.to_owned(),
        };
        server.launch().then_some(server)
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("sock")
    }

    fn launch(&self) -> bool {
        let d = &self.dir;
        std::process::Command::new("watchman")
            .arg(format!("--sockname={}", d.join("sock").display()))
            .arg(format!("--statefile={}", d.join("state").display()))
            .arg(format!("--logfile={}", d.join("log").display()))
            .arg(format!("--pidfile={}", d.join("pid").display()))
            .args(["--no-save-state", "get-sockname"])
            .env_remove("WATCHMAN_SOCK")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("watchman")
            .arg(format!("--sockname={}", self.sock().display()))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pid(&self) -> String {
        std::fs::read_to_string(self.dir.join("pid"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn restart(&self) {
        self.cli(&["shutdown-server"]);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(self.launch(), "watchman did not start again");
    }
}

impl Drop for Watchman {
    fn drop(&mut self) {
        // Also dropped when it never started (watchman missing): nothing to stop then.
        let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) else {
            return;
        };
        let _ = std::process::Command::new("kill")
            .args(["-CONT", pid.trim()])
            .status();
        let _ = std::process::Command::new("watchman")
            .arg(format!("--sockname={}", self.sock().display()))
            .arg("shutdown-server")
            .output();
    }
}

/// xorshift64*: a reproducible random sequence from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())].clone())
    }
}

/// Files (and symlinks) and directories below `root`, `.git` left out, relative.
fn walk(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if e.file_name() == ".git" {
                continue;
            }
            let path = rel.join(e.file_name());
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    dirs.push(path.clone());
                    todo.push(path);
                }
                Ok(_) => files.push(path),
                Err(_) => {}
            }
        }
    }
    (files, dirs)
}

/// `fsmonitor verify --json` in `repo`: every worktree's answer must be the full scan's.
/// Returns how many answers came from the monitor, and session s's checkpoint tree.
#[track_caller]
fn verify(repo: &TestRepo, log: &[String]) -> (usize, String) {
    let out = repo.session(&["fsmonitor", "verify", "--json"]);
    let found = out.json();
    let mut monitored = 0;
    let mut tree = String::new();
    for v in found.as_array().unwrap() {
        let agrees = v["only_monitor"].as_array().unwrap().is_empty()
            && v["only_full"].as_array().unwrap().is_empty()
            && v["tree"] == v["monitor_tree"];
        assert!(
            agrees,
            "the monitor disagreed with a full scan after:\n{}\n{v:#}\n{}",
            log.join("\n"),
            out.stderr
        );
        if v["monitored"] == true {
            monitored += 1;
        }
        if v["session"] == "s" {
            tree = v["tree"].as_str().unwrap().to_owned();
        }
    }
    assert_eq!(out.code, 0, "{}", out.stderr);
    (monitored, tree)
}

fn git_ok(repo: &TestRepo, dir: &Path, args: &[&str]) {
    // Some steps may fail (nothing to commit, no parent): what matters is the state after.
    let _ = repo.cmd_in(dir, "git", args);
}

/// One random change to `wt` (a session's worktree) or to the repository, described.
fn step(repo: &TestRepo, wt: &Path, wm: &Watchman, rng: &mut Rng, n: usize) -> String {
    let (files, dirs) = walk(wt);
    let file = rng.pick(&files);
    let dir = rng.pick(&dirs);
    let at = |p: &Path| wt.join(p);
    match rng.below(24) {
        0 | 1 => {
            let Some(f) = file else {
                return "nothing".into();
            };
            let _ = std::fs::OpenOptions::new()
                .append(true)
                .open(at(&f))
                .and_then(|mut h| h.write_all(format!("edit {n}\n").as_bytes()));
            format!("edit {}", f.display())
        }
        2 => {
            // Same size, twice within the second: only the times tell.
            let Some(f) = file else {
                return "nothing".into();
            };
            let Ok(text) = std::fs::read(at(&f)) else {
                return "nothing".into();
            };
            let flipped: Vec<u8> = text
                .iter()
                .map(|b| if *b == b'a' { b'b' } else { b'a' })
                .collect();
            let _ = std::fs::write(at(&f), &flipped);
            verify(
                repo,
                &[format!("same-size rewrite (first) of {}", f.display())],
            );
            let _ = std::fs::write(at(&f), &text);
            format!("same-size rewrites of {}", f.display())
        }
        3 => {
            let Some(f) = file else {
                return "nothing".into();
            };
            if let Ok(h) = std::fs::File::options().write(true).open(at(&f)) {
                let _ = h.set_modified(std::time::SystemTime::now());
            }
            format!("touch {}", f.display())
        }
        4 => {
            let Some(f) = file else {
                return "nothing".into();
            };
            if let Ok(meta) = std::fs::symlink_metadata(at(&f))
                && meta.is_file()
            {
                let mode = meta.permissions().mode() ^ 0o111;
                let _ = std::fs::set_permissions(at(&f), std::fs::Permissions::from_mode(mode));
            }
            format!("chmod {}", f.display())
        }
        5 => {
            let Some(f) = file else {
                return "nothing".into();
            };
            let p = at(&f);
            let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_symlink());
            let _ = std::fs::remove_file(&p);
            if is_link {
                let _ = std::fs::write(&p, format!("was a link {n}\n"));
                format!("symlink -> file {}", f.display())
            } else {
                let _ = std::os::unix::fs::symlink(format!("target-{n}"), &p);
                format!("file -> symlink {}", f.display())
            }
        }
        6 => {
            let Some(d) = dir else {
                return "nothing".into();
            };
            let to = d.with_file_name(format!("moved{n}"));
            let _ = std::fs::rename(at(&d), at(&to));
            if n.is_multiple_of(2) {
                // A symlink to it where it was: git does not follow it to what is below.
                let _ = std::os::unix::fs::symlink(format!("moved{n}"), at(&d));
                return format!(
                    "rename {} -> {}, a symlink to it left",
                    d.display(),
                    to.display()
                );
            }
            format!("rename {} -> {}", d.display(), to.display())
        }
        7 => {
            let base = dir.unwrap_or_default().join(format!("new{n}"));
            for i in 0..3 {
                write_file(&at(&base.join(format!("sub{i}/f{i}.txt"))), "new\n");
                write_file(&at(&base.join(format!("sub{i}/x.log"))), "log\n");
            }
            format!("new tree {}", base.display())
        }
        8 => {
            if rng.below(3) == 0
                && let Some(d) = dir
            {
                let _ = std::fs::remove_dir_all(at(&d));
                return format!("rm -r {}", d.display());
            }
            let Some(f) = file else {
                return "nothing".into();
            };
            let _ = std::fs::remove_file(at(&f));
            format!("rm {}", f.display())
        }
        9 | 10 => {
            // .gitignore edits, at the top or below: ignore more, or un-ignore.
            let place = if rng.below(2) == 0 {
                PathBuf::new()
            } else {
                dir.unwrap_or_default()
            };
            let gi = at(&place.join(".gitignore"));
            let mut lines: Vec<String> = std::fs::read_to_string(&gi)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            let what = if !lines.is_empty() && rng.below(2) == 0 {
                lines.pop();
                "un-ignore"
            } else {
                let pattern = match (rng.below(3), &file) {
                    (0, Some(f)) => f.file_name().unwrap().to_string_lossy().into_owned(),
                    (1, _) => "*.txt".to_owned(),
                    _ => format!("sub{}/", rng.below(3)),
                };
                lines.push(pattern);
                "ignore"
            };
            let _ = std::fs::write(&gi, lines.join("\n") + "\n");
            format!("{what} in {}", gi.display())
        }
        11 => {
            let exclude = repo.root.join(".git/info/exclude");
            let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
            if text.contains("*.log") {
                text = text.replace("*.log\n", "");
            } else {
                text.push_str("*.log\n");
            }
            std::fs::write(&exclude, text).unwrap();
            "info/exclude edit".into()
        }
        12 => {
            git_ok(repo, wt, &["add", "-A"]);
            "git add -A".into()
        }
        13 => {
            git_ok(repo, wt, &["commit", "-qam", &format!("step {n}")]);
            "git commit -am".into()
        }
        14 => {
            let how = ["--mixed", "--soft", "--hard"][rng.below(3)];
            git_ok(repo, wt, &["reset", "-q", how, "HEAD~1"]);
            format!("git reset {how} HEAD~1")
        }
        15 => {
            // HEAD moves, no file and no index entry touched.
            git_ok(repo, wt, &["update-ref", "HEAD", "HEAD~1"]);
            "git update-ref HEAD HEAD~1".into()
        }
        16 => {
            let Some(f) = file else {
                return "nothing".into();
            };
            let f = f.to_string_lossy().into_owned();
            if rng.below(2) == 0 {
                git_ok(repo, wt, &["rm", "-q", "--cached", "--", &f]);
                format!("git rm --cached {f}")
            } else {
                git_ok(repo, wt, &["checkout", "-q", "HEAD", "--", &f]);
                format!("git checkout HEAD -- {f}")
            }
        }
        17 => {
            use std::os::unix::ffi::OsStrExt;
            let bytes = [b'n', 0xff, b'0' + (n % 10) as u8];
            let _ = std::fs::write(wt.join(std::ffi::OsStr::from_bytes(&bytes)), "not UTF-8\n");
            "a file named in bytes that are not UTF-8".into()
        }
        18 => {
            wm.cli(&["watch-del", &wt.to_string_lossy()]);
            "watch-del".into()
        }
        19 => {
            wm.restart();
            "watchman restart".into()
        }
        20 => {
            git_ok(repo, wt, &["checkout", "-q", "-B", &format!("b{n}")]);
            "git checkout -B".into()
        }
        21 => {
            git_ok(repo, wt, &["stash", "-q", "-u"]);
            "git stash -u".into()
        }
        22 => {
            // Attributes decide how every file is hashed: a clean filter on or off for some.
            let d = dir.unwrap_or_default();
            let attributes = at(&d.join(".gitattributes"));
            if attributes.exists() {
                let _ = std::fs::remove_file(&attributes);
                format!("rm {}", d.join(".gitattributes").display())
            } else {
                write_file(&attributes, "*.txt filter=upper\n");
                format!("clean filter on in {}", d.join(".gitattributes").display())
            }
        }
        _ => {
            // A nested repository's HEAD moves: no file of this worktree changes.
            let nested = at(Path::new("nested"));
            // Another step may have left a file or a link by that name.
            if std::fs::symlink_metadata(&nested).is_ok_and(|m| !m.is_dir()) {
                std::fs::remove_file(&nested).unwrap();
            }
            if !nested.join(".git").exists() {
                git_ok(repo, wt, &["init", "-q", "nested"]);
            }
            git_ok(
                repo,
                &nested,
                &[
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    &format!("nested {n}"),
                ],
            );
            "a commit in a nested repository".into()
        }
    }
}

/// Every step of a random mix of edits, renames, ignore-rule changes, index and HEAD moves,
/// watchman restarts, a removed watch and a queue overflow: the monitor's answer is the full
/// scan's, and most answers do come from the monitor.
#[test]
fn the_monitor_agrees_with_a_full_scan_after_every_random_step() {
    let repo = TestRepo::new();
    let Some(wm) = private_watchman(&repo) else {
        return;
    };
    let mut files = Vec::new();
    for d in 0..4 {
        for f in 0..6 {
            files.push((
                format!("d{d}/s{}/f{f}.txt", f % 2),
                format!("file {d} {f}\n"),
            ));
        }
    }
    files.push(("d1/.gitignore".into(), "*.log\n".into()));
    commit_owned(&repo, &files);
    repo.git(&["config", "filter.upper.clean", "tr a-z A-Z"]);
    let wt = repo.new_session("s");
    repo.session(&["fsmonitor", "enable"]).ok();
    let seed = std::env::var("FSMONITOR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let mut log = vec![format!("seed {seed} (FSMONITOR_SEED={seed} repeats it)")];
    // Which checkpoints took the index's tree for the index, and which answers told a new
    // index from the old one's tree (each compared below; how many depends on the steps
    // drawn: `a_checkpoint_takes_the_index_tree_for_an_unchanged_plain_index` proves both).
    let trace = repo.home.join("trace");
    repo.set_env("GIT_SESSION_FAULT_TRACE", &trace.to_string_lossy());
    verify(&repo, &log);
    let (mut monitored, mut answers) = (0, 0);
    let steps = 70;
    for n in 0..steps {
        let did = if n == steps / 2 {
            overflow(&wm, &wt, n)
        } else {
            step(&repo, &wt, &wm, &mut rng, n)
        };
        log.push(format!("{n}: {did}"));
        // A checkpoint (which skips its scan when the monitor says nothing changed since
        // the last one) holds what a full scan sees.
        let taken = repo.session(&["checkpoint", "s"]);
        let (m, full_tree) = verify(&repo, &log);
        if taken.code == 0 {
            let tree = repo.git(&["rev-parse", &format!("{}^{{tree}}", taken.line())]);
            assert_eq!(
                tree.trim(),
                full_tree,
                "the checkpoint after:\n{}",
                log.join("\n")
            );
        }
        monitored += m;
        answers += 2;
    }
    let count = |step: &str| traced(&trace, step);
    let from_tree = count("capture-from-index-tree");
    eprintln!(
        "{monitored} of {answers} answers from the monitor, {} of them after the index changed, \
         {from_tree} of {steps} checkpoints from the index's tree; {}",
        count("monitor-index-moved"),
        log[0]
    );
    // The runs above proved agreement; this proves the monitor was what answered.
    assert!(
        monitored * 3 >= answers,
        "only {monitored} of {answers} answers came from the monitor\n{}",
        log.join("\n")
    );
}

/// The server stopped while 20,000 files change (its event queue overflows), plus a few
/// changes that matter: the next answer is still the full scan's.
fn overflow(wm: &Watchman, wt: &Path, n: usize) -> String {
    let pid = wm.pid();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let burst = wt.join("burst");
    std::fs::create_dir_all(&burst).unwrap();
    for i in 0..20_000 {
        std::fs::write(burst.join(format!("{i}.log")), "x").unwrap();
    }
    write_file(&wt.join(format!("during-overflow-{n}.txt")), "seen?\n");
    let (files, _) = walk(wt);
    if let Some(f) = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "txt"))
    {
        let _ = std::fs::remove_file(wt.join(f));
    }
    std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    std::fs::remove_dir_all(&burst).unwrap();
    "20,000 files while watchman was stopped (queue overflow)".into()
}

/// What the fake monitor answers to a query.
#[derive(Clone)]
enum Reply {
    /// These paths changed.
    Changed(Vec<String>),
    Fresh,
    Recrawled(u64),
    Error,
    /// The root is not watched (the server restarted without its state).
    NotWatched,
    /// No answer for a second (busy crawling), the server answering nothing else meanwhile.
    Hang,
    /// Another server (its pid is not the one in the clocks) that answers after 200 ms,
    /// as a server crawling the roots it restored when it started.
    Restarted,
    /// Nothing changed, said after 200 ms.
    Slow,
    /// Its pid not said for a second (a server stopped).
    HangPid,
    /// Log lines every 50 ms for 1.5 s, then: nothing changed.
    Spam,
    Garbage,
    Close,
}

/// A fake watchman on a unix socket: answers `watch-project`, `clock`, `version`, and
/// queries as told, one connection at a time. Returns the commands it was sent.
fn fake_watchman(sock: &Path, reply: Arc<Mutex<Reply>>) -> Arc<Mutex<Vec<String>>> {
    let listener = UnixListener::bind(sock).unwrap();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    std::thread::spawn(move || {
        let mut tick = 0u64;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let command: serde_json::Value = serde_json::from_str(&line).unwrap();
                log.lock()
                    .unwrap()
                    .push(command[0].as_str().unwrap().to_owned());
                tick += 1;
                let clock = format!("c:1:4242:1:{tick}");
                let answer = match command[0].as_str().unwrap() {
                    "watch-project" => serde_json::json!({"watch": command[1]}),
                    "clock" => serde_json::json!({"clock": clock}),
                    // Its clocks name pid 4242.
                    "get-pid" => match reply.lock().unwrap().clone() {
                        Reply::Restarted => serde_json::json!({"pid": 4243}),
                        Reply::HangPid => {
                            std::thread::sleep(std::time::Duration::from_secs(1));
                            continue;
                        }
                        _ => serde_json::json!({"pid": 4242}),
                    },
                    "query" => match reply.lock().unwrap().clone() {
                        Reply::Changed(paths) => serde_json::json!({
                            "clock": clock, "is_fresh_instance": false,
                            "files": paths.iter().map(|p| serde_json::json!({"name": p, "type": "f", "new": false})).collect::<Vec<_>>()
                        }),
                        Reply::Fresh => {
                            serde_json::json!({"clock": clock, "is_fresh_instance": true, "files": []})
                        }
                        Reply::Recrawled(times) => {
                            let warning = format!(
                                "Recrawled this watch {times} times, most recently because:\nUserDroppedTo resolve, please review the information on"
                            );
                            serde_json::json!({"clock": clock, "is_fresh_instance": false, "files": [], "warning": warning})
                        }
                        Reply::Error => serde_json::json!({"error": "the fake is broken"}),
                        Reply::NotWatched => serde_json::json!({
                            "error": format!("unable to resolve root {0}: directory {0} is not watched", command[1])
                        }),
                        Reply::Hang => {
                            std::thread::sleep(std::time::Duration::from_secs(1));
                            continue;
                        }
                        Reply::HangPid => {
                            serde_json::json!({"clock": clock, "is_fresh_instance": false, "files": []})
                        }
                        Reply::Slow => {
                            std::thread::sleep(std::time::Duration::from_millis(200));
                            serde_json::json!({"clock": clock, "is_fresh_instance": false, "files": []})
                        }
                        Reply::Spam => {
                            for _ in 0..30 {
                                let _ = writer.write_all(b"{\"log\": \"spam\"}\n");
                                std::thread::sleep(std::time::Duration::from_millis(50));
                            }
                            serde_json::json!({"clock": clock, "is_fresh_instance": false, "files": []})
                        }
                        Reply::Restarted => {
                            std::thread::sleep(std::time::Duration::from_millis(200));
                            serde_json::json!({"clock": clock, "is_fresh_instance": true, "files": []})
                        }
                        Reply::Garbage => {
                            let _ = writer.write_all(b"this is not json\n");
                            continue;
                        }
                        Reply::Close => break,
                    },
                    _ => serde_json::json!({"version": "fake"}),
                };
                let _ = writer.write_all(format!("{answer}\n").as_bytes());
            }
        }
    });
    sent
}

/// A repository with `files` committed whose monitor is a fake one answering as told.
fn with_fake_monitor(files: &[(&str, &str)]) -> (TestRepo, Arc<Mutex<Reply>>) {
    let repo = TestRepo::new();
    repo.commit_files(files, "files");
    let sock = repo.home.join("fake.sock");
    let reply = Arc::new(Mutex::new(Reply::Changed(Vec::new())));
    fake_watchman(&sock, reply.clone());
    repo.set_env("WATCHMAN_SOCK", &sock.to_string_lossy());
    (repo, reply)
}

/// `fsmonitor verify` in the main worktree: (monitored, why not).
fn verify_main(repo: &TestRepo) -> (bool, String, serde_json::Value) {
    let out = repo.session(&["fsmonitor", "verify", "--json"]);
    let v = out.json()[0].clone();
    (
        v["monitored"] == true,
        v["full_because"].as_str().unwrap_or("").to_owned(),
        v,
    )
}

/// A watchman server of the test's own for `repo`'s commands; None (the test is skipped)
/// when watchman is not installed.
fn private_watchman(repo: &TestRepo) -> Option<Watchman> {
    let Some(wm) = Watchman::start(&repo.home.join("watchman")) else {
        eprintln!("skipped: watchman is not installed");
        return None;
    };
    repo.set_env("WATCHMAN_SOCK", &wm.sock().to_string_lossy());
    Some(wm)
}

/// Commits `files` (path, content) in `repo`'s main worktree.
fn commit_owned(repo: &TestRepo, files: &[(String, String)]) {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    repo.commit_files(&files, "files");
}

/// How many times the steps named `step` were passed, as `GIT_SESSION_FAULT_TRACE` wrote
/// them to `trace`.
fn traced(trace: &Path, step: &str) -> usize {
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split('#').next() == Some(step))
        .count()
}

/// A write the monitor does not report (through a mapping, a hard link, a network file
/// system) to a file whose id the last capture kept: the file's stat data gives it away,
/// and the capture hashes it again instead of taking the kept id (or its directory's tree).
#[test]
fn a_kept_id_is_taken_again_only_while_the_file_is_unchanged() {
    let (repo, reply) = with_fake_monitor(&[("a.txt", "a\n"), ("sub/b.txt", "b\n")]);
    let write_old = |text: &str, secs_ago: u64| {
        let path = repo.root.join("sub/b.txt");
        write_file(&path, text);
        let file = std::fs::File::options().append(true).open(&path).unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs_ago);
        file.set_modified(then).unwrap();
    };
    write_old("one\n", 3600);
    // Its ctime is now: the id is kept once the change is more than a tick old.
    std::thread::sleep(std::time::Duration::from_millis(100));
    verify_main(&repo);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored && v["tree"] == v["monitor_tree"], "{v:#}");
    // Kept now, and taken by the next capture; then the same size rewritten, unreported.
    verify_main(&repo);
    write_old("two\n", 1800);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    // An untracked file reported, kept, then deleted without a report: the tree kept for
    // its directory no longer stands.
    write_file(&repo.root.join("sub/x.txt"), "x\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    *reply.lock().unwrap() = Reply::Changed(vec!["sub/x.txt".into()]);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored && v["tree"] == v["monitor_tree"], "{v:#}");
    *reply.lock().unwrap() = Reply::Changed(Vec::new());
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored && v["tree"] == v["monitor_tree"], "{v:#}");
    std::fs::remove_file(repo.root.join("sub/x.txt")).unwrap();
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    let _ = reply;
}

/// A full scan the monitor could not spare (here: it restarted) takes the ids the last
/// capture kept for files whose stat data is as it was: a clean filter that counts its runs
/// runs for the reference capture only. An attributes file appearing where no monitor saw
/// it (an ignored one, too) means the files are hashed again, with the new attributes.
#[test]
fn a_full_scan_after_a_restart_takes_kept_ids_until_an_attributes_file_changes() {
    let (repo, reply) = with_fake_monitor(&[
        (".gitattributes", "*.txt filter=count\n"),
        (".gitignore", "/sub/.gitattributes\n"),
        ("a.txt", "a\n"),
        ("sub/b.txt", "b\n"),
    ]);
    let runs = repo.home.join("filter-runs");
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let clean = format!("sh -c 'echo run >> \"{}\"; cat'", runs.display());
    repo.git(&["config", "filter.count.clean", &clean]);
    repo.git(&["config", "filter.upper.clean", "tr a-z A-Z"]);
    // The committed files older than the index (not racily clean: no file is hashed but
    // the one changed).
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for name in [".gitattributes", ".gitignore", "a.txt"] {
        let file = std::fs::File::options()
            .append(true)
            .open(repo.root.join(name))
            .unwrap();
        file.set_modified(hour_ago).unwrap();
    }
    repo.git(&["update-index", "--refresh"]);
    // Changed an hour ago (its ctime is now: kept once that is more than a tick old).
    let path = repo.root.join("sub/b.txt");
    write_file(&path, "one\n");
    let file = std::fs::File::options().append(true).open(&path).unwrap();
    file.set_modified(hour_ago).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    verify_main(&repo);
    *reply.lock().unwrap() = Reply::Fresh;
    let before = count();
    let (monitored, why, v) = verify_main(&repo);
    assert!(
        !monitored && why == "watchman restarted or lost the watch",
        "{v:#}"
    );
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert_eq!(count() - before, 1, "the kept id was not taken: {v:#}");
    // A lost watch (asked for again, the server then taken as busy for a while): the same.
    *reply.lock().unwrap() = Reply::NotWatched;
    let before = count();
    let (monitored, _, v) = verify_main(&repo);
    assert!(!monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert_eq!(count() - before, 1, "the kept id was not taken: {v:#}");
    // An ignored attributes file nobody reported: b.txt hashes differently now, and again
    // as before once it is gone.
    *reply.lock().unwrap() = Reply::Fresh;
    let b_in = |v: &serde_json::Value| {
        let tree = v["tree"].as_str().unwrap().to_owned();
        repo.git(&["cat-file", "-p", &format!("{tree}:sub/b.txt")])
    };
    write_file(
        &repo.root.join("sub/.gitattributes"),
        "*.txt filter=upper\n",
    );
    let (monitored, _, v) = verify_main(&repo);
    assert!(!monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert_eq!(b_in(&v), "ONE");
    std::fs::remove_file(repo.root.join("sub/.gitattributes")).unwrap();
    let (monitored, _, v) = verify_main(&repo);
    assert!(!monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert_eq!(b_in(&v), "one");
    let _ = reply;
}

/// A file whose id was not kept (hashed within a tick of its change) leaves no kept tree
/// above it: deleted without a report and found by a full scan, it is not brought back by a
/// tree the last capture wrote.
#[test]
fn a_tree_is_kept_only_when_every_file_it_holds_is() {
    let (repo, reply) = with_fake_monitor(&[("a.txt", "a\n"), ("sub/b.txt", "b\n")]);
    let at = |name: &str, when: std::time::SystemTime| {
        let file = std::fs::File::options()
            .append(true)
            .open(repo.root.join(name))
            .unwrap();
        file.set_modified(when).unwrap();
    };
    let hour = std::time::Duration::from_secs(3600);
    let now = std::time::SystemTime::now();
    at("a.txt", now - hour);
    at("sub/b.txt", now - hour);
    repo.git(&["update-index", "--refresh"]);
    write_file(&repo.root.join("sub/b.txt"), "one\n");
    at("sub/b.txt", now - hour);
    // Racily new for as long as the test runs: its id is never kept.
    write_file(&repo.root.join("sub/x.txt"), "x\n");
    at("sub/x.txt", now + hour);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (_, _, v) = verify_main(&repo);
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    std::fs::remove_file(repo.root.join("sub/x.txt")).unwrap();
    *reply.lock().unwrap() = Reply::Fresh;
    let (monitored, _, v) = verify_main(&repo);
    assert!(!monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    let tree = v["tree"].as_str().unwrap();
    assert_eq!(
        repo.git(&["ls-tree", "--name-only", tree, "sub/"]),
        "sub/b.txt"
    );
}

/// A directory replaced by a symlink to where it went: git does not follow the link, so
/// what was listed below it is gone, although the same path through the link still opens.
#[test]
fn a_directory_made_a_symlink_hides_what_was_below_it() {
    let (repo, reply) = with_fake_monitor(&[("a.txt", "a\n"), ("sub/deep/b.txt", "b\n")]);
    write_file(&repo.root.join("sub/deep/b.txt"), "changed\n");
    verify_main(&repo);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored && v["tree"] == v["monitor_tree"], "{v:#}");
    std::fs::rename(repo.root.join("sub"), repo.root.join("moved")).unwrap();
    std::os::unix::fs::symlink("moved", repo.root.join("sub")).unwrap();
    // The link and the directory are reported, not the file below them: it is listed, and
    // judged again all the same.
    *reply.lock().unwrap() = Reply::Changed(vec!["sub".into(), "moved".into()]);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    let _ = reply;
}

/// A file whose stat data the index has stale (touched, or checked out in the same second
/// as the index was written) but whose content is the index's: a capture finds it
/// unchanged, and the monitor stops looking at it until it is reported.
#[test]
fn a_file_with_stale_stat_data_is_listed_until_a_capture_finds_it_unchanged() {
    let (repo, reply) = with_fake_monitor(&[("a.txt", "a\n"), ("sub/b.txt", "b\n")]);
    repo.git(&["config", "filter.upper.clean", "tr a-z A-Z"]);
    let listed = || {
        let status = repo.session(&["fsmonitor", "status", "--json"]).ok().json();
        status["worktrees"][0]["listed"].as_u64().unwrap()
    };
    let touch = |rel: &str, secs_ago: u64| {
        let file = std::fs::File::options()
            .append(true)
            .open(repo.root.join(rel))
            .unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs_ago);
        file.set_modified(then).unwrap();
    };
    touch("sub/b.txt", 3600);
    write_file(&repo.root.join("a.txt"), "changed\n");
    let (_, _, v) = verify_main(&repo);
    assert_eq!(v["changed"], 1, "{v:#}");
    assert_eq!(listed(), 1, "only a.txt differs from the index");
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored && v["tree"] == v["monitor_tree"], "{v:#}");
    assert!(v["only_full"].as_array().unwrap().is_empty(), "{v:#}");
    // New attributes: git hashes a file with stale stat data again, under them; which files
    // were left out is not kept, so everything is looked at.
    write_file(
        &repo.root.join("sub/.gitattributes"),
        "*.txt filter=upper\n",
    );
    *reply.lock().unwrap() = Reply::Changed(vec!["sub/.gitattributes".into()]);
    let (monitored, why, v) = verify_main(&repo);
    assert!(!monitored && why.contains(".gitattributes"), "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert!(v["only_full"].as_array().unwrap().is_empty(), "{v:#}");
    std::fs::remove_file(repo.root.join("sub/.gitattributes")).unwrap();
    verify_main(&repo);
    // Reported later, and changed for real: looked at again.
    write_file(&repo.root.join("sub/b.txt"), "changed\n");
    *reply.lock().unwrap() = Reply::Changed(vec!["sub/b.txt".into()]);
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored, "{v:#}");
    assert_eq!(v["tree"], v["monitor_tree"], "{v:#}");
    assert_eq!(v["changed"], 2, "{v:#}");
    let _ = reply;
}

/// Every way the monitor can be wrong that the scan can tell (a restart, a recrawl, an
/// error, a hang, garbage, a closed connection, an index or settings change it does not
/// report, names it cannot spell, new top-level ignore rules) ends in a full scan that is
/// right; an undetectable lie (a hidden edit) is what `verify` reports.
#[test]
fn a_wrong_or_broken_monitor_falls_back_to_a_full_scan() {
    let repo = TestRepo::new();
    repo.commit_files(
        &[
            ("a.txt", "a\n"),
            ("sub/b.txt", "b\n"),
            ("sub/.gitignore", "*.tmp\n"),
            ("sub/keep.tmp", "tracked though ignored\n"),
        ],
        "files",
    );
    write_file(&repo.root.join("sub/new.tmp"), "ignored for now\n");
    let sock = repo.home.join("fake.sock");
    let reply = Arc::new(Mutex::new(Reply::Changed(Vec::new())));
    let sent = fake_watchman(&sock, reply.clone());
    repo.set_env("WATCHMAN_SOCK", &sock.to_string_lossy());
    let set = |r: Reply| *reply.lock().unwrap() = r;

    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored);
    assert_eq!(why, "no answer from the monitor yet");
    let (monitored, ..) = verify_main(&repo);
    assert!(monitored, "an answer with a clock is used");

    // What the monitor reports is judged; a changed sub/.gitignore walks its directory.
    write_file(&repo.root.join("a.txt"), "changed\n");
    write_file(&repo.root.join("sub/.gitignore"), "\n");
    set(Reply::Changed(vec![
        "a.txt".into(),
        "sub/.gitignore".into(),
    ]));
    let (monitored, _, v) = verify_main(&repo);
    assert!(monitored);
    assert!(
        v["only_full"].as_array().unwrap().is_empty()
            && v["only_monitor"].as_array().unwrap().is_empty(),
        "{v:#}"
    );
    set(Reply::Changed(Vec::new()));

    // Lies the scan catches: it reports nothing, yet the index or the settings changed.
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "git rm --cached",
            Box::new(|| {
                repo.git(&["rm", "-q", "--cached", "sub/b.txt"]);
            }),
            "the index changed",
        ),
        (
            "git reset",
            Box::new(|| {
                repo.git(&["reset", "-q"]);
            }),
            "the index changed",
        ),
        (
            "info/exclude",
            Box::new(|| {
                std::fs::write(repo.root.join(".git/info/exclude"), "a.txt\n").unwrap();
            }),
            "the settings that decide status changed",
        ),
        (
            "core.fileMode",
            Box::new(|| {
                repo.git(&["config", "core.fileMode", "false"]);
            }),
            "the settings that decide status changed",
        ),
    ];
    for (what, change, expected) in cases {
        change();
        let (monitored, why, v) = verify_main(&repo);
        assert!(!monitored && why == expected, "{what}: {why}\n{v:#}");
        assert!(verify_main(&repo).0, "{what}: the monitor answers again");
    }

    // Broken answers.
    write_file(&repo.root.join("a.txt"), "changed again\n");
    for (reply, expected) in [
        (Reply::Fresh, "watchman restarted or lost the watch"),
        (
            Reply::Recrawled(1),
            "watchman recrawled (its queue overflowed)",
        ),
        (Reply::Error, "watchman: the fake is broken"),
        (Reply::Garbage, "watchman answered what could not be read"),
        (
            Reply::Close,
            "watchman answered what could not be read: the connection closed",
        ),
        (
            Reply::Changed(vec!["bad\u{FFFD}name".into()]),
            "a name watchman cannot spell changed",
        ),
        (
            Reply::Changed(vec![".gitignore".into()]),
            "the top .gitignore changed",
        ),
    ] {
        set(reply);
        let started = std::time::Instant::now();
        let (monitored, why, v) = verify_main(&repo);
        assert!(
            !monitored && why.starts_with(expected),
            "{expected}: {why}\n{v:#}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{expected}: the deadline holds"
        );
    }

    // A server that does not answer in time (crawling a root, say) is only probed for a
    // while: each scan goes on in full at once, without asking for a watch or a clock, and
    // the first probe answered uses it again.
    let unanswered = "watchman did not answer in time (crawling?)";
    let busy_since = || {
        let status = repo.session(&["fsmonitor", "status", "--json"]).ok().json();
        status["worktrees"][0]["busy_since"].as_i64()
    };
    // What the fake was asked since the last look, once it has caught up (it answers one
    // connection at a time).
    let asked = || {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::mem::take(&mut *sent.lock().unwrap())
    };
    set(Reply::Hang);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    assert!(busy_since().is_some());
    let out = repo.session(&["fsmonitor", "status"]).ok();
    assert!(
        out.stdout
            .contains("(main)               full scans (watchman did not answer"),
        "{}",
        out.stdout
    );
    asked();
    // Within the window a question waits 10 ms: an answer in 200 ms is not waited for.
    set(Reply::Slow);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    let commands = asked();
    assert!(
        commands.contains(&"query".to_owned())
            && !commands
                .iter()
                .any(|c| c == "watch-project" || c == "clock"),
        "{commands:?}"
    );
    set(Reply::Changed(Vec::new()));
    let (monitored, why, _) = verify_main(&repo);
    assert!(monitored, "{why}");
    assert_eq!(busy_since(), None, "answered: no longer busy");
    // Not found busy, the same server is waited for (its answer may be long to give).
    set(Reply::Slow);
    let (monitored, why, _) = verify_main(&repo);
    assert!(monitored, "{why}");
    asked();
    // One that does not even say its pid is hung.
    set(Reply::HangPid);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    assert!(busy_since().is_some());
    asked();
    set(Reply::Changed(Vec::new()));
    assert!(
        verify_main(&repo).0,
        "the first probe answered uses it again"
    );
    // A server trickling log lines is not waited for past the deadline (500 ms).
    set(Reply::Spam);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    asked();
    // Once the window has passed, one question waits 100 ms: still not for an answer in
    // 200 ms, and the window starts again.
    let marker = std::fs::read_dir(repo.root.join(".git/session/fsmonitor"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("busy-")
        })
        .expect("a busy marker");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&marker)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    assert_eq!(busy_since(), None, "the window has passed");
    set(Reply::Slow);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    assert!(busy_since().is_some(), "the window starts again");
    asked();
    // A server that restarted (another pid than its clock's) is only probed at once: the
    // 200 ms it takes to answer (crawling) is not waited for.
    std::fs::remove_file(&marker).unwrap();
    set(Reply::Changed(Vec::new()));
    assert!(verify_main(&repo).0);
    set(Reply::Restarted);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == unanswered, "{why}");
    assert!(busy_since().is_some());
    asked();
    // A server that lost the watch is asked to watch the root again, not waited for; not
    // watched still within the window, the root watchman chose is another one, which only
    // a watch that waits for its answer learns (verify asks twice).
    std::fs::remove_file(&marker).unwrap();
    set(Reply::NotWatched);
    let (monitored, why, _) = verify_main(&repo);
    assert!(
        !monitored && why.starts_with("watchman lost the watch"),
        "{why}"
    );
    let commands = asked();
    assert!(
        commands.contains(&"watch-project".to_owned()) && commands.contains(&"clock".to_owned()),
        "{commands:?}"
    );
    set(Reply::Changed(Vec::new()));
    assert!(verify_main(&repo).0, "the monitor answers again");
    assert_eq!(busy_since(), None);

    // watchman repeats its recrawl warning on every answer after one, until the watch is
    // made again: each recrawl costs one full scan, not every scan after it.
    for (times, used) in [(4, false), (4, true), (4, true), (5, false), (5, true)] {
        set(Reply::Recrawled(times));
        let (monitored, why, v) = verify_main(&repo);
        assert_eq!(monitored, used, "{times} recrawls: {why}\n{v:#}");
    }
    // An index written meanwhile costs its own full scan, not a second one for the recrawl.
    repo.git(&["add", "a.txt"]);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == "the index changed", "{why}");
    let (monitored, why, _) = verify_main(&repo);
    assert!(monitored, "{why}");

    // A lie nothing can catch (an edit it hides) is what verify exists to find: a file
    // that was clean (not racily: older than the index), changed without a word.
    set(Reply::Changed(Vec::new()));
    let old = std::fs::File::options()
        .write(true)
        .open(repo.root.join("sub/b.txt"))
        .unwrap();
    old.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    repo.git(&["add", "sub/b.txt"]);
    verify_main(&repo);
    assert!(verify_main(&repo).0);
    write_file(&repo.root.join("sub/b.txt"), "hidden edit\n");
    let out = repo.session(&["fsmonitor", "verify"]).fails();
    assert!(
        out.stdout.contains("only the full scan: changed sub/b.txt"),
        "{}",
        out.stdout
    );

    // Commands that destroy decide from a full scan: with the monitor hiding an edit in a
    // session's worktree (status believes it), rm still sees the work and keeps it.
    let wt = repo.new_session("s");
    let old = std::fs::File::options()
        .write(true)
        .open(wt.join("a.txt"))
        .unwrap();
    old.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    repo.git_in(&wt, &["add", "a.txt"]);
    repo.session_in(&wt, &["status"]).ok();
    write_file(&wt.join("a.txt"), "work nobody reported\n");
    let status = repo.session_in(&wt, &["status", "--json"]).ok().json();
    assert_eq!(status["changes"], 0, "the monitor's lie is believed here");
    let out = repo.session(&["rm", "s"]).ok();
    assert!(
        out.stderr
            .contains("kept the worktree of 's': 1 uncommitted"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("a.txt")).unwrap(),
        "work nobody reported\n"
    );

    // The checkpoint a removal takes first holds the hidden work too, though a checkpoint
    // taken before let the next one skip its scan while the monitor says nothing changed.
    let wt = repo.new_session("t");
    std::fs::write(wt.join("work.txt"), "first\n").unwrap();
    repo.session_in(&wt, &["checkpoint"]).ok();
    repo.session_in(&wt, &["checkpoint"]).ok();
    std::fs::write(wt.join("work.txt"), "second, unreported\n").unwrap();
    repo.session(&["end", "t", "--remove"]).ok();
    assert!(!wt.exists());
    let log = repo.session(&["log", "t", "--json"]).ok().json();
    let last = log
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["checkpoint"].as_str())
        .unwrap()
        .to_owned();
    assert_eq!(
        repo.git(&["show", &format!("{last}:work.txt")]).trim(),
        "second, unreported"
    );

    // Off means never asked.
    repo.git(&["config", "session.fsmonitor", "off"]);
    let (monitored, why, _) = verify_main(&repo);
    assert!(!monitored && why == "session.fsmonitor is off", "{why}");

    // Turned on with no server answering: doctor says so, the scans still work.
    repo.git(&["config", "session.fsmonitor", "watchman"]);
    repo.set_env(
        "WATCHMAN_SOCK",
        &repo.home.join("gone.sock").to_string_lossy(),
    );
    let (monitored, why, _) = verify_main(&repo);
    assert!(
        !monitored && why.starts_with("no watchman answers at") && why.contains("gone.sock"),
        "{why}"
    );
    let out = repo.session(&["doctor", "--json"]).fails();
    let findings = serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap();
    // WATCHMAN_SOCK naming something that is no socket: said so, not "install watchman".
    std::fs::write(repo.home.join("plain-file"), "").unwrap();
    repo.set_env(
        "WATCHMAN_SOCK",
        &repo.home.join("plain-file").to_string_lossy(),
    );
    let out = repo.session(&["fsmonitor", "status"]).ok();
    assert!(out.stdout.contains("(WATCHMAN_SOCK)"), "{}", out.stdout);
    // Empty is unset (as `WATCHMAN_SOCK= git session …` means in a shell).
    repo.set_env("WATCHMAN_SOCK", "");
    let out = repo.session(&["fsmonitor", "status"]).ok();
    assert!(!out.stdout.contains("(WATCHMAN_SOCK)"), "{}", out.stdout);
    repo.set_env(
        "WATCHMAN_SOCK",
        &repo.home.join("plain-file").to_string_lossy(),
    );
    let out = repo.session(&["fsmonitor", "enable"]).fails();
    assert!(out.stderr.contains("(WATCHMAN_SOCK)"), "{}", out.stderr);
    // (Installing watchman is the hint only when it is not installed at all.)
    let installed = std::process::Command::new("watchman")
        .arg("--version")
        .output()
        .is_ok();
    assert_eq!(
        out.stderr.contains("install watchman"),
        !installed,
        "{}",
        out.stderr
    );
    repo.git(&["config", "session.fsmonitor", "bogus"]);
    let status = repo.session(&["fsmonitor", "status", "--json"]).ok().json();
    assert_eq!(status["setting"], "auto");
    assert_eq!(status["unknown_setting"], "bogus");
    repo.git(&["config", "session.fsmonitor", "watchman"]);
    let kinds: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["orphan-worktree", "fsmonitor"], "{findings:#}");
}

/// enable watches the worktrees and new sessions; status says where answers came from; a
/// removed session's watch goes; disable turns it off.
#[test]
fn enable_status_and_disable() {
    let repo = TestRepo::new();
    let Some(wm) = private_watchman(&repo) else {
        return;
    };
    let a = repo.new_session("a");
    let out = repo.session(&["fsmonitor", "enable", "--json"]).ok().json();
    assert_eq!(out["setting"], "watchman");
    assert!(out["server"].is_string(), "{out:#}");
    // Sessions' worktrees inside the main one share its watch (watch-project reuses it).
    let watched = |status: &serde_json::Value, name: &str| {
        status["worktrees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["session"] == name)
            .map(|w| w["watched"].clone())
    };
    assert_eq!(
        watched(&out, "a"),
        Some(serde_json::json!(repo.root.to_string_lossy())),
        "{out:#}"
    );
    let _ = a;
    let b = repo.new_session("b");
    repo.session_in(&b, &["status"]).ok();
    write_file(&b.join("new.txt"), "new\n");
    let out = repo.session_in(&b, &["status", "--json"]).ok().json();
    assert_eq!(out["changes"], 1, "{out:#}");
    let status = repo.session(&["fsmonitor", "status", "--json"]).ok().json();
    let b_state = status["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["session"] == "b")
        .unwrap()
        .clone();
    assert_eq!(b_state["monitored"], true, "{status:#}");
    assert_eq!(b_state["answering"], true, "{status:#}");
    // A watch watchman dropped is shown as lost, not with its old clock.
    wm.cli(&["watch-del", &repo.root.to_string_lossy()]);
    let text = repo.session(&["fsmonitor", "status"]).ok().stdout;
    assert!(text.contains("watch lost"), "{text}");
    // The next scan watches it again; the clock comes once watchman has crawled it (a scan
    // does not wait for that: under load, a later one).
    let answering = |status: &serde_json::Value| {
        status["worktrees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["session"] == "b" && w["answering"] == true)
    };
    let mut status = serde_json::Value::Null;
    for _ in 0..50 {
        repo.session_in(&b, &["status"]).ok();
        status = repo.session(&["fsmonitor", "status", "--json"]).ok().json();
        if answering(&status) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(answering(&status), "a scan watches it again: {status:#}");
    repo.session(&["rm", "b", "--force"]).ok();
    let kept = std::fs::read_dir(repo.root.join(".git/session/fsmonitor"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("busy-")
        })
        .count();
    // Left: what is kept for the main worktree and for a (the server ran before enable, so
    // no socket was recorded), and maybe a mark that the root was being crawled.
    assert_eq!(kept, 2);
    let mark = repo
        .root
        .join(".git/session/fsmonitor/busy-0123456789abcdef");
    std::fs::write(&mark, "").unwrap();
    let out = repo
        .session(&["fsmonitor", "disable", "--json"])
        .ok()
        .json();
    assert_eq!(out["setting"], "off");
    assert!(!mark.exists(), "disable forgets the marks of a busy server");
    assert!(
        !wm.cli(&["watch-list"])
            .contains(&*repo.root.to_string_lossy())
    );
}

/// With the monitor answering, the hooks' forgotten-work warning is about the worktrees as
/// they are at the commit, not as the last background scan saw them. The sessions below one
/// watched root are asked about in one question first: one it finds nothing in keeps its
/// count, and one it finds changes in is asked about alone.
#[test]
fn hook_warnings_are_current_with_the_monitor() {
    let repo = TestRepo::new();
    let Some(_wm) = private_watchman(&repo) else {
        return;
    };
    repo.session(&["hooks", "install"]).ok();
    repo.session(&["fsmonitor", "enable"]).ok();
    let left = repo.new_session("left");
    let right = repo.new_session("right");
    let old_file = |wt: &Path, name: &str| {
        write_file(&wt.join(name), "work\n");
        std::fs::File::options()
            .write(true)
            .open(wt.join(name))
            .unwrap()
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
            .unwrap();
    };
    old_file(&left, "wip.txt");
    old_file(&right, "wip.txt");
    repo.session(&["hook", "refresh"]).ok();
    let commit = |n: usize| {
        write_file(&repo.root.join("main.txt"), &format!("{n}\n"));
        repo.git(&["add", "main.txt"]);
        repo.cmd_in(&repo.root, "git", &["commit", "-q", "-m", &format!("c{n}")])
            .ok()
            .stderr
    };
    let said = commit(1);
    for name in ["left", "right"] {
        let line = format!("session '{name}' has 1 uncommitted file(s)");
        assert!(said.contains(&line), "{said}");
    }
    // More old work: named at once, counted anew (the background scan has not run).
    old_file(&left, "wip2.txt");
    let said = commit(2);
    assert!(
        said.contains("session 'left' has 2 uncommitted file(s)")
            && said.contains("session 'right' has 1 uncommitted file(s)"),
        "{said}"
    );
    // Worked on just now: not forgotten. The one question asks about each since its own
    // clock: left's change, made before left's new clock (its scan at commit 2) but after
    // right's, is not taken for new work.
    write_file(&right.join("now.txt"), "fresh\n");
    let said = commit(3);
    assert!(
        !said.contains("'right'") && said.contains("session 'left' has 2 uncommitted file(s)"),
        "{said}"
    );
    // Its index rewritten (something staged) and a file written just now: worked on, not
    // forgotten, though the monitor's answer was about another index.
    repo.git_in(&left, &["add", "wip.txt"]);
    write_file(&left.join("now.txt"), "fresh\n");
    let said = commit(4);
    assert!(!said.contains("'left'"), "{said}");
}

/// While the index is the one the monitor's state was about, and plain (no conflict, nothing
/// intent-to-add or skip-worktree), a checkpoint takes the index's tree for it instead of
/// reading it: edits, deletions, new files, a mode change, a symlink and a staged change
/// each give `git add -A`'s tree, as does a tracked directory turned into a file; a staged
/// change reads the index until a commit (git drops the cached root tree when it stages).
#[test]
fn a_checkpoint_takes_the_index_tree_for_an_unchanged_plain_index() {
    let repo = TestRepo::new();
    let Some(_wm) = private_watchman(&repo) else {
        return;
    };
    let mut files = Vec::new();
    for d in 0..4 {
        for f in 0..3 {
            files.push((format!("d{d}/f{f}.txt"), format!("file {d} {f}\n")));
        }
    }
    commit_owned(&repo, &files);
    let wt = repo.new_session("s");
    repo.session(&["fsmonitor", "enable"]).ok();
    let trace = repo.home.join("trace");
    repo.set_env("GIT_SESSION_FAULT_TRACE", &trace.to_string_lossy());
    let traced = |step: &str| traced(&trace, step);
    let from_tree = || traced("capture-from-index-tree");
    let step = |what: &str, change: &dyn Fn(), tree_expected: bool| {
        change();
        let before = from_tree();
        let ckpt = repo.session(&["checkpoint", "s"]).ok().line().to_owned();
        let got = repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]);
        assert_eq!(
            got.trim(),
            crate::checkpoint::git_add_all_tree(&repo, &wt, "s"),
            "{what}"
        );
        assert_eq!(from_tree() > before, tree_expected, "{what}");
        ckpt
    };
    step("the first checkpoint (a full scan)", &|| (), false);
    step(
        "edits, a deletion, a new file, a mode change",
        &|| {
            write_file(&wt.join("d0/f0.txt"), "changed\n");
            std::fs::remove_file(wt.join("d1/f1.txt")).unwrap();
            write_file(&wt.join("d0/new.txt"), "new\n");
            let c = wt.join("d2/f2.txt");
            std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o755)).unwrap();
        },
        true,
    );
    step(
        "a file made a symlink, the deleted one back",
        &|| {
            std::fs::remove_file(wt.join("d3/f0.txt")).unwrap();
            std::os::unix::fs::symlink("f1.txt", wt.join("d3/f0.txt")).unwrap();
            write_file(&wt.join("d1/f1.txt"), "file 1 1\n");
        },
        true,
    );
    // Staging rewrites the index, and git drops its cached root tree: read until a commit.
    step(
        "a staged change",
        &|| {
            repo.git_in(&wt, &["add", "d0/f0.txt"]);
        },
        false,
    );
    step(
        "the staged file edited again",
        &|| write_file(&wt.join("d0/f0.txt"), "changed again\n"),
        false,
    );
    let moved = traced("monitor-index-moved");
    step(
        "a commit",
        &|| {
            repo.git_in(&wt, &["commit", "-qm", "staged"]);
        },
        false,
    );
    // The old index's tree was not valid (staged): the commit's index is read in full.
    assert_eq!(traced("monitor-index-moved"), moved);
    step(
        "an edit and a second commit",
        &|| {
            write_file(&wt.join("d1/f0.txt"), "committed\n");
            repo.git_in(&wt, &["commit", "-qam", "second"]);
        },
        false,
    );
    // Both indexes plain: what changed in it is told by their trees, the rest by watchman.
    assert!(traced("monitor-index-moved") > moved);
    step(
        "an edit after it",
        &|| write_file(&wt.join("d0/f1.txt"), "edited\n"),
        true,
    );
    // HEAD moved back, no file and not the index touched: what is staged is the index's tree.
    let ckpt = step(
        "a soft reset",
        &|| {
            repo.git_in(&wt, &["reset", "-q", "--soft", "HEAD~1"]);
        },
        true,
    );
    let staged = repo.git(&["rev-parse", &format!("{ckpt}^2^{{tree}}")]);
    assert_eq!(staged.trim(), repo.git_in(&wt, &["write-tree"]).trim());
    step(
        "a tracked directory made a file",
        &|| {
            std::fs::remove_dir_all(wt.join("d2")).unwrap();
            write_file(&wt.join("d2"), "a file now\n");
        },
        true,
    );
    step(
        "an edit after that",
        &|| write_file(&wt.join("d3/f2.txt"), "edited\n"),
        true,
    );
}

/// An index written without stat data (`git read-tree`) whose tree is the old one's: git
/// hashes every file again, and a file that git took for clean by its stat data may now be
/// stored differently (a CRLF file committed before `*.txt text`): the monitor-backed capture
/// looks at those files too, and gives `git add -A`'s tree.
#[test]
fn a_new_index_without_stat_data_is_looked_at_again() {
    let repo = TestRepo::new();
    let Some(_wm) = private_watchman(&repo) else {
        return;
    };
    let wt = repo.new_session("s");
    repo.session(&["fsmonitor", "enable"]).ok();
    let trace = repo.home.join("trace");
    repo.set_env("GIT_SESSION_FAULT_TRACE", &trace.to_string_lossy());
    write_file(&wt.join("crlf.txt"), "one\r\ntwo\r\n");
    // Not racily clean (git would hash it again whatever its stat data says).
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let file = std::fs::File::options()
        .append(true)
        .open(wt.join("crlf.txt"))
        .unwrap();
    file.set_modified(hour_ago).unwrap();
    repo.git_in(&wt, &["add", "crlf.txt"]);
    repo.git_in(&wt, &["commit", "-qm", "crlf"]);
    write_file(&wt.join(".gitattributes"), "*.txt text\n");
    repo.git_in(&wt, &["add", ".gitattributes"]);
    repo.git_in(&wt, &["commit", "-qm", "attributes"]);
    // Settled: the monitor's state is about this index (a full scan after the new rules).
    repo.session(&["checkpoint", "s"]).ok();
    write_file(&wt.join("other.md"), "other\n");
    repo.session(&["checkpoint", "s"]).ok();
    let moved = || traced(&trace, "monitor-index-moved");
    let before = moved();
    repo.git_in(&wt, &["read-tree", "HEAD"]);
    let ckpt = repo.session(&["checkpoint", "s"]).ok().line().to_owned();
    assert_eq!(
        moved(),
        before + 1,
        "the new index was told from the old one's tree"
    );
    let got = repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]);
    assert_eq!(
        got.trim(),
        crate::checkpoint::git_add_all_tree(&repo, &wt, "s")
    );
    assert_ne!(
        repo.git(&["rev-parse", &format!("{ckpt}:crlf.txt")]),
        repo.git_in(&wt, &["rev-parse", "HEAD:crlf.txt"]),
        "git add -A stores the file normalized now"
    );
}

/// The index's tree the monitor's state keeps for a stand-in is put right by `fsmonitor
/// verify` (which reads the index, and then takes a checkpoint as `checkpoint` takes it,
/// against a full scan): the next checkpoint is `git add -A`'s tree again.
#[test]
fn verify_checks_the_index_tree_kept_for_a_stand_in() {
    let repo = TestRepo::new();
    let Some(_wm) = private_watchman(&repo) else {
        return;
    };
    let files: Vec<(String, String)> = (0..6)
        .map(|i| (format!("d{}/f{i}.txt", i % 2), format!("file {i}\n")))
        .collect();
    commit_owned(&repo, &files);
    let wt = repo.new_session("s");
    repo.session(&["fsmonitor", "enable"]).ok();
    write_file(&wt.join("d0/f0.txt"), "edited\n");
    repo.session(&["checkpoint", "s"]).ok();
    assert!(verify(&repo, &[]).0 > 0);
    // The kept tree replaced by another valid tree (the empty one).
    let states = repo.root.join(".git/session/fsmonitor");
    for entry in std::fs::read_dir(&states).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut state: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if state.get("index_tree").is_some_and(|t| t.is_string()) {
                state["index_tree"] = "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into();
                std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
            }
        }
    }
    // Read with the index, the answer puts the index's own tree back; a wrong one that got
    // past that would make the stand-in capture differ and be forgotten.
    repo.session(&["fsmonitor", "verify", "--json"]);
    for entry in std::fs::read_dir(&states).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(
            !text.contains("4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
            "{text}"
        );
    }
    write_file(&wt.join("d1/f1.txt"), "edited too\n");
    let ckpt = repo.session(&["checkpoint", "s"]).ok().line().to_owned();
    let got = repo.git(&["rev-parse", &format!("{ckpt}^{{tree}}")]);
    assert_eq!(
        got.trim(),
        crate::checkpoint::git_add_all_tree(&repo, &wt, "s")
    );
}
