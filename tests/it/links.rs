//! Commits linked to the sessions that wrote them (issue 15), with a Claude Code transcript
//! written where Claude Code keeps it: the prepare-commit-msg hook saves the session and adds the
//! `Session:` trailer; `blame` and `why` find the session and message through the trailer, and
//! by content after a squash merge; a husky repository's own hooks keep working; uninstall
//! restores every byte. The same flows with the real agents are in `e2e_links.rs`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::install::git_with_git_session;
use crate::support::{Repo, Run, TestEnv};

pub(crate) const ID: &str = "5e551011-aaaa-4bbb-8ccc-0123456789ab";

/// The slug Claude Code gives a short checkout path.
fn slug(path: &Path) -> String {
    path.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The first version of `greet.py` the session writes, and the edit it makes.
const WRITTEN: &str = "def greet(name):\n    return f\"Hello, {name}!\"\n";
const OLD: &str = "    return f\"Hello, {name}!\"";
const NEW: &str = "    return f\"HELLO, {name.upper()}!\"";

/// Writes a Claude Code transcript for `repo` under the test HOME: a prompt, a `Write` of
/// `greet.py`, another prompt and an `Edit` of it.
fn place_transcript(repo: &Repo<'_>) -> PathBuf {
    let root = std::fs::canonicalize(&repo.dir).unwrap();
    let home = std::fs::canonicalize(repo.env.path("home")).unwrap_or(repo.env.path("home"));
    let dir = home.join(".claude/projects").join(slug(&root));
    std::fs::create_dir_all(&dir).unwrap();
    let file = root.join("greet.py").display().to_string();
    let base = |uuid: &str, parent: Option<&str>, kind: &str, t: &str| {
        json!({"parentUuid": parent, "isSidechain": false, "type": kind, "uuid": uuid,
            "timestamp": format!("2026-11-30T10:00:{t}.000Z"), "cwd": root, "sessionId": ID,
            "version": "2.1.330", "userType": "external"})
    };
    let with = |mut v: Value, message: Value| {
        v["message"] = message;
        v
    };
    let lines = [
        with(
            base("u1", None, "user", "01"),
            json!({"role": "user", "content": "Add a greeting function in greet.py"}),
        ),
        with(
            base("a1", Some("u1"), "assistant", "02"),
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Write",
                "input": {"file_path": file, "content": WRITTEN}}]}),
        ),
        with(
            base("r1", Some("a1"), "user", "03"),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "File created"}]}),
        ),
        with(
            base("a2", Some("r1"), "assistant", "04"),
            json!({"role": "assistant", "content": [{"type": "text", "text": "I wrote greet.py."}]}),
        ),
        with(
            base("u2", Some("a2"), "user", "05"),
            json!({"role": "user", "content": "Make the greeting shout"}),
        ),
        with(
            base("a3", Some("u2"), "assistant", "06"),
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "Edit",
                "input": {"file_path": file, "old_string": OLD, "new_string": NEW}}]}),
        ),
        with(
            base("r2", Some("a3"), "user", "07"),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "File updated"}]}),
        ),
        with(
            base("a4", Some("r2"), "assistant", "08"),
            json!({"role": "assistant", "content": [{"type": "text", "text": "It shouts now."}]}),
        ),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let path = dir.join(format!("{ID}.jsonl"));
    std::fs::write(&path, text).unwrap();
    // What the session left in the worktree, and a line the user added by hand.
    std::fs::write(
        repo.dir.join("greet.py"),
        format!("def greet(name):\n{NEW}\n# reviewed by hand before committing\n"),
    )
    .unwrap();
    path
}

/// `git commit -m <message>` with git-session on PATH (the installed hook finds it).
fn commit(repo: &Repo<'_>, message: &str) -> Run {
    git_with_git_session(repo, &["commit", "-q", "-m", message]).success()
}

/// One line of `blame --json`: text, session, message, how.
pub(crate) type Blamed = (String, Option<String>, Option<String>, Option<String>);

/// `blame --json` of `file`: (text, session, message, how) per line.
pub(crate) fn blame(repo: &Repo<'_>, file: &str) -> Vec<Blamed> {
    let doc = repo
        .git_session(&["blame", file, "--json"])
        .success()
        .json();
    doc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().map(str::to_owned);
            (s("text").unwrap(), s("session"), s("message"), s("how"))
        })
        .collect()
}

#[test]
fn a_commit_of_a_sessions_edits_is_linked_and_blame_and_why_find_the_session_after_squash_rebase_and_cherry_pick(
) {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.git_session(&["install", "--agent", "claude"])
        .success();
    // No timing in tests: the hook may take as long as a loaded machine needs.
    repo.git(&["config", "session.commitTimeout", "300"]);
    let hook = std::fs::read_to_string(repo.git_dir.join("hooks/prepare-commit-msg")).unwrap();
    assert!(
        hook.contains("git-session hook prepare-commit-msg"),
        "{hook}"
    );
    repo.git(&["checkout", "-q", "-b", "feature"]);
    place_transcript(&repo);

    // A commit no session touched gets nothing.
    std::fs::write(repo.dir.join("notes.txt"), "my own notes\n").unwrap();
    repo.git(&["add", "notes.txt"]);
    let plain = commit(&repo, "Notes");
    assert!(
        !repo.git(&["log", "-1", "--format=%B"]).contains("Session:"),
        "{plain}"
    );
    assert!(repo
        .rev_parse(&format!("refs/sessions/claude/{ID}"))
        .is_none());

    repo.git(&["add", "greet.py"]);
    let made = commit(&repo, "Add greet");
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.ends_with(&format!("Add greet\n\nSession: claude/{ID}\n\n")),
        "one trailer names the session:\n{message}\n{made}"
    );
    assert!(made.stderr.contains(&format!("claude/{ID}")), "{made}");
    let reasons = repo.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/claude/{ID}"),
    ]);
    assert_eq!(reasons.trim(), "commit", "the hook saved the session");
    let feature_commit = repo.rev_parse("HEAD").unwrap();

    // blame: the Write made line 1, the Edit line 2, the user line 3.
    let lines = blame(&repo, "greet.py");
    assert_eq!(lines.len(), 3);
    let session = Some(format!("claude/{ID}"));
    assert_eq!(
        (&lines[0].1, lines[0].3.as_deref()),
        (&session, Some("trailer"))
    );
    assert_eq!(
        (&lines[1].1, lines[1].3.as_deref()),
        (&session, Some("trailer"))
    );
    assert_ne!(lines[0].2, lines[1].2, "two messages wrote the two lines");
    assert_eq!(lines[2].1, None, "no session wrote the hand-made line");
    for message in [&lines[0].2, &lines[1].2] {
        let id = message.as_deref().unwrap_or_default();
        assert!(
            id.starts_with('l') && id.contains('-'),
            "a transcript line id: {id}"
        );
    }
    let human = repo.git_session(&["blame", "greet.py"]).success().stdout;
    assert!(human.lines().nth(2).unwrap().contains(" - "), "{human}");

    // why: the prompts that led to the commit, and the edits.
    let why = repo.git_session(&["why", "HEAD"]).success().stdout;
    assert!(why.contains("Add a greeting function in greet.py"), "{why}");
    assert!(why.contains("Make the greeting shout"), "{why}");
    assert!(why.contains("named by the commit's trailer"), "{why}");
    let line2 = repo
        .git_session(&["why", "greet.py:2", "--format", "md"])
        .success()
        .stdout;
    assert!(line2.contains("## Session claude/"), "{line2}");
    assert!(line2.contains("Make the greeting shout"), "{line2}");
    let log = repo.git_session(&["log", ID]).success().stdout;
    assert!(
        log.contains(&feature_commit[..10]) && log.contains("Add greet"),
        "{log}"
    );

    // Main moves on; the feature branch is rebased: the trailer travels with the commit.
    repo.git(&["checkout", "-q", "main"]);
    std::fs::write(repo.dir.join("other.txt"), "other\n").unwrap();
    repo.git(&["add", "other.txt"]);
    commit(&repo, "Other work");
    repo.git(&["checkout", "-q", "feature"]);
    git_with_git_session(&repo, &["rebase", "-q", "main"]).success();
    assert_ne!(repo.rev_parse("HEAD").unwrap(), feature_commit);
    let rebased = blame(&repo, "greet.py");
    assert_eq!(
        (&rebased[1].1, rebased[1].3.as_deref()),
        (&session, Some("trailer"))
    );

    // A squash merge made without the hook (a server's "squash and merge") loses the trailer:
    // blame finds the session by content.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--squash", "feature"]);
    repo.git(&[
        "-c",
        "core.hooksPath=/dev/null",
        "commit",
        "-q",
        "-m",
        "Squashed feature",
    ]);
    assert!(!repo.git(&["log", "-1", "--format=%B"]).contains("Session:"));
    let squashed = blame(&repo, "greet.py");
    assert_eq!(
        (&squashed[0].1, squashed[0].3.as_deref()),
        (&session, Some("content"))
    );
    assert_eq!(
        (&squashed[1].1, squashed[1].3.as_deref()),
        (&session, Some("content"))
    );
    assert_eq!(
        squashed[1].2, lines[1].2,
        "the same message as through the trailer"
    );
    assert_eq!(squashed[2].1, None);
    let why = repo
        .git_session(&["why", "HEAD", "--json"])
        .success()
        .json();
    assert_eq!(why["sessions"][0]["session"], format!("claude/{ID}"));
    assert_eq!(why["sessions"][0]["how"], "content");
    let human = repo.git_session(&["blame", "greet.py"]).success().stdout;
    assert!(human.contains(&format!("~claude/{ID}")), "{human}");

    // Cherry-picked elsewhere: the trailer comes along.
    repo.git(&["checkout", "-q", "-b", "elsewhere", "main~1"]);
    git_with_git_session(&repo, &["cherry-pick", &repo.rev_parse("feature").unwrap()]).success();
    let picked = blame(&repo, "greet.py");
    assert_eq!(
        (&picked[1].1, picked[1].3.as_deref()),
        (&session, Some("trailer"))
    );
    let why = repo.git_session(&["why", "HEAD"]).success().stdout;
    assert!(why.contains("Make the greeting shout"), "{why}");
}

#[test]
fn with_commit_trailer_off_the_session_is_saved_and_blame_links_by_content() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.git_session(&["install", "--agent", "claude"])
        .success();
    repo.git(&["config", "session.commitTimeout", "300"]);
    repo.git(&["config", "session.commitTrailer", "false"]);
    place_transcript(&repo);
    repo.git(&["add", "greet.py"]);
    commit(&repo, "Add greet");
    assert_eq!(repo.git(&["log", "-1", "--format=%B"]), "Add greet\n\n");
    assert!(
        repo.rev_parse(&format!("refs/sessions/claude/{ID}"))
            .is_some(),
        "saved"
    );
    let lines = blame(&repo, "greet.py");
    assert_eq!(lines[1].3.as_deref(), Some("content"));
}

#[test]
fn a_husky_repository_keeps_its_own_commit_hooks_and_uninstall_restores_every_byte() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let write_hook = |path: &Path, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // husky 9: the stubs in .husky/_ run .husky/<hook> with sh -e.
    write_hook(
        &repo.dir.join(".husky/_/h"),
        "#!/usr/bin/env sh\nn=$(basename \"$0\")\ns=$(dirname \"$(dirname \"$0\")\")/$n\n[ ! -f \"$s\" ] && exit 0\nsh -e \"$s\" \"$@\"\nc=$?\n[ $c != 0 ] && echo \"husky - $n script failed (code $c)\"\nexit $c\n",
    );
    for stub in ["prepare-commit-msg", "commit-msg"] {
        write_hook(
            &repo.dir.join(".husky/_").join(stub),
            "#!/usr/bin/env sh\n. \"$(dirname \"$0\")/h\"\n",
        );
    }
    let prepare = "echo \"Ticket: PROJ-1\" >> \"$1\"\n";
    let check = "grep -q '^Ticket: ' \"$1\" || { echo 'commit-msg: no ticket' >&2; exit 1; }\necho checked >> \"$(git rev-parse --git-dir)/commit-msg-ran\"\n";
    std::fs::write(repo.dir.join(".husky/prepare-commit-msg"), prepare).unwrap();
    std::fs::write(repo.dir.join(".husky/commit-msg"), check).unwrap();
    repo.git(&["add", ".husky"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "husky"]);
    repo.git(&["config", "core.hooksPath", ".husky/_"]);
    let bytes = |p: &str| std::fs::read(repo.dir.join(p)).unwrap();
    let before = (
        bytes(".husky/prepare-commit-msg"),
        bytes(".husky/commit-msg"),
    );

    let installed = repo
        .git_session(&["install", "--agent", "claude"])
        .success();
    repo.git(&["config", "session.commitTimeout", "300"]);
    let chained = std::fs::read_to_string(repo.dir.join(".husky/prepare-commit-msg")).unwrap();
    assert!(
        chained.starts_with(prepare) && chained.contains("git-session hook prepare-commit-msg"),
        "appended to the project's hook:\n{chained}\n{installed}"
    );
    assert_eq!(
        bytes(".husky/commit-msg"),
        before.1,
        "commit-msg is not touched"
    );
    place_transcript(&repo);
    repo.git(&["add", "greet.py"]);
    commit(&repo, "Add greet");
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Ticket: PROJ-1"),
        "the project's hook ran:\n{message}"
    );
    assert!(
        message.contains(&format!("Session: claude/{ID}")),
        "{message}"
    );
    assert!(
        repo.git_dir.join("commit-msg-ran").is_file(),
        "commit-msg ran and passed"
    );

    // Without git-session on PATH the hook still works, and commits go on.
    std::fs::write(repo.dir.join("greet.py"), "print('hi')\n").unwrap();
    repo.git(&["add", "greet.py"]);
    repo.git(&["commit", "-q", "-m", "Without git-session"]);
    assert!(repo
        .git(&["log", "-1", "--format=%B"])
        .contains("Ticket: PROJ-1"));

    repo.git_session(&["uninstall"]).success();
    assert_eq!(
        (
            bytes(".husky/prepare-commit-msg"),
            bytes(".husky/commit-msg")
        ),
        before,
        "uninstall restores both hooks byte for byte"
    );
}
