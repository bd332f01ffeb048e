//! What Claude Code sends its command hooks on stdin (checked against Claude Code 2.1.330):
//! every event carries `session_id`, `transcript_path`, `cwd` and `hook_event_name`;
//! `WorktreeCreate` adds `name`, `WorktreeRemove` `worktree_path`, `Stop` `stop_hook_active`
//! and `SessionStart` `source`. Extra keys are ignored, and `worktree_name` is taken for
//! `name`, so newer versions of Claude Code keep working.
//!
//! Hooks answer on stdout: `WorktreeCreate` with the worktree's absolute path (its last line),
//! `SessionStart` with text that Claude adds to the model's context.

use std::path::PathBuf;

use serde::Deserialize;

/// The agent name recorded in session.yaml (`agent: {tool: claude, …}`).
pub const TOOL: &str = "claude";

/// The most of a hook's stdin read. Most payloads are a few hundred bytes, but an edit's
/// carries the text it writes (a `Write` the whole file), which is read past, never held.
pub const MAX_PAYLOAD_BYTES: u64 = 256 << 20;

/// One hook git-session installs.
pub struct Hook {
    pub event: &'static str,
    /// Our subcommand (`git session claude <sub>`).
    pub sub: &'static str,
    /// Seconds Claude Code waits for it.
    pub timeout: u64,
    /// The tools it runs for (a `matcher`), for tool events.
    pub matcher: Option<&'static str>,
}

/// The tools that edit files, which `PreToolUse` looks at.
pub const EDIT_TOOLS: &str = "Edit|Write|MultiEdit|NotebookEdit";

/// The hooks git-session installs.
pub const HOOKS: &[Hook] = &[
    // Creating a worktree may copy a large node_modules/ and run setup commands.
    Hook {
        event: "WorktreeCreate",
        sub: "worktree-create",
        timeout: 600,
        matcher: None,
    },
    Hook {
        event: "WorktreeRemove",
        sub: "worktree-remove",
        timeout: 120,
        matcher: None,
    },
    Hook {
        event: "Stop",
        sub: "stop",
        timeout: 30,
        matcher: None,
    },
    Hook {
        event: "SessionStart",
        sub: "session-start",
        timeout: 10,
        matcher: None,
    },
    // Before every tool call (the agent is working; an edit is checked against what other
    // sessions own): it must answer fast, and never hold an agent up for long.
    Hook {
        event: "PreToolUse",
        sub: "pre-tool-use",
        timeout: 10,
        matcher: None,
    },
    // The agent's state for `list` and `ui`.
    Hook {
        event: "UserPromptSubmit",
        sub: "user-prompt-submit",
        timeout: 10,
        matcher: None,
    },
    Hook {
        event: "Notification",
        sub: "notification",
        timeout: 10,
        matcher: None,
    },
    Hook {
        event: "SessionEnd",
        sub: "session-end",
        timeout: 10,
        matcher: None,
    },
];

/// The command line that runs our handler for `subcommand`.
pub fn hook_command(subcommand: &str) -> String {
    format!("git session claude {subcommand}")
}

/// Whether a hook command is one of ours (any version, whatever its timeout).
pub fn is_our_command(command: &str) -> bool {
    let command = command.trim();
    ["git session claude ", "git-session claude "]
        .iter()
        .any(|prefix| command.starts_with(prefix))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("the hook input is not JSON: {0}")]
    NotJson(String),
    #[error("the hook input is JSON but not an object, which Claude Code sends")]
    NotAnObject,
    #[error("the hook input is not what Claude Code sends: {0}")]
    Shape(String),
    #[error("the hook input has no '{0}'")]
    Missing(&'static str),
    #[error("the hook input's '{key}' is not usable: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// A hook's stdin, for every event (fields an event does not carry are None).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HookInput {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub transcript_path: Option<PathBuf>,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// `WorktreeCreate`: the worktree's name.
    #[serde(default)]
    name: Option<String>,
    /// The same, as some versions spell it.
    #[serde(default)]
    worktree_name: Option<String>,
    /// `WorktreeRemove`: the worktree to remove.
    #[serde(default)]
    pub worktree_path: Option<PathBuf>,
    /// `Stop`: Claude is already continuing because of a stop hook.
    #[serde(default)]
    pub stop_hook_active: bool,
    /// `SessionStart`: startup, resume, clear or compact.
    #[serde(default)]
    pub source: Option<String>,
    /// `PreToolUse`: the tool about to run (`Edit`, `Write`, …) and its input.
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<ToolInput>,
}

/// What `PreToolUse` looks at in a tool's input: the file it names. The rest (the text an
/// edit writes) is read past. An input that is not an object names no file.
#[derive(Debug, Clone, Default, PartialEq)]
struct ToolInput {
    file_path: Slot,
    notebook_path: Slot,
}

/// One key of a tool's input: absent, a string, or something else.
#[derive(Debug, Clone, Default, PartialEq)]
enum Slot {
    #[default]
    Absent,
    Text(String),
    Other,
}

/// The arms of a visitor that takes every JSON shape it has no arm of its own for as
/// `$value`, read past (a tool's input is whatever the tool takes).
macro_rules! read_past_as {
    ($de:lifetime, $ty:ty, $value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_seq<A: serde::de::SeqAccess<$de>>(self, mut seq: A) -> Result<$ty, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

impl<'de> Deserialize<'de> for Slot {
    /// A string is kept; anything else is read past (an array of any length costs nothing).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = Slot;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path")
            }
            fn visit_str<E>(self, text: &str) -> Result<Slot, E> {
                Ok(Slot::Text(text.to_owned()))
            }
            fn visit_string<E>(self, text: String) -> Result<Slot, E> {
                Ok(Slot::Text(text))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Slot::Other)
            }
            read_past_as!('de, Slot, Slot::Other);
        }
        deserializer.deserialize_any(Value)
    }
}

impl<'de> Deserialize<'de> for ToolInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = ToolInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a tool's input")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolInput, A::Error> {
                let mut input = ToolInput::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "file_path" => &mut input.file_path,
                        "notebook_path" => &mut input.notebook_path,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<Slot>()?;
                }
                Ok(input)
            }
            fn visit_str<E>(self, _: &str) -> Result<ToolInput, E> {
                Ok(ToolInput::default())
            }
            read_past_as!('de, ToolInput, ToolInput::default());
        }
        deserializer.deserialize_any(Fields)
    }
}

impl HookInput {
    /// Parses a hook's stdin. An empty input is an empty payload (no field set).
    pub fn parse(bytes: &[u8]) -> Result<HookInput, PayloadError> {
        Self::read(bytes)
    }

    /// [`HookInput::parse`] as the input arrives, holding only the fields kept: a payload
    /// of any size is read to its end (the sender never sees a broken pipe) in little memory.
    pub fn read(reader: impl std::io::Read) -> Result<HookInput, PayloadError> {
        use std::io::BufRead;
        let first_line =
            |e: serde_json::Error| e.to_string().lines().next().unwrap_or("").to_owned();
        let mut reader = std::io::BufReader::new(reader);
        let first = loop {
            let buf = reader
                .fill_buf()
                .map_err(|e| PayloadError::NotJson(e.to_string()))?;
            if buf.is_empty() {
                return Ok(HookInput::default());
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(at) => {
                    let first = buf[at];
                    reader.consume(at);
                    break first;
                }
                None => {
                    let all = buf.len();
                    reader.consume(all);
                }
            }
        };
        // An object, as Claude Code sends: not an array serde would fill field by field.
        if first != b'{' {
            return match serde_json::from_reader::<_, serde::de::IgnoredAny>(reader) {
                Ok(_) => Err(PayloadError::NotAnObject),
                Err(e) => Err(PayloadError::NotJson(first_line(e))),
            };
        }
        let input: HookInput = serde_json::from_reader(reader).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => PayloadError::Shape(first_line(e)),
            _ => PayloadError::NotJson(first_line(e)),
        })?;
        if let Some(id) = &input.session_id {
            check_session_id(id)?;
        }
        Ok(input)
    }

    /// The worktree name `WorktreeCreate` asks for (`name`, else `worktree_name`).
    pub fn worktree_name(&self) -> Result<&str, PayloadError> {
        self.name
            .as_deref()
            .or(self.worktree_name.as_deref())
            .filter(|n| !n.is_empty())
            .ok_or(PayloadError::Missing("name"))
    }

    /// `PreToolUse`: the file an editing tool is about to write (`file_path`, or a notebook's
    /// `notebook_path`), a relative one taken from `cwd`.
    pub fn edited_path(&self) -> Option<PathBuf> {
        // Only the editing tools write (Read, Grep and others name files too).
        let tool = self.tool_name.as_deref()?;
        if !EDIT_TOOLS.split('|').any(|t| t == tool) {
            return None;
        }
        let input = self.tool_input.as_ref()?;
        let path = match (&input.file_path, &input.notebook_path) {
            (Slot::Text(path), _) | (Slot::Absent, Slot::Text(path)) => path,
            _ => return None,
        };
        if path.is_empty() || path.contains('\0') {
            return None;
        }
        let path = PathBuf::from(path);
        // A relative path is the agent's, from where it runs.
        match (path.is_absolute(), &self.cwd) {
            (true, _) => Some(path),
            (false, Some(cwd)) if cwd.is_absolute() => Some(cwd.join(path)),
            _ => None,
        }
    }

    /// Claude's own session id, when it sent one.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref().filter(|s| !s.is_empty())
    }
}

/// Claude's session ids are UUIDs; anything printable and short is accepted (it goes into
/// session.yaml and log messages), nothing that could break a line or a terminal.
fn check_session_id(id: &str) -> Result<(), PayloadError> {
    if id.len() > 128 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(PayloadError::Invalid {
            key: "session_id",
            reason: "expected an id without spaces or control characters, at most 128 bytes".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_claude_code_sends() {
        let input = HookInput::parse(
            br#"{"session_id":"1b2c-3d","transcript_path":"/h/.claude/projects/x/1b2c.jsonl","cwd":"/repo","hook_event_name":"WorktreeCreate","name":"feat"}"#,
        )
        .unwrap();
        assert_eq!(input.session_id(), Some("1b2c-3d"));
        assert_eq!(input.worktree_name(), Ok("feat"));
        assert_eq!(input.cwd.as_deref(), Some(std::path::Path::new("/repo")));
        assert_eq!(input.hook_event_name.as_deref(), Some("WorktreeCreate"));
    }

    #[test]
    fn tolerates_extra_keys_and_the_alias() {
        let input = HookInput::parse(
            br#"{"worktree_name":"x","permission_mode":"default","future":{"a":[1]}}"#,
        )
        .unwrap();
        assert_eq!(input.worktree_name(), Ok("x"));
        let both = HookInput::parse(br#"{"name":"a","worktree_name":"b"}"#).unwrap();
        assert_eq!(both.worktree_name(), Ok("a"));
        let stop =
            HookInput::parse(br#"{"hook_event_name":"Stop","stop_hook_active":true}"#).unwrap();
        assert!(stop.stop_hook_active);
        let start = HookInput::parse(br#"{"source":"startup"}"#).unwrap();
        assert_eq!(start.source.as_deref(), Some("startup"));
        let remove = HookInput::parse(br#"{"worktree_path":"/r/.worktrees/x"}"#).unwrap();
        assert_eq!(
            remove.worktree_path.as_deref(),
            Some(std::path::Path::new("/r/.worktrees/x"))
        );
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        assert!(matches!(
            HookInput::parse(b"not json"),
            Err(PayloadError::NotJson(_))
        ));
        for not_an_object in [&b"[1, 2]"[..], b"[]", b"null", b"\"str\""] {
            assert_eq!(
                HookInput::parse(not_an_object),
                Err(PayloadError::NotAnObject)
            );
        }
        assert!(matches!(
            HookInput::parse(br#"{"hook_event_name":5}"#),
            Err(PayloadError::Shape(_))
        ));
        assert_eq!(
            HookInput::parse(b"{}").unwrap().worktree_name(),
            Err(PayloadError::Missing("name"))
        );
        assert!(HookInput::parse(br#"{"session_id":"a\nb"}"#).is_err());
        assert_eq!(HookInput::parse(b"  \n").unwrap(), HookInput::default());
    }

    /// An edit's text is read past, however long: the file it names is what counts, and an
    /// input that is not an object names none.
    #[test]
    fn reads_the_edited_path_past_any_text() {
        let big = "A".repeat(3 << 20);
        let payload = format!(
            r#"{{"tool_name":"Write","tool_input":{{"content":"{big}","file_path":"/r/f.txt"}},"cwd":"/r"}}"#
        );
        let input = HookInput::read(payload.as_bytes()).unwrap();
        assert_eq!(input.edited_path(), Some(PathBuf::from("/r/f.txt")));
        let notebook = HookInput::parse(
            br#"{"tool_name":"NotebookEdit","tool_input":{"notebook_path":"n.ipynb"},"cwd":"/r"}"#,
        )
        .unwrap();
        assert_eq!(notebook.edited_path(), Some(PathBuf::from("/r/n.ipynb")));
        for odd in [
            r#""x""#,
            "[1, {}]",
            "null",
            "7",
            r#"{"file_path":5,"notebook_path":"n"}"#,
            r#"{"file_path":[1,[2],{"a":"b"}]}"#,
            r#"{"file_path":{"x":"/etc"}}"#,
            r#"{"file_path":null}"#,
            r#"{"file_path":""}"#,
        ] {
            let payload = format!(r#"{{"tool_name":"Edit","tool_input":{odd},"cwd":"/r"}}"#);
            let input = HookInput::parse(payload.as_bytes()).unwrap();
            assert_eq!(input.edited_path(), None, "{odd}");
        }
        // Truncated: not JSON, said in one line.
        assert!(matches!(
            HookInput::parse(&payload_prefix(&payload)),
            Err(PayloadError::NotJson(_))
        ));
    }

    fn payload_prefix(payload: &str) -> Vec<u8> {
        payload.as_bytes()[..payload.len() / 2].to_vec()
    }

    #[test]
    fn recognizes_our_commands() {
        assert!(is_our_command("git session claude stop"));
        assert!(is_our_command(" git-session claude worktree-create"));
        assert!(!is_our_command("git session list"));
        assert!(!is_our_command("echo git session claude stop"));
        for hook in HOOKS {
            assert!(is_our_command(&hook_command(hook.sub)));
        }
    }
}
