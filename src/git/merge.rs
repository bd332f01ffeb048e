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

/// What a tree merge gave: the merged tree (written, when asked and clean), or the files
/// left conflicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeMerge {
    pub tree: Option<ObjectId>,
    pub conflicts: Vec<String>,
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
        self.diff_files(old, new, true)
    }

    /// As [`Repo::changed_files`], with no rename tracking: a renamed file is two paths (the
    /// one it left, the one it now has).
    pub fn changed_files_plain(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<ChangedFile>, RepoError> {
        self.diff_files(old, new, false)
    }

    fn diff_files(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
        renames: bool,
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
        let options = gix::diff::Options::default().with_rewrites(renames.then(Default::default));
        // Not `diff_tree_to_tree`: its blob cache reads the worktree's whole index for its
        // `.gitattributes` (on a 100,000-file index, a quarter of a commit hook's time).
        // Rename similarity is judged on the blobs as stored, as git's rename detection
        // judges them.
        let no_index = gix::index::State::new(repo.object_hash());
        let attributes = repo
            .attributes_only(
                &no_index,
                gix::worktree::stack::state::attributes::Source::IdMapping,
            )
            .context(context)?
            .detach();
        let mut cache = gix::diff::resource_cache(
            repo,
            gix::diff::blob::pipeline::Mode::ToGit,
            attributes,
            Default::default(),
        )
        .context(context)?;
        let mut changes = Vec::new();
        gix::diff::tree_with_rewrites(
            gix::objs::TreeRefIter::from_bytes(&old_tree.data, old_tree.id.kind()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, new_tree.id.kind()),
            &mut cache,
            &mut Default::default(),
            &repo.objects,
            |change: gix::diff::tree_with_rewrites::ChangeRef<'_>| -> Result<_, gix::Error> {
                changes.push(change.into_owned());
                Ok(std::ops::ControlFlow::Continue(()))
            },
            options.into(),
        )
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
        Ok(self.scratch().merge_trees(base, ours, theirs)?.conflicts)
    }

    /// A handle whose writes stay in memory (for trial merges: their trees can be merged
    /// again through the same handle, and nothing reaches the object database).
    pub fn scratch(&self) -> Repo {
        Repo::from_gix_handle(self.gix().clone().with_object_memory())
    }

    /// Merges trees `ours` and `theirs` from `base`: the merged tree, written (through this
    /// handle: into memory for a [`Repo::scratch`] one) when the merge is clean, else the
    /// files left conflicted.
    pub fn merge_trees(
        &self,
        base: ObjectId,
        ours: ObjectId,
        theirs: ObjectId,
    ) -> Result<TreeMerge, RepoError> {
        if ours == theirs || theirs == base {
            return Ok(TreeMerge {
                tree: Some(ours),
                conflicts: Vec::new(),
            });
        }
        if ours == base {
            return Ok(TreeMerge {
                tree: Some(theirs),
                conflicts: Vec::new(),
            });
        }
        let repo = self.gix();
        let context = || format!("merging tree {ours} with {theirs}");
        let options = repo.tree_merge_options().context(context)?;
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: None,
            current: None,
            other: None,
        };
        let mut outcome = repo
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
        let tree = if files.is_empty() {
            Some(outcome.tree.write().context(context)?.detach())
        } else {
            None
        };
        Ok(TreeMerge {
            tree,
            conflicts: files,
        })
    }

    /// Writes commit `original` again with `tree` on `parent` (a rebase's copy): its author
    /// and message kept, the committer now.
    pub fn replay_commit(
        &self,
        original: ObjectId,
        parent: ObjectId,
        tree: ObjectId,
    ) -> Result<ObjectId, RepoError> {
        let context = || format!("copying commit {original}");
        let commit = self.gix().find_commit(original).context(context)?;
        let decoded = commit.decode().context(context)?;
        let author: gix::actor::Signature = decoded.author().context(context)?.into();
        let replayed = gix::objs::Commit {
            tree,
            parents: [parent].into_iter().collect(),
            author,
            committer: self.signature()?,
            encoding: None,
            message: decoded.message.to_owned(),
            extra_headers: Vec::new(),
        };
        Ok(self
            .gix()
            .write_object(&replayed)
            .context(context)?
            .detach())
    }

    /// The subject (first line) of commit `id`.
    pub fn subject(&self, id: ObjectId) -> Result<String, RepoError> {
        Ok(self
            .read_commit(id)?
            .message
            .lines()
            .next()
            .unwrap_or("")
            .to_owned())
    }

    /// The commits reachable from `tip` and from none of `hidden`, oldest first (parents
    /// before children).
    pub fn commits_between(
        &self,
        tip: ObjectId,
        hidden: &[ObjectId],
    ) -> Result<Vec<ObjectId>, RepoError> {
        let hidden: Vec<ObjectId> = hidden
            .iter()
            .copied()
            .filter(|h| self.has_object(*h))
            .collect();
        let walk = self
            .gix()
            .rev_walk([tip])
            .with_hidden(hidden)
            .sorting(gix::revision::walk::Sorting::BreadthFirst)
            .all()
            .context(|| format!("walking history from {tip}"))?;
        let mut out = Vec::new();
        for info in walk {
            out.push(info.context(|| format!("walking history from {tip}"))?.id);
        }
        // Children come before parents in the walk; a topological order for replaying.
        let parents: std::collections::HashMap<ObjectId, Vec<ObjectId>> = out
            .iter()
            .map(|id| Ok((*id, self.read_commit(*id)?.parents)))
            .collect::<Result<_, RepoError>>()?;
        let mut ordered = Vec::with_capacity(out.len());
        let mut done = std::collections::HashSet::new();
        fn visit(
            id: ObjectId,
            parents: &std::collections::HashMap<ObjectId, Vec<ObjectId>>,
            done: &mut std::collections::HashSet<ObjectId>,
            ordered: &mut Vec<ObjectId>,
        ) {
            let mut stack = vec![(id, false)];
            while let Some((id, expanded)) = stack.pop() {
                if done.contains(&id) {
                    continue;
                }
                let Some(ps) = parents.get(&id) else { continue };
                if expanded {
                    done.insert(id);
                    ordered.push(id);
                    continue;
                }
                stack.push((id, true));
                for p in ps.iter().rev() {
                    if parents.contains_key(p) && !done.contains(p) {
                        stack.push((*p, false));
                    }
                }
            }
        }
        for id in out.iter().rev() {
            visit(*id, &parents, &mut done, &mut ordered);
        }
        Ok(ordered)
    }
}
