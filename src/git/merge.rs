//! What two lines of work did and whether they would merge: merge bases, the files a tree
//! diff changes (renames as the file they came from), and the files a three-way tree merge
//! would leave conflicted — all on trees in the object database, in-process, never touching
//! a worktree or an index. Merged blobs a trial merge makes stay in memory.

use gix::bstr::ByteSlice;

use super::repo::{GixContext, ObjectId, Repo, RepoError};

/// One file a tree diff reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangedFile {
    /// Repository-relative path; for a rename, the path it came from.
    pub path: String,
    /// Its content after the change (None: deleted).
    pub blob: Option<String>,
}

impl Repo {
    /// The best common ancestor of two commits (None when their histories are unrelated).
    pub fn merge_base(&self, one: ObjectId, two: ObjectId) -> Result<Option<ObjectId>, RepoError> {
        if one == two {
            return Ok(Some(one));
        }
        Ok(self
            .gix()
            .merge_base(one, two)
            .context(|| format!("finding the merge base of {one} and {two}"))?
            .map(gix::Id::detach))
    }

    /// The files that differ from tree `old` (None: the empty tree) to tree `new`, sorted by
    /// path. A rename is listed under the path it came from (with its new content), a file
    /// below a directory that appeared or went is listed on its own.
    pub fn changed_files(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<ChangedFile>, RepoError> {
        if old == Some(new) {
            return Ok(Vec::new());
        }
        let repo = self.gix();
        let context = || format!("comparing tree {new} with what it came from");
        let new_tree = repo.find_tree(new).context(context)?;
        let old_tree = match old {
            Some(id) => repo.find_tree(id).context(context)?,
            None => repo.empty_tree(),
        };
        let options = gix::diff::Options::default().with_rewrites(Some(Default::default()));
        let changes = repo
            .diff_tree_to_tree(&old_tree, &new_tree, options)
            .context(context)?;
        use gix::object::tree::diff::ChangeDetached as C;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let (path, mode, blob) = match change {
                C::Addition {
                    location,
                    entry_mode,
                    id,
                    ..
                } => (location, entry_mode, Some(id)),
                C::Deletion {
                    location,
                    entry_mode,
                    ..
                } => (location, entry_mode, None),
                C::Modification {
                    location,
                    entry_mode,
                    id,
                    ..
                } => (location, entry_mode, Some(id)),
                C::Rewrite {
                    source_location,
                    entry_mode,
                    id,
                    copy,
                    location,
                    ..
                } => {
                    // A copy leaves its source as it was: the copy is a new file.
                    let path = if copy { location } else { source_location };
                    (path, entry_mode, Some(id))
                }
            };
            if mode.is_tree() {
                continue;
            }
            out.push(ChangedFile {
                path: path.to_str_lossy().into_owned(),
                blob: blob.map(|b| b.to_string()),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        Ok(out)
    }

    /// The files a three-way merge of trees `ours` and `theirs` from `base` would leave
    /// conflicted, as git's merge would judge them (renames followed), sorted.
    pub fn conflicting_files(
        &self,
        base: ObjectId,
        ours: ObjectId,
        theirs: ObjectId,
    ) -> Result<Vec<String>, RepoError> {
        // Merged blobs are written somewhere: into memory, not the object database.
        let repo = self.gix().clone().with_object_memory();
        let context = || format!("merging tree {ours} with {theirs}");
        let options = repo.tree_merge_options().context(context)?;
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: None,
            current: None,
            other: None,
        };
        let outcome = repo
            .merge_trees(base, ours, theirs, labels, options)
            .context(context)?;
        let how = gix::merge::tree::TreatAsUnresolved::git();
        let mut files: Vec<String> = outcome
            .conflicts
            .iter()
            .filter(|c| c.is_unresolved(how))
            .flat_map(|c| {
                let (a, b) = c.changes_in_resolution();
                [a.source_location(), b.source_location()]
            })
            .map(|p| p.to_str_lossy().into_owned())
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }
}
