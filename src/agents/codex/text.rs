//! The searchable texts of a Codex session: prompts, answers, reasoning summaries, tool calls
//! and their output, and compaction summaries, each named by session, record (line id), content
//! item and field. Codex's `event_msg` records repeat what `response_item` records hold, so
//! only the latter are read.

use serde_json::Value;

use crate::agents::TextField;
use crate::session::Session;

/// Every searchable text of `session` and its subagents, in rollout order.
pub fn fields(session: &Session) -> Vec<TextField> {
    let mut out = Vec::new();
    for s in session.walk() {
        for message in &s.messages {
            let record = message.body.value();
            let mut push = |part: String, field: &str, text: &str| {
                if !text.is_empty() {
                    out.push(TextField {
                        session: s.id.clone(),
                        message: message.id.clone(),
                        part,
                        field: field.to_owned(),
                        text: text.to_owned(),
                    });
                }
            };
            let Some(payload) = record.get("payload") else {
                continue;
            };
            match record.get("type").and_then(Value::as_str) {
                Some("response_item") => match payload.get("type").and_then(Value::as_str) {
                    Some("message") => {
                        for (i, item) in array(payload, "content").iter().enumerate() {
                            push(format!("#{i}"), "text", str_at(item, "text"));
                        }
                    }
                    Some("reasoning") => {
                        for (i, item) in array(payload, "summary").iter().enumerate() {
                            push(format!("#{i}"), "reasoning", str_at(item, "text"));
                        }
                    }
                    Some("function_call" | "custom_tool_call") => {
                        let args = str_at(payload, "arguments");
                        match serde_json::from_str::<Value>(args) {
                            Ok(Value::Object(map)) => {
                                for (key, value) in map {
                                    if let Some(text) = value.as_str() {
                                        push("#0".into(), &format!("input.{key}"), text);
                                    }
                                }
                            }
                            _ => push("#0".into(), "input", args),
                        }
                        push("#0".into(), "input", str_at(payload, "input"));
                    }
                    Some("function_call_output" | "custom_tool_call_output") => {
                        match payload.get("output") {
                            Some(Value::String(text)) => push("#0".into(), "output", text),
                            Some(other) => push("#0".into(), "output", str_at(other, "content")),
                            None => {}
                        }
                    }
                    _ => {}
                },
                Some("compacted") => push("#0".into(), "summary", str_at(payload, "message")),
                _ => {}
            }
        }
    }
    out
}

/// Content items of one record (a record without a content array counts as one).
pub fn part_count(record: &Value) -> u64 {
    match record.pointer("/payload/content") {
        Some(Value::Array(items)) if !items.is_empty() => items.len() as u64,
        _ => 1,
    }
}

fn array<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::codex::rollout;

    #[test]
    fn prompts_tool_calls_outputs_and_summaries_are_searchable() {
        let text = include_str!("../../../tests/fixtures/codex/rollout-with-compaction.jsonl");
        let session = rollout::parse(text.as_bytes().to_vec(), "r.jsonl")
            .unwrap()
            .session;
        let found = fields(&session);
        let has = |field: &str, needle: &str| {
            found
                .iter()
                .any(|f| f.field == field && f.text.contains(needle))
        };
        assert!(has("text", "TOOL:echo hello-from-tool HUGE"));
        assert!(has("input.cmd", "echo hello-from-tool HUGE"));
        assert!(has("output", "hello-from-tool HUGE\n"));
        assert!(has("summary", "Another language model"));
        assert!(has("text", "third prompt"));
        assert_eq!(
            found
                .iter()
                .filter(|f| f.text == "TOOL:echo hello-from-tool HUGE")
                .count(),
            1,
            "the event_msg that repeats the prompt is not read"
        );
        let first_user = session.messages[3].body.value().into_owned();
        assert_eq!(part_count(&first_user), 1);
        assert_eq!(part_count(&serde_json::json!({"type": "world_state"})), 1);
    }
}
