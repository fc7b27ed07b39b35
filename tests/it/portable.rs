//! `export` and `import`: a session handed over as a bundle or as export JSON arrives equal;
//! importing a directory stores its files in time order, skips what is stored, and reports the
//! files it could not read.

use serde_json::Value;

use crate::support::{
    fixtures_dir, gen, write_json, Repo, TestEnv, COMPACTED, TASK_CHILD, TASK_PARENT, TOOLCALL,
};

/// A bare remote and two clones of it, `a` and `b` (two machines).
fn remote_and_two_clones(env: &TestEnv) -> (Repo<'_>, Repo<'_>, Repo<'_>) {
    let remote = env.bare_repo("remote.git");
    let clone = |name: &str| {
        env.git_in(env.root(), &["clone", "--quiet", "remote.git", name]);
        let dir = env.path(name);
        Repo {
            env,
            git_dir: dir.join(".git"),
            dir,
        }
    };
    let (a, b) = (clone("a"), clone("b"));
    (remote, a, b)
}

/// Saves `parent` (a version of TASK_PARENT) with its child session.
fn save_family(repo: &Repo<'_>, name: &str, parent: &Value) {
    let path = repo.env.path(name);
    write_json(&path, parent);
    repo.save(&[&path, &TASK_CHILD.path()]);
}

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
        run.stderr.contains(&format!("adopted {}", TASK_PARENT.id)),
        "{run}"
    );
    assert_eq!(
        there.rev_parse(&TASK_PARENT.ref_name()),
        here.rev_parse(&TASK_PARENT.ref_name()),
        "the bundle carries the save itself, not a copy of its content"
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
    assert!(
        again.stderr.contains("up to date") && !again.stderr.contains("adopted"),
        "{again}"
    );
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

// See the issue "Sharing without surprises": a bundle used to carry only the newest save, so an
// import started a new, unrelated history that later "merged" with the original.
#[test]
fn a_bundle_carries_every_save_so_a_later_fetch_of_the_original_fast_forwards() {
    let env = TestEnv::new();
    let (_remote, a, b) = remote_and_two_clones(&env);
    let parent = TASK_PARENT.json();
    save_family(&a, "1.json", &parent);
    save_family(&a, "2.json", &gen::grow(&parent, "a", 1));
    save_family(&a, "3.json", &gen::grow(&parent, "a", 2));
    let name = TASK_PARENT.ref_name();
    assert_eq!(a.commit_count(&name), 3);

    let bundle = env.path("handover.gsb").display().to_string();
    a.git_session(&["export", TASK_PARENT.id, "-o", &bundle])
        .success();
    let run = b.git_session(&["import", &bundle]).success();
    assert!(run.stderr.contains("adopted"), "{run}");
    assert_eq!(
        b.rev_parse(&name),
        a.rev_parse(&name),
        "the same save, by commit id"
    );
    assert_eq!(
        b.git(&["rev-list", &name]),
        a.git(&["rev-list", &name]),
        "every save came along, with the same ids"
    );
    assert_eq!(b.show(TASK_PARENT.id, Some("~2")), parent, "the first save");
    assert_eq!(
        b.show(TASK_CHILD.id, None),
        TASK_CHILD.json(),
        "the child session came along"
    );

    // Later the original arrives through the remote, one save further: a fast-forward.
    save_family(&a, "4.json", &gen::grow(&parent, "a", 3));
    a.git_session(&["push"]).success();
    let pulled = b.git_session(&["pull", "--json"]).success().json();
    assert_eq!(
        pulled["sessions"][0]["result"], "fast-forwarded",
        "{pulled}"
    );
    assert_eq!(b.rev_parse(&name), a.rev_parse(&name));
    assert_eq!(
        b.git(&["rev-list", "--merges", &name]),
        "",
        "no merge: both sides have one history"
    );
    b.assert_fsck_clean();
}

#[test]
fn a_bundle_of_an_older_save_carries_the_history_up_to_it_and_merges_with_a_diverged_copy() {
    let env = TestEnv::new();
    let here = env.repo_with_commit("here");
    let parent = TASK_PARENT.json();
    save_family(&here, "1.json", &parent);
    save_family(&here, "2.json", &gen::grow(&parent, "a", 1));
    save_family(&here, "3.json", &gen::grow(&parent, "a", 2));
    let name = TASK_PARENT.ref_name();
    let old = env.path("old.gsb").display().to_string();
    here.git_session(&["export", TASK_PARENT.id, "--at", "~1", "-o", &old])
        .success();

    let there = env.repo_with_commit("there");
    let report = there
        .git_session(&["import", "--json", &old])
        .success()
        .json();
    assert_eq!(report["version"], 1, "{report}");
    let joined = &report["bundles"][0];
    assert_eq!(
        (&joined["result"], &joined["file"], &joined["saves"]),
        (&"adopted".into(), &"old.gsb".into(), &2.into()),
        "{report}"
    );
    assert_eq!(
        joined["commit"].as_str(),
        here.rev_parse(&format!("{name}~1")).as_deref()
    );
    assert_eq!(
        report["saves"],
        serde_json::json!([]),
        "no save was written: the bundle's are used"
    );
    assert_eq!(
        there.rev_parse(&name),
        here.rev_parse(&format!("{name}~1")),
        "the save --at named is the tip"
    );
    assert_eq!(there.commit_count(&name), 2, "with the save before it");

    // There, the session goes on its own way; the newest bundle then has a save it lacks.
    save_family(&there, "b.json", &gen::grow(&parent, "b", 2));
    let newest = env.path("newest.gsb").display().to_string();
    here.git_session(&["export", TASK_PARENT.id, "-o", &newest])
        .success();
    let run = there.git_session(&["import", &newest]).success();
    assert!(run.stderr.contains("merged"), "{run}");
    let parents = there.git(&["rev-list", "--parents", "-1", &name]);
    assert!(
        parents.contains(&here.rev_parse(&name).unwrap()),
        "the merge joins the bundle's save: {parents}"
    );
    let ids = crate::support::message_ids(&there.show(TASK_PARENT.id, None));
    for id in ["msg_zza_2", "msg_zzb_2"] {
        assert!(ids.contains(&id.to_owned()), "{id} kept: {ids:?}");
    }

    // A child's id exports the history of the session that holds it.
    let child = env.path("child.gsb").display().to_string();
    let run = here
        .git_session(&["export", TASK_CHILD.id, "-o", &child])
        .success();
    assert!(run.stderr.contains(TASK_PARENT.id), "{run}");
    let third = env.repo("third");
    third.git_session(&["import", &child]).success();
    assert_eq!(third.rev_parse(&name), here.rev_parse(&name));
    assert_eq!(third.show(TASK_CHILD.id, None), TASK_CHILD.json());
    there.assert_fsck_clean();
    third.assert_fsck_clean();
}

#[test]
fn a_bundle_written_by_an_earlier_version_still_imports() {
    // Written by git-session before bundles carried history (the format load's backups use).
    let v1 = fixtures_dir().join("bundles/v1-task-parent.gsb");
    let env = TestEnv::new();
    let repo = env.repo_with_commit("here");
    let run = repo
        .git_session(&["import", &v1.display().to_string()])
        .success();
    assert!(
        run.stderr.contains(&format!("Saved {}", TASK_PARENT.id)),
        "{run}"
    );
    assert_eq!(repo.show(TASK_PARENT.id, None), TASK_PARENT.json());
    assert_eq!(repo.show(TASK_CHILD.id, None), TASK_CHILD.json());
    repo.assert_fsck_clean();
}

// See the issue "Sharing without surprises": the JSON export dropped child sessions silently.
#[test]
fn exporting_json_names_the_child_sessions_it_leaves_out() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("here");
    save_family(&repo, "parent.json", &TASK_PARENT.json());
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

#[test]
fn a_bundle_whose_saves_do_not_unpack_is_refused_and_stores_nothing() {
    let env = TestEnv::new();
    let here = env.repo_with_commit("here");
    here.save(&[&TOOLCALL.path()]);
    let bundle = env.path("s.gsb");
    here.git_session(&["export", TOOLCALL.id, "-o", &bundle.display().to_string()])
        .success();
    // Damage one byte in the middle of the pack, inside an intact zstd stream.
    let mut content = zstd::decode_all(&std::fs::read(&bundle).unwrap()[..]).unwrap();
    let pack = content
        .windows(4)
        .position(|w| w == b"PACK")
        .expect("the bundle holds a pack");
    let middle = pack + (content.len() - pack) / 2;
    content[middle] ^= 0xff;
    let damaged = env.path("damaged.gsb");
    std::fs::write(&damaged, zstd::encode_all(&content[..], 3).unwrap()).unwrap();

    let there = env.repo_with_commit("there");
    let refs = there.refs();
    let run = there
        .git_session(&["import", &damaged.display().to_string()])
        .failure();
    run.single_error(&["damaged.gsb"]);
    assert_eq!(there.refs(), refs, "nothing was stored");
    assert_eq!(there.rev_parse(&TOOLCALL.ref_name()), None);
    there.assert_fsck_clean();
}
