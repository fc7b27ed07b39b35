//! Message buckets: up to 64 messages of one session in one JSON-lines blob.
//!
//! Each line is a JSON array of the message id and the message's canonical JSON,
//! `["<id>",{...}]`, in conversation order. Canonical JSON escapes every control character, so
//! a line never holds a newline of its own. An appending save rewrites only the last bucket, and
//! git stores and sends that bucket as a delta against the one it replaces: one object per 64
//! messages instead of one per message, compressed together.

use serde_json::value::RawValue;

use super::canonical::write_json_string;
use crate::store::layout::is_safe_component;

/// Messages per bucket.
pub(super) const MESSAGES_PER_BUCKET: usize = 64;

/// What a bucket blob's name ends with, in `messages/` (`000000.jsonl`, `000001.jsonl`, ...).
pub(super) const BUCKET_SUFFIX: &str = ".jsonl";

/// The name of bucket `index` in `messages/`.
pub(super) fn bucket_name(index: usize) -> String {
    format!("{index:06}{BUCKET_SUFFIX}")
}

/// Appends the line of message `id` whose canonical JSON is `body`.
pub(super) fn push_line(out: &mut Vec<u8>, id: &str, body: &[u8]) {
    out.push(b'[');
    write_json_string(id, out);
    out.push(b',');
    out.extend_from_slice(body);
    out.extend_from_slice(b"]\n");
}

/// The lines of a bucket blob.
pub(super) fn lines(blob: &[u8]) -> impl Iterator<Item = &[u8]> {
    line_ranges(blob).into_iter().map(move |r| &blob[r])
}

/// Where each line of a bucket blob is, without its newline.
pub(super) fn line_ranges(blob: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(MESSAGES_PER_BUCKET);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', blob).chain(std::iter::once(blob.len())) {
        if end > start {
            out.push(start..end);
        }
        start = end + 1;
    }
    out
}

/// The message id and canonical JSON of a line this build wrote, without validating the JSON
/// (for the save cache, which only reads buckets it wrote itself); `None` when the line does
/// not have the shape.
pub(super) fn split_trusted(line: &[u8]) -> Option<(&str, &[u8])> {
    let rest = line.strip_prefix(b"[\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    let body = rest[end + 1..].strip_prefix(b",")?.strip_suffix(b"]")?;
    is_safe_component(id).then_some((id, body))
}

/// The message id of a line, read from its start only (listing ids reads no message).
pub(super) fn line_id(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"[\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    is_safe_component(id).then_some(id)
}

/// The message id and canonical JSON text of a stored line, the JSON validated.
pub(super) fn split_validated(line: &str) -> Result<(&str, &str), String> {
    let (id, body): (&str, &RawValue) = serde_json::from_str(line).map_err(|e| e.to_string())?;
    crate::session::model::check_json(body.get()).map_err(|e| e.to_string())?;
    if !is_safe_component(id) {
        return Err(format!("a line names message {id:?}"));
    }
    Ok((id, body.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_back_into_its_id_and_json() {
        let mut blob = Vec::new();
        push_line(&mut blob, "msg_1", br#"{"a":"x\ny"}"#);
        push_line(&mut blob, "msg_2", b"[]");
        let all: Vec<&[u8]> = lines(&blob).collect();
        assert_eq!(all.len(), 2, "one line per message: {blob:?}");
        assert_eq!(
            split_trusted(all[0]),
            Some(("msg_1", &br#"{"a":"x\ny"}"#[..]))
        );
        assert_eq!(line_id(all[1]), Some("msg_2"));
        let text = std::str::from_utf8(all[0]).unwrap();
        assert_eq!(split_validated(text), Ok(("msg_1", r#"{"a":"x\ny"}"#)));
        assert!(
            split_validated(r#"["msg_1",{"a":]"#).is_err(),
            "truncated JSON"
        );
        assert!(split_validated(r#"["../x",{}]"#).is_err(), "unsafe id");
    }
}
