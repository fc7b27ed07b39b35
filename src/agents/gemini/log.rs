//! A Gemini CLI session file (a JSONL mutation log) <-> [`Session`].
//!
//! Gemini appends records and never rewrites: a header per process start
//! (`{"sessionId","projectHash","startTime","lastUpdated","kind"}`), message records
//! (`{"id","timestamp","type":"user|gemini","content",...}`, a later record with the same `id`
//! replaces the earlier one), `{"$set":{...}}` metadata updates, `{"$rewindTo": id}`, and
//! `{"$set":{"messages":[...]}}`, which replaces the whole message list: at every start (also a
//! resume, so the whole history is written again) and at a compression (the compressed history).
//!
//! One stored message per non-blank line, in file order, as for Claude Code and Codex (see
//! [`crate::agents::lines`]): ids are `l` and the 1-based line number, zero-padded, then `-` and the
//! digits of the record's `timestamp` (a header's `startTime`, a `$set`'s `lastUpdated`), so a
//! re-save adds only the new lines and the save cache recognises the old ones by their bytes.
//!
//! A `$set messages` line repeats messages the log already holds. Each element whose bytes equal
//! an earlier message record (or an element of an earlier set) is stored as a reference to it,
//! `"\u0000ref:<message id>"` (`#<index>` for an element of a set); a string element that starts
//! with NUL is stored as `"\u0000lit:" + string`. Such a line's id is
//! `l<line>-s<12 hex of the line's xxh3>`, which tells [`render`] to resolve it; two different
//! sets at the same line (two machines that went on from one save) keep different ids, so a merge
//! keeps both and every reference resolves to the line it was made from. Repeated histories thus
//! cost a few bytes per message instead of a copy of the conversation.
//!
//! Line-exactness as for Codex: blank lines are line numbers without a message (`gemini.lines`
//! counts them all), a last line cut mid-write is left out with a warning (the file is saved up to
//! its last complete line), another line that is not JSON is left out and restored as an empty
//! line. [`render`] gives every other line back JSON-equal.
//!
//! The info is `{"gemini": {"id", "file", "lines", "kind", "projectHash", "parent", "title"}}`
//! plus, at save time, where it came from (see [`super::agent`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::agents::lines::line_of;
use crate::agents::InputError;
use crate::session::model::{fingerprint, Body};
use crate::session::{Message, Session};

/// The key of a stored element that names the earlier occurrence it differs from.
const REF: &str = "\u{0}ref";
/// The key of a stored element listing the keys the earlier occurrence had and it lacks.
const DEL: &str = "\u{0}del";
/// The key wrapping an element that itself had a key starting with NUL.
const LIT: &str = "\u{0}lit";

/// A session file read into a session, with what was skipped.
#[derive(Debug)]
pub struct Parsed {
    /// The session (no children yet).
    pub session: Session,
    /// One line per problem that was worked around (a cut last line, an invalid line).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default, rename = "startTime")]
    start_time: Option<Value>,
    #[serde(default, rename = "sessionId")]
    session_id: Option<Value>,
    #[serde(default, rename = "projectHash")]
    project_hash: Option<Value>,
    #[serde(default)]
    kind: Option<Value>,
    #[serde(default, rename = "$set", borrow)]
    set: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SetTime {
    #[serde(rename = "lastUpdated")]
    last_updated: String,
}

/// The message id of line `line` (1-based) holding a record written at `time`.
pub fn line_id(line: usize, time: Option<&str>) -> String {
    let digits: String = time
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

/// The message id of a `$set messages` line stored with references.
fn set_id(line: usize, text: &str) -> String {
    format!("l{line:06}-s{:012x}", fingerprint(text) >> 80)
}

/// Whether a stored line is a `$set messages` line with references to resolve.
fn is_set_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(_, s)| s.starts_with('s'))
}

/// The latest occurrence of a message id: where it is, and its value.
struct Target {
    reference: String,
    /// The value, or where its text is in the file (parsed only when a set repeats it).
    value: Result<Value, (usize, usize)>,
}

fn str_of(v: &Option<Value>) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

/// Parses a session file. `file` is its name (kept in the info), `parent` the session whose
/// `chats/<parent>/` folder it is in (a subagent). The id is the first header's `sessionId`.
/// Never fails on content after that: invalid lines are dropped with a warning.
pub fn parse(bytes: Vec<u8>, file: &str, parent: Option<&str>) -> Result<Parsed, InputError> {
    let mut id = None;
    let mut kind = None;
    let mut project_hash = None;
    let mut seen: HashMap<String, Target> = HashMap::new();
    let read =
        crate::agents::lines::read_objects(bytes, file, "Gemini", &mut |number, trimmed, text| {
            // Valid JSON an object-shaped reader refuses (a repeated key): kept as it is.
            let Ok(head) = serde_json::from_str::<Head>(trimmed) else {
                return Message {
                    id: line_id(number, None),
                    body: Body::raw(text, trimmed),
                };
            };
            if id.is_none() {
                if let (Some(sid), Some(_)) = (str_of(&head.session_id), &head.project_hash) {
                    id = Some(sid.to_owned());
                    kind = str_of(&head.kind).map(str::to_owned);
                    project_hash = str_of(&head.project_hash).map(str::to_owned);
                }
            }
            if let Some(set) = head.set {
                if let Ok(Value::Object(mut set_value)) = serde_json::from_str::<Value>(set.get()) {
                    if let Some(Value::Array(elements)) = set_value.get_mut("messages") {
                        let id = set_id(number, trimmed);
                        let changed = with_patches(text, &id, elements, &mut seen);
                        let body = if changed {
                            let mut record: Value = serde_json::from_str(trimmed)
                                .unwrap_or_else(|_| Value::Object(Map::new()));
                            record["$set"] = Value::Object(set_value);
                            let stored = Arc::new(record.to_string());
                            Body::raw(&stored, stored.as_str())
                        } else {
                            Body::raw(text, trimmed)
                        };
                        return Message { id, body };
                    }
                }
                let time = serde_json::from_str::<SetTime>(set.get()).ok();
                return Message {
                    id: line_id(number, time.as_ref().map(|t| t.last_updated.as_str())),
                    body: Body::raw(text, trimmed),
                };
            }
            let time = str_of(&head.timestamp).or(str_of(&head.start_time));
            let line_id = line_id(number, time);
            if let Some(mid) = str_of(&head.id) {
                let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
                seen.insert(
                    mid.to_owned(),
                    Target {
                        reference: line_id.clone(),
                        value: Err((start, start + trimmed.len())),
                    },
                );
            }
            Message {
                id: line_id,
                body: Body::raw(text, trimmed),
            }
        });
    let (messages, warnings, lines) = (read.messages, read.warnings, read.lines);
    let id = id.ok_or_else(|| InputError::WrongShape {
        source_name: file.to_owned(),
        agent: "Gemini CLI",
        problem: "it has no header with a sessionId and projectHash".into(),
    })?;
    if !crate::store::layout::is_safe_component(&id) {
        return Err(InputError::WrongShape {
            source_name: file.to_owned(),
            agent: "Gemini CLI",
            problem: format!("its session id {id:?} cannot be stored"),
        });
    }
    let mut info = Map::new();
    info.insert("id".into(), json!(id));
    info.insert("file".into(), json!(file));
    info.insert("lines".into(), json!(lines));
    if let Some(kind) = &kind {
        info.insert("kind".into(), json!(kind));
    }
    if let Some(hash) = &project_hash {
        info.insert("projectHash".into(), json!(hash));
    }
    if let Some(parent) = parent.filter(|p| *p != id && kind.as_deref() == Some("subagent")) {
        info.insert("parent".into(), json!(parent));
    }
    let mut session = Session {
        id,
        info: json!({ "gemini": Value::Object(info) }),
        messages,
        children: Vec::new(),
    };
    let title = title_of(&session);
    if !title.is_empty() {
        session.info["gemini"]["title"] = json!(title);
    }
    Ok(Parsed { session, warnings })
}

/// Replaces each element of a set (line `id`) that has an earlier occurrence of its message id
/// by a patch of that occurrence: `{"\u0000ref": <where>, <keys that differ>..., "\u0000del":
/// [<keys it lacks>]}`, when that is smaller. Returns whether anything was replaced.
fn with_patches(
    file: &str,
    id: &str,
    elements: &mut [Value],
    seen: &mut HashMap<String, Target>,
) -> bool {
    let mut changed = false;
    // Elements become targets after the line: a patch always names an earlier line.
    let mut noted = Vec::new();
    for (i, element) in elements.iter_mut().enumerate() {
        let Value::Object(map) = &*element else {
            continue;
        };
        if map.keys().any(|k| k.starts_with('\u{0}')) {
            *element = json!({ LIT: element.clone() });
            changed = true;
            continue;
        }
        let Some(mid) = map.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let original = element.clone();
        if let Some(target) = seen.get_mut(&mid) {
            if let Err((start, end)) = target.value {
                target.value =
                    Ok(serde_json::from_str(file.get(start..end).unwrap_or(""))
                        .unwrap_or(Value::Null));
            }
        }
        if let Some(Target {
            reference,
            value: Ok(Value::Object(before)),
        }) = seen.get(&mid)
        {
            let mut patch = Map::new();
            patch.insert(REF.into(), json!(reference));
            for (k, v) in map.iter() {
                if before.get(k) != Some(v) {
                    patch.insert(k.clone(), v.clone());
                }
            }
            let gone: Vec<&String> = before.keys().filter(|k| !map.contains_key(*k)).collect();
            if !gone.is_empty() {
                patch.insert(DEL.into(), json!(gone));
            }
            if patch.len() < map.len() {
                *element = Value::Object(patch);
                changed = true;
            }
        }
        noted.push((
            mid,
            Target {
                reference: format!("{id}#{i}"),
                value: Ok(original),
            },
        ));
    }
    seen.extend(noted);
    changed
}

/// Renders one session (without its children) back as the file: every line JSON-equal to what
/// was read (references resolved), blank lines where the file had them, up to `gemini.lines`.
pub fn render(session: &Session) -> String {
    let total = lines(session);
    let mut resolver = Resolver::new(session);
    let mut out = String::new();
    let mut next = 1usize;
    for m in &session.messages {
        if let Some(n) = line_of(&m.id) {
            while next < n {
                out.push('\n');
                next += 1;
            }
            next = next.max(n) + 1;
        } else {
            next += 1;
        }
        out.push_str(&resolver.line(m));
        out.push('\n');
    }
    while next <= total {
        out.push('\n');
        next += 1;
    }
    out
}

/// Resolves the patches of stored `$set messages` lines, each target line once.
struct Resolver<'s> {
    by_id: HashMap<&'s str, &'s Message>,
    resolved: HashMap<String, Value>,
}

impl<'s> Resolver<'s> {
    fn new(session: &'s Session) -> Self {
        Resolver {
            by_id: session
                .messages
                .iter()
                .map(|m| (m.id.as_str(), m))
                .collect(),
            resolved: HashMap::new(),
        }
    }

    /// The line of message `m` as the file had it.
    fn line(&mut self, m: &Message) -> String {
        if !is_set_id(&m.id) {
            return match &m.body {
                Body::Raw {
                    source, start, end, ..
                } => source[*start..*end].to_owned(),
                Body::Parsed(v) => serde_json::to_string(v).unwrap_or_default(),
            };
        }
        serde_json::to_string(&self.value(m)).unwrap_or_default()
    }

    /// The record of message `m` with its patches resolved.
    fn value(&mut self, m: &Message) -> Value {
        if !is_set_id(&m.id) {
            return m.body.value().into_owned();
        }
        self.resolve(m);
        self.resolved.get(&m.id).cloned().unwrap_or(Value::Null)
    }

    /// Resolves the set line `m` once, into `resolved`.
    fn resolve(&mut self, m: &Message) {
        if self.resolved.contains_key(&m.id) {
            return;
        }
        let line = line_of(&m.id).unwrap_or(0);
        let mut v = m.body.value().into_owned();
        if let Some(Value::Array(items)) = v.pointer_mut("/$set/messages") {
            for item in items.iter_mut() {
                let Value::Object(map) = item else { continue };
                if let Some(inner) = map.get(LIT).filter(|_| map.len() == 1) {
                    *item = inner.clone();
                    continue;
                }
                let Some(Value::String(reference)) = map.get(REF).cloned() else {
                    continue;
                };
                // Patches name earlier lines only, so resolving always ends.
                let Some(Value::Object(mut base)) = self.target(&reference, line) else {
                    continue;
                };
                if let Some(Value::Array(gone)) = map.get(DEL) {
                    for k in gone.iter().filter_map(Value::as_str) {
                        base.remove(k);
                    }
                }
                for (k, val) in map.iter().filter(|(k, _)| *k != REF && *k != DEL) {
                    base.insert(k.clone(), val.clone());
                }
                *item = Value::Object(base);
            }
        }
        self.resolved.insert(m.id.clone(), v);
    }

    /// The record or set element `reference` names, when the session holds it before `line`.
    fn target(&mut self, reference: &str, line: usize) -> Option<Value> {
        let (id, index) = match reference.split_once('#') {
            Some((id, n)) => (id, Some(n.parse::<usize>().ok()?)),
            None => (reference, None),
        };
        if line_of(id)? >= line {
            return None;
        }
        let m = *self.by_id.get(id)?;
        if is_set_id(id) {
            self.resolve(m);
        } else if !self.resolved.contains_key(id) {
            self.resolved
                .insert(id.to_owned(), m.body.value().into_owned());
        }
        let v = self.resolved.get(id)?;
        match index {
            None => Some(v.clone()),
            Some(n) => v.pointer("/$set/messages")?.get(n).cloned(),
        }
    }
}

/// Every record of the session in file order, references resolved.
pub fn records(session: &Session) -> Vec<Value> {
    let mut resolver = Resolver::new(session);
    session.messages.iter().map(|m| resolver.value(m)).collect()
}

/// The number of lines the file had (`gemini.lines`), 0 when unknown.
pub fn lines(session: &Session) -> usize {
    session
        .info
        .pointer("/gemini/lines")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize
}

/// A string of the session's `gemini` info object.
pub fn info_str(session: &Session, key: &str) -> Option<String> {
    session
        .info
        .get("gemini")?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

/// The parent session of a subagent.
pub fn parent(session: &Session) -> Option<String> {
    info_str(session, "parent")
}

/// The session's title: Gemini's own summary when it wrote one, else the first prompt the user
/// typed (first line, at most 80 characters).
pub fn title(session: &Session) -> String {
    info_str(session, "title").unwrap_or_else(|| title_of(session))
}

fn title_of(session: &Session) -> String {
    // Gemini's own summary (the last `$set` naming one), else the first prompt of a message
    // record; only the lines that may hold them are parsed.
    let raw = |m: &Message| -> Option<Value> {
        match &m.body {
            Body::Raw {
                source, start, end, ..
            } => {
                let text = &source[*start..*end];
                (text.contains("\"summary\"") || text.contains("\"user\""))
                    .then(|| serde_json::from_str(text).ok())
                    .flatten()
            }
            Body::Parsed(v) => Some(v.clone()),
        }
    };
    let summary = session
        .messages
        .iter()
        .rev()
        .filter(|m| !is_set_id(&m.id))
        .find_map(|m| {
            raw(m)?
                .get("$set")?
                .get("summary")?
                .as_str()
                .map(str::to_owned)
        });
    let chosen = summary
        .or_else(|| {
            session
                .messages
                .iter()
                .filter(|m| !is_set_id(&m.id))
                .find_map(|m| {
                    let v = raw(m)?;
                    super::state::is_prompt(&v).then(|| super::state::content_text(&v))
                })
        })
        .unwrap_or_default();
    let first = chosen.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim().chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn example(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/gemini/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn json_lines(text: &str) -> Vec<Option<Value>> {
        text.split_terminator('\n')
            .map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    #[test]
    fn the_real_files_come_back_line_for_line_json_equal() {
        for name in ["session-resumed-3x.jsonl", "subagent.jsonl"] {
            let text = example(name);
            let parsed = parse(text.clone().into_bytes(), name, None).unwrap();
            assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
            assert_eq!(
                json_lines(&render(&parsed.session)),
                json_lines(&text),
                "{name}"
            );
            let mut reparsed = parsed.session.clone();
            for m in &mut reparsed.messages {
                m.body = Body::Parsed(m.body.value().into_owned());
            }
            assert_eq!(json_lines(&render(&reparsed)), json_lines(&text), "{name}");
        }
    }

    #[test]
    fn repeated_message_sets_are_stored_as_references() {
        let text = example("session-resumed-3x.jsonl");
        let parsed = parse(text.clone().into_bytes(), "s.jsonl", None).unwrap();
        let stored: usize = parsed
            .session
            .messages
            .iter()
            .map(|m| m.body.value().to_string().len())
            .sum();
        let sets: Vec<&Message> = parsed
            .session
            .messages
            .iter()
            .filter(|m| is_set_id(&m.id))
            .collect();
        assert!(sets.len() >= 4, "the resumes' full sets refer back");
        let last = sets.last().unwrap().body.value().to_string();
        assert!(last.contains("\\u0000ref\":\"l000018-s"), "{last}");
        assert!(stored < text.len() * 7 / 10, "{stored} of {}", text.len());
        assert_eq!(parsed.session.id, "6203f4cf-4c8e-4963-a204-de72fefce4e5");
        assert_eq!(title(&parsed.session), "Echo: Summary (max 80 chars):");
    }

    #[test]
    fn a_cut_last_line_is_left_out_and_odd_elements_come_back() {
        let head = r#"{"sessionId":"s1","projectHash":"h","startTime":"2026-01-01T00:00:00Z","kind":"main"}"#;
        let msg = r#"{"id":"m1","timestamp":"2026-01-01T00:00:01Z","type":"user","content":[{"text":"hi"}]}"#;
        let odd = r#"{"id":"m1","\u0000ref":"x"}"#;
        let set = format!(r#"{{"$set":{{"messages":[{msg},{odd},"\u0000ref:x",{msg},7]}}}}"#);
        let text = format!("{head}\n\n{msg}\n{set}\n{{\"$set\":{{\"lastUp");
        let parsed = parse(text.clone().into_bytes(), "s.jsonl", None).unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("saved up to line 4"));
        let back = render(&parsed.session);
        let (kept, _) = text.rsplit_once('\n').unwrap();
        assert_eq!(json_lines(&back), json_lines(&format!("{kept}\n")));
    }

    #[test]
    fn a_file_without_a_header_is_refused() {
        let err = parse(b"{\"id\":\"m\"}\n".to_vec(), "x.jsonl", None).unwrap_err();
        assert!(err.to_string().contains("no header"), "{err}");
    }
}
