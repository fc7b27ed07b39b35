//! A session as git objects, and back.
//!
//! Layout of a save's root tree (one per commit on `refs/sessions/<agent>/<id>`):
//!
//! ```text
//! session.json            the session info, canonical JSON
//! messages/NNNNNN/<id>.json  one blob per message (its info and parts), canonical JSON, in
//!                         buckets of 64 in conversation order
//! order                   only when the messages' order differs from their tree order
//! children/<id>/          a child session: the same layout minus strings/
//! strings/xx/<key>        every split-out string of the save (root and children), as raw text
//! ```
//!
//! Canonical JSON is compact with object keys sorted, so equal content always gets the same blob
//! id, whoever exported it. A string of [`DEFAULT_SPLIT_THRESHOLD`] bytes or more is stored as its
//! own blob (raw UTF-8, deltable by git) and replaced in the JSON by `"\u0000blob:<id>"`; a real
//! string that starts with NUL is stored as `"\u0000lit:" + string`, so decoding is exact.
//! Markers name blob ids, so `strings/` exists for reachability (push, fetch and gc only see what
//! trees reach) and its entry names only steer git's delta search (see [`super::simkey`]).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Write;

use serde_json::Value;

use super::model::{Message, Session};
use super::portable::Contractor;
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
/// Messages per subtree of `messages/`.
const MESSAGES_PER_BUCKET: usize = 64;

/// A pass that removes secrets from a value before it is stored (see `session::redact`).
pub trait Redact {
    /// Identifies the rules in force: a save cache made under other rules is not reused.
    fn rules_id(&self) -> u128;
    /// Replaces every secret in the strings of `value` by a marker naming its rule, and counts
    /// the replacements per rule in `found`.
    fn redact(&self, value: &mut Value, found: &mut BTreeMap<String, usize>);
}

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
    /// Messages recognised from the save cache (not re-serialised).
    pub reused: usize,
    /// Secrets replaced, per rule, in the whole session as stored.
    pub redactions: BTreeMap<String, usize>,
}

struct SplitString {
    simkey: String,
    last_use: usize,
}

/// What earlier saves learned about messages, by fingerprint of the bytes they were read from:
/// the message blob, its size as JSON and the strings split out of it, in order of use.
///
/// With it, a message that did not change since the last save costs a hash and a few existence
/// checks instead of a parse, a serialisation and a SHA-1. Every hit is checked against the
/// object database; a cache that is missing, stale, damaged or made with another split threshold
/// is ignored, so it can only make a save faster, never different (a test encodes with and
/// without it and compares the trees).
#[derive(Debug, Default, Clone)]
pub struct SaveCache {
    threshold: usize,
    rules: u128,
    entries: HashMap<u128, CachedMessage>,
}

#[derive(Debug, Clone)]
struct CachedMessage {
    id: String,
    blob: ObjectId,
    json_bytes: i64,
    strings: Vec<(ObjectId, String)>,
    redactions: Vec<(String, usize)>,
}

const CACHE_HEADER: &str = "git-session-save-cache 3";

impl SaveCache {
    /// Reads a cache file; anything unreadable yields an empty cache.
    pub fn load(path: &std::path::Path) -> Self {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| Self::parse(&text))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> Option<Self> {
        let (body, checksum) = text.trim_end().rsplit_once('\n')?;
        let checksum = checksum.strip_prefix("end ")?;
        if format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body.as_bytes())) != checksum {
            return None;
        }
        let mut lines = body.lines();
        let mut header = lines.next()?.strip_prefix(CACHE_HEADER)?.split_whitespace();
        let threshold = header.next()?.parse().ok()?;
        let rules = u128::from_str_radix(header.next()?, 16).ok()?;
        let mut entries = HashMap::new();
        for line in lines {
            let mut fields = line.split(' ');
            let fingerprint = u128::from_str_radix(fields.next()?, 16).ok()?;
            let id = fields.next()?.to_owned();
            let blob = ObjectId::from_hex(fields.next()?.as_bytes()).ok()?;
            let json_bytes = fields.next()?.parse().ok()?;
            let mut strings = Vec::new();
            let mut redactions = Vec::new();
            for s in fields {
                if let Some(found) = s.strip_prefix('!') {
                    let (rule, count) = found.rsplit_once('=')?;
                    redactions.push((rule.to_owned(), count.parse().ok()?));
                    continue;
                }
                let (id, key) = s.split_once(':')?;
                strings.push((ObjectId::from_hex(id.as_bytes()).ok()?, key.to_owned()));
            }
            entries.insert(
                fingerprint,
                CachedMessage {
                    id,
                    blob,
                    json_bytes,
                    strings,
                    redactions,
                },
            );
        }
        Some(SaveCache {
            threshold,
            rules,
            entries,
        })
    }

    /// Writes the cache through a temporary file and a rename.
    pub fn store(&self, path: &std::path::Path) -> std::io::Result<()> {
        let mut body = format!("{CACHE_HEADER} {} {:032x}\n", self.threshold, self.rules);
        let mut fingerprints: Vec<&u128> = self.entries.keys().collect();
        fingerprints.sort();
        for fp in fingerprints {
            let e = &self.entries[fp];
            body.push_str(&format!("{fp:032x} {} {} {}", e.id, e.blob, e.json_bytes));
            for (id, key) in &e.strings {
                body.push_str(&format!(" {id}:{key}"));
            }
            for (rule, count) in &e.redactions {
                body.push_str(&format!(" !{rule}={count}"));
            }
            body.push('\n');
        }
        let checksum = xxhash_rust::xxh3::xxh3_128(body.trim_end().as_bytes());
        body.push_str(&format!("end {checksum:032x}\n"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomically(path, body.as_bytes())
    }

    /// The id of the message read from bytes with this fingerprint, if remembered: a reader
    /// can skip looking for the id in bytes it has seen before.
    pub fn message_id(&self, fingerprint: u128) -> Option<&str> {
        self.entries.get(&fingerprint).map(|e| e.id.as_str())
    }

    /// Number of remembered messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Writes `session` as git objects and returns its root tree. Moves no ref.
pub fn encode(store: &Store, session: &Session, split_threshold: usize) -> Result<Encoded> {
    encode_cached(store, session, split_threshold, None, None, None).map(|(encoded, _)| encoded)
}

/// Like [`encode`], passing every string through `contract` (the machine's paths become
/// placeholders, see [`super::portable`]) and then `redact` first (each when given) and reusing
/// what `cache` remembers; returns the cache for the next save.
///
/// Contraction comes first so that redaction sees the same text on every machine: the same
/// message saved by two teammates is then redacted alike and stored as one blob.
pub fn encode_cached(
    store: &Store,
    session: &Session,
    split_threshold: usize,
    cache: Option<&SaveCache>,
    redact: Option<&dyn Redact>,
    contract: Option<&Contractor>,
) -> Result<(Encoded, SaveCache)> {
    let threshold = split_threshold.max(64);
    let rules = redact.map_or(0, |r| r.rules_id()) ^ contract.map_or(0, Contractor::id);
    let mut encoder = Encoder {
        store,
        threshold,
        strings: HashMap::new(),
        uses: 0,
        json_bytes: 0,
        size_correction: 0,
        buf: Vec::with_capacity(64 * 1024),
        old_cache: cache.filter(|c| c.threshold == threshold && c.rules == rules),
        new_cache: SaveCache {
            threshold,
            rules,
            entries: HashMap::new(),
        },
        redact,
        contract,
        redactions: BTreeMap::new(),
        recording: None,
        reused: 0,
    };
    let mut entries = encoder.session_entries(session)?;
    let strings = encoder.strings_tree()?;
    let string_count = encoder.strings.len();
    if let Some(strings) = strings {
        entries.push(tree_entry(STRINGS_DIR, EntryKind::Tree, strings));
    }
    let tree = store.write_tree(&entries)?;
    let encoded = Encoded {
        tree,
        messages: session.messages.len(),
        children: session.descendant_count(),
        json_bytes: (encoder.json_bytes as i64 + encoder.size_correction).max(0) as u64,
        strings: string_count,
        reused: encoder.reused,
        redactions: encoder.redactions,
    };
    Ok((encoded, encoder.new_cache))
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

/// Lists the messages a save's tree holds, as `(session id, message id)` pairs, the root's
/// (`root_id`) and every child session's, from the trees alone (no message is read).
pub fn message_ids(store: &Store, root_id: &str, tree: ObjectId) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut queue = vec![(root_id.to_owned(), tree)];
    while let Some((id, tree)) = queue.pop() {
        for entry in store.read_tree(tree)? {
            if entry.name == MESSAGES_DIR {
                for bucket in store.read_tree(entry.id)? {
                    let files = match bucket.kind {
                        EntryKind::Tree => store.read_tree(bucket.id)?,
                        EntryKind::Blob => vec![bucket],
                    };
                    out.extend(files.iter().filter_map(|f| {
                        let message = f.name.strip_suffix(MESSAGE_SUFFIX)?;
                        Some((id.clone(), message.to_owned()))
                    }));
                }
            } else if entry.name == CHILDREN_DIR {
                for child in store.read_tree(entry.id)? {
                    if child.kind == EntryKind::Tree {
                        queue.push((child.name.clone(), child.id));
                    }
                }
            }
        }
    }
    Ok(out)
}

struct Encoder<'a> {
    store: &'a Store,
    threshold: usize,
    strings: HashMap<ObjectId, SplitString>,
    uses: usize,
    json_bytes: u64,
    size_correction: i64,
    buf: Vec<u8>,
    old_cache: Option<&'a SaveCache>,
    new_cache: SaveCache,
    /// Split strings of the message being written, in order of use.
    recording: Option<Vec<(ObjectId, String)>>,
    reused: usize,
    redact: Option<&'a dyn Redact>,
    contract: Option<&'a Contractor>,
    redactions: BTreeMap<String, usize>,
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
        let info = if self.redact.is_some() || self.contract.is_some() {
            let mut info = session.info.clone();
            let mut found = std::mem::take(&mut self.redactions);
            self.transform(&mut info, &mut found);
            self.redactions = found;
            self.canonical_blob(&info)?
        } else {
            self.canonical_blob(&session.info)?
        };
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
            let blob = self.message_blob(message)?;
            let name = format!("{}{MESSAGE_SUFFIX}", message.id);
            names.push(name.clone());
            message_entries.push(tree_entry(&name, EntryKind::Blob, blob));
        }
        let mut sorted = names;
        sorted.sort();
        if let Some(dup) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(SessionError::DuplicateMessage {
                session: session.id.clone(),
                id: dup[0].trim_end_matches(MESSAGE_SUFFIX).to_owned(),
            });
        }
        // Buckets of MESSAGES_PER_BUCKET messages in conversation order: an appending save
        // rewrites the last bucket and a small top tree, not one tree listing every message.
        let mut buckets = Vec::new();
        let mut in_tree_order = true;
        for (index, chunk) in message_entries.chunks(MESSAGES_PER_BUCKET).enumerate() {
            in_tree_order &= chunk.windows(2).all(|w| w[0].name < w[1].name);
            let tree = self.store.write_tree(chunk)?;
            buckets.push(tree_entry(&format!("{index:06}"), EntryKind::Tree, tree));
        }
        if !buckets.is_empty() {
            let tree = self.store.write_tree(&buckets)?;
            entries.push(tree_entry(MESSAGES_DIR, EntryKind::Tree, tree));
        }
        if !in_tree_order {
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

    fn message_blob(&mut self, message: &Message) -> Result<ObjectId> {
        let fingerprint = message.body.fingerprint();
        if let Some(hit) = fingerprint.and_then(|fp| self.cache_hit(fp, &message.id)) {
            for (id, simkey) in &hit.strings {
                self.use_string(*id, || simkey.clone());
            }
            self.json_bytes += hit.json_bytes.max(0) as u64;
            for (rule, count) in &hit.redactions {
                *self.redactions.entry(rule.clone()).or_default() += count;
            }
            let blob = hit.blob;
            self.reused += 1;
            self.new_cache
                .entries
                .insert(fingerprint.expect("hit implies a fingerprint"), hit);
            return Ok(blob);
        }
        let before = self.json_bytes as i64 + self.size_correction;
        self.recording = Some(Vec::new());
        let mut found = BTreeMap::new();
        let blob = if self.redact.is_some() || self.contract.is_some() {
            let mut value = message.body.value().into_owned();
            self.transform(&mut value, &mut found);
            self.canonical_blob(&value)
        } else {
            self.canonical_blob(&message.body.value())
        };
        for (rule, count) in &found {
            *self.redactions.entry(rule.clone()).or_default() += count;
        }
        let strings = self.recording.take().unwrap_or_default();
        let blob = blob?;
        if let Some(fp) = fingerprint {
            let json_bytes = self.json_bytes as i64 + self.size_correction - before;
            self.new_cache.entries.insert(
                fp,
                CachedMessage {
                    id: message.id.clone(),
                    blob,
                    json_bytes,
                    strings,
                    redactions: found.into_iter().collect(),
                },
            );
        }
        Ok(blob)
    }

    /// What a value goes through before it is stored: contraction, then redaction.
    fn transform(&self, value: &mut Value, found: &mut BTreeMap<String, usize>) {
        if let Some(contract) = self.contract {
            contract.contract_value(value);
        }
        if let Some(redact) = self.redact {
            redact.redact(value, found);
        }
    }

    fn cache_hit(&self, fingerprint: u128, id: &str) -> Option<CachedMessage> {
        let hit = self.old_cache?.entries.get(&fingerprint)?;
        if hit.id != id {
            return None;
        }
        // Freshened, not only checked: the save refers to them without writing them, and a gc
        // must not take them for old garbage before the ref reaches them.
        let present = self.store.freshen_object(hit.blob)
            && hit
                .strings
                .iter()
                .all(|(id, _)| self.store.freshen_object(*id));
        present.then(|| hit.clone())
    }

    /// Counts one use of a split string (its order of use decides the `strings/` names).
    fn use_string(&mut self, id: ObjectId, simkey: impl FnOnce() -> String) {
        self.uses += 1;
        let uses = self.uses;
        let entry = self
            .strings
            .entry(id)
            .and_modify(|e| e.last_use = uses)
            .or_insert_with(|| SplitString {
                simkey: simkey(),
                last_use: uses,
            });
        if let Some(recording) = &mut self.recording {
            recording.push((id, entry.simkey.clone()));
        }
    }

    fn canonical_blob(&mut self, value: &Value) -> Result<ObjectId> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        write_canonical(value, &mut buf, &mut |s, out| self.write_string(s, out))?;
        let id = self.store.write_blob(&buf)?;
        self.json_bytes += buf.len() as u64;
        self.buf = buf;
        Ok(id)
    }

    fn write_string(&mut self, s: &str, out: &mut Vec<u8>) -> Result<()> {
        let before = out.len();
        if s.len() >= self.threshold {
            let id = self.store.write_blob(s.as_bytes())?;
            self.use_string(id, || similarity_key(s));
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
        // Fanned out by the key's first two hex digits, so a save rewrites a few small trees.
        let mut buckets: BTreeMap<&str, Vec<TreeEntry>> = BTreeMap::new();
        for (id, s) in &self.strings {
            let name = if latest[s.simkey.as_str()].1 == *id {
                s.simkey.clone()
            } else {
                format!("{id}.{}", s.simkey)
            };
            buckets.entry(&s.simkey[..2]).or_default().push(tree_entry(
                &name,
                EntryKind::Blob,
                *id,
            ));
        }
        let mut top = Vec::with_capacity(buckets.len());
        for (bucket, entries) in buckets {
            let tree = self.store.write_tree(&entries)?;
            top.push(tree_entry(bucket, EntryKind::Tree, tree));
        }
        Ok(Some(self.store.write_tree(&top)?))
    }
}

/// Bytes of `value` as canonical JSON with every string inline (no splitting).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(()) = write_canonical(value, &mut out, &mut |s, out| {
        write_json_string(s, out);
        Ok::<(), Infallible>(())
    });
    out
}

/// Writes `value` as canonical JSON, the one writer of it: compact, object keys sorted, numbers
/// and strings escaped as serde_json writes them. Every string value is handed to `string` to
/// write (the encoder splits long ones out; [`canonical_json`] writes them inline); keys are
/// always written inline.
fn write_canonical<E, F>(
    value: &Value,
    out: &mut Vec<u8>,
    string: &mut F,
) -> std::result::Result<(), E>
where
    F: FnMut(&str, &mut Vec<u8>) -> std::result::Result<(), E>,
{
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(s, out)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out, string)?;
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
                write_canonical(&map[key.as_str()], out, string)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
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
            let mut files = Vec::new();
            for entry in self.store.read_tree(dir.id)? {
                match entry.kind {
                    EntryKind::Tree => files.extend(self.store.read_tree(entry.id)?),
                    EntryKind::Blob => files.push(entry),
                }
            }
            for entry in files {
                let Some(message_id) = entry.name.strip_suffix(MESSAGE_SUFFIX) else {
                    continue;
                };
                let body = self.json_blob(entry.id, &format!("{id}/{}", entry.name))?;
                messages.push(Message {
                    id: message_id.to_owned(),
                    body: body.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::model::Body;
    use serde_json::json;

    fn repo() -> (tempfile::TempDir, Store) {
        Store::temporary()
    }

    fn session(n: usize) -> Session {
        let long = "line of a file that is long enough\n".repeat(60);
        let messages = (0..n)
            .map(|i| {
                let text = json!({"info": {"id": format!("msg_{i:04}")}, "parts": [
                    {"id": format!("prt_{i}"), "output": format!("{long}{i}"), "again": format!("{long}{i}")},
                    {"id": "p2", "text": "\u{0}starts with NUL"}]});
                let source = std::sync::Arc::new(text.to_string());
                Message { id: format!("msg_{i:04}"), body: Body::raw(&source, &source) }
            })
            .collect();
        Session {
            id: "ses_1".into(),
            info: json!({"info": {"id": "ses_1"}}),
            messages,
            children: vec![],
        }
    }

    #[test]
    fn the_save_cache_changes_speed_never_content() {
        let (_dir, store) = repo();
        let (first, cache) = encode_cached(&store, &session(5), 1024, None, None, None).unwrap();
        assert_eq!(first.reused, 0);
        let fp = session(5).messages[2].body.fingerprint().unwrap();
        assert_eq!(
            cache.message_id(fp),
            Some("msg_0002"),
            "ids are remembered by fingerprint"
        );
        assert_eq!(first.strings, 5, "each long output stored once, not twice");
        let (second, _) =
            encode_cached(&store, &session(8), 1024, Some(&cache), None, None).unwrap();
        assert_eq!(
            second.reused, 5,
            "the five unchanged messages come from the cache"
        );
        let (uncached, _) = encode_cached(&store, &session(8), 1024, None, None, None).unwrap();
        assert_eq!(
            second,
            Encoded {
                reused: 5,
                ..uncached.clone()
            },
            "same tree with or without the cache"
        );
        let other_threshold = encode_cached(&store, &session(8), 4096, Some(&cache), None, None)
            .unwrap()
            .0;
        assert_eq!(
            other_threshold.reused, 0,
            "a cache made with another threshold is ignored"
        );

        let decoded = decode(&store, "ses_1", uncached.tree, "test").unwrap();
        assert_eq!(
            decoded,
            session(8),
            "decoding gives the session back, NUL-prefixed strings included"
        );
    }

    #[test]
    fn a_saved_blob_is_the_canonical_json_of_its_value() {
        let (_dir, store) = repo();
        let info =
            json!({"z": {"y": {}, "x": 1}, "b": "é\"\n", "a": [1, -2, 0.5, 1e300, true, null]});
        let session = Session {
            id: "ses_1".into(),
            info: info.clone(),
            messages: vec![],
            children: vec![],
        };
        let tree = encode(&store, &session, usize::MAX).unwrap().tree;
        let entries = store.read_tree(tree).unwrap();
        let blob = entries.iter().find(|e| e.name == SESSION_FILE).unwrap().id;
        let want = r#"{"a":[1,-2,0.5,1e+300,true,null],"b":"é\"\n","z":{"x":1,"y":{}}}"#;
        assert_eq!(String::from_utf8(canonical_json(&info)).unwrap(), want);
        assert_eq!(
            store.read_blob(blob).unwrap(),
            want.as_bytes(),
            "what a save stores and what merges compare are one writer's bytes"
        );
    }

    #[test]
    fn contraction_goes_through_the_save_cache_and_a_cache_of_other_roots_is_ignored() {
        use crate::session::portable::{self, MachinePaths};
        let (_dir, store) = repo();
        let at = |root: &str| {
            let mut s = session(4);
            for m in &mut s.messages {
                let text = serde_json::to_string(&m.body.value())
                    .unwrap()
                    .replace("line of a file", &format!("{root}/src/a.rs"));
                let source = std::sync::Arc::new(text);
                m.body = Body::raw(&source, &source);
            }
            (s, MachinePaths::none().with("checkout", root))
        };
        let (a, paths_a) = at("/home/a/project");
        let (b, paths_b) = at("/srv/b/co");
        let contract_a = Contractor::new(&paths_a);
        let contract_b = Contractor::new(&paths_b);
        let (on_a, cache) = encode_cached(&store, &a, 1024, None, None, Some(&contract_a)).unwrap();
        let (on_b, _) =
            encode_cached(&store, &b, 1024, Some(&cache), None, Some(&contract_b)).unwrap();
        assert_eq!(on_b.reused, 0, "a cache made with other roots is ignored");
        assert_eq!(on_a.tree, on_b.tree, "one stored form on both machines");
        let (again, _) =
            encode_cached(&store, &a, 1024, Some(&cache), None, Some(&contract_a)).unwrap();
        assert_eq!((again.reused, again.tree), (4, on_a.tree));
        let mut back = decode(&store, "ses_1", on_a.tree, "test").unwrap();
        assert_ne!(back, a, "stored with placeholders");
        portable::expand(&mut back, &paths_b);
        assert_eq!(back, b, "expanded for the other machine");
    }

    #[test]
    fn a_damaged_cache_file_is_ignored() {
        let (dir, store) = repo();
        let (_, cache) = encode_cached(&store, &session(3), 1024, None, None, None).unwrap();
        let path = dir.path().join("cache");
        cache.store(&path).unwrap();
        assert_eq!(SaveCache::load(&path).len(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen('0', "1", 1)).unwrap();
        assert!(
            SaveCache::load(&path).is_empty(),
            "checksum mismatch: nothing trusted"
        );
    }
}
