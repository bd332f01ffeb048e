//! Machine-local session state under `$GIT_COMMON_DIR/session/`: where a session's worktree
//! is on this machine, when it was last active, and whether this machine created its branch.
//! Never pushed; keyed by session id so a rename does not lose it. Session metadata may come
//! from a remote, so each record also says which session name and branch it was made for:
//! a fetched session that reuses another's id, or names another branch, gets none of it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalState {
    /// Absolute path of the session's worktree on this machine.
    #[serde(default)]
    pub worktree: Option<PathBuf>,
    /// Seconds since the epoch of the last command that touched the session here.
    #[serde(default)]
    pub last_active: Option<i64>,
    /// Whether git-session created the branch here (only then does it delete it).
    #[serde(default)]
    pub branch_created: bool,
    /// The session name the worktree was recorded for.
    #[serde(default)]
    pub name: Option<String>,
    /// The branch that `branch_created` is about.
    #[serde(default)]
    pub branch: Option<String>,
    /// The `.worktreeinclude` copy into the worktree started and has not finished (the
    /// process was killed): the next `resume` or `new` of the session finishes it.
    #[serde(default)]
    pub includes_pending: bool,
    /// When the worktree was created (nanoseconds since the epoch, this machine's clock).
    /// Included files modified after it were changed or created by the session.
    #[serde(default)]
    pub worktree_created_ns: Option<u64>,
    /// The session's port on this machine (`GIT_SESSION_PORT`), kept for its life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The transcript of the agent working in the session (Claude Code's `transcript_path`):
    /// a path on this machine, so never in session.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_transcript: Option<PathBuf>,
    /// A checkpoint being put into a worktree made for it (fork, resume) or brought up to
    /// date (catch-up), not yet finished: a killed process leaves it, and the next `resume`
    /// finishes the restore as `rewind` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_pending: Option<String>,
    /// `git worktree add` of the worktree started and was not seen to finish: a killed
    /// process leaves a half-made checkout (no index, git's `initializing` lock), which the
    /// next command salvages and makes again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub checkout_pending: bool,
    /// When a commit last started a look for uncommitted work to checkpoint (committer time,
    /// seconds): commits within `session.checkpointInterval` after it start none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_checkpoint_at: Option<i64>,
    /// The last checkpoint taken or found equal here, and what its capture was as of: while
    /// the file-system monitor says the worktree has not changed since (and HEAD has not
    /// moved), the next checkpoint is that one, without a scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<CapturedAsOf>,
    /// What the session's agent last reported it is doing (`crate::agent::state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_state: Option<crate::agent::state::AgentReport>,
}

/// See [`LocalState::captured`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedAsOf {
    pub checkpoint: String,
    pub head: Option<String>,
    pub seen: crate::git::fsmonitor::Seen,
}

impl LocalState {
    /// The recorded worktree, when the record was made for a session of this name.
    pub fn worktree_of(&self, name: &str) -> Option<&Path> {
        (self.name.as_deref() == Some(name))
            .then_some(self.worktree.as_deref())
            .flatten()
    }

    /// What a command left unfinished in the worktree, if anything: only a process holding
    /// the session's lock may be at it; otherwise it was interrupted.
    pub fn pending(&self) -> Option<&'static str> {
        if self.checkout_pending {
            Some("making its worktree")
        } else if self.restore_pending.is_some() {
            Some("putting a checkpoint into its worktree")
        } else if self.includes_pending {
            Some("copying the files .worktreeinclude names into its worktree")
        } else {
            None
        }
    }

    /// Whether git-session created `branch` here.
    pub fn created_branch(&self, branch: &str) -> bool {
        self.branch_created && self.branch.as_deref() == Some(branch)
    }
}

pub struct LocalStore {
    dir: PathBuf,
    /// Where `new` puts session worktrees on this machine, when the configuration says.
    worktree_dir: Option<PathBuf>,
}

impl LocalStore {
    pub fn new(common_dir: &Path) -> LocalStore {
        LocalStore {
            dir: common_dir.join("session").join("local"),
            worktree_dir: None,
        }
    }

    pub fn with_worktree_dir(self, worktree_dir: Option<PathBuf>) -> LocalStore {
        LocalStore {
            worktree_dir,
            ..self
        }
    }

    /// Where `new` would put the worktree of session `name` here (a path that depends only
    /// on local configuration and the validated name, never on fetched metadata).
    pub fn expected_worktree(&self, name: &str) -> Option<PathBuf> {
        self.worktree_dir.as_ref().map(|dir| dir.join(name))
    }

    /// The directory session worktrees are made in, when known.
    pub fn worktree_dir(&self) -> Option<&Path> {
        self.worktree_dir.as_deref()
    }

    /// The directory the records live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// A store over the records in `dir` (as [`LocalStore::dir`] names it).
    pub fn new_at(dir: &Path) -> LocalStore {
        LocalStore {
            dir: dir.to_owned(),
            worktree_dir: None,
        }
    }

    /// The record of session `id`, when there is a readable one.
    pub fn get_existing(&self, id: &str) -> Option<LocalState> {
        crate::fsutil::read_json(&self.path(id))
    }

    /// The state of session `id`; empty when there is none or it is unreadable (it is a
    /// cache of facts that can be rediscovered, never the only copy of anything).
    pub fn get(&self, id: &str) -> LocalState {
        crate::fsutil::read_json(&self.path(id)).unwrap_or_default()
    }

    /// Replaces the state atomically (write to a temporary file, then rename), under the
    /// lock.
    pub fn put(&self, id: &str, state: &LocalState) -> std::io::Result<()> {
        let _lock = self.lock()?;
        self.write(id, state)
    }

    fn write(&self, id: &str, state: &LocalState) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
        crate::fsutil::write_atomic(&self.path(id), &bytes, None)
    }

    /// The lock every writer holds (one per repository: records are small and writes rare).
    fn lock(&self) -> std::io::Result<std::fs::File> {
        std::fs::create_dir_all(&self.dir)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.with_extension("lock"))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(lock)
    }

    /// Changes the state of session `id` under a lock, so two processes changing different
    /// fields at once (a hook recording activity, a command recording a worktree) both land.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut LocalState),
    ) -> std::io::Result<LocalState> {
        self.update_from(id, change).map(|(_, after)| after)
    }

    /// As [`LocalStore::update`], returning the record before (None: there was none) too.
    pub fn update_from(
        &self,
        id: &str,
        change: impl FnOnce(&mut LocalState),
    ) -> std::io::Result<(Option<LocalState>, LocalState)> {
        let _lock = self.lock()?;
        let before = self.get_existing(id);
        let mut state = before.clone().unwrap_or_default();
        change(&mut state);
        self.write(id, &state)?;
        Ok((before, state))
    }

    /// Replaces (None: removes) the record of session `id` under the lock; returns the one
    /// before.
    pub fn replace(
        &self,
        id: &str,
        state: Option<&LocalState>,
    ) -> std::io::Result<Option<LocalState>> {
        let _lock = self.lock()?;
        let before = self.get_existing(id);
        match state {
            Some(state) => self.write(id, state)?,
            None => match std::fs::remove_file(self.path(id)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
        }
        Ok(before)
    }

    /// Every record, by session id (unreadable ones left out).
    pub fn all(&self) -> Vec<(String, LocalState)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?.to_owned();
                Some((id, crate::fsutil::read_json(&entry.path())?))
            })
            .collect()
    }

    /// The sessions' worktrees that exist on this machine, by session name, sorted.
    pub fn worktrees(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = self
            .all()
            .into_iter()
            .filter_map(|(_, state)| {
                let name = state.name?;
                let path = state.worktree?;
                path.is_dir().then_some((name, path))
            })
            .collect();
        out.sort();
        out
    }

    pub fn remove(&self, id: &str) {
        let _ = self.replace(id, None);
    }
}
