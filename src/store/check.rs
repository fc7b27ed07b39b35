//! Finding the objects a tree needs that the object database lacks.
//!
//! A save checks, right before its ref moves, that everything its new tree added is present
//! (what the ref already reaches is left out: no gc removes it).

use std::collections::HashMap;

use super::{EntryKind, ObjectId, Result, Store, StoreError};

impl Store {
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
