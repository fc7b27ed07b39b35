//! Giving stored message text back without parsing it into values.
//!
//! A stored message is canonical JSON in which a split-out string stands as a marker
//! (`"\u0000blob:<id>"`) and a machine path as a placeholder (`{git-session:checkout}`). Reading
//! a session back only has to rewrite those strings: everything else is copied as it is, so a
//! session of many megabytes is read at the speed of copying bytes, and held once, as text.

use crate::session::portable::INTRODUCER;

/// What starts a value string that holds a marker, as canonical JSON escapes it.
const ESCAPED_NUL: &str = "\\u0000";

/// Copies the validated JSON `text` to `out`, handing every value string (object keys stay) that
/// starts with NUL, or holds [`INTRODUCER`] when `expanding`, to `rewrite` unescaped; `rewrite`
/// appends what stands in its place, as a JSON string.
pub(super) fn restore_text<E, F>(
    text: &str,
    expanding: bool,
    out: &mut Vec<u8>,
    rewrite: &mut F,
    corrupt: &dyn Fn(String) -> E,
) -> Result<(), E>
where
    F: FnMut(String, &mut Vec<u8>) -> Result<(), E>,
{
    let bytes = text.as_bytes();
    out.reserve(bytes.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(open) = memchr::memchr(b'"', &bytes[at..]).map(|i| at + i) {
        let close = string_end(bytes, open + 1)
            .ok_or_else(|| corrupt("a string is not terminated".into()))?;
        let is_key = bytes.get(close + 1) == Some(&b':');
        let content = &text[open + 1..close];
        if !is_key
            && (content.starts_with(ESCAPED_NUL) || (expanding && content.contains(INTRODUCER)))
        {
            out.extend_from_slice(&bytes[copied..open]);
            let string: String = serde_json::from_str(&text[open..=close])
                .map_err(|e| corrupt(format!("a string does not decode ({e})")))?;
            rewrite(string, out)?;
            copied = close + 1;
        }
        at = close + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    Ok(())
}

/// The index of the quote that ends the JSON string whose content starts at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &bytes[from..])?;
        if bytes[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
        if from > bytes.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::codec::canonical::write_json_string;

    fn run(text: &str, expanding: bool) -> String {
        let mut out = Vec::new();
        restore_text(
            text,
            expanding,
            &mut out,
            &mut |s: String, out: &mut Vec<u8>| {
                write_json_string(&format!("<{s}>"), out);
                Ok::<(), String>(())
            },
            &|e| e,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_marked_value_strings_are_rewritten() {
        let text = r#"{"\u0000key":"\u0000blob:ab","k":["a\"\\","{git-session:home}/x"],"n":1}"#;
        assert_eq!(
            run(text, false),
            r#"{"\u0000key":"<\u0000blob:ab>","k":["a\"\\","{git-session:home}/x"],"n":1}"#
        );
        assert_eq!(
            run(text, true),
            r#"{"\u0000key":"<\u0000blob:ab>","k":["a\"\\","<{git-session:home}/x>"],"n":1}"#
        );
        assert_eq!(run(r#""plain""#, true), r#""plain""#);
    }
}
