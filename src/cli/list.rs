//! `git session list`: one line per saved session, newest save first.

use std::collections::HashSet;

use clap::Args;
use serde_json::json;

use super::{ui, CliError};
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// Arguments of `git session list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (`{"version": 1, "sessions": [...]}`) for scripts.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(store: &Store, args: ListArgs) -> Result<(), CliError> {
    let sessions = unique_sessions(SessionHistory::new(store).sessions()?);
    if args.json {
        let items: Vec<serde_json::Value> = sessions.iter().map(session_json).collect();
        ui::out_json(&json!({"version": 1, "sessions": items}));
        return Ok(());
    }
    if sessions.is_empty() {
        ui::status("No saved sessions yet. Save one with: git session save --from FILE");
        return Ok(());
    }
    let id_width = sessions
        .iter()
        .map(|s| s.name.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let mut text = String::new();
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        text.push_str(&format!(
            "{}  {:<8}  {}  {:>5}  {:>5}  {:<16}  {:>9}  FROM\n",
            ui::fit("ID", id_width),
            "AGENT",
            ui::fit("TITLE", 32),
            "MSGS",
            "SAVES",
            "LAST SAVE",
            "SIZE"
        ));
    }
    for s in &sessions {
        text.push_str(&format!(
            "{}  {:<8}  {}  {:>5}  {:>5}  {:<16}  {:>9}  {}\n",
            ui::fit(&s.name.id, id_width),
            s.name.namespace,
            ui::fit(&s.trailers.title, 32),
            s.trailers.messages,
            s.trailers.saves,
            ui::local_time(s.seconds),
            ui::size(s.trailers.bytes),
            origin_label(&s.name.origin),
        ));
    }
    ui::out(&text);
    Ok(())
}

/// One entry per session id: the local save when there is one, else the newest remote copy.
pub(crate) fn unique_sessions(all: Vec<SavedSession>) -> Vec<SavedSession> {
    let local: HashSet<String> = all
        .iter()
        .filter(|s| s.name.origin == Origin::Local)
        .map(|s| s.name.id.clone())
        .collect();
    let mut seen = HashSet::new();
    all.into_iter()
        .filter(|s| s.name.origin == Origin::Local || !local.contains(&s.name.id))
        .filter(|s| seen.insert(s.name.id.clone()))
        .collect()
}

fn origin_label(origin: &Origin) -> String {
    match origin {
        Origin::Local => "local".to_owned(),
        Origin::Remote(remote) => remote.clone(),
    }
}

fn session_json(s: &SavedSession) -> serde_json::Value {
    json!({
        "id": s.name.id,
        "agent": s.name.namespace,
        "title": s.trailers.title,
        "messages": s.trailers.messages,
        "children": s.trailers.children,
        "saves": s.trailers.saves,
        "bytes": s.trailers.bytes,
        "lastSave": ui::utc_rfc3339(s.seconds),
        "lastSaveUnix": s.seconds,
        "lastReason": s.trailers.reason,
        "agentVersion": s.trailers.agent_version,
        "ref": s.name.full(),
        "remote": match &s.name.origin { Origin::Local => None, Origin::Remote(r) => Some(r.clone()) },
        "commit": s.tip.to_string(),
    })
}
