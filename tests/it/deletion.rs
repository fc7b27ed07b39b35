//! A deletion propagates: after `delete --remote`, a teammate's push (by hand or from the
//! pre-push hook) does not bring the session back, their pull deletes their copy and says who
//! deleted it and when, `list` shows the deletion, `--keep-deleted` keeps a copy, and only
//! `push --undelete` shares a deleted session again.
//! See the issue "Sharing without surprises": "A deleted session comes back."

use serde_json::Value;

use crate::install::git_with_git_session;
use crate::share::remote_and_two_clones;
use crate::support::{gen, write_json, Repo, TestEnv, TOOLCALL};

/// The remote, the deleter `a` (Alice) and the teammate `b`; both clones hold TOOLCALL (a saved
/// and pushed it, b pulled it). Then Alice runs `delete <id> --remote origin`.
struct Deleted<'e> {
    remote: Repo<'e>,
    a: Repo<'e>,
    b: Repo<'e>,
}

fn both_have_it_then_alice_deletes_it_on_the_remote(env: &TestEnv) -> Deleted<'_> {
    let (remote, a, b) = remote_and_two_clones(env);
    a.git(&["config", "user.name", "Alice"]);
    a.git(&["config", "user.email", "alice@example.com"]);
    a.save(&[&TOOLCALL.path()]);
    a.git_session(&["push"]).success();
    b.git_session(&["pull", "--all"]).success();
    assert!(
        b.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "b has the session before the deletion"
    );
    let deleted = a
        .git_session(&["delete", TOOLCALL.id, "--remote", "origin"])
        .success();
    assert!(
        deleted
            .stderr
            .contains(&format!("deleted {} on origin", TOOLCALL.id)),
        "{deleted}"
    );
    assert_eq!(remote.rev_parse(&TOOLCALL.ref_name()), None, "gone there");
    Deleted { remote, a, b }
}

/// When the deletion was recorded on the remote, as `list` and `pull` print times (local time;
/// the tests run with TZ=UTC).
fn deletion_time(remote: &Repo<'_>) -> String {
    remote
        .git(&[
            "log",
            "-1",
            "--date=format-local:%Y-%m-%d %H:%M",
            "--format=%cd",
            &format!("refs/session-deletions/opencode/{}", TOOLCALL.id),
        ])
        .trim()
        .to_owned()
}

fn lines_naming<'r>(text: &'r str, id: &str) -> Vec<&'r str> {
    text.lines().filter(|l| l.contains(id)).collect()
}

#[test]
fn a_teammates_push_and_pre_push_hook_do_not_bring_a_deleted_session_back() {
    let env = TestEnv::new();
    let Deleted { remote, b, .. } = both_have_it_then_alice_deletes_it_on_the_remote(&env);

    let pushed = b.git_session(&["push"]).success();
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        None,
        "git session push did not resurrect it:\n{pushed}"
    );
    let skipped = lines_naming(&pushed.stderr, TOOLCALL.id);
    assert_eq!(
        skipped.len(),
        1,
        "one line for the skipped session:\n{pushed}"
    );
    assert!(
        skipped[0].contains("skipped") && skipped[0].contains("Alice"),
        "it says it was skipped and who deleted it: {}",
        skipped[0]
    );
    assert!(
        skipped[0].contains(&format!("git session push --undelete {}", TOOLCALL.id)),
        "and how to share it again anyway: {}",
        skipped[0]
    );
    assert!(
        b.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "a push changes nothing locally"
    );

    // The installed pre-push hook, on the teammate's ordinary `git push`.
    b.git_session(&["install"]).success();
    std::fs::write(b.dir.join("notes.txt"), "work\n").unwrap();
    b.git(&["add", "notes.txt"]);
    b.git(&["commit", "--quiet", "-m", "Some work"]);
    let git_push = git_with_git_session(&b, &["push", "origin", "main"]).success();
    assert_eq!(
        remote.rev_parse("refs/heads/main"),
        b.rev_parse("refs/heads/main"),
        "the user's own push went through:\n{git_push}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        None,
        "the hook did not resurrect it:\n{git_push}"
    );
    let skipped = lines_naming(&git_push.stderr, TOOLCALL.id);
    assert_eq!(skipped.len(), 1, "one line from the hook:\n{git_push}");
    assert!(
        skipped[0].starts_with("git-session: skipped") && skipped[0].contains("Alice"),
        "{}",
        skipped[0]
    );

    // A push to the remote's URL instead of its name (the hook then gets the URL): the records
    // are asked for by name only, and the session still stays away.
    let url = remote.dir.display().to_string();
    let by_url = b.git_session(&["hook", "pre-push", &url, &url]).success();
    assert_eq!(remote.rev_parse(&TOOLCALL.ref_name()), None, "{by_url}");
    let skipped = lines_naming(&by_url.stderr, TOOLCALL.id);
    assert_eq!(skipped.len(), 1, "{by_url}");
    assert!(
        skipped[0].contains("has a deletion record"),
        "{}",
        skipped[0]
    );
    remote.assert_fsck_clean();
}

#[test]
fn a_teammates_pull_deletes_their_copy_says_who_and_when_and_keeps_it_restorable() {
    let env = TestEnv::new();
    let Deleted { remote, a, b } = both_have_it_then_alice_deletes_it_on_the_remote(&env);
    let tip = b.rev_parse(&TOOLCALL.ref_name()).unwrap();
    let when = deletion_time(&remote);

    let pulled = b.git_session(&["pull"]).success();
    assert_eq!(
        b.rev_parse(&TOOLCALL.ref_name()),
        None,
        "the pull deleted the local copy:\n{pulled}"
    );
    let said = lines_naming(&pulled.stderr, TOOLCALL.id);
    assert_eq!(said.len(), 1, "one line about it:\n{pulled}");
    for needle in ["deleted", "Alice <alice@example.com>", &when, "origin"] {
        assert!(said[0].contains(needle), "{needle:?} in: {}", said[0]);
    }
    // Nothing is lost: the line names the command that brings it back.
    let restore = said[0]
        .split("git update-ref ")
        .nth(1)
        .expect("the line says how to restore it");
    let restore: Vec<&str> = restore
        .trim_end_matches(')')
        .split_whitespace()
        .take(2)
        .collect();
    assert_eq!(
        b.rev_parse(restore[1]).as_deref(),
        Some(tip.as_str()),
        "the backup ref holds the deleted tip"
    );

    // list shows the deletion (who, when) on both sides; the session itself is not listed.
    for repo in [&b, &a] {
        let list = repo.git_session(&["list"]).success();
        assert!(
            !list.stdout.contains(TOOLCALL.id),
            "not listed as a session:\n{list}"
        );
        let shown = lines_naming(&list.stderr, TOOLCALL.id);
        assert_eq!(shown.len(), 1, "one deletion line:\n{list}");
        for needle in ["deleted", "Alice", &when] {
            assert!(shown[0].contains(needle), "{needle:?} in: {}", shown[0]);
        }
        let json = repo.git_session(&["list", "--json"]).success().json();
        let deletions = json["deletions"].as_array().expect("a deletions array");
        let entry: &Value = deletions
            .iter()
            .find(|d| d["session"] == TOOLCALL.id)
            .expect("the deletion is listed");
        assert_eq!(entry["deletedBy"], "Alice", "{json}");
        assert_eq!(entry["email"], "alice@example.com", "{json}");
        assert_eq!(entry["deletedTip"], tip.as_str(), "{json}");
        assert!(
            entry["deletedAt"]
                .as_str()
                .unwrap()
                .starts_with(&when[..10]),
            "{json}"
        );
    }

    // Pulling again changes nothing and says nothing more about it.
    let again = b.git_session(&["pull"]).success();
    assert!(
        lines_naming(&again.stderr, TOOLCALL.id).is_empty(),
        "{again}"
    );

    b.git(&["update-ref", restore[0], restore[1]]);
    assert_eq!(
        b.show(TOOLCALL.id, None),
        TOOLCALL.json(),
        "restored as saved"
    );
    b.assert_fsck_clean();
}

#[test]
fn pull_keep_deleted_keeps_the_local_copy_and_push_still_skips_it() {
    let env = TestEnv::new();
    let Deleted { remote, b, .. } = both_have_it_then_alice_deletes_it_on_the_remote(&env);
    let tip = b.rev_parse(&TOOLCALL.ref_name());

    let pulled = b.git_session(&["pull", "--keep-deleted"]).success();
    assert_eq!(
        b.rev_parse(&TOOLCALL.ref_name()),
        tip,
        "kept as asked:\n{pulled}"
    );
    let said = lines_naming(&pulled.stderr, TOOLCALL.id);
    assert_eq!(said.len(), 1, "{pulled}");
    assert!(
        said[0].contains("kept") && said[0].contains("Alice"),
        "{}",
        said[0]
    );
    let json = b
        .git_session(&["pull", "--keep-deleted", "--json"])
        .success()
        .json();
    let seen = &json["deletions"][0];
    assert_eq!(seen["session"], TOOLCALL.id, "{json}");
    assert_eq!(seen["result"], "kept-as-asked", "{json}");
    assert_eq!(seen["deletedBy"], "Alice", "{json}");
    let list = b.git_session(&["list"]).success();
    assert!(
        lines_naming(&list.stdout, TOOLCALL.id)[0].contains("deleted on origin"),
        "the kept copy is marked:\n{list}"
    );

    for args in [&["push"][..], &["sync", "--keep-deleted"]] {
        let run = b.git_session(args).success();
        assert_eq!(
            remote.rev_parse(&TOOLCALL.ref_name()),
            None,
            "the kept copy is not pushed:\n{run}"
        );
        assert_eq!(b.rev_parse(&TOOLCALL.ref_name()), tip, "and still kept");
    }
    // A sync without the option applies the deletion like a pull.
    let synced = b.git_session(&["sync"]).success();
    assert_eq!(b.rev_parse(&TOOLCALL.ref_name()), None, "{synced}");
}

#[test]
fn a_save_after_the_deletion_stays_local_until_push_undelete_shares_it_again() {
    let env = TestEnv::new();
    let Deleted { remote, a, b } = both_have_it_then_alice_deletes_it_on_the_remote(&env);
    // The teammate goes on working in the session after the deletion (an hour later, by the
    // committer date the save records).
    let grown = env.path("grown.json");
    write_json(&grown, &gen::grow(&TOOLCALL.json(), "b", 2));
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let output = env
        .git_session_command(&b.dir)
        .env("GIT_COMMITTER_DATE", format!("{later} +0000"))
        .args(["save", "--from", &grown.display().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let tip = b.rev_parse(&TOOLCALL.ref_name());

    let pulled = b.git_session(&["pull"]).success();
    assert_eq!(
        b.rev_parse(&TOOLCALL.ref_name()),
        tip,
        "work saved after the deletion is not deleted:\n{pulled}"
    );
    assert!(
        lines_naming(&pulled.stderr, TOOLCALL.id)[0].contains("saved after"),
        "{pulled}"
    );
    b.git_session(&["push"]).success();
    assert_eq!(remote.rev_parse(&TOOLCALL.ref_name()), None, "not pushed");

    let undeleted = b
        .git_session(&["push", "--undelete", TOOLCALL.id])
        .success();
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        tip,
        "shared again on purpose:\n{undeleted}"
    );
    assert_eq!(
        remote.rev_parse(&format!("refs/session-deletions/opencode/{}", TOOLCALL.id)),
        None,
        "the deletion record is gone from the remote"
    );

    // Alice's next pull brings it back, and her list no longer shows it as deleted.
    let pulled = a.git_session(&["pull"]).success();
    assert_eq!(a.rev_parse(&TOOLCALL.ref_name()), tip, "{pulled}");
    let list = a.git_session(&["list"]).success();
    assert!(list.stdout.contains(TOOLCALL.id), "{list}");
    assert!(!list.stderr.contains("deleted"), "{list}");
    for repo in [&a, &b, &remote] {
        repo.assert_fsck_clean();
    }
}

#[test]
fn delete_without_remote_records_nothing_and_the_next_pull_brings_it_back() {
    let env = TestEnv::new();
    let (remote, a, _b) = remote_and_two_clones(&env);
    a.save(&[&TOOLCALL.path()]);
    a.git_session(&["push"]).success();
    a.git_session(&["delete", TOOLCALL.id]).success();
    assert_eq!(a.rev_parse(&TOOLCALL.ref_name()), None);
    assert_eq!(
        a.git(&["for-each-ref", "refs/session-deletions/"]),
        "",
        "no deletion record here"
    );
    a.git_session(&["push"]).success();
    assert_eq!(
        remote.git(&["for-each-ref", "refs/session-deletions/"]),
        "",
        "nor on the remote"
    );
    let pulled = a.git_session(&["pull", "--all"]).success();
    assert!(
        a.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "a local delete is undone by the next pull --all:\n{pulled}"
    );
}

#[test]
fn a_remote_that_refuses_the_deletion_record_keeps_the_session_too() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let (remote, a, _b) = remote_and_two_clones(&env);
    a.save(&[&TOOLCALL.path()]);
    a.git_session(&["push"]).success();
    // An update hook decides per ref: session refs may go, deletion records may not come.
    // The push is atomic, so the session stays as well.
    let hook = remote.git_dir.join("hooks/update");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncase \"$1\" in refs/session-deletions/*) echo 'no records' >&2; exit 1;; esac\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let before = remote.rev_parse(&TOOLCALL.ref_name());
    let refused = a
        .git_session(&["delete", TOOLCALL.id, "--remote", "origin"])
        .failure();
    refused.single_error(&["deletion record", TOOLCALL.id, "nothing was deleted there"]);
    assert!(
        refused.hint_lines()[0].contains("refs/session-deletions/*"),
        "{refused}"
    );
    assert_eq!(
        remote.rev_parse(&TOOLCALL.ref_name()),
        before,
        "the session and its record go together or not at all:\n{refused}"
    );
    assert!(
        a.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "kept here since origin still has it"
    );
    assert_eq!(
        a.git(&["for-each-ref", "refs/session-deletions/"]),
        "",
        "no record here that the remote does not have"
    );
}
