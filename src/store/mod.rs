//! The git store: objects and refs in the user's repository, through gix.
//!
//! This layer knows blobs, trees, commits and refs, and nothing about sessions or agents: an agent
//! reaches it only as an opaque namespace string in a ref name (see [`layout`]). Objects are always
//! written before a ref moves, and refs only move by compare-and-swap ([`refs`]), so a crash or a
//! concurrent writer can never leave a ref pointing at a partial write. Objects are written and
//! reused under the maintenance lock ([`lock`]), which pruning takes exclusively, so a
//! `git session gc` can never delete them before the ref reaches them; [`check`] finds what a
//! new save lacks when something else did.

pub mod check;
pub mod graph;
pub mod layout;
pub mod lock;
pub mod maintenance;
pub mod objects;
pub mod refs;
pub mod repo;

pub use lock::{LockMode, MaintenanceGuard};
pub use objects::{CommitInfo, EntryKind, TreeEntry};
pub use refs::RefUpdate;
pub use repo::Store;

use std::path::PathBuf;

/// What went wrong in the git store, with the ids and paths needed to act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No git repository was found at or above the path.
    #[error("{} is not inside a git repository", path.display())]
    NotARepository {
        /// Where the search started.
        path: PathBuf,
    },
    /// The repository keeps refs in the reftable format, which gix cannot write correctly.
    #[error("{} stores its refs as reftable (extensions.refStorage=reftable), which git-session cannot update safely yet", git_dir.display())]
    Reftable {
        /// The repository's git dir.
        git_dir: PathBuf,
    },
    /// The repository uses an object format this build does not support.
    #[error("{} uses the {format} object format; git-session supports sha1 repositories only", git_dir.display())]
    UnsupportedObjectFormat {
        /// The repository's git dir.
        git_dir: PathBuf,
        /// The format named in the repository's config.
        format: String,
    },
    /// A ref moved between reading it and updating it.
    #[error("{name} moved to {actual} while this write expected {expected}")]
    RefMoved {
        /// Full ref name.
        name: String,
        /// What the writer read at the start (`none` when it expected no ref).
        expected: String,
        /// What the ref holds now (`none` when it was deleted).
        actual: String,
    },
    /// The ref's lock file is held, and has been for long enough to be stale.
    #[error("{} is locked by {} ({age_secs} s old)", name, lock.display())]
    StaleLock {
        /// Full ref name.
        name: String,
        /// The lock file.
        lock: PathBuf,
        /// Age of the lock file.
        age_secs: u64,
    },
    /// An object a save refers to is not in the object database.
    #[error("object {id} is missing from the repository")]
    MissingObject {
        /// The missing object id.
        id: String,
    },
    /// An object has another type than expected.
    #[error("object {id} is a {actual}, expected a {expected}")]
    WrongObjectType {
        /// The object id.
        id: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        actual: String,
    },
    /// Another process holds the maintenance lock in a mode that excludes this one, and kept
    /// it for longer than this process waits.
    #[error("{}", busy_message(lock, *wanted, holder.as_deref(), *waited_secs))]
    MaintenanceBusy {
        /// The lock file.
        lock: PathBuf,
        /// How this process wanted it.
        wanted: LockMode,
        /// The exclusive holder's own description (`git session gc --now (pid 123)`), if any.
        holder: Option<String>,
        /// How long this process waited.
        waited_secs: u64,
    },
    /// Any other failure reported by gix.
    #[error("{context}: {source}")]
    Git {
        /// What the store was doing.
        context: String,
        /// gix's error.
        #[source]
        source: gix::Error,
    },
    /// A filesystem error outside of gix.
    #[error("{context}: {source}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Wraps a gix error with what the store was doing when it happened.
    pub fn git(context: impl Into<String>, source: impl Into<gix::Error>) -> Self {
        StoreError::Git {
            context: context.into(),
            source: source.into(),
        }
    }
}

fn busy_message(
    lock: &std::path::Path,
    wanted: LockMode,
    holder: Option<&str>,
    waited_secs: u64,
) -> String {
    match wanted {
        LockMode::Shared => format!(
            "{} is running and holds {}; waited {waited_secs} s for it",
            holder.unwrap_or("another git-session's gc or prune"),
            lock.display()
        ),
        LockMode::Exclusive => format!(
            "other git-session processes are writing sessions (they hold {}); waited {waited_secs} s for them",
            lock.display()
        ),
    }
}

/// Result type of the git store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An object id (sha1), re-exported so callers need not depend on gix directly.
pub type ObjectId = gix::ObjectId;
