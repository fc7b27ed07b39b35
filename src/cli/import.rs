//! `git session import PATH`: store sessions from bundle files and export JSON files, or from a
//! whole directory of them (for example a `.opencode/sessions/` folder filled by a save command).
//!
//! A directory is read twice: first to order the files (parents before children, then by the
//! session's own update time, then by path), then to store each one. What is already stored
//! (equal to any earlier save of that session) is skipped, so importing twice adds nothing.

use std::path::{Path, PathBuf};

use clap::Args;

use super::save::{print_reports, redacted_title, redactor, store_sessions, Report};
use super::{ui, CliError};
use crate::agents::opencode::{self, export};
use crate::session::bundle;
use crate::session::codec::Redact;
use crate::session::redact::Redactor;
use crate::session::{SaveMeta, SessionHistory};
use crate::store::Store;

/// Arguments of `git session import`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session import handover.gsb          # a bundle from 'git session export'
  git session import session.json          # an 'opencode export' JSON file
  git session import .opencode/sessions/   # every export and bundle below a directory")]
pub struct ImportArgs {
    /// A bundle, an export JSON file, or a directory to search for both.
    pub path: PathBuf,
    /// The reason recorded on each save.
    #[arg(long, default_value = "import")]
    pub reason: String,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

struct Candidate {
    path: PathBuf,
    is_child: bool,
    updated: i64,
}

pub(crate) fn run(store: &Store, args: ImportArgs) -> Result<(), CliError> {
    if !args.path.exists() {
        return Err(CliError::user(format!(
            "{} does not exist",
            args.path.display()
        )));
    }
    let redactor = redactor(store, false)?;
    let redactor = redactor.as_ref();
    if args.path.is_file() {
        let reports = import_file(store, &args.path, &args.reason, redactor)?;
        print_reports(&reports, args.json, false);
        return Ok(());
    }
    let mut candidates = Vec::new();
    let mut failed = Vec::new();
    let mut ignored = 0usize;
    for entry in walkdir::WalkDir::new(&args.path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                failed.push(format!("{e}"));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        match classify(entry.path()) {
            Ok(Some(c)) => candidates.push(c),
            Ok(None) => ignored += 1,
            Err(e) => failed.push(format!("{}: {}", entry.path().display(), e.message)),
        }
    }
    candidates
        .sort_by(|a, b| (a.is_child, a.updated, &a.path).cmp(&(b.is_child, b.updated, &b.path)));
    let mut reports = Vec::new();
    let total = candidates.len();
    for (index, candidate) in candidates.iter().enumerate() {
        if ui::stderr_is_terminal() && !args.json {
            ui::status(&format!(
                "[{}/{total}] {}",
                index + 1,
                candidate.path.display()
            ));
        }
        match import_file(store, &candidate.path, &args.reason, redactor) {
            Ok(r) => reports.extend(r),
            Err(e) => failed.push(format!("{}: {}", candidate.path.display(), e.message)),
        }
    }
    print_reports(&reports, args.json, false);
    if !args.json {
        let saved = reports
            .iter()
            .filter(|r| matches!(r.outcome, crate::session::SaveOutcome::Saved { .. }))
            .count();
        ui::status(&format!(
            "Imported {total} file(s) from {}: {saved} new save(s), {} already stored, {ignored} other file(s) ignored.",
            args.path.display(),
            total - saved.min(total),
        ));
    }
    if !failed.is_empty() {
        for f in &failed {
            ui::status(&format!("error: {f}"));
        }
        return Err(CliError::user(format!(
            "{} file(s) under {} could not be imported; the others were stored",
            failed.len(),
            args.path.display()
        ))
        .hint("fix or remove those files and run the import again (stored files are skipped)"));
    }
    Ok(())
}

/// Looks at a file: a bundle or an export JSON becomes a candidate, anything else is ignored.
fn classify(path: &Path) -> Result<Option<Candidate>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::user(format!("cannot read {}: {e}", path.display())))?;
    if bundle::looks_like_bundle(&bytes) {
        let b = bundle::read(&bytes)?;
        return Ok(Some(Candidate {
            path: path.to_path_buf(),
            is_child: export::parent_id(&b.session).is_some(),
            updated: export::updated_ms(&b.session).unwrap_or(i64::MAX),
        }));
    }
    let is_json_file = path.extension().is_some_and(|e| e == "json");
    if !is_json_file {
        return Ok(None);
    }
    let session = export::parse(bytes, &path.display().to_string())?;
    Ok(Some(Candidate {
        path: path.to_path_buf(),
        is_child: export::parent_id(&session).is_some(),
        updated: export::updated_ms(&session).unwrap_or(i64::MAX),
    }))
}

fn import_file(
    store: &Store,
    path: &Path,
    reason: &str,
    redactor: Option<&Redactor>,
) -> Result<Vec<Report>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::user(format!("cannot read {}: {e}", path.display())))?;
    if !bundle::looks_like_bundle(&bytes) {
        let session = export::parse(bytes, &path.display().to_string())?;
        return store_sessions(store, vec![session], reason, true, redactor);
    }
    let b = bundle::read(&bytes)?;
    if b.agent != opencode::AGENT && b.agent != crate::agents::claude::AGENT {
        return Err(CliError::user(format!(
            "{} holds a {} session, which this git-session cannot store",
            path.display(),
            b.agent
        )));
    }
    if export::parent_id(&b.session).is_some() {
        // A child on its own: the same path as `save` (joins its saved parent).
        return store_sessions(store, vec![b.session], reason, true, redactor);
    }
    let history = SessionHistory::new(store);
    let meta = SaveMeta {
        agent: b.agent.clone(),
        agent_version: b.agent_version.clone(),
        title: b.title.clone(),
        reason: reason.to_owned(),
        split_threshold: crate::session::codec::DEFAULT_SPLIT_THRESHOLD,
        skip_if_stored: true,
    };
    let outcome = history.save(&b.session, &meta, redactor.map(|r| r as &dyn Redact))?;
    Ok(vec![Report {
        session: b.session.id.clone(),
        title: redacted_title(redactor, b.title),
        outcome,
        note: None,
        redacted: redactor.is_some(),
    }])
}
