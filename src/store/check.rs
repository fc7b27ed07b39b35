//! Finding the objects a commit or tree needs that the object database lacks.
//!
//! Two uses: a save checks, right before its ref moves, that everything its new tree added is
//! present (what the ref already reaches is left out: no gc removes it); and a repair walks whole
//! histories, remembering each tree it has checked ([`Completeness`]) so that the trees many
//! commits share are read once.

use std::collections::HashMap;

use super::{EntryKind, ObjectId, Result, Store, StoreError};

/// What the object database lacks below each tree checked so far.
#[derive(Debug, Default)]
pub struct Completeness {
    trees: HashMap<ObjectId, Vec<ObjectId>>,
}

/// One commit as a completeness walk found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitCheck {
    /// Its parents, or `None` when the commit object itself is missing (so they are unknown).
    pub parents: Option<Vec<ObjectId>>,
    /// Its root tree, when the commit could be read.
    pub tree: Option<ObjectId>,
    /// Missing objects: the commit itself, or objects below its tree, each once.
    pub missing: Vec<ObjectId>,
}

impl Store {
    /// Checks one commit: is it here, and is everything below its tree here.
    pub fn check_commit(&self, id: ObjectId, seen: &mut Completeness) -> Result<CommitCheck> {
        let commit = match self.read_commit(id) {
            Ok(commit) => commit,
            Err(StoreError::MissingObject { .. }) => {
                return Ok(CommitCheck {
                    parents: None,
                    tree: None,
                    missing: vec![id],
                })
            }
            Err(e) => return Err(e),
        };
        let missing = self.missing_in_tree(commit.tree, seen)?;
        Ok(CommitCheck {
            parents: Some(commit.parents),
            tree: Some(commit.tree),
            missing,
        })
    }

    /// Lists the objects below `tree` (itself included) that the object database lacks.
    pub fn missing_in_tree(
        &self,
        tree: ObjectId,
        seen: &mut Completeness,
    ) -> Result<Vec<ObjectId>> {
        if let Some(known) = seen.trees.get(&tree) {
            return Ok(known.clone());
        }
        let mut missing = Vec::new();
        match self.read_tree(tree) {
            Ok(entries) => {
                for entry in entries {
                    match entry.kind {
                        EntryKind::Tree => {
                            for id in self.missing_in_tree(entry.id, seen)? {
                                if !missing.contains(&id) {
                                    missing.push(id);
                                }
                            }
                        }
                        EntryKind::Blob => {
                            if !self.has_object(entry.id) && !missing.contains(&entry.id) {
                                missing.push(entry.id);
                            }
                        }
                    }
                }
            }
            Err(StoreError::MissingObject { .. }) => missing.push(tree),
            Err(e) => return Err(e),
        }
        seen.trees.insert(tree, missing.clone());
        Ok(missing)
    }

    /// Writes a copy of `tree` without the entries whose objects are missing, at any depth
    /// (a subtree that lost entries is written again); a missing `tree` gives the empty tree.
    /// For keeping what can still be read of a damaged save.
    pub fn without_missing(&self, tree: ObjectId) -> Result<ObjectId> {
        let entries = match self.read_tree(tree) {
            Ok(entries) => entries,
            Err(StoreError::MissingObject { .. }) => return self.write_tree(&[]),
            Err(e) => return Err(e),
        };
        let mut kept = Vec::with_capacity(entries.len());
        let mut changed = false;
        for mut entry in entries {
            match entry.kind {
                EntryKind::Blob if !self.has_object(entry.id) => {
                    changed = true;
                    continue;
                }
                EntryKind::Blob => {}
                EntryKind::Tree if !self.has_object(entry.id) => {
                    changed = true;
                    continue;
                }
                EntryKind::Tree => {
                    let copy = self.without_missing(entry.id)?;
                    changed |= copy != entry.id;
                    entry.id = copy;
                }
            }
            kept.push(entry);
        }
        if changed {
            self.write_tree(&kept)
        } else {
            Ok(tree)
        }
    }

    /// Lists the objects `tree` needs that the object database lacks, leaving out every entry
    /// that `base` holds with the same id at the same path: those are reachable from a ref
    /// already. For the check a save makes before it moves its ref (`base` is the tree of the
    /// save it follows).
    pub fn missing_beyond(&self, tree: ObjectId, base: Option<ObjectId>) -> Result<Vec<ObjectId>> {
        let mut out = Vec::new();
        self.collect_missing_beyond(tree, base, &mut out)?;
        Ok(out)
    }

    fn collect_missing_beyond(
        &self,
        tree: ObjectId,
        base: Option<ObjectId>,
        out: &mut Vec<ObjectId>,
    ) -> Result<()> {
        if base == Some(tree) {
            return Ok(());
        }
        let entries = match self.read_tree(tree) {
            Ok(entries) => entries,
            Err(StoreError::MissingObject { .. }) => {
                out.push(tree);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let base_entries: HashMap<String, (EntryKind, ObjectId)> = match base {
            Some(base) => self
                .read_tree(base)
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.name, (e.kind, e.id)))
                .collect(),
            None => HashMap::new(),
        };
        for entry in entries {
            let before = base_entries.get(&entry.name);
            if before.is_some_and(|(_, id)| *id == entry.id) {
                continue;
            }
            match entry.kind {
                EntryKind::Tree => {
                    let base = before
                        .filter(|(kind, _)| *kind == EntryKind::Tree)
                        .map(|(_, id)| *id);
                    self.collect_missing_beyond(entry.id, base, out)?;
                }
                EntryKind::Blob => {
                    if !self.has_object(entry.id) {
                        out.push(entry.id);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TreeEntry;

    fn entry(name: &str, kind: EntryKind, id: ObjectId) -> TreeEntry {
        TreeEntry {
            name: name.into(),
            kind,
            id,
        }
    }

    fn remove_loose(store: &Store, id: ObjectId) {
        let hex = id.to_string();
        std::fs::remove_file(store.objects_dir().join(&hex[..2]).join(&hex[2..]))
            .expect("the object is loose");
    }

    #[test]
    fn a_deleted_blob_is_found_below_every_commit_that_reaches_it() {
        let (_dir, store) = Store::temporary();
        let kept = store.write_blob(b"kept").unwrap();
        let lost = store.write_blob(b"lost").unwrap();
        let inner = store
            .write_tree(&[
                entry("a", EntryKind::Blob, kept),
                entry("b", EntryKind::Blob, lost),
            ])
            .unwrap();
        let root = store
            .write_tree(&[entry("dir", EntryKind::Tree, inner)])
            .unwrap();
        let first = store.write_commit(root, &[], "first\n").unwrap();
        let second = store.write_commit(root, &[first], "second\n").unwrap();
        remove_loose(&store, lost);
        let mut seen = Completeness::default();
        for commit in [second, first] {
            let check = store.check_commit(commit, &mut seen).unwrap();
            assert_eq!(check.missing, vec![lost], "{commit}");
        }
        assert_eq!(
            store.check_commit(second, &mut seen).unwrap().parents,
            Some(vec![first])
        );
        remove_loose(&store, first);
        let check = store.check_commit(first, &mut seen).unwrap();
        assert_eq!((check.parents, check.missing), (None, vec![first]));
    }

    #[test]
    fn the_check_before_a_ref_moves_skips_what_the_previous_save_holds() {
        let (_dir, store) = Store::temporary();
        let old = store.write_blob(b"old message").unwrap();
        let new = store.write_blob(b"new message").unwrap();
        let bucket_before = store
            .write_tree(&[entry("m1", EntryKind::Blob, old)])
            .unwrap();
        let bucket_after = store
            .write_tree(&[
                entry("m1", EntryKind::Blob, old),
                entry("m2", EntryKind::Blob, new),
            ])
            .unwrap();
        let before = store
            .write_tree(&[entry("messages", EntryKind::Tree, bucket_before)])
            .unwrap();
        let after = store
            .write_tree(&[entry("messages", EntryKind::Tree, bucket_after)])
            .unwrap();
        assert!(store
            .missing_beyond(after, Some(before))
            .unwrap()
            .is_empty());
        remove_loose(&store, old);
        remove_loose(&store, new);
        assert_eq!(
            store.missing_beyond(after, Some(before)).unwrap(),
            vec![new],
            "m1 is the previous save's, which its ref keeps; m2 is new and gone"
        );
        assert_eq!(store.missing_beyond(after, None).unwrap(), vec![old, new]);
        remove_loose(&store, after);
        assert_eq!(
            store.missing_beyond(after, Some(before)).unwrap(),
            vec![after]
        );
    }
}
