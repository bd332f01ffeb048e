//! A hermetic test repository: pinned git config, identity, dates, HOME and TZ, and helpers
//! to run the freshly built `git-session` (directly, or as `git session` through PATH).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-session");

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self) -> Out {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.trim().is_empty(), "a failure must say why");
        self
    }

    /// How many lines of stderr are errors (a refusal says one).
    pub fn error_lines(&self) -> usize {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error"))
            .count()
    }

    pub fn line(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

pub struct TestRepo {
    _dir: tempfile::TempDir,
    /// Holds HOME and the global config.
    pub home: PathBuf,
    /// The main worktree.
    pub root: PathBuf,
    /// Commit date handed to git and git-session (seconds since the epoch, UTC).
    pub date: std::sync::atomic::AtomicI64,
    /// More environment for every command run (see [`TestRepo::set_env`]).
    extra_env: std::sync::Mutex<Vec<(String, String)>>,
}

pub const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

impl TestRepo {
    /// A repository with one commit (`README.md`), in a path with a space in it.
    pub fn new() -> TestRepo {
        let repo = TestRepo::empty();
        repo.commit_files(&[("README.md", "hello\n")], "initial");
        repo
    }

    /// `git init` only: no commits.
    pub fn empty() -> TestRepo {
        let dir = tempfile::Builder::new()
            .prefix("git session test ")
            .tempdir()
            .unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let home = base.join("home");
        let root = base.join("repo ü");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(home.join(".gitconfig"), "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n").unwrap();
        let repo = TestRepo {
            _dir: dir,
            home,
            root,
            date: std::sync::atomic::AtomicI64::new(START),
            extra_env: std::sync::Mutex::new(Vec::new()),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    pub fn write(&self, rel: &str, text: &str) {
        write_file(&self.root.join(rel), text);
    }

    /// Writes `files` (path, text) and commits everything with `message`.
    pub fn commit_files(&self, files: &[(&str, &str)], message: &str) {
        for (path, text) in files {
            self.write(path, text);
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// Sets `key` in the environment of every command run from now on.
    pub fn set_env(&self, key: &str, value: &str) {
        self.extra_env
            .lock()
            .unwrap()
            .push((key.to_owned(), value.to_owned()));
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.date
            .fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }

    fn env(&self, cmd: &mut Command) {
        let date = format!(
            "{} +0000",
            self.date.load(std::sync::atomic::Ordering::SeqCst)
        );
        cmd.env_clear()
            .env("PATH", path_with_bin())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            // No watchman server unless a test starts its own (tests/cli/fsmonitor.rs): the
            // user's server, if one runs, is not this test's.
            .env("WATCHMAN_SOCK", self.home.join("no-watchman.sock"));
        for (key, value) in self.extra_env.lock().unwrap().iter() {
            cmd.env(key, value);
        }
    }

    pub fn cmd_in(&self, dir: &Path, program: &str, args: &[&str]) -> Out {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(dir);
        self.env(&mut cmd);
        // A directory gone (a racing removal) is a failed command, not a panic.
        let output = match cmd.output() {
            Ok(output) => output,
            Err(e) if !dir.exists() => {
                return Out {
                    code: -1,
                    stdout: String::new(),
                    stderr: format!("running {program} in {}: {e}", dir.display()),
                };
            }
            Err(e) => panic!("running {program}: {e}"),
        };
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs git-session in the main worktree.
    pub fn session(&self, args: &[&str]) -> Out {
        self.cmd_in(&self.root, BIN, args)
    }

    pub fn session_in(&self, dir: &Path, args: &[&str]) -> Out {
        self.cmd_in(dir, BIN, args)
    }

    /// Runs git in the main worktree; panics on failure and returns trimmed stdout.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    #[track_caller]
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.cmd_in(dir, "git", args);
        assert_eq!(out.code, 0, "git {args:?} failed: {}", out.stderr);
        out.stdout.trim_end().to_owned()
    }

    /// Whether the repository at `dir` has the ref `name`.
    pub fn has_ref(&self, dir: &Path, name: &str) -> bool {
        self.cmd_in(dir, "git", &["rev-parse", "-q", "--verify", name])
            .code
            == 0
    }

    /// `new` with --head (no fetch) and the path it printed.
    #[track_caller]
    pub fn new_session(&self, name: &str) -> PathBuf {
        let out = self.session(&["new", "--head", name]).ok();
        PathBuf::from(out.line())
    }

    /// session.yaml as of the session's newest log commit.
    pub fn meta(&self, name: &str) -> serde_json::Value {
        let text = self.git(&["show", &format!("refs/sessions/{name}:session.yaml")]);
        serde_json::to_value(serde_saphyr::from_str::<serde_json::Value>(&text).unwrap()).unwrap()
    }

    pub fn events(&self, name: &str) -> Vec<String> {
        self.git(&[
            "log",
            "--first-parent",
            "--format=%s",
            &format!("refs/sessions/{name}"),
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }
}

pub fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// PATH with the directory of the built binary first, so `git session` finds it.
pub fn path_with_bin() -> String {
    let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
    format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default())
}

impl TestRepo {
    /// Points `refs/sessions/<name>` at a log commit whose session.yaml is `yaml`, as a hand
    /// edit or a fetch from a hostile remote might; on top of the current log when `on_top`.
    pub fn forge_log(&self, name: &str, yaml: &str, on_top: bool) {
        let file = self.home.join("forged-session.yaml");
        std::fs::write(&file, yaml).unwrap();
        let blob = self.git(&["hash-object", "-w", file.to_str().unwrap()]);
        let listing = format!("printf '100644 blob {blob}\\tsession.yaml\\n' | git mktree");
        let tree = self
            .cmd_in(&self.root, "sh", &["-c", &listing])
            .ok()
            .line()
            .to_owned();
        let ref_name = format!("refs/sessions/{name}");
        let mut args = vec!["commit-tree", "-m", "status: edited by hand"];
        if on_top {
            args.extend(["-p", &ref_name]);
        }
        args.push(&tree);
        let commit = self.git(&args);
        self.git(&["update-ref", &ref_name, &commit]);
    }

    /// Creates a repository at `dir` (and its parents) with one commit of one file, `a`.
    pub fn init_repository(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        self.git_in(dir, &["init", "-q"]);
        write_file(&dir.join("a"), "precious\n");
        self.git_in(dir, &["add", "a"]);
        self.git_in(dir, &["commit", "-q", "-m", "precious"]);
    }

    /// Adds a one-commit repository as a submodule at `path` and commits it.
    pub fn add_submodule(&self, path: &str) {
        let sub = self
            .home
            .join(format!("submodule-{}", path.replace('/', "-")));
        std::fs::create_dir_all(&sub).unwrap();
        self.git_in(&sub, &["init", "-q"]);
        std::fs::write(sub.join("s.txt"), "s\n").unwrap();
        self.git_in(&sub, &["add", "-A"]);
        self.git_in(&sub, &["commit", "-q", "-m", "sub"]);
        self.git(&[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            sub.to_str().unwrap(),
            path,
        ]);
        self.git(&["commit", "-q", "-m", "submodule"]);
    }

    /// `git submodule update --init` in a session worktree.
    pub fn init_submodules(&self, worktree: &Path) {
        self.cmd_in(
            worktree,
            "git",
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "update",
                "-q",
                "--init",
            ],
        )
        .ok();
    }
}

/// Every file under `root` (but .git): kind, mode and contents (or link target).
pub fn tree_state(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_symlink() {
                out.insert(
                    rel,
                    format!("link -> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(
                    rel,
                    format!("{:o} {:?}", meta.permissions().mode() & 0o111, bytes),
                );
            }
        }
    }
    out
}

/// A `git daemon` on loopback serving the bare repository `bare` (push enabled), and its
/// URL; None when git has no daemon here. Killed when dropped.
pub fn git_daemon(repo: &TestRepo, bare: &Path) -> Option<(Daemon, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let base = bare.parent()?;
    std::fs::write(bare.join("git-daemon-export-ok"), "").ok()?;
    // `git-daemon` itself, not `git daemon`: git runs it as a child it waits for, and killing
    // git would leave the daemon running after the test.
    let exec_path = repo.git(&["--exec-path"]);
    let child = Command::new(Path::new(&exec_path).join("git-daemon"))
        .args([
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            "--enable=receive-pack",
            &format!("--base-path={}", base.display()),
            base.to_str()?,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let daemon = Daemon(child);
    let url = format!(
        "git://127.0.0.1:{port}/{}",
        bare.file_name()?.to_string_lossy()
    );
    // Wait until it accepts connections (it binds asynchronously).
    for _ in 0..100 {
        if repo.cmd_in(&repo.root, "git", &["ls-remote", &url]).code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some((daemon, url))
}

/// A running `git daemon`, killed when dropped.
pub struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything an undo must give back: the refs (but the operation log's own), and each
/// session worktree's files and status.
#[derive(Debug, PartialEq)]
pub struct State {
    pub refs: String,
    pub worktrees: BTreeMap<String, (BTreeMap<String, String>, String)>,
    pub main: BTreeMap<String, String>,
    /// `git status` of the main worktree.
    pub main_status: String,
    /// The hook files, the git config and info/exclude (hooks install writes them).
    pub git_files: BTreeMap<String, String>,
}

pub fn state(repo: &TestRepo) -> State {
    let refs = repo
        .git(&["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter(|l| !l.starts_with("refs/sessions-oplog"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut worktrees = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(repo.root.join(".worktrees")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join(".git").exists() {
                continue;
            }
            let status = repo.git_in(
                &path,
                &["status", "--porcelain=v1", "--untracked-files=all"],
            );
            worktrees.insert(
                entry.file_name().to_string_lossy().into_owned(),
                (tree_state(&path), status),
            );
        }
    }
    let mut main = tree_state(&repo.root);
    main.retain(|k, _| !k.starts_with(".worktrees/"));
    let git = repo.root.join(".git");
    let mut git_files = tree_state(&git.join("hooks"));
    git_files.retain(|k, _| !k.ends_with(".sample"));
    for file in ["config", "info/exclude"] {
        // The line keeping `.worktrees/` out of `git status` stays once written (see
        // docs/decisions.md): it is the repository's setting, not a session's.
        let text = std::fs::read_to_string(git.join(file)).unwrap_or_default();
        let text = text.replace("# session worktrees (git-session)\n/.worktrees/\n", "");
        git_files.insert(file.to_owned(), text);
    }
    let main_status = repo.git(&["status", "--porcelain=v1", "--untracked-files=all"]);
    State {
        refs,
        worktrees,
        main,
        main_status,
        git_files,
    }
}

/// Fails with only what differs: whole states are too long to read.
#[track_caller]
pub fn same(got: &State, want: &State, what: &str) {
    if got == want {
        return;
    }
    let mut diff = Vec::new();
    if got.main_status != want.main_status {
        diff.push(format!(
            "main status:\n got {}\nwant {}",
            got.main_status, want.main_status
        ));
    }
    if got.refs != want.refs {
        diff.push(format!("refs:\n got {}\nwant {}", got.refs, want.refs));
    }
    let maps = [
        ("main", &got.main, &want.main),
        ("git", &got.git_files, &want.git_files),
    ];
    for (label, g, w) in maps {
        for key in g.keys().chain(w.keys()) {
            if g.get(key) != w.get(key) {
                diff.push(format!(
                    "{label} {key}: got {:?} want {:?}",
                    g.get(key),
                    w.get(key)
                ));
            }
        }
    }
    for key in got.worktrees.keys().chain(want.worktrees.keys()) {
        if got.worktrees.get(key) != want.worktrees.get(key) {
            diff.push(format!(
                "worktree {key}: got {:?} want {:?}",
                got.worktrees.get(key),
                want.worktrees.get(key)
            ));
        }
    }
    diff.dedup();
    panic!("{what}:\n{}", diff.join("\n"));
}

/// A tmux server of the test's own (`TMUX_TMPDIR` under its HOME, set for every command the
/// repository runs), killed when dropped; None without tmux.
pub struct Tmux {
    dir: PathBuf,
}

impl Tmux {
    pub fn start(repo: &TestRepo) -> Option<Tmux> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return None;
        }
        let dir = repo.home.join("t");
        std::fs::create_dir_all(&dir).unwrap();
        repo.set_env("TMUX_TMPDIR", &dir.to_string_lossy());
        Some(Tmux { dir })
    }

    /// Runs tmux against this server (from outside it); its stdout.
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(args)
            .env("TMUX_TMPDIR", &self.dir)
            .env_remove("TMUX")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// Where the `git` on this process's PATH is (for a test's own PATH, or a stand-in that
/// hands over to it).
pub fn real_git() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
