//! The index of a worktree, told from its tree while the index is unchanged: a capture whose
//! monitor says what changed need not read (and page in) a 100,000-entry index to look at a
//! few hundred paths.
//!
//! This holds only for a *plain* index ([`plain_root`]): a valid cached root tree, no
//! conflicts, no intent-to-add, skip-worktree or assume-unchanged entries, not sparse. Such an
//! index holds exactly its root tree's files, ids and modes; what it adds is stat data, which
//! a stand-in does not have: every file it names looks changed to a scan and is hashed (or
//! taken from the last capture's memo, by its stat data), and a capture finds the ones that
//! hold what the index says by their ids, as it does for stale stat data.
//!
//! [`stand_in`] builds, for the paths a scan will look at, the entries the scan asks the
//! index about: the entry at each path, one entry below each tracked directory above it (so
//! the directory counts as tracked), and the entry of a file or submodule standing where a
//! directory is wanted; and every entry below a tracked directory that is no longer one (the
//! scan lists each as removed), or, past 10,000 of them, no stand-in: the index is read.
//!
//! Without stat data a file the monitor reports is hashed even when its stat data still
//! matches the index, where git would trust the index. The two differ only for a file whose
//! filtered content is not its index blob while git takes it for clean by its stat data (a
//! committed CRLF file under `text=auto`), and only when a change the monitor saw left every
//! stat field as it was. With `core.trustctime=false` or `core.checkStat=minimal` such changes
//! are common (a `chmod` changes only the ctime): then the index is read.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use gix::bstr::{BString, ByteSlice};
use gix::index::entry::{Flags, Mode};
use gix::objs::tree::EntryKind;

use super::error::{GixContext, RepoError};
use super::repo::ObjectId;

/// The index's tree, from its cached root when that is valid (not in a sparse index, whose
/// cached trees stand for directories outside the cone).
pub fn valid_root(index: &gix::index::State) -> Option<ObjectId> {
    let root = index.tree().filter(|_| !index.is_sparse())?;
    root.num_entries.is_some().then_some(root.id)
}

/// The root tree of `index` when the index holds exactly that tree's files (see the module
/// documentation); None otherwise.
pub fn plain_root(index: &gix::index::File) -> Option<ObjectId> {
    if index.checksum().is_none_or(|c| c.is_null()) {
        return None;
    }
    // A cached root that counts every entry (a tool writing a stale one is not trusted).
    let counts_all = index
        .tree()
        .and_then(|t| t.num_entries)
        .is_some_and(|n| n as usize == index.entries().len());
    let root = valid_root(index).filter(|_| counts_all)?;
    let odd = Flags::INTENT_TO_ADD | Flags::SKIP_WORKTREE | Flags::ASSUME_VALID;
    index
        .entries()
        .iter()
        .all(|e| e.stage_raw() == 0 && !e.flags.intersects(odd) && e.mode != Mode::DIR)
        .then_some(root)
}

/// How many entries a stand-in takes from below a tracked directory that is gone, before
/// reading the index is cheaper.
const MOST_BELOW: usize = 10_000;

/// A tree's entries: (name, kind, id) in the tree's order, shared (a tree is read once and
/// looked at by several paths).
pub type Entries = std::rc::Rc<[(BString, EntryKind, ObjectId)]>;

/// Tree objects read so far, by id: (name, kind, id) in the tree's order.
#[derive(Default)]
pub struct Trees {
    read: HashMap<ObjectId, Entries>,
}

impl Trees {
    /// The entries of the tree `id`.
    pub fn entries(&mut self, repo: &gix::Repository, id: ObjectId) -> Result<Entries, RepoError> {
        use std::collections::hash_map::Entry;
        match self.read.entry(id) {
            Entry::Occupied(known) => Ok(known.get().clone()),
            Entry::Vacant(new) => {
                let what = || format!("reading tree {id}");
                let object = repo.find_object(id).context(what)?;
                let tree = object.try_into_tree().context(what)?;
                let decoded = tree.decode().context(what)?;
                let entries: Entries = decoded
                    .entries
                    .iter()
                    .map(|e| (BString::from(e.filename), e.mode.kind(), e.oid.to_owned()))
                    .collect();
                Ok(new.insert(entries).clone())
            }
        }
    }

    fn find(
        &mut self,
        repo: &gix::Repository,
        tree: ObjectId,
        name: &[u8],
    ) -> Result<Option<(EntryKind, ObjectId)>, RepoError> {
        Ok(self
            .entries(repo, tree)?
            .iter()
            .find(|(n, _, _)| n.as_slice() == name)
            .map(|(_, kind, id)| (*kind, *id)))
    }

    /// Adds every file (and submodule) below the tree `id`, whose path is `prefix` (ending
    /// in `/`), to `out`; false when there are more than [`MOST_BELOW`] in all.
    fn all_leaves(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        prefix: &[u8],
        out: &mut BTreeMap<BString, (EntryKind, ObjectId)>,
    ) -> Result<bool, RepoError> {
        let entries = self.entries(repo, id)?;
        for (name, kind, oid) in entries.iter() {
            let (kind, oid) = (*kind, *oid);
            let mut path = BString::from(prefix);
            path.extend_from_slice(name);
            if kind == EntryKind::Tree {
                path.push(b'/');
                if !self.all_leaves(repo, oid, &path, out)? {
                    return Ok(false);
                }
            } else {
                out.insert(path, (kind, oid));
                if out.len() > MOST_BELOW {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The first file (or submodule) below the tree `id`, whose path is `prefix` (ending in
    /// `/`); None when it holds no file at all.
    fn first_leaf(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        prefix: &[u8],
    ) -> Result<Option<(BString, EntryKind, ObjectId)>, RepoError> {
        let entries = self.entries(repo, id)?;
        for (name, kind, oid) in entries.iter() {
            let (kind, oid) = (*kind, *oid);
            let mut path = BString::from(prefix);
            path.extend_from_slice(name);
            if kind != EntryKind::Tree {
                return Ok(Some((path, kind, oid)));
            }
            path.push(b'/');
            if let Some(leaf) = self.first_leaf(repo, oid, &path)? {
                return Ok(Some(leaf));
            }
        }
        Ok(None)
    }
}

/// The paths of `index`'s entries whose stat data git would not trust: zeroed or smudged
/// (size 0 for a file that is not empty, as git marks racily clean entries it writes), or as
/// new as the index itself. git hashes such a file again even when the monitor saw no change;
/// so does a capture. None past `most` of them.
pub fn unsure_entries(index: &gix::index::File, most: usize) -> Option<Vec<BString>> {
    let written = index.timestamp();
    let written = (written.unix_seconds(), written.nanoseconds());
    let mut out = Vec::new();
    for entry in index.entries() {
        let stat = &entry.stat;
        let mtime = (i64::from(stat.mtime.secs), stat.mtime.nsecs);
        let smudged = stat.size == 0 && !entry.id.is_empty_blob();
        if smudged || mtime == (0, 0) || mtime >= written {
            out.push(entry.path(index).to_owned());
            if out.len() > most {
                return None;
            }
        }
    }
    Some(out)
}

/// The paths of the files (and submodules) that differ between the trees `old` and `new`,
/// files below a directory that became a file (or the other way round) included; None past
/// `most` of them.
pub fn changed_paths(
    repo: &gix::Repository,
    trees: &mut Trees,
    old: ObjectId,
    new: ObjectId,
    most: usize,
) -> Result<Option<Vec<BString>>, RepoError> {
    let mut out = Vec::new();
    let within = diff(repo, trees, Some(old), Some(new), b"", &mut out, most)?;
    Ok(within.then_some(out))
}

fn diff(
    repo: &gix::Repository,
    trees: &mut Trees,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    prefix: &[u8],
    out: &mut Vec<BString>,
    most: usize,
) -> Result<bool, RepoError> {
    if old == new {
        return Ok(true);
    }
    type Side = Option<(EntryKind, ObjectId)>;
    let mut names: BTreeMap<BString, (Side, Side)> = BTreeMap::new();
    for (id, first) in [(old, true), (new, false)] {
        let Some(id) = id else { continue };
        for (name, kind, oid) in trees.entries(repo, id)?.iter() {
            let (kind, oid) = (*kind, *oid);
            let sides = names.entry(name.clone()).or_default();
            let side = if first { &mut sides.0 } else { &mut sides.1 };
            *side = Some((kind, oid));
        }
    }
    let tree = |side: Side| {
        side.filter(|(k, _)| *k == EntryKind::Tree)
            .map(|(_, id)| id)
    };
    let file = |side: Side| side.filter(|(k, _)| *k != EntryKind::Tree);
    for (name, (a, b)) in names {
        if a == b {
            continue;
        }
        let mut path = BString::from(prefix);
        path.extend_from_slice(&name);
        if file(a) != file(b) {
            out.push(path.clone());
        }
        if tree(a).is_some() || tree(b).is_some() {
            path.push(b'/');
            if !diff(repo, trees, tree(a), tree(b), &path, out, most)? {
                return Ok(false);
            }
        }
        if out.len() > most {
            return Ok(false);
        }
    }
    Ok(true)
}

/// An index holding what a scan of `candidates` asks of the plain index whose root tree is
/// `root` (see the module documentation), with no stat data; None when one of them is a
/// tracked directory, no longer a directory reached through directories, with more than
/// [`MOST_BELOW`] files below it (the scan lists each as removed).
pub fn stand_in(
    repo: &gix::Repository,
    root: ObjectId,
    workdir: &Path,
    candidates: &[BString],
    trees: &mut Trees,
) -> Result<Option<gix::index::State>, RepoError> {
    let mut wanted: BTreeMap<BString, (EntryKind, ObjectId)> = BTreeMap::new();
    let mut dirs = HashMap::new();
    for path in candidates {
        let parts: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
        let mut tree = root;
        let mut at = BString::default();
        for (depth, part) in parts.iter().enumerate() {
            let last = depth + 1 == parts.len();
            let parent = at.clone();
            if !at.is_empty() {
                at.push(b'/');
            }
            at.extend_from_slice(part);
            match trees.find(repo, tree, part)? {
                Some((EntryKind::Tree, id)) if last => {
                    // A tracked directory: one entry below it says so while it still is one;
                    // else the scan lists every file below it as removed.
                    let real = super::scan::is_real_dir_memo(workdir, at.as_ref(), &mut dirs);
                    at.push(b'/');
                    if real {
                        if let Some((leaf, kind, oid)) = trees.first_leaf(repo, id, &at)? {
                            wanted.insert(leaf, (kind, oid));
                        }
                    } else if !trees.all_leaves(repo, id, &at, &mut wanted)? {
                        return Ok(None);
                    }
                }
                Some((EntryKind::Tree, id)) => {
                    tree = id;
                    continue;
                }
                // The path itself, or a file or submodule standing where a directory is.
                Some((kind, id)) => {
                    wanted.insert(at.clone(), (kind, id));
                }
                // Not tracked: the directory above it is (one entry below it says so).
                None if !parent.is_empty() => {
                    let mut prefix = parent;
                    prefix.push(b'/');
                    if let Some((leaf, kind, oid)) = trees.first_leaf(repo, tree, &prefix)? {
                        wanted.insert(leaf, (kind, oid));
                    }
                }
                None => {}
            }
            break;
        }
    }
    let mut state = gix::index::State::new(repo.object_hash());
    for (path, (kind, id)) in wanted {
        if kind == EntryKind::Tree {
            continue;
        }
        state.dangerously_push_entry(
            gix::index::entry::Stat::default(),
            id,
            Flags::empty(),
            Mode::from(gix::objs::tree::EntryMode::from(kind)),
            path.as_bstr(),
        );
    }
    Ok(Some(state))
}
