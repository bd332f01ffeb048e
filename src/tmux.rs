//! tmux, for `git session open`: one window per session, named after it and started in its
//! worktree, found again by a window option holding the session's id (names can be
//! changed by hand). Inside tmux the current tmux session gets the window; outside, a tmux
//! session per repository (`git-session-<repository>`). tmux runs as the user's own program
//! (its config and server apply), with a deadline. Never prints.

use std::path::Path;
use std::time::Duration;

/// The window option that marks a window as a session's.
const MARK: &str = "@git-session-id";
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    #[error("tmux {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("tmux {args} did not answer within 10 s")]
    TimedOut { args: String },
    #[error("cannot run tmux: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("the window's command ended at once: {command}")]
    Ended { command: String },
}

/// Whether a `tmux` program is on PATH.
pub fn available() -> bool {
    crate::fsutil::on_path("tmux")
}

/// Whether this process runs inside tmux.
pub fn inside() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

fn tmux(args: &[&str]) -> Result<String, TmuxError> {
    let handle = duct::cmd("tmux", args)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .start()?;
    let Some(out) = crate::git::runner::wait_deadline(&handle, TIMEOUT)? else {
        return Err(TmuxError::TimedOut {
            args: args.join(" "),
        });
    };
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(TmuxError::Failed {
        args: args.join(" "),
        stderr: crate::text::escape(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .trim(),
        ),
    })
}

/// A tmux session name for the repository whose main worktree is `main_root`: tmux takes
/// `.` and `:` as separators, so only letters, digits, `-` and `_` are kept.
pub fn session_name(main_root: &Path) -> String {
    let base = main_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("git-session-{clean}")
}

/// What `open` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Opened {
    /// The tmux session holding the window.
    pub tmux_session: String,
    /// The window's id (`@3`).
    pub window: String,
    /// Whether the window was made now (else an existing one was selected).
    pub created: bool,
}

/// The window of session `id` in tmux session `target` (None: the current one).
fn find_window(target: Option<&str>, id: &str) -> Result<Option<String>, TmuxError> {
    let format = format!("#{{window_id}} #{{{MARK}}}");
    let mut args = vec!["list-windows", "-F", &format];
    if let Some(target) = target {
        args.extend(["-t", target]);
    }
    let listed = tmux(&args)?;
    Ok(listed.lines().find_map(|line| {
        let (window, mark) = line.split_once(' ')?;
        (mark == id).then(|| window.to_owned())
    }))
}

/// Makes a window for the session (named `name`, in `worktree`, running `command` or a
/// shell) in tmux session `target` (None: the current one), or finds the one it has, and
/// selects it.
fn window(
    target: Option<&str>,
    id: &str,
    name: &str,
    worktree: &Path,
    command: Option<&str>,
) -> Result<(String, bool), TmuxError> {
    if let Some(window) = find_window(target, id)? {
        tmux(&["select-window", "-t", &window])?;
        return Ok((window, false));
    }
    let dir = worktree.to_string_lossy();
    let env = format!("GIT_SESSION_NAME={name}");
    let target_arg = target.map(|t| format!("{t}:"));
    let mut args = vec![
        "new-window",
        "-P",
        "-F",
        "#{window_id}",
        "-n",
        name,
        "-c",
        &dir,
    ];
    args.extend(["-e", &env]);
    if let Some(t) = &target_arg {
        args.extend(["-t", t]);
    }
    if let Some(command) = command {
        args.push(command);
    }
    // Marked in the same request: the command may end before another one arrives.
    args.extend([";", "set-option", "-w", MARK, id]);
    let window = tmux(&args)?.trim().to_owned();
    still_there(target, id, command)?;
    Ok((window, true))
}

/// Refuses a window whose command already ended (tmux closed it): looked for three times
/// within 40 ms, since on a busy machine a command that fails at once may not have ended by
/// the first look.
fn still_there(target: Option<&str>, id: &str, command: Option<&str>) -> Result<(), TmuxError> {
    for look in 0..3 {
        if look > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        if find_window(target, id)?.is_none() {
            return Err(TmuxError::Ended {
                command: crate::text::escape(command.unwrap_or("a shell")),
            });
        }
    }
    Ok(())
}

/// Opens the session's window: inside tmux in the current tmux session, outside it in the
/// repository's tmux session (made when missing). Attaching (outside tmux) is the caller's.
pub fn open(
    main_root: &Path,
    id: &str,
    name: &str,
    worktree: &Path,
    command: Option<&str>,
) -> Result<Opened, TmuxError> {
    if inside() {
        let (window, created) = window(None, id, name, worktree, command)?;
        let tmux_session = tmux(&["display-message", "-p", "#{session_name}"])?
            .trim()
            .to_owned();
        return Ok(Opened {
            tmux_session,
            window,
            created,
        });
    }
    let session = session_name(main_root);
    let exists = tmux(&["has-session", "-t", &format!("={session}")]).is_ok();
    if !exists {
        let dir = worktree.to_string_lossy();
        let env = format!("GIT_SESSION_NAME={name}");
        let mut args = vec![
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{window_id}",
            "-s",
            &session,
            "-n",
            name,
            "-c",
            &dir,
            "-e",
            &env,
        ];
        if let Some(command) = command {
            args.push(command);
        }
        args.extend([";", "set-option", "-w", MARK, id]);
        let window = tmux(&args)?.trim().to_owned();
        let target = format!("={session}");
        if tmux(&["has-session", "-t", &target]).is_err() {
            return Err(TmuxError::Ended {
                command: crate::text::escape(command.unwrap_or("a shell")),
            });
        }
        still_there(Some(&target), id, command)?;
        return Ok(Opened {
            tmux_session: session,
            window,
            created: true,
        });
    }
    let (window, created) = window(Some(&format!("={session}")), id, name, worktree, command)?;
    Ok(Opened {
        tmux_session: session,
        window,
        created,
    })
}

/// Attaches this terminal to tmux session `session` (outside tmux), until the user
/// detaches.
pub fn attach(session: &str) -> Result<(), TmuxError> {
    let status = std::process::Command::new("tmux")
        .args(["attach-session", "-t", &format!("={session}")])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(TmuxError::Failed {
            args: format!("attach-session -t {session}"),
            stderr: format!("exit {}", status.code().unwrap_or(-1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_keep_only_safe_characters() {
        assert_eq!(
            session_name(Path::new("/home/u/my.repo: ü")),
            "git-session-my_repo___"
        );
        assert_eq!(session_name(Path::new("/x/app")), "git-session-app");
    }
}
