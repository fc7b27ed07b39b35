//! The machine-independent stored form of a session: the paths of the saver's machine (its
//! checkout root, its home directory, and whatever roots the agent names) become placeholders at
//! save and are expanded again at read.
//!
//! A save contracts every string of the session (not object keys) before redaction: each
//! occurrence of a root, in each spelling agents write it (plain, JSON-escaped, in a `file://` URL
//! percent-encoded), that starts and ends on a path component becomes `{git-session:<name>}`
//! (`{git-session:<name>/json}`, `/url`, `/uri`), and any `{git-session:` already in the text
//! becomes `{git-session:lit}`, so the stored text always decodes back exactly. The roots are
//! recorded in the save's trailers ([`super::trailers::SaveTrailers::paths`]): `show` expands with
//! them (what the saver's machine read), `load` with this machine's. The same message saved on two
//! machines is then the same blob, and a merge compares only what really differs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use serde_json::Value;

use super::model::{Body, Session};

/// What starts every placeholder in stored text.
pub const INTRODUCER: &str = "{git-session:";
/// The placeholder standing for a literal [`INTRODUCER`] in the original text.
const LITERAL: &str = "lit";

/// What Node's `pathToFileURL` (and the WHATWG URL parser) percent-encode in a path.
const URL_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'\\');

/// What Python's `pathlib.Path.as_uri` (`urllib.parse.quote`) percent-encode in a path.
const URI_STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The roots of one machine that a stored session names by placeholder, by name (`checkout`,
/// `home`, or a root an agent adds), in the order given (the first of two equal roots wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachinePaths {
    entries: Vec<(String, String)>,
}

impl MachinePaths {
    /// No roots: stored text is only escaped.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds root `name` at `path`, unless it is too short to stand for anything (`/`, empty), has
    /// a name already given, or the name is not made of ASCII letters, digits and `-`.
    pub fn with(mut self, name: &str, path: &str) -> Self {
        let usable = path.trim_end_matches('/').len() >= 2;
        let named = !name.is_empty()
            && name != LITERAL
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if usable && named && self.get(name).is_none() {
            self.entries
                .push((name.to_owned(), path.trim_end_matches('/').to_owned()));
        }
        self
    }

    /// The path of root `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }

    /// The roots, in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// These roots, then those of `fallback` whose names these lack (a root this machine does
    /// not have is expanded as the saver had it).
    pub fn or(&self, fallback: &MachinePaths) -> MachinePaths {
        let mut out = self.clone();
        for (name, path) in &fallback.entries {
            if out.get(name).is_none() {
                out.entries.push((name.clone(), path.clone()));
            }
        }
        out
    }

    /// Identifies the roots, for a save cache made with them.
    pub fn id(&self) -> u128 {
        if self.entries.is_empty() {
            return 0;
        }
        let mut text = String::from("paths");
        for (name, path) in &self.entries {
            text.push_str(&format!("\n{name}\n{path}"));
        }
        xxhash_rust::xxh3::xxh3_128(text.as_bytes())
    }

    /// Every spelling of every root: (root name, spelling suffix, text); the suffix is empty
    /// for the plain path, and a spelling equal to the plain path is left out.
    fn spellings(&self) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        for (name, path) in &self.entries {
            let plain = path.clone();
            let json = json_escaped(path);
            let url = percent_encoding::utf8_percent_encode(path, URL_PATH).to_string();
            let uri = percent_encoding::utf8_percent_encode(path, URI_STRICT).to_string();
            out.push((name.clone(), "", plain.clone()));
            for (suffix, text) in [("json", json), ("url", url), ("uri", uri)] {
                if text != plain {
                    out.push((name.clone(), suffix, text));
                }
            }
        }
        out
    }
}

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string always serialises");
    quoted[1..quoted.len() - 1].to_owned()
}

/// Contracts a session's strings to the stored form for one machine's roots.
pub struct Contractor {
    id: u128,
    ac: AhoCorasick,
    /// The root and spelling of each pattern; `None` for the introducer (escaped, with no
    /// boundaries).
    tokens: Vec<Option<(String, &'static str)>>,
    /// The roots whose URL spelling differs from their plain path.
    encoded: Vec<String>,
}

impl Contractor {
    /// For the roots in `paths`.
    pub fn new(paths: &MachinePaths) -> Self {
        let mut patterns = vec![INTRODUCER.to_owned()];
        let mut tokens = vec![None];
        for (name, suffix, text) in paths.spellings() {
            if !patterns.contains(&text) {
                patterns.push(text);
                tokens.push(Some((name, suffix)));
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("plain string patterns");
        let encoded = paths
            .spellings()
            .into_iter()
            .filter(|(_, suffix, _)| *suffix == "url")
            .map(|(name, _, _)| name)
            .collect();
        Contractor {
            id: paths.id(),
            ac,
            tokens,
            encoded,
        }
    }

    /// The contractor for `paths`, built once for as long as the same roots are asked for: an
    /// import of thousands of sessions saved from one checkout builds its automaton once, not
    /// once a session.
    pub fn shared(paths: &MachinePaths) -> Arc<Contractor> {
        static LAST: LastBuilt<Contractor> = LastBuilt::new();
        LAST.get(paths, || Contractor::new(paths))
    }

    /// Identifies the roots contracted (0 for none), for a save cache made with them.
    pub fn id(&self) -> u128 {
        self.id
    }

    /// The stored form of `s`, or `None` when it is the same.
    pub fn contract_str(&self, s: &str) -> Option<String> {
        let mut matches: Vec<(usize, usize, usize)> = self
            .ac
            .find_overlapping_iter(s)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        if matches.is_empty() {
            return None;
        }
        // Leftmost first, then longest: the longest root that starts and ends on a component.
        matches.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for (start, end, pattern) in matches {
            if start < last {
                continue;
            }
            let token = match &self.tokens[pattern] {
                None => format!("{INTRODUCER}{LITERAL}}}"),
                Some((name, suffix)) if starts_component(s, start) && ends_component(s, end) => {
                    // In a file URL, a path that percent-encoding leaves alone is also its URL
                    // spelling: the same URL on a machine whose path needs encoding is then the
                    // same placeholder (and this one expands back to exactly this text).
                    let suffix = match *suffix {
                        "" if s[..start].ends_with("file://") && !self.encoded.contains(name) => {
                            "url"
                        }
                        other => other,
                    };
                    if suffix.is_empty() {
                        format!("{INTRODUCER}{name}}}")
                    } else {
                        format!("{INTRODUCER}{name}/{suffix}}}")
                    }
                }
                Some(_) => continue,
            };
            out.push_str(&s[last..start]);
            out.push_str(&token);
            last = end;
        }
        if last == 0 {
            return None;
        }
        out.push_str(&s[last..]);
        Some(out)
    }

    /// Contracts every string in `value` (object keys stay); returns how many changed.
    pub fn contract_value(&self, value: &mut Value) -> usize {
        rewrite(value, &|s| self.contract_str(s))
    }
}

/// Whether a root may start at `at`: the character before it does not continue a name.
fn starts_component(s: &str, at: usize) -> bool {
    s[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
}

/// Whether a root may end at `at`: the next character does not continue its last component.
fn ends_component(s: &str, at: usize) -> bool {
    let mut chars = s[at..].chars();
    match chars.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '_' || c == '-' => false,
        Some('.') => !chars.next().is_some_and(char::is_alphanumeric),
        Some(_) => true,
    }
}

/// The last value built for one set of roots, handed out again while the same roots are asked
/// for.
struct LastBuilt<T>(Mutex<Option<(MachinePaths, Arc<T>)>>);

impl<T> LastBuilt<T> {
    const fn new() -> Self {
        LastBuilt(Mutex::new(None))
    }

    /// The value for `paths`: the last one when it was built for them, else `build`'s.
    fn get(&self, paths: &MachinePaths, build: impl FnOnce() -> T) -> Arc<T> {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some((built_for, value)) if built_for == paths => Arc::clone(value),
            _ => {
                let value = Arc::new(build());
                *last = Some((paths.clone(), Arc::clone(&value)));
                value
            }
        }
    }
}

/// Expands stored text for one machine's roots.
pub struct Expander {
    values: HashMap<String, String>,
}

impl Expander {
    /// For the roots in `paths`.
    pub fn new(paths: &MachinePaths) -> Self {
        let mut values: HashMap<String, String> = paths
            .spellings()
            .into_iter()
            .map(|(name, suffix, text)| match suffix {
                "" => (name, text),
                _ => (format!("{name}/{suffix}"), text),
            })
            .collect();
        // A root whose spelling equals its plain text has no entry of its own for that spelling.
        for (name, path) in paths.entries() {
            for suffix in ["json", "url", "uri"] {
                values
                    .entry(format!("{name}/{suffix}"))
                    .or_insert_with(|| path.clone());
            }
        }
        values.insert(LITERAL.to_owned(), INTRODUCER.to_owned());
        Expander { values }
    }

    /// The text `s` stands for, or `None` when it holds no placeholder. A placeholder of a root
    /// not given stays as it is.
    pub fn expand_str(&self, s: &str) -> Option<String> {
        if !s.contains(INTRODUCER) {
            return None;
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find(INTRODUCER) {
            out.push_str(&rest[..at]);
            let after = &rest[at + INTRODUCER.len()..];
            match after
                .find('}')
                .and_then(|end| Some((end, self.values.get(&after[..end])?)))
            {
                Some((end, value)) => {
                    out.push_str(value);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(INTRODUCER);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Some(out)
    }

    /// Expands every string in `value` (object keys stay); returns how many changed.
    pub fn expand_value(&self, value: &mut Value) -> usize {
        rewrite(value, &|s| self.expand_str(s))
    }
}

fn rewrite(value: &mut Value, f: &dyn Fn(&str) -> Option<String>) -> usize {
    match value {
        Value::String(s) => match f(s) {
            Some(new) => {
                *s = new;
                1
            }
            None => 0,
        },
        Value::Array(items) => items.iter_mut().map(|v| rewrite(v, f)).sum(),
        Value::Object(map) => map.values_mut().map(|v| rewrite(v, f)).sum(),
        _ => 0,
    }
}

/// Contracts a session (root, messages, children) to its stored form for `paths`; with no
/// roots, only escapes. Used on saves of the earlier format, which stored the text as it was.
pub fn contract(session: &mut Session, paths: &MachinePaths) {
    let contractor = Contractor::new(paths);
    contract_with(session, &contractor);
}

fn contract_with(session: &mut Session, contractor: &Contractor) {
    contractor.contract_value(&mut session.info);
    for message in &mut session.messages {
        let mut value = message.body.value().into_owned();
        if contractor.contract_value(&mut value) > 0 {
            message.body = Body::Parsed(value);
        }
    }
    for child in &mut session.children {
        contract_with(child, contractor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn a() -> MachinePaths {
        MachinePaths::none()
            .with("checkout", "/home/alice/work/my project")
            .with("home", "/home/alice/")
            .with("slug", "-home-alice-work-my-project")
    }

    fn b() -> MachinePaths {
        MachinePaths::none()
            .with("checkout", "/srv/bob/co")
            .with("home", "/srv/bob")
            .with("slug", "-srv-bob-co")
    }

    #[test]
    fn what_is_built_for_some_roots_is_built_again_only_for_other_roots() {
        let last = LastBuilt::new();
        let builds = std::cell::Cell::new(0);
        let build = |paths: &MachinePaths| {
            last.get(paths, || {
                builds.set(builds.get() + 1);
                paths.id()
            })
        };
        assert_eq!(*build(&a()), a().id());
        assert_eq!(*build(&a()), a().id());
        assert_eq!(builds.get(), 1, "the same roots: built once");
        assert_eq!(*build(&b()), b().id());
        assert_eq!(*build(&a()), a().id());
        assert_eq!(builds.get(), 3);
        assert_eq!(Contractor::shared(&a()).id(), a().id());
    }

    #[test]
    fn every_spelling_becomes_a_placeholder_and_comes_back_exactly() {
        let text = "cd /home/alice/work/my project/src && cat /home/alice/.bashrc; \
            file:///home/alice/work/my%20project/a.rs file:///home/alice/work/my%20project \
            {\"cwd\":\"/home/alice/work/my project\"} ~/.claude/projects/-home-alice-work-my-project/x.jsonl \
            not /home/alice/work/my project2 nor /home/alicex nor /x/home/alice, but /home/alice.";
        let c = Contractor::new(&a());
        let stored = c.contract_str(text).unwrap();
        assert!(
            stored.contains("/x/home/alice,"),
            "only on a component: {stored}"
        );
        assert!(stored.contains("{git-session:checkout}/src"), "{stored}");
        assert!(stored.contains("{git-session:home}/.bashrc"), "{stored}");
        assert!(
            stored.contains("file://{git-session:checkout/url}/a.rs"),
            "{stored}"
        );
        assert!(stored.contains("projects/{git-session:slug}/x"), "{stored}");
        assert_eq!(Expander::new(&a()).expand_str(&stored).unwrap(), text);
        let there = Expander::new(&b()).expand_str(&stored).unwrap();
        assert!(
            there.starts_with("cd /srv/bob/co/src && cat /srv/bob/.bashrc;"),
            "{there}"
        );
        assert!(there.contains("file:///srv/bob/co/a.rs"), "{there}");
        assert!(there.contains("projects/-srv-bob-co/x.jsonl"), "{there}");
    }

    #[test]
    fn text_that_already_holds_placeholders_round_trips() {
        for text in [
            "{git-session:checkout}/x",
            "{git-session:lit}",
            "{git-session:{git-session:home}}",
            "{git-session:",
            "a{git-session:nope}b /home/alice/x",
        ] {
            let stored = Contractor::new(&a())
                .contract_str(text)
                .unwrap_or(text.to_owned());
            for paths in [a(), b()] {
                assert_eq!(
                    Expander::new(&paths)
                        .expand_str(&stored)
                        .unwrap_or(stored.clone()),
                    text.replace("/home/alice", paths.get("home").unwrap_or("/home/alice")),
                    "{text} stored as {stored}"
                );
            }
        }
    }

    #[test]
    fn a_file_url_is_one_placeholder_whether_or_not_the_path_needs_encoding() {
        let at_a = Contractor::new(&a())
            .contract_str("see file:///home/alice/work/my%20project/x.rs")
            .unwrap();
        let at_b = Contractor::new(&b())
            .contract_str("see file:///srv/bob/co/x.rs")
            .unwrap();
        assert_eq!(at_a, at_b);
        assert_eq!(at_a, "see file://{git-session:checkout/url}/x.rs");
        let raw = "file:///home/alice/work/my project/x.rs";
        let stored = Contractor::new(&a()).contract_str(raw).unwrap();
        assert_eq!(
            Expander::new(&a()).expand_str(&stored).unwrap(),
            raw,
            "a URL written without encoding comes back as written"
        );
    }

    #[test]
    fn a_json_escaped_root_has_its_own_placeholder() {
        let paths = MachinePaths::none().with("checkout", "C:\\Users\\a\\p");
        let text = json!({"cmd": "type C:\\Users\\a\\p\\x", "json": "{\"cwd\":\"C:\\\\Users\\\\a\\\\p\"}"});
        let mut value = text.clone();
        Contractor::new(&paths).contract_value(&mut value);
        assert_eq!(value["json"], "{\"cwd\":\"{git-session:checkout/json}\"}");
        assert_eq!(value["cmd"], "type {git-session:checkout}\\x");
        Expander::new(&paths).expand_value(&mut value);
        assert_eq!(value, text);
    }

    #[test]
    fn roots_too_short_or_badly_named_are_not_used() {
        let p = MachinePaths::none()
            .with("home", "/")
            .with("lit", "/x/y")
            .with("a b", "/x/y")
            .with("checkout", "/x/y")
            .with("checkout", "/z");
        assert_eq!(p.entries(), &[("checkout".to_owned(), "/x/y".to_owned())]);
    }
}
