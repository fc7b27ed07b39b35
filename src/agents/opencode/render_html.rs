//! An OpenCode session as one self-contained HTML page (the shared shell of
//! [`crate::agents::render_util::html_page`]: inline CSS, no script, no external asset, a
//! Content-Security-Policy that forbids loading any), every text HTML-escaped. The page's title
//! is the session title.

use std::fmt::Write as _;

use super::render::{Block, FileDiff, SessionView, ToolCall, Trimmed, Turn, View};
use super::render_md::trimmed_note;
use crate::agents::render_util::{capitalise, escape_html as esc, html_page_start, HTML_PAGE_END};

/// Writes `view` to `out` as a complete HTML document, one turn at a time (each turn is built,
/// written and dropped before the next); `time` formats epoch milliseconds for people.
pub fn write_html(
    view: &View,
    time: &dyn Fn(i64) -> String,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let title = view
        .sessions
        .first()
        .map(|s| {
            if s.title.is_empty() {
                s.id.as_str()
            } else {
                s.title.as_str()
            }
        })
        .unwrap_or("session");
    out.write_all(html_page_start(title).as_bytes())?;
    let mut text = String::new();
    for session in &view.sessions {
        session_header_html(view, session, time, &mut text);
        for turn in session.turns() {
            turn_html(view, &turn, time, &mut text);
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        text.push_str("</section>\n");
        out.write_all(text.as_bytes())?;
        text.clear();
    }
    out.write_all(HTML_PAGE_END.as_bytes())
}

/// The opening of one session's section: heading, facts, links to its subagent sessions.
fn session_header_html(
    view: &View,
    s: &SessionView,
    time: &dyn Fn(i64) -> String,
    out: &mut String,
) {
    let title = if s.title.is_empty() { &s.id } else { &s.title };
    let _ = writeln!(out, "<section id=\"{}\">", esc(&s.id));
    if s.depth == 0 {
        let _ = writeln!(out, "<h1>{}</h1>", esc(title));
    } else {
        let _ = writeln!(out, "<h2>Subagent session: {}</h2>", esc(title));
    }
    let mut facts = vec![format!("Session <code>{}</code>", esc(&s.id))];
    if let Some(parent) = &s.parent {
        facts.push(format!(
            "child of <a href=\"#{0}\"><code>{0}</code></a>",
            esc(parent)
        ));
    }
    if let Some(created) = s.created_ms {
        facts.push(format!("started {}", esc(&time(created))));
    }
    facts.push(format!("{} messages", s.turn_count()));
    if let Some(dir) = &s.directory {
        facts.push(format!("in <code>{}</code>", esc(dir)));
    }
    let _ = writeln!(out, "<p class=\"facts\">{}</p>", facts.join(" · "));
    let children: Vec<String> = view
        .sessions
        .iter()
        .filter(|c| c.parent.as_deref() == Some(&s.id) && c.depth == s.depth + 1)
        .map(|c| link(view, &c.id))
        .collect();
    if !children.is_empty() {
        let _ = writeln!(out, "<p>Subagent sessions: {}</p>", children.join(", "));
    }
}

fn link(view: &View, id: &str) -> String {
    match view.title_of(id) {
        Some(title) if !title.is_empty() => format!("<a href=\"#{}\">{}</a>", esc(id), esc(title)),
        Some(_) => format!("<a href=\"#{0}\"><code>{0}</code></a>", esc(id)),
        None => format!("<code>{}</code> (not in this save)", esc(id)),
    }
}

fn turn_html(view: &View, t: &Turn, time: &dyn Fn(i64) -> String, out: &mut String) {
    let mut class = vec![
        "turn",
        if t.role == "user" {
            "user"
        } else {
            "assistant"
        },
    ];
    if t.summary {
        class.push("summary");
    }
    let _ = writeln!(
        out,
        "<article class=\"{}\" id=\"{}\">",
        class.join(" "),
        esc(&t.id)
    );
    let mut role = esc(&capitalise(&t.role));
    let details: Vec<&str> = t
        .agent
        .iter()
        .chain(t.model.iter())
        .map(String::as_str)
        .collect();
    if !details.is_empty() && t.role != "user" {
        role.push_str(&format!(
            " <span class=\"when\">({})</span>",
            esc(&details.join(", "))
        ));
    }
    let when = t
        .created_ms
        .map(|ms| format!(" <span class=\"when\">· {}</span>", esc(&time(ms))))
        .unwrap_or_default();
    if t.summary {
        let _ = writeln!(out, "<h3>Compaction summary · {role}{when}</h3>");
        out.push_str(
            "<p class=\"note\">From here on the model continued from this summary of the \
             conversation above (the messages above are still saved).</p>\n",
        );
    } else {
        let _ = writeln!(out, "<h3>{role}{when}</h3>");
    }
    for block in &t.blocks {
        block_html(view, block, time, out);
    }
    if !t.diffs.is_empty() {
        out.push_str("<p class=\"label\">Files changed in this turn:</p>\n");
        for diff in &t.diffs {
            diff_html(diff, out);
        }
    }
    if let Some(error) = &t.error {
        let _ = writeln!(
            out,
            "<p class=\"note\"><strong>Error:</strong> {}</p>",
            esc(error)
        );
    }
    out.push_str("</article>\n");
}

fn block_html(view: &View, block: &Block, time: &dyn Fn(i64) -> String, out: &mut String) {
    match block {
        Block::Text {
            text,
            synthetic: false,
        } => {
            let _ = writeln!(out, "<div class=\"text\">{}</div>", esc(text.trim_end()));
        }
        Block::Text {
            text,
            synthetic: true,
        } => {
            let _ = writeln!(
                out,
                "<details><summary>Added by OpenCode</summary><pre>{}</pre></details>",
                esc(text)
            );
        }
        Block::Reasoning(text) => {
            let _ = writeln!(
                out,
                "<details><summary>Reasoning</summary><div class=\"text\">{}</div></details>",
                esc(text.trim_end())
            );
        }
        Block::Tool(tool) => tool_html(view, tool, time, out),
        Block::Patch { hash, files } => {
            let files: Vec<String> = files
                .iter()
                .map(|f| format!("<code>{}</code>", esc(f)))
                .collect();
            let short: String = hash.chars().take(10).collect();
            let _ = writeln!(
                out,
                "<p><strong>Patch</strong> (snapshot <code>{}</code>): {}</p>",
                esc(&short),
                files.join(", ")
            );
        }
        Block::File {
            filename,
            mime,
            url,
        } => {
            let _ = writeln!(
                out,
                "<p><strong>Attached file</strong> <code>{}</code> ({}): <code>{}</code></p>",
                esc(filename),
                esc(mime),
                esc(url)
            );
        }
        Block::Compaction { auto } => {
            let how = if *auto { "automatic" } else { "requested" };
            let _ = writeln!(
                out,
                "<p class=\"note\"><strong>Compaction</strong> ({how}): the conversation so \
                 far is summarised below.</p>"
            );
        }
        Block::Subtask {
            agent,
            description,
            prompt,
        } => {
            let _ = writeln!(
                out,
                "<p><strong>Subtask</strong> for <code>{}</code>: {}</p><pre>{}</pre>",
                esc(agent),
                esc(description),
                esc(prompt)
            );
        }
        Block::Other(kind) => {
            let _ = writeln!(out, "<p class=\"when\">({} part)</p>", esc(kind));
        }
    }
}

fn tool_html(view: &View, tool: &ToolCall, time: &dyn Fn(i64) -> String, out: &mut String) {
    out.push_str("<div class=\"tool\">\n");
    let _ = write!(
        out,
        "<p><strong>Tool <code>{}</code></strong>",
        esc(&tool.name)
    );
    if !tool.status.is_empty() && tool.status != "completed" {
        let _ = write!(out, " ({})", esc(&tool.status));
    }
    if let Some(title) = &tool.title {
        let _ = write!(out, ": <code>{}</code>", esc(title));
    }
    if let (Some(start), Some(end)) = tool.time_ms {
        let _ = write!(
            out,
            " <span class=\"when\">· {} ({:.1} s)</span>",
            esc(&time(start)),
            (end - start) as f64 / 1000.0
        );
    }
    out.push_str("</p>\n");
    if let Some(child) = &tool.child_session {
        let _ = writeln!(out, "<p>Subagent session: {}</p>", link(view, child));
    }
    let _ = writeln!(
        out,
        "<p class=\"label\">Input</p><pre>{}</pre>",
        esc(&tool.input)
    );
    for diff in &tool.diffs {
        diff_html(diff, out);
    }
    if let Some(output) = &tool.output {
        out.push_str("<p class=\"label\">Output</p>");
        trimmed_html(output, out);
    }
    if let Some(error) = &tool.error {
        let _ = writeln!(out, "<p class=\"label\">Error</p><pre>{}</pre>", esc(error));
    }
    out.push_str("</div>\n");
}

fn trimmed_html(output: &Trimmed, out: &mut String) {
    let _ = writeln!(out, "<pre>{}</pre>", esc(&output.text));
    if output.omitted_bytes > 0 {
        let _ = writeln!(out, "<p class=\"trim\">{}</p>", esc(&trimmed_note(output)));
    }
}

fn diff_html(diff: &FileDiff, out: &mut String) {
    if diff.file.is_empty() {
        out.push_str("<p class=\"label\">Diff</p>");
    } else {
        let _ = write!(
            out,
            "<p class=\"label\">Diff of <code>{}</code></p>",
            esc(&diff.file)
        );
    }
    out.push_str("<pre>");
    for line in diff.diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            ""
        };
        if class.is_empty() {
            let _ = writeln!(out, "{}", esc(line));
        } else {
            // Block spans: the newline is the element's end, not text.
            let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(line));
        }
    }
    out.push_str("</pre>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::opencode::render::view;
    use crate::session::{Message, Session};
    use serde_json::json;

    #[test]
    fn everything_is_escaped_and_nothing_is_loaded() {
        let evil = "<script>alert('x')</script> & \"q\"";
        let s = Session {
            id: "ses_1".into(),
            info: json!({"info": {"id": "ses_1", "title": evil}}),
            messages: vec![Message {
                id: "msg_1".into(),
                body: json!({"info": {"role": "user"}, "parts": [
                    {"type": "text", "text": evil},
                    {"type": "tool", "tool": "<b>", "state": {"input": {"k": evil}, "output": evil,
                     "status": "completed"}}]})
                .into(),
            }],
            children: vec![],
        };
        let mut page = Vec::new();
        write_html(&view(&s), &|ms| ms.to_string(), &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert!(page.contains(
            "<title>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</title>"
        ));
        for forbidden in ["src=", "href=\"http", "@import", "url("] {
            assert!(
                !page.contains(forbidden),
                "no external asset ({forbidden}): {page}"
            );
        }
    }
}
