//! What agents whose sessions are append-only JSONL files share (Claude Code transcripts, Codex
//! rollouts; Gemini CLI's logs are read the same way): reading them line by line
//! ([`read_objects`]), message ids that carry the line number (`l000042-<suffix>`), writing them
//! back, and the merge rules of that family.
//!
//! Two saves of one such session usually differ only by lines one of them has and the other
//! does not: the union by line id keeps them all, ordered by line number, then by id. When two
//! machines appended different records after a common prefix, records whose ids differ (each
//! agent puts something of the record in the suffix) are both kept, interleaved by line number.
//! Two different versions of one line id (a line whose paths a `load` rewrote) keep the one
//! with the later `timestamp`, else the canonically larger one; the other stays in the merge's
//! other parent and is reported. The info with more lines wins.

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::Value;

use crate::session::merge::{max_canonical, MergeRules};
use crate::session::model::{check_json, Body};
use crate::session::{Message, Session};

/// The text of a JSON-lines file read as bytes. A multi-byte character cut at the end (a file
/// caught mid-write) is left out; an invalid byte elsewhere becomes U+FFFD, so only the line
/// holding it is affected (it is then usually not JSON, and dropped with a warning), never the
/// lines after it.
pub fn jsonl_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) if e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).expect("truncated to the valid prefix")
        }
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// What [`read_objects`] found in an agent's JSON-lines file.
pub struct ReadLines {
    /// One message per line holding a JSON object, in file order (the text a slice of the file's).
    pub messages: Vec<Message>,
    /// One per line left out, or saved while it may still be being written.
    pub warnings: Vec<String>,
    /// How many lines a save keeps: all of them, but a last line cut short.
    pub lines: usize,
}

/// Reads `bytes`, the JSON-lines file `file` that `writer` (the agent's name) appends to, line
/// by line. Each line holding a JSON object becomes the message `message(number, line, text)`
/// makes of it (`number` is 1-based, `text` the whole file, for [`Body::raw`]); a line that is
/// not one is left out (restored as an empty line), and a last line without its newline that is
/// not valid JSON is left out as cut short; both with a warning. Never fails on content.
pub fn read_objects(
    bytes: Vec<u8>,
    file: &str,
    writer: &str,
    message: &mut dyn FnMut(usize, &str, &Arc<String>) -> Message,
) -> ReadLines {
    let text = Arc::new(jsonl_text(bytes));
    let mut read = ReadLines {
        messages: Vec::new(),
        warnings: Vec::new(),
        lines: 0,
    };
    let complete = text.ends_with('\n');
    let pieces: Vec<&str> = text.split_terminator('\n').collect();
    let count = pieces.len();
    for (index, line) in pieces.into_iter().enumerate() {
        let number = index + 1;
        let last = number == count;
        let trimmed = line.trim_end_matches('\r');
        if trimmed.trim().is_empty() {
            if !last || complete {
                read.lines = number;
            }
            continue;
        }
        let object = trimmed.trim_start().starts_with('{') && check_json(trimmed).is_ok();
        if object {
            if last && !complete {
                read.warnings.push(format!(
                    "{file}: the last line has no newline yet ({writer} may still be writing it); saved it as it is valid JSON"
                ));
            }
            read.messages.push(message(number, trimmed, &text));
            read.lines = number;
        } else if last && !complete {
            read.warnings.push(format!(
                "{file}: line {number} is cut short ({writer} was writing it); saved up to line {}",
                number - 1
            ));
        } else {
            read.warnings.push(format!(
                "{file}: line {number} is not a JSON object; it is left out (restored as an empty line)"
            ));
            read.lines = number;
        }
    }
    read
}

/// The line number (1-based) a message id names (`l000042-…` → 42).
pub fn line_of(id: &str) -> Option<usize> {
    id.strip_prefix('l')?.split('-').next()?.parse().ok()
}

/// Renders one session (without its children) back as JSONL: one record per line, in message
/// order (each at the line its id names), blank lines where the file had them, up to
/// `total_lines`, newline-terminated.
pub fn render(session: &Session, total_lines: usize) -> String {
    let mut out = Vec::new();
    write(session, total_lines, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("message texts are UTF-8")
}

/// Writes what [`render`] gives to `out`, record by record.
pub fn write(
    session: &Session,
    total_lines: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut next = 1usize;
    for m in &session.messages {
        if let Some(n) = line_of(&m.id) {
            while next < n {
                out.write_all(b"\n")?;
                next += 1;
            }
            next = next.max(n) + 1;
        } else {
            next += 1;
        }
        match &m.body {
            Body::Raw {
                source, start, end, ..
            } => out.write_all(source[*start..*end].as_bytes())?,
            Body::Parsed(v) => serde_json::to_writer(&mut *out, v)?,
        }
        out.write_all(b"\n")?;
    }
    while next <= total_lines {
        out.write_all(b"\n")?;
        next += 1;
    }
    Ok(())
}

/// The merge rules of line-id sessions; `info_key` names the agent's object in the session info,
/// whose `lines` count decides which info is newer.
pub struct LineRules {
    info_key: &'static str,
}

impl LineRules {
    /// The rules for an agent keeping its info under `info_key`.
    pub const fn new(info_key: &'static str) -> Self {
        LineRules { info_key }
    }
}

impl MergeRules for LineRules {
    fn compare_info(&self, a: &Value, b: &Value) -> Ordering {
        let lines = |v: &Value| {
            v.get(self.info_key)
                .and_then(|i| i.get("lines"))
                .and_then(Value::as_u64)
        };
        lines(a).cmp(&lines(b))
    }

    fn message_order(&self, message: &Message) -> i64 {
        line_of(&message.id).map_or(i64::MAX, |n| n as i64)
    }

    fn merge_message(&self, id: &str, a: &Value, b: &Value, conflicts: &mut Vec<String>) -> Value {
        let time = |v: &Value| {
            v.get("timestamp")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let pick = match time(a).cmp(&time(b)) {
            Ordering::Greater => a,
            Ordering::Less => b,
            Ordering::Equal => max_canonical(a, b),
        };
        conflicts.push(format!(
            "line {id} differed; kept the {} version",
            if time(a) != time(b) {
                "later"
            } else {
                "canonically larger"
            }
        ));
        pick.clone()
    }
}

/// An RFC 3339 time (a JSONL record's `timestamp`) as epoch milliseconds.
pub fn timestamp_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ReadLines {
        read_objects(
            text.as_bytes().to_vec(),
            "f.jsonl",
            "Agent",
            &mut |n, line, text| Message {
                id: format!("l{n:06}-{}", line.len()),
                body: Body::raw(text, line),
            },
        )
    }

    #[test]
    fn objects_become_messages_and_other_lines_are_left_out_with_a_warning() {
        let r = read("{\"a\":1}\n\n[1,2]\nnot json\n{\"b\":2}\r\n");
        let ids: Vec<&str> = r.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["l000001-7", "l000005-7"]);
        assert_eq!(
            r.messages[1].body.value()["b"],
            2,
            "the CR is not part of the line"
        );
        assert_eq!(r.lines, 5);
        assert_eq!(r.warnings.len(), 2);
        assert!(r.warnings[0].contains("line 3 is not a JSON object"));
    }

    #[test]
    fn a_last_line_being_written_is_saved_only_when_it_is_whole() {
        let cut = read("{\"a\":1}\n{\"b\":");
        assert_eq!((cut.messages.len(), cut.lines), (1, 1));
        assert!(cut.warnings[0].contains("line 2 is cut short (Agent was writing it)"));
        let whole = read("{\"a\":1}\n{\"b\":2}");
        assert_eq!((whole.messages.len(), whole.lines), (2, 2));
        assert!(whole.warnings[0].contains("Agent may still be writing it"));
    }
}
