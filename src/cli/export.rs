//! `git session export <id>`: a session (with its children) as a portable file.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{show, ui, CliError};
use crate::agents::View;
use crate::session::bundle::{self, Bundle};
use crate::session::Session;
use crate::store::Store;

/// File formats of `export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// A zstd-compressed git-session bundle: the session with its child sessions.
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
}

pub(crate) fn run(store: &Store, args: ExportArgs) -> Result<(), CliError> {
    let (agent, session) = show::load(store, &args.id, args.at.as_deref())?;
    let bytes = match args.format {
        ExportFormat::Json => {
            // The agent's format holds one session: say what stays behind, and how to get it.
            if let Some(lines) = left_out_note(&session) {
                for line in lines {
                    ui::status(&format!("note: {line}"));
                }
            }
            agent.render(&session, View::Native, &ui::local_time)
        }
        ExportFormat::Bundle => {
            let bundle = Bundle {
                agent: agent.name().to_owned(),
                agent_version: agent.version(&session),
                title: agent.title(&session),
                session,
            };
            let mut out = Vec::new();
            bundle::write(&bundle, &mut out)
                .map_err(|e| CliError::user(format!("cannot write the bundle: {e}")))?;
            out
        }
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
        .map_err(|e| CliError::user(format!("cannot write {}: {e}", args.output.display())))?;
    ui::status(&format!(
        "Wrote {} ({}).",
        args.output.display(),
        ui::size(bytes.len() as u64)
    ));
    Ok(())
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
