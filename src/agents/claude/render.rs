//! A readable view of a Claude Code session: the prompts, answers, tool calls (file edits as
//! diffs) and results, and compaction boundaries, as Markdown (or the same text in one
//! self-contained HTML page). Bookkeeping records (attachments, API request records, ...) are
//! left out.

use serde_json::Value;

use super::transcript;
use crate::agents::render_util::{diff_md, escape_html, line_diff};
use crate::session::Session;

/// Tool results longer than this are cut in the readable view.
const MAX_RESULT: usize = 2000;

/// The conversation as Markdown, subagents after it.
pub fn markdown(session: &Session) -> String {
    let mut out = String::new();
    let title = transcript::title(session);
    out.push_str(&format!(
        "# {}\n\nClaude Code session `{}`",
        if title.is_empty() {
            "Claude Code session"
        } else {
            &title
        },
        session.id
    ));
    if let Some(v) = transcript::version(session) {
        out.push_str(&format!(" (Claude Code {v})"));
    }
    out.push_str("\n\n");
    body(session, &mut out);
    for child in &session.children {
        out.push_str(&format!("\n## Subagent {}\n\n", child.id));
        body(child, &mut out);
    }
    out
}

/// The Markdown view in one HTML page (escaped, preformatted).
pub fn html(session: &Session) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body><pre style=\"white-space: pre-wrap\">{}</pre></body></html>\n",
        escape_html(&transcript::title(session)),
        escape_html(&markdown(session))
    )
}

fn body(session: &Session, out: &mut String) {
    for m in &session.messages {
        let v = m.body.value();
        let time = v.get("timestamp").and_then(Value::as_str).unwrap_or("");
        match v.get("type").and_then(Value::as_str) {
            Some("user") => {
                if v.get("isCompactSummary").and_then(Value::as_bool) == Some(true) {
                    out.push_str(&format!("**Compaction summary** {time}\n\n"));
                    content(v.pointer("/message/content"), out);
                    continue;
                }
                if v.get("isMeta").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                out.push_str(&format!("### User {time}\n\n"));
                content(v.pointer("/message/content"), out);
            }
            Some("assistant") => {
                out.push_str(&format!("### Assistant {time}\n\n"));
                content(v.pointer("/message/content"), out);
            }
            Some("system")
                if v.get("subtype").and_then(Value::as_str) == Some("compact_boundary") =>
            {
                out.push_str(&format!("---\n\n*Conversation compacted* {time}\n\n"));
            }
            _ => {}
        }
    }
}

fn content(value: Option<&Value>, out: &mut String) {
    match value {
        Some(Value::String(text)) => {
            out.push_str(text.trim_end());
            out.push_str("\n\n");
        }
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => content(block.get("text"), out),
                    Some("tool_use") => {
                        let name = block.get("name").and_then(Value::as_str).unwrap_or("?");
                        let input = block.get("input").unwrap_or(&Value::Null);
                        let pretty = serde_json::to_string_pretty(input).unwrap_or_default();
                        out.push_str(&format!(
                            "**Tool call** `{name}`\n\n```json\n{pretty}\n```\n\n"
                        ));
                        let file = input.get("file_path").and_then(Value::as_str).unwrap_or("");
                        for diff in edit_diffs(name, input) {
                            diff_md(file, &diff, out);
                        }
                    }
                    Some("tool_result") => {
                        let text = match block.get("content") {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Array(parts)) => parts
                                .iter()
                                .filter_map(|p| p.get("text").and_then(Value::as_str))
                                .collect::<Vec<_>>()
                                .join("\n"),
                            _ => String::new(),
                        };
                        let mut cut: String = text.chars().take(MAX_RESULT).collect();
                        if cut.len() < text.len() {
                            cut.push_str("\n…");
                        }
                        out.push_str(&format!("**Tool result**\n\n```\n{cut}\n```\n\n"));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
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

    #[test]
    fn the_example_reads_as_a_conversation() {
        let text = include_str!("../../../tests/fixtures/claude/example-session.jsonl");
        let parsed = transcript::parse(text.as_bytes().to_vec(), "s", "s.jsonl").unwrap();
        let md = markdown(&parsed.session);
        assert!(md.contains("TOOL:bash echo hello-from-bash"), "{md}");
        assert!(md.contains("**Tool call** `Bash`"));
        assert!(md.contains("hello-from-bash\n```"));
        assert!(md.contains("*Conversation compacted*"));
        assert!(!md.contains("prompt_snapshot"));
        assert!(html(&parsed.session).contains("&lt;") || !md.contains('<'));
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
        let md = markdown(&session);
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
        let page = html(&session);
        assert!(!page.contains("<script"), "{page}");
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;";
        assert!(
            page.contains(&format!("<title>{escaped}</title>")),
            "{page}"
        );
        assert!(page.contains(&format!("{escaped}\n")), "the prompt: {page}");
    }
}
