//! What agents that keep sessions as files of their own share (Claude Code transcripts, Codex
//! rollouts, Gemini CLI's logs): reading the files picked with progress, rewriting paths and ids
//! in every string of a session, and putting the files back with the local copy backed up first,
//! or left alone when it is already identical.

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::Value;

use super::{AgentError, Progress, Read};
use crate::session::model::Body;
use crate::session::{backup, Session, SessionKind};

/// Reads each of `paths` (session files) into one [`Read`] with `read_one`, reporting each
/// file to `progress` by its name without extension.
pub fn read_each(
    paths: &[PathBuf],
    progress: &mut dyn FnMut(Progress<'_>),
    read_one: &mut dyn FnMut(&Path, &mut Read) -> Result<(), AgentError>,
) -> Result<Read, AgentError> {
    let mut read = Read::default();
    for (index, path) in paths.iter().enumerate() {
        let id = path.file_stem().map(|s| s.to_string_lossy());
        progress(Progress {
            id: id.as_deref().unwrap_or(""),
            index: index + 1,
            total: paths.len(),
        });
        read_one(path, &mut read)?;
    }
    Ok(read)
}

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

/// Writes a file's bytes to a writer, as it goes.
pub type WriteBytes<'a> = Box<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + 'a>;

/// One file a session occupies: where it goes, and what writes its bytes (as it goes, so a long
/// transcript is never held whole in memory besides the session).
pub struct SessionFile<'a> {
    /// Where the file goes.
    pub path: PathBuf,
    /// Writes the file's bytes.
    pub write: WriteBytes<'a>,
}

impl SessionFile<'_> {
    /// The file's bytes, in memory (for tests and small files).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        (self.write)(&mut out).expect("writing to memory cannot fail");
        out
    }

    /// Whether the file at [`SessionFile::path`] already holds exactly these bytes, compared
    /// as they are written.
    fn holds(&self) -> bool {
        let Ok(file) = std::fs::File::open(&self.path) else {
            return false;
        };
        let mut same = SameBytes {
            file: std::io::BufReader::new(file),
            buffer: Vec::new(),
        };
        if (self.write)(&mut same).is_err() {
            return false;
        }
        // Nothing may follow what was written.
        std::io::Read::read(&mut same.file, &mut [0u8; 1]).is_ok_and(|n| n == 0)
    }
}

/// A writer that checks what is written against a file's bytes, failing at the first difference.
struct SameBytes<R> {
    file: R,
    buffer: Vec<u8>,
}

impl<R: std::io::Read> std::io::Write for SameBytes<R> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.resize(bytes.len(), 0);
        self.file.read_exact(&mut self.buffer)?;
        if self.buffer != bytes {
            return Err(std::io::Error::other("the file differs"));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// Writes `files` (mode 0600, each atomically, as it is rendered). Unless `fork`: files that
/// already hold exactly these bytes are left alone, and a local copy (`local()` reads it, `None`
/// when there is none) is first written as a backup bundle of `kind` below `state_dir`.
pub fn put_back(
    kind: &dyn SessionKind,
    state_dir: &Path,
    files: &[SessionFile<'_>],
    fork: bool,
    local: impl FnOnce() -> Result<Option<Session>, AgentError>,
) -> Result<PutBack, AgentError> {
    let mut done = PutBack::default();
    if !fork {
        if files.iter().all(SessionFile::holds) {
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
    for file in files {
        let written = file
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                crate::fsutil::write_private_atomically_with(&file.path, &mut |out| {
                    (file.write)(out)
                })
            });
        written.map_err(|e| {
            AgentError::new(format!("cannot write {}: {e}", file.path.display()))
                .hint("check that the agent's folder is writable, then load again")
        })?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose bytes are `text`, written in pieces of 3 bytes (as a renderer writes them).
    fn file<'a>(path: &Path, text: &'a str) -> SessionFile<'a> {
        SessionFile {
            path: path.to_path_buf(),
            write: Box::new(move |out| {
                for piece in text.as_bytes().chunks(3) {
                    out.write_all(piece)?;
                }
                Ok(())
            }),
        }
    }

    #[test]
    fn a_file_holds_its_bytes_only_when_they_are_exactly_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let text = "{\"a\":1}\n\n{\"b\":2}\n";
        assert!(!file(&path, text).holds(), "no file yet");
        std::fs::write(&path, text).unwrap();
        assert!(file(&path, text).holds());
        assert_eq!(file(&path, text).bytes(), text.as_bytes());
        std::fs::write(&path, format!("{text}\n")).unwrap();
        assert!(!file(&path, text).holds(), "the file has more");
        std::fs::write(&path, &text[..text.len() - 1]).unwrap();
        assert!(!file(&path, text).holds(), "the file has less");
        std::fs::write(&path, text.replace('2', "3")).unwrap();
        assert!(!file(&path, text).holds(), "a byte differs");
    }

    #[test]
    fn put_back_writes_each_file_as_it_is_rendered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/s.jsonl");
        let files = [file(&path, "one\ntwo\n")];
        let kind = crate::agents::registry::by_name("claude").unwrap();
        let done = put_back(kind, dir.path(), &files, false, || Ok(None)).unwrap();
        assert!(!done.identical);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        let again = put_back(kind, dir.path(), &files, false, || Ok(None)).unwrap();
        assert!(again.identical, "the same bytes are left alone");
    }
}
