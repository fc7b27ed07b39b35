//! [`AgentError`]: what went wrong reading from or writing to an agent, with the next step the
//! agent's adapter knows best.

use crate::session::SessionError;

/// An agent adapter's error: its own problem with a hint, or one of the session layer.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A problem the adapter describes.
    #[error("{message}")]
    Agent {
        /// One line naming the problem.
        message: String,
        /// One line naming the next step.
        hint: Option<String>,
    },
    /// The session layer failed (reading a save, a cache).
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl AgentError {
    /// A problem with no hint yet.
    pub fn new(message: impl std::fmt::Display) -> Self {
        AgentError::Agent {
            message: message.to_string(),
            hint: None,
        }
    }

    /// Sets the next step.
    pub fn hint(self, hint: impl std::fmt::Display) -> Self {
        match self {
            AgentError::Agent { message, .. } => AgentError::Agent {
                message,
                hint: Some(hint.to_string()),
            },
            other => other,
        }
    }

    /// An error with an optional hint.
    pub fn with_hint(message: impl std::fmt::Display, hint: Option<String>) -> Self {
        AgentError::Agent {
            message: message.to_string(),
            hint,
        }
    }
}
