//! OpenCode: sessions as `opencode export <id>` prints them.

pub mod export;
pub mod merge;

/// The ref namespace and agent name of OpenCode sessions.
pub const AGENT: &str = "opencode";
