//! The command-level error: what went wrong in one line, what kind of failure it is (which
//! decides the exit code), and hints that tell the user what to do next.
//!
//! Domain modules return their own typed errors; commands convert them here and add hints
//! where one helps. `main` turns this into the exit code in exactly one place.

use std::fmt;

/// How a failure is classified, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A refused or failed operation (exit 1).
    User,
    /// The command line itself was wrong (exit 2).
    Usage,
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
        CommandError {
            kind: ErrorKind::User,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CommandError {
            kind: ErrorKind::Usage,
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
            ErrorKind::User => 1,
            ErrorKind::Usage => 2,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Renders an error and its sources as one line: `outer: inner: innermost`, skipping
/// sources whose text the outer message already contains.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
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

user_error_from!(
    crate::git::GitError,
    crate::git::RepoError,
    crate::session::StoreError,
    crate::session::NameError,
    crate::worktree::WorktreeError,
    crate::include::IncludeError,
    crate::checkpoint::CheckpointError,
    crate::lifecycle::LifecycleError,
    crate::config::ConfigError,
    std::io::Error,
);
