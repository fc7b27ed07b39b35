//! The session model and how it is kept in git: a session becomes deduplicated git objects on a
//! ref of its own, and comes back equal.
//!
//! This layer is agent-agnostic: an agent adapter turns its own format into a [`Session`] (an info
//! object, ordered messages, child sessions) and back. It never spawns processes.

pub mod added;
pub mod backup;
pub mod bundle;
pub mod codec;
pub mod history;
pub mod integrate;
pub mod keep;
pub mod kind;
pub mod links;
pub mod merge;
pub mod model;
pub mod portable;
pub mod prune;
pub mod redact;
pub mod repair;
pub mod save_set;
pub mod scan;
pub mod scrub;
pub mod settings;
pub mod simkey;
pub mod stamp;
pub mod stats;
pub mod summary;
pub mod tombstone;
pub mod trailers;

pub use history::{Resolved, SaveMeta, SaveOutcome, SavedSession, SessionHistory, SessionTip};
pub use kind::SessionKind;
pub use model::{Message, Session};
pub use settings::Settings;

use crate::store::StoreError;

/// What went wrong in the session layer.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The git store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A session or message id cannot be stored as a ref or tree name.
    #[error("{what} id {id:?} cannot be stored: ids may hold only ASCII letters, digits, '_', '-' and '.'")]
    UnsafeId {
        /// `session` or `message`.
        what: &'static str,
        /// The offending id.
        id: String,
    },
    /// Two messages of one session share an id.
    #[error("message id {id} occurs twice in session {session}")]
    DuplicateMessage {
        /// The session.
        session: String,
        /// The repeated message id.
        id: String,
    },
    /// No saved session matches what the user typed.
    #[error("no saved session matches '{query}'")]
    NotFound {
        /// What the user typed.
        query: String,
    },
    /// Several saved sessions match a prefix.
    #[error("'{query}' matches {} saved sessions: {}", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// What the user typed.
        query: String,
        /// The matching ids.
        candidates: Vec<String>,
    },
    /// `--at` names no save of that session.
    #[error("no save of {session} matches '{at}'")]
    SaveNotFound {
        /// The session id.
        session: String,
        /// What the user typed.
        at: String,
    },
    /// A stored save cannot be decoded.
    #[error("save {commit} is damaged: {problem}")]
    Corrupt {
        /// The commit that was read.
        commit: String,
        /// What is wrong.
        problem: String,
    },
    /// A save was written by a newer git-session.
    #[error("save {commit} uses storage format {format}, newer than this git-session understands ({supported})")]
    NewerFormat {
        /// The commit.
        commit: String,
        /// The format it declares.
        format: u32,
        /// The newest format this build reads.
        supported: u32,
    },
    /// Objects a save wrote were deleted before its ref could move, again after each rewrite.
    #[error("objects of the new save of {name} were deleted while it was saving ({} of them, such as {}); the ref was not moved", missing.len(), missing.first().map_or("", String::as_str))]
    ObjectsVanished {
        /// The ref that was not moved.
        name: String,
        /// The missing objects found by the last check.
        missing: Vec<String>,
    },
    /// Another writer kept moving the ref.
    #[error("{name} kept moving while saving ({attempts} attempts)")]
    Contended {
        /// The ref.
        name: String,
        /// How many times the save was retried.
        attempts: u32,
    },
}

/// Result type of the session layer.
pub type Result<T, E = SessionError> = std::result::Result<T, E>;
