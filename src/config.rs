//! Settings: `session.*` keys, each named once here with its default. Precedence is
//! command-line flag > git config > `.git-session.yaml` (tracked, shared by a team) > default.
//!
//! `.git-session.yaml` arrives with a pull, so values read from it are checked before use:
//! a worktree directory from it must stay inside the main worktree. Mistakes in it that need
//! not stop a command (an unknown key) are returned as [`Config::warnings`], for the command
//! layer to print.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::git::Repo;

pub const SHARED_FILE: &str = ".git-session.yaml";

/// What an agent is told when an edit strays (`session.ownsPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnsPolicy {
    Warn,
    Ask,
    Deny,
}

/// A configuration key and its built-in default.
pub struct Key {
    /// The git config name, e.g. `session.worktreeDir`.
    pub name: &'static str,
    pub default: &'static str,
    /// For a whole number: the values allowed, checked wherever it is read.
    pub range: Option<std::ops::RangeInclusive<u64>>,
}

pub const WORKTREE_DIR: Key = Key {
    name: "session.worktreeDir",
    default: ".worktrees",
    range: None,
};
pub const BRANCH_PREFIX: Key = Key {
    name: "session.branchPrefix",
    default: "session/",
    range: None,
};
pub const BASE_REF: Key = Key {
    name: "session.baseRef",
    default: "fresh",
    range: None,
};
pub const REMOTE: Key = Key {
    name: "session.remote",
    default: "origin",
    range: None,
};
pub const FETCH_TIMEOUT_SECS: Key = Key {
    name: "session.fetchTimeout",
    default: "5",
    range: Some(0..=600),
};
/// How long a deleted session's log stays in `refs/sessions-trash/` (like git's reflog
/// expiry), independent of the inactivity that makes `gc` archive a session.
pub const TRASH_DAYS: Key = Key {
    name: "session.trashDays",
    default: "90",
    range: Some(0..=36_500),
};
/// How long the operation log keeps a record (and what undoing it needs) before `gc` drops it.
pub const OPLOG_DAYS: Key = Key {
    name: "session.opLogDays",
    default: "90",
    range: Some(1..=36_500),
};
/// What Claude Code's `PreToolUse` hook answers when an edit strays into another session's
/// files or out of its own `owns`: `warn` (the agent is told), `ask` (the person decides) or
/// `deny` (the edit is refused, the agent told why).
pub const OWNS_POLICY: Key = Key {
    name: "session.ownsPolicy",
    default: "warn",
    range: None,
};
/// The branch `land` lands into when `--into` is not given (default: the branch the
/// session's base ref names).
pub const LAND_INTO: Key = Key {
    name: "session.landInto",
    default: "",
    range: None,
};
/// How `land` brings a session in: `squash`, `rebase` or `merge`.
pub const LAND_STRATEGY: Key = Key {
    name: "session.landStrategy",
    default: "squash",
    range: None,
};
/// Commands (tests, linters) `land` runs on the exact tree that would land (multi-valued).
pub const PRE_LAND: Key = Key {
    name: "session.preLand",
    default: "",
    range: None,
};
/// How `sync` brings a session onto its base's new tip: `rebase` or `merge`.
pub const SYNC_STRATEGY: Key = Key {
    name: "session.syncStrategy",
    default: "rebase",
    range: None,
};
/// `true`: a commit on a base branch starts a background `sync` of the sessions that would
/// sync cleanly.
pub const AUTO_SYNC: Key = Key {
    name: "session.autoSync",
    default: "false",
    range: None,
};
/// How long a git hook may take before it gives up quietly (`2s`, `500ms`).
pub const HOOK_TIMEOUT: Key = Key {
    name: "session.hookTimeout",
    default: "2s",
    range: None,
};
/// How old the last checkpoint must be before a commit in a dirty session takes one
/// (`30m`; `0` after every commit; `off` never).
pub const CHECKPOINT_INTERVAL: Key = Key {
    name: "session.checkpointInterval",
    default: "30m",
    range: None,
};
/// Whether `push` may publish files that look like secrets. Only the user's own git config
/// counts: a tracked `.git-session.yaml` must not be able to switch the check off.
pub const PUSH_SECRETS: Key = Key {
    name: "session.pushSecrets",
    default: "false",
    range: None,
};
pub const RETENTION_DAYS: Key = Key {
    name: "session.retentionDays",
    default: "7",
    range: Some(1..=36_500),
};
/// Setup commands run in every new worktree (multi-valued; read with [`Config::post_create`]).
pub const POST_CREATE: Key = Key {
    name: "session.postCreate",
    default: "",
    range: None,
};
/// How long a `working` agent may stay silent before it is shown as `stale` (`10m`).
pub const AGENT_STALE_AFTER: Key = Key {
    name: "session.agentStaleAfter",
    default: "10m",
    range: None,
};
/// Commands run when a session's agent starts needing input or its turn ends
/// (multi-valued; from the tracked file only once approved), with `GIT_SESSION_NAME` and
/// `GIT_SESSION_STATE` in their environment.
pub const NOTIFY: Key = Key {
    name: "session.notify",
    default: "",
    range: None,
};
/// The command `open` runs in a session's new tmux window (`claude`); none: a shell.
pub const AGENT_COMMAND: Key = Key {
    name: "session.agentCommand",
    default: "",
    range: None,
};
/// The ports `git session env` hands out, `<low>-<high>`.
pub const PORT_RANGE: Key = Key {
    name: "session.portRange",
    default: "10000-19999",
    range: None,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{SHARED_FILE} does not parse: {reason}")]
    SharedFile { reason: String },
    #[error("{SHARED_FILE}: {key} must be {expected}, not {found}")]
    SharedType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{SHARED_FILE}: {key} is given twice (as {first} and {second})")]
    SharedDuplicate {
        key: &'static str,
        first: String,
        second: String,
    },
    #[error("{key} = '{value}' is invalid: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// Where a value came from (a tracked file is less trusted than the user's git config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    GitConfig,
    SharedFile,
    Default,
}

pub struct Config {
    git: BTreeMap<&'static str, String>,
    /// `.git-session.yaml`'s values by full key name (`session.worktreeDir`).
    shared: BTreeMap<&'static str, String>,
    /// Multi-valued keys ([`MULTI_KEYS`]): git config's values (None: none set) and the file's.
    git_lists: BTreeMap<&'static str, Vec<String>>,
    shared_lists: BTreeMap<&'static str, Vec<String>>,
    warnings: Vec<String>,
}

/// A value of a multi-valued key and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: String,
    pub origin: Origin,
}

const ALL_KEYS: &[&Key] = &[
    &WORKTREE_DIR,
    &BRANCH_PREFIX,
    &BASE_REF,
    &REMOTE,
    &FETCH_TIMEOUT_SECS,
    &RETENTION_DAYS,
    &TRASH_DAYS,
    &OPLOG_DAYS,
    &OWNS_POLICY,
    &LAND_INTO,
    &LAND_STRATEGY,
    &PRE_LAND,
    &SYNC_STRATEGY,
    &AUTO_SYNC,
    &HOOK_TIMEOUT,
    &CHECKPOINT_INTERVAL,
    &POST_CREATE,
    &PORT_RANGE,
    &PUSH_SECRETS,
    &AGENT_STALE_AFTER,
    &NOTIFY,
    &AGENT_COMMAND,
];

/// Keys that take several values: every `git config --add` value, or a list in the file.
const MULTI_KEYS: &[&Key] = &[&POST_CREATE, &PRE_LAND, &NOTIFY];

fn is_multi(key: &Key) -> bool {
    MULTI_KEYS.iter().any(|k| k.name == key.name)
}

impl Config {
    /// Reads git config through `repo` and `.git-session.yaml` from the main worktree root.
    pub fn load(repo: &Repo, main_root: Option<&Path>) -> Result<Config, ConfigError> {
        let git = ALL_KEYS
            .iter()
            .filter(|k| !is_multi(k))
            .filter_map(|k| repo.config_string(k.name).map(|v| (k.name, v)))
            .collect();
        let git_lists = MULTI_KEYS
            .iter()
            .filter_map(|k| {
                let values = repo.config_strings(k.name);
                (!values.is_empty()).then_some((k.name, values))
            })
            .collect();
        let shared = match main_root.map(|r| r.join(SHARED_FILE)) {
            Some(path) if path.is_file() => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::SharedFile {
                    reason: e.to_string(),
                })?;
                parse_shared(&text)?
            }
            _ => Shared::default(),
        };
        let mut config = Config {
            git,
            shared: shared.values,
            git_lists,
            shared_lists: shared.lists,
            warnings: shared.warnings,
        };
        config.drop_invalid_shared_values();
        Ok(config)
    }

    /// Checks every value `.git-session.yaml` gives as the command that reads it would, once,
    /// when the file is read: an invalid one is a warning and is not used (the default is),
    /// instead of an error in whichever command happens to need it (`new` failing on a
    /// `portRange` when no setup command is configured).
    fn drop_invalid_shared_values(&mut self) {
        let keys: Vec<&'static str> = self.shared.keys().copied().collect();
        for name in keys {
            let Some(key) = ALL_KEYS.iter().find(|k| k.name == name) else {
                continue;
            };
            let value = self.shared[name].clone();
            let alone = Config {
                git: BTreeMap::new(),
                shared: BTreeMap::from([(name, value.clone())]),
                git_lists: BTreeMap::new(),
                shared_lists: BTreeMap::new(),
                warnings: Vec::new(),
            };
            let checked: Result<(), ConfigError> = match name {
                _ if key.range.is_some() => alone.number(key).map(drop),
                n if n == HOOK_TIMEOUT.name => alone.duration_ms(key, false).map(drop),
                n if n == CHECKPOINT_INTERVAL.name => alone.duration_ms(key, true).map(drop),
                n if n == PORT_RANGE.name => alone.port_range().map(drop),
                n if n == BRANCH_PREFIX.name => alone.branch_prefix().map(drop),
                n if n == PUSH_SECRETS.name => alone.flag(key, &[]).map(drop),
                n if n == OWNS_POLICY.name => alone.owns_policy().map(drop),
                n if n == LAND_STRATEGY.name => alone
                    .one_of(&LAND_STRATEGY, &["squash", "rebase", "merge"])
                    .map(drop),
                n if n == SYNC_STRATEGY.name => {
                    alone.one_of(&SYNC_STRATEGY, &["rebase", "merge"]).map(drop)
                }
                n if n == AUTO_SYNC.name => alone.flag(key, &[]).map(drop),
                n if n == LAND_INTO.name => alone.land_into().map(drop),
                n if n == BASE_REF.name => match value.as_str() {
                    "fresh" | "head" => Ok(()),
                    _ => Err(ConfigError::Invalid {
                        key: BASE_REF.name,
                        value: value.clone(),
                        reason: "expected 'fresh' or 'head'".into(),
                    }),
                },
                _ => Ok(()),
            };
            if let Err(e) = checked {
                self.shared.remove(name);
                self.warnings.push(format!(
                    "{SHARED_FILE}: {}; it is ignored (the default '{}' applies)",
                    crate::text::one_line(&e),
                    key.default
                ));
            }
        }
    }

    /// Mistakes worth telling the user that do not stop the command (an unknown key in
    /// `.git-session.yaml`, with the known key it is nearest to).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The value of `key` and where it came from.
    pub fn get(&self, key: &Key) -> (String, Origin) {
        if let Some(v) = self.git.get(key.name) {
            return (v.clone(), Origin::GitConfig);
        }
        if let Some(v) = self.shared.get(key.name) {
            return (v.clone(), Origin::SharedFile);
        }
        (key.default.to_owned(), Origin::Default)
    }

    /// A true/false setting as git spells them; only `trusted` origins may turn it on.
    pub fn flag(&self, key: &'static Key, trusted: &[Origin]) -> Result<bool, ConfigError> {
        let (value, origin) = self.get(key);
        let on = match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" | "" => false,
            _ => {
                return Err(ConfigError::Invalid {
                    key: key.name,
                    value,
                    reason: "expected true or false".into(),
                });
            }
        };
        Ok(on && trusted.contains(&origin))
    }

    pub fn string(&self, key: &Key) -> String {
        self.get(key).0
    }

    /// The values of a multi-valued key, in order. Values in git config replace the file's
    /// list (flag > git config > file), and as in git, an empty value clears the ones before
    /// it: `git config session.postCreate ""` turns off a team's setup commands here.
    pub fn list(&self, key: &Key) -> Vec<Item> {
        let (values, origin) = match self.git_lists.get(key.name) {
            Some(values) => (values, Origin::GitConfig),
            None => match self.shared_lists.get(key.name) {
                Some(values) => (values, Origin::SharedFile),
                None => return Vec::new(),
            },
        };
        let start = values
            .iter()
            .rposition(|v| v.is_empty())
            .map_or(0, |i| i + 1);
        values[start..]
            .iter()
            .map(|value| Item {
                value: value.clone(),
                origin,
            })
            .collect()
    }

    /// `session.portRange` as `(low, high)`, both inclusive.
    pub fn port_range(&self) -> Result<(u16, u16), ConfigError> {
        let value = self.string(&PORT_RANGE);
        let parsed = value.trim().split_once('-').and_then(|(low, high)| {
            let low: u16 = low.trim().parse().ok()?;
            let high: u16 = high.trim().parse().ok()?;
            (low >= 1024 && low <= high).then_some((low, high))
        });
        parsed.ok_or_else(|| ConfigError::Invalid {
            key: PORT_RANGE.name,
            value: value.escape_debug().to_string(),
            reason: "expected <low>-<high>, two ports from 1024 to 65535, low first".into(),
        })
    }

    /// A whole number within `range`: a tracked file must not be able to make git-session
    /// misbehave (a retention of 10^15 days overflowing into "everything is stale").
    /// The value of `key`, which must be one of `allowed`.
    pub fn one_of(&self, key: &'static Key, allowed: &[&str]) -> Result<String, ConfigError> {
        let value = self.string(key);
        if allowed.contains(&value.trim()) {
            return Ok(value.trim().to_owned());
        }
        Err(ConfigError::Invalid {
            key: key.name,
            value,
            reason: format!(
                "expected {}",
                allowed
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// `session.landInto`: a branch name, or None when unset.
    pub fn land_into(&self) -> Result<Option<String>, ConfigError> {
        let value = self.string(&LAND_INTO);
        let value = value.trim().trim_start_matches("refs/heads/");
        if value.is_empty() {
            return Ok(None);
        }
        crate::session::name::validate(value).map_err(|e| ConfigError::Invalid {
            key: LAND_INTO.name,
            value: value.to_owned(),
            reason: e.rule.to_string(),
        })?;
        Ok(Some(value.to_owned()))
    }

    /// `session.ownsPolicy`.
    pub fn owns_policy(&self) -> Result<OwnsPolicy, ConfigError> {
        let value = self.string(&OWNS_POLICY);
        match value.trim() {
            "warn" => Ok(OwnsPolicy::Warn),
            "ask" => Ok(OwnsPolicy::Ask),
            "deny" => Ok(OwnsPolicy::Deny),
            _ => Err(ConfigError::Invalid {
                key: OWNS_POLICY.name,
                value,
                reason: "expected 'warn', 'ask' or 'deny'".into(),
            }),
        }
    }

    pub fn number(&self, key: &'static Key) -> Result<u64, ConfigError> {
        let range = key.range.clone().unwrap_or(0..=u64::MAX);
        let value = self.string(key);
        match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                key: key.name,
                value,
                reason: format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    /// `session.checkpointInterval` in seconds; None when `off`.
    pub fn checkpoint_interval_secs(&self) -> Result<Option<i64>, ConfigError> {
        Ok(self
            .duration_ms(&CHECKPOINT_INTERVAL, true)?
            .map(|ms| (ms / 1000) as i64))
    }

    /// `session.agentStaleAfter` in seconds (at least one).
    pub fn agent_stale_after(&self) -> Result<i64, ConfigError> {
        let ms = self.duration_ms(&AGENT_STALE_AFTER, false)?.unwrap_or(0);
        Ok(((ms / 1000) as i64).max(1))
    }

    /// A duration in milliseconds: `500ms`, `2s`, `15m`, `1h` or a number of seconds; None
    /// for `off` (or `never`, `false`) when `off_allowed`.
    pub fn duration_ms(
        &self,
        key: &'static Key,
        off_allowed: bool,
    ) -> Result<Option<u64>, ConfigError> {
        let value = self.string(key);
        let text = value.trim().to_ascii_lowercase();
        if off_allowed && matches!(text.as_str(), "off" | "never" | "false" | "no") {
            return Ok(None);
        }
        let parsed = if let Some(ms) = text.strip_suffix("ms") {
            ms.parse::<u64>().ok()
        } else if let Ok(secs) = text.parse::<u64>() {
            secs.checked_mul(1000)
        } else {
            crate::session::time::parse_duration(&text)
                .filter(|s| *s >= 0 && !text.ends_with(|c: char| c.is_ascii_digit()))
                .and_then(|s| (s as u64).checked_mul(1000))
        };
        match parsed {
            Some(ms) if ms <= 366 * 86_400 * 1000 => Ok(Some(ms)),
            _ => Err(ConfigError::Invalid {
                key: key.name,
                value,
                reason: format!(
                    "expected a duration like 500ms, 2s, 30m or 1h{}",
                    if off_allowed { ", or off" } else { "" }
                ),
            }),
        }
    }

    /// The directory that holds session worktrees, absolute. Unless the user's own git config
    /// says otherwise, it must stay inside the main worktree, symlinks resolved: a tracked
    /// `.git-session.yaml`, or a tracked symlink named `.worktrees`, must not send worktrees
    /// (and the files copied into them) elsewhere.
    pub fn worktree_dir(&self, main_root: &Path) -> Result<PathBuf, ConfigError> {
        let (value, origin) = self.get(&WORKTREE_DIR);
        let path = PathBuf::from(&value);
        let invalid = |reason: String| ConfigError::Invalid {
            key: WORKTREE_DIR.name,
            value: value.escape_debug().to_string(),
            reason,
        };
        // Inside a `.git` directory worktrees would overwrite git's own files; a control
        // character cannot be written to info/exclude.
        let inside_git = |p: &Path| {
            p.components()
                .any(|c| c.as_os_str().eq_ignore_ascii_case(".git"))
        };
        if value.chars().any(char::is_control) {
            return Err(invalid("control characters are not allowed".into()));
        }
        if !value.is_empty() && value.trim().is_empty() {
            return Err(invalid(
                "only blanks: a directory named so is never what was meant".into(),
            ));
        }
        let root = crate::git::canonical(main_root);
        let dir = if origin == Origin::GitConfig {
            // git expands `~/` in pathname values; so do we (a directory named `~` is never
            // what was meant).
            let home = std::env::var_os("HOME").map(PathBuf::from);
            main_root.join(expand_home(&value, home.as_deref()).map_err(invalid)?)
        } else {
            if value.starts_with('~') {
                return Err(invalid(format!(
                    "{SHARED_FILE} is shared, so `~` is not expanded there; use a relative path inside the repository"
                )));
            }
            if path.is_absolute()
                || path
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return Err(invalid(format!(
                    "a value from {SHARED_FILE} must be a relative path inside the repository"
                )));
            }
            let resolved = crate::git::normalize(&root.join(&path));
            if !resolved.starts_with(&root) || resolved == root {
                return Err(invalid(format!(
                    "{} leads outside the repository (through a symlink?)",
                    resolved.display()
                )));
            }
            resolved
        };
        let below_root = |p: &Path| {
            let relative = p.strip_prefix(main_root).or_else(|_| p.strip_prefix(&root));
            relative.unwrap_or(p).to_owned()
        };
        if inside_git(&below_root(&dir)) || inside_git(&below_root(&crate::git::normalize(&dir))) {
            return Err(invalid(
                "worktrees cannot live inside a .git directory".into(),
            ));
        }
        if crate::git::normalize(&dir).parent().is_none() {
            return Err(invalid(
                "that is the file system's root; worktrees need a directory of their own (e.g. .worktrees)"
                    .into(),
            ));
        }
        // Empty or `.`: every session's worktree would sit among the repository's own files.
        if crate::git::normalize(&dir) == root || crate::git::normalize(&dir) == main_root {
            return Err(invalid(
                "that is the repository's root; worktrees need a directory of their own (e.g. .worktrees)"
                    .into(),
            ));
        }
        Ok(dir)
    }

    /// The branch name prefix. A `refs/heads/` in front is dropped: branch names are given
    /// without it, and keeping it would make `refs/heads/refs/heads/<name>`.
    pub fn branch_prefix(&self) -> Result<String, ConfigError> {
        let raw = self.string(&BRANCH_PREFIX);
        let value = raw.strip_prefix("refs/heads/").unwrap_or(&raw).to_owned();
        if !value.is_empty() {
            let probe = format!("{value}x");
            crate::session::name::validate(&probe).map_err(|e| ConfigError::Invalid {
                key: BRANCH_PREFIX.name,
                value: value.clone(),
                reason: e.rule.to_string(),
            })?;
        }
        Ok(value)
    }
}

/// `~` or `~/…` with `home` in place of the `~`; `~user` is refused (only the user's own
/// home is expanded).
fn expand_home(value: &str, home: Option<&Path>) -> Result<PathBuf, String> {
    let Some(rest) = value.strip_prefix('~') else {
        return Ok(PathBuf::from(value));
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err("only `~/` is expanded, not `~user`".into());
    }
    let home = home
        .filter(|h| !h.as_os_str().is_empty())
        .ok_or_else(|| "`~` cannot be expanded: HOME is not set".to_owned())?;
    Ok(home.join(rest.trim_start_matches('/')))
}

/// What `.git-session.yaml` says.
#[derive(Debug, Default)]
struct Shared {
    values: BTreeMap<&'static str, String>,
    lists: BTreeMap<&'static str, Vec<String>>,
    warnings: Vec<String>,
}

/// Parses `.git-session.yaml`: its known keys (with or without `session.`) by full name, and
/// warnings for unknown keys. A value of the wrong type is refused; a multi-valued key takes
/// a string or a list of strings.
fn parse_shared(text: &str) -> Result<Shared, ConfigError> {
    let mut shared = Shared::default();
    let (out, warnings) = (&mut shared.values, &mut shared.warnings);
    if text.trim().is_empty() {
        return Ok(shared);
    }
    let raw: BTreeMap<String, serde_json::Value> =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::SharedFile {
            reason: crate::session::model::yaml_problem_of(&e, "a settings file"),
        })?;
    let mut seen: BTreeMap<&'static str, String> = BTreeMap::new();
    for (written, value) in raw {
        let short = written.strip_prefix("session.").unwrap_or(&written);
        let Some(key) = ALL_KEYS.iter().find(|k| short_name(k) == short) else {
            warnings.push(unknown_key_warning(&written));
            continue;
        };
        if let Some(first) = seen.insert(key.name, written.clone()) {
            return Err(ConfigError::SharedDuplicate {
                key: key.name,
                first,
                second: written,
            });
        }
        if is_multi(key) {
            let items = match value {
                serde_json::Value::String(s) => vec![s],
                serde_json::Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        serde_json::Value::String(s) => Ok(s),
                        other => Err(ConfigError::SharedType {
                            key: written.clone(),
                            expected: "a list of strings",
                            found: type_name(&other),
                        }),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(ConfigError::SharedType {
                        key: written,
                        expected: "a string or a list of strings",
                        found: type_name(&other),
                    });
                }
            };
            shared.lists.insert(key.name, items);
            continue;
        }
        let numeric = key.name == FETCH_TIMEOUT_SECS.name
            || key.name == RETENTION_DAYS.name
            || key.name == TRASH_DAYS.name;
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(ConfigError::SharedType {
                    key: written,
                    expected: if numeric { "a number" } else { "a string" },
                    found: type_name(&other),
                });
            }
        };
        out.insert(key.name, text);
    }
    Ok(shared)
}

fn type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "empty",
        serde_json::Value::Bool(_) => "true/false",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

fn short_name(key: &Key) -> &'static str {
    key.name.trim_start_matches("session.")
}

/// "unknown key", naming the known key nearest to it when one is near enough to be a typo.
fn unknown_key_warning(written: &str) -> String {
    let short = written.strip_prefix("session.").unwrap_or(written);
    let nearest = ALL_KEYS
        .iter()
        .map(|k| {
            let distance = levenshtein(&short.to_lowercase(), &short_name(k).to_lowercase());
            (distance, short_name(k))
        })
        .min();
    match nearest {
        Some((distance, name)) if distance <= name.len().div_ceil(3) => {
            format!("{SHARED_FILE}: unknown key '{written}' is ignored (did you mean '{name}'?)")
        }
        _ => {
            let known: Vec<&str> = ALL_KEYS.iter().map(|k| short_name(k)).collect();
            format!(
                "{SHARED_FILE}: unknown key '{written}' is ignored (known keys: {})",
                known.join(", ")
            )
        }
    }
}

/// Edit distance (insertions, deletions, substitutions) between two strings, by characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    /// The shared file's parse errors read as the session metadata's do: in words, no
    /// second `error:` (a walk-through saw `budget breached: Nodes { nodes: 250001 }`).
    #[test]
    fn shared_file_parse_errors_are_said_in_words() {
        let said = |text: &str| super::parse_shared(text).err().unwrap().to_string();
        assert_eq!(
            said("remote: a\nremote: b\n"),
            ".git-session.yaml does not parse: a key appears twice"
        );
        let bomb = format!("a: &a [{}]\n", "x, ".repeat(300_000));
        assert_eq!(
            said(&bomb),
            ".git-session.yaml does not parse: it is larger or more deeply nested than a settings file can be"
        );
        assert!(!said("[unclosed").contains("error:"));
    }

    use super::*;

    #[test]
    fn shared_file_accepts_short_and_long_keys() {
        let Shared {
            values: map,
            warnings,
            ..
        } = parse_shared("worktreeDir: wt\nsession.branchPrefix: agent/\nretentionDays: 3\n")
            .unwrap();
        assert_eq!(map["session.worktreeDir"], "wt");
        assert_eq!(map["session.branchPrefix"], "agent/");
        assert_eq!(map["session.retentionDays"], "3");
        assert!(warnings.is_empty());
        assert!(parse_shared("[not a map").is_err());
        assert!(parse_shared("worktreeDir: a\nsession.worktreeDir: b\n").is_err());
    }

    #[test]
    fn shared_file_refuses_wrong_types_and_warns_on_unknown_keys() {
        let err = parse_shared("worktreeDir: [1, 2]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            ".git-session.yaml: worktreeDir must be a string, not a list"
        );
        let err = parse_shared("retentionDays: true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a number, not true/false"), "{err}");
        let Shared {
            values: map,
            warnings,
            ..
        } = parse_shared("worktreDir: wt\nsetup: [a]\n").unwrap();
        assert!(map.is_empty());
        assert_eq!(
            warnings,
            [
                ".git-session.yaml: unknown key 'setup' is ignored (known keys: worktreeDir, branchPrefix, baseRef, remote, fetchTimeout, retentionDays, trashDays, opLogDays, ownsPolicy, landInto, landStrategy, preLand, syncStrategy, autoSync, hookTimeout, checkpointInterval, postCreate, portRange, pushSecrets, agentStaleAfter, notify, agentCommand)",
                ".git-session.yaml: unknown key 'worktreDir' is ignored (did you mean 'worktreeDir'?)",
            ]
        );
        let warnings = parse_shared("session.retentiondays: 3\n").unwrap().warnings;
        assert!(
            warnings[0].ends_with("(did you mean 'retentionDays'?)"),
            "{warnings:?}"
        );
    }

    impl Config {
        fn empty() -> Config {
            Config {
                git: BTreeMap::new(),
                shared: BTreeMap::new(),
                git_lists: BTreeMap::new(),
                shared_lists: BTreeMap::new(),
                warnings: Vec::new(),
            }
        }
    }

    #[test]
    fn post_create_is_a_list_from_git_config_or_the_file() {
        let shared = parse_shared("postCreate:\n  - npm ci\n  - make setup\n").unwrap();
        let mut config = Config {
            shared_lists: shared.lists,
            ..Config::empty()
        };
        let values = |c: &Config| -> Vec<(String, Origin)> {
            c.list(&POST_CREATE)
                .into_iter()
                .map(|i| (i.value, i.origin))
                .collect()
        };
        assert_eq!(
            values(&config),
            [
                ("npm ci".to_owned(), Origin::SharedFile),
                ("make setup".to_owned(), Origin::SharedFile)
            ]
        );
        config
            .git_lists
            .insert(POST_CREATE.name, vec!["a".into(), "".into(), "b".into()]);
        assert_eq!(values(&config), [("b".to_owned(), Origin::GitConfig)]);
        config.git_lists.insert(POST_CREATE.name, vec!["".into()]);
        assert!(values(&config).is_empty());
        let one = parse_shared("session.postCreate: npm ci\n").unwrap();
        assert_eq!(one.lists[POST_CREATE.name], ["npm ci"]);
        let err = parse_shared("postCreate: [1]\n").unwrap_err().to_string();
        assert_eq!(
            err,
            ".git-session.yaml: postCreate must be a list of strings, not a number"
        );
    }

    #[test]
    fn port_range_is_checked() {
        let mut config = Config::empty();
        assert_eq!(config.port_range().unwrap(), (10000, 19999));
        for bad in ["20-10", "80-90", "x", "3000", "1-70000"] {
            config.git.insert(PORT_RANGE.name, bad.into());
            assert!(config.port_range().is_err(), "{bad}");
        }
        config.git.insert(PORT_RANGE.name, " 3000 - 3009 ".into());
        assert_eq!(config.port_range().unwrap(), (3000, 3009));
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("remote", "remote"), 0);
        assert_eq!(levenshtein("baseRf", "baseRef"), 1);
    }

    #[test]
    fn home_is_expanded_for_git_config_values_only() {
        let home = Path::new("/home/u");
        assert_eq!(
            expand_home("~/wt", Some(home)).unwrap(),
            Path::new("/home/u/wt")
        );
        assert_eq!(expand_home("~", Some(home)).unwrap(), Path::new("/home/u"));
        assert_eq!(expand_home("a/~", Some(home)).unwrap(), Path::new("a/~"));
        assert!(expand_home("~bob/wt", Some(home)).is_err());
        assert!(expand_home("~/wt", None).is_err());
        let config = Config {
            git: BTreeMap::new(),
            shared: BTreeMap::from([(WORKTREE_DIR.name, "~/wt".to_owned())]),
            ..Config::empty()
        };
        let err = config
            .worktree_dir(Path::new("/repo"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`~` is not expanded"), "{err}");
    }

    #[test]
    fn branch_prefix_drops_refs_heads() {
        let config = Config {
            git: BTreeMap::from([(BRANCH_PREFIX.name, "refs/heads/agent/".to_owned())]),
            shared: BTreeMap::new(),
            ..Config::empty()
        };
        assert_eq!(config.branch_prefix().unwrap(), "agent/");
    }

    #[test]
    fn shared_worktree_dir_cannot_leave_the_repository() {
        let mut config = Config {
            git: BTreeMap::new(),
            shared: BTreeMap::new(),
            ..Config::empty()
        };
        config.shared.insert(WORKTREE_DIR.name, "../outside".into());
        assert!(config.worktree_dir(Path::new("/repo")).is_err());
        config.shared.insert(WORKTREE_DIR.name, "/tmp/x".into());
        assert!(config.worktree_dir(Path::new("/repo")).is_err());
        config
            .shared
            .insert(WORKTREE_DIR.name, "wt/sessions".into());
        assert_eq!(
            config.worktree_dir(Path::new("/repo")).unwrap(),
            PathBuf::from("/repo/wt/sessions")
        );
        config.git.insert(WORKTREE_DIR.name, "../elsewhere".into());
        assert_eq!(
            config.worktree_dir(Path::new("/repo")).unwrap(),
            PathBuf::from("/repo/../elsewhere")
        );
    }
}
