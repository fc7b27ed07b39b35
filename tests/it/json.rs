//! Every command's `--json` output: one JSON document on stdout that says `"version": 1` (JSON
//! Lines for `search`), so a script can check the schema it reads.

use serde_json::Value;

use crate::support::{fixtures_dir, Repo, TestEnv, COMPACTED, TOOLCALL};

/// Runs `args` (which must succeed) and returns stdout parsed as one JSON document.
#[track_caller]
fn document(repo: &Repo<'_>, args: &[&str]) -> Value {
    repo.git_session(args).success().json()
}

/// The keys of `value` (at any depth) written in snake_case; keys that are data (a session id, a
/// rule name: values of `sessions`-like maps) are told apart by holding no lowercase word
/// joined by `_` to another.
fn snake_case_keys(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let is_data = key.starts_with("ses_") || key.contains('-') || key.contains('/');
                if !is_data && key.contains('_') {
                    out.push(format!("{path}.{key}"));
                }
                snake_case_keys(v, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| snake_case_keys(v, &format!("{path}[]"), out)),
        _ => {}
    }
}

#[test]
fn every_json_document_is_one_object_with_version_1() {
    let env = TestEnv::new();
    env.bare_repo("remote.git");
    env.git_in(env.root(), &["clone", "--quiet", "remote.git", "a"]);
    let dir = env.path("a");
    let repo = Repo {
        env: &env,
        git_dir: dir.join(".git"),
        dir,
    };
    let claude = fixtures_dir().join("claude/example-session.jsonl");
    let claude = claude.to_string_lossy();
    let (compacted, toolcall) = (COMPACTED.arg(), TOOLCALL.arg());
    // In this order: saves first, then what reads them, then what shares and rewrites them.
    let commands: Vec<Vec<&str>> = vec![
        vec!["save", "--json", "--from", &compacted],
        vec!["save", "--json", "--from", &toolcall],
        vec!["import", "--json", &claude],
        vec!["list", "--json"],
        vec!["log", "--json", COMPACTED.id],
        vec!["stats", "--json"],
        vec!["scan", "--json"],
        vec!["scrub", "--json", TOOLCALL.id],
        vec!["prune", "--json", "--dry-run", "--keep-last", "1"],
        vec!["push", "--json"],
        vec!["pull", "--json"],
        vec!["sync", "--json"],
        vec!["load", "--json", "example-session"],
        vec!["status", "--json"],
        vec!["gc", "--json"],
        vec!["repair", "--json"],
    ];
    for args in &commands {
        let doc = document(&repo, args);
        let mut snake = Vec::new();
        snake_case_keys(&doc, "", &mut snake);
        assert!(
            snake.is_empty(),
            "git-session {} names its keys in camelCase, as every command does: {snake:?}",
            args.join(" ")
        );
        assert!(doc.is_object(), "git-session {}: {doc}", args.join(" "));
        assert_eq!(
            doc["version"],
            1,
            "git-session {} says which schema it writes: {doc}",
            args.join(" ")
        );
    }

    // search writes JSON Lines, one object per match, each on its own (no version key, as
    // `rg --json` lines have none).
    let found = repo
        .git_session(&["search", "--json", "-i", "hello"])
        .success();
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert!(
        lines.len() > 1,
        "the examples say hello more than once:\n{found}"
    );
    for line in lines {
        let hit: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(
            hit["match"].is_string() && hit["session"].is_string(),
            "{hit}"
        );
    }
}
