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
use crate::store::layout::REMOTES_PREFIX;
use crate::store::{ObjectId, RefUpdate, Store};

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
        let session = history.read(saved, record)?;
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
fn backup_ref(store: &Store, namespace: &str, id: &str) -> Result<String> {
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

/// Remotes that may hold a copy of the session: those whose remote-tracking refs have it, else
/// every configured remote (a push leaves no trace here).
pub fn remotes_with_copy(store: &Store, namespace: &str, id: &str) -> Result<Vec<String>> {
    let suffix = format!("/sessions/{namespace}/{id}");
    let mut out: Vec<String> = store
        .list_refs(REMOTES_PREFIX)?
        .into_iter()
        .filter_map(|(name, _)| {
            name.strip_prefix(REMOTES_PREFIX)?
                .strip_suffix(&suffix)
                .map(str::to_owned)
        })
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        out = store.remote_names();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_trailer_follows_the_rewritten_size() {
        let message = "Title\n\nbody\n\nSession: s\nBytes: 10\nFormat: 1\n";
        assert_eq!(
            with_bytes(message, 42),
            "Title\n\nbody\n\nSession: s\nBytes: 42\nFormat: 1\n"
        );
    }
}
