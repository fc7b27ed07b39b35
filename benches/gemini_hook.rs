//! The Gemini CLI hook on a long session: `PreCompress` fires before every model request, so a
//! save of an unchanged session must cost little and must not grow with the session.
//!
//! A generated Gemini session log of about 10 MB (and one of about 1 MB beside it) sits where
//! Gemini keeps it, in a fresh repository with its own HOME; every figure is a median of whole
//! `git-session` processes (the release binary, as the hook runs it), measured in the same run:
//!
//! * `git rev-parse HEAD`: one git process, the floor any hook pays;
//! * `hook, unchanged`: `git-session save --agent gemini --hook-stdin` after a save of the same
//!   files (the stamp matches: nothing is read or written);
//! * `save, unchanged, full read`: the same session saved by hand (`--session`), which reads and
//!   encodes the whole file to find it unchanged: what the hook would cost without its stamp;
//! * `hook, one new message`: the hook after Gemini appended a message (read, encode, one commit).
//!
//! ```text
//! cargo bench --bench gemini_hook
//! ```
//!
//! The bench only prints; it never fails on a figure.

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ID: &str = "6203f4cf-4c8e-4963-a204-de72fefce4e5";

fn run(cmd: &mut Command, input: Option<&str>) -> Duration {
    let started = Instant::now();
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    if let Some(text) = input {
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes());
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "{cmd:?} failed");
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A Gemini session log of about `target` bytes: starts (header, the whole history again as a
/// `$set messages`), prompts, answers with a tool call and its output.
fn session(target: usize) -> String {
    let mut out = String::new();
    let mut history: Vec<serde_json::Value> = Vec::new();
    let mut n = 0;
    for start in 0.. {
        let time = format!("2026-11-30T{:02}:{:02}:00.000Z", 8 + start / 60, start % 60);
        out.push_str(&format!("{{\"sessionId\":\"{ID}\",\"projectHash\":\"h\",\"startTime\":\"{time}\",\"lastUpdated\":\"{time}\",\"kind\":\"main\"}}\n"));
        let set: Vec<serde_json::Value> = history
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m["timestamp"] = time.clone().into();
                m
            })
            .collect();
        out.push_str(&serde_json::json!({"$set": {"messages": set}}).to_string());
        out.push('\n');
        for _ in 0..200 {
            n += 1;
            let output: String = (0..40)
                .map(|l| {
                    format!(
                        "line {l} of the output of command {n}: {}\n",
                        "x".repeat(n % 50)
                    )
                })
                .collect();
            let user = serde_json::json!({"id": format!("u{n}"), "timestamp": time, "type": "user",
                "content": [{"text": format!("prompt number {n}: look at the build")}]});
            let gemini = serde_json::json!({"id": format!("g{n}"), "timestamp": time, "type": "gemini",
                "content": format!("answer {n}"), "thoughts": [], "model": "gemini-3",
                "toolCalls": [{"id": format!("c{n}"), "name": "run_shell_command",
                    "args": {"command": format!("make test {n}")}, "status": "success",
                    "result": [{"functionResponse": {"id": format!("c{n}"), "name": "run_shell_command",
                        "response": {"output": output}}}], "resultDisplay": output}]});
            for m in [user, gemini] {
                out.push_str(&m.to_string());
                out.push('\n');
                out.push_str(&format!("{{\"$set\":{{\"lastUpdated\":\"{time}\"}}}}\n"));
                history.push(m);
            }
            if out.len() >= target {
                return out;
            }
        }
    }
    out
}

struct Setup {
    repo: PathBuf,
    home: PathBuf,
    file: PathBuf,
}

fn setup(root: &Path, name: &str, text: &str) -> Setup {
    let repo = root.join(name);
    let home = root.join(format!("{name}-home"));
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::create_dir_all(&home).unwrap();
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=b",
        "-c",
        "user.email=b@b",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let real = std::fs::canonicalize(&repo).unwrap();
    let chats = home.join(".gemini/tmp").join(name).join("chats");
    std::fs::create_dir_all(&chats).unwrap();
    std::fs::write(
        home.join(".gemini/projects.json"),
        serde_json::json!({"projects": {real.to_string_lossy(): name}}).to_string(),
    )
    .unwrap();
    let file = chats.join("session-2026-11-30T08-00-6203f4cf.jsonl");
    std::fs::write(&file, text).unwrap();
    Setup { repo, home, file }
}

fn git_session(s: &Setup, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-session"));
    cmd.args(args)
        .current_dir(&s.repo)
        .env("HOME", &s.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "b")
        .env("GIT_AUTHOR_EMAIL", "b@b")
        .env("GIT_COMMITTER_NAME", "b")
        .env("GIT_COMMITTER_EMAIL", "b@b");
    cmd
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let payload = |s: &Setup| {
        serde_json::json!({"session_id": ID, "transcript_path": s.file,
            "hook_event_name": "PreCompress", "trigger": "auto"})
        .to_string()
    };
    println!("| session | git rev-parse | hook, unchanged | save, unchanged, full read | hook, one new message |");
    println!("| --- | --- | --- | --- | --- |");
    let mut unchanged = Vec::new();
    for (name, size) in [("one-mb", 1_000_000), ("ten-mb", 10_000_000)] {
        let text = session(size);
        let s = setup(root.path(), name, &text);
        let hook = |s: &Setup| {
            run(
                &mut git_session(s, &["save", "--agent", "gemini", "--hook-stdin"]),
                Some(&payload(s)),
            )
        };
        hook(&s);
        let floor = median(
            (0..15)
                .map(|_| {
                    run(
                        Command::new("git")
                            .args(["rev-parse", "HEAD"])
                            .current_dir(&s.repo),
                        None,
                    )
                })
                .collect(),
        );
        let quiet = median((0..15).map(|_| hook(&s)).collect());
        let full = median(
            (0..5)
                .map(|_| {
                    run(
                        &mut git_session(&s, &["save", "--agent", "gemini", "--session", ID]),
                        None,
                    )
                })
                .collect(),
        );
        let grown = median(
            (0..5)
                .map(|i| {
                    let mut more = std::fs::read_to_string(&s.file).unwrap();
                    more.push_str(&format!("{{\"id\":\"new{i}\",\"timestamp\":\"2026-11-30T23:00:00.000Z\",\"type\":\"user\",\"content\":[{{\"text\":\"one more\"}}]}}\n"));
                    std::fs::write(&s.file, more).unwrap();
                    hook(&s)
                })
                .collect(),
        );
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {:.1} MB | {} | {} ({:.1}x the floor) | {} ({:.0}x the unchanged hook) | {} |",
            text.len() as f64 / 1e6,
            ms(floor),
            ms(quiet),
            quiet.as_secs_f64() / floor.as_secs_f64(),
            ms(full),
            full.as_secs_f64() / quiet.as_secs_f64(),
            ms(grown)
        );
        unchanged.push(quiet);
    }
    println!(
        "\nunchanged hook, 10 MB vs 1 MB session: {:.2}x",
        unchanged[1].as_secs_f64() / unchanged[0].as_secs_f64()
    );
}
