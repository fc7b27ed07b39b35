//! What a file edit looks like in an OpenCode session: the `write`, `edit`, `multiedit`, `patch`
//! and `apply_patch` tool calls that completed (a failed call wrote nothing), and the turns
//! (prompts and answers) for `why`.
//!
//! For the commit hook, the edits of every session of this checkout come from one `opencode db`
//! query over the tool parts (instead of an export per session), remembered in
//! `<git-dir>/git-session/opencode-edits.json` under the database file's size and time, so a
//! commit after no OpenCode activity costs a `stat`. Without an OpenCode database on this
//! machine there is nothing to read and no process is started.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cli::OpenCode;
use crate::agents::patch_text;
use crate::agents::{AgentError, Checkout, FileEdit, Turn};
use crate::session::Session;

/// The tools that write files.
const EDIT_TOOLS: [&str; 5] = ["write", "edit", "multiedit", "patch", "apply_patch"];

/// The edits of one stored message (`{"info": .., "parts": [..]}`), stored as `message_id`.
pub fn message_edits(message_id: &str, message: &Value, out: &mut Vec<FileEdit>) {
    let Some(parts) = message.get("parts").and_then(Value::as_array) else {
        return;
    };
    for part in parts {
        part_edits(message_id, part, out);
    }
}

fn part_edits(message_id: &str, part: &Value, out: &mut Vec<FileEdit>) {
    if part.get("type").and_then(Value::as_str) != Some("tool") {
        return;
    }
    let tool = part.get("tool").and_then(Value::as_str).unwrap_or("");
    let Some(state) = part.get("state") else {
        return;
    };
    if !EDIT_TOOLS.contains(&tool)
        || state.get("status").and_then(Value::as_str) != Some("completed")
    {
        return;
    }
    let input = state.get("input").unwrap_or(&Value::Null);
    let str_at = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let time_ms = state
        .pointer("/time/end")
        .or_else(|| state.pointer("/time/start"))
        .and_then(Value::as_i64);
    let mut push = |path: String, old: String, new: String| {
        if !path.is_empty() {
            out.push(FileEdit {
                path,
                old,
                new,
                message: message_id.to_owned(),
                time_ms,
            });
        }
    };
    let file = str_at(input, "filePath").unwrap_or_default();
    match tool {
        "write" => push(
            file,
            String::new(),
            str_at(input, "content").unwrap_or_default(),
        ),
        "edit" => push(
            file,
            str_at(input, "oldString").unwrap_or_default(),
            str_at(input, "newString").unwrap_or_default(),
        ),
        "multiedit" => {
            for e in input
                .get("edits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(
                    str_at(e, "filePath").unwrap_or_else(|| file.clone()),
                    str_at(e, "oldString").unwrap_or_default(),
                    str_at(e, "newString").unwrap_or_default(),
                );
            }
        }
        _ => {
            let text = str_at(input, "patchText").unwrap_or_default();
            let files = if text.contains("*** Begin Patch") {
                patch_text::apply_patch(&text)
            } else {
                patch_text::unified(&text)
            };
            for f in files {
                push(f.path, f.old, f.new);
            }
        }
    }
}

/// Every edit of `session`'s own messages, in order.
pub fn file_edits(session: &Session) -> Vec<FileEdit> {
    let mut out = Vec::new();
    for message in &session.messages {
        message_edits(&message.id, &message.body.value(), &mut out);
    }
    out
}

/// The prompts and answers of `session`: each message's text parts (synthetic ones left out).
pub fn turns(session: &Session) -> Vec<Turn> {
    let mut out = Vec::new();
    for message in &session.messages {
        let value = message.body.value();
        let role = value
            .pointer("/info/role")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let text: Vec<&str> = value
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter(|p| p.get("synthetic").and_then(Value::as_bool) != Some(true))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        if text.is_empty() || role.is_empty() {
            continue;
        }
        out.push(Turn {
            message: message.id.clone(),
            role,
            text: text.join("\n"),
            time_ms: value.pointer("/info/time/created").and_then(Value::as_i64),
        });
    }
    out
}

/// OpenCode's database file on this machine (`OPENCODE_DB`, else `opencode.db` in its data dir).
fn database() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))?
        .join("opencode");
    match std::env::var_os("OPENCODE_DB").filter(|d| !d.is_empty()) {
        Some(db) if db == ":memory:" => None,
        Some(db) => Some(data.join(db)),
        None => Some(data.join("opencode.db")),
    }
}

/// What the database looked like: the sizes and times of the file and its write-ahead log.
fn stamp(db: &Path) -> Option<String> {
    let of = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{t}", m.len())
        })
    };
    let main = of(db)?;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    Some(format!(
        "{main}/{}",
        of(Path::new(&wal)).unwrap_or_default()
    ))
}

/// The remembered result of the last query.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Remembered {
    stamp: String,
    root: String,
    edits: Vec<(String, Vec<FileEdit>)>,
}

/// The SQL that lists the edit tool parts of every session (children included) whose root
/// session ran in `root` or below, with the root's id.
pub fn edits_sql(root: &str) -> String {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let tools = EDIT_TOOLS.map(quoted).join(",");
    let prefix = format!("{root}/");
    format!(
        "WITH RECURSIVE tree(id, root) AS (SELECT id, id FROM session WHERE parent_id IS NULL \
         AND (directory = {} OR substr(directory, 1, {}) = {}) \
         UNION SELECT s.id, t.root FROM session s JOIN tree t ON s.parent_id = t.id) \
         SELECT t.root AS root, p.message_id AS message_id, p.data AS data \
         FROM part p JOIN tree t ON p.session_id = t.id \
         WHERE json_extract(p.data, '$.type') = 'tool' \
         AND json_extract(p.data, '$.tool') IN ({tools}) ORDER BY p.id",
        quoted(root),
        prefix.chars().count(),
        quoted(&prefix)
    )
}

/// The edits of this checkout's sessions by root session, for the commit hook.
pub fn checkout_edits(checkout: &Checkout) -> Result<Vec<(String, Vec<FileEdit>)>, AgentError> {
    let root = checkout.root(super::super::opencode::AGENT)?;
    let Some(db) = database() else {
        return Ok(Vec::new());
    };
    let Some(stamp) = stamp(&db) else {
        // No OpenCode database on this machine: no OpenCode session ever ran here.
        return Ok(Vec::new());
    };
    let root_text = root.display().to_string();
    let memo = checkout.state_dir.join("opencode-edits.json");
    if let Some(known) = std::fs::read(&memo)
        .ok()
        .and_then(|b| serde_json::from_slice::<Remembered>(&b).ok())
        .filter(|r| r.stamp == stamp && r.root == root_text)
    {
        return Ok(known.edits);
    }
    let opencode = OpenCode::from_env(root)?;
    let rows = opencode.query(&edits_sql(&root_text))?;
    let mut edits: Vec<(String, Vec<FileEdit>)> = Vec::new();
    for row in rows {
        let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let (root_id, message) = (text("root"), text("message_id"));
        let part: Value = match row.get("data") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        let mut found = Vec::new();
        part_edits(&message, &part, &mut found);
        match edits.iter_mut().find(|(id, _)| *id == root_id) {
            Some((_, all)) => all.extend(found),
            None => edits.push((root_id, found)),
        }
    }
    let remembered = Remembered {
        stamp,
        root: root_text,
        edits,
    };
    if let Ok(bytes) = serde_json::to_vec(&remembered) {
        let _ = std::fs::create_dir_all(&checkout.state_dir);
        let _ = crate::fsutil::write_atomically(&memo, &bytes);
    }
    Ok(remembered.edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn completed_write_edit_and_patch_calls_are_edits_and_failed_ones_are_not() {
        let message = json!({"info": {"id": "msg_1", "role": "assistant"}, "parts": [
            {"type": "tool", "tool": "write", "state": {"status": "completed",
              "input": {"filePath": "/r/a.txt", "content": "one\ntwo\n"}, "time": {"start": 5, "end": 6}}},
            {"type": "tool", "tool": "edit", "state": {"status": "completed",
              "input": {"filePath": "/r/a.txt", "oldString": "two", "newString": "three"}}},
            {"type": "tool", "tool": "edit", "state": {"status": "error",
              "input": {"filePath": "/r/a.txt", "oldString": "x", "newString": "y"}}},
            {"type": "tool", "tool": "apply_patch", "state": {"status": "completed",
              "input": {"patchText": "*** Begin Patch\n*** Add File: b.txt\n+bee\n*** End Patch"}}},
            {"type": "tool", "tool": "bash", "state": {"status": "completed", "input": {"command": "ls"}}}
        ]});
        let mut edits = Vec::new();
        message_edits("msg_1", &message, &mut edits);
        let seen: Vec<(&str, &str, &str)> = edits
            .iter()
            .map(|e| (e.path.as_str(), e.old.as_str(), e.new.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("/r/a.txt", "", "one\ntwo\n"),
                ("/r/a.txt", "two", "three"),
                ("b.txt", "", "bee\n")
            ]
        );
        assert_eq!(edits[0].time_ms, Some(6));
        assert!(edits.iter().all(|e| e.message == "msg_1"));
    }

    #[test]
    fn the_edits_query_keeps_to_this_checkout_and_quotes_it() {
        let sql = edits_sql("/w/it's");
        assert!(sql.contains("directory = '/w/it''s'"), "{sql}");
        assert!(
            sql.contains("substr(directory, 1, 8) = '/w/it''s/'"),
            "{sql}"
        );
        assert!(sql.contains("'apply_patch'"), "{sql}");
    }
}
