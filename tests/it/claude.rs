//! Claude Code sessions: save from the transcript files (by hand and from a hook payload), show
//! them back line for line, load them on another "machine" (another HOME and checkout path).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{fixtures_dir, Repo, Run, TestEnv};

pub(crate) const ID: &str = "6b927b1f-9cdd-4002-848b-30b3c6c958e5";
const AGENT_FILE: &str = "agent-ab5a20e34f81e5b07";

/// The slug of a short path (no hash needed below 200 characters).
pub(crate) fn slug(path: &Path) -> String {
    path.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

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

/// Writes the real example transcript (with its subagent) as Claude Code would have in `repo`
/// for a user whose HOME is `home`: the example's paths moved to this checkout and HOME.
pub(crate) fn place_example(repo: &Repo<'_>, home: &Path) -> PathBuf {
    let checkout = real(&repo.dir);
    let home = real(home);
    let dir = home.join(".claude/projects").join(slug(&checkout));
    let fix = fixtures_dir().join("claude");
    let move_paths = |text: String| {
        text.replace(
            "/home/dev/.claude/projects/-home-dev-project",
            &dir.to_string_lossy(),
        )
        .replace("/home/dev/project", &checkout.to_string_lossy())
        .replace("/home/dev", &home.to_string_lossy())
    };
    let main = std::fs::read_to_string(fix.join("example-session.jsonl")).unwrap();
    std::fs::create_dir_all(dir.join(ID).join("subagents")).unwrap();
    let path = dir.join(format!("{ID}.jsonl"));
    std::fs::write(&path, move_paths(main)).unwrap();
    for ext in ["jsonl", "meta.json"] {
        let name = format!("{AGENT_FILE}.{ext}");
        let text = std::fs::read_to_string(fix.join("subagents").join(&name)).unwrap();
        std::fs::write(dir.join(ID).join("subagents").join(name), move_paths(text)).unwrap();
    }
    path
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

#[test]
fn the_same_session_saved_twice_writes_nothing_new_and_shows_back_line_for_line() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let path = place_example(&repo, &home);

    let first = run_as(&repo, &home, &["save", "--agent", "claude", "--no-redact"]).success();
    assert!(first.stderr.contains("Saved 6b927b1f"), "{}", first.stderr);
    assert!(first.stderr.contains("1 child session"), "{}", first.stderr);
    let tip = repo
        .rev_parse(&format!("refs/sessions/claude/{ID}"))
        .unwrap();
    let objects = repo.object_counts();

    let second = run_as(
        &repo,
        &home,
        &["save", "--agent", "claude", "--session", ID],
    )
    .success();
    assert!(
        second.stderr.contains("nothing written"),
        "{}",
        second.stderr
    );
    assert_eq!(
        repo.rev_parse(&format!("refs/sessions/claude/{ID}"))
            .unwrap(),
        tip
    );
    assert_eq!(repo.object_counts(), objects, "no new object");

    let shown = run_as(&repo, &home, &["show", ID]).success().stdout;
    let original = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        json_lines(&shown),
        json_lines(&original),
        "line for line, JSON-equal"
    );
    let child = run_as(&repo, &home, &["show", AGENT_FILE]).success().stdout;
    let sub = path
        .parent()
        .unwrap()
        .join(ID)
        .join("subagents")
        .join(format!("{AGENT_FILE}.jsonl"));
    assert_eq!(
        json_lines(&child),
        json_lines(&std::fs::read_to_string(sub).unwrap())
    );

    let list = run_as(&repo, &home, &["list", "--json"]).success().json();
    assert_eq!(list["sessions"][0]["agent"], "claude");
    assert_eq!(
        list["sessions"][0]["title"],
        "TOOL:bash echo hello-from-bash"
    );
    let md = run_as(&repo, &home, &["show", ID, "--format", "md"])
        .success()
        .stdout;
    assert!(md.contains("**Tool call** `Bash`"), "{md}");
    repo.assert_fsck_clean();

    // One more line appended: the next save adds one message blob and keeps the rest.
    let mut text = original.clone();
    text.push_str("{\"type\":\"mode\",\"mode\":\"plan\",\"sessionId\":\"x\"}\n");
    std::fs::write(&path, text).unwrap();
    let third = run_as(&repo, &home, &["save", "--agent", "claude", "--json"])
        .success()
        .json();
    assert_eq!(third["saves"][0]["status"], "saved");
    assert_eq!(third["saves"][0]["messages"], 118);
}

#[test]
fn a_transcript_caught_mid_write_is_saved_up_to_its_last_complete_line() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let path = place_example(&repo, &home);
    let complete = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{complete}{{\"type\":\"assistant\",\"mess")).unwrap();
    let run = run_as(&repo, &home, &["save", "--agent", "claude"]).success();
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("cut short"),
        "{}",
        run.stderr
    );
    let shown = run_as(&repo, &home, &["show", ID]).success().stdout;
    assert_eq!(json_lines(&shown), json_lines(&complete));
}

#[test]
fn the_hook_saves_with_the_event_as_reason_and_never_fails() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let path = place_example(&repo, &home);
    let payload = serde_json::json!({
        "session_id": ID, "transcript_path": path, "cwd": real(&repo.dir),
        "hook_event_name": "PreCompact", "trigger": "auto", "custom_instructions": null,
    });
    let run = repo
        .git_session_stdin(
            &["save", "--agent", "claude", "--hook-stdin"],
            payload.to_string().as_bytes(),
        )
        .success();
    assert_eq!(
        run.stdout, "",
        "a PreCompact hook's stdout would reach the summary prompt"
    );
    let reasons = repo.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/claude/{ID}"),
    ]);
    assert_eq!(reasons.trim(), "pre-compaction");

    for bad in [
        &b"not json"[..],
        b"{\"session_id\":\"nope\",\"transcript_path\":\"/nonexistent/x.jsonl\"}",
    ] {
        let run = repo
            .git_session_stdin(&["save", "--agent", "claude", "--hook-stdin"], bad)
            .success();
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.starts_with("git-session: "), "{}", run.stderr);
    }
}

#[test]
fn load_on_another_machine_rewrites_paths_and_restores_the_subagent() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("machine-a/project");
    let home_a = env.path("home-a");
    std::fs::create_dir_all(&home_a).unwrap();
    place_example(&a, &home_a);
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    a.git(&["push", "-q", "origin", "main"]);
    run_as(&a, &home_a, &["save", "--agent", "claude"]).success();
    run_as(&a, &home_a, &["push"]).success();
    drop(remote);

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
        run.stderr.contains(&format!("claude --resume {ID}")),
        "{}",
        run.stderr
    );

    let dir = real(&home_b)
        .join(".claude/projects")
        .join(slug(&real(&b.dir)));
    let main = std::fs::read_to_string(dir.join(format!("{ID}.jsonl"))).unwrap();
    let sub = dir.join(ID).join("subagents");
    let child = std::fs::read_to_string(sub.join(format!("{AGENT_FILE}.jsonl"))).unwrap();
    assert!(sub.join(format!("{AGENT_FILE}.meta.json")).is_file());
    assert_eq!(json_lines(&main).len(), 117);
    let old_checkout = real(&a.dir).to_string_lossy().into_owned();
    let old_home = real(&home_a).to_string_lossy().into_owned();
    for text in [&main, &child] {
        assert!(!text.contains(&old_checkout), "A's checkout path remains");
        assert!(!text.contains(&old_home), "A's HOME remains");
    }
    assert!(main.contains(&*real(&b.dir).to_string_lossy()));
    assert!(
        main.contains(&*dir.to_string_lossy()),
        "the projects folder is B's"
    );

    // Loading again an identical copy says so and writes nothing, not even a backup.
    let backups = b.git_dir.join("git-session/backups/claude");
    let same = run_as(&b, &home_b, &["load", ID]).success();
    assert!(
        same.stderr.contains("exactly as saved") && same.stderr.contains("nothing changed"),
        "{}",
        same.stderr
    );
    assert!(!backups.exists(), "no backup of an identical copy");
    // A local copy that changed is backed up, then replaced.
    let path = dir.join(format!("{ID}.jsonl"));
    let mut changed = std::fs::read_to_string(&path).unwrap();
    changed.push_str("{\"type\":\"summary\",\"summary\":\"local only\"}\n");
    std::fs::write(&path, changed).unwrap();
    let again = run_as(&b, &home_b, &["load", ID, "--json"])
        .success()
        .json();
    assert_eq!(again["replaced"], true);
    assert_eq!(again["identical"], false);
    let backup = PathBuf::from(again["backups"][0].as_str().unwrap());
    assert!(backup.is_file());
    // Backups show in stats and gc, and prune expires old ones.
    let stats = run_as(&b, &home_b, &["stats"]).success();
    assert!(
        stats.stdout.contains("backups         1 file,"),
        "{}",
        stats.stdout
    );
    let gc = run_as(&b, &home_b, &["gc", "--json"]).success().json();
    assert_eq!(gc["backups"]["files"], 1);
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&backup)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let dry = run_as(&b, &home_b, &["prune", "--older-than", "1h", "--dry-run"]).success();
    assert!(dry.stderr.contains("would remove backup"), "{}", dry.stderr);
    assert!(backup.is_file(), "a dry run removes nothing");
    let pruned = run_as(&b, &home_b, &["prune", "--older-than", "1h", "--json"])
        .success()
        .json();
    assert_eq!(pruned["backups"][0], backup.display().to_string());
    assert!(!backup.exists(), "the old backup is gone");
    // A fork is a new session id everywhere, next to the original.
    let fork = run_as(&b, &home_b, &["load", ID, "--fork", "--json"])
        .success()
        .json();
    let new_id = fork["session"].as_str().unwrap();
    assert_ne!(new_id, ID);
    let forked = std::fs::read_to_string(dir.join(format!("{new_id}.jsonl"))).unwrap();
    assert!(!forked.contains(ID));
    assert!(dir.join(format!("{ID}.jsonl")).is_file());
}

#[test]
fn a_claude_session_travels_as_a_bundle_and_keeps_its_agent() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    place_example(&repo, &home);
    run_as(&repo, &home, &["save", "--agent", "claude"]).success();
    let file = env.path("s.gsb");
    run_as(&repo, &home, &["export", ID, "-o", &file.to_string_lossy()]).success();
    let other = env.repo_with_commit("other");
    run_as(&other, &home, &["import", &file.to_string_lossy()]).success();
    assert!(other
        .rev_parse(&format!("refs/sessions/claude/{ID}"))
        .is_some());
    let a = run_as(&repo, &home, &["show", ID]).success().stdout;
    let b = run_as(&other, &home, &["show", ID]).success().stdout;
    assert_eq!(a, b);
    let stats = run_as(&other, &home, &["stats"]).success();
    assert!(
        stats.stdout.contains('1') || stats.stderr.contains('1'),
        "{}",
        stats.stdout
    );
}

#[test]
fn search_and_stats_read_claude_sessions_too() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    place_example(&repo, &home);
    run_as(&repo, &home, &["save", "--agent", "claude"]).success();

    let found = run_as(&repo, &home, &["search", "hello from the project"]).success();
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.starts_with(ID)),
        "the Read tool's result is found in the Claude session:\n{found}"
    );
    let json = run_as(&repo, &home, &["search", "echo hello-from-bash", "--json"]).success();
    assert!(
        json.stdout.contains("\"input.command\""),
        "a tool input is found, named by its field:\n{json}"
    );
    let missing = run_as(&repo, &home, &["search", "no-such-text-anywhere"]).failure();
    assert_eq!(missing.stdout, "", "nothing printed for no match");

    let stats = run_as(&repo, &home, &["stats", "--json"]).success().json();
    let records = std::fs::read_to_string(fixtures_dir().join("claude/example-session.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert!(
        stats["messages"].as_u64().unwrap() > records,
        "every record of the parent, plus the subagent's: {stats}"
    );
    assert!(
        stats["parts"].as_u64().unwrap() >= stats["messages"].as_u64().unwrap(),
        "each record has at least one part: {stats}"
    );
}

/// The keys every `load --json` has, whatever the agent.
pub const LOAD_JSON_KEYS: &[&str] = &[
    "agent",
    "backups",
    "children",
    "continue",
    "directory",
    "file",
    "forked",
    "identical",
    "messages",
    "rehomedFrom",
    "remote",
    "replaced",
    "save",
    "savedSession",
    "session",
    "title",
    "version",
];

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn save_all_saves_every_claude_session_of_the_checkout_and_load_json_has_the_common_shape() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    let first = place_example(&repo, &home);
    // A second session of this checkout: the same transcript under another id.
    let other = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let text = std::fs::read_to_string(&first).unwrap().replace(ID, other);
    std::fs::write(first.with_file_name(format!("{other}.jsonl")), text).unwrap();
    // A session of another checkout is not this checkout's.
    let elsewhere = env.repo_with_commit("elsewhere");
    place_example(&elsewhere, &home);

    let run = run_as(
        &repo,
        &home,
        &["save", "--agent", "claude", "--all", "--json"],
    )
    .success();
    let saves = run.json()["saves"].as_array().unwrap().clone();
    let mut saved: Vec<&str> = saves
        .iter()
        .map(|s| s["session"].as_str().unwrap())
        .collect();
    saved.sort();
    let mut expected = vec![ID, other];
    expected.sort();
    assert_eq!(
        saved, expected,
        "both sessions of this checkout, and only those"
    );
    for id in [ID, other] {
        assert!(repo
            .rev_parse(&format!("refs/sessions/claude/{id}"))
            .is_some());
    }

    let loaded = run_as(&repo, &home, &["load", other, "--json"])
        .success()
        .json();
    assert_eq!(keys(&loaded), LOAD_JSON_KEYS);
    assert_eq!(loaded["agent"], "claude");
    assert_eq!(loaded["replaced"], true);
}

#[test]
fn load_without_an_id_lists_the_saved_sessions_and_says_how_to_load_one() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let home = env.path("home");
    place_example(&repo, &home);
    let empty = run_as(&repo, &home, &["load"]).success();
    assert!(
        empty.stderr.contains("No saved sessions yet"),
        "{}",
        empty.stderr
    );
    run_as(&repo, &home, &["save", "--agent", "claude"]).success();
    let run = run_as(&repo, &home, &["load"]).success();
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains(ID) && first.contains("claude"),
        "{}",
        run.stdout
    );
    assert!(first.contains("117 msgs"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Load one with: git session load <id>"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_hook_payload_for_an_agent_without_payload_hooks_is_refused_not_ignored() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let run = repo
        .git_session_stdin(&["save", "--hook-stdin"], b"{\"session_id\":\"x\"}")
        .success();
    assert!(
        run.stderr
            .contains("OpenCode has no hooks that pass a payload"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.git(&["for-each-ref", "refs/sessions/"]), "");
}

#[test]
fn delete_on_a_remote_finds_a_session_under_any_agent() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("a");
    let home = env.path("home");
    place_example(&a, &home);
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    run_as(&a, &home, &["save", "--agent", "claude"]).success();
    run_as(&a, &home, &["push"]).success();
    let claude_ref = format!("refs/sessions/claude/{ID}");
    assert!(remote.rev_parse(&claude_ref).is_some());

    // Another clone that never fetched the session deletes it on the remote by its full id.
    let b = env.repo_with_commit("b");
    b.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    let run = run_as(&b, &home, &["delete", ID, "--remote", "origin"]).success();
    assert!(
        run.stderr.contains(&format!("deleted {ID} on origin")),
        "{}",
        run.stderr
    );
    assert!(
        remote.rev_parse(&claude_ref).is_none(),
        "gone from the remote"
    );
    let unknown = run_as(&b, &home, &["delete", "nope-nope", "--remote", "origin"]).failure();
    assert!(
        unknown
            .stderr
            .contains("no session nope-nope here or on origin"),
        "{}",
        unknown.stderr
    );
}
