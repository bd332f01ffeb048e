//! Setup commands (`session.postCreate`) and the per-session environment they and
//! `git session env` give: `GIT_SESSION_NAME`, `GIT_SESSION_ID`, `GIT_SESSION_PORT`,
//! `GIT_SESSION_MAIN` and friends.
//!
//! A command from the tracked `.git-session.yaml` arrives with a pull, so it never runs until
//! the user approved that exact text on this machine (DESIGN §4); approvals live in
//! `$GIT_COMMON_DIR/session/approved-commands.json`, machine-local and never pushed. Commands
//! from the user's own git config need none. Commands run through `sh -c` in the worktree,
//! without the repository-locating variables git exports to hooks, with their output on
//! stderr (stdout is the caller's answer, e.g. the path Claude Code reads).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config, Origin};

pub const APPROVALS_FILE: &str = "approved-commands.json";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed{}", code.map(|c| format!(" (exit {c})")).unwrap_or_else(|| " (killed by a signal)".into()))]
    Failed { command: String, code: Option<i32> },
    #[error("could not record the approval in {}", path.display())]
    Approvals {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One setup command and whether it came from the tracked file (and so needs approval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupCommand {
    pub command: String,
    pub tracked: bool,
}

/// The setup commands to run in a new worktree, in order (blank ones left out).
pub fn commands(config: &Config) -> Vec<SetupCommand> {
    commands_of(config, &config::POST_CREATE)
}

/// The commands a multi-valued key lists (`session.postCreate`, `session.preLand`), in
/// order, blank ones left out; those from the tracked file need approval.
pub fn commands_of(config: &Config, key: &config::Key) -> Vec<SetupCommand> {
    config
        .list(key)
        .into_iter()
        .filter(|item| !item.value.trim().is_empty())
        .map(|item| SetupCommand {
            command: item.value,
            tracked: item.origin == Origin::SharedFile,
        })
        .collect()
}

/// The command texts approved on this machine.
pub struct Approvals {
    path: PathBuf,
    approved: BTreeSet<String>,
}

#[derive(Serialize, serde::Deserialize, Default)]
struct ApprovalsFile {
    approved: BTreeSet<String>,
}

impl Approvals {
    /// Reads the approvals (none when the file is missing or unreadable: nothing runs).
    pub fn load(common_dir: &Path) -> Approvals {
        let path = common_dir.join("session").join(APPROVALS_FILE);
        let approved = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ApprovalsFile>(&b).ok())
            .unwrap_or_default()
            .approved;
        Approvals { path, approved }
    }

    /// Whether `command` may run: it is the user's own, or its exact text was approved.
    pub fn allows(&self, command: &SetupCommand) -> bool {
        !command.tracked || self.approved.contains(&command.command)
    }

    /// Approves these exact texts (written atomically).
    pub fn approve<'a>(
        &mut self,
        commands: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SetupError> {
        self.approved
            .extend(commands.into_iter().map(str::to_owned));
        let error = |source| SetupError::Approvals {
            path: self.path.clone(),
            source,
        };
        let file = ApprovalsFile {
            approved: self.approved.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("approvals serialize");
        crate::fsutil::write_atomic(&self.path, &bytes, None).map_err(error)
    }
}

/// The environment of a session, for setup commands and `git session env`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionEnv {
    #[serde(rename = "GIT_SESSION_NAME")]
    pub name: String,
    #[serde(rename = "GIT_SESSION_ID")]
    pub id: String,
    #[serde(rename = "GIT_SESSION_PORT")]
    pub port: u16,
    /// The main worktree.
    #[serde(rename = "GIT_SESSION_MAIN")]
    pub main: PathBuf,
    #[serde(rename = "GIT_SESSION_BRANCH")]
    pub branch: String,
    /// The session's worktree, when it has one here.
    #[serde(
        rename = "GIT_SESSION_WORKTREE",
        skip_serializing_if = "Option::is_none"
    )]
    pub worktree: Option<PathBuf>,
}

impl SessionEnv {
    /// Variable names and values, in a fixed order.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("GIT_SESSION_NAME", self.name.clone()),
            ("GIT_SESSION_ID", self.id.clone()),
            ("GIT_SESSION_PORT", self.port.to_string()),
            ("GIT_SESSION_MAIN", self.main.to_string_lossy().into_owned()),
            ("GIT_SESSION_BRANCH", self.branch.clone()),
        ];
        if let Some(worktree) = &self.worktree {
            vars.push((
                "GIT_SESSION_WORKTREE",
                worktree.to_string_lossy().into_owned(),
            ));
        }
        vars
    }

    /// `export NAME='value'` lines, for `eval "$(git session env)"`.
    pub fn exports(&self) -> String {
        self.vars()
            .into_iter()
            .map(|(name, value)| format!("export {name}={}\n", crate::text::shell_quote(&value)))
            .collect()
    }
}

/// Runs `command` with `sh -c` in `dir`, its stdout and stderr going to this process's
/// stderr, stdin closed.
pub fn run(command: &str, dir: &Path, env: &SessionEnv) -> Result<(), SetupError> {
    let mut expr = duct::cmd("sh", ["-c", command]).dir(dir);
    for var in crate::git::runner::LOCAL_ENV_VARS {
        expr = expr.env_remove(var);
    }
    for (name, value) in env.vars() {
        expr = expr.env(name, value);
    }
    let status = expr
        .stdout_to_stderr()
        .stdin_null()
        .unchecked()
        .run()
        .map_err(|source| SetupError::Spawn {
            command: command.to_owned(),
            source,
        })?
        .status;
    if status.success() {
        Ok(())
    } else {
        Err(SetupError::Failed {
            command: command.to_owned(),
            code: status.code(),
        })
    }
}

/// Asks the person whether a command from the tracked file may run (and so be approved):
/// the command layer answers, with a y/N prompt on a terminal, false elsewhere.
pub trait Approver {
    fn ask(&self, command: &SetupCommand) -> bool;
}

/// Never approves (no terminal to ask on).
pub struct NoApprover;

impl Approver for NoApprover {
    fn ask(&self, _command: &SetupCommand) -> bool {
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Port(#[from] crate::port::PortError),
    #[error(transparent)]
    Store(#[from] crate::session::StoreError),
}

/// The session's environment; assigns its port on first use.
pub fn session_env(
    repo: &crate::git::Repo,
    local: &crate::session::LocalStore,
    config: &Config,
    main_root: &Path,
    session: &crate::session::Session,
    worktree: Option<&Path>,
) -> Result<SessionEnv, RunError> {
    let range = config.port_range()?;
    let live: std::collections::HashSet<String> = crate::session::Store::new(repo)
        .list()?
        .into_iter()
        .flatten()
        .filter(|s| s.meta.status.is_open())
        .map(|s| s.meta.id)
        .collect();
    let port = crate::port::ensure(local, &live, &session.meta.id, session.name(), range)?;
    Ok(SessionEnv {
        name: session.meta.name.clone(),
        id: session.meta.id.clone(),
        port,
        main: main_root.to_owned(),
        branch: session.meta.branch.clone(),
        worktree: worktree.map(Path::to_owned),
    })
}

/// Runs each setup command in `path` (those from the tracked file only once approved);
/// returns how many failed. Their output goes to stderr.
#[allow(clippy::too_many_arguments)]
pub fn run_commands(
    repo: &crate::git::Repo,
    local: &crate::session::LocalStore,
    config: &Config,
    main_root: &Path,
    session: &crate::session::Session,
    path: &Path,
    approver: &dyn Approver,
    reporter: &dyn crate::report::Reporter,
) -> Result<usize, RunError> {
    let commands = commands(config);
    if commands.is_empty() {
        return Ok(0);
    }
    let env = session_env(repo, local, config, main_root, session, Some(path))?;
    let mut approvals = Approvals::load(&repo.common_dir());
    let mut failed = 0;
    for command in &commands {
        if !approvals.allows(command) {
            if approver.ask(command) {
                approvals.approve([command.command.as_str()])?;
                reporter.status("Approved");
            } else {
                reporter.warn(&format!(
                    "skipped setup command `{}` from {}: not approved on this machine; read it, approve it with `git session approve -- '<the command>'`, then run `git session setup {}`",
                    command.command,
                    config::SHARED_FILE,
                    session.name()
                ));
                continue;
            }
        }
        reporter.status(&format!("Running setup command `{}`", command.command));
        if let Err(e) = run(&command.command, path, &env) {
            reporter.warn(&crate::text::one_line(&e));
            failed += 1;
        }
    }
    Ok(failed)
}

/// Runs the setup commands in a newly made worktree. A failure is a warning (the session
/// exists), with the command that runs them again.
#[allow(clippy::too_many_arguments)]
pub fn after_create(
    repo: &crate::git::Repo,
    local: &crate::session::LocalStore,
    config: &Config,
    main_root: &Path,
    session: &crate::session::Session,
    path: &Path,
    approver: &dyn Approver,
    reporter: &dyn crate::report::Reporter,
) {
    match run_commands(
        repo, local, config, main_root, session, path, approver, reporter,
    ) {
        Ok(0) => {}
        Ok(_) => reporter.hint(&format!(
            "fix it, then run the setup commands again with `git session setup {}`",
            session.name()
        )),
        Err(e) => {
            reporter.warn(&format!(
                "setup commands not run: {}",
                crate::text::one_line(&e)
            ));
            reporter.hint(&format!(
                "run them with `git session setup {}`",
                session.name()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> SessionEnv {
        SessionEnv {
            name: "a/b".into(),
            id: "123".into(),
            port: 10001,
            main: PathBuf::from("/repo it's"),
            branch: "session/a/b".into(),
            worktree: None,
        }
    }

    #[test]
    fn exports_are_shell_quoted() {
        assert_eq!(crate::text::shell_quote("it's"), r"'it'\''s'");
        let text = env().exports();
        assert!(text.contains("export GIT_SESSION_PORT='10001'\n"), "{text}");
        assert!(
            text.contains(r"export GIT_SESSION_MAIN='/repo it'\''s'"),
            "{text}"
        );
        let out = duct::cmd(
            "sh",
            ["-c", &format!("{text}printf %s \"$GIT_SESSION_MAIN\"")],
        )
        .read()
        .unwrap();
        assert_eq!(out, "/repo it's");
    }

    #[test]
    fn approvals_are_per_exact_text_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let tracked = |c: &str| SetupCommand {
            command: c.into(),
            tracked: true,
        };
        let mut approvals = Approvals::load(dir.path());
        assert!(!approvals.allows(&tracked("npm ci")));
        assert!(approvals.allows(&SetupCommand {
            command: "npm ci".into(),
            tracked: false
        }));
        approvals.approve(["npm ci"]).unwrap();
        let again = Approvals::load(dir.path());
        assert!(again.allows(&tracked("npm ci")));
        assert!(!again.allows(&tracked("npm ci ")));
    }

    #[test]
    fn commands_run_in_the_worktree_with_the_session_env() {
        let dir = tempfile::tempdir().unwrap();
        run(
            "printf '%s %s' \"$GIT_SESSION_NAME\" \"$GIT_SESSION_PORT\" > out",
            dir.path(),
            &env(),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out")).unwrap(),
            "a/b 10001"
        );
        let err = run("exit 3", dir.path(), &env()).unwrap_err();
        assert_eq!(err.to_string(), "`exit 3` failed (exit 3)");
    }
}
