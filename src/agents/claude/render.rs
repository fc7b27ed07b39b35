//! A readable view of a Claude Code session: the prompts, answers, tool calls (file edits as
//! diffs) with their results under them, and compaction boundaries, built as a shared
//! [`Conversation`] and rendered as Markdown or one self-contained HTML page (the same page,
//! escaping and Content-Security-Policy as OpenCode's view). Bookkeeping records (attachments,
//! API request records, ...) are left out.

use serde_json::Value;

use super::transcript;
use crate::agents::conversation::{
    epoch_seconds, Block, Conversation, Output, Role, SessionView, ToolCall,
};
use crate::agents::render_util::line_diff;
use crate::session::Session;

/// The session and its subagents as a [`Conversation`], to render with
/// [`crate::agents::conversation::write_markdown`] or [`crate::agents::conversation::write_html`].
pub fn view(session: &Session) -> Conversation {
    let agent = match transcript::version(session) {
        Some(v) => format!("Claude Code {v}"),
        None => "Claude Code".to_owned(),
    };
    Conversation::of_tree(session, &agent, &transcript::title, &mut records)
}

fn records(session: &Session, view: &mut SessionView) {
    for m in &session.messages {
        let v = m.body.value();
        let time = v
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(epoch_seconds);
        let content = v.pointer("/message/content");
        match v.get("type").and_then(Value::as_str) {
            Some("user") if v.get("isCompactSummary").and_then(Value::as_bool) == Some(true) => {
                for text in texts(content) {
                    view.push(Role::Summary, &m.id, time, Block::Text(text));
                }
            }
            Some("user") if v.get("isMeta").and_then(Value::as_bool) == Some(true) => {}
            Some("user") => {
                for block in blocks(content) {
                    match block.get("type").and_then(Value::as_str) {
                        Some("tool_result") => {
                            let id = block.get("tool_use_id").and_then(Value::as_str);
                            let output = Output::new(&m.id, &result_text(block));
                            view.output(id.unwrap_or(""), output, time);
                        }
                        Some("text") => {
                            if let Some(text) = block.get("text").and_then(Value::as_str) {
                                view.push(Role::User, &m.id, time, Block::Text(text.to_owned()));
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(Value::String(text)) = content {
                    view.push(Role::User, &m.id, time, Block::Text(text.clone()));
                }
            }
            Some("assistant") => {
                for block in blocks(content) {
                    match block.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if let Some(text) = block.get("text").and_then(Value::as_str) {
                                let text = Block::Text(text.to_owned());
                                view.push(Role::Assistant, &m.id, time, text);
                            }
                        }
                        Some("tool_use") => {
                            let s = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or("");
                            let input = block.get("input").unwrap_or(&Value::Null);
                            let file = input.get("file_path").and_then(Value::as_str).unwrap_or("");
                            let call = ToolCall {
                                call_id: s("id").to_owned(),
                                name: if s("name").is_empty() { "?" } else { s("name") }.to_owned(),
                                input: serde_json::to_string_pretty(input).unwrap_or_default(),
                                diffs: edit_diffs(s("name"), input)
                                    .into_iter()
                                    .map(|d| (file.to_owned(), d))
                                    .collect(),
                                output: None,
                            };
                            view.push(Role::Assistant, &m.id, time, Block::Tool(call));
                        }
                        _ => {}
                    }
                }
            }
            Some("system")
                if v.get("subtype").and_then(Value::as_str) == Some("compact_boundary") =>
            {
                view.compacted(&m.id, time);
            }
            _ => {}
        }
    }
}

/// The content blocks of a message (none for a plain string).
fn blocks(content: Option<&Value>) -> &[Value] {
    content.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The texts of a message: the string, or its text blocks.
fn texts(content: Option<&Value>) -> Vec<String> {
    match content {
        Some(Value::String(text)) => vec![text.clone()],
        _ => blocks(content)
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    }
}

/// A tool result's text: its string, or its text parts joined.
fn result_text(block: &Value) -> String {
    match block.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The file edits a tool call makes, as line diffs: `Edit` (old_string to new_string), each edit
/// of a `MultiEdit`, and `Write` (its content, every line added).
fn edit_diffs(tool: &str, input: &Value) -> Vec<String> {
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let edit = |e: &Value| {
        Some(line_diff(
            &str_of(e, "old_string")?,
            &str_of(e, "new_string")?,
        ))
    };
    match tool {
        "Edit" => edit(input).into_iter().collect(),
        "MultiEdit" => input
            .get("edits")
            .and_then(Value::as_array)
            .map(|edits| edits.iter().filter_map(edit).collect())
            .unwrap_or_default(),
        "Write" => str_of(input, "content")
            .map(|content| line_diff("", &content))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::conversation;

    fn utc(seconds: i64) -> String {
        format!("@{seconds}")
    }

    #[test]
    fn the_example_reads_as_a_conversation() {
        let text = include_str!("../../../tests/fixtures/claude/example-session.jsonl");
        let parsed = transcript::parse(text.as_bytes().to_vec(), "s", "s.jsonl").unwrap();
        let md = conversation::markdown(&view(&parsed.session), &utc);
        assert!(md.contains("TOOL:bash echo hello-from-bash"), "{md}");
        assert!(md.contains("**Tool call** `Bash`"));
        assert!(
            md.contains("**Tool output**\n\n```\nhello-from-bash\n```"),
            "the result follows its call: {md}"
        );
        assert!(md.contains("*Conversation compacted*"));
        assert!(!md.contains("prompt_snapshot"));
        let page = conversation::html(&view(&parsed.session), &utc);
        assert!(page.contains("<article class=\"turn user\""), "{page}");
        assert!(page.contains("<pre>hello-from-bash</pre>"), "{page}");
    }

    #[test]
    fn edits_writes_and_multi_edits_show_as_diffs() {
        let call = |name: &str, input: Value| {
            serde_json::json!({"type": "assistant", "message": {"content": [
                {"type": "tool_use", "name": name, "input": input}]}})
        };
        let records = [
            call(
                "Edit",
                serde_json::json!({"file_path": "/p/a.rs", "old_string": "a\nb\nc",
                    "new_string": "a\nB\nc", "replace_all": false}),
            ),
            call(
                "MultiEdit",
                serde_json::json!({"file_path": "/p/b.rs", "edits": [
                    {"old_string": "x", "new_string": "y"}, {"old_string": "1", "new_string": ""}]}),
            ),
            call(
                "Write",
                serde_json::json!({"file_path": "/p/c.md", "content": "# C\n```sh\nls\n```\n"}),
            ),
            call("Bash", serde_json::json!({"command": "ls"})),
        ];
        let session = Session {
            id: "s".into(),
            info: serde_json::json!({}),
            messages: records
                .into_iter()
                .enumerate()
                .map(|(i, body)| crate::session::Message {
                    id: format!("l{i:06}"),
                    body: body.into(),
                })
                .collect(),
            children: vec![],
        };
        let md = conversation::markdown(&view(&session), &utc);
        assert!(
            md.contains("```\n\nDiff of `/p/a.rs`:\n\n```diff\n a\n-b\n+B\n c\n```\n\n"),
            "the diff follows the call's input: {md}"
        );
        assert!(
            md.contains("Diff of `/p/b.rs`:\n\n```diff\n-x\n+y\n```\n\nDiff of `/p/b.rs`:\n\n```diff\n-1\n```"),
            "one diff per edit: {md}"
        );
        assert!(
            md.contains("Diff of `/p/c.md`:\n\n````diff\n+# C\n+```sh\n+ls\n+```\n````"),
            "a written file is all added, fenced past its own fences: {md}"
        );
        assert_eq!(
            md.matches("Diff of").count(),
            4,
            "Bash changes no file: {md}"
        );
    }

    #[test]
    fn the_html_page_escapes_the_title_and_every_text() {
        let evil = "<script>alert('x')</script> & \"q\"";
        let session = Session {
            id: "s".into(),
            info: serde_json::json!({"claude": {"title": evil}}),
            messages: vec![crate::session::Message {
                id: "l000000".into(),
                body: serde_json::json!({"type": "user", "message": {"content": evil}}).into(),
            }],
            children: vec![],
        };
        let page = conversation::html(&view(&session), &utc);
        assert!(!page.contains("<script"), "{page}");
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;";
        assert!(
            page.contains(&format!("<title>{escaped}</title>")),
            "{page}"
        );
        assert!(
            page.contains(&format!("<div class=\"text\">{escaped}</div>")),
            "the prompt: {page}"
        );
    }
}
