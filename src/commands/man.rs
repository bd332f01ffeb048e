//! `git session man`: the man page, generated from the clap definitions. `--install` puts it
//! where man (and so `git help session`) finds it for the installed binary.

use std::path::PathBuf;

use crate::error::{CommandError, CommandResult};
use crate::output::Output;

/// Print the git-session(1) man page, or install it next to the binary.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write git-session.1 into <PREFIX>/share/man/man1 (default PREFIX: the directory above
    /// the one holding this binary, e.g. ~/.cargo for ~/.cargo/bin/git-session).
    #[arg(long, value_name = "PREFIX", num_args = 0..=1)]
    pub install: Option<Option<PathBuf>>,
}

/// The man page as roff.
pub fn render(cli: super::CliDefinition) -> Vec<u8> {
    let mut command = cli().name("git-session").bin_name("git-session");
    command.build();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(command.clone())
        .title("GIT-SESSION")
        .section("1")
        .manual("Git Manual");
    man.render_title(&mut out).expect("writing to memory");
    man.render_name_section(&mut out)
        .expect("writing to memory");
    man.render_synopsis_section(&mut out)
        .expect("writing to memory");
    man.render_description_section(&mut out)
        .expect("writing to memory");
    man.render_options_section(&mut out)
        .expect("writing to memory");
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in command
        .get_subcommands()
        .filter(|s| s.get_name() != "help" && !s.is_hide_set())
    {
        let usage = sub
            .clone()
            .render_usage()
            .to_string()
            .replace("Usage: ", "")
            .replace("git-session-", "git-session ");
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let aliases: Vec<&str> = sub.get_visible_aliases().collect();
        let about = match aliases.as_slice() {
            [] => about,
            _ => format!("{about}\nAlias: {}.", aliases.join(", ")),
        };
        out.extend_from_slice(
            format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_escape(&usage),
                roff_escape(&about)
            )
            .as_bytes(),
        );
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
        {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("-{s}, --{l}"),
                (None, Some(l)) => format!("--{l}"),
                (Some(s), None) => format!("-{s}"),
                (None, None) => format!("<{}>", arg.get_id().as_str().to_uppercase()),
            };
            let flag = match arg.get_value_names() {
                Some(names) if arg.get_long().is_some() && arg.get_action().takes_values() => {
                    let value = format!("<{}>", names.join("> <"));
                    if arg.get_num_args().is_some_and(|n| n.min_values() == 0) {
                        format!("{flag} [{value}]")
                    } else {
                        format!("{flag} {value}")
                    }
                }
                _ => flag,
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.extend_from_slice(
                format!(
                    ".RS\n.TP\n{}\n{}\n.RE\n",
                    roff_escape(&flag),
                    roff_escape(&help)
                )
                .as_bytes(),
            );
        }
    }
    out.extend_from_slice(FILES_SECTION.as_bytes());
    man.render_version_section(&mut out)
        .expect("writing to memory");
    out
}

const FILES_SECTION: &str = r".SH FILES
.TP
refs/sessions/<name>
The session's log: one commit per event, with session.yaml and context.md; checkpoints are second parents.
.TP
refs/sessions\-trash/<id>\-<tip>
Logs of deleted sessions, purged by gc after the retention period.
.TP
$GIT_COMMON_DIR/session/
Machine\-local state (worktree locations, last activity); never pushed.
.TP
\&.worktreeinclude
Git\-ignored files to copy into new worktrees (gitignore syntax).
.TP
\&.git\-session.yaml
Shared settings (session.* keys) for a team; git config takes precedence.
";

fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            l.strip_prefix('.')
                .map_or(l.to_owned(), |r| format!("\\&.{r}"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn run(out: &Output, args: &ManArgs, cli: super::CliDefinition) -> CommandResult {
    let page = render(cli);
    let Some(prefix) = &args.install else {
        out.answer(&String::from_utf8_lossy(&page))?;
        return Ok(());
    };
    let prefix = if let Some(prefix) = prefix {
        prefix.clone()
    } else {
        let exe = std::env::current_exe()
            .map_err(|e| CommandError::user(format!("cannot locate this binary: {e}")))?;
        exe.parent()
            .and_then(|bin| bin.parent())
            .map(PathBuf::from)
            .ok_or_else(|| {
                CommandError::user("cannot derive a prefix from this binary's location")
            })?
    };
    let dir = prefix.join("share").join("man").join("man1");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("git-session.1");
    std::fs::write(&path, page)?;
    out.status(
        "`man git-session` and `git help session` find it when that prefix's bin/ is on PATH",
    );
    out.answer(&path.to_string_lossy())?;
    Ok(())
}
