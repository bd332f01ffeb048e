//! `land`: a session's work into its target branch — squashed into one commit (the default),
//! its commits replayed (rebase), or merged — planned first, so `--dry-run` shows the plan
//! and every refusal (uncommitted work, nothing to land, a conflict, a dirty target worktree)
//! comes before anything changes; then carried out as one operation: the landing commits are
//! built from trees in-process, the checks (`session.preLand`) run on exactly the tree that
//! lands, the target moves by compare-and-swap (in the worktree that has it checked out, as
//! `git merge --ff-only` moves it), and the session ends. `undo` takes all of it back.
//! Never prints.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config};
use crate::git::{Expect, ObjectId, Repo};
use crate::oplog::WorktreeChange;
use crate::ops::{OpError, OpResult};
use crate::post_create::{self, Approver, SetupCommand};
use crate::report::Reporter;
use crate::session::{Event, EventKind, LocalStore, Session, Status};
use crate::transaction::Transaction;
use crate::worktree;

/// How a session's work goes into the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// One commit whose message lists the session's commits.
    Squash,
    /// The session's commits replayed on the target, then a fast-forward.
    Rebase,
    /// A merge commit.
    Merge,
}

impl Strategy {
    pub fn parse(text: &str) -> Option<Strategy> {
        match text {
            "squash" => Some(Strategy::Squash),
            "rebase" => Some(Strategy::Rebase),
            "merge" => Some(Strategy::Merge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Squash => "squash",
            Strategy::Rebase => "rebase",
            Strategy::Merge => "merge",
        }
    }
}

/// What to land, and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// The target branch (`--into`, else `session.landInto`); None: from the base ref.
    pub into: Option<String>,
    pub strategy: Strategy,
    /// Keep the session going afterwards (its branch then continues from what landed).
    pub keep: bool,
    /// Commit the worktree's uncommitted work first, as one commit.
    pub include_uncommitted: bool,
}

/// One commit that lands.
#[derive(Debug, Clone, Serialize)]
pub struct LandCommit {
    pub id: String,
    pub subject: String,
}

/// One check that runs on the tree that lands.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub command: String,
    /// From the tracked `.git-session.yaml` (it runs only once approved here).
    pub from_shared_file: bool,
    pub approved: bool,
}

/// What landing would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub session: String,
    pub into: String,
    pub strategy: Strategy,
    /// The target's tip now.
    pub target_tip: String,
    /// The session's commit that lands.
    pub head: String,
    pub commits: Vec<LandCommit>,
    /// The files the landing changes on the target.
    pub files: Vec<String>,
    /// Uncommitted files committed first (`--include-uncommitted`).
    pub uncommitted: Vec<String>,
    pub checks: Vec<Check>,
    /// The worktree that has the target checked out (updated with it).
    pub target_worktree: Option<PathBuf>,
    pub session_worktree: Option<PathBuf>,
    /// Whether the session ends afterwards.
    pub end_session: bool,
    #[serde(skip)]
    ids: Ids,
}

#[derive(Debug, Clone)]
struct Ids {
    target: ObjectId,
    head: ObjectId,
    base: ObjectId,
    commits: Vec<ObjectId>,
}

/// What landing did.
#[derive(Debug, Clone, Serialize)]
pub struct Landed {
    #[serde(flatten)]
    pub plan: Plan,
    /// The target's new tip.
    pub landed: String,
    /// The session's worktree was removed (the session ended).
    pub removed_worktree: Option<PathBuf>,
    /// What its removal left in no checkpoint, as `end` reports it
    /// ([`crate::ops::retire::Retirement`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_meanwhile: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_files: Option<crate::worktree::Kept>,
    /// Where its removal saved the files no checkpoint holds (`resume` puts them back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_files: Option<PathBuf>,
}

/// The branch a session lands into: `into`, else the branch its base ref names (a
/// remote-tracking `origin/main` names `main`; `HEAD` the main worktree's branch), else the
/// repository's default branch.
pub fn target_branch(repo: &Repo, session: &Session, into: Option<&str>) -> OpResult<String> {
    if let Some(into) = into {
        return Ok(into.trim_start_matches("refs/heads/").to_owned());
    }
    let base_ref = session.meta.base_ref.as_str();
    let main = repo.main()?;
    let exists = |b: &str| -> bool {
        repo.read_ref(&format!("refs/heads/{b}"))
            .ok()
            .flatten()
            .is_some()
    };
    if base_ref == "HEAD" {
        if let Some(branch) = main
            .head_ref_name()?
            .and_then(|r| r.strip_prefix("refs/heads/").map(str::to_owned))
            .filter(|b| *b != session.meta.branch)
        {
            return Ok(branch);
        }
    } else if let Some(rest) = base_ref.strip_prefix("refs/heads/") {
        return Ok(rest.to_owned());
    } else if exists(base_ref) {
        return Ok(base_ref.to_owned());
    } else {
        let tracking = base_ref.trim_start_matches("refs/remotes/");
        if let Some((remote, branch)) = tracking.split_once('/')
            && !repo
                .config_strings(&format!("remote.{remote}.url"))
                .is_empty()
        {
            let branch = if branch == "HEAD" {
                // origin/HEAD names the remote's default branch.
                repo.gix()
                    .find_reference(&format!("refs/remotes/{remote}/HEAD"))
                    .ok()
                    .and_then(|r| match r.target() {
                        gix::refs::TargetRef::Symbolic(name) => name
                            .as_bstr()
                            .to_string()
                            .strip_prefix(&format!("refs/remotes/{remote}/"))
                            .map(str::to_owned),
                        _ => None,
                    })
                    .unwrap_or_default()
            } else {
                branch.to_owned()
            };
            if !branch.is_empty() {
                return Ok(branch);
            }
        }
    }
    for default in [
        repo.config_string("init.defaultBranch").unwrap_or_default(),
        "main".to_owned(),
        "master".to_owned(),
    ] {
        if !default.is_empty() && exists(&default) {
            return Ok(default);
        }
    }
    Err(OpError::refused(format!(
        "no branch to land session '{}' into",
        crate::text::escape(session.name())
    ))
    .hint("name one: `git session land <name> --into <branch>`"))
}

/// Judges landing `session` as `req` asks: refused in one line when it cannot land cleanly.
pub fn plan(
    repo: &Repo,
    local: &LocalStore,
    config: &Config,
    session: &Session,
    req: &Request,
) -> OpResult<Plan> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    plan_from(repo, local, config, session, req, None)
}

/// [`plan`], landing commit `head` instead of the session's HEAD when given (its uncommitted
/// work made a commit).
fn plan_from(
    repo: &Repo,
    local: &LocalStore,
    config: &Config,
    session: &Session,
    req: &Request,
    head_override: Option<ObjectId>,
) -> OpResult<Plan> {
    let name = crate::text::escape(session.name());
    let into = target_branch(repo, session, req.into.as_deref())?;
    crate::session::name::validate_branch(&into).map_err(|e| {
        OpError::refused(format!(
            "'{}' is not a branch name: {}",
            crate::text::escape(&into),
            e.rule
        ))
    })?;
    if into == session.meta.branch {
        return Err(
            OpError::refused(format!("session '{name}' cannot land into its own branch"))
                .hint("name the target: `--into <branch>`"),
        );
    }
    let target_ref = format!("refs/heads/{into}");
    let target = repo.read_ref(&target_ref)?.ok_or_else(|| {
        OpError::refused(format!(
            "session '{name}' would land into '{}', which is no branch here",
            crate::text::escape(&into)
        ))
        .hint("name the target: `--into <branch>`")
    })?;
    let session_worktree = crate::lifecycle::find_worktree(repo, local, session)?;
    // Its work may be in a worktree a killed command left aside: nothing lands without it.
    if session_worktree.is_none()
        && let Some(aside) = crate::ops::retire::left_aside(repo, local, session).first()
    {
        return Err(crate::lifecycle::LifecycleError::StillAside {
            name: name.to_owned(),
            aside: aside.clone(),
        }
        .into());
    }
    let head = match (head_override, &session_worktree) {
        (Some(head), _) => Some(head),
        (None, Some(path)) => repo.open_worktree(path)?.head_commit()?,
        (None, None) => repo.read_ref(&format!("refs/heads/{}", session.meta.branch))?,
    }
    .ok_or_else(|| OpError::refused(format!("session '{name}' has no commit to land")))?;
    if let Some(path) = &session_worktree {
        let wt = repo.open_worktree(path)?;
        if wt.head_ref_name()?.as_deref() != Some(&format!("refs/heads/{}", session.meta.branch)) {
            return Err(OpError::refused(format!(
                "the worktree of session '{name}' is not on its branch '{}'; nothing was changed",
                crate::text::escape(&session.meta.branch)
            ))
            .hint(format!("`git switch {}` there first", session.meta.branch)));
        }
    }
    let uncommitted = match &session_worktree {
        Some(path) => repo.open_worktree(path)?.changed_paths()?,
        None => Vec::new(),
    };
    if !uncommitted.is_empty() && !req.include_uncommitted {
        return Err(OpError::refused(format!(
            "session '{name}' has uncommitted work: {}; nothing was landed",
            list(&uncommitted)
        ))
        .hint(format!(
            "commit it, or `git session land {} --include-uncommitted` commits it first as one commit",
            session.name()
        )));
    }
    if req.keep
        && !uncommitted.is_empty()
        && let Some(path) = &session_worktree
    {
        // The worktree becomes a clean checkout of what landed, which would overwrite them.
        let assumed = repo.open_worktree(path)?.assumed_edits()?;
        if !assumed.is_empty() {
            return Err(OpError::refused(format!(
                "session '{name}' has changes in files marked assume-unchanged, which no checkpoint holds and continuing from what landed would overwrite: {}; nothing was landed",
                list(&assumed)
            ))
            .hint("`git update-index --no-assume-unchanged <file>` there lets checkpoints hold them"));
        }
    }
    let base = repo.merge_base(head, target)?.ok_or_else(|| {
        OpError::refused(format!(
            "session '{name}' shares no history with '{}'",
            crate::text::escape(&into)
        ))
    })?;
    let commits = repo.commits_between(head, &[target])?;
    if commits.is_empty() && uncommitted.is_empty() {
        return Err(OpError::refused(format!(
            "session '{name}' has nothing to land: '{}' already has all of its commits",
            crate::text::escape(&into)
        )));
    }
    // The landing, tried on trees: what it changes on the target, and whether it conflicts.
    let (base_tree, target_tree) = (repo.read_commit(base)?.tree, repo.read_commit(target)?.tree);
    let head_tree = match (&session_worktree, uncommitted.is_empty(), head_override) {
        (Some(path), false, None) => crate::checkpoint::capture(&repo.open_worktree(path)?)?.tree,
        _ => repo.read_commit(head)?.tree,
    };
    let mut conflicts = repo.conflicting_files(base_tree, target_tree, head_tree)?;
    if conflicts.is_empty() && req.strategy == Strategy::Rebase {
        conflicts = replay_conflicts(repo, &commits, target)?;
    }
    if !conflicts.is_empty() {
        return Err(OpError::refused(format!(
            "landing session '{name}' into '{}' would conflict in {}; nothing was changed",
            crate::text::escape(&into),
            list(&conflicts)
        ))
        .hint(format!(
            "resolve them in the session: `git merge {into}` in its worktree (`git session path {}`), fix the conflicts and commit; then land again",
            session.name()
        )));
    }
    // Every path the landing writes: renamed files under both names.
    let files: Vec<String> = repo
        .changed_files_plain(Some(base_tree), head_tree)?
        .into_iter()
        .map(|c| c.path)
        .collect();
    // The worktree that has the target checked out moves with it: its own changes must not
    // be in the files the landing writes.
    let target_worktree = worktree_with_branch(repo, &into)?;
    if let Some(path) = &target_worktree {
        let wt = repo.open_worktree(path)?;
        // Only the paths the landing writes are looked at.
        let among = wt.changed_among(&files)?;
        // Its files cannot move under a rebase, merge or bisect (HEAD may not even be the
        // branch), nor git read a tree into an index with conflicts.
        let busy = match wt.operation_in_progress() {
            Some(op) => Some(format!("a {op} is in progress there")),
            None => among.unmerged.then(|| "its index has conflicts".to_owned()),
        };
        if let Some(busy) = busy {
            return Err(OpError::refused(format!(
                "'{}' is checked out at {}, and {busy}; nothing was changed",
                crate::text::escape(&into),
                path.display()
            ))
            .hint("finish or abort it there, then land again"));
        }
        // git would replace an untracked or ignored file there without a word (no
        // checkpoint holds those).
        let in_the_way = among.untracked;
        if !in_the_way.is_empty() {
            return Err(OpError::refused(format!(
                "the worktree of '{}' at {} has untracked or ignored files where the landing writes: {}; nothing was changed",
                crate::text::escape(&into),
                path.display(),
                list(&in_the_way)
            ))
            .hint("move them away first"));
        }
        let touched: Vec<String> = among
            .changed
            .into_iter()
            .filter(|d| {
                files
                    .iter()
                    .any(|f| f == d || f.starts_with(&format!("{}/", d.trim_end_matches('/'))))
            })
            .collect();
        if !touched.is_empty() {
            return Err(OpError::refused(format!(
                "the worktree of '{}' at {} has changes in files the landing writes: {}; nothing was changed",
                crate::text::escape(&into),
                path.display(),
                list(&touched)
            ))
            .hint("commit or stash them there first"));
        }
    }
    let approvals = post_create::Approvals::load(&repo.common_dir());
    let checks = post_create::commands_of(config, &config::PRE_LAND)
        .into_iter()
        .map(|c| Check {
            approved: approvals.allows(&c),
            command: c.command,
            from_shared_file: c.tracked,
        })
        .collect();
    Ok(Plan {
        session: session.name().to_owned(),
        into,
        strategy: req.strategy,
        target_tip: target.to_string(),
        head: head.to_string(),
        commits: commits
            .iter()
            .map(|c| {
                Ok(LandCommit {
                    id: c.to_string(),
                    subject: repo.subject(*c)?,
                })
            })
            .collect::<OpResult<_>>()?,
        files,
        uncommitted,
        checks,
        target_worktree,
        session_worktree,
        end_session: !req.keep,
        ids: Ids {
            target,
            head,
            base,
            commits,
        },
    })
}

/// The files replaying `commits` onto `onto` one by one would conflict in (the first commit
/// that conflicts).
fn replay_conflicts(repo: &Repo, commits: &[ObjectId], onto: ObjectId) -> OpResult<Vec<String>> {
    // Trial trees stay in memory, merged again through the same handle.
    let repo = &repo.scratch();
    let mut tree = repo.read_commit(onto)?.tree;
    for id in commits {
        let commit = repo.read_commit(*id)?;
        if commit.parents.len() > 1 {
            continue; // merges are flattened away, as git rebase does
        }
        let parent_tree = match commit.parents.first() {
            Some(p) => repo.read_commit(*p)?.tree,
            None => continue,
        };
        let merged = repo.merge_trees(parent_tree, tree, commit.tree)?;
        match merged.tree {
            Some(next) => tree = next,
            None => return Ok(merged.conflicts),
        }
    }
    Ok(Vec::new())
}

/// The worktree (main or linked) that has `branch` checked out.
fn worktree_with_branch(repo: &Repo, branch: &str) -> OpResult<Option<PathBuf>> {
    let main = repo.main()?;
    if worktree::checked_out_branch(&repo.common_dir()).as_deref() == Some(branch) {
        return Ok(main.workdir());
    }
    Ok(repo
        .linked_worktrees()?
        .into_iter()
        .find(|w| w.exists && worktree::checked_out_branch(&w.git_dir).as_deref() == Some(branch))
        .map(|w| w.path))
}

/// Lands `session` as planned, through `tx`: everything before the target moves is judged
/// first; a failure after leaves the transaction to take it back.
#[allow(clippy::too_many_arguments)]
pub fn land(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    config: &Config,
    main_root: &Path,
    session: &Session,
    req: &Request,
    approver: &dyn Approver,
    reporter: &dyn Reporter,
) -> OpResult<Landed> {
    // Named from the start: a record of a landing killed part-way names its session.
    tx.touch(session);
    let repo = tx.repo();
    let mut plan = plan(repo, local, config, session, req)?;
    // Checks from the tracked file run only approved, asked before anything changes.
    let mut approvals = post_create::Approvals::load(&repo.common_dir());
    for check in plan.checks.iter_mut().filter(|c| !c.approved) {
        let command = SetupCommand {
            command: check.command.clone(),
            tracked: check.from_shared_file,
        };
        if !approver.ask(&command) {
            return Err(OpError::refused(format!(
                "the check `{}` from {} is not approved on this machine; nothing was landed",
                crate::text::escape(&check.command),
                config::SHARED_FILE
            ))
            .hint(format!(
                "read it, then `git session approve -- '{}'`",
                check.command
            )));
        }
        approvals
            .approve([check.command.as_str()])
            .map_err(|e| OpError::refused(crate::text::one_line(&e)))?;
        check.approved = true;
    }
    let session_path = plan.session_worktree.clone();
    // Uncommitted work, asked for: one commit of the worktree's files on its HEAD, made as
    // an object only (the worktree stays as it is, so ending the session checkpoints it
    // exactly and `undo` gives it back exactly).
    if !plan.uncommitted.is_empty()
        && let Some(path) = &session_path
    {
        let wt = repo.open_worktree(path)?;
        let capture = crate::checkpoint::capture(&wt)?;
        let commit = repo.write_commit(
            capture.tree,
            &[plan.ids.head],
            &format!(
                "Uncommitted work of session '{}'\n\nSession-Id: {}\n",
                session.name(),
                session.meta.id
            ),
        )?;
        let keep_checks = plan.checks.clone();
        let uncommitted = std::mem::take(&mut plan.uncommitted);
        plan = plan_from(repo, local, config, session, req, Some(commit))?;
        plan.checks = keep_checks;
        plan.uncommitted = uncommitted;
    }
    crate::fault::point("land-planned");
    let landed = build(repo, session, &plan)?;
    run_checks(
        repo, local, config, main_root, session, &plan, landed, reporter,
    )?;
    // Nothing moved while the checks ran: the session's work is still what was planned, and
    // the target's worktree still has the target checked out.
    let session_lock =
        crate::session::SessionLock::acquire(&repo.common_dir(), &session.meta.id, session.name())
            .map_err(crate::lifecycle::LifecycleError::from)?;
    if let Some(path) = &session_path {
        let now = repo.open_worktree(path)?.head_commit()?;
        let planned = if plan.uncommitted.is_empty() {
            Some(plan.ids.head)
        } else {
            repo.read_commit(plan.ids.head)?.parents.first().copied()
        };
        if now != planned {
            return Err(OpError::refused(format!(
                "session '{}' gained a commit while landing; nothing was landed",
                crate::text::escape(session.name())
            ))
            .hint("land it again: the new commit goes with it"));
        }
    }
    // The target moves by compare-and-swap; in the worktree that has it checked out, its
    // files move with it as a fast-forward moves them.
    let target_ref = format!("refs/heads/{}", plan.into);
    // Journaled: killed after the target moved, the next command records the move (and the
    // worktree's files with it) for `undo` (`Transaction::journal_ref`).
    tx.journal_ref(&target_ref);
    // From moving the target's files on, Ctrl-C, a closed terminal or a polite kill is held
    // off until the landing is finished or rolled back, and git's read-tree runs where the
    // terminal's Ctrl-C does not reach it: stopped there, a worktree would hold half the
    // landing, nothing recorded (`kill -9` is the journal's).
    tx.hold_signals();
    if let Some(path) = &plan.target_worktree {
        let git_dir = repo.open_worktree(path)?.git_dir();
        if worktree::checked_out_branch(&git_dir).as_deref() != Some(plan.into.as_str()) {
            return Err(OpError::refused(format!(
                "{} no longer has '{}' checked out; nothing was landed",
                path.display(),
                crate::text::escape(&plan.into)
            )));
        }
        tx.worktree(WorktreeChange::Advanced {
            path: path.clone(),
            branch: plan.into.clone(),
            from: plan.ids.target.to_string(),
            to: landed.to_string(),
        });
    }
    // Journaled with its worktree's move before either moves: killed part-way, the next
    // command records the landing for `undo` and finishes moving the files
    // (`transaction::adopt_killed`). (Files moved first and the ref after, a kill between
    // left the worktree holding the landing staged, and nothing recorded it.)
    match &plan.target_worktree {
        Some(path) => {
            // git fast-forwards ref and files together, from the tip it reads: one that moved
            // since the plan (a commit made there) is not an ancestor of what lands.
            tx.external_ahead(&target_ref, plan.ids.target, landed);
            crate::fault::point("land-journaled");
            if repo.read_ref(&target_ref)? != Some(plan.ids.target) {
                return Err(OpError::refused(format!(
                    "'{}' moved while landing; nothing was landed",
                    crate::text::escape(&plan.into)
                ))
                .hint("land it again"));
            }
            tx.inheriting_journal_lock(|| {
                worktree::fast_forward(path, &plan.into, landed, "session: land")
            })
            .map_err(|e| {
                OpError::refused(format!(
                    "the worktree of '{}' at {} cannot take the landing: {}; nothing was landed",
                    crate::text::escape(&plan.into),
                    path.display(),
                    crate::text::one_line(&e)
                ))
            })?;
            let now = repo.read_ref(&target_ref)?;
            if now != Some(landed) {
                // Not what a fast-forward does: whatever git did goes back (its files
                // first, then its ref, when nobody moved that since).
                if let Some(now) = now.filter(|now| *now != plan.ids.target) {
                    let _ = worktree::move_files(path, now, plan.ids.target);
                    // Taken back with the transaction, when nobody moved it since.
                    tx.record_external(&target_ref, Some(plan.ids.target))?;
                } else {
                    let _ = worktree::move_files(path, landed, plan.ids.target);
                }
                return Err(OpError::refused(format!(
                    "git did not fast-forward '{}' to what landed; what it did was taken back, nothing was landed",
                    crate::text::escape(&plan.into)
                )));
            }
            let (back, from) = (path.clone(), plan.ids.target);
            tx.on_rollback(move |_| {
                let _ = worktree::move_files(&back, landed, from);
            });
        }
        None => {
            tx.update_ref(
                &target_ref,
                landed,
                Expect::At(plan.ids.target),
                "session: land",
            )?;
            tx.flush()?;
        }
    }
    crate::fault::point("land-moved");
    notes(tx, session, &plan, landed)?;
    // Kept, it goes on from what landed: its base is that (nothing of it is unlanded).
    let keep_base = (req.keep && session_path.is_some()).then(|| landed.to_string());
    tx.record(
        session.name(),
        Event::new(
            EventKind::Landed,
            format!(
                "into {} ({}) as {}",
                plan.into,
                plan.strategy.as_str(),
                crate::git::short_id(landed)
            ),
        ),
        move |meta, _| {
            if let Some(base) = &keep_base {
                meta.base = base.clone();
            }
        },
    )?;
    let mut removed_worktree = None;
    let (mut written_meanwhile, mut kept_files, mut saved_files) = (None, None, None);
    if req.keep {
        // It continues from what landed.
        if let Some(path) = &session_path {
            let branch_ref = format!("refs/heads/{}", session.meta.branch);
            tx.journal_ref(&branch_ref);
            let wt = repo.open_worktree(path)?;
            let from = wt.head_commit()?.unwrap_or(plan.ids.head);
            if plan.uncommitted.is_empty() {
                // Files and index only change when what landed differs from what it has.
                if repo.read_commit(from)?.tree != repo.read_commit(landed)?.tree {
                    worktree::move_files(path, from, landed)?;
                    let back = path.clone();
                    tx.on_rollback(move |_| {
                        let _ = worktree::move_files(&back, landed, from);
                    });
                }
                tx.update_ref(
                    &branch_ref,
                    landed,
                    Expect::At(from),
                    "session: land --keep",
                )?;
                tx.worktree(WorktreeChange::Advanced {
                    path: path.clone(),
                    branch: session.meta.branch.clone(),
                    from: from.to_string(),
                    to: landed.to_string(),
                });
            } else {
                // Its uncommitted work landed: checkpointed first (what undo puts back), then
                // the worktree is a clean checkout of what landed.
                let before = crate::ops::checkpoint::checkpoint_locked(
                    &session_lock,
                    tx,
                    local,
                    session,
                    path,
                    crate::ops::checkpoint::Take::new("before continuing from what landed"),
                )?
                .expect("a checkpoint is recorded unless only_if_dirty")
                .id;
                tx.persist()?;
                let capture = crate::checkpoint::Capture {
                    tree: repo.read_commit(landed)?.tree,
                    head: Some(landed),
                    staged: None,
                    seen: None,
                    clean: Vec::new(),
                    beyond_head: None,
                };
                let after =
                    crate::checkpoint::commit(&wt, &capture, "continuing from what landed")?;
                let snapshot = crate::checkpoint::Snapshot::read(repo, after)?;
                let branch_before = repo.read_ref(&branch_ref)?;
                crate::checkpoint::restore(&wt, &snapshot)?;
                tx.record_external(&branch_ref, branch_before)?;
                tx.worktree(WorktreeChange::Restored {
                    session: crate::oplog::SessionRef {
                        name: session.name().to_owned(),
                        id: session.meta.id.clone(),
                    },
                    path: path.clone(),
                    before: before.to_string(),
                    after: after.to_string(),
                });
            }
        }
        drop(session_lock);
    } else {
        drop(session_lock);
        let retired = crate::ops::retire::retire(tx, local, session, true)?;
        if retired.removed {
            removed_worktree = retired.worktree.clone();
        }
        written_meanwhile = retired.written_meanwhile;
        kept_files = retired.kept_files;
        saved_files = retired.saved_files;
        tx.record(
            session.name(),
            Event::new(EventKind::Ended, format!("landed into {}", plan.into)),
            |meta, _| meta.status = Status::Complete,
        )?;
    }
    Ok(Landed {
        plan,
        landed: landed.to_string(),
        removed_worktree,
        written_meanwhile,
        kept_files,
        saved_files,
    })
}

/// Writes the landing commit(s) and returns the target's new tip.
fn build(repo: &Repo, session: &Session, plan: &Plan) -> OpResult<ObjectId> {
    let ids = &plan.ids;
    let (base_tree, target_tree, head_tree) = (
        repo.read_commit(ids.base)?.tree,
        repo.read_commit(ids.target)?.tree,
        repo.read_commit(ids.head)?.tree,
    );
    let merged = |ours, theirs| -> OpResult<ObjectId> {
        let merge = repo.merge_trees(base_tree, ours, theirs)?;
        merge.tree.ok_or_else(|| {
            OpError::refused(format!(
                "the landing now conflicts in {}; nothing was changed",
                list(&merge.conflicts)
            ))
        })
    };
    match plan.strategy {
        Strategy::Squash => {
            let tree = merged(target_tree, head_tree)?;
            Ok(repo.write_commit(tree, &[ids.target], &squash_message(session, plan))?)
        }
        Strategy::Merge => {
            let tree = merged(target_tree, head_tree)?;
            let message = format!(
                "Merge session '{}' into {}\n\nSession-Id: {}\n",
                session.name(),
                plan.into,
                session.meta.id
            );
            Ok(repo.write_commit(tree, &[ids.target, ids.head], &message)?)
        }
        Strategy::Rebase => {
            // The target has not moved: the session's own commits, as they are.
            if ids.base == ids.target {
                return Ok(ids.head);
            }
            let mut tip = ids.target;
            let mut tree = target_tree;
            for id in &ids.commits {
                let commit = repo.read_commit(*id)?;
                if commit.parents.len() > 1 {
                    continue;
                }
                let Some(parent) = commit.parents.first() else {
                    continue;
                };
                let parent_tree = repo.read_commit(*parent)?.tree;
                let merge = repo.merge_trees(parent_tree, tree, commit.tree)?;
                let Some(next) = merge.tree else {
                    return Err(OpError::refused(format!(
                        "replaying {} now conflicts in {}; nothing was changed",
                        crate::git::short_id(*id),
                        list(&merge.conflicts)
                    )));
                };
                if next == tree {
                    continue; // already there: git rebase drops it too
                }
                tip = repo.replay_commit(*id, tip, next)?;
                tree = next;
            }
            Ok(tip)
        }
    }
}

fn squash_message(session: &Session, plan: &Plan) -> String {
    let title = session
        .meta
        .goal
        .as_deref()
        .and_then(|g| g.lines().next())
        .filter(|g| !g.trim().is_empty())
        .map_or_else(|| format!("Session '{}'", session.name()), str::to_owned);
    let mut message = format!(
        "{title}\n\nSquashed from session '{}' ({} commit(s)):\n",
        session.name(),
        plan.commits.len()
    );
    for c in &plan.commits {
        message.push_str(&format!(
            "- {} {}\n",
            &c.id[..12.min(c.id.len())],
            c.subject
        ));
    }
    message.push_str(&format!("\nSession-Id: {}\n", session.meta.id));
    message
}

/// Runs the checks on exactly the tree that lands: in the session's worktree when it holds
/// that tree, else in a detached worktree of the landing commit made for the purpose.
#[allow(clippy::too_many_arguments)]
fn run_checks(
    repo: &Repo,
    local: &LocalStore,
    config: &Config,
    main_root: &Path,
    session: &Session,
    plan: &Plan,
    landed: ObjectId,
    reporter: &dyn Reporter,
) -> OpResult {
    if plan.checks.is_empty() {
        return Ok(());
    }
    let landed_tree = repo.read_commit(landed)?.tree;
    let in_session = plan.session_worktree.as_ref().filter(|path| {
        repo.open_worktree(path)
            .ok()
            .and_then(|wt| crate::checkpoint::capture(&wt).ok())
            .is_some_and(|c| c.tree == landed_tree)
    });
    let scratch = repo
        .common_dir()
        .join("session")
        .join(format!("land-{}", session.meta.id));
    let dir = match in_session {
        Some(path) => path.clone(),
        None => {
            if scratch.exists() {
                let _ = worktree::remove(repo, &scratch, true);
                let _ = std::fs::remove_dir_all(&scratch);
            }
            crate::git::git_root(main_root)
                .args(["worktree", "add", "--quiet", "--detach"])
                .arg(&scratch)
                .arg(landed.to_string())
                .run()
                .map_err(crate::worktree::WorktreeError::from)?;
            scratch.clone()
        }
    };
    let result = (|| {
        let env = post_create::session_env(repo, local, config, main_root, session, Some(&dir))
            .map_err(|e| OpError::refused(crate::text::one_line(&e)))?;
        for check in &plan.checks {
            reporter.status(&format!("Running check `{}`", check.command));
            post_create::run(&check.command, &dir, &env).map_err(|e| {
                OpError::refused(format!("{}; nothing was landed", crate::text::one_line(&e)))
            })?;
        }
        Ok(())
    })();
    if dir == scratch {
        let _ = worktree::remove(repo, &scratch, true);
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

/// Provenance: replayed commits keep their notes; a squash or merge commit gets a note naming
/// the session and the commits it stands for.
fn notes(tx: &mut Transaction<'_>, session: &Session, plan: &Plan, landed: ObjectId) -> OpResult {
    let repo = tx.repo();
    let notes_ref = crate::provenance::NOTES_REF;
    match plan.strategy {
        Strategy::Rebase => {
            // Old and new commits pair up in order (merges were left out of both).
            let mut new = Vec::new();
            let mut at = landed;
            while at != plan.ids.target {
                new.push(at);
                match repo.read_commit(at)?.parents.first() {
                    Some(p) => at = *p,
                    None => break,
                }
            }
            new.reverse();
            let old: Vec<ObjectId> = plan
                .ids
                .commits
                .iter()
                .copied()
                .filter(|c| repo.read_commit(*c).is_ok_and(|c| c.parents.len() <= 1))
                .collect();
            for (old, new) in old.iter().zip(&new) {
                if let Some(text) = repo.note(notes_ref, *old)? {
                    tx.update_note(notes_ref, *new, "session: notes kept through land", {
                        move |current| {
                            crate::provenance::appended(current, &String::from_utf8_lossy(&text))
                        }
                    })?;
                }
            }
        }
        Strategy::Squash | Strategy::Merge => {
            let mut text = crate::provenance::note_text(&session.meta);
            text.push_str(&format!(
                "landed: {} of {}\n",
                plan.strategy.as_str(),
                plan.commits
                    .iter()
                    .map(|c| c.id.get(..12).unwrap_or(&c.id).to_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            tx.update_note(notes_ref, landed, "session: landed", move |current| {
                crate::provenance::appended(current, &text)
            })?;
        }
    }
    Ok(())
}

/// The first few paths, escaped.
fn list(paths: &[String]) -> String {
    let mut text = paths
        .iter()
        .take(5)
        .map(|p| crate::text::escape(p))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > 5 {
        text.push_str(&format!(" and {} more", paths.len() - 5));
    }
    text
}
