//! `import` of a folder of many sessions (issue 17): one pack and one ref transaction instead of
//! loose objects and a ref update per session, with the same refs and trees as importing the
//! files one by one, and a session whose ref cannot move reported while the others are stored.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{
    gen, session_ref, write_json, Repo, TestEnv, TASK_CHILD, TASK_PARENT, TOOLCALL,
};

/// The toolcall example as session `id`.
fn renamed(id: &str) -> Value {
    let text = std::fs::read_to_string(TOOLCALL.path())
        .unwrap()
        .replace(TOOLCALL.id, id);
    serde_json::from_str(&text).unwrap()
}

/// A folder of `count` sessions, a newer version of the first one, and a parent with its child:
/// `(folder, the session files in an order import may take them, the root session ids)`.
fn folder(env: &TestEnv, count: usize) -> (PathBuf, Vec<PathBuf>, Vec<String>) {
    let dir = env.path("many");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let mut ids = Vec::new();
    for i in 0..count {
        let id = format!("ses_many{i:04}");
        let path = dir.join(format!("{id}.json"));
        write_json(&path, &session(i));
        files.push(path);
        ids.push(id);
    }
    // Newer than every other one: imported after them all.
    let path = dir.join("ses_many0000-v2.json");
    write_json(&path, &gen::grow(&session(0), "b", 2));
    files.push(path);
    std::fs::copy(TASK_PARENT.path(), dir.join("parent.json")).unwrap();
    std::fs::copy(TASK_CHILD.path(), dir.join("zz-child.json")).unwrap();
    files.push(dir.join("parent.json"));
    files.push(dir.join("zz-child.json"));
    ids.push(TASK_PARENT.id.to_owned());
    (dir, files, ids)
}

/// Session `i` of [`folder`]: later sessions are newer.
fn session(i: usize) -> Value {
    let mut export = renamed(&format!("ses_many{i:04}"));
    let updated = gen::updated_ms(&export) + i as i64 * 10;
    gen::set_updated(&mut export, updated);
    export
}

/// Every sessions ref with the tree of its tip and its number of saves.
fn trees(repo: &Repo<'_>, ids: &[String]) -> Vec<(String, String, usize)> {
    ids.iter()
        .map(|id| {
            let name = session_ref(id);
            let tree = repo.git(&["rev-parse", &format!("{name}^{{tree}}")]);
            (
                name.clone(),
                tree.trim().to_owned(),
                repo.commit_count(&name),
            )
        })
        .collect()
}

#[test]
fn importing_a_folder_gives_the_refs_and_trees_of_importing_its_files_one_by_one() {
    let env = TestEnv::new();
    let (dir, files, ids) = folder(&env, 40);

    let at_once = env.repo_with_commit("at-once");
    let loose = |repo: &Repo<'_>| {
        let counts = repo.object_counts();
        counts
            .lines()
            .find(|l| l.starts_with("count:"))
            .unwrap()
            .to_owned()
    };
    let loose_before = loose(&at_once);
    let run = at_once
        .git_session(&["import", &dir.display().to_string()])
        .success();
    assert!(run.stderr.contains("Imported 43 files"), "{run}");

    let one_by_one = env.repo_with_commit("one-by-one");
    for file in &files {
        one_by_one
            .git_session(&["import", &file.display().to_string()])
            .success();
    }

    assert_eq!(
        at_once.git(&["for-each-ref", "--format=%(refname)", "refs/sessions/"]),
        one_by_one.git(&["for-each-ref", "--format=%(refname)", "refs/sessions/"]),
        "the same refs"
    );
    assert_eq!(
        trees(&at_once, &ids),
        trees(&one_by_one, &ids),
        "the same trees"
    );
    assert_eq!(
        at_once.commit_count(&session_ref("ses_many0000")),
        2,
        "both versions"
    );
    assert_eq!(
        at_once.show("ses_many0000", None),
        gen::grow(&session(0), "b", 2),
        "the newest version is the tip"
    );
    assert_eq!(
        at_once.show(TASK_CHILD.id, None),
        TASK_CHILD.json(),
        "the child under its parent"
    );
    assert_eq!(
        at_once.rev_parse(&TASK_CHILD.ref_name()),
        None,
        "no ref of its own"
    );
    let reflog = at_once.git(&[
        "reflog",
        "show",
        "--format=%gs",
        &session_ref("ses_many0007"),
    ]);
    assert_eq!(
        reflog.trim(),
        "git-session save: import",
        "the move is in the reflog"
    );
    let counts = at_once.object_counts();
    assert!(
        loose(&at_once) == loose_before && counts.lines().any(|l| l == "packs: 1"),
        "one pack, no loose object:\n{counts}"
    );
    at_once.assert_fsck_clean();
    let packed = std::fs::read_to_string(at_once.dir.join(".git/packed-refs")).unwrap_or_default();
    assert!(
        packed.contains(&session_ref("ses_many0007"))
            && !at_once
                .dir
                .join(".git")
                .join(session_ref("ses_many0007"))
                .exists(),
        "a folder's refs are written to packed-refs, as git clone writes them:\n{packed}"
    );

    // Searching reads the sessions on several threads; what it prints comes in `list`'s order.
    let listed: Vec<String> = at_once.git_session(&["list", "--json"]).success().json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut found: Vec<String> = Vec::new();
    for line in at_once
        .git_session(&["search", "--json", "-i", "hello"])
        .success()
        .stdout
        .lines()
    {
        let hit: Value = serde_json::from_str(line).unwrap();
        let session = hit["session"].as_str().unwrap().to_owned();
        if found.last() != Some(&session) {
            found.push(session);
        }
    }
    let many: Vec<&String> = listed
        .iter()
        .filter(|id| id.starts_with("ses_many"))
        .collect();
    assert_eq!(many.len(), 40, "{listed:?}");
    assert_eq!(
        found
            .iter()
            .filter(|id| id.starts_with("ses_many"))
            .collect::<Vec<_>>(),
        many,
        "every session found once, in list's order"
    );

    let again = at_once
        .git_session(&["import", &dir.display().to_string()])
        .success();
    assert!(!again.stderr.contains("Saved "), "nothing new:\n{again}");
    assert_eq!(
        at_once.object_counts(),
        counts,
        "importing again writes nothing"
    );
}

#[test]
fn a_session_whose_ref_cannot_move_is_reported_with_a_hint_and_the_others_are_stored() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let (dir, _, _) = folder(&env, 12);
    std::fs::write(dir.join("broken.json"), "{\"info\": {\"id\": \"ses_b\"}, ]").unwrap();
    // A lock left on one session's ref by a killed process, long ago.
    let lock = repo
        .git_dir
        .join(format!("{}.lock", session_ref("ses_many0005")));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();

    let run = repo
        .git_session(&["import", &dir.display().to_string()])
        .failure();
    let errors = run.error_lines();
    assert!(
        errors.iter().any(|e| e.contains("broken.json")),
        "the malformed file is named:\n{run}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("ses_many0005.json") && e.contains("remove the lock file")),
        "the session whose ref is locked is named, with what to do:\n{run}"
    );
    assert!(
        !run.stderr.contains("Saved ses_many0005 "),
        "it is not reported as saved:\n{run}"
    );
    assert_eq!(run.hint_lines().len(), 1, "{run}");
    assert_eq!(
        repo.rev_parse(&session_ref("ses_many0005")),
        None,
        "its ref did not move"
    );
    for id in [
        "ses_many0000",
        "ses_many0004",
        "ses_many0006",
        "ses_many0011",
    ] {
        assert!(
            repo.rev_parse(&session_ref(id)).is_some(),
            "{id} was stored:\n{run}"
        );
    }
    assert_eq!(repo.show("ses_many0006", None), session(6));

    // Once the lock is gone, importing again stores it, and only it.
    std::fs::remove_file(&lock).unwrap();
    let again = repo
        .git_session(&["import", &dir.display().to_string()])
        .failure();
    assert_eq!(again.stderr.matches("Saved ").count(), 1, "{again}");
    assert!(repo.rev_parse(&session_ref("ses_many0005")).is_some());
    repo.assert_fsck_clean();
}
