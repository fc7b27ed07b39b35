//! Codex CLI: sessions as the JSONL rollout files Codex appends to under
//! `$CODEX_HOME/sessions/YYYY/MM/DD/` (default `~/.codex`), with their subagent rollouts as
//! children, read and written as files. Codex rebuilds its SQLite index from a rollout on
//! `codex resume`, so a restore writes only the rollouts.

mod agent;
pub mod edits;
pub mod load;
pub mod merge;
pub mod render;
pub mod rollout;
pub mod source;
pub mod text;

pub use agent::CodexAgent;

/// The ref namespace and agent name of Codex CLI sessions.
pub const AGENT: &str = "codex";
