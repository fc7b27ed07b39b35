//! `scrub` and the remotes a session was pushed to: a warning only for a remote that holds
//! rewritten saves, with a force-push that git accepts as printed; nothing for a remote that
//! never had them. See the issue "Sharing without surprises".

use serde_json::Value;

use crate::support::{gen, write_json, Repo, TestEnv, COMPACTED, TOOLCALL};

/// A fake GitHub token built at run time (a literal one would be a secret in this repository's
/// own sources), different for every seed.
fn fake_token(seed: u64) -> String {
    const B62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut token = String::from("ghp_");
    for _ in 0..36 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        token.push(B62[(state >> 33) as usize % B62.len()] as char);
    }
    token
}

/// Saves `export` without redaction (as an older git-session, or `--no-redact`, would have).
fn save_unredacted(repo: &Repo<'_>, name: &str, export: &Value) {
    let path = repo.env.path(name);
    write_json(&path, export);
    repo.git_session(&["save", "--no-redact", "--from", &path.display().to_string()])
        .success();
}

fn save(repo: &Repo<'_>, name: &str, export: &Value) {
    let path = repo.env.path(name);
    write_json(&path, export);
    repo.save(&[&path]);
}

/// The `git push ...` commands of the `hint:` lines, split into arguments after `git`.
fn force_pushes(stderr: &str) -> Vec<Vec<String>> {
    stderr
        .lines()
        .filter(|l| l.starts_with("hint:"))
        .filter_map(|l| l.split_once("git push --force-with-lease"))
        .map(|(_, rest)| {
            let command = format!("push --force-with-lease{rest}");
            command.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn scrub_gives_each_remote_holding_old_saves_a_force_push_that_works_as_printed() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let origin = env.bare_repo("origin.git");
    let mirror = env.bare_repo("mirror.git");
    repo.git(&["remote", "add", "origin", &origin.dir.display().to_string()]);
    repo.git(&["remote", "add", "mirror", &mirror.dir.display().to_string()]);
    let token = fake_token(1);
    let leaky = gen::with_bash_output(&TOOLCALL.json(), &format!("GITHUB_TOKEN={token}\n"));
    let name = TOOLCALL.ref_name();

    // The first save (with the secret) reaches both remotes; origin's copy is also fetched
    // back, so this clone has a remote-tracking ref for it, and mirror's is not.
    save_unredacted(&repo, "one.json", &leaky);
    let pushed = repo.rev_parse(&name).unwrap();
    repo.git_session(&["push", "origin"]).success();
    repo.git_session(&["push", "mirror", "--remote-ok"])
        .success();
    repo.git_session(&["pull", "origin"]).success();
    assert_eq!(
        repo.rev_parse(&format!(
            "refs/remotes/origin/sessions/opencode/{}",
            TOOLCALL.id
        )),
        Some(pushed.clone()),
        "origin is known through its remote-tracking ref"
    );
    // A second save stays here: neither remote has it.
    save_unredacted(&repo, "two.json", &gen::grow(&leaky, "b", 1));
    let old_tip = repo.rev_parse(&name).unwrap();

    let scrub = repo.git_session(&["scrub", TOOLCALL.id]).success();
    let new_tip = repo.rev_parse(&name).unwrap();
    assert_ne!(new_tip, old_tip, "the saves were rewritten:\n{scrub}");
    for remote in ["origin", "mirror"] {
        assert!(
            scrub
                .stderr
                .lines()
                .any(|l| l.starts_with("warning:") && l.contains(remote)),
            "{remote} holds a rewritten save and is warned about:\n{scrub}"
        );
    }
    assert!(
        !scrub.stderr.contains(&format!(":{old_tip}")),
        "the lease names what each remote has, not this clone's old tip (which no remote has):\n{scrub}"
    );
    let pushes = force_pushes(&scrub.stderr);
    assert_eq!(pushes.len(), 2, "one command per remote:\n{scrub}");
    for args in &pushes {
        assert!(
            args.iter()
                .any(|a| a == &format!("--force-with-lease={name}:{pushed}")),
            "the lease expects the save the remote has: {args:?}"
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = repo.git_run(&args);
        assert_eq!(run.code, Some(0), "the printed command works as is:\n{run}");
    }
    for remote in [&origin, &mirror] {
        assert_eq!(
            remote.rev_parse(&name),
            Some(new_tip.clone()),
            "the remote now holds the scrubbed history"
        );
        let reachable = remote.git(&["rev-list", &name]);
        assert!(
            !reachable.contains(&pushed),
            "the old save is gone from the remote's history:\n{reachable}"
        );
        let objects = remote.reachable_objects(&name);
        assert!(
            objects
                .iter()
                .all(|(_, _, bytes)| !String::from_utf8_lossy(bytes).contains(&token)),
            "no object the remote's ref reaches holds the secret"
        );
    }
    // Done: scrubbing again finds nothing and warns about nothing.
    let again = repo.git_session(&["scrub", TOOLCALL.id]).success();
    assert!(again.stderr.contains("Nothing to scrub"), "{again}");
    repo.assert_fsck_clean();
}

#[test]
fn scrub_warns_about_no_remote_that_never_had_the_rewritten_saves() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let origin = env.bare_repo("origin.git");
    repo.git(&["remote", "add", "origin", &origin.dir.display().to_string()]);
    let token = fake_token(2);

    // TOOLCALL: a clean first save is pushed; only the later, leaky save stays here.
    save(&repo, "clean.json", &TOOLCALL.json());
    repo.git_session(&["push"]).success();
    let leaky = gen::with_bash_output(
        &gen::grow(&TOOLCALL.json(), "b", 1),
        &format!("GITHUB_TOKEN={token}\n"),
    );
    save_unredacted(&repo, "leaky.json", &leaky);
    let scrub = repo.git_session(&["scrub", TOOLCALL.id]).success();
    assert!(
        scrub.stderr.contains("1 of 2 saves held secrets"),
        "{scrub}"
    );
    assert!(
        !scrub.stderr.contains("warning:") && !scrub.stderr.contains("--force"),
        "origin has only the clean save, which scrub kept: nothing to overwrite there:\n{scrub}"
    );
    let pushed = repo.git_session(&["push"]).success();
    assert_eq!(
        origin.rev_parse(&TOOLCALL.ref_name()),
        repo.rev_parse(&TOOLCALL.ref_name()),
        "a plain push brings origin the scrubbed save:\n{pushed}"
    );

    // COMPACTED: saved with a secret and never pushed anywhere.
    let never_pushed = gen::with_bash_output(&COMPACTED.json(), &format!("token {token}\n"));
    save_unredacted(&repo, "never.json", &never_pushed);
    let scrub = repo.git_session(&["scrub", COMPACTED.id]).success();
    assert!(scrub.stderr.contains("Scrubbed"), "{scrub}");
    assert!(
        !scrub.stderr.contains("warning:") && !scrub.stderr.contains("--force"),
        "a session no remote has gets no warning:\n{scrub}"
    );
    assert_eq!(
        origin.rev_parse(&COMPACTED.ref_name()),
        None,
        "and nothing was sent"
    );
}

#[test]
fn scrub_says_plainly_when_it_cannot_reach_a_remote_to_check() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let gone = env.path("gone.git");
    repo.git(&["remote", "add", "gone", &gone.display().to_string()]);
    let leaky = gen::with_bash_output(
        &TOOLCALL.json(),
        &format!("GITHUB_TOKEN={}\n", fake_token(3)),
    );
    save_unredacted(&repo, "leaky.json", &leaky);
    let old_tip = repo.rev_parse(&TOOLCALL.ref_name()).unwrap();
    let scrub = repo.git_session(&["scrub", TOOLCALL.id]).success();
    let line = scrub
        .stderr
        .lines()
        .find(|l| l.contains("gone") && l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("a line names the remote it could not check:\n{scrub}"));
    assert!(line.contains("could not"), "{line}");
    assert!(
        scrub
            .stderr
            .contains(&format!("git ls-remote gone {}", TOOLCALL.ref_name())),
        "it says how to check by hand:\n{scrub}"
    );
    assert!(
        !scrub.stderr.contains(&old_tip),
        "no lease value is guessed without knowing what the remote holds:\n{scrub}"
    );
}
