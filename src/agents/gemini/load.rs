//! Putting a saved Gemini CLI session back as files: the project folder Gemini maps this checkout
//! to (its `projects.json` entry and marker files, created by Gemini's own rule when missing),
//! re-homing, fork ids, and what keeps Gemini's session cleanup from deleting the restored file.
//!
//! Gemini's cleanup runs at every start (`general.sessionRetention`, 30 days by default): it
//! deletes a session whose last `lastUpdated` is older than that, and every file sharing the
//! 8-hex short id of a file it judges not resumable. So a restore appends
//! `{"$set":{"lastUpdated":<now>}}` when the saved one is more than a day old (a session saved a
//! month ago and loaded today is not swept at the next start), and removes the strays of the
//! session in the folder it writes to (see [`super::source::remove_strays`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{log, source};
use crate::agents::file_sessions::{rename_ids, SessionFile};
use crate::session::model::Body;
use crate::session::{Message, Session};

pub use crate::agents::file_sessions::relocate;

/// Gemini's slug of a directory name: lowercased, every run of other characters than `a-z0-9`
/// one `-`, no `-` at either end, `project` when nothing is left.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

const MARKER: &str = ".project_root";

/// The folders Gemini keeps a project's marker in: `tmp/` and `history/`.
fn marker_dirs(gemini: &Path) -> [PathBuf; 2] {
    [gemini.join("tmp"), gemini.join("history")]
}

fn owner(gemini: &Path, slug: &str) -> Vec<String> {
    marker_dirs(gemini)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join(slug).join(MARKER)).ok())
        .map(|t| t.trim().to_owned())
        .collect()
}

/// The slug Gemini maps `project` to, made as Gemini makes it when `projects.json` has no entry
/// (the entry and the marker files written), so that Gemini started in `project` finds the
/// sessions put under it.
pub fn ensure_project(gemini: &Path, project: &Path) -> std::io::Result<String> {
    let key = project.to_string_lossy().into_owned();
    let path = source::projects_path(gemini);
    let mut registry: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(|v: &Value| v.get("projects").is_some_and(Value::is_object))
        .unwrap_or_else(|| json!({"projects": {}}));
    let existing = source::slug_of(gemini, project)
        .filter(|slug| owner(gemini, slug).iter().all(|o| *o == key));
    let slug = match existing {
        Some(slug) => slug,
        None => {
            let taken: Vec<String> = registry["projects"]
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let base = slugify(
                &project
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            let slug = (0..)
                .map(|n| {
                    if n == 0 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|c| !taken.contains(c) && owner(gemini, c).iter().all(|o| *o == key))
                .expect("an endless range has a free name");
            registry["projects"][key.as_str()] = json!(slug);
            let text = serde_json::to_string_pretty(&registry).unwrap_or_default();
            std::fs::create_dir_all(gemini)?;
            crate::fsutil::write_atomically(&path, text.as_bytes())?;
            slug
        }
    };
    for dir in marker_dirs(gemini) {
        let marker = dir.join(&slug).join(MARKER);
        if !marker.is_file() {
            std::fs::create_dir_all(dir.join(&slug))?;
            std::fs::write(&marker, &key)?;
        }
    }
    Ok(slug)
}

/// A random (version 4) UUID, Gemini's session id form.
pub fn new_uuid(seed: u64) -> String {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// Gives the session and every subagent a new id (in every string, file names included).
/// Returns the new root id.
pub fn fork(session: &mut Session, seed: u64) -> String {
    let mut pairs = Vec::new();
    for (n, s) in session.walk().into_iter().enumerate() {
        pairs.push((s.id.clone(), new_uuid(seed.wrapping_add(n as u64))));
    }
    let shorts: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (source::short_id(a), source::short_id(b)))
        .collect();
    rename_ids(session, &pairs);
    rename_files(session, &shorts);
    session.id.clone()
}

fn rename_files(session: &mut Session, shorts: &[(String, String)]) {
    if let Some(file) = log::info_str(session, "file") {
        let mut renamed = file.clone();
        for (old, new) in shorts {
            renamed = renamed.replace(&format!("-{old}.jsonl"), &format!("-{new}.jsonl"));
        }
        session.info["gemini"]["file"] = json!(renamed);
    }
    for child in &mut session.children {
        rename_files(child, shorts);
    }
}

/// The time now as Gemini writes it (`2026-11-30T11:48:29.484Z`).
pub fn now_iso() -> String {
    iso(time::OffsetDateTime::now_utc())
}

fn iso(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// Appends `{"$set":{"lastUpdated":<now>}}` to the session when the log's last `lastUpdated` is
/// more than a day before `now` (or missing), so Gemini's cleanup does not take the restored
/// file for an old one. Returns whether it did.
pub fn freshen(session: &mut Session, now: time::OffsetDateTime) -> bool {
    let state = super::state::replay(&log::records(session));
    let last = state
        .meta
        .get("lastUpdated")
        .and_then(Value::as_str)
        .unwrap_or("");
    if last >= iso(now - time::Duration::days(1)).as_str() {
        return false;
    }
    let line = log::lines(session).max(
        session
            .messages
            .iter()
            .filter_map(|m| crate::agents::lines::line_of(&m.id))
            .max()
            .unwrap_or(0),
    ) + 1;
    let stamp = iso(now);
    let text = Arc::new(json!({"$set": {"lastUpdated": stamp}}).to_string());
    session.messages.push(Message {
        id: log::line_id(line, Some(&stamp)),
        body: Body::raw(&text, text.as_str()),
    });
    session.info["gemini"]["lines"] = json!(line);
    true
}

/// Where each file of the session goes in `chats` (this checkout's folder): over the local copy
/// of that session when there is one (`keep_local`), else `chats/<file>`; a subagent in
/// `chats/<parent id>/<file>`. Returns the session's file, then each subagent's (each rendered
/// whole when written: the log is replayed to render it).
pub fn files<'a>(session: &'a Session, chats: &Path, keep_local: bool) -> Vec<SessionFile<'a>> {
    let file = |path: PathBuf, s: &'a Session| SessionFile {
        path,
        write: Box::new(move |out: &mut dyn std::io::Write| {
            out.write_all(log::render(s).as_bytes())
        }),
    };
    let mut out = Vec::new();
    let root = keep_local
        .then(|| source::in_chats(chats, &session.id))
        .flatten()
        .unwrap_or_else(|| chats.join(file_name(session)));
    out.push(file(root, session));
    for s in session.walk().into_iter().skip(1) {
        let parent = log::parent(s).unwrap_or_else(|| session.id.clone());
        out.push(file(chats.join(parent).join(file_name(s)), s));
    }
    out
}

fn file_name(s: &Session) -> String {
    log::info_str(s, "file")
        .filter(|f| crate::store::layout::is_safe_component(f) && f.ends_with(".jsonl"))
        .unwrap_or_else(|| match log::info_str(s, "kind").as_deref() {
            Some("subagent") => format!("{}.jsonl", s.id),
            _ => format!("session-1970-01-01T00-00-{}.jsonl", source::short_id(&s.id)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Session {
        let text = include_str!("../../../tests/fixtures/gemini/session-resumed-3x.jsonl");
        log::parse(
            text.as_bytes().to_vec(),
            "session-2026-11-30T11-48-6203f4cf.jsonl",
            None,
        )
        .unwrap()
        .session
    }

    #[test]
    fn slugs_follow_geminis_rule_and_a_new_project_gets_entry_and_markers() {
        assert_eq!(slugify("My App_2!"), "my-app-2");
        assert_eq!(slugify("..."), "project");
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        std::fs::create_dir_all(g.join("tmp/gapp")).unwrap();
        std::fs::write(g.join("tmp/gapp/.project_root"), "/other/gapp").unwrap();
        let slug = ensure_project(&g, Path::new("/srv/bob/GApp")).unwrap();
        assert_eq!(slug, "gapp-1", "gapp belongs to another folder");
        assert_eq!(
            source::slug_of(&g, Path::new("/srv/bob/GApp")).as_deref(),
            Some("gapp-1")
        );
        for d in ["tmp", "history"] {
            let marker = std::fs::read_to_string(g.join(d).join("gapp-1/.project_root")).unwrap();
            assert_eq!(marker, "/srv/bob/GApp");
        }
        assert_eq!(
            ensure_project(&g, Path::new("/srv/bob/GApp")).unwrap(),
            "gapp-1"
        );
    }

    #[test]
    fn a_fork_renames_ids_and_file_and_an_old_session_is_freshened_once() {
        let mut s = example();
        let old = s.id.clone();
        let new = fork(&mut s, 7);
        assert_eq!(&new[14..15], "4");
        let text = log::render(&s);
        assert!(!text.contains(&old));
        assert_eq!(
            log::info_str(&s, "file").unwrap(),
            format!("session-2026-11-30T11-48-{}.jsonl", &new[..8])
        );
        let lines = log::lines(&s);
        let now = time::OffsetDateTime::now_utc() + time::Duration::days(40);
        assert!(freshen(&mut s, now), "saved long ago");
        assert_eq!(log::lines(&s), lines + 1);
        assert!(!freshen(&mut s, now), "now fresh");
        assert!(log::render(&s).trim_end().ends_with(&format!(
            "{{\"$set\":{{\"lastUpdated\":\"{}\"}}}}",
            iso(now)
        )));
    }
}
