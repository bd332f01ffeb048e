//! `git session ui`: the live screen (`crate::tui`). This file hands it the snapshot
//! loader and the way to run git-session's own commands for its actions.

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::session::LocalStore;

/// One live screen of every session and its agent.
///
/// Sessions whose agent needs input first, then those whose turn ended; changed files,
/// commits ahead of and behind the base, activity, the last checkpoint's age, port and
/// overlaps, refreshed in the background (cheap with the file-system monitor). Below, the
/// selected session's goal, context, latest handoff, recent events and the diff stat of its
/// uncommitted work. Keys: j/k move, / filter, enter opens the session's tmux window, d
/// its diff in a pager, c checkpoint, n new, f fork, e end and x remove (each asks first),
/// u undo, r refresh, ? help, q quit. Actions are git-session's own commands (recorded,
/// undoable); their outcome shows in the status line.
#[derive(Debug, clap::Args)]
pub struct UiArgs {}

impl From<crate::tui::UiError> for CommandError {
    fn from(err: crate::tui::UiError) -> Self {
        let message = crate::error::one_line(&err);
        match err {
            crate::tui::UiError::NotATerminal | crate::tui::UiError::Stopped(_) => {
                CommandError::user(message)
            }
            crate::tui::UiError::Io(_) => CommandError::internal(message),
        }
    }
}

pub fn run(ctx: &Context, _args: UiArgs) -> CommandResult {
    // It reads every worktree while agents run git in them.
    crate::git::index_refresh::leave_optional_locks();
    let main_root = ctx.main_root()?;
    let common = ctx.repo.common_dir();
    let config = ctx.config()?;
    let worktree_dir = config.worktree_dir(&main_root).ok();
    let stale_after = config.agent_stale_after()?;
    // Work untouched this long is marked (the interval after which the hooks checkpoint it).
    let untouched_after = config.checkpoint_interval_secs()?.unwrap_or(30 * 60);
    let color = ctx.out.stdout_colored();
    let root = main_root.clone();
    let watch_root = main_root.clone();
    let (watch_common, watch_dir) = (common.clone(), worktree_dir.clone());
    // Built on the loader's thread (gix repositories stay on the thread that opened them).
    let mut watch: Option<crate::session_view::ChangeWatch> = None;
    let changed = move || {
        let watch = watch.get_or_insert_with(|| {
            let repo = crate::git::Repo::discover(&watch_root);
            let local = LocalStore::new(&watch_common).with_worktree_dir(watch_dir.clone());
            match repo {
                Ok(repo) => crate::session_view::ChangeWatch::new(&repo, &local),
                Err(_) => crate::session_view::ChangeWatch::without_repo(&watch_common),
            }
        });
        watch.should_rebuild()
    };
    let detail_root = main_root.clone();
    let load = move |scan: bool| {
        let repo = crate::git::Repo::discover(&root).map_err(|e| crate::text::one_line(&e))?;
        let local = LocalStore::new(&common).with_worktree_dir(worktree_dir.clone());
        crate::session_view::snapshot(&repo, &local, scan, stale_after)
            .map_err(|e| crate::text::one_line(&e))
    };
    let detail = move |(name, worktree, width): &(String, Option<std::path::PathBuf>, u16)| {
        let repo =
            crate::git::Repo::discover(&detail_root).map_err(|e| crate::text::one_line(&e))?;
        crate::session_view::detail(&repo, name, worktree.as_deref(), *width)
            .map_err(|e| crate::text::one_line(&e))
    };
    let exe = crate::tui::own_binary();
    // The pager git would use: GIT_PAGER, core.pager, PAGER, less.
    let pager = std::env::var("GIT_PAGER")
        .ok()
        .or_else(|| ctx.repo.config_string("core.pager"))
        .or_else(|| std::env::var("PAGER").ok())
        .unwrap_or_else(|| "less".to_owned());
    let run = |args: &[String]| -> (bool, String) {
        let out = std::process::Command::new(&exe)
            .args(args)
            .current_dir(&main_root)
            .stdin(std::process::Stdio::null())
            .env("NO_COLOR", "1")
            .output();
        match out {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stdout = String::from_utf8_lossy(&out.stdout);
                // A warning (a worktree kept, and why) says more than the closing line.
                let said = stderr
                    .lines()
                    .find(|l| l.starts_with("warning:") || l.starts_with("error:"))
                    .or_else(|| {
                        stderr
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty() && !l.starts_with("hint:"))
                    })
                    .or_else(|| stdout.lines().rev().find(|l| !l.trim().is_empty()))
                    .unwrap_or("done")
                    .to_owned();
                (
                    out.status.success(),
                    format!("git session {}: {said}", args.join(" ")),
                )
            }
            Err(e) => (false, format!("cannot run git-session: {e}")),
        }
    };
    let interactive = |args: &[String]| -> (bool, String) {
        // `git session diff --uncommitted` through the pager git would use; `open` (tmux)
        // takes the terminal itself.
        let status = if args.first().map(String::as_str) == Some("diff") {
            const DIFF: &str = r#"diff=$("$0" diff --uncommitted --color "$1" "$2") || exit 1
printf '%s\n' "$diff" | LESS="${LESS-R}" LV="${LV--c}" sh -c "$3""#;
            std::process::Command::new("sh")
                .args(["-c", DIFF])
                .arg(&exe)
                .arg(if color { "always" } else { "never" })
                .arg(args.get(1).map(String::as_str).unwrap_or(""))
                .arg(&pager)
                .current_dir(&main_root)
                .status()
        } else {
            std::process::Command::new(&exe)
                .args(args)
                .current_dir(&main_root)
                .status()
        };
        match status {
            Ok(s) => (
                s.success(),
                format!(
                    "git session {}: {}",
                    args.join(" "),
                    if s.success() { "done" } else { "failed" }
                ),
            ),
            Err(e) => (false, format!("cannot run git-session: {e}")),
        }
    };
    crate::tui::run_screen(
        color,
        untouched_after,
        load,
        detail,
        changed,
        run,
        interactive,
    )?;
    Ok(())
}
