//! OpenCode: sessions as `opencode export <id>` prints them, read from and restored into the
//! local OpenCode by running its CLI.

mod agent;
pub mod cli;
pub mod edits;
pub mod export;
pub mod load;
pub mod merge;
pub mod render;
pub mod render_html;
pub mod render_md;
pub mod source;
pub mod text;

pub use agent::OpenCodeAgent;

/// The ref namespace and agent name of OpenCode sessions.
pub const AGENT: &str = "opencode";
