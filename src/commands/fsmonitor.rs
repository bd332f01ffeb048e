//! `git session fsmonitor enable|disable|status|verify`: the file-system monitor that lets
//! status-like scans look only at what changed (`crate::monitor`).

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::monitor::{self, MonitorOpError, MonitorStatus};

/// Let scans ask watchman what changed instead of looking at every file.
///
/// `session.fsmonitor` decides: `auto` (the default) uses a watchman server that is already
/// running and never starts one, `watchman` is what `enable` sets, `off` never asks. Any
/// failure of the monitor means a full scan, never an error; commands that decide what to
/// destroy (end, rm, gc, rewind, land, sync, undo, restore) always scan in full.
#[derive(Debug, clap::Args)]
pub struct FsmonitorArgs {
    #[command(subcommand)]
    pub command: FsmonitorCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum FsmonitorCommand {
    /// Start watchman if needed, set session.fsmonitor=watchman and watch every worktree.
    Enable(JsonArgs),
    /// Set session.fsmonitor=off and remove the watches made for the worktrees.
    Disable(JsonArgs),
    /// Per worktree: whether answers come from the monitor, its last clock, and why a full
    /// scan was last needed.
    Status(JsonArgs),
    /// Scan each worktree both ways and compare: exits 1 when the monitor's answer differs
    /// from a full scan's. Writes the objects a checkpoint would, and no ref.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct JsonArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only this session's worktree.
    pub name: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

impl From<MonitorOpError> for CommandError {
    fn from(err: MonitorOpError) -> Self {
        let message = crate::error::one_line(&err);
        match err {
            MonitorOpError::NoWatchman(_) if !crate::fsutil::on_path("watchman") => {
                CommandError::user(message).hint(
                    "install watchman (https://facebook.github.io/watchman/) and try again; \
                     without it every scan looks at every file",
                )
            }
            MonitorOpError::NoWatchman(_) => CommandError::user(message).hint(
                "`watchman get-sockname` says where its server listens; WATCHMAN_SOCK, when set, \
                 must name that socket",
            ),
            _ => CommandError::internal(message),
        }
    }
}

pub fn run(ctx: &Context, args: FsmonitorArgs) -> CommandResult {
    let main_root = ctx.main_root()?;
    let local = ctx.local();
    match args.command {
        FsmonitorCommand::Enable(a) => {
            ctx.out
                .status("starting watchman if needed, watching every worktree");
            let status = monitor::enable(&ctx.repo, &main_root, &local)?;
            render(ctx, &status, a.json)
        }
        FsmonitorCommand::Disable(a) => {
            let status = monitor::disable(&ctx.repo, &main_root, &local)?;
            render(ctx, &status, a.json)
        }
        FsmonitorCommand::Status(a) => {
            let status = monitor::status(&ctx.repo, &main_root, &local);
            render(ctx, &status, a.json)
        }
        FsmonitorCommand::Verify(a) => {
            if let Some(name) = &a.name {
                ctx.session(Some(name))?;
            }
            let found = monitor::verify(&ctx.repo, &main_root, &local, a.name.as_deref())?;
            if a.json {
                ctx.out.json(&found)?;
            } else {
                let mut text = String::new();
                for v in &found {
                    let what = v.session.as_deref().unwrap_or("(main)");
                    let how = match &v.full_because {
                        None => "monitor".to_owned(),
                        Some(why) => format!("full scan: {why}"),
                    };
                    let verdict = if v.agrees() { "same" } else { "DIFFERENT" };
                    text.push_str(&crate::text::escape(&format!(
                        "{verdict:<9} {what:<20} {} removed, {} to look at, tree {} ({how})",
                        v.removed,
                        v.changed,
                        &v.tree[..12.min(v.tree.len())]
                    )));
                    text.push('\n');
                    for p in &v.only_monitor {
                        text.push_str(&format!("  only the monitor: {}\n", crate::text::escape(p)));
                    }
                    for p in &v.only_full {
                        text.push_str(&format!(
                            "  only the full scan: {}\n",
                            crate::text::escape(p)
                        ));
                    }
                    if v.tree != v.monitor_tree {
                        text.push_str(&format!("  the monitor's tree: {}\n", v.monitor_tree));
                    }
                }
                ctx.out.answer(&text)?;
            }
            let differ = found.iter().filter(|v| !v.agrees()).count();
            if differ > 0 {
                return Err(CommandError::internal(format!(
                    "the monitor's answer differs from a full scan in {differ} worktree(s)"
                ))
                .hint("`git session fsmonitor disable` scans in full until this is fixed; please report it"));
            }
            Ok(())
        }
    }
}

fn render(ctx: &Context, status: &MonitorStatus, json: bool) -> CommandResult {
    if json {
        return ctx.out.json(status);
    }
    let mut text = format!("session.fsmonitor: {}", status.setting);
    if let Some(value) = &status.unknown_setting {
        text.push_str(&format!(
            " ('{}' means nothing: off, watchman or auto)",
            crate::text::escape(value)
        ));
    }
    text.push('\n');
    match (&status.server, &status.problem) {
        (Some(version), _) => text.push_str(&format!("watchman: {version}, answering\n")),
        (None, Some(problem)) => text.push_str(&format!(
            "watchman: not answering ({})\n",
            crate::text::escape(problem)
        )),
        (None, None) => text.push_str("watchman: not answering\n"),
    }
    let now = crate::session::time::now_secs();
    for w in &status.worktrees {
        let what = w.session.as_deref().unwrap_or("(main)");
        let how = match (&w.watched, w.monitored, &w.clock) {
            (None, _, _) => "not watched".to_owned(),
            (Some(_), _, _) if status.server.is_none() => {
                "full scans (watchman does not answer)".to_owned()
            }
            (Some(_), _, _) if let Some(at) = w.busy_since => format!(
                "full scans (watchman did not answer {}: crawling?)",
                crate::session::time::ago_secs(now, at)
            ),
            (Some(_), _, _) if !w.answering => {
                "watch lost (watchman restarted?); the next scan watches it again".to_owned()
            }
            (Some(_), true, Some(clock)) => format!("monitor, clock {clock}"),
            (Some(_), false, Some(clock)) => format!("full scan, clock {clock}"),
            (Some(_), _, None) => "watched, not scanned yet".to_owned(),
        };
        let mut line = format!("{what:<20} {how}");
        if let (Some(why), Some(at)) = (&w.last_full, w.last_full_at) {
            line.push_str(&format!(
                "; last full scan {}: {why}",
                crate::session::time::ago_secs(now, at)
            ));
        }
        text.push_str(&crate::text::escape(&line));
        text.push('\n');
    }
    ctx.out.answer(&text)
}
