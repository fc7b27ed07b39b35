//! Housekeeping of the object database: copying a commit onto other parents (to shorten a
//! history), and how many bytes the object database takes on disk.

use std::path::Path;

use super::{ObjectId, Result, Store, StoreError};

/// What the object database takes on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Loose object files.
    pub loose_objects: u64,
    /// Their bytes on disk.
    pub loose_bytes: u64,
    /// Pack files (`objects/pack/*.pack`).
    pub packs: u64,
    /// Bytes of everything under `objects/pack/` (packs, indexes, reverse indexes, bitmaps).
    pub pack_bytes: u64,
}

impl DiskUsage {
    /// Loose and packed bytes together.
    pub fn total(&self) -> u64 {
        self.loose_bytes + self.pack_bytes
    }
}

impl Store {
    /// Writes a copy of commit `id` with `parents` instead of its own: the same tree, message,
    /// author, committer (names, emails and times) and encoding. A signature header is dropped,
    /// since it would not verify on the copy. Moves no ref.
    pub fn copy_commit_with_parents(&self, id: ObjectId, parents: &[ObjectId]) -> Result<ObjectId> {
        self.rewrite_commit(id, None, parents, None)
    }

    /// Writes a copy of commit `id` with `parents`, and with `tree` and `message` when given,
    /// keeping its author, committer (names, emails and times), encoding and other headers. A
    /// signature header is dropped, since it would not verify on the copy. Moves no ref.
    pub fn rewrite_commit(
        &self,
        id: ObjectId,
        tree: Option<ObjectId>,
        parents: &[ObjectId],
        message: Option<&str>,
    ) -> Result<ObjectId> {
        let object = match self.repo.try_find_object(id) {
            Ok(Some(object)) => object,
            Ok(None) => return Err(StoreError::MissingObject { id: id.to_string() }),
            Err(e) => return Err(StoreError::git(format!("reading object {id}"), e)),
        };
        if object.kind != gix::objs::Kind::Commit {
            return Err(StoreError::WrongObjectType {
                id: id.to_string(),
                expected: "commit",
                actual: object.kind.to_string(),
            });
        }
        let mut commit = gix::objs::CommitRef::from_bytes(&object.data, self.repo.object_hash())
            .and_then(|c| c.into_owned())
            .map_err(|e| StoreError::git(format!("decoding commit {id}"), e))?;
        commit.parents = parents.iter().copied().collect();
        if let Some(tree) = tree {
            commit.tree = tree;
        }
        if let Some(message) = message {
            commit.message = message.into();
        }
        commit
            .extra_headers
            .retain(|(key, _)| key != "gpgsig" && key != "gpgsig-sha256");
        self.write_object(&commit, "writing a commit")
    }

    /// Measures the object database: loose object files and everything under `objects/pack/`.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let dir = self.objects_dir();
        let io = |e: std::io::Error| StoreError::Io {
            context: format!("measuring {}", dir.display()),
            source: e,
        };
        let mut usage = DiskUsage::default();
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_fanout = name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if is_fanout {
                for (_, bytes) in files(&entry.path()).map_err(io)? {
                    usage.loose_objects += 1;
                    usage.loose_bytes += bytes;
                }
            } else if name == "pack" {
                for (file, bytes) in files(&entry.path()).map_err(io)? {
                    if file.ends_with(".pack") {
                        usage.packs += 1;
                    }
                    usage.pack_bytes += bytes;
                }
            }
        }
        Ok(usage)
    }
}

/// `(name, size)` of the regular files directly in `dir` (none when it does not exist).
fn files(dir: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        // A file removed meanwhile (a concurrent gc) is simply not counted.
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_commit_keeps_everything_but_its_parents() {
        let (_dir, store) = Store::temporary();
        let before = store.disk_usage().unwrap();
        let tree = store.write_tree(&[]).unwrap();
        let root = store.write_commit(tree, &[], "root\n").unwrap();
        let child = store
            .write_commit(tree, &[root], "child\n\nKey: v\n")
            .unwrap();
        let copy = store.copy_commit_with_parents(child, &[]).unwrap();
        assert_ne!(copy, child);
        let (a, b) = (
            store.read_commit(child).unwrap(),
            store.read_commit(copy).unwrap(),
        );
        assert_eq!(b.parents, Vec::<ObjectId>::new());
        assert_eq!(
            (
                a.tree,
                a.message,
                a.seconds,
                a.committer_name,
                a.committer_email
            ),
            (
                b.tree,
                b.message,
                b.seconds,
                b.committer_name,
                b.committer_email
            )
        );
        let after = store.disk_usage().unwrap();
        assert_eq!(after.loose_objects, before.loose_objects + 4);
        assert!(after.loose_bytes > before.loose_bytes);
    }
}
