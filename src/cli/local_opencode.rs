//! The local OpenCode as the commands use it: run in this repository's worktree, which is how
//! OpenCode knows the project.

use std::path::PathBuf;

use super::save::SaveArgs;
use super::{ui, CliError};
use crate::agents::opencode::cli::OpenCode;
use crate::agents::opencode::source::{self, Which};
use crate::session::Session;
use crate::store::Store;

/// The worktree root of the repository, resolved as OpenCode records it (symlinks resolved, as
/// `git rev-parse --show-toplevel` does).
pub(crate) fn worktree_root(store: &Store, command: &str) -> Result<PathBuf, CliError> {
    let Some(dir) = store.workdir() else {
        return Err(CliError::user(format!(
            "'git session {command}' needs a worktree: OpenCode sessions belong to a checkout, and this repository is bare"
        ))
        .hint("run it in a clone with a working tree"));
    };
    Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// The local OpenCode (`GIT_SESSION_OPENCODE`, else `opencode` on PATH), run in the worktree
/// root, and that root.
pub(crate) fn open(store: &Store, command: &str) -> Result<(OpenCode, PathBuf), CliError> {
    let root = worktree_root(store, command)?;
    Ok((OpenCode::from_env(&root)?, root))
}

/// The sessions `git session save` reads when no `--from` is given: the most recent root
/// session of this project, `--session <id>`, or `--all`; each with all its descendants.
pub(crate) fn read_for_save(store: &Store, args: &SaveArgs) -> Result<Vec<Session>, CliError> {
    let (opencode, _) = open(store, "save")?;
    let which = match (&args.session, args.all) {
        (Some(id), _) => Which::Session(id.clone()),
        (None, true) => Which::All,
        (None, false) => Which::Latest,
    };
    let show_progress = !args.quiet && !args.json && ui::stderr_is_terminal();
    let mut progress = |p: source::Progress<'_>| {
        if show_progress {
            ui::status(&format!(
                "Reading {} from OpenCode ({}/{})…",
                p.id, p.index, p.total
            ));
        }
    };
    Ok(source::read(&opencode, &which, &mut progress)?)
}
