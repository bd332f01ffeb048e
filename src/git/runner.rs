//! The one way git-session runs the user's own `git`: for what gix does not offer (creating,
//! moving and removing linked worktrees, fetch, push) and for writes to a user's index.
//!
//! Every command runs in an explicit directory with the repository-locating variables that
//! git exports to hooks (`GIT_DIR`, `GIT_INDEX_FILE`, `GIT_WORK_TREE` …) removed, so it acts on
//! the worktree it is pointed at and never on the one a hook happens to run in. Failures carry
//! the argv and git's stderr.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Variables `git rev-parse --local-env-vars` lists, minus `GIT_CONFIG_PARAMETERS` and
/// `GIT_CONFIG_COUNT` (the user's `git -c` settings, which should still apply).
pub const LOCAL_ENV_VARS: &[&str] = &[
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// At most this many of its last stdout lines tell why git failed when it said nothing on
/// stderr.
const STDOUT_LINES_TOLD: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("could not run `git {argv}` in {}", dir.display())]
    Spawn {
        argv: String,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("`git {argv}` failed{}: {}", exit_text(*code), stderr_text(stderr))]
    Failed {
        argv: String,
        code: Option<i32>,
        stderr: String,
    },
    #[error("`git {argv}` did not finish within {} s", timeout.as_secs())]
    TimedOut { argv: String, timeout: Duration },
}

fn exit_text(code: Option<i32>) -> String {
    code.map(|c| format!(" (exit {c})")).unwrap_or_default()
}

fn stderr_text(stderr: &str) -> String {
    let text: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if text.is_empty() {
        "no message from git (or it is above, on the terminal)".to_owned()
    } else {
        text.join(" / ")
    }
}

/// What a finished `git` printed, and how it exited.
#[derive(Debug, Clone)]
pub struct RawOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A `git` invocation being built.
#[derive(Debug, Clone)]
pub struct GitCommand {
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    /// Let git draw its progress on our stderr when that is a terminal.
    progress: bool,
    /// `dir` is a worktree's root ([`git_root`]): refused when its `.git` is gone.
    root: bool,
}

/// Starts a `git` command that runs in `dir`.
pub fn git(dir: impl Into<PathBuf>) -> GitCommand {
    GitCommand {
        dir: dir.into(),
        args: Vec::new(),
        env: Vec::new(),
        progress: false,
        root: false,
    }
}

/// Starts a `git` command that runs in `root`, the top of a worktree, and never acts on a
/// repository above it: a worktree whose `.git` file is gone (a removal killed part-way)
/// makes git fail there instead of finding the worktree around it and changing that one.
///
/// Two guards: the command is refused when `root/.git` is gone, and git is told never to
/// look above `root` (`GIT_CEILING_DIRECTORIES`, which a path with a `:` defeats).
pub fn git_root(root: impl Into<PathBuf>) -> GitCommand {
    let mut cmd = git(root);
    cmd.root = true;
    match cmd.dir.parent().map(Path::to_path_buf) {
        Some(parent) if !parent.as_os_str().is_empty() => {
            cmd.env("GIT_CEILING_DIRECTORIES", parent)
        }
        _ => cmd,
    }
}

impl GitCommand {
    /// Shows git's own progress (for work that can take more than a second): when stderr is
    /// a terminal, git writes to it directly, so a failure's message is on the terminal
    /// rather than in the error. Nothing changes when stderr is not a terminal.
    pub fn with_progress(mut self) -> Self {
        use std::io::IsTerminal;
        self.progress = std::io::stderr().is_terminal();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn argv(&self) -> String {
        self.args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn expression(&self) -> duct::Expression {
        let mut expr = duct::cmd("git", &self.args).dir(&self.dir);
        // duct applies the innermost change last, so a variable set below must not be removed
        // here (it would stay removed).
        for var in LOCAL_ENV_VARS {
            if !self.env.iter().any(|(key, _)| key == var) {
                expr = expr.env_remove(var);
            }
        }
        // git-session's own git commands (`worktree add` runs post-checkout, `push` runs
        // pre-push) do not call back into its hook handler; the user's other hooks still run.
        expr = expr.env("GIT_SESSION_HOOKS", "0");
        for (key, value) in &self.env {
            expr = expr.env(key, value);
        }
        // A step that holds off signals: Ctrl-C at the terminal must not reach git either.
        if crate::signals::held() {
            expr = expr.before_spawn(|cmd| {
                use std::os::unix::process::CommandExt;
                cmd.process_group(0);
                Ok(())
            });
        }
        let expr = expr.stdout_capture().stdin_null().unchecked();
        // Not while signals are held: git then runs in a background process group, and a
        // terminal set to `tostop` would stop it (SIGTTOU) at its first line there.
        if self.progress && !crate::signals::held() {
            expr
        } else {
            expr.stderr_capture()
        }
    }

    fn finish(&self, output: std::process::Output) -> Result<String, GitError> {
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        // Some failures are told on stdout only (`git merge`'s `CONFLICT (content): …`): its
        // last lines, where the reason is.
        let said = if stderr.trim().is_empty() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
            lines[lines.len().saturating_sub(STDOUT_LINES_TOLD)..].join("\n")
        } else {
            stderr
        };
        Err(GitError::Failed {
            argv: self.argv(),
            code: output.status.code(),
            stderr: said,
        })
    }

    fn spawn_error(&self, source: std::io::Error) -> GitError {
        GitError::Spawn {
            argv: self.argv(),
            dir: self.dir.clone(),
            source,
        }
    }

    /// For a command in a worktree's root: that its `.git` is there.
    fn check_root(&self) -> Result<(), GitError> {
        if self.root && std::fs::symlink_metadata(self.dir.join(".git")).is_err() {
            return Err(self.spawn_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it is no worktree: its .git is gone (a removal was interrupted? `git session doctor` looks)",
            )));
        }
        Ok(())
    }

    /// Runs the command and returns its stdout; a non-zero exit is an error with git's stderr.
    pub fn run(&self) -> Result<String, GitError> {
        self.check_root()?;
        let output = self.expression().run().map_err(|e| self.spawn_error(e))?;
        self.finish(output)
    }

    /// Runs the command and returns what it did, whatever its exit status, giving up (and
    /// killing git) after `timeout`.
    pub fn output_with_timeout(&self, timeout: Duration) -> Result<RawOutput, GitError> {
        let output = self.wait_with_timeout(timeout)?;
        Ok(RawOutput {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn wait_with_timeout(&self, timeout: Duration) -> Result<std::process::Output, GitError> {
        self.check_root()?;
        let handle = self.expression().start().map_err(|e| self.spawn_error(e))?;
        wait_deadline(&handle, timeout)
            .map_err(|e| self.spawn_error(e))?
            .ok_or_else(|| GitError::TimedOut {
                argv: self.argv(),
                timeout,
            })
    }

    /// Like [`run`](Self::run), but gives up (and kills git) after `timeout`.
    pub fn run_with_timeout(&self, timeout: Duration) -> Result<String, GitError> {
        let output = self.wait_with_timeout(timeout)?;
        self.finish(output)
    }
}

/// The editor git itself would open (`GIT_EDITOR`, `core.editor`, `VISUAL`, `EDITOR`, then
/// its default), as `git var GIT_EDITOR` says; None when git cannot say.
pub fn editor(dir: &Path) -> Option<String> {
    git(dir)
        .args(["var", "GIT_EDITOR"])
        .run()
        .ok()
        .map(|out| out.trim().to_owned())
        .filter(|e| !e.is_empty())
}

/// Waits for a started process for at most `timeout`; None (and the process killed) when it
/// did not end in time.
pub fn wait_deadline(
    handle: &duct::Handle,
    timeout: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    // Woken by the child's exit (SIGCHLD), not by polling: a poll every few milliseconds
    // made every git run here a few milliseconds longer than git.
    match handle.wait_deadline(deadline)? {
        Some(output) => Ok(Some(output.clone())),
        None => {
            let _ = handle.kill();
            Ok(None)
        }
    }
}

/// Starts `cmd` detached from this process's input and output (nobody waits for its pipes),
/// without the repository variables a git hook runs with.
pub fn start_detached(mut cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for var in LOCAL_ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_ends_a_process_that_runs_on_and_not_one_that_ends() {
        let started = Instant::now();
        let slow = duct::cmd!("sleep", "5").stdout_capture().start().unwrap();
        assert!(
            wait_deadline(&slow, Duration::from_millis(100))
                .unwrap()
                .is_none()
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let quick = duct::cmd!("true").stdout_capture().start().unwrap();
        let out = wait_deadline(&quick, Duration::from_secs(5)).unwrap();
        assert!(out.is_some_and(|o| o.status.success()));
    }

    #[test]
    fn failure_names_argv_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = git(dir.path())
            .args(["rev-parse", "--verify", "no-such-rev"])
            .run()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`git rev-parse --verify no-such-rev` failed (exit 128)"),
            "{text}"
        );
        assert!(text.contains("not a git repository"), "{text}");
    }

    /// A worktree root whose `.git` is gone inside a repository (a removal killed part-way):
    /// git is never run there, so it cannot act on the repository around it; a root with a
    /// `:` in its path (where the ceiling does not hold) is refused the same way.
    #[test]
    fn a_root_without_its_git_never_reaches_the_repository_around_it() {
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path().join("outer:v2");
        std::fs::create_dir_all(outer.join("inner")).unwrap();
        git(&outer).args(["init", "-q"]).run().unwrap();
        let err = git_root(outer.join("inner"))
            .args(["rev-parse", "--show-toplevel"])
            .run()
            .unwrap_err();
        let why = std::error::Error::source(&err).map(|s| s.to_string());
        assert!(
            why.as_deref().is_some_and(|w| w.contains(".git is gone")),
            "{err}: {why:?}"
        );
        let top = git_root(&outer)
            .args(["rev-parse", "--show-toplevel"])
            .run()
            .unwrap();
        assert_eq!(
            std::path::Path::new(top.trim()),
            outer.canonicalize().unwrap()
        );
    }
}
