//! Figures about saved sessions: how many sessions, saves, messages and parts, how big the
//! sessions are as exported, and which objects each session's ref keeps alive (so the caller can
//! ask git what they take on disk).

use std::collections::HashSet;

use super::trailers::SaveTrailers;
use super::{Result, SavedSession, SessionHistory, SessionTip};
use crate::store::layout::{Origin, RefName};
use crate::store::{EntryKind, ObjectId, Store};

/// What one saved session holds.
#[derive(Debug, Clone)]
pub struct SessionFigures {
    /// The session's ref.
    pub name: RefName,
    /// The title its newest save records.
    pub title: String,
    /// Time of the newest save, seconds since the Unix epoch.
    pub seconds: i64,
    /// Saves in its history: the distinct commits reachable from the ref.
    pub saves: u64,
    /// How many of those saves are merges.
    pub merges: u64,
    /// The sum of every save's `Bytes` trailer: what keeping each save as one export JSON file
    /// would take, uncompressed.
    pub raw_bytes_all_saves: u64,
    /// The `Bytes` trailer of the newest save: the session as compact JSON now.
    pub raw_bytes_newest: u64,
    /// Child sessions (at any depth) in the newest save.
    pub children: u64,
    /// Messages of the session itself in the newest save (as `list` and `log` count them).
    pub messages: u64,
    /// Messages of its child sessions (at any depth) in the newest save.
    pub child_messages: u64,
    /// Parts of those messages, as the agent counts them.
    pub parts: u64,
    /// Every object the ref keeps alive: commits, trees and blobs of all its saves.
    pub objects: Vec<ObjectId>,
}

/// Collects the figures of `sessions`. `count_parts` is the agent's rule for counting the parts
/// of one message.
pub fn collect(
    store: &Store,
    sessions: &[SavedSession],
    count_parts: &dyn Fn(&str, &serde_json::Value) -> u64,
) -> Result<Vec<SessionFigures>> {
    sessions
        .iter()
        .map(|saved| session_figures(store, saved, count_parts))
        .collect()
}

/// The figures of every local saved session, each thread reading one session at a time (only
/// their refs are listed first): what [`collect`] gives for [`SessionHistory::local_sessions`],
/// without holding every session's summary at once.
pub fn collect_local(
    store: &Store,
    count_parts: &(dyn Fn(&str, &serde_json::Value) -> u64 + Sync),
) -> Result<Vec<SessionFigures>> {
    let tips: Vec<SessionTip> = SessionHistory::new(store)
        .session_tips()?
        .into_iter()
        .filter(|tip| tip.name.origin == Origin::Local)
        .collect();
    let mut out = Vec::with_capacity(tips.len());
    store.for_each_in_order(
        &tips,
        &|store, tip| {
            let saved = SessionHistory::new(store).newest(tip)?.0;
            session_figures(store, &saved, count_parts)
        },
        &mut |figures| {
            out.push(figures);
            Ok(())
        },
    )?;
    Ok(out)
}

fn session_figures(
    store: &Store,
    saved: &SavedSession,
    count_parts: &dyn Fn(&str, &serde_json::Value) -> u64,
) -> Result<SessionFigures> {
    let mut figures = SessionFigures {
        name: saved.name.clone(),
        title: saved.trailers.title.clone(),
        seconds: saved.seconds,
        saves: 0,
        merges: 0,
        raw_bytes_all_saves: 0,
        raw_bytes_newest: saved.trailers.bytes,
        children: 0,
        messages: 0,
        child_messages: 0,
        parts: 0,
        objects: Vec::new(),
    };
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut commits = vec![saved.tip];
    let mut trees = Vec::new();
    while let Some(id) = commits.pop() {
        if !seen.insert(id) {
            continue;
        }
        figures.objects.push(id);
        let commit = store.read_commit(id)?;
        figures.saves += 1;
        if commit.parents.len() > 1 {
            figures.merges += 1;
        }
        figures.raw_bytes_all_saves += SaveTrailers::parse(&commit.message).bytes;
        commits.extend(commit.parents.iter().copied());
        trees.push(commit.tree);
    }
    while let Some(id) = trees.pop() {
        if !seen.insert(id) {
            continue;
        }
        figures.objects.push(id);
        for entry in store.read_tree(id)? {
            match entry.kind {
                EntryKind::Tree => trees.push(entry.id),
                EntryKind::Blob => {
                    if seen.insert(entry.id) {
                        figures.objects.push(entry.id);
                    }
                }
            }
        }
    }
    // The newest save as the codec reads it back, whatever its tree layout.
    let history = SessionHistory::new(store);
    let newest = history.read(saved, &history.find_save(saved, None)?)?;
    figures.children = newest.descendant_count() as u64;
    figures.messages = newest.messages.len() as u64;
    figures.child_messages = newest
        .walk()
        .iter()
        .skip(1)
        .map(|child| child.messages.len() as u64)
        .sum();
    for session in newest.walk() {
        for message in &session.messages {
            figures.parts += count_parts(&saved.name.namespace, &message.body.value());
        }
    }
    Ok(figures)
}

/// The store-wide totals of a set of session figures, given each object's sizes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Distinct objects kept alive by the sessions refs.
    pub objects: u64,
    /// Their content bytes (uncompressed), each distinct object counted once.
    pub object_bytes: u64,
    /// Their bytes on disk (compressed, deltified in packs).
    pub stored_bytes: u64,
}

/// Sums the sizes of the distinct objects of `figures`; `sizes` answers `(content, disk)` for
/// each object in the order given.
pub fn totals<E>(
    figures: &[SessionFigures],
    sizes: impl FnOnce(&[ObjectId]) -> std::result::Result<Vec<(u64, u64)>, E>,
) -> std::result::Result<(Totals, Vec<u64>), E> {
    let mut distinct: Vec<ObjectId> = figures
        .iter()
        .flat_map(|f| f.objects.iter().copied())
        .collect();
    distinct.sort();
    distinct.dedup();
    let answered = sizes(&distinct)?;
    let mut totals = Totals {
        objects: distinct.len() as u64,
        ..Totals::default()
    };
    for (content, disk) in &answered {
        totals.object_bytes += content;
        totals.stored_bytes += disk;
    }
    // Per session: the disk bytes of every object its ref keeps alive (shared ones included).
    let per_session = figures
        .iter()
        .map(|f| {
            f.objects
                .iter()
                .filter_map(|id| distinct.binary_search(id).ok())
                .map(|i| answered.get(i).map_or(0, |s| s.1))
                .sum()
        })
        .collect();
    Ok((totals, per_session))
}

/// `numerator / denominator`, or `None` when the denominator is zero.
pub fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SaveMeta, SessionHistory};
    use serde_json::json;

    fn parts(_agent: &str, message: &serde_json::Value) -> u64 {
        message["parts"].as_array().map_or(0, |p| p.len() as u64)
    }

    #[test]
    fn figures_count_every_save_message_part_and_child() {
        let (_dir, store) = Store::temporary();
        let message = |id: &str, n: usize| crate::session::Message {
            id: id.into(),
            body: json!({"info": {"id": id}, "parts": vec![json!({"t": "x".repeat(2000)}); n]})
                .into(),
        };
        let child = crate::session::Session {
            id: "ses_c".into(),
            info: json!({"info": {"id": "ses_c"}}),
            messages: vec![message("msg_c1", 2)],
            children: vec![],
        };
        let mut root = crate::session::Session {
            id: "ses_r".into(),
            info: json!({"info": {"id": "ses_r"}}),
            messages: vec![message("msg_1", 1)],
            children: vec![child],
        };
        let history = SessionHistory::new(&store);
        let meta = SaveMeta {
            agent: "opencode".into(),
            agent_version: None,
            title: "T".into(),
            reason: "test".into(),
            split_threshold: 1024,
            skip_if_stored: false,
            paths: crate::session::portable::MachinePaths::none(),
        };
        history.save(&root, &meta, None).unwrap();
        root.messages.push(message("msg_2", 3));
        history.save(&root, &meta, None).unwrap();
        let sessions = history.local_sessions().unwrap();
        let figures = collect(&store, &sessions, &parts).unwrap();
        let streamed = collect_local(&store, &parts).unwrap();
        assert_eq!(
            format!("{streamed:?}"),
            format!("{figures:?}"),
            "one at a time, the same figures"
        );
        let f = &figures[0];
        assert_eq!(
            (
                f.saves,
                f.merges,
                f.children,
                f.messages,
                f.child_messages,
                f.parts
            ),
            (2, 0, 1, 2, 1, 6)
        );
        let log = history.log(&sessions[0]).unwrap();
        assert_eq!(
            f.raw_bytes_all_saves,
            log.iter().map(|r| r.trailers.bytes).sum::<u64>()
        );
        assert_eq!(f.raw_bytes_newest, log[0].trailers.bytes);
        let unique: HashSet<_> = f.objects.iter().collect();
        assert_eq!(unique.len(), f.objects.len(), "each object listed once");
        let (totals, per_session) = totals(&figures, |ids| {
            Ok::<_, ()>(
                ids.iter()
                    .map(|id| (store.object_size(*id).unwrap(), 1))
                    .collect(),
            )
        })
        .unwrap();
        assert_eq!(totals.objects, f.objects.len() as u64);
        assert_eq!(per_session, vec![f.objects.len() as u64]);
        assert_eq!(ratio(1, 0), None);
    }
}
