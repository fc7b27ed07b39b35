//! `git session sync [<remote>]`: pull, then push; when the remote moved in between, again.
//! Deletions on the remote apply as in `pull`, and deleted sessions are not pushed. Only with a
//! remote enabled for sessions (unless `--remote-ok`; see [`super::remote`]).

use clap::Args;
use serde::Serialize;

use super::share::{
    choose_remote, deletion_line, pull, pulled_line, push, pushed_line, refusal, show_progress,
    skipped_line, undone_line, DeletionSeen, DeletionSeenJson, PulledJson, PushedJson, SkippedJson,
};
use super::{ui, CliError};
use crate::git_cli::PushStatus;
use crate::session::integrate::Integration;
use crate::store::Store;

/// How many pull-push rounds before giving up on a remote that keeps moving.
const MAX_ROUNDS: usize = 5;

/// Arguments of `git session sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote (default: origin, or the only remote).
    pub remote: Option<String>,
    /// Keep local copies of sessions deleted on the remote (as `pull --keep-deleted`).
    #[arg(long)]
    pub keep_deleted: bool,
    /// Sync with this remote even though sessions are not enabled for it (this once; enable it
    /// with 'git session remote add <remote>').
    #[arg(long)]
    pub remote_ok: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `sync`: counts, every round's pulls, and the last round's pushes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncDocument<'a> {
    version: u32,
    remote: &'a str,
    /// Pull-push rounds run (more than one when the remote moved meanwhile).
    rounds: usize,
    adopted: usize,
    fast_forwarded: usize,
    merged: usize,
    /// Refs the last round created or updated on the remote.
    pushed: usize,
    pull: Vec<PulledJson<'a>>,
    push: Vec<PushedJson<'a>>,
    /// Sessions the last round did not push because they were deleted.
    skipped: Vec<SkippedJson<'a>>,
    /// What the pulls did about sessions deleted on the remote (each session once).
    deletions: Vec<DeletionSeenJson<'a>>,
    /// Sessions the remote has again without a deletion record; this clone's record was dropped.
    undeleted: Vec<&'a str>,
}

pub(crate) fn run(store: &Store, args: SyncArgs) -> Result<(), CliError> {
    let remote = choose_remote(store, args.remote.as_deref())?;
    super::remote::check_send(store, "sync", &remote, args.remote_ok)?;
    let progress = show_progress(args.json);
    let mut pulled_all = Vec::new();
    let mut deletions: Vec<DeletionSeen> = Vec::new();
    let mut undone = Vec::new();
    let mut pushed_last = Vec::new();
    let mut skipped = Vec::new();
    let mut rounds = 0;
    for round in 1..=MAX_ROUNDS {
        rounds = round;
        let pulled = pull(store, &remote, progress, args.keep_deleted)?;
        let pushed = push(store, &remote, &[], &[], progress)?;
        pulled_all.extend(pulled.sessions);
        // A later round sees the same records again; report each session once.
        for d in pulled.deletions {
            if !deletions
                .iter()
                .any(|seen| seen.tombstone.session() == d.tombstone.session())
            {
                deletions.push(d);
            }
        }
        undone.extend(pulled.undeleted);
        let behind = pushed.refs.iter().any(|p| p.status == PushStatus::Behind);
        pushed_last = pushed.refs;
        skipped = pushed.skipped;
        if !behind {
            break;
        }
    }
    let count = |f: fn(&Integration) -> bool| pulled_all.iter().filter(|p| f(&p.outcome)).count();
    let adopted = count(|o| matches!(o, Integration::Adopted { .. }));
    let forwarded = count(|o| matches!(o, Integration::FastForwarded { .. }));
    let merged = count(|o| matches!(o, Integration::Merged { .. }));
    let pushed_count = pushed_last
        .iter()
        .filter(|p| matches!(p.status, PushStatus::Created | PushStatus::Updated))
        .count();
    if args.json {
        ui::out_json(&SyncDocument {
            version: 1,
            remote: &remote,
            rounds,
            adopted,
            fast_forwarded: forwarded,
            merged,
            pushed: pushed_count,
            pull: pulled_all.iter().map(PulledJson::new).collect(),
            push: pushed_last.iter().map(PushedJson::new).collect(),
            skipped: skipped.iter().map(SkippedJson::new).collect(),
            deletions: deletions.iter().map(DeletionSeenJson::new).collect(),
            undeleted: undone.iter().map(|n| n.id.as_str()).collect(),
        });
    } else {
        for name in &undone {
            ui::status(&undone_line(name, &remote));
        }
        for p in &pulled_all {
            if !matches!(p.outcome, Integration::UpToDate | Integration::LocalAhead) {
                ui::status(&pulled_line(p, &remote));
            }
        }
        for d in &deletions {
            ui::status(&deletion_line(d));
        }
        // A host that refuses every ref gets one error line below, not one line per session.
        let all_refused = refusal(&remote, &pushed_last).is_some_and(|r| r.all);
        for p in &pushed_last {
            if p.status != PushStatus::UpToDate && !(all_refused && p.status == PushStatus::Refused)
            {
                ui::status(&pushed_line(p, &remote));
            }
        }
        for s in &skipped {
            ui::status(&skipped_line(s, &remote));
        }
        if refusal(&remote, &pushed_last).is_none() {
            ui::status(&format!(
                "Synced with {remote}: {adopted} adopted, {forwarded} fast-forwarded, {merged} merged, {pushed_count} pushed."
            ));
        }
    }
    if let Some(refused) = refusal(&remote, &pushed_last) {
        return Err(refused.error(&remote));
    }
    if pushed_last.iter().any(|p| p.status == PushStatus::Behind) {
        return Err(CliError::user(format!(
            "{remote} kept moving during {MAX_ROUNDS} rounds of sync; nothing was overwritten"
        ))
        .hint("run 'git session sync' again"));
    }
    Ok(())
}
