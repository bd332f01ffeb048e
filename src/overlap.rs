//! Which live sessions are heading for the same files, judged from their footprints: for each
//! pair, the files both changed since their merge base (a file both changed to the same
//! content is no collision) and which of those a merge would leave conflicted; for each
//! session, the files it changed outside what it claims (`owns`) and inside what another
//! claims, and which of its files would conflict with its base ref's newer tip.
//!
//! Pure: what git knows (diffs, merge bases, trial merges) comes through [`Oracle`], so the
//! rules here are tested on their own. Trial merges run only where both sides changed a
//! file, which is the only place a textual conflict can come from.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::git::merge::ChangedFile;
use crate::git::pathspec::Owns;

/// A session as the analysis sees it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub name: String,
    pub id: String,
    pub owns: Vec<String>,
    /// Its base ref, for the words of a base conflict.
    pub base_ref: String,
}

/// What git answers about the sessions, by their index in the list given to [`analyze`].
pub trait Oracle {
    type Error;
    /// The files session `i` changed since it left its base.
    fn own_changes(&mut self, i: usize) -> Result<Vec<ChangedFile>, Self::Error>;
    /// The files sessions `i` and `j` each changed since their merge base (None: their
    /// histories share nothing).
    #[allow(clippy::type_complexity)]
    fn pair_changes(
        &mut self,
        i: usize,
        j: usize,
    ) -> Result<Option<(Vec<ChangedFile>, Vec<ChangedFile>)>, Self::Error>;
    /// The files a merge of `i`'s and `j`'s work would leave conflicted.
    fn pair_conflicts(&mut self, i: usize, j: usize) -> Result<Vec<String>, Self::Error>;
    /// The files session `i`'s base ref changed since `i` left it (None: not known here, or
    /// it has not moved).
    fn base_changes(&mut self, i: usize) -> Result<Option<Vec<ChangedFile>>, Self::Error>;
    /// The files a merge of `i`'s work into its base ref's tip would leave conflicted.
    fn base_conflicts(&mut self, i: usize) -> Result<Vec<String>, Self::Error>;
}

/// Two sessions that changed the same files.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Pair {
    /// The two names.
    pub sessions: [String; 2],
    /// Files both changed (to different content).
    pub files: Vec<String>,
    /// Those of them a merge would leave conflicted; empty when they merge cleanly.
    pub conflicts: Vec<String>,
}

/// One session's own findings.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionOverlap {
    pub name: String,
    pub owns: Vec<String>,
    /// How many files it changed since it left its base.
    pub changed: usize,
    /// Files it changed that its `owns` does not claim (empty when it claims nothing).
    pub outside_owned: Vec<String>,
    /// Another session's name → the files of that session's `owns` changed here.
    pub in_owned_by: BTreeMap<String, Vec<String>>,
    /// Files that would conflict with its base ref's tip.
    pub conflicts_with_base: Vec<String>,
    pub base_ref: String,
}

/// The whole judgement.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Report {
    /// Overlapping pairs, riskiest first.
    pub pairs: Vec<Pair>,
    pub sessions: Vec<SessionOverlap>,
}

impl Report {
    /// The sessions `name` shares files with.
    pub fn partners(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .pairs
            .iter()
            .filter_map(|p| match &p.sessions {
                [a, b] if a == name => Some(b.clone()),
                [a, b] if b == name => Some(a.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// How far to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Shared files and claims only (what `list` shows).
    Files,
    /// Trial merges too: which shared files would conflict, with each other and the base.
    Conflicts,
}

/// Judges `claims` (with `focus`, only the pairs and the entry of that session).
pub fn analyze<O: Oracle>(
    claims: &[Claim],
    focus: Option<&str>,
    depth: Depth,
    oracle: &mut O,
) -> Result<Report, O::Error> {
    let mut owns: Vec<Owns> = claims
        .iter()
        // Checked when recorded or fetched; one that does not compile claims nothing.
        .map(|c| Owns::new(&c.owns).unwrap_or_else(|_| Owns::new(&[]).expect("empty")))
        .collect();
    let in_focus = |i: usize| focus.is_none_or(|f| claims[i].name == f);
    let mut report = Report::default();
    for i in 0..claims.len() {
        for j in i + 1..claims.len() {
            if !(in_focus(i) || in_focus(j)) || claims[i].id == claims[j].id {
                continue;
            }
            let Some((a, b)) = oracle.pair_changes(i, j)? else {
                continue;
            };
            let files = shared(&a, &b);
            if files.is_empty() {
                continue;
            }
            let conflicts = match depth {
                Depth::Conflicts => oracle.pair_conflicts(i, j)?,
                Depth::Files => Vec::new(),
            };
            report.pairs.push(Pair {
                sessions: [claims[i].name.clone(), claims[j].name.clone()],
                files,
                conflicts,
            });
        }
    }
    report.pairs.sort_by(|x, y| {
        (y.conflicts.len(), y.files.len())
            .cmp(&(x.conflicts.len(), x.files.len()))
            .then_with(|| x.sessions.cmp(&y.sessions))
    });
    for i in (0..claims.len()).filter(|i| in_focus(*i)) {
        let changes = oracle.own_changes(i)?;
        let outside_owned = if owns[i].is_empty() {
            Vec::new()
        } else {
            changes
                .iter()
                .filter(|c| !owns[i].claims(&c.path))
                .map(|c| c.path.clone())
                .collect()
        };
        let mut in_owned_by = BTreeMap::new();
        for j in 0..claims.len() {
            if j == i || claims[j].id == claims[i].id || owns[j].is_empty() {
                continue;
            }
            let files: Vec<String> = changes
                .iter()
                .filter(|c| owns[j].claims(&c.path))
                .map(|c| c.path.clone())
                .collect();
            if !files.is_empty() {
                in_owned_by.insert(claims[j].name.clone(), files);
            }
        }
        let conflicts_with_base = match depth {
            Depth::Files => Vec::new(),
            Depth::Conflicts => match oracle.base_changes(i)? {
                Some(base) if !shared(&changes, &base).is_empty() => oracle.base_conflicts(i)?,
                _ => Vec::new(),
            },
        };
        report.sessions.push(SessionOverlap {
            name: claims[i].name.clone(),
            owns: claims[i].owns.clone(),
            changed: changes.len(),
            outside_owned,
            in_owned_by,
            conflicts_with_base,
            base_ref: claims[i].base_ref.clone(),
        });
    }
    Ok(report)
}

/// The paths both lists change, to different content (both sorted by path).
pub fn shared(a: &[ChangedFile], b: &[ChangedFile]) -> Vec<String> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].path.cmp(&b[j].path) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if a[i].blob != b[j].blob {
                    out.push(a[i].path.clone());
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// What the files `touched` (by a commit, an edit about to happen) run into: one line each
/// for a file another session changed or claims, or that lies outside `me`'s claim; at most
/// `limit` lines, the last saying how many more there were.
pub fn warnings(
    me: &Claim,
    touched: &[String],
    others: &[(Claim, Vec<String>)],
    limit: usize,
) -> Vec<String> {
    let mut mine = Owns::new(&me.owns).unwrap_or_else(|_| Owns::new(&[]).expect("empty"));
    let mut theirs: Vec<(&Claim, Owns, &Vec<String>)> = others
        .iter()
        .filter(|(c, _)| c.id != me.id)
        .map(|(c, changed)| {
            (
                c,
                Owns::new(&c.owns).unwrap_or_else(|_| Owns::new(&[]).expect("empty")),
                changed,
            )
        })
        .collect();
    let mut lines = Vec::new();
    for path in touched {
        for (claim, owns, changed) in &mut theirs {
            if owns.claims(path) {
                lines.push(format!(
                    "{path} is claimed by session '{}' (its owns)",
                    claim.name
                ));
            } else if changed.binary_search(path).is_ok() {
                lines.push(format!(
                    "{path} is also changed by session '{}'",
                    claim.name
                ));
            }
        }
        if !mine.is_empty() && !mine.claims(path) {
            lines.push(format!(
                "{path} is outside what session '{}' claims",
                me.name
            ));
        }
    }
    if lines.len() > limit {
        let more = lines.len() - (limit - 1);
        lines.truncate(limit - 1);
        lines.push(format!("… and {more} more"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, blob: &str) -> ChangedFile {
        ChangedFile {
            path: path.into(),
            blob: Some(blob.into()),
        }
    }

    fn claim(name: &str, owns: &[&str]) -> Claim {
        Claim {
            name: name.into(),
            id: format!("id-{name}"),
            owns: owns.iter().map(|s| s.to_string()).collect(),
            base_ref: "main".into(),
        }
    }

    /// A fake git: each session's changes relative to one shared base.
    struct Fake {
        changes: Vec<Vec<ChangedFile>>,
        conflicts: Vec<((usize, usize), Vec<String>)>,
        base: Vec<ChangedFile>,
        merges: usize,
    }

    impl Oracle for Fake {
        type Error = ();
        fn own_changes(&mut self, i: usize) -> Result<Vec<ChangedFile>, ()> {
            Ok(self.changes[i].clone())
        }
        fn pair_changes(
            &mut self,
            i: usize,
            j: usize,
        ) -> Result<Option<(Vec<ChangedFile>, Vec<ChangedFile>)>, ()> {
            Ok(Some((self.changes[i].clone(), self.changes[j].clone())))
        }
        fn pair_conflicts(&mut self, i: usize, j: usize) -> Result<Vec<String>, ()> {
            self.merges += 1;
            Ok(self
                .conflicts
                .iter()
                .find(|(p, _)| *p == (i, j))
                .map(|(_, c)| c.clone())
                .unwrap_or_default())
        }
        fn base_changes(&mut self, _: usize) -> Result<Option<Vec<ChangedFile>>, ()> {
            Ok(Some(self.base.clone()))
        }
        fn base_conflicts(&mut self, _: usize) -> Result<Vec<String>, ()> {
            Ok(vec!["shared.rs".into()])
        }
    }

    #[test]
    fn pairs_ownership_and_base() {
        let claims = [
            claim("a", &["src/a"]),
            claim("b", &["src/b", ":!src/b/gen"]),
            claim("c", &[]),
        ];
        let mut fake = Fake {
            changes: vec![
                vec![
                    change("shared.rs", "1"),
                    change("src/a/x.rs", "1"),
                    change("src/b/y.rs", "1"),
                ],
                vec![change("shared.rs", "2"), change("src/b/gen/t.rs", "1")],
                vec![change("src/a/x.rs", "1"), change("z.rs", "1")],
            ],
            conflicts: vec![((0, 1), vec!["shared.rs".into()])],
            base: vec![change("shared.rs", "3")],
            merges: 0,
        };
        let report = analyze(&claims, None, Depth::Conflicts, &mut fake).unwrap();
        // a–c both changed src/a/x.rs to the same content: no collision, no trial merge.
        assert_eq!(
            report.pairs,
            [Pair {
                sessions: ["a".into(), "b".into()],
                files: vec!["shared.rs".into()],
                conflicts: vec!["shared.rs".into()],
            }]
        );
        assert_eq!(fake.merges, 1);
        let a = &report.sessions[0];
        assert_eq!(a.outside_owned, ["shared.rs", "src/b/y.rs"]);
        assert_eq!(
            a.in_owned_by,
            BTreeMap::from([("b".to_string(), vec!["src/b/y.rs".to_string()])])
        );
        assert_eq!(a.conflicts_with_base, ["shared.rs"]);
        // b's own exclusion: src/b/gen is not b's, and nobody else claims it.
        let b = &report.sessions[1];
        assert_eq!(b.outside_owned, ["shared.rs", "src/b/gen/t.rs"]);
        assert!(b.in_owned_by.is_empty());
        // c claims nothing: nothing is outside; it changed a's file.
        let c = &report.sessions[2];
        assert!(c.outside_owned.is_empty());
        assert_eq!(c.in_owned_by.keys().collect::<Vec<_>>(), ["a"]);
        assert!(c.conflicts_with_base.is_empty());
        assert_eq!(report.partners("a"), ["b"]);
        // Focused on c: only c's pairs and entry.
        let only_c = analyze(&claims, Some("c"), Depth::Conflicts, &mut fake).unwrap();
        // Files only: no trial merge.
        let merges = fake.merges;
        let files = analyze(&claims, None, Depth::Files, &mut fake).unwrap();
        assert_eq!(fake.merges, merges);
        assert!(files.pairs[0].conflicts.is_empty());
        assert!(only_c.pairs.is_empty());
        assert_eq!(only_c.sessions.len(), 1);
    }

    #[test]
    fn warnings_name_the_file_and_the_session_at_most_five() {
        let me = claim("me", &["src/me"]);
        let others = vec![
            (claim("a", &["src/a"]), vec![]),
            (claim("b", &[]), vec!["README.md".to_string()]),
        ];
        let lines = warnings(
            &me,
            &[
                "src/me/ok.rs".into(),
                "src/a/x.rs".into(),
                "README.md".into(),
            ],
            &others,
            5,
        );
        assert_eq!(
            lines,
            [
                "src/a/x.rs is claimed by session 'a' (its owns)",
                "src/a/x.rs is outside what session 'me' claims",
                "README.md is also changed by session 'b'",
                "README.md is outside what session 'me' claims",
            ]
        );
        let many: Vec<String> = (0..10).map(|i| format!("src/a/{i}")).collect();
        let lines = warnings(&claim("x", &[]), &many, &others, 5);
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4], "… and 6 more");
        assert!(warnings(&me, &["src/me/a".into()], &others, 5).is_empty());
    }
}
