//! What each save of a session added: the messages it holds that the save before it (its first
//! parent) did not, read from the save trees and the start of each message line only, each bucket
//! once, so a long history costs tree reads, not message reads.

use std::collections::{HashMap, HashSet};

use super::codec;
use super::history::{SaveRecord, SavedSession};
use crate::store::{ObjectId, Store};

/// The messages one save added, as `(session id, message id)` pairs (child sessions' too), in the
/// order the save's trees list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    /// The new messages.
    pub messages: Vec<(String, String)>,
    /// The child sessions that first appear in this save.
    pub new_children: usize,
}

/// Returns what each of `saves` (saves of `saved`, as `SessionHistory::log` lists them) added
/// over its first parent; the first save added everything it holds.
pub fn added_by_saves(
    store: &Store,
    saved: &SavedSession,
    saves: &[SaveRecord],
) -> super::Result<Vec<Added>> {
    let root = saved.name.id.as_str();
    let mut ids: HashMap<ObjectId, Vec<(String, String)>> = HashMap::new();
    let mut buckets = HashMap::new();
    let mut ids_of = |commit: ObjectId, tree: Option<ObjectId>| -> super::Result<_> {
        if let Some(found) = ids.get(&commit) {
            return Ok(found.clone());
        }
        let tree = match tree {
            Some(tree) => tree,
            None => store.read_commit(commit)?.tree,
        };
        let found = codec::message_ids(store, root, tree, &mut buckets)?;
        ids.insert(commit, found.clone());
        Ok(found)
    };
    let mut out = Vec::with_capacity(saves.len());
    for save in saves {
        let now = ids_of(save.commit, Some(save.tree))?;
        let before: HashSet<(String, String)> = match save.parents.first() {
            Some(parent) => ids_of(*parent, None)?.into_iter().collect(),
            None => HashSet::new(),
        };
        let sessions_before: HashSet<&str> = before.iter().map(|(s, _)| s.as_str()).collect();
        let mut new_children: HashSet<&str> = HashSet::new();
        let messages: Vec<(String, String)> = now
            .iter()
            .filter(|m| !before.contains(*m))
            .cloned()
            .collect();
        for (session, _) in &now {
            if session != root && !sessions_before.contains(session.as_str()) {
                new_children.insert(session);
            }
        }
        out.push(Added {
            messages,
            new_children: new_children.len(),
        });
    }
    Ok(out)
}
