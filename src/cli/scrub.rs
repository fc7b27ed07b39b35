//! `git session scrub <id>`: rewrite a session's saves with the rules in force.
//!
//! Each save, oldest first, is decoded; one that holds a secret is encoded again through the
//! redactor (a save without one keeps its tree), and its commit is written again with the same
//! message (redacted), author and committer, on the rewritten parents. The ref then moves from
//! the old tip to the new one by compare-and-swap, after the old tip is kept on
//! `refs/session-backups/<agent>/<id>/<unix-time>`, outside `refs/sessions/`, so `git session
//! push` never sends it.
//!
//! The old history stays wherever it was pushed. Each configured remote is judged by the save its
//! ref for the session points at (the remote-tracking ref when this clone has one, else `git
//! ls-remote`): only a remote whose copy reaches a rewritten save gets a warning, with the
//! `git push --force-with-lease=<ref>:<what that remote has>` that replaces it. A remote that
//! cannot be reached is named as such, never guessed about.

use std::collections::BTreeMap;

use clap::Args;
use serde::Serialize;

use super::progress::Progress;
use super::report::redactions_line;
use super::{settings, ui, CliError};
use crate::git_cli;
use crate::session::scrub::{scrub, RemoteCopy, Replaced, Scrubbed};
use crate::session::{SessionError, SessionHistory};
use crate::store::layout::{Origin, RefName};
use crate::store::{ObjectId, Store, StoreError};

/// Arguments of `git session scrub`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session scan                 # which sessions hold secrets
  git session scrub ses_dfef       # rewrite that session's saves without them

The old saves are kept on refs/session-backups/<agent>/<id>/<time> (never pushed by
'git session push'); delete that ref once the new history is where it must be. A remote the
old saves were pushed to still has them: for each such remote (known by its remote-tracking
ref, else asked with 'git ls-remote') this command prints the force-push that overwrites them
there; run it with care, before anyone pulls them back.")]
pub struct ScrubArgs {
    /// The session (id or unique prefix of a saved root session).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `scrub`. The keys after `status` depend on it (see [`ScrubJson`]).
#[derive(Debug, Serialize)]
struct ScrubDocument<'a> {
    version: u32,
    session: &'a str,
    #[serde(rename = "ref")]
    ref_name: &'a str,
    #[serde(flatten)]
    outcome: ScrubJson<'a>,
}

/// What scrubbing did, as `"status"` and the keys that status has.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum ScrubJson<'a> {
    /// `"clean"`: no save holds a secret the rules find; nothing was written.
    Clean {
        /// Saves searched.
        saves: usize,
    },
    /// `"scrubbed"`: saves were rewritten and the ref moved.
    #[serde(rename_all = "camelCase")]
    Scrubbed {
        /// The tip before.
        old: String,
        /// The tip now.
        new: String,
        /// The ref keeping the old history.
        backup: &'a str,
        saves: usize,
        rewritten: usize,
        /// Secrets redacted in the newest save, per rule.
        redactions: &'a BTreeMap<String, usize>,
        /// Secrets redacted over all saves.
        redactions_all_saves: &'a BTreeMap<String, usize>,
        /// Remotes whose copy of the session holds rewritten saves (or a save this clone has
        /// not fetched): the ones the force-push hints on stderr are for.
        remotes: &'a [&'a str],
        /// Remotes that could not be reached to check.
        unreachable: &'a [&'a str],
    },
}

pub(crate) fn run(store: &Store, args: ScrubArgs) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let resolved = history.resolve(&args.id)?;
    let saved = resolved.saved;
    if let Some(child) = &resolved.child {
        return Err(CliError::user(format!(
            "{child} is a child session, stored inside the saves of {}",
            saved.name.id
        ))
        .hint(format!(
            "scrub the root session: git session scrub {}",
            saved.name.id
        )));
    }
    if saved.name.origin != Origin::Local {
        return Err(CliError::user(format!(
            "{} is not saved in this repository, only fetched",
            saved.name.id
        ))
        .hint("scrub rewrites the refs this repository pushes (refs/sessions/*)"));
    }
    let redactor = settings::configured_redactor(store)?;
    let ref_name = saved.name.full();
    let spinner = if args.json {
        Progress::hidden()
    } else {
        Progress::spinner(&format!("Scrubbing {}", saved.name.id))
    };
    let scrubbed = scrub(store, &saved, &redactor, settings::split_threshold(store));
    drop(spinner);
    let scrubbed = match scrubbed {
        Ok(s) => s,
        Err(SessionError::Store(StoreError::RefMoved { .. })) => {
            return Err(CliError::user(format!(
                "{} was saved again while scrubbing; nothing was changed",
                saved.name.id
            ))
            .hint(format!("run it again: git session scrub {}", saved.name.id)))
        }
        Err(e) => return Err(e.into()),
    };
    let (old_tip, new_tip, backup, saves, rewritten, newest, all) = match scrubbed {
        Scrubbed::Clean { saves } => {
            if args.json {
                ui::out_json(&ScrubDocument {
                    version: 1,
                    session: &saved.name.id,
                    ref_name: &ref_name,
                    outcome: ScrubJson::Clean { saves },
                });
            } else {
                ui::status(&format!(
                    "Nothing to scrub: none of the {} of {} holds a secret the rules in force find.",
                    ui::count(saves, "save", "saves"),
                    saved.name.id
                ));
            }
            return Ok(());
        }
        Scrubbed::Rewritten {
            old_tip,
            new_tip,
            backup,
            saves,
            rewritten,
            newest,
            all,
        } => (old_tip, new_tip, backup, saves, rewritten, newest, all),
    };

    let replaced = Replaced::new(store, old_tip, new_tip)?;
    let checks = check_remotes(store, &saved.name, &replaced)?;
    let holding: Vec<&str> = checks
        .iter()
        .filter(|c| {
            matches!(
                c.copy,
                Ok(RemoteCopy::Old { .. } | RemoteCopy::Unknown { .. })
            )
        })
        .map(|c| c.remote.as_str())
        .collect();
    let unreachable: Vec<&str> = checks
        .iter()
        .filter(|c| c.copy.is_err())
        .map(|c| c.remote.as_str())
        .collect();
    if args.json {
        ui::out_json(&ScrubDocument {
            version: 1,
            session: &saved.name.id,
            ref_name: &ref_name,
            outcome: ScrubJson::Scrubbed {
                old: old_tip.to_string(),
                new: new_tip.to_string(),
                backup: &backup,
                saves,
                rewritten,
                redactions: &newest,
                redactions_all_saves: &all,
                remotes: &holding,
                unreachable: &unreachable,
            },
        });
    } else {
        ui::status(&format!(
            "Scrubbed {}: {} of {} held secrets and were rewritten ({} -> {}).",
            saved.name.id,
            rewritten,
            ui::count(saves, "save", "saves"),
            ui::short(&old_tip),
            ui::short(&new_tip)
        ));
        if let Some(line) = redactions_line(&newest) {
            ui::status(&format!("Newest save: {line}"));
        }
        ui::status(&format!(
            "The old history is kept on {backup} (never pushed); delete it once done: git update-ref -d {backup}"
        ));
    }
    // Always on stderr, JSON or not: this is the step that is easy to forget.
    for check in &checks {
        for line in remote_lines(check, &saved.name.id, &ref_name) {
            ui::status(&line);
        }
    }
    ui::status(if holding.is_empty() {
        "hint: the old objects leave this repository only after the backup ref and the reflog entries are gone and git gc runs"
    } else {
        "hint: anyone who fetched the old saves keeps a copy; the old objects leave this repository only after the backup ref and the reflog entries are gone and git gc runs"
    });
    Ok(())
}

/// What one configured remote holds of the scrubbed session, or why that is not known.
struct RemoteCheck {
    remote: String,
    copy: Result<RemoteCopy, String>,
}

/// Judges every configured remote: by its remote-tracking ref for the session when this clone
/// has one (its last fetch or push), else by asking it (`git ls-remote`).
fn check_remotes(
    store: &Store,
    name: &RefName,
    replaced: &Replaced,
) -> Result<Vec<RemoteCheck>, CliError> {
    let local = name.full();
    let mut out = Vec::new();
    for remote in store.remote_names() {
        let tracking = RefName {
            origin: Origin::Remote(remote.clone()),
            ..name.clone()
        };
        let tip = match store.find_ref(&tracking.full())? {
            Some(tip) => Ok(Some(tip)),
            // A push leaves no remote-tracking ref without a fetch refspec: ask the remote.
            None => git_cli::remote_ref_value(&store.common_dir(), &remote, &local)
                .map_err(|e| e.to_string())
                .and_then(|hex| {
                    hex.map(|h| {
                        ObjectId::from_hex(h.as_bytes())
                            .map_err(|e| format!("git ls-remote printed {h:?}: {e}"))
                    })
                    .transpose()
                }),
        };
        let copy = match tip {
            Ok(tip) => Ok(replaced.judge(store, tip)?),
            Err(e) => Err(e),
        };
        out.push(RemoteCheck { remote, copy });
    }
    Ok(out)
}

/// The warning and hint for one remote: nothing when it holds none of the old saves.
fn remote_lines(check: &RemoteCheck, id: &str, ref_name: &str) -> Vec<String> {
    let remote = &check.remote;
    let force = |tip: &ObjectId| {
        format!("git push --force-with-lease={ref_name}:{tip} {remote} {ref_name}")
    };
    match &check.copy {
        Ok(RemoteCopy::Absent | RemoteCopy::Clean { .. }) => Vec::new(),
        Ok(RemoteCopy::Old { tip, beyond: false }) => vec![
            format!(
                "warning: {remote} still has the old saves of {id} (its ref is at {}), and 'git session pull' would bring them back",
                ui::short(tip)
            ),
            format!(
                "hint: overwrite them there, with care (it fails if someone saved there meanwhile): {}",
                force(tip)
            ),
        ],
        Ok(RemoteCopy::Old { tip, beyond: true }) => vec![
            format!(
                "warning: {remote} still has the old saves of {id}, with saves made there on top of them that this clone lacks (its ref is at {}); 'git session pull' would bring them back",
                ui::short(tip)
            ),
            format!(
                "hint: overwriting drops those saves too; to do it anyway: {}",
                force(tip)
            ),
        ],
        Ok(RemoteCopy::Unknown { tip }) => vec![
            format!(
                "warning: {remote} has {id} at {}, a save this clone has not fetched, so it may hold the old saves",
                ui::short(tip)
            ),
            format!(
                "hint: look first (git fetch {remote} {ref_name} && git log FETCH_HEAD); to overwrite it with the scrubbed history: {}",
                force(tip)
            ),
        ],
        Err(e) => vec![
            format!(
                "warning: could not reach {remote} to check whether it has the old saves of {id}: {e}"
            ),
            format!(
                "hint: check by hand: git ls-remote {remote} {ref_name}; if it lists a save, overwrite it with: git push --force-with-lease={ref_name}:<the listed id> {remote} {ref_name}"
            ),
        ],
    }
}
