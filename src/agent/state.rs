//! What the agent in a session is doing, as its hooks report it (Claude Code's
//! `UserPromptSubmit`/`PreToolUse` → working, `Notification` → needs input, `Stop` → idle,
//! `SessionEnd` → exited) or any other tool through `git session agent-state`. Kept
//! machine-locally with the session's record (it describes a process on this machine), with
//! when the state began and when the agent was last heard from: a `working` agent silent for
//! longer than `session.agentStaleAfter` is shown as `stale`. Never prints.

use serde::{Deserialize, Serialize};

use crate::session::LocalStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentState {
    /// Its turn is running (a prompt was submitted, a tool is about to run).
    Working,
    /// It waits for the person: a permission prompt, or idle at its prompt too long.
    NeedsInput,
    /// Its turn is over; the result waits to be looked at.
    Idle,
    /// The agent's process ended.
    Exited,
}

impl AgentState {
    pub const ALL: [AgentState; 4] = [
        AgentState::Working,
        AgentState::NeedsInput,
        AgentState::Idle,
        AgentState::Exited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Working => "working",
            AgentState::NeedsInput => "needs-input",
            AgentState::Idle => "idle",
            AgentState::Exited => "exited",
        }
    }

    pub fn parse(text: &str) -> Option<AgentState> {
        AgentState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The last report of a session's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    /// Who reported (`claude`, `codex`, a script's name).
    pub tool: String,
    pub state: AgentState,
    /// When this state began (seconds since the epoch).
    pub since: i64,
    /// When the agent was last heard from.
    pub seen: i64,
}

/// Records a report for session `id`; returns the state before (None: no report yet, or
/// another tool's). A repeated state keeps its `since`.
pub fn record(
    local: &LocalStore,
    id: &str,
    tool: &str,
    state: AgentState,
    now: i64,
) -> std::io::Result<Option<AgentState>> {
    let (before, _) = local.update_from(id, |s| {
        let since = match &s.agent_state {
            Some(last) if last.state == state && last.tool == tool => last.since,
            _ => now,
        };
        s.agent_state = Some(AgentReport {
            tool: tool.to_owned(),
            state,
            since,
            seen: now,
        });
    })?;
    Ok(before
        .and_then(|b| b.agent_state)
        .filter(|r| r.tool == tool)
        .map(|r| r.state))
}

/// A report as shown: its state, or `stale` for a working agent not heard from for
/// `stale_after` seconds.
pub fn shown(report: &AgentReport, now: i64, stale_after: i64) -> &'static str {
    if report.state == AgentState::Working && now - report.seen >= stale_after {
        "stale"
    } else {
        report.state.as_str()
    }
}

/// Where a session goes when sorted by what needs a person first: needs input, then idle
/// (done, not looked at), stale, working, exited, and sessions without an agent last.
pub fn attention_rank(shown: Option<&str>) -> u8 {
    match shown {
        Some("needs-input") => 0,
        Some("idle") => 1,
        Some("stale") => 2,
        Some("working") => 3,
        Some("exited") => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: AgentState, seen: i64) -> AgentReport {
        AgentReport {
            tool: "claude".into(),
            state,
            since: 0,
            seen,
        }
    }

    #[test]
    fn a_silent_working_agent_is_stale() {
        assert_eq!(
            shown(&report(AgentState::Working, 100), 699, 600),
            "working"
        );
        assert_eq!(shown(&report(AgentState::Working, 100), 700, 600), "stale");
        assert_eq!(shown(&report(AgentState::Idle, 100), 10_000, 600), "idle");
        for state in AgentState::ALL {
            assert_eq!(AgentState::parse(state.as_str()), Some(state));
        }
        assert_eq!(AgentState::parse("busy"), None);
        let mut ranks: Vec<u8> = ["working", "idle", "needs-input", "exited", "stale"]
            .iter()
            .map(|s| attention_rank(Some(s)))
            .collect();
        ranks.sort();
        assert_eq!(ranks, [0, 1, 2, 3, 4]);
        assert_eq!(attention_rank(None), 5);
    }
}
