//! `git session delete <id>...`: remove sessions refs here and, with `--remote`, on a remote.

use clap::Args;

use super::share::choose_remote;
use super::{ui, CliError};
use crate::git_cli::{self, PushStatus};
use crate::session::{prune, SavedSession, SessionError, SessionHistory};
use crate::store::layout::{is_safe_component, Origin, RefName};
use crate::store::{RefUpdate, Store};

/// Arguments of `git session delete`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session delete ses_dfef                   # the local ref only
  git session delete ses_dfef ses_a01 --remote origin   # here and on origin

Only the refs are removed; 'git session gc' (or git's own gc) later reclaims the objects no
other ref reaches. Without --remote, a copy the remote still has comes back with the next pull.")]
pub struct DeleteArgs {
    /// Sessions to delete (ids or unique prefixes of saved root sessions; with --remote, the
    /// full id of a session this repository does not have works too).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Also delete them on this remote (and its remote-tracking copies here).
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

/// One session to delete: its local ref name and, when it is saved here, the value read.
struct Target {
    name: RefName,
    local: Option<SavedSession>,
}

pub(crate) fn run(store: &Store, args: DeleteArgs) -> Result<(), CliError> {
    let remote = match &args.remote {
        Some(r) => Some(choose_remote(store, Some(r))?),
        None => None,
    };
    let targets = resolve(store, &args.ids, remote.as_deref())?;
    let mut problems = Vec::new();
    let mut keep_local = Vec::new();
    if let Some(remote) = &remote {
        let refs: Vec<String> = targets.iter().map(|t| t.name.full()).collect();
        let pushed = git_cli::delete_remote_refs(&store.common_dir(), remote, &refs)?;
        for target in &targets {
            let full = target.name.full();
            match pushed.iter().find(|p| p.remote_ref == full) {
                Some(p) if p.status == PushStatus::Deleted => {
                    ui::status(&format!("deleted {} on {remote}", target.name.id));
                    delete_tracking_copy(store, remote, &target.name)?;
                }
                Some(p) => {
                    problems.push(format!(
                        "{remote} refused to delete {}: {}",
                        target.name.id, p.summary
                    ));
                    keep_local.push(full);
                }
                None => {
                    problems.push(format!(
                        "{remote} did not report on {}; it may still be there",
                        target.name.id
                    ));
                    keep_local.push(full);
                }
            }
        }
    }
    for target in &targets {
        let Some(saved) = &target.local else { continue };
        if keep_local.contains(&target.name.full()) {
            ui::status(&format!(
                "kept {} here, since {} still has it",
                target.name.id,
                remote.as_deref().unwrap_or("the remote")
            ));
            continue;
        }
        match prune::delete(store, saved) {
            Ok(()) => ui::status(&format!(
                "deleted {} \"{}\" ({} saves, last {})",
                saved.name.id,
                saved.trailers.title,
                saved.trailers.saves,
                ui::local_time(saved.seconds)
            )),
            Err(e) => problems.push(format!("{} was not deleted: {}", saved.name.id, e)),
        }
        if remote.is_none() {
            for copy in remote_copies(store, &target.name)? {
                ui::status(&format!(
                    "note: {} still has {}; the next pull brings it back (delete it there with --remote {})",
                    copy, target.name.id, copy
                ));
            }
        }
    }
    match problems.len() {
        0 => Ok(()),
        n => {
            for p in &problems[..n - 1] {
                ui::status(&format!("error: {p}"));
            }
            Err(CliError::user(&problems[n - 1]).hint(
                "ask the remote's owner to allow deleting refs/sessions/*, or run the command again",
            ))
        }
    }
}

/// Resolves the ids to root sessions: saved here, or (with `--remote`) known from that remote.
fn resolve(store: &Store, ids: &[String], remote: Option<&str>) -> Result<Vec<Target>, CliError> {
    let history = SessionHistory::new(store);
    let all = history.sessions()?;
    let mut out: Vec<Target> = Vec::new();
    for id in ids {
        let resolved = match history.resolve(id) {
            Ok(resolved) => resolved,
            // Not known here at all: with --remote, a full id still names the remote's ref, under
            // whichever agent the remote has it.
            Err(SessionError::NotFound { .. }) if remote.is_some() && is_safe_component(id) => {
                let remote = remote.unwrap_or_default();
                let suffix = format!("/{id}");
                let found: Vec<RefName> = remote_session_refs(store, remote)?
                    .iter()
                    .filter(|r| r.ends_with(&suffix))
                    .filter_map(|r| RefName::parse(r))
                    .filter(|n| n.origin == Origin::Local && n.id == *id)
                    .collect();
                if found.is_empty() {
                    return Err(
                        CliError::user(format!("no session {id} here or on {remote}")).hint(
                            format!(
                                "list what {remote} has: git ls-remote {remote} 'refs/sessions/*'"
                            ),
                        ),
                    );
                }
                for name in found {
                    if !out.iter().any(|t| t.name == name) {
                        out.push(Target { name, local: None });
                    }
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let root = &resolved.saved.name;
        if let Some(child) = &resolved.child {
            return Err(CliError::user(format!(
                "{child} is a child session saved inside {}; only whole sessions can be deleted",
                root.id
            ))
            .hint(format!("delete the parent: git session delete {}", root.id)));
        }
        let name = RefName::local(&root.namespace, &root.id);
        let local = all.iter().find(|s| s.name == name).cloned();
        let on_remote = remote.is_some_and(|r| {
            all.iter()
                .any(|s| s.name.origin == Origin::Remote(r.to_owned()) && s.name.id == root.id)
        });
        if local.is_none() && !on_remote {
            return Err(CliError::user(format!(
                "{} is not saved in this repository (only a copy fetched from a remote)",
                root.id
            ))
            .hint("pass --remote <remote> to delete it there"));
        }
        if !out.iter().any(|t| t.name == name) {
            out.push(Target { name, local });
        }
    }
    Ok(out)
}

/// The sessions refs `remote` has (`refs/sessions/<agent>/<id>`).
fn remote_session_refs(store: &Store, remote: &str) -> Result<Vec<String>, CliError> {
    Ok(git_cli::remote_ref_names(
        &store.common_dir(),
        remote,
        crate::store::layout::LOCAL_PREFIX,
    )?)
}

/// Removes `refs/remotes/<remote>/sessions/...` of a session the remote deleted.
fn delete_tracking_copy(store: &Store, remote: &str, name: &RefName) -> Result<(), CliError> {
    let tracking = RefName {
        origin: Origin::Remote(remote.to_owned()),
        ..name.clone()
    }
    .full();
    if let Some(value) = store.find_ref(&tracking)? {
        store.update_ref(&RefUpdate {
            name: &tracking,
            expected: Some(value),
            new: None,
            log_message: "git-session delete --remote",
        })?;
    }
    Ok(())
}

/// The remotes whose tracking refs still hold a copy of the session.
fn remote_copies(store: &Store, name: &RefName) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for remote in store.remote_names() {
        let tracking = RefName {
            origin: Origin::Remote(remote.clone()),
            ..name.clone()
        };
        if store.find_ref(&tracking.full())?.is_some() {
            out.push(remote);
        }
    }
    Ok(out)
}
