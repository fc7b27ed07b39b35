//! The searchable texts of a Claude Code session: prompts, answers, thinking, tool inputs and
//! tool results, each named by session, record (line id), content block and field.

use serde_json::Value;

use crate::agents::TextField;
use crate::session::Session;

/// Every searchable text of `session` and its subagents, in transcript order.
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
            match record.pointer("/message/content") {
                Some(Value::String(text)) => push("#0".into(), "text", text),
                Some(Value::Array(blocks)) => {
                    for (index, block) in blocks.iter().enumerate() {
                        let part = format!("#{index}");
                        match block.get("type").and_then(Value::as_str) {
                            Some("text") => push(part, "text", str_at(block, "text")),
                            Some("thinking") => push(part, "thinking", str_at(block, "thinking")),
                            Some("tool_use") => {
                                if let Some(Value::Object(input)) = block.get("input") {
                                    for (key, value) in input {
                                        if let Some(text) = value.as_str() {
                                            push(part.clone(), &format!("input.{key}"), text);
                                        }
                                    }
                                }
                            }
                            Some("tool_result") => match block.get("content") {
                                Some(Value::String(text)) => push(part, "output", text),
                                Some(Value::Array(items)) => {
                                    for item in items {
                                        push(part.clone(), "output", str_at(item, "text"));
                                    }
                                }
                                _ => {}
                            },
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Content blocks of one record (a record without a content array counts as one).
pub fn part_count(record: &Value) -> u64 {
    match record.pointer("/message/content") {
        Some(Value::Array(blocks)) => blocks.len() as u64,
        _ => 1,
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::json;

    #[test]
    fn prompts_tool_inputs_and_results_are_searchable() {
        let records = [
            json!({"type": "user", "message": {"role": "user", "content": "find the bug"}}),
            json!({"type": "assistant", "message": {"content": [
                {"type": "thinking", "thinking": "look at parse"},
                {"type": "tool_use", "name": "Bash", "input": {"command": "grep -n parse src"}}]}}),
            json!({"type": "user", "message": {"content": [
                {"type": "tool_result", "content": "src/lib.rs:3: fn parse"}]}}),
            json!({"type": "attachment"}),
        ];
        let session = Session {
            id: "s".into(),
            info: json!({}),
            messages: records
                .iter()
                .enumerate()
                .map(|(i, r)| Message {
                    id: format!("l{i:06}"),
                    body: r.clone().into(),
                })
                .collect(),
            children: vec![],
        };
        let found: Vec<(String, String, String)> = fields(&session)
            .into_iter()
            .map(|f| (f.message, f.field, f.text))
            .collect();
        assert_eq!(
            found,
            [
                ("l000000".into(), "text".into(), "find the bug".into()),
                ("l000001".into(), "thinking".into(), "look at parse".into()),
                (
                    "l000001".into(),
                    "input.command".into(),
                    "grep -n parse src".into()
                ),
                (
                    "l000002".into(),
                    "output".into(),
                    "src/lib.rs:3: fn parse".into()
                ),
            ]
        );
        assert_eq!(part_count(&records[1]), 2);
        assert_eq!(part_count(&records[3]), 1);
    }
}
