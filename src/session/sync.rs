//! Sharing sessions: which refs travel to and from a remote, and how what was fetched is
//! judged before anything here relies on it (DESIGN §2, §8).
//!
//! Fetched sessions live in `refs/remote-sessions/<remote>/<name>`, never over a local one;
//! the remote's provenance notes in `refs/notes/remotes/<remote>/sessions`, merged into
//! `refs/notes/sessions` with `cat_sort_uniq`. Everything fetched is hostile until checked:
//! [`check_log`] walks a fetched log and [`check_notes`] the fetched notes, and each problem
//! is an error for that session (or the notes) only. Nothing here prints.

use std::collections::HashSet;

use std::path::Path;

use crate::git::remote::{self, RemoteError};
use crate::git::{Expect, ObjectId, Repo, RepoError, TreeEntry};
use crate::transaction::Transaction;

use super::model::SessionMeta;
use super::name;
use super::store::{
    CONTEXT_FILE, HANDOFF_FILE, MAX_BLOB_BYTES, META_FILE, SESSIONS_PREFIX, Session, Store,
    StoreError,
};

pub const REMOTE_SESSIONS_PREFIX: &str = "refs/remote-sessions/";
pub const NOTES_REF: &str = "refs/notes/sessions";
/// The longest log walked when checking a fetched one.
const MAX_LOG_LENGTH: usize = 100_000;
/// How many times a push fetches, merges and retries when only the remote's notes moved.
pub const MAX_PUSH_ATTEMPTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("fetched session '{remote}/{name}' is refused: {reason}")]
    Hostile {
        remote: String,
        name: String,
        reason: String,
    },
    #[error("the notes fetched from '{remote}' are refused: {reason}")]
    HostileNotes { remote: String, reason: String },
    #[error("the push to '{remote}' was rejected ({}); nothing was pushed", refs.join(", "))]
    Rejected { remote: String, refs: Vec<String> },
    #[error(
        "the remote's notes kept changing; gave up after {MAX_PUSH_ATTEMPTS} attempts, nothing was pushed"
    )]
    NotesContended,
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Where a fetched session lands.
pub fn remote_ref(remote: &str, name: &str) -> String {
    format!("{REMOTE_SESSIONS_PREFIX}{remote}/{name}")
}

/// Where the remote's notes land before they are merged.
pub fn remote_notes_ref(remote: &str) -> String {
    format!("refs/notes/remotes/{remote}/sessions")
}

/// The refspecs that bring a remote's sessions and notes here (for `fetch` and `remote
/// setup`). The notes pattern matches `refs/notes/sessions` without failing the fetch when
/// the remote has none yet.
pub fn fetch_refspecs(remote: &str) -> Vec<String> {
    vec![
        format!("+{SESSIONS_PREFIX}*:{REMOTE_SESSIONS_PREFIX}{remote}/*"),
        format!("+{NOTES_REF}*:refs/notes/remotes/{remote}/sessions*"),
    ]
}

/// The remote's own fetch refspecs that write only into remote-tracking refs
/// (`refs/remotes/…`), else git's default for branches. A mirror's `+refs/*:refs/*` would
/// overwrite or, with pruning, delete local sessions, notes and branches.
pub fn branch_refspecs(remote: &str, configured: &[String]) -> Vec<String> {
    let tracking = |spec: &&String| {
        spec.starts_with('^')
            || spec
                .split_once(':')
                .is_some_and(|(_, dst)| dst.starts_with("refs/remotes/"))
    };
    let mut specs: Vec<String> = configured.iter().filter(tracking).cloned().collect();
    if !specs.iter().any(|s| !s.starts_with('^')) {
        specs.push(format!("+refs/heads/*:refs/remotes/{remote}/*"));
    }
    specs
}

/// Everything `fetch` asks for: [`branch_refspecs`], then [`fetch_refspecs`].
pub fn fetch_all_refspecs(remote: &str, configured: &[String]) -> Vec<String> {
    let mut specs = branch_refspecs(remote, configured);
    for spec in fetch_refspecs(remote) {
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    specs
}

/// The refs one push of `session` sends: its log (at `session.tip`) and its branch (when it
/// exists here).
pub fn push_refspecs(repo: &Repo, session: &Session) -> Result<Vec<String>, SyncError> {
    let log = super::store::ref_name(session.name());
    // The log as it was judged (secrets, checkpoint), not as the ref may be by now: an
    // agent's hook or the background refresh can add a checkpoint meanwhile.
    let mut specs = vec![format!("{}:{log}", session.tip)];
    let branch = format!("refs/heads/{}", session.meta.branch);
    if repo.read_ref(&branch)?.is_some() {
        specs.push(format!("{branch}:{branch}"));
    }
    Ok(specs)
}

/// The refspec that fetches only the remote's notes.
pub fn notes_refspec(remote: &str) -> String {
    fetch_refspecs(remote).remove(1)
}

/// What merging the remote's notes into the local ones did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesMerge {
    /// The remote has no notes, or nothing the local ones lack.
    Nothing,
    /// The local notes were created from, or fast-forwarded to, the remote's.
    Adopted,
    /// Both sides' notes were merged (`cat_sort_uniq`).
    Merged,
}

/// Merges the remote's notes (as last fetched into [`remote_notes_ref`]) into
/// `refs/notes/sessions`, after checking that every new note is text.
pub fn merge_remote_notes(
    tx: &mut Transaction<'_>,
    dir: &Path,
    remote: &str,
) -> Result<NotesMerge, SyncError> {
    let repo = tx.repo();
    let Some(fetched) = repo.read_ref(&remote_notes_ref(remote))? else {
        return Ok(NotesMerge::Nothing);
    };
    let local = repo.read_ref(NOTES_REF)?;
    if local == Some(fetched) {
        return Ok(NotesMerge::Nothing);
    }
    check_notes(repo, remote, fetched, local)?;
    match local {
        None => {
            tx.update_ref(
                NOTES_REF,
                fetched,
                Expect::Absent,
                "session: notes from remote",
            )?;
            tx.flush().map_err(tx_error)?;
            Ok(NotesMerge::Adopted)
        }
        Some(local) if repo.count_ahead(fetched, &[local])? == 0 => Ok(NotesMerge::Nothing),
        Some(local) => merge_notes_into(tx, dir, remote, local),
    }
}

/// `git notes merge` moves the notes ref without checking what it pointed at, so a note a
/// post-commit hook wrote meanwhile would be lost: the merge runs on a private copy, and
/// `refs/notes/sessions` moves only if it still is where the merge started (else again).
fn merge_notes_into(
    tx: &mut Transaction<'_>,
    dir: &Path,
    remote: &str,
    mut local: ObjectId,
) -> Result<NotesMerge, SyncError> {
    let repo = tx.repo();
    let scratch = format!("refs/notes/session-merge-{}", std::process::id());
    for _ in 0..MAX_PUSH_ATTEMPTS {
        if let Some(stale) = repo.read_ref(&scratch)? {
            repo.delete_ref(&scratch, stale)?;
        }
        repo.update_ref(&scratch, local, Expect::Absent, "session: notes merge")?;
        let merged = remote::merge_notes(dir, &scratch, &remote_notes_ref(remote))
            .map_err(SyncError::from)
            .and_then(|()| repo.read_ref(&scratch).map_err(SyncError::from));
        if let Ok(Some(at)) = repo.read_ref(&scratch) {
            let _ = repo.delete_ref(&scratch, at);
        }
        let merged = merged?.ok_or_else(|| SyncError::NotesContended)?;
        // Moved only if it still is where the merge started (else merged again).
        let before = tx.read_ref(NOTES_REF)?;
        if before != Some(local) {
            match before {
                Some(now) => {
                    local = now;
                    continue;
                }
                None => return Err(SyncError::NotesContended),
            }
        }
        // Expecting the value the merge started from: a note added meanwhile (a commit's
        // hook) makes it a conflict, merged again, never lost.
        match tx.update_ref(
            NOTES_REF,
            merged,
            Expect::At(local),
            "session: notes merged",
        ) {
            Ok(()) => {}
            Err(RepoError::RefConflict { .. }) => {
                match repo.read_ref(NOTES_REF)? {
                    Some(now) => local = now,
                    None => return Err(SyncError::NotesContended),
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        match tx.flush() {
            Ok(()) => return Ok(NotesMerge::Merged),
            Err(crate::transaction::TxError::Repo(RepoError::RefConflict { .. })) => {
                match repo.read_ref(NOTES_REF)? {
                    Some(now) => local = now,
                    None => return Err(SyncError::NotesContended),
                }
            }
            Err(e) => return Err(tx_error(e)),
        }
    }
    Err(SyncError::NotesContended)
}

fn tx_error(e: crate::transaction::TxError) -> SyncError {
    match e {
        crate::transaction::TxError::Repo(e) => SyncError::Repo(e),
        crate::transaction::TxError::Store(e) => SyncError::Store(e),
        other => SyncError::Repo(RepoError::Gix {
            context: "recording the operation".into(),
            source: Box::new(other),
        }),
    }
}

/// What a push did.
#[derive(Debug, Clone, Default)]
pub struct PushOutcome {
    /// Attempts it took (more than one when the remote's notes moved meanwhile).
    pub attempts: usize,
    /// Whether the notes went along.
    pub notes_pushed: bool,
    /// Why the notes stayed behind (hostile notes on the remote), if they did.
    pub notes_problem: Option<String>,
}

/// Pushes `sessions` to `remote` in one atomic push with their branches and the merged
/// provenance notes, retrying (fetch, merge, push) when only the remote's notes moved.
pub fn push(
    tx: &mut Transaction<'_>,
    dir: &Path,
    remote: &str,
    sessions: &[Session],
    dry_run: bool,
) -> Result<PushOutcome, SyncError> {
    let repo = tx.repo();
    let mut specs = Vec::new();
    for session in sessions {
        specs.extend(push_refspecs(repo, session)?);
    }
    let mut outcome = PushOutcome::default();
    // A failed push that may be the remote's notes moving: (what it said, the notes seen).
    let mut failed: Option<(Vec<String>, Option<ObjectId>)> = None;
    for attempt in 1..=MAX_PUSH_ATTEMPTS {
        outcome.attempts = attempt;
        // Without local notes nothing goes with the push, so the remote's need not be
        // fetched (that is `fetch`'s job). The first attempt merges the remote's notes as
        // last fetched, when they were: the notes go without `+`, so a remote whose notes
        // moved since refuses the whole push, and the next attempt fetches them first (one
        // round trip saved on every push where nobody else pushed notes).
        let has_notes = repo.read_ref(NOTES_REF)?.is_some();
        let known = repo.read_ref(&remote_notes_ref(remote))?.is_some();
        if has_notes && (attempt > 1 || !known) {
            remote::fetch(
                dir,
                remote,
                &[notes_refspec(remote)],
                false,
                remote::TRANSFER_TIMEOUT,
            )?;
        }
        let seen = repo.read_ref(&remote_notes_ref(remote))?;
        if let Some((refs, before)) = failed.take()
            && before == seen
        {
            // The notes did not move: the push failed for another reason.
            return Err(SyncError::Rejected {
                remote: remote.to_owned(),
                refs,
            });
        }
        let mut all = specs.clone();
        outcome.notes_problem = None;
        if !dry_run && has_notes {
            match merge_remote_notes(tx, dir, remote) {
                Ok(_) => {}
                Err(e @ SyncError::HostileNotes { .. }) => {
                    outcome.notes_problem = Some(crate::text::one_line(&e));
                }
                Err(e) => return Err(e),
            }
        }
        outcome.notes_pushed =
            outcome.notes_problem.is_none() && repo.read_ref(NOTES_REF)?.is_some();
        if outcome.notes_pushed {
            all.push(format!("{NOTES_REF}:{NOTES_REF}"));
        }
        let report = remote::push_atomic(dir, remote, &all, dry_run)?;
        crate::fault::point("pushed");
        if report.ok {
            if !dry_run {
                for session in sessions {
                    tx.set_ref(
                        &remote_ref(remote, session.name()),
                        session.tip,
                        "session: remote-tracking",
                    )?;
                }
                if outcome.notes_pushed
                    && let Some(notes) = repo.read_ref(NOTES_REF)?
                {
                    tx.set_ref(&remote_notes_ref(remote), notes, "session: remote-tracking")?;
                }
            }
            return Ok(outcome);
        }
        let rejected = report.rejected();
        let mut refs: Vec<String> = rejected
            .iter()
            .map(|r| format!("{} {}", r.remote_ref, r.summary))
            .collect();
        let remote_said = crate::text::one_line(&RemoteError::Git(crate::git::GitError::Failed {
            argv: format!("push --atomic {remote}"),
            code: None,
            stderr: report.stderr.clone(),
        }));
        // Only the notes refused (or the remote refused the whole transaction without
        // saying which ref): if the remote's notes moved, fetch, merge and try again.
        let maybe_notes = outcome.notes_pushed
            && (rejected.is_empty() || rejected.iter().all(|r| r.remote_ref == NOTES_REF));
        if rejected.is_empty() {
            refs.push(remote_said);
        }
        if maybe_notes {
            failed = Some((refs, seen));
            continue;
        }
        return Err(SyncError::Rejected {
            remote: remote.to_owned(),
            refs,
        });
    }
    Err(SyncError::NotesContended)
}

/// A fetched session as listed under `refs/remote-sessions/`.
#[derive(Debug, Clone)]
pub struct RemoteEntry {
    pub remote: String,
    pub name: String,
    pub tip: ObjectId,
}

impl RemoteEntry {
    /// `<remote>/<name>`, as the user names it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.remote, self.name)
    }
}

/// Every fetched session of the given remotes (all of them when `remotes` is empty). Refs
/// whose remote part is not one of the configured remotes are left out.
pub fn remote_entries(repo: &Repo, remotes: &[String]) -> Result<Vec<RemoteEntry>, SyncError> {
    let mut out = Vec::new();
    for (full, tip) in repo.list_refs(REMOTE_SESSIONS_PREFIX)? {
        let rest = &full[REMOTE_SESSIONS_PREFIX.len()..];
        let Some((remote, name)) = rest.split_once('/') else {
            continue;
        };
        if !remotes.is_empty() && !remotes.iter().any(|r| r == remote) {
            continue;
        }
        out.push(RemoteEntry {
            remote: remote.to_owned(),
            name: name.to_owned(),
            tip,
        });
    }
    Ok(out)
}

/// The fetched copies of session `name` (`<remote>/<name>` or a bare name), across remotes.
pub fn find_remote(repo: &Repo, spec: &str) -> Result<Vec<RemoteEntry>, SyncError> {
    let entries = remote_entries(repo, &[])?;
    Ok(entries
        .into_iter()
        .filter(|e| e.name == spec || e.display() == spec)
        .collect())
}

/// How a local session and its fetched copy relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    Same,
    /// The local log has events the copy lacks (a push sends them).
    Ahead,
    /// The copy has events the local log lacks (a resume fast-forwards).
    Behind,
    /// Both have events the other lacks.
    Diverged,
    /// The copy is a different session (another id) under the same name.
    Unrelated,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Same => "in sync",
            Relation::Ahead => "ahead",
            Relation::Behind => "behind",
            Relation::Diverged => "diverged",
            Relation::Unrelated => "unrelated",
        }
    }
}

/// Compares two logs of the same session by their history: both first-parent chains are
/// walked a step at a time until one reaches a commit the other has seen (their fork point),
/// so the cost is the events since it, not the length of the logs.
pub fn relate(repo: &Repo, local: ObjectId, remote: ObjectId) -> Result<Relation, SyncError> {
    if local == remote {
        return Ok(Relation::Same);
    }
    let mut seen: [HashSet<ObjectId>; 2] = [HashSet::from([local]), HashSet::from([remote])];
    let mut next = [Some(local), Some(remote)];
    let fork_point = loop {
        if next.iter().all(Option::is_none) || seen[0].len() + seen[1].len() > 2 * MAX_LOG_LENGTH {
            break None;
        }
        let mut met = None;
        for side in 0..2 {
            let Some(id) = next[side] else { continue };
            let parent = repo.read_commit(id)?.parents.first().copied();
            next[side] = parent;
            if let Some(p) = parent {
                if seen[1 - side].contains(&p) {
                    met = Some(p);
                    break;
                }
                if !seen[side].insert(p) {
                    next[side] = None; // a cycle cannot happen in git; stop anyway
                }
            }
        }
        // Either walk may have reached the other's start.
        if met.is_none() {
            if seen[0].contains(&remote) {
                met = Some(remote);
            } else if seen[1].contains(&local) {
                met = Some(local);
            }
        }
        if met.is_some() {
            break met;
        }
    };
    Ok(match fork_point {
        Some(p) if p == local => Relation::Behind,
        Some(p) if p == remote => Relation::Ahead,
        _ => Relation::Diverged,
    })
}

/// The checkpoints the local log links that the log at `remote_tip` (the remote's copy as
/// last seen) does not: what a push publishes for the first time. Newest first.
pub fn new_checkpoints(
    repo: &Repo,
    session: &Session,
    remote_tip: Option<ObjectId>,
) -> Result<Vec<ObjectId>, SyncError> {
    let remote_tip = remote_tip.filter(|t| repo.has_object(*t));
    // Usually the remote's copy is an ancestor: the events since it are all there is to read.
    let mut linked: Vec<(ObjectId, ObjectId)> = Vec::new();
    let mut reached = false;
    let mut next = Some(session.tip);
    while let Some(id) = next {
        if Some(id) == remote_tip {
            reached = true;
            break;
        }
        let commit = repo.read_commit(id)?;
        if let Some(ckpt) = super::event::linked_checkpoint(&commit) {
            linked.push((id, ckpt));
        }
        next = commit.parents.first().copied();
    }
    if !reached && let Some(remote_tip) = remote_tip {
        // Diverged: what the remote's chain has is not new.
        let mut remote_chain = HashSet::new();
        let mut next = Some(remote_tip);
        while let Some(id) = next {
            if !remote_chain.insert(id) || remote_chain.len() > MAX_LOG_LENGTH {
                break;
            }
            next = repo.read_commit(id)?.parents.first().copied();
        }
        linked.retain(|(log, _)| !remote_chain.contains(log));
    }
    let mut seen = HashSet::new();
    Ok(linked
        .into_iter()
        .map(|(_, ckpt)| ckpt)
        .filter(|ckpt| seen.insert(*ckpt))
        .collect())
}

/// The file (under `$GIT_COMMON_DIR/session/`) listing fetched log tips that passed
/// [`check_log`], newest last: taking one up need not walk its whole log again.
const CHECKED_FILE: &str = "checked-logs";
const CHECKED_KEPT: usize = 1000;

/// Log tips already judged by `fetch` here.
pub fn checked_tips(repo: &Repo) -> Vec<ObjectId> {
    let path = repo.common_dir().join("session").join(CHECKED_FILE);
    let bytes = crate::fsutil::read_regular(&path, crate::fsutil::MAX_STATE_BYTES);
    String::from_utf8_lossy(&bytes.unwrap_or_default())
        .lines()
        .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
        .collect()
}

/// Remembers that the log at `tip` passed [`check_log`].
pub fn remember_checked(repo: &Repo, tip: ObjectId) {
    let mut tips = checked_tips(repo);
    if tips.contains(&tip) {
        return;
    }
    tips.push(tip);
    let start = tips.len().saturating_sub(CHECKED_KEPT);
    let text: String = tips[start..].iter().map(|t| format!("{t}\n")).collect();
    let path = repo.common_dir().join("session").join(CHECKED_FILE);
    let _ = crate::fsutil::write_atomic(&path, text.as_bytes(), None);
}

/// The latest checkpoint of the log at `tip`, if it links one.
pub fn latest_checkpoint(repo: &Repo, tip: ObjectId) -> Result<Option<ObjectId>, SyncError> {
    let mut next = Some(tip);
    let mut walked = 0;
    while let Some(id) = next {
        walked += 1;
        if walked > MAX_LOG_LENGTH {
            break;
        }
        let commit = repo.read_commit(id)?;
        if let Some(linked) = super::event::linked_checkpoint(&commit) {
            return Ok(Some(linked));
        }
        next = commit.parents.first().copied();
    }
    Ok(None)
}

/// Checks a fetched log end to end: its ref name, its newest state (as for any session), and
/// every log commit down to one already known here (`known`): each must hold a parsable
/// `session.yaml` of the same session id, say so in its trailer, and link at most a
/// checkpoint. Returns the session as its newest log commit describes it.
pub fn check_log(
    repo: &Repo,
    entry: &RemoteEntry,
    known: &[ObjectId],
) -> Result<Session, SyncError> {
    let hostile = |reason: String| SyncError::Hostile {
        remote: entry.remote.clone(),
        name: entry.name.clone(),
        reason,
    };
    name::validate(&entry.name).map_err(|e| {
        hostile(format!(
            "its ref name breaks the session naming rules: {}",
            e.rule
        ))
    })?;
    let store = Store::new(repo);
    let session = store
        .read_tip(&entry.name, entry.tip)
        .map_err(|e| match e {
            StoreError::Malformed { reason, .. } => hostile(reason),
            other => hostile(crate::text::one_line(&other)),
        })?;
    check_portable(&session.meta).map_err(hostile)?;
    if let Err(StoreError::Malformed { reason, .. }) = store.read_file(&session, HANDOFF_FILE) {
        return Err(hostile(reason));
    }
    let id = session.meta.id.clone();
    let trailer = format!("Session-Id: {id}");
    // Trees and blobs already judged: consecutive events mostly share them (context.md,
    // handoff.md; a forged log may repeat one tree throughout), so each is read once.
    let mut judged: HashSet<ObjectId> = HashSet::new();
    let mut next = Some(entry.tip);
    let mut walked = 0;
    while let Some(commit_id) = next {
        if known.contains(&commit_id) {
            break;
        }
        walked += 1;
        if walked > MAX_LOG_LENGTH {
            return Err(hostile(format!(
                "its log is longer than {MAX_LOG_LENGTH} events"
            )));
        }
        let commit = repo
            .read_commit(commit_id)
            .map_err(|e| hostile(format!("log commit {commit_id} cannot be read ({e})")))?;
        if commit.parents.len() > 2 {
            return Err(hostile(format!(
                "{commit_id} is not a log commit (it has {} parents)",
                commit.parents.len()
            )));
        }
        if !commit.message.lines().any(|l| l.trim_end() == trailer) {
            return Err(hostile(format!(
                "log commit {commit_id} lacks the trailer '{trailer}'"
            )));
        }
        next = commit.parents.first().copied();
        if !judged.insert(commit.tree) {
            continue;
        }
        let entries = repo.read_tree(commit.tree)?;
        let yaml = entries.iter().find(|e| e.name == META_FILE);
        if yaml.is_none_or(|e| !judged.contains(&e.id)) {
            let meta = log_commit_meta(repo, &entries)
                .map_err(|reason| hostile(format!("{commit_id} is not a log commit: {reason}")))?;
            if meta.id != id {
                return Err(hostile(format!(
                    "log commit {commit_id} belongs to session id {}, not {id}",
                    meta.id
                )));
            }
            judged.extend(yaml.map(|e| e.id));
        }
        for file in [CONTEXT_FILE, HANDOFF_FILE] {
            if let Some(e) = entries.iter().find(|e| e.name == file)
                && judged.insert(e.id)
            {
                check_text_blob(repo, e).map_err(|r| hostile(format!("{file} {r}")))?;
            }
        }
    }
    Ok(session)
}

fn log_commit_meta(repo: &Repo, entries: &[TreeEntry]) -> Result<SessionMeta, String> {
    let entry = entries
        .iter()
        .find(|e| e.name == META_FILE && e.mode.is_blob())
        .ok_or_else(|| format!("its tree has no {META_FILE}"))?;
    let text = check_text_blob(repo, entry).map_err(|r| format!("{META_FILE} {r}"))?;
    SessionMeta::from_yaml_any_name(&text).map_err(|e| e.0)
}

/// A blob's text, refused when over the size limit or not UTF-8 text.
fn check_text_blob(repo: &Repo, entry: &TreeEntry) -> Result<String, String> {
    if !entry.mode.is_blob() {
        return Err("is not a file".into());
    }
    let size = repo.object_size(entry.id).map_err(|e| e.to_string())?;
    if size > MAX_BLOB_BYTES {
        return Err(format!("is {size} bytes, over the limit of 1 MiB"));
    }
    let bytes = repo.read_blob(entry.id).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())?;
    match super::store::text_problem(&text) {
        Some(problem) => Err(problem),
        None => Ok(text),
    }
}

/// Refuses metadata that would name a place on this machine: an absolute path or a `..`
/// component in any field but the free-text goal (names and the branch are checked by the
/// naming rules already).
pub fn check_portable(meta: &SessionMeta) -> Result<(), String> {
    let mut fields: Vec<(String, String)> = vec![("base_ref".into(), meta.base_ref.clone())];
    if let Some(agent) = &meta.agent {
        fields.push(("agent.tool".into(), agent.tool.clone()));
        if let Some(id) = &agent.session_id {
            fields.push(("agent.session_id".into(), id.clone()));
        }
        collect_strings(
            "agent",
            &serde_json::Value::Object(agent.extra.clone()),
            &mut fields,
        );
    }
    collect_strings(
        "",
        &serde_json::Value::Object(meta.extra.clone()),
        &mut fields,
    );
    for (key, value) in fields {
        if looks_like_path_escape(&value) {
            return Err(format!(
                "session.yaml's {key} names a path outside the repository ('{}')",
                value.escape_debug()
            ));
        }
    }
    Ok(())
}

fn collect_strings(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_strings(prefix, item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_strings(&key(k), v, out);
            }
        }
        _ => {}
    }
}

/// An absolute path (Unix, Windows, home-relative) or one with a `..` component.
fn looks_like_path_escape(value: &str) -> bool {
    let v = value.trim();
    let bytes = v.as_bytes();
    v.starts_with('/')
        || v.starts_with('\\')
        || v.starts_with('~')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
        || v.split(['/', '\\']).any(|c| c == "..")
}

/// Checks the notes fetched from a remote: every note new since `known` (the notes tree
/// already merged here) must be UTF-8 text within the size limit. Subtrees unchanged since
/// `known` are skipped.
pub fn check_notes(
    repo: &Repo,
    remote: &str,
    fetched: ObjectId,
    known: Option<ObjectId>,
) -> Result<(), SyncError> {
    let hostile = |reason: String| SyncError::HostileNotes {
        remote: remote.to_owned(),
        reason,
    };
    let tree_of = |commit: ObjectId| -> Result<ObjectId, SyncError> {
        Ok(repo
            .read_commit(commit)
            .map_err(|e| hostile(format!("{fetched} is not a notes commit ({e})")))?
            .tree)
    };
    let new_tree = tree_of(fetched)?;
    let old_tree = match known {
        Some(k) => Some(tree_of(k)?),
        None => None,
    };
    // Known subtrees and notes are recognized by id, wherever they sit (notes fan out by
    // hash prefix).
    let mut known_ids: HashSet<ObjectId> = old_tree.into_iter().collect();
    let mut old_pending: Vec<ObjectId> = old_tree.into_iter().collect();
    let mut pending = vec![(String::new(), new_tree)];
    while let Some(t) = old_pending.pop() {
        for e in repo.read_tree(t)? {
            if e.mode.is_tree() && known_ids.insert(e.id) {
                old_pending.push(e.id);
            } else if e.mode.is_blob() {
                known_ids.insert(e.id);
            }
        }
        if known_ids.len() > 1_000_000 {
            break;
        }
    }
    while let Some((prefix, tree)) = pending.pop() {
        if known_ids.contains(&tree) {
            continue;
        }
        for e in repo.read_tree(tree)? {
            let path = format!("{prefix}{}", e.name);
            if known_ids.contains(&e.id) {
                continue;
            }
            if e.mode.is_tree() {
                pending.push((format!("{path}/"), e.id));
            } else {
                check_text_blob(repo, &e).map_err(|r| {
                    hostile(format!("the note on {}", path.replace('/', "")) + " " + &r)
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_never_writes_outside_remote_tracking_refs() {
        let configured = [
            "+refs/*:refs/*".to_owned(),
            "+refs/heads/*:refs/remotes/o/*".to_owned(),
            "^refs/heads/tmp/*".to_owned(),
            "+refs/heads/*:refs/heads/*".to_owned(),
        ];
        let specs = fetch_all_refspecs("o", &configured);
        assert_eq!(
            specs[..2],
            ["+refs/heads/*:refs/remotes/o/*", "^refs/heads/tmp/*"]
        );
        assert_eq!(specs[2..], fetch_refspecs("o")[..]);
        // A mirror alone: git's default for branches instead.
        let specs = fetch_all_refspecs("o", &configured[..1]);
        assert_eq!(specs[0], "+refs/heads/*:refs/remotes/o/*");
    }

    #[test]
    fn paths_that_leave_the_repository_are_recognized() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../b",
            "~/.ssh",
            "C:\\x",
            "\\\\host\\s",
        ] {
            assert!(looks_like_path_escape(bad), "{bad}");
        }
        for good in [
            "origin/HEAD",
            "HEAD",
            "refs/pull/1/head",
            "a..b.c",
            "claude",
        ] {
            assert!(!looks_like_path_escape(good), "{good}");
        }
    }

    #[test]
    fn an_alias_bomb_is_an_error_not_a_hang() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        yaml.push_str("version: 1\nname: x\n");
        let started = std::time::Instant::now();
        assert!(SessionMeta::from_yaml_any_name(&yaml).is_err());
        assert!(SessionMeta::from_yaml(&yaml, "x").is_err());
        // Not a timing assertion on the result: only that it finished at all.
        let _ = started.elapsed();
    }
}
