//! The save cache: what earlier saves learned about messages, kept in a file beside the refs.

use std::collections::HashMap;

use crate::store::ObjectId;

/// What earlier saves learned about messages, by fingerprint of the bytes they were read from:
/// the bucket blob and line that hold the message's canonical JSON, its size as JSON and the
/// strings split out of it, in order of use.
///
/// With it, a message that did not change since the last save costs a hash and a few existence
/// checks instead of a parse, a serialisation and a SHA-1, and a bucket of unchanged messages is
/// not written again. Every hit is checked against the object database; a cache that is missing,
/// stale, damaged or made with another split threshold is ignored, so it can only make a save
/// faster, never different (a test encodes with and without it and compares the trees).
#[derive(Debug, Default, Clone)]
pub struct SaveCache {
    pub(super) threshold: usize,
    pub(super) rules: u128,
    pub(super) entries: HashMap<u128, CachedMessage>,
}

/// One remembered message: where it is stored, and what encoding it learned.
#[derive(Debug, Clone)]
pub(super) struct CachedMessage {
    /// The bucket blob holding the message's line.
    pub bucket: ObjectId,
    /// The message's line in that bucket, from 0.
    pub line: u32,
    /// How many lines (messages) that bucket holds.
    pub lines: u32,
    /// What encoding the message learned.
    pub learned: Learned,
}

/// What encoding one message learned, wherever it is stored.
#[derive(Debug, Clone)]
pub(super) struct Learned {
    /// The message id.
    pub id: String,
    /// Size of the message as compact JSON with its strings inline.
    pub json_bytes: i64,
    /// Split-out strings the message uses, in order of use, with their similarity keys.
    pub strings: Vec<(ObjectId, String)>,
    /// Secrets replaced in the message, per rule.
    pub redactions: Vec<(String, usize)>,
}

const CACHE_HEADER: &str = "git-session-save-cache 4";

impl SaveCache {
    /// An empty cache for saves made with this split threshold and these rules.
    pub(super) fn empty(threshold: usize, rules: u128) -> Self {
        SaveCache {
            threshold,
            rules,
            entries: HashMap::new(),
        }
    }

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
            let bucket = ObjectId::from_hex(fields.next()?.as_bytes()).ok()?;
            let (at, of) = fields.next()?.split_once('/')?;
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
                    bucket,
                    line: at.parse().ok()?,
                    lines: of.parse().ok()?,
                    learned: Learned {
                        id,
                        json_bytes,
                        strings,
                        redactions,
                    },
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
        use std::fmt::Write as _;
        let mut body = format!("{CACHE_HEADER} {} {:032x}\n", self.threshold, self.rules);
        let mut fingerprints: Vec<&u128> = self.entries.keys().collect();
        fingerprints.sort();
        for fp in fingerprints {
            let c = &self.entries[fp];
            let e = &c.learned;
            let _ = write!(
                body,
                "{fp:032x} {} {} {}/{} {}",
                e.id, c.bucket, c.line, c.lines, e.json_bytes
            );
            for (id, key) in &e.strings {
                let _ = write!(body, " {id}:{key}");
            }
            for (rule, count) in &e.redactions {
                let _ = write!(body, " !{rule}={count}");
            }
            body.push('\n');
        }
        let checksum = xxhash_rust::xxh3::xxh3_128(body.trim_end().as_bytes());
        let _ = writeln!(body, "end {checksum:032x}");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomically(path, body.as_bytes())
    }

    /// The id of the message read from bytes with this fingerprint, if remembered: a reader
    /// can skip looking for the id in bytes it has seen before.
    pub fn message_id(&self, fingerprint: u128) -> Option<&str> {
        self.entries
            .get(&fingerprint)
            .map(|e| e.learned.id.as_str())
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
