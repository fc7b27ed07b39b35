//! Keeping what arrived by merge when the local copy of a session is saved.
//!
//! A save is a snapshot of the agent's local copy. After a pull merged a teammate's turn into the
//! session's ref, the local copy does not have that turn (until the session is loaded again), so
//! a plain snapshot would drop it from the newest save. Instead, the messages the local copy
//! had when it was last saved or loaded are remembered ([`LocalCopy`]); a save keeps every
//! message of the newest save that the local copy lacks, except those it had and has since
//! removed itself (an agent's revert).

use std::collections::HashSet;
use std::path::Path;

use super::merge::MergeRules;
use super::model::Session;
use crate::store::ObjectId;

/// What the local copy of a session held at its last save or load: the save, and every
/// `(session id, message id)` of it and its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalCopy {
    /// The save the local copy was saved as or loaded from.
    pub commit: Option<ObjectId>,
    /// Whether the local copy holds every message of that save (not so when the save kept
    /// merged messages the local copy lacks).
    pub holds_all: bool,
    /// The messages it held, by session and message id.
    pub messages: HashSet<(String, String)>,
}

impl LocalCopy {
    /// The record of a local copy that holds `session`, saved as or loaded from `commit`;
    /// `holds_all` when `commit` has no message the copy lacks.
    pub fn of(session: &Session, commit: ObjectId, holds_all: bool) -> Self {
        let mut messages = HashSet::new();
        for s in session.walk() {
            for m in &s.messages {
                messages.insert((s.id.clone(), m.id.clone()));
            }
        }
        LocalCopy {
            commit: Some(commit),
            holds_all,
            messages,
        }
    }

    /// Whether the save `tip` may hold messages the local copy lacks (then it must be read).
    pub fn may_lack_some_of(&self, tip: ObjectId) -> bool {
        self.commit != Some(tip) || !self.holds_all
    }

    /// Reads a record written by [`LocalCopy::store`]; `None` when there is none (or it is
    /// damaged: then nothing is known to have been removed, and nothing is dropped).
    pub fn load(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        let first = lines.next()?;
        let (hex, holds_all) = match first.strip_suffix(" partial") {
            Some(hex) => (hex, false),
            None => (first, true),
        };
        let commit = ObjectId::from_hex(hex.as_bytes()).ok()?;
        let mut messages = HashSet::new();
        for line in lines {
            let (session, message) = line.split_once('\t')?;
            messages.insert((session.to_owned(), message.to_owned()));
        }
        Some(LocalCopy {
            commit: Some(commit),
            holds_all,
            messages,
        })
    }

    /// Writes the record (through a temporary file, so a crash leaves the old one).
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        let Some(commit) = self.commit else {
            return Ok(());
        };
        let mut lines: Vec<String> = self
            .messages
            .iter()
            .map(|(s, m)| format!("{s}\t{m}"))
            .collect();
        lines.sort();
        let mut text = format!("{commit}{}\n", if self.holds_all { "" } else { " partial" });
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomically(path, text.as_bytes())
    }

    fn removed(&self, session: &str, message: &str) -> bool {
        self.messages
            .contains(&(session.to_owned(), message.to_owned()))
    }
}

/// Adds to `local` (and to each of its children that `tip` also holds) the messages of `tip`
/// it lacks, except those `copy` says the local copy had: those it removed itself. Each added
/// message goes before the first local message that comes after it in conversation order, so
/// the local order is kept. Returns how many messages were added.
pub fn keep_merged(
    local: &mut Session,
    tip: &Session,
    copy: Option<&LocalCopy>,
    rules: &dyn MergeRules,
) -> usize {
    let mut added = 0;
    let have: HashSet<&str> = local.messages.iter().map(|m| m.id.as_str()).collect();
    let missing: Vec<_> = tip
        .messages
        .iter()
        .filter(|m| !have.contains(m.id.as_str()))
        .filter(|m| !copy.is_some_and(|c| c.removed(&tip.id, &m.id)))
        .cloned()
        .collect();
    for message in missing {
        let key = (rules.message_order(&message), message.id.clone());
        let at = local
            .messages
            .iter()
            .position(|m| (rules.message_order(m), m.id.clone()) > key)
            .unwrap_or(local.messages.len());
        local.messages.insert(at, message);
        added += 1;
    }
    for child in &mut local.children {
        if let Some(theirs) = tip.children.iter().find(|c| c.id == child.id) {
            added += keep_merged(child, theirs, copy, rules);
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::{json, Value};
    use std::cmp::Ordering;

    struct ByTime;
    impl MergeRules for ByTime {
        fn compare_info(&self, _a: &Value, _b: &Value) -> Ordering {
            Ordering::Equal
        }
        fn message_order(&self, m: &Message) -> i64 {
            m.body.value()["t"].as_i64().unwrap_or(0)
        }
        fn merge_message(&self, _id: &str, a: &Value, _b: &Value, _c: &mut Vec<String>) -> Value {
            a.clone()
        }
    }

    fn session(ids: &[(&str, i64)]) -> Session {
        Session {
            id: "s".into(),
            info: json!({}),
            messages: ids
                .iter()
                .map(|(id, t)| Message {
                    id: (*id).into(),
                    body: json!({"t": t}).into(),
                })
                .collect(),
            children: vec![],
        }
    }

    fn ids(s: &Session) -> Vec<&str> {
        s.messages.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn merged_messages_are_kept_and_local_removals_stay_removed() {
        // The local copy had a, b, c at its last save; it reverted c and added d. The newest
        // save meanwhile got the teammate's t (merged in).
        let base = session(&[("a", 1), ("b", 2), ("c", 3)]);
        let copy = LocalCopy::of(&base, commit(), true);
        let tip = session(&[("a", 1), ("b", 2), ("c", 3), ("t", 4)]);
        let mut local = session(&[("a", 1), ("b", 2), ("d", 5)]);
        let added = keep_merged(&mut local, &tip, Some(&copy), &ByTime);
        assert_eq!(added, 1);
        assert_eq!(ids(&local), ["a", "b", "t", "d"]);
        // Without a record nothing is known to be removed: everything is kept.
        let mut local = session(&[("a", 1), ("b", 2), ("d", 5)]);
        assert_eq!(keep_merged(&mut local, &tip, None, &ByTime), 2);
        assert_eq!(ids(&local), ["a", "b", "c", "t", "d"]);
    }

    #[test]
    fn the_record_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/s");
        let copy = LocalCopy::of(&session(&[("a", 1), ("b", 2)]), commit(), true);
        copy.store(&path).unwrap();
        assert_eq!(LocalCopy::load(&path), Some(copy));
        let partial = LocalCopy::of(&session(&[("a", 1)]), commit(), false);
        partial.store(&path).unwrap();
        assert_eq!(LocalCopy::load(&path), Some(partial));
        std::fs::write(&path, "not an id\n").unwrap();
        assert_eq!(LocalCopy::load(&path), None);
    }

    fn commit() -> ObjectId {
        ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap()
    }
}
