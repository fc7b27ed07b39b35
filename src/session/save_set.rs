//! Saving a set of sessions read together: child sessions are put under their parents, a child
//! whose parent was saved before joins that parent's next save, and each root is saved on its
//! own ref.

use super::history::{SaveMeta, SaveOutcome, SessionHistory};
use super::kind::SessionKind;
use super::model::Session;
use super::portable::MachinePaths;
use super::settings::Settings;
use super::Result;
use crate::store::layout::Origin;
use crate::store::Store;

/// Where a child session read on its own was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached {
    /// Inside the saved root session `root`, under its parent `parent`.
    ToSavedParent {
        /// The child.
        child: String,
        /// Its parent.
        parent: String,
        /// The root session whose ref holds it now.
        root: String,
    },
    /// On its own ref: its parent is not saved here.
    Alone {
        /// The child.
        child: String,
        /// Its parent, which is not saved.
        parent: String,
    },
}

/// What saving one root session did.
#[derive(Debug, Clone)]
pub struct SaveReport {
    /// The root session saved.
    pub session: String,
    /// Its title as the commit records it (redacted when the session is).
    pub title: String,
    /// What the save did.
    pub outcome: SaveOutcome,
    /// Where a child read on its own went.
    pub attached: Option<Attached>,
    /// Whether the session went through redaction.
    pub redacted: bool,
}

/// Saves `sessions` of one agent: children under their parents (by
/// [`SessionKind::parent_id`]); a child whose parent is not among them but already saved joins
/// the parent's next save; one whose parent is unknown is saved on its own ref. Each is the
/// local copy of its session: messages that arrived by merge and that it lacks are kept. With
/// `skip_if_stored`, a session equal to any earlier save writes nothing. `paths` are this
/// machine's roots, stored as placeholders.
pub fn save_all(
    store: &Store,
    kind: &dyn SessionKind,
    sessions: Vec<Session>,
    reason: &str,
    skip_if_stored: bool,
    settings: &Settings,
    paths: &MachinePaths,
) -> Result<Vec<SaveReport>> {
    let history = SessionHistory::new(store);
    let mut reports = Vec::new();
    for root in assemble(kind, sessions) {
        let mut attached = None;
        let mut to_save = root;
        if let Some(parent) = kind.parent_id(&to_save) {
            let child = to_save.id.clone();
            match attach_to_saved_parent(&history, &parent, to_save.clone(), paths)? {
                Some(parent_root) => {
                    attached = Some(Attached::ToSavedParent {
                        child,
                        parent,
                        root: parent_root.id.clone(),
                    });
                    to_save = parent_root;
                }
                None => attached = Some(Attached::Alone { child, parent }),
            }
        }
        let meta = SaveMeta {
            agent: kind.name().to_owned(),
            agent_version: kind.version(&to_save),
            title: kind.title(&to_save),
            reason: reason.to_owned(),
            split_threshold: settings.split_threshold,
            skip_if_stored,
            paths: paths.clone(),
        };
        let outcome = history.save_local_copy(
            &to_save,
            &meta,
            settings.redact(),
            Some(kind.merge_rules()),
        )?;
        reports.push(SaveReport {
            session: to_save.id.clone(),
            title: settings.redacted_title(meta.title),
            outcome,
            attached,
            redacted: settings.redactor.is_some(),
        });
    }
    Ok(reports)
}

/// Puts children under their parents (recursively). Returns the roots: sessions whose parent is
/// not among `sessions`.
pub fn assemble(kind: &dyn SessionKind, sessions: Vec<Session>) -> Vec<Session> {
    let ids: std::collections::HashSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let (mut roots, mut pending): (Vec<Session>, Vec<Session>) =
        sessions.into_iter().partition(|s| {
            kind.parent_id(s)
                .is_none_or(|p| !ids.contains(&p) || p == s.id)
        });
    // Attach children level by level until nothing moves (a parent cycle stays unattached).
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for child in pending {
            let parent = kind.parent_id(&child).unwrap_or_default();
            match roots.iter_mut().find_map(|r| r.find_mut(&parent)) {
                Some(slot) => slot.children.push(child),
                None => still.push(child),
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    roots.extend(pending);
    roots
}

/// Returns the parent's saved root with `child` put in place, or `None` when the parent is not
/// saved locally.
fn attach_to_saved_parent(
    history: &SessionHistory<'_>,
    parent: &str,
    child: Session,
    paths: &MachinePaths,
) -> Result<Option<Session>> {
    let resolved = match history.resolve(parent) {
        Ok(r) if r.saved.name.origin == Origin::Local => r,
        _ => return Ok(None),
    };
    if resolved.child.is_none() && resolved.saved.name.id != parent {
        return Ok(None);
    }
    let save = history.find_save(&resolved.saved, None)?;
    let mut root = history.read_here(&resolved.saved, &save, paths)?;
    let Some(slot) = root.find_mut(parent) else {
        return Ok(None);
    };
    match slot.children.iter_mut().find(|c| c.id == child.id) {
        Some(existing) => {
            let grandchildren = std::mem::take(&mut existing.children);
            *existing = child;
            if existing.children.is_empty() {
                existing.children = grandchildren;
            }
        }
        None => slot.children.push(child),
    }
    Ok(Some(root))
}
