//! Codex CLI sessions: save from the rollout files (by hand and from a hook payload), show them
//! back line for line, search them, load them on another "machine" (another HOME and checkout
//! path), with a subagent's rollout as a child.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{fixtures_dir, Repo, Run, TestEnv};

/// The session of the compaction example.
pub(crate) const ID: &str = "01a22c44-a04c-71c1-bfce-80b4f6d80cd3";
/// The subagent example (its parent is made to be [`ID`]).
const CHILD: &str = "01a22c46-0099-7512-a0bc-6622d26d9a82";
const CHILD_PARENT: &str = "01a22c45-ffef-7331-bc5b-b08c5f8a8640";
pub(crate) const DAY: &str = ".codex/sessions/2026/11/30";

pub(crate) fn real(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

/// Runs git-session in `repo` with `home` as HOME.
pub(crate) fn run_as(repo: &Repo<'_>, home: &Path, args: &[&str]) -> Run {
    let out = repo
        .env
        .git_session_command(&repo.dir)
        .env("HOME", home)
        .args(args)
        .output()
        .unwrap();
    Run {
        command: format!("git-session {}", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub(crate) fn main_file() -> String {
    format!("rollout-2026-11-30T11-43-44-{ID}.jsonl")
}

fn child_file() -> String {
    format!("rollout-2026-11-30T11-45-14-{CHILD}.jsonl")
}

/// Writes the real example rollouts as Codex would have for a session run in `repo` by a user
/// whose HOME is `home`: the session with compactions, and a subagent of it. Returns the paths.
pub(crate) fn place_examples(repo: &Repo<'_>, home: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    let checkout = real(&repo.dir);
    let home = real(home);
    let day = home.join(DAY);
    std::fs::create_dir_all(&day).unwrap();
    let fix = fixtures_dir().join("codex");
    let move_paths = |text: String| {
        text.replace("/home/alice/work/app", &checkout.to_string_lossy())
            .replace("/srv/bob/checkouts/app", &checkout.to_string_lossy())
            .replace("/home/alice", &home.to_string_lossy())
            .replace("/home/bob", &home.to_string_lossy())
            .replace(CHILD_PARENT, ID)
    };
    let main = day.join(main_file());
    let text = std::fs::read_to_string(fix.join("rollout-with-compaction.jsonl")).unwrap();
    std::fs::write(&main, move_paths(text)).unwrap();
    let child = day.join(child_file());
    let text = std::fs::read_to_string(fix.join("rollout-subagent.jsonl")).unwrap();
    std::fs::write(&child, move_paths(text)).unwrap();
    (main, child)
}

pub(crate) fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(l).unwrap()
            }
        })
        .collect()
}

pub(crate) fn codex_ref(id: &str) -> String {
    format!("refs/sessions/codex/{id}")
}

#[test]
fn a_codex_session_saved_twice_writes_nothing_new_and_shows_back_line_for_line() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let (main, child) = place_examples(&repo, &home);

    let first = run_as(&repo, &home, &["save", "--agent", "codex", "--no-redact"]).success();
    assert!(first.stderr.contains("Saved 01a22c44"), "{}", first.stderr);
    assert!(first.stderr.contains("1 child session"), "{}", first.stderr);
    let tip = repo.rev_parse(&codex_ref(ID)).unwrap();
    let objects = repo.object_counts();

    let second = run_as(&repo, &home, &["save", "--agent", "codex", "--session", ID]).success();
    assert!(
        second.stderr.contains("nothing written"),
        "{}",
        second.stderr
    );
    assert_eq!(repo.rev_parse(&codex_ref(ID)).unwrap(), tip, "no new save");
    assert_eq!(repo.object_counts(), objects, "no new object");

    let original = std::fs::read_to_string(&main).unwrap();
    let shown = run_as(&repo, &home, &["show", ID]).success().stdout;
    assert_eq!(
        json_lines(&shown),
        json_lines(&original),
        "line for line, JSON-equal"
    );
    let shown_child = run_as(&repo, &home, &["show", CHILD]).success().stdout;
    assert_eq!(
        json_lines(&shown_child),
        json_lines(&std::fs::read_to_string(&child).unwrap())
    );

    let list = run_as(&repo, &home, &["list", "--json"]).success().json();
    assert_eq!(list["sessions"][0]["agent"], "codex");
    assert_eq!(
        list["sessions"][0]["title"],
        "TOOL:echo hello-from-tool HUGE"
    );
    let md = run_as(&repo, &home, &["show", ID, "--format", "md"])
        .success()
        .stdout;
    assert!(md.contains("**Tool call** `exec_command`"), "{md}");
    assert!(md.contains("## Subagent 01a22c46"), "{md}");
    repo.assert_fsck_clean();

    // One more record appended: the next save adds it and keeps the rest.
    let mut text = original.clone();
    text.push_str("{\"timestamp\":\"2026-11-30T12:00:00.000Z\",\"ordinal\":68,\"type\":\"event_msg\",\"payload\":{\"type\":\"task_started\"}}\n");
    std::fs::write(&main, text).unwrap();
    let third = run_as(&repo, &home, &["save", "--agent", "codex", "--json"])
        .success()
        .json();
    assert_eq!(third["saves"][0]["status"], "saved");
    assert_eq!(third["saves"][0]["messages"], 69);
}

#[test]
fn a_rollout_caught_mid_write_is_saved_up_to_its_last_complete_line() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let (main, _) = place_examples(&repo, &home);
    let complete = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        format!("{complete}{{\"timestamp\":\"2026-11-30T12:00\",\"ty"),
    )
    .unwrap();
    let run = run_as(&repo, &home, &["save", "--agent", "codex"]).success();
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("cut short"),
        "{}",
        run.stderr
    );
    let shown = run_as(&repo, &home, &["show", ID]).success().stdout;
    assert_eq!(json_lines(&shown), json_lines(&complete));
}

#[test]
fn the_precompact_hook_saves_with_its_reason_prints_nothing_and_never_fails() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let (main, _) = place_examples(&repo, &home);
    let payload = serde_json::json!({
        "session_id": ID, "turn_id": "t", "transcript_path": main, "cwd": real(&repo.dir),
        "hook_event_name": "PreCompact", "model": "fake-model", "trigger": "auto",
    });
    let run = repo
        .git_session_stdin(
            &["save", "--agent", "codex", "--hook-stdin"],
            payload.to_string().as_bytes(),
        )
        .success();
    assert_eq!(run.stdout, "", "nothing on stdout from a hook");
    let reasons = repo.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &codex_ref(ID),
    ]);
    assert_eq!(reasons.trim(), "pre-compaction");

    for bad in [
        &b"not json"[..],
        b"{\"session_id\":\"nope\",\"transcript_path\":\"/nonexistent/rollout-x.jsonl\"}",
    ] {
        let run = repo
            .git_session_stdin(&["save", "--agent", "codex", "--hook-stdin"], bad)
            .success();
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with("git-session: Codex CLI session not saved"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_subagent_saved_on_its_own_joins_its_saved_parent() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let (main, child) = place_examples(&repo, &home);
    // The parent is saved alone first (from a copy without its subagent next to it).
    let alone = env.path("alone");
    std::fs::create_dir_all(&alone).unwrap();
    let copy = alone.join(main_file());
    std::fs::copy(&main, &copy).unwrap();
    run_as(
        &repo,
        &home,
        &[
            "save",
            "--agent",
            "codex",
            "--from",
            &copy.to_string_lossy(),
        ],
    )
    .success();
    let shown = run_as(&repo, &home, &["show", CHILD]).failure();
    assert!(
        shown.stderr.contains("no saved session"),
        "{}",
        shown.stderr
    );
    let run = run_as(
        &repo,
        &home,
        &[
            "save",
            "--agent",
            "codex",
            "--from",
            &child.to_string_lossy(),
        ],
    )
    .success();
    assert!(
        repo.rev_parse(&codex_ref(CHILD)).is_none(),
        "no ref of its own: {}",
        run.stderr
    );
    let shown = run_as(&repo, &home, &["show", CHILD]).success().stdout;
    assert_eq!(
        json_lines(&shown),
        json_lines(&std::fs::read_to_string(&child).unwrap())
    );
}

#[test]
fn load_on_another_machine_writes_the_rollouts_under_its_codex_home_rehomed() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("machine-a/project");
    let home_a = env.path("home-a");
    place_examples(&a, &home_a);
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    a.git(&["push", "-q", "origin", "main"]);
    run_as(&a, &home_a, &["save", "--agent", "codex"]).success();
    run_as(&a, &home_a, &["push"]).success();

    let home_b = env.path("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    env.git_in(
        env.root(),
        &["clone", "-q", "remote.git", "machine-b-checkout"],
    );
    let b = Repo {
        env: &env,
        dir: env.path("machine-b-checkout"),
        git_dir: env.path("machine-b-checkout/.git"),
    };
    b.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/sessions/*:refs/remotes/origin/sessions/*",
    ]);
    let run = run_as(&b, &home_b, &["load", &ID[..8]]).success();
    assert!(
        run.stderr.contains(&format!("codex resume {ID}")),
        "{}",
        run.stderr
    );

    let day = real(&home_b).join(DAY);
    let main = std::fs::read_to_string(day.join(main_file())).unwrap();
    let child = std::fs::read_to_string(day.join(child_file())).unwrap();
    assert_eq!(json_lines(&main).len(), 68);
    let old_checkout = real(&a.dir).to_string_lossy().into_owned();
    let old_home = real(&home_a).to_string_lossy().into_owned();
    for text in [&main, &child] {
        assert!(!text.contains(&old_checkout), "A's checkout path remains");
        assert!(!text.contains(&old_home), "A's HOME remains");
    }
    assert!(main.contains(&format!("<cwd>{}</cwd>", real(&b.dir).display())));
    let meta: Value = serde_json::from_str(main.lines().next().unwrap()).unwrap();
    assert_eq!(
        meta["payload"]["cwd"],
        real(&b.dir).to_string_lossy().as_ref()
    );

    // Loading again an identical copy says so and writes nothing, not even a backup.
    let backups = b.git_dir.join("git-session/backups/codex");
    let same = run_as(&b, &home_b, &["load", ID]).success();
    assert!(same.stderr.contains("exactly as saved"), "{}", same.stderr);
    assert!(!backups.exists(), "no backup of an identical copy");
    // A local copy that Codex appended to is backed up, then replaced.
    let path = day.join(main_file());
    let mut changed = main.clone();
    changed.push_str(
        "{\"timestamp\":\"2026-12-01T00:00:00.000Z\",\"type\":\"event_msg\",\"payload\":{}}\n",
    );
    std::fs::write(&path, changed).unwrap();
    let again = run_as(&b, &home_b, &["load", ID, "--json"])
        .success()
        .json();
    assert_eq!(again["replaced"], true);
    assert_eq!(again["identical"], false);
    assert_eq!(again["continue"], format!("codex resume {ID}"));
    assert!(Path::new(again["backups"][0].as_str().unwrap()).is_file());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), main);
    // A fork is a new session id everywhere, next to the original, subagent included.
    let fork = run_as(&b, &home_b, &["load", ID, "--fork", "--json"])
        .success()
        .json();
    let new_id = fork["session"].as_str().unwrap();
    assert_ne!(new_id, ID);
    let forked_path = PathBuf::from(fork["file"].as_str().unwrap());
    assert!(forked_path.ends_with(format!("rollout-2026-11-30T11-43-44-{new_id}.jsonl")));
    let forked = std::fs::read_to_string(&forked_path).unwrap();
    assert!(!forked.contains(ID));
    assert_eq!(fork["children"].as_array().unwrap().len(), 1);
    assert_ne!(fork["children"][0], CHILD);
    assert!(day.join(main_file()).is_file(), "the original stays");
}

#[test]
fn search_and_stats_read_codex_sessions_too() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    place_examples(&repo, &home);
    run_as(&repo, &home, &["save", "--agent", "codex"]).success();

    let found = run_as(&repo, &home, &["search", "Echo: third prompt"]).success();
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.starts_with(ID)),
        "the answer is found in the Codex session:\n{found}"
    );
    let json = run_as(&repo, &home, &["search", "echo hello-from-tool", "--json"]).success();
    assert!(
        json.stdout.contains("\"input.cmd\""),
        "a tool input, named by its field:\n{json}"
    );
    let child = run_as(&repo, &home, &["search", "child task say hi"]).success();
    assert!(
        child.stdout.contains(CHILD),
        "the subagent is searched too:\n{child}"
    );

    let stats = run_as(&repo, &home, &["stats", "--json"]).success().json();
    assert_eq!(
        stats["messages"].as_u64(),
        Some(68 + 14),
        "every record of both rollouts: {stats}"
    );
}

const USER_CONFIG: &str =
    "# my Codex settings\nmodel = \"o3\"   # keep this comment\n\n[tui]\nnotifications = true\n";
const USER_HOOKS: &str = "{\n    \"hooks\": {\n        \"PreCompact\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"./mine.sh\"}]}]\n    }\n}\n";

#[test]
fn install_adds_hooks_and_their_trust_never_the_projects_and_uninstall_restores_both_files() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::create_dir_all(repo.dir.join(".codex")).unwrap();
    let config = home.join(".codex/config.toml");
    let hooks = repo.dir.join(".codex/hooks.json");
    std::fs::write(&config, USER_CONFIG).unwrap();
    std::fs::write(&hooks, USER_HOOKS).unwrap();

    // Found by its .codex/ folder, without --agent.
    let run = run_as(&repo, &home, &["install"]).success();
    assert!(
        run.stderr
            .contains(".codex/hooks.json (Codex hooks PreCompact, SessionEnd"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is not trusted") && run.stderr.contains("does not trust it for you"),
        "says why the hook may not run yet: {}",
        run.stderr
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with(USER_CONFIG),
        "the user's lines, comments included:\n{text}"
    );
    assert!(
        !text.contains("trust_level"),
        "the project is never trusted by git-session:\n{text}"
    );
    let key = format!(
        "{}:pre_compact:1:0",
        real(&repo.dir).join(".codex/hooks.json").display()
    );
    assert!(
        text.contains(&format!("[hooks.state.\"{key}\"]")),
        "after the user's group:\n{text}"
    );
    assert!(text.contains(":session_end:0:0\"]"), "{text}");
    let installed = std::fs::read_to_string(&hooks).unwrap();
    assert!(installed.contains("./mine.sh") && installed.contains("--agent codex --hook-stdin"));

    let status = run_as(&repo, &home, &["status"]).success();
    assert!(
        status.stdout.contains(
            "Codex project     Codex hooks installed (.codex/hooks.json), Codex hook trust installed"
        ),
        "{}",
        status.stdout
    );
    let again = run_as(&repo, &home, &["install"]).success();
    assert!(
        again.stderr.contains("nothing changed"),
        "idempotent: {}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);

    run_as(&repo, &home, &["uninstall"]).success();
    let status = run_as(&repo, &home, &["status", "--json"]).success().json();
    assert_eq!(status["codexProject"][0]["state"], "missing", "{status}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        USER_CONFIG,
        "byte for byte"
    );
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        USER_HOOKS,
        "byte for byte"
    );
}

#[test]
fn uninstall_after_the_user_edited_config_toml_takes_out_only_git_sessions_entries() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    let config = home.join(".codex/config.toml");
    std::fs::write(&config, USER_CONFIG).unwrap();
    let trusted = format!(
        "\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        real(&repo.dir).display()
    );

    let run = run_as(&repo, &home, &["install", "--agent", "codex"]).success();
    assert!(
        run.stderr.contains("wrote .codex/hooks.json"),
        "{}",
        run.stderr
    );
    // The user trusts the project afterwards (Codex's prompt appends this).
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&trusted);
    std::fs::write(&config, &text).unwrap();
    let status = run_as(&repo, &home, &["install", "--agent", "codex", "--dry-run"]).success();
    assert!(
        status.stderr.contains("is a trusted project"),
        "{}",
        status.stderr
    );

    let run = run_as(&repo, &home, &["uninstall"]).success();
    assert!(
        run.stderr.contains("only git-session's entries"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        format!("{USER_CONFIG}{trusted}"),
        "the user's later edit stays, git-session's trust entries go"
    );
    assert!(
        !repo.dir.join(".codex").exists(),
        "the folder install created is gone"
    );
}

#[test]
fn a_global_install_puts_the_hooks_in_codex_home() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let run = run_as(&repo, &home, &["install", "--global", "--agent", "codex"]).success();
    let hooks = home.join(".codex/hooks.json");
    assert!(hooks.is_file(), "{}", run.stderr);
    assert!(
        run.stderr.contains("read by Codex in every project"),
        "{}",
        run.stderr
    );
    let config = std::fs::read_to_string(home.join(".codex/config.toml")).unwrap();
    assert!(
        config.contains(&format!("{}:pre_compact:0:0", hooks.display())),
        "{config}"
    );
    run_as(&repo, &home, &["uninstall", "--global"]).success();
    assert!(!hooks.exists() && !home.join(".codex/config.toml").exists());
}

#[test]
fn import_tells_a_codex_rollout_from_a_claude_transcript_though_both_are_jsonl() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let (main, _) = place_examples(&repo, &home);
    let claude = fixtures_dir().join("claude/example-session.jsonl");
    for file in [&main, &claude] {
        run_as(&repo, &home, &["import", &file.to_string_lossy()]).success();
    }
    assert!(repo.rev_parse(&codex_ref(ID)).is_some(), "{}", repo.refs());
    assert!(
        repo.rev_parse("refs/sessions/claude/example-session")
            .is_some(),
        "{}",
        repo.refs()
    );
}

#[test]
fn save_without_a_rollout_of_this_checkout_names_where_it_looked_and_what_to_do() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    // A session of another checkout is not this checkout's.
    let elsewhere = env.repo_with_commit("elsewhere");
    place_examples(&elsewhere, &home);
    let run = run_as(&repo, &home, &["save", "--agent", "codex"]).failure();
    run.single_error(&["no Codex rollout", ".codex/sessions", "project"]);
    assert_eq!(
        run.hint_lines(),
        ["hint: run 'codex' in this checkout first, or name a session with --session <id>"]
    );
    let run = run_as(
        &repo,
        &home,
        &["save", "--agent", "codex", "--session", "nope"],
    )
    .failure();
    run.single_error(&["no Codex rollout of session nope"]);
    assert_eq!(
        repo.git(&["for-each-ref", "refs/sessions/"]),
        "",
        "nothing saved"
    );
    // By id, a session of another checkout is found (the user named it).
    run_as(&repo, &home, &["save", "--agent", "codex", "--session", ID]).success();
    assert!(repo.rev_parse(&codex_ref(ID)).is_some());
}
