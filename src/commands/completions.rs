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

const BASH_GIT_BRIDGE: &str = r#"
# `git session <TAB>`: git's completion calls _git_session with the words after `git`.
_git_session() {
    local -a COMP_WORDS=("git-session" "${words[@]:2}")
    local COMP_CWORD=$((cword - 1))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _git-session "git-session" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

pub fn run(out: &Output, args: &CompletionsArgs) -> CommandResult {
    let mut command = crate::cli::Cli::command().bin_name("git-session");
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "git-session", &mut script);
    let mut text = String::from_utf8_lossy(&script).into_owned();
    if args.shell == Shell::Bash {
        text.push_str(BASH_GIT_BRIDGE);
    }
    out.answer(&text);
    Ok(())
}
