//! The session model and its `session.yaml` form (schema `version: 1`, DESIGN §2).
//!
//! session.yaml may come from a remote, so parsing is strict about what git-session relies
//! on (names, ids, branch) and never panics; keys it does not know are kept and written back
//! unchanged so newer versions can add fields.

use serde::{Deserialize, Serialize};

use super::name;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Paused,
    Complete,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Complete => "complete",
            Status::Archived => "archived",
        }
    }

    /// Whether `list` shows it without `--all`.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Active | Status::Paused)
    }
}

/// The agent working in a session, when one is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The contents of `session.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub version: u32,
    pub id: String,
    pub name: String,
    pub status: Status,
    pub created: String,
    pub updated: String,
    pub branch: String,
    pub base: String,
    pub base_ref: String,
    pub parent: Option<String>,
    pub last_checkpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// Pathspecs of the files the session claims (`owns`); empty: it claims nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<String>,
    /// Keys this version does not know, preserved on rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetaError(pub String);

impl SessionMeta {
    /// The latest checkpoint session.yaml names, when it is a well-formed id.
    pub fn last_checkpoint_id(&self) -> Option<crate::git::ObjectId> {
        self.last_checkpoint
            .as_deref()
            .and_then(|h| crate::git::ObjectId::from_hex(h.as_bytes()).ok())
    }

    /// The commit the session started from, when session.yaml names a well-formed one.
    pub fn base_id(&self) -> Option<crate::git::ObjectId> {
        crate::git::ObjectId::from_hex(self.base.as_bytes()).ok()
    }

    /// Parses and checks session.yaml. `expected_name` is the name from the ref.
    pub fn from_yaml(text: &str, expected_name: &str) -> Result<SessionMeta, MetaError> {
        let meta: SessionMeta = serde_saphyr::from_str(text)
            .map_err(|e| MetaError(format!("session.yaml does not parse: {}", yaml_problem(&e))))?;
        meta.check(expected_name)?;
        Ok(meta)
    }

    /// Parses and checks session.yaml from an older log commit, whose name may differ from
    /// the ref's (a rename since): the name must still be a valid session name.
    pub fn from_yaml_any_name(text: &str) -> Result<SessionMeta, MetaError> {
        // One parse: a fetched log is checked event by event, and parsing is most of it.
        let meta: SessionMeta = serde_saphyr::from_str(text)
            .map_err(|e| MetaError(format!("session.yaml does not parse: {}", yaml_problem(&e))))?;
        name::validate(&meta.name).map_err(|e| {
            MetaError(format!(
                "session.yaml names '{}', which is not a valid session name: {}",
                meta.name.escape_debug(),
                e.rule
            ))
        })?;
        meta.check(&meta.name)?;
        Ok(meta)
    }

    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).expect("session metadata always serializes")
    }

    /// The checks every `session.yaml` read gets (also what was kept of one, [`super::parsed`]).
    pub(crate) fn check(&self, expected_name: &str) -> Result<(), MetaError> {
        if self.version != SCHEMA_VERSION {
            return Err(MetaError(format!(
                "session.yaml has version {}, this git-session understands version {SCHEMA_VERSION}",
                self.version
            )));
        }
        if self.name != expected_name {
            return Err(MetaError(format!(
                "session.yaml names '{}' but is stored as '{expected_name}'",
                self.name
            )));
        }
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(MetaError(format!(
                "session.yaml has an invalid id '{}'",
                self.id.escape_debug()
            )));
        }
        if let Some(parent) = &self.parent
            && (parent.is_empty()
                || !parent
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(MetaError(format!(
                "session.yaml has an invalid parent id '{}'",
                parent.escape_debug()
            )));
        }
        check_branch(&self.branch)?;
        if self.owns.len() > crate::git::pathspec::MAX_SPECS {
            return Err(MetaError(format!(
                "session.yaml claims more than {} pathspecs in owns",
                crate::git::pathspec::MAX_SPECS
            )));
        }
        for spec in &self.owns {
            crate::git::pathspec::check(spec)
                .map_err(|why| MetaError(format!("session.yaml has an invalid owns: {why}")))?;
        }
        for (key, value) in [
            ("base", Some(&self.base)),
            ("last_checkpoint", self.last_checkpoint.as_ref()),
        ] {
            if let Some(v) = value
                && !is_hex_id(v)
            {
                return Err(MetaError(format!(
                    "session.yaml has an invalid {key} '{}'",
                    v.escape_debug()
                )));
            }
        }
        for (key, value) in [("created", &self.created), ("updated", &self.updated)] {
            if super::time::parse_rfc3339(value).is_none() {
                return Err(MetaError(format!(
                    "session.yaml has an invalid {key} time '{}'",
                    value.escape_debug()
                )));
            }
        }
        Ok(())
    }
}

/// A branch name from session.yaml must be a plain branch name: it is used in `git` argv and
/// ref names, so it must not look like an option or a path.
pub fn check_branch(branch: &str) -> Result<(), MetaError> {
    name::validate_branch(branch).map_err(|e| {
        MetaError(format!(
            "session.yaml has an invalid branch '{}': {}",
            branch.escape_debug(),
            e.rule
        ))
    })
}

fn is_hex_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The parser's complaint about a YAML file in one line of words: its budget and duplicate
/// key messages (Rust names, a second `error:`) said plainly; `what` names what the file
/// holds ("a session's metadata").
pub(crate) fn yaml_problem_of(error: &serde_saphyr::Error, what: &str) -> String {
    let text = error.to_string();
    let line = first_line(&text);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // Matched where the parser puts its own words (after the position), not where a value
    // of the file could be.
    let words = match line.split_once(": ") {
        Some((position, rest)) if position.starts_with("line ") => rest,
        _ => line,
    };
    if words.starts_with("budget breached") {
        format!("it is larger or more deeply nested than {what} can be")
    } else if words.ends_with("set DuplicateKeyPolicy in Options if acceptable") {
        "a key appears twice".to_owned()
    } else {
        line.to_owned()
    }
}

fn yaml_problem(error: &serde_saphyr::Error) -> String {
    yaml_problem_of(error, "a session's metadata")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SessionMeta {
        SessionMeta {
            version: 1,
            id: "0123456789abcdef".into(),
            name: "yes".into(),
            status: Status::Active,
            created: "2026-01-01T00:00:00Z".into(),
            updated: "2026-01-01T00:00:00Z".into(),
            branch: "session/yes".into(),
            base: "a".repeat(40),
            base_ref: "HEAD".into(),
            parent: None,
            last_checkpoint: None,
            goal: Some("make it: work\nsecond line".into()),
            agent: None,
            owns: vec!["src".into(), ":(glob)docs/**/*.md".into()],
            extra: Default::default(),
        }
    }

    #[test]
    fn round_trips_including_tricky_strings() {
        let meta = sample();
        let yaml = meta.to_yaml();
        assert_eq!(
            SessionMeta::from_yaml(&yaml, "yes").unwrap(),
            meta,
            "{yaml}"
        );
        let mut numeric = sample();
        numeric.name = "123".into();
        assert_eq!(
            SessionMeta::from_yaml(&numeric.to_yaml(), "123").unwrap(),
            numeric
        );
    }

    #[test]
    fn unknown_keys_survive_a_rewrite() {
        let mut yaml = sample().to_yaml();
        yaml.push_str("future_field:\n  nested: [1, 2]\nhandoff: later\n");
        let mut meta = SessionMeta::from_yaml(&yaml, "yes").unwrap();
        meta.status = Status::Complete;
        let again = SessionMeta::from_yaml(&meta.to_yaml(), "yes").unwrap();
        assert_eq!(
            again.extra.get("handoff"),
            Some(&serde_json::json!("later"))
        );
        assert_eq!(
            again.extra.get("future_field"),
            Some(&serde_json::json!({"nested": [1, 2]}))
        );
        assert_eq!(again.status, Status::Complete);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = sample().to_yaml();
        let cases = [
            "",
            "[unclosed",
            "version: 1\n",
            ":\n:\n- -",
            &good.replace("session/yes", "../../etc"),
            &good.replace("session/yes", "-rf"),
            &good.replace("0123456789abcdef", "a/../b"),
            &good.replace("active", "running"),
            &good.replace("version: 1", "version: 2"),
            &good.replace("2026-01-01T00:00:00Z", "yesterday"),
            &good.replace("- src", "- /etc"),
            &good.replace("- src", "- ../../x"),
            &good.replace("- src", "- ':(attr:x)y'"),
        ];
        for text in cases {
            assert!(
                SessionMeta::from_yaml(text, "yes").is_err(),
                "accepted:\n{text}"
            );
        }
        assert!(SessionMeta::from_yaml(&good, "other").is_err());
    }

    /// The parser's refusals read as one line in words: no second `error:`, no names from
    /// its code (a walk-through saw `budget breached: Nodes { nodes: 250001 }`).
    #[test]
    fn parse_errors_are_said_in_words() {
        let good = sample().to_yaml();
        let said = |text: &str| SessionMeta::from_yaml(text, "yes").unwrap_err().to_string();
        let duplicate = said(&format!("{good}name: yes\n"));
        assert_eq!(
            duplicate,
            "session.yaml does not parse: a key appears twice"
        );
        let bomb = format!("a: &a [{}]\n", "x, ".repeat(300_000));
        assert_eq!(
            said(&bomb),
            "session.yaml does not parse: it is larger or more deeply nested than a session's metadata can be"
        );
        let broken = said("[unclosed");
        assert!(
            broken.starts_with("session.yaml does not parse: ") && !broken.contains("error:"),
            "{broken}"
        );
    }
}
