//! An OpenCode session as readable Markdown: one heading per turn with its time, reasoning
//! collapsed in `<details>`, each tool call with its input and a trimmed output, file edits as
//! `diff` blocks, the compaction marked, and the child sessions as sections linked from the
//! `task` calls that started them.

use std::fmt::Write as _;

use super::render::{Block, SessionView, ToolCall, Trimmed, Turn, View};
use crate::agents::render_util::{
    capitalise, diff_md, escape_tags, fenced, human_bytes, longest_run,
};

/// Writes `view` to `out` as Markdown, one turn at a time (each turn is built, written and
/// dropped before the next); `time` formats epoch milliseconds for people (local time).
pub fn write_markdown(
    view: &View,
    time: &dyn Fn(i64) -> String,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut text = String::new();
    for (index, session) in view.sessions.iter().enumerate() {
        if index > 0 {
            text.push_str("\n---\n\n");
        }
        session_header_md(view, session, time, &mut text);
        for turn in session.turns() {
            turn_md(view, &turn, time, &mut text);
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        out.write_all(text.as_bytes())?;
        text.clear();
    }
    Ok(())
}

/// The heading and facts of one session, with links to its subagent sessions.
fn session_header_md(view: &View, s: &SessionView, time: &dyn Fn(i64) -> String, out: &mut String) {
    let title = if s.title.is_empty() {
        s.id.as_str()
    } else {
        s.title.as_str()
    };
    if s.depth == 0 {
        let _ = writeln!(out, "# {}\n", one_line(title));
    } else {
        let _ = writeln!(out, "<a id=\"{}\"></a>\n", s.id);
        let _ = writeln!(out, "## Subagent session: {}\n", one_line(title));
    }
    let mut facts = vec![format!("Session `{}`", s.id)];
    if let Some(parent) = &s.parent {
        facts.push(format!("child of [{parent}](#{parent})"));
    }
    if let Some(created) = s.created_ms {
        facts.push(format!("started {}", time(created)));
    }
    facts.push(format!("{} messages", s.turn_count()));
    if let Some(dir) = &s.directory {
        facts.push(format!("in `{dir}`"));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let children: Vec<&SessionView> = view
        .sessions
        .iter()
        .filter(|c| c.parent.as_deref() == Some(&s.id) && c.depth == s.depth + 1)
        .collect();
    if !children.is_empty() {
        let links: Vec<String> = children.iter().map(|c| link(view, &c.id)).collect();
        let _ = writeln!(out, "Subagent sessions: {}\n", links.join(", "));
    }
}

fn link(view: &View, id: &str) -> String {
    match view.title_of(id) {
        Some(title) if !title.is_empty() => format!("[{}](#{id})", one_line(title)),
        Some(_) => format!("[{id}](#{id})"),
        None => format!("`{id}` (not in this save)"),
    }
}

fn turn_md(view: &View, t: &Turn, time: &dyn Fn(i64) -> String, out: &mut String) {
    let mut role = capitalise(&t.role);
    let mut details = Vec::new();
    if let Some(agent) = &t.agent {
        details.push(agent.clone());
    }
    if let Some(model) = &t.model {
        details.push(model.clone());
    }
    if !details.is_empty() && t.role != "user" {
        role.push_str(&format!(" ({})", details.join(", ")));
    }
    let when = t
        .created_ms
        .map(|ms| format!(" · {}", time(ms)))
        .unwrap_or_default();
    if t.summary {
        let _ = writeln!(out, "### Compaction summary · {role}{when}\n");
        out.push_str(
            "> **Compaction summary**: from here on the model continued from this summary of the \
             conversation above (the messages above are still saved).\n\n",
        );
    } else {
        let _ = writeln!(out, "### {role}{when}\n");
    }
    for block in &t.blocks {
        match block {
            // The summary is quoted, so its own headings do not break the transcript's outline.
            Block::Text { text, .. } if t.summary => {
                for line in escape_tags(text.trim_end()).lines() {
                    out.push_str(if line.is_empty() { ">" } else { "> " });
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
            }
            _ => block_md(view, block, time, out),
        }
    }
    if !t.diffs.is_empty() {
        out.push_str("**Files changed in this turn:**\n\n");
        for diff in &t.diffs {
            diff_md(&diff.file, &diff.diff, out);
        }
    }
    if let Some(error) = &t.error {
        let _ = writeln!(out, "> **Error:** {}\n", one_line(error));
    }
}

fn block_md(view: &View, block: &Block, time: &dyn Fn(i64) -> String, out: &mut String) {
    match block {
        Block::Text {
            text,
            synthetic: false,
        } => {
            out.push_str(&escape_tags(text.trim_end()));
            out.push_str("\n\n");
        }
        Block::Text {
            text,
            synthetic: true,
        } => {
            out.push_str("*Added by OpenCode:*\n\n");
            fenced("", text, out);
        }
        Block::Reasoning(text) => {
            out.push_str("<details><summary>Reasoning</summary>\n\n");
            out.push_str(&escape_tags(text.trim_end()));
            out.push_str("\n\n</details>\n\n");
        }
        Block::Tool(tool) => tool_md(view, tool, time, out),
        Block::Patch { hash, files } => {
            let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
            let short: String = hash.chars().take(10).collect();
            let _ = writeln!(
                out,
                "**Patch** (snapshot `{short}`): {}\n",
                files.join(", ")
            );
        }
        Block::File {
            filename,
            mime,
            url,
        } => {
            let _ = writeln!(out, "**Attached file** `{filename}` ({mime}): <{url}>\n");
        }
        Block::Compaction { auto } => {
            let how = if *auto { "automatic" } else { "requested" };
            let _ = writeln!(
                out,
                "> **Compaction** ({how}): the conversation so far is summarised below.\n"
            );
        }
        Block::Subtask {
            agent,
            description,
            prompt,
        } => {
            let _ = writeln!(
                out,
                "**Subtask** for `{agent}`: {}\n",
                one_line(description)
            );
            fenced("", prompt, out);
        }
        Block::Other(kind) => {
            let _ = writeln!(out, "*({kind} part)*\n");
        }
    }
}

fn tool_md(view: &View, tool: &ToolCall, time: &dyn Fn(i64) -> String, out: &mut String) {
    let _ = write!(out, "**Tool `{}`**", tool.name);
    if !tool.status.is_empty() && tool.status != "completed" {
        let _ = write!(out, " ({})", tool.status);
    }
    if let Some(title) = &tool.title {
        let _ = write!(out, ": {}", inline_code(&one_line(title)));
    }
    if let (Some(start), Some(end)) = tool.time_ms {
        let _ = write!(
            out,
            " · {} ({:.1} s)",
            time(start),
            (end - start) as f64 / 1000.0
        );
    }
    out.push_str("\n\n");
    if let Some(child) = &tool.child_session {
        let _ = writeln!(out, "Subagent session: {}\n", link(view, child));
    }
    out.push_str("Input:\n\n");
    fenced("json", &tool.input, out);
    for diff in &tool.diffs {
        diff_md(&diff.file, &diff.diff, out);
    }
    if let Some(output) = &tool.output {
        out.push_str("Output:\n\n");
        trimmed_md(output, out);
    }
    if let Some(error) = &tool.error {
        out.push_str("Error:\n\n");
        fenced("", error, out);
    }
}

fn trimmed_md(output: &Trimmed, out: &mut String) {
    fenced("", &output.text, out);
    if output.omitted_bytes > 0 {
        let _ = writeln!(out, "*{}*\n", trimmed_note(output));
    }
}

/// `… 60 more lines (4.5 KiB) trimmed`.
pub(crate) fn trimmed_note(output: &Trimmed) -> String {
    format!(
        "… {} more line{} ({}) trimmed; `git session show <id> --format json` has all of it",
        output.omitted_lines,
        if output.omitted_lines == 1 { "" } else { "s" },
        human_bytes(output.omitted_bytes as u64)
    )
}

fn inline_code(text: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::opencode::render::{trim, view};
    use crate::session::{Message, Session};
    use serde_json::json;

    fn session(messages: Vec<serde_json::Value>) -> Session {
        Session {
            id: "ses_1".into(),
            info: json!({"info": {"id": "ses_1", "title": "A `title`", "time": {"created": 1000}}}),
            messages: messages
                .into_iter()
                .enumerate()
                .map(|(i, body)| Message {
                    id: format!("msg_{i}"),
                    body: body.into(),
                })
                .collect(),
            children: vec![],
        }
    }

    fn ms(ms: i64) -> String {
        format!("T{ms}")
    }

    /// The whole Markdown of `view`, written to memory.
    fn markdown(view: &View, time: &dyn Fn(i64) -> String) -> String {
        let mut out = Vec::new();
        write_markdown(view, time, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tags_in_text_are_escaped_outside_code() {
        let md = markdown(
            &view(&session(vec![json!({"info": {"role": "user"},
                "parts": [{"type": "text", "text": "a <b> `<c>` d"}]})])),
            &ms,
        );
        assert!(md.contains("a \\<b> `<c>` d"), "{md}");
    }

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        let mut out = String::new();
        fenced("", "a ``` b", &mut out);
        assert_eq!(out, "````\na ``` b\n````\n\n");
        assert_eq!(inline_code("x`y"), "``x`y``");
    }

    #[test]
    fn turns_reasoning_tools_and_compaction_are_rendered() {
        let long: String = (1..=50).map(|n| format!("out {n}\n")).collect();
        let s = session(vec![
            json!({"info": {"role": "user", "time": {"created": 2000}},
                   "parts": [{"type": "text", "text": "Please fix it"}]}),
            json!({"info": {"role": "assistant", "agent": "build", "time": {"created": 3000}},
                   "parts": [{"type": "reasoning", "text": "thinking hard"},
                             {"type": "tool", "tool": "bash", "state": {"status": "completed",
                              "title": "ls", "input": {"command": "ls"}, "output": long}}]}),
            json!({"info": {"role": "user"}, "parts": [{"type": "compaction", "auto": true}]}),
            json!({"info": {"role": "assistant", "summary": true},
                   "parts": [{"type": "text", "text": "## Goal\nsummary"}]}),
        ]);
        let md = markdown(&view(&s), &ms);
        assert!(md.starts_with("# A `title`\n"), "{md}");
        assert!(md.contains("### User · T2000\n\nPlease fix it\n"), "{md}");
        assert!(md.contains("### Assistant (build) · T3000"), "{md}");
        assert!(md.contains("<details><summary>Reasoning</summary>\n\nthinking hard\n\n</details>"));
        assert!(md.contains("**Tool `bash`**: `ls`"), "{md}");
        assert!(md.contains("\"command\": \"ls\""), "{md}");
        assert!(md.contains("out 40\n```") && !md.contains("out 41"), "{md}");
        assert!(md.contains("… 10 more lines (70 B) trimmed"), "{md}");
        assert!(md.contains("**Compaction** (automatic)"), "{md}");
        assert!(md.contains("### Compaction summary"), "{md}");
        assert_eq!(trim(&long, 40, 4096).omitted_lines, 10);
    }
}
