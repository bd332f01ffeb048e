//! What each live session's work is, as git objects: the commit it sits on, the tree of its
//! work (its latest checkpoint's when that was taken on the same commit, so uncommitted work
//! counts; else the commit's), what it claims (`owns`), and the tip of its base ref now. Read
//! from refs, logs and checkpoints — never a worktree scan unless asked (`--now`) — for the
//! sessions here and, when asked, the ones fetched from remotes. `overlap` judges them;
//! `list`, `show`, `overlaps`, the hooks and the live view share this one gathering.
//!
//! Tree diffs are kept in `session/cache/changes.json` by the two trees they compare (a diff
//! of two trees never changes), so the hooks that run on every commit or every agent edit pay
//! for a diff once per new tip. Never prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::checkpoint::{self, Snapshot};
use crate::git::merge::ChangedFile;
use crate::git::{ObjectId, Repo, RepoError};
use crate::session::{LocalStore, Session, Store, sync};

/// One session's work, as far as overlaps are concerned.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The name to show: the session's, or `<remote>/<name>` for a fetched one.
    pub name: String,
    pub id: String,
    /// The remote a fetched session came from (None: a session here).
    pub remote: Option<String>,
    pub owns: Vec<String>,
    /// The commit its work sits on.
    pub head: ObjectId,
    /// The tree of its work (uncommitted work included when a checkpoint or a scan says).
    pub tree: ObjectId,
    /// The commit it started from (session.yaml's `base`).
    pub base: Option<ObjectId>,
    /// Its base ref's tip now (None when it cannot be resolved here).
    pub base_tip: Option<ObjectId>,
    /// How its base ref is named (`main`, `origin/HEAD`), for messages.
    pub base_ref: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FootprintError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Store(#[from] crate::session::StoreError),
    #[error(transparent)]
    Sync(#[from] crate::session::sync::SyncError),
}

/// Which sessions to gather.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Also the sessions fetched from remotes.
    pub remote: bool,
    /// Scan each worktree here first (its files now, not its latest checkpoint).
    pub now: bool,
}

/// The footprints of the live sessions (active or paused) among `sessions`, and with
/// `scope.remote` of the live fetched ones, with the reason each one left out was left out
/// (its worktree or its objects could not be read).
pub fn gather(
    repo: &Repo,
    local: &LocalStore,
    sessions: &[Session],
    scope: Scope,
) -> Result<(Vec<Footprint>, Vec<String>), FootprintError> {
    let main_repo = repo.main().ok();
    let main = main_repo.as_ref().unwrap_or(repo);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    // Read once: every session's worktree HEAD comes from its administrative directory,
    // without opening a repository per worktree.
    let linked = repo.linked_worktrees()?;
    let mut base_tips: HashMap<String, Option<ObjectId>> = HashMap::new();
    for session in sessions.iter().filter(|s| s.meta.status.is_open()) {
        let worktree = if scope.now {
            crate::lifecycle::find_worktree_in(&linked, local, session)
        } else {
            None
        };
        let head_here = crate::lifecycle::find_worktree_in(&linked, local, session)
            .and_then(|path| linked.iter().find(|w| w.path == path))
            .and_then(|w| head_of(repo, &w.git_dir));
        match local_footprint(
            repo,
            main,
            session,
            head_here,
            worktree.as_deref(),
            &mut base_tips,
        ) {
            Ok(Some(f)) => out.push(f),
            Ok(None) => {}
            Err(e) => skipped.push(format!(
                "session '{}': {}",
                crate::text::escape(session.name()),
                crate::text::one_line(&e)
            )),
        }
    }
    if scope.remote {
        let store = Store::new(repo);
        for entry in sync::remote_entries(repo, &[])? {
            // Fetched data is untrusted: read only through the checks a fetch applies.
            let copy = match crate::session::name::validate(&entry.name)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    store
                        .read_tip(&entry.name, entry.tip)
                        .map_err(|e| crate::text::one_line(&e))
                })
                .and_then(|s| sync::check_portable(&s.meta).map(|()| s))
            {
                Ok(copy) => copy,
                Err(reason) => {
                    skipped.push(format!(
                        "{}: {reason}",
                        crate::text::escape(&entry.display())
                    ));
                    continue;
                }
            };
            if !copy.meta.status.is_open() {
                continue;
            }
            let branch = repo.read_ref(&format!(
                "refs/remotes/{}/{}",
                entry.remote, copy.meta.branch
            ))?;
            match work_of(repo, &copy, branch) {
                Ok(Some((head, tree))) => out.push(Footprint {
                    name: entry.display(),
                    id: copy.meta.id.clone(),
                    remote: Some(entry.remote.clone()),
                    owns: copy.meta.owns.clone(),
                    head,
                    tree,
                    base: copy.meta.base_id(),
                    base_tip: base_tip(main, &copy, &mut base_tips),
                    base_ref: copy.meta.base_ref.clone(),
                }),
                Ok(None) => {}
                Err(e) => skipped.push(format!(
                    "{}: {}",
                    crate::text::escape(&entry.display()),
                    crate::text::one_line(&e)
                )),
            }
        }
    }
    Ok((out, skipped))
}

/// The commit a worktree's HEAD (in its administrative directory) names.
fn head_of(repo: &Repo, git_dir: &Path) -> Option<ObjectId> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    match head.strip_prefix("ref: ") {
        Some(name) => repo.read_ref(name).ok().flatten(),
        None => ObjectId::from_hex(head.as_bytes()).ok(),
    }
}

fn local_footprint(
    repo: &Repo,
    main: &Repo,
    session: &Session,
    // The HEAD of its worktree here, when it has one: the work may be on a detached HEAD.
    worktree_head: Option<ObjectId>,
    scan: Option<&Path>,
    base_tips: &mut HashMap<String, Option<ObjectId>>,
) -> Result<Option<Footprint>, FootprintError> {
    let branch = repo.read_ref(&format!("refs/heads/{}", session.meta.branch))?;
    let captured = match scan {
        Some(path) => {
            let wt = repo.open_worktree(path)?;
            let capture = checkpoint::capture(&wt)?;
            capture.head.map(|head| (head, capture.tree))
        }
        None => None,
    };
    let work = match captured {
        Some(work) => Some(work),
        None => work_of(repo, session, worktree_head.or(branch))?,
    };
    let Some((head, tree)) = work else {
        return Ok(None);
    };
    Ok(Some(Footprint {
        name: session.name().to_owned(),
        id: session.meta.id.clone(),
        remote: None,
        owns: session.meta.owns.clone(),
        head,
        tree,
        base: session.meta.base_id(),
        base_tip: base_tip(main, session, base_tips),
        base_ref: session.meta.base_ref.clone(),
    }))
}

/// The commit a session's work sits on and the tree of its work: its latest checkpoint when
/// that was taken on `tip` (or there is no tip), else `tip`'s own tree.
fn work_of(
    repo: &Repo,
    session: &Session,
    tip: Option<ObjectId>,
) -> Result<Option<(ObjectId, ObjectId)>, FootprintError> {
    let snapshot = match session.meta.last_checkpoint_id() {
        Some(id) if repo.has_object(id) => Some(Snapshot::read(repo, id)?),
        _ => None,
    };
    match (tip, snapshot) {
        (Some(tip), Some(s)) if s.head == Some(tip) => Ok(Some((tip, s.tree))),
        (Some(tip), _) => Ok(Some((tip, repo.read_commit(tip)?.tree))),
        (None, Some(s)) => Ok(s.head.map(|head| (head, s.tree))),
        (None, None) => Ok(None),
    }
}

/// The tip of the session's base ref now, resolved in the main worktree (`HEAD` there is
/// the branch sessions start from); None when it does not resolve here.
fn base_tip(
    main: &Repo,
    session: &Session,
    cache: &mut HashMap<String, Option<ObjectId>>,
) -> Option<ObjectId> {
    let spec = session.meta.base_ref.clone();
    // A ref name only (session.yaml may be fetched): never `:/text` or `@{-1}`.
    let is_ref =
        spec == "HEAD" || crate::session::name::validate(spec.trim_start_matches("refs/")).is_ok();
    if !is_ref {
        return None;
    }
    *cache
        .entry(spec.clone())
        .or_insert_with(|| main.resolve_commit(&spec).ok())
}

/// Tree diffs, kept between runs by the trees they compare.
pub struct Changes<'r> {
    repo: &'r Repo,
    path: Option<PathBuf>,
    /// Read on first use (a caller that finds everything in `own` never parses it).
    loaded: bool,
    known: HashMap<String, Vec<ChangedFile>>,
    used: std::collections::HashSet<String>,
    dirty: bool,
    /// Each session's own changes, by session id: the footprint they were judged for (its
    /// commit, tree, base tip and base) and the files. The hooks and `PreToolUse`, which run
    /// on every commit and edit, read this small file and nothing else when no tip moved.
    own: HashMap<String, (String, Vec<ChangedFile>)>,
    own_path: Option<PathBuf>,
    own_dirty: bool,
}

/// At most this many diffs are kept.
const CACHE_ENTRIES: usize = 400;

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CacheFile {
    /// `<old tree>..<new tree>` → the files that differ.
    diffs: HashMap<String, Vec<ChangedFile>>,
}

impl<'r> Changes<'r> {
    /// The diffs kept in `$GIT_COMMON_DIR/session/cache/changes.json`.
    pub fn open(repo: &'r Repo) -> Changes<'r> {
        let path = repo.common_dir().join("session/cache/changes.json");
        let own_path = repo.common_dir().join("session/cache/own-changes.json");
        let own = crate::fsutil::read_json(&own_path).unwrap_or_default();
        Changes {
            repo,
            path: Some(path),
            loaded: false,
            known: HashMap::new(),
            used: Default::default(),
            dirty: false,
            own,
            own_path: Some(own_path),
            own_dirty: false,
        }
    }

    fn load(&mut self) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        if let Some(path) = &self.path {
            self.known = crate::fsutil::read_json::<CacheFile>(path)
                .map(|c| c.diffs)
                .unwrap_or_default();
        }
    }

    /// Session `id`'s own changes as last judged for `key`, when that is what it still is.
    pub fn own(&self, id: &str, key: &str) -> Option<&[ChangedFile]> {
        self.own
            .get(id)
            .filter(|(k, _)| k == key)
            .map(|(_, files)| files.as_slice())
    }

    pub fn remember_own(&mut self, id: &str, key: String, files: Vec<ChangedFile>) {
        self.own.insert(id.to_owned(), (key, files));
        self.own_dirty = true;
    }

    pub fn repo(&self) -> &'r Repo {
        self.repo
    }

    /// The files that differ from tree `old` to tree `new`.
    pub fn between(&mut self, old: ObjectId, new: ObjectId) -> Result<&[ChangedFile], RepoError> {
        self.load();
        let key = format!("{old}..{new}");
        if !self.known.contains_key(&key) {
            let files = self.repo.changed_files(Some(old), new)?;
            self.known.insert(key.clone(), files);
            self.dirty = true;
        }
        self.used.insert(key.clone());
        Ok(&self.known[&key])
    }

    /// The tree of commit `id`.
    pub fn tree_of(&self, id: ObjectId) -> Result<ObjectId, RepoError> {
        Ok(self.repo.read_commit(id)?.tree)
    }

    /// Writes what was learnt (best effort: a cache that cannot be written is only slower).
    pub fn save(&mut self) {
        if self.own_dirty
            && let Some(path) = &self.own_path
        {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::fsutil::write_atomic(
                path,
                &serde_json::to_vec(&self.own).expect("serializes"),
                None,
            );
            self.own_dirty = false;
        }
        let Some(path) = &self.path else { return };
        if !self.dirty {
            return;
        }
        if self.known.len() > CACHE_ENTRIES {
            let used = &self.used;
            self.known.retain(|k, _| used.contains(k));
        }
        let file = CacheFile {
            diffs: std::mem::take(&mut self.known),
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::fsutil::write_atomic(
            path,
            &serde_json::to_vec(&file).expect("serializes"),
            None,
        );
        self.known = file.diffs;
        self.dirty = false;
    }
}

impl Drop for Changes<'_> {
    fn drop(&mut self) {
        self.save();
    }
}

/// What git knows about the footprints, for [`crate::overlap::analyze`]: diffs (cached by
/// tree pair), merge bases and trial merges.
pub struct GitOracle<'a, 'r> {
    changes: Changes<'r>,
    prints: &'a [Footprint],
    forks: HashMap<usize, Option<ObjectId>>,
    bases: HashMap<(usize, usize), Option<ObjectId>>,
}

impl<'a, 'r> GitOracle<'a, 'r> {
    pub fn new(repo: &'r Repo, prints: &'a [Footprint]) -> GitOracle<'a, 'r> {
        GitOracle {
            changes: Changes::open(repo),
            prints,
            forks: HashMap::new(),
            bases: HashMap::new(),
        }
    }

    /// Where session `i` left its base: the merge base of its work with its base ref's tip,
    /// else the commit it started from.
    fn fork(&mut self, i: usize) -> Result<Option<ObjectId>, RepoError> {
        if let Some(known) = self.forks.get(&i) {
            return Ok(*known);
        }
        let repo = self.changes.repo();
        let p = &self.prints[i];
        let mut fork = match p.base_tip {
            Some(tip) => repo.merge_base(p.head, tip)?,
            None => None,
        };
        if fork.is_none() {
            fork = p.base.filter(|b| repo.has_object(*b));
        }
        self.forks.insert(i, fork);
        Ok(fork)
    }

    fn pair_base(&mut self, i: usize, j: usize) -> Result<Option<ObjectId>, RepoError> {
        if let Some(known) = self.bases.get(&(i, j)) {
            return Ok(*known);
        }
        let base = self
            .changes
            .repo()
            .merge_base(self.prints[i].head, self.prints[j].head)?;
        self.bases.insert((i, j), base);
        Ok(base)
    }
}

impl crate::overlap::Oracle for GitOracle<'_, '_> {
    type Error = RepoError;

    fn own_changes(&mut self, i: usize) -> Result<Vec<ChangedFile>, RepoError> {
        let p = &self.prints[i];
        let key = format!("{}:{}:{:?}:{:?}", p.head, p.tree, p.base_tip, p.base);
        if let Some(files) = self.changes.own(&p.id, &key) {
            return Ok(files.to_vec());
        }
        let id = p.id.clone();
        let files = match self.fork(i)? {
            Some(fork) => {
                let from = self.changes.tree_of(fork)?;
                self.changes.between(from, self.prints[i].tree)?.to_vec()
            }
            None => Vec::new(),
        };
        self.changes.remember_own(&id, key, files.clone());
        Ok(files)
    }

    fn pair_changes(
        &mut self,
        i: usize,
        j: usize,
    ) -> Result<Option<(Vec<ChangedFile>, Vec<ChangedFile>)>, RepoError> {
        if self.pair_base(i, j)?.is_none() {
            return Ok(None);
        }
        // Each session's own changes, from where it left its base: a file the base changed
        // between the two forks is neither session's work.
        Ok(Some((self.own_changes(i)?, self.own_changes(j)?)))
    }

    fn pair_conflicts(&mut self, i: usize, j: usize) -> Result<Vec<String>, RepoError> {
        let Some(base) = self.pair_base(i, j)? else {
            return Ok(Vec::new());
        };
        let from = self.changes.tree_of(base)?;
        self.changes
            .repo()
            .conflicting_files(from, self.prints[i].tree, self.prints[j].tree)
    }

    fn base_changes(&mut self, i: usize) -> Result<Option<Vec<ChangedFile>>, RepoError> {
        let (Some(tip), Some(fork)) = (self.prints[i].base_tip, self.fork(i)?) else {
            return Ok(None);
        };
        if tip == fork {
            return Ok(None);
        }
        let (from, to) = (self.changes.tree_of(fork)?, self.changes.tree_of(tip)?);
        Ok(Some(self.changes.between(from, to)?.to_vec()))
    }

    fn base_conflicts(&mut self, i: usize) -> Result<Vec<String>, RepoError> {
        let (Some(tip), Some(fork)) = (self.prints[i].base_tip, self.fork(i)?) else {
            return Ok(Vec::new());
        };
        let (from, to) = (self.changes.tree_of(fork)?, self.changes.tree_of(tip)?);
        self.changes
            .repo()
            .conflicting_files(from, self.prints[i].tree, to)
    }
}

/// The sessions' overlaps (with `focus`, only that session's): the footprints gathered,
/// judged, with the reasons any session was left out.
pub fn overlaps(
    repo: &Repo,
    local: &LocalStore,
    sessions: &[Session],
    scope: Scope,
    focus: Option<&str>,
    depth: crate::overlap::Depth,
) -> Result<(crate::overlap::Report, Vec<String>), FootprintError> {
    // The same base trees are read for every pair: kept decoded once read.
    let cached = repo.with_object_cache(64 << 20);
    let repo = &cached;
    let (prints, skipped) = gather(repo, local, sessions, scope)?;
    let claims: Vec<crate::overlap::Claim> = prints
        .iter()
        .map(|p| crate::overlap::Claim {
            name: p.name.clone(),
            id: p.id.clone(),
            owns: p.owns.clone(),
            base_ref: p.base_ref.clone(),
        })
        .collect();
    let mut oracle = GitOracle::new(repo, &prints);
    let report = crate::overlap::analyze(&claims, focus, depth, &mut oracle)?;
    Ok((report, skipped))
}

/// What touching `touched` (files a commit changed, a file an agent is about to edit) runs
/// into, as [`crate::overlap::warnings`] words it: files another live session here changed
/// or claims, files outside `me`'s claim (None: the touch is no session's, so only the others
/// count). At most `limit` lines.
pub fn touch_warnings(
    repo: &Repo,
    local: &LocalStore,
    sessions: &[Session],
    me: Option<&Session>,
    touched: &[String],
    limit: usize,
) -> Result<Vec<String>, FootprintError> {
    let claim_of = |name: &str, id: &str, owns: &[String], base_ref: &str| crate::overlap::Claim {
        name: name.to_owned(),
        id: id.to_owned(),
        owns: owns.to_vec(),
        base_ref: base_ref.to_owned(),
    };
    let mine = match me {
        Some(me) => claim_of(me.name(), &me.meta.id, &me.meta.owns, &me.meta.base_ref),
        None => claim_of("", "", &[], ""),
    };
    let others: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.meta.id != mine.id && s.meta.status.is_open())
        .collect();
    if others.is_empty() && mine.owns.is_empty() {
        return Ok(Vec::new());
    }
    let owned: Vec<Session> = others.iter().map(|s| (*s).clone()).collect();
    let cached = repo.with_object_cache(64 << 20);
    let repo = &cached;
    let (prints, _) = gather(repo, local, &owned, Scope::default())?;
    let mut oracle = GitOracle::new(repo, &prints);
    let mut judged = Vec::with_capacity(prints.len());
    for (i, p) in prints.iter().enumerate() {
        use crate::overlap::Oracle;
        let mut changed: Vec<String> = oracle.own_changes(i)?.into_iter().map(|c| c.path).collect();
        changed.sort();
        judged.push((claim_of(&p.name, &p.id, &p.owns, &p.base_ref), changed));
    }
    Ok(crate::overlap::warnings(&mine, touched, &judged, limit))
}
