//! What the last capture of a worktree computed for the paths that differ from its index: the
//! blob ids of those files and the trees of the directories holding them. Kept with the
//! file-system monitor's state, and valid as of its clock: while the monitor reports nothing
//! at or below a path (and the index and the settings stay, which the state checks), the
//! next capture takes the id from here instead of hashing the file or writing the tree again.
//! A full scan the monitor could not spare uses it too: its listing says what differs, and
//! the `.gitattributes` files it met must be as the last full scan with a clock found them
//! (`fsmonitor::kept_memo`). Either way an id is taken only while the file's stat data is as
//! it was when it was read.
//!
//! Submodules and nested repositories are never kept (their HEAD moves without a file in the
//! worktree changing), nor a directory above any path not kept; a reported `.gitattributes`
//! forgets everything (the filters may hash every file differently).

use std::collections::HashMap;
use std::path::Path;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::tree::{EntryKind, EntryMode};
use serde::{Deserialize, Serialize};

use super::ObjectId;

/// A file's stat data when its id was computed: the id is taken again only while the file
/// still has it (a write the monitor did not report — through a mapping, a hard link, a
/// network file system — changes its times or size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    mode: u32,
}

impl Stamp {
    /// `lstat` of `path`; None when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(Stamp {
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            mode: meta.mode(),
        })
    }

    /// From stat data already taken (`lstat`, as [`Stamp::of`]).
    // The field types differ between platforms: the casts are not the same everywhere.
    #[allow(clippy::unnecessary_cast)]
    pub fn from_stat(stat: &rustix::fs::Stat) -> Stamp {
        Stamp {
            size: stat.st_size as u64,
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
            ino: stat.st_ino as u64,
            mode: stat.st_mode as u32,
        }
    }

    /// Whether the file changed too recently to be told apart from a write in the same
    /// tick of the file system's clock (git's racy-clean rule): such an id is not kept. A
    /// tick is taken as 50 ms (Linux file systems stamp times at the kernel's tick, a few
    /// milliseconds), or 2 s where times carry no nanoseconds (FAT, some network mounts).
    pub fn racy(&self, now: std::time::SystemTime) -> bool {
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i128::MAX, |d| d.as_nanos() as i128);
        let coarse = self.mtime.1 == 0 && self.ctime.1 == 0;
        let tick: i128 = if coarse { 2_000_000_000 } else { 50_000_000 };
        let ns = |(s, n): (i64, i64)| s as i128 * 1_000_000_000 + n as i128;
        ns(self.mtime) >= now - tick || ns(self.ctime) >= now - tick
    }

    pub(super) fn to_text(self) -> String {
        format!(
            "{}:{}.{}:{}.{}:{}:{}",
            self.size, self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1, self.ino, self.mode
        )
    }

    fn from_text(text: &str) -> Option<Stamp> {
        let pair = |t: &str| -> Option<(i64, i64)> {
            let (a, b) = t.split_once('.')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let mut parts = text.split(':');
        let stamp = Stamp {
            size: parts.next()?.parse().ok()?,
            mtime: pair(parts.next()?)?,
            ctime: pair(parts.next()?)?,
            ino: parts.next()?.parse().ok()?,
            mode: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(stamp)
    }
}

/// What a capture computed for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub mode: EntryMode,
    pub id: ObjectId,
    pub stamp: Stamp,
}

/// Ids computed by a capture, by path relative to the worktree's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memo {
    pub files: HashMap<BString, Kept>,
    /// Directories (no trailing slash; `""` is the root) and the trees written for them.
    pub trees: HashMap<BString, ObjectId>,
}

/// [`Memo`] as written in the state file: paths in hex (they need not be UTF-8). A state
/// written before files had stamps has no `entries` (and nothing is reused).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    #[serde(default)]
    entries: Option<Vec<(String, u8, String, String)>>,
    trees: Vec<(String, String)>,
}

impl Memo {
    pub fn to_stored(&self) -> Stored {
        Stored {
            entries: Some(
                self.files
                    .iter()
                    .map(|(p, kept)| {
                        (
                            crate::oplog::to_hex(p),
                            kind_code(kept.mode.kind()),
                            kept.id.to_string(),
                            kept.stamp.to_text(),
                        )
                    })
                    .collect(),
            ),
            trees: self
                .trees
                .iter()
                .map(|(p, id)| (crate::oplog::to_hex(p), id.to_string()))
                .collect(),
        }
    }

    /// None when anything in it cannot be read back (then nothing is reused): a file kept
    /// as anything but a blob, a link or an executable is not read back either.
    pub fn from_stored(stored: &Stored) -> Option<Memo> {
        let mut memo = Memo::default();
        for (path, kind, id, stamp) in stored.entries.as_ref()? {
            let path = BString::from(crate::oplog::from_hex(path)?);
            let kind = kind_from_code(*kind)?;
            if matches!(kind, EntryKind::Tree | EntryKind::Commit) {
                return None;
            }
            let kept = Kept {
                mode: kind.into(),
                id: ObjectId::from_hex(id.as_bytes()).ok()?,
                stamp: Stamp::from_text(stamp)?,
            };
            memo.files.insert(path, kept);
        }
        for (path, id) in &stored.trees {
            let path = BString::from(crate::oplog::from_hex(path)?);
            memo.trees
                .insert(path, ObjectId::from_hex(id.as_bytes()).ok()?);
        }
        Some(memo)
    }

    /// Forgets what the monitor's report touches: each reported path, what is below it and
    /// the directories above it; everything when a `.gitattributes` is among them. False
    /// when nothing is left.
    pub fn forget(&mut self, reported: &[&BStr]) -> bool {
        let mut below: Vec<BString> = Vec::new();
        for path in reported {
            if names_attributes(path) {
                self.files.clear();
                self.trees.clear();
                return false;
            }
            self.files.remove(*path);
            self.trees.remove(*path);
            self.trees.remove(BStr::new(b""));
            for (i, byte) in path.iter().enumerate() {
                if *byte == b'/' {
                    self.trees.remove(&path[..i]);
                }
            }
            let mut prefix = BString::from(path.to_vec());
            prefix.push(b'/');
            below.push(prefix);
        }
        if !below.is_empty() {
            let under = |p: &BString| below.iter().any(|b| p.starts_with(b.as_slice()));
            self.files.retain(|p, _| !under(p));
            self.trees.retain(|p, _| !under(p));
        }
        !self.files.is_empty() || !self.trees.is_empty()
    }
}

/// Whether `path` (relative to the worktree) is a `.gitattributes` file: changing it may
/// change how every file below its directory hashes.
pub fn names_attributes(path: &BStr) -> bool {
    let name = path
        .rfind_byte(b'/')
        .map_or(path.as_bytes(), |i| &path[i + 1..]);
    name.eq_ignore_ascii_case(b".gitattributes")
}

fn kind_code(kind: EntryKind) -> u8 {
    match kind {
        EntryKind::Tree => 0,
        EntryKind::Blob => 1,
        EntryKind::BlobExecutable => 2,
        EntryKind::Link => 3,
        EntryKind::Commit => 4,
    }
}

fn kind_from_code(code: u8) -> Option<EntryKind> {
    Some(match code {
        0 => EntryKind::Tree,
        1 => EntryKind::Blob,
        2 => EntryKind::BlobExecutable,
        3 => EntryKind::Link,
        4 => EntryKind::Commit,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_hex(format!("{n:02x}").repeat(20).as_bytes()).unwrap()
    }

    fn memo() -> Memo {
        let mut m = Memo::default();
        for (p, n) in [
            ("a/b/c.txt", 1),
            ("a/d.txt", 2),
            ("e/f.txt", 3),
            ("a/bc.txt", 4),
        ] {
            let stamp = Stamp::from_text(&format!("{n}:1.2:3.4:5:33188")).unwrap();
            let kept = Kept {
                mode: EntryKind::Blob.into(),
                id: id(n),
                stamp,
            };
            m.files.insert(p.into(), kept);
        }
        for (p, n) in [("", 5), ("a", 6), ("a/b", 7), ("e", 8)] {
            m.trees.insert(p.into(), id(n));
        }
        m
    }

    #[test]
    fn an_id_computed_within_a_tick_of_the_change_is_not_kept() {
        let at = |secs: i64, nanos: i64| Stamp {
            size: 1,
            mtime: (secs, nanos),
            ctime: (secs, nanos),
            ino: 1,
            mode: 0o100644,
        };
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_millis(100_000_500);
        assert!(at(100_000, 480_000_000).racy(now), "20 ms before");
        assert!(!at(100_000, 400_000_000).racy(now), "100 ms before");
        assert!(at(99_999, 0).racy(now), "no nanoseconds: within 2 s");
        assert!(!at(99_998, 0).racy(now), "no nanoseconds: 2.5 s before");
    }

    #[test]
    fn a_report_forgets_the_path_what_is_below_and_the_directories_above() {
        let mut m = memo();
        assert!(m.forget(&[BStr::new("a/b")]));
        let mut files: Vec<_> = m.files.keys().map(|p| p.to_string()).collect();
        files.sort();
        assert_eq!(files, ["a/bc.txt", "a/d.txt", "e/f.txt"]);
        let mut trees: Vec<_> = m.trees.keys().map(|p| p.to_string()).collect();
        trees.sort();
        assert_eq!(trees, ["e"]);
    }

    #[test]
    fn a_gitattributes_forgets_everything_and_the_stored_form_round_trips() {
        let m = memo();
        assert_eq!(Memo::from_stored(&m.to_stored()), Some(m.clone()));
        let mut tree_as_file = m.to_stored();
        tree_as_file.entries.as_mut().unwrap()[0].1 = 0;
        assert_eq!(
            Memo::from_stored(&tree_as_file),
            None,
            "a file kept as a tree"
        );
        let mut bad_stamp = m.to_stored();
        bad_stamp.entries.as_mut().unwrap()[0].3.push_str(":9");
        let mut old_format = m.to_stored();
        old_format.entries = None;
        assert_eq!(
            Memo::from_stored(&old_format),
            None,
            "a state from before stamps"
        );
        assert_eq!(
            Memo::from_stored(&bad_stamp),
            None,
            "a stamp with a field too many"
        );
        let mut m = m;
        assert!(!m.forget(&[BStr::new("deep/.GitAttributes")]));
        assert_eq!(m, Memo::default());
    }
}
