//! Restoring a saved session into the local OpenCode: re-homed paths, an exact restore by
//! delete-then-import, or a fork under new ids.
//!
//! OpenCode's `import` keeps ids but never refreshes rows that exist (`ON CONFLICT DO NOTHING`
//! for messages and parts), so importing over a local copy would silently keep stale rows. An
//! exact restore therefore deletes the local copy first (`session delete` takes the children
//! with it), then imports the parent and each child, parents first.
//!
//! Message and part ids are global primary keys: a fork must give them new ids as well, or the
//! import would drop them as already present. The new ids keep the relative order of the old
//! ones, because OpenCode orders messages and parts by id.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::cli::{OpenCode, OpenCodeError, Result};
use super::export;
use crate::session::model::Body;
use crate::session::Session;

/// The base62 alphabet of OpenCode's ids, in ASCII order (so longer-is-later never matters:
/// fixed-width base62 strings sort like their numbers).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How many trailing characters of a message or part id a fork replaces with a counter.
const COUNTER_WIDTH: usize = 6;

/// How many trailing random characters a session id has.
const SESSION_RANDOM_WIDTH: usize = 14;

/// The checkout root the session was saved from: the `path.root` its messages record, else its
/// `directory` without its worktree-relative `path`.
pub fn saved_root(session: &Session) -> Option<String> {
    for s in session.walk() {
        for message in &s.messages {
            let value = message.body.value();
            if let Some(root) = value
                .get("info")
                .and_then(|i| i.get("path"))
                .and_then(|p| p.get("root"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                return Some(root.to_owned());
            }
        }
    }
    let info = session.info.get("info")?;
    let directory = info.get("directory")?.as_str()?;
    let path = info.get("path").and_then(Value::as_str).unwrap_or("");
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Some(directory.to_owned());
    }
    directory
        .strip_suffix(path)
        .map(|d| d.trim_end_matches('/').to_owned())
        .filter(|d| !d.is_empty())
}

/// Rewrites paths that start with `from` (the saver's checkout root) to start with `to`: the
/// session `directory` and the messages' `path.cwd` and `path.root`, in the session and all its
/// children. Returns how many values changed.
pub fn rehome(session: &mut Session, from: &str, to: &str) -> usize {
    if from == to || from.is_empty() {
        return 0;
    }
    let mut changed = 0;
    if let Some(dir) = session
        .info
        .get_mut("info")
        .and_then(|i| i.get_mut("directory"))
    {
        changed += usize::from(rehome_value(dir, from, to));
    }
    for message in &mut session.messages {
        // Only `info` is parsed: the parts, where a long session's bytes are, are copied as text.
        let here = message.body.edit_member("info", |info| {
            let Some(path) = info.get_mut("path") else {
                return 0;
            };
            let mut n = 0;
            for key in ["cwd", "root"] {
                if let Some(v) = path.get_mut(key) {
                    n += usize::from(rehome_value(v, from, to));
                }
            }
            n
        });
        if here == 0 {
            message.body.detach();
        }
        changed += here;
    }
    for child in &mut session.children {
        changed += rehome(child, from, to);
    }
    changed
}

fn rehome_value(value: &mut Value, from: &str, to: &str) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let rest = match text.strip_prefix(from) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return false,
    };
    *value = Value::String(format!("{to}{rest}"));
    true
}

/// Gives the session, its children, and all their messages and parts new ids, keeping the order
/// of message and part ids and rewriting every reference to an old id. `seed` makes the new ids
/// (pass something random). Returns the map from old to new ids.
pub fn fork(session: &mut Session, seed: u64) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut rng = SplitMix(seed);
    for s in session.walk() {
        map.insert(s.id.clone(), new_session_id(&s.id, &mut rng));
    }
    let mut message_ids = Vec::new();
    let mut part_ids = Vec::new();
    for s in session.walk() {
        // OpenCode 2 messages without a v1 counterpart, kept in the info (see v2::convert).
        if let Some(kept) = s
            .info
            .pointer("/info/metadata/git-session/opencode2/messages")
            .and_then(Value::as_array)
        {
            message_ids.extend(
                kept.iter()
                    .filter_map(|k| k.pointer("/message/id").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        for message in &s.messages {
            message_ids.push(message.id.clone());
            let value = message.body.value();
            if let Some(parts) = value.get("parts").and_then(Value::as_array) {
                for part in parts {
                    if let Some(id) = part.get("id").and_then(Value::as_str) {
                        part_ids.push(id.to_owned());
                    }
                }
            }
        }
    }
    map.extend(ordered_ids(message_ids, &mut rng));
    map.extend(ordered_ids(part_ids, &mut rng));
    let old_sessions: Vec<(String, String)> = session
        .walk()
        .iter()
        .map(|s| (s.id.clone(), map[&s.id].clone()))
        .collect();
    apply(session, &map, &old_sessions);
    map
}

/// New ids for `ids` that sort in the same order: each id keeps all but its last
/// [`COUNTER_WIDTH`] characters, which become a base62 counter increasing in sorted order from a
/// random start.
fn ordered_ids(mut ids: Vec<String>, rng: &mut SplitMix) -> Vec<(String, String)> {
    ids.sort();
    ids.dedup();
    let space = 62u64.pow(COUNTER_WIDTH as u32);
    let start = rng.next() % (space - ids.len() as u64 - 1);
    ids.into_iter()
        .enumerate()
        .map(|(n, old)| {
            let keep = old
                .len()
                .saturating_sub(COUNTER_WIDTH)
                .max(old.find('_').map_or(0, |i| i + 1));
            let new = format!(
                "{}{}",
                &old[..keep],
                base62(start + n as u64, COUNTER_WIDTH)
            );
            (old, new)
        })
        .collect()
}

/// `ses_` + the same 12 time digits + 14 new random base62 characters.
fn new_session_id(old: &str, rng: &mut SplitMix) -> String {
    let keep = if old.len() > SESSION_RANDOM_WIDTH + 4 {
        &old[..old.len() - SESSION_RANDOM_WIDTH]
    } else {
        old
    };
    let mut out = keep.to_owned();
    for _ in 0..SESSION_RANDOM_WIDTH {
        out.push(BASE62[(rng.next() % 62) as usize] as char);
    }
    out
}

fn base62(mut n: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(digits).expect("base62 digits are ASCII")
}

/// Rewrites ids everywhere in the session tree: every string equal to an old id becomes the new
/// id, and the `<task id="...">` in a task tool's output names the new child.
fn apply(session: &mut Session, map: &HashMap<String, String>, sessions: &[(String, String)]) {
    session.id = map
        .get(&session.id)
        .cloned()
        .unwrap_or_else(|| session.id.clone());
    replace_ids(&mut session.info, map, sessions);
    for message in &mut session.messages {
        let mut value = message.body.value().into_owned();
        replace_ids(&mut value, map, sessions);
        if let Some(id) = map.get(&message.id) {
            message.id = id.clone();
        }
        message.body = Body::text_of(&value);
    }
    for child in &mut session.children {
        apply(child, map, sessions);
    }
}

fn replace_ids(value: &mut Value, map: &HashMap<String, String>, sessions: &[(String, String)]) {
    match value {
        Value::String(text) => {
            if let Some(new) = map.get(text.as_str()) {
                *text = new.clone();
            }
        }
        Value::Array(items) => {
            for item in items {
                replace_ids(item, map, sessions);
            }
        }
        Value::Object(object) => {
            let is_task = object.get("type").and_then(Value::as_str) == Some("tool")
                && object.get("tool").and_then(Value::as_str) == Some("task");
            for item in object.values_mut() {
                replace_ids(item, map, sessions);
            }
            if is_task {
                if let Some(Value::String(output)) =
                    object.get_mut("state").and_then(|s| s.get_mut("output"))
                {
                    for (old, new) in sessions {
                        if output.contains(old.as_str()) {
                            *output = output.replace(old.as_str(), new);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// A small deterministic generator (SplitMix64) for the random parts of new ids.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The local copy already held exactly the saved session; nothing was changed.
    pub identical: bool,
    /// The local copy that was deleted first, if the session (or one of its children) existed.
    pub replaced: bool,
    /// Bundles holding the local copies as they were before they were deleted (with their local
    /// child sessions), one per deleted session; `git session import` stores one back.
    pub backups: Vec<std::path::PathBuf>,
    /// The session ids imported, parents first.
    pub imported: Vec<String>,
}

/// Imports `session` and its children into the local OpenCode, parents first, each run in
/// `cwd_for(session)`. Unless `keep_existing`, a local session with one of these ids is deleted
/// first (with its children), so the result is exactly the saved state; before anything is
/// deleted, each local copy with all its local children is written as a bundle into
/// `backup_dir`, so a failed import (or a regretted load) loses nothing that was only local.
pub fn restore(
    opencode: &OpenCode,
    session: &Session,
    keep_existing: bool,
    backup_dir: &Path,
    cwd_for: &dyn Fn(&Session) -> PathBuf,
) -> Result<Restored> {
    let target = OpenCode1 { opencode, cwd_for };
    restore_into(opencode, &target, session, keep_existing, backup_dir)
}

/// What a restore does differently in OpenCode 1 and OpenCode 2: finding the local copies,
/// reading one back, importing an export file.
pub(crate) trait ImportTarget {
    /// The sessions among `ids` that exist locally, each with its parent's id.
    fn existing(&self, ids: &[String]) -> Result<Vec<(String, Option<String>)>>;
    /// The local session `id` with all its local descendants.
    fn local_tree(&self, id: &str) -> Result<Session>;
    /// Imports `session`, written as an export to `file`.
    fn import(&self, file: &Path, session: &Session) -> Result<()>;
    /// The scratch export files' name prefix.
    fn scratch_prefix(&self) -> &'static str;
}

/// OpenCode 1: `session` rows in its database, `opencode export` and `opencode import`.
struct OpenCode1<'a> {
    opencode: &'a OpenCode,
    cwd_for: &'a dyn Fn(&Session) -> PathBuf,
}

impl ImportTarget for OpenCode1<'_> {
    fn existing(&self, ids: &[String]) -> Result<Vec<(String, Option<String>)>> {
        existing(self.opencode, ids)
    }

    fn local_tree(&self, id: &str) -> Result<Session> {
        local_tree(self.opencode, id)
    }

    fn import(&self, file: &Path, session: &Session) -> Result<()> {
        self.opencode.import(file, &(self.cwd_for)(session))
    }

    fn scratch_prefix(&self) -> &'static str {
        "import"
    }
}

/// The restore both OpenCode versions share (see [`restore`]), through `target`.
pub(crate) fn restore_into(
    opencode: &OpenCode,
    target: &dyn ImportTarget,
    session: &Session,
    keep_existing: bool,
    backup_dir: &Path,
) -> Result<Restored> {
    let tree = session.walk();
    let ids: Vec<String> = tree.iter().map(|s| s.id.clone()).collect();
    let mut replaced = false;
    let mut backups = Vec::new();
    if !keep_existing {
        let existing = target.existing(&ids)?;
        if !existing.is_empty() {
            // Deleting a session deletes its children: delete only the topmost existing ones.
            let here: HashSet<&str> = existing.iter().map(|(id, _)| id.as_str()).collect();
            let topmost: Vec<&String> = existing
                .iter()
                .filter(|(_, parent)| !parent.as_deref().is_some_and(|p| here.contains(p)))
                .map(|(id, _)| id)
                .collect();
            let mut locals = Vec::new();
            for id in &topmost {
                locals.push(target.local_tree(id)?);
            }
            if let [local] = locals.as_slice() {
                if same_as_local(local, session) {
                    return Ok(Restored {
                        identical: true,
                        ..Restored::default()
                    });
                }
            }
            replaced = true;
            for local in locals {
                let id = local.id.clone();
                backups.push(
                    crate::session::backup::write(backup_dir, &super::OpenCodeAgent, local)
                        .map_err(|source| OpenCodeError::Io {
                            context: format!(
                                "cannot write the backup of {id} in {}",
                                backup_dir.display()
                            ),
                            source,
                        })?,
                );
            }
            for id in topmost {
                opencode.delete(id)?;
            }
        }
    }
    let mut imported = Vec::new();
    for (n, s) in tree.iter().enumerate() {
        let file = opencode.scratch_file(&format!("{}-{n}.json", target.scratch_prefix()));
        // Streamed from the messages' stored text: a long session is never held twice.
        export::write_file(s, &file).map_err(|source| OpenCodeError::Io {
            context: format!("cannot write {}", file.display()),
            source,
        })?;
        let result = target.import(&file, s);
        let _ = std::fs::remove_file(&file);
        if let Err(refused) = result {
            // Said with the backups: the local copies are gone from OpenCode by now.
            return Err(OpenCodeError::ImportRefused {
                session: s.id.clone(),
                refused: Box::new(refused),
                backups,
            });
        }
        imported.push(s.id.clone());
    }
    Ok(Restored {
        identical: false,
        replaced,
        backups,
        imported,
    })
}

/// The local session `id` with all its local descendants.
fn local_tree(opencode: &OpenCode, id: &str) -> Result<Session> {
    let rows = opencode.query(&super::source::descendants_sql(&[id.to_owned()]))?;
    let mut sessions = Vec::new();
    for row in &rows {
        if let Some(sid) = row.get("id").and_then(Value::as_str) {
            sessions.push(opencode.export(sid)?);
        }
    }
    crate::session::save_set::assemble(&super::OpenCodeAgent, sessions)
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| OpenCodeError::NoSuchSession { id: id.to_owned() })
}

/// Whether the local copy `local` holds exactly `saved` (and its children), apart from the two
/// fields OpenCode's import writes itself (`info.projectID`, `info.time.updated`). Messages are
/// compared one pair at a time, so a long session is never held as values.
pub(crate) fn same_as_local(local: &Session, saved: &Session) -> bool {
    let (mut a, mut b) = (local.walk(), saved.walk());
    a.sort_by(|x, y| x.id.cmp(&y.id));
    b.sort_by(|x, y| x.id.cmp(&y.id));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.id == y.id
                && comparable_info(x) == comparable_info(y)
                && x.messages.len() == y.messages.len()
                && x.messages
                    .iter()
                    .zip(&y.messages)
                    .all(|(m, n)| m.body.value() == n.body.value())
        })
}

/// What an export holds besides its messages, without what OpenCode's import writes itself.
fn comparable_info(session: &Session) -> Value {
    let mut info = session.info.clone();
    if let Some(doc) = info.as_object_mut() {
        doc.remove(export::FORMAT_KEY);
        if let Some(inner) = doc.get_mut("info").and_then(Value::as_object_mut) {
            inner.remove("projectID");
            if let Some(time) = inner.get_mut("time").and_then(Value::as_object_mut) {
                time.remove("updated");
            }
        }
    }
    info
}

/// The ids among `ids` that exist in the local OpenCode, with their local parent.
fn existing(opencode: &OpenCode, ids: &[String]) -> Result<Vec<(String, Option<String>)>> {
    for id in ids {
        super::cli::check_id(id)?;
    }
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows = opencode.query(&format!(
        "SELECT id, parent_id FROM session WHERE id IN ({list})"
    ))?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let id = row.get("id")?.as_str()?.to_owned();
            let parent = row
                .get("parent_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some((id, parent))
        })
        .collect())
}

/// The directory to import `session` in: the loader's checkout root joined with the session's
/// worktree-relative `path` when that directory exists, else the root itself.
pub fn import_dir(session: &Session, root: &Path) -> std::path::PathBuf {
    let path = session
        .info
        .get("info")
        .and_then(|i| i.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_matches('/');
    if path.is_empty() || path.split('/').any(|c| c == "..") {
        return root.to_path_buf();
    }
    let dir = root.join(path);
    if dir.is_dir() {
        dir
    } else {
        root.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::json;

    fn session(id: &str, parent: Option<&str>, messages: Vec<Value>) -> Session {
        let mut info =
            json!({"id": id, "directory": "/home/a/proj/sub", "path": "sub", "title": "T"});
        if let Some(p) = parent {
            info["parentID"] = p.into();
        }
        Session {
            id: id.into(),
            info: json!({ "info": info }),
            messages: messages
                .into_iter()
                .map(|m| Message {
                    id: m["info"]["id"].as_str().unwrap().into(),
                    body: m.into(),
                })
                .collect(),
            children: vec![],
        }
    }

    fn tree() -> Session {
        let child_id = "ses_dfe921a33ffeIKT6Tonpf9xZc5";
        let parent_id = "ses_dfe922447ffeglaVpn2VDcwxyx";
        let mut parent = session(
            parent_id,
            None,
            vec![
                json!({"info": {"id": "msg_2016ddc3d001Z2WbVJ5GoYaB5a", "sessionID": parent_id, "role": "user"},
                       "parts": [{"id": "prt_2016ddc46001C4hgqNrnRzCOdb", "sessionID": parent_id,
                                  "messageID": "msg_2016ddc3d001Z2WbVJ5GoYaB5a", "type": "text", "text": "hi"}]}),
                json!({"info": {"id": "msg_2016ddfb40012TFsR79VxFzj33", "sessionID": parent_id, "role": "assistant",
                                "parentID": "msg_2016ddc3d001Z2WbVJ5GoYaB5a",
                                "path": {"cwd": "/home/a/proj/sub", "root": "/home/a/proj"}},
                       "parts": [{"id": "prt_2016de5b5001o8wM9ZltVhDoFO", "sessionID": parent_id,
                                  "messageID": "msg_2016ddfb40012TFsR79VxFzj33", "type": "tool", "tool": "task",
                                  "state": {"status": "completed",
                                            "output": format!("<task id=\"{child_id}\" state=\"completed\">"),
                                            "metadata": {"sessionId": child_id, "parentSessionId": parent_id}}},
                                 {"id": "prt_2016de5b5001o8wM9ZltVhDoFA", "sessionID": parent_id,
                                  "messageID": "msg_2016ddfb40012TFsR79VxFzj33", "type": "text",
                                  "text": "/home/a/project is not under the root"}]}),
            ],
        );
        parent.children.push(session(
            child_id,
            Some(parent_id),
            vec![json!({"info": {"id": "msg_2016de5dc0013HSL6QcTzx573L", "sessionID": child_id, "role": "user"},
                        "parts": [{"id": "prt_2016de5e3001L0n0QOGseopHYt", "sessionID": child_id,
                                   "messageID": "msg_2016de5dc0013HSL6QcTzx573L", "type": "text", "text": "go"}]})],
        ));
        parent
    }

    #[test]
    fn paths_under_the_saved_root_move_to_the_new_root() {
        let mut s = tree();
        assert_eq!(saved_root(&s).as_deref(), Some("/home/a/proj"));
        let changed = rehome(&mut s, "/home/a/proj", "/work/b");
        // Two directories (parent and child) and one message's cwd and root.
        assert_eq!(changed, 4);
        assert_eq!(s.info["info"]["directory"], "/work/b/sub");
        assert_eq!(s.children[0].info["info"]["directory"], "/work/b/sub");
        assert_eq!(s.info["info"]["path"], "sub", "the relative path stays");
        let m = s.messages[1].body.value();
        assert_eq!(m["info"]["path"]["cwd"], "/work/b/sub");
        assert_eq!(m["info"]["path"]["root"], "/work/b");
        assert_eq!(
            m["parts"][1]["text"], "/home/a/project is not under the root",
            "text is never rewritten"
        );
        assert_eq!(rehome(&mut s, "/work/b", "/work/b"), 0);
    }

    #[test]
    fn messages_read_as_text_are_rehomed_like_parsed_ones() {
        fn as_text(s: &mut Session) {
            for m in &mut s.messages {
                m.body = Body::owned_raw(m.body.value().to_string());
            }
            s.children.iter_mut().for_each(as_text);
        }
        let mut parsed = tree();
        let mut text = tree();
        as_text(&mut text);
        assert_eq!(
            rehome(&mut text, "/home/a/proj", "/work/b"),
            rehome(&mut parsed, "/home/a/proj", "/work/b")
        );
        assert_eq!(text, parsed);
        assert!(
            matches!(text.messages[1].body, Body::Raw { .. }),
            "a re-homed message stays text"
        );
    }

    #[test]
    fn without_messages_the_root_comes_from_directory_and_path() {
        let s = session("ses_x", None, vec![]);
        assert_eq!(saved_root(&s).as_deref(), Some("/home/a/proj"));
    }

    #[test]
    fn a_fork_renames_every_id_and_keeps_their_order() {
        let original = tree();
        let mut forked = original.clone();
        let map = fork(&mut forked, 42);
        assert_eq!(
            map.len(),
            2 + 3 + 4,
            "two sessions, three messages, four parts"
        );
        assert_ne!(forked.id, original.id);
        assert_eq!(&forked.id[..16], &original.id[..16], "the time part stays");
        assert_eq!(forked.id.len(), original.id.len());
        let child = &forked.children[0];
        assert_eq!(child.info["info"]["parentID"], forked.id.as_str());
        let m = forked.messages[1].body.value();
        assert_eq!(m["info"]["sessionID"], forked.id.as_str());
        assert_eq!(m["info"]["id"], forked.messages[1].id.as_str());
        assert_eq!(m["info"]["parentID"], forked.messages[0].id.as_str());
        let task = &m["parts"][0];
        assert_eq!(task["messageID"], forked.messages[1].id.as_str());
        assert_eq!(task["state"]["metadata"]["sessionId"], child.id.as_str());
        assert_eq!(
            task["state"]["metadata"]["parentSessionId"],
            forked.id.as_str()
        );
        assert_eq!(
            task["state"]["output"],
            format!("<task id=\"{}\" state=\"completed\">", child.id)
        );
        // Order: old and new ids sort the same way.
        let mut old: Vec<&String> = map.keys().filter(|k| !k.starts_with("ses_")).collect();
        old.sort();
        let new: Vec<&String> = old.iter().map(|k| &map[*k]).collect();
        let mut sorted = new.clone();
        sorted.sort();
        assert_eq!(new, sorted, "new ids keep the order of the old ones");
        for (o, n) in &map {
            assert_ne!(o, n);
            assert_eq!(o.len(), n.len(), "{o} -> {n}");
            assert_eq!(o[..4], n[..4], "{o} -> {n}");
        }
        // Another seed gives other ids.
        let mut again = original.clone();
        let other = fork(&mut again, 43);
        assert!(map.iter().all(|(k, v)| other[k] != *v));
    }
}
