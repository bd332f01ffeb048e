//! Checkpoints: a commit whose tree is the whole working tree (tracked files as they are on
//! disk plus untracked, not ignored files) and whose first parent is the worktree's HEAD, so
//! `git diff <ckpt>^ <ckpt>` is exactly the uncommitted work (DESIGN §2).
//!
//! This version builds the tree the way stock git would, with a throwaway copy of the index
//! (`GIT_INDEX_FILE=<copy> git add -A && git write-tree`), so the user's index, HEAD and
//! files are never touched.

use std::path::{Path, PathBuf};

use crate::git::{GitError, ObjectId, Repo, RepoError, git};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("could not prepare a scratch index in {}", dir.display())]
    Scratch {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("git printed an unexpected tree id '{0}'")]
    BadTree(String),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A snapshot of a worktree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub commit: ObjectId,
    pub tree: ObjectId,
    pub head: Option<ObjectId>,
}

/// Snapshots the worktree that `worktree` was opened on, committing it with `message`.
pub fn snapshot(worktree: &Repo, message: &str) -> Result<Snapshot, CheckpointError> {
    let root = worktree.workdir().ok_or_else(|| RepoError::Gix {
        context: "a checkpoint needs a worktree".into(),
        source: "the repository is bare".into(),
    })?;
    let git_dir = worktree.git_dir();
    let tree = write_worktree_tree(&root, &git_dir)?;
    let head = worktree.head_commit()?;
    let parents: Vec<ObjectId> = head.into_iter().collect();
    let commit = worktree.write_commit(tree, &parents, &format!("checkpoint: {message}\n"))?;
    Ok(Snapshot { commit, tree, head })
}

fn write_worktree_tree(root: &Path, git_dir: &Path) -> Result<ObjectId, CheckpointError> {
    let scratch_err = |source| CheckpointError::Scratch {
        dir: git_dir.to_owned(),
        source,
    };
    let scratch = tempfile::Builder::new()
        .prefix("session-index-")
        .tempfile_in(git_dir)
        .map_err(scratch_err)?;
    let index = git_dir.join("index");
    if index.exists() {
        std::fs::copy(&index, scratch.path()).map_err(scratch_err)?;
    } else {
        // git wants either no file or a valid index: start from nothing.
        std::fs::remove_file(scratch.path()).map_err(scratch_err)?;
    }
    let with_scratch = |args: &[&str]| {
        git(root)
            .args(args)
            .env("GIT_INDEX_FILE", scratch.path())
            .run()
    };
    with_scratch(&["add", "-A", "--", "."])?;
    let out = with_scratch(&["write-tree"])?;
    let text = out.trim();
    let tree = ObjectId::from_hex(text.as_bytes())
        .map_err(|_| CheckpointError::BadTree(text.to_owned()))?;
    Ok(tree)
}
