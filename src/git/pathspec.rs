//! Path claims (`owns`): git pathspecs, parsed and matched as git does (`:(glob)`, `:(icase)`,
//! `:(literal)`, `:!`/`:^`/`:(exclude)` exclusions, a directory matching everything under it),
//! against repository-relative paths, with no worktree. A session's `owns` can arrive with a
//! fetch, so each pathspec is checked before use: no absolute path, no `..`, no attribute
//! magic (it would read `.gitattributes` from somewhere), nothing over 1,024 bytes.

use gix::bstr::{BStr, ByteSlice};
use gix::pathspec::{Defaults, MagicSignature, Search};

/// At most this many pathspecs in one `owns`.
pub const MAX_SPECS: usize = 100;
const MAX_SPEC_BYTES: usize = 1024;

/// Why a pathspec is refused, in words.
pub fn check(spec: &str) -> Result<gix::pathspec::Pattern, String> {
    if spec.is_empty() {
        return Err("an empty pathspec".into());
    }
    if spec.len() > MAX_SPEC_BYTES {
        return Err(format!("a pathspec over {MAX_SPEC_BYTES} bytes"));
    }
    if spec.chars().any(char::is_control) {
        return Err(format!(
            "pathspec '{}' holds a control character",
            spec.escape_debug()
        ));
    }
    let pattern = gix::pathspec::parse(spec.as_bytes(), Defaults::default())
        .map_err(|e| format!("'{spec}' is not a pathspec: {}", crate::text::one_line(&e)))?;
    if !pattern.attributes.is_empty() {
        return Err(format!(
            "pathspec '{spec}': attribute magic (:(attr:…)) is not supported in owns"
        ));
    }
    let path = pattern.path();
    if path.starts_with(b"/") {
        return Err(format!(
            "pathspec '{spec}' is an absolute path (owns is relative to the repository root)"
        ));
    }
    if path.split(|b| *b == b'/').any(|c| c == b"..") {
        return Err(format!("pathspec '{spec}' reaches outside with '..'"));
    }
    Ok(pattern)
}

/// A compiled `owns`: which repository-relative paths it claims. Empty claims nothing (not
/// everything, as an empty pathspec would in git).
#[derive(Clone)]
pub struct Owns {
    search: Option<Search>,
}

impl std::fmt::Debug for Owns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owns")
            .field("empty", &self.search.is_none())
            .finish()
    }
}

impl Owns {
    /// Compiles `specs` (each checked as [`check`] does).
    pub fn new(specs: &[String]) -> Result<Owns, String> {
        if specs.is_empty() {
            return Ok(Owns { search: None });
        }
        if specs.len() > MAX_SPECS {
            return Err(format!("more than {MAX_SPECS} pathspecs"));
        }
        let patterns = specs
            .iter()
            .map(|s| check(s))
            .collect::<Result<Vec<_>, _>>()?;
        // Patterns are relative to the root; the root path only matters for absolute ones,
        // which were refused above.
        let search = Search::from_specs(patterns, None, std::path::Path::new("/"))
            .map_err(|e| crate::text::one_line(&e))?;
        Ok(Owns {
            search: Some(search),
        })
    }

    /// Whether it claims nothing.
    pub fn is_empty(&self) -> bool {
        self.search.is_none()
    }

    /// Whether the file at the repository-relative `path` is claimed.
    pub fn claims(&mut self, path: &str) -> bool {
        let Some(search) = &mut self.search else {
            return false;
        };
        let path: &BStr = path.as_bytes().as_bstr();
        search
            .pattern_matching_relative_path(path, Some(false), &mut |_, _, _, _| false)
            .is_some_and(|m| !m.is_excluded())
    }
}

/// Whether a pathspec is an exclusion (`:!x`, `:^x`, `:(exclude)x`).
pub fn is_exclusion(spec: &str) -> bool {
    check(spec).is_ok_and(|p| p.signature.contains(MagicSignature::EXCLUDE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owns(specs: &[&str]) -> Owns {
        Owns::new(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn directories_globs_and_exclusions_match_as_git_does() {
        let mut o = owns(&["apps/handbook", ":(glob)lib/**/*.rs", ":!apps/handbook/gen"]);
        assert!(o.claims("apps/handbook/app/page.tsx"));
        assert!(o.claims("apps/handbook"));
        assert!(!o.claims("apps/handbook/gen/types.ts"));
        assert!(!o.claims("apps/handbookish/x"));
        assert!(o.claims("lib/a/b/c.rs"));
        assert!(o.claims("lib/c.rs"));
        assert!(!o.claims("lib/c.py"));
        assert!(!o.claims("README.md"));
        // Shell glob by default: `*` crosses directories, as in `git ls-files '*.md'`.
        let mut md = owns(&["*.md"]);
        assert!(md.claims("README.md") && md.claims("docs/guide.md"));
        // Exclusions alone: everything but them, as in git.
        let mut but = owns(&[":!vendor"]);
        assert!(but.claims("src/main.rs") && !but.claims("vendor/x.c"));
        let mut icase = owns(&[":(icase)docs"]);
        assert!(icase.claims("DOCS/a.md"));
        assert!(!owns(&[]).claims("anything"));
    }

    #[test]
    fn hostile_pathspecs_are_refused() {
        for bad in [
            "/etc/passwd",
            "../outside",
            "a/../../b",
            ":(glob)/abs",
            ":(attr:secret)x",
            "",
            "a\u{1b}[31m",
            "a\nb",
        ] {
            assert!(check(bad).is_err(), "accepted {bad:?}");
        }
        assert!(check(&"a".repeat(2000)).is_err());
        assert!(Owns::new(&vec!["a".to_string(); 101]).is_err());
        for good in [
            "src",
            ":(glob)**/*.rs",
            ":!gen",
            ":^gen",
            ":(exclude,glob)x/*",
            "a..b",
        ] {
            assert!(check(good).is_ok(), "refused {good:?}");
        }
        assert!(is_exclusion(":!gen") && !is_exclusion("gen"));
    }
}
