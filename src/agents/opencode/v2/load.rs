//! Restoring a session into OpenCode 2: `opencode session import` of each session, parents
//! first (a child needs its parent: `packages/core/src/session/transfer.ts`).
//!
//! OpenCode 2's import keeps ids and, for an id that exists, prints `Session already exists`
//! and exits 0 without changing anything. So an exact restore, as for OpenCode 1, backs the
//! local copy up, deletes it (`session delete` takes the children with it), then imports; and
//! an import that still answers `Session already exists` is an error, never success.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::source::local_tree;
use crate::agents::opencode::cli::{OpenCode, OpenCodeError, Result};
use crate::agents::opencode::export;
use crate::agents::opencode::load::{same_as_local, Restored};
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
    let tree = session.walk();
    let mut replaced = false;
    let mut backups = Vec::new();
    if !keep_existing {
        let mut existing: Vec<(String, Option<String>)> = Vec::new();
        for s in &tree {
            match opencode.session_export(&s.id) {
                Ok(local) => existing.push((
                    s.id.clone(),
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
        if !existing.is_empty() {
            let here: HashSet<&str> = existing.iter().map(|(id, _)| id.as_str()).collect();
            let topmost: Vec<&String> = existing
                .iter()
                .filter(|(_, parent)| !parent.as_deref().is_some_and(|p| here.contains(p)))
                .map(|(id, _)| id)
                .collect();
            let mut locals = Vec::new();
            for id in &topmost {
                locals.push(local_tree(opencode, id)?);
            }
            if let [local] = locals.as_slice() {
                if same_as_local(local, session) {
                    return Ok(Restored {
                        identical: true,
                        ..Restored::default()
                    });
                }
            }
            replaced = true;
            for local in locals {
                let id = local.id.clone();
                backups.push(
                    crate::session::backup::write(
                        backup_dir,
                        &crate::agents::opencode::OpenCodeAgent,
                        local,
                    )
                    .map_err(|source| OpenCodeError::Io {
                        context: format!(
                            "cannot write the backup of {id} in {}",
                            backup_dir.display()
                        ),
                        source,
                    })?,
                );
            }
            for id in topmost {
                opencode.delete(id)?;
            }
        }
    }
    let mut imported = Vec::new();
    for (n, s) in tree.iter().enumerate() {
        let file = opencode.scratch_file(&format!("import-v2-{n}.json"));
        export::write_file(s, &file).map_err(|source| OpenCodeError::Io {
            context: format!("cannot write {}", file.display()),
            source,
        })?;
        let result = opencode.session_import(&file, &s.id, &cwd_for(s));
        let _ = std::fs::remove_file(&file);
        result?;
        imported.push(s.id.clone());
    }
    Ok(Restored {
        identical: false,
        replaced,
        backups,
        imported,
    })
}
