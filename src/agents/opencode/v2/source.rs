//! Reading sessions from OpenCode 2 through its CLI: `opencode session list --format json`
//! (top-level sessions of the project) and `opencode session export <id>` per session
//! (`packages/cli/src/commands/commands.ts`).
//!
//! OpenCode 2 has no `db` command to walk `parent_id` with, and `session list` shows top-level
//! sessions only: children are found where their parent names them, in the `sessionId` (or
//! `sessionID`) its `task` tool calls record in their metadata, and kept when their export
//! names that parent as `info.parentID`.

use serde_json::Value;

use crate::agents::opencode::cli::{OpenCode, OpenCodeError, Result};
use crate::agents::opencode::source::{in_checkout, pick_roots, Progress, Read, Roots, Which};
use crate::session::Session;

/// Reads the chosen sessions and all their descendants from OpenCode 2, parents before
/// children (flat).
pub fn read(
    opencode: &OpenCode,
    which: &Which,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Read> {
    let Roots {
        ids: roots,
        other_checkouts,
    } = pick_roots(opencode, which)?;
    let mut sessions = Vec::new();
    let mut total = roots.len();
    for (n, root) in roots.iter().enumerate() {
        let first = opencode.session_export(root)?;
        if n == 0 {
            if let Which::Session(id) = which {
                let directory = first
                    .info
                    .pointer("/info/location/directory")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if !in_checkout(&directory, opencode.dir()) {
                    return Err(OpenCodeError::OtherProject {
                        id: id.clone(),
                        directory,
                    });
                }
            }
        }
        let mut queue = vec![first];
        while let Some(session) = queue.pop() {
            progress(Progress {
                id: &session.id,
                index: sessions.len() + 1,
                total: total.max(sessions.len() + 1),
            });
            let kids = child_ids(&session);
            total += kids.len();
            for kid in kids.iter().rev() {
                match opencode.session_export(kid) {
                    Ok(child)
                        if child.info.pointer("/info/parentID").and_then(Value::as_str)
                            == Some(session.id.as_str()) =>
                    {
                        queue.push(child)
                    }
                    Ok(_) | Err(OpenCodeError::NoSuchSession { .. }) => total -= 1,
                    Err(e) => return Err(e),
                }
            }
            sessions.push(session);
        }
    }
    Ok(Read {
        sessions,
        other_checkouts,
    })
}

/// The local copy of `id` with all its descendants, nested.
pub fn local_tree(opencode: &OpenCode, id: &str) -> Result<Session> {
    let read =
        read(opencode, &Which::Session(id.to_owned()), &mut |_| {}).or_else(|e| match e {
            // A restore replaces what is there, wherever it ran.
            OpenCodeError::OtherProject { .. } => read_anywhere(opencode, id),
            other => Err(other),
        })?;
    crate::session::save_set::assemble(&crate::agents::opencode::OpenCodeAgent, read.sessions)
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| OpenCodeError::NoSuchSession { id: id.to_owned() })
}

fn read_anywhere(opencode: &OpenCode, id: &str) -> Result<Read> {
    let mut sessions = Vec::new();
    let mut queue = vec![opencode.session_export(id)?];
    while let Some(session) = queue.pop() {
        for kid in child_ids(&session) {
            if let Ok(child) = opencode.session_export(&kid) {
                if child.info.pointer("/info/parentID").and_then(Value::as_str)
                    == Some(session.id.as_str())
                {
                    queue.push(child);
                }
            }
        }
        sessions.push(session);
    }
    Ok(Read {
        sessions,
        other_checkouts: Vec::new(),
    })
}

/// The child session ids a session's `task` tool calls name, in order, without repeats.
pub fn child_ids(session: &Session) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for message in &session.messages {
        let value = message.body.value();
        for c in value
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if c.get("type").and_then(Value::as_str) != Some("tool") {
                continue;
            }
            for key in ["/state/metadata/sessionId", "/state/metadata/sessionID"] {
                if let Some(id) = c.pointer(key).and_then(Value::as_str) {
                    if id.starts_with("ses_") && id != session.id && !out.iter().any(|o| o == id) {
                        out.push(id.to_owned());
                    }
                }
            }
        }
    }
    out
}
