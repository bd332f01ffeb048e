//! Text helpers every layer uses: an error chain as one line, escaping of text that came
//! from session data before it reaches a terminal, and quoting for the shell.
//!
//! Sessions travel by push and fetch, so a name, a goal, `context.md` or an event message may
//! have been written by someone else. Printed raw, control sequences in them could clear the
//! screen, retitle the terminal or plant hyperlinks; printed through [`escape`], they show as
//! harmless `\x1b`-style text. JSON output needs none of this (serde escapes controls).

/// Renders an error and its sources as one line: `outer: inner: innermost`, skipping
/// sources whose text the outer message already contains. Control characters are escaped.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    escape(&line.replace(['\n', '\r'], " "))
}

/// `text` with every control character (C0, DEL, C1) shown as an escape (`\x1b`, `\n`), so
/// it prints on one line and cannot drive the terminal.
pub fn escape(text: &str) -> String {
    escape_with(text, false)
}

/// Like [`escape`], but keeps line breaks and tabs (for multi-line text such as `context.md`).
pub fn escape_multiline(text: &str) -> String {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_lines: bool) -> String {
    if !text.chars().any(is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_control(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `word` as a shell would take it back in a command a hint suggests: as it is when it holds
/// only characters no shell treats specially, else single-quoted (a session name may hold
/// `$`, `(`, `;` or a backtick). Control characters are escaped first, as in [`escape`].
pub fn shell_word(word: &str) -> String {
    shell_quote_unless(&escape(word), |c| {
        c.is_alphanumeric()
            || matches!(c, '-' | '_' | '.' | '/' | '@' | '+' | ',' | ':' | '=' | '%')
    })
}

/// `word` as it is when it is not empty and every character is `plain`, else
/// [`shell_quote`]d.
pub fn shell_quote_unless(word: &str, plain: impl Fn(char) -> bool) -> String {
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        shell_quote(word)
    }
}

/// `value` as one POSIX shell word: single-quoted, with `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that print as nothing or reorder what follows: zero-width spaces and joiners,
/// direction marks, embeddings, overrides and isolates, line and paragraph separators, the
/// soft hyphen, the byte-order mark. Refused in new session names (`zw\u{200b}x` reads as
/// `zwx`); in text they stay as written (joiners are part of Persian and Indic text and of
/// emoji), but those that reorder it are escaped.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("plain ü"), "plain ü");
        assert_eq!(escape("a\x1b]0;title\x07b"), "a\\x1b]0;title\\x07b");
        assert_eq!(escape("x\u{9b}2J"), "x\\x9b2J");
        assert_eq!(escape("two\nlines"), "two\\nlines");
        assert_eq!(escape_multiline("two\nlines\x1b[2J"), "two\nlines\\x1b[2J");
        assert_eq!(escape("rtl\u{202e}txt"), "rtl\\x202etxt");
        assert_eq!(shell_word("feature/x-1"), "feature/x-1");
        assert_eq!(shell_word("a$(rm)"), "'a$(rm)'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
