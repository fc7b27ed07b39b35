//! `git session push [<remote>] [<id>...]`: send sessions refs to a remote, never forcing, and
//! never a session deleted there (unless `--undelete`), and only to a remote enabled for sessions
//! (unless `--remote-ok`; see [`super::remote`]).

use clap::Args;
use serde::Serialize;

use super::share::{
    choose_remote, local_refs, push, pushed_line, refusal, skipped_line, undeleted_line,
    PushedJson, SkippedJson, UndeletedJson,
};
use super::{ui, CliError};
use crate::git_cli::PushStatus;
use crate::session::SessionHistory;
use crate::store::Store;

/// Arguments of `git session push`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session push                          # every local session to origin (or the only remote)
  git session push origin ses_dfef          # one session
  git session push --undelete ses_dfef      # share a session deleted on the remote again
  git session push fork --remote-ok         # a remote not enabled for sessions, this once

Sessions go only to remotes enabled for them ('git session remote add <name>', or the git
config key remote.<name>.sessions); push refuses any other remote unless given --remote-ok.

A session deleted with 'git session delete ID --remote R' (by anyone) has a deletion record on R;
push skips it and says who deleted it and when. --undelete pushes it anyway and removes the
record there and here, so teammates' pulls adopt it again.")]
pub struct PushArgs {
    /// The remote (default: origin, or the only remote).
    pub remote: Option<String>,
    /// Sessions to push (ids or unique prefixes); all local sessions when none are named.
    pub ids: Vec<String>,
    /// Push this session even though it was deleted on the remote (or by this clone), and remove
    /// its deletion record there and here. Repeatable.
    #[arg(long, value_name = "ID")]
    pub undelete: Vec<String>,
    /// Send to this remote even though sessions are not enabled for it (this once; enable it
    /// with 'git session remote add <remote>').
    #[arg(long)]
    pub remote_ok: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `git session push ses_1`: a first word that names no remote but a saved session is that
/// session, pushed to the default remote. One that names neither is refused, saying both.
fn session_as_first_word(store: &Store, args: &mut PushArgs) -> Result<(), CliError> {
    let Some(word) = args.remote.clone() else {
        return Ok(());
    };
    if store.remote_names().contains(&word) {
        return Ok(());
    }
    match SessionHistory::new(store).resolve(&word) {
        Ok(_) => {
            args.ids.insert(0, word);
            args.remote = None;
            Ok(())
        }
        Err(_) => Err(CliError::user(format!(
            "'{word}' is neither a remote nor a saved session"
        ))
        .hint("git session push [REMOTE] [ID...]: 'git remote -v' lists the remotes, 'git session list' the sessions")),
    }
}

/// The `--json` document of `push`: one entry per ref pushed (or not), the sessions skipped as
/// deleted, and those undeleted.
#[derive(Debug, Serialize)]
struct PushDocument<'a> {
    version: u32,
    remote: &'a str,
    refs: Vec<PushedJson<'a>>,
    /// Sessions not pushed because they were deleted (on the remote, or by this clone).
    skipped: Vec<SkippedJson<'a>>,
    /// Sessions pushed with `--undelete`.
    undeleted: Vec<UndeletedJson<'a>>,
}

pub(crate) fn run(store: &Store, mut args: PushArgs) -> Result<(), CliError> {
    session_as_first_word(store, &mut args)?;
    let remote = choose_remote(store, args.remote.as_deref())?;
    super::remote::check_send(store, "push", &remote, args.remote_ok)?;
    let names = local_refs(store, &args.ids)?;
    let undelete = local_refs(store, &args.undelete)?;
    // Only --undelete named: push those alone, not every other session too.
    let names = if names.is_empty() && !undelete.is_empty() {
        undelete.clone()
    } else {
        names
    };
    let pushed = push(store, &remote, &names, &undelete)?;
    if args.json {
        ui::out_json(&PushDocument {
            version: 1,
            remote: &remote,
            refs: pushed.refs.iter().map(PushedJson::new).collect(),
            skipped: pushed.skipped.iter().map(SkippedJson::new).collect(),
            undeleted: pushed.undeleted.iter().map(UndeletedJson::new).collect(),
        });
    } else if pushed.refs.is_empty() && pushed.skipped.is_empty() {
        ui::status("No saved sessions to push.");
    } else {
        // A host that refuses every ref gets one error line below, not one line per session.
        let all_refused = refusal(&remote, &pushed.refs).is_some_and(|r| r.all);
        for p in &pushed.refs {
            if !(all_refused && p.status == PushStatus::Refused) {
                ui::status(&pushed_line(p, &remote));
            }
        }
        for s in &pushed.skipped {
            ui::status(&skipped_line(s, &remote));
        }
        for u in &pushed.undeleted {
            ui::status(&undeleted_line(u, &remote));
        }
    }
    let behind = pushed
        .refs
        .iter()
        .filter(|p| p.status == PushStatus::Behind)
        .count();
    if let Some(refused) = refusal(&remote, &pushed.refs) {
        return Err(refused.error(&remote));
    }
    if behind > 0 {
        return Err(CliError::user(format!(
            "{} newer saves on {remote}; nothing was overwritten",
            if behind == 1 {
                "1 session has".to_owned()
            } else {
                format!("{behind} sessions have")
            }
        ))
        .hint(format!(
            "merge and push them with: git session sync {remote}"
        )));
    }
    if let Some(kept) = pushed
        .undeleted
        .iter()
        .find(|u| u.record_removed == Some(false))
    {
        return Err(CliError::user(format!(
            "{remote} refused to remove the deletion record of {}",
            kept.name.id
        ))
        .hint("ask the remote's owner to allow deleting refs/session-deletions/*"));
    }
    if !args.ids.is_empty() {
        if let Some(first) = pushed.skipped.first() {
            return Err(CliError::user(format!(
                "{} of the sessions named were not pushed: deleted",
                pushed.skipped.len()
            ))
            .hint(format!(
                "to share a deleted session again: git session push --undelete {}",
                first.name.id
            )));
        }
    }
    Ok(())
}
