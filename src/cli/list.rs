//! `git session list`: one line per saved session, newest save first, then the sessions deleted
//! with `delete --remote` (here or by teammates): who deleted which, and when.
//!
//! Sessions that only a remote's summary lists (a plain `git fetch` brings summaries, not
//! sessions) follow the others, marked `<remote> (not fetched)` in the FROM column (`"fetched":
//! false` in `--json`); `load`, `show` and `search --session` fetch one when named.
//!
//! stdout holds a header line, then one line per session; a copy that a remote has a deletion
//! record for is marked in its FROM column. The deletions follow on stderr, one line each;
//! `--json` has them as `deletions`, and the hidden `--ids` prints the ids alone (for shell
//! completion).

use std::collections::HashSet;

use clap::Args;
use serde::Serialize;

use super::share::{deleted_by, DeletionJson};
use super::style::{styles, DisplayArgs, Palette};
use super::{ui, CliError};
use crate::session::summary::{self, Summary};
use crate::session::tombstone::{self, Tombstone};
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::{Origin, RefName};
use crate::store::Store;

/// Arguments of `git session list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (`{"version": 1, "sessions": [...], "deletions": [...]}`) for scripts.
    #[arg(long)]
    pub json: bool,
    /// Print the session ids only, one a line (what shell completion offers).
    #[arg(long, hide = true, conflicts_with = "json")]
    pub ids: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// The `--json` document of `list`: one entry per session, as the lines list them, and one per
/// deletion record (this clone's own, and each copy fetched from a remote).
#[derive(Debug, Serialize)]
struct ListDocument<'a> {
    version: u32,
    sessions: Vec<SessionJson<'a>>,
    deletions: Vec<DeletionJson<'a>>,
}

/// One listed session: its newest save (local, else the newest remote copy).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionJson<'a> {
    id: &'a str,
    agent: &'a str,
    title: &'a str,
    messages: usize,
    children: usize,
    saves: u64,
    bytes: u64,
    /// RFC 3339 UTC.
    last_save: String,
    last_save_unix: i64,
    last_reason: &'a str,
    agent_version: Option<&'a str>,
    #[serde(rename = "ref")]
    ref_name: String,
    /// `null` for a local save, else the remote it was fetched from (or is listed on).
    remote: Option<&'a str>,
    commit: String,
    /// Whether this clone has the session's saves; `false` for one only a remote's summary
    /// lists (`git session load <id>` fetches it).
    fetched: bool,
    /// Who made the newest save (known for sessions listed from a summary; else `null`).
    saved_by: Option<&'a str>,
}

pub(crate) fn run(store: &Store, args: ListArgs) -> Result<(), CliError> {
    let sessions = unique_sessions(SessionHistory::new(store).sessions()?);
    if args.ids {
        let ids: String = sessions
            .iter()
            .map(|s| format!("{}\n", s.name.id))
            .collect();
        ui::out(&ids);
        return Ok(());
    }
    let deletions = tombstone::list(store)?;
    let listed = not_fetched(store, &sessions, &deletions)?;
    if args.json {
        let mut entries: Vec<SessionJson> = sessions.iter().map(SessionJson::new).collect();
        entries.extend(listed.iter().map(SessionJson::listed));
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_save_unix));
        ui::out_json(&ListDocument {
            version: 1,
            sessions: entries,
            deletions: deletions.iter().map(DeletionJson::new).collect(),
        });
        return Ok(());
    }
    let mut sessions: Vec<Row> = sessions
        .iter()
        .map(|s| Row {
            id: &s.name.id,
            agent: &s.name.namespace,
            title: &s.trailers.title,
            messages: s.trailers.messages,
            saves: s.trailers.saves,
            seconds: s.seconds,
            bytes: s.trailers.bytes,
            from: origin_label(s, &deletions),
        })
        .chain(listed.iter().map(|s| Row {
            id: &s.id,
            agent: &s.namespace,
            title: &s.trailers.title,
            messages: s.trailers.messages,
            saves: s.trailers.saves,
            seconds: s.seconds,
            bytes: s.trailers.bytes,
            from: format!("{} (not fetched)", remote_of(&s.origin)),
        }))
        .collect();
    // Newest save first, whether fetched or not (the sort is stable).
    sessions.sort_by_key(|s| std::cmp::Reverse(s.seconds));
    if sessions.is_empty() {
        if deletions.is_empty() {
            ui::status("No saved sessions yet. Save one with: git session save");
            if !store.remote_names().is_empty() {
                // A fresh clone has none until it fetches them.
                ui::status("hint: sessions your teammates pushed come with: git session pull");
            }
        }
        deletion_lines(&deletions);
        return Ok(());
    }
    let palette = super::style::start(store, &args.display);
    let id_width = sessions
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let mut text = String::new();
    let header = format!(
        "{}  {:<8}  {}  {:>5}  {:>5}  {:<16}  {:>9}  FROM",
        ui::fit("ID", id_width),
        "AGENT",
        ui::fit("TITLE", 32),
        "MSGS",
        "SAVES",
        "LAST SAVE",
        "SIZE"
    );
    text.push_str(&palette.paint(styles::HEADER, &header));
    text.push('\n');
    for s in &sessions {
        text.push_str(&format!(
            "{}  {}  {}  {:>5}  {:>5}  {}  {:>9}  {}\n",
            palette.paint(styles::ID, &ui::fit(s.id, id_width)),
            palette.paint(styles::AGENT, &format!("{:<8}", s.agent)),
            ui::fit(s.title, 32),
            s.messages,
            s.saves,
            palette.paint(styles::TIME, &format!("{:<16}", ui::local_time(s.seconds))),
            ui::size(s.bytes),
            origin(palette, &s.from),
        ));
    }
    ui::out(&text);
    deletion_lines(&deletions);
    Ok(())
}

/// One line of the table.
struct Row<'a> {
    id: &'a str,
    agent: &'a str,
    title: &'a str,
    messages: usize,
    saves: u64,
    seconds: i64,
    bytes: u64,
    from: String,
}

/// The sessions only a remote's summary lists: no copy here (saved or fetched), and no deletion
/// record for them. One per session, from the remote with the newest save.
fn not_fetched(
    store: &Store,
    sessions: &[SavedSession],
    deletions: &[Tombstone],
) -> Result<Vec<Summary>, CliError> {
    let mut seen: HashSet<(String, String)> = sessions
        .iter()
        .map(|s| (s.name.namespace.clone(), s.name.id.clone()))
        .collect();
    seen.extend(
        deletions
            .iter()
            .map(|t| (t.namespace.clone(), t.id.clone())),
    );
    Ok(summary::list_fetched(store)?
        .into_iter()
        .filter(|s| seen.insert((s.namespace.clone(), s.id.clone())))
        .collect())
}

fn remote_of(origin: &Origin) -> &str {
    match origin {
        Origin::Local => "local",
        Origin::Remote(remote) => remote,
    }
}

/// One stderr line per deleted session, newest deletion first: the newest record of each (a
/// record here and its copy fetched from the remote are one deletion).
fn deletion_lines(deletions: &[Tombstone]) {
    let mut seen = HashSet::new();
    for t in deletions {
        if !seen.insert((t.namespace.clone(), t.id.clone())) {
            continue;
        }
        // The remote's copy names where; this clone's own record is the same deletion.
        let shown = deletions
            .iter()
            .find(|d| d.commit == t.commit && d.origin != Origin::Local)
            .unwrap_or(t);
        let title = if t.title.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", t.title)
        };
        let why = if t.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", t.reason)
        };
        ui::status(&format!(
            "deleted: {}{title} ({}) {}{why}",
            t.id,
            t.namespace,
            deleted_by(shown).trim_start_matches("deleted ")
        ));
    }
}

/// One entry per session id: the local save when there is one, else the newest remote copy.
pub(crate) fn unique_sessions(all: Vec<SavedSession>) -> Vec<SavedSession> {
    unique_by_ref(all, |s| &s.name)
}

/// [`unique_sessions`] of anything that names a session's ref.
pub(crate) fn unique_by_ref<T>(all: Vec<T>, name: impl Fn(&T) -> &RefName) -> Vec<T> {
    let local: HashSet<String> = all
        .iter()
        .map(&name)
        .filter(|n| n.origin == Origin::Local)
        .map(|n| n.id.clone())
        .collect();
    let mut seen = HashSet::new();
    all.into_iter()
        .filter(|s| name(s).origin == Origin::Local || !local.contains(&name(s).id))
        .filter(|s| seen.insert(name(s).id.clone()))
        .collect()
}

/// The FROM column, the deletion marked in red.
fn origin(palette: Palette, label: &str) -> String {
    match label.split_once(" (deleted") {
        Some((from, rest)) => format!(
            "{from} {}",
            palette.paint(styles::DELETED, &format!("(deleted{rest}"))
        ),
        None => label.to_owned(),
    }
}

/// Where the session comes from, and the remotes that have a deletion record for it.
fn origin_label(s: &SavedSession, deletions: &[Tombstone]) -> String {
    let from = match &s.name.origin {
        Origin::Local => "local".to_owned(),
        Origin::Remote(remote) => remote.clone(),
    };
    let deleted_on: Vec<&str> = deletions
        .iter()
        .filter(|t| t.id == s.name.id && t.namespace == s.name.namespace)
        .filter_map(|t| match &t.origin {
            Origin::Remote(remote) => Some(remote.as_str()),
            Origin::Local => None,
        })
        .collect();
    match deleted_on.as_slice() {
        [] => from,
        remotes => format!("{from} (deleted on {})", remotes.join(", ")),
    }
}

impl<'a> SessionJson<'a> {
    fn new(s: &'a SavedSession) -> Self {
        SessionJson {
            id: &s.name.id,
            agent: &s.name.namespace,
            title: &s.trailers.title,
            messages: s.trailers.messages,
            children: s.trailers.children,
            saves: s.trailers.saves,
            bytes: s.trailers.bytes,
            last_save: ui::utc_rfc3339(s.seconds),
            last_save_unix: s.seconds,
            last_reason: &s.trailers.reason,
            agent_version: s.trailers.agent_version.as_deref(),
            ref_name: s.name.full(),
            remote: match &s.name.origin {
                Origin::Local => None,
                Origin::Remote(r) => Some(r),
            },
            commit: s.tip.to_string(),
            fetched: true,
            saved_by: None,
        }
    }

    fn listed(s: &'a Summary) -> Self {
        SessionJson {
            id: &s.id,
            agent: &s.namespace,
            title: &s.trailers.title,
            messages: s.trailers.messages,
            children: s.trailers.children,
            saves: s.trailers.saves,
            bytes: s.trailers.bytes,
            last_save: ui::utc_rfc3339(s.seconds),
            last_save_unix: s.seconds,
            last_reason: &s.trailers.reason,
            agent_version: s.trailers.agent_version.as_deref(),
            ref_name: RefName {
                origin: s.origin.clone(),
                namespace: s.namespace.clone(),
                id: s.id.clone(),
            }
            .full(),
            remote: match &s.origin {
                Origin::Local => None,
                Origin::Remote(r) => Some(r),
            },
            commit: s.tip.to_string(),
            fetched: false,
            saved_by: Some(&s.by),
        }
    }
}
