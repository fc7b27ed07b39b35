//! End to end with the real OpenCode: after `git session install`, OpenCode loads the plugin from
//! the project's `.opencode/`, and an auto-compaction (forced by the fake model reporting a prompt
//! near the context limit) first saves the session with reason `pre-compaction`. A save that
//! cannot run (no binary) or hangs (killed after its timeout) leaves compaction alone.
//!
//! OpenCode installs `@opencode-ai/plugin` into every config directory when plugins are present
//! and waits for it (about 70 s when the registry cannot be reached); `npm_config_offline=true`
//! makes that install fail at once, so no run leaves 127.0.0.1 or stalls.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e_opencode::{require_opencode, OPENCODE_ENV};
use crate::support::fake_model::{content_text, FakeModel};
use crate::support::{message_ids, session_ref, write_json, Repo, Run, TestEnv};

/// Keeps OpenCode's plugin-dependency install off the network, failing fast.
const OFFLINE_NPM: [(&str, &str); 2] = [
    ("npm_config_offline", "true"),
    ("npm_config_registry", "http://127.0.0.1:9/"),
];

/// A run that takes this long waited for a save that was not stopped (the hanging binary sleeps
/// 600 s). Not a speed check: normal runs take 4-15 s, and up to a minute on a loaded machine;
/// whether the hanging save was stopped is read from the plugin's log.
const STALL: Duration = Duration::from_secs(300);

/// A machine with its own HOME, OpenCode, and a project with the fake model configured.
struct Setup {
    env: TestEnv,
    opencode: PathBuf,
    model: FakeModel,
}

impl Setup {
    fn new(opencode: PathBuf) -> Self {
        Setup {
            env: TestEnv::new(),
            opencode,
            model: FakeModel::start(),
        }
    }

    /// A checkout with `hello.txt` and `opencode.json`, committed, and `git session install`ed.
    fn project(&self) -> Repo<'_> {
        let repo = self.env.repo_with_commit("work");
        std::fs::write(repo.dir.join("hello.txt"), "hello\n").unwrap();
        write_json(
            &repo.dir.join("opencode.json"),
            &self.model.opencode_config(),
        );
        repo.git(&["add", "hello.txt", "opencode.json"]);
        repo.git(&["commit", "--quiet", "-m", "OpenCode config"]);
        let installed = repo.git_session(&["install"]).success();
        assert!(
            repo.dir.join(".opencode/plugin/git-session.js").is_file(),
            "install puts the plugin into the project:\n{installed}"
        );
        repo
    }

    /// Runs `opencode <args>` in `dir` with `env` added; stdout to a file (a pipe may be cut).
    fn opencode(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let out = self.env.path(&format!("opencode-{n}.out"));
        let err = self.env.path(&format!("opencode-{n}.err"));
        let started = Instant::now();
        let status = self
            .env
            .command(&self.opencode)
            .envs(OPENCODE_ENV)
            .envs(OFFLINE_NPM)
            .envs(env.iter().copied())
            .current_dir(dir)
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.opencode.display()));
        let took = started.elapsed();
        let run = Run {
            command: format!("opencode {}", args.join(" ")),
            code: status.code(),
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        };
        assert!(
            took < STALL,
            "{} took {took:?}: a save was not stopped, or OpenCode waited for the network\n{run}",
            run.command
        );
        (run, took)
    }

    /// `opencode run --format json [-s id] <words>`: the session id and how long it took.
    fn prompt(
        &self,
        dir: &Path,
        session: Option<&str>,
        words: &[&str],
        env: &[(&str, &str)],
    ) -> (String, Duration) {
        let mut args = vec!["run", "--format", "json"];
        if let Some(id) = session {
            args.extend(["-s", id]);
        }
        args.extend(words);
        let (run, took) = self.opencode(dir, &args, env);
        let run = run.success();
        let id = run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|e| e["sessionID"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("opencode run printed no session id:\n{run}"));
        (id, took)
    }

    fn export(&self, dir: &Path, id: &str) -> Value {
        self.opencode(dir, &["export", id], &[]).0.success().json()
    }

    /// The plugin's log of failed saves in this machine's HOME.
    fn plugin_log(&self) -> String {
        std::fs::read_to_string(
            self.env
                .path("home/.local/state/git-session/opencode-plugin.log"),
        )
        .unwrap_or_default()
    }
}

/// The ids of the compaction summaries (assistant messages with `summary: true`) in an export.
fn summaries(export: &Value) -> Vec<String> {
    export["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["info"]["summary"] == true)
        .map(|m| m["info"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts the compaction completed: a summary, then OpenCode's synthetic "continue" turn.
#[track_caller]
fn assert_compacted(export: &Value, times: usize) {
    assert_eq!(
        summaries(export).len(),
        times,
        "the session was compacted {times} time(s): {:#?}",
        message_ids(export)
    );
    let continued = export["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["parts"].as_array().unwrap())
        .filter(|p| p["metadata"]["compaction_continue"] == true)
        .count();
    assert_eq!(continued, times, "each compaction auto-continued");
}

/// The saves of a session with their `Reason:` trailers, newest first.
fn saves(repo: &Repo<'_>, id: &str) -> Vec<(String, String)> {
    repo.git(&[
        "log",
        "--format=%H %(trailers:key=Reason,valueonly,separator=)",
        &session_ref(id),
    ])
    .lines()
    .map(|l| {
        let (commit, reason) = l.split_once(' ').unwrap_or((l, ""));
        (commit.to_owned(), reason.trim().to_owned())
    })
    .collect()
}

#[test]
fn e2e_auto_compaction_saves_the_whole_session_first_and_still_completes() {
    let Some(opencode) =
        require_opencode("e2e_auto_compaction_saves_the_whole_session_first_and_still_completes")
    else {
        return;
    };
    let setup = Setup::new(opencode);
    let repo = setup.project();
    let bin = env!("CARGO_BIN_EXE_git-session");
    let env = [("GIT_SESSION_BIN", bin)];

    let (id, first) = setup.prompt(&repo.dir, None, &["TOOL:bash", "cat", "hello.txt"], &env);
    assert_eq!(
        repo.rev_parse(&session_ref(&id)),
        None,
        "no save before compaction"
    );
    let (again, second) = setup.prompt(
        &repo.dir,
        Some(&id),
        &["please", "continue", "BIGTOKENS"],
        &env,
    );
    assert_eq!(again, id);
    let export = setup.export(&repo.dir, &id);
    assert_compacted(&export, 1);

    let saved = saves(&repo, &id);
    assert_eq!(
        saved.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>(),
        ["pre-compaction"],
        "one save, made by the plugin before compaction; log: {}",
        setup.plugin_log()
    );
    let at_compaction = repo.show(&id, Some(&saved[0].0));
    let summary = &summaries(&export)[0];
    let ids = message_ids(&export);
    let before_summary = &ids[..ids.iter().position(|m| m == summary).unwrap()];
    assert_eq!(
        message_ids(&at_compaction),
        before_summary,
        "the save holds every message that existed before the summary"
    );
    assert!(
        before_summary.len() >= 5,
        "two turns, a tool call and the compaction request: {before_summary:?}"
    );
    // The compaction request itself gets its (empty) diff summary after the hook.
    let earlier = before_summary.len() - 1;
    for (saved, now) in at_compaction["messages"].as_array().unwrap()[..earlier]
        .iter()
        .zip(export["messages"].as_array().unwrap())
    {
        assert_eq!(
            saved, now,
            "a saved message is the message as OpenCode has it"
        );
    }
    let last = &at_compaction["messages"].as_array().unwrap()[before_summary.len() - 1];
    assert!(
        last["parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["type"] == "compaction"),
        "the newest saved message is OpenCode's compaction request: {last:#}"
    );
    assert_eq!(setup.plugin_log(), "", "nothing went wrong");

    // /session-save runs `git session save` (found through git on PATH) and shows its output.
    let bin_dir = Path::new(bin).parent().unwrap();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(dirs).unwrap();
    let path = path.to_string_lossy().into_owned();
    let opencode_path = setup.opencode.display().to_string();
    let command_env = [
        ("GIT_SESSION_BIN", bin),
        ("PATH", path.as_str()),
        ("GIT_SESSION_OPENCODE", opencode_path.as_str()),
    ];
    let before = setup.model.agent_requests().len();
    let (command, _) = setup.opencode(
        &repo.dir,
        &[
            "run",
            "--format",
            "json",
            "-s",
            &id,
            "--command",
            "session-save",
        ],
        &command_env,
    );
    let command = command.success();
    let requests = setup.model.agent_requests();
    let prompt = requests[before..]
        .iter()
        .filter_map(|r| r["messages"].as_array()?.last().map(content_text))
        .find(|t| t.contains("git-session command below"))
        .unwrap_or_else(|| panic!("the command reached the model:\n{command}"));
    assert!(
        prompt.contains(&format!("Saved {id}")),
        "the model is shown the save's output: {prompt}"
    );
    assert_eq!(saves(&repo, &id)[0].1, "manual");

    // Uninstall leaves the worktree as it was (OpenCode's own .opencode/.gitignore included).
    repo.git_session(&["uninstall"]).success();
    assert_eq!(repo.git(&["status", "--porcelain", "--ignored"]), "");
    eprintln!(
        "e2e timings: first turn {first:?}, turn with compaction and pre-compaction save {second:?}"
    );
}

#[test]
fn e2e_a_save_that_cannot_run_or_hangs_does_not_stop_compaction() {
    let Some(opencode) =
        require_opencode("e2e_a_save_that_cannot_run_or_hangs_does_not_stop_compaction")
    else {
        return;
    };
    let setup = Setup::new(opencode);
    let repo = setup.project();
    let missing = [("GIT_SESSION_BIN", "/nonexistent/git-session")];

    let (id, _) = setup.prompt(&repo.dir, None, &["hello"], &missing);
    let (_, compacted) = setup.prompt(&repo.dir, Some(&id), &["more", "BIGTOKENS"], &missing);
    assert_compacted(&setup.export(&repo.dir, &id), 1);
    assert!(
        !repo.refs().contains("refs/sessions/"),
        "nothing was saved: {}",
        repo.refs()
    );
    let log = setup.plugin_log();
    assert_eq!(log.lines().count(), 1, "one line per failed save:\n{log}");
    assert!(
        log.contains(&id) && log.contains("pre-compaction") && log.contains("not found"),
        "the log says which save failed and why:\n{log}"
    );

    // A binary that never finishes is stopped after GIT_SESSION_SAVE_TIMEOUT.
    let hang = setup.env.path("hanging-git-session");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 600\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let hang = hang.display().to_string();
    let hanging = [
        ("GIT_SESSION_BIN", hang.as_str()),
        ("GIT_SESSION_SAVE_TIMEOUT", "1000"),
    ];
    let (_, with_hang) = setup.prompt(&repo.dir, Some(&id), &["again", "BIGTOKENS"], &hanging);
    assert_compacted(&setup.export(&repo.dir, &id), 2);
    let log = setup.plugin_log();
    assert!(
        log.lines()
            .nth(1)
            .is_some_and(|l| l.contains("took longer than")),
        "the hanging save was stopped and logged:\n{log}"
    );
    assert!(!repo.refs().contains("refs/sessions/"));
    eprintln!("e2e timings: compaction with a missing binary {compacted:?}, with a hanging one {with_hang:?}");
}
