//! Files git-session writes (its state, the status cache, approvals, hook files, Claude
//! Code's settings) are replaced atomically: a temporary file in the same directory, then a
//! rename, so a killed process or a full disk never leaves half a file behind (and what a
//! killed one left is swept). Its caches and state are read back only as regular files of a
//! bounded size: anything may have been put in their place.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Whether `path` exists and was last modified at least `age` ago: a lock or a staging
/// directory nobody has touched that long was left by a process that is gone.
pub fn untouched_for(path: &Path, age: std::time::Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|elapsed| elapsed >= age))
}

/// Replaces `path` with `bytes`, creating its directory. The file gets `mode`, else the
/// permissions the file had (a new one is private to its owner).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    let permissions = match mode {
        Some(mode) => Some(std::fs::Permissions::from_mode(mode)),
        None => std::fs::metadata(path).ok().map(|m| m.permissions()),
    };
    if let Some(permissions) = permissions {
        std::fs::set_permissions(tmp.path(), permissions)?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The most git-session reads of one of its own caches or state files (a monitor's state
/// lists every file that differs from the index: a worktree with hundreds of thousands of
/// generated files makes it tens of megabytes).
pub const MAX_STATE_BYTES: u64 = 512 * 1024 * 1024;

/// The bytes of the file at `path` when it is a regular file of at most `max` bytes: for the
/// caches and state git-session keeps under `.git`, which anything may have replaced. Opened
/// without blocking (a fifo put in its place cannot hang the command), and judged by what
/// was opened, not by its name (a link to `/dev/zero` is no regular file).
pub fn read_regular(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > max {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

/// One of git-session's JSON caches or state files, through [`read_regular`] within
/// [`MAX_STATE_BYTES`]: None when it is missing, no regular file, too large, or not what
/// `T` reads.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&read_regular(path, MAX_STATE_BYTES)?).ok()
}

/// A temporary file of [`write_atomic`]'s this old was left by a killed writer.
pub const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Removes what [`write_atomic`] left in `dir` when its process was killed between writing
/// the temporary file and renaming it: files named `.tmp…` that nothing has touched for
/// `age` (a write takes milliseconds).
pub fn sweep_temps(dir: &Path, age: std::time::Duration) {
    sweep_prefixed(dir, ".tmp", age);
}

/// Removes the files in `dir` whose names start with `prefix` that nothing has touched for
/// `age`: what a writer killed between writing a temporary file and renaming it left.
pub fn sweep_prefixed(dir: &Path, prefix: &str, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_temp = entry.file_name().to_string_lossy().starts_with(prefix);
        if is_temp && entry.file_type().is_ok_and(|t| t.is_file()) && untouched_for(&path, age) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// FNV-1a over `bytes`: a stable, cheap hash for names (never a secret).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Whether an executable `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a regular file within the limit is read; a fifo in its place (which a plain read
    /// waits on for good) and a link to a device are not, and nothing blocks.
    #[test]
    fn read_regular_reads_only_a_regular_file_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_regular(&file, 2).as_deref(), Some(&b"{}"[..]));
        assert_eq!(read_regular(&file, 1), None);
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(read_regular(&fifo, MAX_STATE_BYTES), None);
        }
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(read_regular(&zero, MAX_STATE_BYTES), None);
        assert_eq!(
            read_regular(&dir.path().join("none"), MAX_STATE_BYTES),
            None
        );
    }

    /// Old `.tmp…` files go; fresh ones (a write under way) and anything else stay.
    #[test]
    fn sweep_temps_removes_only_old_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".tmpAbC123");
        let fresh = dir.path().join(".tmpXyZ789");
        let other = dir.path().join("sessions.json");
        for path in [&old, &fresh, &other] {
            std::fs::write(path, b"x").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for path in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        sweep_temps(dir.path(), STALE_TEMP);
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(other.exists());
    }
}
