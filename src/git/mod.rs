//! The only code that talks to git: [`Repo`] wraps gix for everything in-process (refs,
//! objects, config, status, ignore rules), and [`runner`] runs the user's own `git` for what
//! gix does not offer or must not do (worktree add/move/remove, fetch, push, index writes;
//! the one exception, the stat data a scan verified, is [`index_refresh`]).

pub mod batch;
pub mod capture_memo;
pub mod config_env;
pub mod error;
pub mod exclude;
pub mod fsmonitor;
pub mod index_refresh;
pub mod index_tree;
pub mod merge;
pub mod notes;
pub mod pathspec;
pub mod remote;
pub mod repo;
pub mod runner;
pub mod scan;
pub mod writes;

pub use remote::RemoteError;
pub use repo::{
    CommitInfo, Expect, GixContext, IgnoredEntry, IgnoredKind, ObjectId, Presence, RefUpdate, Repo,
    RepoError, TreeChange, TreeEntry, WorktreeInfo, canonical, clean_path, gitignore_literal,
    normalize, printable_path, short_id, with_short_paths,
};
pub use runner::{GitCommand, GitError, git, git_root};
