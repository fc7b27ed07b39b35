//! `git session export <id>`: a session as a portable file: a bundle of its saves (children
//! included, the same commits an import joins to), or the agent's own format of one session.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{show, ui, CliError};
use crate::agents::View;
use crate::git_cli;
use crate::session::bundle::{self, HistoryHeader};
use crate::session::{Session, SessionHistory};
use crate::store::Store;

/// File formats of `export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// A git-session bundle: the session's saves (its history up to the save, with its child
    /// sessions), which an import joins to the same history elsewhere.
    Bundle,
    /// The agent's own format of the session alone (`opencode export` JSON, a Claude Code
    /// JSONL transcript).
    Json,
}

/// Arguments of `git session export`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session export ses_dfef -o handover.gsb     # then on the other side: git session import handover.gsb
  git session export ses_dfef --format json -o session.json && opencode import session.json")]
pub struct ExportArgs {
    /// Session id or unique prefix.
    pub id: String,
    /// Where to write; `-` for stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value = "bundle")]
    pub format: ExportFormat,
    /// Which save: a commit id prefix, or `~N` for N saves back.
    #[arg(long, value_name = "SAVE")]
    pub at: Option<String>,
    /// With `--format json`: the version of the agent's own format to write, converting the
    /// session when it was saved in another (OpenCode: `1` for 1.x, `2` for OpenCode 2).
    #[arg(long = "format-version", value_name = "VERSION", requires = "format")]
    pub format_version: Option<String>,
}

pub(crate) fn run(store: &Store, args: ExportArgs) -> Result<(), CliError> {
    if args.format_version.is_some() && matches!(args.format, ExportFormat::Bundle) {
        return Err(CliError::user(
            "a format version goes with '--format json': a bundle holds the saves as they are",
        ));
    }
    let (bytes, what) = match args.format {
        ExportFormat::Json => (json_export(store, &args)?, String::new()),
        ExportFormat::Bundle => history_bundle(store, &args)?,
    };
    if args.output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&bytes)
            .and_then(|_| stdout.flush())
            .map_err(|e| CliError::user(format!("cannot write to stdout: {e}")))?;
        return Ok(());
    }
    crate::fsutil::write_atomically(&args.output, &bytes)
        .map_err(|e| {
            CliError::user(format!("cannot write {}: {e}", args.output.display()))
                .hint("-o names the file to write: its directory must exist and be writable ('-' writes to stdout)")
        })?;
    ui::status(&format!(
        "Wrote {} ({}){what}.",
        args.output.display(),
        ui::size(bytes.len() as u64)
    ));
    Ok(())
}

/// The session (or child session) alone in its agent's own format.
fn json_export(store: &Store, args: &ExportArgs) -> Result<Vec<u8>, CliError> {
    let (agent, session) = show::load(store, &args.id, args.at.as_deref())?;
    // The agent's format holds one session: say what stays behind, and how to get it.
    if let Some(lines) = left_out_note(&session) {
        for line in lines {
            ui::status(&format!("note: {line}"));
        }
    }
    match &args.format_version {
        Some(version) => Ok(agent.render_native_version(&session, version)?),
        None => Ok(agent.render(&session, View::Native, &ui::local_time)),
    }
}

/// A bundle of the saves of the session `args.id` names (for a child, of the session whose
/// saves hold it), from the first up to the save `--at` names, and what it holds in words.
fn history_bundle(store: &Store, args: &ExportArgs) -> Result<(Vec<u8>, String), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    let saved = &resolved.saved;
    let save = history.find_save(saved, args.at.as_deref())?;
    if let Some(child) = &resolved.child {
        // Fails, saying so, when that save does not hold the child yet.
        show::load(store, &args.id, args.at.as_deref())?;
        ui::status(&format!(
            "note: {child} is a child session of {}: the bundle carries the saves of {}, {child} included",
            saved.name.id, saved.name.id
        ));
    }
    let pack = git_cli::pack_objects(&store.common_dir(), &[save.commit.to_string()])?;
    let header = HistoryHeader {
        agent: saved.name.namespace.clone(),
        session: saved.name.id.clone(),
        tip: save.commit,
        title: save.trailers.title.clone(),
        saves: store.count_reachable(&[save.commit])?,
        seconds: save.seconds,
    };
    let mut out = Vec::new();
    bundle::write_history(&header, &pack, &mut out)
        .map_err(|e| CliError::user(format!("cannot write the bundle: {e}")))?;
    let what = format!(
        ": {} of {}, up to {}",
        ui::count(header.saves as usize, "save", "saves"),
        header.session,
        ui::short(&header.tip)
    );
    Ok((out, what))
}

/// The lines that name the descendants of `session` a JSON export leaves out, and how to get
/// them; `None` when it has none.
fn left_out_note(session: &Session) -> Option<[String; 2]> {
    let left_out: Vec<&str> = session.walk()[1..].iter().map(|s| s.id.as_str()).collect();
    let first = *left_out.first()?;
    let noun = match left_out.len() {
        1 => "1 child session".to_owned(),
        n => format!("{n} child sessions"),
    };
    let verb = if left_out.len() == 1 { "is" } else { "are" };
    let id = &session.id;
    Some([
        format!(
            "the JSON holds {id} alone: its {noun} ({}) {verb} left out",
            left_out.join(", ")
        ),
        format!(
            "a bundle carries them: git session export {id} -o {id}.gsb; or see one on its own: git session show {first}"
        ),
    ])
}
