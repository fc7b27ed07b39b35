//! Deletion records ("tombstones"): what `delete --remote` leaves behind so that a deletion
//! reaches every clone instead of being undone by the next teammate who pushes.
//!
//! A tombstone is a commit with the empty tree on `refs/session-deletions/<agent>/<id>`. Its
//! committer is who deleted the session and when; its message names the deleted save and why.
//! It never points at the session's saves (the deleted tip is only named in the message), so it
//! keeps none of the deleted objects alive and `git gc` can reclaim them. A later deletion of the
//! same session is a child of the earlier record, so the ref only moves forward and is pushed
//! without force. Records fetched from a remote live at
//! `refs/remotes/<remote>/session-deletions/<agent>/<id>`.
//!
//! What the records mean is decided here too: a local copy is removed by a record unless it holds
//! saves made after the deletion that the deleted save did not include ([`covers`]), and a removed
//! copy keeps its tip on `refs/session-backups/<agent>/<id>/<unix-time>` ([`remove_local_copy`]),
//! outside `refs/sessions/`, so nothing is lost and nothing is pushed.

use super::history::SavedSession;
use super::scrub::backup_ref;
use super::Result;
use crate::store::layout::{
    self, Origin, RefName, DELETIONS_PREFIX, DELETIONS_TRACKING_DIR, REMOTES_PREFIX,
};
use crate::store::{ObjectId, RefUpdate, Store, StoreError};

/// The format of a deletion record's message this build writes.
const FORMAT: u32 = 1;

/// One deletion record, as its commit describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// Where the record lives: made or kept here, or fetched from a remote.
    pub origin: Origin,
    /// The deleted session's agent (its ref namespace).
    pub namespace: String,
    /// The deleted session's id.
    pub id: String,
    /// The record's commit.
    pub commit: ObjectId,
    /// Who deleted it (the committer's name).
    pub by: String,
    /// Their email.
    pub email: String,
    /// When, seconds since the Unix epoch (the committer time).
    pub seconds: i64,
    /// The session's newest save when it was deleted, when that was known.
    pub deleted_tip: Option<ObjectId>,
    /// The session's title then (as saved, so already redacted); may be empty.
    pub title: String,
    /// Why, as the deleter said; may be empty.
    pub reason: String,
}

impl Tombstone {
    /// The record's own full ref name.
    pub fn ref_name(&self) -> String {
        ref_name(&self.origin, &self.namespace, &self.id)
    }

    /// The local sessions ref of the deleted session.
    pub fn session(&self) -> RefName {
        RefName::local(&self.namespace, &self.id)
    }
}

/// What a new deletion record says.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The session's agent (its ref namespace).
    pub namespace: &'a str,
    /// The session's id.
    pub id: &'a str,
    /// The newest save being deleted, when known.
    pub deleted_tip: Option<ObjectId>,
    /// The session's title (from its save, so already redacted); may be empty.
    pub title: &'a str,
    /// Why it is deleted; may be empty.
    pub reason: &'a str,
}

/// Returns the full name of a deletion record: `refs/session-deletions/<namespace>/<id>` here,
/// `refs/remotes/<remote>/session-deletions/<namespace>/<id>` as fetched from a remote.
pub fn ref_name(origin: &Origin, namespace: &str, id: &str) -> String {
    layout::DELETIONS.full(origin, namespace, id)
}

/// Parses a deletion record's full ref name into (origin, namespace, id).
pub fn parse_ref_name(full: &str) -> Option<(Origin, String, String)> {
    layout::DELETIONS.parse(full)
}

/// Lists every deletion record, local and fetched from remotes, newest first.
pub fn list(store: &Store) -> Result<Vec<Tombstone>> {
    let mut refs = store.list_refs(DELETIONS_PREFIX)?;
    let tracking = format!("/{DELETIONS_TRACKING_DIR}/");
    refs.extend(
        store
            .list_refs(REMOTES_PREFIX)?
            .into_iter()
            .filter(|(name, _)| name.contains(&tracking)),
    );
    let mut out = Vec::with_capacity(refs.len());
    for (full, commit) in refs {
        if let Some(tombstone) = decode(store, &full, commit)? {
            out.push(tombstone);
        }
    }
    out.sort_by(|a, b| {
        b.seconds
            .cmp(&a.seconds)
            .then_with(|| a.ref_name().cmp(&b.ref_name()))
    });
    Ok(out)
}

/// Reads the deletion record at `full`, or `None` when there is none.
pub fn read(store: &Store, full: &str) -> Result<Option<Tombstone>> {
    match store.find_ref(full)? {
        Some(commit) => decode(store, full, commit),
        None => Ok(None),
    }
}

fn decode(store: &Store, full: &str, commit: ObjectId) -> Result<Option<Tombstone>> {
    let Some((origin, namespace, id)) = parse_ref_name(full) else {
        return Ok(None);
    };
    let info = store.read_commit(commit)?;
    let trailer = |key: &str| trailer(&info.message, key).unwrap_or_default();
    Ok(Some(Tombstone {
        origin,
        namespace,
        id,
        commit,
        by: info.committer_name,
        email: info.committer_email,
        seconds: info.seconds,
        deleted_tip: ObjectId::from_hex(trailer("Deleted-Tip").as_bytes()).ok(),
        title: trailer("Title"),
        reason: trailer("Reason"),
    }))
}

/// The value of `key` in the message's last paragraph (`Key: value` lines).
fn trailer(message: &str, key: &str) -> Option<String> {
    let block = message.trim_end().rsplit("\n\n").next()?;
    block.lines().find_map(|line| {
        let (k, v) = line.split_once(": ")?;
        (k == key).then(|| v.trim().to_owned())
    })
}

/// Writes a deletion record's commit as the configured committer (who deletes, now), on
/// `parent` (the record it follows, so the ref moves forward). Moves no ref.
pub fn write(store: &Store, record: &Record<'_>, parent: Option<ObjectId>) -> Result<ObjectId> {
    let title = one_line(record.title);
    let reason = one_line(record.reason);
    let subject = format!(
        "Delete {}",
        if title.is_empty() { record.id } else { &title }
    );
    let body = match record.deleted_tip {
        Some(tip) => format!(
            "Deleted session {} ({}) at its save {tip}.",
            record.id, record.namespace
        ),
        None => format!(
            "Deleted session {} ({}); its newest save was not known here.",
            record.id, record.namespace
        ),
    };
    let mut message = format!("{}\n\n{body}\n\n", truncate(&subject, 72));
    message.push_str(&format!("Session: {}\n", record.id));
    message.push_str(&format!("Agent: {}\n", record.namespace));
    if !title.is_empty() {
        message.push_str(&format!("Title: {title}\n"));
    }
    if let Some(tip) = record.deleted_tip {
        message.push_str(&format!("Deleted-Tip: {tip}\n"));
    }
    if !reason.is_empty() {
        message.push_str(&format!("Reason: {reason}\n"));
    }
    message.push_str(&format!("Deletion-Format: {FORMAT}\n"));
    let empty_tree = store.write_tree(&[])?;
    let parents: Vec<ObjectId> = parent.into_iter().collect();
    Ok(store.write_commit(empty_tree, &parents, &message)?)
}

/// Moves the ref `full` to `new` (or deletes it with `None`) by compare-and-swap from the value
/// it holds now; does nothing when it already holds `new`.
pub fn set_ref(store: &Store, full: &str, new: Option<ObjectId>, log_message: &str) -> Result<()> {
    let current = store.find_ref(full)?;
    if current == new {
        return Ok(());
    }
    store.update_ref(&RefUpdate {
        name: full,
        expected: current,
        new,
        log_message,
    })?;
    Ok(())
}

/// Whether the deletion `tombstone` covers the local copy `saved`: true unless the copy was
/// saved after the deletion (a later commit time) and holds saves the deleted one did not
/// include. A copy whose tip is the deleted save or one of its ancestors is always covered, so a
/// clock that runs ahead cannot save a copy the deleter already saw.
pub fn covers(store: &Store, tombstone: &Tombstone, saved: &SavedSession) -> Result<bool> {
    if let Some(deleted) = tombstone.deleted_tip {
        if store.has_object(deleted) && store.is_ancestor(saved.tip, deleted)? {
            return Ok(true);
        }
    }
    Ok(saved.seconds <= tombstone.seconds)
}

/// What removing a local copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// The local ref is gone; its tip stays on `backup`.
    Deleted {
        /// The tip the local ref held.
        tip: ObjectId,
        /// The backup ref holding it.
        backup: String,
    },
    /// A save moved the local ref meanwhile; it was left as it is (and no backup is left).
    Moved,
}

/// Removes the local sessions ref of `saved` because of `tombstone`, first keeping its tip on a
/// new `refs/session-backups/<agent>/<id>/<unix-time>` ref. The ref is deleted only if it still
/// holds the tip that was read (compare-and-swap).
pub fn remove_local_copy(
    store: &Store,
    saved: &SavedSession,
    tombstone: &Tombstone,
) -> Result<Removed> {
    let backup = backup_ref(store, &saved.name.namespace, &saved.name.id)?;
    let why = format!(
        "git-session: deleted on {} by {} <{}>",
        match &tombstone.origin {
            Origin::Local => "this clone",
            Origin::Remote(remote) => remote.as_str(),
        },
        tombstone.by,
        tombstone.email
    );
    store.update_ref(&RefUpdate {
        name: &backup,
        expected: None,
        new: Some(saved.tip),
        log_message: &why,
    })?;
    match store.update_ref(&RefUpdate {
        name: &saved.name.full(),
        expected: Some(saved.tip),
        new: None,
        log_message: &why,
    }) {
        Ok(()) => Ok(Removed::Deleted {
            tip: saved.tip,
            backup,
        }),
        Err(StoreError::RefMoved { .. }) => {
            store.update_ref(&RefUpdate {
                name: &backup,
                expected: Some(saved.tip),
                new: None,
                log_message: "git-session: the session moved; no backup needed",
            })?;
            Ok(Removed::Moved)
        }
        Err(e) => Err(e.into()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SaveMeta, Session, SessionHistory};
    use serde_json::json;

    fn save(history: &SessionHistory<'_>, id: &str, n: usize) -> SavedSession {
        let session = Session {
            id: id.into(),
            info: json!({"info": {"id": id}}),
            messages: (0..n)
                .map(|i| crate::session::Message {
                    id: format!("msg_{i:03}"),
                    body: json!({"info": {"id": i}, "parts": []}).into(),
                })
                .collect(),
            children: vec![],
        };
        let meta = SaveMeta {
            agent: "agent-a".into(),
            agent_version: None,
            title: "A title".into(),
            reason: "test".into(),
            split_threshold: 1024,
            skip_if_stored: false,
            paths: crate::session::portable::MachinePaths::none(),
        };
        history.save(&session, &meta, None).unwrap();
        history
            .local_sessions()
            .unwrap()
            .into_iter()
            .find(|s| s.name.id == id)
            .unwrap()
    }

    #[test]
    fn ref_names_round_trip_and_other_refs_are_not_records() {
        let local = ref_name(&Origin::Local, "agent-a", "ses_1");
        assert_eq!(local, "refs/session-deletions/agent-a/ses_1");
        assert_eq!(
            parse_ref_name(&local),
            Some((Origin::Local, "agent-a".into(), "ses_1".into()))
        );
        let fetched = ref_name(&Origin::Remote("origin".into()), "agent-a", "ses_1");
        assert_eq!(
            fetched,
            "refs/remotes/origin/session-deletions/agent-a/ses_1"
        );
        assert_eq!(
            parse_ref_name(&fetched),
            Some((
                Origin::Remote("origin".into()),
                "agent-a".into(),
                "ses_1".into()
            ))
        );
        for other in [
            "refs/sessions/agent-a/ses_1",
            "refs/remotes/origin/sessions/agent-a/ses_1",
            "refs/session-deletions/agent-a",
            "refs/session-deletions/agent-a/a/b",
        ] {
            assert_eq!(parse_ref_name(other), None, "{other}");
        }
    }

    #[test]
    fn a_record_reads_back_who_when_what_and_why_and_keeps_no_save_alive() {
        let (_dir, store) = Store::temporary();
        let history = SessionHistory::new(&store);
        let saved = save(&history, "ses_t", 2);
        let record = Record {
            namespace: "agent-a",
            id: "ses_t",
            deleted_tip: Some(saved.tip),
            title: "A title",
            reason: "holds a customer's data",
        };
        let commit = write(&store, &record, None).unwrap();
        let name = ref_name(&Origin::Local, "agent-a", "ses_t");
        set_ref(&store, &name, Some(commit), "test").unwrap();
        let read = read(&store, &name).unwrap().expect("the record");
        let who = store.committer();
        assert_eq!(
            (read.by.as_str(), read.email.as_str()),
            (who.name.as_str(), who.email.as_str())
        );
        assert_eq!(read.deleted_tip, Some(saved.tip));
        assert_eq!(read.title, "A title");
        assert_eq!(read.reason, "holds a customer's data");
        let info = store.read_commit(commit).unwrap();
        assert!(info.parents.is_empty(), "the deleted save is not a parent");
        assert!(store.read_tree(info.tree).unwrap().is_empty(), "empty tree");
        assert_eq!(list(&store).unwrap(), vec![read.clone()]);

        let again = write(&store, &record, Some(commit)).unwrap();
        assert_eq!(
            store.read_commit(again).unwrap().parents,
            vec![commit],
            "a later record follows the earlier one"
        );
    }

    #[test]
    fn a_record_covers_the_deleted_save_and_older_ones_but_not_a_later_save() {
        let (_dir, store) = Store::temporary();
        let history = SessionHistory::new(&store);
        let first = save(&history, "ses_c", 1);
        let deleted = save(&history, "ses_c", 2);
        let record = |seconds: i64, deleted_tip: Option<ObjectId>| Tombstone {
            origin: Origin::Remote("origin".into()),
            namespace: "agent-a".into(),
            id: "ses_c".into(),
            commit: deleted.tip,
            by: "A".into(),
            email: "a@example.com".into(),
            seconds,
            deleted_tip,
            title: String::new(),
            reason: String::new(),
        };
        let before_the_saves = record(deleted.seconds - 100, Some(deleted.tip));
        assert!(
            covers(&store, &before_the_saves, &first).unwrap(),
            "an ancestor of the deleted save is covered whatever the clocks say"
        );
        assert!(covers(&store, &before_the_saves, &deleted).unwrap());
        let later = save(&history, "ses_c", 3);
        let at_the_deletion = record(later.seconds - 1, Some(deleted.tip));
        assert!(
            !covers(&store, &at_the_deletion, &later).unwrap(),
            "a save after the deletion that it did not include is not covered"
        );
        let unknown_tip = record(later.seconds, None);
        assert!(
            covers(&store, &unknown_tip, &later).unwrap(),
            "saved at or before the deletion time: covered"
        );
    }

    #[test]
    fn removing_a_local_copy_keeps_its_tip_on_a_backup_ref() {
        let (_dir, store) = Store::temporary();
        let history = SessionHistory::new(&store);
        let saved = save(&history, "ses_r", 2);
        let tombstone = Tombstone {
            origin: Origin::Remote("origin".into()),
            namespace: "agent-a".into(),
            id: "ses_r".into(),
            commit: saved.tip,
            by: "A".into(),
            email: "a@example.com".into(),
            seconds: saved.seconds,
            deleted_tip: Some(saved.tip),
            title: String::new(),
            reason: String::new(),
        };
        let Removed::Deleted { tip, backup } =
            remove_local_copy(&store, &saved, &tombstone).unwrap()
        else {
            panic!("the copy is deleted");
        };
        assert_eq!(tip, saved.tip);
        assert!(backup.starts_with("refs/session-backups/agent-a/ses_r/"));
        assert_eq!(store.find_ref(&backup).unwrap(), Some(saved.tip));
        assert_eq!(store.find_ref(&saved.name.full()).unwrap(), None);

        // A copy that moved meanwhile is left alone, without a backup.
        let saved = save(&history, "ses_r", 3);
        let stale = SavedSession {
            tip,
            ..saved.clone()
        };
        assert_eq!(
            remove_local_copy(&store, &stale, &tombstone).unwrap(),
            Removed::Moved
        );
        assert_eq!(store.find_ref(&saved.name.full()).unwrap(), Some(saved.tip));
        let backups = store.list_refs("refs/session-backups/").unwrap();
        assert_eq!(backups.len(), 1, "only the first backup: {backups:?}");
    }
}
