//! Rewriting a session's saves with the redaction rules in force.
//!
//! Each save, oldest first, is decoded; one that holds a secret is encoded again through the
//! redactor (a save without one keeps its tree), and its commit is written again with the same
//! message (redacted), author and committer, on the rewritten parents. The ref then moves from
//! the old tip to the new one by compare-and-swap, after the old tip is kept on
//! `refs/session-backups/<agent>/<id>/<unix-time>`, outside `refs/sessions/`, so a push of the
//! sessions refs never sends it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::codec::{self, Redact};
use super::history::{SaveRecord, SavedSession, SessionHistory};
use super::redact::Redactor;
use super::scan::Scanner;
use super::Result;
use crate::store::{LockMode, ObjectId, RefUpdate, Store};

/// Prefix of the backup refs scrub leaves.
pub const BACKUP_PREFIX: &str = "refs/session-backups/";

/// What scrubbing a session did.
#[derive(Debug, Clone)]
pub enum Scrubbed {
    /// No save holds a secret the rules find; nothing was written.
    Clean {
        /// Saves searched.
        saves: usize,
    },
    /// Saves were rewritten and the ref moved.
    Rewritten {
        /// The tip before.
        old_tip: ObjectId,
        /// The tip now.
        new_tip: ObjectId,
        /// The ref keeping the old history.
        backup: String,
        /// Saves searched.
        saves: usize,
        /// Saves rewritten.
        rewritten: usize,
        /// Secrets redacted in the newest save, per rule.
        newest: BTreeMap<String, usize>,
        /// Secrets redacted over all saves (a message kept by many saves counts in each).
        all: BTreeMap<String, usize>,
    },
}

/// Rewrites the saves of the local session `saved` without the secrets `redactor` finds, keeps
/// the old tip on a backup ref, and moves the session's ref by compare-and-swap. When another
/// save moved the ref meanwhile, nothing is changed and the store's `RefMoved` error is returned.
pub fn scrub(
    store: &Store,
    saved: &SavedSession,
    redactor: &Redactor,
    split_threshold: usize,
) -> Result<Scrubbed> {
    // The rewritten saves are unreachable until the swap: no `git session gc` meanwhile.
    let _lock = store.lock_maintenance(LockMode::Shared, "")?;
    let history = SessionHistory::new(store);
    let records = oldest_first(history.log(saved)?);
    let rewrite = rewrite(store, &history, saved, &records, redactor, split_threshold)?;
    let old_tip = saved.tip;
    if rewrite.new_tip == old_tip {
        return Ok(Scrubbed::Clean {
            saves: rewrite.saves,
        });
    }
    let ref_name = saved.name.full();
    let backup = backup_ref(store, &saved.name.namespace, &saved.name.id)?;
    store.update_ref(&RefUpdate {
        name: &backup,
        expected: None,
        new: Some(old_tip),
        log_message: "git-session scrub: the history before scrubbing",
    })?;
    let moved = store.update_ref(&RefUpdate {
        name: &ref_name,
        expected: Some(old_tip),
        new: Some(rewrite.new_tip),
        log_message: "git-session scrub: saves rewritten with the redaction rules in force",
    });
    if let Err(e) = moved {
        // Nothing changed: the backup is not needed.
        let _ = store.update_ref(&RefUpdate {
            name: &backup,
            expected: Some(old_tip),
            new: None,
            log_message: "git-session scrub: abandoned",
        });
        return Err(e.into());
    }
    Ok(Scrubbed::Rewritten {
        old_tip,
        new_tip: rewrite.new_tip,
        backup,
        saves: rewrite.saves,
        rewritten: rewrite.rewritten,
        newest: rewrite.newest,
        all: rewrite.all,
    })
}

/// What rewriting did.
struct Rewrite {
    new_tip: ObjectId,
    saves: usize,
    rewritten: usize,
    /// Secrets redacted in the newest save, per rule.
    newest: BTreeMap<String, usize>,
    /// Secrets redacted over all saves (a message kept by many saves counts in each).
    all: BTreeMap<String, usize>,
}

/// Orders saves so that every parent comes before its children (oldest first).
fn oldest_first(mut newest_first: Vec<SaveRecord>) -> Vec<SaveRecord> {
    newest_first.reverse();
    let ids: HashSet<ObjectId> = newest_first.iter().map(|r| r.commit).collect();
    let mut done: HashSet<ObjectId> = HashSet::new();
    let mut out = Vec::with_capacity(newest_first.len());
    let mut pending = newest_first;
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for r in pending {
            if r.parents
                .iter()
                .all(|p| done.contains(p) || !ids.contains(p))
            {
                done.insert(r.commit);
                out.push(r);
            } else {
                rest.push(r);
            }
        }
        pending = rest;
        if pending.len() == before {
            // Cannot happen in a commit graph; keep what is left in its order.
            out.append(&mut pending);
        }
    }
    out
}

fn rewrite(
    store: &Store,
    history: &SessionHistory<'_>,
    saved: &SavedSession,
    records: &[SaveRecord],
    redactor: &Redactor,
    threshold: usize,
) -> Result<Rewrite> {
    let mut scanner = Scanner::new(redactor);
    let mut map: HashMap<ObjectId, ObjectId> = HashMap::new();
    let mut rewritten = 0;
    let mut all = BTreeMap::new();
    let mut newest = BTreeMap::new();
    for record in records {
        // The tree as stored (placeholders unexpanded): redaction runs after contraction at save,
        // and the rewritten tree keeps its format and the trailers that record its roots.
        let session = history.read_tree(saved, record)?;
        let message = store.read_commit(record.commit)?.message;
        let dirty = scanner.session(&session, &message).total() > 0;
        let parents: Vec<ObjectId> = record
            .parents
            .iter()
            .map(|p| map.get(p).copied().unwrap_or(*p))
            .collect();
        let mut found = BTreeMap::new();
        let (tree, message) = if dirty {
            let (encoded, _) = codec::encode_cached(
                store,
                &session,
                threshold,
                None,
                Some(redactor as &dyn Redact),
                None,
            )?;
            found = encoded.redactions.clone();
            let message = redactor
                .redact_text(&message, &mut found)
                .unwrap_or(message);
            (encoded.tree, with_bytes(&message, encoded.json_bytes))
        } else {
            (record.tree, message)
        };
        let new = if !dirty && parents == record.parents {
            record.commit
        } else {
            if dirty {
                rewritten += 1;
            }
            store.rewrite_commit(record.commit, Some(tree), &parents, Some(&message))?
        };
        for (rule, n) in &found {
            *all.entry(rule.clone()).or_insert(0) += n;
        }
        if record.commit == saved.tip {
            newest = found;
        }
        map.insert(record.commit, new);
    }
    Ok(Rewrite {
        new_tip: map.get(&saved.tip).copied().unwrap_or(saved.tip),
        saves: records.len(),
        rewritten,
        newest,
        all,
    })
}

/// The commit message with its `Bytes:` trailer set to the size of the rewritten session.
fn with_bytes(message: &str, bytes: u64) -> String {
    let mut out: Vec<String> = message.lines().map(str::to_owned).collect();
    if let Some(line) = out.iter_mut().rev().find(|l| l.starts_with("Bytes: ")) {
        *line = format!("Bytes: {bytes}");
    }
    let mut text = out.join("\n");
    if message.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A backup ref name that does not exist yet: `refs/session-backups/<agent>/<id>/<unix-time>`.
pub fn backup_ref(store: &Store, namespace: &str, id: &str) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = format!("{BACKUP_PREFIX}{namespace}/{id}/{now}");
    let mut name = base.clone();
    let mut n = 1;
    while store.find_ref(&name)?.is_some() {
        name = format!("{base}-{n}");
        n += 1;
    }
    Ok(name)
}

/// What a remote holds of a scrubbed session, judged from the save its ref points at there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteCopy {
    /// The remote has no copy of the session.
    Absent,
    /// Its copy holds none of the rewritten saves (only saves scrub kept as they were): a plain
    /// push brings it the new history.
    Clean {
        /// The save the remote's ref points at.
        tip: ObjectId,
    },
    /// Its copy holds rewritten saves: only a forced push replaces them.
    Old {
        /// The save the remote's ref points at (what a `--force-with-lease` must expect).
        tip: ObjectId,
        /// Whether that save is newer than the history scrubbed here (saved there on top of
        /// the old saves), so replacing it drops saves this repository lacks.
        beyond: bool,
    },
    /// Its ref points at a save this repository does not have, so what it holds is unknown.
    Unknown {
        /// The save the remote's ref points at.
        tip: ObjectId,
    },
}

impl RemoteCopy {
    /// The save the remote's ref points at, if it has a copy.
    pub fn tip(&self) -> Option<ObjectId> {
        match self {
            RemoteCopy::Absent => None,
            RemoteCopy::Clean { tip }
            | RemoteCopy::Old { tip, .. }
            | RemoteCopy::Unknown { tip } => Some(*tip),
        }
    }
}

/// The saves a scrub replaced: those of the old history that the new one does not hold.
pub struct Replaced {
    old: HashSet<ObjectId>,
    replaced: HashSet<ObjectId>,
}

impl Replaced {
    /// Finds the saves reachable from `old_tip` and not from `new_tip`.
    pub fn new(store: &Store, old_tip: ObjectId, new_tip: ObjectId) -> Result<Self> {
        let old = store.reachable_commits(&[old_tip])?;
        let new = store.reachable_commits(&[new_tip])?;
        let replaced = old.difference(&new).copied().collect();
        Ok(Replaced { old, replaced })
    }

    /// Judges a remote whose ref for the session points at `tip` (`None`: no such ref there).
    pub fn judge(&self, store: &Store, tip: Option<ObjectId>) -> Result<RemoteCopy> {
        let Some(tip) = tip else {
            return Ok(RemoteCopy::Absent);
        };
        if !store.has_object(tip) {
            return Ok(RemoteCopy::Unknown { tip });
        }
        if self.old.contains(&tip) {
            return Ok(if self.replaced.contains(&tip) {
                RemoteCopy::Old { tip, beyond: false }
            } else {
                RemoteCopy::Clean { tip }
            });
        }
        let reached = store.reachable_commits(&[tip])?;
        Ok(if reached.iter().any(|c| self.replaced.contains(c)) {
            RemoteCopy::Old { tip, beyond: true }
        } else {
            RemoteCopy::Clean { tip }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_is_judged_by_whether_its_copy_reaches_a_replaced_save() {
        let (_dir, store) = Store::temporary();
        let tree = store.write_tree(&[]).unwrap();
        let commit = |parents: &[ObjectId], m: &str| store.write_commit(tree, parents, m).unwrap();
        // kept -> leaky -> leaky2 (old), kept -> clean -> clean2 (new); leaky2 -> later (there).
        let kept = commit(&[], "kept");
        let leaky = commit(&[kept], "leaky");
        let leaky2 = commit(&[leaky], "leaky 2");
        let clean = commit(&[kept], "clean");
        let clean2 = commit(&[clean], "clean 2");
        let later = commit(&[leaky2], "saved on top, elsewhere");
        let unknown = ObjectId::from_hex(b"1234567890123456789012345678901234567890").unwrap();
        let replaced = Replaced::new(&store, leaky2, clean2).unwrap();
        let judge = |tip| replaced.judge(&store, tip).unwrap();
        assert_eq!(judge(None), RemoteCopy::Absent);
        assert_eq!(
            judge(Some(kept)),
            RemoteCopy::Clean { tip: kept },
            "a kept save"
        );
        assert_eq!(
            judge(Some(clean2)),
            RemoteCopy::Clean { tip: clean2 },
            "already replaced"
        );
        assert_eq!(
            judge(Some(leaky)),
            RemoteCopy::Old {
                tip: leaky,
                beyond: false
            },
            "an older save than this clone's"
        );
        assert_eq!(
            judge(Some(later)),
            RemoteCopy::Old {
                tip: later,
                beyond: true
            },
            "saves on top of the old ones"
        );
        assert_eq!(judge(Some(unknown)), RemoteCopy::Unknown { tip: unknown });
    }

    #[test]
    fn the_bytes_trailer_follows_the_rewritten_size() {
        let message = "Title\n\nbody\n\nSession: s\nBytes: 10\nFormat: 1\n";
        assert_eq!(
            with_bytes(message, 42),
            "Title\n\nbody\n\nSession: s\nBytes: 42\nFormat: 1\n"
        );
    }
}
