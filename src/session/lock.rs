//! One exclusive lock per session on this machine (`$GIT_COMMON_DIR/session/locks/<id>.lock`,
//! an `flock`), held by whoever changes the session's worktree or writes a checkpoint of it:
//! creating, removing and rewinding a worktree, putting a checkpoint into one, and every
//! checkpoint (commands, the git hooks, Claude Code's hooks, the background refresh). So a
//! checkpoint never snapshots a worktree half-removed or half-restored, and a pending marker in
//! machine-local state (an include copy, a checkout, a restore) is *interrupted* only when
//! nobody holds the lock: its owner is gone (the kernel drops an `flock` with its process).
//!
//! The lock is also proof: functions that must run under it take a `&SessionLock`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command waits for another process to finish with a session.
pub const WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
#[error(
    "session '{name}' is busy: another git-session process is changing its worktree (waited {} s)",
    waited.as_secs()
)]
pub struct Busy {
    pub name: String,
    pub waited: Duration,
}

/// A held session lock; released when dropped.
#[derive(Debug)]
pub struct SessionLock {
    /// None when no lock file could be made (a read-only git directory): the caller goes on
    /// unlocked, as before locks existed.
    _file: Option<std::fs::File>,
    id: String,
}

fn path(common_dir: &Path, id: &str) -> PathBuf {
    common_dir
        .join("session")
        .join("locks")
        .join(format!("{id}.lock"))
}

fn open(common_dir: &Path, id: &str) -> Option<std::fs::File> {
    let path = path(common_dir, id);
    std::fs::create_dir_all(path.parent()?).ok()?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()
}

fn try_lock(file: &std::fs::File) -> bool {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
}

impl SessionLock {
    /// Waits up to `wait` for the lock of session `id` (named `name` in the error).
    pub fn acquire_within(
        common_dir: &Path,
        id: &str,
        name: &str,
        wait: Duration,
    ) -> Result<SessionLock, Busy> {
        let Some(file) = open(common_dir, id) else {
            return Ok(SessionLock {
                _file: None,
                id: id.to_owned(),
            });
        };
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if try_lock(&file) {
                return Ok(SessionLock {
                    _file: Some(file),
                    id: id.to_owned(),
                });
            }
            if started.elapsed() >= wait {
                return Err(Busy {
                    name: name.to_owned(),
                    waited: started.elapsed(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Waits up to [`WAIT`].
    pub fn acquire(common_dir: &Path, id: &str, name: &str) -> Result<SessionLock, Busy> {
        Self::acquire_within(common_dir, id, name, WAIT)
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_acquire(common_dir: &Path, id: &str) -> Option<SessionLock> {
        match open(common_dir, id) {
            Some(file) => try_lock(&file).then(|| SessionLock {
                _file: Some(file),
                id: id.to_owned(),
            }),
            None => Some(SessionLock {
                _file: None,
                id: id.to_owned(),
            }),
        }
    }

    /// Whether another process holds the lock of session `id` right now.
    pub fn held_elsewhere(common_dir: &Path, id: &str) -> bool {
        Self::try_acquire(common_dir, id).is_none()
    }

    /// The id of the session this lock is for.
    pub fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let held = SessionLock::try_acquire(dir.path(), "abc").unwrap();
        assert!(SessionLock::held_elsewhere(dir.path(), "abc"));
        let err = SessionLock::acquire_within(dir.path(), "abc", "s", Duration::from_millis(30))
            .unwrap_err();
        assert_eq!(err.name, "s");
        drop(held);
        // A process another test thread is starting may hold a copy of the descriptor until
        // it execs (the lock goes with the last copy).
        let free = (0..100).any(|_| {
            let free = !SessionLock::held_elsewhere(dir.path(), "abc");
            if !free {
                std::thread::sleep(Duration::from_millis(10));
            }
            free
        });
        assert!(free);
        SessionLock::acquire_within(dir.path(), "abc", "s", Duration::ZERO).unwrap();
    }
}
