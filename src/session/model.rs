//! The agent-agnostic session: an info object, ordered messages and child sessions.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::Value;

/// One session as an agent exported it, with its child sessions (subagents).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The session id (a ref and tree name component).
    pub id: String,
    /// The session's info object, kept as given.
    pub info: Value,
    /// Messages in conversation order.
    pub messages: Vec<Message>,
    /// Child sessions, each stored and restored with this one.
    pub children: Vec<Session>,
}

/// One message: its id and its whole JSON, as the agent wrote it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The message id (a tree entry name).
    pub id: String,
    /// The message's JSON, kept as given.
    pub body: Body,
}

/// A message's JSON: parsed, or still the exact bytes it was read as (already validated).
///
/// Keeping the bytes lets a save recognise a message it stored before by a fingerprint of those
/// bytes, without parsing, re-serialising and re-hashing it.
#[derive(Debug, Clone)]
pub enum Body {
    /// A parsed value.
    Parsed(Value),
    /// Validated JSON text (a range of a shared source document) with its xxh3-128 fingerprint.
    Raw {
        /// The whole document the message was read from, shared by all its messages.
        source: Arc<String>,
        /// Where this message's JSON starts in `source`.
        start: usize,
        /// Where it ends.
        end: usize,
        /// xxh3-128 of the message's bytes.
        fingerprint: u128,
    },
}

impl Body {
    /// Wraps validated JSON text `json`, which must be a slice of `source` (otherwise it is
    /// copied into a source of its own), computing its fingerprint.
    pub fn raw(source: &Arc<String>, json: &str) -> Self {
        Self::raw_with_fingerprint(source, json, fingerprint(json))
    }

    /// Like [`Body::raw`], with the fingerprint already computed by [`fingerprint`].
    pub fn raw_with_fingerprint(source: &Arc<String>, json: &str, fingerprint: u128) -> Self {
        let base = source.as_ptr() as usize;
        let at = json.as_ptr() as usize;
        if at >= base && at + json.len() <= base + source.len() {
            Body::Raw {
                source: Arc::clone(source),
                start: at - base,
                end: at - base + json.len(),
                fingerprint,
            }
        } else {
            Body::Raw {
                source: Arc::new(json.to_owned()),
                start: 0,
                end: json.len(),
                fingerprint,
            }
        }
    }

    /// Wraps validated JSON text that has no source document to share.
    pub fn owned_raw(json: String) -> Self {
        let fingerprint = fingerprint(&json);
        let end = json.len();
        Body::Raw {
            source: Arc::new(json),
            start: 0,
            end,
            fingerprint,
        }
    }

    /// Holds `value` as its compact JSON text: what a rewrite of a long session's messages keeps,
    /// so the session stays about the size of its text instead of a tree of values.
    pub fn text_of(value: &Value) -> Self {
        let mut text = value.to_string();
        // The text grew by doubling: give back what it does not use.
        text.shrink_to_fit();
        Self::owned_raw(text)
    }

    /// Gives a message that shares its source document a copy of its own text, so that once
    /// every message of a document has one (or was rewritten with [`Body::text_of`]) the
    /// document is freed: a rewrite of a long session then holds one document at a time extra,
    /// not the session twice.
    pub fn detach(&mut self) {
        if let Body::Raw {
            source,
            start,
            end,
            fingerprint,
        } = self
        {
            if *start > 0 || *end < source.len() || Arc::strong_count(source) > 1 {
                *self = Body::Raw {
                    source: Arc::new(source[*start..*end].to_owned()),
                    start: 0,
                    end: *end - *start,
                    fingerprint: *fingerprint,
                };
            }
        }
    }

    /// Edits the top-level member `key` of the message's JSON object, parsing only that member:
    /// `edit` returns how many values it changed, and only then is the text rewritten (the
    /// other members copied as they are, keys in order). Re-homing a long session's messages
    /// this way never builds the values of their (large) other members. Returns what `edit`
    /// returned, 0 when the message has no such member or is not an object.
    pub fn edit_member(&mut self, key: &str, edit: impl FnOnce(&mut Value) -> usize) -> usize {
        let text = match self {
            Body::Parsed(value) => return value.get_mut(key).map_or(0, edit),
            Body::Raw {
                source, start, end, ..
            } => &source[*start..*end],
        };
        let Ok(members) = serde_json::from_str::<BTreeMap<String, &RawValue>>(text) else {
            return 0;
        };
        let Some(raw) = members.get(key) else {
            return 0;
        };
        let mut member: Value = serde_json::from_str(raw.get())
            .expect("raw message JSON was validated when it was read");
        let changed = edit(&mut member);
        if changed == 0 {
            return 0;
        }
        let member = member.to_string();
        let mut out = String::with_capacity(text.len() + member.len());
        out.push('{');
        for (n, (name, value)) in members.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(name.as_str()).to_string());
            out.push(':');
            out.push_str(if name == key { &member } else { value.get() });
        }
        out.push('}');
        out.shrink_to_fit();
        *self = Body::owned_raw(out);
        changed
    }

    /// The value, parsed on demand.
    pub fn value(&self) -> Cow<'_, Value> {
        match self {
            Body::Parsed(v) => Cow::Borrowed(v),
            Body::Raw {
                source, start, end, ..
            } => Cow::Owned(
                serde_json::from_str(&source[*start..*end])
                    .expect("raw message JSON was validated when it was read"),
            ),
        }
    }

    /// The fingerprint of the bytes this body was read from, if it was read as bytes.
    pub fn fingerprint(&self) -> Option<u128> {
        match self {
            Body::Parsed(_) => None,
            Body::Raw { fingerprint, .. } => Some(*fingerprint),
        }
    }
}

/// Checks that `text` is JSON that parses as a [`Value`] (a syntax check alone lets numbers such
/// as `1e999` through, which [`Body::value`] could then not parse), without building the value.
/// Every [`Body::Raw`] text passes this before it is wrapped.
pub fn check_json(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<Checked>(text).map(|_| ())
}

/// A JSON value read to the end with numbers parsed as [`Value`] parses them, and dropped.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, Checked>()?
            .is_some()
        {}
        Ok(Checked)
    }
}

/// The fingerprint of a message's JSON text: xxh3-128 of its bytes.
pub fn fingerprint(json: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(json.as_bytes())
}

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Body::Parsed(value)
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.body.value() == other.body.value()
    }
}

impl Session {
    /// Returns this session and every descendant, depth first, parents before children.
    pub fn walk(&self) -> Vec<&Session> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// Counts the descendants (children, their children, ...).
    pub fn descendant_count(&self) -> usize {
        self.children.iter().map(|c| 1 + c.descendant_count()).sum()
    }

    /// Finds this session or a descendant by id.
    pub fn find(&self, id: &str) -> Option<&Session> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(id))
    }

    /// Finds this session or a descendant by id, for changing it.
    pub fn find_mut(&mut self, id: &str) -> Option<&mut Session> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter_mut().find_map(|c| c.find_mut(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_a_value_cannot_hold_fails_the_check() {
        assert!(check_json(r#"{"a":[1,-2.5,"1e999",{"b":null}],"c":true}"#).is_ok());
        assert!(check_json(r#"{"a":1e999}"#).is_err(), "out of range");
        assert!(serde_json::from_str::<&serde_json::value::RawValue>(r#"{"a":1e999}"#).is_ok());
        assert!(check_json(r#"{"a":"#).is_err(), "cut short");
    }

    #[test]
    fn editing_a_member_parses_and_rewrites_only_that_member() {
        let text = r#"{"parts":[{"text":"a long output","n":1.50}],"info":{"path":{"cwd":"/a"}}}"#;
        let mut body = Body::owned_raw(text.to_owned());
        let changed = body.edit_member("info", |info| {
            info["path"]["cwd"] = "/b".into();
            1
        });
        assert_eq!(changed, 1);
        let Body::Raw {
            source, start, end, ..
        } = &body
        else {
            panic!("an edited raw message stays text");
        };
        // The other member is copied as it was written (`1.50`, not re-serialised as `1.5`).
        assert_eq!(
            &source[*start..*end],
            r#"{"info":{"path":{"cwd":"/b"}},"parts":[{"text":"a long output","n":1.50}]}"#
        );
        assert_eq!(body.fingerprint(), Some(fingerprint(&source[*start..*end])));

        let mut untouched = Body::owned_raw(text.to_owned());
        assert_eq!(untouched.edit_member("info", |_| 0), 0);
        assert_eq!(untouched.edit_member("missing", |_| 1), 0, "no such member");
        let mut array = Body::owned_raw("[1,2]".to_owned());
        assert_eq!(array.edit_member("info", |_| 1), 0, "not an object");
        assert_eq!(untouched.fingerprint(), Some(fingerprint(text)));

        let mut parsed = Body::Parsed(serde_json::from_str(text).unwrap());
        assert_eq!(
            parsed.edit_member("info", |info| {
                info["path"]["cwd"] = "/c".into();
                1
            }),
            1
        );
        assert_eq!(parsed.value()["info"]["path"]["cwd"], "/c");
    }

    #[test]
    fn detached_and_rewritten_messages_let_their_document_go() {
        let source = Arc::new(r#"[{"a":1},{"b":2}]"#.to_owned());
        let mut first = Body::raw(&source, &source[1..8]);
        let mut second = Body::raw(&source, &source[9..16]);
        let weak = Arc::downgrade(&source);
        drop(source);
        first.detach();
        assert!(
            weak.upgrade().is_some(),
            "the second message still holds it"
        );
        second = Body::text_of(&second.value());
        assert!(weak.upgrade().is_none(), "the document is freed");
        assert_eq!(first.value().into_owned(), serde_json::json!({"a": 1}));
        assert_eq!(second.value().into_owned(), serde_json::json!({"b": 2}));
        assert_eq!(
            first.fingerprint(),
            Some(fingerprint(r#"{"a":1}"#)),
            "a detached message keeps its fingerprint"
        );
    }
}
