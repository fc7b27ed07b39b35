//! Sharing through a real smart-HTTP server (`git http-backend` behind lighttpd on 127.0.0.1,
//! HTTP basic auth; see `support::http_git`): push, pull, sync, delete and the pre-push hook; a
//! host whose `pre-receive` refuses `refs/sessions/*`; a wrong password; 1,000 sessions.
//! See issue 18, "Every sharing test talks to bare repositories on disk".
//!
//! Clients get their credentials the way teams do: `credential.helper store` and
//! `~/.git-credentials`, never a password in a remote's URL (except where a test checks that
//! such a URL is not repeated). `GIT_TERMINAL_PROMPT=0` (set for every test process) makes a
//! missing credential a failure instead of a prompt.

use serde_json::Value;

use crate::install::git_with_git_session;
use crate::support::http_git::{server_or_skip, HttpGitServer, PASSWORD, USER};
use crate::support::{gen, many_exports, write_json, Repo, TestEnv, COMPACTED, TOOLCALL};

/// The server's copy of `name`, as a [`Repo`] to read refs from and fsck.
fn served<'e>(env: &'e TestEnv, server: &HttpGitServer, name: &str) -> Repo<'e> {
    let dir = server.create_bare(name);
    Repo {
        env,
        git_dir: dir.clone(),
        dir,
    }
}

/// Puts `password` for the server in the credential store every client of `env` uses
/// (`credential.helper store`, `~/.git-credentials`).
fn store_credentials(env: &TestEnv, server: &HttpGitServer, password: &str) {
    env.git_in(
        env.root(),
        &["config", "--global", "credential.helper", "store"],
    );
    std::fs::write(
        env.path("home/.git-credentials"),
        format!("http://{USER}:{password}@127.0.0.1:{}\n", server.port()),
    )
    .expect("write ~/.git-credentials");
}

/// `git clone <url> <name>` over HTTP.
fn clone<'e>(env: &'e TestEnv, url: &str, name: &str) -> Repo<'e> {
    env.git_in(env.root(), &["clone", "--quiet", url, name]);
    let dir = env.path(name);
    Repo {
        env,
        git_dir: dir.join(".git"),
        dir,
    }
}

/// A commit of a new file on `main`, for a branch push.
fn commit_file(repo: &Repo<'_>, name: &str) {
    std::fs::write(repo.dir.join(name), format!("{name}\n")).expect("write a file");
    repo.git(&["add", name]);
    repo.git(&["commit", "--quiet", "-m", &format!("Add {name}")]);
}

fn save_json(repo: &Repo<'_>, name: &str, export: &Value) {
    let path = repo.env.path(name);
    write_json(&path, export);
    repo.save(&[&path]);
}

/// `git for-each-ref` of the sessions refs and deletion records only (a branch push moves
/// `refs/remotes/origin/main`; nothing else may move).
fn session_refs(repo: &Repo<'_>) -> String {
    repo.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/sessions",
        "refs/session-deletions",
        "refs/remotes/origin/sessions",
    ])
}

#[test]
fn push_pull_sync_and_delete_work_over_smart_http_with_basic_auth() {
    let Some(server) = server_or_skip("push_pull_sync_and_delete_work_over_smart_http") else {
        return;
    };
    let env = TestEnv::new();
    let remote = served(&env, &server, "team.git");
    let url = server.url("team.git");

    // The server really asks: without credentials, nothing is read.
    let anonymous = env
        .command("git")
        .args(["ls-remote", &url])
        .output()
        .expect("run git ls-remote");
    assert!(
        !anonymous.status.success()
            && String::from_utf8_lossy(&anonymous.stderr).contains("could not read Username"),
        "the server must require authentication: {}",
        String::from_utf8_lossy(&anonymous.stderr)
    );

    store_credentials(&env, &server, PASSWORD);
    let a = clone(&env, &url, "a");
    let b = clone(&env, &url, "b");

    save_json(&a, "base.json", &TOOLCALL.json());
    let pushed = a.git_session(&["push"]).success();
    assert!(
        pushed
            .stderr
            .contains(&format!("pushed {} to origin (new)", TOOLCALL.id)),
        "{pushed}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name()),
        "the server holds the save"
    );

    let pulled = b.git_session(&["pull", "--all", "--json"]).success().json();
    assert_eq!(pulled["sessions"][0]["result"], "adopted", "{pulled}");
    assert_eq!(
        b.show(TOOLCALL.id, None),
        a.show(TOOLCALL.id, None),
        "b reads back what a saved"
    );

    // Both add messages; sync merges them through the server.
    save_json(&a, "a.json", &gen::grow(&TOOLCALL.json(), "a", 2));
    save_json(&b, "b.json", &gen::grow(&TOOLCALL.json(), "b", 3));
    a.git_session(&["sync"]).success();
    let merged = b.git_session(&["sync"]).success();
    assert!(merged.stderr.contains("merged"), "{merged}");
    a.git_session(&["sync"]).success();
    assert_eq!(
        a.rev_parse(&TOOLCALL.ref_name()),
        b.rev_parse(&TOOLCALL.ref_name()),
        "both clones end on the merge"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        a.rev_parse(&TOOLCALL.ref_name()),
        "and so does the server"
    );
    let messages = crate::support::message_ids(&b.show(TOOLCALL.id, None));
    for id in ["msg_zza_2", "msg_zzb_3"] {
        assert!(
            messages.iter().any(|m| m == id),
            "{id} survives: {messages:?}"
        );
    }

    // delete --remote: the ref goes on the server with a deletion record, and b's pull obeys it.
    let deleted = a
        .git_session(&[
            "delete",
            TOOLCALL.id,
            "--remote",
            "origin",
            "--reason",
            "done",
        ])
        .success();
    assert!(
        deleted
            .stderr
            .contains(&format!("deleted {} on origin", TOOLCALL.id)),
        "{deleted}"
    );
    assert_eq!(remote.rev_parse(&TOOLCALL.ref_name()), None, "gone there");
    let record = format!("refs/session-deletions/opencode/{}", TOOLCALL.id);
    assert!(
        remote.rev_parse(&record).is_some(),
        "the server holds the deletion record"
    );
    let pulled = b.git_session(&["pull"]).success();
    assert!(
        pulled
            .stderr
            .contains(&format!("deleted {} here", TOOLCALL.id)),
        "{pulled}"
    );
    assert_eq!(b.rev_parse(&TOOLCALL.ref_name()), None, "b's copy went");
    let pushed_back = b.git_session(&["push"]).success();
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        None,
        "b's push does not bring it back:\n{pushed_back}"
    );
    for repo in [&remote, &a, &b] {
        repo.assert_fsck_clean();
    }
}

#[test]
fn a_plain_git_push_over_http_sends_the_sessions_through_the_installed_hook() {
    let Some(server) = server_or_skip("a_plain_git_push_over_http_sends_the_sessions") else {
        return;
    };
    let env = TestEnv::new();
    let remote = served(&env, &server, "team.git");
    store_credentials(&env, &server, PASSWORD);
    let a = clone(&env, &server.url("team.git"), "a");
    a.git_session(&["install"]).success();
    a.save(&[&TOOLCALL.path(), &COMPACTED.path()]);
    commit_file(&a, "work.txt");

    let pushed = git_with_git_session(&a, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse("refs/heads/main"),
        a.rev_parse("refs/heads/main"),
        "the branch went:\n{pushed}"
    );
    assert!(
        pushed
            .stderr
            .contains("git-session: pushed 2 sessions to origin"),
        "{pushed}"
    );
    for example in [TOOLCALL, COMPACTED] {
        assert_eq!(
            remote.rev_parse(&example.ref_name()),
            a.rev_parse(&example.ref_name()),
            "{} went with it:\n{pushed}",
            example.id
        );
    }
    remote.assert_fsck_clean();
}

/// A `pre-receive` hook that takes branches and tags only, as some hosts do.
const BRANCHES_ONLY: &str = r#"#!/bin/sh
status=0
while read old new ref; do
  case "$ref" in
    refs/heads/*|refs/tags/*) ;;
    *) echo "custom refs are not accepted here: $ref"; status=1 ;;
  esac
done
exit $status
"#;

#[test]
fn a_host_that_refuses_custom_refs_gets_one_clear_error_and_nothing_is_lost() {
    let Some(server) = server_or_skip("a_host_that_refuses_custom_refs") else {
        return;
    };
    let env = TestEnv::new();
    let remote = served(&env, &server, "strict.git");
    server.install_hook("strict.git", "pre-receive", BRANCHES_ONLY);
    store_credentials(&env, &server, PASSWORD);
    let a = clone(&env, &server.url("strict.git"), "a");
    a.save(&[&TOOLCALL.path(), &COMPACTED.path()]);
    let before = session_refs(&a);
    let shown = a.show(TOOLCALL.id, None);

    for command in ["push", "sync"] {
        let refused = a.git_session(&[command]).failure();
        let error = refused.single_error(&[
            "origin refused all 2 session refs",
            "refs/sessions/*",
            "pre-receive hook declined",
            "custom refs are not accepted here",
            "nothing was lost locally",
        ]);
        assert_eq!(
            refused
                .stderr
                .lines()
                .filter(|l| l.contains("refused"))
                .count(),
            1,
            "{command}: one line, not one per session: {error}\n{refused}"
        );
        let hints = refused.hint_lines();
        assert!(
            hints.len() == 1
                && hints[0].contains("git session remote remove origin")
                && hints[0].contains("git session remote add"),
            "{command}: the hint says how to stop sending there and where to keep them:\n{refused}"
        );
        assert_eq!(session_refs(&a), before, "{command} moved no local ref");
    }

    // The installed hook on a plain `git push`: the branch goes, one warning line says why the
    // sessions did not.
    a.git_session(&["install"]).success();
    commit_file(&a, "work.txt");
    let pushed = git_with_git_session(&a, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse("refs/heads/main"),
        a.rev_parse("refs/heads/main"),
        "the user's branch push went through:\n{pushed}"
    );
    let warnings: Vec<&str> = pushed
        .stderr
        .lines()
        .filter(|l| l.contains("git-session"))
        .collect();
    assert_eq!(warnings.len(), 1, "one line from the hook:\n{pushed}");
    for needle in [
        "warning:",
        "origin refused all 2 session refs",
        "custom refs are not accepted here",
        "your push goes on",
        "git session remote remove origin",
    ] {
        assert!(warnings[0].contains(needle), "{needle:?}: {}", warnings[0]);
    }
    assert_eq!(session_refs(&a), before, "the hook moved no local ref");
    assert_eq!(
        remote.git(&["for-each-ref", "refs/sessions"]),
        "",
        "the host holds no sessions ref"
    );
    assert_eq!(
        a.show(TOOLCALL.id, None),
        shown,
        "the session reads back as before"
    );
    a.assert_fsck_clean();
    remote.assert_fsck_clean();
}

/// The password the credential store holds in the wrong-password test.
const WRONG: &str = "wrong-pass-8c1f";

#[test]
fn a_wrong_password_fails_cleanly_through_the_credential_helper_and_leaks_nothing() {
    let Some(server) = server_or_skip("a_wrong_password_fails_cleanly") else {
        return;
    };
    let env = TestEnv::new();
    let remote = served(&env, &server, "team.git");
    let a = env.repo_with_commit("a");
    a.git(&["remote", "add", "origin", &server.url("team.git")]);
    a.save(&[&TOOLCALL.path()]);
    let before = session_refs(&a);
    store_credentials(&env, &server, WRONG);

    // The store helper's password is refused: git tells the helper to drop it (its usual flow),
    // so the next command has no credentials at all. Both are an authentication failure.
    for (command, why) in [
        ("push", "the password is refused"),
        ("pull", "no credentials are left"),
        ("sync", "no credentials are left"),
    ] {
        let failed = a.git_session(&[command]).failure();
        failed.single_error(&["authentication to origin failed"]);
        let hints = failed.hint_lines();
        assert!(
            hints.len() == 1 && hints[0].contains("credential helper"),
            "{command} ({why}): the hint names the credential helper:\n{failed}"
        );
        for secret in [WRONG, PASSWORD] {
            assert!(
                !failed.stderr.contains(secret) && !failed.stdout.contains(secret),
                "{command} ({why}) must not print a password:\n{failed}"
            );
        }
        assert_eq!(session_refs(&a), before, "{command} moved no local ref");
    }
    let stored = std::fs::read_to_string(env.path("home/.git-credentials")).unwrap_or_default();
    assert!(
        !stored.contains(WRONG),
        "git dropped the refused password from the store: {stored:?}"
    );
    assert_eq!(
        remote.git(&["for-each-ref"]),
        "",
        "nothing reached the server"
    );

    // A token in the remote's URL (a pattern seen in CI): neither the error nor the pre-push
    // hook, which git hands the URL as it is, repeats it.
    let token_url = server
        .url("team.git")
        .replace("http://", &format!("http://{USER}:{WRONG}@"));
    a.git(&["remote", "set-url", "origin", &token_url]);
    let failed = a.git_session(&["push"]).failure();
    failed.single_error(&["authentication to origin failed"]);
    assert!(!failed.stderr.contains(WRONG), "{failed}");
    let hook = a
        .git_session(&["hook", "pre-push", &token_url, &token_url])
        .success();
    assert!(
        hook.stderr.contains("git-session") && !hook.stderr.contains(WRONG),
        "the hook's line names the URL without the token:\n{hook}"
    );
    assert_eq!(session_refs(&a), before);
    a.assert_fsck_clean();
}

/// How many sessions the bulk test pushes and fetches.
const MANY: usize = 1_000;

#[test]
fn a_thousand_sessions_push_and_fetch_over_http_complete_and_fsck_clean() {
    let Some(server) = server_or_skip("a_thousand_sessions_push_and_fetch_over_http") else {
        return;
    };
    let env = TestEnv::new();
    let remote = served(&env, &server, "team.git");
    store_credentials(&env, &server, PASSWORD);
    let a = clone(&env, &server.url("team.git"), "a");
    let b = clone(&env, &server.url("team.git"), "b");
    let (files, ids) = many_exports(&env, MANY);
    let files: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    a.save(&files);

    let pushed = a.git_session(&["push", "--json"]).success().json();
    let created = pushed["refs"]
        .as_array()
        .expect("refs")
        .iter()
        .filter(|r| r["status"] == "created")
        .count();
    assert_eq!(created, MANY, "every session was created on the server");
    let on_server = remote.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/sessions",
    ]);
    let here = a.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/sessions",
    ]);
    assert_eq!(on_server.lines().count(), MANY);
    assert_eq!(on_server, here, "the server holds exactly a's saves");

    let pulled = b.git_session(&["pull", "--all", "--json"]).success().json();
    let adopted = pulled["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter(|s| s["result"] == "adopted")
        .count();
    assert_eq!(adopted, MANY, "every session was adopted");
    assert_eq!(
        b.git(&[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/sessions"
        ]),
        here,
        "b holds exactly a's saves"
    );
    let last = ids.last().expect("ids");
    assert_eq!(
        b.show(last, None),
        a.show(last, None),
        "a session reads back equal"
    );
    remote.assert_fsck_clean();
    b.assert_fsck_clean();
}

/// Issue 19 over smart HTTP: after install, a plain `git fetch` through the server brings the
/// summaries (list shows the sessions as not fetched, their objects absent), and `show` fetches
/// the one session it names, on demand, through the same authenticated server.
#[test]
fn a_plain_fetch_over_http_lists_sessions_and_show_fetches_one_on_demand() {
    let Some(server) = server_or_skip("a_plain_fetch_over_http_lists_sessions") else {
        return;
    };
    let env = TestEnv::new();
    let _remote = served(&env, &server, "team.git");
    let url = server.url("team.git");
    store_credentials(&env, &server, PASSWORD);
    let a = clone(&env, &url, "a");
    commit_file(&a, "README");
    a.git(&["push", "--quiet", "origin", "HEAD:main"]);
    save_json(&a, "toolcall.json", &TOOLCALL.json());
    save_json(&a, "compacted.json", &COMPACTED.json());
    a.git_session(&["push"]).success();

    let b = clone(&env, &url, "b");
    b.git_session(&["install"]).success();
    b.git(&["fetch", "--quiet"]);
    assert_eq!(
        b.git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/remotes/origin/sessions/"
        ]),
        "",
        "a plain fetch brings no session ref"
    );
    let tip = a.rev_parse(&TOOLCALL.ref_name()).expect("a saved it");
    assert_ne!(
        b.git_run(&["cat-file", "-e", &tip]).code,
        Some(0),
        "the save is not here before it is asked for"
    );
    let listed = b.git_session(&["list"]).success();
    for id in [TOOLCALL.id, COMPACTED.id] {
        let line = listed
            .stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} is listed:\n{listed}"));
        assert!(line.ends_with("origin (not fetched)"), "{line}");
    }

    let shown = b.git_session(&["show", TOOLCALL.id]).success();
    assert!(
        shown
            .stderr
            .contains(&format!("Fetched {} from origin", TOOLCALL.id)),
        "{shown}"
    );
    assert!(!shown.stderr.contains(PASSWORD), "{shown}");
    assert_eq!(
        serde_json::from_str::<Value>(&shown.stdout).expect("show prints JSON"),
        a.show(TOOLCALL.id, None),
        "b reads back what a saved"
    );
    let compacted_tip = a.rev_parse(&COMPACTED.ref_name()).expect("a saved it");
    assert_ne!(
        b.git_run(&["cat-file", "-e", &compacted_tip]).code,
        Some(0),
        "the other session stays on the server"
    );
}
