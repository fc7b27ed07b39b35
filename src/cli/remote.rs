//! `git session remote add|remove|list`: which remotes sessions are sent to.
//!
//! Sending is an opt-in per remote, kept in git config as `remote.<name>.sessions` (a boolean, so
//! plain `git config` reads and sets it too). `install` enables the remotes present then; the
//! pre-push hook sends nothing to a remote that is not enabled (one line says so), and `push` and
//! `sync` refuse one unless given `--remote-ok`. Reading (`pull`) and `delete --remote` need no
//! opt-in. `remove` sets the key to `false` rather than unsetting it, so the fallback below can
//! never turn it back on.
//!
//! `session.remote` (a remote's name or a URL; `install --sessions-remote URL` sets it) overrides
//! all of this: sessions go to that remote only, the pre-push hook sends them there whichever
//! remote the code goes to, and `push`/`pull`/`sync`/`load` use it by default.
//!
//! Repositories set up by an older git-session have no key at all. While no remote has one,
//! `origin` (else the only remote) counts as enabled, as it was the remote sessions went to; the
//! first send under that rule writes its key (`true`) and prints a note once, so a remote added
//! later is never enabled by it.

use clap::{Args, Subcommand};

use super::{ui, CliError};
use crate::git_cli::{self, GitError};
use crate::store::Store;

/// Arguments of `git session remote`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session remote list            # each remote, and whether sessions are sent to it
  git session remote add upstream    # send sessions to upstream too (git push, push, sync)
  git session remote remove fork     # stop sending sessions to fork

The choice is the git config key remote.<name>.sessions (true or false); 'git config
remote.fork.sessions true' does the same as 'git session remote add fork'. A remote without it
gets no sessions: the pre-push hook skips it with one line, and 'git session push' and 'sync'
refuse unless given --remote-ok.")]
pub struct RemoteArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RemoteAction,
}

/// The `git session remote` subcommands.
#[derive(Debug, Subcommand)]
pub enum RemoteAction {
    /// Send sessions to this remote (sets remote.<name>.sessions to true).
    Add {
        /// The remote's name.
        name: String,
    },
    /// Stop sending sessions to this remote (sets remote.<name>.sessions to false).
    Remove {
        /// The remote's name.
        name: String,
    },
    /// List the remotes and whether sessions are sent to each.
    List,
}

/// Whether sessions go to one remote, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    /// `remote.<name>.sessions` is true.
    Enabled,
    /// `remote.<name>.sessions` is false, or unset while another remote has the key.
    NotEnabled,
    /// No remote has the key (an older install): the default remote counts as enabled.
    Default,
}

/// The config key that enables sending sessions to `remote`.
pub(crate) fn key(remote: &str) -> String {
    format!("remote.{remote}.sessions")
}

/// Every remote's `remote.<name>.sessions` value, by remote name.
fn keys(store: &Store) -> Result<Vec<(String, bool)>, GitError> {
    let found = git_cli::config_bools(&store.common_dir(), r"^remote\..*\.sessions$")?;
    Ok(found
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("remote.")?.strip_suffix(".sessions")?;
            Some((name.to_owned(), v))
        })
        .collect())
}

/// Where `remote` (a remote's name) stands.
pub(crate) fn opt(store: &Store, remote: &str) -> Result<Opt, GitError> {
    let keys = keys(store)?;
    // The last value wins, as git reads it.
    if let Some((_, on)) = keys.iter().rev().find(|(name, _)| name == remote) {
        return Ok(if *on { Opt::Enabled } else { Opt::NotEnabled });
    }
    if !keys.is_empty() {
        return Ok(Opt::NotEnabled);
    }
    let remotes = store.remote_names();
    let default = if remotes.iter().any(|r| r == "origin") {
        Some("origin")
    } else if let [only] = remotes.as_slice() {
        Some(only.as_str())
    } else {
        None
    };
    Ok(if default == Some(remote) {
        Opt::Default
    } else {
        Opt::NotEnabled
    })
}

/// Whether sessions may be sent to `target`: a remote's name, or (as the pre-push hook gets it
/// when pushing to a URL) a URL, allowed when an enabled remote has that URL. A remote enabled
/// only by the older-install fallback gets its key written here, with a note, once.
pub(crate) fn allows(store: &Store, target: &str) -> Result<bool, GitError> {
    let remotes = store.remote_names();
    if remotes.iter().any(|r| r == target) {
        return allows_named(store, target);
    }
    let git_dir = store.common_dir();
    for remote in &remotes {
        let mut urls = git_cli::config_get_all(&git_dir, &format!("remote.{remote}.url"))?;
        urls.extend(git_cli::config_get_all(
            &git_dir,
            &format!("remote.{remote}.pushurl"),
        )?);
        if urls.iter().any(|u| u == target) && allows_named(store, remote)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn allows_named(store: &Store, remote: &str) -> Result<bool, GitError> {
    match opt(store, remote)? {
        Opt::Enabled => Ok(true),
        Opt::NotEnabled => Ok(false),
        Opt::Default => {
            // Written so that this rule applies once: a remote added later is not enabled by it.
            // Failing to write it (a read-only config) changes nothing about this send.
            let written = git_cli::config_set(&store.common_dir(), &key(remote), "true").is_ok();
            ui::status(&format!(
                "note: git-session sends sessions only to remotes enabled for them; {remote} is the remote they went to, so it stays enabled{}; enable another with: git session remote add <name>",
                if written { format!(" ({}=true)", key(remote)) } else { String::new() }
            ));
            Ok(true)
        }
    }
}

/// The git config key that names where sessions go and come from instead of the code's remote.
pub(crate) const SESSIONS_REMOTE_KEY: &str = "session.remote";

/// Where sessions go and come from when `session.remote` is set: the remote it names, or the
/// remote whose URL it is, else the URL itself. `None` when it is not set.
pub(crate) fn sessions_remote(store: &Store) -> Result<Option<String>, GitError> {
    let git_dir = store.common_dir();
    let Some(value) = git_cli::config_get(&git_dir, SESSIONS_REMOTE_KEY, false)? else {
        return Ok(None);
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Ok(None);
    }
    let remotes = store.remote_names();
    if remotes.contains(&value) {
        return Ok(Some(value));
    }
    for remote in &remotes {
        if git_cli::config_get_all(&git_dir, &format!("remote.{remote}.url"))?.contains(&value) {
            return Ok(Some(remote.clone()));
        }
    }
    Ok(Some(value))
}

/// `remote` as a remote's name, which reading needs (fetched copies live under
/// `refs/remotes/<name>/`): a URL (from `session.remote`) that no remote has is an error that
/// says how to name it.
pub(crate) fn reading_name(store: &Store, remote: String) -> Result<String, CliError> {
    if store.remote_names().contains(&remote) {
        return Ok(remote);
    }
    Err(CliError::user(format!(
        "{SESSIONS_REMOTE_KEY} is {remote}, which no remote has; sessions are read from a named remote"
    ))
    .hint(format!(
        "name it: git session install --sessions-remote {remote} (adds the remote 'sessions'), or git remote add <name> {remote}"
    )))
}

/// The error of `push`/`sync` (`command`) to a remote that is not enabled.
pub(crate) fn not_enabled(command: &str, remote: &str) -> CliError {
    CliError::user(format!(
        "sessions are not enabled for remote '{remote}'; nothing was sent"
    ))
    .hint(format!(
        "send them this once with 'git session {command} {remote} --remote-ok', or enable the remote with 'git session remote add {remote}'"
    ))
}

/// Checks that sessions may be sent to the remote named `remote` (`push`/`sync`), unless
/// `remote_ok`. With `session.remote` set, only that remote may.
pub(crate) fn check_send(
    store: &Store,
    command: &str,
    remote: &str,
    remote_ok: bool,
) -> Result<(), CliError> {
    let configured = sessions_remote(store).map_err(CliError::user)?;
    if let Some(sessions) = configured {
        if sessions == remote || remote_ok {
            return Ok(());
        }
        return Err(CliError::user(format!(
            "sessions go to {sessions} ({SESSIONS_REMOTE_KEY}), not to {remote}; nothing was sent"
        ))
        .hint(format!(
            "send them there with 'git session {command}', or to {remote} this once with 'git session {command} {remote} --remote-ok'"
        )));
    }
    let allowed = remote_ok
        || allows(store, remote).map_err(|e| {
            CliError::user(e).hint(
                "each remote.<name>.sessions must be true or false; see them with: git config --get-regexp 'remote\\..*\\.sessions'",
            )
        })?;
    if allowed {
        Ok(())
    } else {
        Err(not_enabled(command, remote))
    }
}

/// The remotes sessions are sent to now (those whose key is true; the default one while no
/// remote has a key).
pub(crate) fn enabled_remotes(store: &Store) -> Result<Vec<String>, GitError> {
    let mut out = Vec::new();
    for remote in store.remote_names() {
        if opt(store, &remote)? != Opt::NotEnabled {
            out.push(remote);
        }
    }
    Ok(out)
}

pub(crate) fn run(store: &Store, args: RemoteArgs) -> Result<(), CliError> {
    let known = |name: &str| -> Result<(), CliError> {
        if store.remote_names().iter().any(|r| r == name) {
            Ok(())
        } else {
            Err(CliError::user(format!("no remote named '{name}'")).hint(
                "list remotes with 'git remote -v'; add one with 'git remote add <name> <url>'",
            ))
        }
    };
    match args.action {
        RemoteAction::Add { name } => {
            known(&name)?;
            git_cli::config_set(&store.common_dir(), &key(&name), "true")?;
            ui::status(&format!(
                "Sessions will be pushed to {name} ({}=true).",
                key(&name)
            ));
        }
        RemoteAction::Remove { name } => {
            known(&name)?;
            git_cli::config_set(&store.common_dir(), &key(&name), "false")?;
            ui::status(&format!(
                "Sessions will no longer be pushed to {name} ({}=false); 'git session push {name} --remote-ok' still sends them once.",
                key(&name)
            ));
        }
        RemoteAction::List => {
            if let Some(sessions) = sessions_remote(store)? {
                ui::status(&format!(
                    "Sessions go to {sessions} only ({SESSIONS_REMOTE_KEY}); the keys below are not read."
                ));
            }
            let remotes = store.remote_names();
            if remotes.is_empty() {
                ui::status("This repository has no remote.");
            }
            let mut out = String::new();
            for remote in remotes {
                let state = match opt(store, &remote)? {
                    Opt::Enabled => "enabled",
                    Opt::NotEnabled => "not enabled",
                    Opt::Default => {
                        "enabled (the default: no remote has remote.<name>.sessions yet)"
                    }
                };
                out.push_str(&format!("{remote}\t{state}\n"));
            }
            ui::out(&out);
        }
    }
    Ok(())
}
