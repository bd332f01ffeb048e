//! Ending the process on purpose (a hook's watchdog) between git writes, never during one.
//! A ref or notes update holds `<ref>.lock` while it runs; a process that exits in the middle
//! leaves the lock behind, and the user's next `git commit` fails on it. Every such update runs
//! under a shared guard, and [`exit_between_writes`] takes the guard exclusively (waiting for
//! an update in flight, which takes milliseconds), removes what gix still has registered, and
//! exits: no update can start after it.

use std::sync::RwLock;

static WRITES: RwLock<()> = RwLock::new(());

/// Runs one ref or notes update; the process is not ended on purpose while it runs. Never
/// nested: an update does not start another inside it.
pub(crate) fn guarded<T>(update: impl FnOnce() -> T) -> T {
    let _guard = WRITES.read().unwrap_or_else(|e| e.into_inner());
    update()
}

/// Waits for an update in flight, then exits with `code`, leaving no lock file.
pub fn exit_between_writes(code: i32) -> ! {
    let _guard = WRITES.write().unwrap_or_else(|e| e.into_inner());
    gix::tempfile::registry::cleanup_tempfiles();
    std::process::exit(code)
}
