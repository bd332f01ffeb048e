//! Installing git-session's hooks into a Claude Code settings file
//! (`{"hooks": {"<Event>": [{"matcher": "…", "hooks": [{"type": "command", …}]}]}}`) and
//! taking them out again, keeping every other key and every other hook.
//!
//! The file is the user's: one that is not valid JSON (or whose `hooks` is not shaped as
//! Claude Code reads it) is refused, never overwritten. Keys keep their order and the file
//! keeps its indentation and final newline, so install followed by uninstall gives back the
//! same bytes for a file written the way Claude Code writes it. Both are idempotent: a
//! second install or uninstall changes nothing.

use serde_json::{Map, Value};

use super::claude::{HOOKS, hook_command, is_our_command};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("is not valid JSON ({0}); it was left unchanged")]
    NotJson(String),
    #[error("{0}; it was left unchanged")]
    Shape(String),
}

/// The file's new text, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    /// False when the file already was as asked (nothing to write).
    pub changed: bool,
    /// The events whose hooks were added or removed.
    pub events: Vec<&'static str>,
    /// Nothing but an empty object is left (after an uninstall).
    pub empty: bool,
}

/// Adds our hooks to `existing` (None: no file yet).
pub fn install(existing: Option<&str>) -> Result<Merged, SettingsError> {
    let (mut root, style) = parse(existing)?;
    let hooks = match root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(map) => map,
        _ => return Err(shape("'hooks' is not an object")),
    };
    let mut events = Vec::new();
    for hook in HOOKS {
        let event = &hook.event;
        let wanted = serde_json::json!({
            "type": "command",
            "command": hook_command(hook.sub),
            "timeout": hook.timeout,
        });
        let groups = match hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(groups) => groups,
            _ => return Err(shape(&format!("'hooks.{event}' is not a list"))),
        };
        let ours: Vec<&Value> = groups
            .iter()
            .filter_map(group_hooks)
            .flatten()
            .filter(|h| is_ours(h))
            .collect();
        let matcher_of = |g: &Value| g.get("matcher").and_then(Value::as_str).map(str::to_owned);
        let our_matchers: Vec<Option<String>> = groups
            .iter()
            .filter(|g| group_hooks(g).is_some_and(|h| h.iter().any(is_ours)))
            .map(matcher_of)
            .collect();
        let same_matcher = our_matchers.len() == 1
            && our_matchers[0].as_deref().filter(|m| !m.is_empty()) == hook.matcher;
        if ours.len() == 1 && *ours[0] == wanted && same_matcher {
            continue;
        }
        remove_ours(groups);
        groups.push(match hook.matcher {
            Some(matcher) => serde_json::json!({ "matcher": matcher, "hooks": [wanted] }),
            None => serde_json::json!({ "hooks": [wanted] }),
        });
        events.push(*event);
    }
    let changed = !events.is_empty() || existing.is_none();
    Ok(Merged {
        text: render(&root, &style),
        changed,
        events,
        empty: false,
    })
}

/// Removes our hooks from `existing`; groups, events and a `hooks` object that only held
/// ours go with them.
pub fn uninstall(existing: &str) -> Result<Merged, SettingsError> {
    let (mut root, style) = parse(Some(existing))?;
    let mut events = Vec::new();
    if let Some(hooks) = root.get_mut("hooks") {
        let Value::Object(hooks) = hooks else {
            return Err(shape("'hooks' is not an object"));
        };
        for hook in HOOKS {
            let event = hook.event;
            let Some(Value::Array(groups)) = hooks.get_mut(event) else {
                continue;
            };
            if remove_ours(groups) {
                events.push(event);
                if groups.is_empty() {
                    hooks.shift_remove(event);
                }
            }
        }
        if !events.is_empty() && hooks.is_empty() {
            root.shift_remove("hooks");
        }
    }
    Ok(Merged {
        text: if events.is_empty() {
            existing.to_owned()
        } else {
            render(&root, &style)
        },
        changed: !events.is_empty(),
        empty: root.is_empty(),
        events,
    })
}

/// How the file was written: its indentation and whether it ends with a newline.
struct Style {
    indent: String,
    final_newline: bool,
}

fn parse(existing: Option<&str>) -> Result<(Map<String, Value>, Style), SettingsError> {
    let Some(text) = existing else {
        return Ok((
            Map::new(),
            Style {
                indent: "  ".into(),
                final_newline: true,
            },
        ));
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        SettingsError::NotJson(e.to_string().lines().next().unwrap_or("").to_owned())
    })?;
    let Value::Object(root) = value else {
        return Err(shape("the settings are not a JSON object"));
    };
    let indent = text
        .lines()
        .skip(1)
        .find(|l| !l.trim().is_empty())
        .map(|l| l[..l.len() - l.trim_start().len()].to_owned())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "  ".into());
    Ok((
        root,
        Style {
            indent,
            final_newline: text.ends_with('\n'),
        },
    ))
}

fn render(root: &Map<String, Value>, style: &Style) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(style.indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    root.serialize(&mut ser).expect("JSON values serialize");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    if style.final_newline {
        text.push('\n');
    }
    text
}

fn shape(what: &str) -> SettingsError {
    SettingsError::Shape(format!("{what}, as Claude Code expects"))
}

fn group_hooks(group: &Value) -> Option<&Vec<Value>> {
    group.get("hooks")?.as_array()
}

fn is_ours(hook: &Value) -> bool {
    hook.get("type").and_then(Value::as_str) == Some("command")
        && hook
            .get("command")
            .and_then(Value::as_str)
            .is_some_and(is_our_command)
}

/// Removes our hooks from an event's groups, and groups that held only ours; true when
/// something was removed.
fn remove_ours(groups: &mut Vec<Value>) -> bool {
    let mut removed = false;
    groups.retain_mut(|group| {
        let Some(Value::Array(hooks)) = group.get_mut("hooks") else {
            return true;
        };
        let before = hooks.len();
        hooks.retain(|h| !is_ours(h));
        if hooks.len() == before {
            return true;
        }
        removed = true;
        !hooks.is_empty()
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const THEIRS: &str = r#"{
  "permissions": {
    "allow": [
      "Bash(npm test)"
    ]
  },
  "hooks": {
    "Stop": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ],
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "./check.sh",
            "timeout": 5
          }
        ]
      }
    ]
  },
  "zeta": 1.5,
  "alpha": null
}
"#;

    #[test]
    fn install_keeps_everything_else_and_uninstall_gives_the_bytes_back() {
        let installed = install(Some(THEIRS)).unwrap();
        assert!(installed.changed);
        assert_eq!(installed.events.len(), HOOKS.len());
        let value: Value = serde_json::from_str(&installed.text).unwrap();
        let before: Value = serde_json::from_str(THEIRS).unwrap();
        assert_eq!(value["permissions"], before["permissions"]);
        assert_eq!(
            value["hooks"]["PreToolUse"][0],
            before["hooks"]["PreToolUse"][0]
        );
        // Every tool call (the agent is working); edits are told apart by the handler.
        assert_eq!(value["hooks"]["PreToolUse"][1]["matcher"], Value::Null);
        assert_eq!(value["hooks"]["Stop"][0], before["hooks"]["Stop"][0]);
        assert_eq!(
            value["hooks"]["Stop"][1]["hooks"][0]["command"],
            "git session claude stop"
        );
        assert_eq!(
            value["hooks"]["WorktreeCreate"][0]["hooks"][0]["timeout"],
            600
        );
        let again = install(Some(&installed.text)).unwrap();
        assert!(!again.changed);
        assert_eq!(again.text, installed.text);
        let removed = uninstall(&installed.text).unwrap();
        assert!(removed.changed);
        assert_eq!(removed.text, THEIRS);
        let twice = uninstall(&removed.text).unwrap();
        assert!(!twice.changed);
        assert_eq!(twice.text, THEIRS);
    }

    #[test]
    fn a_new_file_gets_only_our_hooks_and_loses_them_again() {
        let installed = install(None).unwrap();
        assert!(installed.changed && installed.text.ends_with("}\n"));
        assert_eq!(uninstall(&installed.text).unwrap().text, "{}\n");
    }

    #[test]
    fn an_old_version_of_ours_is_replaced_not_duplicated() {
        let old = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "git-session claude stop", "timeout": 1}, {"type": "command", "command": "echo mine"}]}]}}"#;
        let installed = install(Some(old)).unwrap();
        let value: Value = serde_json::from_str(&installed.text).unwrap();
        let stop = value["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2);
        assert_eq!(
            stop[0]["hooks"],
            serde_json::json!([{"type": "command", "command": "echo mine"}])
        );
        assert_eq!(stop[1]["hooks"][0]["timeout"], 30);
    }

    #[test]
    fn keeps_tabs_and_a_missing_final_newline() {
        let text = "{\n\t\"model\": \"x\"\n}";
        let installed = install(Some(text)).unwrap();
        assert!(installed.text.contains("\n\t\"model\""));
        assert_eq!(uninstall(&installed.text).unwrap().text, text);
    }

    #[test]
    fn refuses_what_it_cannot_merge() {
        assert!(matches!(
            install(Some("{ \"a\": 1,")),
            Err(SettingsError::NotJson(_))
        ));
        assert!(matches!(install(Some("[]")), Err(SettingsError::Shape(_))));
        assert!(matches!(
            install(Some(r#"{"hooks": []}"#)),
            Err(SettingsError::Shape(_))
        ));
        assert!(matches!(
            install(Some(r#"{"hooks": {"Stop": {}}}"#)),
            Err(SettingsError::Shape(_))
        ));
        assert!(uninstall("nope").is_err());
    }
}
