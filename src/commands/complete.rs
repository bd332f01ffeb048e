//! `git session __complete <words>…` (hidden): the completion scripts call it for a word
//! that is not an option, with the words typed before it. When that word is a session-name
//! argument it prints the session names, one a line; otherwise nothing. The position logic
//! lives here, read from the clap definitions, so bash, zsh and fish agree with the parser.

use crate::command_context::Context;
use crate::error::CommandResult;
use crate::output::Output;

/// Print the session names to complete after <WORDS> (for completion scripts).
#[derive(Debug, clap::Args)]
pub struct CompleteArgs {
    /// The words after `git session`, up to the one being completed.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// Each subcommand with a positional argument that names an existing session, and that
/// argument's id. (`new` and the second name of `fork` and `rename` name new sessions.)
pub const SESSION_ARGS: &[(&str, &str)] = &[
    ("show", "name"),
    ("path", "name"),
    ("resume", "name"),
    ("rename", "old"),
    ("end", "name"),
    ("rm", "name"),
    ("checkpoint", "name"),
    ("log", "name"),
    ("diff", "args"),
    ("rewind", "name"),
    ("fork", "source"),
    ("env", "name"),
    ("setup", "name"),
    ("push", "args"),
    ("context", "name"),
    ("handoff", "name"),
];

/// Whether the word after `words` is a session name for the command line `cli` parses.
pub fn wants_session(cli: &clap::Command, words: &[String]) -> bool {
    let mut words = words.iter().map(String::as_str);
    let sub = loop {
        match words.next() {
            None => return false,
            Some(w) if w.starts_with('-') && w != "-" => {
                if takes_value(cli, w) {
                    words.next();
                }
            }
            Some(w) => break w,
        }
    };
    let Some(cmd) = cli.find_subcommand(sub) else {
        return false;
    };
    let Some((_, id)) = SESSION_ARGS
        .iter()
        .find(|(name, _)| *name == cmd.get_name())
    else {
        return false;
    };
    let mut slot = 0;
    let mut options_done = false;
    while let Some(w) = words.next() {
        if options_done || !w.starts_with('-') || w == "-" {
            slot += 1;
        } else if w == "--" {
            options_done = true;
        } else if takes_value(cmd, w) && words.next().is_none() {
            return false; // the word being completed is this option's value
        }
    }
    cmd.get_positionals()
        .nth(slot)
        .is_some_and(|arg| arg.get_id() == *id)
}

/// Whether the option word `w` (`--long`, `-s`, or bundled shorts like `-fm`) leaves its
/// value to the next word.
fn takes_value(cmd: &clap::Command, w: &str) -> bool {
    let options = || cmd.get_arguments().filter(|a| !a.is_positional());
    if let Some(long) = w.strip_prefix("--") {
        return !long.contains('=')
            && options().any(|a| {
                a.get_long_and_visible_aliases()
                    .is_some_and(|l| l.contains(&long))
                    && a.get_action().takes_values()
            });
    }
    let shorts: Vec<char> = w[1..].chars().collect();
    for (i, c) in shorts.iter().enumerate() {
        let takes = options().any(|a| a.get_short() == Some(*c) && a.get_action().takes_values());
        if takes {
            // The rest of the word, if any, is its value.
            return i + 1 == shorts.len();
        }
    }
    false
}

pub fn run(out: Output, args: &CompleteArgs, cli: super::CliDefinition) -> CommandResult {
    let mut cli = cli();
    cli.build();
    if !wants_session(&cli, &args.words) {
        return Ok(());
    }
    // Completion stays silent: outside a repository, or with an unreadable store, no names.
    let Ok(ctx) = Context::open(out) else {
        return Ok(());
    };
    if let Ok(names) = ctx.store().names() {
        let mut text = names.join("\n");
        if !text.is_empty() {
            text.push('\n');
            ctx.out.answer(&text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn wants(line: &str) -> bool {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        wants_session(&cli, &words)
    }

    #[test]
    fn session_arguments_name_real_positionals() {
        let cli = crate::cli::Cli::command();
        for (sub, id) in SESSION_ARGS {
            let cmd = cli
                .find_subcommand(sub)
                .unwrap_or_else(|| panic!("no {sub}"));
            assert!(
                cmd.get_positionals().any(|a| a.get_id() == *id),
                "{sub} has no positional {id}"
            );
        }
    }

    #[test]
    fn names_are_offered_where_a_session_is_named() {
        assert!(wants("show"));
        assert!(wants("switch"));
        assert!(wants("--color never rm"));
        assert!(wants("--color=never delete -f"));
        assert!(wants("log -n 5"));
        assert!(wants("checkpoint -m msg"));
        assert!(wants("end --json"));
        assert!(wants("rewind @"));
        assert!(wants("fork"));
        assert!(wants("diff"));
        assert!(wants("rename"));
    }

    #[test]
    fn names_are_not_offered_elsewhere() {
        assert!(!wants(""));
        assert!(!wants("new"));
        assert!(!wants("list"));
        assert!(!wants("show x"));
        assert!(!wants("log -n"));
        assert!(!wants("checkpoint -m"));
        assert!(!wants("show -- x"));
        assert!(!wants("rewind"));
        assert!(!wants("fork src"));
        assert!(!wants("rename old"));
        assert!(!wants("diff x"));
        assert!(!wants("nosuchcommand"));
    }
}
