//! What a save leaves in the object database and on its ref: every object reachable (so gc,
//! fetch and push keep it), large strings stored once, a stale ref lock reported instead of
//! waited on, and concurrent savers that never lose or fork a save.

use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use crate::support::{gen, write_json, Repo, TestEnv, TOOLCALL};

/// Every blob reachable from `rev` whose content contains `needle`, with its content.
fn blobs_containing(repo: &Repo<'_>, rev: &str, needle: &str) -> Vec<(String, Vec<u8>)> {
    repo.reachable_objects(rev)
        .into_iter()
        .filter(|(_, kind, content)| {
            kind == "blob" && String::from_utf8_lossy(content).contains(needle)
        })
        .map(|(id, _, content)| (id, content))
        .collect()
}

#[test]
fn a_save_survives_gc_and_a_fetch_and_stores_a_repeated_string_once() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let text = gen::long_text("reachability", 5 * 1024);
    let export = gen::with_bash_output(&TOOLCALL.json(), &text);
    let file = env.path("big-output.json");
    write_json(&file, &export);
    repo.save(&[&file]);
    let name = TOOLCALL.ref_name();

    let blobs = blobs_containing(&repo, &name, &text);
    assert_eq!(
        blobs.len(),
        1,
        "the 5 KB output is stored once, not inline in the message: {:?}",
        blobs.iter().map(|b| &b.0).collect::<Vec<_>>()
    );
    assert_eq!(
        blobs[0].1,
        text.as_bytes(),
        "as a blob of its own, exactly the text"
    );

    repo.git(&["gc", "--quiet", "--prune=now"]);
    repo.assert_fsck_clean();
    assert_eq!(
        repo.show(TOOLCALL.id, None),
        export,
        "gc pruned nothing the save needs"
    );

    let clone = env.repo("elsewhere");
    clone.git(&[
        "fetch",
        "--quiet",
        &repo.dir.display().to_string(),
        "refs/sessions/*:refs/sessions/*",
    ]);
    assert_eq!(clone.rev_parse(&name), repo.rev_parse(&name));
    assert_eq!(
        clone.show(TOOLCALL.id, None),
        export,
        "a fetch of the sessions refs brings every object"
    );
    clone.assert_fsck_clean();
}

#[test]
fn a_save_moves_a_ref_that_git_packed() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    let name = TOOLCALL.ref_name();
    let first = repo.rev_parse(&name).expect("first save");
    repo.git(&["pack-refs", "--all"]);
    assert!(
        !repo.git_dir.join(&name).exists(),
        "the setup packed the ref into packed-refs"
    );

    let grown = env.path("grown.json");
    let v2 = gen::grow(&TOOLCALL.json(), "packed", 1);
    write_json(&grown, &v2);
    repo.save(&[&grown]);
    let second = repo.rev_parse(&name).expect("second save");
    assert_ne!(second, first, "the packed ref moved");
    assert_eq!(repo.rev_parse(&format!("{name}^")), Some(first));
    assert_eq!(repo.show(TOOLCALL.id, None), v2);
    repo.git(&["gc", "--quiet", "--prune=now"]);
    assert_eq!(repo.show(TOOLCALL.id, Some("~1")), TOOLCALL.json());
    repo.assert_fsck_clean();
}

#[test]
fn saving_again_after_the_ref_was_deleted_and_pruned_writes_every_object() {
    // Whatever git-session remembers between saves must not outlive the objects: here the
    // session's ref is deleted and gc prunes all its objects before the same session is saved.
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let text = gen::long_text("pruned", 5 * 1024);
    let export = gen::with_bash_output(&TOOLCALL.json(), &text);
    let file = env.path("session.json");
    write_json(&file, &export);
    repo.save(&[&file]);
    let name = TOOLCALL.ref_name();
    repo.git(&["update-ref", "-d", &name]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "--quiet", "--prune=now"]);
    assert!(
        blobs_containing(&repo, "--all", &text).is_empty(),
        "the setup pruned the session's objects"
    );

    repo.save(&[&file]);
    repo.assert_fsck_clean();
    assert_eq!(repo.show(TOOLCALL.id, None), export);
    assert_eq!(blobs_containing(&repo, &name, &text).len(), 1);
}

#[test]
fn a_stale_ref_lock_is_reported_and_the_ref_left_alone() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    let name = TOOLCALL.ref_name();
    let tip = repo.rev_parse(&name);

    // What a killed process leaves behind: a lock file, a minute old.
    let lock = repo.git_dir.join(format!("{name}.lock"));
    let file = std::fs::File::create(&lock).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    drop(file);

    let grown = env.path("grown.json");
    write_json(&grown, &gen::grow(&TOOLCALL.json(), "locked", 1));
    let started = Instant::now();
    let run = repo
        .git_session(&["save", "--from", &grown.display().to_string()])
        .failure();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a stale lock is reported at once, not waited on ({:?})",
        started.elapsed()
    );
    run.single_error(&[&format!("{}.lock", TOOLCALL.id)]);
    assert!(
        run.hint_lines().iter().any(|h| h.contains("rm ")),
        "the hint says how to remove the lock:\n{run}"
    );
    assert_eq!(repo.rev_parse(&name), tip, "the ref did not move");
    assert!(
        lock.exists(),
        "git-session does not delete a lock it did not take"
    );

    std::fs::remove_file(&lock).unwrap();
    repo.save(&[&grown]);
    assert_ne!(
        repo.rev_parse(&name),
        tip,
        "with the lock gone the save goes through"
    );
}

#[test]
fn a_briefly_held_ref_lock_is_waited_for() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    let name = TOOLCALL.ref_name();
    let tip = repo.rev_parse(&name);
    // Another git command holds the ref for a moment.
    let lock = repo.git_dir.join(format!("{name}.lock"));
    std::fs::File::create(&lock).unwrap();
    let grown = env.path("grown.json");
    let v2 = gen::grow(&TOOLCALL.json(), "wait", 1);
    write_json(&grown, &v2);
    let saver = repo
        .env
        .git_session_command(&repo.dir)
        .args(["save", "--from", &grown.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn git-session");
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(&lock).unwrap();
    let out = saver.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the save waits for the lock and then succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        repo.rev_parse(&name),
        tip,
        "the ref moved once the lock was gone"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), v2);
}

#[test]
fn concurrent_savers_never_lose_or_fork_a_save() {
    const WORKERS: usize = 4;
    const VERSIONS: usize = 5;
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    // Each worker saves its own growing versions of one session: all 20 documents differ.
    let mut files = Vec::new();
    for w in 0..WORKERS {
        let mut mine = Vec::new();
        for v in 1..=VERSIONS {
            let path = env.path(&format!("w{w}-v{v}.json"));
            write_json(&path, &gen::grow(&TOOLCALL.json(), &format!("w{w}"), v));
            mine.push(path);
        }
        files.push(mine);
    }

    let barrier = Arc::new(Barrier::new(WORKERS));
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .iter()
            .map(|mine| {
                let barrier = Arc::clone(&barrier);
                let repo = &repo;
                scope.spawn(move || {
                    barrier.wait();
                    mine.iter()
                        .map(|f| repo.git_session(&["save", "--from", &f.display().to_string()]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread"))
            .collect()
    });

    for run in &runs {
        assert_eq!(run.code, Some(0), "every save succeeds:\n{run}");
    }
    let saved = runs
        .iter()
        .filter(|r| r.stderr.lines().any(|l| l.starts_with("Saved ")))
        .count();
    assert_eq!(saved, WORKERS * VERSIONS, "every distinct version is saved");

    let name = TOOLCALL.ref_name();
    assert_eq!(
        repo.commit_count(&name),
        saved,
        "one commit per reported save: none lost"
    );
    assert_eq!(
        repo.git(&["rev-list", "--merges", &name]),
        "",
        "no merge commits"
    );
    assert_eq!(
        repo.git(&["rev-list", "--max-parents=0", &name])
            .lines()
            .count(),
        1,
        "one root: the history is a single line"
    );
    let saves = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Saves,valueonly)",
        &name,
    ]);
    assert_eq!(
        saves.trim(),
        saved.to_string(),
        "the Saves trailer counts them all"
    );
    let reflog = repo.git(&["reflog", "show", &name]);
    assert_eq!(reflog.lines().count(), saved, "one reflog entry per save");

    // Then all of them save the same new version at once: one writes it, the others find it
    // already there.
    let last = env.path("same.json");
    write_json(&last, &gen::grow(&TOOLCALL.json(), "same", 1));
    let barrier = Arc::new(Barrier::new(WORKERS));
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let (repo, last) = (&repo, &last);
                scope.spawn(move || {
                    barrier.wait();
                    repo.git_session(&["save", "--from", &last.display().to_string()])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let saved_again = runs.iter().filter(|r| r.stderr.contains("Saved ")).count();
    let unchanged = runs
        .iter()
        .filter(|r| r.stderr.contains("unchanged"))
        .count();
    for run in &runs {
        assert_eq!(run.code, Some(0), "{run}");
    }
    assert_eq!(
        (saved_again, unchanged),
        (1, WORKERS - 1),
        "one save, the rest unchanged"
    );
    assert_eq!(repo.commit_count(&name), saved + 1);
    repo.assert_fsck_clean();
}

#[test]
fn a_save_runs_git_gc_auto_when_git_would_consider_it_due() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    // Two packs while gc.autoPackLimit allows one: git's own `gc --auto` would repack.
    for n in 0..2 {
        std::fs::write(repo.dir.join(format!("f{n}")), format!("{n}\n")).unwrap();
        repo.git(&["add", "."]);
        repo.git(&["commit", "--quiet", "-m", "more"]);
        repo.git(&["repack", "--quiet"]);
    }
    repo.git(&["config", "gc.autoPackLimit", "1"]);
    repo.git(&["config", "gc.autoDetach", "false"]);
    let packs = |repo: &crate::support::Repo<'_>| {
        std::fs::read_dir(repo.git_dir.join("objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count()
    };
    assert!(packs(&repo) >= 2, "the setup made several packs");
    repo.save(&[&TOOLCALL.path()]);
    assert_eq!(
        packs(&repo),
        1,
        "git gc --auto ran after the save and repacked"
    );
    assert_eq!(
        repo.show(TOOLCALL.id, None),
        TOOLCALL.json(),
        "the save survived the gc"
    );
    repo.assert_fsck_clean();
}
