//! Session ids on the command line: a unique prefix is enough, an ambiguous one names the
//! candidates, an unknown one says how to find the right id; none of them moves a ref.

use crate::support::{Repo, TestEnv, COMPACTED, REASONING, TASK_CHILD, TASK_PARENT, TOOLCALL};

/// A repository holding three sessions; two of them (compacted, toolcall) share `ses_dfef`.
fn three_sessions(env: &TestEnv) -> Repo<'_> {
    let repo = env.repo_with_commit("work");
    repo.save(&[&COMPACTED.path()]);
    repo.save(&[&TOOLCALL.path()]);
    repo.save(&[&REASONING.path()]);
    repo
}

#[test]
fn a_unique_prefix_names_a_session_for_show_and_log() {
    let env = TestEnv::new();
    let repo = three_sessions(&env);
    assert_eq!(repo.show("ses_dfef2", None), COMPACTED.json());
    assert_eq!(repo.show("ses_dfee", None), REASONING.json());

    let log = repo
        .git_session(&["log", "ses_dfeff", "--json"])
        .success()
        .json();
    assert_eq!(log["session"], TOOLCALL.id, "{log:#}");
    assert_eq!(
        log["saves"][0]["commit"].as_str(),
        repo.rev_parse(&TOOLCALL.ref_name()).as_deref()
    );
    let human = repo.git_session(&["log", "ses_dfeff"]).success();
    assert_eq!(human.stdout.lines().count(), 1, "{human}");
}

#[test]
fn an_ambiguous_prefix_fails_naming_every_candidate() {
    let env = TestEnv::new();
    let repo = three_sessions(&env);
    let refs = repo.refs();
    let out = env.path("out.gsb");
    let out_arg = out.display().to_string();
    for args in [
        vec!["show", "ses_dfef"],
        vec!["log", "ses_dfef"],
        vec!["export", "ses_dfef", "-o", &out_arg],
    ] {
        let run = repo.git_session(&args).failure();
        run.single_error(&["ses_dfef", COMPACTED.id, TOOLCALL.id]);
        assert!(
            !run.error_lines()[0].contains(REASONING.id),
            "only the matching sessions are named:\n{run}"
        );
        assert!(
            !run.hint_lines().is_empty(),
            "a hint says what to do:\n{run}"
        );
        assert_eq!(run.stdout, "", "nothing on stdout:\n{run}");
    }
    assert!(!out.exists(), "export wrote no file");
    assert_eq!(repo.refs(), refs, "no ref changed");
}

#[test]
fn an_unknown_id_fails_with_a_hint() {
    let env = TestEnv::new();
    let repo = three_sessions(&env);
    let refs = repo.refs();
    for args in [["show", "ses_nosuch"], ["log", "ses_nosuch"]] {
        let run = repo.git_session(&args).failure();
        run.single_error(&["ses_nosuch"]);
        let hints = run.hint_lines();
        assert_eq!(hints.len(), 1, "{run}");
        assert!(hints[0].contains("git session list"), "{run}");
    }
    assert_eq!(repo.refs(), refs, "no ref changed");
}

#[test]
fn an_unknown_save_fails_and_points_at_log() {
    let env = TestEnv::new();
    let repo = three_sessions(&env);
    for at in ["~1", "0000000", "not-a-save"] {
        let run = repo
            .git_session(&["show", TOOLCALL.id, "--at", at])
            .failure();
        run.single_error(&[TOOLCALL.id, at]);
        assert!(
            run.hint_lines()
                .iter()
                .any(|h| h.contains("git session log")),
            "{run}"
        );
    }
}

#[test]
fn a_child_session_is_found_by_a_unique_prefix() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    assert_eq!(repo.show("ses_dfef97", None), TASK_CHILD.json());
    assert_eq!(repo.show("ses_dfef98", None), TASK_PARENT.json());
}

#[test]
fn a_prefix_shared_by_a_session_and_a_child_is_ambiguous() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    // ses_dfef9803... (the parent) and ses_dfef9777... (its child) both start with ses_dfef9.
    let run = repo.git_session(&["show", "ses_dfef9"]).failure();
    run.single_error(&[TASK_PARENT.id, TASK_CHILD.id]);
    assert_eq!(run.stdout, "", "{run}");
}
