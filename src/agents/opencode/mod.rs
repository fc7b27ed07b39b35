//! OpenCode: sessions as `opencode export <id>` prints them, read from and restored into the
//! local OpenCode by running its CLI.

pub mod cli;
pub mod export;
pub mod load;
pub mod merge;
pub mod source;

/// The ref namespace and agent name of OpenCode sessions.
pub const AGENT: &str = "opencode";
