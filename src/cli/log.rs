//! `git session log <id>`: the saves of one session, newest first.

use clap::Args;
use serde_json::json;

use super::{ui, CliError};
use crate::session::SessionHistory;
use crate::store::Store;

/// Arguments of `git session log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Session id or unique prefix.
    pub id: String,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(store: &Store, args: LogArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    let saves = history.log(&resolved.saved)?;
    if args.json {
        let items: Vec<serde_json::Value> = saves
            .iter()
            .map(|r| {
                json!({
                    "commit": r.commit.to_string(),
                    "parents": r.parents.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                    "time": ui::utc_rfc3339(r.seconds),
                    "timeUnix": r.seconds,
                    "reason": r.trailers.reason,
                    "messages": r.trailers.messages,
                    "children": r.trailers.children,
                    "save": r.trailers.saves,
                    "bytes": r.trailers.bytes,
                    "title": r.trailers.title,
                    "agentVersion": r.trailers.agent_version,
                    "committer": r.committer,
                })
            })
            .collect();
        ui::out_json(&json!({
            "version": 1,
            "session": resolved.saved.name.id,
            "ref": resolved.saved.name.full(),
            "saves": items,
        }));
        return Ok(());
    }
    let mut text = String::new();
    for r in &saves {
        let merge = if r.parents.len() > 1 { " (merge)" } else { "" };
        text.push_str(&format!(
            "{}  {}  {:<15}  {:>5} msgs  {}{merge}\n",
            ui::short(&r.commit),
            ui::local_time(r.seconds),
            ui::fit(&r.trailers.reason, 15),
            r.trailers.messages,
            r.trailers.title,
        ));
    }
    ui::out(&text);
    Ok(())
}
