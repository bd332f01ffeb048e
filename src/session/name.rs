//! Session names: `git check-ref-format` rules for one or more ref components (so
//! `feature/auth` is fine), at most 100 bytes, and readable generated names.

use std::fmt;

pub const MAX_NAME_BYTES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session name '{}': {rule}", crate::text::escape(name))]
pub struct NameError {
    pub name: String,
    pub rule: NameRule,
}

/// The rule a rejected name broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Empty,
    TooLong,
    ForbiddenCharacter(char),
    ControlCharacter,
    /// Zero-width, direction or other invisible format characters, or C1 controls: refused
    /// in new names only ([`validate_new`]), so sessions named so before stay readable.
    Invisible,
    EmptyComponent,
    ComponentStartsWithDot,
    ComponentEndsWithLock,
    DoubleDot,
    EndsWithDot,
    AtBrace,
    LoneAt,
    LeadingDash,
    Head,
    /// A branch spelled as a ref (`refs/heads/main`): git would make `refs/heads/refs/…`.
    RefsPrefix,
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameRule::Empty => write!(f, "a name must not be empty"),
            NameRule::TooLong => write!(f, "a name must be at most {MAX_NAME_BYTES} bytes"),
            NameRule::ForbiddenCharacter(c) => {
                write!(
                    f,
                    "a name must not contain '{c}' (git ref names forbid space ~ ^ : ? * [ \\)"
                )
            }
            NameRule::ControlCharacter => write!(f, "a name must not contain control characters"),
            NameRule::Invisible => write!(
                f,
                "a new name must not contain characters that print as nothing or reorder text"
            ),
            NameRule::EmptyComponent => {
                write!(f, "a name must not begin or end with '/' or contain '//'")
            }
            NameRule::ComponentStartsWithDot => write!(f, "no part of a name may begin with '.'"),
            NameRule::ComponentEndsWithLock => write!(f, "no part of a name may end with '.lock'"),
            NameRule::DoubleDot => write!(f, "a name must not contain '..'"),
            NameRule::EndsWithDot => write!(f, "a name must not end with '.'"),
            NameRule::AtBrace => write!(f, "a name must not contain '@{{'"),
            NameRule::LoneAt => write!(f, "a name must not be '@'"),
            NameRule::LeadingDash => write!(f, "a name must not begin with '-'"),
            NameRule::Head => write!(f, "a branch must not be named 'HEAD'"),
            NameRule::RefsPrefix => write!(
                f,
                "a branch must not begin with 'refs/' (its short name, as 'main' for refs/heads/main)"
            ),
        }
    }
}

/// Checks `name` against git's ref-name rules (plus: no leading `-`, at most 100 bytes).
pub fn validate(name: &str) -> Result<(), NameError> {
    let fail = |rule| {
        Err(NameError {
            name: name.to_owned(),
            rule,
        })
    };
    if name.is_empty() {
        return fail(NameRule::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return fail(NameRule::TooLong);
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_control()) {
        let _ = c;
        return fail(NameRule::ControlCharacter);
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return fail(NameRule::ForbiddenCharacter(c));
    }
    if name == "@" {
        return fail(NameRule::LoneAt);
    }
    if name.contains("@{") {
        return fail(NameRule::AtBrace);
    }
    if name.contains("..") {
        return fail(NameRule::DoubleDot);
    }
    if name.starts_with('-') {
        return fail(NameRule::LeadingDash);
    }
    for component in name.split('/') {
        if component.is_empty() {
            return fail(NameRule::EmptyComponent);
        }
        if component.starts_with('.') {
            return fail(NameRule::ComponentStartsWithDot);
        }
        if component.ends_with(".lock") {
            return fail(NameRule::ComponentEndsWithLock);
        }
    }
    if name.ends_with('.') {
        return fail(NameRule::EndsWithDot);
    }
    Ok(())
}

/// Checks a name a session is about to take (`new`, `fork`, `rename`, `restore --as`):
/// [`validate`], and nothing that prints as nothing or reorders text (`zw\u{200b}x` reads
/// as `zwx`) nor a C1 control. Names read from existing refs are checked by [`validate`]
/// alone.
pub fn validate_new(name: &str) -> Result<(), NameError> {
    validate(name)?;
    if name
        .chars()
        .any(|c| c.is_control() || crate::text::is_invisible_format(c))
    {
        return Err(NameError {
            name: name.to_owned(),
            rule: NameRule::Invisible,
        });
    }
    Ok(())
}

/// Checks a branch name: [`validate`], not `HEAD` (git refuses it as a branch name; a
/// session named so has the branch `session/HEAD`, unless the prefix is empty), and not
/// spelled as a ref (`refs/heads/main` would be the branch `refs/heads/refs/heads/main`,
/// which `git branch` lists as `refs/heads/main` beside `main`).
pub fn validate_branch(branch: &str) -> Result<(), NameError> {
    validate(branch)?;
    let rule = if branch == "HEAD" {
        NameRule::Head
    } else if branch.starts_with("refs/") {
        NameRule::RefsPrefix
    } else {
        return Ok(());
    };
    Err(NameError {
        name: branch.to_owned(),
        rule,
    })
}

/// Whether two names cannot both exist as refs (`a` and `a/b`, or equal).
pub fn collides(a: &str, b: &str) -> bool {
    a == b || below(a, b) || below(b, a)
}

fn below(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

const ADJECTIVES: &[&str] = &[
    "bright", "calm", "clever", "eager", "gentle", "happy", "keen", "lively", "lucky", "mellow",
    "nimble", "proud", "quick", "quiet", "rapid", "shiny", "silent", "steady", "swift", "tidy",
    "brave", "bold",
];
const VERBS: &[&str] = &[
    "running",
    "jumping",
    "flying",
    "singing",
    "dancing",
    "coding",
    "reading",
    "drifting",
    "glowing",
    "hiking",
    "humming",
    "roaming",
    "sailing",
    "skipping",
    "wandering",
    "whistling",
];
const NOUNS: &[&str] = &[
    "fox", "otter", "falcon", "badger", "heron", "lynx", "panda", "raven", "salmon", "tiger",
    "walrus", "yak", "zebra", "beaver", "koala", "marten", "osprey", "puffin", "quokka", "wombat",
];

/// A readable name like `bright-running-fox`, picked by `seed`.
pub fn generated(seed: u64) -> String {
    let a = ADJECTIVES[(seed % ADJECTIVES.len() as u64) as usize];
    let v = VERBS[((seed / 97) % VERBS.len() as u64) as usize];
    let n = NOUNS[((seed / 9973) % NOUNS.len() as u64) as usize];
    format!("{a}-{v}-{n}")
}

/// A seed that differs between calls and processes.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ref_like_names() {
        for ok in [
            "auth",
            "feature/auth",
            "fix-1234",
            "ünïcødé",
            "a.b",
            "pr-12",
            "x@y",
        ] {
            validate(ok).unwrap();
        }
    }

    #[test]
    fn rejects_with_the_rule_broken() {
        let cases = [
            ("", NameRule::Empty),
            ("a b", NameRule::ForbiddenCharacter(' ')),
            ("a~1", NameRule::ForbiddenCharacter('~')),
            ("a:b", NameRule::ForbiddenCharacter(':')),
            ("a\\b", NameRule::ForbiddenCharacter('\\')),
            ("a\tb", NameRule::ControlCharacter),
            ("/a", NameRule::EmptyComponent),
            ("a//b", NameRule::EmptyComponent),
            ("a/", NameRule::EmptyComponent),
            ("../x", NameRule::DoubleDot),
            (".hidden", NameRule::ComponentStartsWithDot),
            ("a/.b", NameRule::ComponentStartsWithDot),
            ("a.lock", NameRule::ComponentEndsWithLock),
            ("a.", NameRule::EndsWithDot),
            ("a@{1}", NameRule::AtBrace),
            ("@", NameRule::LoneAt),
            ("-rf", NameRule::LeadingDash),
        ];
        for (name, rule) in cases {
            assert_eq!(validate(name).unwrap_err().rule, rule, "{name:?}");
        }
        assert_eq!(
            validate(&"x".repeat(101)).unwrap_err().rule,
            NameRule::TooLong
        );
        validate(&"x".repeat(100)).unwrap();
        validate("HEAD").unwrap();
        assert_eq!(validate_branch("HEAD").unwrap_err().rule, NameRule::Head);
        validate_branch("session/HEAD").unwrap();
        for spelled_as_ref in ["refs/heads/main", "refs/tags/v1", "refs/x"] {
            assert_eq!(
                validate_branch(spelled_as_ref).unwrap_err().rule,
                NameRule::RefsPrefix
            );
        }
        validate_branch("session/refs/x").unwrap();
    }

    /// Invisible and reordering characters are refused in new names only: a session named
    /// so before stays readable, removable and renamable.
    #[test]
    fn invisible_characters_are_refused_in_new_names_only() {
        for name in ["zw\u{200b}x", "rtl\u{202e}x", "c1\u{85}x", "bom\u{feff}"] {
            assert!(validate(name).is_ok(), "{name:?}");
            assert_eq!(
                validate_new(name).unwrap_err().rule,
                NameRule::Invisible,
                "{name:?}"
            );
        }
        assert!(validate_new("plain-ü").is_ok());
    }

    #[test]
    fn prefix_collisions() {
        assert!(collides("a", "a/b"));
        assert!(collides("a/b", "a"));
        assert!(collides("a", "a"));
        assert!(!collides("a", "ab"));
        assert!(!collides("a/b", "a/c"));
    }

    #[test]
    fn generated_names_are_valid() {
        for seed in [0, 1, 12345, u64::MAX] {
            let name = generated(seed);
            validate(&name).unwrap();
            assert_eq!(name.split('-').count(), 3);
        }
    }
}
