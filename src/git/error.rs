//! The error every in-process git operation returns, with "what we were doing" attached
//! to gix's errors ([`GixContext`]). Its own module so `repo` and `scan`, which both use it,
//! do not depend on each other for it.

use std::path::PathBuf;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("not in a git repository (looked upwards from {})", dir.display())]
    NotARepository { dir: PathBuf },
    #[error(
        "this repository stores refs in the reftable format, which git-session cannot read yet"
    )]
    Reftable,
    #[error(transparent)]
    ConfigParameters(#[from] super::config_env::BogusFormat),
    #[error("{ref_name} was changed by another process while it was being updated")]
    RefConflict { ref_name: String },
    #[error("'{spec}' does not name a commit")]
    BadRevision { spec: String },
    #[error("the index {} cannot be read", path.display())]
    BadIndex { path: PathBuf, source: BoxError },
    #[error("{context}")]
    Gix { context: String, source: BoxError },
}

/// Attaches "what we were doing" to a gix error.
pub trait GixContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, RepoError>;
}

impl<T, E: Into<BoxError>> GixContext<T> for Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, RepoError> {
        self.map_err(|e| RepoError::Gix {
            context: what(),
            source: e.into(),
        })
    }
}
