//! The command-level error: what went wrong in one line, what kind of failure it is (which
//! decides the exit code), and hints that tell the user what to do next.
//!
//! Domain modules return their own typed errors; each variant is classified here, once, with
//! the hint that helps (as jj's `command_error.rs` does), so callers never match messages as
//! text. `main` turns the result into the exit code in exactly one place.

use std::fmt;

use crate::checkpoint::CheckpointError;
use crate::git::{GitError, RepoError};
use crate::lifecycle::LifecycleError;
use crate::session::StoreError;
use crate::worktree::WorktreeError;

pub use crate::text::one_line;

/// How a failure is classified, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A refused or failed operation (exit 1).
    User,
    /// The command line itself was wrong (exit 2).
    Usage,
    /// git, gix or the file system failed underneath (exit 1, reported as such).
    Internal,
    /// stdout was closed by its reader (`git session list | head`): not a failure (exit 0).
    BrokenPipe,
}

#[derive(Debug)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub hints: Vec<String>,
}

pub type CommandResult<T = ()> = Result<T, CommandError>;

impl CommandError {
    pub fn user(message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::User, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Usage, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Internal, message)
    }

    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::User | ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::BrokenPipe => 0,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failed write of the answer to stdout.
impl From<std::io::Error> for CommandError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            return CommandError::new(ErrorKind::BrokenPipe, "stdout was closed");
        }
        CommandError::internal(one_line(&err))
    }
}

impl From<RepoError> for CommandError {
    fn from(err: RepoError) -> Self {
        let message = one_line(&err);
        match err {
            RepoError::NotARepository { .. }
            | RepoError::BadRevision { .. }
            | RepoError::ConfigParameters(_) => {
                CommandError::user(message)
            }
            RepoError::Reftable => CommandError::user(message)
                .hint("run git-session in a clone that uses the files ref storage"),
            RepoError::RefConflict { .. } => CommandError::user(message)
                .hint("another git-session or git command changed it at the same time; run the command again"),
            RepoError::BadIndex { path, .. } => CommandError::user(message).hint(format!(
                "move it away (`mv '{0}' '{0}.broken'`), then `git reset` in that worktree rebuilds it from HEAD, keeping the files",
                path.display()
            )),
            RepoError::Gix { .. } => CommandError::internal(message),
        }
    }
}

impl From<GitError> for CommandError {
    fn from(err: GitError) -> Self {
        let message = one_line(&err);
        match err {
            GitError::Spawn { .. } => {
                CommandError::internal(message).hint("is git installed and on PATH?")
            }
            GitError::Failed { .. } => CommandError::user(message),
            GitError::TimedOut { .. } => CommandError::user(message),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        let message = one_line(&err);
        match err {
            StoreError::NotFound { .. } => {
                CommandError::user(message).hint("run `git session list --all` to see sessions")
            }
            StoreError::AlreadyExists { name } => CommandError::user(message).hint(format!(
                "`git session resume {}` continues it; or pick another name",
                crate::text::escape(&name)
            )),
            StoreError::Malformed { name, .. } => CommandError::user(message).hint(format!(
                "inspect it with `git show refs/sessions/{0}:session.yaml`; `git session rm {0}` moves it to the trash",
                crate::text::escape(&name)
            )),
            StoreError::Collides { .. } | StoreError::Name(_) | StoreError::BadText { .. } => {
                CommandError::user(message)
            }
            StoreError::Contended { .. } => {
                CommandError::user(message).hint("run the command again")
            }
            StoreError::Repo(e) => e.into(),
        }
    }
}

impl From<WorktreeError> for CommandError {
    fn from(err: WorktreeError) -> Self {
        let message = one_line(&err);
        match err {
            WorktreeError::Git(e) => e.into(),
            WorktreeError::Repo(e) => e.into(),
            WorktreeError::Io { .. } => CommandError::internal(message),
            WorktreeError::PathTaken { .. }
            | WorktreeError::Bare
            | WorktreeError::BranchExists { .. } => CommandError::user(message),
            WorktreeError::PartRemoved { .. } => {
                CommandError::user(message).hint("`git session doctor --fix` finishes the removal")
            }
        }
    }
}

impl From<CheckpointError> for CommandError {
    fn from(err: CheckpointError) -> Self {
        let message = one_line(&err);
        match err {
            CheckpointError::Git(e) => e.into(),
            CheckpointError::Repo(e) => e.into(),
            CheckpointError::OperationInProgress(..) => {
                CommandError::user(message).hint("finish or abort it, then try again")
            }
            CheckpointError::Locked(_) => CommandError::user(message)
                .hint("wait for that git process to finish; if none is running, delete the file"),
            CheckpointError::WouldOverwriteAssumed(ref paths) => CommandError::user(message).hint(
                format!(
                    "`git update-index --no-assume-unchanged -- {}` lets checkpoints hold them, or move them away first",
                    paths
                        .iter()
                        .map(|p| crate::text::shell_quote(p))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
            CheckpointError::Bare
            | CheckpointError::UnsafePath(..)
            | CheckpointError::WouldOverwriteIgnored(_)
            | CheckpointError::WouldOverwriteRepositories(_) => CommandError::user(message),
            // Handled inside the capture; were it to get out, it is an internal failure.
            CheckpointError::StandIn => CommandError::internal(message),
        }
    }
}

impl From<LifecycleError> for CommandError {
    fn from(err: LifecycleError) -> Self {
        match err {
            LifecycleError::Store(e) => e.into(),
            LifecycleError::Worktree(e) => e.into(),
            LifecycleError::Checkpoint(e) => e.into(),
            LifecycleError::Repo(e) => e.into(),
            LifecycleError::NoWorktree { ref name } => {
                let name = crate::text::escape(name);
                CommandError::user(one_line(&err))
                    .hint(format!("`git session resume {name}` recreates it"))
            }
            LifecycleError::Interrupted { ref name, .. } => {
                let name = crate::text::escape(name);
                CommandError::user(one_line(&err))
                    .hint(format!("`git session resume {name}` finishes it"))
            }
            LifecycleError::StillAside { .. } => CommandError::user(one_line(&err))
                .hint("`git session doctor` says what keeps it there; `doctor --fix` puts it back"),
            LifecycleError::Busy(_) => CommandError::user(one_line(&err))
                .hint("wait for it to finish, then run the command again"),
            LifecycleError::Tx(e) => e.into(),
            other => CommandError::user(one_line(&other)),
        }
    }
}

impl From<crate::ops::create::CreateError> for CommandError {
    fn from(err: crate::ops::create::CreateError) -> Self {
        use crate::ops::create::CreateError;
        let message = one_line(&err);
        match err {
            CreateError::Store(e) => e.into(),
            CreateError::Lifecycle(e) => e.into(),
            CreateError::Worktree(e) => e.into(),
            CreateError::Repo(e) => e.into(),
            CreateError::Tx(e) => e.into(),
            CreateError::Local { .. } => CommandError::internal(message),
            CreateError::BranchExists { .. }
            | CreateError::PathTaken { .. }
            | CreateError::BadBranch(_) => CommandError::user(message),
        }
    }
}

impl From<crate::git_hooks::HooksError> for CommandError {
    fn from(err: crate::git_hooks::HooksError) -> Self {
        use crate::git_hooks::HooksError;
        let message = one_line(&err);
        match err {
            HooksError::Repo(e) => e.into(),
            HooksError::Git(e) => e.into(),
            HooksError::Io { .. } => CommandError::internal(message),
            HooksError::NoWorktree => CommandError::user(message),
        }
    }
}

impl From<crate::git::RemoteError> for CommandError {
    fn from(err: crate::git::RemoteError) -> Self {
        use crate::git::RemoteError;
        let message = one_line(&err);
        match err {
            RemoteError::Git(e) => e.into(),
            RemoteError::NoRemote { .. } => CommandError::user(message)
                .hint("name a remote, set session.remote, or add one with `git remote add`"),
            RemoteError::BadRemoteName { .. } | RemoteError::FetchHead { .. } => {
                CommandError::user(message)
            }
        }
    }
}

impl From<crate::session::sync::SyncError> for CommandError {
    fn from(err: crate::session::sync::SyncError) -> Self {
        use crate::session::sync::SyncError;
        let message = one_line(&err);
        match err {
            SyncError::Store(e) => e.into(),
            SyncError::Repo(e) => e.into(),
            SyncError::Remote(e) => e.into(),
            SyncError::Rejected { remote, .. } => CommandError::user(message)
                .hint(format!(
                    "someone else advanced it: `git session fetch {remote}`, then `git session list --all` shows how the copies differ"
                ))
                .hint(
                    "when both sides have events (diverged), publish yours under another name: `git session rename <name> <new>` (or `fork`), then push that",
                ),
            SyncError::NotesContended => CommandError::user(message).hint("run the command again"),
            SyncError::Hostile { .. } | SyncError::HostileNotes { .. } => {
                CommandError::user(message)
                    .hint("ask whoever pushed it; nothing from it was used here")
            }
        }
    }
}

macro_rules! user_error_from {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for CommandError {
            fn from(err: $ty) -> Self {
                CommandError::user(one_line(&err))
            }
        }
    )*};
}

// Errors whose every variant is a refused operation with nothing more to say.
user_error_from!(
    crate::session::NameError,
    crate::config::ConfigError,
    crate::session::MetaError,
);

impl From<crate::include::IncludeError> for CommandError {
    fn from(err: crate::include::IncludeError) -> Self {
        // Every variant is a file system failure while reading or copying.
        CommandError::internal(one_line(&err))
    }
}

impl From<crate::port::PortError> for CommandError {
    fn from(err: crate::port::PortError) -> Self {
        use crate::port::PortError;
        let message = one_line(&err);
        match err {
            PortError::Exhausted { .. } => CommandError::user(message)
                .hint("widen session.portRange, or end sessions you no longer need"),
            PortError::Local { .. } => CommandError::internal(message),
        }
    }
}

impl From<crate::post_create::SetupError> for CommandError {
    fn from(err: crate::post_create::SetupError) -> Self {
        use crate::post_create::SetupError;
        let message = one_line(&err);
        match err {
            SetupError::Failed { .. } => CommandError::user(message),
            SetupError::Spawn { .. } | SetupError::Approvals { .. } => {
                CommandError::internal(message)
            }
        }
    }
}

impl From<crate::agent::claude::PayloadError> for CommandError {
    fn from(err: crate::agent::claude::PayloadError) -> Self {
        // Claude Code sent something this version cannot use: it shows the line and aborts.
        CommandError::user(one_line(&err))
    }
}

impl From<crate::transaction::TxError> for CommandError {
    fn from(err: crate::transaction::TxError) -> Self {
        use crate::transaction::TxError;
        match err {
            TxError::Store(e) => e.into(),
            TxError::Repo(e) => e.into(),
            TxError::OpLog(e) => e.into(),
            TxError::Local { .. } => CommandError::internal(one_line(&err)),
            TxError::Locked { .. } => CommandError::user(one_line(&err)).hint(
                "if no git is running, remove the file (`git session doctor --fix` removes it once it is a minute old)",
            ),
        }
    }
}

impl From<crate::oplog::OpLogError> for CommandError {
    fn from(err: crate::oplog::OpLogError) -> Self {
        use crate::oplog::OpLogError;
        let message = one_line(&err);
        match err {
            OpLogError::Repo(e) => e.into(),
            OpLogError::Io { .. } => CommandError::internal(message),
            OpLogError::NotFound(_) | OpLogError::Ambiguous(_) => CommandError::user(message),
        }
    }
}

impl From<crate::ops::rewind::RewindError> for CommandError {
    fn from(err: crate::ops::rewind::RewindError) -> Self {
        use crate::ops::rewind::RewindError;
        match err {
            RewindError::Refused { source, path } => CommandError::from(source)
                .hint(format!("nothing was changed in {}", path.display())),
            RewindError::PartWay {
                ref pre, ref name, ..
            } => {
                let undo = format!(
                    "git session rewind {} {}",
                    crate::git::short_id(*pre),
                    crate::text::escape(name)
                );
                CommandError::user(one_line(&err)).hint(format!("`{undo}` restores it"))
            }
            RewindError::Lifecycle(e) => e.into(),
        }
    }
}

impl From<crate::ops::OpError> for CommandError {
    fn from(err: crate::ops::OpError) -> Self {
        use crate::ops::OpError;
        match err {
            OpError::Refused { message, hints } => CommandError {
                kind: ErrorKind::User,
                message: crate::text::escape(&message),
                hints,
            },
            OpError::Lifecycle(e) => e.into(),
            OpError::Create(e) => e.into(),
            OpError::Rewind(e) => e.into(),
            OpError::Sync(e) => e.into(),
            OpError::Checkpoint(e) => e.into(),
            OpError::Store(e) => e.into(),
            OpError::Repo(e) => e.into(),
            OpError::Tx(e) => e.into(),
            OpError::Worktree(e) => e.into(),
            OpError::Remote(e) => e.into(),
            OpError::Saved(e) => CommandError::user(one_line(&e)),
        }
    }
}

impl From<crate::post_create::RunError> for CommandError {
    fn from(err: crate::post_create::RunError) -> Self {
        use crate::post_create::RunError;
        match err {
            RunError::Setup(e) => e.into(),
            RunError::Config(e) => e.into(),
            RunError::Port(e) => e.into(),
            RunError::Store(e) => e.into(),
        }
    }
}
