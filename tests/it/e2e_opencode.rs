//! End to end with the real OpenCode (`opencode-ai`, tested with 1.18.33) and a fake model
//! server ([`crate::support::fake_model`]): sessions made by `opencode run` are saved from
//! OpenCode, pushed, fetched on a second "machine" (another checkout with its own HOME), loaded
//! there and continued.
//!
//! OpenCode is found as `GIT_SESSION_OPENCODE`, else `opencode` on PATH. Without it these tests
//! print `SKIPPED: opencode not installed` and pass, unless `GIT_SESSION_REQUIRE_E2E=1` (CI sets
//! it), which makes them fail instead. Every OpenCode process runs with the test's own HOME and
//! the switches that keep it off the network; the only model is the fake on 127.0.0.1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::support::fake_model::{content_text, FakeModel, TITLE};
use crate::support::{session_ref, write_json, Repo, Run, TestEnv, TOOLCALL};

/// The environment switches every OpenCode process gets (see the OpenCode reference notes).
pub(crate) const OPENCODE_ENV: [(&str, &str); 7] = [
    ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
    ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
    ("OPENCODE_DISABLE_SHARE", "1"),
    ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
    ("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1"),
    ("OPENCODE_DISABLE_CLAUDE_CODE", "1"),
    ("OPENCODE_DISABLE_EXTERNAL_SKILLS", "1"),
];

/// The `opencode` binary: `GIT_SESSION_OPENCODE`, else `opencode` on PATH.
fn opencode_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GIT_SESSION_OPENCODE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("opencode"))
        .find(|candidate| candidate.is_file())
}

/// The binary, or `None` after a loud skip message; panics instead of skipping when
/// `GIT_SESSION_REQUIRE_E2E=1`.
pub(crate) fn require_opencode(test: &str) -> Option<PathBuf> {
    if let Some(path) = opencode_binary() {
        return Some(path);
    }
    if std::env::var("GIT_SESSION_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{test}: opencode is not installed (not on PATH, GIT_SESSION_OPENCODE unset) and GIT_SESSION_REQUIRE_E2E=1");
    }
    // Written to the real stderr, not the test harness's capture, so it shows in every run.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: opencode not installed: {test} did not run (install opencode-ai or set GIT_SESSION_OPENCODE; GIT_SESSION_REQUIRE_E2E=1 makes this a failure) ***\n"
    );
    None
}

/// One "machine": a temporary root with its own HOME, and the OpenCode binary.
struct Machine {
    env: TestEnv,
    opencode: PathBuf,
}

impl Machine {
    fn new(opencode: &Path) -> Self {
        Machine {
            env: TestEnv::new(),
            opencode: opencode.to_path_buf(),
        }
    }

    /// Runs `opencode <args>` in `dir`, stdout to a file (a pipe may cut it at 64 KiB).
    fn opencode(&self, dir: &Path, args: &[&str]) -> Run {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let out = self.env.path(&format!("opencode-{n}.out"));
        let err = self.env.path(&format!("opencode-{n}.err"));
        let status = self
            .env
            .command(&self.opencode)
            .envs(OPENCODE_ENV)
            .current_dir(dir)
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.opencode.display()));
        let run = Run {
            command: format!("opencode {}", args.join(" ")),
            code: status.code(),
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        };
        let _ = std::fs::remove_file(out);
        let _ = std::fs::remove_file(err);
        run
    }

    /// `opencode export <id>` as JSON.
    fn export(&self, dir: &Path, id: &str) -> Value {
        self.opencode(dir, &["export", id]).success().json()
    }

    /// `opencode run --format json [-s id] <words>`; returns the session id.
    fn run_prompt(&self, dir: &Path, session: Option<&str>, words: &[&str]) -> String {
        // Separate words: OpenCode wraps an argument that contains a space in quotes.
        let mut args = vec!["run", "--format", "json"];
        if let Some(id) = session {
            args.extend(["-s", id]);
        }
        args.extend(words);
        let run = self.opencode(dir, &args).success();
        run.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|e| e["sessionID"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("opencode run printed no session id:\n{run}"))
    }

    /// `git-session <args>` in `dir`, with this machine's OpenCode.
    fn git_session(&self, dir: &Path, args: &[&str]) -> Run {
        self.git_session_with(dir, args, &self.opencode)
    }

    fn git_session_with(&self, dir: &Path, args: &[&str], opencode: &Path) -> Run {
        let output = self
            .env
            .git_session_command(dir)
            .envs(OPENCODE_ENV)
            .env("GIT_SESSION_OPENCODE", opencode)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run git-session");
        Run {
            command: format!("git-session {}", args.join(" ")),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A project checkout with `hello.txt` and an `opencode.json` for `model`, committed.
fn project<'a>(machine: &'a Machine, name: &str, model: &FakeModel) -> Repo<'a> {
    let repo = machine.env.repo_with_commit(name);
    std::fs::write(
        repo.dir.join("hello.txt"),
        "hello from the shared repository\n",
    )
    .unwrap();
    write_json(&repo.dir.join("opencode.json"), &model.opencode_config());
    repo.git(&["add", "hello.txt", "opencode.json"]);
    repo.git(&["commit", "--quiet", "-m", "OpenCode config"]);
    repo
}

/// The worktree root as OpenCode records it (symlinks resolved).
fn root_of(repo: &Repo<'_>) -> String {
    std::fs::canonicalize(&repo.dir)
        .unwrap()
        .display()
        .to_string()
}

/// The child session id of the first task tool call in an export.
fn task_child(export: &Value) -> String {
    export["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["parts"].as_array().unwrap())
        .find(|p| p["tool"] == "task")
        .and_then(|p| p["state"]["metadata"]["sessionId"].as_str())
        .unwrap_or_else(|| {
            panic!("the export has a task tool call with a child session:\n{export:#}")
        })
        .to_owned()
}

/// An export with the paths under `from` moved to `to` in every string, as `load` writes a
/// session stored with its checkout as a placeholder.
fn rehomed(export: &Value, from: &str, to: &str) -> Value {
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::String(s) => {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(at) = rest.find(from) {
                    let after = &rest[at + from.len()..];
                    let ends = after
                        .chars()
                        .next()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
                    out.push_str(&rest[..at]);
                    out.push_str(if ends { to } else { from });
                    rest = after;
                }
                out.push_str(rest);
                *s = out;
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, from, to)),
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, from, to)),
            _ => {}
        }
    }
    let mut out = export.clone();
    walk(&mut out, from, to);
    out
}

/// Drops the session fields OpenCode's import rewrites on its own: `projectID` (the importing
/// project) and `time.updated` (the import time).
fn without_import_fields(export: &Value) -> Value {
    let mut out = export.clone();
    let info = out["info"].as_object_mut().unwrap();
    info.remove("projectID");
    if let Some(time) = info.get_mut("time").and_then(Value::as_object_mut) {
        time.remove("updated");
    }
    out
}

/// Asserts that `actual` (read on the loading machine) equals `expected` apart from the fields
/// OpenCode's import rewrites.
#[track_caller]
fn assert_same_session(actual: &Value, expected: &Value, what: &str) {
    let (a, e) = (
        without_import_fields(actual),
        without_import_fields(expected),
    );
    if a != e {
        panic!(
            "{what}: the export differs\n--- expected\n{}\n--- actual\n{}",
            serde_json::to_string_pretty(&e).unwrap(),
            serde_json::to_string_pretty(&a).unwrap()
        );
    }
}

/// Texts of the messages (role and the text of text parts), for comparing sessions whose ids
/// differ.
fn transcript(export: &Value) -> Vec<String> {
    export["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let parts: Vec<String> = m["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| match p["type"].as_str() {
                    Some("text") => format!("text:{}", p["text"].as_str().unwrap_or("")),
                    Some("tool") => format!("tool:{}", p["tool"].as_str().unwrap_or("")),
                    other => other.unwrap_or("?").to_owned(),
                })
                .collect();
            format!(
                "{}: {}",
                m["info"]["role"].as_str().unwrap_or("?"),
                parts.join(" | ")
            )
        })
        .collect()
}

#[test]
fn e2e_a_session_saved_on_one_machine_is_loaded_and_continued_on_another() {
    let Some(opencode) =
        require_opencode("e2e_a_session_saved_on_one_machine_is_loaded_and_continued_on_another")
    else {
        return;
    };
    let model = FakeModel::start();
    let a = Machine::new(&opencode);
    let b = Machine::new(&opencode);

    // One repository, two checkouts at different paths, a bare remote between them.
    let remote = a.env.bare_repo("remote.git");
    let remote_url = remote.dir.display().to_string();
    let checkout_a = project(&a, "checkout-a", &model);
    checkout_a.git(&["remote", "add", "origin", &remote_url]);
    checkout_a.git(&["push", "--quiet", "origin", "main"]);
    b.env.git_in(
        b.env.root(),
        &["clone", "--quiet", &remote_url, "checkout-b-elsewhere"],
    );
    let checkout_b = Repo {
        env: &b.env,
        dir: b.env.path("checkout-b-elsewhere"),
        git_dir: b.env.path("checkout-b-elsewhere/.git"),
    };
    let (root_a, root_b) = (root_of(&checkout_a), root_of(&checkout_b));
    assert_ne!(root_a, root_b);

    // Machine A: a session with a bash call, a file read and a subagent task.
    let hello = format!("{root_a}/hello.txt");
    let id = a.run_prompt(
        &checkout_a.dir,
        None,
        &[
            "TOOL:bash",
            "cat",
            "hello.txt",
            "TOOL:read",
            &hello,
            "TOOL:task",
            "look",
            "around",
        ],
    );
    let saved = a.git_session(&checkout_a.dir, &["save"]).success();
    assert!(
        saved.stderr.contains(&format!("Saved {id}")) && saved.stderr.contains("1 child session"),
        "save reads the newest session with its subagent session:\n{saved}"
    );
    let parent_a = a.export(&checkout_a.dir, &id);
    let child_id = task_child(&parent_a);
    let child_a = a.export(&checkout_a.dir, &child_id);
    let tools: Vec<&str> = parent_a["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["parts"].as_array().unwrap())
        .filter_map(|p| p["tool"].as_str())
        .collect();
    assert_eq!(
        tools,
        ["bash", "read", "task"],
        "the session made real tool calls"
    );
    assert_eq!(parent_a["info"]["title"], TITLE);
    assert_eq!(child_a["info"]["parentID"], id.as_str());
    // What was saved is exactly what `opencode export` prints.
    assert_eq!(
        checkout_a.show(&id, None),
        parent_a,
        "show equals opencode export"
    );
    assert_eq!(checkout_a.show(&child_id, None), child_a, "the child too");

    // A second clone on machine A is the same OpenCode project: its save must not take the
    // first checkout's session as its own.
    a.env.git_in(
        a.env.root(),
        &["clone", "--quiet", &remote_url, "checkout-a-second"],
    );
    let second = Repo {
        env: &a.env,
        dir: a.env.path("checkout-a-second"),
        git_dir: a.env.path("checkout-a-second/.git"),
    };
    let refused = a.git_session(&second.dir, &["save"]).failure();
    assert!(
        refused.stderr.contains("no sessions for the checkout") && refused.stderr.contains(&root_a),
        "the save says the project's sessions are another checkout's:\n{refused}"
    );
    assert_eq!(
        second.git(&["for-each-ref", "refs/sessions/"]),
        "",
        "nothing saved"
    );

    // Share through the remote; machine B fetches into remote-tracking refs.
    checkout_a.git(&[
        "push",
        "--quiet",
        "origin",
        "refs/sessions/*:refs/sessions/*",
    ]);
    checkout_b.git(&[
        "fetch",
        "--quiet",
        "origin",
        "refs/sessions/*:refs/remotes/origin/sessions/*",
    ]);
    let listed = checkout_b.git_session(&["list"]).success();
    assert!(
        listed.stdout.contains(&id) && listed.stdout.contains("origin"),
        "B lists the fetched session:\n{listed}"
    );

    // Machine B: load, then OpenCode there has the same session, children included.
    let loaded = b.git_session(&checkout_b.dir, &["load", &id]).success();
    assert!(
        loaded.stderr.contains(&format!("Loaded {id}"))
            && loaded.stderr.contains(&format!("opencode -s {id}"))
            && loaded.stderr.contains("1 child session")
            && !loaded.stderr.contains("Replaced"),
        "load says what it restored and how to continue:\n{loaded}"
    );
    assert_eq!(
        checkout_b.rev_parse(&session_ref(&id)),
        None,
        "loading writes no local save"
    );
    let parent_b = b.export(&checkout_b.dir, &id);
    let child_b = b.export(&checkout_b.dir, &child_id);
    assert_eq!(parent_b["info"]["directory"], root_b.as_str());
    assert_same_session(
        &parent_b,
        &rehomed(&parent_a, &root_a, &root_b),
        "the parent",
    );
    assert_same_session(&child_b, &rehomed(&child_a, &root_a, &root_b), "the child");

    // `opencode run -s` on B continues it: the model receives the earlier turns.
    let before = model.agent_requests().len();
    let continued = b.run_prompt(&checkout_b.dir, Some(&id), &["please", "continue"]);
    assert_eq!(continued, id);
    let requests = model.agent_requests();
    let request = requests[before..]
        .iter()
        .find(|r| {
            r["messages"]
                .as_array()
                .unwrap()
                .last()
                .is_some_and(|m| content_text(m).contains("please continue"))
        })
        .unwrap_or_else(|| {
            panic!(
                "the continued turn reached the model: {:#}",
                requests[before..].len()
            )
        });
    let history: Vec<String> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}: {}", m["role"].as_str().unwrap_or(""), content_text(m)))
        .collect();
    assert!(
        history
            .iter()
            .any(|m| m.starts_with("user: ") && m.contains("TOOL:bash cat hello.txt")),
        "the first prompt is in the continued request: {history:#?}"
    );
    assert!(
        history
            .iter()
            .any(|m| m.starts_with("tool: ") && m.contains("hello from the shared repository")),
        "the bash output from machine A is in the continued request: {history:#?}"
    );

    // B saves the continued session: every message from A is stored as A stored it.
    b.git_session(&checkout_b.dir, &["save", "--session", &id])
        .success();
    let on_b = checkout_b.stored_messages(&session_ref(&id));
    let on_a = checkout_a.stored_messages(&session_ref(&id));
    assert!(on_b.len() > on_a.len(), "B continued the session");
    let differing: Vec<&String> = on_a
        .iter()
        .filter(|(key, line)| on_b.get(*key) != Some(*line))
        .map(|(key, _)| key)
        .collect();
    assert!(
        differing.is_empty(),
        "A's messages are stored alike in B's save: {differing:?}"
    );
}

#[test]
fn e2e_load_replaces_a_changed_local_copy_and_a_fork_leaves_it_alone() {
    let Some(opencode) =
        require_opencode("e2e_load_replaces_a_changed_local_copy_and_a_fork_leaves_it_alone")
    else {
        return;
    };
    let model = FakeModel::start();
    let m = Machine::new(&opencode);
    let repo = project(&m, "work", &model);
    let id = m.run_prompt(&repo.dir, None, &["TOOL:task", "check", "the", "readme"]);
    m.git_session(&repo.dir, &["save", "--session", &id])
        .success();
    let saved = repo.show(&id, None);
    let child_id = task_child(&saved);
    let saved_child = repo.show(&child_id, None);

    // Change the local copy behind git-session's back: every text part of the parent.
    let edited = m
        .opencode(
            &repo.dir,
            &[
                "db",
                &format!(
                    "UPDATE part SET data = json_set(data, '$.text', 'edited locally') \
                     WHERE session_id = '{id}' AND json_extract(data, '$.type') = 'text' RETURNING id"
                ),
                "--format",
                "json",
            ],
        )
        .success()
        .json();
    assert!(
        !edited.as_array().unwrap().is_empty(),
        "the local copy was edited"
    );

    let loaded = m.git_session(&repo.dir, &["load", &id]).success();
    assert!(
        loaded.stderr.contains("Replaced the local copy"),
        "load says it replaced the local copy:\n{loaded}"
    );
    let parent = m.export(&repo.dir, &id);
    assert!(
        !parent.to_string().contains("edited locally"),
        "the local edit is gone"
    );
    assert_same_session(&parent, &saved, "the restored parent");
    assert_same_session(
        &m.export(&repo.dir, &child_id),
        &saved_child,
        "the restored child",
    );
    // Loading it again over an identical copy says so and changes nothing (no new backup).
    let same = m.git_session(&repo.dir, &["load", &id]).success();
    assert!(
        same.stderr.contains("exactly as saved") && !same.stderr.contains("kept in"),
        "an identical copy is left alone:\n{same}"
    );
    // Nothing that was only local is lost: the replaced copy is kept as a bundle, which
    // `import` stores (under the session's ref, as a new save) with the local edit.
    let backup = loaded
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("The local copy is kept in "))
        .and_then(|rest| rest.split(" (git session import").next())
        .unwrap_or_else(|| panic!("load names the backup:\n{loaded}"))
        .to_owned();
    let elsewhere = m.env.repo("backup-check");
    m.git_session(&elsewhere.dir, &["import", &backup])
        .success();
    assert!(
        elsewhere
            .show(&id, None)
            .to_string()
            .contains("edited locally"),
        "the backup holds the local edit"
    );
    assert_eq!(
        transcript(&elsewhere.show(&child_id, None)),
        transcript(&saved_child),
        "the backup holds the child too"
    );

    // A fork: a second session with the same messages, under new ids; the original untouched.
    let forked = m
        .git_session(&repo.dir, &["load", &id, "--fork", "--json"])
        .success()
        .json();
    let fork_id = forked["session"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::claude::keys(&forked),
        crate::claude::LOAD_JSON_KEYS,
        "one load --json shape for every agent"
    );
    assert_eq!(forked["agent"], "opencode");
    assert_ne!(fork_id, id);
    assert_eq!(forked["replaced"], false);
    let fork = m.export(&repo.dir, &fork_id);
    assert_eq!(
        transcript(&fork),
        transcript(&saved),
        "the fork has the same messages"
    );
    let fork_child_id = task_child(&fork);
    assert_ne!(fork_child_id, child_id, "the child is forked too");
    assert_eq!(forked["children"][0], fork_child_id.as_str());
    let fork_child = m.export(&repo.dir, &fork_child_id);
    assert_eq!(fork_child["info"]["parentID"], fork_id.as_str());
    assert_eq!(transcript(&fork_child), transcript(&saved_child));
    assert_same_session(
        &m.export(&repo.dir, &id),
        &saved,
        "the original after the fork",
    );
    let listed = m
        .opencode(&repo.dir, &["session", "list", "--format", "json"])
        .success()
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&fork_id.as_str()),
        "OpenCode lists the original and the fork: {ids:?}"
    );

    // A session of another project (another repository, another root commit) is refused.
    let other = m.env.repo_with_commit("other-project");
    std::fs::write(other.dir.join("other.txt"), "another history\n").unwrap();
    other.git(&["add", "other.txt"]);
    other.git(&["commit", "--quiet", "-m", "Another project"]);
    let refs_before = other.refs();
    let refused = m
        .git_session(&other.dir, &["save", "--session", &id])
        .failure();
    refused.single_error(&[&id, "another OpenCode project"]);
    assert_eq!(other.refs(), refs_before, "nothing is written");
}

/// A save the local OpenCode refuses to import (here a user message without its `model`): the
/// load fails with one error naming the session, and the local copy it had replaced first is
/// named in the hint and comes back from that bundle.
#[test]
fn e2e_a_load_opencode_refuses_says_where_the_replaced_local_copy_is() {
    let Some(opencode) =
        require_opencode("e2e_a_load_opencode_refuses_says_where_the_replaced_local_copy_is")
    else {
        return;
    };
    let model = FakeModel::start();
    let m = Machine::new(&opencode);
    let repo = project(&m, "work", &model);
    let id = m.run_prompt(&repo.dir, None, &["hello"]);
    m.git_session(&repo.dir, &["save", "--session", &id])
        .success();
    let local = m.export(&repo.dir, &id);

    let mut refused = repo.show(&id, None);
    let user = refused["messages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|msg| msg["info"]["role"] == "user")
        .expect("a user message");
    user["info"].as_object_mut().unwrap().remove("model");
    let file = m.env.path("refused.json");
    write_json(&file, &refused);
    m.git_session(&repo.dir, &["save", "--from", &file.to_string_lossy()])
        .success();

    let load = m.git_session(&repo.dir, &["load", &id]).failure();
    load.single_error(&["OpenCode did not import session", &id]);
    let hint = load.hint_lines().join("\n");
    let backup = hint
        .split("the local copy it replaced is kept in ")
        .nth(1)
        .and_then(|rest| rest.split(" ('git session import'").next())
        .unwrap_or_else(|| panic!("the hint names the backup:\n{load}"));
    assert!(Path::new(backup).is_file(), "{backup} exists");
    let elsewhere = m.env.repo("backup-check");
    m.git_session(&elsewhere.dir, &["import", backup]).success();
    assert_eq!(
        transcript(&elsewhere.show(&id, None)),
        transcript(&local),
        "the bundle holds the local copy as it was"
    );
}

#[test]
fn e2e_a_missing_opencode_binary_is_one_clear_error_and_writes_nothing() {
    // Needs no OpenCode: this is what happens without it.
    let machine = Machine {
        env: TestEnv::new(),
        opencode: PathBuf::from("/nonexistent/opencode"),
    };
    let repo = machine.env.repo_with_commit("work");
    let refs_before = repo.refs();
    let save = machine.git_session(&repo.dir, &["save"]).failure();
    save.single_error(&["/nonexistent/opencode"]);
    assert!(
        save.hint_lines()
            .iter()
            .any(|h| h.contains("GIT_SESSION_OPENCODE")),
        "the hint says how to point at OpenCode:\n{save}"
    );
    assert_eq!(repo.refs(), refs_before, "save writes no ref");

    repo.save(&[&TOOLCALL.path()]);
    let refs_saved = repo.refs();
    let load = machine
        .git_session(&repo.dir, &["load", TOOLCALL.id])
        .failure();
    load.single_error(&["/nonexistent/opencode"]);
    assert_eq!(repo.refs(), refs_saved, "load writes no ref either");
}

/// An OpenCode 2 save loads into the real OpenCode 1.18.33 converted, and saved back from it
/// converts to the same OpenCode 2 export: everything OpenCode 2 has and 1.x has not survives
/// the trip in the session's metadata, which 1.18.33 keeps. Only the directory (re-homed to
/// this checkout) and the project id (OpenCode's import sets it) differ.
#[test]
fn e2e_an_opencode2_save_goes_through_opencode_1_18_and_comes_back_the_same() {
    let Some(opencode) = require_opencode(
        "e2e_an_opencode2_save_goes_through_opencode_1_18_and_comes_back_the_same",
    ) else {
        return;
    };
    let m = Machine::new(&opencode);
    let repo = m.env.repo_with_commit("work");
    let v2_file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/opencode2/example-v2-export.json");
    let original: Value = serde_json::from_slice(&std::fs::read(&v2_file).unwrap()).unwrap();
    let id = original["info"]["id"].as_str().unwrap().to_owned();
    repo.save(&[&v2_file]);
    m.git_session(&repo.dir, &["load", &id]).success();

    let local = m.export(&repo.dir, &id);
    let transcript = transcript(&local).join("\n");
    for expected in [
        "read hello.txt and run the tests",
        "The file says hello; tests pass.",
    ] {
        assert!(transcript.contains(expected), "{expected}:\n{transcript}");
    }
    let tools: Vec<&str> = local["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|msg| msg["parts"].as_array().unwrap())
        .filter_map(|p| p["tool"].as_str())
        .collect();
    assert_eq!(tools, ["read", "bash", "task", "apply_patch", "bash"]);

    m.git_session(&repo.dir, &["save", "--session", &id])
        .success();
    let back = m
        .git_session(
            &repo.dir,
            &[
                "export",
                &id,
                "--format",
                "json",
                "--format-version",
                "2",
                "-o",
                "-",
            ],
        )
        .success()
        .json();
    let mut expected = original.clone();
    expected["info"]["location"]["directory"] = root_of(&repo).into();
    expected["info"]["projectID"] = back["info"]["projectID"].clone();
    assert_eq!(back, expected);
}
