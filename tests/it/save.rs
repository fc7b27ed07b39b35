//! `save`, `show`, `list` and `log`: a session comes back equal, an unchanged session writes
//! nothing, and a grown session becomes the next commit on its ref.

use crate::support::{
    gen, message_ids, write_json, TestEnv, ALL_EXAMPLES, TASK_CHILD, TASK_PARENT, TOOLCALL,
};

#[test]
fn every_example_comes_back_from_show_equal_to_the_export() {
    let env = TestEnv::new();
    for (n, example) in ALL_EXAMPLES.iter().enumerate() {
        // A fresh repository per example: the task child must not meet its parent here.
        let repo = env.repo_with_commit(&format!("work{n}"));
        let saved = repo.save(&[&example.path()]);
        assert!(
            saved.stderr.contains(&format!("Saved {}", example.id)),
            "save reports what it saved:\n{saved}"
        );
        assert!(
            repo.rev_parse(&example.ref_name()).is_some(),
            "{} exists after the save",
            example.ref_name()
        );
        let input = example.json();
        let shown = repo.show(example.id, None);
        assert_eq!(
            message_ids(&shown),
            message_ids(&input),
            "{}: messages come back in export order",
            example.file
        );
        assert_eq!(
            shown, input,
            "{}: show prints the export back",
            example.file
        );
        repo.assert_fsck_clean();
    }
}

#[test]
fn a_parent_saved_with_its_child_keeps_the_child_under_the_parent() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let saved = repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    assert!(
        saved.stderr.contains("1 child session"),
        "the report counts the child:\n{saved}"
    );

    assert!(
        repo.rev_parse(&TASK_PARENT.ref_name()).is_some(),
        "the parent has its ref"
    );
    assert_eq!(
        repo.rev_parse(&TASK_CHILD.ref_name()),
        None,
        "the child is stored inside the parent's save, not on a ref of its own"
    );
    let tree = repo.git(&[
        "ls-tree",
        "--name-only",
        &TASK_PARENT.ref_name(),
        "children/",
    ]);
    assert_eq!(
        tree.trim(),
        format!("children/{}", TASK_CHILD.id),
        "the child's tree is under children/"
    );

    assert_eq!(repo.show(TASK_PARENT.id, None), TASK_PARENT.json());
    assert_eq!(
        repo.show(TASK_CHILD.id, None),
        TASK_CHILD.json(),
        "show <child-id> prints the child's own export"
    );

    let list = repo.git_session(&["list"]).success();
    let lines: Vec<&str> = list.stdout.lines().skip(1).collect();
    assert_eq!(
        lines.len(),
        1,
        "one line for the parent after the header:\n{list}"
    );
    assert!(lines[0].starts_with(TASK_PARENT.id), "{list}");

    let json = repo.git_session(&["list", "--json"]).success().json();
    let sessions = json["sessions"].as_array().expect("sessions array");
    assert_eq!(sessions.len(), 1, "{json:#}");
    assert_eq!(sessions[0]["id"], TASK_PARENT.id);
    assert_eq!(sessions[0]["children"], 1);
    repo.assert_fsck_clean();
}

#[test]
fn a_child_saved_after_its_parent_joins_the_parents_next_save() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TASK_PARENT.path()]);
    let first = repo
        .rev_parse(&TASK_PARENT.ref_name())
        .expect("parent saved");

    let saved = repo.save(&[&TASK_CHILD.path()]);
    assert!(
        saved
            .stderr
            .contains(&format!("is a child of {}", TASK_PARENT.id)),
        "save says where the child went:\n{saved}"
    );
    assert_eq!(repo.rev_parse(&TASK_CHILD.ref_name()), None);
    let second = repo.rev_parse(&TASK_PARENT.ref_name()).expect("parent ref");
    assert_eq!(
        repo.rev_parse(&format!("{second}^")),
        Some(first),
        "the parent's ref moved by one commit"
    );
    assert_eq!(repo.show(TASK_CHILD.id, None), TASK_CHILD.json());
    assert_eq!(repo.show(TASK_PARENT.id, None), TASK_PARENT.json());
}

#[test]
fn messages_keep_export_order_when_their_ids_sort_differently() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    // A message whose id sorts first but comes last in the conversation.
    let mut export = gen::grow(&TOOLCALL.json(), "x", 1);
    let last = export["messages"]
        .as_array_mut()
        .unwrap()
        .last_mut()
        .unwrap();
    last["info"]["id"] = "msg_000000000000early".into();
    for part in last["parts"].as_array_mut().unwrap() {
        part["messageID"] = "msg_000000000000early".into();
    }
    let file = env.path("reordered.json");
    write_json(&file, &export);
    repo.save(&[&file]);
    let shown = repo.show(TOOLCALL.id, None);
    assert_eq!(
        message_ids(&shown).last().map(String::as_str),
        Some("msg_000000000000early"),
        "the last message stays last"
    );
    assert_eq!(shown, export);
}

#[test]
fn saving_from_stdin_stores_the_same_session() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let bytes = std::fs::read(TOOLCALL.path()).expect("fixture");
    let run = repo
        .git_session_stdin(&["save", "--from", "-"], &bytes)
        .success();
    assert!(
        run.stderr.contains(&format!("Saved {}", TOOLCALL.id)),
        "{run}"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
}

#[test]
fn saving_an_unchanged_session_writes_nothing_and_says_so() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    let tip = repo.rev_parse(&TOOLCALL.ref_name());
    let objects = repo.object_counts();
    let reflog = repo.git(&["reflog", "show", &TOOLCALL.ref_name()]);

    let again = repo
        .git_session(&["save", "--from", &TOOLCALL.arg()])
        .success();
    assert!(
        again.stderr.contains("unchanged"),
        "the second save says the session is unchanged:\n{again}"
    );
    assert!(!again.stderr.contains("Saved"), "{again}");
    assert_eq!(
        repo.rev_parse(&TOOLCALL.ref_name()),
        tip,
        "no new commit on the ref"
    );
    assert_eq!(repo.object_counts(), objects, "no object was written");
    assert_eq!(
        repo.git(&["reflog", "show", &TOOLCALL.ref_name()]),
        reflog,
        "no reflog entry for a save that wrote nothing"
    );
}

#[test]
fn a_grown_session_becomes_a_second_commit_on_top_of_the_first() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let v1 = TOOLCALL.json();
    let v2 = gen::grow(&v1, "grow", 1);
    let v2_path = env.path("v2.json");
    write_json(&v2_path, &v2);
    let name = TOOLCALL.ref_name();

    repo.save(&[&TOOLCALL.path()]);
    let first = repo.rev_parse(&name).expect("first save");
    let second_run = repo
        .git_session(&[
            "save",
            "--from",
            &v2_path.display().to_string(),
            "--reason",
            "pre-compaction",
        ])
        .success();
    assert!(second_run.stderr.contains("save 2"), "{second_run}");
    let second = repo.rev_parse(&name).expect("second save");
    assert_ne!(second, first, "the ref moved");
    assert_eq!(
        repo.git(&["rev-list", "--parents", "-n1", &name]).trim(),
        format!("{second} {first}"),
        "the second save's only parent is the first"
    );

    let log = repo.git_session(&["log", TOOLCALL.id]).success();
    assert_eq!(log.stdout.lines().count(), 2, "log lists two saves:\n{log}");
    assert!(
        log.stdout
            .lines()
            .next()
            .unwrap_or("")
            .contains("pre-compaction"),
        "newest save first, with its reason:\n{log}"
    );
    let log_json = repo
        .git_session(&["log", TOOLCALL.id, "--json"])
        .success()
        .json();
    let commits: Vec<&str> = log_json["saves"]
        .as_array()
        .expect("saves array")
        .iter()
        .map(|s| s["commit"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(commits, [second.as_str(), first.as_str()], "{log_json:#}");

    assert_eq!(
        repo.show(TOOLCALL.id, None),
        v2,
        "the newest save by default"
    );
    assert_eq!(
        repo.show(TOOLCALL.id, Some("~1")),
        v1,
        "~1 is the save before"
    );
    assert_eq!(
        repo.show(TOOLCALL.id, Some(&first[..8])),
        v1,
        "a save by commit prefix"
    );

    let trailer = |key: &str, rev: &str| {
        repo.git(&[
            "log",
            "-1",
            &format!("--format=%(trailers:key={key},valueonly)"),
            rev,
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(trailer("Reason", &name), "pre-compaction");
    assert_eq!(trailer("Reason", &first), "manual", "the default reason");
    assert_eq!(
        trailer("Messages", &name),
        v2["messages"].as_array().unwrap().len().to_string()
    );
    assert_eq!(
        trailer("Messages", &first),
        v1["messages"].as_array().unwrap().len().to_string()
    );
    assert_eq!(trailer("Session", &name), TOOLCALL.id);
    assert_eq!(trailer("Saves", &name), "2");

    let reflog = repo.git(&["reflog", "show", &name]);
    assert_eq!(
        reflog.lines().count(),
        2,
        "one reflog entry per save:\n{reflog}"
    );
    assert!(reflog.contains("pre-compaction"), "{reflog}");
    repo.assert_fsck_clean();
}

#[test]
fn a_grown_parent_saved_alone_keeps_its_saved_child() {
    // `opencode export <parent>` never contains the children: an automatic save of the parent
    // alone must not drop the subagent session saved with it before.
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    let grown = env.path("parent-grown.json");
    write_json(&grown, &gen::grow(&TASK_PARENT.json(), "later", 1));
    repo.save(&[&grown]);
    let children = repo.git(&[
        "ls-tree",
        "--name-only",
        &TASK_PARENT.ref_name(),
        "children/",
    ]);
    assert_eq!(
        children.trim(),
        format!("children/{}", TASK_CHILD.id),
        "the newest save still holds the child"
    );
    assert_eq!(repo.show(TASK_CHILD.id, None), TASK_CHILD.json());
}

#[test]
fn saving_a_child_again_unchanged_writes_nothing() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    let tip = repo.rev_parse(&TASK_PARENT.ref_name());
    let again = repo.save(&[&TASK_CHILD.path()]);
    assert!(again.stderr.contains("unchanged"), "{again}");
    assert_eq!(
        repo.rev_parse(&TASK_PARENT.ref_name()),
        tip,
        "the parent's ref did not move"
    );
}

#[test]
fn save_json_reports_what_was_written() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let first = repo
        .git_session(&["save", "--from", &TOOLCALL.arg(), "--json"])
        .success();
    assert_eq!(first.stderr, "", "--json keeps stderr quiet:\n{first}");
    let report = first.json();
    let save = &report["saves"][0];
    assert_eq!(save["session"], TOOLCALL.id, "{report:#}");
    assert_eq!(save["status"], "saved");
    assert_eq!(save["ref"], TOOLCALL.ref_name());
    assert_eq!(
        save["commit"].as_str(),
        repo.rev_parse(&TOOLCALL.ref_name()).as_deref()
    );
    assert_eq!(save["messages"], 3);

    let again = repo
        .git_session(&["save", "--from", &TOOLCALL.arg(), "--json"])
        .success()
        .json();
    assert_eq!(again["saves"][0]["status"], "unchanged", "{again:#}");
}

#[test]
fn list_without_sessions_prints_nothing_on_stdout_and_a_hint_on_stderr() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let run = repo.git_session(&["list"]).success();
    assert_eq!(run.stdout, "", "{run}");
    assert!(run.stderr.contains("git session save"), "{run}");
    let json = repo.git_session(&["list", "--json"]).success().json();
    assert_eq!(json["sessions"], serde_json::json!([]), "{json:#}");
}
