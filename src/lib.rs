//! git-session keeps AI coding-agent sessions inside the project's own git repository.
//!
//! Layers point one way: `cli` -> [`agents`] -> [`session`] -> [`store`]. The store knows git
//! objects and refs only; the session layer turns a session into deduplicated git objects and
//! back; an agent adapter reads and writes one agent's own format.
#![warn(missing_docs)]

pub mod agents;
pub mod cli;
pub mod fsutil;
pub mod git_cli;
pub mod install;
pub mod parallel;
pub mod session;
pub mod store;
