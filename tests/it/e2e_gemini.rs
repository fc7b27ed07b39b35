//! End to end with the real Gemini CLI (`GIT_SESSION_GEMINI`, else `gemini` on PATH) against
//! [`crate::support::fake_gemini`]: two "machines" (separate HOMEs and checkout paths) and a bare
//! remote. Without Gemini these tests print `SKIPPED` and pass, unless `GIT_SESSION_REQUIRE_E2E=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{git_with_git_session, path_with_git_session};
use crate::support::fake_gemini::FakeGemini;
use crate::support::{Repo, TestEnv};

fn gemini_binary(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GIT_SESSION_GEMINI").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("gemini"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("GIT_SESSION_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("{test}: Gemini CLI is not installed and GIT_SESSION_REQUIRE_E2E=1");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: gemini not installed: {test} did not run (install @google/gemini-cli or set GIT_SESSION_GEMINI) ***\n"
        );
    }
    found
}

/// The user's settings as the reference runs use them (API key auth, no telemetry, no update).
const USER_SETTINGS: &str = r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false}}"#;

fn configure(home: &Path) {
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    std::fs::write(home.join(".gemini/settings.json"), USER_SETTINGS).unwrap();
}

/// The real Gemini in `dir` with its own HOME, pointed at the fake, with git-session on PATH.
fn gemini(env: &TestEnv, bin: &Path, dir: &Path, home: &Path, fake: &FakeGemini) -> Command {
    let mut cmd = env.command(bin);
    cmd.current_dir(dir)
        .env("PATH", path_with_git_session())
        .env("HOME", home)
        .env("GEMINI_API_KEY", "x")
        .env("GOOGLE_GEMINI_BASE_URL", fake.base_url())
        .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
        .arg("--yolo");
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run gemini");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gemini failed: {text}");
    text
}

/// Runs git-session in `repo` as the user whose HOME is `home`.
fn git_session_as(repo: &Repo<'_>, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = repo
        .env
        .git_session_command(&repo.dir)
        .env("HOME", home)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The main session files under `home`'s Gemini folder (any project).
fn session_files(home: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for project in std::fs::read_dir(home.join(".gemini/tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(project.path().join("chats"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn session_id(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let head: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    head["sessionId"].as_str().unwrap().to_owned()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::Null))
        .collect()
}

#[test]
fn e2e_gemini_session_compresses_on_a_and_resumes_on_b() {
    let Some(bin) = gemini_binary("e2e_gemini_session_compresses_on_a_and_resumes_on_b") else {
        return;
    };
    let fake = FakeGemini::start();
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("machine-a/gapp");
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    a.git(&["push", "-q", "origin", "main"]);
    let home_a = env.path("home-a");
    configure(&home_a);
    // Install: the hooks into the project's .gemini/settings.json, the pre-push hook and the
    // fetch refspec.
    let (ok, _, installed) = git_session_as(&a, &home_a, &["install", "--agent", "gemini"]);
    assert!(ok, "{installed}");
    let settings = std::fs::read_to_string(a.dir.join(".gemini/settings.json")).unwrap();
    assert!(
        settings.contains("git-session save --agent gemini --hook-stdin || true")
            && settings.contains("PreCompress")
            && settings.contains("SessionEnd"),
        "{settings}"
    );

    // Two turns, then a tool call whose answer reports a huge prompt: Gemini compresses before
    // its next request, and the PreCompress hook saves the session first.
    run(gemini(&env, &bin, &a.dir, &home_a, &fake).args(["-p", "alpha one"]));
    let files = session_files(&home_a);
    assert_eq!(files.len(), 1, "{files:?}");
    let id = session_id(&files[0]);
    run(gemini(&env, &bin, &a.dir, &home_a, &fake).args(["--resume", &id, "-p", "alpha two"]));
    run(gemini(&env, &bin, &a.dir, &home_a, &fake).args([
        "--resume",
        &id,
        "-p",
        "TOOL:echo hello-from-tool HUGE",
    ]));
    assert!(
        fake.requests()
            .iter()
            .any(|r| !r.is_turn() && r.body.to_string().contains("state_snapshot")),
        "Gemini compressed"
    );
    let reasons = a.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/gemini/{id}"),
    ]);
    assert!(
        reasons.contains("pre-compress"),
        "PreCompress saved: {reasons}"
    );
    assert!(
        reasons.contains("session-end"),
        "SessionEnd saved: {reasons}"
    );
    let file = std::fs::read_to_string(&session_files(&home_a)[0]).unwrap();
    let (_, shown, _) = git_session_as(&a, &home_a, &["show", &id]);
    assert_eq!(
        json_lines(&shown),
        json_lines(&file),
        "show gives the file back, line for line JSON-equal"
    );
    assert!(shown.contains("hello-from-tool"), "the tool call was saved");
    let (_, md, _) = git_session_as(&a, &home_a, &["show", &id, "--format", "md"]);
    assert!(md.contains("Compressed history"), "{md}");
    assert!(md.contains("fake summary of the session"), "{md}");

    // A plain push: the installed pre-push hook sends the sessions along.
    let pushed = git_with_git_session(&a, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse(&format!("refs/sessions/gemini/{id}")),
        a.rev_parse(&format!("refs/sessions/gemini/{id}")),
        "the session went along with git push:\n{pushed}"
    );

    // Machine B: another HOME and checkout path; Gemini has never seen this checkout.
    let home_b = env.path("home-b");
    configure(&home_b);
    env.git_in(env.root(), &["clone", "-q", "remote.git", "elsewhere"]);
    let b = Repo {
        env: &env,
        dir: env.path("elsewhere"),
        git_dir: env.path("elsewhere/.git"),
    };
    let (ok, _, installed) = git_session_as(&b, &home_b, &["install", "--agent", "gemini"]);
    assert!(ok, "{installed}");
    b.git(&["fetch", "-q"]);
    let (ok, _, said) = git_session_as(&b, &home_b, &["load", &id]);
    assert!(ok, "{said}");
    assert!(said.contains(&format!("gemini --resume {id}")), "{said}");
    // Another start first (its own prompt): Gemini's cleanup runs and keeps the loaded session.
    run(gemini(&env, &bin, &b.dir, &home_b, &fake).args(["-p", "another prompt on b"]));
    let before = fake.requests().len();
    let out = run(gemini(&env, &bin, &b.dir, &home_b, &fake).args([
        "--resume",
        &id,
        "-p",
        "continue on b",
    ]));
    assert!(out.contains("Echo: continue on b"), "{out}");
    let sent: String = fake.requests()[before..]
        .iter()
        .filter(|r| r.is_turn())
        .map(|r| r.texts())
        .collect();
    assert!(
        sent.contains("fake summary of the session"),
        "the earlier conversation reached the model: {sent}"
    );
    // Yet another start: the resumed session is still there (no stray deleted it).
    run(gemini(&env, &bin, &b.dir, &home_b, &fake).args(["-p", "one more start"]));
    let kept: Vec<String> = session_files(&home_b)
        .iter()
        .map(|f| session_id(f))
        .collect();
    assert!(kept.contains(&id), "{kept:?}");
    let resumed = session_files(&home_b)
        .into_iter()
        .filter(|f| session_id(f) == id)
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect::<String>();
    assert!(
        resumed.contains("continue on b"),
        "Gemini appended to the loaded file"
    );
}
