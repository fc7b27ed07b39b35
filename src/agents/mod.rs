//! Agent adapters: each reads one agent's own session format into a [`crate::session::Session`]
//! and writes it back. Adding an agent means a new module here; the store stays untouched.

pub mod claude;
pub mod opencode;

use crate::session::merge::MergeRules;
use crate::session::Session;

/// The merge rules of the agent whose sessions live under ref namespace `agent`.
pub fn merge_rules(agent: &str) -> Option<&'static dyn MergeRules> {
    match agent {
        opencode::AGENT => Some(&opencode::merge::OpenCodeRules),
        claude::AGENT => Some(&claude::merge::ClaudeRules),
        _ => None,
    }
}

/// A problem with a session document handed to git-session (a file, stdin, or an agent's output).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Nothing to read.
    #[error("{source_name} is empty")]
    Empty {
        /// Where the input came from.
        source_name: String,
    },
    /// The JSON stops before it is complete.
    #[error("{source_name} is cut off: the JSON ends early at byte {bytes}")]
    Truncated {
        /// Where the input came from.
        source_name: String,
        /// How many bytes it had.
        bytes: usize,
    },
    /// The JSON is not valid.
    #[error("{source_name} is not valid JSON: {detail}")]
    Malformed {
        /// Where the input came from.
        source_name: String,
        /// serde_json's description, with line and column.
        detail: String,
    },
    /// Valid JSON of the wrong shape.
    #[error("{source_name} is not an {agent} session export: {problem}")]
    WrongShape {
        /// Where the input came from.
        source_name: String,
        /// The agent whose format was expected.
        agent: &'static str,
        /// What is missing or wrong.
        problem: String,
    },
    /// The input could not be read at all.
    #[error("cannot read {source_name}: {source}")]
    Unreadable {
        /// Where the input came from.
        source_name: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Parses JSON bytes, telling a cut-off document apart from a malformed one.
pub fn parse_json(bytes: &[u8], source_name: &str) -> Result<serde_json::Value, InputError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty {
            source_name: source_name.to_owned(),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.classify() == serde_json::error::Category::Eof {
            InputError::Truncated {
                source_name: source_name.to_owned(),
                bytes: bytes.len(),
            }
        } else {
            InputError::Malformed {
                source_name: source_name.to_owned(),
                detail: e.to_string(),
            }
        }
    })
}

/// One searchable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextField {
    /// The session (root or child) it belongs to.
    pub session: String,
    /// The message id.
    pub message: String,
    /// The part id (or `#<index>` when a part has no id).
    pub part: String,
    /// What the text is: `text`, `reasoning`, `input.command`, `output`, `error`, `title`, ...
    pub field: String,
    /// The text.
    pub text: String,
}

/// Every searchable text of a session of `agent` and its children, in conversation order.
pub fn text_fields(agent: &str, session: &Session) -> Vec<TextField> {
    match agent {
        claude::AGENT => claude::text::fields(session),
        _ => opencode::text::fields(session),
    }
}

/// How many parts (content blocks) one stored message of `agent` has.
pub fn part_count(agent: &str, message: &serde_json::Value) -> u64 {
    match agent {
        claude::AGENT => claude::text::part_count(message),
        _ => opencode::render::part_count(message),
    }
}
