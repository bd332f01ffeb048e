//! Each session's own port (`GIT_SESSION_PORT`), so servers started in parallel worktrees do
//! not fight over one: derived from the session id within `session.portRange`, moved to the
//! next free port when another live session of this repository on this machine has it, and
//! recorded in machine-local state so it stays the same for the session's life.
//!
//! The derivation is FNV-1a over the id, spelled out here so it never changes with a Rust
//! release (std's hasher makes no such promise).

use std::collections::{BTreeSet, HashSet};

use crate::session::LocalStore;

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("every port in session.portRange {low}-{high} is taken by another live session")]
    Exhausted { low: u16, high: u16 },
    #[error("could not record the port in {}", dir.display())]
    Local {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The port a session id maps to in `low..=high`, before collisions are looked at.
pub fn derive(id: &str, (low, high): (u16, u16)) -> u16 {
    let hash = crate::fsutil::fnv1a(id.as_bytes());
    let span = u64::from(high - low) + 1;
    low + (hash % span) as u16
}

/// The derived port, or the next one (wrapping within the range) that is not `taken`.
pub fn assign(id: &str, range: (u16, u16), taken: &BTreeSet<u16>) -> Option<u16> {
    let (low, high) = range;
    let start = derive(id, range);
    (start..=high)
        .chain(low..start)
        .find(|port| !taken.contains(port))
}

/// The port of session `id` (named `name`): the recorded one while it is in the range and no
/// other live session has it, else a newly assigned one, recorded. `live` holds the ids of
/// the repository's open sessions.
pub fn ensure(
    local: &LocalStore,
    live: &HashSet<String>,
    id: &str,
    name: &str,
    range: (u16, u16),
) -> Result<u16, PortError> {
    let taken: BTreeSet<u16> = local
        .all()
        .into_iter()
        .filter(|(other, _)| other != id && live.contains(other))
        .filter_map(|(_, state)| state.port)
        .collect();
    let state = local.get(id);
    let own = state
        .port
        .filter(|_| state.name.as_deref().is_none_or(|n| n == name));
    if let Some(port) = own
        && (range.0..=range.1).contains(&port)
        && !taken.contains(&port)
    {
        return Ok(port);
    }
    let port = assign(id, range, &taken).ok_or(PortError::Exhausted {
        low: range.0,
        high: range.1,
    })?;
    local
        .update(id, |s| {
            s.port = Some(port);
            s.name.get_or_insert_with(|| name.to_owned());
        })
        .map_err(|source| PortError::Local {
            dir: local.dir().to_owned(),
            source,
        })?;
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_fixed_and_in_range() {
        // Pinned: a change here would move every existing session's default port.
        assert_eq!(derive("", (10000, 19999)), 16037);
        for i in 0..500 {
            let port = derive(&format!("id-{i}"), (3000, 3009));
            assert!((3000..=3009).contains(&port));
        }
        assert_eq!(derive("x", (5000, 5000)), 5000);
    }

    #[test]
    fn collisions_take_the_next_free_port_wrapping() {
        let range = (4000, 4002);
        let start = derive("s", range);
        let taken = BTreeSet::from([start]);
        let next = assign("s", range, &taken).unwrap();
        assert_ne!(next, start);
        assert!((4000..=4002).contains(&next));
        assert_eq!(
            assign("s", range, &BTreeSet::from([4000, 4001, 4002])),
            None
        );
        let high = BTreeSet::from([4002]);
        // From the top of the range it wraps to the bottom.
        let mut id = 0;
        while derive(&id.to_string(), range) != 4002 {
            id += 1;
        }
        assert_eq!(assign(&id.to_string(), range, &high), Some(4000));
    }

    #[test]
    fn ports_are_stable_and_unique_among_live_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path());
        let range = (7000, 7004);
        let ids: Vec<String> = (0..5).map(|i| format!("session-{i}")).collect();
        let live: HashSet<String> = ids.iter().cloned().collect();
        let ports: BTreeSet<u16> = ids
            .iter()
            .map(|id| ensure(&local, &live, id, id, range).unwrap())
            .collect();
        assert_eq!(ports.len(), 5);
        for id in &ids {
            assert_eq!(
                ensure(&local, &live, id, id, range).unwrap(),
                local.get(id).port.unwrap()
            );
        }
        assert!(ensure(&local, &live, "sixth", "sixth", range).is_err());
        // An ended session's port is free again.
        let fewer: HashSet<String> = ids[1..].iter().cloned().collect();
        assert_eq!(
            ensure(&local, &fewer, "sixth", "sixth", range).unwrap(),
            local.get(&ids[0]).port.unwrap()
        );
    }
}
