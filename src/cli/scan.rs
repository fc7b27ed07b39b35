//! `git session scan [<id>...]`: audit what the sessions refs already hold for secrets.
//!
//! Every save of every local session (or of the named ones) is decoded and searched with the
//! rules in force, detect-only: saves made with `--no-redact`, with `session.redact=false`, or
//! before a rule existed. Findings are reported by session, save and rule, never with their
//! values; like a linter, the exit code is 1 when anything is found, 0 when clean.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use serde::Serialize;

use super::progress::Progress;
use super::{ui, CliError};
use crate::session::history::SaveRecord;
use crate::session::scan::{SaveFindings, Scanner};
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// Arguments of `git session scan`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session scan                 # every save of every local session
  git session scan ses_dfef --json # one session, as JSON

Exit status: 0 when nothing is found, 1 when a secret is found (or on error).
Rewrite a session's saves without its secrets with 'git session scrub <id>'.")]
pub struct ScanArgs {
    /// Sessions to scan (ids or unique prefixes); every local session when none are named.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Local sessions named by `ids` (ids or unique prefixes), or all of them.
fn targets(history: &SessionHistory<'_>, ids: &[String]) -> Result<Vec<SavedSession>, CliError> {
    if ids.is_empty() {
        return Ok(history.local_sessions()?);
    }
    let mut out: Vec<SavedSession> = Vec::new();
    for id in ids {
        let resolved = history.resolve(id)?;
        if resolved.saved.name.origin != Origin::Local {
            return Err(CliError::user(format!(
                "{} is not saved in this repository, only fetched",
                resolved.saved.name.id
            ))
            .hint("scan looks at the refs this repository pushes (refs/sessions/*)"));
        }
        if !out.iter().any(|s| s.name == resolved.saved.name) {
            out.push(resolved.saved);
        }
    }
    Ok(out)
}

struct ScannedSave {
    record: SaveRecord,
    findings: SaveFindings,
}

pub(crate) fn run(store: &Store, args: ScanArgs) -> Result<(), CliError> {
    let redactor = super::settings::configured_redactor(store)?;
    let history = SessionHistory::new(store);
    let sessions = targets(&history, &args.ids)?;
    let mut scanner = Scanner::new(&redactor);
    let mut report: Vec<(SavedSession, Vec<ScannedSave>)> = Vec::new();
    let mut saves_scanned = 0usize;
    let progress = if args.json {
        Progress::hidden()
    } else {
        Progress::bar(sessions.len() as u64, "Scanning")
    };
    for saved in sessions {
        progress.inc(&saved.name.id);
        let mut scanned = Vec::new();
        for record in history.log(&saved)? {
            let session = history.read(&saved, &record)?;
            let message = store.read_commit(record.commit)?.message;
            let findings = scanner.session(&session, &message);
            saves_scanned += 1;
            scanned.push(ScannedSave { record, findings });
        }
        report.push((saved, scanned));
    }
    drop(progress);
    let total: usize = report
        .iter()
        .flat_map(|(_, saves)| saves.iter().map(|s| s.findings.total()))
        .sum();
    let dirty_saves = report
        .iter()
        .flat_map(|(_, saves)| saves.iter())
        .filter(|s| s.findings.total() > 0)
        .count();
    let dirty_sessions: Vec<&str> = report
        .iter()
        .filter(|(_, saves)| saves.iter().any(|s| s.findings.total() > 0))
        .map(|(saved, _)| saved.name.id.as_str())
        .collect();
    if args.json {
        ui::out_json(&report_json(&report, saves_scanned, total));
    } else {
        let mut text = String::new();
        for (saved, saves) in &report {
            for s in saves.iter().filter(|s| s.findings.total() > 0) {
                let rules: Vec<String> = s
                    .findings
                    .rules
                    .iter()
                    .map(|(rule, n)| format!("{rule} {n}"))
                    .collect();
                text.push_str(&format!(
                    "{}  {}  {}\n",
                    saved.name.id,
                    ui::short(&s.record.commit),
                    rules.join(", ")
                ));
            }
        }
        ui::out(&text);
    }
    let sessions_scanned = report.len();
    if total == 0 {
        if !args.json {
            ui::status(&format!(
                "No secrets found in {} of {}.",
                ui::count(saves_scanned, "save", "saves"),
                ui::count(sessions_scanned, "session", "sessions")
            ));
        }
        return Ok(());
    }
    let hint = match dirty_sessions.as_slice() {
        [one] => format!("rewrite its saves without them: git session scrub {one}"),
        _ => "rewrite each session's saves without them: git session scrub <id>".to_owned(),
    };
    Err(CliError::user(format!(
        "found {} in {} of {} ({} of {} scanned)",
        ui::count(total, "secret", "secrets"),
        ui::count(dirty_saves, "save", "saves"),
        ui::count(dirty_sessions.len(), "session", "sessions"),
        ui::count(saves_scanned, "save", "saves"),
        ui::count(sessions_scanned, "session", "sessions")
    ))
    .hint(hint))
}

/// The `--json` document of `scan`: findings by session and save, never their values.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScanDocument<'a> {
    version: u32,
    /// True when nothing was found.
    clean: bool,
    /// Secrets found in every save scanned.
    secrets: usize,
    saves_scanned: usize,
    sessions: Vec<ScannedSessionJson<'a>>,
}

/// One session scanned.
#[derive(Debug, Serialize)]
struct ScannedSessionJson<'a> {
    session: &'a str,
    #[serde(rename = "ref")]
    ref_name: String,
    /// Secrets found in all its saves.
    secrets: usize,
    /// Every save, newest first.
    saves: Vec<ScannedSaveJson<'a>>,
}

/// One save scanned.
#[derive(Debug, Serialize)]
struct ScannedSaveJson<'a> {
    commit: String,
    /// RFC 3339 UTC.
    time: String,
    secrets: usize,
    /// Secrets found, per rule.
    rules: &'a BTreeMap<String, usize>,
    /// Where they were found.
    #[serde(rename = "where")]
    places: &'a BTreeSet<String>,
}

fn report_json(
    report: &[(SavedSession, Vec<ScannedSave>)],
    saves_scanned: usize,
    total: usize,
) -> ScanDocument<'_> {
    let sessions = report
        .iter()
        .map(|(saved, saves)| ScannedSessionJson {
            session: &saved.name.id,
            ref_name: saved.name.full(),
            secrets: saves.iter().map(|s| s.findings.total()).sum(),
            saves: saves
                .iter()
                .map(|s| ScannedSaveJson {
                    commit: s.record.commit.to_string(),
                    time: ui::utc_rfc3339(s.record.seconds),
                    secrets: s.findings.total(),
                    rules: &s.findings.rules,
                    places: &s.findings.places,
                })
                .collect(),
        })
        .collect();
    ScanDocument {
        version: 1,
        clean: total == 0,
        secrets: total,
        saves_scanned,
        sessions,
    }
}
