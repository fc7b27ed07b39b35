//! `git session stats`: how many sessions, saves, messages and parts the local sessions refs
//! hold, how big they are as exported and as stored, and the largest sessions.

use clap::Args;
use serde::Serialize;

use super::{ui, CliError};
use crate::agents::registry;
use crate::git_cli;
use crate::session::backup::{self, BackupFile};
use crate::session::stats::{self, SessionFigures, Totals};
use crate::store::Store;

/// How many of the largest sessions are listed.
const LARGEST: usize = 5;

/// Arguments of `git session stats`.
#[derive(Debug, Args)]
#[command(after_long_help = "Figures (exact counts; sizes in bytes):
  raw, all saves   sum of every save's size as compact JSON: what committing one export file
                   per save would hold before compression (the naive way)
  raw, newest      the newest save of every session as compact JSON
  objects          distinct git objects the sessions refs keep alive, and their content bytes
  stored           what those objects take on disk (zlib-compressed loose files, or their
                   compressed and deltified entries in packs)
  dedup ratio      raw, all saves / object bytes (what content addressing saves)
  compression      object bytes / stored (what zlib and git's deltas save)
  overall          raw, all saves / stored (= dedup ratio x compression)

Only local sessions refs (refs/sessions/*) are counted, not remote-tracking copies.")]
pub struct StatsArgs {
    /// Print JSON (`{\"version\": 1, ...}`) for scripts.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(store: &Store, args: StatsArgs) -> Result<(), CliError> {
    // Each agent's adapter counts its messages' parts; an unknown agent's count as one each.
    let part_count = |agent: &str, message: &serde_json::Value| {
        registry::by_name(agent).map_or(1, |a| a.part_count(message))
    };
    let figures = stats::collect_local(store, &part_count)?;
    let git_dir = store.common_dir();
    let (totals, stored) = stats::totals(&figures, |ids| {
        git_cli::object_sizes(&git_dir, ids)
            .map(|sizes| sizes.into_iter().map(|s| (s.content, s.disk)).collect())
    })?;
    let mut largest: Vec<(&SessionFigures, u64)> = figures.iter().zip(stored).collect();
    largest.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(b.0.raw_bytes_all_saves.cmp(&a.0.raw_bytes_all_saves))
            .then(a.0.name.id.cmp(&b.0.name.id))
    });
    let sum = |f: fn(&SessionFigures) -> u64| figures.iter().map(f).sum::<u64>();
    let summary = Summary {
        roots: figures.len() as u64,
        children: sum(|f| f.children),
        saves: sum(|f| f.saves),
        merges: sum(|f| f.merges),
        messages: sum(|f| f.messages + f.child_messages),
        parts: sum(|f| f.parts),
        raw_all: sum(|f| f.raw_bytes_all_saves),
        raw_newest: sum(|f| f.raw_bytes_newest),
        totals,
        backups: backup::list(&store.state_dir()),
    };
    if args.json {
        ui::out_json(&summary.json(&largest));
    } else {
        ui::out(&summary.text(&largest));
    }
    Ok(())
}

/// The `--json` document of `stats`; sizes in bytes, ratios `null` when a divisor is 0.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsDocument<'a> {
    version: u32,
    sessions: SessionCounts,
    saves: u64,
    merges: u64,
    messages: u64,
    parts: u64,
    bytes: Bytes,
    /// Distinct objects the sessions refs keep alive.
    objects: u64,
    dedup_ratio: Option<f64>,
    compression_ratio: Option<f64>,
    overall_ratio: Option<f64>,
    /// The largest sessions by stored bytes, at most [`LARGEST`].
    largest: Vec<LargestJson<'a>>,
    /// The backups loads made of replaced local copies (outside the object store).
    backups: BackupsJson,
}

/// How many backup files there are and what they take.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupsJson {
    files: usize,
    bytes: u64,
    /// RFC 3339 UTC of the oldest, when there is one.
    oldest: Option<String>,
}

/// Root and child sessions.
#[derive(Debug, Serialize)]
struct SessionCounts {
    roots: u64,
    children: u64,
    total: u64,
}

/// The byte figures `stats --help` explains.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Bytes {
    raw_all_saves: u64,
    raw_newest: u64,
    objects: u64,
    stored: u64,
}

/// One of the largest sessions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LargestJson<'a> {
    id: &'a str,
    title: &'a str,
    #[serde(rename = "ref")]
    ref_name: String,
    saves: u64,
    children: u64,
    messages: u64,
    parts: u64,
    raw_bytes_all_saves: u64,
    raw_bytes_newest: u64,
    /// What its ref keeps alive, on disk.
    stored_bytes: u64,
    /// RFC 3339 UTC.
    last_save: String,
}

struct Summary {
    roots: u64,
    children: u64,
    saves: u64,
    merges: u64,
    messages: u64,
    parts: u64,
    raw_all: u64,
    raw_newest: u64,
    totals: Totals,
    backups: Vec<BackupFile>,
}

impl Summary {
    fn dedup(&self) -> Option<f64> {
        stats::ratio(self.raw_all, self.totals.object_bytes)
    }

    fn compression(&self) -> Option<f64> {
        stats::ratio(self.totals.object_bytes, self.totals.stored_bytes)
    }

    fn overall(&self) -> Option<f64> {
        stats::ratio(self.raw_all, self.totals.stored_bytes)
    }

    fn json<'a>(&self, largest: &'a [(&'a SessionFigures, u64)]) -> StatsDocument<'a> {
        StatsDocument {
            version: 1,
            sessions: SessionCounts {
                roots: self.roots,
                children: self.children,
                total: self.roots + self.children,
            },
            saves: self.saves,
            merges: self.merges,
            messages: self.messages,
            parts: self.parts,
            bytes: Bytes {
                raw_all_saves: self.raw_all,
                raw_newest: self.raw_newest,
                objects: self.totals.object_bytes,
                stored: self.totals.stored_bytes,
            },
            objects: self.totals.objects,
            dedup_ratio: self.dedup(),
            compression_ratio: self.compression(),
            overall_ratio: self.overall(),
            largest: largest
                .iter()
                .take(LARGEST)
                .map(|(f, stored)| LargestJson {
                    id: &f.name.id,
                    title: &f.title,
                    ref_name: f.name.full(),
                    saves: f.saves,
                    children: f.children,
                    messages: f.messages,
                    parts: f.parts,
                    raw_bytes_all_saves: f.raw_bytes_all_saves,
                    raw_bytes_newest: f.raw_bytes_newest,
                    stored_bytes: *stored,
                    last_save: ui::utc_rfc3339(f.seconds),
                })
                .collect(),
            backups: BackupsJson {
                files: self.backups.len(),
                bytes: self.backups.iter().map(|b| b.bytes).sum(),
                oldest: self.backups.first().map(|b| ui::utc_rfc3339(b.seconds)),
            },
        }
    }

    fn text(&self, largest: &[(&SessionFigures, u64)]) -> String {
        let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
        let bytes = |b: u64| format!("{:>10}  ({b} B)", ui::size(b));
        let mut t = String::new();
        t.push_str(&format!(
            "sessions        {} ({}, {})\n",
            self.roots + self.children,
            ui::count(self.roots as usize, "root", "roots"),
            ui::count(self.children as usize, "child", "children")
        ));
        let merges = match self.merges {
            0 => String::new(),
            n => format!(" ({})", ui::count(n as usize, "merge", "merges")),
        };
        t.push_str(&format!("saves           {}{merges}\n", self.saves));
        t.push_str(&format!(
            "messages        {} (newest saves, of root and child sessions)\n",
            self.messages
        ));
        t.push_str(&format!("parts           {}\n", self.parts));
        t.push_str(&format!("raw, all saves  {}\n", bytes(self.raw_all)));
        t.push_str(&format!("raw, newest     {}\n", bytes(self.raw_newest)));
        t.push_str(&format!(
            "objects         {}  in {} objects\n",
            bytes(self.totals.object_bytes),
            self.totals.objects
        ));
        t.push_str(&format!(
            "stored          {}\n",
            bytes(self.totals.stored_bytes)
        ));
        t.push_str(&format!(
            "dedup ratio     {}  (raw, all saves / objects)\n",
            ratio(self.dedup())
        ));
        t.push_str(&format!(
            "compression     {}  (objects / stored)\n",
            ratio(self.compression())
        ));
        t.push_str(&format!(
            "overall         {}  (raw, all saves / stored)\n",
            ratio(self.overall())
        ));
        if let Some(oldest) = self.backups.first() {
            t.push_str(&format!(
                "backups         {}, {}, oldest {} (load's copies of replaced local sessions; git session prune --older-than removes old ones)\n",
                ui::count(self.backups.len(), "file", "files"),
                ui::size(self.backups.iter().map(|b| b.bytes).sum()),
                ui::local_time(oldest.seconds)
            ));
        }
        if !largest.is_empty() {
            t.push_str("\nlargest sessions (stored bytes its ref keeps alive):\n");
            let width = largest
                .iter()
                .take(LARGEST)
                .map(|(f, _)| f.name.id.len())
                .max()
                .unwrap_or(2);
            for (f, stored) in largest.iter().take(LARGEST) {
                t.push_str(&format!(
                    "  {}  {:>9} stored  {:>9} raw  {:>4} saves  {:>5} msgs  {}\n",
                    ui::fit(&f.name.id, width),
                    ui::size(*stored),
                    ui::size(f.raw_bytes_newest),
                    f.saves,
                    f.messages,
                    ui::fit(&f.title, 40).trim_end(),
                ));
            }
        }
        t
    }
}
