//! The session store: each session is a chain of log commits under `refs/sessions/<name>`
//! (DESIGN §2). It reads sessions and builds the log commits that record their events; the
//! refs themselves only ever move through a `Transaction` (compare-and-swap, events rebuilt
//! on top of another process's when both record at once, so none is ever lost).

use gix::objs::tree::EntryKind;

use super::event::{Event, EventKind};
use super::model::{MetaError, SessionMeta};
use super::name;
use crate::git::{CommitInfo, ObjectId, Repo, RepoError, TreeEntry};

pub const SESSIONS_PREFIX: &str = "refs/sessions/";
pub const TRASH_PREFIX: &str = "refs/sessions-trash/";
pub const META_FILE: &str = "session.yaml";
pub const CONTEXT_FILE: &str = "context.md";
pub const HANDOFF_FILE: &str = "handoff.md";
/// The largest `session.yaml` or `context.md` read: a log may come from a remote, and an
/// oversized blob would be parsed on every `list` and copied into every later event.
pub const MAX_BLOB_BYTES: u64 = 1024 * 1024;
/// How often recording an event is tried again when other processes keep moving the log.
pub const MAX_ATTEMPTS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no session named '{name}'")]
    NotFound { name: String },
    #[error("a session named '{name}' already exists")]
    AlreadyExists { name: String },
    #[error(
        "session name '{name}' collides with existing session '{existing}' (a name cannot also be a prefix directory of another, like 'a' and 'a/b')"
    )]
    Collides { name: String, existing: String },
    #[error("session '{name}' is unreadable: {reason}")]
    Malformed { name: String, reason: String },
    #[error(
        "session '{name}' kept changing while recording '{event}'; gave up after {MAX_ATTEMPTS} attempts"
    )]
    Contended { name: String, event: String },
    #[error(
        "session '{name}': {file} cannot be recorded: it {reason} (a fetch would refuse the session)"
    )]
    BadText {
        name: String,
        file: String,
        reason: String,
    },
    #[error(transparent)]
    Name(#[from] name::NameError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A session as its newest log commit describes it.
#[derive(Debug, Clone)]
pub struct Session {
    pub meta: SessionMeta,
    /// The newest log commit (`refs/sessions/<name>`).
    pub tip: ObjectId,
    pub context: Option<String>,
}

impl Session {
    pub fn name(&self) -> &str {
        &self.meta.name
    }
}

/// One event of a session's log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRecord {
    pub time: String,
    pub event: String,
    pub message: String,
    pub commit: String,
    /// The checkpoint this event recorded (the log commit's second parent).
    pub checkpoint: Option<String>,
}

/// Why text cannot go into a session's log, if it cannot: the same rules a fetch applies to
/// a fetched log (within [`MAX_BLOB_BYTES`], no NUL bytes), so nothing recorded here makes
/// every clone refuse the session once it is pushed.
pub fn text_problem(text: &str) -> Option<String> {
    if text.len() as u64 > MAX_BLOB_BYTES {
        return Some(format!("is {} bytes, over the limit of 1 MiB", text.len()));
    }
    text.contains('\0')
        .then(|| "is not text (it holds NUL bytes)".to_owned())
}

pub fn ref_name(name: &str) -> String {
    format!("{SESSIONS_PREFIX}{name}")
}

pub struct Store<'r> {
    repo: &'r Repo,
}

impl<'r> Store<'r> {
    pub fn new(repo: &'r Repo) -> Self {
        Store { repo }
    }

    /// Names of all sessions.
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .repo
            .list_refs(SESSIONS_PREFIX)?
            .into_iter()
            .filter_map(|(full, _)| full.strip_prefix(SESSIONS_PREFIX).map(str::to_owned))
            .collect())
    }

    /// Every session; one that cannot be read is an error in its slot, not for the whole list.
    /// What was read from a tip before is taken from [`super::parsed`].
    pub fn list(&self) -> Result<Vec<Result<Session, StoreError>>, StoreError> {
        self.list_kept(true)
    }

    /// As [`list`](Self::list), every log read now: what `doctor` judges, so a log whose
    /// objects went missing or bad is found even when what was read from it is kept.
    pub fn list_from_logs(&self) -> Result<Vec<Result<Session, StoreError>>, StoreError> {
        self.list_kept(false)
    }

    fn list_kept(&self, use_kept: bool) -> Result<Vec<Result<Session, StoreError>>, StoreError> {
        let mut parsed = super::parsed::Parsed::open(self.repo);
        let sessions = self
            .repo
            .list_refs(SESSIONS_PREFIX)?
            .into_iter()
            .filter_map(|(full, tip)| {
                full.strip_prefix(SESSIONS_PREFIX)
                    .map(|n| (n.to_owned(), tip))
            })
            .map(
                |(name, tip)| match use_kept.then(|| parsed.get(&name, tip)).flatten() {
                    Some(session) => Ok(session),
                    None => {
                        let read = self.read_at(&name, tip).map(|(session, _)| session);
                        if let Ok(session) = &read {
                            parsed.put(&name, session);
                        }
                        read
                    }
                },
            )
            .collect();
        parsed.save();
        Ok(sessions)
    }

    pub fn load(&self, name: &str) -> Result<Session, StoreError> {
        Ok(self.load_with_tree(name)?.0)
    }

    /// The session and the entries of its newest log commit's tree (to build the next one).
    fn load_with_tree(&self, name: &str) -> Result<(Session, Vec<TreeEntry>), StoreError> {
        // A name no session can have gets the naming rule it breaks, not a ref error.
        name::validate(name)?;
        match self.repo.read_ref(&ref_name(name))? {
            Some(tip) => self.read_at(name, tip),
            None => Err(StoreError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    pub fn exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.repo.read_ref(&ref_name(name))?.is_some())
    }

    /// Refuses names that are invalid, taken, or collide with an existing one.
    pub fn check_new_name(&self, name: &str) -> Result<(), StoreError> {
        name::validate_new(name)?;
        for existing in self.names()? {
            if existing == name {
                return Err(StoreError::AlreadyExists {
                    name: name.to_owned(),
                });
            }
            if name::collides(name, &existing) {
                return Err(StoreError::Collides {
                    name: name.to_owned(),
                    existing,
                });
            }
        }
        Ok(())
    }

    /// The session a log commit describes, stored as `name` (e.g. a fetched copy under
    /// `refs/remote-sessions/`): the same checks as for a local session.
    pub fn read_tip(&self, name: &str, tip: ObjectId) -> Result<Session, StoreError> {
        Ok(self.read_at(name, tip)?.0)
    }

    /// A text file of the session's newest log commit (e.g. `handoff.md`), refused when over
    /// the size limit or not UTF-8; None when the log commit has no such file.
    pub fn read_file(&self, session: &Session, file: &str) -> Result<Option<String>, StoreError> {
        let entries = self
            .repo
            .read_tree(self.repo.read_commit(session.tip)?.tree)?;
        read_text(self.repo, session.name(), &entries, file)
    }

    /// The session as the log commit `tip` describes it, with that commit's tree entries.
    pub fn read_at(
        &self,
        name: &str,
        tip: ObjectId,
    ) -> Result<(Session, Vec<TreeEntry>), StoreError> {
        let malformed = |reason: String| StoreError::Malformed {
            name: name.to_owned(),
            reason,
        };
        let commit = self
            .repo
            .read_commit(tip)
            .map_err(|e| malformed(crate::text::one_line(&e)))?;
        let entries = self
            .repo
            .read_tree(commit.tree)
            .map_err(|e| malformed(crate::text::one_line(&e)))?;
        let blob = |file: &str| read_text(self.repo, name, &entries, file);
        let yaml = blob(META_FILE)?
            .ok_or_else(|| malformed(format!("log commit {tip} has no {META_FILE}")))?;
        let meta =
            SessionMeta::from_yaml(&yaml, name).map_err(|MetaError(reason)| malformed(reason))?;
        let context = blob(CONTEXT_FILE)?;
        Ok((Session { meta, tip, context }, entries))
    }

    /// The log commits a new session starts with (not yet under any ref: the transaction
    /// that creates the session points its ref at the returned tip). Refuses a name that is
    /// taken or collides.
    pub fn build_create(
        &self,
        meta: SessionMeta,
        event: Event,
        context: Option<&str>,
    ) -> Result<Session, StoreError> {
        self.check_new_name(&meta.name)?;
        let name = meta.name.clone();
        let tip = match event.checkpoint {
            None => self.write_log_commit(None, &[], &meta, context, &event)?,
            // A checkpoint is only ever a second parent, so a log that starts with one (a
            // fork) gets a plain `created:` root first.
            Some(_) => {
                let root = self.write_log_commit(
                    None,
                    &[],
                    &meta,
                    context,
                    &Event::new(EventKind::Created, name.clone()),
                )?;
                // The root's tree holds only what write_log_commit writes anew.
                self.write_log_commit(Some(root), &[], &meta, context, &event)?
            }
        };
        Ok(Session {
            meta,
            tip,
            context: context.map(str::to_owned),
        })
    }

    /// The log commit recording `event` on top of the log at `base` (session `name` there):
    /// `change` edits the metadata as of `base`. Not under any ref yet.
    pub fn build_event(
        &self,
        name: &str,
        base: ObjectId,
        event: &Event,
        change: &mut dyn FnMut(&mut SessionMeta, &mut Option<String>),
    ) -> Result<Session, StoreError> {
        let now = super::time::format_rfc3339(self.repo.now()?);
        let (current, previous) = self.read_at(name, base)?;
        let mut meta = current.meta.clone();
        let mut context = current.context.clone();
        change(&mut meta, &mut context);
        if !event.background {
            meta.updated = now;
        }
        // Only snapshots: a kept branch tip or staged state is linked, not a checkpoint.
        if let Some(ckpt) = event.checkpoint
            && event.kind.links_checkpoint()
        {
            meta.last_checkpoint = Some(ckpt.to_string());
        }
        let tip = self.write_log_commit(Some(base), &previous, &meta, context.as_deref(), event)?;
        Ok(Session { meta, tip, context })
    }

    /// The `renamed:` log commit moving session `current` (its log at `current.tip`) to the
    /// name `new`. Not under any ref yet.
    pub fn build_rename(
        &self,
        current: &Session,
        new: &str,
        change: &mut dyn FnMut(&mut SessionMeta),
    ) -> Result<Session, StoreError> {
        let old = current.name().to_owned();
        let (current, previous) = self.read_at(&old, current.tip)?;
        self.check_new_name(new)?;
        let mut meta = current.meta.clone();
        meta.name = new.to_owned();
        meta.updated = super::time::format_rfc3339(self.repo.now()?);
        change(&mut meta);
        let event = Event::new(EventKind::Renamed, format!("{old} -> {new}"));
        let tip = self.write_log_commit(
            Some(current.tip),
            &previous,
            &meta,
            current.context.as_deref(),
            &event,
        )?;
        Ok(Session {
            meta,
            tip,
            context: current.context,
        })
    }

    /// Where `rm` keeps a deleted session's log: unique per deletion, so a session restored
    /// from the trash can be deleted again.
    pub fn trash_ref_for(session: &Session) -> String {
        format!(
            "{TRASH_PREFIX}{}-{}",
            session.meta.id,
            &crate::git::short_id(session.tip)
        )
    }

    /// Where an unreadable session's log goes, as it is.
    pub fn unreadable_trash_ref(tip: ObjectId) -> String {
        format!("{TRASH_PREFIX}unreadable-{}", &crate::git::short_id(tip))
    }

    /// The name a trashed session had, for session `id` (None when no readable trash entry
    /// has that id).
    pub fn trashed_name(&self, id: &str) -> Option<String> {
        let prefix = format!("{TRASH_PREFIX}{id}-");
        let (_, tip) = self
            .repo
            .list_refs(TRASH_PREFIX)
            .ok()?
            .into_iter()
            .find(|(full, _)| full.starts_with(&prefix))?;
        let commit = self.repo.read_commit(tip).ok()?;
        let entry = self
            .repo
            .read_tree(commit.tree)
            .ok()?
            .into_iter()
            .find(|e| e.name == META_FILE && e.mode.is_blob())?;
        if self.repo.object_size(entry.id).ok()? > MAX_BLOB_BYTES {
            return None;
        }
        let text = String::from_utf8(self.repo.read_blob(entry.id).ok()?).ok()?;
        #[derive(serde::Deserialize)]
        struct NameOnly {
            name: String,
        }
        let meta: NameOnly = serde_saphyr::from_str(&text).ok()?;
        name::validate(&meta.name).ok()?;
        Some(meta.name)
    }

    /// Trashed sessions: (ref, tip, time of the deletion).
    pub fn trashed(&self) -> Result<Vec<(String, ObjectId, i64)>, StoreError> {
        let mut out = Vec::new();
        for (full, tip) in self.repo.list_refs(TRASH_PREFIX)? {
            let time = self.repo.read_commit(tip).map(|c| c.time).unwrap_or(0);
            out.push((full, tip, time));
        }
        Ok(out)
    }

    /// The log, newest first (following first parents), at most `limit` events.
    pub fn events(
        &self,
        session: &Session,
        limit: Option<usize>,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(session.tip);
        while let Some(id) = next {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let commit = self.repo.read_commit(id)?;
            out.push(event_record(&commit));
            next = commit.parents.first().copied();
        }
        Ok(out)
    }

    /// Number of checkpoints linked from the log. `list` and `show` ask on every run, and a
    /// log may hold 100,000 events (a fetched one, say): the answer is kept machine-locally
    /// per log tip (`session/cache/<id>.json`), and a newer tip only walks the events since.
    pub fn checkpoint_count(&self, session: &Session) -> Result<usize, StoreError> {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Counted {
            tip: String,
            /// The distinct checkpoints linked, as hex ids.
            checkpoints: Vec<String>,
        }
        let path = self
            .repo
            .common_dir()
            .join("session")
            .join("cache")
            .join(format!("{}.json", session.meta.id));
        let cached: Option<Counted> = crate::fsutil::read_json(&path);
        let cached_tip = cached
            .as_ref()
            .and_then(|c| ObjectId::from_hex(c.tip.as_bytes()).ok());
        if cached_tip == Some(session.tip) {
            return Ok(cached.map_or(0, |c| c.checkpoints.len()));
        }
        let mut found: Vec<String> = Vec::new();
        let mut reached_cache = false;
        let mut next = Some(session.tip);
        while let Some(id) = next {
            if Some(id) == cached_tip {
                reached_cache = true;
                break;
            }
            let commit = self.repo.read_commit(id)?;
            if let Some(linked) = super::event::linked_checkpoint(&commit) {
                found.push(linked.to_string());
            }
            next = commit.parents.first().copied();
        }
        let mut all: Vec<String> = match cached {
            Some(c) if reached_cache => c.checkpoints,
            _ => Vec::new(),
        };
        let mut seen: std::collections::HashSet<String> = all.iter().cloned().collect();
        all.extend(found.into_iter().rev().filter(|id| seen.insert(id.clone())));
        let count = all.len();
        let counted = Counted {
            tip: session.tip.to_string(),
            checkpoints: all,
        };
        // A cache: when it cannot be written, the next call counts again.
        let _ = crate::fsutil::write_atomic(
            &path,
            &serde_json::to_vec(&counted).expect("serializes"),
            None,
        );
        Ok(count)
    }

    /// The newest checkpoint the log links, walking only as far as it.
    pub fn latest_checkpoint(&self, session: &Session) -> Result<Option<ObjectId>, StoreError> {
        let mut next = Some(session.tip);
        while let Some(id) = next {
            let commit = self.repo.read_commit(id)?;
            if let Some(linked) = super::event::linked_checkpoint(&commit) {
                return Ok(Some(linked));
            }
            next = commit.parents.first().copied();
        }
        Ok(None)
    }

    /// The checkpoints linked from the log (second parents), newest first, each once.
    pub fn checkpoints(&self, session: &Session) -> Result<Vec<ObjectId>, StoreError> {
        let mut seen = std::collections::HashSet::new();
        Ok(self
            .links(session)?
            .into_iter()
            .filter(|(kind, id)| kind.links_checkpoint() && seen.insert(*id))
            .map(|(_, id)| id)
            .collect())
    }

    /// Every commit the log links as a second parent, with the event that linked it, newest
    /// first (events this version does not know are left out).
    pub fn links(&self, session: &Session) -> Result<Vec<(EventKind, ObjectId)>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(session.tip);
        while let Some(id) = next {
            let commit = self.repo.read_commit(id)?;
            out.extend(super::event::linked(&commit));
            next = commit.parents.first().copied();
        }
        Ok(out)
    }

    fn write_log_commit(
        &self,
        previous_tip: Option<ObjectId>,
        previous_tree: &[TreeEntry],
        meta: &SessionMeta,
        context: Option<&str>,
        event: &Event,
    ) -> Result<ObjectId, StoreError> {
        let texts = event
            .files
            .iter()
            .map(|(file, text)| (file.as_str(), text.as_str()))
            .chain(context.map(|text| (CONTEXT_FILE, text)));
        for (file, text) in texts {
            if let Some(reason) = text_problem(text) {
                return Err(StoreError::BadText {
                    name: meta.name.clone(),
                    file: file.to_owned(),
                    reason,
                });
            }
        }
        let yaml = meta.to_yaml();
        if let Err(super::model::MetaError(reason)) = SessionMeta::from_yaml(&yaml, &meta.name) {
            return Err(StoreError::BadText {
                name: meta.name.clone(),
                file: META_FILE.to_owned(),
                reason: format!("would not read back ({reason})"),
            });
        }
        let blob_mode = EntryKind::Blob.into();
        let mut entries: Vec<TreeEntry> = previous_tree
            .iter()
            .filter(|e| {
                e.name != META_FILE
                    && e.name != CONTEXT_FILE
                    && !event
                        .files
                        .iter()
                        .any(|(name, _)| e.name == name.as_bytes())
            })
            .cloned()
            .collect();
        for (name, text) in &event.files {
            entries.push(TreeEntry {
                name: name.as_str().into(),
                mode: blob_mode,
                id: self.repo.write_blob(text.as_bytes())?,
            });
        }
        entries.push(TreeEntry {
            name: META_FILE.into(),
            mode: blob_mode,
            id: self.repo.write_blob(yaml.as_bytes())?,
        });
        if let Some(text) = context {
            entries.push(TreeEntry {
                name: CONTEXT_FILE.into(),
                mode: blob_mode,
                id: self.repo.write_blob(text.as_bytes())?,
            });
        }
        let tree = self.repo.write_tree(&entries)?;
        let mut parents: Vec<ObjectId> = previous_tip.into_iter().collect();
        // A checkpoint is linked as the second parent, so it and the history below it stay
        // reachable from the session's ref (gc keeps them, one push carries them).
        if !parents.is_empty() {
            parents.extend(event.checkpoint);
        }
        let detail: String = event.detail.replace(['\n', '\r'], " ");
        let message = format!(
            "{}: {}\n\nSession-Id: {}\nSession-Event: {}\n",
            event.kind.as_str(),
            detail,
            meta.id,
            event.kind.as_str()
        );
        Ok(self.repo.write_commit(tree, &parents, &message)?)
    }
}

/// `file` from a log commit's tree entries as text, within [`MAX_BLOB_BYTES`].
fn read_text(
    repo: &Repo,
    name: &str,
    entries: &[TreeEntry],
    file: &str,
) -> Result<Option<String>, StoreError> {
    let malformed = |reason: String| StoreError::Malformed {
        name: name.to_owned(),
        reason,
    };
    match entries.iter().find(|e| e.name == file) {
        Some(entry) if !entry.mode.is_blob() => Err(malformed(format!("its {file} is not a file"))),
        Some(entry) => {
            let size = repo
                .object_size(entry.id)
                .map_err(|e| malformed(crate::text::one_line(&e)))?;
            if size > MAX_BLOB_BYTES {
                return Err(malformed(format!(
                    "its {file} is {size} bytes ({:.1} MiB), over the limit of 1 MiB",
                    size as f64 / (1024.0 * 1024.0)
                )));
            }
            let bytes = repo
                .read_blob(entry.id)
                .map_err(|e| malformed(crate::text::one_line(&e)))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| malformed(format!("{file} is not UTF-8")))
        }
        None => Ok(None),
    }
}

fn event_record(commit: &CommitInfo) -> EventRecord {
    let first = commit.message.lines().next().unwrap_or_default();
    let (event, message) = first.split_once(": ").unwrap_or((first, ""));
    let checkpoint = commit.parents.get(1).map(|p| p.to_string());
    // The subject names the checkpoint by its short id (for `git log`); the record has the
    // full id in its own field, so the message is what follows it.
    let message = checkpoint
        .as_deref()
        .and_then(|c| message.strip_prefix(&c[..12]))
        .map_or(message, |rest| rest.trim_start());
    EventRecord {
        time: super::time::format_rfc3339(commit.time),
        event: event.to_owned(),
        message: message.to_owned(),
        commit: commit.id.to_string(),
        checkpoint,
    }
}
