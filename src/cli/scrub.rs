//! `git session scrub <id>`: rewrite a session's saves with the rules in force.
//!
//! Each save, oldest first, is decoded; one that holds a secret is encoded again through the
//! redactor (a save without one keeps its tree), and its commit is written again with the same
//! message (redacted), author and committer, on the rewritten parents. The ref then moves from
//! the old tip to the new one by compare-and-swap, after the old tip is kept on
//! `refs/session-backups/<agent>/<id>/<unix-time>`, outside `refs/sessions/`, so `git session
//! push` never sends it. The old history stays wherever it was pushed: the command says how to
//! overwrite it there.

use std::collections::BTreeMap;

use clap::Args;
use serde::Serialize;

use super::report::redactions_line;
use super::{settings, ui, CliError};
use crate::session::scrub::{remotes_with_copy, scrub, Scrubbed};
use crate::session::{SessionError, SessionHistory};
use crate::store::layout::Origin;
use crate::store::{Store, StoreError};

/// Arguments of `git session scrub`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session scan                 # which sessions hold secrets
  git session scrub ses_dfef       # rewrite that session's saves without them

The old saves are kept on refs/session-backups/<agent>/<id>/<time> (never pushed by
'git session push'); delete that ref once the new history is where it must be. A remote the
session was pushed to still has the old saves: overwrite them there with the command this one
prints, with care, before anyone pulls them back.")]
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
        /// Remotes that have a copy of the session (the old saves).
        remotes: &'a [String],
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
    let scrubbed = match scrub(store, &saved, &redactor, settings::split_threshold(store)) {
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
                    "Nothing to scrub: none of the {saves} save(s) of {} holds a secret the rules in force find.",
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

    let remotes = remotes_with_copy(store, &saved.name.namespace, &saved.name.id)?;
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
                remotes: &remotes,
            },
        });
    } else {
        ui::status(&format!(
            "Scrubbed {}: {} of {} save(s) held secrets and were rewritten ({} -> {}).",
            saved.name.id,
            rewritten,
            saves,
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
    let listed = if remotes.is_empty() {
        "<remote>".to_owned()
    } else {
        remotes.join(", ")
    };
    ui::status(&format!(
        "warning: the old saves are still on any remote {} was pushed to{}, and 'git session pull' would bring them back",
        saved.name.id,
        if remotes.is_empty() {
            String::new()
        } else {
            format!(" ({listed})")
        }
    ));
    let targets: Vec<String> = if remotes.is_empty() {
        vec!["<remote>".to_owned()]
    } else {
        remotes
    };
    for remote in targets {
        ui::status(&format!(
            "hint: overwrite them there, with care (only if nobody saved on top meanwhile): git push --force-with-lease={ref_name}:{old_tip} {remote} {ref_name}"
        ));
    }
    ui::status(
        "hint: anyone who fetched them keeps a copy; the old objects leave this repository only after the backup ref and the reflog entries are gone and git gc runs",
    );
    Ok(())
}
