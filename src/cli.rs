//! The command line: the global options, around the subcommand enum that lives with the
//! subcommands in `commands/` (as jj keeps it). `main` parses this and hands the parts to
//! `commands::run`.

use clap::Parser;

use crate::commands::Command;
use crate::output::ColorChoice;

/// Named, resumable, forkable sessions for parallel work, stored in git itself.
///
/// Each session has a branch, usually a linked worktree of its own, an event log and
/// checkpoints under refs/sessions/<name>, so it can be pushed and resumed elsewhere.
/// With no command: the current session inside a session's worktree (as `status`), else the
/// list of open sessions (as `list`).
#[derive(Debug, Parser)]
#[command(
    name = "git-session",
    bin_name = "git session",
    version,
    max_term_width = 100
)]
#[command(after_help = "Run `git session <command> --help` for details on one command.")]
pub struct Cli {
    /// When to color output: auto (only on a terminal, honoring NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// This process's command line. The shims in git's hook files (`git-session hook <event>
    /// <git's arguments>`) are read without building clap's tree of every command: a git
    /// commit waits for its hooks, and building that tree costs a third of a millisecond.
    pub fn from_env() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        hook_shortcut(&args).unwrap_or_else(|| Cli::parse_from(args))
    }
}

/// What clap makes of `git-session hook <event> <args>…` when no word is a flag (as the shims
/// call it), or None: clap reads the rest. A word that is not UTF-8 (git passes a remote's
/// path to pre-push as it is) is read with replacement characters: clap would refuse the
/// command line, and a hook must not fail, nor print its usage in the middle of a push.
fn hook_shortcut(args: &[std::ffi::OsString]) -> Option<Cli> {
    let [_, hook, words @ ..] = args else {
        return None;
    };
    let words: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    if words.iter().any(|w| w.starts_with('-')) {
        return None;
    }
    let (event, rest) = words.split_first()?;
    (hook == "hook").then(|| Cli {
        color: ColorChoice::Auto,
        command: Some(Command::Hook(crate::commands::hook_event::HookArgs {
            event: event.clone(),
            args: rest.to_vec(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_shortcut_reads_the_shims_as_clap_does_and_takes_any_bytes() {
        for argv in [
            &["git-session", "hook", "post-commit"][..],
            &["git-session", "hook", "post-checkout", "abc", "def", "1"],
            &["git-session", "hook", "pre-push", "origin", "https://x/y z"],
            &["git-session", "hook", "post-rewrite", "amend"],
            &["git-session", "hook", "refresh"],
        ] {
            let args: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            let fast = hook_shortcut(&args).expect("a shim's command line");
            let clap = Cli::parse_from(&args);
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{argv:?}");
        }
        for argv in [
            &["git-session", "hook"][..],
            &["git-session", "hook", "--help"],
            &["git-session", "hook", "post-commit", "--color=never"],
            &["git-session", "--color=never", "hook", "post-commit"],
            &["git-session", "hooks", "install"],
            &["git-session", "list"],
        ] {
            let args: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            assert!(hook_shortcut(&args).is_none(), "{argv:?}");
        }
        // Not UTF-8: read with a replacement character (clap refuses it).
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = vec![
            "git-session".into(),
            "hook".into(),
            "pre-push".into(),
            std::ffi::OsString::from_vec(b"/srv/remote-\xff.git".to_vec()),
        ];
        let Some(Cli {
            command: Some(Command::Hook(hook)),
            ..
        }) = hook_shortcut(&not_utf8)
        else {
            panic!("a shim's command line");
        };
        assert_eq!(
            (hook.event.as_str(), hook.args),
            ("pre-push", vec!["/srv/remote-\u{fffd}.git".to_owned()])
        );
    }
}
