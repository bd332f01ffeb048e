//! Entry point: parse the command line, run the command, and turn its outcome into an exit
//! code in this one place (0 success, 1 refused or failed, 2 usage). A closed stdout is
//! success, as in ripgrep: the reader has what it wanted.

use git_session::error::ErrorKind;

fn main() {
    let cli = git_session::cli::Cli::from_env();
    let color = cli.color;
    let code = match git_session::commands::run(cli.command, color, || {
        <git_session::cli::Cli as clap::CommandFactory>::command()
    }) {
        Ok(()) => 0,
        Err(err) if err.kind == ErrorKind::BrokenPipe => 0,
        Err(err) => {
            let color_ui = git_session::git::Repo::color_ui_here();
            let out = git_session::output::Output::new(color).with_git_color(color_ui.as_deref());
            out.error(&err.message);
            for hint in &err.hints {
                out.hint(hint);
            }
            err.exit_code()
        }
    };
    std::process::exit(code);
}
