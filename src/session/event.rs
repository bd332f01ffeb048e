//! The events a session's log records, named once. Each log commit's subject is
//! `<event>: <detail>` with a `Session-Event:` trailer (DESIGN §2); this enum is the only
//! place those names are spelled, and the only judge of which events link a checkpoint.

use crate::git::ObjectId;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Checkpoint,
    Forked,
    Renamed,
    Resumed,
    Rewound,
    Ended,
    Archived,
    Deleted,
    /// Brought back from the trash.
    Restored,
    /// A branch tip kept reachable from the log before the branch was deleted.
    KeptBranchTip,
    /// What a worktree whose directory went missing had staged (a commit of its index on
    /// its HEAD), kept reachable from the log when git's record of it is dropped. No
    /// snapshot of its files: nothing restores it.
    KeptStaged,
    /// What a killed command left in a half-made worktree, kept before it was removed (a
    /// commit of its files on the commit being checked out). No checkpoint: nothing
    /// restores it by itself.
    Salvaged,
    /// `context.md` was set or extended.
    Context,
    /// A `handoff.md` was written.
    Handoff,
    /// The paths it claims (`owns`) changed.
    Owns,
    /// Its work landed in a target branch (`land`).
    Landed,
    /// Its branch was brought onto its base's new tip (`sync`); the checkpoint linked is its
    /// worktree afterwards.
    Synced,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::Created,
        EventKind::Checkpoint,
        EventKind::Forked,
        EventKind::Renamed,
        EventKind::Resumed,
        EventKind::Rewound,
        EventKind::Ended,
        EventKind::Archived,
        EventKind::Deleted,
        EventKind::Restored,
        EventKind::KeptBranchTip,
        EventKind::KeptStaged,
        EventKind::Salvaged,
        EventKind::Context,
        EventKind::Handoff,
        EventKind::Owns,
        EventKind::Landed,
        EventKind::Synced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Checkpoint => "checkpoint",
            EventKind::Forked => "forked",
            EventKind::Renamed => "renamed",
            EventKind::Resumed => "resumed",
            EventKind::Rewound => "rewound",
            EventKind::Ended => "ended",
            EventKind::Archived => "archived",
            EventKind::Deleted => "deleted",
            EventKind::Restored => "restored",
            EventKind::KeptBranchTip => "kept-branch-tip",
            EventKind::KeptStaged => "kept-staged",
            EventKind::Salvaged => "salvaged",
            EventKind::Context => "context",
            EventKind::Handoff => "handoff",
            EventKind::Owns => "owns",
            EventKind::Landed => "landed",
            EventKind::Synced => "synced",
        }
    }

    /// The kind a log subject names; None for events this version does not know.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the log commit's second parent is a working-tree snapshot that `rewind`,
    /// `diff` and `resume` may use (a kept branch tip is linked too, but is no snapshot).
    pub fn links_checkpoint(self) -> bool {
        matches!(self, EventKind::Checkpoint | EventKind::Forked)
    }
}

/// The commit a log commit links as its second parent, with the event that linked it (None
/// for events this version does not know).
pub fn linked(commit: &crate::git::CommitInfo) -> Option<(EventKind, ObjectId)> {
    let event = commit.message.split(':').next().unwrap_or_default();
    Some((EventKind::parse(event)?, *commit.parents.get(1)?))
}

/// The checkpoint a log commit links, if it links one.
pub fn linked_checkpoint(commit: &crate::git::CommitInfo) -> Option<ObjectId> {
    linked(commit)
        .filter(|(kind, _)| kind.links_checkpoint())
        .map(|(_, id)| id)
}

/// A change to record: `<event>: <detail>`, optionally linking a commit as second parent.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub detail: String,
    pub checkpoint: Option<ObjectId>,
    /// Files this event writes into the log commit's tree besides `session.yaml` and
    /// `context.md` (e.g. `handoff.md`): (file name, text). Later events keep them.
    pub files: Vec<(String, String)>,
    /// Recorded by a background process, not by anyone working: the session's `updated`
    /// (its last activity, which `list` shows and `gc --older-than` judges) stays as it was.
    pub background: bool,
}

impl Event {
    pub fn new(kind: EventKind, detail: impl Into<String>) -> Self {
        Event {
            kind,
            detail: detail.into(),
            checkpoint: None,
            files: Vec::new(),
            background: false,
        }
    }

    #[must_use]
    pub fn in_background(mut self) -> Self {
        self.background = true;
        self
    }

    #[must_use]
    pub fn with_file(mut self, name: &str, text: impl Into<String>) -> Self {
        self.files.push((name.to_owned(), text.into()));
        self
    }

    /// An event linking commit `id` as second parent, its detail `<short id> <message>`.
    pub fn linking(kind: EventKind, id: ObjectId, message: &str) -> Self {
        Event::new(kind, format!("{} {message}", crate::git::short_id(id))).with_checkpoint(id)
    }

    #[must_use]
    pub fn with_checkpoint(mut self, checkpoint: ObjectId) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("from-the-future"), None);
    }
}
