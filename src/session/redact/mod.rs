//! Secret redaction: every string of a session passes through a [`Redactor`] before a save
//! writes any object, so secrets never reach a pushable ref.
//!
//! A found secret is replaced by `[REDACTED:<rule-id>]` and the rest of the text is kept, so the
//! session stays readable and loadable. The rules in force are the built-in ones ([`rules`])
//! plus the user's (`session.redactRule` in git config, see [`config`]), never fewer; an
//! allowlist (`session.redactAllow`) keeps matches it recognises.
//!
//! How a string is searched:
//! 1. One Aho-Corasick pass over the string finds the rules' keywords (`ghp_`, `AKIA`,
//!    `password`, `-----BEGIN`, ...); a rule whose keywords are all absent does not run.
//! 2. Each remaining rule's regex (the `regex` crate: linear time, no catastrophic backtracking
//!    on hostile input) yields candidates; the rule's check drops placeholders, hashes, code
//!    references and the like, or narrows the span to the secret itself.
//! 3. Candidates inside a marker (`[REDACTED:...]`, so redaction is idempotent) or a `data:`
//!    URL's base64 payload are dropped, as are those an allow pattern matches.
//! 4. Overlapping candidates merge; the merged span is named after its highest-priority rule.
//!
//! A JSON string whose object key names a secret (`{"password": "..."}`) is also judged as a
//! whole, as if it were written `password = "..."`; keys themselves are never changed.

pub mod config;
pub mod entropy;
pub mod generated;
pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;
use serde_json::Value;

use super::codec::Redact;
pub use config::{ConfigError, RedactConfig, UserRule};
use rules::{Anchor, Check, Groups, Spec, ANCHORS, BUILTIN};

/// Strings shorter than this hold no secret any rule could find.
const MIN_LEN: usize = 8;

/// The id of the rule a JSON value under a secret-naming key is reported as.
const ASSIGNMENT_RULE: &str = "secret-assignment";

/// One found secret: the rule that named it and its byte range in the searched text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<'r> {
    /// The rule id (as in the marker).
    pub rule: &'r str,
    /// Where the secret is, in bytes.
    pub span: Range<usize>,
}

struct Compiled {
    regex: Regex,
    /// The same pattern anchored at the start of the haystack.
    anchored: Option<Regex>,
    /// Capture groups that hold the secret, in order of preference.
    groups: Vec<usize>,
}

struct Rule {
    id: String,
    pattern: String,
    check: Check,
    /// Where matches start: `Anywhere` searches the text, the others run an anchored copy of the
    /// regex at each keyword.
    anchor: Anchor,
    compiled: OnceLock<Compiled>,
}

impl Rule {
    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let mut compiled = compile(&self.pattern)
                .expect("built-in rules compile (a unit test compiles them all)");
            if self.anchor != Anchor::Anywhere {
                let anchored = compile(&format!("^(?:{})", self.pattern))
                    .expect("an anchored built-in rule compiles");
                compiled.anchored = Some(anchored.regex);
            }
            compiled
        })
    }
}

fn compile(pattern: &str) -> Result<Compiled, regex::Error> {
    let regex = regex::bytes::RegexBuilder::new(pattern)
        .size_limit(32 << 20)
        .build()?;
    let named: Vec<usize> = regex
        .capture_names()
        .enumerate()
        .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
        .map(|(i, _)| i)
        .collect();
    let groups = if !named.is_empty() {
        named
    } else if regex.captures_len() > 1 {
        vec![1]
    } else {
        vec![0]
    };
    Ok(Compiled {
        regex,
        anchored: None,
        groups,
    })
}

/// A keyword automaton and, for each of its patterns, the rule it enables.
struct Keywords {
    automaton: AhoCorasick,
    /// For each pattern of the automaton, the rules it enables.
    rules_of: Vec<Vec<usize>>,
}

impl Keywords {
    /// One automaton for every keyword, ignoring ASCII case (a prefilter: a rule whose keyword
    /// is found in another case only runs its regex for nothing). Overlapping search, so a
    /// keyword inside another (`sk-` in `sk-ant-`) is found too.
    fn build(pairs: Vec<(String, usize)>) -> Option<Self> {
        let mut by_keyword: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (keyword, rule) in pairs {
            by_keyword
                .entry(keyword.to_ascii_lowercase())
                .or_default()
                .push(rule);
        }
        if by_keyword.is_empty() {
            return None;
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(by_keyword.keys())
            .expect("keywords build an automaton");
        Some(Keywords {
            automaton,
            rules_of: by_keyword.into_values().collect(),
        })
    }

    /// Marks the rules whose keywords occur in `text`, and records where the keywords of the
    /// anchored rules start (`hits[rule]`).
    fn mark(&self, text: &str, on: &mut [bool], anchored: &[bool], hits: &mut [Vec<usize>]) {
        for m in self.automaton.find_overlapping_iter(text.as_bytes()) {
            for &rule in &self.rules_of[m.pattern().as_usize()] {
                on[rule] = true;
                if anchored[rule] {
                    hits[rule].push(m.start());
                }
            }
        }
    }
}

/// The redaction pass: built-in rules, the user's rules and allowlist, compiled once.
pub struct Redactor {
    rules: Vec<Rule>,
    keywords: Option<Keywords>,
    /// Rules without keywords (user rules): they run on every string.
    always: Vec<usize>,
    /// For each rule, whether it runs anchored at its keywords.
    anchored: Vec<bool>,
    allow: Vec<regex::Regex>,
    assignment: usize,
    id: u128,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("rules", &self.rules.len())
            .field("allow", &self.allow.len())
            .field("id", &format_args!("{:032x}", self.id))
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::builtin()
    }
}

fn check_user(text: &str, _: &Groups, span: Range<usize>) -> Option<Range<usize>> {
    (!text[span.clone()].trim().is_empty()).then_some(span)
}

impl Redactor {
    /// The built-in rules only.
    pub fn builtin() -> Self {
        Self::new(&[], &[]).expect("the built-in rules need no configuration")
    }

    /// The built-in rules plus `user` rules (placed after the specific built-in rules, before
    /// the generic ones), keeping any match one of the `allow` patterns matches.
    ///
    /// An invalid user rule or allow pattern is an error naming its config key: a rule is never
    /// silently dropped.
    pub fn new(user: &[UserRule], allow: &[String]) -> Result<Self, ConfigError> {
        let mut rules = Vec::with_capacity(BUILTIN.len() + user.len());
        let mut keywords = Vec::new();
        let mut always = Vec::new();
        let mut add_builtin = |spec: &Spec, rules: &mut Vec<Rule>| {
            let index = rules.len();
            for k in spec.keywords {
                keywords.push(((*k).to_owned(), index));
            }
            rules.push(Rule {
                id: spec.id.to_owned(),
                pattern: spec.pattern.to_owned(),
                check: spec.check,
                anchor: ANCHORS
                    .iter()
                    .find(|(id, _)| *id == spec.id)
                    .map_or(Anchor::Anywhere, |(_, a)| *a),
                compiled: OnceLock::new(),
            });
        };
        for spec in BUILTIN.iter().filter(|s| !s.generic) {
            add_builtin(spec, &mut rules);
        }
        for rule in user {
            config::check_rule_name(rule)?;
            let compiled = compile(&rule.pattern).map_err(|e| ConfigError::BadRule {
                value: format!("{}={}", rule.name, rule.pattern),
                problem: regex_problem(&e),
            })?;
            always.push(rules.len());
            let cell = OnceLock::new();
            let _ = cell.set(compiled);
            rules.push(Rule {
                id: rule.name.clone(),
                pattern: rule.pattern.clone(),
                check: check_user,
                anchor: Anchor::Anywhere,
                compiled: cell,
            });
        }
        for spec in BUILTIN.iter().filter(|s| s.generic) {
            add_builtin(spec, &mut rules);
        }
        let allow = allow
            .iter()
            .map(|p| {
                regex::Regex::new(p).map_err(|e| ConfigError::BadAllow {
                    value: p.clone(),
                    problem: regex_problem(&e),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let assignment = rules
            .iter()
            .position(|r| r.id == ASSIGNMENT_RULE)
            .expect("the assignment rule is built in");
        let anchored = rules.iter().map(|r| r.anchor != Anchor::Anywhere).collect();
        let id = rules_id(&rules, allow.iter().map(regex::Regex::as_str));
        Ok(Redactor {
            rules,
            keywords: Keywords::build(keywords),
            always,
            anchored,
            allow,
            assignment,
            id,
        })
    }

    /// The ids of the rules in force, in priority order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Finds the secrets in `text`, merged and in text order. Detect-only: nothing changes.
    pub fn find(&self, text: &str) -> Vec<Finding<'_>> {
        self.find_in(text, None)
    }

    /// Finds the secrets in `text`, the value of the JSON object key `key` when given.
    fn find_in(&self, text: &str, key: Option<&str>) -> Vec<Finding<'_>> {
        // The whole string, judged as a quoted literal assigned to that key.
        let whole = key.is_some_and(|k| {
            key_may_name_secret(k) && rules::assigned_value_is_secret(k, text, false, false, false)
        });
        if text.len() < MIN_LEN && !whole {
            return Vec::new();
        }
        let mut on = vec![false; self.rules.len()];
        let mut hits: Vec<Vec<usize>> = vec![Vec::new(); self.rules.len()];
        if let Some(k) = &self.keywords {
            k.mark(text, &mut on, &self.anchored, &mut hits);
        }
        for &i in &self.always {
            on[i] = true;
        }
        let mut candidates: Vec<(Range<usize>, usize)> = Vec::new();
        if whole && !self.allow.iter().any(|a| a.is_match(text)) {
            candidates.push((0..text.len(), self.assignment));
        }
        if !on.iter().any(|&o| o) && candidates.is_empty() {
            return Vec::new();
        }
        let protected = protected_spans(text);
        let accept = |span: Range<usize>| -> Option<Range<usize>> {
            let span = char_aligned(text, span);
            (span.start < span.end
                && !protected
                    .iter()
                    .any(|p| p.start < span.end && span.start < p.end)
                && !self.allow.iter().any(|a| a.is_match(&text[span.clone()])))
            .then_some(span)
        };
        let bytes = text.as_bytes();
        for (index, rule) in self.rules.iter().enumerate() {
            if !on[index] {
                continue;
            }
            let compiled = rule.compiled();
            if let Some(anchored) = &compiled.anchored {
                // Matches start at a keyword (or at the start of the key holding it): try the
                // anchored regex there only, not over the whole text.
                let starts = anchors(bytes, &hits[index], rule.anchor);
                let mut covered = 0;
                for start in starts {
                    if start < covered {
                        continue;
                    }
                    let Some(caps) = anchored.captures(&bytes[start..]) else {
                        continue;
                    };
                    let whole = caps.get(0).expect("group 0 always matches");
                    let secret = compiled
                        .groups
                        .iter()
                        .find_map(|&g| caps.get(g))
                        .unwrap_or(whole)
                        .range();
                    let secret = secret.start + start..secret.end + start;
                    let groups = Groups::new(&caps, start);
                    if let Some(span) = (rule.check)(text, &groups, secret).and_then(accept) {
                        candidates.push((span, index));
                        covered = start + whole.end();
                    }
                }
                continue;
            }
            let mut at = 0;
            while at <= bytes.len() {
                let Some(caps) = compiled.regex.captures_at(bytes, at) else {
                    break;
                };
                let whole = caps.get(0).expect("group 0 always matches");
                let secret = compiled
                    .groups
                    .iter()
                    .find_map(|&g| caps.get(g))
                    .unwrap_or(whole)
                    .range();
                let secret_start = secret.start;
                let groups = Groups::new(&caps, 0);
                match (rule.check)(text, &groups, secret).and_then(accept) {
                    Some(span) => {
                        candidates.push((span, index));
                        at = whole.end().max(whole.start() + 1);
                    }
                    // Rejected: look again from inside it, so a key whose value was not a
                    // secret does not hide a secret later in that value.
                    None => at = secret_start.max(whole.start() + 1),
                }
            }
        }
        merge(candidates)
            .into_iter()
            .map(|(span, index)| Finding {
                rule: &self.rules[index].id,
                span,
            })
            .collect()
    }

    /// Returns `text` with every secret replaced by its marker, counting them per rule in
    /// `found`; `None` when nothing was found.
    pub fn redact_text(&self, text: &str, found: &mut BTreeMap<String, usize>) -> Option<String> {
        self.redact_in(text, None, found)
    }

    fn redact_in(
        &self,
        text: &str,
        key: Option<&str>,
        found: &mut BTreeMap<String, usize>,
    ) -> Option<String> {
        let findings = self.find_in(text, key);
        if findings.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in &findings {
            out.push_str(&text[last..f.span.start]);
            out.push_str("[REDACTED:");
            out.push_str(f.rule);
            out.push(']');
            last = f.span.end;
            *found.entry(f.rule.to_owned()).or_default() += 1;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    /// Counts the secrets in every string of `value` per rule, changing nothing (what a save
    /// would redact).
    pub fn scan_value(&self, value: &Value, found: &mut BTreeMap<String, usize>) {
        self.walk_scan(value, None, found);
    }

    fn walk_scan(&self, value: &Value, key: Option<&str>, found: &mut BTreeMap<String, usize>) {
        match value {
            Value::String(s) => {
                for f in self.find_in(s, key) {
                    *found.entry(f.rule.to_owned()).or_default() += 1;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_scan(item, None, found);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.walk_scan(item, Some(key), found);
                }
            }
            _ => {}
        }
    }

    fn walk(&self, value: &mut Value, key: Option<&str>, memo: &mut Memo) {
        match value {
            Value::String(s) => {
                if let Some(new) = memo.redact(self, s, key) {
                    *s = new;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, None, memo);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    self.walk(item, Some(key), memo);
                }
            }
            _ => {}
        }
    }
}

/// Results of the long strings of one value: an agent may keep a command's output twice
/// (`state.output` and `state.metadata.output`), which is then searched once.
struct Memo<'f> {
    found: &'f mut BTreeMap<String, usize>,
    seen: HashMap<u128, (Option<String>, BTreeMap<String, usize>)>,
}

impl Memo<'_> {
    /// Strings shorter than this are searched again rather than hashed and remembered.
    const MIN: usize = 512;

    fn redact(&mut self, redactor: &Redactor, text: &str, key: Option<&str>) -> Option<String> {
        if text.len() < Self::MIN {
            return redactor.redact_in(text, key, self.found);
        }
        let mut id = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
        if key.is_some_and(key_may_name_secret) {
            // The key changes the verdict: remember such strings apart.
            id ^= xxhash_rust::xxh3::xxh3_128(key.unwrap_or("").as_bytes()).rotate_left(1);
        }
        let (new, counts) = self.seen.entry(id).or_insert_with(|| {
            let mut counts = BTreeMap::new();
            let new = redactor.redact_in(text, key, &mut counts);
            (new, counts)
        });
        for (rule, n) in counts.iter() {
            *self.found.entry(rule.clone()).or_default() += n;
        }
        new.clone()
    }
}

impl Redact for Redactor {
    fn rules_id(&self) -> u128 {
        self.id
    }

    fn redact(&self, value: &mut Value, found: &mut BTreeMap<String, usize>) {
        let mut memo = Memo {
            found,
            seen: HashMap::new(),
        };
        self.walk(value, None, &mut memo);
    }
}

/// A regex error on one line: the `regex` crate's own message spans several, with a caret
/// under the offending spot.
fn regex_problem(e: &regex::Error) -> String {
    let text = e.to_string();
    match text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
    {
        Some(reason) => format!("not a valid regex: {reason}"),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A cheap test before [`rules::key_names_secret`]: does the key contain a secret-ish word?
fn key_may_name_secret(key: &str) -> bool {
    const WORDS: [&str; 7] = ["pass", "pwd", "secret", "token", "cred", "auth", "key"];
    let lower = key.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// A hash of everything that decides what is redacted: the checks' revision, each rule's id,
/// pattern and keywords, the user's rules, and the allowlist.
fn rules_id<'a>(rules: &[Rule], allow: impl Iterator<Item = &'a str>) -> u128 {
    let mut text = format!("git-session-redact rev {}\n", rules::REVISION);
    for spec in BUILTIN {
        text.push_str(&format!("keywords {} {:?}\n", spec.id, spec.keywords));
    }
    for rule in rules {
        text.push_str(&format!("rule {}\0{}\n", rule.id, rule.pattern));
    }
    for a in allow {
        text.push_str(&format!("allow {a}\n"));
    }
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// Spans no rule may redact: markers of an earlier redaction and the payload of base64 `data:`
/// URLs (images, fonts), which are content, not credentials.
fn protected_spans(text: &str) -> Vec<Range<usize>> {
    static MARKER: OnceLock<Regex> = OnceLock::new();
    static DATA_URL: OnceLock<Regex> = OnceLock::new();
    let mut out = Vec::new();
    if text.contains("[REDACTED:") {
        let marker = MARKER.get_or_init(|| {
            Regex::new(r"(?-u)\[REDACTED:[A-Za-z0-9._\-]{1,64}\]").expect("marker pattern")
        });
        out.extend(marker.find_iter(text.as_bytes()).map(|m| m.range()));
    }
    if text.contains(";base64,") {
        let data = DATA_URL.get_or_init(|| {
            Regex::new(r"(?i-u)data:[a-z]+/[a-z0-9.+\-]+(?:;[a-z0-9.\-]+=[a-z0-9.\-]+)*;base64,[a-z0-9+/=]+")
                .expect("data URL pattern")
        });
        out.extend(data.find_iter(text.as_bytes()).map(|m| m.range()));
    }
    out
}

/// Where an anchored rule's matches may start, ascending: each keyword hit, or the start of the
/// run of key characters (`[A-Za-z0-9_.-]`) around it.
fn anchors(bytes: &[u8], hits: &[usize], anchor: Anchor) -> Vec<usize> {
    let mut out: Vec<usize> = match anchor {
        Anchor::Anywhere => Vec::new(),
        Anchor::Keyword => hits.to_vec(),
        Anchor::KeyStart => {
            let key_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
            let mut sorted = hits.to_vec();
            sorted.sort_unstable();
            let mut out = Vec::with_capacity(sorted.len());
            // The run start of the previous hit, and how far the run was seen to go on.
            let mut run: Option<(usize, usize)> = None;
            for hit in sorted {
                let start = match run {
                    Some((start, seen)) if hit <= seen => start,
                    Some((start, seen)) if bytes[seen..hit].iter().all(|&b| key_byte(b)) => start,
                    _ => {
                        let mut start = hit;
                        while start > 0 && key_byte(bytes[start - 1]) {
                            start -= 1;
                        }
                        start
                    }
                };
                run = Some((start, hit));
                out.push(start);
            }
            out
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Widens a byte span to whole characters (a bounded repetition may stop inside one).
fn char_aligned(text: &str, mut span: Range<usize>) -> Range<usize> {
    while !text.is_char_boundary(span.start) {
        span.start -= 1;
    }
    while !text.is_char_boundary(span.end) {
        span.end += 1;
    }
    span
}

/// Merges overlapping candidates; a merged span takes the name of its highest-priority rule
/// (the lowest index).
fn merge(mut candidates: Vec<(Range<usize>, usize)>) -> Vec<(Range<usize>, usize)> {
    candidates.sort_by_key(|(span, index)| (span.start, *index));
    let mut out: Vec<(Range<usize>, usize)> = Vec::with_capacity(candidates.len());
    for (span, index) in candidates {
        match out.last_mut() {
            Some((last, last_index)) if span.start < last.end => {
                last.end = last.end.max(span.end);
                *last_index = (*last_index).min(index);
            }
            _ => out.push((span, index)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
