//! Reading and writing blobs, trees and commits with gix (never the git binary).
//!
//! Writes hash first and skip objects that already exist, so storing the same content twice costs
//! a hash and an existence check, nothing on disk.

use gix::objs::tree::{EntryKind as GixEntryKind, EntryMode};

use super::{ObjectId, Result, Store, StoreError};

/// The kinds of tree entries the sessions store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A blob (mode 100644).
    Blob,
    /// A subtree (mode 040000).
    Tree,
}

/// One entry of a tree: a name and the object it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The entry's name (one path component).
    pub name: String,
    /// Blob or tree.
    pub kind: EntryKind,
    /// The object id.
    pub id: ObjectId,
}

/// A decoded commit: what the sessions store reads back from a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's own id.
    pub id: ObjectId,
    /// Its root tree.
    pub tree: ObjectId,
    /// Parent commits, first parent first.
    pub parents: Vec<ObjectId>,
    /// The full commit message.
    pub message: String,
    /// Committer time, seconds since the Unix epoch.
    pub seconds: i64,
    /// Committer name.
    pub committer_name: String,
    /// Committer email.
    pub committer_email: String,
}

impl Store {
    /// Writes `bytes` as a blob (a no-op when it already exists) and returns its id.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        self.repo
            .write_blob(bytes)
            .map(|id| id.detach())
            .map_err(|e| StoreError::git("writing a blob", e))
    }

    /// Returns the id `bytes` would have as a blob, without writing anything.
    pub fn hash_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        gix::objs::compute_hash(self.repo.object_hash(), gix::objs::Kind::Blob, bytes)
            .map_err(|e| StoreError::git("hashing a blob", e))
    }

    /// Returns true when the object exists in the object database.
    pub fn has_object(&self, id: ObjectId) -> bool {
        self.repo.has_object(id)
    }

    /// Writes a tree from `entries` (in any order; they are sorted the way git sorts them).
    ///
    /// Fails on duplicate names, which git would reject as a broken tree.
    pub fn write_tree(&self, entries: &[TreeEntry]) -> Result<ObjectId> {
        let mut tree = gix::objs::Tree {
            entries: entries
                .iter()
                .map(|e| gix::objs::tree::Entry {
                    mode: EntryMode::from(match e.kind {
                        EntryKind::Blob => GixEntryKind::Blob,
                        EntryKind::Tree => GixEntryKind::Tree,
                    }),
                    filename: e.name.as_str().into(),
                    oid: e.id,
                })
                .collect(),
        };
        tree.entries.sort();
        if let Some(pair) = tree
            .entries
            .windows(2)
            .find(|w| w[0].filename == w[1].filename)
        {
            return Err(StoreError::Io {
                context: "writing a tree".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("duplicate entry name {}", pair[0].filename),
                ),
            });
        }
        self.repo
            .write_object(&tree)
            .map(|id| id.detach())
            .map_err(|e| StoreError::git("writing a tree", e))
    }

    /// Writes a commit of `tree` with `parents` and `message`, as the configured committer.
    /// Moves no ref.
    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        let who = self.committer();
        let time = gix::date::Time {
            seconds: who.seconds,
            offset: who.offset,
        };
        let sig = gix::actor::Signature {
            name: who.name.as_str().into(),
            email: who.email.as_str().into(),
            time,
        };
        let commit = gix::objs::Commit {
            message: message.into(),
            tree,
            author: sig.clone(),
            committer: sig,
            encoding: None,
            parents: parents.iter().copied().collect(),
            extra_headers: Default::default(),
        };
        self.repo
            .write_object(&commit)
            .map(|id| id.detach())
            .map_err(|e| StoreError::git("writing a commit", e))
    }

    /// Reads a blob's bytes.
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let object = self.find(id)?;
        if object.kind != gix::objs::Kind::Blob {
            return Err(wrong_type(id, "blob", object.kind));
        }
        Ok(object.detach().data)
    }

    /// Returns the size of an object's content in bytes, without decompressing all of it where
    /// the object database allows.
    pub fn object_size(&self, id: ObjectId) -> Result<u64> {
        let header = self
            .repo
            .find_header(id)
            .map_err(|e| StoreError::git(format!("reading object {id}"), e))?;
        Ok(header.size())
    }

    /// Reads a tree's entries in tree order; entries of other kinds (links, submodules) are skipped.
    pub fn read_tree(&self, id: ObjectId) -> Result<Vec<TreeEntry>> {
        let object = self.find(id)?;
        if object.kind != gix::objs::Kind::Tree {
            return Err(wrong_type(id, "tree", object.kind));
        }
        let tree = gix::objs::TreeRef::from_bytes(&object.data, self.repo.object_hash())
            .map_err(|e| StoreError::git(format!("decoding tree {id}"), e))?;
        Ok(tree
            .entries
            .iter()
            .filter_map(|e| {
                let kind = if e.mode.is_tree() {
                    EntryKind::Tree
                } else if e.mode.is_blob() {
                    EntryKind::Blob
                } else {
                    return None;
                };
                Some(TreeEntry {
                    name: e.filename.to_string(),
                    kind,
                    id: e.oid.to_owned(),
                })
            })
            .collect())
    }

    /// Reads and decodes a commit.
    pub fn read_commit(&self, id: ObjectId) -> Result<CommitInfo> {
        let object = self.find(id)?;
        if object.kind != gix::objs::Kind::Commit {
            return Err(wrong_type(id, "commit", object.kind));
        }
        let commit = gix::objs::CommitRef::from_bytes(&object.data, self.repo.object_hash())
            .map_err(|e| StoreError::git(format!("decoding commit {id}"), e))?;
        let committer = commit
            .committer()
            .map_err(|e| StoreError::git(format!("decoding commit {id}"), e))?;
        let seconds = committer.time().map(|t| t.seconds).unwrap_or(0);
        Ok(CommitInfo {
            id,
            tree: commit.tree(),
            parents: commit.parents().collect(),
            message: commit.message.to_string(),
            seconds,
            committer_name: committer.name.to_string(),
            committer_email: committer.email.to_string(),
        })
    }

    fn find(&self, id: ObjectId) -> Result<gix::Object<'_>> {
        match self.repo.try_find_object(id) {
            Ok(Some(object)) => Ok(object),
            Ok(None) => Err(StoreError::MissingObject { id: id.to_string() }),
            Err(e) => Err(StoreError::git(format!("reading object {id}"), e)),
        }
    }
}

fn wrong_type(id: ObjectId, expected: &'static str, actual: gix::objs::Kind) -> StoreError {
    StoreError::WrongObjectType {
        id: id.to_string(),
        expected,
        actual: actual.to_string(),
    }
}
