//! Similarity keys: names that make git put similar large strings next to each other.
//!
//! `git pack-objects` looks for delta bases among objects whose path names hash alike (its name
//! hash is made of a path's last 16 characters), and a thin push only offers the receiver's object
//! *at the same path* as a base. So a split-out string is named after a key that stays the same
//! when its content changes a little (a file re-read after an edit, a command run again): a
//! min-hash over its lines. Two versions of a file share the key with a probability equal to the
//! share of lines they have in common.

/// Lines shorter than this are ignored: `}` and blank lines occur everywhere and would make
/// unrelated strings share a key.
const MIN_LINE: usize = 8;

/// Returns a 16-hex-digit similarity key for `text`.
pub fn similarity_key(text: &str) -> String {
    let mut min = u64::MAX;
    let mut counted = 0usize;
    for line in text.split('\n') {
        let line = line.trim();
        if line.len() >= MIN_LINE {
            min = min.min(fnv1a(line.as_bytes()));
            counted += 1;
        }
    }
    if counted < 3 {
        // Few lines (a long single-line value): fall back to fixed chunks.
        for chunk in text.as_bytes().chunks(64) {
            min = min.min(fnv1a(chunk));
        }
    }
    format!("{min:016x}")
}

/// 64-bit FNV-1a: tiny, fast enough, and the same on every platform and build.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(lines: usize, edit: Option<usize>) -> String {
        (0..lines)
            .map(|i| {
                if Some(i) == edit {
                    format!("    let value_{i} = compute_something_else({i});")
                } else {
                    format!("    let value_{i} = compute_something({i});")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn an_edited_file_usually_keeps_its_key() {
        let original = similarity_key(&file(200, None));
        let kept = (0..200)
            .filter(|&i| similarity_key(&file(200, Some(i))) == original)
            .count();
        // One edited line of 200 changes the min-hash only when the old line held the minimum
        // or the new line undercuts it: about 2 cases in 200.
        assert!(kept >= 194, "kept {kept} of 200");
    }

    #[test]
    fn different_content_gets_different_keys() {
        let a = similarity_key(&file(50, None));
        let b =
            similarity_key("completely different\noutput of some other\ncommand that ran here\n");
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn keys_are_stable_across_runs() {
        assert_eq!(
            similarity_key("hello world, this is a line\nand another one here\nthird line of text"),
            similarity_key("hello world, this is a line\nand another one here\nthird line of text")
        );
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
