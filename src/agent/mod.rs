//! Coding agents that git-session integrates with. Claude Code hands worktree creation and
//! removal to hooks, and runs hooks when a turn ends and when a session starts (DESIGN §6):
//! [`claude`] holds the JSON it sends and [`settings`] the merge of our hooks into its
//! settings files; [`state`] what an agent (Claude Code or any other) reports it is doing. Pure logic: no git, no printing; `commands/claude.rs` drives it.

pub mod claude;
pub mod settings;
pub mod state;
