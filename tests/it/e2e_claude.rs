//! End to end with the real Claude Code (`GIT_SESSION_CLAUDE`, else `claude` on PATH) against
//! [`crate::support::fake_anthropic`]: two "machines" (separate HOMEs and checkout paths) and a
//! bare remote. Without Claude Code these tests print `SKIPPED` and pass, unless
//! `GIT_SESSION_REQUIRE_E2E=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{git_with_git_session, path_with_git_session};
use crate::support::fake_anthropic::FakeAnthropic;
use crate::support::{Repo, TestEnv};

pub(crate) fn claude_binary(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GIT_SESSION_CLAUDE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("claude"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("GIT_SESSION_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("{test}: Claude Code is not installed and GIT_SESSION_REQUIRE_E2E=1");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: claude not installed: {test} did not run (install @anthropic-ai/claude-code or set GIT_SESSION_CLAUDE) ***\n"
        );
    }
    found
}

/// The real Claude Code in `dir` with its own HOME, kept off the network, with git-session on
/// PATH (the installed hooks call it by name).
fn claude(env: &TestEnv, bin: &Path, dir: &Path, home: &Path, url: &str) -> Command {
    let mut cmd = env.command(bin);
    cmd.current_dir(dir)
        .env("PATH", path_with_git_session())
        .env("HOME", home)
        .env("ANTHROPIC_BASE_URL", url)
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1");
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run claude");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "claude failed: {text}");
    text
}

#[test]
fn e2e_claude_session_compacts_on_a_and_continues_on_b() {
    let Some(bin) = claude_binary("e2e_claude_session_compacts_on_a_and_continues_on_b") else {
        return;
    };
    let fake = FakeAnthropic::start();
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let a = env.repo_with_commit("machine-a/project");
    let home_a = env.path("home-a");
    std::fs::create_dir_all(&home_a).unwrap();
    a.git(&["remote", "add", "origin", &remote.dir.to_string_lossy()]);
    // A fresh checkout has no .claude/: ask for Claude Code. The hooks (PreCompact, SessionEnd),
    // the pre-push hook and the fetch refspec; the team shares the settings file.
    let installed = a.git_session(&["install", "--agent", "claude"]).success();
    let settings = std::fs::read_to_string(a.dir.join(".claude/settings.json")).unwrap();
    assert!(
        settings.contains("\"PreCompact\"")
            && settings.contains("\"SessionEnd\"")
            && settings.contains("git-session save --agent claude --hook-stdin || true"),
        "{settings}\n{installed}"
    );
    a.git(&["add", ".claude/settings.json"]);
    a.git(&["commit", "-q", "-m", "Claude Code hooks of git-session"]);

    let id = "0b5e55e1-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
    run(claude(&env, &bin, &a.dir, &home_a, &fake.url()).args([
        "-p",
        "TOOL:bash echo hello-from-e2e HUGE",
        "--allowedTools",
        "Bash",
        "--output-format",
        "json",
        "--session-id",
        id,
    ]));
    let reasons = a.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/claude/{id}"),
    ]);
    assert!(
        reasons.contains("pre-compaction"),
        "PreCompact saved: {reasons}"
    );
    assert!(
        reasons.contains("session-end"),
        "SessionEnd saved: {reasons}"
    );
    let shown = a.git_session(&["show", id]).success().stdout;
    assert!(
        shown.contains("compact_boundary"),
        "the save holds the compaction"
    );
    assert!(shown.contains("hello-from-e2e"));
    // A plain push: the installed pre-push hook sends the sessions along.
    let pushed = git_with_git_session(&a, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse(&format!("refs/sessions/claude/{id}")),
        a.rev_parse(&format!("refs/sessions/claude/{id}")),
        "the session went along with git push:\n{pushed}"
    );

    // Machine B: another HOME, another checkout path.
    let home_b = env.path("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    env.git_in(env.root(), &["clone", "-q", "remote.git", "b-checkout"]);
    let b = Repo {
        env: &env,
        dir: env.path("b-checkout"),
        git_dir: env.path("b-checkout/.git"),
    };
    // The clone has A's .claude/ (committed): install finds Claude Code there, its hooks already
    // in place, and adds the fetch refspec, so a plain fetch brings the sessions.
    let installed = b.git_session(&["install"]).success();
    let status = b.git_session(&["status"]).success();
    assert!(
        status.stdout.contains("Claude project    hooks installed"),
        "{status}\n{installed}"
    );
    b.git(&["fetch", "-q"]);
    let load = env
        .git_session_command(&b.dir)
        .env("HOME", &home_b)
        .args(["load", id])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&load.stderr);
    assert!(load.status.success(), "{said}");
    assert!(said.contains(&format!("claude --resume {id}")), "{said}");

    let before = fake.requests().len();
    let out = run(claude(&env, &bin, &b.dir, &home_b, &fake.url()).args([
        "-p",
        "continue from machine B",
        "--resume",
        id,
        "--output-format",
        "json",
    ]));
    assert!(out.contains("Echo: continue from machine B"), "{out}");
    let requests = fake.requests();
    let sent = requests[before..]
        .iter()
        .map(|r| r.to_string())
        .collect::<String>();
    assert!(
        sent.contains("fake summary of the session") || sent.contains("hello-from-e2e"),
        "the prior history reached the model"
    );
    let a_checkout = std::fs::canonicalize(&a.dir).unwrap();
    let a_home = std::fs::canonicalize(&home_a).unwrap();
    assert!(
        !sent.contains(&*a_checkout.to_string_lossy()),
        "A's checkout path was sent"
    );
    assert!(
        !sent.contains(&*a_home.to_string_lossy()),
        "A's HOME was sent"
    );
}
