//! Finding secrets in saves already stored, detect-only: consecutive saves of a session share
//! most of their messages, so each distinct value is searched once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::codec::canonical_json;
use super::model::Session;
use super::redact::Redactor;

/// What one save holds: secrets per rule, and where (`session`, a message id, `commit message`,
/// a child session's id followed by `/` and the place inside it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SaveFindings {
    /// Secrets found, per rule.
    pub rules: BTreeMap<String, usize>,
    /// Where they were found.
    pub places: BTreeSet<String>,
}

impl SaveFindings {
    /// Number of secrets found.
    pub fn total(&self) -> usize {
        self.rules.values().sum()
    }

    fn add(&mut self, place: String, found: &BTreeMap<String, usize>) {
        if found.is_empty() {
            return;
        }
        for (rule, n) in found {
            *self.rules.entry(rule.clone()).or_default() += n;
        }
        self.places.insert(place);
    }
}

/// Searches saves, remembering what each distinct JSON value held: consecutive saves of a
/// session share most of their messages, which are then searched once.
pub struct Scanner<'r> {
    redactor: &'r Redactor,
    seen: HashMap<u128, BTreeMap<String, usize>>,
}

impl<'r> Scanner<'r> {
    /// A scanner with the given rules.
    pub fn new(redactor: &'r Redactor) -> Self {
        Scanner {
            redactor,
            seen: HashMap::new(),
        }
    }

    fn value(&mut self, value: &Value) -> BTreeMap<String, usize> {
        let key = xxhash_rust::xxh3::xxh3_128(&canonical_json(value));
        if let Some(found) = self.seen.get(&key) {
            return found.clone();
        }
        let mut found = BTreeMap::new();
        self.redactor.scan_value(value, &mut found);
        self.seen.insert(key, found.clone());
        found
    }

    /// Searches a decoded save (the session, its children, every message) and its commit
    /// message.
    pub fn session(&mut self, session: &Session, commit_message: &str) -> SaveFindings {
        let mut out = SaveFindings::default();
        self.walk(session, "", &mut out);
        let mut found = BTreeMap::new();
        for f in self.redactor.find(commit_message) {
            *found.entry(f.rule.to_owned()).or_default() += 1;
        }
        out.add("commit message".to_owned(), &found);
        out
    }

    fn walk(&mut self, session: &Session, prefix: &str, out: &mut SaveFindings) {
        let found = self.value(&session.info);
        out.add(format!("{prefix}session"), &found);
        for message in &session.messages {
            let found = self.value(&message.body.value());
            out.add(format!("{prefix}{}", message.id), &found);
        }
        for child in &session.children {
            self.walk(child, &format!("{prefix}{}/", child.id), out);
        }
    }
}
