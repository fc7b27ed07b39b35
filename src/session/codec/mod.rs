//! A session as git objects, and back.
//!
//! Layout of a save's root tree (one per commit on `refs/sessions/<agent>/<id>`), format 3:
//!
//! ```text
//! session.json            the session info, canonical JSON
//! messages/NNNNNN.jsonl   the messages in buckets of 64, in conversation order: one line per
//!                         message, `["<id>",<canonical JSON>]` (see [`bucket`])
//! children/<id>/          a child session: the same layout minus strings/
//! strings/xx/<key>        every split-out string of the save (root and children), as raw text
//! ```
//!
//! Saves of formats 1 and 2 hold one blob per message instead, `messages/NNNNNN/<id>.json`
//! (and an `order` file when the messages' order differs from their tree order); they are read
//! as they are, with no migration.
//!
//! Canonical JSON is compact with object keys sorted, so equal content always gets the same blob
//! id, whoever exported it. A string of [`DEFAULT_SPLIT_THRESHOLD`] bytes or more is stored as its
//! own blob (raw UTF-8, deltable by git) and replaced in the JSON by `"\u0000blob:<id>"`; a real
//! string that starts with NUL is stored as `"\u0000lit:" + string`, so decoding is exact.
//! Markers name blob ids, so `strings/` exists for reachability (push, fetch and gc only see what
//! trees reach) and its entry names only steer git's delta search (see [`super::simkey`]).

mod bucket;
mod cache;
mod canonical;
mod restore;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::model::{Body, Message, Session};
use super::portable::{Contractor, Expander};
use super::simkey::similarity_key;
use super::{Result, SessionError};
use crate::store::layout::is_safe_component;
use crate::store::{EntryKind, ObjectId, Store, TreeEntry};

use bucket::{BUCKET_SUFFIX, MESSAGES_PER_BUCKET};
pub use cache::SaveCache;
use cache::{CachedMessage, Learned};
pub use canonical::canonical_json;
use canonical::{write_canonical, write_json_string};

/// Strings of at least this many bytes become blobs of their own. Chosen with the storage
/// benchmark (`cargo bench`): see README, "Storage layout".
pub const DEFAULT_SPLIT_THRESHOLD: usize = 1024;

const BLOB_MARKER: &str = "\u{0}blob:";
const LITERAL_MARKER: &str = "\u{0}lit:";
const SESSION_FILE: &str = "session.json";
const MESSAGES_DIR: &str = "messages";
const CHILDREN_DIR: &str = "children";
const STRINGS_DIR: &str = "strings";
/// Formats 1 and 2: the messages' order when it differs from their tree order.
const ORDER_FILE: &str = "order";
/// Formats 1 and 2: what a message blob's name ends with.
const MESSAGE_SUFFIX: &str = ".json";

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
        old_cache: cache.filter(|c| c.threshold == threshold && c.rules == rules),
        new_cache: SaveCache::empty(threshold, rules),
        old_bucket: None,
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

/// Reads the session stored in `tree` (the root tree of a save) as it is stored, placeholders
/// and all. `commit` names the save in errors.
pub fn decode(store: &Store, id: &str, tree: ObjectId, commit: &str) -> Result<Session> {
    decode_expanded(store, id, tree, commit, None)
}

/// Reads the session stored in `tree`, expanding its path placeholders with `expander` when
/// given (see [`super::portable`]). Messages of a format 3 save come back as their JSON text,
/// parsed only when something asks for their value.
pub fn decode_expanded(
    store: &Store,
    id: &str,
    tree: ObjectId,
    commit: &str,
    expander: Option<&Expander>,
) -> Result<Session> {
    let mut decoder = Decoder {
        store,
        commit,
        expander,
        strings: HashMap::new(),
        scratch: Vec::new(),
    };
    decoder.session(id, tree)
}

/// Lists the messages a save's tree holds, as `(session id, message id)` pairs, the root's
/// (`root_id`) and every child session's, reading only the start of each message line. `seen`
/// remembers the ids of each bucket read: saves of one history share most buckets.
pub fn message_ids(
    store: &Store,
    root_id: &str,
    tree: ObjectId,
    seen: &mut HashMap<ObjectId, Arc<Vec<String>>>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut queue = vec![(root_id.to_owned(), tree)];
    while let Some((id, tree)) = queue.pop() {
        for entry in store.read_tree(tree)? {
            if entry.name == MESSAGES_DIR {
                for bucket in store.read_tree(entry.id)? {
                    if bucket.kind == EntryKind::Blob && !bucket.name.ends_with(BUCKET_SUFFIX) {
                        if let Some(message) = bucket.name.strip_suffix(MESSAGE_SUFFIX) {
                            out.push((id.clone(), message.to_owned()));
                        }
                        continue;
                    }
                    if let Entry::Vacant(slot) = seen.entry(bucket.id) {
                        let names: Vec<String> = match bucket.kind {
                            EntryKind::Tree => store
                                .read_tree(bucket.id)?
                                .iter()
                                .filter_map(|f| f.name.strip_suffix(MESSAGE_SUFFIX))
                                .map(str::to_owned)
                                .collect(),
                            EntryKind::Blob => bucket::lines(&store.read_blob(bucket.id)?)
                                .filter_map(bucket::line_id)
                                .map(str::to_owned)
                                .collect(),
                        };
                        slot.insert(Arc::new(names));
                    }
                    let names = &seen[&bucket.id];
                    out.extend(names.iter().map(|m| (id.clone(), m.clone())));
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
    old_cache: Option<&'a SaveCache>,
    new_cache: SaveCache,
    /// The last bucket of an earlier save read for a cache hit: its blob id, bytes and lines.
    old_bucket: Option<(ObjectId, Vec<u8>, Vec<std::ops::Range<usize>>)>,
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

        let mut ids = Vec::with_capacity(session.messages.len());
        for message in &session.messages {
            if !is_safe_component(&message.id) {
                return Err(SessionError::UnsafeId {
                    what: "message",
                    id: message.id.clone(),
                });
            }
            ids.push(message.id.as_str());
        }
        ids.sort_unstable();
        if let Some(dup) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(SessionError::DuplicateMessage {
                session: session.id.clone(),
                id: dup[0].to_owned(),
            });
        }
        // Buckets of MESSAGES_PER_BUCKET messages in conversation order: an appending save
        // rewrites the last bucket and a small top tree.
        let mut buckets = Vec::new();
        for (index, chunk) in session.messages.chunks(MESSAGES_PER_BUCKET).enumerate() {
            let blob = self.bucket_blob(chunk)?;
            buckets.push(tree_entry(
                &bucket::bucket_name(index),
                EntryKind::Blob,
                blob,
            ));
        }
        if !buckets.is_empty() {
            let tree = self.store.write_tree(&buckets)?;
            entries.push(tree_entry(MESSAGES_DIR, EntryKind::Tree, tree));
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

    /// Writes (or finds already written) the bucket blob of `chunk`.
    fn bucket_blob(&mut self, chunk: &[Message]) -> Result<ObjectId> {
        let hits: Vec<Option<CachedMessage>> = chunk
            .iter()
            .map(|m| {
                m.body
                    .fingerprint()
                    .and_then(|fp| self.cache_hit(fp, &m.id))
            })
            .collect();
        // Every message where an earlier save put it: that bucket is this one.
        let whole = hits.iter().enumerate().all(|(i, hit)| {
            hit.as_ref().is_some_and(|h| {
                h.line as usize == i
                    && h.lines as usize == chunk.len()
                    && Some(h.bucket) == hits[0].as_ref().map(|h| h.bucket)
            })
        });
        let mut remembered = Vec::with_capacity(chunk.len());
        if whole {
            let blob = hits[0].as_ref().expect("checked above").bucket;
            for (message, hit) in chunk.iter().zip(hits) {
                let hit = hit.expect("checked above").learned;
                self.account_hit(&hit);
                remembered.push((message.body.fingerprint(), hit));
            }
            self.remember(remembered, blob);
            return Ok(blob);
        }
        let mut out = Vec::with_capacity(64 * 1024);
        for (message, hit) in chunk.iter().zip(hits) {
            let fingerprint = message.body.fingerprint();
            if let Some(hit) = hit {
                if self.push_cached_line(&hit, &mut out)? {
                    self.account_hit(&hit.learned);
                    remembered.push((fingerprint, hit.learned));
                    continue;
                }
            }
            let fresh = self.message_line(message, &mut out)?;
            remembered.push((fingerprint, fresh));
        }
        let blob = self.store.write_blob(&out)?;
        self.remember(remembered, blob);
        Ok(blob)
    }

    /// Enters the messages of one bucket, at their lines, into the cache for the next save.
    fn remember(&mut self, messages: Vec<(Option<u128>, Learned)>, bucket: ObjectId) {
        let lines = messages.len() as u32;
        for (line, (fingerprint, learned)) in messages.into_iter().enumerate() {
            let Some(fingerprint) = fingerprint else {
                continue;
            };
            let entry = CachedMessage {
                bucket,
                line: line as u32,
                lines,
                learned,
            };
            self.new_cache.entries.insert(fingerprint, entry);
        }
    }

    /// Counts what a remembered message contributes: its strings, size and redactions.
    fn account_hit(&mut self, hit: &Learned) {
        for (id, simkey) in &hit.strings {
            self.use_string(*id, || simkey.clone());
        }
        self.json_bytes += hit.json_bytes.max(0) as u64;
        for (rule, count) in &hit.redactions {
            *self.redactions.entry(rule.clone()).or_default() += count;
        }
        self.reused += 1;
    }

    /// Appends the line an earlier save wrote for `hit`; false when that bucket does not hold
    /// it as remembered (then the message is encoded again).
    fn push_cached_line(&mut self, hit: &CachedMessage, out: &mut Vec<u8>) -> Result<bool> {
        if self.old_bucket.as_ref().map(|(id, _, _)| *id) != Some(hit.bucket) {
            let bytes = self.store.read_blob(hit.bucket)?;
            let lines = bucket::line_ranges(&bytes);
            self.old_bucket = Some((hit.bucket, bytes, lines));
        }
        let (_, bytes, lines) = self.old_bucket.as_ref().expect("read above");
        let line = lines.get(hit.line as usize).map(|r| &bytes[r.clone()]);
        match line.and_then(bucket::split_trusted) {
            Some((id, body)) if id == hit.learned.id => {
                bucket::push_line(out, id, body);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Appends the line of `message`, serialised (contracted and redacted) now; returns what the
    /// cache should remember of it (its bucket is filled in once written).
    fn message_line(&mut self, message: &Message, out: &mut Vec<u8>) -> Result<Learned> {
        let before = self.json_bytes as i64 + self.size_correction;
        self.recording = Some(Vec::new());
        let mut found = BTreeMap::new();
        let mut json = Vec::with_capacity(4096);
        let written = if self.redact.is_some() || self.contract.is_some() {
            let mut value = message.body.value().into_owned();
            self.transform(&mut value, &mut found);
            self.canonical_into(&value, &mut json)
        } else {
            self.canonical_into(&message.body.value(), &mut json)
        };
        let strings = self.recording.take().unwrap_or_default();
        written?;
        for (rule, count) in &found {
            *self.redactions.entry(rule.clone()).or_default() += count;
        }
        bucket::push_line(out, &message.id, &json);
        Ok(Learned {
            id: message.id.clone(),
            json_bytes: self.json_bytes as i64 + self.size_correction - before,
            strings,
            redactions: found.into_iter().collect(),
        })
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
        if hit.learned.id != id {
            return None;
        }
        // Freshened, not only checked: the save refers to them without writing them, and a gc
        // must not take them for old garbage before the ref reaches them.
        let present = self.store.freshen_object(hit.bucket)
            && hit
                .learned
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
        let mut buf = Vec::with_capacity(1024);
        self.canonical_into(value, &mut buf)?;
        self.store.write_blob(&buf).map_err(Into::into)
    }

    /// Writes `value` as canonical JSON with long strings split out, counting its size.
    fn canonical_into(&mut self, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        write_canonical(value, out, &mut |s, out| self.write_string(s, out))?;
        self.json_bytes += (out.len() - start) as u64;
        Ok(())
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
    expander: Option<&'a Expander>,
    strings: HashMap<ObjectId, String>,
    /// Where a message's text is restored before it is copied out.
    scratch: Vec<u8>,
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
                    EntryKind::Blob if entry.name.ends_with(BUCKET_SUFFIX) => {
                        self.bucket(id, &entry, &mut messages)?;
                    }
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

    /// Reads the messages of one bucket blob, each as its restored JSON text.
    fn bucket(&mut self, id: &str, entry: &TreeEntry, out: &mut Vec<Message>) -> Result<()> {
        let path = format!("{id}/{MESSAGES_DIR}/{}", entry.name);
        let bytes = self.store.read_blob(entry.id)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| self.corrupt(format!("{path} is not UTF-8")))?;
        for (n, line) in text.split('\n').filter(|l| !l.is_empty()).enumerate() {
            let (message_id, json) = bucket::split_validated(line)
                .map_err(|e| self.corrupt(format!("line {} of {path}: {e}", n + 1)))?;
            let mut restored = std::mem::take(&mut self.scratch);
            restored.clear();
            let expanding = self.expander.is_some();
            let commit = self.commit.to_owned();
            restore::restore_text(
                json,
                expanding,
                &mut restored,
                &mut |string, out| {
                    let string = self.restore_string(string, &path)?;
                    write_json_string(&string, out);
                    Ok(())
                },
                &|problem| SessionError::Corrupt {
                    commit: commit.clone(),
                    problem: format!("line {} of {path}: {problem}", n + 1),
                },
            )?;
            // Copied out at its exact size: a session is held once, not with growth slack.
            let text = std::str::from_utf8(&restored).expect("built from UTF-8 text");
            out.push(Message {
                id: message_id.to_owned(),
                body: Body::owned_raw(text.to_owned()),
            });
            self.scratch = restored;
        }
        // Strings repeat mostly within a message (an output kept twice, a file read twice):
        // remembering them for one bucket only keeps a long session held once, not twice.
        self.strings.clear();
        Ok(())
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
            Value::String(s) => {
                let needs = s.starts_with('\u{0}')
                    || (self.expander.is_some() && s.contains(super::portable::INTRODUCER));
                if needs {
                    *s = self.restore_string(std::mem::take(s), path)?;
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

    /// The text a stored string value stands for: a split-out string read back, a literal
    /// unmarked, and then its path placeholders expanded.
    fn restore_string(&mut self, s: String, path: &str) -> Result<String> {
        let text = if let Some(hex) = s.strip_prefix(BLOB_MARKER) {
            let id = ObjectId::from_hex(hex.as_bytes())
                .map_err(|_| self.corrupt(format!("{path} holds a bad string marker")))?;
            if !self.strings.contains_key(&id) {
                let bytes = self
                    .store
                    .read_blob(id)
                    .map_err(|e| self.corrupt(format!("{path} refers to string {id}: {e}")))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| self.corrupt(format!("string {id} is not UTF-8")))?;
                self.strings.insert(id, text);
            }
            self.strings[&id].clone()
        } else if let Some(rest) = s.strip_prefix(LITERAL_MARKER) {
            rest.to_owned()
        } else if s.starts_with('\u{0}') {
            return Err(self.corrupt(format!("{path} holds an unknown string marker")));
        } else {
            s
        };
        Ok(match self.expander.and_then(|e| e.expand_str(&text)) {
            Some(expanded) => expanded,
            None => text,
        })
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
        use crate::session::portable::MachinePaths;
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
        let stored = decode(&store, "ses_1", on_a.tree, "test").unwrap();
        assert_ne!(stored, a, "stored with placeholders");
        let expander = Expander::new(&paths_b);
        let back = decode_expanded(&store, "ses_1", on_a.tree, "test", Some(&expander)).unwrap();
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

    #[test]
    fn an_appending_save_rewrites_only_the_last_bucket() {
        let (_dir, store) = repo();
        let buckets = |tree: ObjectId| -> Vec<(String, ObjectId, usize)> {
            let messages = store
                .read_tree(tree)
                .unwrap()
                .into_iter()
                .find(|e| e.name == MESSAGES_DIR)
                .unwrap();
            store
                .read_tree(messages.id)
                .unwrap()
                .into_iter()
                .map(|e| {
                    let lines = bucket::lines(&store.read_blob(e.id).unwrap()).count();
                    (e.name, e.id, lines)
                })
                .collect()
        };
        let (first, cache) = encode_cached(&store, &session(130), 1024, None, None, None).unwrap();
        let (second, _) =
            encode_cached(&store, &session(140), 1024, Some(&cache), None, None).unwrap();
        let (before, after) = (buckets(first.tree), buckets(second.tree));
        let shape: Vec<(&str, usize)> = after.iter().map(|(n, _, l)| (n.as_str(), *l)).collect();
        assert_eq!(
            shape,
            [
                ("000000.jsonl", 64),
                ("000001.jsonl", 64),
                ("000002.jsonl", 12)
            ]
        );
        assert_eq!(
            before[..2],
            after[..2],
            "full buckets are kept as they were"
        );
        assert_ne!(before[2].1, after[2].1, "the last bucket grew");
        assert_eq!(second.reused, 130);
        let uncached = encode(&store, &session(140), 1024).unwrap();
        assert_eq!(
            second.tree, uncached.tree,
            "same tree with or without the cache"
        );
        assert_eq!(
            decode(&store, "ses_1", second.tree, "t").unwrap(),
            session(140)
        );
    }

    #[test]
    fn saves_of_the_earlier_layout_decode_with_their_order_and_placeholders() {
        use crate::session::portable::MachinePaths;
        let (_dir, store) = repo();
        let long = "x".repeat(2000);
        let string = store.write_blob(long.as_bytes()).unwrap();
        let blob =
            |value: serde_json::Value| store.write_blob(canonical_json(&value).as_slice()).unwrap();
        let a = blob(json!({"text": format!("{BLOB_MARKER}{string}")}));
        let b = blob(json!({"path": "{git-session:checkout}/src/main.rs"}));
        let inner = store
            .write_tree(&[
                tree_entry("a.json", EntryKind::Blob, a),
                tree_entry("b.json", EntryKind::Blob, b),
            ])
            .unwrap();
        let messages = store
            .write_tree(&[tree_entry("000000", EntryKind::Tree, inner)])
            .unwrap();
        let root = store
            .write_tree(&[
                tree_entry(MESSAGES_DIR, EntryKind::Tree, messages),
                tree_entry(
                    ORDER_FILE,
                    EntryKind::Blob,
                    store.write_blob(b"b\na\n").unwrap(),
                ),
                tree_entry(SESSION_FILE, EntryKind::Blob, blob(json!({"id": "s"}))),
            ])
            .unwrap();
        let here = MachinePaths::none().with("checkout", "/work/p");
        let expander = Expander::new(&here);
        let session = decode_expanded(&store, "s", root, "t", Some(&expander)).unwrap();
        let ids: Vec<&str> = session.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"], "in the order file's order");
        assert_eq!(
            *session.messages[0].body.value(),
            json!({"path": "/work/p/src/main.rs"})
        );
        assert_eq!(*session.messages[1].body.value(), json!({"text": long}));
        let mut seen = HashMap::new();
        let listed = message_ids(&store, "s", root, &mut seen).unwrap();
        assert_eq!(listed.len(), 2);
    }

    #[test]
    fn a_bucket_restores_markers_and_placeholders_as_text() {
        use crate::session::portable::MachinePaths;
        let (_dir, store) = repo();
        let long = format!("{{git-session:checkout}}/a.rs\n{}", "y".repeat(2000));
        let nul = "\u{0}starts with NUL";
        let message = json!({"k": [long, nul, "{git-session:checkout}"], "{git-session:key}": 1});
        let source = std::sync::Arc::new(message.to_string());
        let session = Session {
            id: "s".into(),
            info: json!({"dir": "{git-session:checkout}"}),
            messages: vec![Message {
                id: "m".into(),
                body: Body::raw(&source, &source),
            }],
            children: vec![],
        };
        let tree = encode(&store, &session, 1024).unwrap().tree;
        assert_eq!(
            decode(&store, "s", tree, "t").unwrap(),
            session,
            "stored form"
        );
        let expander = Expander::new(&MachinePaths::none().with("checkout", "/w \"q\""));
        let back = decode_expanded(&store, "s", tree, "t", Some(&expander)).unwrap();
        assert!(
            matches!(back.messages[0].body, Body::Raw { .. }),
            "kept as text"
        );
        assert_eq!(
            *back.messages[0].body.value(),
            json!({"k": [long.replace("{git-session:checkout}", "/w \"q\""), nul, "/w \"q\""],
                "{git-session:key}": 1}),
            "values expanded and JSON-escaped, keys kept"
        );
        assert_eq!(back.info, json!({"dir": "/w \"q\""}));
    }
}
