//! What `push`, `pull` and `sync` share: choosing the remote, pushing refs, fetching and
//! integrating, and reporting each session's outcome.

use serde::Serialize;

use super::{ui, CliError};
use crate::agents::registry;
use crate::git_cli::{self, GitError, PushStatus, PushedRef};
use crate::session::integrate::{integrate, Integration};
use crate::session::SessionHistory;
use crate::store::layout::{Origin, RefName};
use crate::store::Store;

impl From<GitError> for CliError {
    fn from(e: GitError) -> Self {
        match e {
            GitError::NotFound => {
                CliError::user(e).hint("install git; git-session uses it to push and fetch")
            }
            GitError::Failed { .. } => CliError::user(e)
                .hint("check that the remote exists and is reachable: git remote -v"),
        }
    }
}

/// Picks the remote: the one named, else `origin`, else the only remote.
pub(crate) fn choose_remote(store: &Store, named: Option<&str>) -> Result<String, CliError> {
    let remotes = store.remote_names();
    if let Some(name) = named {
        if remotes.iter().any(|r| r == name) {
            return Ok(name.to_owned());
        }
        return Err(CliError::user(format!("no remote named '{name}'")).hint(
            "list remotes with 'git remote -v'; add one with 'git remote add <name> <url>'",
        ));
    }
    if remotes.iter().any(|r| r == "origin") {
        return Ok("origin".to_owned());
    }
    match remotes.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(CliError::user("this repository has no remote")
            .hint("add one with 'git remote add origin <url>'")),
        many => Err(CliError::user(format!(
            "several remotes and none is 'origin': {}",
            many.join(", ")
        ))
        .hint("name the remote: git session push <remote>")),
    }
}

/// Whether transfers may show git's progress (a terminal, and not `--json`).
pub(crate) fn show_progress(json: bool) -> bool {
    !json && ui::stderr_is_terminal()
}

/// The outcome of integrating one session.
pub(crate) struct Pulled {
    pub name: RefName,
    pub outcome: Integration,
}

/// Fetches the remote's sessions and integrates each into the local ref.
pub(crate) fn pull(store: &Store, remote: &str, progress: bool) -> Result<Vec<Pulled>, CliError> {
    git_cli::fetch_sessions(&store.common_dir(), remote, progress)?;
    let history = SessionHistory::new(store);
    let threshold = super::settings::split_threshold(store);
    let mut out = Vec::new();
    for saved in history.sessions()? {
        if saved.name.origin != Origin::Remote(remote.to_owned()) {
            continue;
        }
        let Some(agent) = registry::by_name(&saved.name.namespace) else {
            ui::status(&format!(
                "warning: skipped {} from {remote}: sessions of agent '{}' are not known to this git-session",
                saved.name.id, saved.name.namespace
            ));
            continue;
        };
        let outcome = integrate(store, &saved.name, agent.merge_rules(), threshold)?;
        out.push(Pulled {
            name: saved.name,
            outcome,
        });
    }
    Ok(out)
}

/// Pushes local sessions refs (all, or those named) to `remote`, without force.
pub(crate) fn push(
    store: &Store,
    remote: &str,
    names: &[RefName],
    progress: bool,
) -> Result<Vec<PushedRef>, CliError> {
    let refs: Vec<String> = if names.is_empty() {
        SessionHistory::new(store)
            .local_sessions()?
            .iter()
            .map(|s| s.name.full())
            .collect()
    } else {
        names.iter().map(RefName::full).collect()
    };
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let specs: Vec<String> = refs.iter().map(|r| format!("{r}:{r}")).collect();
    Ok(git_cli::push(
        &store.common_dir(),
        remote,
        &specs,
        progress,
    )?)
}

/// One line for a pulled session.
pub(crate) fn pulled_line(p: &Pulled, remote: &str) -> String {
    let id = &p.name.id;
    match &p.outcome {
        Integration::Adopted { tip } => format!("adopted {id} from {remote} ({})", ui::short(tip)),
        Integration::FastForwarded { from, to } => format!(
            "fast-forwarded {id} {}..{}",
            ui::short(from),
            ui::short(to)
        ),
        Integration::Merged { commit, conflicts } if conflicts.is_empty() => {
            format!("merged {id} ({})", ui::short(commit))
        }
        Integration::Merged { commit, conflicts } => format!(
            "merged {id} ({}); {} version conflict(s) resolved to the newer, listed in the merge commit",
            ui::short(commit),
            conflicts.len()
        ),
        Integration::UpToDate => format!("{id} is up to date"),
        Integration::LocalAhead => format!("{id} has local saves to push"),
    }
}

/// The `--json` form of a pulled session (in `pull`'s and `sync`'s documents).
#[derive(Debug, Serialize)]
pub(crate) struct PulledJson<'a> {
    session: &'a str,
    agent: &'a str,
    /// `adopted`, `fast-forwarded`, `merged`, `up-to-date` or `local-ahead`.
    result: &'static str,
    /// The local ref's new save; `null` when it did not move.
    commit: Option<String>,
    /// For a merge: where both sides differed, and what was kept.
    conflicts: &'a [String],
}

impl<'a> PulledJson<'a> {
    pub(crate) fn new(p: &'a Pulled) -> Self {
        let (result, commit, conflicts): (_, _, &[String]) = match &p.outcome {
            Integration::Adopted { tip } => ("adopted", Some(tip.to_string()), &[]),
            Integration::FastForwarded { to, .. } => ("fast-forwarded", Some(to.to_string()), &[]),
            Integration::Merged { commit, conflicts } => {
                ("merged", Some(commit.to_string()), conflicts)
            }
            Integration::UpToDate => ("up-to-date", None, &[]),
            Integration::LocalAhead => ("local-ahead", None, &[]),
        };
        PulledJson {
            session: &p.name.id,
            agent: &p.name.namespace,
            result,
            commit,
            conflicts,
        }
    }
}

/// One line for a pushed ref.
pub(crate) fn pushed_line(p: &PushedRef, remote: &str) -> String {
    let id = p.remote_ref.rsplit('/').next().unwrap_or(&p.remote_ref);
    match p.status {
        PushStatus::Created => format!("pushed {id} to {remote} (new)"),
        PushStatus::Updated => format!("pushed {id} to {remote}"),
        PushStatus::UpToDate => format!("{id} is up to date on {remote}"),
        PushStatus::Deleted => format!("deleted {id} on {remote}"),
        PushStatus::Behind => {
            format!("{id} was not pushed: {remote} has saves this clone lacks")
        }
        PushStatus::Refused => format!("{remote} refused {id}: {}", p.summary),
    }
}

/// The `--json` form of a pushed ref (in `push`'s and `sync`'s documents).
#[derive(Debug, Serialize)]
pub(crate) struct PushedJson<'a> {
    /// The remote ref name.
    #[serde(rename = "ref")]
    ref_name: &'a str,
    /// The session id (the ref name's last component).
    session: &'a str,
    /// `created`, `updated`, `up-to-date`, `deleted`, `behind` or `refused`.
    status: &'static str,
    /// git's summary of the ref's push.
    summary: &'a str,
}

impl<'a> PushedJson<'a> {
    pub(crate) fn new(p: &'a PushedRef) -> Self {
        let status = match p.status {
            PushStatus::Created => "created",
            PushStatus::Updated => "updated",
            PushStatus::UpToDate => "up-to-date",
            PushStatus::Deleted => "deleted",
            PushStatus::Behind => "behind",
            PushStatus::Refused => "refused",
        };
        PushedJson {
            ref_name: &p.remote_ref,
            session: p.remote_ref.rsplit('/').next().unwrap_or(&p.remote_ref),
            status,
            summary: &p.summary,
        }
    }
}

/// Resolves ids the user named to local sessions refs.
pub(crate) fn local_refs(store: &Store, ids: &[String]) -> Result<Vec<RefName>, CliError> {
    let history = SessionHistory::new(store);
    let mut out = Vec::new();
    for id in ids {
        let resolved = history.resolve(id)?;
        if resolved.saved.name.origin != Origin::Local {
            return Err(CliError::user(format!(
                "{} is not saved in this repository (only a copy from {})",
                resolved.saved.name.id,
                match &resolved.saved.name.origin {
                    Origin::Remote(r) => r.as_str(),
                    Origin::Local => "here",
                }
            ))
            .hint("bring it in first with 'git session pull'"));
        }
        out.push(RefName::local(
            &resolved.saved.name.namespace,
            &resolved.saved.name.id,
        ));
    }
    Ok(out)
}
