//! What a file edit looks like in a Codex rollout: `apply_patch` calls (a `custom_tool_call`
//! with the patch as its input, a `function_call` with `{"input": patch}`, or a shell call whose
//! command is `["apply_patch", patch]`), paths relative to the session's `cwd`; and the turns
//! (prompts and answers) for `why`.

use serde_json::Value;

use crate::agents::lines::timestamp_ms;
use crate::agents::patch_text;
use crate::agents::{FileEdit, Turn};
use crate::session::Session;

/// The patch text of a `response_item` payload, when it is an `apply_patch` call.
fn patch_of(payload: &Value) -> Option<String> {
    let kind = payload.get("type").and_then(Value::as_str)?;
    let name = payload.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "custom_tool_call" if name == "apply_patch" => payload
            .get("input")
            .and_then(Value::as_str)
            .map(str::to_owned),
        "function_call" => {
            let args: Value = serde_json::from_str(payload.get("arguments")?.as_str()?).ok()?;
            if name == "apply_patch" {
                return args.get("input").and_then(Value::as_str).map(str::to_owned);
            }
            let command = args.get("command")?.as_array()?;
            (command.first()?.as_str()? == "apply_patch")
                .then(|| command.get(1)?.as_str().map(str::to_owned))
                .flatten()
        }
        _ => None,
    }
}

/// Every edit of `session`'s own records, in rollout order, paths made absolute with the
/// session's `cwd`.
pub fn file_edits(session: &Session) -> Vec<FileEdit> {
    let mut cwd = String::new();
    let mut out = Vec::new();
    for message in &session.messages {
        let record = message.body.value();
        let payload = record.get("payload").unwrap_or(&Value::Null);
        match record.get("type").and_then(Value::as_str) {
            Some("session_meta") | Some("turn_context") => {
                if let Some(dir) = payload.get("cwd").and_then(Value::as_str) {
                    cwd = dir.to_owned();
                }
            }
            Some("response_item") => {
                let Some(patch) = patch_of(payload) else {
                    continue;
                };
                let time_ms = record
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .and_then(timestamp_ms);
                for file in patch_text::apply_patch(&patch) {
                    let path = if file.path.starts_with('/') || cwd.is_empty() {
                        file.path
                    } else {
                        format!("{}/{}", cwd.trim_end_matches('/'), file.path)
                    };
                    out.push(FileEdit {
                        path,
                        old: file.old,
                        new: file.new,
                        message: message.id.clone(),
                        time_ms,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The prompts and answers of `session`: `response_item` messages of the user and the
/// assistant, without the context Codex injects (texts that start with `<`).
pub fn turns(session: &Session) -> Vec<Turn> {
    let mut out = Vec::new();
    for message in &session.messages {
        let record = message.body.value();
        let payload = record.get("payload").unwrap_or(&Value::Null);
        if record.get("type").and_then(Value::as_str) != Some("response_item")
            || payload.get("type").and_then(Value::as_str) != Some("message")
        {
            continue;
        }
        let role = match payload.get("role").and_then(Value::as_str) {
            Some(r @ ("user" | "assistant")) => r.to_owned(),
            _ => continue,
        };
        let text: Vec<&str> = payload
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .filter(|t| !t.trim_start().starts_with('<'))
            .collect();
        if text.is_empty() {
            continue;
        }
        out.push(Turn {
            message: message.id.clone(),
            role,
            text: text.join("\n"),
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

    #[test]
    fn apply_patch_calls_are_edits_with_paths_under_the_sessions_cwd() {
        let records = vec![
            json!({"type": "session_meta", "payload": {"cwd": "/home/a/app"}}),
            json!({"type": "response_item", "timestamp": "2026-11-30T11:43:44.771Z", "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "add hello"}]}}),
            json!({"type": "response_item", "timestamp": "2026-11-30T11:43:45.000Z", "payload": {"type": "custom_tool_call", "name": "apply_patch", "call_id": "c1",
                "input": "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch"}}),
            json!({"type": "response_item", "payload": {"type": "function_call", "name": "shell", "call_id": "c2",
                "arguments": "{\"command\":[\"apply_patch\",\"*** Begin Patch\\n*** Update File: /abs/x.rs\\n@@\\n-a\\n+b\\n*** End Patch\"]}"}}),
        ];
        let session = Session {
            id: "s".into(),
            info: json!({}),
            messages: records
                .into_iter()
                .enumerate()
                .map(|(i, r)| Message {
                    id: format!("l{i:06}-x"),
                    body: r.into(),
                })
                .collect(),
            children: vec![],
        };
        let edits = file_edits(&session);
        let seen: Vec<(&str, &str, &str)> = edits
            .iter()
            .map(|e| (e.path.as_str(), e.old.as_str(), e.new.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("/home/a/app/hello.txt", "", "hello\n"),
                ("/abs/x.rs", "a\n", "b\n")
            ]
        );
        assert_eq!(edits[0].message, "l000002-x");
        assert_eq!(turns(&session)[0].text, "add hello");
    }
}
