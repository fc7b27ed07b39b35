//! Putting a saved Claude Code session back as files: re-homing paths, fork ids, writing the
//! transcript and its subagents under this machine's project folder (with a backup of any local
//! copy first).

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::{json, Value};

use super::{source, transcript};
use crate::session::model::Body;
use crate::session::Session;

/// Rewrites every occurrence of each `from` prefix to its `to` in every string of the session
/// (records, info, children), longest match first, where the match ends a path component (the
/// next character is not a letter, digit, `_`, `-` or `.` followed by a letter or digit).
/// Returns how many strings changed.
pub fn relocate(session: &mut Session, pairs: &[(String, String)]) -> usize {
    replace_all(session, pairs, true)
}

fn replace_all(session: &mut Session, pairs: &[(String, String)], boundary: bool) -> usize {
    let pairs: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(f, t)| !f.is_empty() && f != t)
        .collect();
    if pairs.is_empty() {
        return 0;
    }
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(pairs.iter().map(|(f, _)| f.as_str()))
        .expect("plain string patterns");
    let to: Vec<&str> = pairs.iter().map(|(_, t)| t.as_str()).collect();
    relocate_with(session, &ac, &to, boundary)
}

fn relocate_with(session: &mut Session, ac: &AhoCorasick, to: &[&str], boundary: bool) -> usize {
    let mut changed = rewrite_value(&mut session.info, ac, to, boundary);
    for m in &mut session.messages {
        let text = match &m.body {
            Body::Raw {
                source, start, end, ..
            } => &source[*start..*end],
            Body::Parsed(_) => "",
        };
        if matches!(m.body, Body::Raw { .. }) && ac.find(text).is_none() {
            continue;
        }
        let mut value = m.body.value().into_owned();
        let here = rewrite_value(&mut value, ac, to, boundary);
        if here > 0 {
            m.body = Body::Parsed(value);
            changed += here;
        }
    }
    for child in &mut session.children {
        changed += relocate_with(child, ac, to, boundary);
    }
    changed
}

fn rewrite_value(value: &mut Value, ac: &AhoCorasick, to: &[&str], boundary: bool) -> usize {
    match value {
        Value::String(s) => match rewrite_str(s, ac, to, boundary) {
            Some(new) => {
                *s = new;
                1
            }
            None => 0,
        },
        Value::Array(items) => items
            .iter_mut()
            .map(|v| rewrite_value(v, ac, to, boundary))
            .sum(),
        Value::Object(map) => map
            .values_mut()
            .map(|v| rewrite_value(v, ac, to, boundary))
            .sum(),
        _ => 0,
    }
}

fn rewrite_str(s: &str, ac: &AhoCorasick, to: &[&str], boundary: bool) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for m in ac.find_iter(s) {
        let rest = &s[m.end()..];
        let mut chars = rest.chars();
        let ends_component = match chars.next() {
            None => true,
            Some(c) if c.is_alphanumeric() || c == '_' || c == '-' => false,
            Some('.') => !chars.next().is_some_and(|c| c.is_alphanumeric()),
            Some(_) => true,
        };
        if boundary && !ends_component {
            continue;
        }
        out.push_str(&s[last..m.start()]);
        out.push_str(to[m.pattern().as_usize()]);
        last = m.end();
    }
    if last == 0 {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

/// Gives the session a new session id: every occurrence of the old id in every string (the
/// `sessionId` fields, transcript paths in summaries) becomes `new_id`. Record uuids stay.
pub fn fork(session: &mut Session, new_id: &str) {
    let old = session.id.clone();
    replace_all(session, &[(old, new_id.to_owned())], false);
    session.id = new_id.to_owned();
    session.info["claude"]["file"] = json!(format!("{new_id}.jsonl"));
}

/// A random version-4 UUID from `seed`.
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
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// The files a session occupies in `project_dir`: the transcript, then each subagent's
/// transcript and meta file.
pub fn files(session: &Session, project_dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = vec![(
        project_dir.join(format!("{}.jsonl", session.id)),
        transcript::render(session),
    )];
    let sub = project_dir.join(&session.id).join("subagents");
    for child in &session.children {
        out.push((
            sub.join(format!("{}.jsonl", child.id)),
            transcript::render(child),
        ));
        if let Some(meta) = child.info.pointer("/claude/meta") {
            out.push((
                sub.join(format!("{}.meta.json", child.id)),
                serde_json::to_string(meta).unwrap_or_default(),
            ));
        }
    }
    out
}

/// Whether every file already holds exactly these bytes.
pub fn all_equal(files: &[(PathBuf, String)]) -> bool {
    files
        .iter()
        .all(|(path, text)| std::fs::read(path).is_ok_and(|bytes| bytes == text.as_bytes()))
}

/// Whether a local copy of session `id` exists in `project_dir`.
pub fn exists(project_dir: &Path, id: &str) -> bool {
    project_dir.join(format!("{id}.jsonl")).exists()
}

/// Reads the local copy of session `id` in `project_dir` (for a backup).
pub fn read_local(project_dir: &Path, id: &str) -> Result<Session, source::SourceError> {
    source::read(&project_dir.join(format!("{id}.jsonl"))).map(|(s, _)| s)
}

/// Writes each file through a temporary file and a rename (mode 0600, as Claude Code does).
pub fn write(files: &[(PathBuf, String)]) -> std::io::Result<()> {
    for (path, text) in files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_private_atomically(path, text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;

    fn session(lines: &[Value]) -> Session {
        Session {
            id: "6b92".into(),
            info: json!({"claude": {"cwd": "/pathA/project", "lines": lines.len()}}),
            messages: lines
                .iter()
                .enumerate()
                .map(|(i, v)| Message {
                    id: transcript::line_id(i + 1, None),
                    body: v.clone().into(),
                })
                .collect(),
            children: vec![],
        }
    }

    #[test]
    fn paths_are_rewritten_in_every_string_longest_first_on_component_boundaries() {
        let mut s = session(&[json!({
            "cwd": "/pathA/project",
            "text": "read /home/a/.claude/projects/-pathA-project/6b92.jsonl and /pathA/project/src. Not /pathA/project2 or /pathA/project.d",
            "nested": [{"p": "/home/a/.claude/settings.json"}]
        })]);
        let n = relocate(
            &mut s,
            &[
                ("/pathA/project".into(), "/pathB/co".into()),
                (
                    "/home/a/.claude/projects/-pathA-project".into(),
                    "/home/b/.claude/projects/-pathB-co".into(),
                ),
                ("/home/a".into(), "/home/b".into()),
            ],
        );
        let v = s.messages[0].body.value().into_owned();
        assert_eq!(v["cwd"], "/pathB/co");
        assert_eq!(
            v["text"],
            "read /home/b/.claude/projects/-pathB-co/6b92.jsonl and /pathB/co/src. Not /pathA/project2 or /pathA/project.d"
        );
        assert_eq!(v["nested"][0]["p"], "/home/b/.claude/settings.json");
        assert_eq!(s.info["claude"]["cwd"], "/pathB/co");
        assert_eq!(n, 4);
    }

    #[test]
    fn a_fork_renames_the_session_everywhere_and_uuids_are_v4() {
        let mut s = session(&[json!({"sessionId": "6b92", "uuid": "u1", "t": "at /p/6b92.jsonl"})]);
        let id = new_uuid(42);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(new_uuid(43), id);
        fork(&mut s, &id);
        assert_eq!(s.id, id);
        assert_eq!(s.messages[0].body.value()["sessionId"], id.as_str());
        assert_eq!(s.messages[0].body.value()["uuid"], "u1");
        assert_eq!(s.messages[0].body.value()["t"], format!("at /p/{id}.jsonl"));
    }
}
