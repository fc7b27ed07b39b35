//! Saves and pruning: `git session gc` and saves exclude each other through the maintenance lock
//! (a save racing `gc --now` used to commit a tree gc had just deleted), a save freshens what it
//! reuses, and `repair` mends a history that lost objects anyway (a plain `git gc --prune=now`
//! during a save, git's own hazard): intact saves kept, `git fsck` and `git gc` clean again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{gen, write_json, Repo, TestEnv, COMPACTED, TOOLCALL};

/// Version `n` of the TOOLCALL session: `n` messages of its own (ids tagged `v<n>`, so no other
/// version holds them) and a newer update time.
fn version(env: &TestEnv, n: usize) -> (PathBuf, Value) {
    let mut export = gen::grow(&TOOLCALL.json(), &format!("v{n}"), n);
    gen::set_updated(
        &mut export,
        gen::updated_ms(&TOOLCALL.json()) + 10_000 * n as i64,
    );
    let file = env.path(&format!("v{n}.json"));
    write_json(&file, &export);
    (file, export)
}

fn lock_path(repo: &Repo<'_>) -> PathBuf {
    repo.git_dir.join("git-session").join("maintenance.lock")
}

/// Opens the maintenance lock file as git-session does (creating it).
fn lock_file(repo: &Repo<'_>) -> File {
    let path = lock_path(repo);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .unwrap()
}

fn loose_path(repo: &Repo<'_>, id: &str) -> PathBuf {
    repo.git_dir.join("objects").join(&id[..2]).join(&id[2..])
}

fn loose_objects(repo: &Repo<'_>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(repo.git_dir.join("objects")).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.extend(std::fs::read_dir(&dir).unwrap().map(|f| f.unwrap().path()));
        }
    }
    out
}

/// 2001-09-09: older than any gc expiry.
fn long_ago() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000_000)
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// The blob of the first message bucket in the save `commit` (up to 64 messages, one per
/// line), after checking that it holds message `id`.
fn message_blob(repo: &Repo<'_>, commit: &str, id: &str) -> String {
    let blob = repo
        .git(&["rev-parse", &format!("{commit}:messages/000000.jsonl")])
        .trim()
        .to_owned();
    let lines = repo.git(&["cat-file", "blob", &blob]);
    assert!(lines.contains(&format!("[\"{id}\",")), "{id} in {lines}");
    blob
}

#[test]
fn gc_refuses_while_a_save_holds_the_lock_and_runs_once_it_is_released() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    repo.git(&["config", "session.lockTimeout", "0"]);
    // An object nothing reaches yet, as a save in flight has: --prune=now would delete it.
    let blob = {
        let file = env.path("in-flight.txt");
        std::fs::write(&file, "a message a save has written, its ref not moved yet").unwrap();
        repo.git(&["hash-object", "-w", &file.display().to_string()])
            .trim()
            .to_owned()
    };
    assert!(loose_path(&repo, &blob).exists());

    let save = lock_file(&repo);
    save.lock_shared().expect("hold the lock as a save does");
    let refused = repo.git_session(&["gc", "--now"]).failure();
    let error = refused.single_error(&["writing sessions", "maintenance.lock", "waited 0 s"]);
    assert!(!error.contains("remote"), "{refused}");
    assert!(
        refused.hint_lines()[0].contains("when no git-session save"),
        "{refused}"
    );
    assert!(
        loose_path(&repo, &blob).exists(),
        "gc did not run: the save's object is still there"
    );

    drop(save);
    // Back to the default wait: a process another test thread is spawning right now may hold a
    // copy of the descriptor until it execs (a few microseconds).
    repo.git(&["config", "--unset", "session.lockTimeout"]);
    repo.git_session(&["gc", "--now"]).success();
    assert!(
        !loose_path(&repo, &blob).exists(),
        "with the lock released, gc --now prunes what nothing reaches"
    );
    repo.assert_fsck_clean();
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
}

#[test]
fn a_save_waits_for_a_running_gc_and_names_it_then_saves_once_it_is_done() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.git(&["config", "session.lockTimeout", "0"]);
    let mut gc = lock_file(&repo);
    gc.lock().expect("hold the lock as gc does");
    // What a running `git session gc --now` writes into the file it holds.
    use std::io::Write;
    write!(gc, "git session gc --now (pid 4242)").unwrap();

    let refused = repo
        .git_session(&["save", "--from", &TOOLCALL.arg()])
        .failure();
    refused.single_error(&[
        "git session gc --now (pid 4242) is running",
        "maintenance.lock",
    ]);
    assert!(refused.hint_lines()[0].contains("never stale"), "{refused}");
    assert_eq!(repo.rev_parse(&TOOLCALL.ref_name()), None, "nothing saved");

    drop(gc);
    repo.git(&["config", "--unset", "session.lockTimeout"]);
    repo.save(&[&TOOLCALL.path()]);
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
}

#[test]
fn a_save_that_reuses_old_unreachable_objects_makes_them_recent_again() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    repo.git_session(&["delete", TOOLCALL.id]).success();
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    // The deleted session's objects, unreachable and older than any gc expiry: a `git gc`
    // would prune them, unless a save that reuses them marks them recent first.
    for path in loose_objects(&repo) {
        File::open(&path).unwrap().set_modified(long_ago()).unwrap();
    }
    repo.save(&[&TOOLCALL.path()]);
    let tip = repo.rev_parse(&TOOLCALL.ref_name()).expect("saved");
    let reused: Vec<PathBuf> = repo
        .reachable_objects(&tip)
        .into_iter()
        .map(|(id, _, _)| loose_path(&repo, &id))
        .filter(|p| p.exists() && mtime(p) <= long_ago() + Duration::from_secs(1))
        .collect();
    assert!(
        reused.is_empty(),
        "every object the save uses is recent again: {reused:?}"
    );
    repo.git(&["gc", "--quiet", "--prune=1.week.ago"]);
    repo.assert_fsck_clean();
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
}

#[test]
fn saves_racing_gc_now_all_land_and_the_history_stays_complete() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let versions: Vec<(PathBuf, Value)> = (1..=12).map(|n| version(&env, n)).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let gcs = std::thread::scope(|scope| {
        let gc = scope.spawn(|| {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                repo.git_session(&["gc", "--now", "--json"]).success();
                runs += 1;
            }
            runs
        });
        for (file, _) in &versions {
            repo.save(&[file]);
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        gc.join().expect("the gc thread")
    });
    assert!(gcs > 0);
    repo.assert_fsck_clean();
    repo.git(&["gc", "--quiet"]);
    assert_eq!(
        repo.commit_count(&TOOLCALL.ref_name()),
        12,
        "every save landed"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), versions[11].1);
    assert_eq!(repo.show(TOOLCALL.id, Some("~11")), versions[0].1);
}

/// Saves versions 1 to 4 and returns their commits and documents, oldest first.
fn four_saves(env: &TestEnv, repo: &Repo<'_>) -> Vec<(String, Value)> {
    (1..=4)
        .map(|n| {
            let (file, export) = version(env, n);
            repo.save(&[&file]);
            (repo.rev_parse(&TOOLCALL.ref_name()).unwrap(), export)
        })
        .collect()
}

#[test]
fn repair_leaves_out_a_save_that_lost_a_blob_and_gc_and_fsck_work_again() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&COMPACTED.path()]);
    let saves = four_saves(&env, &repo);
    let other = repo.rev_parse(&COMPACTED.ref_name());
    // What a `git gc --prune=now` during the second save did: one of its new blobs is gone.
    let lost = message_blob(&repo, &saves[1].0, "msg_zzv2_1");
    std::fs::remove_file(loose_path(&repo, &lost)).unwrap();
    assert!(!repo.git_run(&["fsck", "--no-progress"]).stdout.is_empty());
    let gc = repo.git_session(&["gc"]).failure();
    gc.single_error(&["git gc failed", &lost]);
    assert!(
        gc.hint_lines()[0].contains("git session repair") && !gc.stderr.contains("remote"),
        "the hint names the failure and the next step:\n{gc}"
    );

    let dry = repo
        .git_session(&["repair", "--dry-run", "--json"])
        .failure();
    let report = dry.json();
    assert_eq!(report["damaged"].as_array().unwrap().len(), 1, "{report}");
    let damaged = &report["damaged"][0];
    assert_eq!(damaged["ref"], TOOLCALL.ref_name());
    assert_eq!(damaged["damagedSaves"][0]["commit"], saves[1].0.as_str());
    assert_eq!(damaged["damagedSaves"][0]["missing"][0], lost.as_str());
    assert_eq!(
        repo.rev_parse(&TOOLCALL.ref_name()).as_deref(),
        Some(saves[3].0.as_str()),
        "a dry run changes nothing"
    );

    let run = repo.git_session(&["repair"]).success();
    assert!(run.stderr.contains("1 of 4 saves lack objects"), "{run}");
    repo.assert_fsck_clean();
    repo.git(&["gc", "--quiet"]);
    repo.git(&["gc", "--quiet", "--prune=now"]);
    repo.assert_fsck_clean();
    assert_eq!(
        repo.commit_count(&TOOLCALL.ref_name()),
        3,
        "saves 1, 3 and 4"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), saves[3].1);
    assert_eq!(repo.show(TOOLCALL.id, Some("~1")), saves[2].1);
    assert_eq!(repo.show(TOOLCALL.id, Some("~2")), saves[0].1);
    assert_eq!(
        repo.rev_parse(&COMPACTED.ref_name()),
        other,
        "an intact session is not touched"
    );

    let backups = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/session-backups/",
    ]);
    let backup = backups.trim();
    assert!(
        backup.starts_with(&format!("refs/session-backups/opencode/{}/", TOOLCALL.id)),
        "{backups}"
    );
    assert_eq!(repo.commit_count(backup), 4, "the old history, every save");
    let damaged_copy = repo.git(&["log", "-1", "--skip=2", "--format=%B", backup]);
    assert!(
        damaged_copy.contains("Damaged: 1 missing object(s)") && damaged_copy.contains(&lost),
        "{damaged_copy}"
    );
    let readable = repo.git(&["ls-tree", "-r", "--name-only", &format!("{backup}~2")]);
    assert!(
        readable.contains("session.json") && !readable.contains("messages/000000.jsonl"),
        "the damaged save keeps what can be read, without the lost bucket:\n{readable}"
    );

    let again = repo.git_session(&["repair"]).success();
    assert!(again.stderr.contains("Nothing to repair"), "{again}");
}

#[test]
fn repair_follows_the_reflog_past_a_save_whose_commit_is_gone() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let saves = four_saves(&env, &repo);
    // The third save's commit object is gone: its parent is known only from the reflog.
    std::fs::remove_file(loose_path(&repo, &saves[2].0)).unwrap();
    let run = repo.git_session(&["repair", "--json"]).success().json();
    assert_eq!(run["damaged"][0]["status"], "rewritten", "{run}");
    repo.assert_fsck_clean();
    assert_eq!(
        repo.commit_count(&TOOLCALL.ref_name()),
        3,
        "saves 1, 2 and 4: the history is not cut at the gap"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), saves[3].1);
    assert_eq!(repo.show(TOOLCALL.id, Some("~1")), saves[1].1);

    // A save whose commit a prune took right after its ref moved: the ref goes back to the
    // save before, which the save's reflog entry names.
    let (file, _) = version(&env, 5);
    repo.save(&[&file]);
    let tip = repo.rev_parse(&TOOLCALL.ref_name()).unwrap();
    std::fs::remove_file(loose_path(&repo, &tip)).unwrap();
    let shown = repo.git_session(&["show", TOOLCALL.id]).failure();
    assert!(
        shown.hint_lines()[0].contains("git session repair"),
        "{shown}"
    );
    repo.git_session(&["repair"]).success();
    repo.assert_fsck_clean();
    repo.git(&["gc", "--quiet"]);
    assert_eq!(repo.show(TOOLCALL.id, None), saves[3].1);
    assert_eq!(repo.commit_count(&TOOLCALL.ref_name()), 3);
}

#[test]
fn after_repair_a_pull_brings_the_left_out_save_back_whole_from_the_remote() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let remote = env.bare_repo("remote.git");
    repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    let saves = four_saves(&env, &repo);
    repo.git_session(&["push"]).success();
    repo.git_session(&["pull"]).success();
    let lost = message_blob(&repo, &saves[1].0, "msg_zzv2_2");
    std::fs::remove_file(loose_path(&repo, &lost)).unwrap();

    let report = repo.git_session(&["repair", "--json"]).success().json();
    let statuses: Vec<(&str, &str)> = report["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("local", "rewritten"), ("remote", "deleted")],
        "{report}"
    );
    repo.assert_fsck_clean();

    repo.git_session(&["pull"]).success();
    repo.assert_fsck_clean();
    assert_eq!(
        repo.show(TOOLCALL.id, Some(&saves[1].0[..12])),
        saves[1].1,
        "the save left out is back, with the blob fetched again"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), saves[3].1);
    repo.git(&["gc", "--quiet"]);
}

#[test]
fn a_pull_keeps_what_it_fetches_in_a_pack_no_gc_may_prune_before_the_refs_move() {
    let env = TestEnv::new();
    let a = env.repo_with_commit("a");
    let remote = env.bare_repo("remote.git");
    let b = env.repo_with_commit("b");
    for repo in [&a, &b] {
        repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    }
    a.save(&[&TOOLCALL.path()]);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();
    let tip = b.rev_parse(&TOOLCALL.ref_name()).expect("adopted");
    assert!(
        !loose_path(&b, &tip).exists(),
        "a few objects, yet fetched as a pack (git keeps it with a .keep file until the refs move)"
    );
    let keeps: Vec<_> = std::fs::read_dir(b.git_dir.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "keep"))
        .collect();
    assert!(keeps.is_empty(), "released once the refs moved: {keeps:?}");
    b.assert_fsck_clean();
    assert_eq!(b.show(TOOLCALL.id, None), TOOLCALL.json());
}
