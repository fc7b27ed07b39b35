//! OpenCode 2, against a stand-in: OpenCode 2 cannot be installed here (not on the npm registry
//! this project reaches), so `tests/opencode2-standin/opencode` plays it, doing what the 2.x
//! source says (`session export` JSON on stdout, `session import` with its `Session already
//! exists` + exit 0 quirk, `export` printing help). Conversion round trips are unit tests in
//! `src/agents/opencode/v2/convert.rs`; every 1.18.33 test stays real (e2e_opencode.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{fixtures_dir, read_json, Repo, Run, TestEnv};

const PARENT: &str = "ses_2f00a1b2c3d4e5f6A7B8C9D0E1";
const CHILD: &str = "ses_2f00a1b2c3d4e5f6A7B8C9D0F2";

fn standin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/opencode2-standin/opencode")
}

fn v2_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/opencode2")
        .join(name)
}

/// The stand-in's data folder of this test.
fn data(env: &TestEnv) -> PathBuf {
    env.path("opencode2-data")
}

/// `opencode <args>` (the stand-in) in `dir`.
fn opencode(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    Run::from(
        format!("opencode {}", args.join(" ")),
        env.command(standin())
            .current_dir(dir)
            .env("OPENCODE2_STANDIN_DATA", data(env))
            .args(args)
            .output(),
    )
}

/// `git session <args>` with the stand-in as OpenCode.
fn git_session(repo: &Repo<'_>, env: &TestEnv, args: &[&str]) -> Run {
    let mut cmd: Command = env.git_session_command(&repo.dir);
    cmd.env("GIT_SESSION_OPENCODE", standin())
        .env("OPENCODE2_STANDIN_DATA", data(env))
        .args(args);
    Run::from(format!("git-session {}", args.join(" ")), cmd.output())
}

/// The parent and its child imported into the stand-in in this checkout.
fn seeded(env: &TestEnv, repo: &Repo<'_>) {
    let dir = repo.dir.display().to_string();
    for f in ["example-v2-export.json", "example-v2-child.json"] {
        let run = opencode(
            env,
            &repo.dir,
            &[
                "session",
                "import",
                &v2_fixture(f).display().to_string(),
                "--directory",
                &dir,
            ],
        )
        .success();
        assert!(run.stdout.contains("Imported session"), "{run}");
    }
}

fn exported(env: &TestEnv, repo: &Repo<'_>, id: &str) -> Value {
    serde_json::from_str(
        &opencode(env, &repo.dir, &["session", "export", id])
            .success()
            .stdout,
    )
    .unwrap()
}

#[test]
fn the_standin_behaves_as_the_source_says() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let run = opencode(&env, &repo.dir, &["--version"]).success();
    assert!(run.stdout.starts_with("2."), "{run}");
    let run = opencode(&env, &repo.dir, &["export"]).success();
    assert!(run.stdout.contains("USAGE"), "{run}");
    seeded(&env, &repo);
    let again = opencode(
        &env,
        &repo.dir,
        &[
            "session",
            "import",
            &v2_fixture("example-v2-export.json").display().to_string(),
        ],
    )
    .success();
    assert!(again.stderr.contains("Session already exists"), "{again}");
    let v1 = fixtures_dir().join("opencode/example-export-toolcall.json");
    let refused = opencode(
        &env,
        &repo.dir,
        &["session", "import", &v1.display().to_string()],
    );
    let refused = refused.failure();
    assert!(refused.stderr.contains("Invalid session data"), "{refused}");
}

#[test]
fn a_v2_export_saved_from_a_file_shows_as_it_was_and_reads_like_v1() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&v2_fixture("example-v2-export.json")]);
    let original = read_json(&v2_fixture("example-v2-export.json"));
    assert_eq!(repo.show(PARENT, None), original);
    assert!(repo
        .refs()
        .contains(&format!("refs/sessions/opencode/{PARENT}")));
    let md = repo
        .git_session(&["show", PARENT, "--format", "md"])
        .success()
        .stdout;
    assert!(md.contains("read hello.txt and run the tests"), "{md}");
    assert!(md.contains("The file says hello; tests pass."), "{md}");
    assert!(md.contains("cargo test"), "{md}");
    let found = repo.git_session(&["search", "tests pass"]).success().stdout;
    assert!(found.contains(PARENT), "{found}");
}

#[test]
fn save_reads_opencode2_newest_with_children_and_show_gives_its_export_back() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    seeded(&env, &repo);
    let run = git_session(&repo, &env, &["save"]).success();
    let refs = repo.refs();
    assert!(refs.contains(PARENT), "{run}\n{refs}");
    assert_eq!(repo.show(PARENT, None), exported(&env, &repo, PARENT));
    assert_eq!(repo.show(CHILD, None), exported(&env, &repo, CHILD));
}

#[test]
fn a_v1_save_loads_into_opencode2_converted_and_a_reload_replaces_the_local_copy() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let v1 = fixtures_dir().join("opencode/example-export-toolcall.json");
    repo.save(&[&v1]);
    let id = read_json(&v1)["info"]["id"].as_str().unwrap().to_owned();
    git_session(&repo, &env, &["load", &id]).success();
    let local = exported(&env, &repo, &id);
    let types: Vec<&str> = local["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user", "assistant", "assistant"], "{local}");
    assert_eq!(local["messages"][1]["content"][0]["name"], "shell");
    // Changed locally, then loaded again: the local copy is backed up and replaced.
    let file = data(&env).join(format!("{id}.json"));
    let mut changed: Value = read_json(&file);
    changed["info"]["title"] = "changed here".into();
    std::fs::write(&file, changed.to_string()).unwrap();
    let run = git_session(&repo, &env, &["load", &id]).success();
    assert_eq!(
        exported(&env, &repo, &id)["info"]["title"],
        local["info"]["title"],
        "{run}"
    );
    let backups = repo.git_dir.join("git-session/backups/opencode");
    assert!(
        std::fs::read_dir(&backups).is_ok_and(|d| d.count() > 0),
        "{run}"
    );
}

#[test]
fn a_v2_import_answering_session_already_exists_is_not_reported_as_success() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&v2_fixture("example-v2-child.json")]);
    // A local copy OpenCode cannot export (so it is not seen and not backed up): its import
    // answers "Session already exists" with exit 0.
    std::fs::create_dir_all(data(&env)).unwrap();
    let local = data(&env).join(format!("{CHILD}.json"));
    std::fs::write(&local, "{ not json").unwrap();
    let run = git_session(&repo, &env, &["load", CHILD]).failure();
    run.single_error(&["Session already exists"]);
    assert_eq!(std::fs::read_to_string(&local).unwrap(), "{ not json");
}

#[test]
fn export_writes_either_opencode_format_and_the_v1_one_converts_back_exactly() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let v2 = v2_fixture("example-v2-export.json");
    repo.save(&[&v2]);
    let as_v1 = repo
        .git_session(&[
            "export",
            PARENT,
            "--format",
            "json",
            "--format-version",
            "1",
            "-o",
            "-",
        ])
        .success()
        .json();
    assert!(as_v1["messages"][0]["info"]["role"].is_string(), "{as_v1}");
    let as_v2 = repo
        .git_session(&[
            "export",
            PARENT,
            "--format",
            "json",
            "--format-version",
            "2",
            "-o",
            "-",
        ])
        .success()
        .json();
    assert_eq!(as_v2, read_json(&v2));
    // The v1 export saved elsewhere (as a 1.x user would) comes back as the same v2 export.
    let other = env.repo_with_commit("other");
    let file = env.path("as-v1.json");
    std::fs::write(&file, as_v1.to_string()).unwrap();
    other.save(&[&file]);
    let back = other
        .git_session(&[
            "export",
            PARENT,
            "--format",
            "json",
            "--format-version",
            "2",
            "-o",
            "-",
        ])
        .success()
        .json();
    assert_eq!(back, read_json(&v2));
    repo.git_session(&[
        "export",
        PARENT,
        "--format",
        "json",
        "--format-version",
        "3",
        "-o",
        "-",
    ])
    .failure()
    .single_error(&["formats 1 and 2"]);
}

#[test]
fn the_installed_plugin_loads_in_both_shapes_and_its_v2_hook_saves_before_compaction() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    git_session(&repo, &env, &["install", "--agent", "opencode"]).success();
    let v1 = repo.dir.join(".opencode/plugin/git-session.js");
    let v2 = repo.dir.join(".opencode/plugins/git-session.js");
    assert_eq!(std::fs::read(&v1).unwrap(), std::fs::read(&v2).unwrap());
    seeded(&env, &repo);
    // OpenCode 2's loader wants a default export {id, setup}; its compaction hook is awaited.
    let script = format!(
        r#"
        const mod = await import({plugin:?})
        const p = mod.default
        if (typeof p.id !== "string" || typeof p.server !== "function" || typeof p.setup !== "function")
          throw new Error("not {{id, server, setup}}: " + Object.keys(p))
        let hook
        await p.setup({{ directory: {dir:?}, session: {{ hook: async (name, fn) => {{ if (name === "compaction") hook = fn }} }} }})
        const event = {{ sessionID: {id:?}, messages: [] }}
        await hook(event)
        if ("result" in event) throw new Error("the hook set result")
        await hook({{ sessionID: "ses_missing" }}) // a failing save never throws
        console.log("hooked")
        "#,
        plugin = v2.display().to_string(),
        dir = repo.dir.display().to_string(),
        id = PARENT,
    );
    let run = Run::from(
        "node plugin".into(),
        env.command("node")
            .current_dir(&repo.dir)
            .env("GIT_SESSION_BIN", env!("CARGO_BIN_EXE_git-session"))
            .env("GIT_SESSION_OPENCODE", standin())
            .env("OPENCODE2_STANDIN_DATA", data(&env))
            .env("GIT_SESSION_SAVE_TIMEOUT", "20000")
            .args(["--input-type=module", "-e", &script])
            .output(),
    )
    .success();
    assert!(run.stdout.contains("hooked"), "{run}");
    assert_eq!(repo.show(PARENT, None), exported(&env, &repo, PARENT));
    assert_eq!(repo.show(CHILD, None), exported(&env, &repo, CHILD));
}
