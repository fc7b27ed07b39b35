//! A readable view of a Codex session: the prompts, answers, tool calls with their output under
//! them, and compactions with their summary, built as a shared [`Conversation`] and rendered as
//! Markdown or one self-contained HTML page (the same page, escaping and Content-Security-Policy
//! as OpenCode's view). Instructions, context snapshots and bookkeeping records are left out.

use serde_json::Value;

use super::rollout;
use crate::agents::conversation::{
    epoch_seconds, Block, Conversation, Output, Role, SessionView, ToolCall,
};
use crate::session::Session;

/// The session and its subagents as a [`Conversation`], to render with
/// [`crate::agents::conversation::write_markdown`] or [`crate::agents::conversation::write_html`].
pub fn view(session: &Session) -> Conversation {
    let agent = match rollout::version(session) {
        Some(v) => format!("Codex {v}"),
        None => "Codex CLI".to_owned(),
    };
    Conversation::of_tree(session, &agent, &rollout::title, &mut |s, view| {
        for m in &s.messages {
            record(&m.id, &m.body.value(), view);
        }
    })
}

fn record(id: &str, v: &Value, view: &mut SessionView) {
    let time = v
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(epoch_seconds);
    let Some(p) = v.get("payload") else {
        return;
    };
    match v.get("type").and_then(Value::as_str) {
        Some("response_item") => item(id, p, time, view),
        Some("compacted") => {
            view.compacted(id, time);
            if let Some(summary) = p.get("message").and_then(Value::as_str) {
                view.push(Role::Summary, id, time, Block::Text(summary.to_owned()));
            }
        }
        _ => {}
    }
}

fn item(id: &str, p: &Value, time: Option<i64>, view: &mut SessionView) {
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
                    view.push(Role::User, id, time, Block::Text(text));
                }
                "assistant" => view.push(Role::Assistant, id, time, Block::Text(text)),
                _ => {}
            }
        }
        "function_call" | "custom_tool_call" => {
            let input = match serde_json::from_str::<Value>(s("arguments")) {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                Err(_) => format!("{}{}", s("arguments"), s("input")),
            };
            let call = ToolCall {
                call_id: s("call_id").to_owned(),
                name: s("name").to_owned(),
                input,
                diffs: Vec::new(),
                output: None,
            };
            view.push(Role::Assistant, id, time, Block::Tool(call));
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
            view.output(s("call_id"), Output::new(id, &text), time);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::conversation;

    #[test]
    fn the_example_reads_as_a_conversation() {
        let text = include_str!("../../../tests/fixtures/codex/rollout-with-compaction.jsonl");
        let session = rollout::parse(text.as_bytes().to_vec(), "r.jsonl")
            .unwrap()
            .session;
        let md = conversation::markdown(&view(&session), &|s| format!("@{s}"));
        assert!(md.starts_with("# TOOL:echo hello-from-tool HUGE\n"), "{md}");
        assert!(md.contains("**Tool call** `exec_command`"), "{md}");
        assert!(md.contains("hello-from-tool HUGE\n```"), "{md}");
        assert!(md.contains("*Conversation compacted*"), "{md}");
        assert!(md.contains("### Assistant"), "{md}");
        assert!(!md.contains("<environment_context>"), "{md}");
        assert!(!md.contains("skills_instructions"), "{md}");
        assert!(
            md.contains("**Tool output**\n\n```\nChunk ID: c579df\n"),
            "the output follows its call: {md}"
        );
        let page = conversation::html(&view(&session), &|s| format!("@{s}"));
        assert!(page.starts_with("<!DOCTYPE html>") && !page.contains("<environment"));
        assert!(page.contains("<article class=\"turn assistant\""), "{page}");
    }
}
