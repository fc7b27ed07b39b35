//! Redaction throughput: how fast the redaction pass reads a large session, next to the time
//! serde_json takes to parse the same bytes (measured in the same run), and what it adds to a
//! whole save.
//!
//! The session is the storage benchmark's deterministic OpenCode session (`gen/mod.rs`: real
//! source files read and edited, builds, tests, greps, prose), with an `env` dump holding fake
//! secrets planted in every 50th tool output. Reported:
//!
//! * `serde_json parse`: `serde_json::from_slice::<Value>` of the whole export (the baseline);
//! * `redaction`: [`Redactor`] over every string of the session info and every message, as a
//!   save runs it, on values parsed beforehand;
//! * `save without / with redaction`: `SessionHistory::save` into a fresh repository, each,
//!   so the redaction's share of a save shows;
//! * a keyword-dense worst case: text made of near misses, where every rule runs everywhere;
//! * recall and false-positive rate on the generated cases (`redact::generated`: every token family
//!   in every syntax, and near misses), with their throughput, and the near misses altered by
//!   kind (`family`: a token family's prefix on a value too short for it, `short`: tokens and
//!   keys under ten characters, ...).
//!
//! ```text
//! cargo bench --bench redact
//! GIT_SESSION_BENCH_MESSAGES=1000 cargo bench --bench redact   # a smaller session
//! ```
//!
//! Timings are the best of several runs; the bench only prints, it never fails on a figure.

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[allow(dead_code)] // The storage benchmark uses more of the generator than this one.
#[path = "gen/mod.rs"]
mod generator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git_session::agents::opencode::export;
use git_session::session::codec::Redact;
use git_session::session::portable::MachinePaths;
use git_session::session::redact::generated as redact_cases;
use git_session::session::redact::Redactor;
use git_session::session::{SaveMeta, SessionHistory};
use git_session::store::Store;
use serde_json::Value;

const SEED: u64 = 0x05ec_2e75;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let out = f();
        best = best.min(started.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// A tiny deterministic generator for the planted secrets (splitmix64).
struct Fake(u64);

impl Fake {
    fn s(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| {
                self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                a[((z ^ (z >> 31)) % a.len() as u64) as usize] as char
            })
            .collect()
    }
}

const B62: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Appends an `env` dump with five fake secrets to every 50th tool output; returns how many
/// secrets were planted.
fn plant(export: &mut Value) -> usize {
    let mut fake = Fake(7);
    let mut planted = 0;
    let mut tools = 0;
    for message in export["messages"].as_array_mut().expect("messages") {
        for part in message["parts"].as_array_mut().expect("parts") {
            if part["type"] != "tool" {
                continue;
            }
            tools += 1;
            if tools % 50 != 0 {
                continue;
            }
            let dump = format!(
                "\nHOME=/home/dev\nPWD=/home/dev/project\nGITHUB_TOKEN=ghp_{}\nAWS_ACCESS_KEY_ID=AKIA{}\n\
                 AWS_SECRET_ACCESS_KEY={}\nDATABASE_URL=postgres://app:{}9x@db/app\nOPENAI_API_KEY=sk-proj-{}\n",
                fake.s(B62, 36),
                fake.s(B32, 16),
                fake.s(B64, 40),
                fake.s(B62, 14),
                fake.s(B62, 100),
            );
            if let Some(Value::String(output)) = part.pointer_mut("/state/output") {
                output.push_str(&dump);
                planted += 5;
            }
        }
    }
    planted
}

fn strings(value: &Value) -> usize {
    match value {
        Value::String(_) => 1,
        Value::Array(items) => items.iter().map(strings).sum(),
        Value::Object(map) => map.values().map(strings).sum(),
        _ => 0,
    }
}

fn init_repo(dir: &Path) -> Store {
    let status = std::process::Command::new("git")
        .args(["init", "--quiet", "--bare"])
        .arg(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .expect("run git init");
    assert!(status.success(), "git init failed");
    Store::open(dir).expect("open the repository")
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets without it.
    if !std::env::args().any(|a| a == "--bench") {
        println!("redact bench: skipped (run it with `cargo bench --bench redact`)");
        return;
    }
    let messages: usize = std::env::var("GIT_SESSION_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    eprintln!("generating a session of {messages} messages...");
    let corpus = generator::Corpus::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        cargo_home.as_deref(),
    );
    let generated = generator::generate(&corpus, SEED, messages);
    let mut doc: Value = serde_json::from_str(&generated.export(messages)).expect("valid export");
    let planted = plant(&mut doc);
    let bytes = serde_json::to_vec_pretty(&doc).expect("serialise");
    drop(doc);
    if let Some(path) = std::env::var_os("GIT_SESSION_BENCH_DUMP") {
        std::fs::write(&path, &bytes).expect("write the export");
    }
    let redactor = Redactor::builtin();

    // Baseline: serde_json parsing the same bytes.
    let (parse, parsed) = best_of(5, || {
        serde_json::from_slice::<Value>(&bytes).expect("parse")
    });
    let string_count = strings(&parsed);

    // The redaction pass over every string, as a save runs it (info and each message).
    let messages_values: Vec<Value> = parsed["messages"].as_array().expect("messages").to_vec();
    let info = {
        let mut info = parsed.clone();
        info.as_object_mut().expect("object").remove("messages");
        info
    };
    let (redact, found) = best_of(5, || {
        let mut found = BTreeMap::new();
        let mut info = info.clone();
        redactor.redact(&mut info, &mut found);
        for message in &messages_values {
            let mut value = message.clone();
            redactor.redact(&mut value, &mut found);
        }
        found
    });
    // The clones are part of the measured loop: measure them alone and take them out.
    let (clones, _) = best_of(5, || {
        let mut n = 0;
        n += strings(&info.clone());
        for message in &messages_values {
            n += strings(&message.clone());
        }
        n
    });
    let redact_only = redact.saturating_sub(clones);
    let found_total: usize = found.values().sum();

    // A whole save, into a fresh repository each time, with and without redaction.
    let tmp = tempfile::Builder::new()
        .prefix("git-session-redact-bench-")
        .tempdir()
        .expect("temp dir");
    let session = export::parse(bytes.clone(), "bench").expect("an export");
    let meta = SaveMeta {
        agent: "opencode".into(),
        agent_version: None,
        title: "bench".into(),
        reason: "bench".into(),
        split_threshold: git_session::session::codec::DEFAULT_SPLIT_THRESHOLD,
        skip_if_stored: false,
        paths: MachinePaths::none(),
    };
    // The same save on a machine whose checkout and HOME the generated session names.
    let with_roots = SaveMeta {
        paths: MachinePaths::none()
            .with("checkout", "/home/dev/project")
            .with("home", "/home/dev"),
        ..meta.clone()
    };
    let mut run = 0;
    let mut save = |redact: Option<&dyn Redact>, meta: &SaveMeta| {
        run += 1;
        let store = init_repo(&tmp.path().join(format!("repo{run}")));
        let started = Instant::now();
        SessionHistory::new(&store)
            .save(&session, meta, redact)
            .expect("save");
        started.elapsed()
    };
    let mut plain = Duration::MAX;
    let mut redacted = Duration::MAX;
    let mut contracted = Duration::MAX;
    for _ in 0..3 {
        plain = plain.min(save(None, &meta));
        redacted = redacted.min(save(Some(&redactor), &meta));
        contracted = contracted.min(save(Some(&redactor), &with_roots));
    }

    // Worst case: every keyword everywhere, every candidate a near miss.
    let chunk = [
        "password=password token: key=KEY -----BEGIN PRIVATE KEY----- eyJhbGciOi.eyJzdWIi. ",
        "sk-abc ghp_abc AKIA12 https://user:${PASS}@host Authorization: Bearer $TOKEN secret_x ",
        "api_key: String, signature = sha256:0123abcd salt: \"short\" --token-file f\n",
    ]
    .concat();
    let hostile = chunk.repeat(8_000_000 / chunk.len());
    let (worst, _) = best_of(3, || redactor.find(&hostile).len());

    let mb = bytes.len() as f64 / 1e6;
    println!("redact bench: {messages} messages, {mb:.1} MB of export JSON, {string_count} strings, {planted} planted secrets");
    println!(
        "  serde_json parse (baseline)     {:>8.3} s  {:>7.0} MB/s",
        parse.as_secs_f64(),
        mb_per_s(bytes.len(), parse)
    );
    println!(
        "  redaction, every string         {:>8.3} s  {:>7.0} MB/s  ({:.2}x the parse time; found {found_total})",
        redact_only.as_secs_f64(),
        mb_per_s(bytes.len(), redact_only),
        redact_only.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "  save without redaction          {:>8.3} s  {:>7.0} MB/s",
        plain.as_secs_f64(),
        mb_per_s(bytes.len(), plain)
    );
    println!(
        "  save with redaction             {:>8.3} s  {:>7.0} MB/s  (+{:.0} % for redaction)",
        redacted.as_secs_f64(),
        mb_per_s(bytes.len(), redacted),
        (redacted.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "  save with redaction and paths   {:>8.3} s  {:>7.0} MB/s  (+{:.0} % for placeholders over redaction alone)",
        contracted.as_secs_f64(),
        mb_per_s(bytes.len(), contracted),
        (contracted.as_secs_f64() / redacted.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "  keyword-dense worst case        {:>8.3} s  {:>7.0} MB/s  ({:.1} MB of near misses)",
        worst.as_secs_f64(),
        mb_per_s(hostile.len(), worst),
        hostile.len() as f64 / 1e6
    );
    // Recall and false positives on the generated cases (every token family in every syntax,
    // near misses), with the time they take.
    let cases = redact_cases::cases(SEED);
    let case_bytes: usize = cases.iter().map(|c| c.text.len()).sum();
    let (case_time, score) = best_of(3, || redact_cases::score(&redactor, &cases));
    println!(
        "  generated cases                 {:>8.3} s  {:>7.0} MB/s  recall {}/{} ({:.1} %), near misses altered {}/{} ({:.1} %)",
        case_time.as_secs_f64(),
        mb_per_s(case_bytes, case_time),
        score.removed,
        score.secrets,
        100.0 * score.removed as f64 / score.secrets as f64,
        score.altered,
        score.clean,
        100.0 * score.altered as f64 / score.clean as f64
    );
    // The near misses by kind (`family-too-short-*`, `short-*`, ...), each kind's altered
    // count, so a rule that starts taking one shows which.
    let mut kinds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in cases.iter().filter(|c| c.secret.is_none()) {
        let kind = kinds
            .entry(case.family.split('-').next().unwrap_or(case.family))
            .or_default();
        kind.1 += 1;
        if score.wrong.iter().any(|w| w.text == case.text) {
            kind.0 += 1;
        }
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, (altered, all))| format!("{k} {altered}/{all}"))
        .collect();
    println!("  near misses altered by kind: {}", kinds.join(", "));
    let mut rules: Vec<(&String, &usize)> = found.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1));
    println!("  secrets found by rule: {rules:?}");
    if found_total < planted {
        println!("  WARNING: fewer secrets found ({found_total}) than planted ({planted})");
    }
}
