//! The searchable texts of an OpenCode session: message text, reasoning, tool inputs, outputs,
//! errors and titles, attached file names and patch file lists, each named by session, message,
//! part and field.

use serde_json::Value;

use crate::session::Session;

pub use crate::agents::TextField;

/// Every searchable text of `session` and its children, in conversation order.
pub fn fields(session: &Session) -> Vec<TextField> {
    let mut out = Vec::new();
    for s in session.walk() {
        for message in &s.messages {
            let body = message.body.value();
            let Some(parts) = body.get("parts").and_then(Value::as_array) else {
                continue;
            };
            for (index, part) in parts.iter().enumerate() {
                let part_id = part
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{index}"), str::to_owned);
                let first = out.len();
                let mut push = |field: String, text: &str| {
                    // A text the part already showed (a title repeating the command) once only.
                    let repeated = out[first..].iter().any(|f: &TextField| f.text == text);
                    if !text.is_empty() && !repeated {
                        out.push(TextField {
                            session: s.id.clone(),
                            message: message.id.clone(),
                            part: part_id.clone(),
                            field,
                            text: text.to_owned(),
                        });
                    }
                };
                part_fields(part, &mut push);
            }
        }
    }
    out
}

fn part_fields(part: &Value, push: &mut dyn FnMut(String, &str)) {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    match kind {
        "text" | "reasoning" => {
            if let Some(text) = str_of(part, "text") {
                push(kind.to_owned(), &text);
            }
        }
        "tool" => {
            let state = part.get("state").unwrap_or(&Value::Null);
            if let Some(tool) = str_of(part, "tool") {
                push("tool".into(), &tool);
            }
            if let Some(title) = str_of(state, "title") {
                push("title".into(), &title);
            }
            if let Some(input) = state.get("input") {
                strings("input", input, push);
            }
            for key in ["output", "error"] {
                if let Some(text) = str_of(state, key) {
                    push(key.into(), &text);
                }
            }
            // A diff OpenCode recorded for an edit (the output only says "applied").
            if let Some(diff) = state.pointer("/metadata/diff").and_then(Value::as_str) {
                push("diff".into(), diff);
            }
        }
        "file" => {
            for key in ["filename", "url"] {
                if let Some(text) = str_of(part, key) {
                    push(key.into(), &text);
                }
            }
        }
        "patch" => {
            if let Some(files) = part.get("files").and_then(Value::as_array) {
                for file in files.iter().filter_map(Value::as_str) {
                    push("files".into(), file);
                }
            }
        }
        "subtask" => {
            for key in ["description", "prompt"] {
                if let Some(text) = str_of(part, key) {
                    push(key.into(), &text);
                }
            }
        }
        _ => {}
    }
}

/// Pushes every string inside `value`, named by its path (`input.command`, `input.edits.0.oldString`).
fn strings(path: &str, value: &Value, push: &mut dyn FnMut(String, &str)) {
    match value {
        Value::String(s) => push(path.to_owned(), s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(&format!("{path}.{i}"), item, push);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                strings(&format!("{path}.{key}"), item, push);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::json;

    #[test]
    fn texts_come_from_messages_tool_inputs_and_outputs() {
        let session = Session {
            id: "ses_1".into(),
            info: json!({}),
            messages: vec![Message {
                id: "msg_1".into(),
                body: json!({"info": {}, "parts": [
                    {"id": "prt_a", "type": "text", "text": "hello"},
                    {"id": "prt_b", "type": "tool", "tool": "bash", "state": {
                        "title": "ls", "input": {"command": "ls", "n": 3}, "output": "a.txt",
                        "metadata": {"output": "a.txt"}}},
                    {"type": "step-finish", "reason": "stop"}]})
                .into(),
            }],
            children: vec![],
        };
        let got: Vec<(String, String, String)> = fields(&session)
            .into_iter()
            .map(|f| (f.part, f.field, f.text))
            .collect();
        let want = [
            ("prt_a", "text", "hello"),
            ("prt_b", "tool", "bash"),
            ("prt_b", "title", "ls"),
            ("prt_b", "output", "a.txt"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(
            got, want,
            "metadata.output (a copy of output) is not searched twice"
        );
    }
}
