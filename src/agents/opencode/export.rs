//! `opencode export` JSON <-> [`Session`].
//!
//! An export is `{"info": {..session..}, "messages": [{"info": {..}, "parts": [..]}]}`. The
//! session keeps the whole document except `messages` as its info (so keys a newer OpenCode adds
//! survive), and each message keeps its whole object. Children are never inside an export: they
//! are separate exports whose `info.parentID` names the parent.
//!
//! OpenCode 2's export (`{"info": .., "messages": [{"type": .., "id": .., ..}]}`, see
//! [`super::v2`]) is read the same way; the session then records its format under
//! [`FORMAT_KEY`] in its info, which [`to_value`] leaves out, so it is given back as saved.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;

use super::AGENT;
use crate::agents::{parse_json, InputError};
use crate::session::codec::SaveCache;
use crate::session::model::{self, Body};
use crate::session::{Message, Session};

/// The key in a session's info recording that it was saved from an OpenCode 2 export.
pub const FORMAT_KEY: &str = "git-session:format";

/// The value of [`FORMAT_KEY`] for an OpenCode 2 export.
pub const FORMAT_V2: &str = "opencode2";

/// Whether the session was saved from an OpenCode 2 export.
pub fn is_v2(session: &Session) -> bool {
    session.info.get(FORMAT_KEY).and_then(Value::as_str) == Some(FORMAT_V2)
}

/// Parses and validates an export document.
///
/// Messages are kept as their exact JSON text (validated, with their id read out) rather than
/// parsed into values: a save recognises unchanged messages by a fingerprint of that text.
pub fn parse(bytes: Vec<u8>, source_name: &str) -> Result<Session, InputError> {
    parse_remembering(bytes, source_name, &|_| SaveCache::default())
}

/// Like [`parse`], taking the ids of messages whose bytes the last save of the session
/// (`cache_for(session id)`) already read, instead of reading each id out of them again.
pub fn parse_remembering(
    bytes: Vec<u8>,
    source_name: &str,
    cache_for: &dyn Fn(&str) -> SaveCache,
) -> Result<Session, InputError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Let the shared parser name the problem.
        parse_json(&bytes, source_name)?;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => Arc::new(text),
        Err(e) => {
            return Err(InputError::Malformed {
                source_name: source_name.to_owned(),
                detail: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
            })
        }
    };
    let bytes = text.as_bytes();
    let wrong = |problem: String| InputError::WrongShape {
        source_name: source_name.to_owned(),
        agent: AGENT,
        problem,
    };
    let doc: RawExport = serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => wrong(e.to_string()),
        _ => match parse_json(bytes, source_name) {
            Err(precise) => precise,
            Ok(_) => wrong(e.to_string()),
        },
    })?;
    let RawExport { rest, messages } = doc;
    let Some(messages) = messages else {
        return Err(wrong("it has no \"messages\" array".into()));
    };
    let id = match rest.get("info").and_then(|i| i.get("id")) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(wrong("\"info.id\" is not a non-empty string".into())),
        None if rest.get("info").is_none() => {
            return Err(wrong("it has no \"info\" object".into()))
        }
        None => return Err(wrong("it has no \"info.id\"".into())),
    };
    let v2 = match messages.first() {
        Some(first) => serde_json::from_str::<V2Head>(first.get()).is_ok(),
        None => rest
            .get("info")
            .is_some_and(|i| i.get("location").is_some() && i.get("directory").is_none()),
    };
    let cache = cache_for(&id);
    let mut out = Vec::with_capacity(messages.len());
    for (index, raw) in messages.into_iter().enumerate() {
        let fingerprint = model::fingerprint(raw.get());
        if let Some(known) = cache.message_id(fingerprint) {
            // These exact bytes were read (and validated) by an earlier save.
            out.push(Message {
                id: known.to_owned(),
                body: Body::raw_with_fingerprint(&text, raw.get(), fingerprint),
            });
            continue;
        }
        model::check_json(raw.get()).map_err(|e| {
            wrong(format!(
                "message {index} does not read as JSON values ({e})"
            ))
        })?;
        if v2 {
            let head: V2Head = serde_json::from_str(raw.get()).map_err(|e| {
                wrong(format!(
                    "message {index} is not an OpenCode 2 message with \"id\" and \"type\" ({e})"
                ))
            })?;
            if head.id.is_empty() {
                return Err(wrong(format!("message {index} has no \"id\"")));
            }
            out.push(Message {
                id: head.id.into_owned(),
                body: Body::raw_with_fingerprint(&text, raw.get(), fingerprint),
            });
            continue;
        }
        let head: MessageHead = serde_json::from_str(raw.get()).map_err(|e| {
            wrong(format!(
                "message {index} is not an object with \"info.id\" and a \"parts\" array ({e})"
            ))
        })?;
        if head.info.id.is_empty() {
            return Err(wrong(format!("message {index} has no \"info.id\"")));
        }
        out.push(Message {
            id: head.info.id.into_owned(),
            body: Body::raw_with_fingerprint(&text, raw.get(), fingerprint),
        });
    }
    let mut rest = rest;
    if v2 {
        rest.insert(FORMAT_KEY.into(), Value::String(FORMAT_V2.into()));
    }
    Ok(Session {
        id,
        info: Value::Object(rest),
        messages: out,
        children: Vec::new(),
    })
}

/// What is read out of an OpenCode 2 message without parsing the rest: its id and tag.
#[derive(Deserialize)]
struct V2Head<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(rename = "type")]
    #[allow(dead_code)]
    kind: std::borrow::Cow<'a, str>,
}

/// The export's top level: everything but `messages` parsed, the messages kept as text.
struct RawExport<'a> {
    rest: Map<String, Value>,
    messages: Option<Vec<&'a RawValue>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawExport<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopLevel<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TopLevel<'a> {
            type Value = RawExport<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an export object {\"info\": .., \"messages\": [..]}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExport<'a>, A::Error> {
                let mut rest = Map::new();
                let mut messages = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "messages" {
                        messages = Some(map.next_value::<MessageList<'a>>()?.0);
                    } else {
                        rest.insert(key, map.next_value()?);
                    }
                }
                Ok(RawExport { rest, messages })
            }
        }
        deserializer.deserialize_map(TopLevel(std::marker::PhantomData))
    }
}

struct MessageList<'a>(Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for MessageList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for List<'a> {
            type Value = MessageList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a \"messages\" array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageList<'a>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(raw) = seq.next_element::<&'a RawValue>()? {
                    out.push(raw);
                }
                Ok(MessageList(out))
            }
        }
        deserializer.deserialize_seq(List(std::marker::PhantomData))
    }
}

/// What is read out of each message without parsing the rest: its id, and that `parts` is an array.
#[derive(Deserialize)]
struct MessageHead<'a> {
    #[serde(borrow)]
    info: InfoHead<'a>,
    #[allow(dead_code)]
    parts: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct InfoHead<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// Validates an already parsed export document.
pub fn from_value(value: Value, source_name: &str) -> Result<Session, InputError> {
    let wrong = |problem: String| InputError::WrongShape {
        source_name: source_name.to_owned(),
        agent: AGENT,
        problem,
    };
    let Value::Object(mut doc) = value else {
        return Err(wrong("the document is not a JSON object".into()));
    };
    let messages = match doc.remove("messages") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(wrong("\"messages\" is not an array".into())),
        None => return Err(wrong("it has no \"messages\" array".into())),
    };
    let id = match doc.get("info").and_then(|i| i.get("id")) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(wrong("\"info.id\" is not a non-empty string".into())),
        None if doc.get("info").is_none() => return Err(wrong("it has no \"info\" object".into())),
        None => return Err(wrong("it has no \"info.id\"".into())),
    };
    let v2 = super::v2::convert::is_v2(&serde_json::json!({
        "info": doc.get("info").cloned().unwrap_or_default(),
        "messages": messages.iter().take(1).cloned().collect::<Vec<_>>(),
    }));
    if v2 {
        let mut out = Vec::with_capacity(messages.len());
        for (index, message) in messages.into_iter().enumerate() {
            let message_id = match message.get("id") {
                Some(Value::String(mid)) if !mid.is_empty() => mid.clone(),
                _ => return Err(wrong(format!("message {index} has no \"id\""))),
            };
            if !message.get("type").is_some_and(Value::is_string) {
                return Err(wrong(format!("message {message_id} has no \"type\"")));
            }
            out.push(Message {
                id: message_id,
                body: message.into(),
            });
        }
        doc.insert(FORMAT_KEY.into(), Value::String(FORMAT_V2.into()));
        return Ok(Session {
            id,
            info: Value::Object(doc),
            messages: out,
            children: Vec::new(),
        });
    }
    let mut out = Vec::with_capacity(messages.len());
    for (index, message) in messages.into_iter().enumerate() {
        let message_id = match message.get("info").and_then(|i| i.get("id")) {
            Some(Value::String(mid)) if !mid.is_empty() => mid.clone(),
            _ => return Err(wrong(format!("message {index} has no \"info.id\""))),
        };
        if !message.get("parts").is_some_and(Value::is_array) {
            return Err(wrong(format!(
                "message {message_id} has no \"parts\" array"
            )));
        }
        out.push(Message {
            id: message_id,
            body: message.into(),
        });
    }
    Ok(Session {
        id,
        info: Value::Object(doc),
        messages: out,
        children: Vec::new(),
    })
}

/// Renders one session (without its children) as export JSON.
pub fn to_value(session: &Session) -> Value {
    let mut doc = Map::new();
    let info = session.info.as_object();
    if let Some(inner) = info.and_then(|i| i.get("info")) {
        doc.insert("info".into(), inner.clone());
    }
    doc.insert(
        "messages".into(),
        Value::Array(
            session
                .messages
                .iter()
                .map(|m| m.body.value().into_owned())
                .collect(),
        ),
    );
    if let Some(info) = info {
        for (key, value) in info {
            if key != "info" && key != FORMAT_KEY {
                doc.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(doc)
}

/// Writes one session (without its children) as pretty export JSON: the bytes
/// `serde_json::to_string_pretty(&to_value(session))` gives, written from the messages' text
/// without parsing them, so a long session streams out at the speed of copying.
pub fn write_pretty(session: &Session, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use crate::agents::pretty_json;
    let info = session.info.as_object();
    // The keys `to_value` writes, sorted as a map sorts them; `None` stands for the messages.
    let mut keys: Vec<(&str, Option<&Value>)> = Vec::new();
    if let Some(inner) = info.and_then(|i| i.get("info")) {
        keys.push(("info", Some(inner)));
    }
    let extra = info.into_iter().flatten();
    let extra: Vec<(&String, &Value)> = extra
        .filter(|(key, _)| *key != "info" && *key != FORMAT_KEY)
        .collect();
    if !extra.iter().any(|(key, _)| *key == "messages") {
        keys.push(("messages", None));
    }
    keys.extend(extra.into_iter().map(|(k, v)| (k.as_str(), Some(v))));
    keys.sort_by(|a, b| a.0.cmp(b.0));
    out.write_all(b"{")?;
    for (i, (key, value)) in keys.into_iter().enumerate() {
        out.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b": ")?;
        match value {
            Some(value) => pretty_json::write_pretty(&serde_json::to_vec(value)?, 1, out)?,
            None if session.messages.is_empty() => out.write_all(b"[]")?,
            None => {
                out.write_all(b"[")?;
                for (n, message) in session.messages.iter().enumerate() {
                    out.write_all(if n == 0 { b"\n    " } else { b",\n    " })?;
                    match &message.body {
                        Body::Raw {
                            source, start, end, ..
                        } => pretty_json::write_pretty(&source.as_bytes()[*start..*end], 2, out)?,
                        Body::Parsed(value) => {
                            pretty_json::write_pretty(&serde_json::to_vec(value)?, 2, out)?
                        }
                    }
                }
                out.write_all(b"\n  ]")?;
            }
        }
    }
    out.write_all(b"\n}")
}

/// Writes one session (without its children) to `file` as pretty export JSON, as it goes
/// ([`write_pretty`]): what `opencode import` reads, never held in memory whole.
pub fn write_file(session: &Session, file: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    write_pretty(session, &mut out)?;
    out.flush()
}

/// The session's title (`info.title`), or an empty string.
pub fn title(session: &Session) -> String {
    inner_str(session, "title").unwrap_or_default()
}

/// The OpenCode version that wrote the session (`info.version`).
pub fn version(session: &Session) -> Option<String> {
    inner_str(session, "version")
}

/// The parent session id (`info.parentID`) of a child session.
pub fn parent_id(session: &Session) -> Option<String> {
    inner_str(session, "parentID")
}

/// The session's last update time in epoch milliseconds (`info.time.updated`).
pub fn updated_ms(session: &Session) -> Option<i64> {
    session
        .info
        .get("info")?
        .get("time")?
        .get("updated")?
        .as_i64()
}

fn inner_str(session: &Session, key: &str) -> Option<String> {
    session
        .info
        .get("info")?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_round_trips_to_equal_json() {
        let text = r#"{"info":{"id":"ses_a","title":"T","version":"1.18.33"},
            "messages":[{"info":{"id":"msg_2","role":"user"},"parts":[{"id":"prt_1","type":"text","text":"hi"}]},
                        {"info":{"id":"msg_1","role":"assistant"},"parts":[]}]}"#;
        let session = parse(text.as_bytes().to_vec(), "test").unwrap();
        assert_eq!(session.id, "ses_a");
        assert_eq!(session.messages.len(), 2);
        assert_eq!(title(&session), "T");
        assert_eq!(version(&session).as_deref(), Some("1.18.33"));
        let back = to_value(&session);
        let original: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn wrong_shapes_name_the_problem() {
        let cases = [
            ("[]", "expected an export object"),
            (r#"{"messages":[]}"#, "no \"info\" object"),
            (r#"{"info":{},"messages":[]}"#, "no \"info.id\""),
            (r#"{"info":{"id":"s"}}"#, "no \"messages\" array"),
            (
                r#"{"info":{"id":"s"},"messages":[{"parts":[]}]}"#,
                "message 0 is not an object with \"info.id\"",
            ),
            (
                r#"{"info":{"id":"s"},"messages":[{"info":{"id":"m"},"parts":{}}]}"#,
                "a \"parts\" array",
            ),
            (
                r#"{"info":{"id":"s"},"messages":{}}"#,
                "a \"messages\" array",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text.as_bytes().to_vec(), "f.json")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn a_cut_off_export_is_reported_as_truncated() {
        let err = parse(
            br#"{"info":{"id":"ses_a"},"messages":[{"#.to_vec(),
            "cut.json",
        )
        .unwrap_err();
        assert!(matches!(err, InputError::Truncated { .. }), "{err}");
        let err = parse(b"  \n".to_vec(), "empty.json").unwrap_err();
        assert!(matches!(err, InputError::Empty { .. }), "{err}");
    }

    #[test]
    fn children_are_put_under_their_parents() {
        let mk = |id: &str, parent: Option<&str>| {
            let mut info = serde_json::json!({"id": id});
            if let Some(p) = parent {
                info["parentID"] = p.into();
            }
            Session {
                id: id.into(),
                info: serde_json::json!({ "info": info }),
                messages: vec![],
                children: vec![],
            }
        };
        let roots = crate::session::save_set::assemble(
            &super::super::OpenCodeAgent,
            vec![
                mk("grandchild", Some("child")),
                mk("child", Some("root")),
                mk("root", None),
                mk("orphan", Some("missing")),
            ],
        );
        let ids: Vec<&str> = roots.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["root", "orphan"]);
        assert_eq!(roots[0].children[0].id, "child");
        assert_eq!(roots[0].children[0].children[0].id, "grandchild");
    }

    #[test]
    fn write_pretty_writes_what_serialising_the_value_writes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencode");
        for name in [
            "example-export-toolcall.json",
            "example-export-compacted.json",
        ] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let mut session = parse(bytes, name).unwrap();
            let want = serde_json::to_string_pretty(&to_value(&session)).unwrap();
            let written = |session: &Session| {
                let mut out = Vec::new();
                write_pretty(session, &mut out).unwrap();
                String::from_utf8(out).unwrap()
            };
            let as_read = written(&session);
            assert_eq!(
                serde_json::from_str::<Value>(&as_read).unwrap(),
                serde_json::from_str::<Value>(&want).unwrap(),
                "{name}: bodies as read, keys in the file's order"
            );
            for message in &mut session.messages {
                let canonical = crate::session::codec::canonical_json(&message.body.value());
                message.body = Body::owned_raw(String::from_utf8(canonical).unwrap());
            }
            assert_eq!(
                written(&session),
                want,
                "{name}: canonical bodies, as stored"
            );
            session.messages.truncate(0);
            session.info["extra"] = serde_json::json!({"a": [1, {}]});
            let want = serde_json::to_string_pretty(&to_value(&session)).unwrap();
            let mut out = Vec::new();
            write_pretty(&session, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{name}, no messages");
        }
    }

    #[test]
    fn a_number_no_value_can_hold_is_refused_not_a_panic_later() {
        let text =
            r#"{"info":{"id":"ses_a"},"messages":[{"info":{"id":"msg_1"},"parts":[{"n":1e999}]}]}"#;
        let refused = parse(text.as_bytes().to_vec(), "big.json")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("message 0 does not read as JSON values"),
            "{refused}"
        );
    }
}
