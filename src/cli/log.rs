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
    /// The commits whose `Session:` trailer names this session, newest first.
    commits: Vec<CommitJson>,
}

/// One linked commit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitJson {
    pub id: String,
    pub subject: String,
    /// RFC 3339 UTC.
    pub author_time: String,
}

/// The commits linked to the saved session `saved` by their trailers (none in a bare
/// repository or without commits).
pub(crate) fn linked(store: &Store, namespace: &str, id: &str) -> Vec<CommitJson> {
    let Some(root) = store.workdir() else {
        return Vec::new();
    };
    let link = crate::session::links::SessionLink {
        agent: namespace.to_owned(),
        id: id.to_owned(),
    };
    super::links::linked_commits(&root, &link)
        .unwrap_or_default()
        .into_iter()
        .map(|c| CommitJson {
            id: c.id,
            subject: c.subject,
            author_time: ui::utc_rfc3339(c.author_time),
        })
        .collect()
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
    let commits = linked(
        store,
        &resolved.saved.name.namespace,
        &resolved.saved.name.id,
    );
    if args.json {
        ui::out_json(&LogDocument {
            version: 1,
            session: &resolved.saved.name.id,
            ref_name: resolved.saved.name.full(),
            saves: saves.iter().map(SaveJson::new).collect(),
            commits,
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
    if !commits.is_empty() {
        text.push_str(&format!(
            "\ncommits linked to {}:\n",
            resolved.saved.name.id
        ));
        for c in &commits {
            text.push_str(&format!("{}  {}\n", ui::short(&c.id), c.subject));
        }
    }
    ui::out(&text);
    Ok(())
}
