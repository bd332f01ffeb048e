//! Integration tests: real git, real worktrees, the built binary.

mod support;

mod agents;
mod checkpoint;
mod concurrency;
mod config;
mod crash;
mod differential;
mod fsmonitor;
mod hardening;
mod hooks;
mod include;
mod interrupted;
mod judging;
mod land;
mod lifecycle;
mod list;
mod man;
mod names;
mod new;
mod overlaps;
mod realistic;
mod safety;
mod setup;
mod sharing;
mod shell;
mod terminal;
mod tmux;
mod ui;
mod undo;
