//! Removing saves: deleting a session's ref, and shortening its history to the newest saves.
//!
//! Both move the ref by compare-and-swap from the value read when the plan was made, so a save
//! made meanwhile is never lost: the change fails instead and can be planned again. Nothing is
//! deleted from the object database here; `git gc` reclaims what no ref reaches any more.

use super::{Result, SavedSession};
use crate::store::{LockMode, ObjectId, RefUpdate, Store};

/// How to shorten one session's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shorten {
    /// The session's full ref name.
    pub ref_name: String,
    /// The tip the plan was made from.
    pub tip: ObjectId,
    /// The saves kept, newest first: the ref's first-parent chain, at most N long.
    pub kept: Vec<ObjectId>,
    /// Saves reachable from the ref before (every parent of every merge followed).
    pub saves_before: u64,
    /// Merges among the kept saves, which become ordinary saves of their first parent.
    pub merges_flattened: u64,
}

impl Shorten {
    /// Saves the shortened history no longer reaches.
    pub fn dropped(&self) -> u64 {
        self.saves_before - self.kept.len() as u64
    }
}

/// Plans keeping the newest `keep` saves of `saved` (along first parents), or returns `None`
/// when its history already holds no more than that (and no merge). `keep` must be at least 1.
pub fn plan_keep_last(store: &Store, saved: &SavedSession, keep: usize) -> Result<Option<Shorten>> {
    let keep = keep.max(1);
    let mut kept = Vec::with_capacity(keep);
    let mut merges = 0;
    let mut next = Some(saved.tip);
    while let Some(id) = next {
        if kept.len() == keep {
            break;
        }
        let commit = store.read_commit(id)?;
        if commit.parents.len() > 1 {
            merges += 1;
        }
        kept.push(id);
        next = commit.parents.first().copied();
    }
    let saves_before = store.count_reachable(&[saved.tip])?;
    if saves_before <= kept.len() as u64 {
        return Ok(None);
    }
    Ok(Some(Shorten {
        ref_name: saved.name.full(),
        tip: saved.tip,
        kept,
        saves_before,
        merges_flattened: merges,
    }))
}

/// Writes the shortened history (a copy of each kept save, oldest first, each on the copy of
/// the one before, the oldest without parent) and moves the ref to it by compare-and-swap.
/// Returns the new tip.
pub fn shorten(store: &Store, plan: &Shorten) -> Result<ObjectId> {
    // The copies are unreachable until the swap: no `git session gc` meanwhile.
    let _lock = store.lock_maintenance(LockMode::Shared, "")?;
    let mut parent: Option<ObjectId> = None;
    for id in plan.kept.iter().rev() {
        let parents: Vec<ObjectId> = parent.into_iter().collect();
        parent = Some(store.copy_commit_with_parents(*id, &parents)?);
    }
    let new_tip = parent.expect("a plan keeps at least one save");
    let message = format!(
        "git-session prune: kept the newest {} of {} saves",
        plan.kept.len(),
        plan.saves_before
    );
    store.update_ref(&RefUpdate {
        name: &plan.ref_name,
        expected: Some(plan.tip),
        new: Some(new_tip),
        log_message: &message,
    })?;
    Ok(new_tip)
}

/// Deletes the session's ref if it still points to the save it was read at.
pub fn delete(store: &Store, saved: &SavedSession) -> Result<()> {
    let name = saved.name.full();
    store.update_ref(&RefUpdate {
        name: &name,
        expected: Some(saved.tip),
        new: None,
        log_message: "git-session delete",
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SaveMeta, Session, SessionHistory};
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        Store::temporary()
    }

    fn save(history: &SessionHistory<'_>, n: usize) {
        let session = Session {
            id: "ses_p".into(),
            info: json!({"info": {"id": "ses_p"}}),
            messages: (0..n)
                .map(|i| crate::session::Message {
                    id: format!("msg_{i:03}"),
                    body: json!({"info": {"id": i}, "parts": []}).into(),
                })
                .collect(),
            children: vec![],
        };
        let meta = SaveMeta {
            agent: "opencode".into(),
            agent_version: None,
            title: "P".into(),
            reason: "test".into(),
            split_threshold: 1024,
            skip_if_stored: false,
            paths: crate::session::portable::MachinePaths::none(),
        };
        history.save(&session, &meta, None).unwrap();
    }

    #[test]
    fn keeping_the_last_saves_copies_them_onto_a_shorter_chain() {
        let (_dir, store) = store();
        let history = SessionHistory::new(&store);
        for n in 1..=5 {
            save(&history, n);
        }
        let saved = history.local_sessions().unwrap().remove(0);
        assert_eq!(plan_keep_last(&store, &saved, 5).unwrap(), None);
        let plan = plan_keep_last(&store, &saved, 2).unwrap().expect("a plan");
        assert_eq!(
            (plan.kept.len(), plan.saves_before, plan.dropped()),
            (2, 5, 3)
        );
        let before = history.log(&saved).unwrap();
        let tip = shorten(&store, &plan).unwrap();
        let after_saved = history.local_sessions().unwrap().remove(0);
        assert_eq!(after_saved.tip, tip);
        let after = history.log(&after_saved).unwrap();
        assert_eq!(after.len(), 2);
        for (new, old) in after.iter().zip(&before) {
            assert_eq!(
                (new.tree, new.seconds, &new.trailers),
                (old.tree, old.seconds, &old.trailers)
            );
        }
        assert!(
            after[1].parents.is_empty(),
            "the oldest kept save is a root"
        );

        let moved = shorten(&store, &plan).unwrap_err();
        assert!(moved.to_string().contains("moved"), "{moved}");
        delete(&store, &after_saved).unwrap();
        assert!(history.local_sessions().unwrap().is_empty());
    }

    #[test]
    fn a_merge_among_the_kept_saves_keeps_its_first_parent_only() {
        let (_dir, store) = store();
        let history = SessionHistory::new(&store);
        for n in 1..=3 {
            save(&history, n);
        }
        let saved = history.local_sessions().unwrap().remove(0);
        let tip = store.read_commit(saved.tip).unwrap();
        let first = history.log(&saved).unwrap().pop().unwrap().commit;
        // A merge of the tip with the first save (as `pull` writes for diverged saves).
        let merge = store
            .write_commit(tip.tree, &[saved.tip, first], &tip.message)
            .unwrap();
        store
            .update_ref(&RefUpdate {
                name: &saved.name.full(),
                expected: Some(saved.tip),
                new: Some(merge),
                log_message: "test merge",
            })
            .unwrap();
        let saved = history.local_sessions().unwrap().remove(0);
        let plan = plan_keep_last(&store, &saved, 2).unwrap().expect("a plan");
        assert_eq!(
            (plan.kept.clone(), plan.saves_before, plan.merges_flattened),
            (vec![merge, tip.id], 4, 1)
        );
        let new_tip = shorten(&store, &plan).unwrap();
        let copy = store.read_commit(new_tip).unwrap();
        assert_eq!(copy.parents.len(), 1, "the merge is flattened");
        assert_eq!(copy.tree, tip.tree);
        assert_eq!(store.count_reachable(&[new_tip]).unwrap(), 2);
    }
}
