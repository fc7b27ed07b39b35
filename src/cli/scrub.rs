//! `git session scrub <id>`: rewrite a session's saves with the rules in force.
//!
//! Each save, oldest first, is decoded; one that holds a secret is encoded again through the
//! redactor (a save without one keeps its tree), and its commit is written again with the same
//! message (redacted), author and committer, on the rewritten parents. The ref then moves from
//! the old tip to the new one by compare-and-swap, after the old tip is kept on
//! `refs/session-backups/<agent>/<id>/<unix-time>`, outside `refs/sessions/`, so `git session
//! push` never sends it. The old history stays wherever it was pushed: the command says how to
//! overwrite it there.

use std::collections::{BTreeMap, HashMap, HashSet};

use clap::Args;
use serde_json::json;

use super::save::{redactions_line, split_threshold};
use super::scan::{configured_redactor, Scanner};
use super::{ui, CliError};
use crate::session::codec::{self, Redact};
use crate::session::history::SaveRecord;
use crate::session::redact::Redactor;
use crate::session::SessionHistory;
use crate::store::layout::{Origin, REMOTES_PREFIX};
use crate::store::{ObjectId, RefUpdate, Store, StoreError};

/// Prefix of the backup refs scrub leaves.
pub const BACKUP_PREFIX: &str = "refs/session-backups/";

/// Arguments of `git session scrub`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session scan                 # which sessions hold secrets
  git session scrub ses_dfef       # rewrite that session's saves without them

The old saves are kept on refs/session-backups/<agent>/<id>/<time> (never pushed by
'git session push'); delete that ref once the new history is where it must be. A remote the
session was pushed to still has the old saves: overwrite them there with the command this one
prints, with care, before anyone pulls them back.")]
pub struct ScrubArgs {
    /// The session (id or unique prefix of a saved root session).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
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

pub(crate) fn run(store: &Store, args: ScrubArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    let saved = resolved.saved;
    if let Some(child) = &resolved.child {
        return Err(CliError::user(format!(
            "{child} is a child session, stored inside the saves of {}",
            saved.name.id
        ))
        .hint(format!(
            "scrub the root session: git session scrub {}",
            saved.name.id
        )));
    }
    if saved.name.origin != Origin::Local {
        return Err(CliError::user(format!(
            "{} is not saved in this repository, only fetched",
            saved.name.id
        ))
        .hint("scrub rewrites the refs this repository pushes (refs/sessions/*)"));
    }
    let redactor = configured_redactor(store)?;
    let ref_name = saved.name.full();
    let old_tip = saved.tip;
    let records = oldest_first(history.log(&saved)?);
    let rewrite = rewrite(store, &history, &saved, &records, &redactor)?;

    if rewrite.new_tip == old_tip {
        if args.json {
            ui::out_json(&json!({
                "version": 1, "session": saved.name.id, "ref": ref_name, "status": "clean",
                "saves": rewrite.saves,
            }));
        } else {
            ui::status(&format!(
                "Nothing to scrub: none of the {} save(s) of {} holds a secret the rules in force find.",
                rewrite.saves, saved.name.id
            ));
        }
        return Ok(());
    }

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
        return Err(match e {
            StoreError::RefMoved { .. } => CliError::user(format!(
                "{} was saved again while scrubbing; nothing was changed",
                saved.name.id
            ))
            .hint(format!("run it again: git session scrub {}", saved.name.id)),
            other => other.into(),
        });
    }

    let remotes = remotes_with_copy(store, &saved.name.namespace, &saved.name.id)?;
    if args.json {
        ui::out_json(&json!({
            "version": 1,
            "session": saved.name.id,
            "ref": ref_name,
            "status": "scrubbed",
            "old": old_tip.to_string(),
            "new": rewrite.new_tip.to_string(),
            "backup": backup,
            "saves": rewrite.saves,
            "rewritten": rewrite.rewritten,
            "redactions": rewrite.newest,
            "redactionsAllSaves": rewrite.all,
            "remotes": remotes,
        }));
    } else {
        ui::status(&format!(
            "Scrubbed {}: {} of {} save(s) held secrets and were rewritten ({} -> {}).",
            saved.name.id,
            rewrite.rewritten,
            rewrite.saves,
            ui::short(&old_tip),
            ui::short(&rewrite.new_tip)
        ));
        if let Some(line) = redactions_line(&rewrite.newest) {
            ui::status(&format!("Newest save: {line}"));
        }
        ui::status(&format!(
            "The old history is kept on {backup} (never pushed); delete it once done: git update-ref -d {backup}"
        ));
    }
    // Always on stderr, JSON or not: this is the step that is easy to forget.
    let listed = if remotes.is_empty() {
        "<remote>".to_owned()
    } else {
        remotes.join(", ")
    };
    ui::status(&format!(
        "warning: the old saves are still on any remote {} was pushed to{}, and 'git session pull' would bring them back",
        saved.name.id,
        if remotes.is_empty() {
            String::new()
        } else {
            format!(" ({listed})")
        }
    ));
    let targets: Vec<String> = if remotes.is_empty() {
        vec!["<remote>".to_owned()]
    } else {
        remotes
    };
    for remote in targets {
        ui::status(&format!(
            "hint: overwrite them there, with care (only if nobody saved on top meanwhile): git push --force-with-lease={ref_name}:{old_tip} {remote} {ref_name}"
        ));
    }
    ui::status(
        "hint: anyone who fetched them keeps a copy; the old objects leave this repository only after the backup ref and the reflog entries are gone and git gc runs",
    );
    Ok(())
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
    saved: &crate::session::SavedSession,
    records: &[SaveRecord],
    redactor: &Redactor,
) -> Result<Rewrite, CliError> {
    let threshold = split_threshold(store);
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
fn backup_ref(store: &Store, namespace: &str, id: &str) -> Result<String, CliError> {
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
fn remotes_with_copy(store: &Store, namespace: &str, id: &str) -> Result<Vec<String>, CliError> {
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
