//! `export` and `import`: a session handed over as a bundle or as export JSON arrives equal;
//! importing a directory stores its files in time order, skips what is stored, and reports the
//! files it could not read.

use crate::support::{gen, write_json, TestEnv, COMPACTED, TASK_CHILD, TASK_PARENT, TOOLCALL};

#[test]
fn a_bundle_carries_a_session_and_its_children_to_another_repository() {
    let env = TestEnv::new();
    let here = env.repo_with_commit("here");
    here.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    let bundle = env.path("handover.gsb");
    let bundle_arg = bundle.display().to_string();
    let run = here
        .git_session(&["export", TASK_PARENT.id, "-o", &bundle_arg])
        .success();
    assert!(run.stderr.contains("Wrote"), "{run}");
    assert!(bundle.is_file(), "the bundle exists");

    let there = env.repo_with_commit("there");
    let run = there.git_session(&["import", &bundle_arg]).success();
    assert!(
        run.stderr.contains(&format!("Saved {}", TASK_PARENT.id)),
        "{run}"
    );
    assert_eq!(there.show(TASK_PARENT.id, None), TASK_PARENT.json());
    assert_eq!(
        there.show(TASK_CHILD.id, None),
        TASK_CHILD.json(),
        "the child came along inside the bundle"
    );
    assert_eq!(
        there.rev_parse(&TASK_CHILD.ref_name()),
        None,
        "still under its parent"
    );

    let tip = there.rev_parse(&TASK_PARENT.ref_name());
    let again = there.git_session(&["import", &bundle_arg]).success();
    assert!(!again.stderr.contains("Saved"), "{again}");
    assert_eq!(
        there.rev_parse(&TASK_PARENT.ref_name()),
        tip,
        "importing twice adds nothing"
    );
    there.assert_fsck_clean();
}

#[test]
fn an_older_save_can_be_exported() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("here");
    repo.save(&[&TOOLCALL.path()]);
    let grown = env.path("grown.json");
    write_json(&grown, &gen::grow(&TOOLCALL.json(), "later", 2));
    repo.save(&[&grown]);
    let out = env.path("old.json");
    repo.git_session(&[
        "export",
        TOOLCALL.id,
        "--at",
        "~1",
        "--format",
        "json",
        "-o",
        &out.display().to_string(),
    ])
    .success();
    assert_eq!(crate::support::read_json(&out), TOOLCALL.json());
}

#[test]
fn export_as_json_prints_the_export_back() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("here");
    repo.save(&[&COMPACTED.path()]);
    let out = env.path("session.json");
    repo.git_session(&[
        "export",
        COMPACTED.id,
        "--format",
        "json",
        "-o",
        &out.display().to_string(),
    ])
    .success();
    assert_eq!(crate::support::read_json(&out), COMPACTED.json());

    let child = env.path("child.json");
    let parent_repo = env.repo_with_commit("family");
    parent_repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    parent_repo
        .git_session(&[
            "export",
            TASK_CHILD.id,
            "--format",
            "json",
            "-o",
            &child.display().to_string(),
        ])
        .success();
    assert_eq!(
        crate::support::read_json(&child),
        TASK_CHILD.json(),
        "a child exports as its own document"
    );

    let to_stdout = repo
        .git_session(&["export", COMPACTED.id, "--format", "json", "-o", "-"])
        .success();
    assert_eq!(to_stdout.json(), COMPACTED.json(), "-o - writes to stdout");

    // The JSON export is itself importable: a fresh repository gets the same session.
    let there = env.repo("there");
    there
        .git_session(&["import", &out.display().to_string()])
        .success();
    assert_eq!(there.show(COMPACTED.id, None), COMPACTED.json());
}

#[test]
fn importing_a_directory_stores_versions_in_time_order_once() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let base = TOOLCALL.json();
    let v1 = base.clone();
    let v2 = gen::grow(&base, "a", 1);
    let v3 = gen::grow(&base, "a", 2);
    assert!(
        gen::updated_ms(&v1) < gen::updated_ms(&v2) && gen::updated_ms(&v2) < gen::updated_ms(&v3)
    );
    // Path order (a, b, c/...) is the reverse of time order (v1, v2, v3).
    let dir = env.path("sessions");
    std::fs::create_dir_all(dir.join("c")).unwrap();
    write_json(&dir.join("a-newest.json"), &v3);
    write_json(&dir.join("b-middle.json"), &v2);
    write_json(&dir.join("c/oldest.json"), &v1);
    std::fs::write(dir.join("README.txt"), "not a session\n").unwrap();
    let dir_arg = dir.display().to_string();

    let run = repo.git_session(&["import", &dir_arg]).success();
    assert_eq!(
        run.stderr.matches("Saved ").count(),
        3,
        "three new saves:\n{run}"
    );
    let name = TOOLCALL.ref_name();
    assert_eq!(repo.commit_count(&name), 3, "one commit per version");
    assert_eq!(
        repo.git(&["rev-list", "--merges", &name]),
        "",
        "the history is linear"
    );
    assert_eq!(
        repo.show(TOOLCALL.id, None),
        v3,
        "the newest version is the tip"
    );
    assert_eq!(repo.show(TOOLCALL.id, Some("~1")), v2);
    assert_eq!(
        repo.show(TOOLCALL.id, Some("~2")),
        v1,
        "the oldest version is the root"
    );
    let reasons = repo.git(&["log", "--format=%(trailers:key=Reason,valueonly)", &name]);
    assert_eq!(
        reasons.split_whitespace().collect::<Vec<_>>(),
        ["import"; 3]
    );

    let tip = repo.rev_parse(&name);
    let objects = repo.object_counts();
    let again = repo.git_session(&["import", &dir_arg]).success();
    assert!(!again.stderr.contains("Saved "), "nothing new:\n{again}");
    assert_eq!(repo.rev_parse(&name), tip, "importing again adds no save");
    assert_eq!(
        repo.object_counts(),
        objects,
        "importing again writes no object"
    );
    repo.assert_fsck_clean();
}

#[test]
fn a_bad_file_in_a_directory_does_not_stop_the_others() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let dir = env.path("sessions");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(TOOLCALL.path(), dir.join("1-toolcall.json")).unwrap();
    std::fs::write(
        dir.join("2-broken.json"),
        "{\"info\": {\"id\": \"ses_b\"}, ]",
    )
    .unwrap();
    std::fs::copy(COMPACTED.path(), dir.join("3-compacted.json")).unwrap();

    let run = repo
        .git_session(&["import", &dir.display().to_string()])
        .failure();
    let errors = run.error_lines();
    assert!(
        errors.iter().any(|e| e.contains("2-broken.json")),
        "an error line names the bad file:\n{run}"
    );
    assert!(
        errors
            .iter()
            .all(|e| !e.contains("1-toolcall") && !e.contains("3-compacted")),
        "good files are not reported as errors:\n{run}"
    );
    assert_eq!(
        repo.show(TOOLCALL.id, None),
        TOOLCALL.json(),
        "the file before it was stored"
    );
    assert_eq!(
        repo.show(COMPACTED.id, None),
        COMPACTED.json(),
        "the file after it was stored"
    );
    repo.assert_fsck_clean();
}

#[test]
fn a_damaged_bundle_is_refused() {
    let env = TestEnv::new();
    let here = env.repo_with_commit("here");
    here.save(&[&TOOLCALL.path()]);
    let bundle = env.path("s.gsb");
    here.git_session(&["export", TOOLCALL.id, "-o", &bundle.display().to_string()])
        .success();
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = env.path("cut.gsb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let there = env.repo_with_commit("there");
    let refs = there.refs();
    let run = there
        .git_session(&["import", &cut.display().to_string()])
        .failure();
    run.single_error(&["bundle"]);
    assert_eq!(there.refs(), refs, "nothing was stored");
}

#[test]
fn importing_a_directory_puts_children_under_their_parents() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let dir = env.path("sessions");
    std::fs::create_dir(&dir).unwrap();
    // The child sorts first by name; it must still end up under its parent.
    std::fs::copy(TASK_CHILD.path(), dir.join("a-child.json")).unwrap();
    std::fs::copy(TASK_PARENT.path(), dir.join("b-parent.json")).unwrap();
    repo.git_session(&["import", &dir.display().to_string()])
        .success();
    assert_eq!(
        repo.rev_parse(&TASK_CHILD.ref_name()),
        None,
        "no ref of its own"
    );
    assert_eq!(repo.show(TASK_PARENT.id, None), TASK_PARENT.json());
    assert_eq!(repo.show(TASK_CHILD.id, None), TASK_CHILD.json());
}

// See the issue "Sharing without surprises": the JSON export dropped child sessions silently.
#[test]
fn exporting_json_names_the_child_sessions_it_leaves_out() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("here");
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    let out = env.path("parent-export.json");
    let run = repo
        .git_session(&[
            "export",
            TASK_PARENT.id,
            "--format",
            "json",
            "-o",
            &out.display().to_string(),
        ])
        .success();
    assert_eq!(crate::support::read_json(&out), TASK_PARENT.json());
    let note = run
        .stderr
        .lines()
        .find(|l| l.starts_with("note:") && l.contains(TASK_CHILD.id))
        .unwrap_or_else(|| panic!("a note names the child left out:\n{run}"));
    assert!(note.contains("1 child session"), "{note}");
    assert!(
        run.stderr
            .contains(&format!("git session export {} -o", TASK_PARENT.id))
            && run
                .stderr
                .contains(&format!("git session show {}", TASK_CHILD.id)),
        "it says how to get the child:\n{run}"
    );

    let to_stdout = repo
        .git_session(&["export", TASK_PARENT.id, "--format", "json", "-o", "-"])
        .success();
    assert_eq!(
        to_stdout.json(),
        TASK_PARENT.json(),
        "stdout stays the export"
    );
    assert!(to_stdout.stderr.contains(TASK_CHILD.id), "{to_stdout}");

    repo.save(&[&TOOLCALL.path()]);
    let alone = repo
        .git_session(&["export", TOOLCALL.id, "--format", "json", "-o", "-"])
        .success();
    assert!(
        !alone.stderr.contains("note:"),
        "nothing is left out of a session without children:\n{alone}"
    );
}
