//! Commit provenance: a note in `refs/notes/sessions` on each commit made in a session's
//! worktree (`session: <name>`, `id: <id>`, the agent when one is recorded), so
//! `git log --notes=sessions` shows where work came from (DESIGN §2).
//!
//! A note already on the commit (another session's, another tool's, one added by hand) is
//! kept: ours is appended, once. This module decides the text; the post-commit hook writes it.

use crate::session::SessionMeta;

pub const NOTES_REF: &str = "refs/notes/sessions";

/// Our lines for a commit made in `meta`'s session.
pub fn note_text(meta: &SessionMeta) -> String {
    // One line per field: a value from a fetched session.yaml cannot add lines.
    let line = |v: &str| v.replace(['\n', '\r'], " ");
    let mut text = format!("session: {}\nid: {}\n", line(&meta.name), line(&meta.id));
    if let Some(agent) = &meta.agent {
        text.push_str(&format!("agent: {}", line(&agent.tool)));
        if let Some(id) = &agent.session_id {
            text.push_str(&format!(" {}", line(id)));
        }
        text.push('\n');
    }
    text
}

/// The note with `ours` appended to `existing`, or None when `existing` already holds it.
pub fn appended(existing: Option<&[u8]>, ours: &str) -> Option<Vec<u8>> {
    let Some(existing) = existing.filter(|e| !e.is_empty()) else {
        return Some(ours.as_bytes().to_vec());
    };
    let text = String::from_utf8_lossy(existing);
    let id_line = ours.lines().nth(1).unwrap_or(ours);
    if text.lines().any(|l| l == id_line) {
        return None;
    }
    let mut out = existing.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(ours.as_bytes());
    Some(out)
}

/// The note with repeated paragraphs dropped (the first of each kept), or None when it has
/// none: `git commit --amend` runs post-commit before it copies the old commit's note over
/// (`notes.rewriteMode` concatenates), which would otherwise repeat ours.
pub fn deduplicated(note: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(note);
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .collect();
    // Only our own paragraphs (`session:` then `id:`) are deduplicated; other text stays.
    let ours = |p: &str| {
        p.starts_with("session: ") && p.lines().nth(1).is_some_and(|l| l.starts_with("id: "))
    };
    let mut kept: Vec<&str> = Vec::new();
    for paragraph in &paragraphs {
        if !(ours(paragraph) && kept.iter().any(|k| k.trim() == paragraph.trim())) {
            kept.push(paragraph);
        }
    }
    if kept.len() == paragraphs.len() {
        return None;
    }
    let mut out = kept.join("\n\n");
    out.push('\n');
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_once_and_keeps_what_is_there() {
        let ours = "session: a\nid: 1\n";
        assert_eq!(appended(None, ours).unwrap(), ours.as_bytes());
        let by_hand = b"reviewed by Ann\n";
        let both = appended(Some(by_hand), ours).unwrap();
        assert_eq!(both, b"reviewed by Ann\n\nsession: a\nid: 1\n");
        assert_eq!(appended(Some(&both), ours), None, "appended once");
        let twice = b"session: a\nid: 1\n\nsession: a\nid: 1\n\nreviewed\n";
        assert_eq!(
            deduplicated(twice).unwrap(),
            b"session: a\nid: 1\n\nreviewed\n"
        );
        assert_eq!(deduplicated(&both), None);
        let other = appended(Some(&both), "session: b\nid: 2\n").unwrap();
        assert!(String::from_utf8(other).unwrap().contains("session: a"));
    }
}
