//! Team benchmark: what a plain `git fetch` costs a developer whose teammates share sessions.
//!
//! A bare remote (reached through `file://`, so every byte goes through `git upload-pack`) gets
//! sessions of about 1 MB each, written and pushed with `git session push` by 20 different
//! clones; every session has its own content (its own words from a seeded PRNG, its own ids), so
//! nothing is shared between them for git to compress away. Then, in the same run:
//!
//! * **summaries**: a fresh clone runs `git session install` and a plain `git fetch`; what it
//!   transfers is a summary of each session (and the deletion records);
//! * **full refspec**: another fresh clone has the refspec older installs added
//!   (`+refs/sessions/*:refs/remotes/origin/sessions/*`) and runs the same plain `git fetch`;
//! * **one session**: the first clone runs `git session show <id>` on a session only listed,
//!   which fetches that session alone (the fetch `load` and `search --session` run too), next
//!   to that session's own pack (`git pack-objects` of everything its ref reaches, on the
//!   remote).
//!
//! Bytes are what `git upload-pack` wrote to the fetching side (ref advertisement and pack),
//! counted by `dd` in a wrapper set as `remote.origin.uploadpack`. Targets (issue "Team scale"):
//! the plain fetch transfers at most 2% of the full refspec's bytes; one session at most 1.5x
//! its own pack. The bench prints; it panics only when a fetched session does not show back as
//! saved.
//!
//! ```text
//! cargo bench --bench team                                       # 100 sessions of ~1 MB, 20 clones
//! GIT_SESSION_BENCH_TEAM_SESSIONS=2000 cargo bench --bench team  # the issue's full size
//! GIT_SESSION_BENCH_TEAM_KB=256 cargo bench --bench team         # smaller sessions
//! GIT_SESSION_BENCH_KEEP=1 cargo bench --bench team              # keep the temp dir
//! ```

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/hermetic.rs"]
mod hermetic;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hermetic::Hermetic;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_git-session");
const CLONES: usize = 20;
const WORDS: &[&str] = &[
    "the",
    "parser",
    "returns",
    "an",
    "error",
    "when",
    "input",
    "is",
    "empty",
    "so",
    "we",
    "add",
    "a",
    "check",
    "before",
    "calling",
    "decode",
    "and",
    "test",
    "it",
    "with",
    "cargo",
    "build",
    "failed",
    "because",
    "lifetime",
    "of",
    "borrowed",
    "value",
    "does",
    "not",
    "live",
    "long",
    "enough",
    "move",
    "clone",
    "into",
    "closure",
    "spawn",
    "thread",
    "channel",
    "receiver",
    "sender",
    "mutex",
    "lock",
    "poisoned",
    "unwrap",
    "expect",
    "result",
    "option",
    "match",
    "arm",
    "pattern",
    "struct",
    "field",
    "private",
    "public",
    "module",
    "crate",
    "feature",
    "flag",
    "dependency",
    "version",
    "semver",
    "breaking",
    "change",
    "commit",
    "branch",
    "merge",
    "rebase",
    "conflict",
    "resolve",
    "push",
    "fetch",
    "remote",
    "origin",
    "session",
    "agent",
    "model",
    "token",
    "context",
    "window",
    "compaction",
    "summary",
    "message",
    "part",
    "tool",
    "call",
    "output",
    "stdout",
    "stderr",
    "exit",
    "status",
    "code",
    "zero",
    "panic",
    "backtrace",
];

struct Config {
    sessions: usize,
    kb: usize,
    keep: bool,
}

impl Config {
    fn from_env() -> Self {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map_or(default, |v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name}: {v:?} is not a number"))
                })
        };
        Config {
            sessions: number("GIT_SESSION_BENCH_TEAM_SESSIONS", 100).max(CLONES),
            kb: number("GIT_SESSION_BENCH_TEAM_KB", 1024).max(8),
            keep: std::env::var("GIT_SESSION_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0"),
        }
    }
}

/// xorshift64*: the same words on every machine for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The hermetic environment every git and git-session process runs in.
struct Env {
    hermetic: Hermetic,
    root: PathBuf,
    count_log: PathBuf,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = self.hermetic.command(program, dir);
        cmd.env("COUNT_LOG", &self.count_log);
        cmd
    }

    fn run(&self, program: &str, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command(program, dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
        assert!(
            out.status.success(),
            "{program} {} failed in {}:\n{}{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run("git", dir, args)
    }

    fn git_session(&self, dir: &Path, args: &[&str]) -> String {
        self.run(BIN, dir, args)
    }

    /// Runs `f` and returns how long it took and how many bytes `git upload-pack` sent meanwhile.
    fn counted(&self, f: impl FnOnce()) -> (Duration, u64) {
        std::fs::write(&self.count_log, "").unwrap();
        let start = Instant::now();
        f();
        let took = start.elapsed();
        let log = std::fs::read_to_string(&self.count_log).unwrap();
        let bytes = log
            .lines()
            .filter_map(|l| l.split_once(" bytes"))
            .filter_map(|(n, _)| n.trim().parse::<u64>().ok())
            .sum();
        (took, bytes)
    }

    /// `git clone file://<remote>` into `name`, then every later fetch goes through the counting
    /// wrapper.
    fn clone(&self, remote: &Path, name: &str) -> PathBuf {
        let url = format!("file://{}", remote.display());
        self.git(&self.root, &["clone", "-q", &url, name]);
        let dir = self.root.join(name);
        let wrapper = self.root.join("upload-pack-counted");
        self.git(
            &dir,
            &[
                "config",
                "remote.origin.uploadpack",
                &wrapper.to_string_lossy(),
            ],
        );
        dir
    }
}

/// An OpenCode export of about `kb` KiB: the toolcall example under a new id, with user messages
/// of words drawn for this session alone.
fn session(template: &str, index: usize, kb: usize) -> (String, String) {
    let id = format!(
        "ses_team{index:05}{:08x}",
        index.wrapping_mul(2_654_435_761)
    );
    let text = template.replace("ses_dfeff592effeKbpix6urO22sp9", &id);
    let mut export: Value = serde_json::from_str(&text).expect("the toolcall example is JSON");
    export["info"]["title"] = json!(format!("Team session {index}: fix the parser"));
    let base = export["info"]["time"]["updated"].as_i64().unwrap();
    let mut rng = Rng(0x7ea_u64.wrapping_add(index as u64 * 7919) | 1);
    let messages = export["messages"].as_array_mut().unwrap();
    let mut size = text.len();
    let mut n = 0;
    while size < kb * 1024 {
        n += 1;
        let mut words = String::with_capacity(4200);
        while words.len() < 4000 {
            words.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
            words.push(if rng.next().is_multiple_of(12) {
                '\n'
            } else {
                ' '
            });
        }
        let message_id = format!("msg_zzteam{index}_{n:05}");
        size += words.len() + 400;
        messages.push(json!({
            "info": {
                "id": message_id,
                "sessionID": id,
                "role": "user",
                "time": {"created": base + n * 1000},
                "agent": "build",
                "model": {"providerID": "fake", "modelID": "fake-model"}
            },
            "parts": [{
                "id": format!("prt_zzteam{index}_{n:05}"),
                "sessionID": id,
                "messageID": message_id,
                "type": "text",
                "text": words
            }]
        }));
    }
    export["info"]["time"]["updated"] = json!(base + n * 1000);
    (id, serde_json::to_string_pretty(&export).unwrap())
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn main() {
    let config = Config::from_env();
    let hermetic = Hermetic::new("git-session-bench-team.", "");
    let root = hermetic.root().to_path_buf();
    let env = Env {
        hermetic,
        count_log: root.join("upload-pack.log"),
        root: root.clone(),
    };
    let wrapper = root.join("upload-pack-counted");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\ngit upload-pack \"$@\" | dd bs=65536 2>>\"$COUNT_LOG\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/opencode/example-export-toolcall.json"),
    )
    .unwrap();

    println!(
        "team benchmark: {} sessions of ~{} KiB from {CLONES} clones (GIT_SESSION_BENCH_TEAM_SESSIONS, _KB)",
        config.sessions, config.kb
    );
    let remote = root.join("remote.git");
    env.git(&root, &["init", "-q", "--bare", "remote.git"]);
    let seed = root.join("seed");
    env.git(&root, &["init", "-q", "seed"]);
    std::fs::write(seed.join("README.md"), "# project\n").unwrap();
    env.git(&seed, &["add", "README.md"]);
    env.git(&seed, &["commit", "-q", "-m", "Initial commit"]);
    env.git(&seed, &["push", "-q", &remote.to_string_lossy(), "main"]);

    // 20 teammates, each saving and pushing their share of the sessions.
    let start = Instant::now();
    let mut ids = Vec::new();
    let mut json_bytes = 0u64;
    for clone in 0..CLONES {
        let dir = env.clone(&remote, &format!("mate-{clone:02}"));
        env.git(&dir, &["config", "user.name", &format!("Mate {clone}")]);
        let share = config.sessions / CLONES + usize::from(clone < config.sessions % CLONES);
        for _ in 0..share {
            let index = ids.len();
            let (id, text) = session(&template, index, config.kb);
            let file = root.join("export.json");
            std::fs::write(&file, &text).unwrap();
            json_bytes += text.len() as u64;
            env.git_session(&dir, &["save", "--from", &file.to_string_lossy()]);
            ids.push(id);
        }
        env.git_session(&dir, &["push"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "  setup: {} sessions ({} of JSON) saved and pushed in {:.0?}",
        ids.len(),
        mb(json_bytes),
        start.elapsed()
    );

    // The full refspec of older installs: every session with a plain fetch.
    let old = env.clone(&remote, "old");
    env.git(
        &old,
        &[
            "config",
            "--add",
            "remote.origin.fetch",
            "+refs/sessions/*:refs/remotes/origin/sessions/*",
        ],
    );
    let (old_time, old_bytes) = env.counted(|| {
        env.git(&old, &["fetch", "-q"]);
    });
    std::fs::remove_dir_all(&old).unwrap();

    // This install: summaries only.
    let new = env.clone(&remote, "new");
    env.git_session(&new, &["install", "--agent", "claude"]);
    let (new_time, new_bytes) = env.counted(|| {
        env.git(&new, &["fetch", "-q"]);
    });
    let listed = Instant::now();
    let list = env.git_session(&new, &["list"]);
    let list_time = listed.elapsed();
    let not_fetched = list
        .lines()
        .filter(|l| l.ends_with("(not fetched)"))
        .count();
    assert_eq!(not_fetched, ids.len(), "list shows every session");

    // One session on demand, next to its own pack.
    let id = &ids[ids.len() / 2];
    let (one_time, one_bytes) = env.counted(|| {
        env.git_session(&new, &["show", id]);
    });
    let session_ref = format!("refs/sessions/opencode/{id}");
    let own_pack = {
        let mut cmd = env.command("git", &remote);
        cmd.args(["pack-objects", "--revs", "--stdout", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{session_ref}").unwrap();
        }
        child.wait_with_output().unwrap().stdout.len() as u64
    };
    let shown = env.git_session(&new, &["show", id, "--format", "md"]);
    assert!(
        shown.contains("Team session"),
        "the fetched session shows back"
    );

    let ratio = new_bytes as f64 / old_bytes as f64;
    let one_ratio = one_bytes as f64 / own_pack as f64;
    println!();
    println!("  plain `git fetch` of a fresh clone   bytes        time");
    println!(
        "  full refspec (older installs)        {:>11}  {:>8.2?}",
        mb(old_bytes),
        old_time
    );
    println!(
        "  summaries (this install)             {:>11}  {:>8.2?}   {:.3}% of the full refspec (target <= 2%)",
        mb(new_bytes),
        new_time,
        ratio * 100.0
    );
    println!(
        "  `git session list` over {} not-fetched sessions: {:.2?}",
        ids.len(),
        list_time
    );
    println!();
    println!(
        "  one session on demand (`show`, as `load`): {} in {:.2?}; its own pack {}: {:.2}x (target <= 1.5x)",
        mb(one_bytes),
        one_time,
        mb(own_pack),
        one_ratio
    );
    if config.keep {
        let kept = env.hermetic.keep();
        println!("  kept: {}", kept.display());
    }
}
