//! A readable conversation shared by the agents whose sessions are JSONL records (Claude Code,
//! Codex): each adapter turns its records into [`Conversation`] turns (text, tool calls with their
//! input, file edits as diffs and their output, compactions), and this module renders them as
//! Markdown and as an HTML page on the shared shell ([`render_util::html_page`]: the same style,
//! escaping and Content-Security-Policy as OpenCode's view). Times are epoch seconds, formatted
//! by the caller (local time).
//!
//! A tool's output is shown under its call when the adapter pairs them (by call id); records
//! merged into one turn keep their ids as anchors, so a link to any record's id lands on it.

use std::fmt::Write as _;

use super::render_util::{self, diff_md, escape_html as esc, escape_tags, fenced};
use crate::session::Session;

/// Tool output longer than this many characters is cut in the view.
pub const MAX_OUTPUT_CHARS: usize = 2000;

/// A session and its subagent sessions, ready to render.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The root session first, then its subagents (in the order the session holds them).
    pub sessions: Vec<SessionView>,
}

impl Conversation {
    /// The conversation of `session` and its subagents, each shown as made by `agent`: the root
    /// titled `title(root)` (subagents untitled), each session's turns added by `fill`.
    pub fn of_tree(
        session: &Session,
        agent: &str,
        title: &dyn Fn(&Session) -> String,
        fill: &mut dyn FnMut(&Session, &mut SessionView),
    ) -> Conversation {
        let sessions = session
            .walk()
            .into_iter()
            .enumerate()
            .map(|(index, s)| {
                let mut view = SessionView {
                    id: s.id.clone(),
                    title: if index == 0 { title(s) } else { String::new() },
                    agent: agent.to_owned(),
                    turns: Vec::new(),
                };
                fill(s, &mut view);
                view
            })
            .collect();
        Conversation { sessions }
    }
}

/// One session's turns.
#[derive(Debug, Clone, Default)]
pub struct SessionView {
    /// The session id.
    pub id: String,
    /// Its title (may be empty).
    pub title: String,
    /// What wrote it, for the facts line: `Claude Code 2.1.3`, `Codex 0.171.0`.
    pub agent: String,
    /// The turns, in conversation order.
    pub turns: Vec<Turn>,
}

/// Who a turn is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user's prompt.
    User,
    /// The model's answer, tool calls and their output.
    Assistant,
    /// The summary the conversation continued from after a compaction.
    Summary,
    /// The marker of a compaction.
    Compacted,
}

/// One turn: consecutive records of one role.
#[derive(Debug, Clone)]
pub struct Turn {
    /// Who it is from.
    pub role: Role,
    /// The id of its first record (the turn's anchor).
    pub id: String,
    /// When, in epoch seconds.
    pub time: Option<i64>,
    /// What it shows.
    pub blocks: Vec<Block>,
}

/// One visible piece of a turn.
#[derive(Debug, Clone)]
pub enum Block {
    /// Text as written (Markdown, for the model's answers).
    Text(String),
    /// A tool call.
    Tool(ToolCall),
    /// A tool's output with no call to show it under.
    Output(Output),
    /// The id of a record merged into the turn, as an anchor.
    Anchor(String),
}

/// A tool call: its input, the file edits it makes, and what came back.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// The call id the output names, to pair them.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// Its input, pretty JSON or text.
    pub input: String,
    /// The file edits it makes: `(file, line diff)`.
    pub diffs: Vec<(String, String)>,
    /// Its output, once paired.
    pub output: Option<Output>,
}

/// What a tool returned.
#[derive(Debug, Clone)]
pub struct Output {
    /// The id of the record it came in (an anchor).
    pub record: String,
    /// The text, cut to [`MAX_OUTPUT_CHARS`].
    pub text: String,
    /// Whether it was cut.
    pub cut: bool,
}

impl Output {
    /// The output of record `record`: `text` cut to [`MAX_OUTPUT_CHARS`].
    pub fn new(record: &str, text: &str) -> Self {
        let cut: String = text.chars().take(MAX_OUTPUT_CHARS).collect();
        Output {
            record: record.to_owned(),
            cut: cut.len() < text.len(),
            text: cut,
        }
    }
}

impl SessionView {
    /// Adds `block` from record `record` to the last turn when it has `role`, else to a new turn.
    pub fn push(&mut self, role: Role, record: &str, time: Option<i64>, block: Block) {
        match self.turns.last_mut() {
            Some(turn) if turn.role == role && role != Role::Compacted => {
                if !turn_has_anchor(turn, record) {
                    turn.blocks.push(Block::Anchor(record.to_owned()));
                }
                turn.blocks.push(block);
            }
            _ => self.turns.push(Turn {
                role,
                id: record.to_owned(),
                time,
                blocks: vec![block],
            }),
        }
    }

    /// Adds a compaction marker.
    pub fn compacted(&mut self, record: &str, time: Option<i64>) {
        self.turns.push(Turn {
            role: Role::Compacted,
            id: record.to_owned(),
            time,
            blocks: Vec::new(),
        });
    }

    /// Puts `output` under the call `call_id` when one is shown, else as a block of its own
    /// (an assistant turn's).
    pub fn output(&mut self, call_id: &str, output: Output, time: Option<i64>) {
        let call = self
            .turns
            .iter_mut()
            .rev()
            .flat_map(|t| t.blocks.iter_mut().rev())
            .find_map(|b| match b {
                Block::Tool(call) if call.call_id == call_id && call.output.is_none() => Some(call),
                _ => None,
            });
        match call {
            Some(call) if !call_id.is_empty() => call.output = Some(output),
            _ => {
                let record = output.record.clone();
                self.push(Role::Assistant, &record, time, Block::Output(output));
            }
        }
    }
}

fn turn_has_anchor(turn: &Turn, record: &str) -> bool {
    turn.id == record
        || turn
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Anchor(a) if a == record))
}

/// Parses an RFC 3339 timestamp (`2026-11-22T14:03:05.123Z`) into epoch seconds.
pub fn epoch_seconds(timestamp: &str) -> Option<i64> {
    time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The whole Markdown of `c`, in memory (for tests).
#[cfg(test)]
pub(crate) fn markdown(c: &Conversation, time: &dyn Fn(i64) -> String) -> String {
    let mut out = Vec::new();
    write_markdown(c, time, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The whole HTML page of `c`, in memory (for tests).
#[cfg(test)]
pub(crate) fn html(c: &Conversation, time: &dyn Fn(i64) -> String) -> String {
    let mut out = Vec::new();
    write_html(c, time, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Writes `c` to `out` as Markdown, turn by turn; `time` formats epoch seconds for people
/// (local time).
pub fn write_markdown(
    c: &Conversation,
    time: &dyn Fn(i64) -> String,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut text = String::new();
    for (index, s) in c.sessions.iter().enumerate() {
        if index == 0 {
            let title = if s.title.is_empty() {
                &s.agent
            } else {
                &s.title
            };
            let _ = writeln!(text, "# {}\n", one_line(title));
        } else {
            let _ = writeln!(text, "\n## Subagent {}\n", s.id);
        }
        let _ = writeln!(text, "{} session `{}`\n", s.agent, s.id);
        for turn in &s.turns {
            turn_md(turn, time, &mut text);
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        out.write_all(text.as_bytes())?;
        text.clear();
    }
    Ok(())
}

fn turn_md(t: &Turn, time: &dyn Fn(i64) -> String, out: &mut String) {
    let when = t
        .time
        .map(|s| format!(" · {}", time(s)))
        .unwrap_or_default();
    match t.role {
        Role::User => {
            let _ = writeln!(out, "### User{when}\n");
        }
        Role::Assistant => {
            let _ = writeln!(out, "### Assistant{when}\n");
        }
        Role::Summary => {
            let _ = writeln!(out, "**Compaction summary**{when}\n");
        }
        Role::Compacted => {
            let _ = writeln!(out, "---\n\n*Conversation compacted*{when}\n");
        }
    }
    for block in &t.blocks {
        match block {
            // A `<` outside code is written `\<`, so a tag in the conversation shows as text.
            Block::Text(text) => {
                out.push_str(&escape_tags(text.trim_end()));
                out.push_str("\n\n");
            }
            Block::Tool(call) => {
                let _ = writeln!(out, "**Tool call** `{}`\n", call.name);
                fenced("json", &call.input, out);
                for (file, diff) in &call.diffs {
                    diff_md(file, diff, out);
                }
                if let Some(output) = &call.output {
                    output_md(output, out);
                }
            }
            Block::Output(output) => output_md(output, out),
            Block::Anchor(_) => {}
        }
    }
}

fn output_md(output: &Output, out: &mut String) {
    out.push_str("**Tool output**\n\n");
    let mut text = output.text.trim_end().to_owned();
    if output.cut {
        text.push_str("\n…");
    }
    fenced("", &text, out);
}

/// Writes `c` to `out` as one self-contained HTML page, turn by turn; `time` formats epoch
/// seconds for people.
pub fn write_html(
    c: &Conversation,
    time: &dyn Fn(i64) -> String,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let page_title = c.sessions.first().map_or("", |s| {
        if s.title.is_empty() {
            &s.agent
        } else {
            &s.title
        }
    });
    out.write_all(render_util::html_page_start(page_title).as_bytes())?;
    let mut text = String::new();
    for (index, s) in c.sessions.iter().enumerate() {
        let title = if s.title.is_empty() {
            &s.agent
        } else {
            &s.title
        };
        let _ = writeln!(text, "<section id=\"{}\">", esc(&s.id));
        if index == 0 {
            let _ = writeln!(text, "<h1>{}</h1>", esc(title));
        } else {
            let _ = writeln!(
                text,
                "<h2>Subagent session <code>{}</code></h2>",
                esc(&s.id)
            );
        }
        let _ = writeln!(
            text,
            "<p class=\"facts\">{} session <code>{}</code> · {} turns</p>",
            esc(&s.agent),
            esc(&s.id),
            s.turns
                .iter()
                .filter(|t| matches!(t.role, Role::User | Role::Assistant))
                .count()
        );
        if index == 0 && c.sessions.len() > 1 {
            let links: Vec<String> = c.sessions[1..]
                .iter()
                .map(|c| format!("<a href=\"#{0}\"><code>{0}</code></a>", esc(&c.id)))
                .collect();
            let _ = writeln!(text, "<p>Subagent sessions: {}</p>", links.join(", "));
        }
        for turn in &s.turns {
            turn_html(turn, time, &mut text);
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        text.push_str("</section>\n");
        out.write_all(text.as_bytes())?;
        text.clear();
    }
    out.write_all(render_util::HTML_PAGE_END.as_bytes())
}

fn turn_html(t: &Turn, time: &dyn Fn(i64) -> String, out: &mut String) {
    let when = t
        .time
        .map(|s| format!(" <span class=\"when\">· {}</span>", esc(&time(s))))
        .unwrap_or_default();
    let (class, heading) = match t.role {
        Role::User => ("turn user", "User"),
        Role::Assistant => ("turn assistant", "Assistant"),
        Role::Summary => ("turn summary", "Compaction summary"),
        Role::Compacted => {
            let _ = writeln!(
                out,
                "<p class=\"note\" id=\"{}\"><strong>Conversation compacted</strong>{when}: \
                 the model continued from a summary of the conversation above (the messages \
                 above are still saved).</p>",
                esc(&t.id)
            );
            return;
        }
    };
    let _ = writeln!(out, "<article class=\"{class}\" id=\"{}\">", esc(&t.id));
    let _ = writeln!(out, "<h3>{heading}{when}</h3>");
    for block in &t.blocks {
        match block {
            Block::Text(text) => {
                let _ = writeln!(out, "<div class=\"text\">{}</div>", esc(text.trim_end()));
            }
            Block::Tool(call) => tool_html(call, out),
            Block::Output(output) => {
                out.push_str("<div class=\"tool\">\n");
                output_html(output, out);
                out.push_str("</div>\n");
            }
            Block::Anchor(id) => {
                let _ = writeln!(out, "<a id=\"{}\"></a>", esc(id));
            }
        }
    }
    out.push_str("</article>\n");
}

fn tool_html(call: &ToolCall, out: &mut String) {
    out.push_str("<div class=\"tool\">\n");
    let _ = writeln!(
        out,
        "<p><strong>Tool <code>{}</code></strong></p>",
        esc(&call.name)
    );
    let _ = writeln!(
        out,
        "<p class=\"label\">Input</p><pre>{}</pre>",
        esc(&call.input)
    );
    for (file, diff) in &call.diffs {
        diff_html(file, diff, out);
    }
    if let Some(output) = &call.output {
        output_html(output, out);
    }
    out.push_str("</div>\n");
}

fn output_html(output: &Output, out: &mut String) {
    let _ = writeln!(
        out,
        "<p class=\"label\" id=\"{}\">Output</p><pre>{}</pre>",
        esc(&output.record),
        esc(output.text.trim_end())
    );
    if output.cut {
        let _ = writeln!(
            out,
            "<p class=\"trim\">(cut to its first {MAX_OUTPUT_CHARS} characters)</p>"
        );
    }
}

fn diff_html(file: &str, diff: &str, out: &mut String) {
    if file.is_empty() {
        out.push_str("<p class=\"label\">Diff</p>");
    } else {
        let _ = write!(
            out,
            "<p class=\"label\">Diff of <code>{}</code></p>",
            esc(file)
        );
    }
    out.push_str("<pre>");
    for line in diff.lines() {
        let class = match line.chars().next() {
            Some('+') => "add",
            Some('-') => "del",
            Some('@') => "hunk",
            _ => "",
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

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Conversation {
        let evil = "<script>alert('x')</script> & \"q\"";
        let mut s = SessionView {
            id: "s1".into(),
            title: evil.into(),
            agent: "Agent 1.0".into(),
            turns: Vec::new(),
        };
        s.push(Role::User, "l1", Some(0), Block::Text(evil.into()));
        let call = ToolCall {
            call_id: "c1".into(),
            name: "Bash".into(),
            input: "{\"command\": \"ls <dir>\"}".into(),
            diffs: vec![("a.rs".into(), "-x\n+y\n".into())],
            output: None,
        };
        s.push(Role::Assistant, "l2", Some(60), Block::Tool(call));
        s.output("c1", Output::new("l3", "one <b>two</b>"), Some(61));
        s.compacted("l4", Some(120));
        Conversation { sessions: vec![s] }
    }

    #[test]
    fn the_page_escapes_everything_and_shows_output_under_its_call() {
        let page = html(&sample(), &|s| format!("T{s}"));
        assert!(!page.contains("<script") && !page.contains("<b>"), "{page}");
        assert!(page.contains(
            "<title>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</title>"
        ));
        assert!(
            page.contains("<article class=\"turn user\" id=\"l1\">"),
            "{page}"
        );
        assert!(page.contains("<h3>User <span class=\"when\">· T0</span></h3>"));
        assert!(
            page.contains(
                "<p class=\"label\" id=\"l3\">Output</p><pre>one &lt;b&gt;two&lt;/b&gt;</pre>"
            ),
            "the output is under its call, anchored by its record: {page}"
        );
        assert!(page.contains("<span class=\"add\">+y</span>"), "{page}");
        assert!(page.contains("<strong>Conversation compacted</strong>"));
        assert_eq!(
            render_util::html_page_body(&page).map(|b| b.starts_with("<section id=\"s1\">")),
            Some(true),
            "the page is on the shared shell"
        );
    }

    #[test]
    fn markdown_has_local_times_and_fences_that_hold() {
        let mut c = sample();
        c.sessions[0].push(Role::Assistant, "l5", Some(180), Block::Text("done".into()));
        c.sessions[0].output("nope", Output::new("l6", "```\nfenced\n```"), None);
        let md = markdown(&c, &|s| format!("T{s}"));
        assert!(md.contains("### User · T0\n"), "{md}");
        assert!(
            md.contains("\\<script>alert('x')\\</script>"),
            "a tag shows as text: {md}"
        );
        assert!(md.contains("**Tool call** `Bash`\n\n```json\n"), "{md}");
        assert!(
            md.contains("**Tool output**\n\n```\none <b>two</b>\n```\n"),
            "{md}"
        );
        assert!(
            md.contains("---\n\n*Conversation compacted* · T120\n"),
            "{md}"
        );
        assert!(
            md.contains("````\n```\nfenced\n```\n````"),
            "an unpaired output stands alone, fenced past its own fences: {md}"
        );
        assert_eq!(epoch_seconds("1970-01-01T00:01:00.500Z"), Some(60));
        assert_eq!(epoch_seconds("yesterday"), None);
    }
}
