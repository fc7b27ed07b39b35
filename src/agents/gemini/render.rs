//! Readable views of a Gemini CLI session (Markdown, HTML) and its searchable texts: the
//! conversation as it stands at the end of the log (see [`super::state`]), the history a
//! compression replaced shown first and marked, the compression's summary marked, subagents as
//! sections of their own.

use serde_json::Value;

use super::{log, state};
use crate::agents::render_util::{escape_html, fenced, html_page};
use crate::agents::TextField;
use crate::session::Session;

const MAX_RESULT: usize = 2000;

/// The session as Markdown.
pub fn markdown(session: &Session) -> String {
    let mut out = String::new();
    let title = log::title(session);
    out.push_str(&format!(
        "# {}\n\nGemini CLI session `{}`\n\n",
        if title.is_empty() {
            "Gemini CLI session"
        } else {
            &title
        },
        session.id
    ));
    body(session, &mut out);
    for child in session.walk().into_iter().skip(1) {
        out.push_str(&format!("\n## Subagent {}\n\n", child.id));
        body(child, &mut out);
    }
    out
}

/// The session as one HTML page on the shared shell (its style and Content-Security-Policy, so
/// `git session serve` shows it inside its own page): the Markdown view, escaped, preformatted.
pub fn html(session: &Session) -> String {
    let title = log::title(session);
    let body = format!(
        "<pre class=\"text\">{}</pre>\n",
        escape_html(&markdown(session))
    );
    html_page(
        if title.is_empty() {
            "Gemini CLI session"
        } else {
            &title
        },
        &body,
    )
}

fn body(session: &Session, out: &mut String) {
    let state = state::replay(&log::records(session));
    for (n, c) in state.compressions.iter().enumerate() {
        out.push_str(&format!(
            "<details><summary>Compressed history {} ({} messages, replaced by the summary below)</summary>\n\n",
            n + 1,
            c.replaced.len()
        ));
        for m in &c.replaced {
            message(m, false, out);
        }
        out.push_str("</details>\n\n---\n\n");
    }
    for m in &state.messages {
        let summary = m
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| state.is_summary(id));
        message(m, summary, out);
    }
}

fn message(m: &Value, summary: bool, out: &mut String) {
    let time = m.get("timestamp").and_then(Value::as_str).unwrap_or("");
    let text = state::content_text(m);
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
    if summary {
        out.push_str(&format!(
            "### Compression summary {time}\n\n{}\n\n",
            text.trim_end()
        ));
        return;
    }
    match kind {
        "user" if state::is_prompt(m) => {
            out.push_str(&format!("### User {time}\n\n{}\n\n", text.trim_end()));
        }
        "user" => {}
        _ => {
            for t in m
                .get("thoughts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!(
                    "<details><summary>Thinking: {}</summary>\n\n{}\n\n</details>\n\n",
                    s("subject"),
                    s("description")
                ));
            }
            if !text.trim().is_empty() {
                out.push_str(&format!("### Gemini {time}\n\n{}\n\n", text.trim_end()));
            }
            for call in m
                .get("toolCalls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = call.get("name").and_then(Value::as_str).unwrap_or("");
                let args = call
                    .get("args")
                    .map(|a| serde_json::to_string_pretty(a).unwrap_or_default())
                    .unwrap_or_default();
                out.push_str(&format!("**Tool call** `{name}`\n\n"));
                fenced("json", &args, out);
                let output = tool_output(call);
                if !output.is_empty() {
                    let mut cut: String = output.chars().take(MAX_RESULT).collect();
                    if cut.len() < output.len() {
                        cut.push_str("\n…");
                    }
                    out.push_str("**Tool output**\n\n");
                    fenced("", cut.trim_end(), out);
                }
            }
        }
    }
}

/// What a tool call returned: its `resultDisplay`, else the responses' `output`s.
fn tool_output(call: &Value) -> String {
    if let Some(s) = call.get("resultDisplay").and_then(Value::as_str) {
        return s.to_owned();
    }
    call.get("result")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.pointer("/functionResponse/response"))
        .map(|r| match r.get("output").and_then(Value::as_str) {
            Some(s) => s.to_owned(),
            None => r.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every searchable text of the session and its children: prompts, answers, thoughts, tool
/// inputs and outputs, compressed history included.
pub fn fields(session: &Session) -> Vec<TextField> {
    let mut out = Vec::new();
    for s in session.walk() {
        let state = state::replay(&log::records(s));
        for m in state.all_messages() {
            let id = m.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let mut push = |part: String, field: &str, text: &str| {
                if !text.is_empty() {
                    out.push(TextField {
                        session: s.id.clone(),
                        message: id.clone(),
                        part,
                        field: field.to_owned(),
                        text: text.to_owned(),
                    });
                }
            };
            if m.get("type").and_then(Value::as_str) == Some("user") && !state::is_prompt(m) {
                continue;
            }
            push("#0".into(), "text", &state::content_text(m));
            for (i, t) in m
                .get("thoughts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let d = t.get("description").and_then(Value::as_str).unwrap_or("");
                push(format!("#{i}"), "reasoning", d);
            }
            for (i, call) in m
                .get("toolCalls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(Value::Object(args)) = call.get("args") {
                    for (key, value) in args {
                        if let Some(text) = value.as_str() {
                            push(format!("#{i}"), &format!("input.{key}"), text);
                        }
                    }
                }
                push(format!("#{i}"), "output", &tool_output(call));
            }
        }
    }
    out
}

/// How many parts a stored line has: the messages of a set, else one.
pub fn part_count(record: &Value) -> u64 {
    match record.pointer("/$set/messages") {
        Some(Value::Array(items)) if !items.is_empty() => items.len() as u64,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_read_as_a_conversation() {
        let text = include_str!("../../../tests/fixtures/gemini/session-resumed-3x.jsonl");
        let session = log::parse(text.as_bytes().to_vec(), "s.jsonl", None)
            .unwrap()
            .session;
        let md = markdown(&session);
        assert!(md.starts_with("# Echo: Summary (max 80 chars):\n"), "{md}");
        assert_eq!(md.matches("### User").count(), 3, "{md}");
        assert!(md.contains("Echo: after move"), "{md}");
        assert!(!md.contains("<session_context>"), "{md}");
        let text = include_str!("../../../tests/fixtures/gemini/subagent.jsonl");
        let child = log::parse(text.as_bytes().to_vec(), "c.jsonl", None)
            .unwrap()
            .session;
        let md = markdown(&child);
        assert!(md.contains("**Tool call** `complete_task`"), "{md}");
        assert!(md.contains("params/report must be object"), "{md}");
        let found = fields(&child);
        assert!(found.iter().any(|f| f.field == "input.report"));
        let page = html(&child);
        let inside = crate::agents::render_util::html_page_body(&page)
            .expect("the page is on the shared shell, which serve embeds");
        assert!(inside.starts_with("<pre class=\"text\">"), "{inside}");
        assert!(inside.contains("**Tool call** `complete_task`"), "{inside}");
        assert!(page.contains(crate::agents::render_util::CONTENT_SECURITY_POLICY));
    }
}
