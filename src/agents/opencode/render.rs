//! A readable view of an OpenCode session, shared by the Markdown and HTML renderers: turns with
//! their times, text, reasoning, tool calls (input, trimmed output, file edits as diffs), patches,
//! attached files, the compaction marker and summary, and the child sessions it spawned.
//!
//! Built from the message and part shapes of `opencode export` (see `export.rs`); unknown part
//! types are kept as a one-line note so nothing disappears silently.

use serde_json::Value;

use super::export;
use crate::agents::render_util::line_diff;
use crate::session::{Message, Session};

/// Tool outputs longer than this many lines are trimmed in the view.
pub const OUTPUT_MAX_LINES: usize = 40;
/// Tool outputs longer than this many bytes are trimmed in the view.
pub const OUTPUT_MAX_BYTES: usize = 4096;

/// A session (and the child sessions under it) ready to render. Each session's turns are built
/// one at a time as a renderer walks them ([`SessionView::turns`]), so a view of a large
/// session holds its headers only and a renderer writing out as it goes holds one turn.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The session and its descendants, parents before children.
    pub sessions: Vec<SessionView<'a>>,
}

/// One session's conversation.
#[derive(Debug, Clone)]
pub struct SessionView<'a> {
    /// The session id.
    pub id: String,
    /// Its title (may be empty).
    pub title: String,
    /// The parent session's id, for a child.
    pub parent: Option<String>,
    /// 0 for the root, 1 for its children, ...
    pub depth: usize,
    /// Creation time, epoch milliseconds.
    pub created_ms: Option<i64>,
    /// Working directory the session ran in.
    pub directory: Option<String>,
    /// Its messages, in conversation order: one turn each.
    messages: &'a [Message],
}

/// One message.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The message id.
    pub id: String,
    /// `user` or `assistant` (or whatever the export says).
    pub role: String,
    /// Creation time, epoch milliseconds.
    pub created_ms: Option<i64>,
    /// The agent (`build`, `compaction`, ...).
    pub agent: Option<String>,
    /// `provider/model`, when recorded.
    pub model: Option<String>,
    /// True for a compaction summary (an assistant message with `summary: true`).
    pub summary: bool,
    /// An error the message ended with.
    pub error: Option<String>,
    /// What the message shows, in part order.
    pub blocks: Vec<Block>,
    /// Files the turn changed (a user message's `summary.diffs`).
    pub diffs: Vec<FileDiff>,
}

/// One visible piece of a message.
#[derive(Debug, Clone)]
pub enum Block {
    /// Text; `synthetic` when OpenCode wrote it rather than the user or the model.
    Text {
        /// The text (Markdown as the model wrote it).
        text: String,
        /// Written by OpenCode itself (a file read for an attachment, a continue prompt).
        synthetic: bool,
    },
    /// The model's reasoning.
    Reasoning(String),
    /// A tool call.
    Tool(ToolCall),
    /// A snapshot patch: files changed during the step.
    Patch {
        /// The snapshot hash.
        hash: String,
        /// The changed files.
        files: Vec<String>,
    },
    /// An attached file.
    File {
        /// File name.
        filename: String,
        /// MIME type.
        mime: String,
        /// Where it came from.
        url: String,
    },
    /// The marker of a compaction request.
    Compaction {
        /// Triggered automatically (context overflow) rather than by the user.
        auto: bool,
    },
    /// A subtask handed to another agent.
    Subtask {
        /// The agent.
        agent: String,
        /// Its description.
        description: String,
        /// Its prompt.
        prompt: String,
    },
    /// A part type this view does not know, by name.
    Other(String),
}

/// A tool call with its input and what came back.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// The tool (`bash`, `edit`, `task`, ...).
    pub name: String,
    /// `pending`, `running`, `completed`, `error`.
    pub status: String,
    /// OpenCode's one-line title of the call.
    pub title: Option<String>,
    /// The input as pretty JSON.
    pub input: String,
    /// The output, trimmed for reading.
    pub output: Option<Trimmed>,
    /// The error, for a failed call.
    pub error: Option<String>,
    /// File edits made by the call, as unified diffs.
    pub diffs: Vec<FileDiff>,
    /// The child session a `task` call started.
    pub child_session: Option<String>,
    /// Start and end times, epoch milliseconds.
    pub time_ms: (Option<i64>, Option<i64>),
}

/// A text cut to a readable length, saying how much was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed {
    /// What is shown.
    pub text: String,
    /// Lines left out.
    pub omitted_lines: usize,
    /// Bytes left out.
    pub omitted_bytes: usize,
}

/// The changes to one file, as a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The file.
    pub file: String,
    /// The diff text (lines starting with ` `, `-`, `+`, `@@`, or a full unified diff).
    pub diff: String,
}

/// Builds the view of `session` and its children.
pub fn view(session: &Session) -> View<'_> {
    let mut sessions = Vec::new();
    add(session, None, 0, &mut sessions);
    View { sessions }
}

fn add<'a>(
    session: &'a Session,
    parent: Option<&str>,
    depth: usize,
    out: &mut Vec<SessionView<'a>>,
) {
    let info = session.info.get("info");
    out.push(SessionView {
        id: session.id.clone(),
        title: export::title(session),
        parent: parent
            .map(str::to_owned)
            .or_else(|| export::parent_id(session)),
        depth,
        created_ms: info
            .and_then(|i| i.pointer("/time/created"))
            .and_then(Value::as_i64),
        directory: info.and_then(|i| str_at(i, "/directory")),
        messages: &session.messages,
    });
    for child in &session.children {
        add(child, Some(&session.id), depth + 1, out);
    }
}

impl View<'_> {
    /// The title of the session with this id, when it is in the view.
    pub fn title_of(&self, id: &str) -> Option<&str> {
        self.sessions
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.title.as_str())
    }
}

impl<'a> SessionView<'a> {
    /// How many turns (messages) the session has.
    pub fn turn_count(&self) -> usize {
        self.messages.len()
    }

    /// The turns, in conversation order, each built from its message when reached.
    pub fn turns(&self) -> impl Iterator<Item = Turn> + 'a {
        self.messages.iter().map(|m| turn(&m.id, &m.body.value()))
    }
}

fn str_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn turn(id: &str, message: &Value) -> Turn {
    let info = message.get("info").unwrap_or(&Value::Null);
    let model = match (
        str_at(info, "/providerID").or_else(|| str_at(info, "/model/providerID")),
        str_at(info, "/modelID").or_else(|| str_at(info, "/model/modelID")),
    ) {
        (Some(p), Some(m)) => Some(format!("{p}/{m}")),
        (None, Some(m)) => Some(m),
        _ => None,
    };
    let error = info.get("error").filter(|e| !e.is_null()).map(|e| {
        str_at(e, "/data/message")
            .or_else(|| str_at(e, "/message"))
            .unwrap_or_else(|| e.to_string())
    });
    let diffs = info
        .pointer("/summary/diffs")
        .and_then(Value::as_array)
        .map(|diffs| {
            diffs
                .iter()
                .filter_map(|d| {
                    Some(FileDiff {
                        file: str_at(d, "/file").unwrap_or_default(),
                        diff: str_at(d, "/patch")?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let blocks = message
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| parts.iter().filter_map(block).collect())
        .unwrap_or_default();
    Turn {
        id: id.to_owned(),
        role: str_at(info, "/role").unwrap_or_else(|| "message".into()),
        created_ms: info.pointer("/time/created").and_then(Value::as_i64),
        agent: str_at(info, "/agent").or_else(|| str_at(info, "/mode")),
        model,
        summary: info.get("summary").and_then(Value::as_bool) == Some(true),
        error,
        blocks,
        diffs,
    }
}

fn block(part: &Value) -> Option<Block> {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
    Some(match kind {
        "text" => Block::Text {
            text: str_at(part, "/text").unwrap_or_default(),
            synthetic: part.get("synthetic").and_then(Value::as_bool) == Some(true),
        },
        "reasoning" => Block::Reasoning(str_at(part, "/text").unwrap_or_default()),
        "tool" => Block::Tool(tool(part)),
        "patch" => Block::Patch {
            hash: str_at(part, "/hash").unwrap_or_default(),
            files: part
                .get("files")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "file" => Block::File {
            filename: str_at(part, "/filename").unwrap_or_default(),
            mime: str_at(part, "/mime").unwrap_or_default(),
            url: str_at(part, "/url").unwrap_or_default(),
        },
        "compaction" => Block::Compaction {
            auto: part.get("auto").and_then(Value::as_bool) == Some(true),
        },
        "subtask" => Block::Subtask {
            agent: str_at(part, "/agent").unwrap_or_default(),
            description: str_at(part, "/description").unwrap_or_default(),
            prompt: str_at(part, "/prompt").unwrap_or_default(),
        },
        // Bookkeeping of steps and snapshots: nothing to read.
        "step-start" | "step-finish" | "snapshot" => return None,
        other => Block::Other(other.to_owned()),
    })
}

fn tool(part: &Value) -> ToolCall {
    let state = part.get("state").unwrap_or(&Value::Null);
    let name = str_at(part, "/tool").unwrap_or_else(|| "tool".into());
    let input = state.get("input").cloned().unwrap_or(Value::Null);
    let metadata = state.get("metadata").unwrap_or(&Value::Null);
    let output = state
        .get("output")
        .and_then(Value::as_str)
        .map(|o| trim(o, OUTPUT_MAX_LINES, OUTPUT_MAX_BYTES));
    ToolCall {
        diffs: tool_diffs(&name, &input, metadata),
        child_session: (name == "task")
            .then(|| str_at(metadata, "/sessionId"))
            .flatten(),
        name,
        status: str_at(state, "/status").unwrap_or_default(),
        title: str_at(state, "/title").filter(|t| !t.is_empty()),
        input: serde_json::to_string_pretty(&input).unwrap_or_default(),
        output,
        error: str_at(state, "/error"),
        time_ms: (
            state.pointer("/time/start").and_then(Value::as_i64),
            state.pointer("/time/end").and_then(Value::as_i64),
        ),
    }
}

/// The file edits a tool call made: OpenCode's own diff when it recorded one, else a diff
/// computed from the input (`edit`: oldString/newString, `multiedit`: edits, `write`: content).
fn tool_diffs(name: &str, input: &Value, metadata: &Value) -> Vec<FileDiff> {
    let file = str_at(input, "/filePath")
        .or_else(|| str_at(input, "/path"))
        .unwrap_or_default();
    if let Some(diff) = str_at(metadata, "/diff").filter(|d| !d.is_empty()) {
        return vec![FileDiff { file, diff }];
    }
    match name {
        "edit" => match (str_at(input, "/oldString"), str_at(input, "/newString")) {
            (Some(old), Some(new)) => vec![FileDiff {
                diff: line_diff(&old, &new),
                file,
            }],
            _ => Vec::new(),
        },
        "multiedit" => input
            .get("edits")
            .and_then(Value::as_array)
            .map(|edits| {
                edits
                    .iter()
                    .filter_map(|e| {
                        Some(FileDiff {
                            file: str_at(e, "/filePath").unwrap_or_else(|| file.clone()),
                            diff: line_diff(&str_at(e, "/oldString")?, &str_at(e, "/newString")?),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        "write" => str_at(input, "/content")
            .map(|content| {
                vec![FileDiff {
                    diff: line_diff("", &content),
                    file,
                }]
            })
            .unwrap_or_default(),
        "patch" | "apply_patch" => str_at(input, "/patchText")
            .map(|diff| vec![FileDiff { file, diff }])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Cuts `text` to at most `max_lines` lines and `max_bytes` bytes (at a character boundary),
/// counting what was left out.
pub fn trim(text: &str, max_lines: usize, max_bytes: usize) -> Trimmed {
    let mut end = text.len();
    if let Some((i, _)) = text.match_indices('\n').nth(max_lines.saturating_sub(1)) {
        // Keep the line's newline only when more follows; a final newline is no extra line.
        if i + 1 < text.len() {
            end = i + 1;
        }
    }
    if end > max_bytes {
        end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    let rest = &text[end..];
    Trimmed {
        text: text[..end].to_owned(),
        omitted_lines: if rest.is_empty() {
            0
        } else {
            rest.trim_end_matches('\n').split('\n').count()
        },
        omitted_bytes: rest.len(),
    }
}

/// The number of parts of one message (`{"info": .., "parts": [..]}`), 0 when it has none.
pub fn part_count(message: &Value) -> u64 {
    message
        .get("parts")
        .and_then(Value::as_array)
        .map_or(0, |p| p.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_outputs_are_trimmed_and_say_how_much() {
        let text: String = (1..=100).map(|n| format!("line {n}\n")).collect();
        let t = trim(&text, 40, 100_000);
        assert_eq!(t.text.lines().count(), 40);
        assert_eq!(t.omitted_lines, 60);
        assert_eq!(t.omitted_bytes, text.len() - t.text.len());
        let short = trim("one\ntwo\n", 2, 100);
        assert_eq!(
            (short.text.as_str(), short.omitted_lines),
            ("one\ntwo\n", 0)
        );
        let bytes = trim(&"é".repeat(10), 40, 5);
        assert_eq!(bytes.text, "éé", "cut at a character boundary");
        assert_eq!(bytes.omitted_bytes, 16);
    }

    #[test]
    fn an_edit_becomes_a_line_diff_with_context() {
        let old: String = (1..=20).map(|n| format!("l{n}\n")).collect();
        let new = old.replace("l10\n", "ten\n");
        let diff = line_diff(&old, &new);
        assert_eq!(
            diff, "@@\n l7\n l8\n l9\n-l10\n+ten\n l11\n l12\n l13\n@@\n",
            "{diff}"
        );
        assert_eq!(line_diff("", "a\nb"), "+a\n+b\n");
    }

    #[test]
    fn tool_calls_show_input_output_and_edits() {
        let message = json!({"info": {"id": "msg_1", "role": "assistant", "providerID": "p",
            "modelID": "m", "time": {"created": 5}},
          "parts": [
            {"type": "step-start"},
            {"type": "reasoning", "text": "hmm"},
            {"type": "tool", "tool": "edit", "state": {"status": "completed",
              "input": {"filePath": "/a.rs", "oldString": "x", "newString": "y"},
              "output": "done", "metadata": {}}},
            {"type": "tool", "tool": "task", "state": {"status": "completed", "input": {},
              "metadata": {"sessionId": "ses_child"}}},
            {"type": "agent", "name": "x"}]});
        let t = turn("msg_1", &message);
        assert_eq!(t.model.as_deref(), Some("p/m"));
        assert_eq!(t.blocks.len(), 4, "step-start is bookkeeping");
        let Block::Tool(edit) = &t.blocks[1] else {
            panic!("a tool block")
        };
        assert_eq!(
            edit.diffs,
            vec![FileDiff {
                file: "/a.rs".into(),
                diff: "-x\n+y\n".into()
            }]
        );
        assert_eq!(edit.output.as_ref().unwrap().text, "done");
        let Block::Tool(task) = &t.blocks[2] else {
            panic!("a tool block")
        };
        assert_eq!(task.child_session.as_deref(), Some("ses_child"));
        assert!(matches!(&t.blocks[3], Block::Other(k) if k == "agent"));
        assert_eq!(part_count(&message), 5);
    }
}
