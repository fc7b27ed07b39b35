//! The git store: objects and refs in the user's repository, through gix.
//!
//! This layer knows blobs, trees, commits and refs, and nothing about sessions or agents: an agent
//! reaches it only as an opaque namespace string in a ref name (see [`layout`]). Objects are always
//! written before a ref moves, and refs only move by compare-and-swap ([`refs`]), so a crash or a
//! concurrent writer can never leave a ref pointing at a partial write. Objects are written and
//! reused under the maintenance lock ([`lock`]), which pruning takes exclusively, so a
//! `git session gc` can never delete them before the ref reaches them; [`check`] finds what a
//! history lacks when something else did.

pub mod batch;
pub mod check;
pub mod graph;
pub mod layout;
pub mod lock;
pub mod maintenance;
pub mod objects;
pub mod refs;
pub mod repo;

pub use check::Completeness;
pub use lock::{LockMode, MaintenanceGuard};
pub use objects::{CommitInfo, EntryKind, TreeEntry};
pub use refs::RefUpdate;
pub use repo::{Identity, Store};

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
    /// A write failed because the disk (or the user's quota) is full.
    #[error("no space left on the disk that holds {}: {context} failed", path.as_ref().map_or_else(|| "the repository".to_owned(), |p| p.display().to_string()))]
    DiskFull {
        /// What the store was doing.
        context: String,
        /// The file or directory being written, when known.
        path: Option<PathBuf>,
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
    /// Wraps a gix error with what the store was doing when it happened; a full disk becomes
    /// [`StoreError::DiskFull`], whose message says so instead of gix's step that failed.
    pub fn git(context: impl Into<String>, source: impl Into<gix::Error>) -> Self {
        let source = source.into();
        let full = source
            .iter_errors()
            .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(is_disk_full));
        if full {
            let path = match source.metadata_merged().get("path") {
                Some(gix::error::MetadataValue::Path(p)) => Some(p.clone()),
                Some(other) => Some(PathBuf::from(other.to_string())),
                None => None,
            }
            // gix names paths as it opened them (`./.git/objects`); a message needs the real one.
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p));
            return StoreError::DiskFull {
                context: context.into(),
                path,
            };
        }
        StoreError::Git {
            context: context.into(),
            source,
        }
    }

    /// Wraps an I/O error of the store's own files; a full disk becomes
    /// [`StoreError::DiskFull`].
    pub fn io(context: impl Into<String>, path: &std::path::Path, source: std::io::Error) -> Self {
        if is_disk_full(&source) {
            return StoreError::DiskFull {
                context: context.into(),
                path: Some(path.to_path_buf()),
            };
        }
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}

/// ENOSPC or EDQUOT.
fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use gix::error::{Message, ResultExt};

    /// What gix raises when writing a loose object fails (`gix-odb`'s `loose/write.rs`).
    fn loose_write_error(kind: std::io::ErrorKind) -> gix::Error {
        let failed: std::result::Result<(), std::io::Error> = Err(kind.into());
        failed
            .or_raise(|| {
                Message::new("Could not write loose object header")
                    .with("path", std::path::Path::new("/r/.git/objects"))
            })
            .expect_err("an error")
    }

    #[test]
    fn a_full_disk_is_named_as_such_with_the_path() {
        for kind in [
            std::io::ErrorKind::StorageFull,
            std::io::ErrorKind::QuotaExceeded,
        ] {
            let e = StoreError::git("writing a blob", loose_write_error(kind));
            assert!(
                matches!(&e, StoreError::DiskFull { path: Some(p), .. } if p == std::path::Path::new("/r/.git/objects")),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                "no space left on the disk that holds /r/.git/objects: writing a blob failed"
            );
        }
        let other = StoreError::git(
            "writing a blob",
            loose_write_error(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(other, StoreError::Git { .. }), "{other:?}");
    }
}
