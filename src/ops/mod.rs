//! Domain operations: every workflow that changes state (create, fork, resume and take-up,
//! retire, rewind, checkpoint, push, fetch, undo, restore, doctor, the hooks' work) takes
//! plain inputs, the command's transaction and a reporter for narration, and returns a
//! report the command renders. Operations never print and never parse flags; commands never
//! call each other, they call these.

pub mod base;
pub mod checkpoint;
pub mod claude;
pub mod create;
pub mod doctor;
pub mod fork;
pub mod gc;
pub mod land;
pub mod rename;
pub mod restore;
pub mod resume;
pub mod retire;
pub mod rewind;
pub mod share;
pub mod sync;
pub mod undo;

/// Where session worktrees go on this machine.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// `session.worktreeDir`, absolute.
    pub worktree_dir: &'a std::path::Path,
    /// The main worktree's root (`.worktreeinclude` files come from it).
    pub main_root: &'a std::path::Path,
}

/// Why an operation failed: a refusal the operation explains itself (with what the user can
/// do about it), or a failure of a layer below.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{message}")]
    Refused { message: String, hints: Vec<String> },
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    #[error(transparent)]
    Create(#[from] create::CreateError),
    #[error(transparent)]
    Rewind(#[from] rewind::RewindError),
    #[error(transparent)]
    Sync(#[from] crate::session::sync::SyncError),
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    #[error(transparent)]
    Store(#[from] crate::session::StoreError),
    #[error(transparent)]
    Repo(#[from] crate::git::RepoError),
    #[error(transparent)]
    Tx(#[from] crate::transaction::TxError),
    #[error(transparent)]
    Worktree(#[from] crate::worktree::WorktreeError),
    #[error(transparent)]
    Remote(#[from] crate::git::RemoteError),
    #[error(transparent)]
    Saved(#[from] crate::session::saved::SavedError),
}

impl OpError {
    pub fn refused(message: impl Into<String>) -> OpError {
        OpError::Refused {
            message: message.into(),
            hints: Vec::new(),
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> OpError {
        if let OpError::Refused { hints, .. } = &mut self {
            hints.push(hint.into());
        }
        self
    }
}

pub type OpResult<T = ()> = Result<T, OpError>;
