//! `git -c key=value session …` and `git --config-env=key=VAR session …` reach git-session only
//! through `GIT_CONFIG_PARAMETERS`, which gix does not read. This parses it the way git's
//! `parse_config_env_list` does, so the values can be handed to gix as command-line overrides
//! (which, as in git, win over every configuration file and over `GIT_CONFIG_COUNT`, which
//! gix reads itself).
//!
//! The format is a space-separated list of shell single-quoted words: `'key'='value'` (git
//! 2.31 and later), `'key'` (a boolean set to true), or the older `'key=value'`.

/// `GIT_CONFIG_PARAMETERS` could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bogus format in GIT_CONFIG_PARAMETERS")]
pub struct BogusFormat;

/// One `-c` setting: `value` is None for a bare `-c key` (true, as git reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub key: String,
    pub value: Option<String>,
}

impl Parameter {
    /// The `key=value` (or bare `key`) form gix's override options take; None for keys gix
    /// cannot take in that form (a subsection holding `=`, e.g. some `url.<base>.insteadOf`),
    /// which git-session never reads and which child `git` processes still get from the
    /// environment.
    pub fn as_override(&self) -> Option<String> {
        if self.key.contains('=') || !self.key.contains('.') {
            return None;
        }
        Some(match &self.value {
            Some(value) => format!("{}={value}", self.key),
            None => self.key.clone(),
        })
    }
}

/// The settings in `GIT_CONFIG_PARAMETERS`, in order (later ones win).
pub fn from_environment() -> Result<Vec<Parameter>, BogusFormat> {
    match std::env::var_os("GIT_CONFIG_PARAMETERS") {
        Some(text) => parse(&text.to_string_lossy()),
        None => Ok(Vec::new()),
    }
}

pub fn parse(text: &str) -> Result<Vec<Parameter>, BogusFormat> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (word, after) = dequote_step(rest)?;
        rest = after;
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            // Old style: 'key=value' or 'key'.
            out.push(match word.split_once('=') {
                Some((key, value)) => Parameter {
                    key: key.trim().to_owned(),
                    value: Some(value.to_owned()),
                },
                None => Parameter {
                    key: word.trim().to_owned(),
                    value: None,
                },
            });
        } else if let Some(after_eq) = rest.strip_prefix('=') {
            // New style: 'key'='value', or 'key'= (true).
            let value = if after_eq.starts_with('\'') {
                let (value, after) = dequote_step(after_eq)?;
                if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
                    return Err(BogusFormat);
                }
                rest = after;
                Some(value)
            } else if after_eq.is_empty() || after_eq.starts_with(char::is_whitespace) {
                rest = after_eq;
                None
            } else {
                return Err(BogusFormat);
            };
            out.push(Parameter { key: word, value });
        } else {
            return Err(BogusFormat);
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Reads one single-quoted word (`'a'\''b'` is `a'b`, `'a'\!'b'` is `a!b`) and returns it
/// with the text after it.
fn dequote_step(text: &str) -> Result<(String, &str), BogusFormat> {
    let mut chars = text.char_indices();
    if chars.next().map(|(_, c)| c) != Some('\'') {
        return Err(BogusFormat);
    }
    let mut word = String::new();
    loop {
        let Some((i, c)) = chars.next() else {
            return Err(BogusFormat); // unterminated quote
        };
        if c != '\'' {
            word.push(c);
            continue;
        }
        let after = &text[i + 1..];
        let mut peek = after.chars();
        match (peek.next(), peek.next(), peek.next()) {
            (Some('\\'), Some(escaped @ ('\'' | '!')), Some('\'')) => {
                word.push(escaped);
                // Skip the backslash, the escaped character and the reopening quote.
                chars.nth(2);
            }
            _ => return Ok((word, after)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, Option<String>)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn p(key: &str, value: Option<&str>) -> (String, Option<String>) {
        (key.to_owned(), value.map(str::to_owned))
    }

    #[test]
    fn reads_what_git_writes() {
        // git -c session.worktreeDir=alt -c core.bare -c a.b= -c x.y="it's" -c m.n='a!b'
        assert_eq!(
            pairs(
                "'session.worktreeDir'='alt' 'core.bare' 'a.b'='' 'x.y'='it'\\''s' 'm.n'='a'\\!'b'"
            ),
            [
                p("session.worktreeDir", Some("alt")),
                p("core.bare", None),
                p("a.b", Some("")),
                p("x.y", Some("it's")),
                p("m.n", Some("a!b")),
            ]
        );
        assert_eq!(
            pairs(" 'old.style=v=w'  'k.v'= "),
            [p("old.style", Some("v=w")), p("k.v", None)]
        );
        assert_eq!(pairs(""), []);
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in ["x.y=1", "'x.y", "'x.y'=v", "'x.y'='v'w", "'a.b'x"] {
            assert_eq!(parse(bad), Err(BogusFormat), "{bad}");
        }
    }

    #[test]
    fn override_form() {
        let param = |key: &str, value: Option<&str>| Parameter {
            key: key.into(),
            value: value.map(Into::into),
        };
        assert_eq!(
            param("session.retentionDays", Some("3")).as_override(),
            Some("session.retentionDays=3".into())
        );
        assert_eq!(
            param("core.bare", None).as_override(),
            Some("core.bare".into())
        );
        assert_eq!(param("url.a=b.insteadOf", Some("x")).as_override(), None);
    }
}
