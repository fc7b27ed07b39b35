//! A deletion propagates: after `delete --remote`, a teammate's push (by hand or from the
//! pre-push hook) does not bring the session back.
//! See the issue "Sharing without surprises": "A deleted session comes back."

use crate::install::git_with_git_session;
use crate::share::remote_and_two_clones;
use crate::support::{Repo, TestEnv, TOOLCALL};

/// The remote, the deleter `a` (Alice) and the teammate `b`; both clones hold TOOLCALL (a saved
/// and pushed it, b pulled it). Then Alice runs `delete <id> --remote origin`.
struct Deleted<'e> {
    remote: Repo<'e>,
    b: Repo<'e>,
}

fn both_have_it_then_alice_deletes_it_on_the_remote(env: &TestEnv) -> Deleted<'_> {
    let (remote, a, b) = remote_and_two_clones(env);
    a.git(&["config", "user.name", "Alice"]);
    a.git(&["config", "user.email", "alice@example.com"]);
    a.save(&[&TOOLCALL.path()]);
    a.git_session(&["push"]).success();
    b.git_session(&["pull"]).success();
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
    Deleted { remote, b }
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
    let pulled = a.git_session(&["pull"]).success();
    assert!(
        a.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "a local delete is undone by the next pull, as before:\n{pulled}"
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
