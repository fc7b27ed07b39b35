//! What agents that keep sessions as files of their own share (Claude Code transcripts, Codex
//! rollouts): rewriting paths and ids in every string of a session, and putting the files back
//! with the local copy backed up first, or left alone when it is already identical.

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::Value;

use super::AgentError;
use crate::session::model::Body;
use crate::session::{backup, Session, SessionKind};

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
            m.body.detach();
            continue;
        }
        let mut value = m.body.value().into_owned();
        let here = rewrite_value(&mut value, ac, to, boundary);
        if here > 0 {
            m.body = Body::text_of(&value);
            changed += here;
        } else {
            m.body.detach();
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

/// Renames sessions: every occurrence of each old id in every string of the session and its
/// children (ids, parent ids, file paths) becomes the new one, and each session whose id is an
/// old one takes the new one. Returns how many strings changed.
pub fn rename_ids(session: &mut Session, pairs: &[(String, String)]) -> usize {
    rename_session_ids(session, pairs);
    replace_all(session, pairs, false)
}

fn rename_session_ids(session: &mut Session, pairs: &[(String, String)]) {
    if let Some((_, new)) = pairs.iter().find(|(old, _)| *old == session.id) {
        session.id = new.clone();
    }
    for child in &mut session.children {
        rename_session_ids(child, pairs);
    }
}

/// What putting a session's files back did.
#[derive(Debug, Default)]
pub struct PutBack {
    /// The files already held exactly these bytes: nothing was written.
    pub identical: bool,
    /// A local copy was replaced.
    pub replaced: bool,
    /// The backups of the replaced local copy.
    pub backups: Vec<PathBuf>,
}

/// Writes `files` (path, contents; mode 0600, each atomically). Unless `fork`: files that
/// already hold exactly these bytes are left alone, and a local copy (`local()` reads it, `None`
/// when there is none) is first written as a backup bundle of `kind` below `state_dir`.
pub fn put_back(
    kind: &dyn SessionKind,
    state_dir: &Path,
    files: &[(PathBuf, String)],
    fork: bool,
    local: impl FnOnce() -> Result<Option<Session>, AgentError>,
) -> Result<PutBack, AgentError> {
    let mut done = PutBack::default();
    if !fork {
        if all_hold(files) {
            done.identical = true;
            return Ok(done);
        }
        if let Some(local) = local()? {
            let dir = backup::dir(state_dir, kind.name());
            done.backups
                .push(backup::write(&dir, kind, local).map_err(|e| {
                    AgentError::new(format!("cannot write a backup in {}: {e}", dir.display()))
                })?);
            done.replaced = true;
        }
    }
    for (path, text) in files {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::fsutil::write_private_atomically(path, text.as_bytes()));
        written.map_err(|e| {
            AgentError::new(format!("cannot write {}: {e}", path.display()))
                .hint("check that the agent's folder is writable, then load again")
        })?;
    }
    Ok(done)
}

/// Whether every file already holds exactly these bytes.
fn all_hold(files: &[(PathBuf, String)]) -> bool {
    files
        .iter()
        .all(|(path, text)| std::fs::read(path).is_ok_and(|bytes| bytes == text.as_bytes()))
}
