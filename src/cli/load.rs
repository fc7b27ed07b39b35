//! `git session load <id>`: restore a saved session into the local OpenCode, so that
//! `opencode -s <id>` continues it with its full history.

use clap::Args;
use serde_json::json;

use super::{local_opencode, ui, CliError};
use crate::agents::opencode::{self, export, load};
use crate::session::SessionHistory;
use crate::store::layout::Origin;
use crate::store::Store;

/// Arguments of `git session load`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session load ses_dfef               # newest save; replaces a local copy exactly
  git session load ses_dfef --at ~1       # the save before it
  git session load ses_dfef --fork        # a copy under new ids, the local session untouched
  git fetch origin 'refs/sessions/*:refs/remotes/origin/sessions/*' && git session load ses_dfef

Paths that pointed into the saver's checkout (the session's directory, the messages' cwd and
root) are rewritten to this checkout. Continue the session with 'opencode -s <id>'.")]
pub struct LoadArgs {
    /// Session id or unique prefix: a local save, or one fetched from a remote. A child
    /// session's id loads its root session with all children.
    pub id: String,
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

pub(crate) fn run(store: &Store, args: LoadArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    if resolved.saved.name.namespace == crate::agents::claude::AGENT {
        return super::local_claude::run_load(store, &args, &resolved);
    }
    if resolved.saved.name.namespace != opencode::AGENT {
        return Err(CliError::user(format!(
            "{} is a {} session; load restores OpenCode sessions only",
            resolved.saved.name.id, resolved.saved.name.namespace
        ))
        .hint(format!(
            "read it with 'git session show {}'",
            resolved.saved.name.id
        )));
    }
    let save = history.find_save(&resolved.saved, args.at.as_deref())?;
    let mut session = history.read(&resolved.saved, &save)?;
    let (opencode, root) = local_opencode::open(store, "load")?;

    let saved_id = session.id.clone();
    let root_text = root.to_string_lossy().into_owned();
    let from = load::saved_root(&session);
    let rehomed = match &from {
        Some(from) => load::rehome(&mut session, from, &root_text),
        None => 0,
    };
    if args.fork {
        load::fork(&mut session, load::random_seed());
    }
    let backup_dir = store.state_dir().join("backups").join(opencode::AGENT);
    let restored = load::restore(&opencode, &session, args.fork, &backup_dir, &|s| {
        load::import_dir(s, &root)
    })?;

    let title = export::title(&session);
    let children: Vec<String> = session.walk()[1..].iter().map(|s| s.id.clone()).collect();
    let remote = match &resolved.saved.name.origin {
        Origin::Local => None,
        Origin::Remote(remote) => Some(remote.clone()),
    };
    let continue_with = format!("opencode -s {}", session.id);
    if args.json {
        ui::out_json(&json!({
            "version": 1,
            "session": session.id,
            "saved_session": saved_id,
            "forked": args.fork,
            "save": save.commit.to_string(),
            "remote": remote,
            "title": title,
            "messages": session.messages.len(),
            "children": children,
            "replaced": restored.replaced,
            "backups": restored.backups.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "rehomed_from": from.filter(|_| rehomed > 0),
            "directory": root_text,
            "continue": continue_with,
        }));
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
        "{title}: {} messages{child_count} ({source})",
        session.messages.len()
    );
    if args.fork {
        ui::status(&format!(
            "Loaded {saved_id} into OpenCode as a fork, {}{what}; any local copy of {saved_id} is untouched.",
            session.id
        ));
    } else {
        ui::status(&format!("Loaded {}{what}.", session.id));
        if restored.replaced {
            ui::status(&format!(
                "Replaced the local copy of {} in OpenCode with the saved one.",
                session.id
            ));
            for backup in &restored.backups {
                ui::status(&format!(
                    "The local copy is kept in {} (git session import it to store it).",
                    backup.display()
                ));
            }
        }
    }
    if let Some(from) = from.filter(|_| rehomed > 0) {
        ui::status(&format!("Paths under {from} now point to {root_text}."));
    }
    ui::status(&format!("Continue it with: {continue_with}"));
    Ok(())
}
