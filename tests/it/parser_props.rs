//! Property tests of the agent file parsers (issue 18): real example files, truncated at any
//! byte, with bytes flipped, or with one JSON value changed to another type, go through
//! `git session save --from`. Whatever happens, nothing panics; a refused file moves no ref; an
//! accepted one comes back from `git session show` as it was read (each shown line is a line of
//! the file, in order; an OpenCode export JSON-equal to the file).
//!
//! Case counts stay small (each case runs the binary a few times); `PROPTEST_CASES` raises them.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::support::{fixtures_dir, Repo, TestEnv};

/// How a file is damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut at this fraction of its length (per mille).
    Truncate(u32),
    /// XOR the byte at each fraction (per mille) with the mask.
    Flip(Vec<(u32, u8)>),
    /// Replace the JSON value reached by these picks (per mille at each level) with one of
    /// another type; in a JSONL file the first pick chooses the line.
    Retype(Vec<u32>, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u32..1000).prop_map(Damage::Truncate),
        prop::collection::vec((0u32..1000, 1u8..=255), 1..4).prop_map(Damage::Flip),
        (prop::collection::vec(0u32..1000, 1..6), 0u8..6)
            .prop_map(|(path, kind)| Damage::Retype(path, kind)),
    ]
}

fn at(per_mille: u32, len: usize) -> usize {
    (per_mille as usize * len) / 1000
}

/// A value of another type than `old`.
fn retyped(old: &Value, kind: u8) -> Value {
    let choices = [
        Value::Null,
        Value::Bool(true),
        Value::from(-7),
        Value::from("\u{fffd}changed"),
        Value::Array(vec![Value::from(1)]),
        serde_json::json!({ "x": 1 }),
    ];
    let same = |v: &Value| std::mem::discriminant(v) == std::mem::discriminant(old);
    let start = usize::from(kind) % choices.len();
    (0..choices.len())
        .map(|i| &choices[(start + i) % choices.len()])
        .find(|v| !same(v))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Walks down `picks` (one child per level, the last level replaced).
fn retype_in(value: &mut Value, picks: &[u32], kind: u8) {
    let child = match value {
        Value::Object(map) if !map.is_empty() && !picks.is_empty() => {
            let i = at(picks[0], map.len());
            map.values_mut().nth(i)
        }
        Value::Array(items) if !items.is_empty() && !picks.is_empty() => {
            let i = at(picks[0], items.len());
            items.get_mut(i)
        }
        _ => None,
    };
    match child {
        Some(child) if picks.len() > 1 && (child.is_object() || child.is_array()) => {
            retype_in(child, &picks[1..], kind)
        }
        Some(child) => *child = retyped(child, kind),
        None => *value = retyped(value, kind),
    }
}

fn apply(bytes: &[u8], damage: &Damage, jsonl: bool) -> Vec<u8> {
    match damage {
        Damage::Truncate(p) => bytes[..at(*p, bytes.len())].to_vec(),
        Damage::Flip(flips) => {
            let mut out = bytes.to_vec();
            for (p, mask) in flips {
                let i = at(*p, out.len()).min(out.len().saturating_sub(1));
                if let Some(b) = out.get_mut(i) {
                    *b ^= mask;
                }
            }
            out
        }
        Damage::Retype(picks, kind) => {
            let text = String::from_utf8_lossy(bytes);
            if jsonl {
                let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                let i = at(picks[0], lines.len()).min(lines.len() - 1);
                if let Ok(mut v) = serde_json::from_str::<Value>(&lines[i]) {
                    retype_in(&mut v, &picks[1..], *kind);
                    lines[i] = v.to_string();
                }
                lines.join("\n").into_bytes()
            } else {
                let mut v: Value = serde_json::from_slice(bytes).expect("the example is JSON");
                retype_in(&mut v, picks, *kind);
                serde_json::to_vec_pretty(&v).expect("serialise")
            }
        }
    }
}

fn refs(repo: &Repo<'_>) -> String {
    repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// One case: save the damaged bytes, check the three properties. `Ok(true)` when the file was
/// accepted, `Err` describes a failure.
fn check(
    repo: &Repo<'_>,
    agent: &str,
    name: &str,
    bytes: &[u8],
    jsonl: bool,
) -> Result<bool, String> {
    let file = repo.env.path(name);
    std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
    let before = refs(repo);
    let file_arg = file.to_string_lossy().into_owned();
    let run = repo.git_session(&["save", "--agent", agent, "--from", &file_arg]);
    if run.code == Some(101) || run.stderr.contains("panicked") {
        return Err(format!("save panicked: {}", run.stderr));
    }
    let after = refs(repo);
    if run.code != Some(0) {
        if before != after {
            return Err(format!(
                "a refused save moved refs:\n{before}\n->\n{after}\n{}",
                run.stderr
            ));
        }
        if !run.stderr.lines().any(|l| l.starts_with("error: ")) {
            return Err(format!("a refused save gave no error line: {}", run.stderr));
        }
        return Ok(false);
    }
    // Refs outside refs/sessions/ never change; each saved session shows back as read.
    let outside = |r: &str| -> Vec<String> {
        r.lines()
            .filter(|l| !l.starts_with("refs/session"))
            .map(str::to_owned)
            .collect()
    };
    if outside(&before) != outside(&after) {
        return Err(format!(
            "a save moved refs outside refs/sessions:\n{before}\n->\n{after}"
        ));
    }
    let changed: Vec<&str> = after
        .lines()
        .filter(|l| l.starts_with("refs/sessions/") && !before.lines().any(|b| b == *l))
        .filter_map(|l| l.split(' ').next()?.rsplit('/').next())
        .collect();
    let text = String::from_utf8_lossy(bytes);
    for id in changed {
        let shown = repo.git_session(&["show", id]);
        if shown.code == Some(101) || shown.stderr.contains("panicked") {
            return Err(format!("show panicked: {}", shown.stderr));
        }
        if shown.code != Some(0) {
            return Err(format!("show {id} failed after a save: {}", shown.stderr));
        }
        if jsonl {
            // Every shown line is a line of the file, in the file's order.
            let read: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect();
            let mut from = 0;
            for line in shown.stdout.lines().filter(|l| !l.trim().is_empty()) {
                let value: Value = serde_json::from_str(line)
                    .map_err(|e| format!("show printed a line that is not JSON ({e}): {line}"))?;
                match read[from..].iter().position(|r| *r == value) {
                    Some(i) => from += i + 1,
                    None => return Err(format!("show printed a line that was not read: {line}")),
                }
            }
        } else if id == session_id(&text).as_deref().unwrap_or(id) {
            let read: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let back: Value = serde_json::from_str(&shown.stdout).map_err(|e| e.to_string())?;
            if read != back {
                return Err(format!("show {id} differs from the saved export"));
            }
        }
    }
    Ok(true)
}

/// The id of an OpenCode export's own session (children show under their own ids).
fn session_id(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(v.get("info")?.get("id")?.as_str()?.to_owned())
}

fn run(agent: &str, files: &[&str], jsonl: bool, cases: u32) {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("repo");
    let dir = fixtures_dir().join(agent_dir(agent));
    let examples: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(dir.join(f)).expect("read the example"),
            )
        })
        .collect();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    // The examples themselves are accepted and show back as read: the comparison runs.
    for (name, bytes) in &examples {
        match check(&repo, agent, name, bytes, jsonl) {
            Ok(true) => {}
            Ok(false) => panic!("{agent}: the undamaged {name} was refused"),
            Err(e) => panic!("{agent}: {name}: {e}"),
        }
    }
    let accepted = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Each case runs the binary: shrinking a failure is still worth it, within bounds.
        max_shrink_iters: 64,
        ..Config::default()
    });
    let result = runner.run(&(0..examples.len(), damage()), |(which, damage)| {
        let (name, bytes) = &examples[which];
        let damaged = apply(bytes, &damage, jsonl);
        check(
            &repo,
            agent,
            Path::new(name).file_name().unwrap().to_str().unwrap(),
            &damaged,
            jsonl,
        )
        .map(|ok| accepted.set(accepted.get() + u32::from(ok)))
        .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{agent}: {e}");
    }
    println!(
        "{agent}: {} of {cases} damaged files accepted, the rest refused",
        accepted.get()
    );
    repo.assert_fsck_clean();
}

fn agent_dir(agent: &str) -> &'static str {
    match agent {
        "opencode" => "opencode",
        "claude" => "claude",
        _ => "codex",
    }
}

#[test]
fn damaged_opencode_exports_never_panic_move_no_ref_on_refusal_and_show_back_as_read() {
    run(
        "opencode",
        &[
            "example-export-toolcall.json",
            "example-export-compacted.json",
            "example-export-reasoning-file.json",
            "example-export-task-parent.json",
        ],
        false,
        24,
    );
}

#[test]
fn damaged_claude_transcripts_never_panic_move_no_ref_on_refusal_and_show_back_as_read() {
    run(
        "claude",
        &["parent-excerpt.jsonl", "example-hooks.jsonl"],
        true,
        24,
    );
}

#[test]
fn damaged_codex_rollouts_never_panic_move_no_ref_on_refusal_and_show_back_as_read() {
    run(
        "codex",
        &["rollout-subagent.jsonl", "rollout-with-compaction.jsonl"],
        true,
        24,
    );
}

/// The parsers alone, in process: many more cases than the runs through the binary. Whatever
/// they accept renders back (as `show` does) without a panic: the export JSON-equal to what was
/// parsed, every transcript line a line of the file, in order.
mod in_process {
    use super::*;
    use git_session::agents::claude::transcript;
    use git_session::agents::codex::rollout;
    use git_session::agents::opencode::export;

    fn example(agent: &str, name: &str) -> Vec<u8> {
        std::fs::read(fixtures_dir().join(agent).join(name)).expect("read the example")
    }

    fn lines_in_order(rendered: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
        let text = String::from_utf8_lossy(bytes);
        let read: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        let mut from = 0;
        for line in rendered.lines().filter(|l| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {line}")))?;
            match read[from..].iter().position(|r| *r == value) {
                Some(i) => from += i + 1,
                None => return Err(TestCaseError::fail(format!("not read: {line}"))),
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

        #[test]
        fn opencode_export(which in 0usize..3, damage in damage()) {
            let name = ["example-export-toolcall.json", "example-export-compacted.json",
                "example-export-task-parent.json"][which];
            let bytes = apply(&example("opencode", name), &damage, false);
            if let Ok(session) = export::parse(bytes.clone(), name) {
                let read: Value = serde_json::from_slice(&bytes).expect("accepted means JSON");
                prop_assert_eq!(export::to_value(&session), read);
            }
        }

        #[test]
        fn claude_transcript(which in 0usize..2, damage in damage()) {
            let name = ["parent-excerpt.jsonl", "example-hooks.jsonl"][which];
            let bytes = apply(&example("claude", name), &damage, true);
            if let Ok(parsed) = transcript::parse(bytes.clone(), "id", name) {
                lines_in_order(&transcript::render(&parsed.session), &bytes)?;
            }
        }

        #[test]
        fn codex_rollout(which in 0usize..2, damage in damage()) {
            let name = ["rollout-subagent.jsonl", "rollout-with-compaction.jsonl"][which];
            let bytes = apply(&example("codex", name), &damage, true);
            if let Ok(parsed) = rollout::parse(bytes.clone(), name) {
                lines_in_order(&rollout::render(&parsed.session), &bytes)?;
            }
        }
    }
}

/// An invalid byte in the middle of a JSONL file (here the newline between two records) costs
/// the records it touches, never the ones after it (it used to cut the file there).
#[test]
fn an_invalid_byte_mid_transcript_loses_only_its_own_line() {
    use git_session::agents::claude::transcript;
    let bytes = std::fs::read(fixtures_dir().join("claude").join("example-hooks.jsonl")).unwrap();
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    let mut damaged = bytes.clone();
    damaged[newline] ^= 0x80;
    let whole = transcript::parse(bytes.clone(), "id", "x").unwrap();
    let parsed = transcript::parse(damaged, "id", "x").unwrap();
    assert_eq!(
        parsed.session.messages.len(),
        whole.session.messages.len() - 2,
        "the two joined records are dropped, the rest kept"
    );
    let last = String::from_utf8_lossy(&bytes)
        .lines()
        .last()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .unwrap();
    let rendered = transcript::render(&parsed.session);
    assert!(
        rendered
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).ok().as_ref() == Some(&last)),
        "the last record survives"
    );
}
