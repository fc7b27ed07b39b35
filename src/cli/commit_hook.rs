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
//! It never fails the commit and never makes it wait long: finding the sessions runs on a thread
//! the hook waits for at most `session.commitTimeout` seconds (default 10); each save is a
//! `git-session save --session <id> --reason commit` process of its own, waited for within the
//! same budget and otherwise left to finish in the background (a save is all or nothing, so one
//! still running when the commit ends is safe). Whatever goes wrong is one `git-session:` line
//! on stderr and exit code 0. It does nothing during a rebase,
//! cherry-pick or revert (the picked message keeps its trailers) and for merge commits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{context, ui, CliError};
use crate::agents::registry;
use crate::git_cli;
use crate::session::links::{touching, FileChange, SessionLink, TRAILER_KEY};
use crate::store::Store;

/// How long the hook waits by default, in seconds.
const DEFAULT_TIMEOUT_SECS: u64 = 10;

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
    let started = Instant::now();
    let budget = Duration::from_secs(timeout);
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let at = dir.clone();
    // The store is opened again on the thread (it is not `Send`).
    std::thread::spawn(move || {
        let linked = Store::discover(&at)
            .map_err(CliError::from)
            .and_then(|store| link(&store, &at, &file, trailer));
        let _ = tx.send(linked);
    });
    let links = match rx.recv_timeout(budget) {
        Ok(Ok(links)) => links,
        Ok(Err(e)) => return ui::status(&format!("git-session: commit not linked: {}", e.message)),
        Err(_) => {
            return ui::status(&format!(
                "git-session: commit not linked: looking for the sessions behind it took over {timeout} s (git config session.commitTimeout)"
            ))
        }
    };
    if links.is_empty() {
        return;
    }
    let names: Vec<String> = links.iter().map(ToString::to_string).collect();
    let mut saves: Vec<(String, Option<Child>)> = links
        .iter()
        .map(|l| (l.to_string(), spawn_save(&dir, l)))
        .collect();
    let mut failed = Vec::new();
    let mut running = Vec::new();
    for (name, child) in &mut saves {
        let Some(child) = child else {
            failed.push(name.clone());
            continue;
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(Some(_)) | Err(_) => {
                    failed.push(name.clone());
                    break;
                }
                Ok(None) if started.elapsed() >= budget => {
                    running.push(name.clone());
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    let mut line = format!(
        "git-session: this commit comes from session {}",
        names.join(", ")
    );
    if !running.is_empty() {
        line.push_str(&format!(
            "; still saving {} in the background",
            running.join(", ")
        ));
    }
    if !failed.is_empty() {
        line.push_str(&format!(
            "; not saved: {} (save by hand: git session save --agent <agent> --session <id>)",
            failed.join(", ")
        ));
    }
    ui::status(&line);
}

/// Starts `git-session save --agent <agent> --session <id> --reason commit` for `link`, on its
/// own (no stdin, no output): it may outlive the hook.
fn spawn_save(dir: &Path, link: &SessionLink) -> Option<Child> {
    let exe = std::env::current_exe().ok()?;
    Command::new(exe)
        .current_dir(dir)
        .args([
            "save",
            "--quiet",
            "--reason",
            "commit",
            "--agent",
            &link.agent,
            "--session",
            &link.id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Finds the sessions whose edits touch the staged changes and adds their trailers.
fn link(
    store: &Store,
    dir: &Path,
    file: &Path,
    trailer: bool,
) -> Result<Vec<SessionLink>, CliError> {
    let mut links = Vec::new();
    let checkout = context::checkout(store);
    let Some(root) = checkout.root.clone() else {
        return Ok(links);
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
        return Ok(links);
    }
    for agent in registry::all() {
        // An agent that is not installed, or has no sessions here, has nothing to link.
        let Ok(sessions) = agent.checkout_edits(&checkout) else {
            continue;
        };
        for (id, edits) in sessions {
            if touching(&edits, &changes) {
                links.push(SessionLink {
                    agent: agent.name().to_owned(),
                    id,
                });
            }
        }
    }
    if trailer && !links.is_empty() {
        let trailers: Vec<String> = links
            .iter()
            .map(|l| format!("{TRAILER_KEY}: {l}"))
            .collect();
        git_cli::add_trailers(dir, file, &trailers)?;
    }
    Ok(links)
}
