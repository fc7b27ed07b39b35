//! Walking commit ancestry: the questions a sync asks before it fast-forwards or merges.

use std::collections::HashSet;

use super::{ObjectId, Result, Store};

impl Store {
    /// Returns true when `ancestor` is `descendant` or reachable from it through parents.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        let mut seen = HashSet::new();
        let mut queue = vec![descendant];
        while let Some(id) = queue.pop() {
            if id == ancestor {
                return Ok(true);
            }
            if seen.insert(id) {
                queue.extend(self.read_commit(id)?.parents);
            }
        }
        Ok(false)
    }

    /// Counts the distinct commits reachable from any of `tips`.
    pub fn count_reachable(&self, tips: &[ObjectId]) -> Result<u64> {
        let mut seen = HashSet::new();
        let mut queue: Vec<ObjectId> = tips.to_vec();
        while let Some(id) = queue.pop() {
            if seen.insert(id) {
                queue.extend(self.read_commit(id)?.parents);
            }
        }
        Ok(seen.len() as u64)
    }

    /// Returns the distinct commits reachable from any of `tips` (the tips included).
    pub fn reachable_commits(&self, tips: &[ObjectId]) -> Result<HashSet<ObjectId>> {
        let mut seen = HashSet::new();
        let mut queue: Vec<ObjectId> = tips.to_vec();
        while let Some(id) = queue.pop() {
            if seen.insert(id) {
                queue.extend(self.read_commit(id)?.parents);
            }
        }
        Ok(seen)
    }

    /// The names of the configured remotes, sorted.
    pub fn remote_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .repo
            .remote_names()
            .into_iter()
            .map(|n| n.to_string())
            .collect();
        names.sort();
        names
    }
}
