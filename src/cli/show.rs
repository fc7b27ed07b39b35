//! `git session show <id>`: a saved session printed back as export JSON.

use clap::{Args, ValueEnum};

use super::{ui, CliError};
use crate::agents::opencode::{export, render, render_html, render_md};
use crate::session::{Session, SessionHistory};
use crate::store::Store;

/// Output formats of `show`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    /// The agent's own export JSON, JSON-equal to what was saved.
    Json,
    /// The conversation as readable Markdown (child sessions included).
    Md,
    /// The conversation as one self-contained HTML page (no external assets).
    Html,
}

/// Arguments of `git session show`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session show ses_dfef               # newest save, by unique prefix
  git session show ses_dfef --at ~1       # the save before it
  git session show ses_dfef --at 3fa29c1  # a save by its commit id
  git session show ses_dfef --format md   # the conversation as Markdown
  git session show ses_dfef --format html > session.html   # one page for a browser")]
pub struct ShowArgs {
    /// Session id or unique prefix (a child session's id works too).
    pub id: String,
    /// Which save: a commit id prefix from `git session log`, or `~N` for N saves back.
    #[arg(long, value_name = "SAVE")]
    pub at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ShowFormat,
}

pub(crate) fn run(store: &Store, args: ShowArgs) -> Result<(), CliError> {
    let session = load(store, &args.id, args.at.as_deref())?;
    let agent = SessionHistory::new(store)
        .resolve(&args.id)?
        .saved
        .name
        .namespace;
    if agent == crate::agents::claude::AGENT {
        return super::local_claude::show(&session, args.format);
    }
    match args.format {
        ShowFormat::Json => {
            let mut text = serde_json::to_string_pretty(&export::to_value(&session))
                .map_err(|e| CliError::user(format!("cannot render the session: {e}")))?;
            text.push('\n');
            ui::out(&text);
        }
        ShowFormat::Md => ui::out(&render_md::markdown(&render::view(&session), &local_ms)),
        ShowFormat::Html => ui::out(&render_html::html(&render::view(&session), &local_ms)),
    }
    Ok(())
}

/// Epoch milliseconds as local time, for the readable formats.
fn local_ms(ms: i64) -> String {
    ui::local_time(ms.div_euclid(1000))
}

/// Reads the session (or child session) named by `id` at save `at` (newest when `None`).
pub(crate) fn load(store: &Store, id: &str, at: Option<&str>) -> Result<Session, CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(id)?;
    let save = history.find_save(&resolved.saved, at)?;
    let root = history.read(&resolved.saved, &save)?;
    match &resolved.child {
        None => Ok(root),
        Some(child) => root.find(child).cloned().ok_or_else(|| {
            CliError::user(format!(
                "child session {child} is not in save {} of {}",
                ui::short(&save.commit),
                resolved.saved.name.id
            ))
            .hint(format!(
                "run 'git session log {}' and pick a later save",
                resolved.saved.name.id
            ))
        }),
    }
}
