//! What the last capture of a worktree computed for the paths that differ from its index: the
//! blob ids of those files and the trees of the directories holding them. Kept with the
//! file-system monitor's state, and valid as of its clock: while the monitor reports nothing
//! at or below a path (and the index and the settings stay, which the state checks), the
//! next capture takes the id from here instead of hashing the file or writing the tree again.
//!
//! Submodules and nested repositories are never kept (their HEAD moves without a file in the
//! worktree changing), nor the directories above them; a reported `.gitattributes` forgets
//! everything (the filters may hash every file differently).

use std::collections::HashMap;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::tree::{EntryKind, EntryMode};
use serde::{Deserialize, Serialize};

use super::ObjectId;

/// Ids computed by a capture, by path relative to the worktree's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memo {
    pub files: HashMap<BString, (EntryMode, ObjectId)>,
    /// Directories (no trailing slash; `""` is the root) and the trees written for them.
    pub trees: HashMap<BString, ObjectId>,
}

/// [`Memo`] as written in the state file: paths in hex (they need not be UTF-8).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    files: Vec<(String, u8, String)>,
    trees: Vec<(String, String)>,
}

impl Memo {
    pub fn to_stored(&self) -> Stored {
        Stored {
            files: self
                .files
                .iter()
                .map(|(p, (mode, id))| {
                    (
                        crate::oplog::to_hex(p),
                        kind_code(mode.kind()),
                        id.to_string(),
                    )
                })
                .collect(),
            trees: self
                .trees
                .iter()
                .map(|(p, id)| (crate::oplog::to_hex(p), id.to_string()))
                .collect(),
        }
    }

    /// None when anything in it cannot be read back (then nothing is reused).
    pub fn from_stored(stored: &Stored) -> Option<Memo> {
        let mut memo = Memo::default();
        for (path, kind, id) in &stored.files {
            let path = BString::from(crate::oplog::from_hex(path)?);
            let id = ObjectId::from_hex(id.as_bytes()).ok()?;
            memo.files.insert(path, (kind_from_code(*kind)?.into(), id));
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
            let name = path.rfind_byte(b'/').map_or(&path[..], |i| &path[i + 1..]);
            if name.eq_ignore_ascii_case(b".gitattributes") {
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
            m.files.insert(p.into(), (EntryKind::Blob.into(), id(n)));
        }
        for (p, n) in [("", 5), ("a", 6), ("a/b", 7), ("e", 8)] {
            m.trees.insert(p.into(), id(n));
        }
        m
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
        let mut m = m;
        assert!(!m.forget(&[BStr::new("deep/.GitAttributes")]));
        assert_eq!(m, Memo::default());
    }
}
