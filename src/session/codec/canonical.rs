//! Canonical JSON: compact, object keys sorted, so equal content always gets the same bytes.

use std::convert::Infallible;
use std::io::Write;

use serde_json::Value;

/// Bytes of `value` as canonical JSON with every string inline (no splitting).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(()) = write_canonical(value, &mut out, &mut |s, out| {
        write_json_string(s, out);
        Ok::<(), Infallible>(())
    });
    out
}

/// Writes `value` as canonical JSON, the one writer of it: compact, object keys sorted, numbers
/// and strings escaped as serde_json writes them. Every string value is handed to `string` to
/// write (the encoder splits long ones out; [`canonical_json`] writes them inline); keys are
/// always written inline.
pub(super) fn write_canonical<E, F>(
    value: &Value,
    out: &mut Vec<u8>,
    string: &mut F,
) -> std::result::Result<(), E>
where
    F: FnMut(&str, &mut Vec<u8>) -> std::result::Result<(), E>,
{
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(s, out)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out, string)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sorted here, whatever order the map keeps, so the bytes never depend on how
            // serde_json was built.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_canonical(&map[key.as_str()], out, string)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Writes `s` as a JSON string with serde_json's escaping: the same bytes for the same string on
/// every machine.
pub(super) fn write_json_string(s: &str, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, s);
}
