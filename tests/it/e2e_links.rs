//! Issue 15 end to end with the real agents: after `git session install`, a session writes a
//! file and edits it, the user commits; the prepare-commit-msg hook saves the session and names
//! it in a `Session:` trailer; `blame` names session and message per line; `why HEAD` shows the
//! prompt. Then the branch is rebased, squash-merged (without the hook, as a server would) and
//! cherry-picked elsewhere, and `blame` and `why` still find the session. Once with OpenCode
//! (fake OpenAI-compatible model), once with Claude Code (fake Anthropic API): one agent run each.

use std::path::Path;

use serde_json::{json, Value};

use crate::e2e_opencode::{require_opencode, OPENCODE_ENV};
use crate::install::path_with_git_session;
use crate::links::{blame, Blamed};
use crate::support::fake_anthropic::FakeAnthropic;
use crate::support::fake_model::FakeModel;
use crate::support::{write_json, Repo, Run, TestEnv};

/// The file the session writes and the edit it then makes.
const WRITTEN: &str =
    "def greet(name):\n\treturn 'Hello, ' + name\n\n\ndef version():\n\treturn 'v1'\n";
const OLD: &str = "\treturn 'Hello, ' + name";
const NEW: &str = "\treturn 'HELLO, ' + name.upper()";
/// A line the user adds by hand before committing.
const BY_HAND: &str = "# reviewed by hand before committing";

/// Runs `program args` in `dir` with the test's environment, git-session first on PATH.
fn run(env: &TestEnv, program: &Path, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let output = env
        .command(program)
        .env("PATH", path_with_git_session())
        .envs(extra.iter().copied())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Run {
        command: format!("{} {}", program.display(), args.join(" ")),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Commits what the session left (plus a line by hand) on branch `feature` with the hook, then
/// checks the trailer, blame and why; rebases, squash-merges and cherry-picks, checking again.
/// `git` runs with `agent_env` so the hook finds the agent's sessions.
fn commit_and_follow(repo: &Repo<'_>, link: &str, prompt_words: &str, agent_env: &[(&str, &str)]) {
    let git = |args: &[&str]| run(repo.env, Path::new("git"), &repo.dir, args, agent_env).success();
    let file = repo.dir.join("greet.py");
    let edited = std::fs::read_to_string(&file).unwrap();
    assert!(
        edited.contains(NEW.trim()),
        "the session wrote and edited greet.py:\n{edited}"
    );
    std::fs::write(&file, format!("{edited}{BY_HAND}\n")).unwrap();
    git(&["add", "greet.py"]);
    let made = git(&["commit", "-q", "-m", "Add greet"]);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains(&format!("\n\nSession: {link}\n")),
        "the trailer names the session:\n{message}\n{made}"
    );
    let (_, id) = link.split_once('/').unwrap();
    // The hook saved the session (a save unchanged since the agent's own hook saved it writes
    // nothing new); a slow save finishes in the background, so wait for it.
    let started = std::time::Instant::now();
    while !repo
        .git_session(&["show", id])
        .stdout
        .contains("name.upper()")
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the session was not saved with its edit:\n{made}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let lines = blame(repo, "greet.py");
    let by_line = |lines: &[Blamed], text: &str| {
        lines
            .iter()
            .find(|l| l.0 == text)
            .cloned()
            .unwrap_or_else(|| panic!("no line {text:?} in {lines:?}"))
    };
    let first = by_line(&lines, "def greet(name):");
    let edit = by_line(&lines, NEW);
    let hand = by_line(&lines, BY_HAND);
    assert_eq!(
        (first.1.as_deref(), first.3.as_deref()),
        (Some(link), Some("trailer")),
        "{lines:?}"
    );
    assert_eq!(
        (edit.1.as_deref(), edit.3.as_deref()),
        (Some(link), Some("trailer")),
        "{lines:?}"
    );
    assert!(
        first.2.is_some() && edit.2.is_some(),
        "messages named: {lines:?}"
    );
    assert_ne!(
        first.2, edit.2,
        "the write and the edit are two messages: {lines:?}"
    );
    assert_eq!(hand.1, None, "no session wrote the line added by hand");
    let why = repo.git_session(&["why", "HEAD"]).success().stdout;
    assert!(why.contains(prompt_words), "why shows the prompt:\n{why}");

    // Rebase onto a main that moved.
    repo.git(&["checkout", "-q", "main"]);
    std::fs::write(repo.dir.join("other.txt"), "other\n").unwrap();
    repo.git(&["add", "other.txt"]);
    repo.git(&["commit", "-q", "-m", "Other work"]);
    repo.git(&["checkout", "-q", "feature"]);
    git(&["rebase", "-q", "main"]);
    let rebased = blame(repo, "greet.py");
    assert_eq!(by_line(&rebased, NEW), edit, "after rebase");
    assert!(repo
        .git_session(&["why", "HEAD"])
        .success()
        .stdout
        .contains(prompt_words));

    // Squash merge as a server does it: no hook, so no trailer; found by content.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--squash", "feature"]);
    repo.git(&[
        "-c",
        "core.hooksPath=/dev/null",
        "commit",
        "-q",
        "-m",
        "Squashed",
    ]);
    assert!(!repo.git(&["log", "-1", "--format=%B"]).contains("Session:"));
    let squashed = blame(repo, "greet.py");
    let content = by_line(&squashed, NEW);
    assert_eq!(
        (
            content.1.as_deref(),
            content.2.as_ref(),
            content.3.as_deref()
        ),
        (Some(link), edit.2.as_ref(), Some("content")),
        "after a squash merge: {squashed:?}"
    );
    assert_eq!(by_line(&squashed, BY_HAND).1, None);
    let why = repo.git_session(&["why", "HEAD"]).success().stdout;
    assert!(
        why.contains(prompt_words) && why.contains("found by content match"),
        "{why}"
    );

    // Cherry-picked onto another branch.
    repo.git(&["checkout", "-q", "-b", "elsewhere", "main~1"]);
    let feature = repo.rev_parse("feature").unwrap();
    git(&["cherry-pick", &feature]);
    let picked = blame(repo, "greet.py");
    assert_eq!(by_line(&picked, NEW), edit, "after cherry-pick");
    let why = repo.git_session(&["why", "greet.py:1"]).success().stdout;
    assert!(why.contains(prompt_words), "{why}");
    let log = repo.git_session(&["log", id]).success().stdout;
    assert!(
        log.contains("Add greet"),
        "log lists the linked commits:\n{log}"
    );
}

#[test]
fn e2e_opencode_a_commit_is_linked_to_the_session_that_wrote_it() {
    let Some(opencode) =
        require_opencode("e2e_opencode_a_commit_is_linked_to_the_session_that_wrote_it")
    else {
        return;
    };
    let model = FakeModel::start();
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    write_json(&repo.dir.join("opencode.json"), &model.opencode_config());
    repo.git(&["add", "opencode.json"]);
    repo.git(&["commit", "-q", "-m", "OpenCode config"]);
    repo.git_session(&["install", "--agent", "opencode"])
        .success();
    // No timing in tests: a loaded machine may take longer than 10 s to start OpenCode.
    repo.git(&["config", "session.commitTimeout", "300"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);

    let root = std::fs::canonicalize(&repo.dir).unwrap();
    let file = root.join("greet.py").display().to_string();
    let write = json!({"filePath": file, "content": WRITTEN});
    let edit = json!({"filePath": file, "oldString": OLD, "newString": NEW});
    let prompt = format!("Please add greet.py TOOL:write {write} THEN TOOL:edit {edit}");
    let mut args = vec!["run", "--format", "json"];
    args.extend(prompt.split(' '));
    let mut agent_env: Vec<(&str, &str)> = OPENCODE_ENV.to_vec();
    let bin = opencode.display().to_string();
    agent_env.push(("GIT_SESSION_OPENCODE", &bin));
    agent_env.push(("npm_config_offline", "true"));
    let ran = run(&env, &opencode, &repo.dir, &args, &agent_env);
    let id = ran
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|e| e["sessionID"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("opencode run printed no session id:\n{ran}"));
    let written = std::fs::read_to_string(repo.dir.join("greet.py")).unwrap_or_default();
    assert!(
        written.contains(NEW.trim()),
        "the session wrote and edited greet.py:\n{written}\n{ran}"
    );
    commit_and_follow(
        &repo,
        &format!("opencode/{id}"),
        "Please add greet.py",
        &agent_env,
    );
}

#[test]
fn e2e_claude_a_commit_is_linked_to_the_session_that_wrote_it() {
    let Some(claude) = crate::e2e_claude::claude_binary(
        "e2e_claude_a_commit_is_linked_to_the_session_that_wrote_it",
    ) else {
        return;
    };
    let fake = FakeAnthropic::start();
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    repo.git_session(&["install", "--agent", "claude"])
        .success();
    repo.git(&["config", "session.commitTimeout", "300"]);
    repo.git(&["add", ".claude"]);
    repo.git(&["commit", "-q", "-m", "Claude Code hooks"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);

    let root = std::fs::canonicalize(&repo.dir).unwrap();
    let file = root.join("greet.py").display().to_string();
    let write = json!({"file_path": file, "content": WRITTEN});
    let edit = json!({"file_path": file, "old_string": OLD, "new_string": NEW});
    let prompt = format!("Please add greet.py TOOL:Write {write} TOOL:Edit {edit}");
    let id = "0b5e55e1-1515-4e5f-8a9b-0c1d2e3f4a5b";
    let url = fake.url();
    let home = env.path("home").display().to_string();
    let agent_env = [
        ("HOME", home.as_str()),
        ("ANTHROPIC_BASE_URL", url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_TELEMETRY", "1"),
        ("DISABLE_AUTOUPDATER", "1"),
        ("DISABLE_ERROR_REPORTING", "1"),
    ];
    let ran = run(
        &env,
        &claude,
        &repo.dir,
        &[
            "-p",
            &prompt,
            "--allowedTools",
            "Write,Edit",
            "--output-format",
            "json",
            "--session-id",
            id,
        ],
        &agent_env,
    );
    assert_eq!(ran.code, Some(0), "claude failed: {ran}");
    let written = std::fs::read_to_string(repo.dir.join("greet.py")).unwrap_or_default();
    assert!(
        written.contains(NEW.trim()),
        "the session wrote and edited greet.py:\n{written}\n{ran}"
    );
    commit_and_follow(
        &repo,
        &format!("claude/{id}"),
        "Please add greet.py",
        &agent_env,
    );
}
