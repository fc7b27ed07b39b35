//! A Codex rollout (JSONL) <-> [`Session`].
//!
//! A rollout is append-only: line 0 is a `session_meta` record (`payload.id`, `cwd`,
//! `cli_version`, the parent of a subagent), then `event_msg`, `response_item`, `turn_context`,
//! `world_state`, `token_usage_record` and `compacted` records, each
//! `{"timestamp","ordinal","type","payload"}`. Compaction appends; nothing is rewritten.
//!
//! One message per non-blank line, in file order. Message ids are `l` and the 1-based line
//! number, zero-padded to six digits (tree order is line order), then `-` and the digits of the
//! record's `timestamp` (`l000042-20261130114344761`). A re-save of the same rollout only adds
//! ids; two machines that appended different records after a common prefix produce different
//! ids at the same line, so a merge keeps both (see [`super::merge`]). Paths rewritten by a load
//! do not change an id. Bodies are the records' exact text ([`Body::raw`]), so the save cache
//! recognises unchanged lines by fingerprint.
//!
//! Line-exactness as for Claude Code transcripts: blank lines are kept as line numbers with no
//! message (`codex.lines` counts them all); a last line cut mid-write is left out with a warning,
//! so the rollout is saved up to its last complete line; another invalid line is left out and
//! restored as an empty line.
//!
//! The info is `{"codex": {"id", "file", "dir", "lines", "cwd", "version", "parent", "title"}}`
//! plus, at save time, where it came from (`root`, `codexHome`, `home`; see [`super::agent`]).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::agents::InputError;
use crate::session::model::Body;
use crate::session::{Message, Session};

/// A rollout read into a session, with what was skipped.
#[derive(Debug)]
pub struct Parsed {
    /// The session (no children yet).
    pub session: Session,
    /// One line per problem that was worked around (a cut last line, an invalid line).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    timestamp: Option<Value>,
}

/// The message id of line `line` (1-based) holding a record written at `timestamp`.
pub fn line_id(line: usize, timestamp: Option<&str>) -> String {
    let digits: String = timestamp
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .take(20)
        .collect();
    if digits.is_empty() {
        format!("l{line:06}")
    } else {
        format!("l{line:06}-{digits}")
    }
}

pub use crate::agents::lines::line_of;

/// What the first record (`session_meta`) of a rollout says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The session (thread) id.
    pub id: String,
    /// The directory Codex ran in.
    pub cwd: Option<String>,
    /// The Codex version.
    pub version: Option<String>,
    /// The parent thread of a subagent.
    pub parent: Option<String>,
    /// When the session started (`payload.timestamp`).
    pub started: Option<String>,
}

impl Meta {
    /// Reads a `session_meta` record; `None` for any other record.
    pub fn of(record: &Value) -> Option<Meta> {
        if record.get("type")?.as_str()? != "session_meta" {
            return None;
        }
        let p = record.get("payload")?;
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let id = s(p.get("id")).or_else(|| s(p.get("session_id")))?;
        let parent = s(p.get("parent_thread_id"))
            .or_else(|| s(p.pointer("/source/subagent/thread_spawn/parent_thread_id")))
            .filter(|parent| *parent != id);
        Some(Meta {
            id,
            cwd: s(p.get("cwd")),
            version: s(p.get("cli_version")),
            parent,
            started: s(p.get("timestamp")).or_else(|| s(record.get("timestamp"))),
        })
    }

    /// Reads the first line of rollout text.
    pub fn of_line(line: &str) -> Option<Meta> {
        Meta::of(&serde_json::from_str(line.trim_end()).ok()?)
    }

    /// The rollout file name Codex gives this session: `rollout-<YYYY-MM-DDTHH-MM-SS>-<id>.jsonl`.
    pub fn file_name(&self) -> String {
        let stamp: String = self
            .started
            .as_deref()
            .unwrap_or("1970-01-01T00:00:00")
            .chars()
            .take(19)
            .map(|c| if c == ':' { '-' } else { c })
            .collect();
        format!("rollout-{stamp}-{}.jsonl", self.id)
    }

    /// The date folder (`YYYY/MM/DD`) of a session started at `started`.
    pub fn date_dir(&self) -> String {
        let s = self.started.as_deref().unwrap_or("1970-01-01");
        match (s.get(0..4), s.get(5..7), s.get(8..10)) {
            (Some(y), Some(m), Some(d)) => format!("{y}/{m}/{d}"),
            _ => "1970/01/01".into(),
        }
    }
}

/// Parses rollout bytes into a session. `file` is the rollout's file name (kept in the info, and
/// the session's name in messages). The id is the `session_meta` id. Never fails on content
/// after the first record: invalid lines are dropped with a warning.
pub fn parse(bytes: Vec<u8>, file: &str) -> Result<Parsed, InputError> {
    let mut meta = None;
    let read =
        crate::agents::lines::read_objects(bytes, file, "Codex", &mut |number, line, text| {
            if meta.is_none() {
                meta = Meta::of_line(line);
            }
            let head = serde_json::from_str::<Head>(line).ok();
            let id = head.as_ref().and_then(|h| h.timestamp.as_ref()?.as_str());
            Message {
                id: line_id(number, id),
                body: Body::raw(text, line),
            }
        });
    let (messages, warnings, lines) = (read.messages, read.warnings, read.lines);
    let meta = meta.ok_or_else(|| InputError::WrongShape {
        source_name: file.to_owned(),
        agent: "Codex CLI",
        problem: "it has no session_meta record with an id".into(),
    })?;
    if !crate::store::layout::is_safe_component(&meta.id) {
        return Err(InputError::WrongShape {
            source_name: file.to_owned(),
            agent: "Codex CLI",
            problem: format!("its session id {:?} cannot be stored", meta.id),
        });
    }
    let mut info = Map::new();
    info.insert("id".into(), json!(meta.id));
    let file_name = if file.starts_with("rollout-") && file.ends_with(".jsonl") {
        file.to_owned()
    } else {
        meta.file_name()
    };
    info.insert("file".into(), json!(file_name));
    info.insert("dir".into(), json!(meta.date_dir()));
    info.insert("lines".into(), json!(lines));
    if let Some(cwd) = &meta.cwd {
        info.insert("cwd".into(), json!(cwd));
    }
    if let Some(version) = &meta.version {
        info.insert("version".into(), json!(version));
    }
    if let Some(parent) = &meta.parent {
        info.insert("parent".into(), json!(parent));
    }
    let mut session = Session {
        id: meta.id.clone(),
        info: json!({ "codex": Value::Object(info) }),
        messages,
        children: Vec::new(),
    };
    let title = title_of(&session);
    if !title.is_empty() {
        session.info["codex"]["title"] = json!(title);
    }
    Ok(Parsed { session, warnings })
}

/// Renders one session (without its children) back as JSONL, line for line (see
/// [`crate::agents::lines::render`]).
pub fn render(session: &Session) -> String {
    crate::agents::lines::render(session, lines(session))
}

/// The number of lines the rollout had (`codex.lines`), 0 when unknown.
pub fn lines(session: &Session) -> usize {
    session
        .info
        .pointer("/codex/lines")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize
}

/// A string of the session's `codex` info object.
pub fn info_str(session: &Session, key: &str) -> Option<String> {
    session
        .info
        .get("codex")?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

/// The session's title: the first prompt the user typed (first line, at most 80 characters);
/// Codex's own context messages (`<environment_context>`, ...) are not prompts.
pub fn title(session: &Session) -> String {
    info_str(session, "title").unwrap_or_else(|| title_of(session))
}

fn title_of(session: &Session) -> String {
    let prompt = session.messages.iter().find_map(|m| {
        let v = m.body.value();
        let p = v.get("payload")?;
        if v.get("type")?.as_str()? != "response_item"
            || p.get("type")?.as_str()? != "message"
            || p.get("role")?.as_str()? != "user"
        {
            return None;
        }
        p.get("content")?.as_array()?.iter().find_map(|c| {
            let text = c.get("text")?.as_str()?;
            let prompt = !text.trim_start().starts_with('<')
                && !text.trim().is_empty()
                && !is_compaction_text(text);
            prompt.then(|| text.to_owned())
        })
    });
    let chosen = prompt.unwrap_or_default();
    let first = chosen.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim().chars().take(80).collect()
}

/// Whether `text` is a message Codex writes itself around a compaction (the request, the summary
/// handed to the next turn), not something the user typed.
pub fn is_compaction_text(text: &str) -> bool {
    text.starts_with("You are performing a CONTEXT CHECKPOINT COMPACTION")
        || text.starts_with("Another language model started to solve this problem")
}

/// The Codex version that wrote the session.
pub fn version(session: &Session) -> Option<String> {
    info_str(session, "version")
}

/// The parent session of a subagent's rollout.
pub fn parent(session: &Session) -> Option<String> {
    info_str(session, "parent")
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = r#"{"timestamp":"2026-11-30T11:43:44.761Z","ordinal":0,"type":"session_meta","payload":{"id":"01a2-x","timestamp":"2026-11-30T11:43:44.723Z","cwd":"/p","cli_version":"0.171.0"}}"#;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/codex/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn ids_sort_in_line_order_and_carry_the_timestamp() {
        assert_eq!(line_id(7, None), "l000007");
        assert_eq!(
            line_id(12, Some("2026-11-30T11:43:44.761Z")),
            "l000012-20261130114344761"
        );
        assert_eq!(line_of("l000012-20261130114344761"), Some(12));
        assert!(line_id(9, None) < line_id(10, Some("2026")));
    }

    #[test]
    fn the_real_rollouts_round_trip_line_for_line() {
        for name in ["rollout-with-compaction.jsonl", "rollout-subagent.jsonl"] {
            let text = fixture(name);
            let parsed = parse(text.clone().into_bytes(), name).unwrap();
            assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
            assert_eq!(render(&parsed.session), text, "{name}: byte-equal from raw");
            let mut reparsed = parsed.session.clone();
            for m in &mut reparsed.messages {
                m.body = Body::Parsed(m.body.value().into_owned());
            }
            let back = render(&reparsed);
            let a: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let b: Vec<Value> = back
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(a, b, "{name}: JSON-equal from parsed values");
        }
    }

    #[test]
    fn the_meta_gives_id_version_cwd_title_and_a_subagents_parent() {
        let main = parse(
            fixture("rollout-with-compaction.jsonl").into_bytes(),
            "m.jsonl",
        )
        .unwrap()
        .session;
        assert_eq!(main.id, "01a22c44-a04c-71c1-bfce-80b4f6d80cd3");
        assert_eq!(version(&main).as_deref(), Some("0.171.0"));
        assert_eq!(
            info_str(&main, "cwd").as_deref(),
            Some("/home/alice/work/app")
        );
        assert_eq!(title(&main), "TOOL:echo hello-from-tool HUGE");
        assert_eq!(parent(&main), None);
        assert_eq!(info_str(&main, "dir").as_deref(), Some("2026/11/30"));
        assert_eq!(
            info_str(&main, "file").as_deref(),
            Some("rollout-2026-11-30T11-43-44-01a22c44-a04c-71c1-bfce-80b4f6d80cd3.jsonl"),
            "a file not named like a rollout gets the name Codex would give it"
        );
        let child = parse(fixture("rollout-subagent.jsonl").into_bytes(), "c.jsonl")
            .unwrap()
            .session;
        assert_eq!(child.id, "01a22c46-0099-7512-a0bc-6622d26d9a82");
        assert_eq!(
            parent(&child).as_deref(),
            Some("01a22c45-ffef-7331-bc5b-b08c5f8a8640")
        );
        assert_eq!(title(&child), "child task say hi");
    }

    #[test]
    fn a_cut_last_line_is_left_out_and_blank_lines_come_back() {
        let text = format!("{META}\n\n{{\"timestamp\":\"t1\",\"type\":\"event_msg\"}}\n{{\"timestamp\":\"2026\",\"ty");
        let parsed = parse(text.into_bytes(), "r.jsonl").unwrap();
        assert_eq!(parsed.session.messages.len(), 2);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(
            parsed.warnings[0].contains("saved up to line 3"),
            "{:?}",
            parsed.warnings
        );
        assert_eq!(
            render(&parsed.session),
            format!("{META}\n\n{{\"timestamp\":\"t1\",\"type\":\"event_msg\"}}\n")
        );
    }

    #[test]
    fn a_file_without_session_meta_is_refused() {
        let err = parse(b"{\"type\":\"event_msg\"}\n".to_vec(), "x.jsonl").unwrap_err();
        assert!(err.to_string().contains("no session_meta"), "{err}");
    }
}
