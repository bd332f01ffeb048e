//! Settings: `session.*` keys, each named once here with its default. Precedence is
//! command-line flag > git config > `.git-session.yaml` (tracked, shared by a team) > default.
//!
//! `.git-session.yaml` arrives with a pull, so values read from it are checked before use:
//! a worktree directory from it must stay inside the main worktree.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::git::Repo;

pub const SHARED_FILE: &str = ".git-session.yaml";

/// A configuration key and its built-in default.
pub struct Key {
    /// The git config name, e.g. `session.worktreeDir`.
    pub name: &'static str,
    pub default: &'static str,
}

pub const WORKTREE_DIR: Key = Key {
    name: "session.worktreeDir",
    default: ".worktrees",
};
pub const BRANCH_PREFIX: Key = Key {
    name: "session.branchPrefix",
    default: "session/",
};
pub const BASE_REF: Key = Key {
    name: "session.baseRef",
    default: "fresh",
};
pub const REMOTE: Key = Key {
    name: "session.remote",
    default: "origin",
};
pub const FETCH_TIMEOUT_SECS: Key = Key {
    name: "session.fetchTimeout",
    default: "5",
};
pub const RETENTION_DAYS: Key = Key {
    name: "session.retentionDays",
    default: "7",
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{SHARED_FILE} does not parse: {reason}")]
    SharedFile { reason: String },
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
    shared: BTreeMap<String, String>,
}

const ALL_KEYS: &[&Key] = &[
    &WORKTREE_DIR,
    &BRANCH_PREFIX,
    &BASE_REF,
    &REMOTE,
    &FETCH_TIMEOUT_SECS,
    &RETENTION_DAYS,
];

impl Config {
    /// Reads git config through `repo` and `.git-session.yaml` from the main worktree root.
    pub fn load(repo: &Repo, main_root: Option<&Path>) -> Result<Config, ConfigError> {
        let git = ALL_KEYS
            .iter()
            .filter_map(|k| repo.config_string(k.name).map(|v| (k.name, v)))
            .collect();
        let shared = match main_root.map(|r| r.join(SHARED_FILE)) {
            Some(path) if path.is_file() => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::SharedFile {
                    reason: e.to_string(),
                })?;
                parse_shared(&text)?
            }
            _ => BTreeMap::new(),
        };
        Ok(Config { git, shared })
    }

    /// The value of `key` and where it came from.
    pub fn get(&self, key: &Key) -> (String, Origin) {
        if let Some(v) = self.git.get(key.name) {
            return (v.clone(), Origin::GitConfig);
        }
        let short = key.name.trim_start_matches("session.");
        if let Some(v) = self.shared.get(key.name).or_else(|| self.shared.get(short)) {
            return (v.clone(), Origin::SharedFile);
        }
        (key.default.to_owned(), Origin::Default)
    }

    pub fn string(&self, key: &Key) -> String {
        self.get(key).0
    }

    /// A whole number within `range`: a tracked file must not be able to make git-session
    /// misbehave (a retention of 10^15 days overflowing into "everything is stale").
    pub fn number(
        &self,
        key: &'static Key,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
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
        let root = crate::git::canonical(main_root);
        let dir = if origin == Origin::GitConfig {
            main_root.join(path)
        } else {
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
        Ok(dir)
    }

    pub fn branch_prefix(&self) -> Result<String, ConfigError> {
        let value = self.string(&BRANCH_PREFIX);
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

fn parse_shared(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let raw: BTreeMap<String, serde_json::Value> =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::SharedFile {
            reason: e.to_string().lines().next().unwrap_or("").to_owned(),
        })?;
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue, // lists and maps are for later keys (e.g. setup commands)
        };
        out.insert(key, text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_file_accepts_short_and_long_keys() {
        let map = parse_shared(
            "worktreeDir: wt\nsession.branchPrefix: agent/\nretentionDays: 3\nsetup: [a, b]\n",
        )
        .unwrap();
        assert_eq!(map["worktreeDir"], "wt");
        assert_eq!(map["session.branchPrefix"], "agent/");
        assert_eq!(map["retentionDays"], "3");
        assert!(!map.contains_key("setup"));
        assert!(parse_shared("[not a map").is_err());
    }

    #[test]
    fn shared_worktree_dir_cannot_leave_the_repository() {
        let mut config = Config {
            git: BTreeMap::new(),
            shared: BTreeMap::new(),
        };
        config
            .shared
            .insert("worktreeDir".into(), "../outside".into());
        assert!(config.worktree_dir(Path::new("/repo")).is_err());
        config.shared.insert("worktreeDir".into(), "/tmp/x".into());
        assert!(config.worktree_dir(Path::new("/repo")).is_err());
        config
            .shared
            .insert("worktreeDir".into(), "wt/sessions".into());
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
