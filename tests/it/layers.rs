//! The layer rules of CONTRIBUTING.md, checked on the sources: `cli -> agents -> session ->
//! store`. The store knows no session type and no agent; the session layer knows no agent and
//! runs no process; agents know nothing of the command line.

use std::path::Path;

/// The non-test part of every `.rs` file below `src/<dir>`.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source dir") {
            let path = entry.expect("a dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                out.push((path.display().to_string(), code));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under src/{dir}");
    out
}

fn assert_never_mentions(dir: &str, forbidden: &[&str]) {
    for (path, code) in sources(dir) {
        for word in forbidden {
            assert!(
                !code.to_lowercase().contains(&word.to_lowercase()),
                "{path} mentions {word:?}, which the {dir} layer must not know"
            );
        }
    }
}

#[test]
fn the_store_knows_no_session_and_no_agent() {
    assert_never_mentions(
        "store",
        &[
            "crate::session",
            "crate::agents",
            "crate::cli",
            "crate::install",
            "opencode",
            "claude",
        ],
    );
}

#[test]
fn the_session_layer_knows_no_agent_and_runs_no_process() {
    assert_never_mentions(
        "session",
        &[
            "crate::agents",
            "crate::cli",
            "crate::install",
            "process::Command",
            "opencode::",
            "claude::",
        ],
    );
}

#[test]
fn only_the_store_uses_gix() {
    for dir in ["session", "agents", "install"] {
        assert_never_mentions(dir, &["gix::"]);
    }
}

#[test]
fn agents_know_nothing_of_the_command_line() {
    assert_never_mentions("agents", &["crate::cli", "crate::install"]);
}

#[test]
fn the_command_line_reaches_agents_through_the_registry_only() {
    assert_never_mentions(
        "cli",
        &[
            "agents::opencode",
            "agents::claude",
            "agents::codex",
            "opencode::",
            "claude::",
            "codex::",
            "\"opencode\"",
            "\"claude\"",
            "\"codex\"",
            "OpenCodeError",
            "SourceError",
        ],
    );
}

#[test]
fn the_session_layer_and_the_store_name_no_agent() {
    for dir in ["session", "store"] {
        assert_never_mentions(dir, &["opencode", "claude", "codex"]);
    }
}
