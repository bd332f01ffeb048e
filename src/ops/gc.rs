//! Retention (`gc`): sessions inactive longer than the retention lose their clean worktree and
//! branch and become archived; ones with work are checkpointed and kept; trash older than
//! `session.trashDays` is purged; operation-log records older than `session.opLogDays` leave
//! the log and its keep-alive chain. Every decision comes back with its reason; with
//! `dry_run` nothing changes. Never prints.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::git::Repo;
use crate::lifecycle;
use crate::oplog::OpLog;
use crate::ops::OpResult;
use crate::report::Reporter;
use crate::session::time::{self, human};
use crate::session::{Event, EventKind, LocalStore, Session, Status, Store};
use crate::transaction::Transaction;

/// What `gc` judges by.
pub struct Policy {
    /// Inactivity (seconds) that makes a session stale.
    pub retention: i64,
    pub trash_days: i64,
    pub oplog_days: i64,
    pub now: i64,
    pub dry_run: bool,
}

/// One decision and its reason.
#[derive(Debug, Serialize)]
pub struct Decision {
    pub name: String,
    pub action: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// What `gc` did (or would do).
#[derive(Debug, Default)]
pub struct GcReport {
    pub decisions: Vec<Decision>,
    /// Worktrees it removed.
    pub removed: Vec<PathBuf>,
}

pub fn gc(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    policy: &Policy,
    reporter: &dyn Reporter,
) -> OpResult<GcReport> {
    // What this decides to overwrite or remove is judged by a full scan.
    crate::git::fsmonitor::require_full_scans();
    let repo = tx.repo();
    let store = Store::new(repo);
    let worktrees = repo.linked_worktrees()?;
    let mut out = GcReport::default();
    for entry in store.list()? {
        let session = match entry {
            Ok(s) => s,
            Err(e) => {
                reporter.warn(&crate::text::one_line(&e));
                continue;
            }
        };
        if session.meta.status == Status::Archived {
            continue;
        }
        let worktree = lifecycle::find_worktree_in(&worktrees, local, &session);
        let idle = policy.now - last_activity(repo, local, &session, worktree.as_deref());
        let name = session.name().to_owned();
        if idle < policy.retention {
            out.decisions.push(Decision {
                name,
                action: "keep",
                reason: format!("active {} ago", human(idle)),
                checkpoint: None,
            });
            continue;
        }
        let state = match &worktree {
            Some(path) => match lifecycle::work_state(repo, local, &session, path) {
                Ok(state) => state,
                // Never retired, checkpointed or archived on a guess; the others go on.
                Err(e) => {
                    out.decisions.push(cannot_judge(name, &e));
                    continue;
                }
            },
            None => Default::default(),
        };
        // Only ignored files the session changed or hidden edits: no checkpoint can hold
        // them; kept as is.
        if state.changes.is_empty() && state.unmerged_commits == 0 && state.has_work() {
            out.decisions.push(Decision {
                name,
                action: "keep",
                reason: format!("inactive {}, {}", human(idle), state.reason()),
                checkpoint: None,
            });
            continue;
        }
        if state.has_work() {
            let mut decision = Decision {
                name,
                action: "checkpoint",
                reason: format!("inactive {}, {}", human(idle), state.reason()),
                checkpoint: None,
            };
            if !policy.dry_run
                && let Some(path) = &worktree
            {
                let ckpt = crate::ops::checkpoint::record_checkpoint(
                    tx,
                    local,
                    &session,
                    path,
                    "gc: inactive with work",
                )?;
                decision.checkpoint = Some(ckpt.id.to_string());
            }
            out.decisions.push(decision);
            continue;
        }
        let mut decision = Decision {
            name: name.clone(),
            action: "archive",
            reason: format!("inactive {}, clean", human(idle)),
            checkpoint: None,
        };
        let plan = match crate::ops::retire::plan(
            repo,
            local,
            &session,
            Some(worktree.map(|path| (path, state))),
        ) {
            Ok(plan) => plan,
            Err(e) => {
                out.decisions.push(cannot_judge(name, &e));
                continue;
            }
        };
        if policy.dry_run {
            if let Some(why) = plan.kept_because(false) {
                decision.action = "keep";
                decision.reason = why;
            }
        } else if let Some(what) = local
            .get(&session.meta.id)
            .restore_pending
            .as_ref()
            .and(local.get(&session.meta.id).pending())
        {
            decision.action = "keep";
            decision.reason = format!("{what} was interrupted; `git session resume` finishes it");
        } else {
            let retired = crate::ops::retire::execute(tx, local, &session, &plan, false)?;
            if retired.removed
                && let Some(path) = &retired.worktree
            {
                out.removed.push(path.clone());
            }
            if let Some(why) = retired.kept_because {
                decision.action = "keep";
                decision.reason = why;
            } else {
                tx.record(
                    &name,
                    Event::new(EventKind::Archived, format!("inactive {}", human(idle))),
                    |meta, _| meta.status = Status::Archived,
                )?;
            }
        }
        out.decisions.push(decision);
    }
    let trash_days = policy.trash_days;
    for (trash_ref, tip, deleted_at) in store.trashed()? {
        let age = policy.now - deleted_at;
        if age < trash_days * 86_400 {
            if policy.dry_run {
                out.decisions.push(Decision {
                    name: trash_ref,
                    action: "keep",
                    reason: format!(
                        "deleted {} ago; trash is kept {trash_days}d (session.trashDays)",
                        human(age)
                    ),
                    checkpoint: None,
                });
            }
            continue;
        }
        if !policy.dry_run {
            tx.delete_ref(&trash_ref, tip, "session: trash purged")?;
        }
        out.decisions.push(Decision {
            name: trash_ref,
            action: "purge",
            reason: format!(
                "deleted {} ago, over session.trashDays ({trash_days}d)",
                human(age)
            ),
            checkpoint: None,
        });
    }
    let before = policy.now - policy.oplog_days * 86_400;
    let old = OpLog::new(&repo.common_dir())
        .count_older(before)
        .map_err(crate::transaction::TxError::from)?;
    if old > 0 {
        if !policy.dry_run {
            tx.prune_log(before);
        }
        out.decisions.push(Decision {
            name: "operation log".into(),
            action: "prune",
            reason: format!(
                "{old} operation(s) older than session.opLogDays ({}d)",
                policy.oplog_days
            ),
            checkpoint: None,
        });
    }
    Ok(out)
}

/// The decision for a session whose worktree could not be read.
fn cannot_judge(name: String, err: &lifecycle::LifecycleError) -> Decision {
    Decision {
        name,
        action: "keep",
        reason: format!("cannot judge: {}", crate::text::one_line(err)),
        checkpoint: None,
    }
}

/// The latest of: the last command that touched it here, its last event, its worktree's HEAD.
fn last_activity(
    repo: &Repo,
    local: &LocalStore,
    session: &Session,
    worktree: Option<&Path>,
) -> i64 {
    let mut latest = time::parse_rfc3339(&session.meta.updated).unwrap_or(0);
    latest = latest.max(local.get(&session.meta.id).last_active.unwrap_or(0));
    if let Some(path) = worktree
        && let Ok(wt) = repo.open_worktree(path)
        && let Ok(Some(head)) = wt.head_commit()
        && let Ok(commit) = repo.read_commit(head)
    {
        latest = latest.max(commit.time);
    }
    latest
}
