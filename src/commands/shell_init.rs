//! `git session shell-init <shell>`: a `git` shell function to `eval` in the shell's rc file,
//! so `git session switch|resume|new|fork` can `cd` into the worktree they print (a child
//! process cannot change its parent shell's directory). The scripts live in `shell/`.

use crate::error::CommandResult;
use crate::output::Output;

/// Print shell integration: `git session switch` (and `new`, `fork`, `resume`) then cd into the worktree.
///
/// Add `eval "$(git session shell-init bash)"` to ~/.bashrc (zsh: the same with zsh, in
/// ~/.zshrc; fish: `git session shell-init fish | source` in config.fish). It defines a `git`
/// function that passes every command to git unchanged, except that after a successful
/// `git session new|switch|resume|fork` printing a worktree path it changes into that path.
#[derive(Debug, clap::Args)]
pub struct ShellInitArgs {
    pub shell: InitShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitShell {
    Bash,
    Zsh,
    Fish,
}

/// bash and zsh share one function; fish has its own syntax.
const POSIX_LIKE: &str = include_str!("../../shell/init.bash");
const FISH: &str = include_str!("../../shell/init.fish");

pub fn script(shell: InitShell) -> &'static str {
    match shell {
        InitShell::Bash | InitShell::Zsh => POSIX_LIKE,
        InitShell::Fish => FISH,
    }
}

pub fn run(out: &Output, args: &ShellInitArgs) -> CommandResult {
    out.answer(script(args.shell))?;
    Ok(())
}
