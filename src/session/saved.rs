//! Ignored files a session changed or created (a `.env` it edited, a `debug.log` it wrote),
//! saved machine-locally under `$GIT_COMMON_DIR/session/saved/` before a forced removal of
//! its worktree, and put back by `resume`.
//!
//! They never go into a checkpoint: they are usually secrets, and checkpoints are pushed.
//! Each save is a directory `<id>-<time>/` holding `session.json` (the session's name) and
//! `files/` with the files at their worktree paths, modes kept.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error("could not save {} to {}", from.display(), to.display())]
    Save {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error("could not restore {} from {}", to.display(), from.display())]
    Restore {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    name: String,
    files: Vec<String>,
}

fn root(common_dir: &Path) -> PathBuf {
    common_dir.join("session").join("saved")
}

/// Copies `files` (paths relative to `worktree`, `/`-separated) into a new save for session
/// `id`/`name`; returns its directory.
pub fn save(
    common_dir: &Path,
    id: &str,
    name: &str,
    stamp: i64,
    worktree: &Path,
    files: &[String],
) -> Result<PathBuf, SavedError> {
    let mut dir = root(common_dir).join(format!("{id}-{stamp}"));
    let mut n = 1;
    while dir.exists() {
        dir = root(common_dir).join(format!("{id}-{stamp}-{n}"));
        n += 1;
    }
    let files_dir = dir.join("files");
    for rel in files {
        if !is_plain_relative(rel) {
            continue;
        }
        let (from, to) = (worktree.join(rel), files_dir.join(rel));
        let err = |source| SavedError::Save {
            from: from.clone(),
            to: to.clone(),
            source,
        };
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        // A symlink (a tracked one whose target was changed) is kept as the link it is.
        match fs::read_link(&from) {
            Ok(target) => std::os::unix::fs::symlink(target, &to).map_err(err)?,
            Err(_) => {
                fs::copy(&from, &to).map_err(err)?;
            }
        }
    }
    let manifest = Manifest {
        name: name.to_owned(),
        files: files.to_vec(),
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    fs::write(dir.join("session.json"), text).map_err(|source| SavedError::Save {
        from: worktree.to_owned(),
        to: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// The saves of session `id` made under `name`, oldest first.
pub fn saves(common_dir: &Path, id: &str, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root(common_dir)) else {
        return Vec::new();
    };
    let prefix = format!("{id}-");
    let mut out: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && !name.ends_with(".restored")
        })
        .filter(|e| {
            fs::read(e.path().join("session.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
                .is_some_and(|m| m.name == name)
        })
        .map(|e| {
            let time = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (time, e.path())
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, p)| p).collect()
}

/// Copies a save's files into `worktree` (over what is there: they are the session's own
/// versions), then marks the save restored by renaming it (kept, never deleted here).
/// Returns the number of files restored.
pub fn restore(save: &Path, worktree: &Path) -> Result<usize, SavedError> {
    let manifest: Manifest = fs::read(save.join("session.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Manifest {
            name: String::new(),
            files: Vec::new(),
        });
    let mut restored = 0;
    for rel in &manifest.files {
        let from = save.join("files").join(rel);
        let link = fs::read_link(&from).ok();
        if !is_plain_relative(rel) || !(link.is_some() || from.is_file()) {
            continue;
        }
        let to = worktree.join(rel);
        let err = |source| SavedError::Restore {
            from: from.clone(),
            to: to.clone(),
            source,
        };
        if !parents_are_real_dirs(worktree, Path::new(rel)) {
            continue; // never through a symlink
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        if fs::symlink_metadata(&to).is_ok_and(|m| m.file_type().is_symlink()) || link.is_some() {
            match fs::remove_file(&to) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
                _ => {}
            }
        }
        if let Some(target) = link {
            std::os::unix::fs::symlink(target, &to).map_err(err)?;
            restored += 1;
            continue;
        }
        fs::copy(&from, &to).map_err(err)?;
        let mode = fs::metadata(&from).map_err(err)?.permissions().mode();
        fs::set_permissions(&to, fs::Permissions::from_mode(mode)).map_err(err)?;
        restored += 1;
    }
    let mut done = save.as_os_str().to_owned();
    done.push(".restored");
    let _ = fs::rename(save, PathBuf::from(done));
    Ok(restored)
}

fn is_plain_relative(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Whether every existing parent of `rel` inside `root` is a real directory (no symlink).
fn parents_are_real_dirs(root: &Path, rel: &Path) -> bool {
    let mut at = root.to_owned();
    let Some(parent) = rel.parent() else {
        return true;
    };
    for part in parent.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return false,
            Err(_) => return true, // missing: created as a real directory
        }
    }
    true
}
