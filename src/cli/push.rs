//! `git session push [<remote>] [<id>...]`: send sessions refs to a remote, never forcing.

use clap::Args;
use serde::Serialize;

use super::share::{choose_remote, local_refs, push, pushed_line, show_progress, PushedJson};
use super::{ui, CliError};
use crate::git_cli::PushStatus;
use crate::store::Store;

/// Arguments of `git session push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The remote (default: origin, or the only remote).
    pub remote: Option<String>,
    /// Sessions to push (ids or unique prefixes); all local sessions when none are named.
    pub ids: Vec<String>,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `push`: one entry per ref pushed (or not).
#[derive(Debug, Serialize)]
struct PushDocument<'a> {
    version: u32,
    remote: &'a str,
    refs: Vec<PushedJson<'a>>,
}

pub(crate) fn run(store: &Store, args: PushArgs) -> Result<(), CliError> {
    let remote = choose_remote(store, args.remote.as_deref())?;
    let names = local_refs(store, &args.ids)?;
    let pushed = push(store, &remote, &names, show_progress(args.json))?;
    if args.json {
        ui::out_json(&PushDocument {
            version: 1,
            remote: &remote,
            refs: pushed.iter().map(PushedJson::new).collect(),
        });
    } else if pushed.is_empty() {
        ui::status("No saved sessions to push.");
    } else {
        for p in &pushed {
            ui::status(&pushed_line(p, &remote));
        }
    }
    let behind = pushed
        .iter()
        .filter(|p| p.status == PushStatus::Behind)
        .count();
    let refused = pushed
        .iter()
        .filter(|p| p.status == PushStatus::Refused)
        .count();
    if refused > 0 {
        return Err(CliError::user(format!(
            "{remote} refused {refused} session ref(s); nothing was lost locally"
        ))
        .hint("ask the remote's owner to allow refs/sessions/*, or push to another remote"));
    }
    if behind > 0 {
        return Err(CliError::user(format!(
            "{behind} session(s) have newer saves on {remote}; nothing was overwritten"
        ))
        .hint(format!(
            "merge and push them with: git session sync {remote}"
        )));
    }
    Ok(())
}
