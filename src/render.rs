//! Narration shared by several commands (what happened to a retired worktree), written to the
//! command's output. The one place besides `commands/` that prints: commands call these
//! instead of each other.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::ops::retire::Retirement;
use crate::session::Session;

/// Narrates what happened to a worktree; prints its path on stdout when it was kept, with
/// `kept_hint` saying what the user can do about it.
/// `held_by` is the ref that holds the session's log afterwards (the trash ref after `rm`).
pub fn report_retirement(
    ctx: &Context,
    name: &str,
    r: &Retirement,
    kept_hint: &str,
    held_by: &str,
) -> CommandResult {
    if let Some(undone) = &r.interrupted {
        crate::ops::resume::report_undone(&ctx.out, name, undone);
    }
    for path in &r.missing {
        ctx.out.warn(&format!(
            "the worktree of '{name}' at {} was gone (deleted, or moved without `git worktree move`); git's record of it was dropped (anything it had staged is kept in the log)",
            path.display()
        ));
    }
    if let Some(ckpt) = &r.checkpoint {
        ctx.out.status(&format!(
            "Checkpointed the work of '{name}' as {ckpt} (reachable from {held_by})"
        ));
    }
    if let Some(saved) = &r.saved_files {
        ctx.out.status(&saved_files(saved));
    }
    match (&r.kept_because, &r.worktree) {
        (Some(why), Some(path)) if !r.removed => {
            ctx.out
                .warn(&format!("kept the worktree of '{name}': {why}"));
            ctx.out.hint(kept_hint);
            ctx.out.answer(&path.to_string_lossy())?;
        }
        (Some(why), _) => ctx.out.warn(&format!("kept {why}")),
        (None, _) => {}
    }
    for line in removal_leftovers(name, r.written_meanwhile.as_deref(), r.kept_files.as_ref()) {
        ctx.out.warn(&line);
    }
    if r.removed {
        ctx.out.status(&format!("Removed the worktree of '{name}'"));
        if let (Some(path), Ok(root)) = (&r.worktree, ctx.main_root())
            && ctx.cwd.starts_with(path)
        {
            ctx.out.hint(&format!(
                "your shell was in it and now is nowhere: cd {}",
                root.display()
            ));
        }
    }
    if r.branch_deleted {
        ctx.out.status("Deleted its branch");
    }
    Ok(())
}

/// Asks on the terminal whether a setup command from the tracked file may run (and so be
/// approved on this machine); no when stdin or stderr is not a terminal.
pub struct TerminalApprover;

impl crate::post_create::Approver for TerminalApprover {
    fn ask(&self, command: &crate::post_create::SetupCommand) -> bool {
        use std::io::{BufRead, IsTerminal, Write};
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return false;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "{} asks to run `{}` in the new worktree. Run it (and remember this approval on this machine)? [y/N] ",
            crate::config::SHARED_FILE,
            crate::text::escape(&command.command)
        );
        let _ = err.flush();
        drop(err);
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }
}

/// Runs the setup commands in a worktree a command just made (warnings on failure).
pub fn run_setup(
    ctx: &Context,
    session: &crate::session::Session,
    path: &std::path::Path,
) -> CommandResult {
    let config = ctx.config()?;
    crate::post_create::after_create(
        &ctx.repo,
        &ctx.local(),
        &config,
        &ctx.main_root()?,
        session,
        path,
        &TerminalApprover,
        &ctx.out,
    );
    Ok(())
}

/// One session in detail (`show`, `status`, `git session` inside a worktree): the fields of
/// `list --json`, its recent events, context and latest handoff.
pub fn session_detail(ctx: &Context, session: &Session, json: bool) -> CommandResult {
    use crate::session_view as view;
    use crate::text::{escape, escape_multiline};
    const RECENT_EVENTS: usize = 10;
    let local = ctx.local();
    let stale_after = ctx.config()?.agent_stale_after()?;
    let mut v = view::view_of(&ctx.repo, &local, session, stale_after)?;
    if let Some(why) = &v.error {
        ctx.out.warn(&view::cannot_judge(&v, why));
    }
    v.events = Some(ctx.store().events(session, Some(RECENT_EVENTS))?);
    if session.meta.status.is_open() {
        let all: Vec<Session> = ctx.store().list()?.into_iter().flatten().collect();
        match view::overlap_report(&ctx.repo, &local, &all, false, Some(session.name())) {
            Ok(report) => v.overlaps = report.partners(session.name()),
            Err(why) => ctx.out.warn(&why),
        }
    }
    if json {
        ctx.out.json(&v)?;
        return Ok(());
    }
    let mut text = String::new();
    let mut field = |k: &str, val: &str| text.push_str(&format!("{k:<16}{}\n", escape(val)));
    field("name", &v.name);
    field("id", &v.id);
    field("status", &v.status);
    field("branch", &v.branch);
    field("base", &format!("{} ({})", v.base, v.base_ref));
    field(
        "worktree",
        &v.worktree
            .as_ref()
            .map_or_else(|| "-".into(), |p| p.display().to_string()),
    );
    field(
        "changes",
        &v.changes.map_or_else(|| "?".into(), |n| n.to_string()),
    );
    field("ahead", &v.ahead.to_string());
    field("created", &v.created);
    field("last active", &v.last_active);
    field("parent", v.parent.as_deref().unwrap_or("-"));
    field("checkpoints", &v.checkpoints.to_string());
    if let Some(goal) = &v.goal {
        field("goal", goal);
    }
    if !v.owns.is_empty() {
        field("owns", &v.owns.join(" "));
    }
    if !v.overlaps.is_empty() {
        field("overlaps", &v.overlaps.join(", "));
    }
    if let Some(agent) = &v.agent {
        let mut line = agent.tool.clone();
        if let Some(id) = &agent.session_id {
            line.push_str(&format!(" (session {id})"));
        }
        if let (Some(state), Some(since)) = (&agent.state, &agent.since) {
            let now = crate::session::time::now_secs();
            line.push_str(&format!(
                ", {state} since {}",
                crate::session::time::ago(now, since)
            ));
        }
        field("agent", &line);
    }
    text.push_str("\nrecent events:\n");
    for e in v.events.as_deref().unwrap_or_default() {
        text.push_str(&escape_multiline(&format!(
            "  {}  {}: {}\n",
            e.time,
            escape(&e.event),
            escape(&e.message)
        )));
    }
    if let Some(context) = &session.context {
        text.push_str("\ncontext:\n");
        text.push_str(&escape_multiline(context));
    }
    if let Some(handoff) = ctx
        .store()
        .read_file(session, crate::session::store::HANDOFF_FILE)?
    {
        text.push_str("\nlatest handoff:\n");
        text.push_str(&escape_multiline(&handoff));
    }
    ctx.out.answer(&text)?;
    Ok(())
}

/// Opens `session`'s window (for `open`, `new --open` and `fork --open`).
pub fn open_window(
    ctx: &Context,
    session: &crate::session::Session,
    command_args: &[String],
) -> crate::error::CommandResult {
    let command = command_args;
    let name = session.name();
    let Some(worktree) = crate::lifecycle::find_worktree(&ctx.repo, &ctx.local(), session)? else {
        return Err(crate::error::CommandError::user(format!(
            "session '{}' has no worktree on this machine",
            crate::text::escape(name)
        ))
        .hint(format!(
            "`git session resume {}` recreates it",
            crate::text::escape(name)
        )));
    };
    if !crate::tmux::available() {
        ctx.out.answer(&worktree.to_string_lossy())?;
        ctx.out
            .hint("tmux is not installed: this is the session's worktree (`cd` there)");
        return Ok(());
    }
    let config = ctx.config()?;
    let command = if command.is_empty() {
        Some(config.string(&crate::config::AGENT_COMMAND)).filter(|c| !c.trim().is_empty())
    } else {
        Some(
            command
                .iter()
                .map(|a| crate::text::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    let main_root = ctx.main_root()?;
    let opened = crate::tmux::open(
        &main_root,
        &session.meta.id,
        name,
        &worktree,
        command.as_deref(),
    )?;
    ctx.out.status(&format!(
        "{} tmux window {} for '{}' in tmux session '{}'",
        if opened.created { "made" } else { "selected" },
        opened.window,
        crate::text::escape(name),
        crate::text::escape(&opened.tmux_session)
    ));
    if !opened.created && !command_args.is_empty() {
        ctx.out.warn(
            "the window was there already, so the command was not run (close the window to start it anew)",
        );
    }
    if !crate::tmux::inside() {
        if std::io::IsTerminal::is_terminal(&std::io::stdin())
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
        {
            crate::tmux::attach(&opened.tmux_session)?;
        } else {
            ctx.out.hint(&format!(
                "`tmux attach -t {}` shows it",
                crate::text::escape(&opened.tmux_session)
            ));
        }
    }
    Ok(())
}

/// The warnings for files a removal of the worktree of session `name` left in no checkpoint:
/// written at its path once it was moved aside (`written_meanwhile`), or written in it after
/// its last capture began, or not deletable (`kept`). `end`, `rm`, `land` and Claude Code's
/// `WorktreeRemove` hook say the same.
pub fn removal_leftovers(
    name: &str,
    written_meanwhile: Option<&std::path::Path>,
    kept: Option<&crate::worktree::Kept>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(path) = written_meanwhile {
        lines.push(format!(
            "something wrote to {} while the worktree of '{name}' was being removed: those files are left there, in no checkpoint",
            path.display()
        ));
    }
    if let Some(kept) = kept
        && let Some(dir) = &kept.dir
    {
        if kept.newer > 0 {
            lines.push(format!(
                "something wrote in the worktree of '{name}' after its last checkpoint began: those files are kept in {}, in no checkpoint",
                dir.display()
            ));
        }
        if kept.stuck > 0 {
            lines.push(format!(
                "{} file(s) in the worktree of '{name}' could not be deleted (first, there: {}): kept in {}",
                kept.stuck,
                crate::text::escape(kept.first_stuck.as_deref().unwrap_or("")),
                dir.display()
            ));
        }
    }
    lines
}

/// The line saying where a removal saved the files no checkpoint holds.
pub fn saved_files(dir: &std::path::Path) -> String {
    format!(
        "Saved the files no checkpoint holds (ignored files the session changed or created, edits git was told not to look at) in {}; `git session resume` puts them back",
        dir.display()
    )
}
