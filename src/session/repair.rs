//! Finding and mending session histories that lack objects.
//!
//! A history lacks objects when something deleted them while a ref reached them, or before it
//! did: a `git gc --prune=now` run by hand while a save was writing (git's own hazard; saves and
//! `git session gc` exclude each other), a disk error, a hand edit. Then every `git gc` and
//! `git fsck` of the repository fails, and so does reading a damaged save.
//!
//! git objects are named by their content, so another save "holding the same content" holds the
//! very object that is missing: there is no second copy inside the repository to restore from.
//! Copies live elsewhere, and they come back without help: a later save of the same content
//! writes the object again (saves write or freshen every object they use, so a damaged save
//! heals when its content is saved again), and a pull from a remote that has the session
//! fetches it. What is still missing when this runs is mended like this:
//!
//! - a local session keeps every intact save: the damaged ones are left out and the saves after
//!   them are copied onto the intact saves before them (same trees, messages, authors and
//!   times). A save whose commit object itself is gone stands for what the ref's reflog says it
//!   followed, so the history is cut only when nothing says what came before.
//! - the old history, with each damaged save replaced by what can still be read of it (its tree
//!   without the missing objects, and a `Damaged:` trailer naming them), is kept on a backup
//!   ref, `refs/session-backups/<agent>/<id>/<unix-time>`, so nothing readable is lost.
//! - a backup ref is mended that way in place.
//! - a remote-tracking ref is deleted: it mirrors the remote, and the next pull fetches it
//!   again, with the objects this repository lost.
//!
//! Refs move by compare-and-swap from the value the scan read. Reflog entries that reach the
//! damaged saves are the caller's to expire (that takes `git`), or `git gc` keeps failing.

use std::collections::{HashMap, HashSet};

use super::scrub::{backup_ref, BACKUP_PREFIX};
use super::Result;
use crate::store::layout::{RefName, LOCAL_PREFIX, REMOTES_PREFIX};
use crate::store::{Completeness, ObjectId, RefUpdate, Store};

/// Which kind of ref a history is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `refs/sessions/<agent>/<id>`: saved here.
    Local,
    /// `refs/remotes/<remote>/sessions/<agent>/<id>`: as fetched from a remote.
    RemoteTracking,
    /// `refs/session-backups/<agent>/<id>/<time>`: an old history kept by scrub or repair.
    Backup,
}

/// One save that lacks objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedSave {
    /// The save's commit.
    pub commit: ObjectId,
    /// The objects it lacks (the commit itself when that is what is gone).
    pub missing: Vec<ObjectId>,
}

/// A sessions ref whose history, or whose reflog, reaches missing objects.
#[derive(Debug, Clone)]
pub struct Damage {
    /// The full ref name.
    pub ref_name: String,
    /// Local, remote-tracking or backup.
    pub kind: RefKind,
    /// The agent (ref namespace).
    pub namespace: String,
    /// The session id.
    pub id: String,
    /// The commit the ref pointed to when it was checked.
    pub tip: ObjectId,
    /// Saves the history holds (as far as they could be read).
    pub saves: usize,
    /// The saves that lack objects, newest first.
    pub damaged: Vec<DamagedSave>,
    /// Reflog entries of the ref reach damaged saves the history itself does not.
    pub damaged_reflog: bool,
    /// The history, every parent before its children.
    order: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Node {
    id: ObjectId,
    parents: Vec<ObjectId>,
    /// The tree, when the commit could be read.
    tree: Option<ObjectId>,
    missing: Vec<ObjectId>,
}

impl Node {
    fn damaged(&self) -> bool {
        !self.missing.is_empty()
    }
}

/// What a scan of every sessions ref found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Sessions refs checked (local, remote-tracking and backups).
    pub refs: usize,
    /// Distinct saves checked.
    pub saves: usize,
    /// The refs that need mending.
    pub damage: Vec<Damage>,
}

/// What mending one ref did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mended {
    /// The ref points at a history without the damaged saves (or, for a backup ref, with what
    /// can be read of them).
    Rewritten {
        /// The new tip.
        tip: ObjectId,
        /// Saves the new history holds.
        saves: u64,
        /// The backup ref keeping the old history's readable parts, with its value.
        backup: Option<(String, ObjectId)>,
    },
    /// No intact save was left, so the ref was deleted.
    Deleted {
        /// The backup ref keeping the old history's readable parts, with its value.
        backup: Option<(String, ObjectId)>,
    },
    /// The history is intact; only the ref's reflog reaches damaged saves.
    ReflogOnly,
}

/// Checks every object of every sessions ref: local, remote-tracking and backups, and what
/// their reflogs reach.
pub fn scan(store: &Store) -> Result<Scan> {
    let mut refs = store.list_refs(LOCAL_PREFIX)?;
    refs.extend(
        store
            .list_refs(REMOTES_PREFIX)?
            .into_iter()
            .filter(|(name, _)| RefName::parse(name).is_some()),
    );
    refs.extend(store.list_refs(BACKUP_PREFIX)?);
    let mut seen = Completeness::default();
    let mut checked: HashMap<ObjectId, crate::store::check::CommitCheck> = HashMap::new();
    let mut out = Scan {
        refs: refs.len(),
        ..Scan::default()
    };
    for (name, tip) in refs {
        let Some((kind, namespace, id)) = classify(&name) else {
            continue;
        };
        let reflog = store.reflog(&name)?;
        let order = walk(store, tip, &reflog, &mut seen, &mut checked)?;
        let in_history: HashSet<ObjectId> = order.iter().map(|n| n.id).collect();
        let mut damaged_reflog = false;
        for (old, new) in &reflog {
            for id in [old, new] {
                if id.is_null() || in_history.contains(id) {
                    continue;
                }
                let check = match checked.get(id) {
                    Some(check) => check.clone(),
                    None => store.check_commit(*id, &mut seen)?,
                };
                damaged_reflog |= !check.missing.is_empty();
            }
        }
        let damaged: Vec<DamagedSave> = order
            .iter()
            .rev()
            .filter(|n| n.damaged())
            .map(|n| DamagedSave {
                commit: n.id,
                missing: n.missing.clone(),
            })
            .collect();
        if damaged.is_empty() && !damaged_reflog {
            continue;
        }
        out.damage.push(Damage {
            ref_name: name,
            kind,
            namespace,
            id,
            tip,
            saves: order.len(),
            damaged,
            damaged_reflog,
            order,
        });
    }
    out.saves = checked.len();
    Ok(out)
}

/// Mends one damaged ref as the module docs describe.
pub fn mend(store: &Store, damage: &Damage) -> Result<Mended> {
    if damage.damaged.is_empty() {
        return Ok(Mended::ReflogOnly);
    }
    if damage.kind == RefKind::RemoteTracking {
        store.update_ref(&RefUpdate {
            name: &damage.ref_name,
            expected: Some(damage.tip),
            new: None,
            log_message: "git-session repair: objects missing here; fetch it again",
        })?;
        return Ok(Mended::Deleted { backup: None });
    }
    let salvaged = rebuild(store, &damage.order, Keep::Readable)?;
    let salvage_tip = salvaged.get(&damage.tip).and_then(|t| t.first().copied());
    let (new_tip, backup) = match damage.kind {
        RefKind::Backup => (salvage_tip, None),
        _ => {
            let clean = rebuild(store, &damage.order, Keep::Intact)?;
            let clean_tip = clean.get(&damage.tip).and_then(|t| t.first().copied());
            let backup = salvage_tip.filter(|s| Some(*s) != clean_tip);
            (clean_tip, backup)
        }
    };
    let backup = match backup {
        Some(value) => {
            let backup_name = backup_ref(store, &damage.namespace, &damage.id)?;
            store.update_ref(&RefUpdate {
                name: &backup_name,
                expected: None,
                new: Some(value),
                log_message: "git-session repair: the history before repair, damaged saves as far as readable",
            })?;
            Some((backup_name, value))
        }
        None => None,
    };
    let log_message = "git-session repair: saves with missing objects left out";
    let moved = store.update_ref(&RefUpdate {
        name: &damage.ref_name,
        expected: Some(damage.tip),
        new: new_tip,
        log_message,
    });
    if let Err(e) = moved {
        if let Some((name, value)) = &backup {
            // Nothing changed: the backup is not needed.
            let _ = store.update_ref(&RefUpdate {
                name,
                expected: Some(*value),
                new: None,
                log_message: "git-session repair: abandoned",
            });
        }
        return Err(e.into());
    }
    Ok(match new_tip {
        Some(tip) => Mended::Rewritten {
            tip,
            saves: store.count_reachable(&[tip])?,
            backup,
        },
        None => Mended::Deleted { backup },
    })
}

/// What a rebuilt history keeps of a damaged save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: the saves after it follow the saves before it.
    Intact,
    /// A copy with the missing objects left out of its tree.
    Readable,
}

/// Writes the history again from `order` (parents first) and returns, for each old commit, the
/// commits standing for it in the new history: itself when nothing below it changed, its copy,
/// or (for a save left out) what stands for its parents.
fn rebuild(store: &Store, order: &[Node], keep: Keep) -> Result<HashMap<ObjectId, Vec<ObjectId>>> {
    let mut map: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    for node in order {
        let mut parents: Vec<ObjectId> = Vec::new();
        for p in &node.parents {
            for stand_in in map.get(p).map(Vec::as_slice).unwrap_or_default() {
                if !parents.contains(stand_in) {
                    parents.push(*stand_in);
                }
            }
        }
        let stands_for = match (node.damaged(), node.tree, keep) {
            (false, _, _) if parents == node.parents => vec![node.id],
            (false, _, _) => vec![store.rewrite_commit(node.id, None, &parents, None)?],
            (true, Some(tree), Keep::Readable) => {
                let readable = store.without_missing(tree)?;
                let message = store.read_commit(node.id)?.message;
                let message = damaged_message(&message, &node.missing);
                vec![store.rewrite_commit(node.id, Some(readable), &parents, Some(&message))?]
            }
            // Left out, or its commit is gone: the saves after it follow its parents.
            (true, _, _) => parents,
        };
        map.insert(node.id, stands_for);
    }
    Ok(map)
}

/// The message of a damaged save's readable copy: its own, with a `Damaged:` trailer.
fn damaged_message(message: &str, missing: &[ObjectId]) -> String {
    let ids: Vec<String> = missing.iter().map(ObjectId::to_string).collect();
    format!(
        "{}\nDamaged: {} missing object(s), left out by git session repair: {}\n",
        message.trim_end(),
        ids.len(),
        ids.join(" ")
    )
}

/// Reads the history from `tip`, parents before children. A commit that is gone stands on
/// what the reflog says the ref held before it.
fn walk(
    store: &Store,
    tip: ObjectId,
    reflog: &[(ObjectId, ObjectId)],
    seen: &mut Completeness,
    checked: &mut HashMap<ObjectId, crate::store::check::CommitCheck>,
) -> Result<Vec<Node>> {
    let mut order = Vec::new();
    let mut done: HashSet<ObjectId> = HashSet::new();
    let mut on_path: HashSet<ObjectId> = HashSet::new();
    // (commit, parents pushed yet)
    let mut stack = vec![(tip, false)];
    let mut nodes: HashMap<ObjectId, Node> = HashMap::new();
    while let Some((id, expanded)) = stack.pop() {
        if done.contains(&id) || (!expanded && on_path.contains(&id)) {
            continue;
        }
        if expanded {
            on_path.remove(&id);
            done.insert(id);
            order.push(nodes.remove(&id).expect("expanded nodes are known"));
            continue;
        }
        let check = match checked.get(&id) {
            Some(check) => check.clone(),
            None => {
                let check = store.check_commit(id, seen)?;
                checked.insert(id, check.clone());
                check
            }
        };
        let parents = match check.parents {
            Some(parents) => parents,
            None => {
                let mut before: Vec<ObjectId> = reflog
                    .iter()
                    .filter(|(old, new)| *new == id && !old.is_null() && *old != id)
                    .map(|(old, _)| *old)
                    .collect();
                // A tip no entry names (the entries of a rewrite are expired with it): the
                // newest value the reflog does name is the last state known.
                if before.is_empty() && id == tip {
                    before.extend(
                        reflog
                            .iter()
                            .rev()
                            .map(|(_, new)| *new)
                            .find(|new| !new.is_null() && *new != id),
                    );
                }
                before
            }
        };
        // A reflog that contradicts the commit graph must not make a cycle.
        let parents: Vec<ObjectId> = parents
            .into_iter()
            .filter(|p| !on_path.contains(p))
            .collect();
        on_path.insert(id);
        stack.push((id, true));
        for p in parents.iter().rev() {
            if !done.contains(p) {
                stack.push((*p, false));
            }
        }
        nodes.insert(
            id,
            Node {
                id,
                parents,
                tree: check.tree,
                missing: check.missing,
            },
        );
    }
    Ok(order)
}

/// `(kind, namespace, id)` of a sessions ref or backup ref.
fn classify(name: &str) -> Option<(RefKind, String, String)> {
    if let Some(rest) = name.strip_prefix(BACKUP_PREFIX) {
        let mut parts = rest.split('/');
        let (namespace, id) = (parts.next()?, parts.next()?);
        return Some((RefKind::Backup, namespace.to_owned(), id.to_owned()));
    }
    let parsed = RefName::parse(name)?;
    let kind = match parsed.origin {
        crate::store::layout::Origin::Local => RefKind::Local,
        crate::store::layout::Origin::Remote(_) => RefKind::RemoteTracking,
    };
    Some((kind, parsed.namespace, parsed.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EntryKind, TreeEntry};

    fn remove_loose(store: &Store, id: ObjectId) {
        let hex = id.to_string();
        std::fs::remove_file(store.objects_dir().join(&hex[..2]).join(&hex[2..]))
            .expect("the object is loose");
    }

    /// A chain of saves on `name`, each with a blob of its own; returns (commits, blobs).
    fn chain(store: &Store, name: &str, n: usize) -> (Vec<ObjectId>, Vec<ObjectId>) {
        let (mut commits, mut blobs) = (Vec::new(), Vec::new());
        for i in 0..n {
            let blob = store.write_blob(format!("message {i}").as_bytes()).unwrap();
            let shared = store.write_blob(b"shared").unwrap();
            let tree = store
                .write_tree(&[
                    TreeEntry {
                        name: format!("m{i}"),
                        kind: EntryKind::Blob,
                        id: blob,
                    },
                    TreeEntry {
                        name: "shared".into(),
                        kind: EntryKind::Blob,
                        id: shared,
                    },
                ])
                .unwrap();
            let parents: Vec<ObjectId> = commits.last().copied().into_iter().collect();
            let commit = store
                .write_commit(tree, &parents, &format!("save {i}\n\nSaves: {}\n", i + 1))
                .unwrap();
            store
                .update_ref(&RefUpdate {
                    name,
                    expected: parents.first().copied(),
                    new: Some(commit),
                    log_message: "save",
                })
                .unwrap();
            commits.push(commit);
            blobs.push(blob);
        }
        (commits, blobs)
    }

    #[test]
    fn a_tip_no_reflog_entry_names_falls_back_to_the_newest_value_the_reflog_has() {
        let (dir, _) = Store::temporary();
        // A bare repository keeps no reflogs unless told to.
        let status = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(dir.path())
            .args(["config", "core.logAllRefUpdates", "true"])
            .status()
            .unwrap();
        assert!(status.success());
        let store = Store::open(dir.path()).unwrap();
        let name = "refs/sessions/agent/s1";
        let (commits, _) = chain(&store, name, 2);
        // Moved without a reflog entry naming the new value (as after a rewrite whose entries
        // were expired), and then lost.
        let orphan = store.rewrite_commit(commits[1], None, &[], None).unwrap();
        std::fs::write(store.common_dir().join(name), format!("{orphan}\n")).unwrap();
        remove_loose(&store, orphan);
        let scan = scan(&store).unwrap();
        let damage = &scan.damage[0];
        assert_eq!(damage.damaged[0].missing, vec![orphan]);
        let mended = mend(&store, damage).unwrap();
        let Mended::Rewritten { tip, backup, .. } = mended else {
            panic!("{mended:?}");
        };
        assert_eq!(tip, commits[1], "the newest save the reflog names");
        assert_eq!(backup, None, "nothing readable beyond the intact history");
    }

    #[test]
    fn a_damaged_backup_keeps_what_is_readable_in_place() {
        let (_dir, store) = Store::temporary();
        let name = "refs/session-backups/agent/s1/100";
        let (commits, blobs) = chain(&store, name, 3);
        remove_loose(&store, blobs[1]);
        let scan = scan(&store).unwrap();
        let damage = &scan.damage[0];
        assert_eq!(damage.kind, RefKind::Backup);
        let mended = mend(&store, damage).unwrap();
        let Mended::Rewritten { tip, saves, backup } = mended else {
            panic!("{mended:?}");
        };
        assert_eq!((saves, backup), (3, None), "every save, in place");
        assert_eq!(store.find_ref(name).unwrap(), Some(tip));
        let copy = store
            .read_commit(store.read_commit(tip).unwrap().parents[0])
            .unwrap();
        let names: Vec<String> = store
            .read_tree(copy.tree)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["shared"], "m1 is gone, the rest kept");
        assert!(copy.message.contains(&format!(
            "Damaged: 1 missing object(s), left out by git session repair: {}",
            blobs[1]
        )));
        assert_eq!(
            copy.parents,
            vec![commits[0]],
            "the intact first save is itself"
        );
        assert!(super::scan(&store).unwrap().damage.is_empty());
    }
}
