//! `git session show <id>`: a saved session printed back in its agent's own format, or as
//! Markdown or HTML.

use clap::{Args, ValueEnum};

use super::{browser, context, ui, CliError};
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
  git session show ses_dfef --format html > session.html   # one page for a browser
  git session show ses_dfef --format html --open  # the page in your browser (a temp file)")]
pub struct ShowArgs {
    /// Session id or unique prefix (a child session's id works too). A session only listed (not
    /// fetched) is fetched first, alone.
    pub id: String,
    /// Which save: a commit id prefix from `git session log`, or `~N` for N saves back.
    #[arg(long, value_name = "SAVE")]
    pub at: Option<String>,
    /// Output format [default: json; html with --open].
    #[arg(long, value_enum)]
    pub format: Option<ShowFormat>,
    /// Write the HTML page to a file in the temporary folder (kept) and open it in the browser.
    #[arg(long)]
    pub open: bool,
}

pub(crate) fn run(store: &Store, args: ShowArgs) -> Result<(), CliError> {
    let format = match (args.format, args.open) {
        (Some(ShowFormat::Html) | None, true) => ShowFormat::Html,
        (Some(_), true) => {
            return Err(
                CliError::usage("--open shows the HTML page, not another format")
                    .hint("use --format html --open, or leave out --open"),
            )
        }
        (format, false) => format.unwrap_or(ShowFormat::Json),
    };
    let (agent, session) = load(store, &args.id, args.at.as_deref())?;
    let view = match format {
        ShowFormat::Json => View::Native,
        ShowFormat::Md => View::Markdown,
        ShowFormat::Html => View::Html,
    };
    if args.open {
        return open_page(&session.id, &agent.render(&session, view, &ui::local_time));
    }
    let mut out = ui::Out::new();
    agent
        .render_to(&session, view, &ui::local_time, &mut out)
        .map_err(|e| CliError::user(format!("cannot write the session: {e}")))?;
    drop(session);
    // Linked commits are part of the Markdown page; beside JSON or HTML they are a note for
    // the person at the terminal, not worth a history walk for a script.
    let note_for_a_person = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !matches!(format, ShowFormat::Md) && !note_for_a_person {
        return Ok(());
    }
    let history = SessionHistory::new(store);
    let saved = history.resolve(&args.id)?.saved;
    let commits = super::log::linked(store, &saved.name.namespace, &saved.name.id);
    if !commits.is_empty() {
        let lines: Vec<String> = commits
            .iter()
            .map(|c| format!("{}  {}", ui::short(&c.id), c.subject))
            .collect();
        if matches!(format, ShowFormat::Md) {
            let section = format!(
                "\n## Linked commits\n\n{}\n",
                lines.iter().map(|l| format!("- {l}\n")).collect::<String>()
            );
            std::io::Write::write_all(&mut out, section.as_bytes())
                .map_err(|e| CliError::user(format!("cannot write the session: {e}")))?;
        } else {
            // The answer on stdout stays the session itself.
            ui::status(&format!(
                "commits linked to {}:\n{}",
                saved.name.id,
                lines.join("\n")
            ));
        }
    }
    drop(out);
    Ok(())
}

/// Writes `page` to a file of its own in the temporary folder and opens it in the browser. The
/// file stays (the browser reads it after this process ends); the message says where it is.
fn open_page(id: &str, page: &[u8]) -> Result<(), CliError> {
    let dir = std::env::temp_dir();
    let cannot = |e: std::io::Error| {
        CliError::user(format!("cannot write the page to {}: {e}", dir.display()))
            .hint("set TMPDIR to a writable folder, or use --format html > FILE")
    };
    let mut file = tempfile::Builder::new()
        .prefix(&format!("git-session-{id}-"))
        .suffix(".html")
        .tempfile_in(&dir)
        .map_err(cannot)?;
    std::io::Write::write_all(&mut file, page).map_err(cannot)?;
    let (_, path) = file.keep().map_err(|e| cannot(e.error))?;
    browser::open(&path)?;
    ui::status(&format!(
        "Opened {} in the browser (the file stays; delete it when done).",
        path.display()
    ));
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
