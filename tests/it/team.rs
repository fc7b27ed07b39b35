//! Team scale: a plain `git fetch` after install brings a summary of each shared session, not
//! the sessions; `list` shows them as not fetched; `show`, `search --session` and `load` fetch
//! one session (with its children) on demand; `session.remote` keeps sessions in a repository of
//! their own. See the issue "Team scale".

use std::collections::HashSet;

use serde_json::Value;

use crate::claude::{place_example, run_as, ID as CLAUDE_ID};
use crate::install::git_with_git_session;
use crate::support::{write_json, Repo, TestEnv, COMPACTED, TASK_CHILD, TASK_PARENT, TOOLCALL};

/// `git clone file://...`: a clone through the transport (a clone from a plain path would
/// hard-link every object of the remote, sessions included).
fn clone<'e>(env: &'e TestEnv, remote: &Repo<'_>, name: &str) -> Repo<'e> {
    let url = format!("file://{}", remote.dir.display());
    env.git_in(env.root(), &["clone", "--quiet", &url, name]);
    let dir = env.path(name);
    Repo {
        env,
        git_dir: dir.join(".git"),
        dir,
    }
}

/// Every object a ref reaches (`git rev-list --objects`).
fn objects(repo: &Repo<'_>, rev: &str) -> HashSet<String> {
    repo.git(&["rev-list", "--objects", rev])
        .lines()
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// The objects of `ids` that `repo` has (`git cat-file -e`).
fn present<'a>(repo: &Repo<'_>, ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    ids.into_iter()
        .filter(|id| repo.git_run(&["cat-file", "-e", id]).code == Some(0))
        .cloned()
        .collect()
}

/// The objects only session `id` (of those saved in `a`) has: not in any other session's saves,
/// nor in `main`.
fn own_objects(a: &Repo<'_>, id: &str, others: &[&str]) -> HashSet<String> {
    let mut own = objects(a, &format!("refs/sessions/opencode/{id}"));
    for other in others {
        for o in objects(a, &format!("refs/sessions/opencode/{other}")) {
            own.remove(&o);
        }
    }
    for o in objects(a, "main") {
        own.remove(&o);
    }
    own
}

fn list_json(repo: &Repo<'_>) -> Vec<Value> {
    repo.git_session(&["list", "--json"]).success().json()["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

fn entry<'v>(list: &'v [Value], id: &str) -> &'v Value {
    list.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} is listed: {list:?}"))
}

/// A remote (without filter support) with three sessions (one with a child) pushed by `a`.
fn remote_with_three_sessions(env: &TestEnv) -> (Repo<'_>, Repo<'_>) {
    let remote = env.bare_repo("remote.git");
    remote.git(&["config", "uploadpack.allowFilter", "false"]);
    let a = env.repo_with_commit("a");
    let url = format!("file://{}", remote.dir.display());
    a.git(&["remote", "add", "origin", &url]);
    a.git(&["push", "-q", "origin", "main"]);
    a.save(&[&TOOLCALL.path()]);
    a.save(&[&COMPACTED.path()]);
    a.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
    a.git_session(&["push"]).success();
    (remote, a)
}

#[test]
fn a_plain_fetch_brings_summaries_only_and_show_fetches_one_session_with_its_children() {
    let env = TestEnv::new();
    let (remote, a) = remote_with_three_sessions(&env);
    for id in [TOOLCALL.id, COMPACTED.id, TASK_PARENT.id] {
        let summary = remote.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Tip,valueonly)",
            &format!("refs/session-index/opencode/{id}"),
        ]);
        assert_eq!(
            Some(summary.trim().to_owned()),
            a.rev_parse(&format!("refs/sessions/opencode/{id}")),
            "the push wrote {id}'s summary, naming its newest save"
        );
    }

    let b = clone(&env, &remote, "b");
    let installed = b.git_session(&["install"]).success();
    assert_eq!(
        b.git(&["config", "--get-all", "remote.origin.fetch"]),
        "+refs/heads/*:refs/remotes/origin/*\n+refs/session-index/*:refs/remotes/origin/session-index/*\n+refs/session-deletions/*:refs/remotes/origin/session-deletions/*\n",
        "{installed}"
    );
    b.git(&["fetch", "-q"]);
    assert_eq!(
        b.git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/remotes/origin/sessions/"
        ]),
        "",
        "a plain fetch brings no session ref"
    );
    let all = [TOOLCALL.id, COMPACTED.id, TASK_PARENT.id];
    let mut every_session_object = HashSet::new();
    for id in all {
        every_session_object.extend(objects(&a, &format!("refs/sessions/opencode/{id}")));
    }
    for o in objects(&a, "main") {
        every_session_object.remove(&o);
    }
    assert!(!every_session_object.is_empty());
    assert_eq!(
        present(&b, &every_session_object),
        Vec::<String>::new(),
        "no object of any session's saves came with the plain fetch"
    );

    // list: every session, from its summary, marked as not fetched.
    let listed = b.git_session(&["list"]).success();
    for id in all {
        let line = listed
            .stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} is listed:\n{listed}"));
        assert!(line.ends_with("origin (not fetched)"), "{line}");
    }
    let theirs = list_json(&a);
    let ours = list_json(&b);
    for id in all {
        let (mine, seen) = (entry(&theirs, id), entry(&ours, id));
        for key in [
            "title", "agent", "messages", "children", "saves", "bytes", "lastSave",
        ] {
            assert_eq!(mine[key], seen[key], "{id}: {key} as the saver lists it");
        }
        assert_eq!(seen["fetched"], false);
        assert_eq!(seen["savedBy"], "Test User");
    }

    // show of the parent: fetched alone (with its child, which lives in its saves), and said.
    let own_toolcall = own_objects(&a, TOOLCALL.id, &[COMPACTED.id, TASK_PARENT.id]);
    let own_compacted = own_objects(&a, COMPACTED.id, &[TOOLCALL.id, TASK_PARENT.id]);
    assert!(!own_toolcall.is_empty() && !own_compacted.is_empty());
    let shown = b.git_session(&["show", TASK_PARENT.id]).success();
    assert!(
        shown
            .stderr
            .contains(&format!("Fetched {} from origin", TASK_PARENT.id)),
        "{shown}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&shown.stdout).unwrap(),
        a.show(TASK_PARENT.id, None),
        "shows what was saved"
    );
    let parent_objects = objects(&a, &format!("refs/sessions/opencode/{}", TASK_PARENT.id));
    assert_eq!(
        present(&b, &parent_objects).len(),
        parent_objects.len(),
        "every save of it is here now"
    );
    assert_eq!(
        present(&b, &own_toolcall),
        Vec::<String>::new(),
        "not the others"
    );
    assert_eq!(present(&b, &own_compacted), Vec::<String>::new());
    let child = b.git_session(&["show", TASK_CHILD.id]).success();
    assert!(
        !child.stderr.contains("Fetched"),
        "the child came along: {child}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&child.stdout).unwrap(),
        a.show(TASK_CHILD.id, None)
    );
    let listed = list_json(&b);
    assert_eq!(entry(&listed, TASK_PARENT.id)["fetched"], true);
    assert_eq!(entry(&listed, TOOLCALL.id)["fetched"], false);

    // load without an id says how many are only listed.
    let picked = b.git_session(&["load"]).success();
    assert!(
        picked
            .stderr
            .contains("2 more sessions on remotes are not fetched"),
        "{picked}"
    );

    // search --session by a prefix fetches that one too.
    let found = b
        .git_session(&["search", "-F", "hello", "--session", &COMPACTED.id[..14]])
        .success();
    assert!(
        found
            .stderr
            .contains(&format!("Fetched {} from origin", COMPACTED.id)),
        "{found}"
    );
    assert_eq!(present(&b, &own_toolcall), Vec::<String>::new());

    // A pull brings the newer saves of the sessions this clone has, not the others.
    let pulled = b.git_session(&["pull"]).success();
    assert!(
        pulled
            .stderr
            .contains("origin has 1 more session, listed and not fetched"),
        "{pulled}"
    );
    assert_eq!(present(&b, &own_toolcall), Vec::<String>::new());
    assert!(b
        .rev_parse(&format!("refs/sessions/opencode/{}", TASK_PARENT.id))
        .is_some());
    b.assert_fsck_clean();
}

#[test]
fn load_fetches_the_one_session_with_its_subagent_from_the_remote_that_lists_it() {
    let env = TestEnv::new();
    let (remote, a) = remote_with_three_sessions(&env);
    let home_a = env.path("home-a");
    std::fs::create_dir_all(&home_a).unwrap();
    place_example(&a, &home_a);
    run_as(&a, &home_a, &["save", "--agent", "claude"]).success();
    run_as(&a, &home_a, &["push"]).success();

    let b = clone(&env, &remote, "b");
    b.git_session(&["install", "--agent", "claude"]).success();
    b.git(&["fetch", "-q"]);
    let home_b = env.path("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    let loaded = run_as(&b, &home_b, &["load", &CLAUDE_ID[..8]]).success();
    assert!(
        loaded.stderr.contains(&format!(
            "Fetched {CLAUDE_ID} from origin (only this session"
        )),
        "{loaded}"
    );
    assert!(loaded.stderr.contains("1 child session"), "{loaded}");
    assert!(
        loaded
            .stderr
            .contains(&format!("claude --resume {CLAUDE_ID}")),
        "{loaded}"
    );
    let others = own_objects(&a, TOOLCALL.id, &[COMPACTED.id, TASK_PARENT.id]);
    assert_eq!(
        present(&b, &others),
        Vec::<String>::new(),
        "the other sessions stay on the remote"
    );
    let claude_ref = format!("refs/sessions/claude/{CLAUDE_ID}");
    let claude_objects = objects(&a, &claude_ref);
    assert_eq!(present(&b, &claude_objects).len(), claude_objects.len());
}

#[test]
fn a_push_refused_for_one_session_still_sends_the_others_and_every_summary_matches_its_ref() {
    let env = TestEnv::new();
    let (remote, a) = remote_with_three_sessions(&env);
    let b = clone(&env, &remote, "b");
    b.git_session(&["pull", "--all"]).success();
    // a moves TOOLCALL on; b saves a different next save of it and a new session.
    let grown = env.path("grown-a.json");
    write_json(&grown, &crate::support::gen::grow(&TOOLCALL.json(), "a", 1));
    a.save(&[&grown]);
    a.git_session(&["push"]).success();
    let mine = env.path("grown-b.json");
    write_json(&mine, &crate::support::gen::grow(&TOOLCALL.json(), "b", 1));
    b.save(&[&mine]);
    b.save(&[&crate::support::REASONING.path()]);
    let pushed = b.git_session(&["push"]).failure();
    assert!(pushed.stderr.contains("newer saves on origin"), "{pushed}");
    let reasoning = crate::support::REASONING.id;
    assert_eq!(
        remote.rev_parse(&format!("refs/sessions/opencode/{reasoning}")),
        b.rev_parse(&format!("refs/sessions/opencode/{reasoning}")),
        "the other session went:\n{pushed}"
    );
    for id in [TOOLCALL.id, reasoning] {
        let tip = remote.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Tip,valueonly)",
            &format!("refs/session-index/opencode/{id}"),
        ]);
        assert_eq!(
            Some(tip.trim().to_owned()),
            remote.rev_parse(&format!("refs/sessions/opencode/{id}")),
            "{id}'s summary describes the remote's ref"
        );
    }
}

#[test]
fn install_replaces_an_older_installs_refspec_and_says_so() {
    let env = TestEnv::new();
    let (remote, _a) = remote_with_three_sessions(&env);
    let b = clone(&env, &remote, "b");
    // What an older install left.
    b.git(&[
        "config",
        "--add",
        "remote.origin.fetch",
        "+refs/sessions/*:refs/remotes/origin/sessions/*",
    ]);
    b.git(&["fetch", "-q"]);
    assert!(!b
        .git(&["for-each-ref", "refs/remotes/origin/sessions/"])
        .is_empty());
    let installed = b.git_session(&["install"]).success();
    assert!(
        installed.stderr.contains("replaced") && installed.stderr.contains("pull --all"),
        "{installed}"
    );
    let fetch = b.git(&["config", "--get-all", "remote.origin.fetch"]);
    assert!(!fetch.contains("+refs/sessions/*"), "{fetch}");
    assert!(fetch.contains("+refs/session-index/*"), "{fetch}");
    let again = b.git_session(&["install"]).success();
    assert!(again.stderr.contains("nothing changed"), "{again}");
    // What was fetched before stays usable.
    b.git_session(&["show", TOOLCALL.id]).success();
}

#[test]
fn a_sessions_remote_gets_the_sessions_and_the_codes_remote_never_does() {
    let env = TestEnv::new();
    let code = env.bare_repo("code.git");
    let sessions = env.bare_repo("sessions.git");
    let sessions_url = format!("file://{}", sessions.dir.display());
    let a = env.repo_with_commit("a");
    a.git(&["remote", "add", "origin", &code.dir.display().to_string()]);
    let installed = a
        .git_session(&["install", "--sessions-remote", &sessions_url])
        .success();
    assert!(
        installed.stderr.contains("sessions only (session.remote)"),
        "{installed}"
    );
    assert_eq!(a.git(&["config", "session.remote"]).trim(), "sessions");
    assert_eq!(
        a.git(&["config", "remote.sessions.url"]).trim(),
        sessions_url
    );
    let remotes = a.git_session(&["remote", "list"]).success();
    assert!(
        remotes.stderr.contains("Sessions go to sessions only"),
        "{remotes}"
    );
    a.save(&[&TOOLCALL.path()]);

    // The pre-push hook of a code push sends the sessions to the sessions remote.
    let pushed = git_with_git_session(&a, &["push", "-q", "origin", "main"]).success();
    assert!(
        pushed.stderr.contains("pushed 1 session to sessions"),
        "{pushed}"
    );
    assert_eq!(
        sessions.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name())
    );
    let code_refs = || {
        code.git(&["for-each-ref", "--format=%(refname)"])
            .lines()
            .filter(|r| !r.starts_with("refs/heads/"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        code_refs(),
        Vec::<String>::new(),
        "nothing but code on origin"
    );

    // push (to its default), and a push named at the code's remote is refused.
    save_grown(&a);
    a.git_session(&["push"]).success();
    assert_eq!(
        sessions.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name())
    );
    let refused = a.git_session(&["push", "origin"]).failure();
    assert!(refused.stderr.contains("session.remote"), "{refused}");
    assert_eq!(code_refs(), Vec::<String>::new());
    assert!(!a
        .git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/remotes/origin/"
        ])
        .contains("session"));

    // A teammate: the code from origin, the sessions from the sessions repository.
    let b = clone(&env, &code, "b");
    b.git_session(&["install", "--sessions-remote", &sessions_url])
        .success();
    b.git(&["fetch", "-q", "--all"]);
    let listed = b.git_session(&["list"]).success();
    assert!(listed.stdout.contains("sessions (not fetched)"), "{listed}");
    let shown = b.git_session(&["show", TOOLCALL.id]).success();
    assert!(
        shown.stderr.contains("from sessions"),
        "fetched from the sessions remote: {shown}"
    );
    let pulled = b.git_session(&["pull", "--all", "--json"]).success().json();
    assert_eq!(pulled["remote"], "sessions");
    let b_pushed = git_with_git_session(&b, &["push", "-q", "origin", "HEAD:refs/heads/b"]);
    assert!(b_pushed.code == Some(0), "{b_pushed}");
    assert_eq!(code_refs(), Vec::<String>::new());

    // Uninstall takes out what install added.
    a.git_session(&["uninstall"]).success();
    assert_eq!(a.git_run(&["config", "session.remote"]).code, Some(1));
}

fn save_grown(repo: &Repo<'_>) {
    let path = repo.env.path("grown.json");
    write_json(&path, &crate::support::gen::grow(&TOOLCALL.json(), "a", 1));
    repo.save(&[&path]);
}

#[test]
fn a_remote_that_refuses_summaries_still_gets_the_sessions() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let hook = remote.dir.join("hooks/update");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncase \"$1\" in refs/session-index/*) echo \"no summaries here\" >&2; exit 1;; esac\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = env.repo_with_commit("a");
    a.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    a.save(&[&TOOLCALL.path()]);
    a.save(&[&COMPACTED.path()]);
    let pushed = a.git_session(&["push"]).success();
    for id in [TOOLCALL.id, COMPACTED.id] {
        let name = format!("refs/sessions/opencode/{id}");
        assert_eq!(remote.rev_parse(&name), a.rev_parse(&name), "{pushed}");
    }
    assert_eq!(
        remote.git(&["for-each-ref", "refs/session-index/"]),
        "",
        "the hook kept the summaries out"
    );
}
