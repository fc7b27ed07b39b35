//! Links between commits and the sessions that wrote them, agent-agnostic.
//!
//! An agent adapter says what a file edit looks like in its sessions ([`FileEdit`]: the path, the
//! text before and after, the message that made it). Everything else is here: which sessions'
//! edits touch the staged changes of a commit ([`touching`]), the `Session: <agent>/<id>` trailer
//! ([`SessionLink`], [`trailer_links`]), and which session and message wrote a line ([`Writers`]),
//! matched by the line's content, so a link survives rebase, squash and cherry-pick.
//!
//! Paths are matched by suffix: an edit's path (absolute, from the saver's checkout) matches a
//! repository path when it equals it or ends with `/<path>`, so a session saved on another
//! machine or in another worktree still matches.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The trailer key that links a commit to a session.
pub const TRAILER_KEY: &str = "Session";

/// One file edit or write made by a session's tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEdit {
    /// The file as the agent named it (absolute, or relative to the session's directory).
    pub path: String,
    /// The text replaced (empty for a new file or a whole-file write).
    pub old: String,
    /// The text written.
    pub new: String,
    /// The stored message id holding the tool call.
    pub message: String,
    /// When the edit was made, epoch milliseconds, when the agent says.
    pub time_ms: Option<i64>,
}

impl FileEdit {
    /// The lines this edit wrote: the lines of `new` that `old` did not hold (as many times).
    pub fn written_lines(&self) -> Vec<&str> {
        let mut before: HashMap<&str, usize> = HashMap::new();
        for line in self.old.lines() {
            *before.entry(line.trim()).or_default() += 1;
        }
        let mut out = Vec::new();
        for line in self.new.lines() {
            match before.get_mut(line.trim()) {
                Some(n) if *n > 0 => *n -= 1,
                _ => out.push(line),
            }
        }
        out
    }
}

/// One turn of a conversation, for `why`: a user prompt or an assistant answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Turn {
    /// The stored message id.
    pub message: String,
    /// `user` or `assistant`.
    pub role: String,
    /// The text said.
    pub text: String,
    /// When, epoch milliseconds, when the agent says.
    pub time_ms: Option<i64>,
}

/// A session a commit links to: `<agent>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SessionLink {
    /// The agent (ref namespace).
    pub agent: String,
    /// The session id.
    pub id: String,
}

impl SessionLink {
    /// Reads `<agent>/<id>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (agent, id) = text.trim().split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        };
        (ok(agent) && ok(id)).then(|| SessionLink {
            agent: agent.to_owned(),
            id: id.to_owned(),
        })
    }
}

impl std::fmt::Display for SessionLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.agent, self.id)
    }
}

/// The `Session: <agent>/<id>` trailers of a commit message (its last paragraph), in order.
pub fn trailer_links(message: &str) -> Vec<SessionLink> {
    let block = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    let mut out = Vec::new();
    for line in block.lines() {
        if let Some((key, value)) = line.split_once(':') {
            if key.trim().eq_ignore_ascii_case(TRAILER_KEY) {
                if let Some(link) = SessionLink::parse(value) {
                    if !out.contains(&link) {
                        out.push(link);
                    }
                }
            }
        }
    }
    out
}

/// Whether an edit's `edit_path` names the repository path `path` (equal, or ending with `/path`).
pub fn path_matches(edit_path: &str, path: &str) -> bool {
    let edit_path = edit_path.strip_prefix("./").unwrap_or(edit_path);
    edit_path == path
        || (edit_path.len() > path.len()
            && edit_path.ends_with(path)
            && edit_path.as_bytes()[edit_path.len() - path.len() - 1] == b'/')
}

/// A line as it is compared: without surrounding whitespace.
pub fn line_key(line: &str) -> &str {
    line.trim()
}

/// Whether a line says enough to be matched by content alone: it has a letter or digit and is
/// not a lone keyword-sized token (`}`, `end`, `);` would match any session).
pub fn is_distinctive(line: &str) -> bool {
    let key = line_key(line);
    key.chars().filter(|c| c.is_alphanumeric()).count() >= 4
}

/// A staged (or committed) change of one file: its path in the repository and the lines added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChange {
    /// The path, relative to the repository root.
    pub path: String,
    /// The lines the change adds.
    pub added: Vec<String>,
    /// Whether it removes lines or the file (a change with nothing added still counts).
    pub removes: bool,
}

/// Whether `edits` (one session's, children included) touch `changes`: an edit names a changed
/// path, and a line it wrote is among the lines added there (or the change adds nothing, such as
/// a deletion the session made).
pub fn touching(edits: &[FileEdit], changes: &[FileChange]) -> bool {
    changes.iter().any(|change| {
        let on_path: Vec<&FileEdit> = edits
            .iter()
            .filter(|e| path_matches(&e.path, &change.path))
            .collect();
        if on_path.is_empty() {
            return false;
        }
        if change.added.is_empty() {
            return true;
        }
        let written: HashSet<&str> = on_path
            .iter()
            .flat_map(|e| e.written_lines())
            .map(line_key)
            .filter(|l| !l.is_empty())
            .collect();
        change
            .added
            .iter()
            .any(|l| written.contains(line_key(l)) && !line_key(l).is_empty())
    })
}

/// Who wrote a line: a session, the message, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Writer {
    /// The session (the saved root session's ref namespace and id).
    pub link: SessionLink,
    /// The session (root or child) whose message made the edit.
    pub session: String,
    /// The stored message id.
    pub message: String,
    /// When, epoch milliseconds, when known.
    pub time_ms: Option<i64>,
}

/// The edits of saved sessions to one file, indexed by line content.
#[derive(Debug, Default)]
pub struct Writers {
    by_line: HashMap<String, Vec<Writer>>,
}

impl Writers {
    /// Indexes the lines written to `path` by `edits` of session `link` (`session`: the root or
    /// child session the edits are in).
    pub fn add(&mut self, link: &SessionLink, session: &str, edits: &[FileEdit], path: &str) {
        for edit in edits.iter().filter(|e| path_matches(&e.path, path)) {
            for line in edit.written_lines() {
                let key = line_key(line);
                if key.is_empty() {
                    continue;
                }
                let writers = self.by_line.entry(key.to_owned()).or_default();
                let writer = Writer {
                    link: link.clone(),
                    session: session.to_owned(),
                    message: edit.message.clone(),
                    time_ms: edit.time_ms,
                };
                if !writers.contains(&writer) {
                    writers.push(writer);
                }
            }
        }
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_line.is_empty()
    }

    /// The writer of `line`: among those in `only` (when given), the latest edit made no later
    /// than `before_ms` (when known; else the latest of all).
    pub fn writer_of(
        &self,
        line: &str,
        only: Option<&[SessionLink]>,
        before_ms: Option<i64>,
    ) -> Option<&Writer> {
        let writers = self.by_line.get(line_key(line))?;
        let allowed = |w: &&Writer| only.is_none_or(|links| links.contains(&w.link));
        let in_time = |w: &&Writer| match (before_ms, w.time_ms) {
            (Some(before), Some(t)) => t <= before,
            _ => true,
        };
        let key = |w: &&Writer| w.time_ms.unwrap_or(0);
        writers
            .iter()
            .filter(allowed)
            .filter(in_time)
            .max_by_key(key)
            .or_else(|| writers.iter().filter(allowed).max_by_key(key))
    }
}

/// The edits of one saved session (children included), as last indexed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexedSession {
    /// The save they were read from.
    pub tip: String,
    /// (session or child id, its edits).
    pub edits: Vec<(String, Vec<FileEdit>)>,
}

/// Every saved session's edits, remembered by save so a session is decoded once per save
/// (`<git-dir>/git-session/links.json`). Losing it only costs time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EditIndex {
    /// By full ref name.
    pub sessions: HashMap<String, IndexedSession>,
}

impl EditIndex {
    /// Reads the index at `path`; an unreadable one is empty.
    pub fn load(path: &std::path::Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the index to `path` (atomically; a failure is ignored: it is a cache).
    pub fn store(&self, path: &std::path::Path) {
        if let Ok(bytes) = serde_json::to_vec(self) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::fsutil::write_atomically(path, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(path: &str, old: &str, new: &str, message: &str, time: i64) -> FileEdit {
        FileEdit {
            path: path.into(),
            old: old.into(),
            new: new.into(),
            message: message.into(),
            time_ms: Some(time),
        }
    }

    #[test]
    fn trailers_name_sessions_only_in_the_last_paragraph() {
        let message = "Fix it\n\nSession: agent-a/ses_x in the body\n\nSigned-off-by: A <a@b>\nSession: agent-a/ses_1\nsession: agent-b/0b5e-1\nSession: not a link\n";
        let links = trailer_links(message);
        assert_eq!(
            links.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["agent-a/ses_1", "agent-b/0b5e-1"]
        );
    }

    #[test]
    fn paths_match_by_suffix_on_a_component_boundary() {
        assert!(path_matches("/home/a/app/src/lib.rs", "src/lib.rs"));
        assert!(path_matches("src/lib.rs", "src/lib.rs"));
        assert!(!path_matches("/home/a/app/src/mylib.rs", "lib.rs"));
        assert!(!path_matches("/x/lib.rs", "src/lib.rs"));
    }

    #[test]
    fn an_edit_writes_the_lines_its_new_text_adds() {
        let e = edit("a", "fn a() {\n    1\n}\n", "fn a() {\n    2\n}\n", "m", 1);
        assert_eq!(e.written_lines(), ["    2"]);
        let w = edit("a", "", "x\nx\n", "m", 1);
        assert_eq!(w.written_lines(), ["x", "x"]);
    }

    #[test]
    fn a_session_touches_a_change_when_a_line_it_wrote_was_added() {
        let edits = vec![edit("/r/src/a.rs", "", "let answer = 42;\n", "m1", 1)];
        let change = |path: &str, added: &[&str]| FileChange {
            path: path.into(),
            added: added.iter().map(|s| s.to_string()).collect(),
            removes: false,
        };
        assert!(touching(
            &edits,
            &[change("src/a.rs", &["  let answer = 42;"])]
        ));
        assert!(!touching(&edits, &[change("src/a.rs", &["other"])]));
        assert!(!touching(
            &edits,
            &[change("src/b.rs", &["let answer = 42;"])]
        ));
        assert!(touching(&edits, &[change("src/a.rs", &[])]), "a deletion");
    }

    #[test]
    fn the_writer_of_a_line_is_the_latest_edit_before_the_commit() {
        let link = |id: &str| SessionLink {
            agent: "agent-a".into(),
            id: id.into(),
        };
        let mut writers = Writers::default();
        writers.add(
            &link("s1"),
            "s1",
            &[edit("/r/a", "", "same line\n", "m1", 10)],
            "a",
        );
        writers.add(
            &link("s2"),
            "s2",
            &[edit("/r/a", "", "same line\n", "m2", 20)],
            "a",
        );
        assert_eq!(
            writers.writer_of("same line", None, None).unwrap().message,
            "m2"
        );
        assert_eq!(
            writers
                .writer_of("same line", None, Some(15))
                .unwrap()
                .message,
            "m1"
        );
        let only = [link("s1")];
        assert_eq!(
            writers
                .writer_of(" same line ", Some(&only), None)
                .unwrap()
                .message,
            "m1"
        );
        assert!(writers.writer_of("other", None, None).is_none());
    }
}
