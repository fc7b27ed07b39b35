//! Fetching one session when a command needs it: `load`, `show` and `search --session` name a
//! session that a remote's summary lists (see [`crate::session::summary`]) but this clone has
//! no copy of; it is fetched from that remote with a plain `git fetch` of its one ref (its child
//! sessions are in its saves), and one line says so.

use super::{ui, CliError};
use crate::git_cli;
use crate::session::summary::{self, Summary};
use crate::session::{Resolved, SessionError, SessionHistory};
use crate::store::layout::{Origin, RefName};
use crate::store::Store;

/// Resolves `query` (an id or unique prefix) as [`SessionHistory::resolve`] does; when no
/// session here matches and a fetched summary does, fetches that session first.
pub(crate) fn resolve(store: &Store, query: &str) -> Result<Resolved, CliError> {
    let history = SessionHistory::new(store);
    match history.resolve(query) {
        Err(SessionError::NotFound { .. }) => {}
        other => return Ok(other?),
    }
    let Some(wanted) = listed(store, query)? else {
        return Ok(history.resolve(query)?);
    };
    fetch(store, &wanted)?;
    Ok(history.resolve(&wanted.id)?)
}

/// The summary that `query` names: an exact id, else the one id it is a prefix of (at least two
/// characters). Several ids are an error that lists them.
fn listed(store: &Store, query: &str) -> Result<Option<Summary>, CliError> {
    let summaries = summary::list_fetched(store)?;
    if let Some(exact) = summaries.iter().find(|s| s.id == query) {
        return Ok(Some(exact.clone()));
    }
    let matching: Vec<&Summary> = summaries
        .iter()
        .filter(|s| query.len() >= 2 && s.id.starts_with(query))
        .collect();
    let mut ids: Vec<&str> = matching.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(matching.first().map(|s| (*s).clone())),
        _ => Err(SessionError::Ambiguous {
            query: query.to_owned(),
            candidates: ids.into_iter().map(str::to_owned).collect(),
        }
        .into()),
    }
}

/// Fetches the session `wanted` describes into `refs/remotes/<remote>/sessions/<agent>/<id>`.
fn fetch(store: &Store, wanted: &Summary) -> Result<(), CliError> {
    let Origin::Remote(remote) = &wanted.origin else {
        return Ok(());
    };
    let there = RefName::local(&wanted.namespace, &wanted.id);
    let copy = RefName {
        origin: wanted.origin.clone(),
        ..there.clone()
    };
    let spec = format!("+{}:{}", there.full(), copy.full());
    let progress = ui::stderr_is_terminal();
    git_cli::fetch(&store.common_dir(), remote, &[spec], false, progress).map_err(|e| {
        CliError::user(format!("could not fetch {} from {remote}: {e}", wanted.id)).hint(
            format!(
                "check that {remote} is reachable (git remote -v); 'git session pull' updates the list of its sessions"
            ),
        )
    })?;
    ui::status(&format!(
        "Fetched {} from {remote} (only this session: {}, {}).",
        wanted.id,
        ui::count(wanted.trailers.saves as usize, "save", "saves"),
        ui::size(wanted.trailers.bytes)
    ));
    Ok(())
}
