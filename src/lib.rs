//! git-session: named, resumable, forkable, shareable work sessions stored in git itself.
//!
//! Layers, with dependencies pointing down:
//!
//! - [`cli`] and [`commands`]: clap types and one module per subcommand; the only code that
//!   prints (through [`output`] and [`progress`]) and turns domain errors into [`error::CommandError`]s.
//! - domain: [`session`] (model, names, the store under `refs/sessions/*`, machine-local
//!   state), [`worktree`], [`checkpoint`], [`include`] (`.worktreeinclude`), [`lifecycle`]
//!   (operations spanning those) and [`config`]. They take inputs and return data.
//! - [`git`]: the only code that talks to git, in-process through gix or via the user's `git`.

pub mod agent;
pub mod checkpoint;
pub mod cli;
pub mod command_context;
pub mod commands;
pub mod config;
pub mod error;
pub mod fault;
pub mod footprint;
pub mod fsutil;
pub mod git;
pub mod git_hooks;
pub mod include;
pub mod lifecycle;
pub mod monitor;
pub mod oplog;
pub mod ops;
pub mod output;
pub mod overlap;
pub mod port;
pub mod post_create;
pub mod progress;
pub mod provenance;
pub mod render;
pub mod repair;
pub mod report;
pub mod secrets;
pub mod session;
pub mod session_view;
pub mod signals;
pub mod text;
pub mod tmux;
pub mod transaction;
pub mod tui;
pub mod watch;
pub mod worktree;
