//! Randomness checks: Shannon entropy and the shapes of values that look random but are not
//! secrets (hashes, commit ids, UUIDs, paths, identifiers, placeholders).
//!
//! The high-entropy rule (a long value right after a secret-ish keyword) accepts a value only
//! when [`looks_random`] says so; every other rule uses [`is_placeholder`] and friends to leave
//! variable references and example values alone.

/// Shannon entropy of `s` in bits per byte: 0 for `aaaa`, 4 for 16 equally used symbols, at most
/// `log2(len)` for a string of distinct bytes.
pub fn shannon(s: &str) -> f64 {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// True for hexadecimal text of hash-like length (7 or more digits): git commit ids, SHA-1,
/// SHA-256, MD5 digests. Such values are never redacted by the untargeted rules.
pub fn is_hex(s: &str) -> bool {
    s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for a UUID (`8-4-4-4-12` hex digits, any case).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// True for a content hash written with its algorithm: `sha512-<base64>` (lockfile integrity),
/// `sha256:<hex>` (image digests), `sha1-...`, `md5-...`.
/// An algorithm name followed by another separator (`sha256~...`, OpenShift's tokens) is not one.
pub fn is_labelled_hash(s: &str) -> bool {
    let lower = s.get(..9).unwrap_or(s).to_ascii_lowercase();
    [
        "sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b", "blake2s", "blake2",
        "blake3",
    ]
    .iter()
    .any(|p| {
        lower
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', ':', '=', '_']))
    })
}

/// The label of a PEM block written in base64 (`LS0tLS1CRUdJTi...` is `-----BEGIN`, as
/// kubeconfig's `client-key-data` and Kubernetes secrets hold them): `RSA PRIVATE KEY`,
/// `CERTIFICATE`; `None` when `s` is no such thing.
pub fn base64_pem_label(s: &str) -> Option<String> {
    if !s.starts_with("LS0tLS1CRUdJTi") {
        return None;
    }
    let head = s.get(..s.len().min(96) / 4 * 4)?;
    let mut bytes = Vec::with_capacity(head.len() / 4 * 3);
    for chunk in head.as_bytes().chunks(4) {
        let mut n = 0u32;
        for &c in chunk {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => 0,
            };
            n = (n << 6) | u32::from(v);
        }
        bytes.extend_from_slice(&n.to_be_bytes()[1..]);
    }
    let text = String::from_utf8_lossy(&bytes);
    let label = text.strip_prefix("-----BEGIN ")?;
    let end = label.find("-----")?;
    Some(label[..end].to_owned())
}

/// True for a base64 PEM block that holds a private key (not a certificate or public key).
pub fn is_base64_private_key(s: &str) -> bool {
    base64_pem_label(s).is_some_and(|label| label.ends_with("PRIVATE KEY"))
}

/// True for values that stand for a secret without being one: variable references (`$TOKEN`,
/// `${TOKEN}`, `%TOKEN%`, `{{ token }}`, `<token>`), masks (`****`, `xxxxxxxx`), markers left by
/// an earlier redaction, and words such as `null`, `none`, `true`, `changeme`-style examples.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return true;
    }
    let first = t.as_bytes()[0];
    if matches!(
        first,
        b'$' | b'%' | b'<' | b'{' | b'[' | b'!' | b'@' | b'&' | b'*'
    ) {
        return true;
    }
    // An encrypted value (SOPS `ENC[AES256_GCM,...]`, Jasypt `ENC(...)`) is safe to share.
    if t.contains("REDACTED")
        || t.contains("${")
        || t.contains("{{")
        || t.starts_with("ENC[")
        || t.starts_with("ENC(")
    {
        return true;
    }
    // One symbol repeated: ****, xxxx, ...., ----, 0000.
    let mut chars = t.chars();
    let c0 = chars.next().unwrap_or(' ').to_ascii_lowercase();
    if chars.all(|c| c.to_ascii_lowercase() == c0) {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    const WORDS: [&str; 42] = [
        "allow",
        "deny",
        "warn",
        "forbid",
        "enabled",
        "disabled",
        "unused",
        "unknown",
        "error",
        "invalid",
        "missing",
        "ignore",
        "pass",
        "passwd",
        "pwd",
        "pw",
        "user",
        "username",
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "string",
        "str",
        "bool",
        "boolean",
        "number",
        "int",
        "bytes",
        "secret",
        "password",
        "token",
        "optional",
        "required",
        "redacted",
        "hidden",
        "masked",
        "unset",
        "empty",
        "default",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    const PARTS: [&str; 6] = [
        "example",
        "placeholder",
        "your_",
        "your-",
        "insert_",
        "xxxxxx",
    ];
    PARTS.iter().any(|p| lower.contains(p)) || is_made_up(&lower)
}

/// True for a value typed by hand rather than generated: a run of the alphabet ten long
/// (`abcdefghij...`, `ABCDEF...`), or a mask of `#` (`xoxp-...-####`).
fn is_made_up(lower: &str) -> bool {
    if lower.contains("####") {
        return true;
    }
    let mut run = 1;
    for w in lower.as_bytes().windows(2) {
        run = if w[0].is_ascii_lowercase() && w[1] == w[0] + 1 {
            run + 1
        } else {
            1
        };
        if run >= 10 {
            return true;
        }
    }
    false
}

/// True for one word of an identifier: lowercase (`init`, `u64`, `nl80211`), uppercase
/// (`XXH3`, `IFLA`) or camel case whose humps are words (`initCustomSecret`, `Colon2`), with
/// digits only at the end of a run. Random text (`aB3dE5fG`) breaks these shapes at once.
pub fn is_word(segment: &str) -> bool {
    if segment.bytes().all(|c| c.is_ascii_digit()) {
        return !segment.is_empty() && segment.len() <= 4;
    }
    // Digits that end a hump (`Utf8Error`, `Colon2`, `nl80211`) are set aside; digits followed
    // by a lowercase letter (`3dE5`) are not.
    let b = segment.as_bytes();
    let mut core = String::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let ends_hump = j == b.len() || b[j].is_ascii_uppercase();
            if i > 0 && ends_hump {
                continue;
            }
        }
        core.push(c as char);
    }
    let core = core.as_str();
    // Letters, then digits (`nl80211`, `epi32`): the core is all letters.
    let letters = core.bytes().all(|c| c.is_ascii_alphabetic());
    if !letters {
        return false;
    }
    if core.bytes().all(|c| c.is_ascii_lowercase()) || core.bytes().all(|c| c.is_ascii_uppercase())
    {
        return true;
    }
    // Camel case: every run starting at a capital (and a leading lowercase run) has at least
    // two letters, and no two capitals follow each other.
    let b = core.as_bytes();
    if b.windows(2)
        .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase())
    {
        return false;
    }
    let mut run = 0;
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            if run < 2 {
                return false;
            }
            run = 0;
        }
        run += 1;
    }
    run >= 2
}

/// True for a code reference rather than a literal: a dotted path of identifiers
/// (`self.token`, `config.api_key`, `node.dot2_token`, `process.env.TOKEN`), a range
/// (`start..end`), or an identifier made of words (`api_key_from_env`, `readToken`,
/// `_bindgen_ty_3`, `XXH3_initCustomSecret_scalar`).
pub fn is_code_reference(s: &str) -> bool {
    if s.is_empty() || s.len() > 96 {
        return false;
    }
    if s.contains("..") {
        return s.split("..").all(|p| p.is_empty() || identifier(p, false));
    }
    if s.contains('.') {
        let parts: Vec<&str> = s.split('.').collect();
        return parts.len() >= 2 && parts.iter().all(|p| identifier(p, false));
    }
    identifier(s, true)
}

/// An identifier of words joined by `_`; with `strict`, a single word must be camel case (a
/// lone lowercase word may well be a password).
fn identifier(s: &str, strict: bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty()
        || !(b[0].is_ascii_alphabetic() || b[0] == b'_')
        || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return false;
    }
    let words: Vec<&str> = s.split('_').filter(|w| !w.is_empty()).collect();
    if words.is_empty() || !words.iter().all(|w| is_word(w)) {
        return false;
    }
    if !strict || words.len() >= 2 || s.starts_with('_') {
        return true;
    }
    // `readToken`: a lowercase letter followed by a capital (`Hunter22` is a word, not code).
    words[0]
        .as_bytes()
        .windows(2)
        .any(|w| (w[0].is_ascii_lowercase() || w[0].is_ascii_digit()) && w[1].is_ascii_uppercase())
}

/// True for a file system path (`/run/user/1000/bus`, `./secrets.env`, `~/.ssh/id_ed25519`,
/// `C:\Users`), never a secret by itself.
pub fn is_path(s: &str) -> bool {
    let b = s.as_bytes();
    if s.starts_with("./") || s.starts_with("../") || s.starts_with("~/") {
        return true;
    }
    if b.len() > 2 && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/') {
        return true;
    }
    if s.starts_with('/') {
        // `/` and name-like segments, one of them a lowercase word (`/tmp`, `/run`, `/home`);
        // base64 may start with `/` too, but holds `+` or `=`, or no such word.
        let segments: Vec<&str> = s.split('/').filter(|p| !p.is_empty()).collect();
        return !s.contains(['+', '='])
            && segments.iter().any(|p| {
                p.len() >= 3
                    && p.bytes()
                        .all(|c| c.is_ascii_lowercase() || c == b'.' || c == b'-' || c == b'_')
            });
    }
    false
}

/// True when `s` looks like a random credential: long enough, several character classes,
/// high Shannon entropy, and none of the benign shapes (hex hashes, UUIDs, labelled hashes,
/// paths, URLs, code references, placeholders).
pub fn looks_random(s: &str) -> bool {
    if s.len() < 20
        || is_hex(s)
        || is_uuid(s)
        || is_labelled_hash(s)
        || is_path(s)
        || is_placeholder(s)
        || is_code_reference(s)
        || s.contains("://")
    {
        return false;
    }
    // SSH public keys (`AAAAB3NzaC1yc2E...`) and certificates in base64 PEM
    // (`certificate-authority-data` in a kubeconfig) are published on purpose.
    if s.starts_with("AAAA") || base64_pem_label(s).is_some_and(|l| !l.ends_with("PRIVATE KEY")) {
        return false;
    }
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    let digit = s.bytes().any(|b| b.is_ascii_digit());
    let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
    if classes < 2 || !digit {
        return false;
    }
    // Words joined by separators (`some-long-package-name-2`) are not random.
    let separators = s
        .bytes()
        .filter(|b| matches!(b, b'-' | b'_' | b'.'))
        .count();
    if separators * 6 > s.len() {
        return false;
    }
    shannon(s) >= threshold(s.len())
}

/// The entropy a random value of `len` characters over base62/base64 reaches with room to
/// spare: about `log2(len)` minus a margin for short values, capped at 4.2 bits.
fn threshold(len: usize) -> f64 {
    ((len as f64).log2() - 0.9).clamp(3.3, 4.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(shannon(""), 0.0);
        assert_eq!(shannon("aaaa"), 0.0);
        assert!((shannon("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon("0123456789abcdef") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn random_values_look_random() {
        assert!(looks_random("q8Fz2LmX9vTb4RkWc7NpYd3H"));
        assert!(looks_random("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"));
        assert!(looks_random("4bT9/xQz+Lm2Wv8Rk1Nc5Yp0Hd7Ej3Ga"));
        assert!(
            looks_random("/Tq8Fz2LmX9vTb4RkWc7N/pYd3H0a"),
            "base64 may start with /"
        );
    }

    #[test]
    fn benign_shapes_never_look_random() {
        for benign in [
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "123e4567-e89b-12d3-a456-426614174000",
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "/run/user/1000/keyring/ssh",
            "/tmp/ssh-XXXXq8Fz2LmX9vTb/agent.1234",
            "AAAAC3NzaC1lZDI1NTE5AAAAIKk2Mv5Y1example",
            "process.env.GITHUB_TOKEN",
            "api_key_from_the_environment",
            "some-long-package-name-2-0-1",
            "https://example.com/a1B2c3D4e5F6g7H8",
            "ThisIsAVeryLongIdentifierName",
            "${{ secrets.NPM_TOKEN_FOR_RELEASES }}",
        ] {
            assert!(!looks_random(benign), "{benign} must not look random");
        }
    }

    #[test]
    fn placeholders_and_code_references() {
        for p in [
            "$TOKEN",
            "${TOKEN}",
            "<your-token>",
            "****",
            "xxxxxxxx",
            "null",
            "changeme_example",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(!is_placeholder("hunter22"));
        assert!(is_code_reference("self.password"));
        assert!(is_code_reference("readPassword"));
        assert!(is_code_reference("api_key_value"));
        for code in [
            "_bindgen_ty_3",
            "XXH3_initCustomSecret_scalar",
            "vreinterpretq_u64_u8",
            "nl80211_key_attributes",
            "self.dot2_token.clone",
            "start..end",
            "Colon2Token",
        ] {
            assert!(is_code_reference(code), "{code}");
        }
        for literal in [
            "aB3dE5fG7hJ9kL1m",
            "q8Fz2LmX_9vTb4RkWc7N",
            "hunter",
            "Hunter22x9Q",
        ] {
            assert!(!is_code_reference(literal), "{literal}");
        }
        assert!(!is_code_reference("hunter2"));
        assert!(!is_code_reference("s3cr3t.pa55"));
    }

    #[test]
    fn hashes_and_uuids_are_recognised() {
        assert!(is_hex("b6c46e0"));
        assert!(!is_hex("b6c46e"));
        assert!(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
        assert!(is_labelled_hash("sha256:0123abcd"));
        assert!(is_labelled_hash("sha512-z4PhNX7vuL3xVChQ1m2A"));
        assert!(is_labelled_hash("md5:0123abcd"));
        assert!(
            !is_labelled_hash("sha256~q8Fz2LmX9vTb4RkWc7NpYd3H"),
            "an OpenShift token"
        );
    }

    #[test]
    fn base64_pem_blocks_are_told_apart() {
        // `-----BEGIN ` in base64, then the rest of each header: split, so that this file (part
        // of the clean corpus of tests/it/redaction.rs) holds no base64 private key itself.
        let begin = "LS0tLS1CRUdJTi";
        let rsa = format!("{begin}{}", "BSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF");
        assert_eq!(base64_pem_label(&rsa).as_deref(), Some("RSA PRIVATE KEY"));
        assert!(is_base64_private_key(&format!(
            "{begin}{}",
            "BQUklWQVRFIEtFWS0tLS0tCk1JSUV2"
        )));
        let cert = format!("{begin}{}", "BDRVJUSUZJQ0FURS0tLS0tCk1JSUM");
        assert!(!is_base64_private_key(&cert));
        assert!(!looks_random(&format!(
            "{cert}{}",
            "vakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Fo"
        )));
        assert_eq!(base64_pem_label("q8Fz2LmX9vTb4RkWc7NpYd3H"), None);
    }
}
