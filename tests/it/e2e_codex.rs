//! End to end with the real Codex CLI (`GIT_SESSION_CODEX`, else `codex` on PATH) against
//! [`crate::support::fake_responses`]: two "machines" (separate HOMEs, `CODEX_HOME`s and
//! checkout paths) and a bare remote. Without Codex these tests print `SKIPPED` and pass, unless
//! `GIT_SESSION_REQUIRE_E2E=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{git_with_git_session, path_with_git_session};
use crate::support::fake_responses::FakeResponses;
use crate::support::{Repo, TestEnv};

fn codex_binary(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GIT_SESSION_CODEX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("codex"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("GIT_SESSION_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("{test}: Codex CLI is not installed and GIT_SESSION_REQUIRE_E2E=1");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: codex not installed: {test} did not run (install @openai/codex or set GIT_SESSION_CODEX) ***\n"
        );
    }
    found
}

/// Writes `$CODEX_HOME/config.toml` pointing Codex at the fake server (top-level keys first),
/// with the project `trusted` as the user's own decision (what Codex's first-run prompt or
/// `codex exec --trust` writes). Returns the text.
fn configure(codex_home: &Path, base_url: &str, trusted: &Path) -> String {
    std::fs::create_dir_all(codex_home).unwrap();
    let text = format!(
        "# the user's own settings\nmodel = \"fake-model\"\nmodel_provider = \"fake\"\nmodel_auto_compact_token_limit = 5000\nmodel_context_window = 20000\n\n[model_providers.fake]\nname = \"Fake\"\nbase_url = \"{base_url}\"\nenv_key = \"FAKE_API_KEY\"\nwire_api = \"responses\"\n\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        std::fs::canonicalize(trusted).unwrap().display()
    );
    std::fs::write(codex_home.join("config.toml"), &text).unwrap();
    text
}

/// The real Codex in `dir` with its own HOME and CODEX_HOME, with git-session on PATH (the
/// installed hooks call it by name).
fn codex(env: &TestEnv, bin: &Path, dir: &Path, home: &Path) -> Command {
    let mut cmd = env.command(bin);
    cmd.current_dir(dir)
        .env("PATH", path_with_git_session())
        .env("HOME", home)
        .env("CODEX_HOME", home.join(".codex"))
        .env("FAKE_API_KEY", "x");
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run codex");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "codex failed: {text}");
    text
}

/// Runs git-session in `repo` as the user whose HOME is `home`.
fn git_session_as(repo: &Repo<'_>, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = repo
        .env
        .git_session_command(&repo.dir)
        .env("HOME", home)
        .env("CODEX_HOME", home.join(".codex"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::Null))
        .collect()
}

/// The one rollout under `home`'s Codex sessions.
fn only_rollout(home: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = walk(&home.join(".codex/sessions"));
    found.retain(|p| p.extension().is_some_and(|x| x == "jsonl"));
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn e2e_codex_session_compacts_on_a_and_continues_on_b() {
    let Some(bin) = codex_binary("e2e_codex_session_compacts_on_a_and_continues_on_b") else {
        return;
    };
    let fake = FakeResponses::start();
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("machine-a/project");
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    a.git(&["push", "-q", "origin", "main"]);
    let home_a = env.path("home-a");
    let config = configure(&home_a.join(".codex"), &fake.base_url(), &a.dir);
    // Install: the hooks into the project's .codex/hooks.json, their trust entries into the
    // user's config.toml (the user's lines kept), the pre-push hook and the fetch refspec.
    let (ok, _, installed) = git_session_as(&a, &home_a, &["install", "--agent", "codex"]);
    assert!(ok, "{installed}");
    assert!(installed.contains("is a trusted project"), "{installed}");
    let hooks = std::fs::read_to_string(a.dir.join(".codex/hooks.json")).unwrap();
    assert!(
        hooks.contains("git-session save --agent codex --hook-stdin || true"),
        "{hooks}"
    );
    let trusted = std::fs::read_to_string(home_a.join(".codex/config.toml")).unwrap();
    assert!(trusted.starts_with(&config), "{trusted}");
    assert!(trusted.contains(":pre_compact:0:0\"]"), "{trusted}");
    a.git(&["add", ".codex/hooks.json"]);
    a.git(&["commit", "-q", "-m", "Codex hooks of git-session"]);

    // A turn with a tool call whose answer reports a huge usage: Codex compacts mid-turn, and
    // the trusted PreCompact hook saves the session first (no --dangerously-bypass-hook-trust).
    run(codex(&env, &bin, &a.dir, &home_a).args([
        "exec",
        "--dangerously-bypass-approvals-and-sandbox",
        "TOOL:echo hello-from-e2e HUGE",
    ]));
    let rollout = only_rollout(&home_a);
    let text = std::fs::read_to_string(&rollout).unwrap();
    assert!(text.contains("\"type\":\"compacted\""), "Codex compacted");
    assert!(
        fake.requests().iter().any(|r| r.kind == "compaction"),
        "a compaction request reached the fake server"
    );
    let meta: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let id = meta["payload"]["id"].as_str().unwrap().to_owned();
    let reasons = a.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/codex/{id}"),
    ]);
    assert!(
        reasons.contains("pre-compaction"),
        "PreCompact saved: {reasons}"
    );
    let (_, hooked, _) = git_session_as(&a, &home_a, &["show", &id]);
    assert!(
        hooked.contains("hello-from-e2e"),
        "the tool's output was flushed before the hook"
    );

    // What the hook could not see yet (the compaction's own records) comes with the next save.
    let (ok, _, said) = git_session_as(&a, &home_a, &["save", "--agent", "codex"]);
    assert!(ok, "{said}");
    let (_, shown, _) = git_session_as(&a, &home_a, &["show", &id]);
    assert!(
        json_lines(&shown) == json_lines(&text),
        "show gives the rollout back, line for line JSON-equal"
    );
    // A plain push: the installed pre-push hook sends the sessions along.
    let pushed = git_with_git_session(&a, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse(&format!("refs/sessions/codex/{id}")),
        a.rev_parse(&format!("refs/sessions/codex/{id}")),
        "the session went along with git push:\n{pushed}"
    );

    // Machine B: another HOME and CODEX_HOME, another checkout path.
    let home_b = env.path("home-b");
    env.git_in(env.root(), &["clone", "-q", "remote.git", "b-checkout"]);
    let b = Repo {
        env: &env,
        dir: env.path("b-checkout"),
        git_dir: env.path("b-checkout/.git"),
    };
    configure(&home_b.join(".codex"), &fake.base_url(), &b.dir);
    // The clone has A's .codex/ (committed): install finds Codex there, trusts its hooks in B's
    // config.toml and adds the fetch refspec, so a plain fetch brings the sessions.
    let (ok, _, installed) = git_session_as(&b, &home_b, &["install"]);
    assert!(ok && installed.contains("config.toml"), "{installed}");
    b.git(&["fetch", "-q"]);
    let (ok, _, said) = git_session_as(&b, &home_b, &["load", &id]);
    assert!(ok, "{said}");
    assert!(said.contains(&format!("codex resume {id}")), "{said}");

    let before = fake.requests().len();
    let out = run(codex(&env, &bin, &b.dir, &home_b).args([
        "exec",
        "--dangerously-bypass-approvals-and-sandbox",
        "resume",
        &id,
        "continue from machine B",
    ]));
    assert!(out.contains("Echo: continue from machine B"), "{out}");
    let sent: String = fake.requests()[before..]
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert!(
        sent.contains("fake summary of the session") || sent.contains("hello-from-e2e"),
        "the earlier conversation reached the model"
    );
    let resumed = std::fs::read_to_string(only_rollout(&home_b)).unwrap();
    assert!(
        resumed.contains("continue from machine B"),
        "Codex appended to the loaded rollout"
    );
    let a_checkout = std::fs::canonicalize(&a.dir).unwrap();
    assert!(
        !resumed.contains(&*a_checkout.to_string_lossy()),
        "A's checkout path is re-homed"
    );
}

/// A real `spawn_agent`: the subagent's rollout is saved as the child of its parent, and a load
/// on another HOME writes both rollouts back.
#[test]
fn e2e_codex_subagent_rollouts_are_saved_and_restored_together() {
    let Some(bin) = codex_binary("e2e_codex_subagent_rollouts_are_saved_and_restored_together")
    else {
        return;
    };
    let fake = FakeResponses::start();
    let env = TestEnv::new();
    let a = env.repo_with_commit("machine-a/project");
    let home_a = env.path("home-a");
    configure(&home_a.join(".codex"), &fake.base_url(), &a.dir);
    let out = run(codex(&env, &bin, &a.dir, &home_a).args([
        "exec",
        "--dangerously-bypass-approvals-and-sandbox",
        "SPAWN:child task say hi",
    ]));
    let files = walk(&home_a.join(".codex/sessions"));
    assert_eq!(
        files.len(),
        2,
        "a rollout for the parent and one for the subagent: {files:?}\n{out}"
    );
    let (ok, _, said) = git_session_as(&a, &home_a, &["save", "--agent", "codex", "--json"]);
    assert!(ok, "{said}");
    let (_, list, _) = git_session_as(&a, &home_a, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        1,
        "one root: {list}"
    );
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();

    // Another HOME: load writes both rollouts back.
    let home_b = env.path("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    let (ok, loaded, said) = git_session_as(&a, &home_b, &["load", &id, "--json"]);
    assert!(ok, "{said}");
    let loaded: serde_json::Value = serde_json::from_str(&loaded).unwrap();
    assert_eq!(loaded["children"].as_array().unwrap().len(), 1, "{loaded}");
    let restored = walk(&home_b.join(".codex/sessions"));
    assert_eq!(restored.len(), 2, "{restored:?}");
    let (old, new) = (
        std::fs::canonicalize(&home_a)
            .unwrap()
            .display()
            .to_string(),
        std::fs::canonicalize(&home_b)
            .unwrap()
            .display()
            .to_string(),
    );
    for file in &files {
        let name = file.file_name().unwrap();
        let back = restored
            .iter()
            .find(|p| p.file_name() == Some(name))
            .unwrap();
        let original = std::fs::read_to_string(file).unwrap().replace(&old, &new);
        assert!(
            json_lines(&std::fs::read_to_string(back).unwrap()) == json_lines(&original),
            "{name:?} comes back line for line, A's HOME rewritten to B's"
        );
    }
}
