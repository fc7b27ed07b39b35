//! Where and as whom a save is made: it leaves the worktree, index, HEAD and branches alone;
//! works in bare repositories and repositories without commits; and commits as the configured
//! user, or as a fallback identity when git has none.

use std::path::Path;

use crate::support::{TestEnv, REASONING, TOOLCALL, USER_EMAIL, USER_NAME};

/// Every file below `dir` except `.git/`, sorted, with its contents.
fn worktree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read the worktree") {
            let entry = entry.expect("a directory entry");
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).expect("read a file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn saving_leaves_worktree_index_head_and_branches_untouched() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    std::fs::write(repo.dir.join("notes.txt"), "untracked notes\n").expect("write a file");
    std::fs::write(repo.dir.join("README.md"), "# project\n\nedited\n").expect("edit a file");

    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.contains("?? notes.txt"),
        "the setup has an untracked file:\n{status}"
    );
    let index = std::fs::read(repo.git_dir.join("index")).expect("read the index");
    let head = repo.git(&["symbolic-ref", "HEAD"]);
    let head_commit = repo.rev_parse("HEAD");
    let branches = repo.git(&["for-each-ref", "refs/heads", "refs/tags"]);
    let files = worktree_files(&repo.dir);

    repo.save(&[&TOOLCALL.path()]);
    assert!(
        repo.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "the save happened"
    );

    assert_eq!(
        std::fs::read(repo.git_dir.join("index")).expect("read the index"),
        index,
        "the index file is byte for byte the same"
    );
    assert_eq!(
        repo.git(&["symbolic-ref", "HEAD"]),
        head,
        "HEAD still names the same branch"
    );
    assert_eq!(
        repo.rev_parse("HEAD"),
        head_commit,
        "HEAD's commit is the same"
    );
    assert_eq!(
        repo.git(&["for-each-ref", "refs/heads", "refs/tags"]),
        branches,
        "no branch or tag moved or appeared"
    );
    assert_eq!(
        worktree_files(&repo.dir),
        files,
        "no file added or changed in the worktree"
    );
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        status,
        "git status reads the same"
    );
    repo.assert_fsck_clean();
}

#[test]
fn a_bare_repository_can_save_list_and_show() {
    let env = TestEnv::new();
    let repo = env.bare_repo("shared.git");
    repo.save(&[&TOOLCALL.path()]);
    assert!(repo.rev_parse(&TOOLCALL.ref_name()).is_some());
    let list = repo.git_session(&["list"]).success();
    assert!(list.stdout.starts_with("ID "), "a header first:\n{list}");
    assert!(
        list.stdout
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with(TOOLCALL.id),
        "{list}"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
    assert_eq!(
        repo.git(&["for-each-ref", "refs/heads"]),
        "",
        "no branch appears in the bare repository"
    );
    repo.assert_fsck_clean();
}

#[test]
fn a_repository_without_commits_can_save_list_and_show() {
    let env = TestEnv::new();
    let repo = env.repo("fresh");
    repo.save(&[&REASONING.path()]);
    assert_eq!(repo.rev_parse("HEAD"), None, "HEAD is still unborn");
    assert_eq!(
        repo.git(&["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    let list = repo.git_session(&["list", "--json"]).success().json();
    assert_eq!(list["sessions"][0]["id"], REASONING.id, "{list:#}");
    assert_eq!(repo.show(REASONING.id, None), REASONING.json());
    repo.assert_fsck_clean();
}

#[test]
fn a_save_is_committed_as_the_configured_user() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&TOOLCALL.path()]);
    let who = repo.git(&[
        "log",
        "-1",
        "--format=%an <%ae>%n%cn <%ce>",
        &TOOLCALL.ref_name(),
    ]);
    let expected = format!("{USER_NAME} <{USER_EMAIL}>");
    assert_eq!(
        who.trim(),
        format!("{expected}\n{expected}"),
        "author and committer"
    );
}

#[test]
fn a_save_succeeds_when_git_has_no_identity_at_all() {
    let env = TestEnv::without_identity();
    let repo = env.repo("work");
    std::fs::write(repo.dir.join("README.md"), "# project\n").expect("write README.md");
    repo.git(&["add", "README.md"]);
    // git itself refuses to commit without an identity, so the setup commit names one here.
    repo.git(&[
        "-c",
        "user.name=Setup",
        "-c",
        "user.email=setup@example.com",
        "commit",
        "--quiet",
        "-m",
        "Initial commit",
    ]);
    assert!(
        repo.git_run(&["config", "user.name"]).code == Some(1)
            && repo.git_run(&["config", "user.email"]).code == Some(1),
        "the setup really configures no identity"
    );
    let run = repo
        .git_session(&["save", "--from", &TOOLCALL.arg()])
        .success();
    assert!(run.stderr.contains("Saved"), "{run}");
    let who = repo.git(&["log", "-1", "--format=%an <%ae>", &TOOLCALL.ref_name()]);
    let who = who.trim();
    assert!(
        !who.starts_with(' ') && !who.contains("<>"),
        "the fallback identity has a name and an email: {who:?}"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), TOOLCALL.json());
    repo.assert_fsck_clean();
}

#[test]
fn a_linked_worktree_saves_into_the_shared_repository() {
    let env = TestEnv::new();
    let main = env.repo_with_commit("work");
    let linked = env.path("linked");
    main.git(&[
        "worktree",
        "add",
        "--quiet",
        "-b",
        "feature",
        &linked.display().to_string(),
    ]);
    env.git_session_in(&linked, &["save", "--from", &TOOLCALL.arg()])
        .success();
    assert!(
        main.rev_parse(&TOOLCALL.ref_name()).is_some(),
        "the ref is in the common git dir, visible from the main worktree"
    );
    assert_eq!(main.show(TOOLCALL.id, None), TOOLCALL.json());
    assert_eq!(
        env.git_in(&linked, &["status", "--porcelain"]),
        "",
        "the linked worktree stays clean"
    );
    main.assert_fsck_clean();
}

#[test]
fn dash_c_runs_in_another_directory() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let dir = repo.dir.display().to_string();
    env.git_session_in(env.root(), &["-C", &dir, "save", "--from", &TOOLCALL.arg()])
        .success();
    assert!(repo.rev_parse(&TOOLCALL.ref_name()).is_some());
}
