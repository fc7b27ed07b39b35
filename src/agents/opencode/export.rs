//! `opencode export` JSON <-> [`Session`].
//!
//! An export is `{"info": {..session..}, "messages": [{"info": {..}, "parts": [..]}]}`. The
//! session keeps the whole document except `messages` as its info (so keys a newer OpenCode adds
//! survive), and each message keeps its whole object. Children are never inside an export: they
//! are separate exports whose `info.parentID` names the parent.

use serde_json::{Map, Value};

use super::AGENT;
use crate::agents::{parse_json, InputError};
use crate::session::{Message, Session};

/// Parses and validates an export document.
pub fn parse(bytes: &[u8], source_name: &str) -> Result<Session, InputError> {
    let value = parse_json(bytes, source_name)?;
    from_value(value, source_name)
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
            body: message,
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
        Value::Array(session.messages.iter().map(|m| m.body.clone()).collect()),
    );
    if let Some(info) = info {
        for (key, value) in info {
            if key != "info" {
                doc.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(doc)
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

/// Puts child exports under their parents (by `info.parentID`, recursively). Returns the roots:
/// sessions whose parent is not among `sessions`.
pub fn assemble(sessions: Vec<Session>) -> Vec<Session> {
    let ids: std::collections::HashSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let (mut roots, mut pending): (Vec<Session>, Vec<Session>) = sessions
        .into_iter()
        .partition(|s| parent_id(s).is_none_or(|p| !ids.contains(&p) || p == s.id));
    // Attach children level by level until nothing moves (a parent cycle stays unattached).
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for child in pending {
            let parent = parent_id(&child).unwrap_or_default();
            match roots.iter_mut().find_map(|r| find_mut(r, &parent)) {
                Some(slot) => slot.children.push(child),
                None => still.push(child),
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    roots.extend(pending);
    roots
}

fn find_mut<'a>(session: &'a mut Session, id: &str) -> Option<&'a mut Session> {
    if session.id == id {
        return Some(session);
    }
    session.children.iter_mut().find_map(|c| find_mut(c, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_round_trips_to_equal_json() {
        let text = r#"{"info":{"id":"ses_a","title":"T","version":"1.18.33"},
            "messages":[{"info":{"id":"msg_2","role":"user"},"parts":[{"id":"prt_1","type":"text","text":"hi"}]},
                        {"info":{"id":"msg_1","role":"assistant"},"parts":[]}]}"#;
        let session = parse(text.as_bytes(), "test").unwrap();
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
            ("[]", "not a JSON object"),
            (r#"{"messages":[]}"#, "no \"info\" object"),
            (r#"{"info":{},"messages":[]}"#, "no \"info.id\""),
            (r#"{"info":{"id":"s"}}"#, "no \"messages\" array"),
            (
                r#"{"info":{"id":"s"},"messages":[{"parts":[]}]}"#,
                "message 0 has no",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text.as_bytes(), "f.json").unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn a_cut_off_export_is_reported_as_truncated() {
        let err = parse(br#"{"info":{"id":"ses_a"},"messages":[{"#, "cut.json").unwrap_err();
        assert!(matches!(err, InputError::Truncated { .. }), "{err}");
        let err = parse(b"  \n", "empty.json").unwrap_err();
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
        let roots = assemble(vec![
            mk("grandchild", Some("child")),
            mk("child", Some("root")),
            mk("root", None),
            mk("orphan", Some("missing")),
        ]);
        let ids: Vec<&str> = roots.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["root", "orphan"]);
        assert_eq!(roots[0].children[0].id, "child");
        assert_eq!(roots[0].children[0].children[0].id, "grandchild");
    }
}
