//! Storage benchmark: git-session against the naive way of keeping a session in git.
//!
//! One deterministic OpenCode session (see `gen/mod.rs`) grows over 20 saves of 50 messages to
//! 1,000 messages. Each save's `opencode export` JSON is stored twice, in two repositories:
//!
//! * **git-session** (repo A): `git-session save --from export_k.json`;
//! * **naive** (repo B): `export_k.json` copied to `sessions/<id>.json`, then `git add` and
//!   `git commit` on a branch.
//!
//! Both are measured the same way in the same run: the full pack of all saves, the sum of the 20
//! incremental thin packs that pushing after each save would send, the loose objects on disk, the
//! latency of one more save and of reading the session back, and `git-session list` over 1,000
//! saved sessions. Next to the packs, the last export compressed whole by `xz -9e` shows how far
//! below the naive way any layout could go. The bench only prints (timings never fail it); it
//! panics only when `git-session show` does not give back the last export, since a broken store
//! is not worth measuring.
//!
//! ```text
//! cargo bench --bench storage
//! GIT_SESSION_BENCH_QUICK=1 cargo bench --bench storage          # 5 saves, ~250 messages
//! GIT_SESSION_BENCH_THRESHOLDS=256,1024,4096 cargo bench --bench storage  # + a split threshold sweep
//! GIT_SESSION_BENCH_KEEP=1 cargo bench --bench storage           # keep the temp dir to inspect
//! GIT_SESSION_BENCH_CORPUS=fresh cargo bench --bench storage     # tool outputs mostly new text
//! ```
//!
//! The data depends only on the seed, this crate's `src/` and the registry sources it reads, so
//! figures move a little when `src/` changes. Timings are medians of interleaved runs; on a busy
//! machine read their ratios rather than their absolute values.
//!
//! Git runs hermetically: `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL` and `HOME` in the temp dir,
//! and `gc.auto=0` in every repository, so nothing is packed behind the benchmark's back.

// A benchmark prints its figures: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "gen/mod.rs"]
mod generator;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_session::agents::opencode::export;
use git_session::session::codec::DEFAULT_SPLIT_THRESHOLD;
use git_session::session::{SaveMeta, SessionHistory};
use git_session::store::Store;

use generator::{Corpus, Generated, Rng};

const BIN: &str = env!("CARGO_BIN_EXE_git-session");
const SEED: u64 = 0x5e55_1026;
const MESSAGES_PER_SAVE: usize = 50;
const MESSAGES_PER_EXTRA_SAVE: usize = 10;

/// What one run measures.
struct Config {
    quick: bool,
    saves: usize,
    extra_saves: usize,
    show_runs: usize,
    list_sessions: usize,
    list_runs: usize,
    thresholds: Vec<usize>,
    mix: generator::Mix,
}

impl Config {
    fn from_env() -> Self {
        let quick =
            std::env::var("GIT_SESSION_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let thresholds = std::env::var("GIT_SESSION_BENCH_THRESHOLDS")
            .map(|v| {
                v.split(',')
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| {
                        t.trim().parse().unwrap_or_else(|_| {
                            panic!("GIT_SESSION_BENCH_THRESHOLDS: {t:?} is not a byte count")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mix = match std::env::var("GIT_SESSION_BENCH_CORPUS").as_deref() {
            Ok("fresh") => generator::Mix::Fresh,
            Ok("coding") | Ok("") | Err(_) => generator::Mix::Coding,
            Ok(other) => panic!("GIT_SESSION_BENCH_CORPUS: {other:?} is not coding or fresh"),
        };
        Config {
            mix,
            quick,
            saves: if quick { 5 } else { 20 },
            extra_saves: if quick { 5 } else { 9 },
            show_runs: if quick { 5 } else { 9 },
            list_sessions: 1000,
            list_runs: 5,
            thresholds,
        }
    }
}

/// Sizes of one repository after all saves.
#[derive(Clone, Copy, Default)]
struct Sizes {
    full_pack: u64,
    incremental: u64,
    loose_objects: u64,
    loose_apparent: u64,
    loose_allocated: u64,
}

/// Objects of one kind in packs: how many, how many stored as deltas, bytes they take.
#[derive(Clone, Copy, Default)]
struct Category {
    objects: u64,
    deltified: u64,
    /// Bytes the objects take in the pack (compressed, or compressed delta).
    bytes: u64,
    /// The objects' own (uncompressed) size.
    raw: u64,
}

/// What packs are made of, by object kind and path.
#[derive(Default)]
struct Composition {
    categories: BTreeMap<String, Category>,
    pack_bytes: u64,
    packs: u64,
}

/// One repository holding the saves, and what the saves cost.
struct Side {
    repo: PathBuf,
    tip_ref: String,
    commits: Vec<String>,
    save_times: Vec<Duration>,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets without it.
    if !std::env::args().any(|a| a == "--bench") {
        println!("storage bench: skipped (run it with `cargo bench --bench storage`)");
        return;
    }
    let config = Config::from_env();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let tmp = tempfile::Builder::new()
        .prefix("git-session-bench-")
        .tempdir()
        .expect("create a temp dir");
    let root = tmp.path().to_path_buf();
    hermetic_env(&root);
    let started = Instant::now();

    // ---- data ----
    progress("generating the session");
    let corpus = Corpus::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        cargo_home.as_deref(),
    );
    let total_messages =
        config.saves * MESSAGES_PER_SAVE + config.extra_saves * MESSAGES_PER_EXTRA_SAVE;
    let session = generator::generate_with(&corpus, SEED, total_messages, config.mix);
    let sid = session.session_id.clone();
    let exports_dir = root.join("exports");
    std::fs::create_dir_all(&exports_dir).expect("create exports dir");
    let mut exports = Vec::new();
    let mut export_bytes = Vec::new();
    for k in 1..=config.saves {
        exports.push(write_export(
            &session,
            k * MESSAGES_PER_SAVE,
            &exports_dir.join(format!("export_{k:02}.json")),
            &mut export_bytes,
        ));
    }
    let base = config.saves * MESSAGES_PER_SAVE;
    let mut extras = Vec::new();
    let mut extra_bytes = Vec::new();
    for j in 1..=config.extra_saves {
        extras.push(write_export(
            &session,
            base + j * MESSAGES_PER_EXTRA_SAVE,
            &exports_dir.join(format!("extra_{j:02}.json")),
            &mut extra_bytes,
        ));
    }

    // ---- the saves ----
    progress(&format!("git-session: {} saves", config.saves));
    let side_a = save_git_session(&root.join("repo-a"), &sid, &exports, None);
    progress(&format!(
        "naive: {} saves (git add + git commit)",
        config.saves
    ));
    let side_b = save_naive(&root.join("repo-b"), &sid, &exports);

    progress("verifying git-session show against the last export");
    let verified = verify_show(
        &side_a.repo,
        &sid,
        exports.last().expect("one save at least"),
    );

    // ---- figures 1-3 ----
    progress("measuring packs and loose objects");
    let sizes_a = measure_sizes(&side_a);
    let sizes_b = measure_sizes(&side_b);
    let whole_xz = xz_size(exports.last().expect("one save at least"));
    let state_bytes = dir_bytes(&side_a.repo.join(".git").join("git-session"));

    progress("pack composition (git index-pack + verify-pack)");
    let (full_a, incr_a) = compositions(&root.join("scratch-a"), &side_a);
    let (full_b, incr_b) = compositions(&root.join("scratch-b"), &side_b);

    // ---- figure 4 ----
    progress(&format!(
        "latency: {} saves of +{MESSAGES_PER_EXTRA_SAVE} messages each way",
        config.extra_saves
    ));
    let mut save_a = Vec::new();
    let mut save_b = Vec::new();
    for (j, file) in extras.iter().enumerate() {
        save_a.push(session_save(&side_a.repo, file));
        save_b.push(naive_save(
            &side_b.repo,
            &sid,
            file,
            &format!("extra {}", j + 1),
        ));
    }
    let mut show_a = Vec::new();
    let mut show_b = Vec::new();
    let naive_path = format!("HEAD:sessions/{sid}.json");
    for _ in 0..config.show_runs {
        show_a.push(timed(
            Command::new(BIN)
                .current_dir(&side_a.repo)
                .args(["show", &sid]),
        ));
        show_b.push(timed(
            Command::new("git")
                .current_dir(&side_b.repo)
                .args(["show", &naive_path]),
        ));
    }

    // ---- figure 5 ----
    progress(&format!(
        "list: creating {} sessions in-process",
        config.list_sessions
    ));
    let list_repo = root.join("repo-list");
    let create_time = create_list_sessions(&list_repo, config.list_sessions);
    let listed = run_capture(Command::new(BIN).current_dir(&list_repo).arg("list"));
    // One header line, then one line per session.
    let listed_lines = String::from_utf8_lossy(&listed).lines().count() - 1;
    assert_eq!(
        listed_lines, config.list_sessions,
        "git-session list printed {listed_lines} lines for {} saved sessions",
        config.list_sessions
    );
    let list_times: Vec<Duration> = (0..config.list_runs)
        .map(|_| timed(Command::new(BIN).current_dir(&list_repo).arg("list")))
        .collect();

    // ---- report ----
    let mut report = String::new();
    let last_export = *export_bytes.last().expect("one save");
    let _ = writeln!(
        report,
        "\ngit-session storage benchmark{}: one OpenCode session ({:?} corpus), {} saves of +{MESSAGES_PER_SAVE} messages",
        if config.quick { " (QUICK)" } else { "" },
        config.mix,
        config.saves
    );
    let _ = writeln!(
        report,
        "  session {sid}: {} messages after save {}, export {} ; the {} exports total {}",
        base,
        config.saves,
        human(last_export),
        config.saves,
        human(export_bytes.iter().sum())
    );
    let c = &session.counts;
    let _ = writeln!(
        report,
        "  parts: {} ; tools: {} ; reads re-reading a file: {} ({} after an edit)",
        join_counts(&c.parts),
        join_counts(&c.tools),
        c.rereads,
        c.rereads_after_edit
    );
    let _ = writeln!(report, "  file contents: {}", corpus.origin);
    let _ = writeln!(
        report,
        "  git-session's files in .git besides objects and refs (.git/git-session): {}",
        human(state_bytes)
    );
    let _ = writeln!(
        report,
        "  {} saves took: git-session {:.1} s (last {:.0} ms), naive {:.1} s (last {:.0} ms)",
        config.saves,
        total(&side_a.save_times).as_secs_f64(),
        ms(*side_a.save_times.last().expect("one save")),
        total(&side_b.save_times).as_secs_f64(),
        ms(*side_b.save_times.last().expect("one save")),
    );
    let _ = writeln!(
        report,
        "  verified: git-session show after save {} is JSON-equal to export_{:02}.json ({verified} messages)",
        config.saves, config.saves
    );
    let _ = writeln!(report);
    let mut table = Table::new();
    table.size_row(
        "1",
        &format!("full pack, all {} saves", config.saves),
        sizes_a.full_pack,
        sizes_b.full_pack,
        0.2,
    );
    // What a strong compressor that sees the whole last export at once makes of it: no lossless
    // layout stores the session in much less, whatever its objects.
    if let Some(xz) = whole_xz {
        table.row([
            "1b".into(),
            "last export, xz -9e (one stream, 64 MiB window)".into(),
            human(xz),
            human(sizes_b.full_pack),
            ratio(xz as f64, sizes_b.full_pack as f64),
            "-".into(),
            String::new(),
        ]);
    }
    table.size_row(
        "2",
        &format!("sum of {} incremental thin packs", config.saves),
        sizes_a.incremental,
        sizes_b.incremental,
        0.85,
    );
    table.size_row(
        "3a",
        "loose objects, apparent size",
        sizes_a.loose_apparent,
        sizes_b.loose_apparent,
        0.1,
    );
    table.size_row(
        "3b",
        "loose objects, allocated (st_blocks)",
        sizes_a.loose_allocated,
        sizes_b.loose_allocated,
        0.1,
    );
    table.row([
        "".into(),
        "  loose object files".into(),
        thousands(sizes_a.loose_objects),
        thousands(sizes_b.loose_objects),
        ratio(sizes_a.loose_objects as f64, sizes_b.loose_objects as f64),
        "".into(),
        "".into(),
    ]);
    table.time_row(
        "4a",
        &format!(
            "save +{MESSAGES_PER_EXTRA_SAVE} msgs onto {base} (median of {})",
            config.extra_saves
        ),
        median(&save_a),
        median(&save_b),
        Some(0.3),
    );
    table.time_row(
        "4b",
        &format!("read the session back (median of {})", config.show_runs),
        median(&show_a),
        median(&show_b),
        Some(1.5),
    );
    // The JSON view (4c) and the Markdown and HTML views (4d, 4e), each written out as it goes.
    for (row, format, what) in [
        (
            "4c",
            "json",
            "peak memory of that show vs the export's size",
        ),
        ("4d", "md", "the same for show --format md"),
        ("4e", "html", "the same for show --format html"),
    ] {
        let Some(rss) = peak_rss(
            Command::new(BIN)
                .current_dir(&side_a.repo)
                .args(["show", &sid, "--format", format]),
        ) else {
            progress("4c-4e skipped: /usr/bin/time (Debian package time) is not installed");
            break;
        };
        table.row([
            row.into(),
            what.into(),
            human(rss),
            human(last_export),
            ratio(rss as f64, last_export as f64),
            "<= 2x".into(),
            verdict(rss as f64 <= 2.0 * last_export as f64),
        ]);
    }
    // Load (4f): git-session's own peak (VmHWM sampled, without the `opencode import` it runs),
    // into an OpenCode whose home is a temp dir, where OpenCode is installed.
    match opencode_bin() {
        Some(opencode) => {
            let home = root.join("load-home");
            std::fs::create_dir_all(&home).unwrap();
            let path = format!(
                "{}:{}",
                opencode.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let kb = generator::sampled_peak_kb(
                Command::new(BIN)
                    .current_dir(&side_a.repo)
                    .env("PATH", path)
                    .env("HOME", &home)
                    .env("XDG_DATA_HOME", home.join("data"))
                    .env("XDG_CONFIG_HOME", home.join("config"))
                    .env("XDG_STATE_HOME", home.join("state"))
                    .env("XDG_CACHE_HOME", home.join("cache"))
                    .args(["load", &sid]),
                "VmHWM:",
            );
            table.row([
                "4f".into(),
                "peak memory of load (its own) vs the export's size".into(),
                human(kb * 1024),
                human(last_export),
                ratio((kb * 1024) as f64, last_export as f64),
                "<= 2x".into(),
                verdict((kb * 1024) as f64 <= 2.0 * last_export as f64),
            ]);
        }
        None => progress("4f skipped: no opencode on PATH or in target/e2e-npm"),
    }
    let list_ms = ms(median(&list_times));
    table.row([
        "5".into(),
        format!(
            "list, {} sessions (median of {})",
            config.list_sessions, config.list_runs
        ),
        format!("{list_ms:.1} ms"),
        "-".into(),
        "-".into(),
        "< 100 ms".into(),
        verdict(list_ms < 100.0),
    ]);
    report.push_str(&table.render());
    let _ = writeln!(
        report,
        "\n  4a: naive = `git add` + `git commit` of the export copied into the worktree; git-session = `git-session save --from`."
    );
    let _ = writeln!(
        report,
        "  4b: git-session show {sid} > /dev/null ; naive: git show HEAD:sessions/<id>.json > /dev/null"
    );
    let _ = writeln!(
        report,
        "  5: the {} sessions were created in-process in {:.1} s (3 messages each)",
        config.list_sessions,
        create_time.as_secs_f64()
    );

    let _ = writeln!(
        report,
        "\nPack composition (git verify-pack -v; raw = object size, in pack = its bytes in the pack, packed = in pack / raw)"
    );
    report.push_str(&render_composition("git-session, full pack", &full_a));
    report.push_str(&render_composition(
        &format!("git-session, {} incremental thin packs", config.saves),
        &incr_a,
    ));
    report.push_str(&render_composition("naive, full pack", &full_b));
    report.push_str(&render_composition(
        &format!("naive, {} incremental thin packs", config.saves),
        &incr_b,
    ));
    print!("{report}");
    let _ = std::io::stdout().flush();

    // ---- split threshold sweep ----
    if !config.thresholds.is_empty() {
        let mut sweep = String::new();
        let _ = writeln!(
            sweep,
            "\nSplit threshold sweep (session.splitThreshold; figures 1-3, ratio to naive in brackets)"
        );
        let _ = writeln!(
            sweep,
            "  {:>9}  {:>24}  {:>24}  {:>24}  {:>24}  {:>7}  {:>8}  {:>7}",
            "threshold",
            "1 full pack",
            "2 incremental",
            "3a loose apparent",
            "3b loose allocated",
            "objects",
            "strings",
            "saves s"
        );
        for &threshold in &config.thresholds {
            progress(&format!("sweep: threshold {threshold}"));
            let side = save_git_session(
                &root.join(format!("sweep-{threshold}")),
                &sid,
                &exports,
                Some(threshold),
            );
            let sizes = measure_sizes(&side);
            let strings = git(
                &side.repo,
                &["ls-tree", &format!("{}:", side.tip_ref), "strings"],
            );
            let strings = if strings.is_empty() {
                0
            } else {
                git(
                    &side.repo,
                    &["ls-tree", &format!("{}:strings", side.tip_ref)],
                )
                .lines()
                .count()
            };
            let cell =
                |a: u64, b: u64| format!("{} [{}]", human_short(a), ratio(a as f64, b as f64));
            let _ = writeln!(
                sweep,
                "  {:>9}  {:>24}  {:>24}  {:>24}  {:>24}  {:>7}  {:>8}  {:>7.1}",
                threshold,
                cell(sizes.full_pack, sizes_b.full_pack),
                cell(sizes.incremental, sizes_b.incremental),
                cell(sizes.loose_apparent, sizes_b.loose_apparent),
                cell(sizes.loose_allocated, sizes_b.loose_allocated),
                sizes.loose_objects,
                strings,
                total(&side.save_times).as_secs_f64()
            );
            let _ = std::fs::remove_dir_all(&side.repo);
        }
        let _ = writeln!(
            sweep,
            "  naive: {} full, {} incremental, {} loose apparent, {} allocated; default threshold {DEFAULT_SPLIT_THRESHOLD}",
            human_short(sizes_b.full_pack),
            human_short(sizes_b.incremental),
            human_short(sizes_b.loose_apparent),
            human_short(sizes_b.loose_allocated),
        );
        print!("{sweep}");
    }
    println!(
        "\n(total bench time {:.0} s; targets are printed, never enforced)",
        started.elapsed().as_secs_f64()
    );
    if std::env::var_os("GIT_SESSION_BENCH_KEEP").is_some() {
        eprintln!("[storage bench] kept {}", tmp.keep().display());
    }
}

// ------------------------------------------------------------------------------------------------
// Environment and processes

/// Makes every git (and gix) in this process and its children ignore the user's configuration.
fn hermetic_env(root: &Path) {
    let home = root.join("home");
    std::fs::create_dir_all(&home).expect("create home");
    let global = home.join(".gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Bench User\n\temail = bench@example.com\n[commit]\n\tgpgsign = false\n\
         [gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[init]\n\tdefaultBranch = main\n",
    )
    .expect("write global git config");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CEILING_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "XDG_CONFIG_HOME",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
    std::env::set_var("GIT_CONFIG_GLOBAL", &global);
    std::env::set_var("HOME", &home);
    std::env::set_var("GIT_TERMINAL_PROMPT", "0");
    std::env::set_var("LC_ALL", "C");
}

fn progress(what: &str) {
    eprintln!("[storage bench] {what}");
}

/// Runs a command, panicking with its stderr when it fails; returns its stdout.
fn run_capture(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.stdout
}

/// Runs a command with stdout sent to /dev/null and returns how long the process took.
/// The peak resident memory of running `cmd`, in bytes, as GNU time reports it (`None` where
/// /usr/bin/time is missing).
fn peak_rss(cmd: &mut Command) -> Option<u64> {
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let out = timed
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let kib: u64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn timed(cmd: &mut Command) -> Duration {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let elapsed = start.elapsed();
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    elapsed
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = run_capture(Command::new("git").current_dir(dir).args(args));
    String::from_utf8(out)
        .expect("git prints UTF-8 here")
        .trim_end()
        .to_owned()
}

/// Runs git with `input` on stdin (written from a thread, so large inputs cannot deadlock).
fn git_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("wait for git");
    let written = writer.join().expect("stdin writer");
    if !out.status.success() {
        panic!(
            "git {args:?} in {} failed ({}): {}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    written.expect("write git's stdin");
    out.stdout
}

fn init_repo(path: &Path, branch: &str) {
    std::fs::create_dir_all(path).expect("create repo dir");
    git(path, &["init", "-q", "-b", branch]);
    for (key, value) in [
        ("gc.auto", "0"),
        ("maintenance.auto", "false"),
        ("user.name", "Bench User"),
        ("user.email", "bench@example.com"),
    ] {
        git(path, &["config", key, value]);
    }
}

// ------------------------------------------------------------------------------------------------
// Data

fn write_export(
    session: &Generated,
    messages: usize,
    path: &Path,
    sizes: &mut Vec<u64>,
) -> PathBuf {
    let text = session.export(messages);
    sizes.push(text.len() as u64);
    std::fs::write(path, text).expect("write export");
    path.to_path_buf()
}

// ------------------------------------------------------------------------------------------------
// The two ways of saving

fn session_save(repo: &Path, file: &Path) -> Duration {
    timed(
        Command::new(BIN)
            .current_dir(repo)
            .args(["save", "--quiet", "--from"])
            .arg(file),
    )
}

fn naive_save(repo: &Path, sid: &str, file: &Path, label: &str) -> Duration {
    let rel = format!("sessions/{sid}.json");
    std::fs::copy(file, repo.join(&rel)).expect("copy export into the worktree");
    timed(Command::new("git").current_dir(repo).args(["add", &rel]))
        + timed(Command::new("git").current_dir(repo).args([
            "commit",
            "-q",
            "-m",
            &format!("Save {sid} ({label})"),
        ]))
}

fn save_git_session(repo: &Path, sid: &str, exports: &[PathBuf], threshold: Option<usize>) -> Side {
    init_repo(repo, "main");
    if let Some(t) = threshold {
        git(repo, &["config", "session.splitThreshold", &t.to_string()]);
    }
    let tip_ref = format!("refs/sessions/opencode/{sid}");
    let mut commits = Vec::new();
    let mut save_times = Vec::new();
    for file in exports {
        save_times.push(session_save(repo, file));
        commits.push(git(repo, &["rev-parse", &tip_ref]));
    }
    Side {
        repo: repo.to_path_buf(),
        tip_ref,
        commits,
        save_times,
    }
}

fn save_naive(repo: &Path, sid: &str, exports: &[PathBuf]) -> Side {
    init_repo(repo, "sessions");
    std::fs::create_dir_all(repo.join("sessions")).expect("create sessions/");
    let mut commits = Vec::new();
    let mut save_times = Vec::new();
    for (k, file) in exports.iter().enumerate() {
        save_times.push(naive_save(repo, sid, file, &format!("save {}", k + 1)));
        commits.push(git(repo, &["rev-parse", "HEAD"]));
    }
    Side {
        repo: repo.to_path_buf(),
        tip_ref: "refs/heads/sessions".into(),
        commits,
        save_times,
    }
}

/// `git-session show` must give back the last export, JSON-equal except where redaction (on by
/// default) replaced a secret by a `[REDACTED:rule]` marker; returns its message count.
///
/// The generated session reads this repository's own sources as file contents, and those hold
/// fake tokens planted for the redaction tests: redacting them is the product working.
/// The size of `file` compressed by `xz -9e`, or `None` (and a note) when xz is not installed.
fn xz_size(file: &Path) -> Option<u64> {
    match Command::new("xz")
        .args(["-9e", "--stdout"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Some(out.stdout.len() as u64),
        _ => {
            progress("1b skipped: no xz on PATH (Debian package xz-utils)");
            None
        }
    }
}

fn verify_show(repo: &Path, sid: &str, last_export: &Path) -> usize {
    let shown = run_capture(Command::new(BIN).current_dir(repo).args(["show", sid]));
    let shown: serde_json::Value =
        serde_json::from_slice(&shown).expect("git-session show prints JSON");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(last_export).expect("read export"))
            .expect("the export is JSON");
    let mut redacted = 0;
    if !equal_but_redacted(&shown, &expected, &mut redacted) {
        let (a, b) = (&shown["messages"], &expected["messages"]);
        let first_bad = (0..b.as_array().map_or(0, Vec::len))
            .find(|&i| a.get(i) != b.get(i))
            .map_or_else(|| "the session info".to_owned(), |i| format!("message {i}"));
        panic!(
            "git-session show {sid} differs from {}: first difference in {first_bad}",
            last_export.display()
        );
    }
    if redacted > 0 {
        eprintln!(
            "[storage bench] {redacted} string(s) hold redaction markers (planted fake secrets)"
        );
    }
    expected["messages"].as_array().map_or(0, Vec::len)
}

/// JSON equality, except that a string of `shown` may replace parts of the `expected` string by
/// `[REDACTED:<rule>]` markers, everything around the markers unchanged and in order.
fn equal_but_redacted(
    shown: &serde_json::Value,
    expected: &serde_json::Value,
    redacted: &mut usize,
) -> bool {
    use serde_json::Value;
    match (shown, expected) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && b.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|x| equal_but_redacted(x, v, redacted)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| equal_but_redacted(x, y, redacted))
        }
        (Value::String(a), Value::String(b)) if a != b => {
            let marker = regex::Regex::new(r"\[REDACTED:[a-z0-9-]+\]").expect("a valid regex");
            if !marker.is_match(a) {
                return false;
            }
            let pattern = marker
                .split(a)
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join("(?s:.+?)");
            let ok = regex::Regex::new(&format!("(?s)^{pattern}$")).is_ok_and(|re| re.is_match(b));
            *redacted += usize::from(ok);
            ok
        }
        (a, b) => a == b,
    }
}

// ------------------------------------------------------------------------------------------------
// Figures 1-3

fn pack(repo: &Path, revs: &str, thin: bool) -> Vec<u8> {
    let mut args = vec![
        "pack-objects",
        "--revs",
        "--stdout",
        "--delta-base-offset",
        "-q",
    ];
    if thin {
        args.push("--thin");
    }
    git_with_input(repo, &args, revs.as_bytes())
}

/// What a push of save `k` sends to a remote that has save `k-1`.
fn incremental_revs(commits: &[String], k: usize) -> String {
    if k == 0 {
        format!("{}\n", commits[0])
    } else {
        format!("{}\n^{}\n", commits[k], commits[k - 1])
    }
}

fn measure_sizes(side: &Side) -> Sizes {
    let full_pack = pack(&side.repo, &format!("{}\n", side.tip_ref), false).len() as u64;
    let incremental = (0..side.commits.len())
        .map(|k| pack(&side.repo, &incremental_revs(&side.commits, k), true).len() as u64)
        .sum();
    let mut sizes = Sizes {
        full_pack,
        incremental,
        ..Sizes::default()
    };
    let objects = side.repo.join(".git").join("objects");
    for dir in std::fs::read_dir(&objects)
        .expect("read objects dir")
        .flatten()
    {
        let name = dir.file_name().to_string_lossy().into_owned();
        if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        for file in std::fs::read_dir(dir.path())
            .expect("read fan-out dir")
            .flatten()
        {
            let meta = file.metadata().expect("stat loose object");
            sizes.loose_objects += 1;
            sizes.loose_apparent += meta.len();
            sizes.loose_allocated += meta.blocks() * 512;
        }
    }
    sizes
}

/// Apparent size of every file under `dir` (0 when it does not exist).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Compositions of the full pack and of the sum of the incremental thin packs of one side.
fn compositions(scratch: &Path, side: &Side) -> (Composition, Composition) {
    // A bare repository borrowing the side's objects: index-pack --fix-thin completes thin packs
    // there without touching the measured repository.
    std::fs::create_dir_all(scratch).expect("create scratch repo");
    git(scratch, &["init", "-q", "--bare"]);
    git(scratch, &["config", "gc.auto", "0"]);
    let alternates = scratch.join("objects").join("info").join("alternates");
    std::fs::write(
        &alternates,
        format!("{}\n", side.repo.join(".git").join("objects").display()),
    )
    .expect("write alternates");

    let sizes: HashMap<String, u64> = git(
        &side.repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objectsize)",
        ],
    )
    .lines()
    .filter_map(|l| {
        let (id, size) = l.split_once(' ')?;
        Some((id.to_owned(), size.parse().ok()?))
    })
    .collect();
    let mut full = Composition::default();
    let paths = object_paths(&side.repo, std::slice::from_ref(&side.tip_ref));
    let bytes = pack(&side.repo, &format!("{}\n", side.tip_ref), false);
    add_composition(scratch, &bytes, &paths, &sizes, &mut full);

    let mut incremental = Composition::default();
    for k in 0..side.commits.len() {
        let mut revs = vec![side.commits[k].clone()];
        if k > 0 {
            revs.push(format!("^{}", side.commits[k - 1]));
        }
        let paths = object_paths(&side.repo, &revs);
        let bytes = pack(&side.repo, &incremental_revs(&side.commits, k), true);
        add_composition(scratch, &bytes, &paths, &sizes, &mut incremental);
    }
    let _ = std::fs::remove_dir_all(scratch);
    (full, incremental)
}

/// Object id -> path, as `git rev-list --objects` names them (no path for commits).
fn object_paths(repo: &Path, revs: &[String]) -> HashMap<String, String> {
    let mut args = vec!["rev-list", "--objects"];
    args.extend(revs.iter().map(String::as_str));
    git(repo, &args)
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((id, path)) => (id.to_owned(), path.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

fn category(kind: &str, path: Option<&String>) -> String {
    let path = path.map(String::as_str).unwrap_or("?");
    let place = match (kind, path) {
        ("commit", _) => "",
        ("tree", "") => " (root)",
        ("tree", p) => match p {
            "messages" | "strings" | "sessions" | "children" => p,
            _ => " (other)",
        },
        (_, "session.json") => "session.json",
        (_, p) if p.starts_with("messages/") => "messages/*",
        (_, p) if p.starts_with("strings/") => "strings/*",
        (_, p) if p.starts_with("sessions/") => "sessions/<id>.json",
        _ => " (other)",
    };
    if place.starts_with(' ') || place.is_empty() {
        format!("{kind}{place}")
    } else {
        format!("{kind} {place}")
    }
}

/// Indexes `pack` in the scratch repository and adds its objects to `into`. Bases that
/// `--fix-thin` appended (they are not part of what is sent) are left out.
fn add_composition(
    scratch: &Path,
    pack: &[u8],
    paths: &HashMap<String, String>,
    sizes: &HashMap<String, u64>,
    into: &mut Composition,
) {
    let out = git_with_input(scratch, &["index-pack", "--stdin", "--fix-thin"], pack);
    let out = String::from_utf8_lossy(&out);
    let hash = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected index-pack output {out:?}"))
        .to_owned();
    let pack_dir = scratch.join("objects").join("pack");
    let idx = pack_dir.join(format!("pack-{hash}.idx"));
    let listing = git(scratch, &["verify-pack", "-v", &idx.to_string_lossy()]);
    let sent_end = pack.len().saturating_sub(20) as u64;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || !matches!(fields[1], "commit" | "tree" | "blob" | "tag") {
            continue;
        }
        let offset: u64 = fields[4].parse().unwrap_or(u64::MAX);
        if offset >= sent_end {
            continue;
        }
        let in_pack: u64 = fields[3].parse().unwrap_or(0);
        let entry = into
            .categories
            .entry(category(fields[1], paths.get(fields[0])))
            .or_default();
        entry.objects += 1;
        entry.bytes += in_pack;
        entry.raw += sizes.get(fields[0]).copied().unwrap_or(0);
        if fields.len() >= 7 {
            entry.deltified += 1;
        }
    }
    into.pack_bytes += pack.len() as u64;
    into.packs += 1;
    for entry in std::fs::read_dir(&pack_dir)
        .expect("read pack dir")
        .flatten()
    {
        if entry.file_name().to_string_lossy().contains(&hash) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn render_composition(title: &str, c: &Composition) -> String {
    let mut out = format!(
        "  {title}: {} in {} pack{}\n",
        human(c.pack_bytes),
        c.packs,
        if c.packs == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "    {:<26} {:>7} {:>9} {:>14} {:>13} {:>7} {:>6}",
        "objects", "count", "deltified", "raw bytes", "in pack", "packed", "share"
    );
    let mut objects_bytes = 0;
    for (name, cat) in &c.categories {
        objects_bytes += cat.bytes;
        let _ = writeln!(
            out,
            "    {:<26} {:>7} {:>9} {:>14} {:>13} {:>6.1}% {:>5.1}%",
            name,
            thousands(cat.objects),
            thousands(cat.deltified),
            thousands(cat.raw),
            thousands(cat.bytes),
            100.0 * cat.bytes as f64 / cat.raw.max(1) as f64,
            100.0 * cat.bytes as f64 / c.pack_bytes.max(1) as f64
        );
    }
    let overhead = c.pack_bytes.saturating_sub(objects_bytes);
    let _ = writeln!(
        out,
        "    {:<26} {:>7} {:>9} {:>14} {:>13} {:>7} {:>5.1}%",
        "pack header and trailer",
        "",
        "",
        "",
        thousands(overhead),
        "",
        100.0 * overhead as f64 / c.pack_bytes.max(1) as f64
    );
    out
}

// ------------------------------------------------------------------------------------------------
// Figure 5

/// Saves `n` small 3-message sessions through the library; returns how long that took.
fn create_list_sessions(repo: &Path, n: usize) -> Duration {
    init_repo(repo, "main");
    let start = Instant::now();
    let store = Store::discover(repo).expect("open the list repo");
    let history = SessionHistory::new(&store);
    let mut rng = Rng::new(SEED ^ 0x1157);
    for i in 0..n {
        let bytes = generator::small_session(i, &mut rng, 0).into_bytes();
        let session = export::parse(bytes, "bench").expect("a valid small export");
        let meta = SaveMeta {
            agent: "opencode".into(),
            agent_version: export::version(&session),
            title: export::title(&session),
            reason: "bench".into(),
            split_threshold: DEFAULT_SPLIT_THRESHOLD,
            skip_if_stored: false,
            paths: git_session::session::portable::MachinePaths::none(),
        };
        history
            .save(&session, &meta, None)
            .expect("save a small session");
    }
    start.elapsed()
}

// ------------------------------------------------------------------------------------------------
// Formatting

struct Table {
    rows: Vec<[String; 7]>,
}

impl Table {
    fn new() -> Self {
        Table {
            rows: vec![[
                "#".into(),
                "figure".into(),
                "git-session".into(),
                "naive".into(),
                "ratio".into(),
                "target".into(),
                "".into(),
            ]],
        }
    }

    fn row(&mut self, row: [String; 7]) {
        self.rows.push(row);
    }

    fn size_row(&mut self, n: &str, what: &str, a: u64, b: u64, target: f64) {
        let r = a as f64 / b.max(1) as f64;
        self.row([
            n.into(),
            what.into(),
            human(a),
            human(b),
            ratio(a as f64, b as f64),
            format!("<= {target}x"),
            verdict(r <= target),
        ]);
    }

    fn time_row(&mut self, n: &str, what: &str, a: Duration, b: Duration, target: Option<f64>) {
        let r = ms(a) / ms(b).max(1e-9);
        self.row([
            n.into(),
            what.into(),
            format!("{:.1} ms", ms(a)),
            format!("{:.1} ms", ms(b)),
            format!("{r:.2}x"),
            target.map_or_else(|| "-".into(), |t| format!("<= {t}x")),
            target.map_or_else(String::new, |t| verdict(r <= t)),
        ]);
    }

    fn render(&self) -> String {
        let mut widths = [0usize; 7];
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (i, row) in self.rows.iter().enumerate() {
            let mut line = String::from(" ");
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                // Text columns left-aligned, figures right-aligned.
                if c <= 1 || c == 6 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * 6;
                let _ = writeln!(out, " {}", "-".repeat(total));
            }
        }
        out
    }
}

fn verdict(met: bool) -> String {
    if met { "met" } else { "MISSED" }.into()
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".into()
    } else {
        format!("{:.3}x", a / b)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn total(times: &[Duration]) -> Duration {
    times.iter().sum()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1,234,567 B (1.18 MiB)`.
fn human(n: u64) -> String {
    format!("{} B ({})", thousands(n), human_short(n))
}

/// `1.18 MiB`, `345.6 KiB`, `512 B`.
fn human_short(n: u64) -> String {
    let x = n as f64;
    if x >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", x / (1024.0 * 1024.0))
    } else if x >= 1024.0 {
        format!("{:.1} KiB", x / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn join_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `opencode` binary a load can run: the one on PATH, else the one `.ci/run` installs for
/// the end-to-end tests.
fn opencode_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("opencode"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let installed =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-npm/node_modules/.bin/opencode");
        installed.is_file().then_some(installed)
    })
}
