//! The manual and shell completion: `git session man --install` (and `install`) put the pages
//! where man-db finds them, `git help session` renders them, and the bash completion script
//! completes through git's own completion.

use std::path::{Path, PathBuf};

use crate::conventions::git_cmd_with_path;
use crate::support::{Repo, TestEnv, COMPACTED};

/// A prefix with `bin/git-session` (a symlink to the tested binary), as `cargo install --root`
/// or a package would lay it out; returns the prefix and a PATH with its bin first.
fn prefix_with_git_session(env: &TestEnv, name: &str) -> (PathBuf, std::ffi::OsString) {
    let prefix = env.path(name);
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_git-session"),
        prefix.join("bin/git-session"),
    )
    .unwrap();
    let mut dirs = vec![prefix.join("bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    (prefix, std::env::join_paths(dirs).unwrap())
}

/// Whether man-db is here; with `GIT_SESSION_REQUIRE_E2E=1` its absence fails.
fn have(program: &str, args: &[&str]) -> bool {
    let found = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("GIT_SESSION_REQUIRE_E2E").is_none(),
            "{program} is needed (Debian package man-db)"
        );
        println!("SKIPPED: {program} not installed");
    }
    found
}

fn page(prefix: &Path, name: &str) -> PathBuf {
    prefix.join("share/man/man1").join(name)
}

#[test]
fn git_help_session_shows_the_installed_manual() {
    if !have("man", &["--version"]) {
        return;
    }
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let (prefix, path) = prefix_with_git_session(&env, "prefix");
    let installed =
        git_cmd_with_path(&repo, &path, &["session", "man", "--install"], &[]).success();
    let root_page = page(&prefix, "git-session.1");
    assert!(
        installed.stderr.contains(&root_page.display().to_string()),
        "installed beside the git-session on PATH:\n{installed}"
    );
    assert!(
        installed.stderr.contains("'git help session'"),
        "man finds it:\n{installed}"
    );
    // In sync with the code: what is installed is what this binary generates.
    let printed = git_cmd_with_path(&repo, &path, &["session", "man"], &[]).success();
    assert_eq!(std::fs::read_to_string(&root_page).unwrap(), printed.stdout);
    assert!(page(&prefix, "git-session-log.1").exists());
    let again = git_cmd_with_path(&repo, &path, &["session", "man", "--install"], &[]).success();
    assert!(again.stderr.contains("up to date"), "{again}");

    let man_env = [("MANPAGER", "cat"), ("MANWIDTH", "200"), ("PAGER", "cat")];
    for args in [&["help", "session"][..], &["session", "--help"]] {
        let shown = git_cmd_with_path(&repo, &path, args, &man_env).success();
        for needle in [
            "git session",
            "git-session-save(1)",
            "git-session-search(1)",
            "-C",
        ] {
            assert!(
                shown.stdout.contains(needle),
                "{needle:?} in git {args:?}:\n{shown}"
            );
        }
    }
    let log_page =
        git_cmd_with_path(&repo, &path, &["help", "git-session-log"], &man_env).success();
    assert!(log_page.stdout.contains("--no-pager"), "{log_page}");
    let help = git_cmd_with_path(&repo, &path, &["session", "help", "log"], &[]).success();
    assert!(help.stdout.contains("--color"), "{help}");

    // `git session install` puts it there too.
    let (other, path) = prefix_with_git_session(&env, "other");
    let run = git_cmd_with_path(&repo, &path, &["session", "install"], &[]).success();
    assert!(page(&other, "git-session.1").exists(), "{run}");
}

#[test]
fn bash_completion_completes_commands_options_and_session_ids_through_git() {
    let git_completion = Path::new("/usr/share/bash-completion/completions/git");
    if !git_completion.exists() {
        assert!(
            std::env::var_os("GIT_SESSION_REQUIRE_E2E").is_none(),
            "git's bash completion (Debian package git) is needed"
        );
        println!("SKIPPED: git's bash completion not installed");
        return;
    }
    let env = TestEnv::new();
    let repo: Repo<'_> = env.repo_with_commit("project");
    repo.save(&[&COMPACTED.path()]);
    let script = repo.git_session(&["completions", "bash"]).success().stdout;
    let script_path = env.path("git-session.bash");
    std::fs::write(&script_path, script).unwrap();
    let complete = |line: &str| {
        let program = format!(
            r#"source {git}; source {ours}
COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}; read -ra COMP_WORDS <<<"$1"
[[ "$1" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMPREPLY=()
__git_wrap__git_main
printf '%s\n' "${{COMPREPLY[@]}}""#,
            git = git_completion.display(),
            ours = script_path.display()
        );
        let output = env
            .command("bash")
            .current_dir(&repo.dir)
            .env("PATH", crate::install::path_with_git_session())
            .args(["--norc", "--noprofile", "-c", &program, "bash", line])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let commands = complete("git session lo");
    assert_eq!(
        commands.split_whitespace().collect::<Vec<_>>(),
        ["load", "log"],
        "{commands}"
    );
    let ids = complete("git session show ses_d");
    assert_eq!(ids.trim(), COMPACTED.id, "{ids}");
    let options = complete("git session search --fi");
    assert_eq!(options.trim(), "--fixed-strings", "{options}");
    let values = complete("git session list --color=al");
    assert_eq!(values.trim(), "always", "{values}");
}
