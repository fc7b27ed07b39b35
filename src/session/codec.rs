//! A session as git objects, and back.
//!
//! Layout of a save's root tree (one per commit on `refs/sessions/<agent>/<id>`):
//!
//! ```text
//! session.json            the session info, canonical JSON
//! messages/<id>.json      one blob per message (its info and parts), canonical JSON
//! order                   only when the messages' order differs from their tree order
//! children/<id>/          a child session: the same layout minus strings/
//! strings/                every split-out string of the save (root and children), as raw text
//! ```
//!
//! Canonical JSON is compact with object keys sorted, so equal content always gets the same blob
//! id, whoever exported it. A string of [`DEFAULT_SPLIT_THRESHOLD`] bytes or more is stored as its
//! own blob (raw UTF-8, deltable by git) and replaced in the JSON by `"\u0000blob:<id>"`; a real
//! string that starts with NUL is stored as `"\u0000lit:" + string`, so decoding is exact.
//! Markers name blob ids, so `strings/` exists for reachability (push, fetch and gc only see what
//! trees reach) and its entry names only steer git's delta search (see [`super::simkey`]).

use std::collections::HashMap;
use std::io::Write;

use serde_json::Value;

use super::model::{Message, Session};
use super::simkey::similarity_key;
use super::{Result, SessionError};
use crate::store::layout::is_safe_component;
use crate::store::{EntryKind, ObjectId, Store, TreeEntry};

/// Strings of at least this many bytes become blobs of their own. Chosen with the storage
/// benchmark (`cargo bench`): see README, "Storage layout".
pub const DEFAULT_SPLIT_THRESHOLD: usize = 1024;

const BLOB_MARKER: &str = "\u{0}blob:";
const LITERAL_MARKER: &str = "\u{0}lit:";
const SESSION_FILE: &str = "session.json";
const MESSAGES_DIR: &str = "messages";
const CHILDREN_DIR: &str = "children";
const STRINGS_DIR: &str = "strings";
const ORDER_FILE: &str = "order";
const MESSAGE_SUFFIX: &str = ".json";

/// What encoding a session wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The root tree of the save.
    pub tree: ObjectId,
    /// Messages of the root session.
    pub messages: usize,
    /// Child sessions at any depth.
    pub children: usize,
    /// Size of the whole session (root and children) as compact JSON, strings inline.
    pub json_bytes: u64,
    /// Distinct split-out strings.
    pub strings: usize,
}

struct SplitString {
    simkey: String,
    last_use: usize,
}

/// Writes `session` as git objects and returns its root tree. Moves no ref.
pub fn encode(store: &Store, session: &Session, split_threshold: usize) -> Result<Encoded> {
    let mut encoder = Encoder {
        store,
        threshold: split_threshold.max(64),
        strings: HashMap::new(),
        uses: 0,
        json_bytes: 0,
        size_correction: 0,
        buf: Vec::with_capacity(64 * 1024),
    };
    let mut entries = encoder.session_entries(session)?;
    let strings = encoder.strings_tree()?;
    let string_count = encoder.strings.len();
    if let Some(strings) = strings {
        entries.push(tree_entry(STRINGS_DIR, EntryKind::Tree, strings));
    }
    let tree = store.write_tree(&entries)?;
    Ok(Encoded {
        tree,
        messages: session.messages.len(),
        children: session.descendant_count(),
        json_bytes: (encoder.json_bytes as i64 + encoder.size_correction).max(0) as u64,
        strings: string_count,
    })
}

/// Reads the session stored in `tree` (the root tree of a save). `commit` names the save in errors.
pub fn decode(store: &Store, id: &str, tree: ObjectId, commit: &str) -> Result<Session> {
    let mut decoder = Decoder {
        store,
        commit,
        strings: HashMap::new(),
    };
    decoder.session(id, tree)
}

struct Encoder<'a> {
    store: &'a Store,
    threshold: usize,
    strings: HashMap<ObjectId, SplitString>,
    uses: usize,
    json_bytes: u64,
    size_correction: i64,
    buf: Vec<u8>,
}

impl Encoder<'_> {
    fn session_entries(&mut self, session: &Session) -> Result<Vec<TreeEntry>> {
        if !is_safe_component(&session.id) {
            return Err(SessionError::UnsafeId {
                what: "session",
                id: session.id.clone(),
            });
        }
        let mut entries = Vec::with_capacity(4);
        let info = self.canonical_blob(&session.info)?;
        entries.push(tree_entry(SESSION_FILE, EntryKind::Blob, info));

        let mut names = Vec::with_capacity(session.messages.len());
        let mut message_entries = Vec::with_capacity(session.messages.len());
        for message in &session.messages {
            if !is_safe_component(&message.id) {
                return Err(SessionError::UnsafeId {
                    what: "message",
                    id: message.id.clone(),
                });
            }
            let blob = self.canonical_blob(&message.body)?;
            let name = format!("{}{MESSAGE_SUFFIX}", message.id);
            names.push(name.clone());
            message_entries.push(tree_entry(&name, EntryKind::Blob, blob));
        }
        let mut sorted = names.clone();
        sorted.sort();
        if let Some(dup) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(SessionError::DuplicateMessage {
                session: session.id.clone(),
                id: dup[0].trim_end_matches(MESSAGE_SUFFIX).to_owned(),
            });
        }
        if !message_entries.is_empty() {
            let tree = self.store.write_tree(&message_entries)?;
            entries.push(tree_entry(MESSAGES_DIR, EntryKind::Tree, tree));
        }
        if sorted != names {
            let mut order = String::new();
            for message in &session.messages {
                order.push_str(&message.id);
                order.push('\n');
            }
            let blob = self.store.write_blob(order.as_bytes())?;
            entries.push(tree_entry(ORDER_FILE, EntryKind::Blob, blob));
        }
        if !session.children.is_empty() {
            let mut child_entries = Vec::with_capacity(session.children.len());
            for child in &session.children {
                let child_tree = self.session_entries(child)?;
                let tree = self.store.write_tree(&child_tree)?;
                child_entries.push(tree_entry(&child.id, EntryKind::Tree, tree));
            }
            let tree = self.store.write_tree(&child_entries).map_err(|_| {
                SessionError::DuplicateMessage {
                    session: session.id.clone(),
                    id: "(a child session id)".into(),
                }
            })?;
            entries.push(tree_entry(CHILDREN_DIR, EntryKind::Tree, tree));
        }
        Ok(entries)
    }

    fn canonical_blob(&mut self, value: &Value) -> Result<ObjectId> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.write_value(value, &mut buf)?;
        let id = self.store.write_blob(&buf)?;
        self.json_bytes += buf.len() as u64;
        self.buf = buf;
        Ok(id)
    }

    fn write_value(&mut self, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::String(s) => self.write_string(s, out)?,
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_value(item, out)?;
                }
                out.push(b']');
            }
            Value::Object(map) => {
                // Sorted here, whatever order the map keeps, so the bytes never depend on how
                // serde_json was built.
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(key, out);
                    out.push(b':');
                    self.write_value(&map[key.as_str()], out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    fn write_string(&mut self, s: &str, out: &mut Vec<u8>) -> Result<()> {
        let before = out.len();
        if s.len() >= self.threshold {
            let id = self.store.write_blob(s.as_bytes())?;
            self.uses += 1;
            let uses = self.uses;
            self.strings
                .entry(id)
                .and_modify(|e| e.last_use = uses)
                .or_insert_with(|| SplitString {
                    simkey: similarity_key(s),
                    last_use: uses,
                });
            write_json_string(&format!("{BLOB_MARKER}{id}"), out);
        } else if s.starts_with('\u{0}') {
            write_json_string(&format!("{LITERAL_MARKER}{s}"), out);
        } else {
            write_json_string(s, out);
            return Ok(());
        }
        // Count the string as it would stand inline, not as its marker.
        let mut inline = Vec::with_capacity(s.len() + 16);
        write_json_string(s, &mut inline);
        self.size_correction += inline.len() as i64 - (out.len() - before) as i64;
        Ok(())
    }

    /// Names each split string so that git finds good delta bases (see [`super::simkey`]): in each
    /// group of strings with one similarity key, the one used last takes the stable name `<key>`
    /// (the path a thin push offers the receiver's previous version at), the others `<id>.<key>`.
    fn strings_tree(&mut self) -> Result<Option<ObjectId>> {
        if self.strings.is_empty() {
            return Ok(None);
        }
        let mut latest: HashMap<&str, (usize, ObjectId)> = HashMap::new();
        for (id, s) in &self.strings {
            let slot = latest.entry(s.simkey.as_str()).or_insert((s.last_use, *id));
            if s.last_use > slot.0 {
                *slot = (s.last_use, *id);
            }
        }
        let entries: Vec<TreeEntry> = self
            .strings
            .iter()
            .map(|(id, s)| {
                let name = if latest[s.simkey.as_str()].1 == *id {
                    s.simkey.clone()
                } else {
                    format!("{id}.{}", s.simkey)
                };
                tree_entry(&name, EntryKind::Blob, *id)
            })
            .collect();
        Ok(Some(self.store.write_tree(&entries)?))
    }
}

/// Bytes of `value` as canonical JSON with every string inline (no splitting).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_inline(value, &mut out);
    out
}

fn write_inline(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_inline(&map[key.as_str()], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_inline(item, out);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

fn write_json_string(s: &str, out: &mut Vec<u8>) {
    // serde_json's escaping: the same bytes for the same string on every machine.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn tree_entry(name: &str, kind: EntryKind, id: ObjectId) -> TreeEntry {
    TreeEntry {
        name: name.to_owned(),
        kind,
        id,
    }
}

struct Decoder<'a> {
    store: &'a Store,
    commit: &'a str,
    strings: HashMap<ObjectId, String>,
}

impl Decoder<'_> {
    fn corrupt(&self, problem: impl Into<String>) -> SessionError {
        SessionError::Corrupt {
            commit: self.commit.to_owned(),
            problem: problem.into(),
        }
    }

    fn session(&mut self, id: &str, tree: ObjectId) -> Result<Session> {
        let entries = self.store.read_tree(tree)?;
        let find = |name: &str| entries.iter().find(|e| e.name == name);
        let info_entry = find(SESSION_FILE)
            .ok_or_else(|| self.corrupt(format!("session {id} has no {SESSION_FILE}")))?;
        let info = self.json_blob(info_entry.id, &format!("{id}/{SESSION_FILE}"))?;

        let mut messages = Vec::new();
        if let Some(dir) = find(MESSAGES_DIR) {
            for entry in self.store.read_tree(dir.id)? {
                let Some(message_id) = entry.name.strip_suffix(MESSAGE_SUFFIX) else {
                    continue;
                };
                let body = self.json_blob(entry.id, &format!("{id}/{}", entry.name))?;
                messages.push(Message {
                    id: message_id.to_owned(),
                    body,
                });
            }
        }
        if let Some(order) = find(ORDER_FILE) {
            let text = self.store.read_blob(order.id)?;
            let text = String::from_utf8(text)
                .map_err(|_| self.corrupt(format!("{id}/{ORDER_FILE} is not UTF-8")))?;
            let mut by_id: HashMap<String, Message> =
                messages.drain(..).map(|m| (m.id.clone(), m)).collect();
            for line in text.lines().filter(|l| !l.is_empty()) {
                let message = by_id.remove(line).ok_or_else(|| {
                    self.corrupt(format!("{id}/{ORDER_FILE} names missing message {line}"))
                })?;
                messages.push(message);
            }
            if !by_id.is_empty() {
                return Err(self.corrupt(format!(
                    "{id}/{ORDER_FILE} does not list {} message(s)",
                    by_id.len()
                )));
            }
        }
        let mut children = Vec::new();
        if let Some(dir) = find(CHILDREN_DIR) {
            for entry in self.store.read_tree(dir.id)? {
                if entry.kind == EntryKind::Tree {
                    children.push(self.session(&entry.name, entry.id)?);
                }
            }
        }
        Ok(Session {
            id: id.to_owned(),
            info,
            messages,
            children,
        })
    }

    fn json_blob(&mut self, id: ObjectId, path: &str) -> Result<Value> {
        let bytes = self.store.read_blob(id)?;
        let mut value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(format!("{path} is not valid JSON ({e})")))?;
        self.restore(&mut value, path)?;
        Ok(value)
    }

    fn restore(&mut self, value: &mut Value, path: &str) -> Result<()> {
        match value {
            Value::String(s) if s.starts_with('\u{0}') => {
                if let Some(hex) = s.strip_prefix(BLOB_MARKER) {
                    let id = ObjectId::from_hex(hex.as_bytes())
                        .map_err(|_| self.corrupt(format!("{path} holds a bad string marker")))?;
                    if !self.strings.contains_key(&id) {
                        let bytes = self.store.read_blob(id).map_err(|e| {
                            self.corrupt(format!("{path} refers to string {id}: {e}"))
                        })?;
                        let text = String::from_utf8(bytes)
                            .map_err(|_| self.corrupt(format!("string {id} is not UTF-8")))?;
                        self.strings.insert(id, text);
                    }
                    *s = self.strings[&id].clone();
                } else if let Some(rest) = s.strip_prefix(LITERAL_MARKER) {
                    *s = rest.to_owned();
                } else {
                    return Err(self.corrupt(format!("{path} holds an unknown string marker")));
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.restore(item, path)?;
                }
            }
            Value::Object(map) => {
                for (_, item) in map.iter_mut() {
                    self.restore(item, path)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
