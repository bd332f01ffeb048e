//! Where text goes: the answer (a path, a table, an id, one JSON document) to stdout;
//! narration, warnings and hints to stderr. Color only on a terminal, honoring `NO_COLOR`,
//! `--color` and git config's `color.ui`.
//!
//! Output never aborts work: writing the answer returns an error the command passes up (a
//! closed stdout becomes [`crate::error::ErrorKind::BrokenPipe`], which `main` treats as
//! success), and a failed write to stderr is ignored, as a closed stdout is. A quiet `Output`
//! (for git hooks) drops narration but keeps warnings.

use std::io::{IsTerminal, Write};

use crate::error::CommandResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

pub struct Output {
    choice: ColorChoice,
    color_err: bool,
    color_out: bool,
    quiet: bool,
}

const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// What git config's `color.ui` means for `--color=auto`: `never` (or false) turns color
/// off and `always` on; anything else, or no value, leaves it to the terminal and `NO_COLOR`.
pub fn color_from_git_config(color_ui: Option<&str>) -> Option<bool> {
    match color_ui?.trim().to_ascii_lowercase().as_str() {
        "never" | "false" | "no" | "off" | "0" => Some(false),
        "always" => Some(true),
        _ => None,
    }
}

impl Output {
    pub fn new(choice: ColorChoice) -> Output {
        Self::decide(choice, None)
    }

    /// Applies git config's `color.ui` (see [`color_from_git_config`]); a `--color` other
    /// than `auto` still wins.
    pub fn with_git_color(self, color_ui: Option<&str>) -> Output {
        Self::decide(self.choice, color_from_git_config(color_ui))
    }

    fn decide(choice: ColorChoice, git_config: Option<bool>) -> Output {
        let decide = |is_tty: bool| match (choice, git_config) {
            (ColorChoice::Always, _) => true,
            (ColorChoice::Never, _) => false,
            (ColorChoice::Auto, Some(configured)) => configured,
            (ColorChoice::Auto, None) => {
                is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Output {
            choice,
            color_err: decide(std::io::stderr().is_terminal()),
            color_out: decide(std::io::stdout().is_terminal()),
            quiet: false,
        }
    }

    /// No narration (status lines and hints); warnings and errors still go to stderr.
    #[must_use]
    pub fn quiet(mut self) -> Output {
        self.quiet = true;
        self
    }

    /// Whether stdout is a terminal (text that came from elsewhere is escaped there).
    /// Whether the answer on stdout is colored (`--color`, `color.ui`, `NO_COLOR`, a terminal).
    pub fn stdout_colored(&self) -> bool {
        self.color_out
    }

    pub fn stdout_is_terminal(&self) -> bool {
        std::io::stdout().is_terminal()
    }

    /// Whether narration is off (git hooks).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stderr is a terminal that live progress may be drawn on.
    pub fn progress_allowed(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Writes the answer to stdout.
    pub fn answer(&self, text: &str) -> CommandResult {
        let mut out = std::io::stdout().lock();
        // Nothing to say (an empty list): no empty line either.
        if text.is_empty() {
            return Ok(());
        }
        if text.ends_with('\n') {
            out.write_all(text.as_bytes())?;
        } else {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
        Ok(())
    }

    /// Writes one JSON document to stdout.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> CommandResult {
        let text = serde_json::to_string_pretty(value).map_err(|e| {
            crate::error::CommandError::internal(format!("cannot render JSON: {e}"))
        })?;
        self.answer(&text)
    }

    /// Narration on stderr.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            self.stderr_line("", "", text);
        }
    }

    pub fn warn(&self, text: &str) {
        self.stderr_line(YELLOW, "warning:", text);
    }

    pub fn hint(&self, text: &str) {
        if !self.quiet {
            self.stderr_line(CYAN, "hint:", text);
        }
    }

    pub fn error(&self, text: &str) {
        self.stderr_line(RED, "error:", text);
    }

    /// Dims `text` on stdout when color is on (for table cells of lesser importance).
    pub fn dim(&self, text: &str) -> String {
        if self.color_out {
            format!("{DIM}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// One line on stderr; a closed or failing stderr is ignored (never a panic).
    fn stderr_line(&self, color: &str, label: &str, text: &str) {
        // Narration quotes session data (names, goals, messages) that may come from a remote.
        let text = crate::text::escape_multiline(text);
        let line = if label.is_empty() {
            format!("{text}\n")
        } else if self.color_err {
            format!("{color}{label}{RESET} {text}\n")
        } else {
            format!("{label} {text}\n")
        };
        // One write: stderr is unbuffered, and a hook's watchdog may end the process between
        // two writes (it waits for this lock first).
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_ui_values() {
        assert_eq!(color_from_git_config(Some("never")), Some(false));
        assert_eq!(color_from_git_config(Some("False")), Some(false));
        assert_eq!(color_from_git_config(Some("always")), Some(true));
        assert_eq!(color_from_git_config(Some("auto")), None);
        assert_eq!(color_from_git_config(Some("true")), None);
        assert_eq!(color_from_git_config(None), None);
        let out = Output::new(ColorChoice::Always).with_git_color(Some("never"));
        assert!(out.color_err, "--color=always wins over color.ui");
        let out = Output::new(ColorChoice::Auto).with_git_color(Some("never"));
        assert!(!out.color_err && !out.color_out);
    }
}
