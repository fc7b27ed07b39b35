//! Sharing through a remote: push, pull and sync between clones of a bare remote, merges of
//! diverged saves, concurrent savers, killed saves and a remote that refuses.

use std::path::Path;
use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::support::{
    gen, many_exports, message_ids, session_ref, write_json, Repo, Run, TestEnv, COMPACTED,
    TOOLCALL,
};

/// A bare remote and two clones of it, `a` and `b` (two "machines").
pub(crate) fn remote_and_two_clones(env: &TestEnv) -> (Repo<'_>, Repo<'_>, Repo<'_>) {
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

fn save_json(repo: &Repo<'_>, name: &str, export: &Value) {
    let path = repo.env.path(name);
    write_json(&path, export);
    repo.save(&[&path]);
}

fn tree_of(repo: &Repo<'_>, id: &str) -> String {
    repo.rev_parse(&format!("refs/sessions/opencode/{id}^{{tree}}"))
        .expect("the session ref exists")
}

/// Both clones save different new messages onto one shared save, then sync in the given order.
/// Returns the tree both end with.
fn diverge_and_sync(first_is_a: bool) -> String {
    let env = TestEnv::new();
    let (remote, a, b) = remote_and_two_clones(&env);
    let base = TOOLCALL.json();
    save_json(&a, "base.json", &base);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();

    save_json(&a, "a.json", &gen::grow(&base, "a", 2));
    save_json(&b, "b.json", &gen::grow(&base, "b", 3));
    let (first, second) = if first_is_a { (&a, &b) } else { (&b, &a) };
    first.git_session(&["sync"]).success();
    let merged = second.git_session(&["sync"]).success();
    assert!(
        merged.stderr.contains("merged"),
        "the second to sync merges:\n{merged}"
    );
    first.git_session(&["sync"]).success();

    let tree = tree_of(&a, TOOLCALL.id);
    assert_eq!(tree, tree_of(&b, TOOLCALL.id), "both clones end equal");
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name()),
        "the remote holds the merge"
    );
    let ids = message_ids(&a.show(TOOLCALL.id, None));
    let mut expected = message_ids(&base);
    expected.extend(
        [
            "msg_zza_1",
            "msg_zza_2",
            "msg_zzb_1",
            "msg_zzb_2",
            "msg_zzb_3",
        ]
        .map(String::from),
    );
    assert_eq!(
        ids.len(),
        expected.len(),
        "the union of both sides: {ids:?}"
    );
    for id in &expected {
        assert!(ids.contains(id), "{id} survives the merge: {ids:?}");
    }
    let log = a.git_session(&["log", TOOLCALL.id]).success();
    assert_eq!(
        log.stdout.lines().count(),
        4,
        "base, a, b and the merge:\n{log}"
    );
    for repo in [&a, &b, &remote] {
        repo.assert_fsck_clean();
    }
    tree
}

#[test]
fn diverged_saves_end_as_the_same_union_whichever_clone_syncs_first() {
    let a_first = diverge_and_sync(true);
    let b_first = diverge_and_sync(false);
    assert_eq!(
        a_first, b_first,
        "the merge is deterministic: the same two saves give the same tree in either order"
    );
}

#[test]
fn pull_adopts_new_sessions_and_fast_forwards_known_ones() {
    let env = TestEnv::new();
    let (_remote, a, b) = remote_and_two_clones(&env);
    save_json(&a, "one.json", &TOOLCALL.json());
    a.git_session(&["push"]).success();
    let pulled = b.git_session(&["pull", "--all", "--json"]).success().json();
    assert_eq!(pulled["sessions"][0]["result"], "adopted", "{pulled}");
    assert_eq!(
        b.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name())
    );

    save_json(&a, "two.json", &gen::grow(&TOOLCALL.json(), "a", 1));
    a.git_session(&["push"]).success();
    let pulled = b.git_session(&["pull", "--json"]).success().json();
    assert_eq!(
        pulled["sessions"][0]["result"], "fast-forwarded",
        "{pulled}"
    );
    assert_eq!(
        b.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name())
    );
    assert_eq!(
        b.git(&["rev-list", "--merges", &TOOLCALL.ref_name()]),
        "",
        "a fast-forward writes no merge"
    );
}

#[test]
fn a_part_that_differs_keeps_the_newer_version_and_the_merge_lists_it() {
    let env = TestEnv::new();
    let (_remote, a, b) = remote_and_two_clones(&env);
    let base = TOOLCALL.json();
    save_json(&a, "base.json", &base);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();

    // A tool call still running on a, completed on b (the same message and part ids).
    let with_tool = |status: &str, output: &str, end: Option<i64>| {
        let mut export = gen::grow(&base, "t", 1);
        let message = export["messages"]
            .as_array_mut()
            .unwrap()
            .last_mut()
            .unwrap();
        let mut time = json!({"start": 1795313160000_i64});
        if let Some(end) = end {
            time["end"] = json!(end);
        }
        message["parts"].as_array_mut().unwrap().push(json!({
            "id": "prt_zzt_tool", "sessionID": TOOLCALL.id, "messageID": "msg_zzt_1",
            "type": "tool", "tool": "bash", "callID": "call_9",
            "state": {"status": status, "input": {"command": "make"}, "output": output, "time": time}
        }));
        export
    };
    save_json(&a, "a.json", &with_tool("running", "", None));
    save_json(
        &b,
        "b.json",
        &with_tool("completed", "built", Some(1795313169000)),
    );
    b.git_session(&["sync"]).success();
    let synced = a.git_session(&["sync", "--json"]).success().json();
    assert_eq!(synced["merged"], 1, "{synced}");
    let conflicts = synced["pull"][0]["conflicts"].as_array().unwrap();
    assert!(
        conflicts
            .iter()
            .any(|c| c.as_str().unwrap().contains("prt_zzt_tool")),
        "the differing part is reported: {synced}"
    );

    let shown = a.show(TOOLCALL.id, None);
    let message = shown["messages"].as_array().unwrap().last().unwrap();
    let tool = message["parts"].as_array().unwrap().last().unwrap();
    assert_eq!(
        tool["state"]["status"], "completed",
        "the newer version is kept"
    );
    let body = a.git(&["log", "-1", "--format=%B", &TOOLCALL.ref_name()]);
    assert!(
        body.contains("prt_zzt_tool"),
        "the merge commit lists it:\n{body}"
    );
    assert!(body.contains("Reason: merge"), "{body}");
    // The other version is not lost: it stays in a's own save, the merge's first parent.
    let before = a.show(TOOLCALL.id, Some("~1"));
    let message = before["messages"].as_array().unwrap().last().unwrap();
    let tool = message["parts"].as_array().unwrap().last().unwrap();
    assert_eq!(tool["state"]["status"], "running");
}

#[test]
fn push_never_overwrites_newer_saves_on_the_remote() {
    let env = TestEnv::new();
    let (remote, a, b) = remote_and_two_clones(&env);
    let base = TOOLCALL.json();
    save_json(&a, "base.json", &base);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();
    save_json(&a, "a.json", &gen::grow(&base, "a", 1));
    save_json(&b, "b.json", &gen::grow(&base, "b", 1));
    b.git_session(&["push"]).success();
    let b_tip = b.rev_parse(&TOOLCALL.ref_name());
    let a_tip = a.rev_parse(&TOOLCALL.ref_name());

    let refused = a.git_session(&["push"]).failure();
    refused.single_error(&["newer saves", "origin"]);
    assert!(
        refused
            .hint_lines()
            .iter()
            .any(|h| h.contains("git session sync")),
        "{refused}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        b_tip,
        "remote untouched"
    );
    assert_eq!(a.rev_parse(&TOOLCALL.ref_name()), a_tip, "local untouched");
}

/// Runs `git session push --json` in `repo` with git's trace in `trace`; returns the run and
/// the refspecs of each `git push` it ran.
fn traced_push(repo: &Repo<'_>, trace: &Path) -> (Run, Vec<Vec<String>>) {
    let _ = std::fs::remove_file(trace);
    let run = Run::from(
        "git-session push --json".into(),
        repo.env
            .git_session_command(&repo.dir)
            .env("GIT_TRACE", trace)
            .args(["push", "--json"])
            .output(),
    );
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    let specs = text
        .lines()
        .filter(|l| l.contains("built-in: git push"))
        .map(|l| {
            l.split_whitespace()
                .filter(|w| w.contains(":refs/"))
                .map(|w| w.trim_matches('\'').to_owned())
                .collect()
        })
        .collect();
    (run, specs)
}

/// The status `push --json` reported for each session.
fn push_statuses(pushed: &Value) -> std::collections::BTreeMap<String, String> {
    pushed["refs"]
        .as_array()
        .expect("refs")
        .iter()
        .map(|r| {
            let session = r["session"].as_str().expect("session").to_owned();
            (session, r["status"].as_str().expect("status").to_owned())
        })
        .collect()
}

#[test]
fn a_push_of_many_sessions_sends_only_what_the_remote_lacks_and_still_refuses_to_overwrite() {
    // Enough sessions for push to ask the remote what it has instead of sending every ref.
    const COUNT: usize = 120;
    let env = TestEnv::new();
    let (remote, a, b) = remote_and_two_clones(&env);
    let (files, ids) = many_exports(&env, COUNT);
    let files: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    a.save(&files);
    let first = push_statuses(&a.git_session(&["push", "--json"]).success().json());
    assert!(first.values().all(|s| s == "created"), "{first:?}");
    assert_eq!(first.len(), COUNT);

    let trace = env.path("trace");
    let (run, specs) = traced_push(&a, &trace);
    let again = push_statuses(&run.success().json());
    assert_eq!(again.len(), COUNT, "every session is reported");
    assert!(again.values().all(|s| s == "up-to-date"), "{again:?}");
    assert!(specs.is_empty(), "nothing to send, no git push: {specs:?}");

    // a adds to one session; b adds to another and pushes first.
    b.git_session(&["pull", "--all"]).success();
    let export = |id: &str| TOOLCALL.json().to_string().replace(TOOLCALL.id, id);
    let grown =
        |id: &str, tag: &str| gen::grow(&serde_json::from_str(&export(id)).unwrap(), tag, 1);
    save_json(&a, "a-grown.json", &grown(&ids[0], "a"));
    save_json(&b, "b-grown.json", &grown(&ids[1], "b"));
    b.git_session(&["push"]).success();
    let b_tip = b.rev_parse(&session_ref(&ids[1]));

    let (run, specs) = traced_push(&a, &trace);
    let third = push_statuses(&run.failure().json());
    // The two sessions whose saves differ, each with its summary (then, once the remote refused
    // b's, a's alone again).
    assert_eq!(specs[0].len(), 4, "{specs:?}");
    assert!(specs
        .concat()
        .iter()
        .all(|s| s.contains(&ids[0]) || s.contains(&ids[1])));
    assert_eq!(third[&ids[0]], "updated");
    assert_eq!(
        third[&ids[1]], "behind",
        "b's newer save is never overwritten"
    );
    assert_eq!(
        third.values().filter(|s| *s == "up-to-date").count(),
        COUNT - 2
    );
    assert_eq!(remote.rev_parse(&session_ref(&ids[1])), b_tip);
    assert_eq!(
        remote.rev_parse(&session_ref(&ids[0])),
        a.rev_parse(&session_ref(&ids[0]))
    );
    remote.assert_fsck_clean();
}

#[test]
fn a_remote_that_refuses_gives_a_clear_error_and_loses_nothing_locally() {
    let env = TestEnv::new();
    let (remote, a, _b) = remote_and_two_clones(&env);
    let hook = remote.git_dir.join("hooks").join("pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'sessions are not welcome here' >&2\nexit 1\n",
    )
    .unwrap();
    set_executable(&hook);
    save_json(&a, "base.json", &TOOLCALL.json());
    let before = a.refs();

    let refused = a.git_session(&["push"]).failure();
    assert!(
        refused.stderr.contains("refused") && refused.stderr.contains("pre-receive hook declined"),
        "{refused}"
    );
    refused.single_error(&["refused", "nothing was lost"]);
    assert_eq!(a.refs(), before, "no local ref changed");
    assert_eq!(remote.rev_parse(&TOOLCALL.ref_name()), None);
    assert_eq!(
        a.show(TOOLCALL.id, None),
        TOOLCALL.json(),
        "the save is intact"
    );
    let synced = a.git_session(&["sync"]).failure();
    synced.single_error(&["refused"]);
}

#[test]
fn many_concurrent_savers_on_two_sessions_lose_no_save() {
    const PROCESSES: usize = 8;
    const SAVES: usize = 25;
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let examples = [TOOLCALL, COMPACTED];
    // Every process saves its own growing versions of one of the two sessions.
    let files: Vec<Vec<String>> = (0..PROCESSES)
        .map(|p| {
            let example = examples[p % 2];
            (1..=SAVES)
                .map(|v| {
                    let path = env.path(&format!("p{p}-v{v}.json"));
                    write_json(&path, &gen::grow(&example.json(), &format!("p{p}"), v));
                    path.display().to_string()
                })
                .collect()
        })
        .collect();
    let barrier = Arc::new(Barrier::new(PROCESSES));
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .iter()
            .map(|mine| {
                let (barrier, repo) = (Arc::clone(&barrier), &repo);
                scope.spawn(move || {
                    barrier.wait();
                    mine.iter()
                        .map(|f| repo.git_session(&["save", "--from", f]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a saver thread"))
            .collect()
    });
    for run in &runs {
        assert_eq!(run.code, Some(0), "no save fails under contention:\n{run}");
    }
    let saved = runs
        .iter()
        .filter(|r| r.stderr.lines().any(|l| l.starts_with("Saved ")))
        .count();
    assert_eq!(saved, PROCESSES * SAVES, "every distinct version is a save");
    let reachable: usize = examples
        .iter()
        .map(|e| repo.commit_count(&e.ref_name()))
        .sum();
    assert_eq!(
        reachable, saved,
        "every successful save is reachable from its ref"
    );
    assert!(
        !repo
            .git_dir
            .join("refs/sessions/opencode")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".lock")),
        "no lock file is left behind"
    );
    repo.assert_fsck_clean();
}

#[test]
fn a_killed_save_leaves_the_ref_at_the_old_or_the_new_save() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let name = TOOLCALL.ref_name();
    // A large session makes each save take long enough to be killed in the middle.
    let big = gen::with_bash_output(&TOOLCALL.json(), &gen::long_text("log", 2_000_000));
    // Calibrate: kill at 10%, 20%, ... 120% of how long one save takes here.
    save_json(&repo, "v0.json", &big);
    let started = std::time::Instant::now();
    save_json(&repo, "v1.json", &gen::grow(&big, "calibrate", 40));
    let one_save = started.elapsed();
    let mut outcomes = (0, 0);
    for round in 1..=12u32 {
        let export = gen::grow(&big, &format!("k{round}"), 40);
        let path = env.path(&format!("k{round}.json"));
        write_json(&path, &export);
        let before = repo.rev_parse(&name).unwrap();
        let mut child = env
            .git_session_command(&repo.dir)
            .args(["save", "--from", &path.display().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(one_save * round / 10);
        child.kill().ok(); // SIGKILL: no handler runs
        child.wait().unwrap();

        // A killed process cannot remove a ref lock it held; that case is reported by the next
        // save with the command to remove it, and is removed here as the user would.
        let lock = repo.git_dir.join(format!("{name}.lock"));
        let _ = std::fs::remove_file(lock);
        let after = repo.rev_parse(&name).unwrap();
        if after == before {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
            assert_eq!(
                repo.git(&["rev-parse", &format!("{after}^")]).trim(),
                before
            );
            assert_eq!(
                repo.show(TOOLCALL.id, None),
                export,
                "a moved ref holds the whole save"
            );
        }
        repo.assert_fsck_clean();
        // The next save works and records this round's version.
        repo.save(&[&path]);
        assert_eq!(repo.show(TOOLCALL.id, None), export);
    }
    eprintln!(
        "killed saves ({one_save:?} each): {} left the old save, {} completed",
        outcomes.0, outcomes.1
    );
    assert!(outcomes.0 > 0, "some kills landed in the middle of a save");
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// A teammate's turn merged in by a pull survives the next save of a local copy that never had
/// it; a message the local copy itself removed (a revert) stays removed.
#[test]
fn a_save_after_a_sync_keeps_the_teammates_merged_messages() {
    let env = TestEnv::new();
    let (_remote, a, b) = remote_and_two_clones(&env);
    let base = TOOLCALL.json();
    save_json(&a, "base.json", &base);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();
    // B continues the session (its agent has A's messages, as after a load) and shares it.
    save_json(&b, "b.json", &gen::grow(&base, "b", 2));
    b.git_session(&["push"]).success();
    // A pulls B's turn; A's local agent never had it. A adds its own turn and saves.
    a.git_session(&["pull"]).success();
    let a_turn = gen::grow(&base, "a", 1);
    let path = env.path("a.json");
    write_json(&path, &a_turn);
    let run = a.save(&[&path]).success();
    assert!(
        run.stderr.contains("Kept 2 messages that arrived by merge"),
        "the save says what it kept and how to load it:\n{run}"
    );
    assert!(
        run.stderr
            .contains(&format!("git session load {}", TOOLCALL.id)),
        "{run}"
    );
    let ids = message_ids(&a.show(TOOLCALL.id, None));
    for id in ["msg_zzb_1", "msg_zzb_2", "msg_zza_1"] {
        assert!(
            ids.contains(&id.to_owned()),
            "{id} is in the newest save: {ids:?}"
        );
    }
    assert_eq!(ids.len(), message_ids(&base).len() + 3);

    // A reverts its own last message: that one goes; B's stay.
    let path = env.path("a-reverted.json");
    write_json(&path, &base);
    a.save(&[&path]).success();
    let ids = message_ids(&a.show(TOOLCALL.id, None));
    assert!(
        !ids.contains(&"msg_zza_1".to_owned()),
        "the revert is kept: {ids:?}"
    );
    assert!(ids.contains(&"msg_zzb_2".to_owned()), "{ids:?}");
    // And B's own revert of its turn, once B has saved it, drops it for everyone.
    save_json(&b, "b-reverted.json", &base);
    let ids = message_ids(&b.show(TOOLCALL.id, None));
    assert!(!ids.contains(&"msg_zzb_1".to_owned()), "{ids:?}");
}
