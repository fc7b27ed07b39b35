//! `git session log <id>`: the saves of one session, newest first.

use clap::Args;
use serde::Serialize;

use super::style::{styles, DisplayArgs};
use super::{ui, CliError};
use crate::session::history::SaveRecord;
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
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// The `--json` document of `log`: the saves of one session, newest first.
#[derive(Debug, Serialize)]
struct LogDocument<'a> {
    version: u32,
    session: &'a str,
    #[serde(rename = "ref")]
    ref_name: String,
    saves: Vec<SaveJson<'a>>,
}

/// One save.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SaveJson<'a> {
    commit: String,
    /// The previous save; two for a merge.
    parents: Vec<String>,
    /// RFC 3339 UTC.
    time: String,
    time_unix: i64,
    reason: &'a str,
    messages: usize,
    children: usize,
    /// Its number in the session's history (1 for the first save).
    save: u64,
    bytes: u64,
    title: &'a str,
    agent_version: Option<&'a str>,
    committer: &'a str,
}

impl<'a> SaveJson<'a> {
    fn new(r: &'a SaveRecord) -> Self {
        SaveJson {
            commit: r.commit.to_string(),
            parents: r.parents.iter().map(|p| p.to_string()).collect(),
            time: ui::utc_rfc3339(r.seconds),
            time_unix: r.seconds,
            reason: &r.trailers.reason,
            messages: r.trailers.messages,
            children: r.trailers.children,
            save: r.trailers.saves,
            bytes: r.trailers.bytes,
            title: &r.trailers.title,
            agent_version: r.trailers.agent_version.as_deref(),
            committer: &r.committer,
        }
    }
}

pub(crate) fn run(store: &Store, args: LogArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    let saves = history.log(&resolved.saved)?;
    if args.json {
        ui::out_json(&LogDocument {
            version: 1,
            session: &resolved.saved.name.id,
            ref_name: resolved.saved.name.full(),
            saves: saves.iter().map(SaveJson::new).collect(),
        });
        return Ok(());
    }
    let palette = super::style::start(store, &args.display);
    let mut text = String::new();
    for r in &saves {
        let merge = if r.parents.len() > 1 { " (merge)" } else { "" };
        text.push_str(&format!(
            "{}  {}  {}  {:>5} {}  {}{merge}\n",
            palette.paint(styles::COMMIT, &ui::short(&r.commit)),
            palette.paint(styles::TIME, &ui::local_time(r.seconds)),
            palette.paint(styles::DIM, &ui::fit(&r.trailers.reason, 15)),
            r.trailers.messages,
            ui::plural(r.trailers.messages as u64, "msg", "msgs"),
            r.trailers.title,
        ));
    }
    ui::out(&text);
    Ok(())
}
