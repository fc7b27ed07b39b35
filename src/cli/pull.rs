//! `git session pull [<remote>]`: fetch the summaries of every session the remote has (what
//! `list` shows), teammates' newer saves of the sessions this clone has (of every session with
//! `--all`), integrate them, and learn of sessions deleted there.

use clap::Args;
use serde::Serialize;

use super::share::{
    choose_remote, deletion_line, pull, pulled_line, show_progress, undone_line, DeletionSeenJson,
    PulledJson,
};
use super::{ui, CliError};
use crate::session::summary;
use crate::store::layout::Origin;
use crate::store::Store;

/// Arguments of `git session pull`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session pull                      # from origin (or the only remote)
  git session pull --keep-deleted       # keep local copies of sessions deleted on the remote
  git session pull --all                # fetch and adopt every session, not only yours

Without --all, a pull brings a summary of each session on the remote ('git session list' shows
them as not fetched) and the newer saves of the sessions this clone has; 'git session load ID'
fetches one more when it is needed.

A session deleted on the remote ('git session delete ID --remote R') is deleted here too; its
newest save stays on refs/session-backups/<agent>/<id>/<time>, and the line that reports it
names the 'git update-ref' command that restores it. A copy saved here after the deletion is
kept. Sessions deleted on the remote are never pushed there again ('git session push --undelete
ID' does, on purpose).")]
pub struct PullArgs {
    /// The remote (default: origin, or the only remote).
    pub remote: Option<String>,
    /// Keep local copies of sessions deleted on the remote (and adopt ones it still has).
    #[arg(long)]
    pub keep_deleted: bool,
    /// Fetch and adopt every session the remote has, not only the ones this clone has.
    #[arg(long)]
    pub all: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `pull`: one entry per session the remote has, and what it did
/// about sessions deleted there.
#[derive(Debug, Serialize)]
struct PullDocument<'a> {
    version: u32,
    remote: &'a str,
    sessions: Vec<PulledJson<'a>>,
    /// What the pull did about each session deleted on the remote that concerned this clone.
    deletions: Vec<DeletionSeenJson<'a>>,
    /// Sessions the remote has again without a deletion record; this clone's record was dropped.
    undeleted: Vec<&'a str>,
}

pub(crate) fn run(store: &Store, args: PullArgs) -> Result<(), CliError> {
    let remote = choose_remote(store, args.remote.as_deref())?;
    let remote = super::remote::reading_name(store, remote)?;
    let report = pull(
        store,
        &remote,
        show_progress(args.json),
        args.keep_deleted,
        args.all,
    )?;
    if args.json {
        ui::out_json(&PullDocument {
            version: 1,
            remote: &remote,
            sessions: report.sessions.iter().map(PulledJson::new).collect(),
            deletions: report.deletions.iter().map(DeletionSeenJson::new).collect(),
            undeleted: report.undeleted.iter().map(|n| n.id.as_str()).collect(),
        });
        return Ok(());
    }
    for name in &report.undeleted {
        ui::status(&undone_line(name, &remote));
    }
    for p in &report.sessions {
        ui::status(&pulled_line(p, &remote));
    }
    for d in &report.deletions {
        ui::status(&deletion_line(d));
    }
    let origin = Origin::Remote(remote.clone());
    let listed = summary::list_fetched(store)?
        .into_iter()
        .filter(|s| s.origin == origin)
        .filter(|s| !report.sessions.iter().any(|p| p.name.id == s.id))
        .count();
    if listed > 0 {
        ui::status(&format!(
            "{remote} has {}, listed and not fetched: 'git session list' shows them, 'git session load <id>' fetches one, 'git session pull --all' all of them.",
            ui::count(listed, "more session", "more sessions")
        ));
    } else if report.sessions.is_empty() && report.deletions.is_empty() {
        ui::status(&format!("{remote} has no saved sessions."));
    }
    Ok(())
}
