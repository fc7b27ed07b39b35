//! Scale benchmark: many small sessions (issue 17, parts 3 and 4).
//!
//! 10,000 small OpenCode exports (three messages each, deterministic: ids and words from the
//! seeded PRNG of `gen/mod.rs`) are written to a temp dir. Then, in the same run, each figure
//! next to its baseline:
//!
//! * **import**: `git session import <folder>` into a fresh repository, next to
//!   `git hash-object -w --stdin-paths` fed the same files (a fresh repository too). Target: at
//!   most 5x.
//! * **search**: `git session search <regex>` over the 10,000 saved sessions, next to `git grep -E`
//!   of the same regex over the same exports committed and checked out as files (best of 3 runs
//!   each). Target: at most 2x the time. Both must find the same number of lines.
//! * **memory**: the peak RSS of search and of `stats` over 1,000 and over 10,000 sessions (the
//!   first 1,000 exports imported into a repository of their own). Target: it does not grow with
//!   the number of sessions. Peak RSS is GNU time's "Maximum resident set size"
//!   (`/usr/bin/time -f %M`, Debian's `time` package), which counts the pages of the pack files
//!   gix maps and touches as well as the heap.
//!
//! ```text
//! cargo bench --bench scale                            # 10,000 sessions (about a minute)
//! GIT_SESSION_BENCH_QUICK=1 cargo bench --bench scale  # 1,000 and 100 sessions
//! GIT_SESSION_BENCH_KEEP=1 cargo bench --bench scale   # keep the temp dir
//! GIT_SESSION_BENCH_BIN=/path/to/git-session cargo bench --bench scale  # measure another build
//! ```

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

// Only the PRNG and the project directory are used here.
#[allow(dead_code)]
#[path = "gen/mod.rs"]
mod generator;
#[path = "support/hermetic.rs"]
mod hermetic;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use generator::Rng;
use hermetic::Hermetic;

/// The binary measured: this build's, or `GIT_SESSION_BENCH_BIN` (to measure another build, such
/// as main's, on the same data).
fn bin() -> String {
    std::env::var("GIT_SESSION_BENCH_BIN")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_git-session").to_owned())
}
const TIME: &str = "/usr/bin/time";
/// What every search looks for: the questions and answers whose number ends in 7.
const PATTERN: &str = r"number [0-9]*7\b";

/// The hermetic environment every git and git-session process runs in.
struct Env {
    hermetic: Hermetic,
}

/// One timed run: wall time and peak RSS.
struct Run {
    took: Duration,
    rss_kb: u64,
    stdout: String,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        self.hermetic.command(program, dir)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command("git", dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `program args` under GNU time; `ok` says which exit codes are expected.
    fn timed(&self, dir: &Path, program: &str, args: &[&str], stdin: Option<&Path>) -> Run {
        let report = self.hermetic.root().join("time.out");
        let mut cmd = self.command(TIME, dir);
        cmd.arg("-o")
            .arg(&report)
            .args(["-f", "%M"])
            .arg(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(input) = stdin {
            cmd.stdin(std::fs::File::open(input).unwrap());
        }
        let start = Instant::now();
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{TIME} {program}: {e} (install Debian's 'time' package)"));
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{program} {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let rss_kb = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("GNU time's report: {text:?}"));
        Run {
            took,
            rss_kb,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }

    /// The peak of the process's anonymous memory (`RssAnon` in `/proc/<pid>/status`: the heap,
    /// without the pack files gix maps), sampled every millisecond while it runs.
    fn peak_anon_kb(&self, dir: &Path, program: &str, args: &[&str]) -> u64 {
        generator::sampled_peak_kb(self.command(program, dir).args(args), "RssAnon:")
    }

    /// The fastest of three runs (the last one's output).
    fn best_of_3(&self, dir: &Path, program: &str, args: &[&str]) -> Run {
        let mut best: Option<Run> = None;
        for _ in 0..3 {
            let run = self.timed(dir, program, args, None);
            best = Some(match best {
                Some(b) if b.took <= run.took => Run {
                    stdout: run.stdout,
                    ..b
                },
                _ => run,
            });
        }
        best.expect("three runs")
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1000.0)
}

fn main() {
    let quick = std::env::var("GIT_SESSION_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let keep = std::env::var("GIT_SESSION_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    let sessions = if quick { 1_000 } else { 10_000 };
    let few = sessions / 10;
    assert!(
        Path::new(TIME).exists(),
        "{TIME} is missing: install Debian's 'time' package (GNU time) for the peak RSS figures"
    );
    // No automatic gc (Hermetic's config): committing the 10,000 exports would start one in
    // the background (detached), which took a core from the searches measured after it.
    let env = Env {
        hermetic: Hermetic::new("git-session-bench-scale.", ""),
    };
    let root = env.hermetic.root().to_path_buf();
    let bin = bin();
    let bin = bin.as_str();
    println!(
        "scale benchmark: {sessions} small OpenCode sessions (GIT_SESSION_BENCH_QUICK=1: 1,000)"
    );

    // The exports, and the same files in a folder of their own for the smaller repository.
    let exports = root.join("exports");
    let exports_few = root.join("exports-few");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::create_dir_all(&exports_few).unwrap();
    let mut rng = Rng::new(17);
    let mut list = String::new();
    let mut bytes = 0;
    for i in 0..sessions {
        let text = generator::small_session(i, &mut rng, 8);
        let path = exports.join(format!("session-{i:05}.json"));
        std::fs::write(&path, &text).unwrap();
        if i < few {
            std::fs::write(exports_few.join(format!("session-{i:05}.json")), &text).unwrap();
        }
        bytes += text.len();
        list.push_str(&format!("{}\n", path.display()));
    }
    std::fs::write(root.join("list"), &list).unwrap();
    println!("  {sessions} exports, {:.1} MB of JSON", bytes as f64 / 1e6);

    // Import vs hash-object.
    env.git(&root, &["init", "-q", "naive"]);
    let naive = root.join("naive");
    let hashed = env.timed(
        &naive,
        "git",
        &["hash-object", "-w", "--stdin-paths"],
        Some(&root.join("list")),
    );
    assert_eq!(hashed.stdout.lines().count(), sessions);
    env.git(&root, &["init", "-q", "repo"]);
    let repo = root.join("repo");
    let import = env.timed(&repo, bin, &["import", &exports.to_string_lossy()], None);
    let refs = env.git(&repo, &["for-each-ref", "refs/sessions/"]);
    assert_eq!(refs.lines().count(), sessions, "every export saved");
    env.git(&root, &["init", "-q", "repo-few"]);
    let repo_few = root.join("repo-few");
    env.timed(
        &repo_few,
        bin,
        &["import", &exports_few.to_string_lossy()],
        None,
    );

    // The same texts as files: the exports committed in a worktree.
    env.git(&root, &["init", "-q", "worktree"]);
    let worktree = root.join("worktree");
    for entry in std::fs::read_dir(&exports).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), worktree.join(entry.file_name())).unwrap();
    }
    env.git(&worktree, &["add", "-A"]);
    env.git(&worktree, &["commit", "-q", "-m", "exports"]);

    let grep = env.best_of_3(&worktree, "git", &["grep", "-E", PATTERN]);
    let search = env.best_of_3(&repo, bin, &["search", PATTERN]);
    assert_eq!(
        search.stdout.lines().count(),
        grep.stdout.lines().count(),
        "search and git grep find the same lines"
    );
    let search_few = env.best_of_3(&repo_few, bin, &["search", PATTERN]);
    let search_anon = env.peak_anon_kb(&repo, bin, &["search", PATTERN]);
    let search_few_anon = env.peak_anon_kb(&repo_few, bin, &["search", PATTERN]);
    let stats_anon = env.peak_anon_kb(&repo, bin, &["stats"]);
    let stats_few_anon = env.peak_anon_kb(&repo_few, bin, &["stats"]);
    let stats = env.timed(&repo, bin, &["stats"], None);
    let stats_few = env.timed(&repo_few, bin, &["stats"], None);
    let pack_kb: u64 = env
        .git(&repo, &["count-objects", "-v"])
        .lines()
        .find_map(|l| l.strip_prefix("size-pack: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);

    println!();
    println!(
        "  {:<44} {:>10} {:>12} {:>7}  target",
        "figure", "git-session", "baseline", "ratio"
    );
    println!(
        "  {:<44} {:>9.2}s {:>11.2}s {:>6.2}x  <= 5x (baseline: git hash-object -w --stdin-paths)",
        format!("import of {sessions} exports"),
        import.took.as_secs_f64(),
        hashed.took.as_secs_f64(),
        ratio(import.took, hashed.took)
    );
    println!(
        "  {:<44} {:>9.2}s {:>11.2}s {:>6.2}x  <= 2x (baseline: git grep -E over the exports as files)",
        format!("search over {sessions} sessions"),
        search.took.as_secs_f64(),
        grep.took.as_secs_f64(),
        ratio(search.took, grep.took)
    );
    println!(
        "  {:<44} {:>10} {:>12} {:>6.2}x  does not grow with the count (baseline: {few} sessions)",
        format!("search peak RSS, {sessions} sessions"),
        mb(search.rss_kb),
        mb(search_few.rss_kb),
        search.rss_kb as f64 / search_few.rss_kb as f64
    );
    println!(
        "  {:<44} {:>10} {:>12} {:>6.2}x  does not grow with the count (baseline: {few} sessions)",
        format!("stats peak RSS, {sessions} sessions"),
        mb(stats.rss_kb),
        mb(stats_few.rss_kb),
        stats.rss_kb as f64 / stats_few.rss_kb as f64
    );
    println!(
        "  {:<44} {:>10} {:>12} {:>6.2}x  does not grow with the count (sampled RssAnon, {few} sessions)",
        format!("search peak heap, {sessions} sessions"),
        mb(search_anon),
        mb(search_few_anon),
        search_anon as f64 / search_few_anon.max(1) as f64
    );
    println!(
        "  {:<44} {:>10} {:>12} {:>6.2}x  does not grow with the count (sampled RssAnon, {few} sessions)",
        format!("stats peak heap, {sessions} sessions"),
        mb(stats_anon),
        mb(stats_few_anon),
        stats_anon as f64 / stats_few_anon.max(1) as f64
    );
    println!(
        "  {:<44} {:>10} {:>12}",
        "peak RSS of import / git grep",
        mb(import.rss_kb),
        mb(grep.rss_kb)
    );
    println!(
        "  {:<44} {:>10}   (mapped by gix while searching; counted in RSS)",
        "the sessions' pack",
        mb(pack_kb)
    );
    println!(
        "  {:<44} {:>9.2}s",
        "stats over all sessions",
        stats.took.as_secs_f64()
    );
    if keep {
        let kept = env.hermetic.keep();
        println!("  kept {}", kept.display());
    }
}
