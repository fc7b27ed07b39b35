//! `git session pull [<remote>]`: fetch teammates' saves and integrate them.

use clap::Args;
use serde::Serialize;

use super::share::{choose_remote, pull, pulled_line, show_progress, PulledJson};
use super::{ui, CliError};
use crate::store::Store;

/// Arguments of `git session pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The remote (default: origin, or the only remote).
    pub remote: Option<String>,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `pull`: one entry per session the remote has.
#[derive(Debug, Serialize)]
struct PullDocument<'a> {
    version: u32,
    remote: &'a str,
    sessions: Vec<PulledJson<'a>>,
}

pub(crate) fn run(store: &Store, args: PullArgs) -> Result<(), CliError> {
    let remote = choose_remote(store, args.remote.as_deref())?;
    let pulled = pull(store, &remote, show_progress(args.json))?;
    if args.json {
        ui::out_json(&PullDocument {
            version: 1,
            remote: &remote,
            sessions: pulled.iter().map(PulledJson::new).collect(),
        });
    } else if pulled.is_empty() {
        ui::status(&format!("{remote} has no saved sessions."));
    } else {
        for p in &pulled {
            ui::status(&pulled_line(p, &remote));
        }
    }
    Ok(())
}
