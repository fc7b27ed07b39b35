//! Deterministic generator of one growing OpenCode session, for the storage benchmark.
//!
//! Everything random comes from one xorshift PRNG with a fixed seed, so every run writes the same
//! bytes (given the same source files). File contents are real text, so that zlib and git's delta
//! search behave as they do on real sessions: the crate's own `src/`, and the `gix-*` and
//! `serde_json` sources in the cargo registry (generated code-like text when it is missing).
//!
//! The session follows what `opencode export` prints (OpenCode 1.18, see
//! `/work/shared/reference/opencode.md`): 2-space pretty JSON, keys in OpenCode's order, ids that
//! sort by creation, user messages with `summary.diffs`, assistant messages made of `step-start`,
//! `reasoning`, `text`, `tool` (`read`, `bash`, `grep`, `edit`), `step-finish` and `patch` parts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the generated project lives, as OpenCode records it in paths.
pub const PROJECT_DIR: &str = "/home/dev/project";

/// Start of the session's clock (epoch ms), taken from the real example exports.
const START_MS: i64 = 1_795_313_149_649;

// ------------------------------------------------------------------------------------------------
// PRNG

/// xorshift64* PRNG: tiny, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A number between `lo` and `hi`, log-uniformly distributed.
    pub fn log_range(&mut self, lo: usize, hi: usize) -> usize {
        let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
        (l + self.unit() * (h - l)).exp() as usize
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `n` random base62 characters.
    pub fn base62(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }

    /// `n` random lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.below(16) as u32, 16).expect("hex digit"))
            .collect()
    }
}

/// 64-bit FNV-1a, to pick and order files independently of which other files exist.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

// ------------------------------------------------------------------------------------------------
// JSON with OpenCode's key order, printed like `JSON.stringify(value, null, 2)`

/// A JSON value whose objects keep their keys in insertion order.
pub enum J {
    /// An integer.
    Int(i64),
    /// A float (printed in its shortest round-trip form).
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object, keys in order.
    Obj(Vec<(&'static str, J)>),
}

fn s(text: impl Into<String>) -> J {
    J::Str(text.into())
}

fn int(n: i64) -> J {
    J::Int(n)
}

fn obj(pairs: Vec<(&'static str, J)>) -> J {
    J::Obj(pairs)
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn push_json_string(out: &mut String, text: &str) {
    // JSON.stringify and serde_json escape the same characters.
    out.push_str(&serde_json::to_string(text).expect("strings always serialize"));
}

impl J {
    /// Appends the value pretty-printed, its first line already indented to `depth`.
    pub fn write(&self, out: &mut String, depth: usize) {
        match self {
            J::Int(n) => {
                let _ = write!(out, "{n}");
            }
            J::Num(x) => {
                let _ = write!(out, "{x}");
            }
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Str(text) => push_json_string(out, text),
            J::Arr(items) if items.is_empty() => out.push_str("[]"),
            J::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            J::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            J::Obj(pairs) => {
                out.push_str("{\n");
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, depth + 1);
                    push_json_string(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Corpus: real source files and prose

/// One file of the generated project.
pub struct SourceFile {
    /// Path relative to the project root (`src/...`, `crates/<name>/src/...`).
    pub rel: String,
    /// Its text.
    pub text: String,
}

/// The texts the session is made of.
pub struct Corpus {
    /// The project's files, sorted by path.
    pub files: Vec<SourceFile>,
    /// Sentences (doc comments of the sources) for prompts, reasoning and answers.
    pub prose: Vec<String>,
    /// `name vX.Y.Z` of the crates a `cargo build` compiles.
    pub crates: Vec<String>,
    /// Where the files come from, for the report.
    pub origin: String,
}

/// Out of 1000: the share of registry source files that belong to the project.
const REGISTRY_SHARE: u64 = 550;

impl Corpus {
    /// Loads the crate's `src/` and the `gix-*`/`serde_json` sources of the cargo registry under
    /// `cargo_home`; falls back to generated code-like text when the registry has none.
    pub fn load(main_src: &Path, cargo_home: Option<&Path>) -> Corpus {
        let mut files = Vec::new();
        for path in rust_files(main_src) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let rel = path.strip_prefix(main_src).expect("under src");
                files.push(SourceFile {
                    rel: format!("src/{}", rel.display()),
                    text,
                });
            }
        }
        let own = files.len();
        let mut crates = Vec::new();
        let mut registry_files = 0;
        let mut seen = std::collections::HashSet::new();
        if let Some(home) = cargo_home {
            for index in sorted_dirs(&home.join("registry").join("src")) {
                for krate in sorted_dirs(&index) {
                    let dir_name = krate.file_name().unwrap_or_default().to_string_lossy();
                    let Some((name, version)) = split_crate_dir(&dir_name) else {
                        continue;
                    };
                    crates.push(format!("{name} v{version}"));
                    if !(name.starts_with("gix-") || name == "gix" || name == "serde_json") {
                        continue;
                    }
                    let src = krate.join("src");
                    for path in rust_files(&src) {
                        let rel = format!(
                            "crates/{name}/src/{}",
                            path.strip_prefix(&src).expect("under src").display()
                        );
                        // Chosen by a hash of the path: the same files whatever else exists.
                        if fnv1a(rel.as_bytes()) % 1000 >= REGISTRY_SHARE
                            || !seen.insert(rel.clone())
                        {
                            continue;
                        }
                        match std::fs::read_to_string(&path) {
                            Ok(text) if text.len() >= 300 => {
                                files.push(SourceFile { rel, text });
                                registry_files += 1;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        let origin = if registry_files > 0 {
            format!(
                "{own} files of src/ and {registry_files} of the gix-*/serde_json sources in the cargo registry"
            )
        } else {
            let mut rng = Rng::new(7);
            for i in 0..150 {
                files.push(synthetic_file(&mut rng, i));
            }
            crates = (0..60)
                .map(|i| format!("{} v0.{}.{}", synthetic_ident(&mut rng, i), i % 9, i % 4))
                .collect();
            format!("{own} files of src/ and 150 generated files (no cargo registry found)")
        };
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let mut prose = Vec::new();
        for file in &files {
            for line in file.text.lines() {
                let t = line.trim_start();
                let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
                    continue;
                };
                let doc = doc.trim();
                if doc.len() >= 25
                    && doc.contains(' ')
                    && !doc.starts_with('#')
                    && !doc.starts_with("```")
                    && !doc.starts_with('|')
                {
                    prose.push(doc.to_owned());
                }
            }
        }
        if prose.len() < 50 {
            let mut rng = Rng::new(11);
            prose.extend((0..500).map(|_| synthetic_sentence(&mut rng)));
        }
        Corpus {
            files,
            prose,
            crates,
            origin,
        }
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Rust keywords and attribute names that a warning never names as a variable.
const KEYWORDS: &[&str] = &[
    "pub", "let", "mut", "use", "mod", "impl", "for", "cfg", "self", "Self", "struct", "enum",
    "match", "return", "where", "crate", "super", "const", "static", "type", "trait", "async",
    "await", "move", "ref", "true", "false", "else", "loop", "while", "dyn", "unsafe", "derive",
    "allow", "test", "doc",
];

/// `gix-pack-0.77.0` -> (`gix-pack`, `0.77.0`).
fn split_crate_dir(name: &str) -> Option<(String, String)> {
    let pos = name
        .char_indices()
        .filter(|&(i, c)| c == '-' && name[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next_back()?;
    Some((name[..pos].to_owned(), name[pos + 1..].to_owned()))
}

const SYLLABLES: &[&str] = &[
    "pack", "tree", "blob", "ref", "odb", "index", "delta", "hash", "walk", "commit", "store",
    "file", "entry", "object", "cache", "lock", "path", "name", "kind", "data", "head", "base",
];

const WORDS: &[&str] = &[
    "the",
    "object",
    "is",
    "written",
    "to",
    "a",
    "pack",
    "when",
    "its",
    "delta",
    "base",
    "exists",
    "and",
    "we",
    "read",
    "each",
    "entry",
    "of",
    "tree",
    "before",
    "returning",
    "ids",
    "in",
    "order",
    "this",
    "keeps",
    "memory",
    "small",
    "while",
    "iterating",
    "over",
    "all",
    "refs",
    "that",
    "match",
];

fn synthetic_ident(rng: &mut Rng, salt: usize) -> String {
    format!(
        "{}_{}{}",
        rng.pick(SYLLABLES),
        rng.pick(SYLLABLES),
        if salt.is_multiple_of(3) { "s" } else { "" }
    )
}

fn synthetic_sentence(rng: &mut Rng) -> String {
    let n = rng.range(8, 20);
    let mut words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
    words.push("needed.");
    let mut text = words.join(" ");
    text[..1].make_ascii_uppercase();
    text
}

fn synthetic_file(rng: &mut Rng, i: usize) -> SourceFile {
    let module = synthetic_ident(rng, i);
    let mut text = format!(
        "//! {}\n\nuse std::collections::HashMap;\n\nuse crate::{{Error, Result}};\n\n",
        synthetic_sentence(rng)
    );
    for f in 0..rng.range(5, 30) {
        let (a, b, c) = (
            synthetic_ident(rng, f),
            synthetic_ident(rng, f + 1),
            synthetic_ident(rng, f + 2),
        );
        let _ = write!(
            text,
            "/// {}\npub fn {a}({b}: &[u8], {c}: usize) -> Result<Vec<u8>> {{\n    let mut out = Vec::with_capacity({c});\n    for (i, byte) in {b}.iter().enumerate() {{\n        if i >= {c} {{\n            return Err(Error::TooLong {{ len: {b}.len(), max: {c} }});\n        }}\n        out.push(byte ^ {n});\n    }}\n    Ok(out)\n}}\n\n",
            synthetic_sentence(rng),
            n = rng.below(256),
        );
    }
    SourceFile {
        rel: format!("src/{module}_{i}.rs"),
        text,
    }
}

// ------------------------------------------------------------------------------------------------
// The session

/// What a message adds to the session's totals (`info.tokens`, `cost`, `summary`).
#[derive(Default, Clone)]
struct MsgStats {
    updated: i64,
    input: i64,
    output: i64,
    reasoning: i64,
    cache_read: i64,
    cache_write: i64,
    cost: f64,
    additions: i64,
    deletions: i64,
    files: Vec<String>,
}

/// Counts of what was generated, for the report.
#[derive(Default, Clone, Debug)]
pub struct Counts {
    /// Parts of every type.
    pub parts: BTreeMap<String, usize>,
    /// Tool parts by tool.
    pub tools: BTreeMap<String, usize>,
    /// `read` parts that re-read a file read before.
    pub rereads: usize,
    /// Of those, re-reads of a file edited since it was last read.
    pub rereads_after_edit: usize,
}

/// One generated session: pretty-printed messages and what the session info needs.
pub struct Generated {
    /// The session id.
    pub session_id: String,
    /// Each message pretty-printed as an element of `messages` (indented, no trailing comma).
    pub messages: Vec<String>,
    stats: Vec<MsgStats>,
    created: i64,
    /// Counts over all messages.
    pub counts: Counts,
}

/// One edit, as the user message's `summary.diffs` and `git diff` show it.
#[derive(Clone)]
struct EditRecord {
    rel: String,
    hunk: String,
    additions: i64,
    deletions: i64,
}

struct SessionGen<'a> {
    rng: Rng,
    corpus: &'a Corpus,
    /// Current contents of the project's files (edits change them).
    files: Vec<String>,
    /// Order in which files are read for the first time.
    first_reads: Vec<usize>,
    next_first: usize,
    /// Files read so far, in order (with repeats).
    reads: Vec<usize>,
    /// Files edited since they were last read.
    edited_unread: Vec<usize>,
    all_edits: Vec<EditRecord>,
    tests: Vec<String>,
    test_binary: String,
    log_lines: Vec<String>,
    clock: i64,
    id_seq: u64,
    last_id: u64,
    session_id: String,
    context: i64,
    snapshot: String,
    counts: Counts,
    mix: Mix,
}

/// What tool outputs a generated session repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// As a coding session goes: a third of the reads re-read a file read before (half of them
    /// after an edit), `git status` shows the same recent commits.
    Coding,
    /// Tool outputs are mostly new text: every read is of a file not read before, every
    /// `git status` lists commits not seen before.
    Fresh,
}

/// Generates one session of exactly `messages` messages (a coding session's mix).
#[allow(dead_code)] // each bench includes this module; not every one uses every item
pub fn generate(corpus: &Corpus, seed: u64, messages: usize) -> Generated {
    generate_with(corpus, seed, messages, Mix::Coding)
}

/// Generates one session of exactly `messages` messages whose tool outputs repeat as `mix` says.
pub fn generate_with(corpus: &Corpus, seed: u64, messages: usize, mix: Mix) -> Generated {
    let mut rng = Rng::new(seed);
    let mut order: Vec<(u64, usize)> = corpus
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (fnv1a(format!("{seed}:{}", f.rel).as_bytes()), i))
        .collect();
    order.sort();
    let session_id = format!(
        "ses_{:012x}{}",
        !((START_MS as u64) * 0x1000) & 0xffff_ffff_ffff,
        rng.base62(14)
    );
    let tests = find_tests(corpus);
    let test_binary = rng.hex(16);
    let log_lines = (0..40)
        .map(|_| {
            let sentence = rng.pick(&corpus.prose).clone();
            format!("{} {}", rng.hex(7), truncate_chars(&sentence, 72))
        })
        .collect();
    let snapshot = rng.hex(40);
    let mut g = SessionGen {
        rng,
        corpus,
        files: corpus.files.iter().map(|f| f.text.clone()).collect(),
        first_reads: order.into_iter().map(|(_, i)| i).collect(),
        next_first: 0,
        reads: Vec::new(),
        edited_unread: Vec::new(),
        all_edits: Vec::new(),
        tests,
        test_binary,
        log_lines,
        clock: START_MS,
        id_seq: 0,
        last_id: 0,
        session_id: session_id.clone(),
        context: 12_000,
        snapshot,
        counts: Counts::default(),
        mix,
    };
    let created = g.clock;
    let mut out: Vec<(J, MsgStats)> = Vec::with_capacity(messages + 16);
    while out.len() < messages {
        g.turn(&mut out);
    }
    out.truncate(messages);
    let mut rendered = Vec::with_capacity(out.len());
    let mut stats = Vec::with_capacity(out.len());
    for (message, stat) in out {
        let mut text = String::with_capacity(4096);
        indent(&mut text, 2);
        message.write(&mut text, 2);
        rendered.push(text);
        stats.push(stat);
    }
    Generated {
        session_id,
        messages: rendered,
        stats,
        created,
        counts: g.counts,
    }
}

impl Generated {
    /// The export of the session's first `n` messages, as `opencode export` prints it.
    pub fn export(&self, n: usize) -> String {
        let body: usize = self.messages[..n].iter().map(|m| m.len() + 2).sum();
        let mut out = String::with_capacity(body + 4096);
        out.push_str("{\n  \"info\": ");
        self.info(n).write(&mut out, 1);
        out.push_str(",\n  \"messages\": [\n");
        for (i, message) in self.messages[..n].iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str(message);
        }
        out.push_str("\n  ]\n}\n");
        out
    }

    fn info(&self, n: usize) -> J {
        let mut total = MsgStats::default();
        let mut files = std::collections::BTreeSet::new();
        for st in &self.stats[..n] {
            total.updated = total.updated.max(st.updated);
            total.input += st.input;
            total.output += st.output;
            total.reasoning += st.reasoning;
            total.cache_read += st.cache_read;
            total.cache_write += st.cache_write;
            total.cost += st.cost;
            total.additions += st.additions;
            total.deletions += st.deletions;
            files.extend(st.files.iter().cloned());
        }
        let rule = |permission: &str| {
            obj(vec![
                ("permission", s(permission)),
                ("pattern", s("*")),
                ("action", s("deny")),
            ])
        };
        obj(vec![
            ("id", s(&self.session_id)),
            ("slug", s("quiet-harbor")),
            ("projectID", s("3a74d2fee8076fff93fc85d5816a89d1be9a31f6")),
            ("directory", s(PROJECT_DIR)),
            ("path", s("")),
            (
                "title",
                s("Speed up pack delta search and add a storage benchmark"),
            ),
            ("agent", s("build")),
            (
                "model",
                obj(vec![
                    ("id", s("claude-sonnet-4-5")),
                    ("providerID", s("anthropic")),
                    ("variant", s("default")),
                ]),
            ),
            ("version", s("1.18.33")),
            (
                "summary",
                obj(vec![
                    ("additions", int(total.additions)),
                    ("deletions", int(total.deletions)),
                    ("files", int(files.len() as i64)),
                ]),
            ),
            ("cost", J::Num(round6(total.cost))),
            (
                "tokens",
                obj(vec![
                    ("input", int(total.input)),
                    ("output", int(total.output)),
                    ("reasoning", int(total.reasoning)),
                    (
                        "cache",
                        obj(vec![
                            ("read", int(total.cache_read)),
                            ("write", int(total.cache_write)),
                        ]),
                    ),
                ]),
            ),
            (
                "permission",
                J::Arr(vec![
                    rule("question"),
                    rule("plan_enter"),
                    rule("plan_exit"),
                ]),
            ),
            (
                "time",
                obj(vec![
                    ("created", int(self.created)),
                    ("updated", int(total.updated.max(self.created))),
                ]),
            ),
        ])
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn abs_path(rel: &str) -> String {
    format!("{PROJECT_DIR}/{rel}")
}

/// Test names as `cargo test` prints them: `module::path::tests::name`, sorted.
fn find_tests(corpus: &Corpus) -> Vec<String> {
    let mut tests = Vec::new();
    for file in &corpus.files {
        let module = file
            .rel
            .trim_start_matches("crates/")
            .replace("/src/", "/")
            .trim_start_matches("src/")
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .trim_end_matches("/lib")
            .replace(['/', '-'], "::");
        let mut after_test = false;
        for line in file.text.lines() {
            let t = line.trim();
            if t.starts_with("#[test]") {
                after_test = true;
            } else if let Some(rest) = t.strip_prefix("fn ").or_else(|| t.strip_prefix("pub fn ")) {
                if after_test {
                    if let Some(name) = rest.split(['(', '<']).next() {
                        tests.push(format!("{module}::tests::{name}"));
                    }
                }
                after_test = false;
            }
        }
    }
    if tests.len() < 40 {
        for file in &corpus.files {
            for line in file.text.lines() {
                if let Some(rest) = line.trim().strip_prefix("pub fn ") {
                    if let Some(name) = rest.split(['(', '<']).next() {
                        tests.push(format!("tests::{name}_works"));
                    }
                }
            }
        }
    }
    tests.sort();
    tests.dedup();
    tests
}

impl SessionGen<'_> {
    /// Advances the clock by a random amount and returns it.
    fn tick(&mut self, lo: usize, hi: usize) -> i64 {
        self.clock += self.rng.range(lo, hi) as i64;
        self.clock
    }

    /// A new id: 12 hex digits of time and a counter (sorting by creation), 14 random base62.
    fn id(&mut self, prefix: &str) -> String {
        self.id_seq = (self.id_seq + 1).max(self.clock as u64 * 0x1000);
        let low = self.id_seq & 0xffff_ffff_ffff;
        assert!(low > self.last_id, "generated ids wrapped around");
        self.last_id = low;
        format!("{prefix}_{low:012x}{}", self.rng.base62(14))
    }

    fn prose(&mut self, lo: usize, hi: usize) -> String {
        let n = self.rng.range(lo, hi);
        let start = self.rng.below(self.corpus.prose.len());
        (0..n)
            .map(|i| self.corpus.prose[(start + i) % self.corpus.prose.len()].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn ids(&self, part: &str, message: &str) -> [(&'static str, J); 3] {
        [
            ("id", s(part)),
            ("sessionID", s(&self.session_id)),
            ("messageID", s(message)),
        ]
    }

    fn count_part(&mut self, kind: &str) {
        *self.counts.parts.entry(kind.to_owned()).or_default() += 1;
    }

    /// One user turn: the user message, then 3-12 assistant steps.
    fn turn(&mut self, out: &mut Vec<(J, MsgStats)>) {
        let user_created = self.tick(5_000, 180_000);
        let user_id = self.id("msg");
        let part_id = self.id("prt");
        let prompt = match self.rng.below(4) {
            0 => format!("Please look into this: {}", self.prose(1, 3)),
            1 => format!("{} Can you fix that and run the tests?", self.prose(1, 4)),
            2 => self.prose(2, 6),
            _ => format!(
                "Next step: {}\n\nKeep the public API unchanged.",
                self.prose(1, 3)
            ),
        };
        let steps = self.rng.range(3, 12);
        let mut edits = Vec::new();
        let mut assistants = Vec::with_capacity(steps);
        for step in 0..steps {
            let last = step + 1 == steps;
            assistants.push(self.assistant(&user_id, last, &mut edits));
        }
        // summary.diffs: one entry per file changed in the turn.
        let mut by_file: BTreeMap<String, EditRecord> = BTreeMap::new();
        for e in &edits {
            let entry = by_file.entry(e.rel.clone()).or_insert_with(|| EditRecord {
                rel: e.rel.clone(),
                hunk: String::new(),
                additions: 0,
                deletions: 0,
            });
            entry.hunk.push_str(&e.hunk);
            entry.additions += e.additions;
            entry.deletions += e.deletions;
        }
        let diffs: Vec<J> = by_file
            .values()
            .map(|e| {
                obj(vec![
                    ("file", s(&e.rel)),
                    (
                        "patch",
                        s(format!(
                            "Index: {rel}\n===================================================================\n--- {rel}\t\n+++ {rel}\t\n{}",
                            e.hunk,
                            rel = e.rel
                        )),
                    ),
                    ("additions", int(e.additions)),
                    ("deletions", int(e.deletions)),
                    ("status", s("modified")),
                ])
            })
            .collect();
        let stats = MsgStats {
            updated: user_created,
            additions: edits.iter().map(|e| e.additions).sum(),
            deletions: edits.iter().map(|e| e.deletions).sum(),
            files: by_file.keys().cloned().collect(),
            ..MsgStats::default()
        };
        self.count_part("text");
        let mut part = vec![("type", s("text")), ("text", s(prompt))];
        part.extend(self.ids(&part_id, &user_id));
        let user = obj(vec![
            (
                "info",
                obj(vec![
                    ("role", s("user")),
                    ("time", obj(vec![("created", int(user_created))])),
                    ("agent", s("build")),
                    (
                        "model",
                        obj(vec![
                            ("providerID", s("anthropic")),
                            ("modelID", s("claude-sonnet-4-5")),
                        ]),
                    ),
                    ("summary", obj(vec![("diffs", J::Arr(diffs))])),
                    ("id", s(&user_id)),
                    ("sessionID", s(&self.session_id)),
                ]),
            ),
            ("parts", J::Arr(vec![obj(part)])),
        ]);
        out.push((user, stats));
        out.extend(assistants);
    }

    /// One assistant message (one model step).
    fn assistant(
        &mut self,
        parent: &str,
        last: bool,
        edits: &mut Vec<EditRecord>,
    ) -> (J, MsgStats) {
        let created = self.tick(200, 2_500);
        let id = self.id("msg");
        let mut parts = Vec::new();
        let start_snapshot = self.snapshot.clone();

        self.tick(800, 6_000);
        let pid = self.id("prt");
        let mut part = vec![("snapshot", s(&start_snapshot)), ("type", s("step-start"))];
        part.extend(self.ids(&pid, &id));
        parts.push(obj(part));
        self.count_part("step-start");

        let mut reasoning_tokens = 0;
        if self.rng.chance(0.6) {
            let start = self.tick(50, 400);
            let pid = self.id("prt");
            let text = self.prose(3, 12);
            reasoning_tokens = (text.len() / 4) as i64;
            let end = self.tick(500, 8_000);
            let mut part = vec![
                ("type", s("reasoning")),
                ("text", s(text)),
                ("time", obj(vec![("start", int(start)), ("end", int(end))])),
            ];
            part.extend(self.ids(&pid, &id));
            parts.push(obj(part));
            self.count_part("reasoning");
        }

        let text = if last {
            let mut text = self.prose(3, 8);
            if self.rng.chance(0.4) {
                let file = self.rng.below(self.files.len());
                let lines: Vec<&str> = self.files[file].lines().collect();
                let at = self.rng.below(lines.len().max(1));
                let end = (at + self.rng.range(3, 15)).min(lines.len());
                let snippet = format!(
                    "\n\nThe relevant code in `{}`:\n\n```rust\n{}\n```\n\n",
                    self.corpus.files[file].rel,
                    lines[at.min(end)..end].join("\n"),
                );
                text.push_str(&snippet);
                text.push_str(&self.prose(1, 3));
            }
            Some(text)
        } else if self.rng.chance(0.3) {
            Some(self.prose(1, 1))
        } else {
            None
        };
        let mut output_tokens = self.rng.range(30, 400) as i64;
        if let Some(text) = text {
            output_tokens += (text.len() / 4) as i64;
            let start = self.tick(50, 300);
            let pid = self.id("prt");
            let end = self.tick(300, 6_000);
            let mut part = vec![
                ("type", s("text")),
                ("text", s(text)),
                ("time", obj(vec![("start", int(start)), ("end", int(end))])),
            ];
            part.extend(self.ids(&pid, &id));
            parts.push(obj(part));
            self.count_part("text");
        }

        let mut patched: Vec<String> = Vec::new();
        let mut tool_bytes = 0;
        if !last {
            let tools = if self.rng.chance(0.35) { 2 } else { 1 };
            for _ in 0..tools {
                let (part, bytes) = self.tool(&id, &mut patched, edits);
                tool_bytes += bytes;
                parts.push(part);
            }
        }
        if !patched.is_empty() {
            self.snapshot = self.rng.hex(40);
        }

        let input = self.rng.range(20, 600) as i64;
        let cache_write = input + self.rng.range(0, 3_000) as i64;
        let cache_read = self.context;
        let tokens = || {
            obj(vec![
                (
                    "total",
                    int(input + output_tokens + reasoning_tokens + cache_read + cache_write),
                ),
                ("input", int(input)),
                ("output", int(output_tokens)),
                ("reasoning", int(reasoning_tokens)),
                (
                    "cache",
                    obj(vec![("write", int(cache_write)), ("read", int(cache_read))]),
                ),
            ])
        };
        let cost = round6(
            (input as f64 * 3.0
                + (output_tokens + reasoning_tokens) as f64 * 15.0
                + cache_read as f64 * 0.3
                + cache_write as f64 * 3.75)
                / 1e6,
        );
        self.context += cache_write + output_tokens + (tool_bytes / 4) as i64;
        let finish = if last { "stop" } else { "tool-calls" };
        self.tick(20, 200);
        let pid = self.id("prt");
        let mut part = vec![
            ("reason", s(finish)),
            ("snapshot", s(&self.snapshot)),
            ("type", s("step-finish")),
            ("tokens", tokens()),
            ("cost", J::Num(cost)),
        ];
        part.extend(self.ids(&pid, &id));
        parts.push(obj(part));
        self.count_part("step-finish");

        if !patched.is_empty() {
            let pid = self.id("prt");
            let mut part = vec![
                ("type", s("patch")),
                ("hash", s(&start_snapshot)),
                (
                    "files",
                    J::Arr(patched.iter().map(|p| s(abs_path(p))).collect()),
                ),
            ];
            part.extend(self.ids(&pid, &id));
            parts.push(obj(part));
            self.count_part("patch");
        }
        let completed = self.tick(5, 50);

        let info = obj(vec![
            ("parentID", s(parent)),
            ("role", s("assistant")),
            ("mode", s("build")),
            ("agent", s("build")),
            (
                "path",
                obj(vec![("cwd", s(PROJECT_DIR)), ("root", s(PROJECT_DIR))]),
            ),
            ("cost", J::Num(cost)),
            ("tokens", tokens()),
            ("modelID", s("claude-sonnet-4-5")),
            ("providerID", s("anthropic")),
            (
                "time",
                obj(vec![
                    ("created", int(created)),
                    ("completed", int(completed)),
                ]),
            ),
            ("finish", s(finish)),
            ("id", s(&id)),
            ("sessionID", s(&self.session_id)),
        ]);
        let stats = MsgStats {
            updated: completed,
            input,
            output: output_tokens,
            reasoning: reasoning_tokens,
            cache_read,
            cache_write,
            cost,
            ..MsgStats::default()
        };
        (obj(vec![("info", info), ("parts", J::Arr(parts))]), stats)
    }

    /// One completed tool call. Returns the part and the size of its output.
    fn tool(
        &mut self,
        message: &str,
        patched: &mut Vec<String>,
        edits: &mut Vec<EditRecord>,
    ) -> (J, usize) {
        let start = self.tick(100, 1_500);
        let pid = self.id("prt");
        let roll = self.rng.unit();
        let (tool, input, output, metadata, title) = if roll < 0.45 || self.reads.is_empty() {
            self.read()
        } else if roll < 0.71 {
            self.bash()
        } else if roll < 0.82 {
            self.grep()
        } else {
            let (tool, input, output, metadata, title, record) = self.edit();
            if !patched.contains(&record.rel) {
                patched.push(record.rel.clone());
            }
            self.all_edits.push(record.clone());
            edits.push(record);
            (tool, input, output, metadata, title)
        };
        let end = self.tick(50, 20_000);
        *self.counts.tools.entry(tool.to_owned()).or_default() += 1;
        self.count_part("tool");
        let bytes = output.len();
        let mut part = vec![
            ("type", s("tool")),
            ("tool", s(tool)),
            ("callID", s(format!("toolu_01{}", self.rng.base62(22)))),
            (
                "state",
                obj(vec![
                    ("status", s("completed")),
                    ("input", input),
                    ("output", s(output)),
                    ("metadata", metadata),
                    ("title", s(title)),
                    ("time", obj(vec![("start", int(start)), ("end", int(end))])),
                ]),
            ),
        ];
        part.extend(self.ids(&pid, message));
        (obj(part), bytes)
    }

    /// `read`: a file with `00001| ` line numbers; 35 % re-read a file read before.
    fn read(&mut self) -> (&'static str, J, String, J, String) {
        let reread_share = match self.mix {
            Mix::Coding => 0.35,
            Mix::Fresh => 0.0,
        };
        let reread = !self.reads.is_empty()
            && (self.rng.chance(reread_share) || self.next_first >= self.first_reads.len());
        let file = if reread {
            self.counts.rereads += 1;
            if !self.edited_unread.is_empty() && self.rng.chance(0.5) {
                self.counts.rereads_after_edit += 1;
                let i = self.rng.below(self.edited_unread.len());
                self.edited_unread[i]
            } else {
                // Mostly something read recently.
                let back = self
                    .rng
                    .log_range(1, self.reads.len() + 1)
                    .min(self.reads.len());
                self.reads[self.reads.len() - back]
            }
        } else {
            self.next_first += 1;
            self.first_reads[self.next_first - 1]
        };
        self.reads.push(file);
        self.edited_unread.retain(|&f| f != file);
        let rel = self.corpus.files[file].rel.clone();
        let text = &self.files[file];
        let total_lines = text.lines().count();
        let mut output = String::from("<file>\n");
        let mut truncated = false;
        let mut shown = 0;
        for (n, line) in text.lines().enumerate() {
            if n >= 2000 || output.len() + line.len() > 50 * 1024 {
                truncated = true;
                break;
            }
            let line: String = if line.len() > 2000 {
                format!("{}...", truncate_chars(line, 2000))
            } else {
                line.to_owned()
            };
            let _ = writeln!(output, "{:05}| {line}", n + 1);
            shown = n + 1;
        }
        if truncated {
            let _ = write!(
                output,
                "\n(File has more lines. Use 'offset' parameter to read beyond line {shown})\n</file>"
            );
        } else {
            let _ = write!(
                output,
                "\n(End of file - total {total_lines} lines)\n</file>"
            );
        }
        let preview = text.lines().take(20).collect::<Vec<_>>().join("\n");
        (
            "read",
            obj(vec![("filePath", s(abs_path(&rel)))]),
            output,
            obj(vec![
                ("preview", s(preview)),
                ("truncated", J::Bool(truncated)),
            ]),
            rel,
        )
    }

    /// `bash`: build and test logs, `git diff`, `git status`, `ls`; the output is stored twice.
    fn bash(&mut self) -> (&'static str, J, String, J, String) {
        let target = self.rng.range(500, 8_000);
        let roll = self.rng.unit();
        let (command, description, output, exit) = if roll < 0.30 {
            self.cargo_test(target)
        } else if roll < 0.60 || (roll < 0.75 && self.all_edits.is_empty()) {
            self.cargo_build(target)
        } else if roll < 0.75 {
            let mut out = String::new();
            for e in &self.all_edits {
                let _ = write!(
                    out,
                    "diff --git a/{rel} b/{rel}\nindex {:07x}..{:07x} 100644\n--- a/{rel}\n+++ b/{rel}\n{}",
                    fnv1a(e.rel.as_bytes()) & 0xfff_ffff,
                    fnv1a(e.hunk.as_bytes()) & 0xfff_ffff,
                    e.hunk,
                    rel = e.rel
                );
            }
            let out = cut_at_line(&out, target);
            ("git diff".to_owned(), "Show unstaged changes", out, 0)
        } else if roll < 0.90 {
            let mut out = String::from("On branch main\nYour branch is up to date with 'origin/main'.\n\nChanges not staged for commit:\n  (use \"git add <file>...\" to update what will be committed)\n  (use \"git restore <file>...\" to discard changes in working directory)\n");
            let mut changed: Vec<&str> = self.all_edits.iter().map(|e| e.rel.as_str()).collect();
            changed.sort();
            changed.dedup();
            for rel in changed {
                let _ = writeln!(out, "\tmodified:   {rel}");
            }
            out.push_str(
                "\nno changes added to commit (use \"git add\" and/or \"git commit -a\")\n",
            );
            if self.mix == Mix::Fresh {
                for _ in 0..self.rng.range(10, self.log_lines.len()) {
                    let sentence = self.rng.pick(&self.corpus.prose).clone();
                    let hash = self.rng.hex(7);
                    let _ = writeln!(out, "{hash} {}", truncate_chars(&sentence, 72));
                }
            } else {
                for line in &self.log_lines[..self.rng.range(10, self.log_lines.len())] {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            (
                "git status && git log --oneline -n 40".to_owned(),
                "Show working tree status and recent commits",
                out,
                0,
            )
        } else {
            let file = self.rng.below(self.corpus.files.len());
            let rel = &self.corpus.files[file].rel;
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            let mut out = format!("total {}\ndrwxr-xr-x 2 dev dev 4096 Nov 22 03:40 .\ndrwxr-xr-x 6 dev dev 4096 Nov 22 03:40 ..\n", self.rng.range(8, 400));
            for (f, text) in self.corpus.files.iter().zip(&self.files) {
                if f.rel.rsplit_once('/').map_or("", |(d, _)| d) == dir {
                    let name = f.rel.rsplit('/').next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "-rw-r--r-- 1 dev dev {:>6} Nov 22 03:40 {name}",
                        text.len()
                    );
                }
            }
            (format!("ls -la {dir}"), "List the directory", out, 0)
        };
        let metadata = obj(vec![
            ("output", s(&output)),
            ("exit", int(exit)),
            ("truncated", J::Bool(false)),
        ]);
        (
            "bash",
            obj(vec![
                ("command", s(&command)),
                ("description", s(description)),
            ]),
            output,
            metadata,
            command,
        )
    }

    fn cargo_test(&mut self, target: usize) -> (String, &'static str, String, i64) {
        let secs = self.rng.range(150, 4_000) as f64 / 100.0;
        let mut out = format!(
            "   Compiling git-session v0.1.0 ({PROJECT_DIR})\n    Finished `test` profile [unoptimized + debuginfo] target(s) in {secs:.2}s\n     Running unittests src/lib.rs (target/debug/deps/git_session-{})\n\n",
            self.test_binary
        );
        let line_len = |t: &str| t.len() + 12;
        let mut n = 0;
        let mut size = out.len() + 160;
        let start = if self.rng.chance(0.5) {
            0
        } else {
            self.rng.below(self.tests.len())
        };
        while n < self.tests.len()
            && size + line_len(&self.tests[(start + n) % self.tests.len()]) < target
        {
            size += line_len(&self.tests[(start + n) % self.tests.len()]);
            n += 1;
        }
        let n = n.max(1);
        let mut names: Vec<&str> = (0..n)
            .map(|i| self.tests[(start + i) % self.tests.len()].as_str())
            .collect();
        names.sort();
        let failed = if self.rng.chance(0.15) {
            Some(names[self.rng.below(names.len())])
        } else {
            None
        };
        let _ = writeln!(out, "running {n} tests");
        for name in &names {
            let verdict = if Some(*name) == failed {
                "FAILED"
            } else {
                "ok"
            };
            let _ = writeln!(out, "test {name} ... {verdict}");
        }
        let filtered = self.tests.len() - n;
        let took = self.rng.range(1, 300) as f64 / 100.0;
        let command = if filtered == 0 {
            "cargo test".to_owned()
        } else {
            format!(
                "cargo test --lib {}",
                names[0].split("::").next().unwrap_or_default()
            )
        };
        match failed {
            None => {
                let _ = write!(
                    out,
                    "\ntest result: ok. {n} passed; 0 failed; 0 ignored; 0 measured; {filtered} filtered out; finished in {took:.2}s\n\n"
                );
                (command, "Run the tests", out, 0)
            }
            Some(name) => {
                let file = self.rng.below(self.corpus.files.len());
                let line = self.rng.range(10, 400);
                let (left, right) = (self.rng.below(100), self.rng.below(100));
                let _ = write!(
                    out,
                    "\nfailures:\n\n---- {name} stdout ----\n\nthread '{name}' panicked at {}:{line}:9:\nassertion `left == right` failed\n  left: {left}\n right: {right}\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    {name}\n\ntest result: FAILED. {} passed; 1 failed; 0 ignored; 0 measured; {filtered} filtered out; finished in {took:.2}s\n\nerror: test failed, to rerun pass `--lib`\n",
                    self.corpus.files[file].rel,
                    n - 1
                );
                (command, "Run the tests", out, 101)
            }
        }
    }

    fn cargo_build(&mut self, target: usize) -> (String, &'static str, String, i64) {
        const LINTS: &[(&str, &str, &str)] = &[
            ("unused variable: `{}`", "help: if this is intentional, prefix it with an underscore: `_{}`", "`#[warn(unused_variables)]` on by default"),
            ("unused import: `{}`", "help: remove the unused import", "`#[warn(unused_imports)]` on by default"),
            ("redundant clone of `{}`", "help: remove this", "for further information visit https://rust-lang.github.io/rust-clippy/master/index.html#redundant_clone"),
            ("this `match` on `{}` can be written as an `if let`", "help: try: `if let ...`", "`-W clippy::single-match` implied by `-W clippy::all`"),
            ("field `{}` is never read", "help: consider removing it", "`#[warn(dead_code)]` on by default"),
        ];
        let (command, profile) = match self.rng.below(3) {
            0 => ("cargo build", "dev"),
            1 => ("cargo check --all-targets", "dev"),
            _ => ("cargo clippy --all-targets -- -D warnings", "dev"),
        };
        let mut out = String::new();
        let first = self.rng.below(self.corpus.crates.len().max(1));
        for i in 0..self.rng.range(1, 25).min(self.corpus.crates.len()) {
            let krate = &self.corpus.crates[(first + i) % self.corpus.crates.len()];
            let verb = if command.starts_with("cargo build") {
                "Compiling"
            } else {
                " Checking"
            };
            let _ = writeln!(out, "   {verb} {krate}");
        }
        let _ = writeln!(out, "   Compiling git-session v0.1.0 ({PROJECT_DIR})");
        let mut warnings = 0;
        while out.len() + 400 < target {
            let file = self.rng.below(self.corpus.files.len());
            let lines: Vec<&str> = self.files[file].lines().collect();
            if lines.is_empty() {
                continue;
            }
            let at = self.rng.below(lines.len());
            let code = truncate_chars(lines[at], 160);
            let ident = code
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| {
                    w.len() >= 3
                        && !w.starts_with(|c: char| c.is_ascii_digit())
                        && !KEYWORDS.contains(w)
                })
                .unwrap_or("value")
                .to_owned();
            let col = code.find(&ident).unwrap_or(0) + 1;
            let (message, help, note) = LINTS[self.rng.below(LINTS.len())];
            let gutter = " ".repeat((at + 1).to_string().len());
            let _ = write!(
                out,
                "warning: {}\n{gutter}--> {}:{}:{col}\n{gutter} |\n{} | {code}\n{gutter} | {}{} {}\n{gutter} |\n{gutter} = note: {note}\n\n",
                message.replace("{}", &ident),
                self.corpus.files[file].rel,
                at + 1,
                at + 1,
                " ".repeat(col.saturating_sub(1)),
                "^".repeat(ident.len()),
                help.replace("{}", &ident),
            );
            warnings += 1;
        }
        let secs = self.rng.range(40, 9_000) as f64 / 100.0;
        if warnings > 0 {
            let _ = writeln!(
                out,
                "warning: `git-session` (lib) generated {warnings} warning{}",
                if warnings == 1 { "" } else { "s" }
            );
        }
        let _ = writeln!(
            out,
            "    Finished `{profile}` profile [unoptimized + debuginfo] target(s) in {secs:.2}s"
        );
        (command.to_owned(), "Build the project", out, 0)
    }

    /// `grep`: OpenCode's "Found N matches" listing over the project's current files.
    fn grep(&mut self) -> (&'static str, J, String, J, String) {
        let pattern = loop {
            let file = self.rng.below(self.files.len());
            let lines: Vec<&str> = self.files[file].lines().collect();
            if lines.is_empty() {
                continue;
            }
            let line = lines[self.rng.below(lines.len())];
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.len() >= 5 && !w.starts_with(|c: char| c.is_ascii_digit()))
                .collect();
            if !words.is_empty() {
                let word = *self.rng.pick(&words);
                let function = format!("fn {word}");
                break if line.contains(&function) {
                    function
                } else {
                    word.to_owned()
                };
            }
        };
        let mut matches = 0;
        let mut body = String::new();
        let mut truncated = false;
        'files: for (f, text) in self.corpus.files.iter().zip(&self.files) {
            if !text.contains(&pattern) {
                continue;
            }
            let mut header = false;
            for (n, line) in text.lines().enumerate() {
                if !line.contains(&pattern) {
                    continue;
                }
                if matches == 100 {
                    truncated = true;
                    break 'files;
                }
                if !header {
                    if !body.is_empty() {
                        body.push('\n');
                    }
                    let _ = writeln!(body, "{}:", abs_path(&f.rel));
                    header = true;
                }
                let _ = writeln!(body, "  Line {}: {}", n + 1, truncate_chars(line, 2000));
                matches += 1;
            }
        }
        let mut output = if matches == 0 {
            "No files found".to_owned()
        } else {
            format!("Found {matches} matches\n{body}")
        };
        if truncated {
            output.push_str(
                "\n(Results are truncated. Consider using a more specific path or pattern.)",
            );
        }
        let mut input = vec![("pattern", s(&pattern)), ("path", s(PROJECT_DIR))];
        if self.rng.chance(0.5) {
            input.push(("include", s("*.rs")));
        }
        (
            "grep",
            obj(input),
            output,
            obj(vec![
                ("matches", int(matches)),
                ("truncated", J::Bool(truncated)),
            ]),
            pattern,
        )
    }

    /// `edit`: changes 1-3 lines of a file read recently.
    fn edit(&mut self) -> (&'static str, J, String, J, String, EditRecord) {
        let recent = self.reads.len().min(6);
        let file = self.reads[self.reads.len() - 1 - self.rng.below(recent)];
        let rel = self.corpus.files[file].rel.clone();
        let lines: Vec<String> = self.files[file].split('\n').map(str::to_owned).collect();
        let mut at = lines.len() / 2;
        for _ in 0..30 {
            let i = self.rng.below(lines.len());
            if i >= 3 && i + 4 < lines.len() && lines[i].trim().len() >= 12 {
                at = i;
                break;
            }
        }
        let count = self.rng.range(1, 3).min(lines.len() - at).max(1);
        let old: Vec<String> = lines[at..at + count].to_vec();
        let indent_of = |l: &str| l[..l.len() - l.trim_start().len()].to_owned();
        let mut new = old.clone();
        match self.rng.below(3) {
            0 => {
                let note = truncate_chars(&self.prose(1, 1), 90);
                new.insert(1.min(new.len()), format!("{}// {note}", indent_of(&old[0])));
            }
            1 => {
                let last = new.last_mut().expect("one line at least");
                let ident = last
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .find(|w| w.len() >= 4 && !w.starts_with(|c: char| c.is_ascii_digit()))
                    .map(str::to_owned);
                match ident {
                    Some(ident) => *last = last.replacen(&ident, &format!("{ident}_checked"), 1),
                    None => last.push_str(" // checked"),
                }
            }
            _ => {
                let ind = indent_of(&old[0]);
                new.insert(
                    0,
                    format!(
                        "{ind}debug_assert!(!self.is_poisoned(), \"state checked before use\");"
                    ),
                );
                if self.rng.chance(0.5) {
                    new.remove(new.len() - 1);
                    new.push(format!("{ind}// (line removed while simplifying)"));
                }
            }
        }
        let mut changed = lines[..at].to_vec();
        changed.extend(new.iter().cloned());
        changed.extend(lines[at + count..].iter().cloned());
        self.files[file] = changed.join("\n");
        if !self.edited_unread.contains(&file) {
            self.edited_unread.push(file);
        }
        let ctx_start = at.saturating_sub(3);
        let ctx_end = (at + count + 3).min(lines.len());
        let mut hunk = format!(
            "@@ -{},{} +{},{} @@\n",
            ctx_start + 1,
            ctx_end - ctx_start,
            ctx_start + 1,
            ctx_end - ctx_start - count + new.len()
        );
        for l in &lines[ctx_start..at] {
            let _ = writeln!(hunk, " {l}");
        }
        for l in &old {
            let _ = writeln!(hunk, "-{l}");
        }
        for l in &new {
            let _ = writeln!(hunk, "+{l}");
        }
        for l in &lines[at + count..ctx_end] {
            let _ = writeln!(hunk, " {l}");
        }
        let abs = abs_path(&rel);
        let diff = format!(
            "Index: {abs}\n===================================================================\n--- {abs}\t\n+++ {abs}\t\n{hunk}"
        );
        let record = EditRecord {
            rel: rel.clone(),
            hunk,
            additions: new.len() as i64,
            deletions: count as i64,
        };
        (
            "edit",
            obj(vec![
                ("filePath", s(&abs)),
                ("oldString", s(old.join("\n"))),
                ("newString", s(new.join("\n"))),
            ]),
            "Edit applied successfully.".to_owned(),
            obj(vec![
                ("diagnostics", obj(vec![])),
                ("diff", s(diff)),
                (
                    "filediff",
                    obj(vec![
                        ("file", s(&abs)),
                        ("additions", int(record.additions)),
                        ("deletions", int(record.deletions)),
                    ]),
                ),
            ]),
            rel,
            record,
        )
    }
}

/// The start of `text`, cut at a line end, at most `max` bytes (at least one line).
fn cut_at_line(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = 0;
    for (i, _) in text.match_indices('\n') {
        if i + 1 > max && end > 0 {
            break;
        }
        end = i + 1;
    }
    if end == 0 {
        return text.to_owned();
    }
    text[..end].to_owned()
}

/// A small OpenCode export (what `opencode export` prints for a three-message session): a
/// question, a `bash` tool call, an answer, each text with `words` words from a small
/// vocabulary after its number. Ids sort by creation, as OpenCode's do.
#[allow(dead_code)] // each bench includes this module; not every one uses every item
pub fn small_session(i: usize, rng: &mut Rng, words: usize) -> String {
    let t = 1_795_000_000_000u64 + i as u64 * 60_000;
    let sid = format!(
        "ses_{:012x}{}",
        !(t * 0x1000) & 0xffff_ffff_ffff,
        rng.base62(14)
    );
    let mid = |n: u64, rng: &mut Rng| format!("msg_{:012x}{}", (t + n) * 0x1000, rng.base62(14));
    let (m1, m2, m3) = (mid(1, rng), mid(2, rng), mid(3, rng));
    let part = |n: u64, m: &str, rng: &mut Rng, body: serde_json::Value| {
        let mut body = body;
        body["id"] = format!("prt_{:012x}{}", (t + n) * 0x1000, rng.base62(14)).into();
        body["sessionID"] = sid.clone().into();
        body["messageID"] = m.into();
        body
    };
    let words = |rng: &mut Rng| -> String {
        if words == 0 {
            return String::new();
        }
        const WORDS: &[&str] = &[
            "parser", "error", "lifetime", "borrow", "cargo", "test", "merge", "thread", "panic",
            "module", "tokio", "serde", "clippy", "rebase", "channel",
        ];
        let picked: Vec<&str> = (0..words).map(|_| *rng.pick(WORDS)).collect();
        format!(": {}", picked.join(" "))
    };
    let (question, answer) = (words(rng), words(rng));
    let doc = serde_json::json!({
        "info": {
            "id": sid, "slug": "small-session", "projectID": "3a74d2fee8076fff93fc85d5816a89d1be9a31f6",
            "directory": PROJECT_DIR, "path": "", "title": format!("Small session {i}"),
            "agent": "build", "version": "1.18.33",
            "time": {"created": t, "updated": t + 3}
        },
        "messages": [
            {"info": {"role": "user", "time": {"created": t + 1}, "agent": "build",
                      "summary": {"diffs": []}, "id": m1, "sessionID": sid},
             "parts": [part(1, &m1, rng, serde_json::json!({"type": "text", "text": format!("Question number {i}{question}?")}))]},
            {"info": {"parentID": m1, "role": "assistant", "finish": "tool-calls",
                      "time": {"created": t + 2, "completed": t + 2}, "id": m2, "sessionID": sid},
             "parts": [part(2, &m2, rng, serde_json::json!({"type": "tool", "tool": "bash", "callID": "call_1",
                 "state": {"status": "completed", "input": {"command": "ls"}, "output": "Cargo.toml\nsrc\n",
                           "metadata": {"output": "Cargo.toml\nsrc\n", "exit": 0, "truncated": false}}}))]},
            {"info": {"parentID": m1, "role": "assistant", "finish": "stop",
                      "time": {"created": t + 3, "completed": t + 3}, "id": m3, "sessionID": sid},
             "parts": [part(3, &m3, rng, serde_json::json!({"type": "text", "text": format!("Answer number {i}{answer}.")}))]}
        ]
    });
    serde_json::to_string_pretty(&doc).expect("serialize")
}

/// Runs `cmd` with its output discarded, sampling its `/proc/<pid>/status` every millisecond,
/// and returns the largest value of `field` seen, in kB: `VmHWM:` for the peak RSS of the
/// process itself (not of the programs it runs), `RssAnon:` for its heap. 0 where `/proc` has
/// no such field.
pub fn sampled_peak_kb(cmd: &mut std::process::Command, field: &str) -> u64 {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?}: {e}", cmd.get_program()));
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak = peak.max(value.unwrap_or(0));
        }
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
