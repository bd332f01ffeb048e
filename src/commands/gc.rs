//! `git session gc`: retention. Sessions inactive for longer than session.retentionDays lose
//! their clean worktree and branch and become archived; ones with work are checkpointed and
//! kept. Trash older than the retention period is purged.

use std::path::Path;

use serde::Serialize;

use crate::command_context::Context;
use crate::config;
use crate::error::{CommandError, CommandResult};
use crate::lifecycle;
use crate::session::time::{self, human};
use crate::session::{Event, EventKind, Session, Status};

/// Archive inactive sessions and purge old trash.
///
/// Reports each decision and its reason.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Inactivity that makes a session stale: 30s, 15m, 12h, 7d, 2w (default:
    /// session.retentionDays, 7 days).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Report what would happen without changing anything.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print the decisions as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Decision {
    name: String,
    action: &'static str,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
}

pub fn run(ctx: &Context, args: GcArgs) -> CommandResult {
    let config = ctx.config()?;
    let retention = match &args.older_than {
        Some(text) => time::parse_duration(text)
            .filter(|secs| *secs <= 100 * 365 * 86_400)
            .ok_or_else(|| {
                CommandError::usage(format!(
                    "'{text}' is not a duration (use e.g. 30s, 15m, 12h, 7d, 2w)"
                ))
            })?,
        None => config.number(&config::RETENTION_DAYS, 1..=36_500)? as i64 * 86_400,
    };
    // The trash has its own retention: --older-than judges inactivity only, so a
    // `gc --older-than 0s` right after `rm --force` cannot drop the safety checkpoint.
    let trash_days = config.number(&config::TRASH_DAYS, 0..=36_500)? as i64;
    let now = ctx.repo.now()?;
    ctx.main_root()?; // sessions need a main worktree: refuse bare repositories here
    let store = ctx.store();
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let worktrees = ctx.repo.linked_worktrees()?;
    let mut decisions = Vec::new();
    for entry in store.list()? {
        let session = match entry {
            Ok(s) => s,
            Err(e) => {
                ctx.out.warn(&crate::text::one_line(&e));
                continue;
            }
        };
        if session.meta.status == Status::Archived {
            continue;
        }
        let worktree = lifecycle::find_worktree_in(&worktrees, &local, &session);
        let idle = now - last_activity(ctx, &session, worktree.as_deref());
        let name = session.name().to_owned();
        if idle < retention {
            decisions.push(Decision {
                name,
                action: "keep",
                reason: format!("active {} ago", human(idle)),
                checkpoint: None,
            });
            continue;
        }
        let state = match &worktree {
            Some(path) => match lifecycle::work_state(&ctx.repo, &local, &session, path) {
                Ok(state) => state,
                // Never retired, checkpointed or archived on a guess; the others go on.
                Err(e) => {
                    decisions.push(cannot_judge(name, &e));
                    continue;
                }
            },
            None => Default::default(),
        };
        // Only ignored files the session changed: no checkpoint can hold them; kept as is.
        if state.changes.is_empty() && state.unmerged_commits == 0 && state.has_work() {
            decisions.push(Decision {
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
            if !args.dry_run
                && let Some(path) = &worktree
            {
                let ckpt = crate::ops::checkpoint::record_checkpoint(
                    &mut tx,
                    &local,
                    &session,
                    path,
                    "gc: inactive with work",
                )?;
                decision.checkpoint = Some(ckpt.id.to_string());
            }
            decisions.push(decision);
            continue;
        }
        let mut decision = Decision {
            name: name.clone(),
            action: "archive",
            reason: format!("inactive {}, clean", human(idle)),
            checkpoint: None,
        };
        let plan = match crate::ops::retire::plan(
            &ctx.repo,
            &local,
            &session,
            Some(worktree.map(|path| (path, state))),
        ) {
            Ok(plan) => plan,
            Err(e) => {
                decisions.push(cannot_judge(name, &e));
                continue;
            }
        };
        if args.dry_run {
            if let Some(why) = plan.kept_because(false) {
                decision.action = "keep";
                decision.reason = why;
            }
        } else {
            let retired = crate::ops::retire::execute(&mut tx, &local, &session, &plan, false)?;
            if retired.removed
                && let Some(path) = &retired.worktree
                && ctx.cwd.starts_with(path)
                && let Ok(root) = ctx.main_root()
            {
                ctx.out.hint(&format!(
                    "gc removed the worktree your shell is in: cd {}",
                    root.display()
                ));
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
        decisions.push(decision);
    }
    for (trash_ref, tip, deleted_at) in store.trashed()? {
        let age = now - deleted_at;
        if age < trash_days * 86_400 {
            if args.dry_run {
                decisions.push(Decision {
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
        if !args.dry_run {
            tx.delete_ref(&trash_ref, tip, "session: trash purged")?;
        }
        decisions.push(Decision {
            name: trash_ref,
            action: "purge",
            reason: format!(
                "deleted {} ago, over session.trashDays ({trash_days}d)",
                human(age)
            ),
            checkpoint: None,
        });
    }
    tx.finish()?;
    if args.json {
        ctx.out.json(&decisions)?;
        return Ok(());
    }
    let verb = if args.dry_run { "would " } else { "" };
    let mut text = String::new();
    for d in &decisions {
        text.push_str(&format!(
            "{verb}{:<10} {:<30} {}\n",
            d.action,
            crate::text::escape(&d.name),
            crate::text::escape(&d.reason)
        ));
    }
    if text.is_empty() {
        ctx.out.status("nothing to do");
    } else {
        ctx.out.answer(&text)?;
    }
    Ok(())
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
fn last_activity(ctx: &Context, session: &Session, worktree: Option<&Path>) -> i64 {
    let mut latest = time::parse_rfc3339(&session.meta.updated).unwrap_or(0);
    latest = latest.max(ctx.local().get(&session.meta.id).last_active.unwrap_or(0));
    if let Some(path) = worktree
        && let Ok(wt) = ctx.repo.open_worktree(path)
        && let Ok(Some(head)) = wt.head_commit()
        && let Ok(commit) = ctx.repo.read_commit(head)
    {
        latest = latest.max(commit.time);
    }
    latest
}
