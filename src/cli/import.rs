//! `git session import PATH`: store sessions from bundle files and export JSON files, or from a
//! whole directory of them (for example a `.opencode/sessions/` folder filled by a save command).
//! Session files are recognised by the extension each agent gives its files.
//!
//! A directory is read twice: first to order the files (parents before children, then by the
//! session's own update time, then by path), then to store each one. What is already stored
//! (equal to any earlier save of that session) is skipped, so importing twice adds nothing.

use std::path::{Path, PathBuf};

use clap::Args;

use super::report::print_reports;
use super::{context, settings, ui, CliError};
use crate::agents::{registry, Agent, Source};
use crate::session::bundle;
use crate::session::save_set::{self, SaveReport};
use crate::session::{Session, SessionHistory, Settings};
use crate::store::Store;

/// Arguments of `git session import`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session import handover.gsb          # a bundle from 'git session export'
  git session import session.json          # an 'opencode export' JSON file
  git session import 6b927b1f.jsonl        # a Claude Code transcript (with its subagents)
  git session import .opencode/sessions/   # every export and bundle below a directory")]
pub struct ImportArgs {
    /// A bundle, an agent's session file, or a directory to search for both.
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
    let settings = settings::for_save(store, false)?;
    if args.path.is_file() {
        let reports = import_file(store, &args.path, &args.reason, &settings)?;
        context::gc_auto(store);
        print_reports(&reports, args.json, false);
        return Ok(());
    }
    let mut candidates = Vec::new();
    let mut failed = Vec::new();
    let mut ignored = 0usize;
    for entry in walkdir::WalkDir::new(&args.path)
        .sort_by_file_name()
        .into_iter()
        // Subagent transcripts are read with their parent's.
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "subagents")
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
        match classify(store, entry.path()) {
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
        match import_file(store, &candidate.path, &args.reason, &settings) {
            Ok(r) => reports.extend(r),
            Err(e) => failed.push(format!("{}: {}", candidate.path.display(), e.message)),
        }
    }
    context::gc_auto(store);
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

/// Looks at a file: a bundle or a session file of a known agent becomes a candidate, anything
/// else is ignored.
fn classify(store: &Store, path: &Path) -> Result<Option<Candidate>, CliError> {
    let Some((agent, sessions)) = read_file(store, path)? else {
        return Ok(None);
    };
    let first = sessions.first();
    Ok(Some(Candidate {
        path: path.to_path_buf(),
        is_child: first.is_some_and(|s| agent.parent_id(s).is_some()),
        updated: first.and_then(|s| agent.updated_ms(s)).unwrap_or(i64::MAX),
    }))
}

/// Sessions read from one file, with the agent they belong to.
type AgentSessions = (&'static dyn Agent, Vec<Session>);

/// Reads a bundle (any known agent's) or an agent's session file (by its extension); `None`
/// for other files.
fn read_file(store: &Store, path: &Path) -> Result<Option<AgentSessions>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::user(format!("cannot read {}: {e}", path.display())))?;
    if bundle::looks_like_bundle(&bytes) {
        let b = bundle::read(&bytes)?;
        let agent = registry::by_name(&b.agent).ok_or_else(|| {
            CliError::user(format!(
                "{} holds a {} session, which this git-session cannot store",
                path.display(),
                b.agent
            ))
            .hint("upgrade git-session to import it")
        })?;
        return Ok(Some((agent, vec![b.session])));
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(agent) = registry::all()
        .iter()
        .copied()
        .find(|a| a.file_extension() == extension)
    else {
        return Ok(None);
    };
    let history = SessionHistory::new(store);
    let cache_for = |id: &str| history.save_cache(agent.name(), id);
    let source = Source {
        name: path.display().to_string(),
        path: Some(path.to_path_buf()),
        bytes,
    };
    let read = agent.read_sources(&context::checkout(store), vec![source], &cache_for)?;
    for w in &read.warnings {
        ui::status(&format!("warning: {w}"));
    }
    Ok(Some((agent, read.sessions)))
}

fn import_file(
    store: &Store,
    path: &Path,
    reason: &str,
    settings: &Settings,
) -> Result<Vec<SaveReport>, CliError> {
    let Some((agent, sessions)) = read_file(store, path)? else {
        return Err(CliError::user(format!(
            "{} is neither a bundle nor a session file git-session knows",
            path.display()
        ))
        .hint("pass a file written by 'git session export', or an agent's session file"));
    };
    // A child on its own joins its saved parent, as with `save`.
    Ok(save_set::save_all(
        store, agent, sessions, reason, true, settings,
    )?)
}
