//! Restoring a session into OpenCode 2: `opencode session import` of each session, parents
//! first (a child needs its parent: `packages/core/src/session/transfer.ts`).
//!
//! OpenCode 2's import keeps ids and, for an id that exists, prints `Session already exists`
//! and exits 0 without changing anything. So an exact restore, as for OpenCode 1, backs the
//! local copy up, deletes it (`session delete` takes the children with it), then imports; and
//! an import that still answers `Session already exists` is an error, never success.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::source::local_tree;
use crate::agents::opencode::cli::{OpenCode, OpenCodeError, Result};
use crate::agents::opencode::load::{restore_into, ImportTarget, Restored};
use crate::session::Session;

/// Imports `session` (in OpenCode 2's format) and its children, like
/// [`crate::agents::opencode::load::restore`] does into OpenCode 1.
pub fn restore(
    opencode: &OpenCode,
    session: &Session,
    keep_existing: bool,
    backup_dir: &Path,
    cwd_for: &dyn Fn(&Session) -> PathBuf,
) -> Result<Restored> {
    let target = OpenCode2 { opencode, cwd_for };
    restore_into(opencode, &target, session, keep_existing, backup_dir)
}

/// OpenCode 2: `opencode session export` and `opencode session import`.
struct OpenCode2<'a> {
    opencode: &'a OpenCode,
    cwd_for: &'a dyn Fn(&Session) -> PathBuf,
}

impl ImportTarget for OpenCode2<'_> {
    fn existing(&self, ids: &[String]) -> Result<Vec<(String, Option<String>)>> {
        let mut existing = Vec::new();
        for id in ids {
            match self.opencode.session_export(id) {
                Ok(local) => existing.push((
                    id.clone(),
                    local
                        .info
                        .pointer("/info/parentID")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )),
                Err(OpenCodeError::NoSuchSession { .. }) => {}
                Err(OpenCodeError::Failed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(existing)
    }

    fn local_tree(&self, id: &str) -> Result<Session> {
        local_tree(self.opencode, id)
    }

    fn import(&self, file: &Path, session: &Session) -> Result<()> {
        self.opencode
            .session_import(file, &session.id, &(self.cwd_for)(session))
    }

    fn scratch_prefix(&self) -> &'static str {
        "import-v2"
    }
}
