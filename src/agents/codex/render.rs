//! A readable view of a Codex session: the prompts, answers, tool calls and their output, and
//! compactions with their summary, as Markdown (or the same text in one self-contained HTML
//! page). Instructions, context snapshots and bookkeeping records are left out.

use serde_json::Value;

use super::rollout;
use crate::session::Session;

/// Tool output longer than this is cut in the readable view.
const MAX_RESULT: usize = 2000;

/// The conversation as Markdown, subagents after it.
pub fn markdown(session: &Session) -> String {
    let mut out = String::new();
    let title = rollout::title(session);
    out.push_str(&format!(
        "# {}\n\nCodex CLI session `{}`",
        if title.is_empty() {
            "Codex CLI session"
        } else {
            &title
        },
        session.id
    ));
    if let Some(v) = rollout::version(session) {
        out.push_str(&format!(" (Codex {v})"));
    }
    out.push_str("\n\n");
    body(session, &mut out);
    for child in session.walk().into_iter().skip(1) {
        out.push_str(&format!("\n## Subagent {}\n\n", child.id));
        body(child, &mut out);
    }
    out
}

/// The Markdown view in one HTML page (escaped, preformatted).
pub fn html(session: &Session) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body><pre style=\"white-space: pre-wrap\">{}</pre></body></html>\n",
        escape(&rollout::title(session)),
        escape(&markdown(session))
    )
}

fn body(session: &Session, out: &mut String) {
    for m in &session.messages {
        let v = m.body.value();
        let time = v.get("timestamp").and_then(Value::as_str).unwrap_or("");
        let Some(p) = v.get("payload") else {
            continue;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("response_item") => item(p, time, out),
            Some("compacted") => {
                out.push_str(&format!("---\n\n*Conversation compacted* {time}\n\n"));
                if let Some(summary) = p.get("message").and_then(Value::as_str) {
                    out.push_str(&format!(
                        "**Compaction summary**\n\n{}\n\n",
                        summary.trim_end()
                    ));
                }
            }
            _ => {}
        }
    }
}

fn item(p: &Value, time: &str, out: &mut String) {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
    match s("type") {
        "message" => {
            let texts: Vec<&str> = p
                .get("content")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.get("text").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let text = texts.join("\n\n");
            let own = text.trim_start().starts_with('<') || rollout::is_compaction_text(&text);
            match s("role") {
                "user" if !own && !text.trim().is_empty() => {
                    out.push_str(&format!("### User {time}\n\n{}\n\n", text.trim_end()));
                }
                "assistant" => {
                    out.push_str(&format!("### Assistant {time}\n\n{}\n\n", text.trim_end()));
                }
                _ => {}
            }
        }
        "function_call" | "custom_tool_call" => {
            let args = match serde_json::from_str::<Value>(s("arguments")) {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                Err(_) => format!("{}{}", s("arguments"), s("input")),
            };
            out.push_str(&format!(
                "**Tool call** `{}`\n\n```json\n{args}\n```\n\n",
                s("name")
            ));
        }
        "function_call_output" | "custom_tool_call_output" => {
            let text = match p.get("output") {
                Some(Value::String(t)) => t.clone(),
                Some(other) => other
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                None => String::new(),
            };
            let mut cut: String = text.chars().take(MAX_RESULT).collect();
            if cut.len() < text.len() {
                cut.push_str("\n…");
            }
            out.push_str(&format!(
                "**Tool output**\n\n```\n{}\n```\n\n",
                cut.trim_end()
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_reads_as_a_conversation() {
        let text = include_str!("../../../tests/fixtures/codex/rollout-with-compaction.jsonl");
        let session = rollout::parse(text.as_bytes().to_vec(), "r.jsonl")
            .unwrap()
            .session;
        let md = markdown(&session);
        assert!(md.starts_with("# TOOL:echo hello-from-tool HUGE\n"), "{md}");
        assert!(md.contains("**Tool call** `exec_command`"), "{md}");
        assert!(md.contains("hello-from-tool HUGE\n```"), "{md}");
        assert!(md.contains("*Conversation compacted*"), "{md}");
        assert!(md.contains("### Assistant"), "{md}");
        assert!(!md.contains("<environment_context>"), "{md}");
        assert!(!md.contains("skills_instructions"), "{md}");
        let page = html(&session);
        assert!(page.starts_with("<!doctype html>") && !page.contains("<environment"));
    }
}
