//! `git session save`: read session documents, attach children to their parents, save, report.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{ui, CliError};
use crate::agents::opencode::{self, export};
use crate::agents::InputError;
use crate::session::codec::{Redact, DEFAULT_SPLIT_THRESHOLD};
use crate::session::redact::{ConfigError, RedactConfig, Redactor};
use crate::session::{SaveMeta, SaveOutcome, Session, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// Arguments of `git session save`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session save                        # the most recent OpenCode session of this project
  git session save --session ses_123      # that session, with its subagent sessions
  git session save --all                  # every OpenCode session of this project
  opencode export ses_123 > session.json && git session save --from session.json
  git session save --from parent.json --from child.json --reason pre-compaction
  cat session.json | git session save --from -
  git session save --agent claude         # the most recent Claude Code session of this checkout
  git session save --agent claude --session 6b927b1f-9cdd-4002-848b-30b3c6c958e5")]
pub struct SaveArgs {
    /// An `opencode export` JSON file, or `-` for stdin. Repeat it to save a session with its
    /// child sessions (subagents) in one go. Without `--from`, sessions are read from the local
    /// OpenCode (the most recent one of this project unless `--session` or `--all`).
    #[arg(long = "from", value_name = "FILE", required = false, conflicts_with_all = ["session", "all"])]
    pub from: Vec<PathBuf>,
    /// Read this OpenCode session (and its child sessions) from the local OpenCode.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub session: Option<String>,
    /// Read every session of this project from the local OpenCode (children come along).
    #[arg(long)]
    pub all: bool,
    /// Why this save is made; recorded in the commit's `Reason:` trailer.
    #[arg(long, default_value = "manual")]
    pub reason: String,
    /// Print a JSON report on stdout instead of a line on stderr.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
    /// Which agent's sessions: `opencode`, or `claude` (Claude Code transcripts of this
    /// checkout; `--from` then names `.jsonl` transcript files).
    #[arg(long, default_value = "opencode", value_parser = ["opencode", "claude"])]
    pub agent: String,
    /// Read a Claude Code hook payload (`session_id`, `transcript_path`, ...) on stdin and save
    /// that session, with reason `pre-compaction` or `session-end` from the event unless
    /// `--reason` is given. Never fails: a problem is one line on stderr and exit code 0.
    #[arg(long, conflicts_with_all = ["from", "session", "all"])]
    pub hook_stdin: bool,
    /// Store the session as it is, without removing secrets (prints a warning: whatever is
    /// saved is sent by `git session push`).
    #[arg(long)]
    pub no_redact: bool,
}

/// One saved (or skipped) root session, for the report.
pub(crate) struct Report {
    pub session: String,
    pub title: String,
    pub outcome: SaveOutcome,
    pub note: Option<String>,
    /// Whether the session went through redaction.
    pub redacted: bool,
}

pub(crate) fn run(store: &Store, args: SaveArgs) -> Result<(), CliError> {
    if args.agent == crate::agents::claude::AGENT {
        return super::local_claude::save(store, &args);
    }
    let mut sessions = Vec::new();
    for path in &args.from {
        let (name, bytes) = read_source(path)?;
        // Messages this session's last save already read are recognised by their bytes.
        let history = crate::session::SessionHistory::new(store);
        let cache_for = |id: &str| history.save_cache(crate::agents::opencode::AGENT, id);
        sessions.push(export::parse_remembering(bytes, &name, &cache_for)?);
    }
    if args.from.is_empty() {
        sessions = super::local_opencode::read_for_save(store, &args)?;
    }
    let redactor = redactor(store, args.no_redact)?;
    let reports = store_sessions(store, sessions, &args.reason, false, redactor.as_ref())?;
    print_reports(&reports, args.json, args.quiet);
    Ok(())
}

/// The redaction pass for a save: the built-in rules plus the user's from git config, or none,
/// with a warning on stderr, under `--no-redact` or `session.redact=false`.
pub(crate) fn redactor(store: &Store, no_redact: bool) -> Result<Option<Redactor>, CliError> {
    const SENT: &str =
        "secrets in the session are stored as they are, and 'git session push' sends them";
    if no_redact {
        ui::status(&format!("warning: --no-redact: {SENT}"));
        return Ok(None);
    }
    let config = RedactConfig::read(store).map_err(redact_config_error)?;
    if !config.enabled {
        ui::status(&format!("warning: session.redact is false: {SENT}"));
        return Ok(None);
    }
    Ok(Some(config.redactor().map_err(redact_config_error)?))
}

/// A redaction setting that cannot be used, with the next step.
pub(crate) fn redact_config_error(e: ConfigError) -> CliError {
    let key = match &e {
        ConfigError::InvalidBool { .. } => "session.redact",
        ConfigError::BadRule { .. } => "session.redactRule",
        ConfigError::BadAllow { .. } => "session.redactAllow",
    };
    CliError::user(e).hint(format!(
        "fix or remove that value: git config --show-origin --get-all {key}"
    ))
}

/// Reads a `--from` source: a file, or stdin for `-`.
pub(crate) fn read_source(path: &PathBuf) -> Result<(String, Vec<u8>), CliError> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| InputError::Unreadable {
                source_name: "stdin".into(),
                source,
            })?;
        return Ok(("stdin".into(), bytes));
    }
    let name = path.display().to_string();
    bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        source_name: name.clone(),
        source,
    })?;
    Ok((name, bytes))
}

/// Saves OpenCode sessions: children are put under their parents; a child whose parent is not
/// among `sessions` but already saved joins the parent's next save; one whose parent is unknown
/// is saved on its own ref. Every string passes through `redactor` first, when given.
pub(crate) fn store_sessions(
    store: &Store,
    sessions: Vec<Session>,
    reason: &str,
    skip_if_stored: bool,
    redactor: Option<&Redactor>,
) -> Result<Vec<Report>, CliError> {
    let history = SessionHistory::new(store);
    let threshold = split_threshold(store);
    let mut reports = Vec::new();
    for root in export::assemble(sessions) {
        let mut note = None;
        let mut to_save = root;
        if let Some(parent) = export::parent_id(&to_save) {
            match attach_to_saved_parent(&history, &parent, to_save.clone())? {
                Some(parent_root) => {
                    note = Some(format!(
                        "{} is a child of {parent}; saved with {}",
                        to_save.id, parent_root.id
                    ));
                    to_save = parent_root;
                }
                None => {
                    note = Some(format!(
                        "{} is a child of {parent}, which is not saved; stored on its own ref",
                        to_save.id
                    ));
                }
            }
        }
        let meta = SaveMeta {
            agent: opencode::AGENT.to_owned(),
            agent_version: export::version(&to_save),
            title: export::title(&to_save),
            reason: reason.to_owned(),
            split_threshold: threshold,
            skip_if_stored,
        };
        let outcome = history.save(&to_save, &meta, redactor.map(|r| r as &dyn Redact))?;
        reports.push(Report {
            session: to_save.id.clone(),
            title: redacted_title(redactor, meta.title),
            outcome,
            note,
            redacted: redactor.is_some(),
        });
    }
    crate::git_cli::gc_auto(
        &store.objects_dir(),
        &store.common_dir(),
        store.config_integer("gc.auto"),
        store.config_integer("gc.autoPackLimit"),
    );
    Ok(reports)
}

/// The title as the save's commit message records it: redacted when the session is.
pub(crate) fn redacted_title(redactor: Option<&Redactor>, title: String) -> String {
    redactor
        .and_then(|r| r.redact_text(&title, &mut BTreeMap::new()))
        .unwrap_or(title)
}

/// The split threshold: `session.splitThreshold` from git config, or the default.
pub(crate) fn split_threshold(store: &Store) -> usize {
    store
        .config_integer("session.splitThreshold")
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(DEFAULT_SPLIT_THRESHOLD)
}

/// Returns the parent's saved root with `child` put in place, or `None` when the parent is not
/// saved locally.
fn attach_to_saved_parent(
    history: &SessionHistory<'_>,
    parent: &str,
    child: Session,
) -> Result<Option<Session>, CliError> {
    let resolved = match history.resolve(parent) {
        Ok(r) if r.saved.name.origin == Origin::Local => r,
        _ => return Ok(None),
    };
    if resolved.child.is_none() && resolved.saved.name.id != parent {
        return Ok(None);
    }
    let save = history.find_save(&resolved.saved, None)?;
    let mut root = history.read(&resolved.saved, &save)?;
    let Some(slot) = find_mut(&mut root, parent) else {
        return Ok(None);
    };
    match slot.children.iter_mut().find(|c| c.id == child.id) {
        Some(existing) => {
            let grandchildren = std::mem::take(&mut existing.children);
            *existing = child;
            if existing.children.is_empty() {
                existing.children = grandchildren;
            }
        }
        None => slot.children.push(child),
    }
    Ok(Some(root))
}

fn find_mut<'a>(session: &'a mut Session, id: &str) -> Option<&'a mut Session> {
    if session.id == id {
        return Some(session);
    }
    session.children.iter_mut().find_map(|c| find_mut(c, id))
}

/// Prints what each save did: one line per session on stderr, or JSON on stdout.
pub(crate) fn print_reports(reports: &[Report], json: bool, quiet: bool) {
    if json {
        let items: Vec<serde_json::Value> = reports.iter().map(report_json).collect();
        ui::out_json(&json!({"version": 1, "saves": items}));
        return;
    }
    if quiet {
        return;
    }
    for report in reports {
        if let Some(note) = &report.note {
            ui::status(&format!("note: {note}"));
        }
        ui::status(&report_line(report));
        if let SaveOutcome::Saved { encoded, .. } = &report.outcome {
            if let Some(line) = redactions_line(&encoded.redactions) {
                ui::status(&line);
            }
        }
    }
}

/// `Redacted 3 secrets: github-pat 2, aws-access-key-id 1.` (never the values), or `None`.
pub(crate) fn redactions_line(found: &BTreeMap<String, usize>) -> Option<String> {
    let total: usize = found.values().sum();
    if total == 0 {
        return None;
    }
    let mut rules: Vec<(&String, &usize)> = found.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let list: Vec<String> = rules
        .iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();
    let noun = if total == 1 { "secret" } else { "secrets" };
    Some(format!("Redacted {total} {noun}: {}.", list.join(", ")))
}

fn report_line(report: &Report) -> String {
    let title = if report.title.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", report.title)
    };
    match &report.outcome {
        SaveOutcome::Saved {
            commit,
            encoded,
            saves,
            ..
        } => {
            let children = match encoded.children {
                0 => String::new(),
                1 => ", 1 child session".to_owned(),
                n => format!(", {n} child sessions"),
            };
            format!(
                "Saved {}{title}: {} messages{children}, save {saves} ({}).",
                report.session,
                encoded.messages,
                ui::short(commit)
            )
        }
        SaveOutcome::Unchanged { commit, .. } => format!(
            "{} is unchanged since its last save ({}); nothing written.",
            report.session,
            ui::short(commit)
        ),
        SaveOutcome::AlreadyStored { commit, .. } => format!(
            "{} is already stored as save {}; nothing written.",
            report.session,
            ui::short(commit)
        ),
    }
}

fn report_json(report: &Report) -> serde_json::Value {
    match &report.outcome {
        SaveOutcome::Saved {
            commit,
            previous,
            encoded,
            saves,
            ref_name,
        } => json!({
            "session": report.session,
            "title": report.title,
            "status": "saved",
            "ref": ref_name,
            "commit": commit.to_string(),
            "previous": previous.map(|p| p.to_string()),
            "messages": encoded.messages,
            "children": encoded.children,
            "saves": saves,
            "bytes": encoded.json_bytes,
            "note": report.note,
            "redacted": report.redacted,
            "redactions": encoded.redactions,
        }),
        SaveOutcome::Unchanged {
            commit,
            encoded,
            ref_name,
        } => json!({
            "session": report.session,
            "title": report.title,
            "status": "unchanged",
            "ref": ref_name,
            "commit": commit.to_string(),
            "messages": encoded.messages,
            "children": encoded.children,
            "note": report.note,
            "redacted": report.redacted,
            "redactions": encoded.redactions,
        }),
        SaveOutcome::AlreadyStored { commit, ref_name } => json!({
            "session": report.session,
            "title": report.title,
            "status": "already-stored",
            "ref": ref_name,
            "commit": commit.to_string(),
            "note": report.note,
            "redacted": report.redacted,
        }),
    }
}
