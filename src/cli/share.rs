//! What `push`, `pull` and `sync` share: choosing the remote, pushing refs, fetching and
//! integrating, and reporting each session's outcome.
//!
//! Deletions travel with the sessions (see [`crate::session::tombstone`]): a push first fetches
//! the remote's deletion records and never sends a session the remote (or this clone) has a
//! record for, unless asked to undelete it; a pull deletes a local copy whose record arrived
//! (its tip kept on a backup ref), unless told to keep it or the copy was saved after the
//! deletion, and does not adopt a session the remote has a record for.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{ui, CliError};
use crate::agents::registry;
use crate::git_cli::{self, Cause, GitError, PushStatus, PushedRef};
use crate::session::integrate::{integrate, Integration};
use crate::session::tombstone::{self, Removed, Tombstone};
use crate::session::{summary, SessionHistory};
use crate::store::layout::{
    Origin, RefName, DELETIONS_PREFIX, LOCAL_PREFIX, REMOTES_PREFIX, SUMMARY_PREFIX,
};
use crate::store::{RefUpdate, Store};

impl From<GitError> for CliError {
    fn from(e: GitError) -> Self {
        if matches!(e, GitError::NotFound) {
            return CliError::user(e).hint("install git; git-session uses it to push and fetch");
        }
        let remote = e.remote().unwrap_or("the remote").to_owned();
        // A URL is no name for `git fetch <remote>`'s advice; `git remote -v` lists them.
        let fetch = if remote.contains('/') || remote.contains(':') {
            "git fetch <remote>".to_owned()
        } else {
            format!("git fetch {remote}")
        };
        match e.cause() {
            Some(Cause::Authentication) => CliError::user(format!(
                "authentication to {remote} failed: it refused the credentials git had, or got none ({e})"
            ))
            .hint(format!(
                "check what your credential helper holds for this host (git config --get-all credential.helper; git drops a refused entry from it); run '{fetch}' in a terminal to enter new credentials, then run this command again"
            )),
            Some(Cause::Forbidden) => CliError::user(format!(
                "{remote} refused access to this user ({e})"
            ))
            .hint("the credentials were accepted but lack access to this repository: check the account's or token's permissions (writing needs push access)"),
            Some(Cause::Unreachable) => CliError::user(format!("cannot reach {remote} ({e})")).hint(
                "check the network and the remote's address (git remote -v), then run this command again; nothing changed locally",
            ),
            Some(Cause::NoRepository) => CliError::user(format!(
                "{remote} has no repository at that address ({e})"
            ))
            .hint("check the remote's URL: git remote -v (git remote set-url <name> <url> fixes it)"),
            _ => CliError::user(e)
                .hint("the error ends with git's last lines; 'git remote -v' shows where it went, and a plain 'git fetch' shows all of git's output"),
        }
    }
}

/// Picks the remote: the one named, else `session.remote` (a name, or a URL no remote has),
/// else `origin`, else the only remote.
pub(crate) fn choose_remote(store: &Store, named: Option<&str>) -> Result<String, CliError> {
    if named.is_none() {
        if let Some(sessions) = super::remote::sessions_remote(store)? {
            return Ok(sessions);
        }
    }
    let remotes = store.remote_names();
    if let Some(name) = named {
        if remotes.iter().any(|r| r == name) {
            return Ok(name.to_owned());
        }
        return Err(CliError::user(format!("no remote named '{name}'")).hint(
            "list remotes with 'git remote -v'; add one with 'git remote add <name> <url>'",
        ));
    }
    if remotes.iter().any(|r| r == "origin") {
        return Ok("origin".to_owned());
    }
    match remotes.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(CliError::user("this repository has no remote")
            .hint("add one with 'git remote add origin <url>'")),
        many => Err(CliError::user(format!(
            "several remotes and none is 'origin': {}",
            many.join(", ")
        ))
        .hint("name the remote: git session push <remote>")),
    }
}

/// Whether transfers may show git's progress (a terminal, and not `--json`).
pub(crate) fn show_progress(json: bool) -> bool {
    !json && ui::stderr_is_terminal()
}

/// The outcome of integrating one session.
pub(crate) struct Pulled {
    pub name: RefName,
    pub outcome: Integration,
}

/// What a pull did about one session the remote has a deletion record for.
pub(crate) struct DeletionSeen {
    /// The remote's record.
    pub tombstone: Tombstone,
    /// What happened here.
    pub outcome: DeletionOutcome,
}

/// What a pull did with a session deleted on the remote.
pub(crate) enum DeletionOutcome {
    /// The local copy was deleted; its tip stays on the backup ref.
    DeletedHere { backup: String },
    /// The local copy was kept, as `--keep-deleted` asked.
    KeptAsAsked,
    /// The local copy was kept: it was saved after the deletion.
    KeptSavedAfter,
    /// The local copy was kept: a save moved it during the pull.
    KeptMoved,
    /// The remote still (or again) has the session; it was not adopted.
    NotAdopted,
}

/// Everything a pull did.
pub(crate) struct PullReport {
    /// Each session of the remote that was integrated.
    pub sessions: Vec<Pulled>,
    /// Each session the remote has a deletion record for that concerned this clone.
    pub deletions: Vec<DeletionSeen>,
    /// Sessions this clone had deleted that the remote has again without a record (someone
    /// undeleted them there): this clone's own record was dropped.
    pub undeleted: Vec<RefName>,
}

/// Fetches the remote's summaries and deletion records, and the newest saves of the sessions
/// this clone has (every session with `all`), applies the records to the local copies (unless
/// `keep_deleted`), and integrates each fetched session into its local ref.
pub(crate) fn pull(
    store: &Store,
    remote: &str,
    progress: bool,
    keep_deleted: bool,
    all: bool,
) -> Result<PullReport, CliError> {
    fetch_for_pull(store, remote, progress, all)?;
    let records = records_by_session(store, &Origin::Remote(remote.to_owned()))?;
    let own_records = records_by_session(store, &Origin::Local)?;
    let history = SessionHistory::new(store);
    let threshold = super::settings::split_threshold(store);
    let all = history.sessions()?;
    let mut report = PullReport {
        sessions: Vec::new(),
        deletions: Vec::new(),
        undeleted: Vec::new(),
    };
    for saved in all.iter().filter(|s| s.name.origin == Origin::Local) {
        let Some(record) = records.get(&saved.name) else {
            continue;
        };
        let outcome = if keep_deleted {
            DeletionOutcome::KeptAsAsked
        } else if !tombstone::covers(store, record, saved)? {
            DeletionOutcome::KeptSavedAfter
        } else {
            match tombstone::remove_local_copy(store, saved, record)? {
                Removed::Deleted { backup, .. } => DeletionOutcome::DeletedHere { backup },
                Removed::Moved => DeletionOutcome::KeptMoved,
            }
        };
        report.deletions.push(DeletionSeen {
            tombstone: record.clone(),
            outcome,
        });
    }
    let fetched = all
        .iter()
        .filter(|s| s.name.origin == Origin::Remote(remote.to_owned()))
        .count();
    let bar = if progress {
        super::progress::Progress::bar(fetched as u64, "Integrating")
    } else {
        super::progress::Progress::hidden()
    };
    for saved in all {
        if saved.name.origin != Origin::Remote(remote.to_owned()) {
            continue;
        }
        bar.inc(&saved.name.id);
        let local = RefName::local(&saved.name.namespace, &saved.name.id);
        if let Some(record) = records.get(&local) {
            if !keep_deleted {
                // A local copy was dealt with above; without one, the session stays away.
                if store.find_ref(&local.full())?.is_none() {
                    report.deletions.push(DeletionSeen {
                        tombstone: record.clone(),
                        outcome: DeletionOutcome::NotAdopted,
                    });
                }
                continue;
            }
        } else if let Some(own) = own_records.get(&local) {
            // The remote has the session and no record of its deletion: the deletion was undone
            // there, so this clone's record (which would keep the session from being pushed) goes.
            tombstone::set_ref(
                store,
                &own.ref_name(),
                None,
                &format!("git-session pull: {} is on {remote} again", local.id),
            )?;
            report.undeleted.push(local.clone());
        }
        let Some(agent) = registry::by_name(&saved.name.namespace) else {
            ui::status(&format!(
                "warning: skipped {} from {remote}: sessions of agent '{}' are not known to this git-session",
                saved.name.id, saved.name.namespace
            ));
            continue;
        };
        let outcome = integrate(store, &saved.name, agent.merge_rules(), threshold)?;
        report.sessions.push(Pulled {
            name: saved.name,
            outcome,
        });
    }
    Ok(report)
}

/// What a pull fetches from `remote` in one `git fetch`: every summary and deletion record, and
/// the sessions refs of the sessions this clone has (saved here, fetched before, or deleted
/// here), or of every session with `all`. A fetched copy of a session the remote no longer has is removed, as
/// `git fetch --prune` would.
fn fetch_for_pull(store: &Store, remote: &str, progress: bool, all: bool) -> Result<(), CliError> {
    let git_dir = store.common_dir();
    let mut specs = vec![
        git_cli::summaries_refspec(remote),
        git_cli::deletions_refspec(remote),
    ];
    if all {
        specs.push(git_cli::sessions_refspec(remote));
        git_cli::fetch(&git_dir, remote, &specs, true, progress)?;
        return Ok(());
    }
    let tracking = Origin::Remote(remote.to_owned());
    let key = |n: &RefName| (n.namespace.clone(), n.id.clone());
    let mut here: HashSet<(String, String)> = SessionHistory::new(store)
        .sessions()?
        .iter()
        .filter(|s| s.name.origin == Origin::Local || s.name.origin == tracking)
        .map(|s| key(&s.name))
        .collect();
    // A session this clone deleted: when the remote has it again (undeleted there), the pull
    // sees so and drops this clone's record.
    here.extend(records_by_session(store, &Origin::Local)?.keys().map(&key));
    let mut there = HashSet::new();
    for r in git_cli::remote_refs(&git_dir, remote, &[LOCAL_PREFIX])? {
        let Some(name) = RefName::parse(&r.name) else {
            continue;
        };
        if here.contains(&key(&name)) {
            let copy = RefName {
                origin: tracking.clone(),
                ..name.clone()
            };
            specs.push(format!("+{}:{}", r.name, copy.full()));
        }
        there.insert(key(&name));
    }
    git_cli::fetch(&git_dir, remote, &specs, true, progress)?;
    for (full, value) in store.list_refs(&format!("{REMOTES_PREFIX}{remote}/sessions/"))? {
        let Some(name) = RefName::parse(&full) else {
            continue;
        };
        if name.origin == tracking && !there.contains(&key(&name)) {
            store.update_ref(&RefUpdate {
                name: &full,
                expected: Some(value),
                new: None,
                log_message: "git-session pull: gone from the remote",
            })?;
        }
    }
    Ok(())
}

/// The deletion records at `origin` (this clone's, or those fetched from a remote), by the local
/// sessions ref they delete.
fn records_by_session(
    store: &Store,
    origin: &Origin,
) -> Result<HashMap<RefName, Tombstone>, CliError> {
    Ok(tombstone::list(store)?
        .into_iter()
        .filter(|t| &t.origin == origin)
        .map(|t| (t.session(), t))
        .collect())
}

/// A session a push left out because it was deleted.
pub(crate) struct Skipped {
    /// The local sessions ref.
    pub name: RefName,
    /// The deletion record: the remote's when it has one, else this clone's; `None` when the
    /// remote (a URL, not a configured remote) only listed the record's name.
    pub record: Option<Tombstone>,
    /// Whether the remote has a record (else only this clone does).
    pub on_remote: bool,
}

/// A session `push --undelete` shared again.
pub(crate) struct Undeleted {
    /// The local sessions ref.
    pub name: RefName,
    /// Whether the remote's record was removed (`None`: it had none).
    pub record_removed: Option<bool>,
    /// git's summary for the record when the remote refused to remove it.
    pub summary: String,
}

/// Everything a push did.
pub(crate) struct Pushed {
    /// What the remote did with each sessions ref sent.
    pub refs: Vec<PushedRef>,
    /// Sessions not sent because they were deleted.
    pub skipped: Vec<Skipped>,
    /// Sessions sent again on purpose despite a deletion.
    pub undeleted: Vec<Undeleted>,
}

/// Pushes local sessions refs (all, or those named) to `remote`, without force, except those
/// deleted there or by this clone; the `undelete` ones are pushed whatever their deletion, and
/// their deletion records removed there and here. Asks the remote for its deletion records first,
/// so a record made since the last fetch counts. Each session goes with its summary (see
/// [`summary`]) in one atomic push, so the remote's summary always describes its session ref.
pub(crate) fn push(
    store: &Store,
    remote: &str,
    names: &[RefName],
    undelete: &[RefName],
) -> Result<Pushed, CliError> {
    let mut candidates: Vec<RefName> = if names.is_empty() {
        SessionHistory::new(store)
            .local_sessions()?
            .into_iter()
            .map(|s| s.name)
            .collect()
    } else {
        names.to_vec()
    };
    candidates.extend(undelete.iter().cloned());
    if candidates.is_empty() {
        return Ok(Pushed {
            refs: Vec::new(),
            skipped: Vec::new(),
            undeleted: Vec::new(),
        });
    }
    let git_dir = store.common_dir();
    let named_remote = store.remote_names().iter().any(|r| r == remote);
    // The remote's records: fetched (with who and when) from a configured remote, else only
    // their names (a push to a URL has no place for fetched copies).
    let mut theirs: HashMap<RefName, Option<Tombstone>> = HashMap::new();
    if named_remote {
        git_cli::fetch_deletions(&git_dir, remote)?;
        for (name, record) in records_by_session(store, &Origin::Remote(remote.to_owned()))? {
            theirs.insert(name, Some(record));
        }
    } else {
        for r in git_cli::remote_refs(&git_dir, remote, &[DELETIONS_PREFIX])? {
            if let Some((_, namespace, id)) = tombstone::parse_ref_name(&r.name) {
                theirs.insert(RefName::local(&namespace, &id), None);
            }
        }
    }
    let mut own = records_by_session(store, &Origin::Local)?;
    // git matches every explicit refspec against every ref, so a push of thousands of sessions
    // took seconds even when nothing had changed: with many, the remote is asked what it has
    // first (one request), and a session it has, summary included, is not pushed again.
    let there: HashMap<String, String> = match candidates.len() >= ASK_REMOTE_FROM {
        true => git_cli::remote_refs(&git_dir, remote, &[LOCAL_PREFIX, SUMMARY_PREFIX])?
            .into_iter()
            .map(|r| (r.name, r.id))
            .collect(),
        false => HashMap::new(),
    };
    let has = |name: &str, id: &str| there.get(name).is_some_and(|v| v == id);
    let mut up_to_date = Vec::new();
    // One group of refspecs per session: its ref, its summary, and (undeleting) its record.
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut seen = HashSet::new();
    let mut skipped = Vec::new();
    let mut undeleting = Vec::new();
    for name in candidates {
        let full = name.full();
        if !seen.insert(full.clone()) {
            continue;
        }
        let mut group = vec![format!("{full}:{full}")];
        let mut sent = false;
        if let Some(tip) = store.find_ref(&full)? {
            let summary_commit = summary::write(store, tip)?;
            let summary_ref = summary::ref_name(&Origin::Local, &name.namespace, &name.id);
            sent = has(&full, &tip.to_string()) && has(&summary_ref, &summary_commit.to_string());
            group.push(format!("+{summary_commit}:{summary_ref}"));
        }
        if undelete.contains(&name) {
            if theirs.contains_key(&name) {
                let record = tombstone::ref_name(&Origin::Local, &name.namespace, &name.id);
                group.push(format!(":{record}"));
            }
            undeleting.push(name.clone());
        } else if let Some(record) = theirs.get(&name) {
            skipped.push(Skipped {
                record: record.clone().or_else(|| own.get(&name).cloned()),
                name,
                on_remote: true,
            });
            continue;
        } else if let Some(record) = own.get(&name) {
            skipped.push(Skipped {
                record: Some(record.clone()),
                name,
                on_remote: false,
            });
            continue;
        }
        // An undeleted session still goes: its deletion record is removed by the same push.
        if sent && !undelete.contains(&name) {
            up_to_date.push(PushedRef {
                remote_ref: full,
                status: PushStatus::UpToDate,
                summary: "[up to date]".into(),
                remote_said: String::new(),
            });
            continue;
        }
        groups.push(group);
    }
    if groups.is_empty() {
        return Ok(Pushed {
            refs: up_to_date,
            skipped,
            undeleted: Vec::new(),
        });
    }
    let results = push_groups(&git_dir, remote, groups)?;
    let results: Vec<PushedRef> = results
        .into_iter()
        .filter(|p| !p.remote_ref.starts_with(SUMMARY_PREFIX))
        .collect();
    let (record_results, mut refs): (Vec<PushedRef>, Vec<PushedRef>) = results
        .into_iter()
        .partition(|p| p.remote_ref.starts_with(DELETIONS_PREFIX));
    refs.extend(up_to_date);
    // In ref order, as git reports a push.
    refs.sort_by(|a, b| a.remote_ref.cmp(&b.remote_ref));
    let mut undeleted = Vec::new();
    for name in undeleting {
        let sent = refs.iter().any(|p| {
            p.remote_ref == name.full()
                && matches!(
                    p.status,
                    PushStatus::Created | PushStatus::Updated | PushStatus::UpToDate
                )
        });
        if !sent {
            continue;
        }
        let record_ref = tombstone::ref_name(&Origin::Local, &name.namespace, &name.id);
        let record = record_results.iter().find(|p| p.remote_ref == record_ref);
        let record_removed = record.map(|p| p.status == PushStatus::Deleted);
        if record_removed != Some(false) {
            // Shared again: neither this clone's record nor the fetched copy holds it back now.
            let log = format!("git-session push --undelete {}", name.id);
            if let Some(own) = own.remove(&name) {
                tombstone::set_ref(store, &own.ref_name(), None, &log)?;
            }
            if named_remote {
                let tracking = tombstone::ref_name(
                    &Origin::Remote(remote.to_owned()),
                    &name.namespace,
                    &name.id,
                );
                tombstone::set_ref(store, &tracking, None, &log)?;
            }
        }
        undeleted.push(Undeleted {
            name,
            record_removed,
            summary: record.map(|p| p.summary.clone()).unwrap_or_default(),
        });
    }
    Ok(Pushed {
        refs,
        skipped,
        undeleted,
    })
}

/// From how many sessions a push asks the remote which it already has (see [`push`]).
const ASK_REMOTE_FROM: usize = 100;

/// How many times a push is tried again without the sessions the remote refused.
const PUSH_ROUNDS: usize = 3;

/// Pushes each group of refspecs all or nothing (a session ref goes only with its summary), in
/// one `git push --atomic` for all of them. When the remote refuses some (a session with newer
/// saves there), the push is tried again without those groups, so the others still go; what the
/// remote said about each ref is returned, the refused groups' own answers included. A remote
/// that refuses only a session's summary gets the session without it. Shows no
/// progress (git's atomic push reports through `--porcelain` only).
fn push_groups(
    git_dir: &std::path::Path,
    remote: &str,
    mut groups: Vec<Vec<String>>,
) -> Result<Vec<PushedRef>, CliError> {
    let dst = |spec: &str| spec.rsplit(':').next().unwrap_or(spec).to_owned();
    let mut settled: Vec<PushedRef> = Vec::new();
    for round in 1..=PUSH_ROUNDS {
        let specs: Vec<String> = groups.concat();
        let results = git_cli::push_atomic(git_dir, remote, &specs)?;
        // A ref refused only because another was says "atomic push failed" (git, before sending)
        // or "atomic push failure" (the remote).
        let refused_for_itself = |p: &PushedRef| {
            matches!(p.status, PushStatus::Behind | PushStatus::Refused)
                && !p.summary.contains("atomic push fail")
        };
        let failed: Vec<&PushedRef> = results.iter().filter(|p| refused_for_itself(p)).collect();
        let rolled_back = results
            .iter()
            .any(|p| p.summary.contains("atomic push fail"));
        if failed.is_empty() || !rolled_back || round == PUSH_ROUNDS {
            // Taken whole, or refused without a rollback (a remote that cannot push atomically
            // answered for each ref), or out of rounds: these are the answers.
            settled.extend(results);
            return Ok(settled);
        }
        let refused = |spec: &String| failed.iter().any(|p| p.remote_ref == dst(spec));
        // A remote that takes sessions refs but refuses summaries (a hook that allows only
        // refs/sessions/*) still gets the sessions, without their summaries.
        let adjusted: Vec<Vec<String>> = groups
            .into_iter()
            .map(|g| {
                let mut refused_here = g.iter().filter(|spec| refused(spec)).peekable();
                let only_summary = refused_here.peek().is_some()
                    && refused_here.all(|spec| dst(spec).starts_with(SUMMARY_PREFIX));
                if only_summary {
                    g.into_iter()
                        .filter(|spec| !dst(spec).starts_with(SUMMARY_PREFIX))
                        .collect()
                } else {
                    g
                }
            })
            .collect();
        let (out, kept): (Vec<Vec<String>>, Vec<Vec<String>>) =
            adjusted.into_iter().partition(|g| g.iter().any(refused));
        for group in &out {
            for spec in group {
                if let Some(p) = results.iter().find(|p| p.remote_ref == dst(spec)) {
                    settled.push(p.clone());
                }
            }
        }
        if kept.is_empty() {
            return Ok(settled);
        }
        groups = kept;
    }
    Ok(settled)
}

/// Who deleted a session and when, for one line: `deleted on origin by A <a@x> at 2026-11-22
/// 14:03` (without the place for this clone's own record).
pub(crate) fn deleted_by(t: &Tombstone) -> String {
    let place = match &t.origin {
        Origin::Local => String::new(),
        Origin::Remote(remote) => format!(" on {remote}"),
    };
    format!(
        "deleted{place} by {} <{}> at {}",
        t.by,
        t.email,
        ui::local_time(t.seconds)
    )
}

/// One line for a session a push skipped.
pub(crate) fn skipped_line(s: &Skipped, remote: &str) -> String {
    let id = &s.name.id;
    let what = match &s.record {
        Some(record) if s.on_remote && record.origin == Origin::Local => {
            format!(
                "{remote} has a deletion record for it; {}",
                deleted_by(record)
            )
        }
        Some(record) => deleted_by(record),
        None => format!("{remote} has a deletion record for it"),
    };
    format!("skipped {id}: {what} (to share it again: git session push --undelete {id})")
}

/// One line for a session pushed with `--undelete`.
pub(crate) fn undeleted_line(u: &Undeleted, remote: &str) -> String {
    let id = &u.name.id;
    match u.record_removed {
        Some(true) => {
            format!("undeleted {id}: shared on {remote} again, its deletion record removed")
        }
        Some(false) => format!(
            "pushed {id}, but {remote} kept its deletion record ({}); teammates' pulls still delete it",
            u.summary
        ),
        None => format!("undeleted {id}: shared on {remote} (it had no deletion record there)"),
    }
}

/// The `--json` form of a deletion record (in `list`'s, `pull`'s, `push`'s and `sync`'s
/// documents).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletionJson<'a> {
    session: &'a str,
    agent: &'a str,
    /// The session's title when it was deleted; may be empty.
    title: &'a str,
    /// The deleter's name and email (the record's committer).
    deleted_by: &'a str,
    email: &'a str,
    /// RFC 3339 UTC.
    deleted_at: String,
    deleted_at_unix: i64,
    /// The session's newest save when it was deleted; `null` when it was not known.
    deleted_tip: Option<String>,
    /// Why, as the deleter said; may be empty.
    reason: &'a str,
    /// `null` for this clone's own record, else the remote it was fetched from.
    remote: Option<&'a str>,
    /// The record's ref.
    #[serde(rename = "ref")]
    ref_name: String,
    /// The record's commit.
    commit: String,
}

impl<'a> DeletionJson<'a> {
    pub(crate) fn new(t: &'a Tombstone) -> Self {
        DeletionJson {
            session: &t.id,
            agent: &t.namespace,
            title: &t.title,
            deleted_by: &t.by,
            email: &t.email,
            deleted_at: ui::utc_rfc3339(t.seconds),
            deleted_at_unix: t.seconds,
            deleted_tip: t.deleted_tip.map(|tip| tip.to_string()),
            reason: &t.reason,
            remote: match &t.origin {
                Origin::Local => None,
                Origin::Remote(remote) => Some(remote),
            },
            ref_name: t.ref_name(),
            commit: t.commit.to_string(),
        }
    }
}

/// The `--json` form of a session a push skipped (in `push`'s and `sync`'s documents).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkippedJson<'a> {
    session: &'a str,
    agent: &'a str,
    /// Whether the remote has the record (else only this clone does).
    deleted_on_remote: bool,
    /// The record; `null` when the remote (a URL) only listed its name.
    deletion: Option<DeletionJson<'a>>,
}

impl<'a> SkippedJson<'a> {
    pub(crate) fn new(s: &'a Skipped) -> Self {
        SkippedJson {
            session: &s.name.id,
            agent: &s.name.namespace,
            deleted_on_remote: s.on_remote,
            deletion: s.record.as_ref().map(DeletionJson::new),
        }
    }
}

/// The `--json` form of a session `push --undelete` shared again.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UndeletedJson<'a> {
    session: &'a str,
    agent: &'a str,
    /// Whether the remote's record was removed; `null` when it had none.
    record_removed: Option<bool>,
}

impl<'a> UndeletedJson<'a> {
    pub(crate) fn new(u: &'a Undeleted) -> Self {
        UndeletedJson {
            session: &u.name.id,
            agent: &u.name.namespace,
            record_removed: u.record_removed,
        }
    }
}

/// One line for what a pull did about a deleted session.
pub(crate) fn deletion_line(d: &DeletionSeen) -> String {
    let t = &d.tombstone;
    let id = &t.id;
    let who = deleted_by(t);
    let why = if t.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", t.reason)
    };
    let again = format!("git session push --undelete {id} shares it again");
    match &d.outcome {
        DeletionOutcome::DeletedHere { backup } => format!(
            "deleted {id} here ({who}{why}); its saves stay on {backup} (to restore: git update-ref {} {backup})",
            t.session().full()
        ),
        DeletionOutcome::KeptAsAsked => {
            format!("kept {id} here as asked ({who}{why}); it is not pushed ({again})")
        }
        DeletionOutcome::KeptSavedAfter => format!(
            "kept {id} here: saved after it was {who}{why}; it is not pushed ({again}; git session delete {id} removes it)"
        ),
        DeletionOutcome::KeptMoved => format!(
            "kept {id} here: it was saved during the pull ({who}{why}); pull again to delete it"
        ),
        DeletionOutcome::NotAdopted => {
            format!("did not adopt {id} ({who}{why}); git session pull --keep-deleted adopts it")
        }
    }
}

/// One line for a session whose deletion was undone on the remote.
pub(crate) fn undone_line(name: &RefName, remote: &str) -> String {
    format!(
        "{} is on {remote} again (its deletion was undone there); dropped this clone's deletion record",
        name.id
    )
}

/// The `--json` form of what a pull did about a deleted session (in `pull`'s and `sync`'s
/// documents): the record, and what happened here.
#[derive(Debug, Serialize)]
pub(crate) struct DeletionSeenJson<'a> {
    #[serde(flatten)]
    deletion: DeletionJson<'a>,
    /// `deleted-here`, `kept-as-asked`, `kept-saved-after`, `kept-moved` or `not-adopted`.
    result: &'static str,
    /// The ref that keeps the deleted copy's saves (`deleted-here` only).
    backup: Option<&'a str>,
}

impl<'a> DeletionSeenJson<'a> {
    pub(crate) fn new(d: &'a DeletionSeen) -> Self {
        let (result, backup) = match &d.outcome {
            DeletionOutcome::DeletedHere { backup } => ("deleted-here", Some(backup.as_str())),
            DeletionOutcome::KeptAsAsked => ("kept-as-asked", None),
            DeletionOutcome::KeptSavedAfter => ("kept-saved-after", None),
            DeletionOutcome::KeptMoved => ("kept-moved", None),
            DeletionOutcome::NotAdopted => ("not-adopted", None),
        };
        DeletionSeenJson {
            deletion: DeletionJson::new(&d.tombstone),
            result,
            backup,
        }
    }
}

/// One line for a pulled session.
pub(crate) fn pulled_line(p: &Pulled, remote: &str) -> String {
    let id = &p.name.id;
    match &p.outcome {
        Integration::Adopted { tip } => format!("adopted {id} from {remote} ({})", ui::short(tip)),
        Integration::FastForwarded { from, to } => {
            format!("fast-forwarded {id} {}..{}", ui::short(from), ui::short(to))
        }
        Integration::Merged { commit, conflicts } if conflicts.is_empty() => {
            format!("merged {id} ({})", ui::short(commit))
        }
        Integration::Merged { commit, conflicts } => format!(
            "merged {id} ({}); {} resolved to the newer, listed in the merge commit",
            ui::short(commit),
            ui::count(conflicts.len(), "version conflict", "version conflicts")
        ),
        Integration::UpToDate => format!("{id} is up to date"),
        Integration::LocalAhead => format!("{id} has local saves to push"),
    }
}

/// The `--json` form of a pulled session (in `pull`'s and `sync`'s documents).
#[derive(Debug, Serialize)]
pub(crate) struct PulledJson<'a> {
    session: &'a str,
    agent: &'a str,
    /// `adopted`, `fast-forwarded`, `merged`, `up-to-date` or `local-ahead`.
    result: &'static str,
    /// The local ref's new save; `null` when it did not move.
    commit: Option<String>,
    /// For a merge: where both sides differed, and what was kept.
    conflicts: &'a [String],
}

impl<'a> PulledJson<'a> {
    pub(crate) fn new(p: &'a Pulled) -> Self {
        let (result, commit, conflicts): (_, _, &[String]) = match &p.outcome {
            Integration::Adopted { tip } => ("adopted", Some(tip.to_string()), &[]),
            Integration::FastForwarded { to, .. } => ("fast-forwarded", Some(to.to_string()), &[]),
            Integration::Merged { commit, conflicts } => {
                ("merged", Some(commit.to_string()), conflicts)
            }
            Integration::UpToDate => ("up-to-date", None, &[]),
            Integration::LocalAhead => ("local-ahead", None, &[]),
        };
        PulledJson {
            session: &p.name.id,
            agent: &p.name.namespace,
            result,
            commit,
            conflicts,
        }
    }
}

/// One line for a pushed ref.
pub(crate) fn pushed_line(p: &PushedRef, remote: &str) -> String {
    let id = p.remote_ref.rsplit('/').next().unwrap_or(&p.remote_ref);
    match p.status {
        PushStatus::Created => format!("pushed {id} to {remote} (new)"),
        PushStatus::Updated => format!("pushed {id} to {remote}"),
        PushStatus::UpToDate => format!("{id} is up to date on {remote}"),
        PushStatus::Deleted => format!("deleted {id} on {remote}"),
        PushStatus::Behind => {
            format!("{id} was not pushed: {remote} has saves this clone lacks")
        }
        PushStatus::Refused => format!("{remote} refused {id}: {}", p.summary),
    }
}

/// What a remote refused of a push, in one line: how many of the sessions refs, git's reason
/// (such as `pre-receive hook declined`) and the host's own words, or `None` when it refused
/// nothing.
pub(crate) fn refusal(remote: &str, refs: &[PushedRef]) -> Option<Refusal> {
    let refused: Vec<&PushedRef> = refs
        .iter()
        .filter(|p| p.status == PushStatus::Refused)
        .collect();
    let first = refused.first()?;
    let reason = first
        .summary
        .trim_start_matches("[remote rejected]")
        .trim_start_matches("[rejected]")
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let said = if first.remote_said.is_empty() {
        String::new()
    } else {
        format!(", saying \"{}\"", first.remote_said)
    };
    let all = refused.len() == refs.len();
    let how_many = if all {
        format!(
            "all {} sent",
            ui::count(refused.len(), "session ref", "session refs")
        )
    } else {
        format!(
            "{} of {} sent",
            refused.len(),
            ui::count(refs.len(), "session ref", "session refs")
        )
    };
    Some(Refusal {
        all,
        line: format!("{remote} refused {how_many} (refs/sessions/*): {reason}{said}"),
    })
}

/// A remote's refusal of sessions refs (see [`refusal`]).
pub(crate) struct Refusal {
    /// Whether it refused every ref sent (a host that takes no custom refs), not just some.
    pub all: bool,
    /// The one line that says what was refused and why.
    pub line: String,
}

impl Refusal {
    /// The next step: a host that refuses every sessions ref will never take them, so the advice
    /// is a separate remote for sessions, or to stop sending them there.
    pub(crate) fn hint(&self, remote: &str) -> String {
        if self.all {
            format!(
                "this host does not accept refs/sessions/*: stop sending sessions there with 'git session remote remove {remote}', and keep them on a remote that accepts them ('git remote add sessions <url>', then 'git session remote add sessions')"
            )
        } else {
            "the host refused some refs only (a rule for some ref names?); ask its owner to allow refs/sessions/*, or keep sessions on another remote (git session remote add <name>)".to_owned()
        }
    }

    /// The error `push` and `sync` end with.
    pub(crate) fn error(&self, remote: &str) -> CliError {
        CliError::user(format!("{}; nothing was lost locally", self.line)).hint(self.hint(remote))
    }
}

/// The `--json` form of a pushed ref (in `push`'s and `sync`'s documents).
#[derive(Debug, Serialize)]
pub(crate) struct PushedJson<'a> {
    /// The remote ref name.
    #[serde(rename = "ref")]
    ref_name: &'a str,
    /// The session id (the ref name's last component).
    session: &'a str,
    /// `created`, `updated`, `up-to-date`, `deleted`, `behind` or `refused`.
    status: &'static str,
    /// git's summary of the ref's push.
    summary: &'a str,
}

impl<'a> PushedJson<'a> {
    pub(crate) fn new(p: &'a PushedRef) -> Self {
        let status = match p.status {
            PushStatus::Created => "created",
            PushStatus::Updated => "updated",
            PushStatus::UpToDate => "up-to-date",
            PushStatus::Deleted => "deleted",
            PushStatus::Behind => "behind",
            PushStatus::Refused => "refused",
        };
        PushedJson {
            ref_name: &p.remote_ref,
            session: p.remote_ref.rsplit('/').next().unwrap_or(&p.remote_ref),
            status,
            summary: &p.summary,
        }
    }
}

/// Resolves ids the user named to local sessions refs.
pub(crate) fn local_refs(store: &Store, ids: &[String]) -> Result<Vec<RefName>, CliError> {
    let history = SessionHistory::new(store);
    let mut out = Vec::new();
    for id in ids {
        let resolved = history.resolve(id)?;
        if resolved.saved.name.origin != Origin::Local {
            return Err(CliError::user(format!(
                "{} is not saved in this repository (only a copy from {})",
                resolved.saved.name.id,
                match &resolved.saved.name.origin {
                    Origin::Remote(r) => r.as_str(),
                    Origin::Local => "here",
                }
            ))
            .hint("bring it in first with 'git session pull'"));
        }
        out.push(RefName::local(
            &resolved.saved.name.namespace,
            &resolved.saved.name.id,
        ));
    }
    Ok(out)
}
