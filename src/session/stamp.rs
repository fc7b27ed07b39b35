//! The stamp of an agent's files recorded at a hook's save, so the next hook can tell, without
//! reading the files, that there is nothing new to save.
//!
//! One file per session, `<git-session dir>/stamp/<agent>/<id>`: the ref and the save it held
//! after that save, then the stamp. A stamp is current only while the ref still points at that
//! save (a pull, a load or another save moved it: the next hook reads and saves as usual), so a
//! skipped save can never hide a change.

use std::path::PathBuf;

use super::history::SaveOutcome;
use crate::store::layout::is_safe_component;
use crate::store::{ObjectId, Store};

fn path(store: &Store, agent: &str, id: &str) -> Option<PathBuf> {
    (is_safe_component(agent) && is_safe_component(id))
        .then(|| store.state_dir().join("stamp").join(agent).join(id))
}

/// Whether `stamp` is what the last hook save of session `id` recorded, and the ref still holds
/// that save.
pub fn is_current(store: &Store, agent: &str, id: &str, stamp: &str) -> bool {
    let Some(text) = path(store, agent, id).and_then(|p| std::fs::read_to_string(p).ok()) else {
        return false;
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(ref_name), Some(commit), Some(recorded)) = (lines.next(), lines.next(), lines.next())
    else {
        return false;
    };
    let Ok(commit) = ObjectId::from_hex(commit.as_bytes()) else {
        return false;
    };
    recorded == stamp && matches!(store.find_ref(ref_name), Ok(Some(tip)) if tip == commit)
}

/// Records `stamp` for session `id` after a save that ended with `outcome` (best effort: a
/// stamp that cannot be written only means the next hook reads the files again).
pub fn record(store: &Store, agent: &str, id: &str, stamp: &str, outcome: &SaveOutcome) {
    let (commit, ref_name) = match outcome {
        SaveOutcome::Saved {
            commit, ref_name, ..
        }
        | SaveOutcome::Unchanged {
            commit, ref_name, ..
        }
        | SaveOutcome::AlreadyStored { commit, ref_name } => (commit, ref_name),
    };
    if let Some(path) = path(store, agent, id) {
        let text = format!("{ref_name}\n{commit}\n{stamp}");
        let _ = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::fsutil::write_atomically(&path, text.as_bytes()));
    }
}
