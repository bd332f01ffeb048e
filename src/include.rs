//! `.worktreeinclude`: which git-ignored files of a source worktree are copied into a new one,
//! and the copy itself.
//!
//! Matching uses gix's gitignore matcher, so the file means exactly what a `.gitignore` with
//! the same lines would (anchoring, `**`, trailing `/`, `!`, escapes, and "a file under a
//! matched directory matches"). Which paths are *considered* follows Claude Code, so a
//! `.worktreeinclude` written for it copies the same files:
//!
//! - only ignored paths are candidates, as `git status --ignored` reports them, with ignored
//!   directories collapsed; tracked files are never copied;
//! - a collapsed ignored directory is copied whole when its own path matches;
//! - otherwise it is entered only when a pattern's literal leading path reaches into it
//!   (`build/.env` enters `build/`, `**/.env` and `*.js` enter nothing), and then every path
//!   below it is matched the same way.
//!
//! Nothing is ever followed through a symlink: links are copied as links, and walks use the
//! link's own metadata. Copies go to a staging directory first (see [`Staging`]) and are moved
//! into the worktree without writing through any symlink the worktree contains.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gix::bstr::{BStr, ByteSlice};
use gix::glob::pattern::{Case, Mode};
use gix::ignore::search::Ignore;

use crate::git::{IgnoredEntry, IgnoredKind};

pub const INCLUDE_FILE: &str = ".worktreeinclude";

#[derive(Debug, thiserror::Error)]
pub enum IncludeError {
    #[error("could not read {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("could not copy {} to {}", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error("could not prepare a staging directory in {}", dir.display())]
    Staging { dir: PathBuf, source: io::Error },
}

/// The parsed patterns of a `.worktreeinclude` file.
pub struct IncludeRules {
    search: gix::ignore::Search,
    /// Literal leading paths of anchored, non-negated patterns (`build/.env` → `build/.env`,
    /// `build/**/*.o` → `build/`).
    literal_prefixes: Vec<String>,
}

impl IncludeRules {
    pub fn parse(bytes: &[u8]) -> IncludeRules {
        let mut search = gix::ignore::Search::default();
        search
            .add_patterns_buffer(
                bytes,
                INCLUDE_FILE,
                None,
                Ignore {
                    support_precious: false,
                },
            )
            .expect("parsing from memory cannot fail");
        let literal_prefixes = search
            .patterns
            .iter()
            .flat_map(|list| list.patterns.iter())
            .map(|mapping| &mapping.pattern)
            .filter(|p| !p.mode.contains(Mode::NEGATIVE) && !p.mode.contains(Mode::NO_SUB_DIR))
            .map(|p| {
                let literal = &p.text[..p.first_wildcard_pos.unwrap_or(p.text.len())];
                literal.to_str_lossy().trim_start_matches('/').to_owned()
            })
            .collect();
        IncludeRules {
            search,
            literal_prefixes,
        }
    }

    /// Reads `<root>/.worktreeinclude`; None when there is none.
    pub fn load(root: &Path) -> Result<Option<IncludeRules>, IncludeError> {
        let path = root.join(INCLUDE_FILE);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Ok(None), // a symlink or directory named .worktreeinclude is not followed
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(IncludeError::Read { path, source }),
        }
        let bytes = fs::read(&path).map_err(|source| IncludeError::Read { path, source })?;
        Ok(Some(IncludeRules::parse(&bytes)))
    }

    fn last_match_is_positive(&self, path: &BStr, is_dir: bool) -> Option<bool> {
        self.search
            .pattern_matching_relative_path(path, Some(is_dir), Case::Sensitive)
            .map(|m| !m.pattern.is_negative())
    }

    /// Whether `rela_path` matches, with gitignore's rule that a path below a matched
    /// directory matches too (and cannot be re-included by a later `!` pattern).
    pub fn matches(&self, rela_path: &str, is_dir: bool) -> bool {
        let path = rela_path.as_bytes().as_bstr();
        for (pos, _) in rela_path.match_indices('/') {
            if self.last_match_is_positive(path[..pos].as_bstr(), true) == Some(true) {
                return true;
            }
        }
        self.last_match_is_positive(path, is_dir) == Some(true)
    }

    /// Whether some pattern's literal leading path reaches into directory `dir`.
    fn reaches_into(&self, dir: &str) -> bool {
        self.literal_prefixes.iter().any(|lit| {
            lit.len() > dir.len() && lit.starts_with(dir) && lit.as_bytes()[dir.len()] == b'/'
        })
    }
}

/// One thing to copy: a file, a symlink, or a whole directory tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlannedCopy {
    pub rela_path: String,
    pub kind: IgnoredKind,
}

/// Decides what to copy from the ignored entries of the source worktree.
/// `skip` holds directories never to consider (the session worktrees themselves).
pub fn plan(
    rules: &IncludeRules,
    source_root: &Path,
    ignored: &[IgnoredEntry],
    skip: &[String],
) -> Result<Vec<PlannedCopy>, IncludeError> {
    let mut out = Vec::new();
    for entry in ignored {
        let path = entry.rela_path.trim_end_matches('/');
        if path == INCLUDE_FILE || skip.iter().any(|s| is_same_or_below(path, s)) {
            continue;
        }
        // A directory holding a skipped one is never copied whole, only looked into.
        let holds_skipped = skip.iter().any(|s| is_same_or_below(s, path));
        match entry.kind {
            IgnoredKind::Directory if rules.matches(path, true) && !holds_skipped => {
                out.push(PlannedCopy {
                    rela_path: path.to_owned(),
                    kind: IgnoredKind::Directory,
                });
            }
            IgnoredKind::Directory => {
                if rules.matches(path, true) || rules.reaches_into(path) {
                    walk_entered(rules, source_root, path, skip, &mut out)?;
                }
            }
            kind => {
                if rules.matches(path, false) {
                    out.push(PlannedCopy {
                        rela_path: path.to_owned(),
                        kind,
                    });
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn is_same_or_below(path: &str, dir: &str) -> bool {
    path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// Matches every path below an entered ignored directory.
fn walk_entered(
    rules: &IncludeRules,
    source_root: &Path,
    dir: &str,
    skip: &[String],
    out: &mut Vec<PlannedCopy>,
) -> Result<(), IncludeError> {
    let mut children: Vec<(String, fs::FileType)> = read_children(&source_root.join(dir))?
        .into_iter()
        .filter_map(|(name, file_type)| Some((format!("{dir}/{}", name.to_str()?), file_type)))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, file_type) in children {
        if skip.iter().any(|s| is_same_or_below(&path, s)) || path.ends_with("/.git") {
            continue;
        }
        if file_type.is_dir() {
            if rules.matches(&path, true) {
                out.push(PlannedCopy {
                    rela_path: path,
                    kind: IgnoredKind::Directory,
                });
            } else {
                walk_entered(rules, source_root, &path, skip, out)?;
            }
        } else if (file_type.is_file() || file_type.is_symlink()) && rules.matches(&path, false) {
            // Fifos, sockets and devices are never copied (opening a fifo would block).
            let kind = if file_type.is_symlink() {
                IgnoredKind::Symlink
            } else {
                IgnoredKind::File
            };
            out.push(PlannedCopy {
                rela_path: path,
                kind,
            });
        }
    }
    Ok(())
}

/// The entries of a directory with their types (from the directory itself: links are not
/// followed).
fn read_children(dir: &Path) -> Result<Vec<(std::ffi::OsString, fs::FileType)>, IncludeError> {
    let read = fs::read_dir(dir).map_err(|source| IncludeError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for child in read {
        let child = child.map_err(|source| IncludeError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let file_type = child.file_type().map_err(|source| IncludeError::Read {
            path: child.path(),
            source,
        })?;
        out.push((child.file_name(), file_type));
    }
    Ok(out)
}

/// What a copy did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CopyReport {
    pub files: usize,
    pub symlinks: usize,
    pub bytes: u64,
    /// Paths that were not placed because the new worktree already has something there
    /// (a tracked file) or a parent of theirs is a symlink there.
    pub skipped: Vec<String>,
}

/// Told how a copy advances, so the command layer can draw progress (this module never
/// prints). Called from several copying threads at once.
pub trait Progress: Sync {
    /// The copy starts: `files` regular files to copy.
    fn start(&self, _files: u64) {}
    /// One more file was copied, of `bytes` bytes.
    fn copied(&self, _bytes: u64) {}
    /// The copy is over (done or failed).
    fn finish(&self) {}
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {}

const STAGING_PREFIX: &str = ".git-session-include-";

/// The lock a staging directory's owner holds while it lives.
const STAGING_LOCK: &str = ".lock";

/// Removes staging directories a killed process left behind: their owner held an exclusive
/// lock on the `.lock` file inside while alive, and the kernel dropped it with the process.
/// A directory without a lock file is removed once it is a minute old (its creator is
/// between `mkdir` and locking only for an instant). They hold only copies.
fn remove_abandoned_staging(parent: &Path) {
    for dir in abandoned_staging(parent) {
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The staging directories in `parent` whose owner is gone (see
/// [`remove_abandoned_staging`]).
pub fn abandoned_staging(parent: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(parent) else {
        return out;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(STAGING_PREFIX.as_bytes())
        {
            continue;
        }
        let dir = entry.path();
        let abandoned = match fs::File::open(dir.join(STAGING_LOCK)) {
            Ok(file) => {
                rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                    .is_ok()
            }
            Err(_) => {
                crate::fsutil::untouched_for(&entry.path(), std::time::Duration::from_secs(60))
            }
        };
        if abandoned {
            out.push(dir);
        }
    }
    out
}

/// A scratch directory next to the new worktree (same file system, so its contents can be
/// renamed into place). Copying into it can start before `git worktree add` has finished.
pub struct Staging {
    dir: tempfile::TempDir,
    /// Held (locked) while this process uses the directory.
    _lock: fs::File,
}

impl Staging {
    pub fn new_in(parent: &Path) -> Result<Staging, IncludeError> {
        let err = |source| IncludeError::Staging {
            dir: parent.to_owned(),
            source,
        };
        fs::create_dir_all(parent).map_err(err)?;
        remove_abandoned_staging(parent);
        let dir = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(parent)
            .map_err(err)?;
        let lock = fs::File::create(dir.path().join(STAGING_LOCK)).map_err(err)?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|e| err(e.into()))?;
        Ok(Staging { dir, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Copies the planned paths from `source_root` into `dest_root` (the staging directory):
/// modes and modification times kept, symlinks recreated as symlinks, files copied on
/// several threads (the kernel clones extents where the file system supports it).
pub fn copy_planned(
    plan: &[PlannedCopy],
    source_root: &Path,
    dest_root: &Path,
    progress: &dyn Progress,
) -> Result<CopyReport, IncludeError> {
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut links: Vec<PathBuf> = Vec::new();
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for item in plan {
        let rel = PathBuf::from(&item.rela_path);
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            parents.insert(parent.to_owned());
        }
        match item.kind {
            IgnoredKind::File => files.push(rel),
            IgnoredKind::Symlink => links.push(rel),
            IgnoredKind::Directory => {
                collect_tree(source_root, rel, &mut dirs, &mut files, &mut links)?
            }
        }
    }
    for parent in &parents {
        let to = dest_root.join(parent);
        fs::create_dir_all(&to).map_err(|source| IncludeError::Copy {
            from: source_root.join(parent),
            to,
            source,
        })?;
    }
    for (dir, mode) in &dirs {
        let to = dest_root.join(dir);
        fs::create_dir_all(&to)
            .and_then(|_| fs::set_permissions(&to, fs::Permissions::from_mode(mode | 0o700)))
            .map_err(|source| IncludeError::Copy {
                from: source_root.join(dir),
                to,
                source,
            })?;
    }
    let mut report = CopyReport {
        symlinks: links.len(),
        files: files.len(),
        ..Default::default()
    };
    for link in &links {
        let from = source_root.join(link);
        let to = dest_root.join(link);
        fs::read_link(&from)
            .and_then(|target| std::os::unix::fs::symlink(target, &to))
            .map_err(|source| IncludeError::Copy { from, to, source })?;
    }
    progress.start(files.len() as u64);
    let copied = copy_files_parallel(&files, source_root, dest_root, progress);
    progress.finish();
    report.bytes = copied?;
    // Directory modes last: a read-only directory would refuse the files copied into it.
    for (dir, mode) in dirs.iter().rev() {
        let _ = fs::set_permissions(dest_root.join(dir), fs::Permissions::from_mode(*mode));
    }
    Ok(report)
}

/// The regular files a plan covers (directories expanded), relative to `root`.
pub fn planned_files(plan: &[PlannedCopy], root: &Path) -> Result<Vec<PathBuf>, IncludeError> {
    let (mut dirs, mut files, mut links) = (Vec::new(), Vec::new(), Vec::new());
    for item in plan {
        let rel = PathBuf::from(&item.rela_path);
        match item.kind {
            IgnoredKind::File => files.push(rel),
            IgnoredKind::Symlink => {}
            IgnoredKind::Directory => collect_tree(root, rel, &mut dirs, &mut files, &mut links)?,
        }
    }
    Ok(files)
}

fn collect_tree(
    root: &Path,
    rel: PathBuf,
    dirs: &mut Vec<(PathBuf, u32)>,
    files: &mut Vec<PathBuf>,
    links: &mut Vec<PathBuf>,
) -> Result<(), IncludeError> {
    let abs = root.join(&rel);
    let meta = fs::symlink_metadata(&abs).map_err(|source| IncludeError::Read {
        path: abs.clone(),
        source,
    })?;
    dirs.push((rel.clone(), meta.mode() & 0o7777));
    for (name, file_type) in read_children(&abs)? {
        if name == ".git" {
            continue; // a repository's or worktree's own: never copied into another
        }
        let child_rel = rel.join(name);
        if file_type.is_dir() {
            collect_tree(root, child_rel, dirs, files, links)?;
        } else if file_type.is_symlink() {
            links.push(child_rel);
        } else if file_type.is_file() {
            files.push(child_rel);
        }
        // sockets, fifos and devices are not copied
    }
    Ok(())
}

fn copy_files_parallel(
    files: &[PathBuf],
    source_root: &Path,
    dest_root: &Path,
    progress: &dyn Progress,
) -> Result<u64, IncludeError> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let first_error: Mutex<Option<IncludeError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(rel) = files.get(i) else { break };
                    let from = source_root.join(rel);
                    let to = dest_root.join(rel);
                    match copy_file(&from, &to) {
                        Ok(n) => {
                            bytes.fetch_add(n as usize, Ordering::Relaxed);
                            progress.copied(n);
                        }
                        Err(source) => {
                            first_error
                                .lock()
                                .unwrap()
                                .get_or_insert(IncludeError::Copy { from, to, source });
                            next.store(files.len(), Ordering::Relaxed);
                            break;
                        }
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap() {
        Some(err) => Err(err),
        None => Ok(bytes.load(Ordering::Relaxed) as u64),
    }
}

/// Copies one regular file: contents (through the kernel's copy_file_range, which clones on
/// file systems that can; a file with holes extent by extent), permission bits and
/// modification time.
fn copy_file(from: &Path, to: &Path) -> io::Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that a file replaced by a fifo since it was listed cannot hang us.
    let mut src = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(from)?;
    let meta = src.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file any more"));
    }
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let n = if has_holes(&mut src, &meta)? {
        copy_sparse(&src, &dst, meta.len())?
    } else {
        io::copy(&mut src, &mut dst)?
    };
    dst.set_permissions(meta.permissions())?;
    if let Ok(modified) = meta.modified() {
        dst.set_modified(modified)?;
    }
    Ok(n)
}

/// Whether a file has a hole before its end, as `SEEK_HOLE` finds (asked only when it has
/// fewer blocks than its length, which a compressed file system also shows); a file system
/// that cannot say has none. Leaves the file read from its start.
fn has_holes(file: &mut fs::File, meta: &fs::Metadata) -> io::Result<bool> {
    use io::Seek;
    use std::os::unix::fs::MetadataExt;
    if meta.blocks().saturating_mul(512) >= meta.len() {
        return Ok(false);
    }
    let hole = rustix::fs::seek(&*file, rustix::fs::SeekFrom::Hole(0));
    file.seek(io::SeekFrom::Start(0))?;
    Ok(hole.is_ok_and(|at| at < meta.len()))
}

/// Copies a file with holes (fewer blocks than its length: a disk image, a sparse database)
/// extent by extent, as `cp` does: the kernel's copy writes every hole out as zeros, and a
/// 3 GB file of 4 KB on disk took 3 GB and half a minute. Its length.
fn copy_sparse(src: &fs::File, dst: &fs::File, len: u64) -> io::Result<u64> {
    use rustix::fs::{SeekFrom, seek};
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let start = match seek(src, SeekFrom::Data(at)) {
            Ok(start) => start,
            // No data past `at`: the rest is a hole.
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        let end = seek(src, SeekFrom::Hole(start))?.min(len);
        let mut pos = start;
        while pos < end {
            let want = usize::try_from(end - pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let got = src.read_at(&mut buf[..want], pos)?;
            if got == 0 {
                break; // shorter than it was: what is there is copied
            }
            dst.write_all_at(&buf[..got], pos)?;
            pos += got as u64;
        }
        at = end.max(start + 1);
    }
    dst.set_len(len)?;
    Ok(len)
}

/// Moves the staged copies into the new worktree. Never overwrites what the worktree already
/// has (tracked files win) and never writes through a symlink: when a parent directory in the
/// worktree is a symlink, or a path is taken, the path is reported as skipped.
pub fn move_into_worktree(
    plan: &[PlannedCopy],
    staging: &Path,
    worktree: &Path,
    report: &mut CopyReport,
) {
    for item in plan {
        merge_move(
            &staging.join(&item.rela_path),
            worktree,
            Path::new(&item.rela_path),
            report,
        );
    }
}

fn merge_move(from: &Path, worktree: &Path, rel: &Path, report: &mut CopyReport) {
    let skip = |report: &mut CopyReport| report.skipped.push(rel.to_string_lossy().into_owned());
    if !parents_are_real_dirs(worktree, rel) {
        return skip(report);
    }
    let to = worktree.join(rel);
    match fs::symlink_metadata(&to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if fs::rename(from, &to).is_err() {
                skip(report);
            }
        }
        Ok(existing)
            if existing.is_dir() && fs::symlink_metadata(from).is_ok_and(|m| m.is_dir()) =>
        {
            let Ok(children) = fs::read_dir(from) else {
                return skip(report);
            };
            for child in children.flatten() {
                merge_move(
                    &child.path(),
                    worktree,
                    &rel.join(child.file_name()),
                    report,
                );
            }
        }
        _ => skip(report),
    }
}

/// Creates missing parents of `rel` inside `root`; false if one exists but is not a real
/// directory (a symlink, a file).
fn parents_are_real_dirs(root: &Path, rel: &Path) -> bool {
    let mut current = root.to_owned();
    let Some(parent) = rel.parent() else {
        return true;
    };
    for component in parent.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::create_dir(&current).is_err() {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IncludeRules {
        IncludeRules::parse(text.as_bytes())
    }

    #[test]
    fn files_below_a_matched_directory_match() {
        let r = rules("node_modules/pkg/\n");
        assert!(r.matches("node_modules/pkg", true));
        assert!(!r.matches("node_modules/pkg", false));
        assert!(r.matches("node_modules/pkg/lib/a.js", false));
        assert!(!r.matches("node_modules/other/a.js", false));
    }

    #[test]
    fn negation_cannot_reinclude_below_a_matched_directory() {
        let r = rules("build/\n!build/keep.txt\n");
        assert!(r.matches("build/keep.txt", false));
        let r = rules("*.env\n!.env\n");
        assert!(!r.matches(".env", false));
        assert!(r.matches("a.env", false));
    }

    #[test]
    fn literal_prefix_decides_which_ignored_directories_are_entered() {
        let r = rules("build/.env\n**/.env\n*.js\n.env\n");
        assert!(r.reaches_into("build"));
        assert!(!r.reaches_into("node_modules"));
        assert!(!r.reaches_into("buil"));
        let r = rules("build/**/*.o\n/node_modules/pkg/\n");
        assert!(r.reaches_into("build"));
        assert!(r.reaches_into("node_modules"));
        assert!(!r.reaches_into("node_modules/pkg"));
        let r = rules("!build/x\n");
        assert!(!r.reaches_into("build"));
    }

    #[test]
    fn plan_follows_claude_codes_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "build/.env",
            "build/sub/x.o",
            "build/sub/.env",
            "node_modules/pkg/i.js",
            "node_modules/o/i.js",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "x").unwrap();
        }
        fs::write(root.join(".env"), "x").unwrap();
        let ignored = vec![
            IgnoredEntry {
                rela_path: ".env".into(),
                kind: IgnoredKind::File,
            },
            IgnoredEntry {
                rela_path: "build".into(),
                kind: IgnoredKind::Directory,
            },
            IgnoredEntry {
                rela_path: "node_modules".into(),
                kind: IgnoredKind::Directory,
            },
        ];
        let paths = |text: &str| -> Vec<String> {
            plan(&rules(text), root, &ignored, &[])
                .unwrap()
                .into_iter()
                .map(|p| p.rela_path)
                .collect()
        };
        assert_eq!(paths("build/.env\n"), ["build/.env"]);
        assert_eq!(paths("build/**/*.o\n"), ["build/sub/x.o"]);
        assert_eq!(paths("build/*\n"), ["build/.env", "build/sub"]);
        assert_eq!(paths("build\n"), ["build"]);
        assert_eq!(paths("node_modules/pkg/\n"), ["node_modules/pkg"]);
        assert_eq!(paths(".env\n**/.env\n*.js\n"), [".env"]);
        assert_eq!(
            paths("build/.env\n**/.env\n"),
            [".env", "build/.env", "build/sub/.env"]
        );
    }

    /// A file with holes is copied with its holes (where the file system keeps them): the
    /// same bytes, hardly more blocks.
    #[test]
    fn a_sparse_file_is_copied_with_its_holes() {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("image"), dir.path().join("copy"));
        let file = fs::File::create(&from).unwrap();
        file.set_len(256 << 20).unwrap();
        file.write_all_at(b"middle", 100 << 20).unwrap();
        file.write_all_at(b"end", (256 << 20) - 3).unwrap();
        drop(file);
        let source = fs::metadata(&from).unwrap();
        if source.blocks() * 512 >= source.len() {
            return; // no holes on this file system: nothing to keep
        }
        assert_eq!(copy_file(&from, &to).unwrap(), 256 << 20);
        let copy = fs::metadata(&to).unwrap();
        assert_eq!(copy.len(), 256 << 20);
        assert!(copy.blocks() * 512 < 4 << 20, "{} blocks", copy.blocks());
        let read = |at: u64, n: usize| {
            let mut buf = vec![0u8; n];
            fs::File::open(&to)
                .unwrap()
                .read_exact_at(&mut buf, at)
                .unwrap();
            buf
        };
        assert_eq!(read(100 << 20, 6), b"middle");
        assert_eq!(read((256 << 20) - 3, 3), b"end");
        assert_eq!(read(50 << 20, 4), [0; 4]);
    }
}
