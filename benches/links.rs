//! Commit links benchmark (issue 15), measured next to git's own commands in the same run.
//!
//! * **blame**: a 5,000-line file written by 200 saved Claude Code sessions (each an `Edit` of 25
//!   lines of it, a `Write` of a file of its own, a prompt and an answer), committed in 10
//!   commits, half of them with `Session:` trailers: `git session blame` (warm: the edit index
//!   up to date; cold: built from the 200 saves first) next to `git blame` of the same file.
//! * **commit hook**: `git commit` of a one-line change with the prepare-commit-msg hook
//!   installed and no agent session on the machine (nothing to save), next to the same commit
//!   with hooks off; and the hook command alone.
//!
//! ```text
//! cargo bench --bench links
//! GIT_SESSION_BENCH_KEEP=1 cargo bench --bench links   # keep the temp dir to inspect
//! ```
//!
//! Timings are medians; the bench only prints (it panics only when blame does not attribute the
//! lines, since a wrong answer is not worth timing).

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/hermetic.rs"]
mod hermetic;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hermetic::Hermetic;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_git-session");
const SESSIONS: usize = 200;
const LINES: usize = 5_000;
const COMMITS: usize = 10;

struct Env {
    hermetic: Hermetic,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = self.hermetic.command(program, dir);
        cmd.env("TZ", "UTC");
        cmd
    }

    fn run(&self, program: &str, dir: &Path, args: &[&str]) -> String {
        let out = self.command(program, dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run("git", dir, args)
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn line(n: usize) -> String {
    format!("pub fn item_{n:05}() -> u64 {{ {n} * 7 + {} }}", n % 13)
}

fn uuid(i: usize) -> String {
    format!("5e551000-0000-4000-8000-{i:012}")
}

fn main() {
    let env = Env {
        hermetic: Hermetic::new("git-session-bench-links.", ""),
    };
    let root = env.hermetic.root().to_path_buf();
    let repo = root.join("repo");
    env.git(&root, &["init", "-q", "repo"]);
    let checkout = std::fs::canonicalize(&repo).unwrap();
    let big = checkout.join("big.rs");

    // 200 sessions: session i writes lines i*25 .. i*25+25 of big.rs by an Edit.
    let per = LINES / SESSIONS;
    let transcripts = root.join("transcripts");
    std::fs::create_dir_all(&transcripts).unwrap();
    let started = Instant::now();
    for i in 0..SESSIONS {
        let id = uuid(i);
        let chunk: Vec<String> = (i * per..(i + 1) * per).map(line).collect();
        let rec = |uuid: &str, kind: &str, message: serde_json::Value| {
            json!({"type": kind, "uuid": uuid, "timestamp": "2026-11-30T10:00:00.000Z",
                "cwd": checkout, "sessionId": id, "version": "2.1.330", "message": message})
        };
        let other: String = (0..50)
            .map(|n| format!("let other_{i}_{n} = {n};\n"))
            .collect();
        let lines = [
            rec(
                "u1",
                "user",
                json!({"role": "user", "content": format!("Write items {} to {}", i * per, (i + 1) * per)}),
            ),
            rec(
                "a1",
                "assistant",
                json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Write",
                "input": {"file_path": checkout.join(format!("other_{i}.rs")), "content": other}}]}),
            ),
            rec(
                "a2",
                "assistant",
                json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "Edit",
                "input": {"file_path": big, "old_string": format!("// slot {i}"), "new_string": chunk.join("\n")}}]}),
            ),
            rec(
                "a3",
                "assistant",
                json!({"role": "assistant", "content": [{"type": "text", "text": "Done."}]}),
            ),
        ];
        let path = transcripts.join(format!("{id}.jsonl"));
        std::fs::write(
            &path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        env.run(
            BIN,
            &repo,
            &[
                "save",
                "--quiet",
                "--agent",
                "claude",
                "--from",
                &path.display().to_string(),
            ],
        );
    }
    let saving = started.elapsed();

    // The file, committed in 10 commits; the even ones name their sessions in trailers.
    let per_commit = LINES / COMMITS;
    let mut text = String::new();
    for c in 0..COMMITS {
        for n in c * per_commit..(c + 1) * per_commit {
            text.push_str(&line(n));
            text.push('\n');
        }
        std::fs::write(&big, &text).unwrap();
        env.git(&repo, &["add", "big.rs"]);
        let mut message = format!("Items up to {}\n\n", (c + 1) * per_commit);
        if c % 2 == 0 {
            for s in (c * per_commit / per)..((c + 1) * per_commit / per) {
                message.push_str(&format!("Session: claude/{}\n", uuid(s)));
            }
        }
        env.git(&repo, &["commit", "-q", "-m", &message]);
    }

    let check = env.run(BIN, &repo, &["blame", "big.rs", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&check).unwrap();
    let lines = doc["lines"].as_array().unwrap();
    let attributed = lines.iter().filter(|l| l["session"].is_string()).count();
    let by_trailer = lines.iter().filter(|l| l["how"] == "trailer").count();
    assert_eq!(attributed, LINES, "every line has its session");
    assert_eq!(
        by_trailer,
        LINES / 2,
        "half through trailers, half by content"
    );

    let git_blame = time(5, || {
        env.git(&repo, &["blame", "--porcelain", "big.rs"]);
    });
    let warm = time(5, || {
        env.run(BIN, &repo, &["blame", "big.rs"]);
    });
    let index = repo.join(".git/git-session/links.json");
    let cold = time(3, || {
        let _ = std::fs::remove_file(&index);
        env.run(BIN, &repo, &["blame", "big.rs"]);
    });

    // The commit hook with nothing to save (no agent session on this machine).
    env.run(BIN, &repo, &["install", "--agent", "claude"]);
    let small = repo.join("small.txt");
    let mut n = 0;
    let mut commit = |hooks: bool| {
        n += 1;
        std::fs::write(&small, format!("change {n}\n")).unwrap();
        env.git(&repo, &["add", "small.txt"]);
        let mut cmd = env.command("git", &repo);
        let path = format!(
            "{}:{}",
            Path::new(BIN).parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path);
        if !hooks {
            cmd.args(["-c", "core.hooksPath=/dev/null"]);
        }
        let out = cmd.args(["commit", "-q", "-m", "small"]).output().unwrap();
        assert!(out.status.success());
    };
    let mut with = Vec::new();
    let mut without = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        commit(true);
        with.push(t.elapsed());
        let t = Instant::now();
        commit(false);
        without.push(t.elapsed());
    }
    let msg = repo.join(".git/BENCH_MSG");
    std::fs::write(&msg, "small\n").unwrap();
    std::fs::write(&small, "staged\n").unwrap();
    env.git(&repo, &["add", "small.txt"]);
    let hook_alone = time(9, || {
        env.run(
            BIN,
            &repo,
            &["hook", "prepare-commit-msg", &msg.display().to_string()],
        );
    });
    let (with, without) = (median(with), median(without));

    println!("\ncommit links ({SESSIONS} saved sessions, {LINES}-line file, {COMMITS} commits; saving them took {:.1} s)\n", saving.as_secs_f64());
    println!("| figure | git-session | git | ratio |");
    println!("| --- | --- | --- | --- |");
    let ratio = |a: Duration, b: Duration| format!("{:.1}x", a.as_secs_f64() / b.as_secs_f64());
    println!(
        "| blame, edit index up to date (median of 5) | {} | {} | {} |",
        ms(warm),
        ms(git_blame),
        ratio(warm, git_blame)
    );
    println!(
        "| blame, index built from the 200 saves first (median of 3) | {} | {} | {} |",
        ms(cold),
        ms(git_blame),
        ratio(cold, git_blame)
    );
    println!(
        "| git commit with the hook, nothing to save, vs hooks off (median of 9) | {} | {} | +{} |",
        ms(with),
        ms(without),
        ms(with.saturating_sub(without))
    );
    println!(
        "| the hook command alone (median of 9) | {} | - | - |",
        ms(hook_alone)
    );
    if std::env::var_os("GIT_SESSION_BENCH_KEEP").is_some() {
        let kept = env.hermetic.keep();
        println!("\nkept {}", kept.display());
    }
}
