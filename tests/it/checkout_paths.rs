//! Sessions are stored in a machine-independent form: the saver's checkout and home paths are
//! placeholders in the stored objects, expanded at `load` to this machine's paths and at `show`
//! to the saver's. Two machines (clones at different paths, different HOMEs, a bare remote):
//! a load followed by an unchanged save writes nothing, the same message is the same blob on
//! both, a merge sees only real differences, and saves of the earlier format still read back.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::claude::{self, json_lines, real};
use crate::codex;
use crate::support::{fixtures_dir, Repo, TestEnv, TOOLCALL};

/// Machine A's clone at `a_dir` and machine B's clone of one bare remote, each with a HOME of
/// its own.
struct Machines<'e> {
    a: Repo<'e>,
    b: Repo<'e>,
    home_a: PathBuf,
    home_b: PathBuf,
}

fn machines<'e>(env: &'e TestEnv, a_dir: &str) -> Machines<'e> {
    env.bare_repo("remote.git");
    let clone = |name: &str| {
        env.git_in(env.root(), &["clone", "--quiet", "remote.git", name]);
        let dir = env.path(name);
        Repo {
            env,
            git_dir: dir.join(".git"),
            dir,
        }
    };
    let (a, b) = (clone(a_dir), clone("elsewhere/b-checkout"));
    let (home_a, home_b) = (env.path("home a"), env.path("home-b"));
    for home in [&home_a, &home_b] {
        std::fs::create_dir_all(home).unwrap();
    }
    Machines {
        a,
        b,
        home_a,
        home_b,
    }
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn lossy(path: &Path) -> String {
    real(path).to_string_lossy().into_owned()
}

/// Whether any object of `rev`'s tree holds `needle`.
fn stored_anywhere(repo: &Repo<'_>, rev: &str, needle: &str) -> bool {
    repo.reachable_objects(rev)
        .iter()
        .any(|(_, kind, content)| {
            kind != "commit" && String::from_utf8_lossy(content).contains(needle)
        })
}

/// Appends a user turn to a Claude Code transcript, as Claude Code would, run in `checkout`.
fn append_claude_turn(path: &Path, uuid: &str, checkout: &str, said: &str) {
    let mut content = text(path);
    let record = json!({
        "type": "user", "uuid": uuid, "parentUuid": null, "sessionId": claude::ID,
        "cwd": checkout, "timestamp": "2026-12-01T00:00:00.000Z",
        "message": {"role": "user", "content": format!("{said}: look at {checkout}/src")}
    });
    content.push_str(&format!("{record}\n"));
    std::fs::write(path, content).unwrap();
}

#[test]
fn a_claude_session_loaded_on_another_checkout_saves_back_unchanged_and_merges_cleanly() {
    let env = TestEnv::new();
    // A path with spaces: file URLs percent-encode it, B's does not need it.
    let m = machines(&env, "machine a/my project");
    let (run_a, run_b) = (
        |args: &[&str]| claude::run_as(&m.a, &m.home_a, args),
        |args: &[&str]| claude::run_as(&m.b, &m.home_b, args),
    );
    let original = claude::place_example(&m.a, &m.home_a);
    let original_text = text(&original);
    run_a(&["save", "--agent", "claude"]).success();
    run_a(&["push"]).success();
    run_b(&["pull", "--all"]).success();
    let name = format!("refs/sessions/claude/{}", claude::ID);
    let tip = m.b.rev_parse(&name).expect("B adopted A's save");
    let (checkout_a, home_a) = (lossy(&m.a.dir), lossy(&m.home_a));
    let (checkout_b, home_b) = (lossy(&m.b.dir), lossy(&m.home_b));
    assert!(
        original_text.contains(&checkout_a),
        "the example names A's checkout"
    );
    for path in [&checkout_a, &home_a] {
        assert!(
            !stored_anywhere(&m.b, &tip, path),
            "{path} is a placeholder in the stored objects"
        );
    }
    let shown = run_b(&["show", claude::ID]).success().stdout;
    assert_eq!(
        json_lines(&shown),
        json_lines(&original_text),
        "show on B prints what A's Claude Code wrote"
    );

    let loaded = run_b(&["load", claude::ID]).success();
    assert!(
        loaded.stderr.contains(&format!(
            "Paths under {checkout_a} now point to {checkout_b}"
        )),
        "{loaded}"
    );
    let project_b = real(&m.home_b)
        .join(".claude/projects")
        .join(claude::slug(&real(&m.b.dir)));
    let file_b = project_b.join(format!("{}.jsonl", claude::ID));
    let loaded_text = text(&file_b);
    assert!(
        !loaded_text.contains(&checkout_a) && !loaded_text.contains(&home_a),
        "none of A's paths on B"
    );
    assert!(loaded_text.contains(&format!("\"cwd\":\"{checkout_b}\"")));
    assert!(loaded_text.contains(&project_b.to_string_lossy().into_owned()));
    assert!(home_b.len() > 1 && loaded_text.contains(&home_b));

    let saved = run_b(&["save", "--agent", "claude"]).success();
    assert_eq!(
        m.b.rev_parse(&name).as_deref(),
        Some(tip.as_str()),
        "a load then a save of the unchanged session writes no save:\n{saved}"
    );

    // Each machine adds a turn of its own.
    append_claude_turn(
        &original,
        "aaaaaaaa-0000-4000-8000-000000000001",
        &checkout_a,
        "from A",
    );
    run_a(&["save", "--agent", "claude"]).success();
    run_a(&["push"]).success();
    append_claude_turn(
        &file_b,
        "bbbbbbbb-0000-4000-8000-000000000002",
        &checkout_b,
        "from B",
    );
    run_b(&["save", "--agent", "claude"]).success();
    let b_tip = m.b.rev_parse(&name).unwrap();
    let (before, after) = (m.b.stored_messages(&tip), m.b.stored_messages(&b_tip));
    for (path, blob) in &before {
        assert_eq!(
            after.get(path),
            Some(blob),
            "{path}: B's save stores an unchanged message as A did"
        );
    }
    assert_eq!(after.len(), before.len() + 1, "one new message");
    let a_tip = m.a.rev_parse(&name).unwrap();
    let on_a = m.a.stored_messages(&a_tip);
    let common: Vec<&String> = on_a.keys().filter(|p| after.contains_key(*p)).collect();
    assert_eq!(
        common.len(),
        before.len(),
        "only the new turns differ by path"
    );
    for path in common {
        assert_eq!(
            on_a[path], after[path],
            "{path}: one object on both machines"
        );
    }

    let pulled = run_b(&["pull", "--json"]).success().json();
    assert_eq!(pulled["sessions"][0]["result"], "merged", "{pulled}");
    assert_eq!(
        pulled["sessions"][0]["conflicts"],
        json!([]),
        "a merge sees only the two new turns: {pulled}"
    );
    let merged = run_b(&["show", claude::ID]).success().stdout;
    let records: Vec<Value> = json_lines(&merged)
        .into_iter()
        .filter(|v| !v.is_null())
        .collect();
    let originals = json_lines(&original_text)
        .into_iter()
        .filter(|v| !v.is_null())
        .count();
    assert_eq!(
        records.len(),
        originals + 2,
        "every record once, both turns"
    );
    for said in ["from A", "from B"] {
        assert!(merged.contains(said), "{said} kept");
    }
    m.b.assert_fsck_clean();
}

#[test]
fn a_codex_session_loaded_on_another_checkout_saves_back_unchanged() {
    let env = TestEnv::new();
    // The example's file URLs are written as Codex writes them only for a path that needs no
    // percent-encoding (the examples' paths are replaced as text).
    let m = machines(&env, "machine-a/project");
    let (main, _child) = codex::place_examples(&m.a, &m.home_a);
    codex::run_as(&m.a, &m.home_a, &["save", "--agent", "codex"]).success();
    codex::run_as(&m.a, &m.home_a, &["push"]).success();
    codex::run_as(&m.b, &m.home_b, &["pull", "--all"]).success();
    let name = codex::codex_ref(codex::ID);
    let tip = m.b.rev_parse(&name).expect("B adopted A's save");
    for path in [lossy(&m.a.dir), lossy(&m.home_a)] {
        assert!(
            !stored_anywhere(&m.b, &tip, &path),
            "{path} is a placeholder"
        );
    }
    let shown = codex::run_as(&m.b, &m.home_b, &["show", codex::ID])
        .success()
        .stdout;
    assert_eq!(
        codex::json_lines(&shown),
        codex::json_lines(&text(&main)),
        "show on B prints A's rollout"
    );

    codex::run_as(&m.b, &m.home_b, &["load", codex::ID]).success();
    let rollout = real(&m.home_b).join(codex::DAY).join(codex::main_file());
    let loaded = text(&rollout);
    assert!(!loaded.contains(&lossy(&m.a.dir)) && !loaded.contains(&lossy(&m.home_a)));
    assert!(loaded.contains(&format!("<cwd>{}</cwd>", lossy(&m.b.dir))));
    let saved = codex::run_as(&m.b, &m.home_b, &["save", "--agent", "codex"]).success();
    assert_eq!(
        m.b.rev_parse(&name).as_deref(),
        Some(tip.as_str()),
        "a load then a save of the unchanged session writes no save:\n{saved}"
    );
}

/// A token redaction finds (in a text next to a path).
const SECRET: &str = "ghp_Zq8nR3vT6yW1bC4eH7kM0pS2uX5aD9fG3jL6";

/// The OpenCode example export as OpenCode on a machine with this checkout and HOME exports it,
/// with a text naming the checkout as a `file://` URL and a text that holds a placeholder
/// literally.
fn opencode_export(checkout: &str, home: &str) -> Value {
    let url = format!("file://{}", checkout.replace(' ', "%20"));
    let text = serde_json::to_string(&TOOLCALL.json())
        .unwrap()
        .replace("/home/dev/project", checkout)
        .replace("/home/dev", home);
    let mut export: Value = serde_json::from_str(&text).unwrap();
    let part = export["messages"][0]["parts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["type"] == "text")
        .expect("a text part");
    part["text"] = json!(format!(
        "open {url}/made.txt; the store writes {{git-session:checkout}} for {checkout}; \
         cat {checkout}/.env printed GITHUB_TOKEN={SECRET}"
    ));
    export
}

#[test]
fn an_opencode_session_exported_on_another_checkout_is_the_same_save() {
    let env = TestEnv::new();
    let m = machines(&env, "machine a/my project");
    let (checkout_a, home_a) = (lossy(&m.a.dir), lossy(&m.home_a));
    let (checkout_b, home_b) = (lossy(&m.b.dir), lossy(&m.home_b));
    let file_a = env.path("a.json");
    let export_a = opencode_export(&checkout_a, &home_a);
    crate::support::write_json(&file_a, &export_a);
    let from_a = file_a.display().to_string();
    claude::run_as(&m.a, &m.home_a, &["save", "--from", &from_a]).success();
    claude::run_as(&m.a, &m.home_a, &["push"]).success();
    claude::run_as(&m.b, &m.home_b, &["pull", "--all"]).success();
    let name = TOOLCALL.ref_name();
    let tip = m.b.rev_parse(&name).expect("B adopted A's save");
    let shown = claude::run_as(&m.b, &m.home_b, &["show", TOOLCALL.id])
        .success()
        .json();
    assert!(
        !stored_anywhere(&m.b, &tip, SECRET) && !stored_anywhere(&m.b, &tip, &checkout_a),
        "redacted and contracted before anything was written"
    );
    let expected = serde_json::to_string(&export_a)
        .unwrap()
        .replace(SECRET, "[REDACTED:github-pat]");
    assert_eq!(
        serde_json::to_string(&shown).unwrap(),
        expected,
        "show on B prints A's export (redacted)"
    );

    // What OpenCode on B exports after `load`: the same session at B's paths.
    let file_b = env.path("b.json");
    crate::support::write_json(&file_b, &opencode_export(&checkout_b, &home_b));
    let from_b = file_b.display().to_string();
    let saved = claude::run_as(&m.b, &m.home_b, &["save", "--from", &from_b]).success();
    assert_eq!(
        m.b.rev_parse(&name).as_deref(),
        Some(tip.as_str()),
        "the session at B's paths is A's save:\n{saved}"
    );
}

/// Saved and exported by git-session before the stored form was machine-independent (format 1),
/// on a machine whose checkout was /tmp/gs-old/machine-a/project and HOME /tmp/gs-old/home-a: the
/// Claude Code example placed there as `claude::place_example` does, `git session save --agent
/// claude`, `git session export <id> -o format1-claude.gsb`.
const OLD_CHECKOUT: &str = "/tmp/gs-old/machine-a/project";
const OLD_HOME: &str = "/tmp/gs-old/home-a";

#[test]
fn a_save_of_the_earlier_format_shows_and_loads_as_before() {
    let env = TestEnv::new();
    let b = env.repo_with_commit("elsewhere/b-checkout");
    let home_b = env.path("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    let bundle = fixtures_dir().join("bundles/format1-claude.gsb");
    claude::run_as(&b, &home_b, &["import", &bundle.display().to_string()]).success();
    let name = format!("refs/sessions/claude/{}", claude::ID);
    let format = b.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Format,valueonly)",
        &name,
    ]);
    assert_eq!(
        format.trim(),
        "1",
        "the fixture is a save of the earlier format"
    );

    let project_a = format!("{OLD_HOME}/.claude/projects/-tmp-gs-old-machine-a-project");
    let as_saved = text(&fixtures_dir().join("claude/example-session.jsonl"))
        .replace("/home/dev/.claude/projects/-home-dev-project", &project_a)
        .replace("/home/dev/project", OLD_CHECKOUT)
        .replace("/home/dev", OLD_HOME);
    let shown = claude::run_as(&b, &home_b, &["show", claude::ID])
        .success()
        .stdout;
    assert_eq!(json_lines(&shown), json_lines(&as_saved), "shown as saved");

    let loaded = claude::run_as(&b, &home_b, &["load", claude::ID]).success();
    assert!(
        loaded
            .stderr
            .contains(&format!("Paths under {OLD_CHECKOUT} now point to")),
        "{loaded}"
    );
    let file_b = real(&home_b)
        .join(".claude/projects")
        .join(claude::slug(&real(&b.dir)))
        .join(format!("{}.jsonl", claude::ID));
    let loaded_text = text(&file_b);
    assert!(!loaded_text.contains("/tmp/gs-old"), "re-homed as before");

    // B's next save stores the new form once; after that an unchanged save writes nothing.
    claude::run_as(&b, &home_b, &["save", "--agent", "claude"]).success();
    let format = b.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Format,valueonly)",
        &name,
    ]);
    assert_eq!(format.trim(), "3", "the format this build writes");
    let shown = claude::run_as(&b, &home_b, &["show", claude::ID])
        .success()
        .stdout;
    assert_eq!(json_lines(&shown), json_lines(&loaded_text));
    let tip = b.rev_parse(&name);
    claude::run_as(&b, &home_b, &["save", "--agent", "claude"]).success();
    assert_eq!(b.rev_parse(&name), tip, "unchanged: no new save");
    let old = claude::run_as(&b, &home_b, &["show", claude::ID, "--at", "~1"])
        .success()
        .stdout;
    assert_eq!(
        json_lines(&old),
        json_lines(&as_saved),
        "the old save reads as before"
    );
}
