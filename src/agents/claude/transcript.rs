//! A Claude Code JSONL transcript <-> [`Session`].
//!
//! One message per non-blank line, in file order. Message ids are synthetic: `l` and the 1-based
//! line number, zero-padded to six digits so tree order is line order, then, for records that
//! carry a `uuid`, `-` and its first eight characters (`l000042-0c9cfd68`). An append-only
//! transcript re-saved later therefore only adds ids; two machines that appended different records
//! after a common prefix produce different ids for them, so a merge keeps both (see
//! [`super::merge`]). Each body is the record's exact text ([`Body::raw`] over the shared file
//! buffer), so the save cache recognises unchanged lines by fingerprint.
//!
//! Line-exactness: a blank (or whitespace-only) line is a line number with no message, and the
//! info records the number of lines (`claude.lines`), so blank lines anywhere, trailing ones
//! included, come back where they were (as empty lines). A line that is not valid JSON is dropped
//! with a warning: at the end of the file it is a record caught mid-write (saved up to the last
//! complete line, never refused); elsewhere it is restored as an empty line.
//!
//! The info is `{"claude": {"sessionId", "file", "lines", "cwd", "version", ...}}`: what `load`
//! needs to put the file back (see [`super::source`] for the keys added at save time). Subagent
//! transcripts (`<id>/subagents/agent-<agentId>.jsonl`) are child sessions with id
//! `agent-<agentId>`, their `.meta.json` kept in the child's info under `claude.meta`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::agents::InputError;
use crate::session::model::Body;
use crate::session::{Message, Session};

/// A transcript read into a session, with what was skipped.
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
    uuid: Option<Value>,
}

/// The message id of line `line` (1-based) holding a record with `uuid`.
pub fn line_id(line: usize, uuid: Option<&str>) -> String {
    let short: String = uuid
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    if short.is_empty() {
        format!("l{line:06}")
    } else {
        format!("l{line:06}-{short}")
    }
}

pub use crate::agents::lines::line_of;

/// Parses transcript bytes into a session with id `id`. `file` is the transcript's file name
/// (kept in the info). Never fails on content: invalid lines are dropped with a warning.
pub fn parse(bytes: Vec<u8>, id: &str, file: &str) -> Result<Parsed, InputError> {
    let read = crate::agents::lines::read_objects(
        bytes,
        file,
        "Claude Code",
        &mut |number, line, text| {
            let head = serde_json::from_str::<Head>(line).ok();
            let id = head.as_ref().and_then(|h| h.uuid.as_ref()?.as_str());
            Message {
                id: line_id(number, id),
                body: Body::raw(text, line),
            }
        },
    );
    let (messages, warnings, lines) = (read.messages, read.warnings, read.lines);
    let mut info = Map::new();
    info.insert("file".into(), json!(file));
    info.insert("lines".into(), json!(lines));
    if let Some(cwd) = first_str(&messages, "cwd") {
        info.insert("cwd".into(), json!(cwd));
    }
    if let Some(session_id) = first_str(&messages, "sessionId") {
        info.insert("sessionId".into(), json!(session_id));
    }
    if let Some(version) = last_str(&messages, "version") {
        info.insert("version".into(), json!(version));
    }
    let session = Session {
        id: id.to_owned(),
        info: json!({ "claude": Value::Object(info) }),
        messages,
        children: Vec::new(),
    };
    let title = title_of(&session);
    let mut session = session;
    if !title.is_empty() {
        session.info["claude"]["title"] = json!(title);
    }
    Ok(Parsed { session, warnings })
}

fn first_str(messages: &[Message], key: &str) -> Option<String> {
    messages.iter().find_map(|m| {
        m.body
            .value()
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

fn last_str(messages: &[Message], key: &str) -> Option<String> {
    messages.iter().rev().find_map(|m| {
        m.body
            .value()
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// Renders one session (without its children) back as JSONL, line for line (see
/// [`crate::agents::lines::render`]).
pub fn render(session: &Session) -> String {
    crate::agents::lines::render(session, lines(session))
}

/// The number of lines the transcript had (`claude.lines`), 0 when unknown.
pub fn lines(session: &Session) -> usize {
    session
        .info
        .pointer("/claude/lines")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize
}

/// A string of the session's `claude` info object.
pub fn info_str(session: &Session, key: &str) -> Option<String> {
    session
        .info
        .get("claude")?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

/// The session's title: the newest `custom-title`, else `ai-title`, else `summary` record, else
/// the first prompt the user typed (first line, at most 80 characters).
pub fn title(session: &Session) -> String {
    info_str(session, "title").unwrap_or_else(|| title_of(session))
}

fn title_of(session: &Session) -> String {
    let mut custom = None;
    let mut ai = None;
    let mut summary = None;
    let mut prompt = None;
    for m in &session.messages {
        let v = m.body.value();
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        match v.get("type").and_then(Value::as_str) {
            Some("custom-title") => custom = s("customTitle").or_else(|| s("title")).or(custom),
            Some("ai-title") => ai = s("aiTitle").or_else(|| s("title")).or(ai),
            Some("summary") => summary = s("summary").or(summary),
            Some("user") if prompt.is_none() => {
                let meta = v.get("isMeta").and_then(Value::as_bool).unwrap_or(false)
                    || v.get("isCompactSummary").is_some();
                if let Some(text) = v.pointer("/message/content").and_then(Value::as_str) {
                    if !meta && !text.trim_start().starts_with('<') && !text.trim().is_empty() {
                        prompt = Some(text.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let chosen = custom.or(ai).or(summary).or(prompt).unwrap_or_default();
    let first = chosen.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim().chars().take(80).collect()
}

/// The Claude Code version that wrote the session.
pub fn version(session: &Session) -> Option<String> {
    info_str(session, "version")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Parsed {
        parse(text.as_bytes().to_vec(), "s1", "s1.jsonl").unwrap()
    }

    #[test]
    fn ids_sort_in_line_order_and_carry_the_uuid() {
        assert_eq!(line_id(7, None), "l000007");
        assert_eq!(line_id(12, Some("0c9cfd68-aaaa")), "l000012-0c9cfd68");
        assert_eq!(line_of("l000012-0c9cfd68"), Some(12));
        assert!(line_id(9, None) < line_id(10, Some("zz")));
    }

    #[test]
    fn blank_lines_come_back_where_they_were() {
        let text = "{\"a\":1}\n\n{\"uuid\":\"u-1\",\"b\":2}\n   \n\n";
        let parsed = parse_str(text);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.session.messages.len(), 2);
        assert_eq!(lines(&parsed.session), 5);
        assert_eq!(
            render(&parsed.session),
            "{\"a\":1}\n\n{\"uuid\":\"u-1\",\"b\":2}\n\n\n"
        );
    }

    #[test]
    fn a_cut_last_line_is_left_out_with_a_warning() {
        let parsed = parse_str("{\"a\":1}\n{\"b\":2}\n{\"type\":\"user\",\"mess");
        assert_eq!(parsed.session.messages.len(), 2);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("saved up to line 2"));
        assert_eq!(render(&parsed.session), "{\"a\":1}\n{\"b\":2}\n");
        // A multi-byte character cut in half is not a reason to refuse either.
        let mut bytes = "{\"a\":1}\n{\"b\":\"é".as_bytes().to_vec();
        bytes.pop();
        let parsed = parse(bytes, "s", "s.jsonl").unwrap();
        assert_eq!(parsed.session.messages.len(), 1);
    }

    #[test]
    fn the_title_prefers_named_titles_over_the_first_prompt() {
        let t = "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"fix the build\\nplease\"}}\n";
        assert_eq!(title(&parse_str(t).session), "fix the build");
        let t2 = format!("{t}{{\"type\":\"custom-title\",\"customTitle\":\"Named\"}}\n");
        assert_eq!(title(&parse_str(&t2).session), "Named");
    }

    #[test]
    fn the_real_examples_round_trip_line_for_line() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude");
        for name in [
            "example-session.jsonl",
            "example-hooks.jsonl",
            "subagents/agent-ab5a20e34f81e5b07.jsonl",
            "parent-excerpt.jsonl",
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let parsed = parse_str(&text);
            assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
            assert_eq!(render(&parsed.session), text, "{name}: byte-equal from raw");
            // And from parsed values (what a decoded save holds): JSON-equal line for line.
            let mut reparsed = parsed.session.clone();
            for m in &mut reparsed.messages {
                m.body = Body::Parsed(m.body.value().into_owned());
            }
            let back = render(&reparsed);
            let a: Vec<&str> = text.lines().collect();
            let b: Vec<&str> = back.lines().collect();
            assert_eq!(a.len(), b.len(), "{name}");
            for (x, y) in a.iter().zip(&b) {
                let x: Value = serde_json::from_str(x).unwrap();
                let y: Value = serde_json::from_str(y).unwrap();
                assert_eq!(x, y, "{name}");
            }
        }
    }
}
