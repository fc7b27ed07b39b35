//! `git session hook prepare-commit-msg <file> [<source> [<commit>]]` (hidden): what the
//! installed prepare-commit-msg hook runs.
//!
//! It finds this checkout's agent sessions whose own file edits and writes touch the staged
//! changes (an edit names a staged path and wrote a line the change adds; see
//! [`crate::session::links::touching`]), saves each (reason `commit`) and adds one trailer
//! `Session: <agent>/<id>` per session to the message (`git interpret-trailers`, each only once);
//! `git config session.commitTrailer false` leaves the message alone (the sessions are still
//! saved, and `blame` then links by content).
//!
//! It never fails the commit and never makes it wait long: everything runs on a thread the
//! hook waits for at most `session.commitTimeout` seconds (default 10); whatever goes wrong is
//! one `git-session:` line on stderr and exit code 0. It does nothing during a rebase,
//! cherry-pick or revert (the picked message keeps its trailers) and for merge commits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{context, settings, ui, CliError};
use crate::agents::{registry, Pick};
use crate::git_cli;
use crate::session::links::{touching, FileChange, SessionLink, TRAILER_KEY};
use crate::session::save_set;
use crate::store::Store;

/// How long the hook waits by default, in seconds.
const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// What the hook did, for its status lines.
#[derive(Debug, Default)]
struct Linked {
    links: Vec<SessionLink>,
    problems: Vec<String>,
}

/// Runs the hook; never fails.
pub(crate) fn run(dir: &Path, file: PathBuf, source: Option<String>) {
    if std::env::var_os(git_cli::HOOK_GUARD_ENV).is_some() || source.as_deref() == Some("merge") {
        return;
    }
    let store = match Store::discover(dir) {
        Ok(store) => store,
        Err(e) => return ui::status(&format!("git-session: commit not linked: {e}")),
    };
    let git_dir = store.git_dir();
    let picking = [
        "rebase-merge",
        "rebase-apply",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
    ]
    .iter()
    .any(|f| git_dir.join(f).exists());
    if picking {
        return;
    }
    let timeout = store
        .config_integer("session.commitTimeout")
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let trailer = !store
        .config_string("session.commitTrailer")
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0"
            )
        });
    drop(store);
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    // The store is opened again on the thread (it is not `Send`).
    std::thread::spawn(move || {
        let linked = Store::discover(&dir)
            .map_err(CliError::from)
            .and_then(|store| link(&store, &dir, &file, trailer));
        let _ = tx.send(linked);
    });
    match rx.recv_timeout(Duration::from_secs(timeout)) {
        Ok(Ok(linked)) => {
            for p in &linked.problems {
                ui::status(&format!("git-session: {p}"));
            }
            if !linked.links.is_empty() {
                let names: Vec<String> = linked.links.iter().map(ToString::to_string).collect();
                ui::status(&format!(
                    "git-session: this commit comes from session {} (saved)",
                    names.join(", ")
                ));
            }
        }
        Ok(Err(e)) => ui::status(&format!("git-session: commit not linked: {}", e.message)),
        Err(_) => ui::status(&format!(
            "git-session: commit not linked: looking for the sessions behind it took over {timeout} s (git config session.commitTimeout)"
        )),
    }
}

/// Finds the sessions whose edits touch the staged changes, saves them and adds the trailers.
fn link(store: &Store, dir: &Path, file: &Path, trailer: bool) -> Result<Linked, CliError> {
    let mut linked = Linked::default();
    let checkout = context::checkout(store);
    let Some(root) = checkout.root.clone() else {
        return Ok(linked);
    };
    let changes: Vec<FileChange> = git_cli::staged_changes(&root)?
        .into_iter()
        .map(|f| FileChange {
            path: f.path,
            added: f.added,
            removes: f.removes,
        })
        .collect();
    if changes.is_empty() {
        return Ok(linked);
    }
    let mut settings = None;
    for agent in registry::all() {
        // An agent that is not installed, or has no sessions here, has nothing to link.
        let Ok(sessions) = agent.checkout_edits(&checkout) else {
            continue;
        };
        for (id, edits) in sessions {
            if !touching(&edits, &changes) {
                continue;
            }
            let link = SessionLink {
                agent: agent.name().to_owned(),
                id: id.clone(),
            };
            let saved = (|| -> Result<(), CliError> {
                let read = agent.read_local(&checkout, &Pick::Id(id.clone()), &mut |_| {})?;
                if settings.is_none() {
                    settings = Some(settings::for_save(store, false)?);
                }
                let settings = settings.as_ref().expect("read above");
                save_set::save_all(store, *agent, read.sessions, "commit", false, settings)?;
                Ok(())
            })();
            if let Err(e) = saved {
                linked
                    .problems
                    .push(format!("session {link} not saved: {}", e.message));
            }
            linked.links.push(link);
        }
    }
    if !linked.links.is_empty() {
        context::gc_auto(store);
    }
    if trailer && !linked.links.is_empty() {
        let trailers: Vec<String> = linked
            .links
            .iter()
            .map(|l| format!("{TRAILER_KEY}: {l}"))
            .collect();
        git_cli::add_trailers(dir, file, &trailers)?;
    }
    Ok(linked)
}
