//! What a file edit looks like in a Claude Code transcript: the `Write`, `Edit` and `MultiEdit`
//! tool calls (`tool_use` blocks of assistant records) whose result was not an error, and the
//! turns (prompts and answers) for `why`.

use std::collections::HashSet;

use serde_json::Value;

use crate::agents::lines::timestamp_ms;
use crate::agents::{FileEdit, Turn};
use crate::session::Session;

/// The content blocks of a record's message, when it has a list of them.
fn blocks(record: &Value) -> &[Value] {
    record
        .pointer("/message/content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Every edit of `session`'s own records, in transcript order.
pub fn file_edits(session: &Session) -> Vec<FileEdit> {
    let records: Vec<(String, Value)> = session
        .messages
        .iter()
        .map(|m| (m.id.clone(), m.body.value().into_owned()))
        .collect();
    // A tool call whose result is an error wrote nothing.
    let failed: HashSet<&str> = records
        .iter()
        .flat_map(|(_, r)| blocks(r))
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .filter(|b| b.get("is_error").and_then(Value::as_bool) == Some(true))
        .filter_map(|b| b.get("tool_use_id").and_then(Value::as_str))
        .collect();
    let mut out = Vec::new();
    for (id, record) in &records {
        let time_ms = record
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(timestamp_ms);
        for block in blocks(record) {
            if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                continue;
            }
            if block
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|i| failed.contains(i))
            {
                continue;
            }
            let input = block.get("input").unwrap_or(&Value::Null);
            let text =
                |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let path = text(input, "file_path");
            let mut push = |old: String, new: String| {
                if !path.is_empty() {
                    out.push(FileEdit {
                        path: path.clone(),
                        old,
                        new,
                        message: id.clone(),
                        time_ms,
                    });
                }
            };
            match block.get("name").and_then(Value::as_str) {
                Some("Write") => push(String::new(), text(input, "content")),
                Some("Edit") => push(text(input, "old_string"), text(input, "new_string")),
                Some("MultiEdit") => {
                    for e in input
                        .get("edits")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        push(text(e, "old_string"), text(e, "new_string"));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The prompts and answers of `session`: user records' text (not tool results, not meta or
/// summary records) and assistant records' text blocks.
pub fn turns(session: &Session) -> Vec<Turn> {
    let mut out = Vec::new();
    for message in &session.messages {
        let record = message.body.value();
        let role = match record.get("type").and_then(Value::as_str) {
            Some(r @ ("user" | "assistant")) => r.to_owned(),
            _ => continue,
        };
        let flag = |k: &str| record.get(k).and_then(Value::as_bool) == Some(true);
        if flag("isMeta") || flag("isCompactSummary") {
            continue;
        }
        let text = match record.pointer("/message/content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        if text.trim().is_empty() {
            continue;
        }
        out.push(Turn {
            message: message.id.clone(),
            role,
            text,
            time_ms: record
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(timestamp_ms),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::json;

    fn session(records: Vec<Value>) -> Session {
        Session {
            id: "s".into(),
            info: json!({}),
            messages: records
                .into_iter()
                .enumerate()
                .map(|(i, r)| Message {
                    id: format!("l{i:06}-s"),
                    body: r.into(),
                })
                .collect(),
            children: vec![],
        }
    }

    #[test]
    fn write_edit_and_multiedit_calls_are_edits_unless_their_result_is_an_error() {
        let s = session(vec![
            json!({"type": "user", "message": {"role": "user", "content": "make it"}, "timestamp": "2026-11-22T03:31:29.195Z"}),
            json!({"type": "assistant", "timestamp": "2026-11-22T03:31:30.000Z", "message": {"content": [
                {"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": "/r/a.py", "content": "x = 1\n"}},
                {"type": "tool_use", "id": "t2", "name": "Edit", "input": {"file_path": "/r/a.py", "old_string": "x = 1", "new_string": "x = 2"}},
                {"type": "tool_use", "id": "t3", "name": "MultiEdit", "input": {"file_path": "/r/b.py", "edits": [{"old_string": "a", "new_string": "b"}]}},
                {"type": "tool_use", "id": "t4", "name": "Bash", "input": {"command": "ls"}}
            ]}}),
            json!({"type": "user", "message": {"content": [
                {"type": "tool_result", "tool_use_id": "t2", "is_error": true, "content": "no match"}
            ]}}),
        ]);
        let edits = file_edits(&s);
        let seen: Vec<(&str, &str)> = edits
            .iter()
            .map(|e| (e.path.as_str(), e.new.as_str()))
            .collect();
        assert_eq!(seen, [("/r/a.py", "x = 1\n"), ("/r/b.py", "b")]);
        assert_eq!(edits[0].message, "l000001-s");
        assert_eq!(edits[0].time_ms, Some(1_795_318_290_000));
        let turns = turns(&s);
        assert_eq!(turns.len(), 1);
        assert_eq!(
            (turns[0].role.as_str(), turns[0].text.as_str()),
            ("user", "make it")
        );
    }
}
