//! `git session install` / `uninstall` / `status` and the pre-push hook, with the real git:
//! chaining a husky-style hook, idempotence, exact restoration, `--dry-run`, sessions pushed with
//! `git push` and fetched with `git fetch`, and a remote that refuses them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{session_ref, Repo, Run, TestEnv, TOOLCALL};

/// Everything install may touch, as (relative path -> (mode, bytes or symlink target)): the whole
/// worktree outside `.git`, and `.git/config`, `.git/info/`, `.git/hooks/`, `.git/git-session/`
/// (minus the save cache, which saves write).
fn snapshot(repo: &Repo<'_>) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let git = repo.dir.join(".git");
    let roots = [
        repo.dir.clone(),
        git.join("config"),
        git.join("info"),
        git.join("hooks"),
        git.join("git-session"),
    ];
    for root in roots {
        let walk = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_entry(|e| {
                let p = e.path();
                !(p == git || p.starts_with(git.join("git-session/cache")))
            })
            .filter_map(Result::ok);
        for entry in walk {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(path).unwrap();
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(path)
                    .unwrap()
                    .display()
                    .to_string()
                    .into_bytes()
            } else if meta.is_file() {
                std::fs::read(path).unwrap()
            } else {
                b"<dir>".to_vec()
            };
            let relative = path.strip_prefix(&repo.dir).unwrap().to_path_buf();
            out.insert(relative, (meta.permissions().mode(), content));
        }
    }
    out
}

/// Asserts two snapshots are equal, naming the first difference.
#[track_caller]
fn assert_same(
    actual: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
    expected: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
    what: &str,
) {
    for (path, (mode, bytes)) in expected {
        match actual.get(path) {
            None => panic!("{what}: {} is gone", path.display()),
            Some((m, b)) => {
                assert_eq!(m, mode, "{what}: the mode of {}", path.display());
                assert!(
                    b == bytes,
                    "{what}: {} differs:\n--- expected\n{}\n--- actual\n{}",
                    path.display(),
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(b)
                );
            }
        }
    }
    for path in actual.keys() {
        assert!(
            expected.contains_key(path),
            "{what}: {} appeared",
            path.display()
        );
    }
}

/// `PATH` with the git-session binary's directory first, as after `cargo install`.
pub(crate) fn path_with_git_session() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_git-session"))
        .parent()
        .unwrap();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// Runs `git <args>` in `repo` with git-session on PATH (so the installed hook finds it).
pub(crate) fn git_with_git_session(repo: &Repo<'_>, args: &[&str]) -> Run {
    let output = repo
        .env
        .command("git")
        .env("PATH", path_with_git_session())
        .current_dir(&repo.dir)
        .args(args)
        .output()
        .expect("run git");
    Run {
        command: format!("git {}", args.join(" ")),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A repository with a commit, a bare remote `origin` and the TOOLCALL session saved.
fn repo_with_remote<'a>(env: &'a TestEnv, remote: &Repo<'_>) -> Repo<'a> {
    let repo = env.repo_with_commit("work");
    repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    repo.save(&[&TOOLCALL.path()]);
    repo
}

fn write_hook(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_chains_a_husky_hook_runs_twice_as_a_no_op_and_uninstall_restores_every_byte() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let repo = repo_with_remote(&env, &remote);
    // husky 8 style: core.hooksPath=.husky (relative to the worktree), a tracked shell hook.
    let user_hook = "#!/bin/sh\necho \"user hook ran for $1\" >&2\n";
    write_hook(&repo.dir.join(".husky/pre-push"), user_hook);
    repo.git(&["add", ".husky"]);
    repo.git(&["commit", "--quiet", "-m", "husky"]);
    repo.git(&["config", "core.hooksPath", ".husky"]);
    let before = snapshot(&repo);

    let dry = repo.git_session(&["install", "--dry-run"]).success();
    assert!(
        dry.stderr.contains("would append to .husky/pre-push")
            && dry
                .stderr
                .contains("would write .opencode/plugin/git-session.js")
            && dry.stderr.contains("remote.origin.fetch"),
        "the plan names each change:\n{dry}"
    );
    assert_same(&snapshot(&repo), &before, "--dry-run changes nothing");

    let installed = repo.git_session(&["install"]).success();
    let hook = std::fs::read_to_string(repo.dir.join(".husky/pre-push")).unwrap();
    assert!(
        hook.starts_with(user_hook) && hook.contains("git session hook pre-push \"$@\""),
        "the existing hook is kept and git-session's block appended:\n{hook}\n{installed}"
    );
    for file in [
        ".opencode/plugin/git-session.js",
        ".opencode/command/session-save.md",
        ".opencode/command/session-load.md",
    ] {
        assert!(
            repo.dir.join(file).is_file(),
            "{file} is installed:\n{installed}"
        );
    }
    assert_eq!(
        repo.git(&["config", "--get-all", "remote.origin.fetch"]),
        "+refs/heads/*:refs/remotes/origin/*\n+refs/session-index/*:refs/remotes/origin/session-index/*\n+refs/session-deletions/*:refs/remotes/origin/session-deletions/*\n"
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        " M .husky/pre-push\n?? .husky/prepare-commit-msg\n",
        "the OpenCode files are ignored (info/exclude), the tracked hook shows as changed, the new commit hook as new"
    );
    let after = snapshot(&repo);

    let again = repo.git_session(&["install"]).success();
    assert!(again.stderr.contains("already installed"), "{again}");
    assert_same(&snapshot(&repo), &after, "a second install changes nothing");

    let status = repo.git_session(&["status"]).success();
    assert!(
        status
            .stdout
            .contains(".husky/pre-push (core.hooksPath=.husky): installed")
            && status.stdout.contains("origin installed")
            && status
                .stdout
                .contains("plugin and commands installed in .opencode"),
        "status says what is installed where:\n{status}"
    );

    // git push runs the user's hook and ours: the sessions refs go along.
    let pushed = git_with_git_session(&repo, &["push", "origin", "main"]).success();
    assert!(
        pushed.stderr.contains("user hook ran for origin"),
        "the existing hook still runs:\n{pushed}"
    );
    assert!(
        pushed
            .stderr
            .contains("git-session: pushed 1 session to origin"),
        "the sessions were pushed:\n{pushed}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        repo.rev_parse(&TOOLCALL.ref_name())
    );
    assert!(remote.rev_parse("refs/heads/main").is_some());

    // The appended block keeps the hook's own exit status: a failing check still stops a push.
    let hook_path = repo.dir.join(".husky/pre-push");
    std::fs::write(
        &hook_path,
        format!("{user_hook}false\n{}", &hook[user_hook.len()..]),
    )
    .unwrap();
    let stopped = git_with_git_session(&repo, &["push", "origin", "HEAD:refs/heads/other"]);
    assert_ne!(
        stopped.code,
        Some(0),
        "the user's failing hook still decides:\n{stopped}"
    );
    assert!(remote.rev_parse("refs/heads/other").is_none());
    std::fs::write(&hook_path, &hook).unwrap();

    // A teammate: a plain clone gets no sessions; after install, a plain fetch does.
    env.git_in(
        env.root(),
        &[
            "clone",
            "--quiet",
            &remote.dir.display().to_string(),
            "mate",
        ],
    );
    let mate = Repo {
        env: &env,
        dir: env.path("mate"),
        git_dir: env.path("mate/.git"),
    };
    let tracking = format!("refs/remotes/origin/sessions/opencode/{}", TOOLCALL.id);
    assert_eq!(
        mate.rev_parse(&tracking),
        None,
        "git clone fetches no custom refs"
    );
    mate.git_session(&["install"]).success();
    mate.git(&["fetch", "--quiet"]);
    // A plain fetch brings the session's summary (naming its newest save), not the session.
    let summary = format!("refs/remotes/origin/session-index/opencode/{}", TOOLCALL.id);
    let tip = mate.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Tip,valueonly)",
        &summary,
    ]);
    assert_eq!(
        Some(tip.trim().to_owned()),
        repo.rev_parse(&TOOLCALL.ref_name())
    );
    assert_eq!(mate.rev_parse(&tracking), None);

    let dry = repo.git_session(&["uninstall", "--dry-run"]).success();
    assert!(
        dry.stderr
            .contains("would remove the git-session block from .husky/pre-push"),
        "{dry}"
    );
    assert_same(
        &snapshot(&repo),
        &after,
        "uninstall --dry-run changes nothing",
    );

    repo.git_session(&["uninstall"]).success();
    assert_same(
        &snapshot(&repo),
        &before,
        "uninstall restores every file, mode and config line",
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the worktree is as it was"
    );
    let nothing = repo.git_session(&["uninstall"]).success();
    assert!(nothing.stderr.contains("not installed"), "{nothing}");
}

#[test]
fn a_hook_that_ends_with_exit_is_moved_aside_still_runs_and_comes_back_on_uninstall() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let repo = repo_with_remote(&env, &remote);
    let hook = repo.git_dir.join("hooks/pre-push");
    let original = "#!/bin/sh\necho \"checks ran\" >&2\nexit 0\n";
    write_hook(&hook, original);
    let before = snapshot(&repo);

    let installed = repo.git_session(&["install"]).success();
    assert!(
        installed.stderr.contains("wrapped .git/hooks/pre-push"),
        "{installed}"
    );
    let kept = repo.git_dir.join("git-session/hooks/pre-push");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        original,
        "kept byte for byte"
    );
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("git session hook pre-push"));

    let pushed = git_with_git_session(&repo, &["push", "origin", "main"]).success();
    assert!(
        pushed.stderr.contains("checks ran"),
        "the moved hook runs:\n{pushed}"
    );
    assert!(pushed.stderr.contains("pushed 1 session"), "{pushed}");

    // A failing original hook still stops the push, as before.
    std::fs::write(&kept, "#!/bin/sh\necho \"checks failed\" >&2\nexit 1\n").unwrap();
    let refused = git_with_git_session(&repo, &["push", "origin", "HEAD:refs/heads/other"]);
    assert_ne!(
        refused.code,
        Some(0),
        "the user's hook still decides:\n{refused}"
    );
    assert!(remote.rev_parse("refs/heads/other").is_none());
    std::fs::write(&kept, original).unwrap();

    repo.git_session(&["uninstall"]).success();
    assert_same(
        &snapshot(&repo),
        &before,
        "the hook is back, byte for byte, with its mode",
    );
}

#[test]
fn a_remote_that_refuses_sessions_refs_does_not_fail_the_users_push() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    write_hook(
        &remote.dir.join("hooks/pre-receive"),
        "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/sessions/*) echo \"no sessions here\" >&2; exit 1;; esac\ndone\nexit 0\n",
    );
    let repo = repo_with_remote(&env, &remote);
    repo.git_session(&["install"]).success();

    let pushed = git_with_git_session(&repo, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse("refs/heads/main"),
        repo.rev_parse("refs/heads/main"),
        "the user's push went through:\n{pushed}"
    );
    assert_eq!(
        remote.rev_parse(&session_ref(TOOLCALL.id)),
        None,
        "the remote refused the session"
    );
    let warnings: Vec<&str> = pushed
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: git-session"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning line:\n{pushed}");
    assert!(
        warnings[0].contains("refused") && warnings[0].contains("git session remote remove origin"),
        "it says what happened and how to stop sending there (syncing would be refused again): {}",
        warnings[0]
    );
}

#[test]
fn the_hook_command_never_fails_and_never_recurses() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    // An unknown remote (no remote enabled for sessions has its URL): one line, exit 0.
    let run = repo
        .git_session(&["hook", "pre-push", "nowhere", "/does/not/exist"])
        .success();
    assert!(
        run.stderr
            .starts_with("git-session: sessions not pushed to nowhere"),
        "{run}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line:\n{run}");
    // Inside git-session's own push: nothing at all.
    let output = env
        .git_session_command(&repo.dir)
        .env("GIT_SESSION_PUSHING", "1")
        .args(["hook", "pre-push", "nowhere", "/does/not/exist"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn install_refuses_to_overwrite_a_file_it_did_not_write() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let mine = repo.dir.join(".opencode/command/session-save.md");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "my own command\n").unwrap();
    let before = snapshot(&repo);
    let refused = repo.git_session(&["install"]).failure();
    refused.single_error(&["session-save.md", "not written by git-session"]);
    assert_same(&snapshot(&repo), &before, "nothing is changed");
}

#[test]
fn install_global_puts_the_opencode_files_into_the_config_dir_and_uninstall_global_removes_them() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let config = env.path("home/.config/opencode");
    repo.git_session(&["install", "--global"]).success();
    assert!(config.join("plugin/git-session.js").is_file());
    assert!(config.join("command/session-load.md").is_file());
    assert!(
        !repo.dir.join(".opencode").exists(),
        "nothing in the project"
    );
    assert!(
        repo.git_dir.join("hooks/pre-push").is_file(),
        "the hook is per repository"
    );
    repo.git_session(&["uninstall", "--global"]).success();
    assert!(
        !config.exists(),
        "the config dir git-session created is gone"
    );
    assert!(!repo.git_dir.join("hooks/pre-push").exists());
}

/// What `git session install` puts into Claude Code's settings for each event.
const CLAUDE_HOOK: &str = "git-session save --agent claude --hook-stdin || true";

/// The commands of `settings.json`'s hooks for `event`, in order.
fn claude_hook_commands(settings: &serde_json::Value, event: &str) -> Vec<String> {
    settings["hooks"][event]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["hooks"].as_array().cloned().unwrap_or_default())
        .map(|hook| hook["command"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn claude_hooks_are_merged_into_existing_settings_idempotently_and_uninstall_restores_the_bytes() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    // Four-space indentation, keys out of alphabetical order, no final newline, a user hook.
    let original = "{\n    \"model\": \"opus\",\n    \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n    \"hooks\": {\"PreCompact\": [{\"matcher\": \"manual\", \"hooks\": [{\"type\": \"command\", \"command\": \"./my-precompact.sh\"}]}]}\n}";
    let settings_path = repo.dir.join(".claude/settings.json");
    std::fs::create_dir_all(settings_path.parent().unwrap()).unwrap();
    std::fs::write(&settings_path, original).unwrap();
    let before = snapshot(&repo);

    let dry = repo.git_session(&["install", "--dry-run"]).success();
    assert!(
        dry.stderr
            .contains("would add hooks to .claude/settings.json")
            && dry.stderr.contains("PreCompact, SessionEnd")
            && dry
                .stderr
                .contains("would write .opencode/plugin/git-session.js"),
        "the default install finds .claude/ and plans both agents:\n{dry}"
    );
    assert_same(&snapshot(&repo), &before, "--dry-run changes nothing");

    let installed = repo.git_session(&["install"]).success();
    let text = std::fs::read_to_string(&settings_path).unwrap();
    let settings: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(settings["model"], "opus", "{text}\n{installed}");
    assert_eq!(settings["permissions"]["allow"][0], "Bash(ls:*)", "{text}");
    assert_eq!(
        claude_hook_commands(&settings, "PreCompact"),
        ["./my-precompact.sh", CLAUDE_HOOK],
        "the user's hook is kept, ours appended:\n{text}"
    );
    assert_eq!(claude_hook_commands(&settings, "SessionEnd"), [CLAUDE_HOOK]);
    let ours = &settings["hooks"]["SessionEnd"][0];
    assert_eq!(ours["matcher"], "");
    assert_eq!(ours["hooks"][0]["type"], "command");
    assert_eq!(ours["hooks"][0]["timeout"], 10);
    assert!(
        text.find("\"model\"").unwrap() < text.find("\"permissions\"").unwrap()
            && text.contains("\n    \"model\""),
        "the key order and indentation are kept:\n{text}"
    );
    let after = snapshot(&repo);

    let again = repo.git_session(&["install"]).success();
    assert!(again.stderr.contains("already installed"), "{again}");
    assert_same(&snapshot(&repo), &after, "a second install changes nothing");

    let status = repo.git_session(&["status"]).success();
    assert!(
        status.stdout.contains(
            "Claude project    hooks installed in .claude/settings.json: PreCompact, SessionEnd"
        ),
        "{status}"
    );

    let dry = repo.git_session(&["uninstall", "--dry-run"]).success();
    assert!(
        dry.stderr.contains("would restore .claude/settings.json"),
        "{dry}"
    );
    assert_same(
        &snapshot(&repo),
        &after,
        "uninstall --dry-run changes nothing",
    );
    repo.git_session(&["uninstall"]).success();
    assert_same(
        &snapshot(&repo),
        &before,
        "uninstall restores settings.json byte for byte",
    );

    // Changed by the user after install: uninstall takes out only git-session's hooks.
    repo.git_session(&["install", "--agent", "claude"])
        .success();
    let mut changed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings_path).unwrap()).unwrap();
    changed["theme"] = "dark".into();
    std::fs::write(&settings_path, changed.to_string()).unwrap();
    let removed = repo.git_session(&["uninstall"]).success();
    assert!(
        removed
            .stderr
            .contains("changed since git-session wrote it")
            && removed
                .stderr
                .contains("removed git-session's Claude Code hooks from .claude/settings.json"),
        "{removed}"
    );
    let left: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings_path).unwrap()).unwrap();
    assert_eq!(left["theme"], "dark", "the user's change stays");
    assert_eq!(left["model"], "opus");
    assert_eq!(
        claude_hook_commands(&left, "PreCompact"),
        ["./my-precompact.sh"]
    );
    assert!(left["hooks"].get("SessionEnd").is_none(), "{left}");
}

#[test]
fn claude_hooks_go_where_claude_is_found_or_asked_for_and_agent_opencode_leaves_them_out() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let before = snapshot(&repo);

    repo.git_session(&["install"]).success();
    assert!(
        !repo.dir.join(".claude").exists(),
        "no .claude/: no Claude Code files"
    );
    assert!(repo.dir.join(".opencode/plugin/git-session.js").is_file());
    repo.git_session(&["uninstall"]).success();
    assert_same(&snapshot(&repo), &before, "uninstall");

    let installed = repo
        .git_session(&["install", "--agent", "claude"])
        .success();
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.dir.join(".claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(claude_hook_commands(&settings, "PreCompact"), [CLAUDE_HOOK]);
    assert_eq!(claude_hook_commands(&settings, "SessionEnd"), [CLAUDE_HOOK]);
    assert!(
        !repo.dir.join(".opencode").exists(),
        "--agent claude installs no OpenCode files:\n{installed}"
    );
    assert!(
        repo.git_dir.join("hooks/pre-push").is_file(),
        "the git side is installed too"
    );
    repo.git_session(&["uninstall"]).success();
    assert!(
        !repo.dir.join(".claude").exists(),
        "the settings file and the .claude/ install created are gone"
    );
    assert_same(&snapshot(&repo), &before, "uninstall after --agent claude");

    // .claude/ exists, but only OpenCode is asked for.
    std::fs::create_dir_all(repo.dir.join(".claude")).unwrap();
    repo.git_session(&["install", "--agent", "opencode"])
        .success();
    assert!(!repo.dir.join(".claude/settings.json").exists());
    assert!(repo.dir.join(".opencode/plugin/git-session.js").is_file());
}

#[test]
fn install_global_with_claude_merges_into_the_users_settings() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let claude_dir = env.path("home/.claude");
    std::fs::create_dir_all(&claude_dir).unwrap();
    let original = "{\"model\":\"sonnet\"}\n";
    std::fs::write(claude_dir.join("settings.json"), original).unwrap();
    repo.git_session(&["install", "--global"]).success();
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(claude_dir.join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(settings["model"], "sonnet");
    assert_eq!(claude_hook_commands(&settings, "PreCompact"), [CLAUDE_HOOK]);
    assert!(!repo.dir.join(".claude").exists(), "nothing in the project");
    repo.git_session(&["uninstall", "--global"]).success();
    assert_eq!(
        std::fs::read_to_string(claude_dir.join("settings.json")).unwrap(),
        original
    );
}

/// `PATH` without any directory that holds a `git-session`: a teammate who never installed it.
fn path_without_git_session() -> std::ffi::OsString {
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.join("git-session").exists())
        .collect();
    std::env::join_paths(dirs).unwrap()
}

/// Runs `git <args>` in `repo` where no git-session can be found.
fn git_without_git_session(repo: &Repo<'_>, args: &[&str]) -> Run {
    let output = repo
        .env
        .command("git")
        .env("PATH", path_without_git_session())
        .current_dir(&repo.dir)
        .args(args)
        .output()
        .expect("run git");
    Run {
        command: format!("git {}", args.join(" ")),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A project's own pre-push check that ends with `exit 0`: it writes its remote and the ref lines
/// git gives it on stdin to `.git/user-hook-ran`.
const CHECKS_THEN_EXIT: &str = "# the project's own checks\n\
    out=\"$(git rev-parse --git-dir)/user-hook-ran\"\n\
    echo \"$1\" > \"$out\"\n\
    cat >> \"$out\"\n\
    echo \"project checks ran\" >&2\n\
    exit 0\n";

/// What [`CHECKS_THEN_EXIT`] writes for a push of `main` from `old` (None: a new branch) to `new`.
fn checks_saw(remote: &str, new: &str, old: Option<&str>) -> String {
    let zero = "0".repeat(new.len());
    format!(
        "{remote}\nrefs/heads/main {new} refs/heads/main {}\n",
        old.unwrap_or(&zero)
    )
}

// See the issue "A hook manager's hook is lost for teammates": a hook in a committed hooks
// directory was moved into .git/ and replaced by a wrapper naming this machine's path.
#[test]
fn a_committed_hook_that_ends_with_exit_keeps_its_logic_and_still_runs_for_teammates_without_git_session(
) {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let repo = repo_with_remote(&env, &remote);
    let original = format!("#!/bin/sh\n{CHECKS_THEN_EXIT}");
    let hook_path = repo.dir.join(".husky/pre-push");
    write_hook(&hook_path, &original);
    repo.git(&["add", ".husky"]);
    repo.git(&["commit", "--quiet", "-m", "husky"]);
    repo.git(&["config", "core.hooksPath", ".husky"]);
    let before = snapshot(&repo);

    let installed = repo.git_session(&["install"]).success();
    let hook = std::fs::read_to_string(&hook_path).unwrap();
    assert!(
        hook.starts_with("#!/bin/sh\n") && hook.ends_with(CHECKS_THEN_EXIT),
        "the hook's own logic stays in the file, after git-session's block:\n{hook}\n{installed}"
    );
    assert!(
        hook.contains("git-session hook pre-push"),
        "git-session's part is in the file:\n{hook}"
    );
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_git-session"))
        .parent()
        .unwrap();
    for path in [
        env.root().to_path_buf(),
        std::fs::canonicalize(env.root()).unwrap(),
        binary_dir.to_path_buf(),
    ] {
        assert!(
            !hook.contains(&path.display().to_string()),
            "no path of this machine ({}) is written into a committed hook:\n{hook}",
            path.display()
        );
    }
    assert!(
        !repo.git_dir.join("git-session/hooks").exists(),
        "nothing was moved aside"
    );
    assert!(
        installed
            .stderr
            .contains("inserted a git-session block at the top of .husky/pre-push"),
        "install says what it did:\n{installed}"
    );
    let again = repo.git_session(&["install"]).success();
    assert!(again.stderr.contains("already installed"), "{again}");

    // Committed, as the note says it may be; a push runs the project's checks with the ref lines
    // on their stdin, and git-session's part.
    repo.git(&["commit", "--quiet", "-am", "git-session hook"]);
    let head = repo.rev_parse("HEAD").unwrap();
    let pushed = git_with_git_session(&repo, &["push", "origin", "main"]).success();
    assert_eq!(
        std::fs::read_to_string(repo.git_dir.join("user-hook-ran")).unwrap(),
        checks_saw("origin", &head, None),
        "the project's checks ran and read git's stdin:\n{pushed}"
    );
    assert!(
        pushed
            .stderr
            .contains("git-session: pushed 1 session to origin"),
        "git-session's part ran:\n{pushed}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        repo.rev_parse(&TOOLCALL.ref_name())
    );
    assert_eq!(remote.rev_parse("refs/heads/main"), Some(head.clone()));

    repo.git_session(&["uninstall"]).success();
    assert_same(
        &snapshot(&repo),
        &before,
        "uninstall takes exactly the block out again",
    );

    // A teammate pulls the committed hook and has no git-session at all (and, this repository
    // being uninstalled, nothing of this machine's install is left for it to find).
    env.git_in(
        env.root(),
        &[
            "clone",
            "--quiet",
            &remote.dir.display().to_string(),
            "mate",
        ],
    );
    let mate = Repo {
        env: &env,
        dir: env.path("mate"),
        git_dir: env.path("mate/.git"),
    };
    mate.git(&["config", "core.hooksPath", ".husky"]);
    std::fs::write(mate.dir.join("notes.txt"), "from a teammate\n").unwrap();
    mate.git(&["add", "notes.txt"]);
    mate.git(&["commit", "--quiet", "-m", "teammate's work"]);
    let mate_head = mate.rev_parse("HEAD").unwrap();
    let mate_push = git_without_git_session(&mate, &["push", "origin", "main"]).success();
    assert_eq!(
        std::fs::read_to_string(mate.git_dir.join("user-hook-ran")).ok(),
        Some(checks_saw("origin", &mate_head, Some(&head))),
        "the project's checks run for a teammate without git-session:\n{mate_push}"
    );
    assert_eq!(
        remote.rev_parse("refs/heads/main"),
        Some(mate_head),
        "the teammate's push went through"
    );
    assert!(
        !mate_push.stderr.contains("git-session:") && !mate_push.stderr.contains("not found"),
        "git-session's block says nothing where it is missing:\n{mate_push}"
    );
}

#[test]
fn a_husky_9_hook_that_is_not_executable_and_ends_with_exit_gets_the_block_and_both_run() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let repo = repo_with_remote(&env, &remote);
    // husky 9: core.hooksPath=.husky/_, whose stubs run .husky/<hook> with 'sh -e' (a trimmed
    // copy of husky's own .husky/_/h), and hook files without an interpreter line or mode 755.
    write_hook(
        &repo.dir.join(".husky/_/h"),
        "#!/usr/bin/env sh\nn=$(basename \"$0\")\ns=$(dirname \"$(dirname \"$0\")\")/$n\n[ ! -f \"$s\" ] && exit 0\nsh -e \"$s\" \"$@\"\nc=$?\n[ $c != 0 ] && echo \"husky - $n script failed (code $c)\"\nexit $c\n",
    );
    write_hook(
        &repo.dir.join(".husky/_/pre-push"),
        "#!/usr/bin/env sh\n. \"$(dirname \"$0\")/h\"\n",
    );
    std::fs::write(repo.dir.join(".husky/pre-push"), CHECKS_THEN_EXIT).unwrap();
    repo.git(&["config", "core.hooksPath", ".husky/_"]);
    let before = snapshot(&repo);

    let installed = repo.git_session(&["install"]).success();
    let hook = std::fs::read_to_string(repo.dir.join(".husky/pre-push")).unwrap();
    assert!(
        hook.starts_with("## START GIT-SESSION") && hook.ends_with(CHECKS_THEN_EXIT),
        "the block goes first, the checks stay (husky runs the file though it is not executable):\n{hook}\n{installed}"
    );

    let head = repo.rev_parse("HEAD").unwrap();
    let pushed = git_with_git_session(&repo, &["push", "origin", "main"]).success();
    assert_eq!(
        std::fs::read_to_string(repo.git_dir.join("user-hook-ran")).unwrap(),
        checks_saw("origin", &head, None),
        "the project's checks ran under 'sh -e' and read git's stdin:\n{pushed}"
    );
    assert!(
        pushed
            .stderr
            .contains("git-session: pushed 1 session to origin"),
        "{pushed}"
    );

    repo.git_session(&["uninstall"]).success();
    assert_same(&snapshot(&repo), &before, "uninstall");
}

#[test]
fn install_puts_back_a_committed_hook_an_older_install_moved_aside_with_the_block_in_it() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let original = format!("#!/bin/sh\n{CHECKS_THEN_EXIT}");
    let hook = repo.dir.join(".husky/pre-push");
    write_hook(&hook, &original);
    repo.git(&["config", "core.hooksPath", ".husky"]);
    // What an older git-session left: the hook in .git/git-session/hooks/, a wrapper naming that
    // path in .husky/pre-push, and the manifest saying so.
    let git_dir = std::fs::canonicalize(&repo.git_dir).unwrap();
    let kept = git_dir.join("git-session/hooks/pre-push");
    let hook_canonical = std::fs::canonicalize(&hook).unwrap();
    write_hook(&kept, &original);
    write_hook(
        &hook,
        &format!(
            "#!/bin/sh\nif [ -x '{0}' ]; then '{0}' \"$@\" || exit $?; fi\n## START GIT-SESSION (pushes refs/sessions/* along; 'git session uninstall' removes this block)\ngit_session_status=$?\nif command -v git-session >/dev/null 2>&1; then git session hook pre-push \"$@\" || :; fi\n(exit $git_session_status)\n## END GIT-SESSION\n",
            kept.display()
        ),
    );
    std::fs::write(
        git_dir.join("git-session/install.json"),
        serde_json::json!({
            "version": 1,
            "items": [{"kind": "wrapped-hook", "path": hook_canonical, "original": kept}],
        })
        .to_string(),
    )
    .unwrap();

    let installed = repo.git_session(&["install"]).success();
    assert!(
        installed.stderr.contains("restored .husky/pre-push")
            && installed
                .stderr
                .contains("inserted a git-session block at the top of .husky/pre-push"),
        "{installed}"
    );
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(
        text.starts_with("#!/bin/sh\n## START GIT-SESSION") && text.ends_with(CHECKS_THEN_EXIT),
        "the hook is back, with the block at its top:\n{text}"
    );
    assert!(!text.contains(&git_dir.display().to_string()), "{text}");
    assert!(!kept.exists(), "nothing is kept aside any more");

    repo.git_session(&["uninstall"]).success();
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        original,
        "uninstall gives the hook's own bytes back"
    );
}

/// The value of `key` in `repo`'s config, or `None` when it is not set.
fn config_value(repo: &Repo<'_>, key: &str) -> Option<String> {
    let run = repo.git_run(&["config", "--get", key]);
    (run.code == Some(0)).then(|| run.stdout.trim_end().to_owned())
}

/// The line the pre-push hook prints when it skips a remote not enabled for sessions.
fn skip_line(remote: &str) -> String {
    format!("git-session: sessions not pushed to {remote} (not enabled; enable with: git session remote add {remote})")
}

// See issue 18: the pre-push hook sent every session to every remote pushed to, a public fork too.
#[test]
fn install_enables_the_remotes_present_and_a_fork_added_later_gets_sessions_only_once_enabled() {
    let env = TestEnv::new();
    let origin = env.bare_repo("origin.git");
    let fork = env.bare_repo("fork.git");
    let repo = repo_with_remote(&env, &origin);
    let session = session_ref(TOOLCALL.id);

    let installed = repo.git_session(&["install"]).success();
    assert!(
        installed
            .stderr
            .contains("Sessions will be pushed to: origin"),
        "install says which remotes get sessions:\n{installed}"
    );
    assert_eq!(
        config_value(&repo, "remote.origin.sessions").as_deref(),
        Some("true"),
        "install enabled the remote present, readable with plain git"
    );

    // A fork added later: the user's push goes through, the sessions stay home.
    repo.git(&["remote", "add", "fork", &fork.dir.display().to_string()]);
    let again = repo.git_session(&["install"]).success();
    assert!(
        again.stderr.contains("git session remote add fork"),
        "installing again enables no remote added since, and says how:\n{again}"
    );
    assert_eq!(config_value(&repo, "remote.fork.sessions"), None);
    let pushed = git_with_git_session(&repo, &["push", "fork", "main"]).success();
    assert_eq!(
        fork.rev_parse("refs/heads/main"),
        repo.rev_parse("refs/heads/main"),
        "the user's push went through:\n{pushed}"
    );
    assert_eq!(
        fork.rev_parse(&session),
        None,
        "no session reached the fork"
    );
    assert!(
        fork.git(&["for-each-ref", "refs/sessions/"]).is_empty(),
        "the fork has no sessions ref at all"
    );
    let skipped: Vec<&str> = pushed
        .stderr
        .lines()
        .filter(|l| l.starts_with("git-session") || l.starts_with("warning: git-session"))
        .collect();
    assert_eq!(
        skipped,
        vec![skip_line("fork").as_str()],
        "one line says why and how:\n{pushed}"
    );

    // push and sync refuse, and say how to send anyway.
    for command in ["push", "sync"] {
        let refused = repo.git_session(&[command, "fork"]).failure();
        refused.single_error(&["not enabled", "fork"]);
        let hints = refused.hint_lines().join("\n");
        assert!(
            hints.contains(&format!("git session {command} fork --remote-ok"))
                && hints.contains("git session remote add fork"),
            "the hint names both ways out:\n{refused}"
        );
        assert_eq!(fork.rev_parse(&session), None, "{command} sent nothing");
    }

    // --remote-ok sends this once, and enables nothing.
    repo.git_session(&["push", "fork", "--remote-ok"]).success();
    assert_eq!(
        fork.rev_parse(&session),
        repo.rev_parse(&session),
        "--remote-ok sent the session"
    );
    assert_eq!(config_value(&repo, "remote.fork.sessions"), None);
    fork.git(&["update-ref", "-d", &session]);

    // Enabled: a plain git push sends the sessions.
    let listed = repo.git_session(&["remote", "list"]).success();
    assert_eq!(listed.stdout, "fork\tnot enabled\norigin\tenabled\n");
    repo.git_session(&["remote", "add", "fork"]).success();
    assert_eq!(
        config_value(&repo, "remote.fork.sessions").as_deref(),
        Some("true")
    );
    let sent = git_with_git_session(&repo, &["push", "fork", "HEAD:refs/heads/two"]).success();
    assert_eq!(
        fork.rev_parse(&session),
        repo.rev_parse(&session),
        "once enabled, git push sends the sessions:\n{sent}"
    );
    assert!(!sent.stderr.contains("not pushed"), "{sent}");

    // Removed again: nothing more goes there.
    fork.git(&["update-ref", "-d", &session]);
    repo.git_session(&["remote", "remove", "fork"]).success();
    let stopped = git_with_git_session(&repo, &["push", "fork", "HEAD:refs/heads/three"]).success();
    assert_eq!(fork.rev_parse(&session), None, "removed: nothing sent");
    assert!(stopped.stderr.contains(&skip_line("fork")), "{stopped}");

    // Uninstall removes the key install set, and leaves the user's own choice.
    repo.git_session(&["uninstall"]).success();
    assert_eq!(
        config_value(&repo, "remote.origin.sessions"),
        None,
        "uninstall removed the key install set"
    );
    assert_eq!(
        config_value(&repo, "remote.fork.sessions").as_deref(),
        Some("false"),
        "the user's own setting stays"
    );
}

#[test]
fn pushing_to_a_url_sends_sessions_only_when_an_enabled_remote_has_that_url() {
    let env = TestEnv::new();
    let origin = env.bare_repo("origin.git");
    let fork = env.bare_repo("fork.git");
    let repo = repo_with_remote(&env, &origin);
    let session = session_ref(TOOLCALL.id);
    repo.git_session(&["install"]).success();

    let fork_url = fork.dir.display().to_string();
    let skipped = git_with_git_session(&repo, &["push", &fork_url, "main"]).success();
    assert_eq!(
        fork.rev_parse(&session),
        None,
        "an unknown URL gets nothing"
    );
    assert!(
        skipped
            .stderr
            .contains(&format!("git-session: sessions not pushed to {fork_url}")),
        "{skipped}"
    );

    let origin_url = origin.dir.display().to_string();
    let sent = git_with_git_session(&repo, &["push", &origin_url, "main"]).success();
    assert_eq!(
        origin.rev_parse(&session),
        repo.rev_parse(&session),
        "origin's own URL is enabled through origin:\n{sent}"
    );
}

#[test]
fn without_any_key_origin_stays_enabled_once_with_a_note_and_a_fork_does_not() {
    // A repository set up by an older git-session: no remote has remote.<name>.sessions.
    let env = TestEnv::new();
    let origin = env.bare_repo("origin.git");
    let fork = env.bare_repo("fork.git");
    let repo = repo_with_remote(&env, &origin);
    repo.git(&["remote", "add", "fork", &fork.dir.display().to_string()]);
    let session = session_ref(TOOLCALL.id);

    let pushed = repo.git_session(&["push"]).success();
    assert_eq!(origin.rev_parse(&session), repo.rev_parse(&session));
    assert!(
        pushed.stderr.contains("note:") && pushed.stderr.contains("git session remote add"),
        "a note says what changed:\n{pushed}"
    );
    assert_eq!(
        config_value(&repo, "remote.origin.sessions").as_deref(),
        Some("true"),
        "the default was written down"
    );
    let again = repo.git_session(&["push"]).success();
    assert!(
        !again.stderr.contains("note:"),
        "the note is said once:\n{again}"
    );

    repo.git_session(&["push", "fork"]).failure();
    assert_eq!(
        fork.rev_parse(&session),
        None,
        "the fork is never the default"
    );
}
