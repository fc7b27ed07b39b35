//! Gemini CLI sessions without Gemini: its real files (`tests/fixtures/gemini/`, from
//! `../shared/reference/gemini-examples/`) placed where Gemini keeps them, saved, shown, loaded;
//! the hooks merged into a settings file Gemini itself rewrote.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use crate::support::{Repo, TestEnv};

const ID: &str = "6203f4cf-4c8e-4963-a204-de72fefce4e5";
const FILE: &str = "session-2026-11-30T11-48-6203f4cf.jsonl";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/gemini/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Registers `repo` in Gemini's `projects.json` under `slug` (as Gemini does on its first run
/// there) and returns the project's chats folder.
fn gemini_project(env: &TestEnv, repo: &Repo<'_>, slug: &str) -> PathBuf {
    let gemini = env.path("home/.gemini");
    let root = std::fs::canonicalize(&repo.dir).unwrap();
    let chats = gemini.join("tmp").join(slug).join("chats");
    std::fs::create_dir_all(&chats).unwrap();
    std::fs::write(
        gemini.join("projects.json"),
        serde_json::json!({"projects": {root.to_string_lossy(): slug}}).to_string(),
    )
    .unwrap();
    chats
}

fn json_lines(text: &str) -> Vec<Option<Value>> {
    text.split_terminator('\n')
        .map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn hook(repo: &Repo<'_>, path: &Path, event: &str) -> crate::support::Run {
    let payload = serde_json::json!({"session_id": ID, "transcript_path": path,
        "cwd": repo.dir, "hook_event_name": event, "trigger": "auto"});
    repo.git_session_stdin(
        &["save", "--agent", "gemini", "--hook-stdin"],
        payload.to_string().as_bytes(),
    )
}

#[test]
fn the_hook_saves_a_session_once_and_an_unchanged_one_is_not_read_again() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("gapp");
    let chats = gemini_project(&env, &repo, "gapp");
    let path = chats.join(FILE);
    let text = fixture("session-resumed-3x.jsonl");
    std::fs::write(&path, &text).unwrap();
    let first = hook(&repo, &path, "PreCompress").success();
    assert!(first.stdout.is_empty(), "a hook prints nothing on stdout");
    let saved = repo.rev_parse(&format!("refs/sessions/gemini/{ID}"));
    assert!(saved.is_some(), "{}", first.stderr);
    // The stamp matches: nothing read, nothing said, the ref stays.
    let again = hook(&repo, &path, "PreCompress").success();
    assert_eq!(again.stderr, "", "the unchanged session was not read again");
    assert_eq!(repo.rev_parse(&format!("refs/sessions/gemini/{ID}")), saved);
    // A resume in a later minute left a stray (header and context only) with the same short id,
    // which Gemini's cleanup would take for garbage, deleting the real session with it: the
    // hook removes it, and only it.
    let stray = chats.join("session-2026-11-30T12-07-6203f4cf.jsonl");
    let two: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&stray, format!("{}\n", two.join("\n"))).unwrap();
    let other = chats.join("session-2026-11-30T12-08-0badc0de.jsonl");
    std::fs::write(&other, format!("{}\n", two.join("\n"))).unwrap();
    // A new line: saved, and show gives the whole file back.
    let more = format!("{text}{{\"$set\":{{\"lastUpdated\":\"2026-11-30T12:00:00.000Z\"}}}}\n");
    std::fs::write(&path, &more).unwrap();
    hook(&repo, &path, "SessionEnd").success();
    assert_ne!(repo.rev_parse(&format!("refs/sessions/gemini/{ID}")), saved);
    assert!(
        !stray.exists() && path.exists(),
        "the stray went, the session stayed"
    );
    assert!(
        other.exists(),
        "another session's file is not ours to remove"
    );
    let shown = repo.git_session(&["show", ID]).success().stdout;
    assert_eq!(json_lines(&shown), json_lines(&more));
    let reasons = repo.git(&[
        "log",
        "--format=%(trailers:key=Reason,valueonly)",
        &format!("refs/sessions/gemini/{ID}"),
    ]);
    assert_eq!(
        reasons.split_whitespace().collect::<Vec<_>>(),
        ["session-end", "pre-compress"]
    );
    repo.assert_fsck_clean();
}

#[test]
fn save_reads_the_newest_session_with_its_subagent_and_the_views_show_the_conversation() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("gapp");
    let chats = gemini_project(&env, &repo, "gapp");
    std::fs::write(chats.join(FILE), fixture("session-resumed-3x.jsonl")).unwrap();
    std::fs::create_dir_all(chats.join(ID)).unwrap();
    let child = "4322b6cc-b3cc-449b-a6db-b24ea073053a";
    std::fs::write(
        chats.join(ID).join(format!("{child}.jsonl")),
        fixture("subagent.jsonl"),
    )
    .unwrap();
    let saved = repo.git_session(&["save", "--agent", "gemini"]).success();
    assert!(saved.stderr.contains(ID), "{}", saved.stderr);
    let shown = repo.git_session(&["show", child]).success().stdout;
    assert_eq!(json_lines(&shown), json_lines(&fixture("subagent.jsonl")));
    let md = repo
        .git_session(&["show", ID, "--format", "md"])
        .success()
        .stdout;
    assert!(
        md.contains("### User") && md.contains("Echo: after move"),
        "{md}"
    );
    assert!(md.contains(&format!("## Subagent {child}")), "{md}");
    let found = repo.git_session(&["search", "after move"]).success().stdout;
    assert!(found.contains(ID), "{found}");
    repo.git_session(&["stats"]).success();
}

#[test]
fn repeated_histories_are_stored_as_patches_not_copies() {
    // A session resumed 12 times: each start writes the whole history again, with new timestamps
    // (messages of 760 bytes, under the split threshold, so only the patches keep them single).
    let env = TestEnv::new();
    let repo = env.repo_with_commit("gapp");
    let chats = gemini_project(&env, &repo, "gapp");
    let (mut text, mut messages) = (String::new(), Vec::new());
    let filler = "a sentence of a long answer that is not repeated elsewhere. ".repeat(12);
    for start in 0..12 {
        let time = format!("2026-11-30T10:{start:02}:00.000Z");
        text.push_str(&format!("{{\"sessionId\":\"{ID}\",\"projectHash\":\"h\",\"startTime\":\"{time}\",\"lastUpdated\":\"{time}\",\"kind\":\"main\"}}\n"));
        let set: Vec<Value> = messages
            .iter()
            .map(|m: &Value| {
                let mut m = m.clone();
                m["timestamp"] = time.clone().into();
                m
            })
            .collect();
        text.push_str(&serde_json::json!({"$set": {"messages": set}}).to_string());
        text.push('\n');
        for n in 0..20 {
            let m = serde_json::json!({"id": format!("m{start}-{n}"), "timestamp": time,
                "type": if n % 2 == 0 {"user"} else {"gemini"},
                "content": [{"text": format!("{start}/{n}: {filler}")}]});
            text.push_str(&m.to_string());
            text.push('\n');
            messages.push(m);
        }
        std::fs::write(chats.join(FILE), &text).unwrap();
        repo.git_session(&["save", "--agent", "gemini"]).success();
    }
    // The newest save's tree holds the history once, however many times the file repeats it.
    let tree = repo.git(&["ls-tree", "-r", "-l", &format!("refs/sessions/gemini/{ID}")]);
    let objects: usize = tree
        .lines()
        .filter_map(|line| line.split_whitespace().nth(3)?.parse::<usize>().ok())
        .sum();
    println!(
        "12 starts: {objects} bytes in the newest save's tree for a {} byte file",
        text.len()
    );
    assert!(
        objects > 0 && objects < text.len() / 3,
        "{objects} bytes in the newest save's tree for a {} byte file:\n{tree}",
        text.len()
    );
    let shown = repo.git_session(&["show", ID]).success().stdout;
    assert_eq!(json_lines(&shown), json_lines(&text));
}

#[test]
fn load_registers_the_checkout_and_puts_the_file_where_gemini_finds_it() {
    let env = TestEnv::new();
    let a = env.repo_with_commit("gapp");
    let chats = gemini_project(&env, &a, "gapp");
    let text = fixture("session-resumed-3x.jsonl");
    std::fs::write(chats.join(FILE), &text).unwrap();
    a.git_session(&["save", "--agent", "gemini"]).success();
    let bundle = env.path("s.gsb");
    a.git_session(&["export", ID, "-o", &bundle.to_string_lossy()])
        .success();
    // Machine B: another checkout, Gemini never ran there, another HOME.
    let gemini = env.path("home/.gemini");
    std::fs::remove_dir_all(&gemini).unwrap();
    let b = env.repo_with_commit("work/Else Where");
    b.git_session(&["import", &bundle.to_string_lossy()])
        .success();
    let loaded = b.git_session(&["load", ID]).success();
    assert!(
        loaded.stdout.contains(&format!("gemini --resume {ID}"))
            || loaded.stderr.contains(&format!("gemini --resume {ID}")),
        "{}{}",
        loaded.stdout,
        loaded.stderr
    );
    let root = std::fs::canonicalize(&b.dir).unwrap();
    let projects: Value =
        serde_json::from_str(&std::fs::read_to_string(gemini.join("projects.json")).unwrap())
            .unwrap();
    assert_eq!(
        projects["projects"][root.to_string_lossy().as_ref()],
        "else-where"
    );
    for d in ["tmp", "history"] {
        let marker = gemini.join(d).join("else-where/.project_root");
        assert_eq!(
            std::fs::read_to_string(marker).unwrap(),
            root.to_string_lossy()
        );
    }
    let placed = gemini.join("tmp/else-where/chats").join(FILE);
    let written = std::fs::read_to_string(&placed).unwrap();
    let a_root = std::fs::canonicalize(&a.dir).unwrap();
    assert!(!written.contains(&*a_root.to_string_lossy()), "re-homed");
    // Loading again finds it identical; a changed local copy is backed up before it is replaced.
    let again = b.git_session(&["load", ID]).success();
    assert!(!again.stderr.contains("backup"), "{}", again.stderr);
    std::fs::write(&placed, format!("{written}{{\"$set\":{{\"x\":1}}}}\n")).unwrap();
    let replaced = b.git_session(&["load", ID, "--json"]).success().json();
    assert_eq!(replaced["replaced"], true, "{replaced}");
    // A fork: a new id, a new file beside it.
    let forked = b
        .git_session(&["load", ID, "--fork", "--json"])
        .success()
        .json();
    let new_id = forked["id"]
        .as_str()
        .or_else(|| forked["session"].as_str())
        .unwrap_or_default()
        .to_owned();
    let files: Vec<String> = std::fs::read_dir(gemini.join("tmp/else-where/chats"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?} {forked}");
    assert!(!new_id.is_empty() && new_id != ID, "{forked}");
}

#[test]
fn install_merges_the_hooks_into_settings_gemini_rewrote_and_uninstall_restores_them() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("gapp");
    let settings = env.path("home/.gemini/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    // What Gemini 0.61.0 wrote after migrating a deprecated key: comments kept, no final newline.
    let original = fixture("settings-rewritten-by-gemini.json");
    std::fs::write(&settings, &original).unwrap();
    repo.git_session(&["install", "--global", "--agent", "gemini"])
        .success();
    let installed = std::fs::read_to_string(&settings).unwrap();
    assert!(installed.contains("// my own settings"), "{installed}");
    assert!(installed.contains("\"theme\": \"GitHub\""), "{installed}");
    for event in ["PreCompress", "SessionEnd"] {
        assert!(installed.contains(event), "{installed}");
    }
    assert!(installed.contains("\"timeout\": 10000"), "{installed}");
    repo.git_session(&["install", "--global", "--agent", "gemini"])
        .success();
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        installed,
        "idempotent"
    );
    repo.git_session(&["uninstall", "--global"]).success();
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        original,
        "byte for byte"
    );
    // A project with .gemini/: found without --agent.
    std::fs::create_dir_all(repo.dir.join(".gemini")).unwrap();
    repo.git_session(&["install"]).success();
    let project = std::fs::read_to_string(repo.dir.join(".gemini/settings.json")).unwrap();
    assert!(project.contains("git-session save --agent gemini --hook-stdin || true"));
}

fn mutate(text: &str, cut: usize, flips: &[(usize, u8)], retype: Option<usize>) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for (at, b) in flips {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = *b;
        }
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(n) = retype {
        // A type change: a string value becomes a number, an object, null, ...
        let replacements = ["1", "{}", "null", "[]", "\"x\""];
        if let Some(at) = text.match_indices("\":\"").nth(n % 40).map(|(i, _)| i + 2) {
            if let Some(end) = text[at + 1..].find('"') {
                let r = replacements[n % replacements.len()];
                text.replace_range(at..at + end + 2, r);
            }
        }
    }
    let mut bytes = text.into_bytes();
    bytes.truncate(cut.min(bytes.len()));
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Truncations, byte flips and type changes never panic and never move a ref unless
    /// accepted; accepted input comes back from show line for line (a cut last line and lines
    /// that are no JSON object left out).
    #[test]
    fn mangled_files_never_panic_nor_move_a_ref_and_accepted_ones_come_back(
        cut in 0usize..12000,
        flips in proptest::collection::vec((0usize..12000, any::<u8>()), 0..4),
        retype in proptest::option::of(0usize..200),
    ) {
        let env = TestEnv::new();
        let repo = env.repo_with_commit("p");
        let text = fixture("session-resumed-3x.jsonl");
        let bytes = mutate(&text, cut, &flips, retype);
        let file = env.path(FILE);
        std::fs::write(&file, &bytes).unwrap();
        let run = repo.git_session(&["save", "--agent", "gemini", "--from", &file.to_string_lossy()]);
        prop_assert!(run.code == Some(0) || run.code == Some(1), "{}", run.stderr);
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let refs = repo.refs();
        if run.code != Some(0) {
            prop_assert!(!refs.contains("refs/sessions/"), "{refs}");
            return Ok(());
        }
        let id = refs
            .lines()
            .find_map(|l| l.split("refs/sessions/gemini/").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_owned();
        let shown = repo.git_session(&["show", &id]).success().stdout;
        let input = String::from_utf8_lossy(&bytes).into_owned();
        let complete = input.ends_with('\n');
        let mut expected: Vec<Option<Value>> = input
            .split_terminator('\n')
            .map(|l| serde_json::from_str::<Value>(l.trim_end_matches('\r')).ok().filter(Value::is_object))
            .collect();
        if !complete && expected.last().is_some_and(Option::is_none) {
            expected.pop();
        }
        while expected.last().is_some_and(Option::is_none) && json_lines(&shown).len() < expected.len() {
            expected.pop();
        }
        prop_assert_eq!(json_lines(&shown), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The parser alone, many more cases: never panics, and what it accepts renders back.
    #[test]
    fn the_parser_never_panics_and_renders_back_what_it_read(
        cut in 0usize..12000,
        flips in proptest::collection::vec((0usize..12000, any::<u8>()), 0..6),
        retype in proptest::option::of(0usize..200),
    ) {
        let text = fixture("session-resumed-3x.jsonl");
        let bytes = mutate(&text, cut, &flips, retype);
        if let Ok(parsed) = git_session::agents::gemini::log::parse(bytes.clone(), FILE, None) {
            let back = git_session::agents::gemini::log::render(&parsed.session);
            let input = String::from_utf8_lossy(&bytes).into_owned();
            for (n, (a, b)) in json_lines(&back).iter().zip(json_lines(&input)).enumerate() {
                if a.is_some() {
                    prop_assert_eq!(a, &b, "line {}", n + 1);
                }
            }
        }
    }
}
