//! `git session end`: mark a session complete and tidy up after it, never losing work.

use serde::Serialize;

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::retire::{self, Retirement};
use crate::session::{Event, EventKind, Status};

/// End a session; remove its worktree if nothing would be lost.
///
/// Status becomes complete. A clean worktree (no uncommitted or untracked files, no
/// commits beyond its base or upstream) is removed with its branch; one with work is kept
/// and its path printed. --remove removes it anyway, after a checkpoint that keeps the work
/// reachable from the session's log.
#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Remove the worktree and branch even if they hold work (checkpointed first).
    #[arg(long)]
    pub remove: bool,
    /// Same as --remove.
    #[arg(long, short)]
    pub force: bool,
    /// Print what happened as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct EndReport {
    name: String,
    status: &'static str,
    #[serde(flatten)]
    retirement: Retirement,
}

pub fn run(ctx: &Context, args: EndArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    ctx.main_root()?; // sessions need a main worktree: refuse bare repositories here
    let mut tx = ctx.transaction();
    let retirement = retire::retire(&mut tx, &ctx.local(), &session, args.remove || args.force)?;
    // Ended before, and nothing left to tidy: nothing is recorded (an `undo` then takes back
    // the real ending, not this).
    if retirement.did_nothing() && session.meta.status == Status::Complete {
        tx.finish()?;
        if args.json {
            ctx.out.json(&EndReport {
                name: session.name().to_owned(),
                status: Status::Complete.as_str(),
                retirement,
            })?;
        } else {
            ctx.out.status(&format!(
                "Session '{}' was already complete; nothing to do",
                crate::text::escape(session.name())
            ));
        }
        return Ok(());
    }
    let detail = match (&retirement.kept_because, retirement.removed) {
        (Some(why), _) => format!("worktree kept: {why}"),
        (None, true) => "worktree removed".to_owned(),
        (None, false) => "no worktree".to_owned(),
    };
    tx.record(
        session.name(),
        Event::new(EventKind::Ended, detail),
        |meta, _| meta.status = Status::Complete,
    )?;
    tx.finish()?;
    ctx.touch(&session);
    let name = session.name().to_owned();
    if args.json {
        ctx.out.json(&EndReport {
            name,
            status: Status::Complete.as_str(),
            retirement,
        })?;
        return Ok(());
    }
    let kept_hint = if retirement.holds_repositories {
        "move away what is named above, then end it again (its work is checkpointed when forced)"
            .to_owned()
    } else if retirement.locked {
        "unlock it as said above, then end it again (its work is checkpointed)".to_owned()
    } else if retirement.only_commits {
        format!(
            "push the branch (`git push -u <remote> {}`) or merge it, or pass --remove to remove it anyway (its commits stay reachable from the session's log)",
            session.meta.branch
        )
    } else {
        "commit or discard the work, or pass --remove to remove it after a checkpoint".to_owned()
    };
    let held_by = format!("refs/sessions/{name}");
    crate::render::report_retirement(ctx, &name, &retirement, &kept_hint, &held_by)?;
    ctx.out.status(&format!("Session '{name}' is complete"));
    Ok(())
}
