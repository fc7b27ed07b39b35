//! What commands share about where they run: the checkout the agents work in, the agent of a
//! saved session (from the registry), and git's automatic housekeeping after writing.

use super::CliError;
use crate::agents::{registry, Agent, Checkout};
use crate::store::Store;

/// The checkout of `store` as the agents see it.
pub(crate) fn checkout(store: &Store) -> Checkout {
    let canonical = |p: std::path::PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    Checkout {
        root: store.workdir().map(canonical),
        cwd: std::env::current_dir().map(canonical).unwrap_or_default(),
        state_dir: store.state_dir(),
    }
}

/// The agent whose sessions live under ref namespace `namespace`.
pub(crate) fn agent_for(namespace: &str) -> Result<&'static dyn Agent, CliError> {
    registry::by_name(namespace).ok_or_else(|| {
        let known: Vec<&str> = registry::all().iter().map(|a| a.name()).collect();
        CliError::user(format!(
            "sessions of agent '{namespace}' are not known to this git-session (it knows {})",
            known.join(", ")
        ))
        .hint("upgrade git-session to read them")
    })
}

/// Lets git pack loose objects when it would on its own (`gc.auto`), after a command wrote some.
pub(crate) fn gc_auto(store: &Store) {
    crate::git_cli::gc_auto(
        &store.objects_dir(),
        &store.common_dir(),
        store.config_integer("gc.auto"),
        store.config_integer("gc.autoPackLimit"),
    );
}
