//! `git session completions <shell>`: shell completion scripts. clap_complete writes the
//! subcommands and options; each script gains a few lines that offer session names where a
//! command takes one, by asking `git-session __complete` (see `complete.rs`). The bash script
//! also defines `_git_session`, the function git's own bash completion calls for
//! `git session <TAB>`; zsh's and fish's git completions find `_git-session` and the
//! `git-session` completions by themselves.

use clap::ValueHint;
use clap_complete::Shell;

use crate::error::CommandResult;
use crate::output::Output;

use super::complete::SESSION_ARGS;

/// Print a completion script for bash, zsh, fish, elvish or powershell.
///
/// Session names complete in bash, zsh and fish.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    pub shell: Shell,
}

/// The program name the bash script is generated for (its functions are `_gitsession…`).
const BASH_NAME: &str = "gitsession";

/// The command line as completion sees it: hidden subcommands left out (clap_complete would
/// offer them), and session-name arguments marked with [`ValueHint::Other`], which zsh's
/// script renders as an empty action for [`zsh`] to fill in.
fn completion_command(cli: super::CliDefinition) -> clap::Command {
    let cli = cli();
    let mut command = clap::Command::new("git-session")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cli.get_arguments().cloned())
        .subcommands(cli.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cli.get_about() {
        command = command.about(about.clone());
    }
    for (sub, id) in SESSION_ARGS {
        command = command.mut_subcommand(sub, |s| {
            // mut_args, not mut_arg: that one moves the argument last, reordering positionals.
            s.mut_args(|a| match a.get_id() == *id {
                true => a.value_hint(ValueHint::Other),
                false => a,
            })
        });
    }
    command
}

fn generate(cli: super::CliDefinition, shell: Shell, name: &str) -> String {
    let mut command = completion_command(cli).bin_name(name);
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

const BASH_NAMES: &str = r#"
# Session names where a command takes one: git-session decides from the words before.
_git_session_complete() {
    _gitsession "$@"
    local cur=${COMP_WORDS[COMP_CWORD]} names name
    [[ $cur == -* ]] && return 0
    names=$(command git-session __complete -- "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)
    # Matched by hand, never through `compgen -W`, which expands its word list: a session
    # name is data (it may come from a remote) and must never run as code. Each name is
    # quoted for the command line.
    if [[ -n $names ]]; then
        COMPREPLY=()
        while IFS= read -r name; do
            [[ -n $name && $name == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
        done <<< "$names"
    fi
    return 0
}

# `git session <TAB>`: git's completion calls _git_session with the words after `git`.
_git_session() {
    local -a COMP_WORDS=("git-session" "${words[@]:2}")
    local COMP_CWORD=$((cword - 1))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _git_session_complete "git-session" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

const ZSH_NAMES: &str = r#"
# Session names where a command takes one: git-session decides from the words before.
(( $+functions[_git_session_names] )) ||
_git_session_names() {
    # _arguments puts compadd options first; ours are the last two: subcommand, first word.
    local -a names
    names=(${(f)"$(command git-session __complete -- "${@[-2]}" "${(@)words[${@[-1]},CURRENT-1]}" 2>/dev/null)"})
    compadd "${(@)@[1,-3]}" -a names
}
"#;

/// clap_complete's bash script mixes up the names of a hyphenated program's subcommand cases
/// (clap-rs/clap#6421), so options after a subcommand never complete: generate for a name
/// without a hyphen and register our wrapper for git-session.
fn bash(cli: super::CliDefinition) -> String {
    let script = generate(cli, Shell::Bash, BASH_NAME);
    let register = format!("-F _{BASH_NAME} ");
    let tail = format!(" {BASH_NAME}\n");
    script
        .replace(&register, "-F _git_session_complete ")
        .replace(&tail, " git-session\n")
        + BASH_NAMES
}

/// The session-name positionals end in an empty action (`…:' \`); they get
/// `_git_session_names <subcommand> <first>`: the words from `first` on are the ones before
/// the cursor after the subcommand (a `*::` spec narrows `words` to the positionals).
fn zsh(cli: super::CliDefinition) -> String {
    let script = generate(cli, Shell::Zsh, "git-session");
    let mut out = String::with_capacity(script.len() + ZSH_NAMES.len());
    let mut arm = "";
    for line in script.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix('(').and_then(|l| l.strip_suffix(')')) {
            arm = name;
        }
        let first = match trimmed.get(..2) {
            Some("':") => 2,
            Some("'*") => 1,
            _ => 0,
        };
        if first > 0 && trimmed.ends_with(":' \\") {
            out.push_str(&line[..line.len() - 3]);
            out.push_str(&format!("_git_session_names {arm} {first}' \\"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    let (body, register) = out
        .rsplit_once("\nif [ \"$funcstack[1]\"")
        .expect("clap_complete's zsh script ends by registering the function");
    format!("{body}\n{ZSH_NAMES}\nif [ \"$funcstack[1]\"{register}")
}

/// fish: the subcommands that take a session (and their aliases) complete names, and no
/// files, wherever `__complete` says a name goes.
fn fish(definition: super::CliDefinition) -> String {
    let cli = completion_command(definition);
    let subcommands: Vec<&str> = SESSION_ARGS
        .iter()
        .filter_map(|(sub, _)| cli.find_subcommand(sub))
        .flat_map(|s| s.get_name_and_visible_aliases())
        .collect();
    format!(
        "{}\n# Session names where a command takes one: git-session decides from the words before.\n\
         complete -c git-session -n '__fish_git_session_using_subcommand {}' -f \
         -a '(command git-session __complete -- (commandline -opc)[2..] 2>/dev/null)'\n",
        generate(definition, Shell::Fish, "git-session"),
        subcommands.join(" ")
    )
}

pub fn run(out: &Output, args: &CompletionsArgs, cli: super::CliDefinition) -> CommandResult {
    let text = match args.shell {
        Shell::Bash => bash(cli),
        Shell::Zsh => zsh(cli),
        Shell::Fish => fish(cli),
        shell => generate(cli, shell, "git-session"),
    };
    out.answer(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    const CLI: super::super::CliDefinition =
        || <crate::cli::Cli as clap::CommandFactory>::command();

    #[test]
    fn zsh_completes_each_session_argument_with_names() {
        let script = super::zsh(CLI);
        let cli = super::completion_command(CLI);
        let expected: usize = super::SESSION_ARGS
            .iter()
            .map(|(sub, _)| {
                cli.find_subcommand(sub)
                    .unwrap()
                    .get_visible_aliases()
                    .count()
                    + 1
            })
            .sum();
        assert_eq!(
            script.matches("_git_session_names ").count(),
            expected,
            "{script}"
        );
        assert!(script.contains(":_git_session_names diff 1' \\"));
        assert!(script.contains(":_git_session_names switch 2' \\"));
        assert!(
            !script.contains("(__complete)"),
            "hidden commands stay hidden"
        );
    }

    #[test]
    fn bash_offers_no_hidden_command() {
        assert!(!super::bash(CLI).contains("__complete)"));
    }
}
