//! `git session completions <shell>`: shell completion scripts. The bash script also defines
//! `_git_session`, the function git's own bash completion calls for `git session <TAB>`.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::error::CommandResult;
use crate::output::Output;

/// Print a completion script for bash, zsh, fish, elvish or powershell.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    pub shell: Shell,
}

/// The program name the bash script is generated for (its functions are `_gitsession…`).
const BASH_NAME: &str = "gitsession";

fn generate(shell: Shell, name: &str) -> String {
    let mut command = crate::cli::Cli::command().bin_name(name);
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

const BASH_GIT_BRIDGE: &str = r#"
# `git session <TAB>`: git's completion calls _git_session with the words after `git`.
_git_session() {
    local -a COMP_WORDS=("git-session" "${words[@]:2}")
    local COMP_CWORD=$((cword - 1))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _gitsession "git-session" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

pub fn run(out: &Output, args: &CompletionsArgs) -> CommandResult {
    let text = if args.shell == Shell::Bash {
        // clap_complete's bash script mixes up the names of a hyphenated program's
        // subcommand cases (clap-rs/clap#6421), so options after a subcommand never complete:
        // generate for a name without a hyphen and register the functions for git-session.
        let script = generate(args.shell, BASH_NAME);
        let register = format!(" {BASH_NAME}\n");
        script.replace(&register, " git-session\n") + BASH_GIT_BRIDGE
    } else {
        generate(args.shell, "git-session")
    };
    out.answer(&text)?;
    Ok(())
}
