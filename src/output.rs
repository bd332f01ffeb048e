//! Where text goes: the answer (a path, a table, an id, one JSON document) to stdout;
//! narration, warnings and hints to stderr. Color only on a terminal, honoring `NO_COLOR`,
//! `--color` and git config's `color.ui`. A closed stdout (`git session list | head`) ends the process quietly.

use std::io::{IsTerminal, Write};

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
        }
    }

    /// Writes the answer to stdout.
    pub fn answer(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let result = if text.ends_with('\n') {
            out.write_all(text.as_bytes())
        } else {
            writeln!(out, "{text}")
        };
        if let Err(e) = result.and_then(|_| out.flush())
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }

    /// Writes one JSON document to stdout.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) {
        self.answer(&serde_json::to_string_pretty(value).expect("output serializes"));
    }

    /// Narration on stderr.
    pub fn status(&self, text: &str) {
        eprintln!("{text}");
    }

    pub fn warn(&self, text: &str) {
        eprintln!(
            "{}warning:{} {text}",
            self.err_color(YELLOW),
            self.err_color(RESET)
        );
    }

    pub fn hint(&self, text: &str) {
        eprintln!(
            "{}hint:{} {text}",
            self.err_color(CYAN),
            self.err_color(RESET)
        );
    }

    pub fn error(&self, text: &str) {
        eprintln!(
            "{}error:{} {text}",
            self.err_color(RED),
            self.err_color(RESET)
        );
    }

    /// Dims `text` on stdout when color is on (for table cells of lesser importance).
    pub fn dim(&self, text: &str) -> String {
        if self.color_out {
            format!("{DIM}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn err_color(&self, code: &'static str) -> &'static str {
        if self.color_err { code } else { "" }
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
