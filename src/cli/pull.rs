//! `git session pull [<remote>]`: fetch teammates' saves and integrate them.

use clap::Args;
use serde_json::json;

use super::share::{choose_remote, pull, pulled_json, pulled_line, show_progress};
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

pub(crate) fn run(store: &Store, args: PullArgs) -> Result<(), CliError> {
    let remote = choose_remote(store, args.remote.as_deref())?;
    let pulled = pull(store, &remote, show_progress(args.json))?;
    if args.json {
        let items: Vec<serde_json::Value> = pulled.iter().map(pulled_json).collect();
        ui::out_json(&json!({"version": 1, "remote": remote, "sessions": items}));
    } else if pulled.is_empty() {
        ui::status(&format!("{remote} has no saved sessions."));
    } else {
        for p in &pulled {
            ui::status(&pulled_line(p, &remote));
        }
    }
    Ok(())
}
