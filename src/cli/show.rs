//! `git session show <id>`: a saved session printed back in its agent's own format, or as
//! Markdown or HTML.

use clap::{Args, ValueEnum};

use super::{context, ui, CliError};
use crate::agents::{Agent, View};
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
    /// Session id or unique prefix (a child session's id works too). A session only listed (not
    /// fetched) is fetched first, alone.
    pub id: String,
    /// Which save: a commit id prefix from `git session log`, or `~N` for N saves back.
    #[arg(long, value_name = "SAVE")]
    pub at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ShowFormat,
}

pub(crate) fn run(store: &Store, args: ShowArgs) -> Result<(), CliError> {
    let (agent, session) = load(store, &args.id, args.at.as_deref())?;
    let view = match args.format {
        ShowFormat::Json => View::Native,
        ShowFormat::Md => View::Markdown,
        ShowFormat::Html => View::Html,
    };
    let bytes = agent.render(&session, view, &ui::local_time);
    ui::out(&String::from_utf8_lossy(&bytes));
    Ok(())
}

/// Reads the session (or child session) named by `id` at save `at` (newest when `None`),
/// fetching it first when only a remote's summary lists it.
pub(crate) fn load(
    store: &Store,
    id: &str,
    at: Option<&str>,
) -> Result<(&'static dyn Agent, Session), CliError> {
    let history = SessionHistory::new(store);
    let resolved = super::on_demand::resolve(store, id)?;
    let agent = context::agent_for(&resolved.saved.name.namespace)?;
    let save = history.find_save(&resolved.saved, at)?;
    let root = history.read(&resolved.saved, &save)?;
    let session = match &resolved.child {
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
    }?;
    Ok((agent, session))
}
