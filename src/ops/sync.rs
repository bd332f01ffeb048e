//! `sync`: sessions brought onto their base ref's new tip (or any revision), rebased or merged
//! by the user's own git in their own worktrees, their uncommitted and staged work carried
//! across as `git stash` + `git stash pop` would (without the user's stash). Each session is
//! judged on trees first: one whose sync would conflict is not touched at all, and one git
//! still stops on part-way is put back exactly as it was from the checkpoint taken first, so
//! nothing is ever left mid-rebase. Each synced session is recorded so `undo` puts it back.
//! Never prints.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::checkpoint::{self, Capture, Snapshot};
use crate::git::{ObjectId, Repo};
use crate::oplog::{SessionRef, WorktreeChange};
use crate::ops::OpResult;
use crate::report::Reporter;
use crate::session::{Event, EventKind, LocalStore, Session, SessionLock};
use crate::transaction::Transaction;
use crate::worktree::{self, Integration};

/// What to sync onto, and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// A revision to sync onto instead of each session's base ref.
    pub onto: Option<String>,
    pub how: Integration,
    /// How long fetching a remote base may take.
    pub fetch_timeout: Duration,
    /// Taken by a hook (`session.autoSync`): sessions whose sync would conflict are only
    /// reported.
    pub automatic: bool,
}

/// What happened to one session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Synced,
    AlreadyCurrent,
    WouldConflict,
    Skipped,
    /// git stopped part-way; the session was put back as it was.
    Stopped,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub outcome: Outcome,
    /// The session's commit before, and after (synced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// What it was synced onto.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onto: Option<String>,
    /// Files that would conflict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Why it was skipped or stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Row {
    fn new(name: &str, outcome: Outcome) -> Row {
        Row {
            name: name.to_owned(),
            outcome,
            from: None,
            to: None,
            onto: None,
            files: Vec::new(),
            why: None,
        }
    }

    fn because(mut self, why: impl Into<String>) -> Row {
        self.why = Some(why.into());
        self
    }

    /// Whether the session is where the sync wanted it.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Synced | Outcome::AlreadyCurrent)
    }
}

/// Syncs each of `sessions`, through `tx` (one operation for all of them).
pub fn sync(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    main_root: &Path,
    sessions: &[Session],
    req: &Request,
    reporter: &dyn Reporter,
) -> OpResult<Vec<Row>> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = tx.repo();
    let main = repo.main()?;
    let mut fetched: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for session in sessions {
        let name = session.name();
        // What to sync onto: fetched first when it is a remote's branch.
        let spec = req
            .onto
            .clone()
            .unwrap_or_else(|| session.meta.base_ref.clone());
        if req.onto.is_none()
            && let Some((remote, _)) = spec.trim_start_matches("refs/remotes/").split_once('/')
            && crate::git::remote::exists(repo, remote)
            && !fetched.iter().any(|r| r == remote)
        {
            fetched.push(remote.to_owned());
            let configured = repo.config_strings(&format!("remote.{remote}.fetch"));
            let specs = crate::session::sync::branch_refspecs(remote, &configured);
            if let Err(e) =
                crate::git::remote::fetch(main_root, remote, &specs, false, req.fetch_timeout)
            {
                reporter.warn(&format!(
                    "fetching {remote} failed ({}); syncing onto what was fetched before",
                    crate::text::one_line(&e)
                ));
            }
        }
        let onto = match main.resolve_commit(&spec) {
            Ok(onto) => onto,
            Err(_) => {
                rows.push(Row::new(name, Outcome::Skipped).because(format!(
                    "'{}' does not name a commit here",
                    crate::text::escape(&spec)
                )));
                continue;
            }
        };
        if crate::signals::stop_requested() {
            rows.push(Row::new(name, Outcome::Skipped).because("interrupted before it began"));
            continue;
        }
        let row = match sync_one(tx, local, session, onto, &spec, req) {
            Ok(row) => row,
            // Failed with its work taken out and not yet put back: marked unfinished, which
            // `doctor --fix` (or the next resume) finishes.
            Err(e) if local.get(&session.meta.id).restore_pending.is_some() => {
                Row::new(name, Outcome::Stopped).because(format!(
                    "{}; `git session doctor --fix` puts it back as it was",
                    crate::text::one_line(&e)
                ))
            }
            Err(e) => Row::new(name, Outcome::Skipped).because(crate::text::one_line(&e)),
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The worktree a sync moved aside goes back where it belongs. An agent that makes the
/// directories it writes into may have made the path again meanwhile: what it wrote there is
/// salvaged into the session's log, then that directory makes room.
fn put_back(
    tx: &mut Transaction<'_>,
    lock: &SessionLock,
    session: &Session,
    aside: &std::path::Path,
    path: &std::path::Path,
) -> OpResult {
    let repo = tx.repo();
    if std::fs::symlink_metadata(path).is_ok() {
        crate::repair::clear_interrupted_removal(lock, tx, session, path)?;
    }
    worktree::move_to(repo, aside, path).map_err(crate::lifecycle::LifecycleError::from)?;
    Ok(())
}

fn sync_one(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    onto: ObjectId,
    spec: &str,
    req: &Request,
) -> OpResult<Row> {
    let repo = tx.repo();
    let name = session.name();
    if !crate::lifecycle::has_worktree_here(repo, local, session)? {
        return Ok(Row::new(name, Outcome::Skipped).because("it has no worktree here"));
    }
    let Ok(lock) = SessionLock::acquire_within(
        &repo.common_dir(),
        &session.meta.id,
        name,
        Duration::from_secs(2),
    ) else {
        return Ok(Row::new(name, Outcome::Skipped)
            .because("another git-session process is at work there"));
    };
    // A sync or removal killed after it moved the worktree aside: back where it belongs
    // first (under the lock, nobody is at it).
    crate::ops::retire::put_back_interrupted_removal(&lock, tx, local, session)?;
    let Some(path) = crate::lifecycle::find_worktree(repo, local, session)? else {
        return Ok(Row::new(name, Outcome::Skipped).because("it has no worktree here"));
    };
    // An earlier sync (or rewind, resume) killed with the work out: it is finished first.
    if let Some(what) = local.get(&session.meta.id).pending() {
        return Ok(Row::new(name, Outcome::Skipped).because(format!(
            "{what} was interrupted; `git session resume {}` finishes it",
            crate::text::escape(name)
        )));
    }
    let wt = repo.open_worktree(&path)?;
    if let Some(op) = wt.operation_in_progress() {
        return Ok(Row::new(name, Outcome::Skipped).because(format!("{op} in progress there")));
    }
    if wt.git_dir().join("index.lock").exists() {
        return Ok(Row::new(name, Outcome::Skipped).because("git holds its index.lock"));
    }
    let Some(head) = wt.head_commit()? else {
        return Ok(Row::new(name, Outcome::Skipped).because("it has no commit yet"));
    };
    if wt.head_ref_name()?.as_deref() != Some(&format!("refs/heads/{}", session.meta.branch)) {
        return Ok(Row::new(name, Outcome::Skipped).because(format!(
            "its worktree is not on branch '{}'",
            session.meta.branch
        )));
    }
    let mut row = Row::new(name, Outcome::AlreadyCurrent);
    row.from = Some(head.to_string());
    row.onto = Some(spec.to_owned());
    let Some(base) = repo.merge_base(head, onto)? else {
        return Ok(Row::new(name, Outcome::Skipped).because(format!(
            "it shares no history with '{}'",
            crate::text::escape(spec)
        )));
    };
    if base == onto {
        return Ok(row);
    }
    // Put back after git stopped, the worktree would lose them (no checkpoint holds them).
    let assumed = wt.assumed_edits()?;
    if !assumed.is_empty() {
        return Ok(Row::new(name, Outcome::Skipped).because(format!(
            "files marked assume-unchanged have changes no checkpoint holds: {}",
            assumed.join(", ")
        )));
    }
    // Judged on trees first: its commits onto the new tip, then its uncommitted and staged
    // work onto the result.
    let capture = checkpoint::capture(&wt)?;
    let head_tree = repo.read_commit(head)?.tree;
    let onto_tree = repo.read_commit(onto)?.tree;
    // Trial trees stay in memory, merged again through the same handle.
    let trial = repo.scratch();
    let predicted = match req.how {
        Integration::Merge => trial
            .merge_trees(repo.read_commit(base)?.tree, head_tree, onto_tree)
            .map(|merge| merge.tree.ok_or(merge.conflicts)),
        Integration::Rebase => replay(&trial, &repo.commits_between(head, &[onto])?, onto_tree),
    };
    // A merge driver of the user's that cannot run in-process: git, which runs it, decides.
    match unless_driver(predicted)? {
        Some(Err(files)) => {
            row.outcome = Outcome::WouldConflict;
            row.files = files;
            return Ok(row);
        }
        Some(Ok(new_tree)) => {
            for work in [Some(capture.tree), capture.staged].into_iter().flatten() {
                if let Some(merge) = unless_driver(trial.merge_trees(head_tree, new_tree, work))?
                    && !merge.conflicts.is_empty()
                {
                    row.outcome = Outcome::WouldConflict;
                    row.files = merge.conflicts;
                    return Ok(row);
                }
            }
            // git replaces an ignored file that the new base tracks without a word, and no
            // checkpoint holds ignored files: such a sync is refused.
            let mut in_the_way = Vec::new();
            for change in trial.changed_files(Some(head_tree), new_tree)? {
                if change.blob.is_some()
                    && std::fs::symlink_metadata(path.join(&change.path)).is_ok()
                    && !wt.file_ignore_state(&change.path)?.1
                {
                    in_the_way.push(change.path);
                }
            }
            if !in_the_way.is_empty() {
                row.outcome = Outcome::Skipped;
                row.why = Some(format!(
                    "the new base tracks {}, which is there untracked or ignored; nothing was changed",
                    in_the_way
                        .iter()
                        .take(5)
                        .map(|p| crate::text::escape(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                return Ok(row);
            }
        }
        None => {}
    }
    // Auto-sync never pulls the ground from under someone at work: a session with uncommitted
    // work, or active in the last two minutes, is left for a sync by hand.
    if req.automatic {
        let now = repo.now().unwrap_or(0);
        let recent = local
            .get(&session.meta.id)
            .last_active
            .is_some_and(|t| now - t < 120);
        if recent || capture.tree != head_tree || capture.staged.is_some() {
            return Ok(Row::new(name, Outcome::Skipped)
                .because("in use (uncommitted work or recent activity); sync it by hand"));
        }
    }
    // Checkpointed, so whatever git does next, the session can be put back exactly.
    let message = format!("before sync onto {spec}");
    let take = crate::ops::checkpoint::Take::new(&message);
    let before = crate::ops::checkpoint::checkpoint_locked(&lock, tx, local, session, &path, take)?
        .expect("a checkpoint is recorded unless only_if_dirty")
        .id;
    let before_snapshot = Snapshot::read(repo, before)?;
    tx.persist()?;
    crate::fault::point("sync-checkpointed");
    // What is carried is what the checkpoint holds; the worktree must still be exactly that
    // when it is cleaned (an edit since would be in no checkpoint).
    let capture = Capture {
        tree: before_snapshot.tree,
        head: before_snapshot.head,
        staged: before_snapshot.staged,
        seen: None,
        clean: Vec::new(),
        beyond_head: None,
    };
    let dirty = capture.tree != head_tree || capture.staged.is_some();
    // From here until the worktree is back with its work, a Ctrl-C or a closed terminal is
    // noted, not obeyed: the sync finishes or puts the session back, then stops.
    let _held = dirty.then(crate::signals::Held::new);
    if dirty {
        // Killed from here until the work is carried back, the worktree may hold none of it
        // (or be aside): the restore of the checkpoint taken first is marked unfinished, so
        // `doctor` reports it and its repair (or the next resume) puts the session back as
        // it was; meanwhile another process sees the session busy, not without a worktree.
        crate::ops::create::restore_begun(tx, local, session, before)?;
    }
    // Moved aside (one rename, beside it), as a removal does: an agent writing by path while
    // the work is taken out and put back fails instead of writing into files about to be
    // cleaned, and the capture below is of everything written before the move. When git
    // cannot move it, the sync works where it is.
    let aside = if dirty {
        worktree::move_aside(repo, &path)
    } else {
        None
    };
    let here = aside.clone().unwrap_or_else(|| path.clone());
    let back = |tx: &mut Transaction<'_>| -> OpResult {
        if let Some(aside) = &aside {
            put_back(tx, &lock, session, aside, &path)?;
        }
        Ok(())
    };
    // Whatever happens below, the worktree goes back where it belongs.
    let result = (|tx: &mut Transaction<'_>| -> OpResult<Row> {
        if dirty {
            let now = checkpoint::capture(&repo.open_worktree(&here)?)?;
            if now.tree != capture.tree || now.staged != capture.staged || now.head != Some(head) {
                crate::ops::create::restore_done(tx, local, session)?;
                return Ok(Row::new(name, Outcome::Skipped).because(
                    "its worktree changed while it was being synced; nothing was changed",
                ));
            }
        }
        let done = (|| -> Result<(ObjectId, ObjectId, Option<ObjectId>), String> {
            let text = |e: &(dyn std::error::Error + 'static)| crate::text::one_line(e);
            if dirty {
                worktree::clean_to_head(&here).map_err(|e| text(&e))?;
            }
            worktree::integrate(&here, onto, req.how).map_err(|e| text(&e))?;
            crate::fault::point("sync-integrated");
            let wt = repo.open_worktree(&here).map_err(|e| text(&e))?;
            let new_head = wt.head_commit().map_err(|e| text(&e))?.unwrap_or(onto);
            let new_head_tree = repo.read_commit(new_head).map_err(|e| text(&e))?.tree;
            // The uncommitted and staged work carried onto the new HEAD.
            let carried = |work: Option<ObjectId>| -> Result<Option<ObjectId>, String> {
                match work {
                    None => Ok(None),
                    Some(work) => {
                        let merge = repo
                            .merge_trees(head_tree, new_head_tree, work)
                            .map_err(|e| text(&e))?;
                        merge.tree.map(Some).ok_or_else(|| {
                            format!(
                                "carrying the uncommitted work conflicts in {}",
                                merge.conflicts.join(", ")
                            )
                        })
                    }
                }
            };
            let after_capture = Capture {
                tree: if dirty {
                    carried(Some(capture.tree))?.unwrap_or(new_head_tree)
                } else {
                    new_head_tree
                },
                head: Some(new_head),
                staged: carried(capture.staged)?.filter(|s| *s != new_head_tree),
                seen: None,
                clean: Vec::new(),
                beyond_head: None,
            };
            let after = checkpoint::commit(&wt, &after_capture, &format!("synced onto {spec}"))
                .map_err(|e| text(&e))?;
            let mut written = None;
            if dirty {
                // An agent writing without the session's lock while git integrated: what the
                // fresh checkout holds besides new HEAD is kept before the carried work goes in.
                let now = checkpoint::capture(&wt).map_err(|e| text(&e))?;
                if now.tree != new_head_tree || now.staged.is_some() {
                    written = Some(
                        checkpoint::commit(&wt, &now, WRITTEN_DURING_SYNC).map_err(|e| text(&e))?,
                    );
                }
                let snapshot = Snapshot::read(repo, after).map_err(|e| text(&e))?;
                checkpoint::apply_to_fresh_checkout(&wt, &snapshot, new_head)
                    .map_err(|e| text(&e))?;
            }
            Ok((new_head, after, written))
        })();
        let (new_head, after) = match done {
            Ok((new_head, after, written)) => {
                crate::ops::create::restore_done(tx, local, session)?;
                if let Some(written) = written {
                    tx.record(
                        session.name(),
                        Event::linking(EventKind::Salvaged, written, WRITTEN_DURING_SYNC),
                        |_, _| {},
                    )?;
                }
                (new_head, after)
            }
            Err(why) => {
                // Put back exactly as it was: HEAD, branch, files and index from the checkpoint.
                // What an agent wrote meanwhile (a file git then refused to overwrite, say) is
                // kept first; git's own half-done state is no one's work.
                let wt = repo.open_worktree(&here)?;
                if wt.operation_in_progress().is_none()
                    && let Ok(now) = checkpoint::capture(&wt)
                    && now.tree != before_snapshot.tree
                    && now.tree != repo.read_commit(now.head.unwrap_or(head))?.tree
                {
                    let written = checkpoint::commit(&wt, &now, WRITTEN_DURING_SYNC)?;
                    tx.record(
                        session.name(),
                        Event::linking(EventKind::Salvaged, written, WRITTEN_DURING_SYNC),
                        |_, _| {},
                    )?;
                }
                checkpoint::restore(&wt, &before_snapshot)?;
                crate::ops::create::restore_done(tx, local, session)?;
                let branch_ref = format!("refs/heads/{}", session.meta.branch);
                if repo.read_ref(&branch_ref)? != Some(head) {
                    tx.update_ref(
                        &branch_ref,
                        head,
                        crate::git::Expect::from_value(repo.read_ref(&branch_ref)?),
                        "session: sync put back",
                    )?;
                }
                row.outcome = Outcome::Stopped;
                row.why = Some(format!("git stopped ({why}); put back as it was"));
                return Ok(row);
            }
        };
        let branch_ref = format!("refs/heads/{}", session.meta.branch);
        tx.record_external(&branch_ref, Some(head))?;
        tx.worktree(WorktreeChange::Restored {
            session: SessionRef {
                name: session.name().to_owned(),
                id: session.meta.id.clone(),
            },
            path: path.clone(),
            before: before.to_string(),
            after: after.to_string(),
        });
        let onto_hex = onto.to_string();
        tx.record(
            session.name(),
            Event::new(
                EventKind::Synced,
                format!(
                    "onto {spec} at {} ({})",
                    crate::git::short_id(onto),
                    match req.how {
                        Integration::Rebase => "rebase",
                        Integration::Merge => "merge",
                    }
                ),
            )
            .with_checkpoint(after),
            move |meta, _| meta.base = onto_hex.clone(),
        )?;
        row.outcome = Outcome::Synced;
        row.to = Some(new_head.to_string());
        Ok(row)
    })(tx);
    match (result, back(tx)) {
        (result, Ok(())) => result,
        // Whatever the sync did, the worktree did not get back: the row says where it is.
        (result, Err(e)) => {
            let mut row = result.unwrap_or_else(|err| {
                Row::new(name, Outcome::Stopped).because(crate::text::one_line(&err))
            });
            let said = row.why.take().map(|w| format!("{w}; ")).unwrap_or_default();
            row.outcome = Outcome::Stopped;
            row.why = Some(format!(
                "{said}its worktree is left at {} ({}); `git session doctor --fix` puts it back",
                aside.as_deref().unwrap_or(&path).display(),
                crate::text::one_line(&e)
            ));
            Ok(row)
        }
    }
}

/// What a write made while a sync ran (without the session's lock) is kept as.
const WRITTEN_DURING_SYNC: &str = "written while it was being synced";

/// The prediction, or None when a merge driver of the user's could not run in-process.
fn unless_driver<T>(result: Result<T, crate::git::RepoError>) -> OpResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if crate::text::one_line(&e).contains("merge driver failed") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The tree replaying `commits` onto `onto_tree` gives, or the files the first conflicting
/// commit conflicts in. Merge commits are flattened away, as git rebase does.
fn replay(
    repo: &Repo,
    commits: &[ObjectId],
    onto_tree: ObjectId,
) -> Result<Result<ObjectId, Vec<String>>, crate::git::RepoError> {
    let mut tree = onto_tree;
    for id in commits {
        let commit = repo.read_commit(*id)?;
        if commit.parents.len() != 1 {
            continue;
        }
        let parent_tree = repo.read_commit(commit.parents[0])?.tree;
        let merge = repo.merge_trees(parent_tree, tree, commit.tree)?;
        match merge.tree {
            Some(next) => tree = next,
            None => return Ok(Err(merge.conflicts)),
        }
    }
    Ok(Ok(tree))
}
