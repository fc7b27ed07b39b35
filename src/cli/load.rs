//! `git session load [<id>]`: restore a saved session into its agent on this machine, so the
//! agent continues it with its full history. Without an id: the saved sessions, to pick one.

use std::io::{BufRead, IsTerminal};

use clap::Args;
use serde::Serialize;

use super::list::unique_sessions;
use super::{context, ui, CliError};
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// How many sessions the list without an id shows.
const LISTED: usize = 20;

/// Arguments of `git session load`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session load                        # list saved sessions (in a terminal: pick one)
  git session load ses_dfef               # newest save; replaces a local copy exactly
  git session load ses_dfef --at ~1       # the save before it
  git session load ses_dfef --fork        # a copy under new ids, the local session untouched

A session that 'git session list' shows as not fetched (a teammate's, known from its summary) is
fetched first, alone, from the remote that has it; one line says so.

Paths that pointed into the saver's checkout are rewritten to this checkout. The last line
says how to continue the session in its agent ('opencode -s <id>', 'claude --resume <id>').")]
pub struct LoadArgs {
    /// Session id or unique prefix: a local save, one fetched from a remote, or one a remote's
    /// summary lists (fetched now, alone). A child
    /// session's id loads its root session with all children. Without it, the saved sessions
    /// are listed (and in a terminal, one can be picked).
    pub id: Option<String>,
    /// Which save: a commit id prefix from `git session log`, or `~N` for N saves back.
    #[arg(long, value_name = "SAVE")]
    pub at: Option<String>,
    /// Restore under new session, message and part ids, leaving any local copy alone.
    #[arg(long)]
    pub fork: bool,
    /// Print a JSON report on stdout instead of lines on stderr.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` report of a load: one shape for every agent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadReport {
    version: u32,
    agent: String,
    session: String,
    saved_session: String,
    forked: bool,
    save: String,
    remote: Option<String>,
    title: String,
    messages: usize,
    children: Vec<String>,
    file: Option<String>,
    identical: bool,
    replaced: bool,
    backups: Vec<String>,
    rehomed_from: Option<String>,
    directory: String,
    #[serde(rename = "continue")]
    continue_with: String,
}

pub(crate) fn run(store: &Store, args: LoadArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let id = match &args.id {
        Some(id) => id.clone(),
        None => match pick(store, &history, args.json)? {
            Some(id) => id,
            None => return Ok(()),
        },
    };
    let resolved = super::on_demand::resolve(store, &id)?;
    let agent = context::agent_for(&resolved.saved.name.namespace)?;
    let save = history.find_save(&resolved.saved, args.at.as_deref())?;
    let checkout = context::checkout(store);
    let here = agent.machine_paths(&checkout);
    // Placeholders become this machine's paths; a save of the earlier format is re-homed by
    // the agent instead.
    let session = history.read_here(&resolved.saved, &save, &here)?;
    let saved_id = session.id.clone();
    let mut restored = agent.restore(&checkout, session, args.fork)?;
    if restored.rehomed_from.is_none() {
        restored.rehomed_from = save
            .trailers
            .paths
            .get("checkout")
            .filter(|from| Some(*from) != here.get("checkout"))
            .map(str::to_owned);
    }
    if !args.fork {
        // The agent's copy now holds every message of this save: a later save of it keeps
        // what arrives by merge and drops only what the agent itself removes.
        history.loaded_into_agent(agent.name(), &restored.session, save.commit);
    }

    let session = &restored.session;
    let title = agent.title(session);
    let children: Vec<String> = session.walk()[1..].iter().map(|s| s.id.clone()).collect();
    let remote = match &resolved.saved.name.origin {
        Origin::Local => None,
        Origin::Remote(remote) => Some(remote.clone()),
    };
    if args.json {
        let report = LoadReport {
            version: 1,
            agent: agent.name().to_owned(),
            session: session.id.clone(),
            saved_session: saved_id,
            forked: args.fork,
            save: save.commit.to_string(),
            remote,
            title,
            messages: session.messages.len(),
            children,
            file: restored.file.as_ref().map(|p| p.display().to_string()),
            identical: restored.identical,
            replaced: restored.replaced,
            backups: restored
                .backups
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            rehomed_from: restored.rehomed_from.clone(),
            directory: restored.directory.clone(),
            continue_with: restored.continue_with.clone(),
        };
        ui::out_json(&report);
        return Ok(());
    }
    if let Some(child) = &resolved.child {
        ui::status(&format!(
            "note: {child} is a child session of {saved_id}; loading {saved_id} with its children"
        ));
    }
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(" \"{title}\"")
    };
    let child_count = match children.len() {
        0 => String::new(),
        1 => ", 1 child session".to_owned(),
        n => format!(", {n} child sessions"),
    };
    let source = match &remote {
        Some(remote) => format!("save {} from {remote}", ui::short(&save.commit)),
        None => format!("save {}", ui::short(&save.commit)),
    };
    let what = format!(
        "{title}: {}{child_count} ({source})",
        ui::count(session.messages.len(), "message", "messages")
    );
    let into = match &restored.file {
        Some(file) => format!(" into {}", file.display()),
        None => String::new(),
    };
    if restored.identical {
        ui::status(&format!(
            "{} is already in {} exactly as saved ({source}); nothing changed.",
            session.id,
            agent.display_name()
        ));
    } else if args.fork {
        ui::status(&format!(
            "Loaded {saved_id} into {} as a fork, {}{what}; any local copy of {saved_id} is untouched.",
            agent.display_name(),
            session.id
        ));
    } else {
        ui::status(&format!("Loaded {}{what}{into}.", session.id));
        if restored.replaced {
            ui::status(&format!(
                "Replaced the local copy of {} in {} with the saved one.",
                session.id,
                agent.display_name()
            ));
            for backup in &restored.backups {
                ui::status(&format!(
                    "The local copy is kept in {} (git session import it to store it).",
                    backup.display()
                ));
            }
        }
    }
    if let Some(from) = &restored.rehomed_from {
        ui::status(&format!(
            "Paths under {from} now point to {}.",
            restored.directory
        ));
    }
    ui::status(&format!("Continue it with: {}", restored.continue_with));
    Ok(())
}

/// Without an id: lists the saved sessions, newest first, and in a terminal asks which to load.
/// Returns the id picked, or `None` when only the list was shown.
fn pick(
    store: &Store,
    history: &SessionHistory<'_>,
    json: bool,
) -> Result<Option<String>, CliError> {
    let sessions = unique_sessions(history.sessions()?);
    if json {
        return Err(CliError::usage("load --json needs a session id")
            .hint("list them with 'git session list --json', then: git session load <id> --json"));
    }
    // Sessions only a remote's summary lists: counted, not listed (load one by its id).
    let listed = crate::session::summary::list_fetched(store)?
        .iter()
        .filter(|s| !sessions.iter().any(|h| h.name.id == s.id))
        .map(|s| s.id.clone())
        .collect::<std::collections::HashSet<_>>()
        .len();
    if listed > 0 {
        ui::status(&format!(
            "{} on remotes {} not fetched: 'git session list' shows them, 'git session load <id>' fetches and loads one",
            ui::count(listed, "more session", "more sessions"),
            ui::plural(listed as u64, "is", "are")
        ));
    }
    if sessions.is_empty() {
        if listed == 0 {
            ui::status("No saved sessions yet. Save one with: git session save");
        }
        return Ok(None);
    }
    let shown = &sessions[..sessions.len().min(LISTED)];
    let interactive = std::io::stdin().is_terminal() && ui::stderr_is_terminal();
    let list = listing(shown);
    if !interactive {
        ui::out(&list);
        let more = sessions.len() - shown.len();
        if more > 0 {
            ui::out(&format!(
                "... and {more} more (git session list shows them all)\n"
            ));
        }
        ui::out("Load one with: git session load <id>  (a unique prefix of the id is enough)\n");
        return Ok(None);
    }
    ui::status(list.trim_end());
    ui::prompt(&format!(
        "Load which session? [1-{}, or an id; Enter to cancel] ",
        shown.len()
    ));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::user(format!("cannot read the answer: {e}")))?;
    let answer = line.trim();
    if answer.is_empty() {
        ui::status("Nothing loaded.");
        return Ok(None);
    }
    if let Ok(n) = answer.parse::<usize>() {
        return match shown.get(n.wrapping_sub(1)) {
            Some(s) => Ok(Some(s.name.id.clone())),
            None => Err(
                CliError::usage(format!("there is no session {n} in the list"))
                    .hint("run 'git session load' again and type a number from the list"),
            ),
        };
    }
    Ok(Some(answer.to_owned()))
}

/// The numbered list: title, agent, messages, size, last save.
fn listing(sessions: &[SavedSession]) -> String {
    let id_width = sessions.iter().map(|s| s.name.id.len()).max().unwrap_or(2);
    let mut text = String::new();
    for (n, s) in sessions.iter().enumerate() {
        let origin = match &s.name.origin {
            Origin::Local => String::new(),
            Origin::Remote(r) => format!("  (from {r})"),
        };
        text.push_str(&format!(
            "{:>3}  {}  {:<8}  {}  {:>5} msgs  {:>9}  {}{origin}\n",
            n + 1,
            ui::fit(&s.name.id, id_width),
            s.name.namespace,
            ui::fit(&s.trailers.title, 32),
            s.trailers.messages,
            ui::size(s.trailers.bytes),
            ui::local_time(s.seconds),
        ));
    }
    text
}
