//! The in-process view of a repository through gix: refs (with compare-and-swap updates),
//! objects, config, worktrees, status and the ignored-file walk. Domain modules use this
//! instead of gix directly, so gix's 0.x API churn stays in one file.

use std::path::{Path, PathBuf};

use gix::bstr::{BString, ByteSlice};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

pub use gix::ObjectId;

pub use super::error::{GixContext, RepoError};

/// What an update of a reference expects to find (compare-and-swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The reference must not exist yet.
    Absent,
    /// The reference must point at this commit.
    At(ObjectId),
}

impl Expect {
    /// What a reference last seen at `value` must still be.
    pub fn from_value(value: Option<ObjectId>) -> Expect {
        value.map_or(Expect::Absent, Expect::At)
    }

    /// The value this expects (None: absent).
    pub fn value(self) -> Option<ObjectId> {
        match self {
            Expect::Absent => None,
            Expect::At(id) => Some(id),
        }
    }
}

/// One reference change of a batch ([`Repo::apply_ref_edits`]): `name` goes from `expect` to
/// `new` (None: deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub name: String,
    pub expect: Expect,
    pub new: Option<ObjectId>,
    pub message: String,
}

/// A decoded commit, the parts git-session reads.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub message: String,
    /// Committer time, seconds since the epoch.
    pub time: i64,
}

/// A path whose entry differs between two trees: what `git diff-tree -r` lists, except that a
/// directory replaced by a file (or the other way round) is one change at the directory's
/// path, besides the files added below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeChange {
    /// Full path, `/`-separated, as bytes.
    pub path: BString,
    /// The entry in the old tree (absent when added).
    pub old: Option<(gix::objs::tree::EntryMode, ObjectId)>,
    /// The entry in the new tree (absent when deleted).
    pub new: Option<(gix::objs::tree::EntryMode, ObjectId)>,
}

/// A tree object from entries in any order, sorted the way git sorts them.
pub(crate) fn tree_object(entries: &[TreeEntry]) -> gix::objs::Tree {
    let mut tree = gix::objs::Tree {
        entries: entries
            .iter()
            .map(|e| gix::objs::tree::Entry {
                mode: e.mode,
                filename: e.name.clone(),
                oid: e.id,
            })
            .collect(),
    };
    tree.entries.sort();
    tree
}

/// A linked worktree as git records it.
#[derive(Debug, Clone)]
pub struct WorktreeInfo {
    /// The worktree's directory (canonicalized when it exists).
    pub path: PathBuf,
    /// Its private git directory (`.git/worktrees/<id>`).
    pub git_dir: PathBuf,
    /// Whether the directory and its `.git` file still exist (a directory whose `.git` is
    /// gone, as a removal killed part-way leaves it, is no worktree: git run there would act
    /// on the repository around it).
    pub exists: bool,
}

impl WorktreeInfo {
    /// Whether the worktree's own `.git` names this record's git directory back. git's list
    /// reads only the record's side: a `.git` file that names another repository's worktree
    /// would send git run there to that repository.
    pub fn names_back(&self) -> bool {
        git_dir_of_workdir(&self.path)
            .is_some_and(|dir| canonical(&dir) == canonical(&self.git_dir))
    }
}

/// One entry of a tree to be written.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// The entry's file name: bytes, as file names need not be UTF-8.
    pub name: BString,
    pub mode: gix::objs::tree::EntryMode,
    pub id: ObjectId,
}

/// What [`Repo::changed_among`] found of the paths it was given.
#[derive(Debug)]
pub struct Among {
    /// Those that differ from HEAD: staged, modified, deleted, or there untracked.
    pub changed: Vec<String>,
    /// Those there on disk that the index does not track (ignored ones included).
    pub untracked: Vec<String>,
    /// Whether the index holds a conflict (entries of a merge stage, whatever left them: a
    /// merge, `stash pop`), into which git reads no tree until it is resolved.
    pub unmerged: bool,
}

/// A path git ignores, as `git status --ignored` reports it (directories collapsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredEntry {
    /// Path relative to the worktree root, `/`-separated.
    pub rela_path: String,
    pub kind: IgnoredKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum IgnoredKind {
    File,
    Symlink,
    Directory,
}

pub struct Repo {
    inner: gix::Repository,
}

/// The identity git-session's own commits and notes take when neither git's variables nor
/// the settings name one (gix's last resort, the one `committer_or_set_generic_fallback`
/// sets, for the author too: gix writes notes with both).
const IDENTITY_FALLBACK: [&str; 4] = [
    "gitoxide.committer.nameFallback=no name configured",
    "gitoxide.committer.emailFallback=noEmailAvailable@example.com",
    "gitoxide.author.nameFallback=no name configured",
    "gitoxide.author.emailFallback=noEmailAvailable@example.com",
];

impl Repo {
    /// Finds the repository containing `dir`, honoring `GIT_DIR` like git does, and the
    /// `git -c` settings git passes down in `GIT_CONFIG_PARAMETERS` (gix reads
    /// `GIT_CONFIG_COUNT` itself). Handles derived from this one (the main worktree, other
    /// worktrees) inherit the settings.
    pub fn discover(dir: &Path) -> Result<Repo, RepoError> {
        // Every handle gets an identity: git-session's commits, notes and reflog entries
        // need one, and hooks must never fail for the lack of `user.name`. A last resort
        // (git's variables and the user's settings come first, a `git -c` fallback too),
        // read only when something is written: working out "now" reads the whole time-zone
        // database, a millisecond a hook saves.
        let overrides: Vec<String> = IDENTITY_FALLBACK
            .iter()
            .map(|o| (*o).to_owned())
            .chain(
                super::config_env::from_environment()?
                    .iter()
                    .filter_map(super::config_env::Parameter::as_override),
            )
            .collect();
        let mut trust_map = gix::sec::trust::Mapping::<gix::open::Options>::default();
        for options in [&mut trust_map.full, &mut trust_map.reduced] {
            options.modify(|o| {
                o.cli_overrides(overrides.iter().map(String::as_str))
                    // Captures write packs (`git::batch`) until git's maintenance folds them
                    // past gc.autoPackLimit: room for the packs of a long-running process
                    // (the live view, `push --all`) beyond the ones there when it started.
                    .object_store_slots(gix::odb::store::init::Slots::AsNeededByDiskState {
                        multiplier: 2.0,
                        minimum: 256,
                    })
            });
        }
        let inner = gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
            dir,
            Default::default(),
            trust_map,
        )
        .map_err(|_| RepoError::NotARepository {
            dir: dir.to_owned(),
        })?
        .to_thread_local();
        Self::from_gix(inner)
    }

    fn from_gix(inner: gix::Repository) -> Result<Repo, RepoError> {
        let config = inner.config_snapshot();
        if config
            .string("extensions.refStorage")
            .is_some_and(|v| v.as_bytes() == b"reftable")
        {
            return Err(RepoError::Reftable);
        }
        Ok(Self::from_gix_handle(inner))
    }

    /// Wraps a handle opened from one of ours, or a clone of one with other settings: it
    /// carries the settings ours were opened with, the identity fallback among them.
    pub(crate) fn from_gix_handle(inner: gix::Repository) -> Repo {
        Repo { inner }
    }

    /// The same repository with an object cache of `bytes`, for work that reads the same
    /// trees over and over (comparing many sessions' trees against one base).
    pub fn with_object_cache(&self, bytes: usize) -> Repo {
        let mut inner = self.inner.clone();
        inner.object_cache_size(bytes);
        Repo { inner }
    }

    /// Whether this handle is the main worktree's (or a bare repository's): its git
    /// directory is the common one.
    pub fn is_main(&self) -> bool {
        self.inner.git_dir() == self.inner.common_dir()
    }

    /// The same repository as seen from its main worktree (itself when bare).
    pub fn main(&self) -> Result<Repo, RepoError> {
        let inner = self
            .inner
            .main_repo()
            .context(|| "opening the main worktree".into())?;
        Self::from_gix(inner)
    }

    /// Reads objects through `main`'s object database from now on, when it is this handle's
    /// own directory and no variable gave this one other objects (a quarantine, alternates):
    /// from a linked worktree (a hook in a session's, an agent's command) gix opened the two
    /// with a database each, and the pack indexes were loaded twice. Not the other way
    /// round: a database opened through a linked worktree's administrative directory
    /// (`worktrees/<id>/../../objects`) stops resolving when that worktree is removed.
    pub fn read_objects_through(&mut self, main: &Repo) {
        if !self.is_main()
            && std::env::var_os("GIT_OBJECT_DIRECTORY").is_none()
            && std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES").is_none()
            && canonical(main.inner.objects.store_ref().path())
                == canonical(self.inner.objects.store_ref().path())
        {
            main.share_objects(&mut self.inner);
        }
    }

    /// Opens the worktree at `path` (a linked worktree of this repository, or the main one)
    /// without inheriting `GIT_INDEX_FILE`/`GIT_WORK_TREE` from a hook's environment.
    pub fn open_worktree(&self, path: &Path) -> Result<Repo, RepoError> {
        let wanted = canonical(path);
        // The worktree's own `.git` file and git's record of it agreeing: no need to list
        // every worktree (a millisecond with fifty sessions), nor to open the main one (whose
        // `.git` never names an administrative directory under `worktrees/`).
        let found = self.linked_admin_of(&wanted).and_then(|admin| {
            let id = gix::path::os_str_into_bstr(admin.file_name()?).ok()?;
            self.inner.worktree_proxy_by_id(id).ok().flatten()
        });
        if let Some(proxy) = found {
            return self.open_proxy(proxy, path);
        }
        let main = self
            .inner
            .main_repo()
            .context(|| "opening the main worktree".into())?;
        if main.workdir().map(canonical).as_deref() == Some(wanted.as_path()) {
            return Ok(Self::from_gix_handle(main));
        }
        for (proxy, base) in self.worktree_proxies()? {
            if base == wanted {
                if std::fs::symlink_metadata(wanted.join(".git")).is_err() {
                    return Err(RepoError::Gix {
                        context: format!("opening the worktree at {}", path.display()),
                        source: "its .git file is gone (a removal was interrupted?): `git session doctor` looks".into(),
                    });
                }
                return self.open_proxy(proxy, path);
            }
        }
        Err(RepoError::Gix {
            context: format!("{} is not a worktree of this repository", path.display()),
            source: "not listed by `git worktree list`".into(),
        })
    }

    /// Starts loading every pack index of the object database on another thread, not waited
    /// for: the first lookup of an object that is missing (or in a pack not loaded yet) loads
    /// them otherwise, a few milliseconds with fifty packs. For a caller about to wait on
    /// something else (the file-system monitor's answer).
    pub fn load_indexes_behind(&self) {
        let objects = self.inner.objects.clone();
        let _ = std::thread::Builder::new().spawn(move || {
            let _ = objects.packed_object_count();
        });
    }

    /// The linked worktree `proxy` stands for (at `path`), sharing this handle's object
    /// database: its pack indexes are loaded once per process, not once per worktree.
    fn open_proxy(&self, proxy: gix::worktree::Proxy<'_>, path: &Path) -> Result<Repo, RepoError> {
        let mut inner = proxy
            .into_repo()
            .context(|| format!("opening the worktree at {}", path.display()))?;
        self.share_objects(&mut inner);
        Ok(Self::from_gix_handle(inner))
    }

    /// Gives `inner` (another handle on this repository) this handle's object database.
    /// What this handle was set up with stays here: objects kept in memory (the other
    /// handle writes to disk) and an object cache of its own size.
    fn share_objects(&self, inner: &mut gix::Repository) {
        let mut shared = self.inner.objects.clone();
        shared.take_object_memory();
        inner.objects = shared;
        inner.object_cache_size(None);
    }

    /// A handle other threads can open their own `Repo` from.
    pub fn thread_safe(&self) -> gix::ThreadSafeRepository {
        self.inner.clone().into_sync()
    }

    pub fn from_thread_safe(repo: &gix::ThreadSafeRepository) -> Repo {
        Self::from_gix_handle(repo.to_thread_local())
    }

    pub fn gix(&self) -> &gix::Repository {
        &self.inner
    }

    /// `$GIT_COMMON_DIR`, shared by all worktrees.
    pub fn common_dir(&self) -> PathBuf {
        canonical(self.inner.common_dir())
    }

    /// This worktree's private git directory.
    pub fn git_dir(&self) -> PathBuf {
        canonical(self.inner.git_dir())
    }

    /// The root of the worktree this handle was opened in (None when bare).
    pub fn workdir(&self) -> Option<PathBuf> {
        self.inner.workdir().map(canonical)
    }

    // ---- config -------------------------------------------------------------------------

    /// `color.ui` as the repository around the current directory sees it (None outside
    /// one), for output that is decided without a [`Repo`] at hand (the final error line).
    pub fn color_ui_here() -> Option<String> {
        let cwd = std::env::current_dir().ok()?;
        Repo::discover(&cwd).ok()?.config_string("color.ui")
    }

    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_str_lossy().into_owned())
    }

    /// Every value of a multi-valued key, in the order git reads them (empty when unset).
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.inner
            .config_snapshot()
            .strings(key)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.to_str_lossy().into_owned())
            .collect()
    }

    // ---- time and identity ----------------------------------------------------------------

    /// The committer signature to stamp git-session's own commits with: the user's identity
    /// (and `GIT_COMMITTER_DATE` when set), or a generic fallback so hooks never fail for it.
    pub fn signature(&self) -> Result<gix::actor::Signature, RepoError> {
        let sig = self
            .inner
            .committer()
            .ok_or_else(|| RepoError::Gix {
                context: "determining the committer identity".into(),
                source: "no identity, not even the fallback".into(),
            })?
            .context(|| "determining the committer identity".into())?;
        sig.to_owned()
            .context(|| "reading the committer identity".into())
    }

    /// "Now" as seconds since the epoch: the committer time, so `GIT_COMMITTER_DATE` pins it.
    pub fn now(&self) -> Result<i64, RepoError> {
        Ok(self.signature()?.time.seconds)
    }

    // ---- refs --------------------------------------------------------------------------------

    /// The commit a reference points at (peeled), or None when it does not exist.
    pub fn read_ref(&self, name: &str) -> Result<Option<ObjectId>, RepoError> {
        let Some(mut reference) = self
            .inner
            .try_find_reference(name)
            .context(|| format!("reading {name}"))?
        else {
            return Ok(None);
        };
        let id = reference
            .peel_to_id()
            .context(|| format!("resolving {name}"))?;
        Ok(Some(id.detach()))
    }

    /// All references under `prefix` (which ends in `/`), as (full name, target) pairs.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, RepoError> {
        let platform = self
            .inner
            .references()
            .context(|| format!("listing {prefix}*"))?;
        let iter = platform
            .prefixed(prefix.as_bytes().as_bstr())
            .context(|| format!("listing {prefix}*"))?;
        let mut refs = Vec::new();
        for reference in iter {
            let reference = reference.map_err(|e| RepoError::Gix {
                context: format!("listing {prefix}*"),
                source: e.to_string().into(),
            })?;
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            if let Some(id) = reference.target().try_id() {
                refs.push((name, id.to_owned()));
            }
        }
        refs.sort();
        Ok(refs)
    }

    /// Points `name` at `new` if it currently is as `expect` says; fails with
    /// [`RepoError::RefConflict`] when another process got there first. Only for the
    /// transaction (`crate::transaction`), the one writer of refs, and for private scratch
    /// refs that live within one command (the notes merge's).
    pub(crate) fn update_ref(
        &self,
        name: &str,
        new: ObjectId,
        expect: Expect,
        message: &str,
    ) -> Result<(), RepoError> {
        let expected = match expect {
            Expect::Absent => PreviousValue::MustNotExist,
            Expect::At(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
        };
        self.edit_ref(
            name,
            Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: message.into(),
                },
                expected,
                new: Target::Object(new),
            },
        )
    }

    /// Deletes `name` if it still points at `expected` (see [`Repo::update_ref`] for who may).
    pub(crate) fn delete_ref(&self, name: &str, expected: ObjectId) -> Result<(), RepoError> {
        self.edit_ref(
            name,
            Change::Delete {
                expected: PreviousValue::MustExistAndMatch(Target::Object(expected)),
                log: RefLog::AndReference,
            },
        )
    }

    /// Applies `updates` in one reference transaction: all of them or none, each only if
    /// the reference is still as expected ([`RepoError::RefConflict`] names the first one that
    /// is not, as far as the files on disk tell).
    pub fn apply_ref_edits(&self, updates: &[RefUpdate]) -> Result<(), RepoError> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut edits = Vec::with_capacity(updates.len());
        for update in updates {
            let expected = match update.expect {
                Expect::Absent => PreviousValue::MustNotExist,
                Expect::At(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
            };
            let change = match update.new {
                Some(new) => Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: update.message.as_str().into(),
                    },
                    expected,
                    new: Target::Object(new),
                },
                None => Change::Delete {
                    expected,
                    log: RefLog::AndReference,
                },
            };
            let name: FullName = update
                .name
                .as_str()
                .try_into()
                .context(|| format!("'{}' is not a valid reference name", update.name))?;
            edits.push(RefEdit {
                change,
                name,
                deref: false,
            });
        }
        match super::writes::guarded(|| self.inner.edit_references(edits)) {
            Ok(_) => Ok(()),
            Err(err) => {
                let chain = crate::text::one_line(&err);
                if is_conflict(&err, &chain) {
                    // Which one: the first whose value is not what it expected.
                    let moved = updates
                        .iter()
                        .find(|u| self.read_ref(&u.name).ok().flatten() != u.expect.value())
                        .unwrap_or(&updates[0]);
                    Err(RepoError::RefConflict {
                        ref_name: moved.name.clone(),
                    })
                } else {
                    Err(RepoError::Gix {
                        context: format!("updating {}", updates[0].name),
                        source: err.into(),
                    })
                }
            }
        }
    }

    fn edit_ref(&self, name: &str, change: Change) -> Result<(), RepoError> {
        let full: FullName = name
            .try_into()
            .context(|| format!("'{name}' is not a valid reference name"))?;
        let edit = RefEdit {
            change,
            name: full,
            deref: false,
        };
        match super::writes::guarded(|| self.inner.edit_reference(edit)) {
            Ok(_) => Ok(()),
            Err(err) => {
                let chain = crate::text::one_line(&err);
                if err.classify().is_conflict()
                    || chain.contains("out of date")
                    || chain.contains("should not exist")
                    || chain.contains("must not exist")
                    || chain.contains("doesn't match")
                    || chain.contains("did not exist")
                    || chain.contains("lock")
                {
                    Err(RepoError::RefConflict {
                        ref_name: name.to_owned(),
                    })
                } else {
                    Err(RepoError::Gix {
                        context: format!("updating {name}"),
                        source: err.into(),
                    })
                }
            }
        }
    }

    // ---- revisions ---------------------------------------------------------------------------

    /// Resolves a revision to a commit id.
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId, RepoError> {
        let bad = || RepoError::BadRevision {
            spec: spec.to_owned(),
        };
        let id = self
            .inner
            .rev_parse_single(spec.as_bytes().as_bstr())
            .map_err(|_| bad())?;
        let object = id.object().map_err(|_| bad())?;
        let commit = object.peel_to_commit().map_err(|_| bad())?;
        Ok(commit.id)
    }

    /// The commit HEAD points at, None when the branch is unborn.
    pub fn head_commit(&self) -> Result<Option<ObjectId>, RepoError> {
        let head = self.inner.head_id();
        Ok(head.ok().map(|id| id.detach()))
    }

    /// The symbolic name HEAD points at (`refs/heads/x`), None when detached.
    pub fn head_ref_name(&self) -> Result<Option<String>, RepoError> {
        let name = self.inner.head_name().context(|| "reading HEAD".into())?;
        Ok(name.map(|n| n.as_bstr().to_str_lossy().into_owned()))
    }

    pub fn has_object(&self, id: ObjectId) -> bool {
        self.inner.has_object(id)
    }

    /// A checker of many objects' presence ([`Presence::has`]).
    pub fn presence(&self) -> Presence<'_> {
        let flags = rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::DIRECTORY
            | rustix::fs::OFlags::CLOEXEC;
        let objects = self.inner.objects.store_ref().path();
        Presence {
            repo: self,
            loose: rustix::fs::open(objects, flags, rustix::fs::Mode::empty()).ok(),
            misses: std::cell::Cell::new(0),
        }
    }

    /// The kind of the object `id`, None when it is not in the database.
    pub fn object_kind(&self, id: ObjectId) -> Option<gix::object::Kind> {
        self.inner.find_header(id).ok().map(|h| h.kind())
    }

    /// Whether `id` names a tree in the database.
    pub fn is_tree(&self, id: ObjectId) -> bool {
        self.object_kind(id) == Some(gix::object::Kind::Tree)
    }

    /// Number of commits reachable from `tip` but from none of `hidden` (hidden commits this
    /// repository does not have are ignored).
    pub fn count_ahead(&self, tip: ObjectId, hidden: &[ObjectId]) -> Result<usize, RepoError> {
        if hidden.contains(&tip) {
            return Ok(0);
        }
        let hidden: Vec<ObjectId> = hidden
            .iter()
            .copied()
            .filter(|h| self.has_object(*h))
            .collect();
        let walk = self
            .inner
            .rev_walk([tip])
            .with_hidden(hidden)
            .all()
            .context(|| format!("walking history from {tip}"))?;
        let mut count = 0;
        for info in walk {
            info.context(|| format!("walking history from {tip}"))?;
            count += 1;
        }
        Ok(count)
    }

    // ---- objects -----------------------------------------------------------------------------

    pub fn read_commit(&self, id: ObjectId) -> Result<CommitInfo, RepoError> {
        let commit = self
            .inner
            .find_commit(id)
            .context(|| format!("reading commit {id}"))?;
        let decoded = commit
            .decode()
            .context(|| format!("decoding commit {id}"))?;
        Ok(CommitInfo {
            id,
            tree: decoded.tree(),
            parents: decoded.parents().collect(),
            message: decoded.message.to_str_lossy().into_owned(),
            time: decoded.committer().map(|c| c.seconds()).unwrap_or(0),
        })
    }

    /// The entries of a tree: (name, mode, id).
    pub fn read_tree(&self, id: ObjectId) -> Result<Vec<TreeEntry>, RepoError> {
        let tree = self
            .inner
            .find_tree(id)
            .context(|| format!("reading tree {id}"))?;
        let decoded = tree.decode().context(|| format!("decoding tree {id}"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_owned(),
                mode: e.mode,
                id: e.oid.to_owned(),
            })
            .collect())
    }

    /// Every entry below a tree, recursively, with its full path, sorted by path. Trees
    /// themselves are not listed.
    pub fn tree_paths(
        &self,
        id: ObjectId,
    ) -> Result<Vec<(BString, gix::objs::tree::EntryMode)>, RepoError> {
        let mut out = Vec::new();
        let mut pending = vec![(BString::default(), id)];
        while let Some((prefix, tree)) = pending.pop() {
            for entry in self.read_tree(tree)? {
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(&entry.name);
                if entry.mode.is_tree() {
                    pending.push((path, entry.id));
                } else {
                    out.push((path, entry.mode));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// What differs from `old` (None: the empty tree) to `new`, reading only the subtrees
    /// that differ. Files below a directory that appears are listed as added; those below a
    /// directory that disappears are not listed one by one (the directory's change says it).
    pub fn tree_changes(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<TreeChange>, RepoError> {
        type Entry<'a> = gix::objs::tree::EntryRef<'a>;
        /// A tree's entries, borrowed from its data, by name alone: git orders a tree as if
        /// its name ended in `/`, which would part a file from a directory of the same name.
        fn entries<'a>(tree: &'a Option<gix::Tree<'_>>) -> Result<Vec<Entry<'a>>, RepoError> {
            let Some(tree) = tree else {
                return Ok(Vec::new());
            };
            let mut out = gix::objs::TreeRefIter::from_bytes(&tree.data, tree.repo.object_hash())
                .collect::<Result<Vec<_>, _>>()
                .context(|| format!("decoding tree {}", tree.id))?;
            // Nearly sorted already: a stable sort is one pass.
            out.sort_by(|a, b| a.filename.cmp(b.filename));
            Ok(out)
        }
        let mut out = Vec::new();
        let mut pending = vec![(BString::default(), old, Some(new))];
        while let Some((prefix, old, new)) = pending.pop() {
            if old == new {
                continue;
            }
            let read = |id: Option<ObjectId>| {
                id.map(|t| {
                    self.inner
                        .find_tree(t)
                        .context(|| format!("reading tree {t}"))
                })
                .transpose()
            };
            let (old_tree, new_tree) = (read(old)?, read(new)?);
            let (before_all, after_all) = (entries(&old_tree)?, entries(&new_tree)?);
            let (mut i, mut j) = (0, 0);
            loop {
                let (before, after) = match (before_all.get(i), after_all.get(j)) {
                    (None, None) => break,
                    (Some(b), Some(a)) => match b.filename.cmp(a.filename) {
                        std::cmp::Ordering::Less => (Some(b), None),
                        std::cmp::Ordering::Greater => (None, Some(a)),
                        std::cmp::Ordering::Equal => (Some(b), Some(a)),
                    },
                    (b, a) => (b, a),
                };
                i += usize::from(before.is_some());
                j += usize::from(after.is_some());
                let entry = |e: Option<&Entry<'_>>| e.map(|e| (e.mode, e.oid.to_owned()));
                let (old, new) = (entry(before), entry(after));
                // The same entry on both sides: nothing below it differs either.
                if old == new {
                    continue;
                }
                let name = before
                    .or(after)
                    .map_or_else(Default::default, |e| e.filename);
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name);
                let tree_of = |e: Option<(gix::objs::tree::EntryMode, ObjectId)>| {
                    e.filter(|(mode, _)| mode.is_tree()).map(|(_, id)| id)
                };
                let (old_tree, new_tree) = (tree_of(old), tree_of(new));
                if old_tree.is_some() || new_tree.is_some() {
                    if new_tree.is_some() {
                        pending.push((path.clone(), old_tree, new_tree));
                    }
                    // A file turned into a directory or back: one change at this path.
                    let kind_changed = match (old, new) {
                        (Some(b), Some(a)) => b.0.is_tree() != a.0.is_tree(),
                        (Some(b), None) => b.0.is_tree(),
                        _ => false,
                    };
                    if !kind_changed {
                        continue;
                    }
                }
                out.push(TreeChange { path, old, new });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, RepoError> {
        let blob = self
            .inner
            .find_blob(id)
            .context(|| format!("reading blob {id}"))?;
        Ok(blob.data.clone())
    }

    /// The size of an object in bytes, read from its header (the object is not loaded).
    pub fn object_size(&self, id: ObjectId) -> Result<u64, RepoError> {
        let header = self
            .inner
            .find_header(id)
            .context(|| format!("reading object {id}"))?;
        Ok(header.size())
    }

    pub fn write_blob(&self, data: &[u8]) -> Result<ObjectId, RepoError> {
        Ok(self
            .inner
            .write_blob(data)
            .context(|| "writing a blob".into())?
            .detach())
    }

    /// Writes a tree from entries in any order (they are sorted the way git sorts them).
    pub fn write_tree(&self, entries: &[TreeEntry]) -> Result<ObjectId, RepoError> {
        Ok(self
            .inner
            .write_object(tree_object(entries))
            .context(|| "writing a tree".into())?
            .detach())
    }

    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId, RepoError> {
        let sig = self.signature()?;
        let commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author: sig.clone(),
            committer: sig,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        Ok(self
            .inner
            .write_object(&commit)
            .context(|| "writing a commit".into())?
            .detach())
    }

    // ---- worktrees ---------------------------------------------------------------------------

    /// Whether `path` (canonical) is a linked worktree of this repository as git lists it:
    /// its `.git` file names an administrative directory of this repository whose `gitdir`
    /// file names `path` back. Reads that one worktree's files, not every worktree's.
    pub fn is_linked_worktree_at(&self, path: &Path) -> bool {
        self.linked_admin_of(path).is_some()
    }

    /// The administrative directory of the linked worktree at `path` (canonical), as
    /// [`Repo::is_linked_worktree_at`] finds it (as its `.git` file names it).
    fn linked_admin_of(&self, path: &Path) -> Option<PathBuf> {
        let admin = git_dir_of_workdir(path)?;
        let ours = canonical(&self.common_dir().join("worktrees"));
        if admin.parent().map(canonical) != Some(ours) {
            return None;
        }
        let back = std::fs::read_to_string(admin.join("gitdir")).ok()?;
        // Relative to the administrative directory (`worktree.useRelativePaths`).
        let back = admin.join(back.trim_end_matches(['\n', '\r']));
        (back.file_name() == Some(std::ffi::OsStr::new(".git"))
            && back.parent().map(canonical).as_deref() == Some(path))
        .then_some(admin)
    }

    /// Linked worktrees (not the main one).
    pub fn linked_worktrees(&self) -> Result<Vec<WorktreeInfo>, RepoError> {
        Ok(self
            .worktree_proxies()?
            .into_iter()
            .map(|(proxy, path)| WorktreeInfo {
                exists: std::fs::symlink_metadata(path.join(".git")).is_ok(),
                git_dir: canonical(proxy.git_dir()),
                path,
            })
            .collect())
    }

    /// git's `diff --stat` from one commit or tree to another, `width` columns wide, plain
    /// (no color, no external diff, no pager).
    pub fn diff_stat(
        &self,
        from: ObjectId,
        to: ObjectId,
        width: u16,
    ) -> Result<String, super::GitError> {
        super::runner::git(self.workdir().unwrap_or_else(|| self.git_dir()))
            .args(["diff", "--no-color", "--no-ext-diff"])
            .arg(format!("--stat={width}"))
            .args([from.to_string(), to.to_string(), "--".to_owned()])
            .run()
    }

    /// gix's handles on the linked worktrees, with their canonical locations. A worktree
    /// another git is adding, moving or removing right now has its `gitdir` file missing or
    /// half-written for a moment: read again until it settles (a second at most). One whose
    /// `gitdir` file is gone for good is left out, as git's own listing leaves it out (`git
    /// worktree prune` drops it); one whose file is there but unreadable is an error naming
    /// it, never left out: the worktree it stands for may hold a session's work.
    fn worktree_proxies(&self) -> Result<Vec<(gix::worktree::Proxy<'_>, PathBuf)>, RepoError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let mut out = Vec::new();
            let mut in_flux = false;
            let mut damaged = None;
            for proxy in self
                .inner
                .worktrees()
                .context(|| "listing worktrees".into())?
            {
                let before = gitdir_content(proxy.git_dir());
                if let Some(base) = remembered_base(proxy.git_dir(), before.as_deref()) {
                    out.push((proxy, base));
                    continue;
                }
                match proxy.base() {
                    Ok(base) => {
                        let base = canonical(&base);
                        remember_base(proxy.git_dir(), before, &base);
                        out.push((proxy, base));
                    }
                    Err(e) => {
                        let admin = proxy.git_dir().to_owned();
                        in_flux |= !untouched_for_a_while(&admin);
                        if damaged.is_none()
                            && admin.join("gitdir").exists()
                            && !self.on_other_branch(&admin)
                        {
                            damaged = Some((admin, e));
                        }
                    }
                }
            }
            let settled = !in_flux || std::time::Instant::now() >= deadline;
            if settled && let Some((admin, e)) = damaged {
                return Err(RepoError::Gix {
                    context: format!(
                        "git's record of a worktree in {} is damaged (`git worktree repair <its path>` mends it)",
                        admin.display()
                    ),
                    source: Box::new(e),
                });
            }
            if settled {
                return Ok(out);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Whether the worktree administered in `admin` has a branch checked out that is not a
    /// session's (not under `session.branchPrefix`): a damaged record of it is the user's
    /// business, left out as git's own listing leaves it out, not a reason to stop.
    fn on_other_branch(&self, admin: &Path) -> bool {
        let prefix = self
            .config_string("session.branchPrefix")
            .unwrap_or_else(|| "session/".to_owned());
        let prefix = format!("refs/heads/{}", prefix.trim_start_matches("refs/heads/"));
        std::fs::read_to_string(admin.join("HEAD")).is_ok_and(|head| {
            head.trim()
                .strip_prefix("ref: ")
                .is_some_and(|branch| !branch.starts_with(&prefix))
        })
    }

    /// Whether a merge, rebase, cherry-pick, revert or bisect is in progress in this worktree.
    pub fn operation_in_progress(&self) -> Option<String> {
        self.inner.state().map(|s| format!("{s:?}").to_lowercase())
    }

    /// The lock files that would make git fail to write this worktree's index and, when
    /// `moving_head`, its HEAD and the branch HEAD names (git locks both when it moves a
    /// branch through HEAD). A held lock means another git process is at work here, or one
    /// crashed and left it behind; git refuses either way.
    pub fn held_locks(&self, moving_head: bool) -> Result<Vec<PathBuf>, RepoError> {
        let git_dir = self.git_dir();
        let mut candidates = vec![git_dir.join("index.lock")];
        if moving_head {
            candidates.push(git_dir.join("HEAD.lock"));
            if let Some(branch) = self.head_ref_name()? {
                candidates.push(self.common_dir().join(format!("{branch}.lock")));
            }
        }
        Ok(candidates
            .into_iter()
            .filter(|lock| lock.symlink_metadata().is_ok())
            .collect())
    }

    // ---- status ------------------------------------------------------------------------------

    /// Whether the index has an entry at `rel` or below it.
    pub fn tracks_at_or_below(&self, rel: &Path) -> Result<bool, RepoError> {
        use std::os::unix::ffi::OsStrExt;
        let index = super::scan::read_index(&self.inner)?;
        let rel = rel.as_os_str().as_bytes();
        let mut dir = rel.to_vec();
        dir.push(b'/');
        Ok(index.entry_by_path(rel.as_bstr()).is_some()
            || index.prefixed_entries(dir.as_bstr()).is_some())
    }

    /// Directories in this worktree that hold a `.git` of their own — submodules, embedded
    /// and nested repositories, valid or not, ignored or not — relative to the root, sorted.
    /// Their history and their `.git` are in no checkpoint, so nothing may delete or
    /// overwrite them. Walks every directory (ignored ones too), not entering those found and
    /// not following symlinks; a directory that cannot be read is an error.
    pub fn nested_repositories(&self) -> Result<Vec<BString>, RepoError> {
        use std::os::unix::ffi::OsStringExt;
        let Some(root) = self.inner.workdir() else {
            return Ok(Vec::new());
        };
        let failed = |dir: &Path, e: std::io::Error| RepoError::Gix {
            context: format!("looking for nested repositories in {}", dir.display()),
            source: Box::new(e),
        };
        let mut out = Vec::new();
        let mut pending = vec![root.to_owned()];
        while let Some(dir) = pending.pop() {
            let mut subdirs = Vec::new();
            let mut holds_git = false;
            for entry in std::fs::read_dir(&dir).map_err(|e| failed(&dir, e))? {
                let entry = entry.map_err(|e| failed(&dir, e))?;
                if entry.file_name() == gix::discover::DOT_GIT_DIR {
                    holds_git = true;
                } else if entry.file_type().map_err(|e| failed(&dir, e))?.is_dir() {
                    subdirs.push(entry.path());
                }
            }
            if holds_git && dir != root {
                let rela = dir.strip_prefix(root).unwrap_or(&dir);
                out.push(BString::from(rela.as_os_str().to_owned().into_vec()));
            } else {
                pending.extend(subdirs);
            }
        }
        out.sort();
        Ok(out)
    }

    /// How `paths` stand in this worktree, judged path by path: no walk of the worktree.
    pub fn changed_among(&self, paths: &[String]) -> Result<Among, RepoError> {
        let what = || "reading the status of the worktree".to_owned();
        let repo = &self.inner;
        let index = super::scan::read_index(repo)?;
        let root = self.workdir().ok_or_else(|| RepoError::Gix {
            context: what(),
            source: "the repository has no worktree".into(),
        })?;
        let head_tree = match self.head_commit()? {
            Some(head) => Some(repo.find_commit(head).context(what)?.tree().context(what)?),
            None => None,
        };
        let trust_executable_bit = repo.filesystem_options().context(what)?.executable_bit;
        let mut pipeline = None;
        let mut out = Vec::new();
        let mut untracked = Vec::new();
        for path in paths {
            let bpath: &gix::bstr::BStr = path.as_bytes().as_bstr();
            let indexed = index.entry_by_path(bpath);
            let entry = indexed.filter(|e| e.stage_raw() == 0);
            let in_head = match &head_tree {
                Some(tree) => tree
                    .lookup_entry_by_path(path.as_str())
                    .context(what)?
                    .map(|e| e.object_id()),
                None => None,
            };
            let on_disk = std::fs::symlink_metadata(root.join(path)).is_ok();
            if on_disk && indexed.is_none() {
                untracked.push(path.clone());
            }
            let changed = match entry {
                None => on_disk || in_head.is_some(),
                Some(entry) if Some(entry.id) != in_head => true,
                Some(_) if !on_disk => true,
                Some(entry) => {
                    if pipeline.is_none() {
                        pipeline = Some(super::scan::filter_pipeline(repo, &index)?);
                    }
                    let pipeline = pipeline.as_mut().expect("created above");
                    match (
                        super::scan::worktree_blob(repo, pipeline, &index, bpath)?,
                        entry.mode.to_tree_entry_mode(),
                    ) {
                        (Some((mode, id)), Some(index_mode)) => {
                            id != entry.id
                                || !(mode == index_mode
                                    || (!trust_executable_bit
                                        && mode.is_blob()
                                        && index_mode.is_blob()))
                        }
                        _ => true,
                    }
                }
            };
            if changed {
                out.push(path.clone());
            }
        }
        Ok(Among {
            changed: out,
            untracked,
            unmerged: index.entries().iter().any(|e| e.stage_raw() != 0),
        })
    }

    /// Paths that differ from HEAD in this worktree: staged, modified, deleted and untracked
    /// (not ignored) files, and submodules whose HEAD moved or that hold changes; each once.
    pub fn changed_paths(&self) -> Result<Vec<String>, RepoError> {
        Ok(self.changed_paths_seen()?.0)
    }

    /// [`changed_paths`](Self::changed_paths), with the point the answer is as of when the
    /// file-system monitor can later tell whether anything changed since.
    pub fn changed_paths_seen(
        &self,
    ) -> Result<(Vec<String>, Option<super::fsmonitor::Seen>), RepoError> {
        let index = super::scan::read_index(&self.inner)?;
        self.changed_paths_in(&index)
    }

    /// [`changed_paths`](Self::changed_paths) and [`hidden_edits`](Self::hidden_edits), the
    /// index read once: everything a worktree holds that its branch does not.
    pub fn changed_and_hidden(&self) -> Result<(Vec<String>, Vec<String>), RepoError> {
        let index = super::scan::read_index(&self.inner)?;
        Ok((
            self.changed_paths_in(&index)?.0,
            self.hidden_edits_in(&index)?
                .into_iter()
                .map(|(path, _)| path)
                .collect(),
        ))
    }

    fn changed_paths_in(
        &self,
        index: &gix::index::File,
    ) -> Result<(Vec<String>, Option<super::fsmonitor::Seen>), RepoError> {
        let what = || "reading the status of the worktree".to_owned();
        let repo = &self.inner;
        let (changes, answer) = super::fsmonitor::worktree_changes_explained(repo, index)?;
        let mut paths = changes.removed;
        let mut pipeline = None;
        let trust_executable_bit = repo.filesystem_options().context(what)?.executable_bit;
        for path in changes.to_hash {
            let entry = index.entry_by_path(path.as_ref()).filter(|e| {
                e.stage_raw() == 0 && !e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD)
            });
            // The scan only says "may differ" for tracked files: their content decides.
            let changed = match entry {
                None => true,
                Some(entry) if entry.mode == gix::index::entry::Mode::COMMIT => {
                    self.submodule_changed(&path, entry.id)?
                }
                Some(entry) => {
                    if pipeline.is_none() {
                        pipeline = Some(super::scan::filter_pipeline(repo, index)?);
                    }
                    let pipeline = pipeline.as_mut().expect("created above");
                    let on_disk = super::scan::worktree_blob(repo, pipeline, index, path.as_ref())?;
                    match (on_disk, entry.mode.to_tree_entry_mode()) {
                        (Some((mode, id)), Some(index_mode)) => {
                            // With core.fileMode=false only the content counts for files.
                            let modes_match = mode == index_mode
                                || (!trust_executable_bit
                                    && mode.is_blob()
                                    && index_mode.is_blob());
                            id != entry.id || !modes_match
                        }
                        _ => true,
                    }
                }
            };
            if changed {
                paths.push(path);
            }
        }
        // When the index's cached root tree is valid and equals HEAD's tree, nothing is
        // staged and the HEAD-vs-index diff (which inflates trees) can be skipped.
        let head_tree = repo.head_tree_id_or_empty().context(what)?.detach();
        let nothing_staged = index
            .tree()
            .is_some_and(|t| t.num_entries.is_some() && t.id == head_tree);
        if !nothing_staged {
            use gix::status::tree_index::TrackRenames;
            repo.tree_index_status(
                &head_tree,
                index,
                None,
                TrackRenames::Disabled,
                |change, _, _| {
                    paths.push(change.location().to_owned());
                    Ok(std::ops::ControlFlow::Continue(()))
                },
            )
            .context(what)?;
        }
        let mut paths: Vec<String> = paths
            .iter()
            .map(|p| p.to_str_lossy().into_owned())
            .collect();
        paths.sort();
        paths.dedup();
        Ok((paths, answer.seen))
    }

    /// Tracked files whose changes git was told not to look at (`update-index
    /// --assume-unchanged` or `--skip-worktree`) and that differ on disk from what the index
    /// holds: a status, `git add -A` and so a checkpoint all pass them by, and a removal would
    /// delete them. Absent ones hold nothing (a sparse checkout leaves them out). Sorted.
    pub fn hidden_edits(&self) -> Result<Vec<String>, RepoError> {
        let index = super::scan::read_index(&self.inner)?;
        Ok(self
            .hidden_edits_in(&index)?
            .into_iter()
            .map(|(path, _)| path)
            .collect())
    }

    /// The [`hidden_edits`](Self::hidden_edits) of files marked assume-unchanged only: the
    /// ones `git read-tree --reset -u` (and `git reset --hard`) overwrite. It leaves a
    /// skip-worktree file alone.
    pub fn assumed_edits(&self) -> Result<Vec<String>, RepoError> {
        let index = super::scan::read_index(&self.inner)?;
        Ok(self
            .hidden_edits_in(&index)?
            .into_iter()
            .filter_map(|(path, assumed)| assumed.then_some(path))
            .collect())
    }

    /// Each hidden edit's path, and whether it is assume-unchanged (not skip-worktree).
    fn hidden_edits_in(&self, index: &gix::index::File) -> Result<Vec<(String, bool)>, RepoError> {
        use gix::index::entry::{Flags, Mode};
        let repo = &self.inner;
        let trust_executable_bit = repo
            .filesystem_options()
            .context(|| "reading the status of the worktree".to_owned())?
            .executable_bit;
        let Some(workdir) = repo.workdir() else {
            return Ok(Vec::new());
        };
        let mut pipeline = None;
        let mut real_dirs = std::collections::HashMap::new();
        let mut out = Vec::new();
        for entry in index.entries() {
            if !entry
                .flags
                .intersects(Flags::ASSUME_VALID | Flags::SKIP_WORKTREE)
                || entry.stage_raw() != 0
                || entry.mode == Mode::COMMIT
            {
                continue;
            }
            let path = entry.path(index);
            // Behind a symlinked directory it is not the worktree's file: never read.
            let dir = path.rfind_byte(b'/').map_or(&path[..0], |i| &path[..i]);
            if !super::scan::is_real_dir_memo(workdir, dir, &mut real_dirs) {
                continue;
            }
            if pipeline.is_none() {
                pipeline = Some(super::scan::filter_pipeline(repo, index)?);
            }
            let pipeline = pipeline.as_mut().expect("created above");
            let Some((mode, id)) = super::scan::worktree_blob(repo, pipeline, index, path)? else {
                continue;
            };
            let modes_match = entry.mode.to_tree_entry_mode().is_some_and(|index_mode| {
                mode == index_mode
                    || (!trust_executable_bit && mode.is_blob() && index_mode.is_blob())
            });
            if id != entry.id || !modes_match {
                let assumed = !entry.flags.contains(Flags::SKIP_WORKTREE);
                out.push((path.to_str_lossy().into_owned(), assumed));
            }
        }
        Ok(out)
    }

    /// Whether the submodule checked out at `path` moved away from `recorded` or holds changes
    /// of its own. One that is not checked out has none.
    fn submodule_changed(&self, path: &BString, recorded: ObjectId) -> Result<bool, RepoError> {
        let Some(workdir) = self.inner.workdir() else {
            return Ok(false);
        };
        use std::os::unix::ffi::OsStrExt;
        let dir = workdir.join(std::ffi::OsStr::from_bytes(path));
        let Ok(submodule) = gix::open_opts(dir, self.inner.open_options().clone()) else {
            return Ok(false);
        };
        let submodule = Self::from_gix(submodule)?;
        if submodule.head_commit()? != Some(recorded) {
            return Ok(true);
        }
        Ok(!submodule.changed_paths()?.is_empty())
    }

    /// Whether git would ignore a file at `rel` (relative to this worktree, `/`-separated)
    /// were it untracked, and whether the index tracks it: `(ignored, tracked)`.
    pub fn file_ignore_state(&self, rel: &str) -> Result<(bool, bool), RepoError> {
        let what = || format!("reading the ignore rules for {rel}");
        let index = self.inner.index_or_empty().context(what)?;
        let tracked = index.entry_by_path(rel.into()).is_some();
        let source = gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped;
        let skipped = crate::git::scan::skipped_files(&index, b".gitignore");
        let mut excludes = self.inner.excludes(&skipped, None, source).context(what)?;
        let ignored = excludes
            .at_entry(rel, Some(gix::index::entry::Mode::FILE))
            .context(what)?
            .is_excluded();
        Ok((ignored, tracked))
    }

    /// Ignored paths of this worktree as `git status --ignored` reports them: an ignored
    /// directory is one entry and is not entered. Nested repositories are left out. Names
    /// that are not UTF-8 are left out too (see `ignored_paths` for all of them).
    pub fn ignored_entries(&self) -> Result<Vec<IgnoredEntry>, RepoError> {
        Ok(self
            .ignored_walk()?
            .into_iter()
            .filter_map(|(path, kind)| {
                let rela_path = path.to_str().ok()?.to_owned();
                Some(IgnoredEntry { rela_path, kind })
            })
            .collect())
    }

    /// The paths of `ignored_entries`, whatever bytes their names hold.
    pub fn ignored_paths(&self) -> Result<Vec<BString>, RepoError> {
        Ok(self.ignored_walk()?.into_iter().map(|(p, _)| p).collect())
    }

    fn ignored_walk(&self) -> Result<Vec<(BString, IgnoredKind)>, RepoError> {
        use gix::dir::entry::{Kind, Status};
        use gix::dir::walk::EmissionMode;
        let what = || "listing ignored files".to_owned();
        let index = self.inner.index_or_empty().context(what)?;
        let options = self
            .inner
            .dirwalk_options()
            .context(what)?
            .emit_ignored(Some(EmissionMode::CollapseDirectory))
            .emit_untracked(EmissionMode::Matching)
            .emit_tracked(false)
            .emit_pruned(false)
            .emit_empty_directories(false)
            .recurse_repositories(false);
        let iter = self
            .inner
            .dirwalk_iter(index, Vec::<BString>::new(), Default::default(), options)
            .context(what)?;
        let mut out = Vec::new();
        for item in iter {
            let item = item.context(what)?;
            let entry = item.entry;
            if !matches!(entry.status, Status::Ignored(_)) {
                continue;
            }
            let kind = match entry.disk_kind {
                Some(Kind::File) => IgnoredKind::File,
                Some(Kind::Symlink) => IgnoredKind::Symlink,
                Some(Kind::Directory) => IgnoredKind::Directory,
                _ => continue,
            };
            out.push((entry.rela_path, kind));
        }
        out.sort();
        Ok(out)
    }
}

/// Whether a failed reference transaction failed because a reference was not as expected
/// (or locked by another process), rather than for an I/O or format reason.
fn is_conflict(err: &gix::Error, chain: &str) -> bool {
    err.classify().is_conflict()
        || chain.contains("out of date")
        || chain.contains("should not exist")
        || chain.contains("must not exist")
        || chain.contains("doesn't match")
        || chain.contains("did not exist")
        || chain.contains("lock")
}

/// A repository path for a one-line message: lossy UTF-8, control characters escaped.
/// The first 12 hex digits of an object id, as messages name commits.
pub fn short_id(id: ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

pub fn printable_path(path: &[u8]) -> String {
    path.to_str_lossy().escape_debug().to_string()
}

/// A gitignore pattern matching exactly the directory `path` (relative to the root, with no
/// newline): glob characters and spaces escaped, anchored with `/`, ending in `/`.
pub fn gitignore_literal(path: &[u8]) -> Vec<u8> {
    let mut pattern = vec![b'/'];
    for &b in path {
        if matches!(b, b'\\' | b'*' | b'?' | b'[' | b']' | b'!' | b'#' | b' ') {
            pattern.push(b'\\');
        }
        pattern.push(b);
    }
    pattern.push(b'/');
    pattern
}

/// Canonicalizes when possible (gix paths may hold `..` or a trailing `/.`).
/// A worktree's `gitdir` file as read (a few dozen bytes: cheaper to read again than to be
/// fooled by a rewrite in place that keeps its size and time).
fn gitdir_content(admin: &Path) -> Option<Vec<u8>> {
    std::fs::read(admin.join("gitdir")).ok()
}

/// Each worktree's resolved location as last read in this process, by its admin directory,
/// with the `gitdir` content it was read from: commands list the worktrees several times,
/// and resolving 50 of them each time was a tenth of a checkpoint.
type Bases = std::collections::HashMap<PathBuf, (Vec<u8>, PathBuf)>;
static BASES: std::sync::Mutex<Option<Bases>> = std::sync::Mutex::new(None);

/// The location resolved from `admin`'s `gitdir` before, when the file still says the same
/// (`content`, as just read).
fn remembered_base(admin: &Path, content: Option<&[u8]>) -> Option<PathBuf> {
    let content = content?;
    let bases = BASES.lock().ok()?;
    match bases.as_ref()?.get(admin) {
        Some((seen, base)) if seen.as_slice() == content => Some(base.clone()),
        _ => None,
    }
}

/// Remembers `base`, resolved from `admin`'s `gitdir` when it said `before`, unless the file
/// changed while it was read.
fn remember_base(admin: &Path, before: Option<Vec<u8>>, base: &Path) {
    let Some(content) = before.filter(|b| gitdir_content(admin).as_ref() == Some(b)) else {
        return;
    };
    if let Ok(mut bases) = BASES.lock() {
        bases
            .get_or_insert_with(Default::default)
            .insert(admin.to_owned(), (content, base.to_owned()));
    }
}

/// Whether a worktree's admin directory (and its `gitdir` file, when there is one) has not
/// changed for 5 s: what is wrong with it is not another git at work.
fn untouched_for_a_while(admin: &Path) -> bool {
    let old = |path: &Path| crate::fsutil::untouched_for(path, std::time::Duration::from_secs(5));
    let gitdir = admin.join("gitdir");
    old(admin) && (!gitdir.exists() || old(&gitdir))
}

pub fn canonical(path: &Path) -> PathBuf {
    canonical_memo(path)
        .unwrap_or_else(|| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
}

/// [`canonical`] for an absolute path whose last component is no symlink, through its
/// parent's resolution kept for the process: the paths asked for share their parents (each
/// worktree in the worktree directory, each admin directory in `.git/worktrees`), and a
/// resolution from the root costs a `readlink` per component. None when it does not apply.
fn canonical_memo(path: &Path) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static PARENTS: Mutex<Option<HashMap<PathBuf, PathBuf>>> = Mutex::new(None);
    use std::os::unix::ffi::OsStrExt;
    let (parent, name) = (path.parent()?, path.file_name()?);
    // Spelled ending in its name: `…/link/` and `…/link/.` look up the link's target, which
    // the check below would not see.
    if !path.is_absolute()
        || parent.as_os_str().is_empty()
        || !path.as_os_str().as_bytes().ends_with(name.as_bytes())
    {
        return None;
    }
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return None;
    }
    let mut parents = PARENTS.lock().ok()?;
    let parents = parents.get_or_insert_with(HashMap::new);
    let resolved = match parents.get(parent) {
        Some(resolved) => resolved.clone(),
        None => {
            let resolved = std::fs::canonicalize(parent).ok()?;
            parents.insert(parent.to_owned(), resolved.clone());
            resolved
        }
    };
    Some(resolved.join(name))
}

/// Canonicalizes the longest existing ancestor of `path` and appends the rest (for paths not
/// created yet), so symlinks on the way are resolved.
pub fn normalize(path: &Path) -> PathBuf {
    let mut existing = path.to_owned();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_owned()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_owned();
            }
            _ => break,
        }
    }
    let mut out = canonical(&existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// `path` with `.` and `..` components resolved lexically (what [`normalize`] leaves of a
/// path whose tail does not exist).
pub fn clean_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Runs `f` on a handle of `repo` whose worktree is `.`, with the process inside the
/// worktree: status does one lstat per tracked file, and resolving short relative paths
/// instead of long absolute ones is a good part of its cost. The directory is restored after.
pub fn with_short_paths<T>(repo: &gix::Repository, f: impl FnOnce(&gix::Repository) -> T) -> T {
    let (Some(workdir), Ok(previous)) = (repo.workdir(), std::env::current_dir()) else {
        return f(repo);
    };
    let mut local = repo.clone();
    if std::env::set_current_dir(workdir).is_err()
        || local.set_workdir(Some(PathBuf::from("."))).is_err()
    {
        let _ = std::env::set_current_dir(&previous);
        return f(repo);
    }
    let out = f(&local);
    let _ = std::env::set_current_dir(previous);
    out
}

/// Asks whether objects are in the database, many in a row: a loose object is looked up from
/// the objects directory opened once (a path of two components, not the whole path from the
/// root), anything else (packed, in an alternate) through gix. Objects asked about together
/// are mostly of one kind (written by the last capture, or packed since by `git gc`): after a
/// few objects that were not loose, only gix is asked.
pub struct Presence<'r> {
    repo: &'r Repo,
    loose: Option<std::os::fd::OwnedFd>,
    misses: std::cell::Cell<u32>,
}

impl Presence<'_> {
    pub fn has(&self, id: ObjectId) -> bool {
        if let Some(dir) = &self.loose
            && self.misses.get() < 3
        {
            let hex = id.to_string();
            let name = format!("{}/{}", &hex[..2], &hex[2..]);
            let flags = rustix::fs::AtFlags::SYMLINK_NOFOLLOW;
            if rustix::fs::statat(dir, name.as_str(), flags).is_ok() {
                return true;
            }
            self.misses.set(self.misses.get() + 1);
        }
        self.repo.has_object(id)
    }
}

/// The git directory of the worktree at `workdir`, from its `.git` (a directory, or a file
/// naming one), without opening the repository.
pub fn git_dir_of_workdir(workdir: &Path) -> Option<PathBuf> {
    let dot_git = workdir.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let dir = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
    Some(if dir.is_absolute() {
        dir
    } else {
        workdir.join(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::{Repo, TreeEntry, canonical};
    use gix::objs::tree::EntryKind;

    /// Changes are paired by name, whatever git's order: a file turned into a directory is
    /// one change (and what the directory holds is listed as added), a directory that went is
    /// one change, files beside them that stayed are not listed.
    #[test]
    fn tree_changes_pair_entries_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::from_gix_handle(gix::init_bare(dir.path()).unwrap());
        let blob = |text: &str| repo.write_blob(text.as_bytes()).unwrap();
        let entry = |name: &str, kind: EntryKind, id| TreeEntry {
            name: name.into(),
            mode: kind.into(),
            id,
        };
        let tree = |entries: Vec<TreeEntry>| repo.write_tree(&entries).unwrap();
        let (one, two) = (blob("one"), blob("two"));
        let inner = tree(vec![entry("x", EntryKind::Blob, one)]);
        let gone = tree(vec![entry("y", EntryKind::Blob, one)]);
        let old = tree(vec![
            entry("a", EntryKind::Blob, one),
            entry("a.txt", EntryKind::Blob, one),
            entry("b", EntryKind::Tree, inner),
            entry("c", EntryKind::Blob, one),
            entry("d", EntryKind::Tree, gone),
            entry("e", EntryKind::Blob, one),
        ]);
        let new = tree(vec![
            entry("a", EntryKind::Tree, inner),
            entry("a.txt", EntryKind::Blob, one),
            entry("b", EntryKind::Blob, two),
            entry("c", EntryKind::Blob, two),
            entry("e", EntryKind::BlobExecutable, one),
            entry("f", EntryKind::Blob, one),
        ]);
        let changes: Vec<String> = repo
            .tree_changes(Some(old), new)
            .unwrap()
            .iter()
            .map(|c| {
                let side = |e: Option<(gix::objs::tree::EntryMode, gix::ObjectId)>| {
                    e.map_or("-".to_owned(), |(mode, id)| {
                        format!("{:?}:{}", mode.kind(), if id == two { "two" } else { "." })
                    })
                };
                format!("{} {} {}", c.path, side(c.old), side(c.new))
            })
            .collect();
        assert_eq!(
            changes,
            [
                "a Blob:. Tree:.",
                "a/x - Blob:.",
                "b Tree:. Blob:two",
                "c Blob:. Blob:two",
                "d Tree:. -",
                "e Blob:. BlobExecutable:.",
                "f - Blob:.",
            ]
        );
        assert!(repo.tree_changes(Some(new), new).unwrap().is_empty());
        assert_eq!(repo.tree_changes(None, inner).unwrap().len(), 1);
    }

    /// The memo never answers differently from a full resolution: a symlink as the last
    /// component, spelled with a trailing `/` or `/.`, a plain directory, a missing path.
    #[test]
    fn canonical_agrees_with_a_full_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        for spelled in ["real", "link", "link/", "link/.", "real/.", "missing"] {
            let path = root.join(spelled);
            let full = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            assert_eq!(canonical(&path), full, "{spelled}");
            assert_eq!(canonical(&path), full, "{spelled}, asked again");
        }
    }
}
