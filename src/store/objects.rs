//! Reading and writing blobs, trees and commits with gix (never the git binary).
//!
//! Writes hash first and skip objects that already exist, so storing the same content twice costs
//! a hash and a touch, nothing more on disk. The touch matters: git prunes unreachable objects by
//! age, so an old unreachable object a save reuses (a message a pruned save also held) could be
//! deleted by a gc after the save decided not to write it and before its ref makes it reachable.
//! Like git (`freshen_loose_object`, `freshen_packed_object` in git's `object-file.c`), a reused
//! object therefore gets the current time: a loose object's file, or the pack holding it. An
//! object only in a cruft pack (whose per-object times live in its `.mtimes` file) or only in an
//! alternate is written again as a new loose object instead, as git does. Every write and reuse
//! happens under the maintenance lock (see [`super::lock`]).

use std::path::PathBuf;
use std::time::SystemTime;

use gix::objs::tree::{EntryKind as GixEntryKind, EntryMode};
use gix::objs::{Kind, WriteTo};

use super::{ObjectId, Result, Store, StoreError};

/// How often a write is tried again when its fan-out directory vanished under it.
const WRITE_ATTEMPTS: u32 = 4;

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
        self.put(Kind::Blob, bytes, "writing a blob")
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

    /// Returns true when the object is in this repository and now counts as just written for
    /// git's pruning (see the module docs), so a save may refer to it without writing it. False
    /// means the caller must write it: it is missing, or could not be freshened in place.
    pub fn freshen_object(&self, id: ObjectId) -> bool {
        self.hold_for_writing().is_ok() && self.freshen(id)
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
        self.write_object(&tree, "writing a tree")
    }

    /// Writes a commit of `tree` with `parents` and `message`, as the configured committer.
    /// Moves no ref.
    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        self.write_commit_as(tree, parents, message, &self.committer())
    }

    /// Writes a commit like [`Self::write_commit`], with `who` as author and committer: the same
    /// inputs always give the same commit id.
    pub fn write_commit_as(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
        who: &super::Identity,
    ) -> Result<ObjectId> {
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
        self.write_object(&commit, "writing a commit")
    }

    /// Serialises `object` and writes it like [`Self::write_blob`] does.
    pub(super) fn write_object(&self, object: &impl WriteTo, what: &str) -> Result<ObjectId> {
        let mut bytes = Vec::with_capacity(object.size() as usize);
        object
            .write_to(&mut bytes)
            .map_err(|source| StoreError::Io {
                context: what.to_owned(),
                source,
            })?;
        self.put(object.kind(), &bytes, what)
    }

    /// Writes an object unless it is here already, in which case it is freshened; under the
    /// maintenance lock.
    fn put(&self, kind: Kind, bytes: &[u8], what: &str) -> Result<ObjectId> {
        self.hold_for_writing()?;
        let id = gix::objs::compute_hash(self.repo.object_hash(), kind, bytes)
            .map_err(|e| StoreError::git(what, e))?;
        if self.in_batch(id) || self.freshen(id) {
            return Ok(id);
        }
        if self.note_batched(id, bytes.len()) {
            // A batched store's objects go to memory, and into a pack later (see `batch`).
            return gix::objs::Write::write_buf_with_known_id(&self.repo.objects, kind, bytes, id)
                .map_err(|e| StoreError::git(what, e));
        }
        let mut attempt = 1;
        loop {
            match gix::objs::Write::write_buf_with_known_id(&self.repo.objects, kind, bytes, id) {
                Ok(id) => return Ok(id),
                // git's prune removes fan-out directories it emptied; gix creates the directory
                // and then renames the object into it, so a prune in between fails the rename.
                // git retries this too.
                Err(e) if attempt < WRITE_ATTEMPTS && vanished(&e) => attempt += 1,
                Err(e) => return Err(StoreError::git(what, e)),
            }
        }
    }

    /// Gives an object already here the current time, the way git does before it skips a write.
    /// Returns false when it is not here, or not in a place this can freshen.
    fn freshen(&self, id: ObjectId) -> bool {
        match touch(&self.loose_path(id)) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Not ours to touch (a shared repository): write a fresh copy instead.
            Err(_) => return false,
        }
        let mut packs = self.packs.borrow_mut();
        let mut reloaded = false;
        loop {
            let list = packs.get_or_insert_with(|| PackIndex::load_all(&self.objects_dir()));
            let mut in_cruft = false;
            for pack in list.iter_mut() {
                if pack.index.lookup(id).is_none() {
                    continue;
                }
                if pack.cruft {
                    in_cruft = true;
                    continue;
                }
                if pack.freshened || touch(&pack.pack).is_ok() {
                    pack.freshened = true;
                    return true;
                }
            }
            // Reading the pack directory again is worth it only for an object gix knows (a pack
            // written since the list was read); a new object is simply written.
            if in_cruft || reloaded || !self.repo.objects.exists_without_refresh(&id) {
                return false;
            }
            *packs = None;
            reloaded = true;
        }
    }

    /// Where `id` is (or would be) stored as a loose object.
    fn loose_path(&self, id: ObjectId) -> PathBuf {
        let hex = id.to_string();
        self.objects_dir().join(&hex[..2]).join(&hex[2..])
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

/// One pack of the object database, as far as freshening needs it.
pub(super) struct PackIndex {
    /// The `.pack` file, whose mtime git reads as the time of every object in it.
    pack: PathBuf,
    index: gix::odb::pack::index::File,
    /// A cruft pack (with a `.mtimes` file): its objects' times are kept per object.
    cruft: bool,
    /// Already touched by this process.
    freshened: bool,
}

impl PackIndex {
    /// Reads every `objects/pack/*.idx` that has its pack; unreadable ones are left out (their
    /// objects are then written loose again, which is safe).
    fn load_all(objects_dir: &std::path::Path) -> Vec<PackIndex> {
        let Ok(entries) = std::fs::read_dir(objects_dir.join("pack")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let idx = entry.path();
            if idx.extension().is_none_or(|e| e != "idx") {
                continue;
            }
            let pack = idx.with_extension("pack");
            if !pack.exists() {
                continue;
            }
            let Ok(index) = gix::odb::pack::index::File::at(&idx, gix::hash::Kind::Sha1) else {
                continue;
            };
            out.push(PackIndex {
                cruft: idx.with_extension("mtimes").exists(),
                pack,
                index,
                freshened: false,
            });
        }
        out
    }
}

/// Sets a file's modification time to now (git's `freshen_file`).
fn touch(path: &std::path::Path) -> std::io::Result<()> {
    // Unix lets the owner set the time through a read-only descriptor (loose objects are
    // read-only files); Windows wants write access to the file's attributes for it.
    #[cfg(windows)]
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    #[cfg(not(windows))]
    let file = std::fs::File::open(path)?;
    file.set_modified(SystemTime::now())
}

/// True when gix failed because a file or directory it had just created was gone.
fn vanished(e: &gix::Error) -> bool {
    e.iter_errors().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
    })
}

fn wrong_type(id: ObjectId, expected: &'static str, actual: gix::objs::Kind) -> StoreError {
    StoreError::WrongObjectType {
        id: id.to_string(),
        expected,
        actual: actual.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// A time long before any test runs: 2001-09-09.
    fn long_ago() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000_000)
    }

    fn backdate(path: &std::path::Path) {
        std::fs::File::open(path)
            .unwrap()
            .set_modified(long_ago())
            .unwrap();
    }

    fn mtime(path: &std::path::Path) -> SystemTime {
        std::fs::metadata(path).unwrap().modified().unwrap()
    }

    fn git(store: &Store, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(store.common_dir())
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    }

    fn packs(store: &Store, ext: &str) -> Vec<PathBuf> {
        std::fs::read_dir(store.objects_dir().join("pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect()
    }

    #[test]
    fn writing_a_loose_object_again_gives_it_the_current_time() {
        let (_dir, store) = Store::temporary();
        let id = store
            .write_blob(b"a message a pruned save also held")
            .unwrap();
        let path = store.loose_path(id);
        backdate(&path);
        assert_eq!(
            store
                .write_blob(b"a message a pruned save also held")
                .unwrap(),
            id
        );
        assert!(
            mtime(&path) > long_ago(),
            "a gc with an expiry must not take the reused object for old garbage"
        );
        backdate(&path);
        assert!(
            store.freshen_object(id),
            "reused without a write, as a save cache hit is"
        );
        assert!(mtime(&path) > long_ago());
        let absent = store.hash_blob(b"never written").unwrap();
        assert!(
            !store.freshen_object(absent),
            "a missing object must be written"
        );
    }

    #[test]
    fn reusing_a_packed_object_touches_its_pack_and_writes_nothing_loose() {
        let (_dir, store) = Store::temporary();
        let id = store.write_blob(b"packed content").unwrap();
        let tree = store
            .write_tree(&[TreeEntry {
                name: "m".into(),
                kind: EntryKind::Blob,
                id,
            }])
            .unwrap();
        let commit = store.write_commit(tree, &[], "save\n").unwrap();
        git(
            &store,
            &["update-ref", "refs/sessions/x/y", &commit.to_string()],
        );
        git(&store, &["repack", "-a", "-d", "-q"]);
        let pack = packs(&store, "pack").pop().expect("one pack");
        backdate(&pack);
        let store = Store::open(store.common_dir()).unwrap();
        assert!(!store.loose_path(id).exists());
        assert_eq!(store.write_blob(b"packed content").unwrap(), id);
        assert!(
            mtime(&pack) > long_ago(),
            "the pack's time is its objects' time"
        );
        assert!(!store.loose_path(id).exists(), "no loose copy");
    }

    #[test]
    fn an_object_only_in_a_cruft_pack_is_written_loose_again() {
        let (_dir, store) = Store::temporary();
        let id = store.write_blob(b"unreachable content").unwrap();
        git(&store, &["repack", "--cruft", "-d", "-q"]);
        assert_eq!(packs(&store, "mtimes").len(), 1, "a cruft pack holds it");
        let store = Store::open(store.common_dir()).unwrap();
        assert!(!store.loose_path(id).exists());
        assert_eq!(store.write_blob(b"unreachable content").unwrap(), id);
        assert!(
            store.loose_path(id).exists(),
            "a cruft pack keeps one time per object in its .mtimes file; git writes such an object again"
        );
    }
}
