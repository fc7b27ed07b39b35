//! HTTP benchmark: 1,000 sessions pushed and fetched through a real smart-HTTP server
//! (`git http-backend` behind lighttpd on 127.0.0.1 with basic auth, the tests'
//! `support/http_git.rs`), against plain git moving the same refs in the same run.
//!
//! One repository saves 1,000 sessions (four OpenCode examples of `tests/fixtures/`, each
//! under 250 ids). Then, each on a fresh bare repository behind a fresh server:
//!
//! * **push**: `git session push` (which first fetches the remote's deletion records) against
//!   plain `git push <url> 'refs/sessions/*:refs/sessions/*'`, and that plain push over `file://`;
//! * **fetch**: `git session pull` into a fresh clone (fetch, then adopt each session onto its
//!   local ref) against plain `git fetch` of the same refs into a fresh clone.
//!
//! Bytes are what crossed the wire, from the server's access log (requests and responses with
//! their headers, the 401s that ask for credentials included). Times are medians of
//! `GIT_SESSION_BENCH_RUNS` runs (default 3), interleaved; the bench only prints.
//!
//! ```text
//! cargo bench --bench http
//! GIT_SESSION_BENCH_SESSIONS=200 GIT_SESSION_BENCH_RUNS=1 cargo bench --bench http   # quicker
//! ```
//!
//! Needs lighttpd (`apt-get install lighttpd`, or `GIT_SESSION_LIGHTTPD`).

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

// The temp dir is never kept here.
#[allow(dead_code)]
#[path = "support/hermetic.rs"]
mod hermetic;
#[path = "../tests/it/support/http_git.rs"]
mod http_git;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hermetic::Hermetic;
use http_git::{HttpGitServer, Traffic, PASSWORD, USER};

const BIN: &str = env!("CARGO_BIN_EXE_git-session");

/// The fixtures each session is made from, with the id each one holds (not the task's child:
/// a child is saved with its parent, on no ref of its own).
const EXAMPLES: [(&str, &str); 4] = [
    (
        "example-export-compacted.json",
        "ses_dfef21374ffempn7YoTB2Yx68n",
    ),
    (
        "example-export-reasoning-file.json",
        "ses_dfee779a0ffew2UIseJduPPCFE",
    ),
    (
        "example-export-task-parent.json",
        "ses_dfef9803bffejrqFuyT80VM1A0",
    ),
    (
        "example-export-toolcall.json",
        "ses_dfeff592effeKbpix6urO22sp9",
    ),
];

/// A hermetic place for git and git-session: HOME, global config with the credential store.
struct Env {
    hermetic: Hermetic,
    root: PathBuf,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = self.hermetic.command(program, dir);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        cmd
    }

    /// Runs `program args` in `dir`, panicking when it fails; returns how long it took.
    fn run(&self, program: &str, dir: &Path, args: &[&str]) -> Duration {
        let start = Instant::now();
        let out = self
            .command(program, dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }

    fn git_stdout(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command("git", dir)
            .stdout(Stdio::piped())
            .args(args)
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {}", args.join(" "));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stores the password for `server` in the credential store.
    fn trust(&self, server: &HttpGitServer) {
        std::fs::write(
            self.root.join("home/.git-credentials"),
            format!("http://{USER}:{PASSWORD}@127.0.0.1:{}\n", server.port()),
        )
        .expect("write ~/.git-credentials");
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One measured transfer: time and wire bytes.
#[derive(Clone, Copy)]
struct Figure {
    time: Duration,
    traffic: Traffic,
}

fn main() {
    let sessions = env_number("GIT_SESSION_BENCH_SESSIONS", 1_000);
    let runs = env_number("GIT_SESSION_BENCH_RUNS", 3).max(1);
    assert!(
        http_git::lighttpd().is_some(),
        "the HTTP benchmark needs lighttpd: apt-get install lighttpd (or set GIT_SESSION_LIGHTTPD)"
    );
    let hermetic = Hermetic::new(
        "git-session-bench-http.",
        "[credential]\n\thelper = store\n",
    );
    let env = Env {
        root: hermetic.root().to_owned(),
        hermetic,
    };

    // The saving repository and its 1,000 sessions.
    eprintln!("saving {sessions} sessions");
    let source = env.root.join("source");
    env.run("git", &env.root, &["init", "--quiet", "source"]);
    let exports = env.root.join("exports");
    std::fs::create_dir(&exports).expect("exports dir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencode");
    let mut args = vec!["save".to_owned()];
    for n in 0..sessions {
        let (file, id) = EXAMPLES[n % EXAMPLES.len()];
        let text = std::fs::read_to_string(fixtures.join(file)).expect("read a fixture");
        let new_id = format!("{}{:06}", &id[..id.len() - 6], n);
        let text = text.replace(id, &new_id);
        let path = exports.join(format!("{new_id}.json"));
        std::fs::write(&path, text).expect("write an export");
        args.push("--from".to_owned());
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let save_time = env.run(BIN, &source, &args);
    let refs = env
        .git_stdout(&source, &["for-each-ref", "refs/sessions"])
        .lines()
        .count();
    eprintln!("saved {refs} sessions refs in {save_time:.1?}");

    let mut push_session = Vec::new();
    let mut push_plain = Vec::new();
    let mut push_file = Vec::new();
    let mut fetch_session = Vec::new();
    let mut fetch_plain = Vec::new();
    for run in 0..runs {
        eprintln!("run {} of {runs}", run + 1);
        let dir = env.root.join(format!("run{run}"));
        std::fs::create_dir(&dir).expect("run dir");

        // git session push, over HTTP.
        let server = HttpGitServer::start();
        env.trust(&server);
        server.create_bare("team.git");
        let url = server.url("team.git");
        let _ = env
            .command("git", &source)
            .args(["remote", "remove", "origin"])
            .status();
        env.run("git", &source, &["remote", "add", "origin", &url]);
        let time = env.run(BIN, &source, &["push", "origin", "--remote-ok"]);
        let served = server.repo_dir("team.git");
        check_refs(&env, &served, "refs/sessions/", refs);
        // git session pull into a fresh clone, same server.
        let clone = dir.join("clone-session");
        env.run("git", &dir, &["init", "--quiet", "clone-session"]);
        env.run("git", &clone, &["remote", "add", "origin", &url]);
        let (server, pushed) = restart_on(&env, server, &served);
        push_session.push(Figure {
            time,
            traffic: pushed,
        });
        let url = server.url("team.git");
        env.run("git", &clone, &["remote", "set-url", "origin", &url]);
        let time = env.run(BIN, &clone, &["pull", "--all", "origin"]);
        check_refs(&env, &clone.join(".git"), "refs/sessions/", refs);
        fetch_session.push(Figure {
            time,
            traffic: server.stop(),
        });

        // Plain git push of the same refs, over HTTP.
        let server = HttpGitServer::start();
        env.trust(&server);
        server.create_bare("plain.git");
        let time = env.run(
            "git",
            &source,
            &[
                "push",
                "--quiet",
                &server.url("plain.git"),
                "refs/sessions/*:refs/sessions/*",
            ],
        );
        let plain_served = server.repo_dir("plain.git");
        check_refs(&env, &plain_served, "refs/sessions/", refs);
        let (server, pushed) = restart_on(&env, server, &plain_served);
        push_plain.push(Figure {
            time,
            traffic: pushed,
        });
        // Plain git fetch of the same refs into a fresh clone, over HTTP.
        let clone = dir.join("clone-plain");
        env.run("git", &dir, &["init", "--quiet", "clone-plain"]);
        let time = env.run(
            "git",
            &clone,
            &[
                "fetch",
                "--quiet",
                &server.url("plain.git"),
                "refs/sessions/*:refs/remotes/origin/sessions/*",
            ],
        );
        check_refs(
            &env,
            &clone.join(".git"),
            "refs/remotes/origin/sessions/",
            refs,
        );
        fetch_plain.push(Figure {
            time,
            traffic: server.stop(),
        });

        // Plain git push over file://.
        env.run("git", &dir, &["init", "--quiet", "--bare", "file.git"]);
        let time = env.run(
            "git",
            &source,
            &[
                "push",
                "--quiet",
                &format!("file://{}", dir.join("file.git").display()),
                "refs/sessions/*:refs/sessions/*",
            ],
        );
        push_file.push(Figure {
            time,
            traffic: Traffic::default(),
        });
    }

    let t = |v: &[Figure]| median(v.iter().map(|f| f.time).collect());
    let bytes = |v: &[Figure]| {
        let last = v.last().expect("a run").traffic;
        last.bytes_in + last.bytes_out
    };
    let requests = |v: &[Figure]| v.last().expect("a run").traffic.requests;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let pack = dir_bytes(&env.root.join("run0/clone-plain/.git/objects/pack"));

    println!();
    println!(
        "HTTP transfer of {refs} sessions refs (git http-backend behind lighttpd, basic auth, 127.0.0.1), median of {runs} run(s)"
    );
    println!("| figure | time | wire bytes (requests) | ratio (time) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| `git session push` over HTTP | {:.2?} | {:.2} MiB ({}) | {:.2}x plain push over HTTP |",
        t(&push_session),
        mib(bytes(&push_session)),
        requests(&push_session),
        ratio(t(&push_session), t(&push_plain))
    );
    println!(
        "| plain `git push` of the same refs over HTTP | {:.2?} | {:.2} MiB ({}) | 1.00x (baseline) |",
        t(&push_plain),
        mib(bytes(&push_plain)),
        requests(&push_plain)
    );
    println!(
        "| plain `git push` of the same refs over file:// | {:.2?} | - | {:.2}x plain push over HTTP |",
        t(&push_file),
        ratio(t(&push_file), t(&push_plain))
    );
    println!(
        "| `git session pull` into a fresh clone over HTTP | {:.2?} | {:.2} MiB ({}) | {:.2}x plain fetch over HTTP |",
        t(&fetch_session),
        mib(bytes(&fetch_session)),
        requests(&fetch_session),
        ratio(t(&fetch_session), t(&fetch_plain))
    );
    println!(
        "| plain `git fetch` of the same refs over HTTP | {:.2?} | {:.2} MiB ({}) | 1.00x (baseline) |",
        t(&fetch_plain),
        mib(bytes(&fetch_plain)),
        requests(&fetch_plain)
    );
    println!(
        "bytes ratio: push {:.2}x, fetch {:.2}x of plain git; the fetched pack is {:.2} MiB; saving the {refs} sessions took {save_time:.1?}",
        bytes(&push_session) as f64 / bytes(&push_plain) as f64,
        bytes(&fetch_session) as f64 / bytes(&fetch_plain) as f64,
        mib(pack)
    );
}

/// Serves `repo` (a bare repository `old` serves) from a new server, so that the fetch is
/// measured on its own: the repository is copied into the new server's directory, then `old`
/// stops. Returns the new server and what went through the old one.
fn restart_on(env: &Env, old: HttpGitServer, repo: &Path) -> (HttpGitServer, Traffic) {
    let server = HttpGitServer::start();
    env.trust(&server);
    let name = repo
        .file_name()
        .expect("a repository dir")
        .to_string_lossy()
        .into_owned();
    let target = server.repo_dir(&name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(repo)
        .arg(&target)
        .status()
        .expect("copy the served repository");
    assert!(status.success(), "cp -a {}", repo.display());
    (server, old.stop())
}

/// Panics unless `git_dir` holds `count` refs under `prefix` and fsck is clean.
fn check_refs(env: &Env, git_dir: &Path, prefix: &str, count: usize) {
    let listed = env.git_stdout(git_dir, &["for-each-ref", "--format=%(refname)", prefix]);
    let sessions = listed.lines().count();
    assert_eq!(
        sessions,
        count,
        "{} holds {sessions} sessions refs",
        git_dir.display()
    );
    env.run("git", git_dir, &["fsck", "--no-dangling", "--no-progress"]);
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
