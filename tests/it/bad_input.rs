//! Input `save` must refuse: each case exits 1 with one `error:` line naming the problem, and
//! leaves every ref exactly as it was and the repository fsck-clean.

use std::path::Path;

use crate::support::{gen, write_json, Repo, Run, TestEnv, TOOLCALL};

/// A repository with one commit and one saved session, so "no ref moved" means something.
fn repo_with_a_save(env: &TestEnv) -> Repo<'_> {
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    repo
}

/// Runs `save --from <file>` and checks it is refused with `needles` in the one error line,
/// writing no ref and no object.
#[track_caller]
fn assert_save_refused(repo: &Repo<'_>, file: &Path, needles: &[&str]) -> Run {
    let refs = repo.refs();
    let objects = repo.object_counts();
    let run = repo
        .git_session(&["save", "--from", &file.display().to_string()])
        .failure();
    run.single_error(needles);
    assert!(!run.stderr.contains("Saved"), "{run}");
    assert_eq!(repo.refs(), refs, "every ref is exactly as before:\n{run}");
    assert_eq!(
        repo.object_counts(),
        objects,
        "no object was written:\n{run}"
    );
    repo.assert_fsck_clean();
    run
}

#[test]
fn malformed_json_is_refused() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let file = env.path("malformed.json");
    std::fs::write(&file, r#"{"info": {"id": "ses_x"}, "messages": [}"#).unwrap();
    assert_save_refused(
        &repo,
        &file,
        &["malformed.json", "not valid JSON", "line 1"],
    );
}

#[test]
fn an_export_cut_at_64_kib_is_refused_as_truncated() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    // What `opencode export | git session save --from -` used to get: the first 64 KiB of a
    // longer document.
    let grown = gen::grow(&TOOLCALL.json(), "big", 1);
    let big = gen::with_bash_output(&grown, &gen::long_text("build", 100 * 1024));
    let text = serde_json::to_string_pretty(&big).unwrap();
    assert!(text.len() > 65536, "the export is larger than 64 KiB");
    let file = env.path("cut.json");
    std::fs::write(&file, &text.as_bytes()[..65536]).unwrap();
    let run = assert_save_refused(&repo, &file, &["cut.json", "cut off", "65536"]);
    assert!(
        run.hint_lines().iter().any(|h| h.contains("64 KiB")),
        "the hint explains the piped-export limit:\n{run}"
    );
}

#[test]
fn an_export_cut_at_64_kib_on_stdin_is_refused_as_truncated() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let big = gen::with_bash_output(&TOOLCALL.json(), &gen::long_text("piped", 100 * 1024));
    let text = serde_json::to_string_pretty(&big).unwrap();
    let refs = repo.refs();
    let run = repo
        .git_session_stdin(&["save", "--from", "-"], &text.as_bytes()[..65536])
        .failure();
    run.single_error(&["stdin", "cut off"]);
    assert_eq!(repo.refs(), refs, "every ref is exactly as before");
    repo.assert_fsck_clean();
}

#[test]
fn an_export_without_info_id_is_refused() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let mut export = gen::grow(&TOOLCALL.json(), "noid", 1);
    export["info"]
        .as_object_mut()
        .expect("info object")
        .remove("id");
    let file = env.path("no-id.json");
    write_json(&file, &export);
    assert_save_refused(&repo, &file, &["no-id.json", "info.id"]);
}

#[test]
fn an_empty_file_is_refused() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let file = env.path("empty.json");
    std::fs::write(&file, "").unwrap();
    assert_save_refused(&repo, &file, &["empty.json", "empty"]);
}

#[test]
fn a_missing_file_is_refused() {
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let file = env.path("does-not-exist.json");
    assert_save_refused(&repo, &file, &["does-not-exist.json"]);
}

#[test]
fn a_parent_and_a_bad_child_save_nothing() {
    // All inputs are read before anything is written: a bad second file leaves no half save.
    let env = TestEnv::new();
    let repo = repo_with_a_save(&env);
    let file = env.path("bad-child.json");
    std::fs::write(&file, "{\"info\": ").unwrap();
    let refs = repo.refs();
    let grown = env.path("grown.json");
    write_json(&grown, &gen::grow(&TOOLCALL.json(), "half", 1));
    let run = repo
        .git_session(&[
            "save",
            "--from",
            &grown.display().to_string(),
            "--from",
            &file.display().to_string(),
        ])
        .failure();
    run.single_error(&["bad-child.json"]);
    assert_eq!(
        repo.refs(),
        refs,
        "the good first file was not saved either"
    );
}

#[test]
fn saving_outside_a_repository_is_refused() {
    let env = TestEnv::new();
    // `env` sets GIT_CEILING_DIRECTORIES to the temp root, the parent of this directory.
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let run = env
        .git_session_in(&outside, &["save", "--from", &TOOLCALL.arg()])
        .failure();
    run.single_error(&["not inside a git repository"]);
    assert!(
        run.hint_lines().iter().any(|h| h.contains("git init")),
        "{run}"
    );
    let left: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing was created in {}",
        outside.display()
    );
}

#[test]
fn a_reftable_repository_is_refused_without_writing_a_ref() {
    let env = TestEnv::new();
    let repo = env.reftable_repo("reftable");
    let refs = repo.refs();
    let run = repo
        .git_session(&["save", "--from", &TOOLCALL.arg()])
        .failure();
    run.single_error(&["reftable"]);
    assert!(!run.hint_lines().is_empty(), "{run}");
    assert_eq!(repo.refs(), refs, "git sees no new ref");
    assert!(
        !repo.git_dir.join("refs/sessions").exists(),
        "no loose ref file was written beside the reftable either"
    );
    repo.assert_fsck_clean();
}
