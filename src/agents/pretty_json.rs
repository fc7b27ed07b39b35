//! JSON text written out pretty without parsing it into values.
//!
//! `show` of a long session writes megabytes of JSON: reformatting the stored text directly is
//! several times faster than parsing it into a `serde_json::Value` and serialising that, and
//! holds nothing but the text. The output is byte for byte what `serde_json::to_string_pretty`
//! writes for the same (valid) JSON: two-space indents, `": "`, empty `{}` and `[]` kept short;
//! strings and numbers as the input spells them.

use std::io::{self, Write};

/// Writes the valid JSON `text` (compact or not) pretty, as if nested `depth` levels deep (the
/// first line is not indented, the following ones are).
pub fn write_pretty(text: &[u8], depth: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut depth = depth;
    let mut at = 0;
    let mut buf: Vec<u8> = Vec::with_capacity(text.len().min(1 << 16) + 64);
    while at < text.len() {
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
        let b = text[at];
        match b {
            b'"' => {
                let end = string_end(text, at + 1);
                buf.extend_from_slice(&text[at..end]);
                at = end;
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = skip_space(text, at + 1);
                if text.get(next) == Some(&close) {
                    buf.push(b);
                    buf.push(close);
                    at = next + 1;
                } else {
                    depth += 1;
                    buf.push(b);
                    newline(&mut buf, depth);
                    at += 1;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut buf, depth);
                buf.push(b);
                at += 1;
            }
            b',' => {
                buf.push(b',');
                newline(&mut buf, depth);
                at += 1;
            }
            b':' => {
                buf.extend_from_slice(b": ");
                at += 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => at += 1,
            _ => {
                // A number or a literal: up to the next structural character or space.
                let end = text[at..]
                    .iter()
                    .position(|c| b",:{}[] \n\r\t\"".contains(c))
                    .map_or(text.len(), |i| at + i);
                buf.extend_from_slice(&text[at..end]);
                at = end;
            }
        }
    }
    out.write_all(&buf)
}

fn newline(buf: &mut Vec<u8>, depth: usize) {
    buf.push(b'\n');
    for _ in 0..depth {
        buf.extend_from_slice(b"  ");
    }
}

fn skip_space(text: &[u8], mut at: usize) -> usize {
    while matches!(text.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// The index just past the quote that ends the string whose content starts at `from`.
fn string_end(text: &[u8], mut from: usize) -> usize {
    loop {
        match memchr::memchr2(b'"', b'\\', &text[from.min(text.len())..]) {
            Some(i) if text[from + i] == b'"' => return from + i + 1,
            Some(i) => from += i + 2,
            None => return text.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn pretty(text: &str, depth: usize) -> String {
        let mut out = Vec::new();
        write_pretty(text.as_bytes(), depth, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_output_is_what_serde_json_writes_pretty() {
        let value = json!({"a": [1, -2.5, 1e300, true, null, {}, [], [{}]], "b": {"c": "q\"\\\n{[,:]}"},
            "e": {}, "é": "ü", "n": [[1, 2], {"x": []}]});
        let compact = serde_json::to_string(&value).unwrap();
        let want = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(pretty(&compact, 0), want);
        assert_eq!(
            pretty(&want, 0),
            want,
            "already pretty input is reformatted alike"
        );
        let spaced = " { \"a\" :\n[ 1 , 2 ] , \"b\" : { } } ";
        assert_eq!(
            pretty(spaced, 0),
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(spaced).unwrap()).unwrap()
        );
    }

    #[test]
    fn nested_output_indents_from_its_depth() {
        let inner = json!({"k": [1]});
        let outer = json!({"list": [inner]});
        let want = serde_json::to_string_pretty(&outer).unwrap();
        let inner_text = pretty(&inner.to_string(), 2);
        assert_eq!(
            want,
            format!("{{\n  \"list\": [\n    {inner_text}\n  ]\n}}")
        );
    }
}
