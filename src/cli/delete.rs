//! `git session delete <id>...`: remove sessions refs here and, with `--remote`, on a remote.
//!
//! With `--remote R` the deletion propagates: in the same push that deletes the session ref on
//! R, a deletion record (see [`crate::session::tombstone`]) is pushed to
//! `refs/session-deletions/<agent>/<id>` and kept here, so teammates' pushes skip the session
//! and their pulls delete their copies. Without `--remote` only the local ref goes and no record
//! is written: a copy the remote still has comes back with the next pull.

use std::collections::{HashMap, HashSet};

use clap::Args;

use super::share::choose_remote;
use super::{ui, CliError};
use crate::git_cli::{self, PushStatus, PushedRef};
use crate::session::summary;
use crate::session::tombstone::{self, Record};
use crate::session::{prune, SavedSession, SessionError, SessionHistory};
use crate::store::layout::{is_safe_component, Origin, RefName, LOCAL_PREFIX, SUMMARY_PREFIX};
use crate::store::{ObjectId, RefUpdate, Store};

/// Arguments of `git session delete`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session delete ses_dfef                   # the local ref only
  git session delete ses_dfef ses_a01 --remote origin   # here and on origin, for everyone
  git session delete ses_dfef --remote origin --reason 'holds a customer name'

Only the refs are removed; 'git session gc' (or git's own gc) later reclaims the objects no
other ref reaches. Without --remote, a copy the remote still has comes back with the next pull.
With --remote, a deletion record (who, when, which save, why) goes to the remote with the
deletion: teammates' pushes and pre-push hooks skip the session, their next pull deletes their
copy (keeping it on a backup ref) unless they pass --keep-deleted, and 'git session list' shows
it. 'git session push --undelete ID' shares it again.")]
pub struct DeleteArgs {
    /// Sessions to delete (ids or unique prefixes of saved root sessions; with --remote, the
    /// full id of a session this repository does not have works too).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Also delete them on this remote (and its remote-tracking copies here), with a deletion
    /// record that teammates' pushes and pulls obey.
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Why, recorded in the deletion record (shown by teammates' pulls and `list`).
    #[arg(long, value_name = "TEXT", requires = "remote")]
    pub reason: Option<String>,
}

/// One session to delete: its local ref name and, when it is saved here, the value read.
struct Target {
    name: RefName,
    local: Option<SavedSession>,
}

pub(crate) fn run(store: &Store, args: DeleteArgs) -> Result<(), CliError> {
    let remote = match &args.remote {
        Some(r) => Some(choose_remote(store, Some(r))?),
        None => None,
    };
    let targets = resolve(store, &args.ids, remote.as_deref())?;
    let mut problems = Vec::new();
    let mut keep_local = Vec::new();
    if let Some(remote) = &remote {
        let reason = args.reason.as_deref().unwrap_or_default();
        delete_on_remote(
            store,
            remote,
            &targets,
            reason,
            &mut problems,
            &mut keep_local,
        )?;
    }
    for target in &targets {
        let Some(saved) = &target.local else { continue };
        if keep_local.contains(&target.name.full()) {
            ui::status(&format!(
                "kept {} here, since {} still has it",
                target.name.id,
                remote.as_deref().unwrap_or("the remote")
            ));
            continue;
        }
        match prune::delete(store, saved) {
            Ok(()) => ui::status(&format!(
                "deleted {} \"{}\" ({}, last {})",
                saved.name.id,
                saved.trailers.title,
                ui::count(saved.trailers.saves as usize, "save", "saves"),
                ui::local_time(saved.seconds)
            )),
            Err(e) => problems.push(format!("{} was not deleted: {}", saved.name.id, e)),
        }
        if remote.is_none() {
            for copy in remote_copies(store, &target.name)? {
                ui::status(&format!(
                    "note: {} still has {}; the next pull brings it back (delete it there with --remote {})",
                    copy, target.name.id, copy
                ));
            }
        }
    }
    match problems.len() {
        0 => Ok(()),
        n => {
            for p in &problems[..n - 1] {
                ui::status(&format!("error: {p}"));
            }
            Err(CliError::user(&problems[n - 1]).hint(
                "ask the remote's owner to allow deleting refs/sessions/* and pushing refs/session-deletions/*, or run the command again",
            ))
        }
    }
}

/// Deletes the targets on `remote` and records their deletion there and here, in one push.
/// What the remote refuses goes to `problems`; a session ref it would not delete also goes to
/// `keep_local`, so the local copy stays too.
fn delete_on_remote(
    store: &Store,
    remote: &str,
    targets: &[Target],
    reason: &str,
    problems: &mut Vec<String>,
    keep_local: &mut Vec<String>,
) -> Result<(), CliError> {
    let git_dir = store.common_dir();
    // The remote's own records first: a new record follows the one it has, so the push moves
    // the ref forward and needs no force.
    git_cli::fetch_deletions(&git_dir, remote)?;
    let (summaries, sessions): (Vec<_>, Vec<_>) =
        git_cli::remote_refs(&git_dir, remote, &[LOCAL_PREFIX, SUMMARY_PREFIX])?
            .into_iter()
            .partition(|r| r.name.starts_with(SUMMARY_PREFIX));
    let there: HashMap<String, Option<ObjectId>> = sessions
        .into_iter()
        .map(|r| (r.name, ObjectId::from_hex(r.id.as_bytes()).ok()))
        .collect();
    let summaries_there: HashSet<String> = summaries.into_iter().map(|r| r.name).collect();
    let sessions = SessionHistory::new(store).sessions()?;
    let tracking = Origin::Remote(remote.to_owned());
    let mut specs = Vec::new();
    let mut records = Vec::new();
    for target in targets {
        let (namespace, id) = (&target.name.namespace, &target.name.id);
        let full = target.name.full();
        let copy = sessions.iter().find(|s| {
            s.name.id == *id && s.name.namespace == *namespace && s.name.origin == tracking
        });
        let known = target.local.as_ref().or(copy);
        let deleted_tip = there.get(&full).copied().flatten().or(known.map(|s| s.tip));
        let theirs = tombstone::read(store, &tombstone::ref_name(&tracking, namespace, id))?;
        let own = tombstone::read(store, &tombstone::ref_name(&Origin::Local, namespace, id))?;
        let parent = theirs.as_ref().or(own.as_ref()).map(|t| t.commit);
        let record = tombstone::write(
            store,
            &Record {
                namespace,
                id,
                deleted_tip,
                title: known.map(|s| s.trailers.title.as_str()).unwrap_or_default(),
                reason,
            },
            parent,
        )?;
        if there.contains_key(&full) {
            specs.push(format!(":{full}"));
        }
        // The summary goes with the session, so teammates' lists drop it too.
        let summary_ref = summary::ref_name(&Origin::Local, namespace, id);
        if summaries_there.contains(&summary_ref) {
            specs.push(format!(":{summary_ref}"));
        }
        specs.push(format!(
            "{record}:{}",
            tombstone::ref_name(&Origin::Local, namespace, id)
        ));
        records.push(record);
    }
    // Atomic: the session ref goes only with its record, so the remote never ends up with a
    // deleted session that teammates would push back, nor a record of a session still there.
    let pushed = git_cli::push_atomic(&git_dir, remote, &specs)?;
    let result =
        |name: &str| -> Option<&PushedRef> { pushed.iter().find(|p| p.remote_ref == name) };
    for (target, record) in targets.iter().zip(records) {
        let (namespace, id) = (&target.name.namespace, &target.name.id);
        let full = target.name.full();
        let had_it = there.contains_key(&full);
        let record_ref = tombstone::ref_name(&Origin::Local, namespace, id);
        let record_result = result(&record_ref);
        let recorded = record_result.is_some_and(|p| {
            matches!(
                p.status,
                PushStatus::Created | PushStatus::Updated | PushStatus::UpToDate
            )
        });
        let session_result = result(&full);
        let deleted = !had_it || session_result.is_some_and(|p| p.status == PushStatus::Deleted);
        if !deleted {
            // With an atomic push, a session ref refused only because its record was refused
            // says "atomic push failure"; the record's own line says why.
            let rolled_back = session_result.is_some_and(|p| p.summary.contains("atomic push"));
            problems.push(match (session_result, record_result) {
                (Some(_), Some(r)) if rolled_back && !recorded => format!(
                    "{remote} refused the deletion record of {id} ({}), so nothing was deleted there",
                    r.summary
                ),
                (Some(p), _) => format!("{remote} refused to delete {id}: {}", p.summary),
                (None, _) => format!("{remote} did not report on {id}; it may still be there"),
            });
            keep_local.push(full);
            continue;
        }
        if had_it {
            delete_tracking_copy(store, remote, &target.name)?;
        }
        if !recorded {
            // Only when the remote could not push atomically and took the deletion alone.
            if had_it {
                ui::status(&format!("deleted {id} on {remote}"));
            }
            problems.push(format!(
                "{remote} did not take the deletion record of {id} ({}); a teammate who still has it may push it back",
                record_result.map_or("no report", |p| p.summary.as_str())
            ));
            continue;
        }
        let log = format!("git-session delete --remote {remote}");
        tombstone::set_ref(store, &record_ref, Some(record), &log)?;
        let fetched = tombstone::ref_name(&tracking, namespace, id);
        tombstone::set_ref(store, &fetched, Some(record), &log)?;
        let what = if had_it {
            format!("deleted {id} on {remote}")
        } else {
            format!("recorded the deletion of {id} on {remote} (it did not have the session)")
        };
        ui::status(&format!(
            "{what}; teammates' pushes skip it and their next pull deletes their copy"
        ));
    }
    Ok(())
}

/// Resolves the ids to root sessions: saved here, or (with `--remote`) known from that remote.
fn resolve(store: &Store, ids: &[String], remote: Option<&str>) -> Result<Vec<Target>, CliError> {
    let history = SessionHistory::new(store);
    let all = history.sessions()?;
    let mut out: Vec<Target> = Vec::new();
    for id in ids {
        let resolved = match history.resolve(id) {
            Ok(resolved) => resolved,
            // Not known here at all: with --remote, a full id still names the remote's ref, under
            // whichever agent the remote has it.
            Err(SessionError::NotFound { .. }) if remote.is_some() && is_safe_component(id) => {
                let remote = remote.unwrap_or_default();
                let suffix = format!("/{id}");
                let found: Vec<RefName> = remote_session_refs(store, remote)?
                    .iter()
                    .filter(|r| r.ends_with(&suffix))
                    .filter_map(|r| RefName::parse(r))
                    .filter(|n| n.origin == Origin::Local && n.id == *id)
                    .collect();
                if found.is_empty() {
                    return Err(
                        CliError::user(format!("no session {id} here or on {remote}")).hint(
                            format!(
                                "list what {remote} has: git ls-remote {remote} 'refs/sessions/*'"
                            ),
                        ),
                    );
                }
                for name in found {
                    if !out.iter().any(|t| t.name == name) {
                        out.push(Target { name, local: None });
                    }
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let root = &resolved.saved.name;
        if let Some(child) = &resolved.child {
            return Err(CliError::user(format!(
                "{child} is a child session saved inside {}; only whole sessions can be deleted",
                root.id
            ))
            .hint(format!("delete the parent: git session delete {}", root.id)));
        }
        let name = RefName::local(&root.namespace, &root.id);
        let local = all.iter().find(|s| s.name == name).cloned();
        let on_remote = remote.is_some_and(|r| {
            all.iter()
                .any(|s| s.name.origin == Origin::Remote(r.to_owned()) && s.name.id == root.id)
        });
        if local.is_none() && !on_remote {
            return Err(CliError::user(format!(
                "{} is not saved in this repository (only a copy fetched from a remote)",
                root.id
            ))
            .hint("pass --remote <remote> to delete it there"));
        }
        if !out.iter().any(|t| t.name == name) {
            out.push(Target { name, local });
        }
    }
    Ok(out)
}

/// The sessions refs `remote` has (`refs/sessions/<agent>/<id>`).
fn remote_session_refs(store: &Store, remote: &str) -> Result<Vec<String>, CliError> {
    Ok(
        git_cli::remote_refs(&store.common_dir(), remote, &[LOCAL_PREFIX])?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    )
}

/// Removes `refs/remotes/<remote>/sessions/...` of a session the remote deleted, and its
/// fetched summary.
fn delete_tracking_copy(store: &Store, remote: &str, name: &RefName) -> Result<(), CliError> {
    let origin = Origin::Remote(remote.to_owned());
    let tracking = RefName {
        origin: origin.clone(),
        ..name.clone()
    }
    .full();
    let summary = summary::ref_name(&origin, &name.namespace, &name.id);
    for full in [tracking, summary] {
        if let Some(value) = store.find_ref(&full)? {
            store.update_ref(&RefUpdate {
                name: &full,
                expected: Some(value),
                new: None,
                log_message: "git-session delete --remote",
            })?;
        }
    }
    Ok(())
}

/// The remotes whose tracking refs still hold a copy of the session.
fn remote_copies(store: &Store, name: &RefName) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for remote in store.remote_names() {
        let tracking = RefName {
            origin: Origin::Remote(remote.clone()),
            ..name.clone()
        };
        if store.find_ref(&tracking.full())?.is_some() {
            out.push(remote);
        }
    }
    Ok(out)
}
