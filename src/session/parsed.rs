//! The sessions as last read, kept by their log tips in `session/cache/sessions.json`.
//!
//! Listing every session reads four objects and parses a `session.yaml` per session: about
//! a tenth of a millisecond each, paid by every command and by the hooks inside every commit
//! in a session worktree. A log commit never changes, so what was read from one can be kept
//! by its id (and the name it was read under) until the ref moves. What is kept is checked
//! again when read back, as `session.yaml` is: the file is an ordinary file in `.git`, not
//! trusted more than the log. Machine-local, best effort: a cache that cannot be read or
//! written only makes listing slower. Never prints.

use std::collections::HashMap;
use std::path::PathBuf;

use super::model::SessionMeta;
use super::store::Session;
use crate::git::{ObjectId, Repo};

/// A context longer than this is read from its log each time rather than copied here.
const MAX_KEPT_CONTEXT: usize = 16 * 1024;

/// Bumped whenever what a session read from its log holds, or how it is read, changes: a
/// file kept by other code is read afresh even under the same version number.
const FORMAT: u32 = 1;

fn version() -> String {
    format!("{} {FORMAT}", env!("CARGO_PKG_VERSION"))
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct File {
    /// The version that wrote it: another reads the logs afresh.
    version: String,
    /// `<name> <tip>` → the session read from that tip under that name.
    sessions: HashMap<String, Kept>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Kept {
    meta: SessionMeta,
    context: Option<String>,
}

/// The kept sessions of one listing: asked for each session's tip, told what was read
/// anew, saved at the end.
pub struct Parsed {
    path: PathBuf,
    file: File,
    /// The keys asked for this time: the ones written back.
    used: Vec<String>,
    changed: bool,
}

/// A context read from its log each time, never kept.
fn too_long(context: &Option<String>) -> bool {
    context.as_ref().is_some_and(|c| c.len() > MAX_KEPT_CONTEXT)
}

fn key(name: &str, tip: ObjectId) -> String {
    format!("{name} {tip}")
}

impl Parsed {
    /// What is kept for `repo` (nothing, when the file is missing, unreadable, or another
    /// version's).
    pub fn open(repo: &Repo) -> Parsed {
        let path = repo.common_dir().join("session/cache/sessions.json");
        let file = crate::fsutil::read_json::<File>(&path)
            .filter(|f| f.version == version())
            .unwrap_or_default();
        Parsed {
            path,
            file,
            used: Vec::new(),
            changed: false,
        }
    }

    /// The session read from `tip` under `name` before, when it still passes the checks a
    /// `session.yaml` read from the log gets.
    pub fn get(&mut self, name: &str, tip: ObjectId) -> Option<Session> {
        let key = key(name, tip);
        let kept = self.file.sessions.get(&key)?;
        if too_long(&kept.context) || kept.meta.check(name).is_err() {
            return None;
        }
        let session = Session {
            meta: kept.meta.clone(),
            tip,
            context: kept.context.clone(),
        };
        self.used.push(key);
        Some(session)
    }

    /// Keeps what was just read from its log.
    pub fn put(&mut self, name: &str, session: &Session) {
        if too_long(&session.context) {
            return;
        }
        let key = key(name, session.tip);
        self.file.sessions.insert(
            key.clone(),
            Kept {
                meta: session.meta.clone(),
                context: session.context.clone(),
            },
        );
        self.used.push(key);
        self.changed = true;
    }

    /// Writes the file back when something new was read, keeping only what was asked for
    /// (the tips the refs name now).
    pub fn save(mut self) {
        let dropped = self.file.sessions.len() > self.used.len();
        if !self.changed && !dropped {
            return;
        }
        let used: std::collections::HashSet<String> = self.used.drain(..).collect();
        self.file.sessions.retain(|k, _| used.contains(k));
        self.file.version = version();
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
            // What killed writers of this directory's caches left (the kept sessions are
            // its largest file, written most often).
            crate::fsutil::sweep_temps(dir, crate::fsutil::STALE_TEMP);
        }
        let _ = crate::fsutil::write_atomic(
            &self.path,
            &serde_json::to_vec(&self.file).expect("serializes"),
            Some(0o600),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is kept is what the log says: keys this version does not know, an agent, a
    /// multi-line goal and claims all come back as read.
    #[test]
    fn a_kept_session_reads_back_as_read_from_its_log() {
        let yaml = "version: 1\nid: 0123456789abcdef\nname: yes\nstatus: paused\n\
            created: \"2026-01-01T00:00:00Z\"\nupdated: \"2026-01-02T00:00:00Z\"\n\
            branch: session/yes\nbase: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbase_ref: main\n\
            parent: null\nlast_checkpoint: null\ngoal: \"it: works\\nsecond\"\n\
            agent:\n  tool: claude\n  session_id: s-1\n  model: big\n\
            owns:\n- src\nfuture:\n  nested: [1, \"two\", null]\n";
        let meta = SessionMeta::from_yaml(yaml, "yes").unwrap();
        assert!(meta.extra.contains_key("future"));
        let kept = Kept {
            meta: meta.clone(),
            context: Some("notes\n".into()),
        };
        let back: Kept = serde_json::from_slice(&serde_json::to_vec(&kept).unwrap()).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(back.context.as_deref(), Some("notes\n"));
        assert_eq!(back.meta.to_yaml(), meta.to_yaml());
    }
}
