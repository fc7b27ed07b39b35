//! Problems with a session document handed to git-session, and the shared JSON parse that tells
//! a cut-off document apart from a malformed one.

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
