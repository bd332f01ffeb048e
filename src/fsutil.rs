//! Files git-session writes (its state, the status cache, approvals, hook files, Claude
//! Code's settings) are replaced atomically: a temporary file in the same directory, then a
//! rename, so a killed process or a full disk never leaves half a file behind.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
