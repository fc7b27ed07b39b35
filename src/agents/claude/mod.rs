//! Claude Code: sessions as the JSONL transcripts Claude Code appends to under
//! `<config>/projects/<slug>/`, with their subagent transcripts, read and written as files.

mod agent;
pub mod edits;
pub mod load;
pub mod merge;
pub mod render;
pub mod source;
pub mod text;
pub mod transcript;

pub use agent::ClaudeAgent;

/// The ref namespace and agent name of Claude Code sessions.
pub const AGENT: &str = "claude";
