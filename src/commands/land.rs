//! `git session land`: a session's work into its target branch (`ops::land`), or with
//! `--dry-run` the plan of it. Prints the target's new tip.

use crate::command_context::Context;
use crate::config;
use crate::error::CommandResult;
use crate::ops::land::{self, Plan, Request, Strategy};

/// Land a session into its target branch (squash by default), then end it.
///
/// Target: --into, else session.landInto, else the branch the session's base ref names,
/// else the default branch. Refused, changing nothing, when the worktree holds uncommitted
/// work (--include-uncommitted commits it first), when there is nothing to land, when the
/// landing would conflict (`git session sync` first), when a session.preLand check fails,
/// or when the target's worktree has changes in files the landing writes. One operation:
/// `git session undo` puts everything back.
#[derive(Debug, clap::Args)]
pub struct LandArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// The branch to land into.
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    /// One commit listing the session's commits (the default; session.landStrategy).
    #[arg(long, conflicts_with_all = ["rebase", "merge"])]
    pub squash: bool,
    /// The session's commits replayed onto the target, then a fast-forward.
    #[arg(long, conflicts_with = "merge")]
    pub rebase: bool,
    /// A merge commit.
    #[arg(long)]
    pub merge: bool,
    /// Keep the session going (it continues from what landed) instead of ending it.
    #[arg(long)]
    pub keep: bool,
    /// Commit the worktree's uncommitted work first, as one commit.
    #[arg(long)]
    pub include_uncommitted: bool,
    /// Print the plan and change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print the plan (or what was done) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: LandArgs) -> CommandResult {
    // A bare repository first, as `new` and `sync` say it (not "no session named").
    let main_root = ctx.main_root()?;
    let session = ctx.session(args.name.as_deref())?;
    let config = ctx.config()?;
    let strategy = match (args.squash, args.rebase, args.merge) {
        (true, _, _) => Strategy::Squash,
        (_, true, _) => Strategy::Rebase,
        (_, _, true) => Strategy::Merge,
        _ => {
            let text = config.one_of(&config::LAND_STRATEGY, &["squash", "rebase", "merge"])?;
            Strategy::parse(&text).unwrap_or(Strategy::Squash)
        }
    };
    let into = match args.into.clone() {
        Some(into) => Some(into),
        None => config.land_into()?,
    };
    let req = Request {
        into,
        strategy,
        keep: args.keep,
        include_uncommitted: args.include_uncommitted,
    };
    if args.dry_run {
        let plan = land::plan(&ctx.repo, &ctx.local(), &config, &session, &req)?;
        if args.json {
            return ctx.out.json(&plan);
        }
        return ctx.out.answer(&render_plan(&plan));
    }
    let mut tx = ctx.transaction();
    let landed = land::land(
        &mut tx,
        &ctx.local(),
        &config,
        &main_root,
        &session,
        &req,
        &crate::render::TerminalApprover,
        &ctx.out,
    )?;
    tx.finish()?;
    if args.json {
        return ctx.out.json(&landed);
    }
    ctx.out.status(&format!(
        "Landed session '{}' into {} ({}, {} commit(s), {} file(s))",
        crate::text::escape(&landed.plan.session),
        crate::text::escape(&landed.plan.into),
        landed.plan.strategy.as_str(),
        landed.plan.commits.len(),
        landed.plan.files.len()
    ));
    if let Some(path) = &landed.removed_worktree {
        ctx.out.status(&format!(
            "Ended the session; removed its worktree {}",
            path.display()
        ));
        if ctx.cwd.starts_with(path) {
            ctx.out.hint(&format!(
                "the worktree your shell is in is gone: cd {}",
                main_root.display()
            ));
        }
    }
    if let Some(saved) = &landed.saved_files {
        ctx.out.status(&crate::render::saved_files(saved));
    }
    for line in crate::render::removal_leftovers(
        &crate::text::escape(&landed.plan.session),
        landed.written_meanwhile.as_deref(),
        landed.kept_files.as_ref(),
    ) {
        ctx.out.warn(&line);
    }
    ctx.out.answer(&landed.landed)
}

fn render_plan(plan: &Plan) -> String {
    let esc = crate::text::escape;
    let mut text = format!(
        "would land session '{}' into {} ({})\n",
        esc(&plan.session),
        esc(&plan.into),
        plan.strategy.as_str()
    );
    if !plan.uncommitted.is_empty() {
        text.push_str(&format!(
            "  first commit {} uncommitted file(s)\n",
            plan.uncommitted.len()
        ));
    }
    text.push_str(&format!("  {} commit(s):\n", plan.commits.len()));
    for c in &plan.commits {
        text.push_str(&format!(
            "    {} {}\n",
            c.id.get(..12).unwrap_or(&c.id),
            esc(&c.subject)
        ));
    }
    text.push_str(&format!("  {} file(s):\n", plan.files.len()));
    for f in plan.files.iter().take(20) {
        text.push_str(&format!("    {}\n", esc(f)));
    }
    if plan.files.len() > 20 {
        text.push_str(&format!("    … {} more\n", plan.files.len() - 20));
    }
    for check in &plan.checks {
        text.push_str(&format!(
            "  check: {}{}\n",
            esc(&check.command),
            if check.approved {
                ""
            } else {
                " (from .git-session.yaml, not approved here)"
            }
        ));
    }
    if let Some(path) = &plan.target_worktree {
        text.push_str(&format!("  updates the worktree {}\n", path.display()));
    }
    text.push_str(if plan.end_session {
        "  then ends the session (worktree and branch removed)\n"
    } else {
        "  then keeps the session, continuing from what landed\n"
    });
    text
}
