//! Gemini CLI: sessions as the JSONL mutation logs Gemini appends to under
//! `~/.gemini/tmp/<project slug>/chats/`, with their subagent files as children, read and
//! written as files. A restore registers this checkout in Gemini's `projects.json` when Gemini
//! has not seen it yet, so `gemini --resume <id>` finds the session.

mod agent;
pub mod load;
pub mod log;
pub mod render;
pub mod source;
pub mod state;

pub use agent::GeminiAgent;

/// The ref namespace and agent name of Gemini CLI sessions.
pub const AGENT: &str = "gemini";
