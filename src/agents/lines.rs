//! What agents whose sessions are append-only JSONL files share (Claude Code transcripts, Codex
//! rollouts): message ids that carry the line number (`l000042-<suffix>`), and the merge rules
//! of that family.
//!
//! Two saves of one such session usually differ only by lines one of them has and the other
//! does not: the union by line id keeps them all, ordered by line number, then by id. When two
//! machines appended different records after a common prefix, records whose ids differ (each
//! agent puts something of the record in the suffix) are both kept, interleaved by line number.
//! Two different versions of one line id (a line whose paths a `load` rewrote) keep the one
//! with the later `timestamp`, else the canonically larger one; the other stays in the merge's
//! other parent and is reported. The info with more lines wins.

use std::cmp::Ordering;

use serde_json::Value;

use crate::session::merge::{max_canonical, MergeRules};
use crate::session::model::Body;
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
