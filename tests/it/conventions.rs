//! What a git user expects of a git subcommand: `git -c` settings, git's exit codes, color and
//! the pager as `git log` has them (under a pseudo-terminal made by util-linux's `script`).

use std::process::Command;

use crate::install::path_with_git_session;
use crate::support::{Repo, Run, TestEnv, COMPACTED, TOOLCALL};

/// Runs `git <args>` in `repo` with git-session on PATH, as a user types `git session ...`.
pub(crate) fn git_cmd(repo: &Repo<'_>, args: &[&str]) -> Run {
    git_cmd_with_path(repo, &path_with_git_session(), args, &[])
}

/// Runs `git <args>` in `repo` with this `PATH` and these variables set.
pub(crate) fn git_cmd_with_path(
    repo: &Repo<'_>,
    path: &std::ffi::OsStr,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Run {
    let mut command = repo.env.command("git");
    command.current_dir(&repo.dir).env("PATH", path).args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    run_of(format!("git {}", args.join(" ")), command.output())
}

fn run_of(command: String, output: std::io::Result<std::process::Output>) -> Run {
    let output = output.unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    Run {
        command,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Whether util-linux's `script` is here; with `GIT_SESSION_REQUIRE_E2E=1` its absence fails.
pub(crate) fn have_script() -> bool {
    let found = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("GIT_SESSION_REQUIRE_E2E").is_none(),
            "util-linux's script is needed for the pseudo-terminal tests"
        );
        println!("SKIPPED: script (util-linux) not installed");
    }
    found
}

/// Runs `command` on a pseudo-terminal (stdin, stdout and stderr all on it), as a user at a
/// terminal would, and returns everything the terminal showed.
pub(crate) fn in_pty(command: Command) -> Run {
    let program = command.get_program().to_string_lossy().into_owned();
    let line: Vec<String> = std::iter::once(program)
        .chain(command.get_args().map(|a| a.to_string_lossy().into_owned()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let line = line.join(" ");
    // The command's environment was cleared (see TestEnv::command): script starts from it too.
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            script.env(key, value);
        }
    }
    script.env("TERM", "xterm");
    if let Some(dir) = command.get_current_dir() {
        script.current_dir(dir);
    }
    run_of(format!("script -c {line}"), script.output())
}

fn saved_repo(env: &TestEnv) -> Repo<'_> {
    let repo = env.repo_with_commit("project");
    repo.save(&[&COMPACTED.path()]);
    repo
}

#[test]
fn settings_given_with_git_dash_c_apply_as_git_config_does() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let from = COMPACTED.arg();
    let saved = git_cmd(
        &repo,
        &[
            "-c",
            "session.redactRule=greeting=hello from [a-z]+",
            "-c",
            "user.name=Dash C User",
            "session",
            "save",
            "--from",
            &from,
        ],
    )
    .success();
    assert!(
        saved.stderr.contains("Redacted 3 secrets: greeting 3"),
        "{saved}"
    );
    let shown = repo.show(COMPACTED.id, None).to_string();
    assert!(
        shown.contains("[REDACTED:greeting]"),
        "the -c rule redacted"
    );
    assert!(!shown.contains("hello from file"), "the -c rule redacted");
    let log = repo
        .git_session(&["log", COMPACTED.id, "--json"])
        .success()
        .json();
    assert_eq!(log["saves"][0]["committer"], "Dash C User", "{log:#}");

    let off = git_cmd(
        &repo,
        &[
            "-c",
            "session.redact=false",
            "session",
            "save",
            "--from",
            &TOOLCALL.arg(),
        ],
    )
    .success();
    assert!(
        off.stderr.contains("warning: session.redact is false"),
        "-c session.redact=false is read:\n{off}"
    );
    // Nothing of it stays in the repository's config.
    assert_eq!(
        repo.git_run(&["config", "session.redactRule"]).code,
        Some(1)
    );
}

#[test]
fn exit_codes_follow_git() {
    let env = TestEnv::new();
    let repo = saved_repo(&env);
    // Usage errors exit 129, as git's option parser does.
    for args in [
        &["list", "--bogus"][..],
        &["log"],
        &["prune", "--older-than", "30x"],
        &["list", "--color=sometimes"],
    ] {
        let run = repo.git_session(args);
        assert_eq!(run.code, Some(129), "{run}");
        assert!(run.stderr.contains("error:"), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
    // search: 0 with a match, 1 without (as git grep), and no error line then.
    repo.git_session(&["search", "hello"]).success();
    let none = repo.git_session(&["search", "no such words anywhere"]);
    assert_eq!(none.code, Some(1), "{none}");
    assert!(!none.stderr.contains("error:"), "{none}");
    assert!(none.stderr.contains("No match"), "{none}");
    assert!(none.stderr.contains("1 saved session."), "{none}");
    // An error: 1, with a hint.
    let missing = repo.git_session(&["log", "ses_nothing_like_it"]).failure();
    assert!(!missing.hint_lines().is_empty(), "{missing}");
    // --help and --version succeed.
    let help = repo.git_session(&["list", "--help"]).success();
    assert!(help.stdout.contains("--color"), "{help}");
}

#[test]
fn color_follows_the_flag_git_config_and_no_color() {
    let env = TestEnv::new();
    let repo = saved_repo(&env);
    let esc = "\u{1b}[";
    // Into a pipe: plain by default, colored with --color=always or color.ui=always.
    let plain = repo.git_session(&["list"]).success();
    assert!(!plain.stdout.contains(esc), "{plain}");
    let forced = repo.git_session(&["list", "--color=always"]).success();
    assert!(
        forced.stdout.contains(&format!("{esc}33m{}", COMPACTED.id)),
        "{forced}"
    );
    let bare_flag = repo.git_session(&["search", "hello", "--color"]).success();
    assert!(
        bare_flag.stdout.contains(&format!("{esc}1m{esc}31mhello")),
        "{bare_flag}"
    );
    repo.git(&["config", "color.ui", "always"]);
    let by_config = repo.git_session(&["log", COMPACTED.id]).success();
    assert!(
        by_config.stdout.contains(esc),
        "color.ui=always:\n{by_config}"
    );
    // color.session wins over color.ui, the flag over both.
    repo.git(&["config", "color.session", "never"]);
    let session_never = repo.git_session(&["log", COMPACTED.id]).success();
    assert!(!session_never.stdout.contains(esc), "{session_never}");
    let flag_wins = repo
        .git_session(&["log", COMPACTED.id, "--color=always"])
        .success();
    assert!(flag_wins.stdout.contains(esc), "{flag_wins}");
    repo.git(&["config", "--unset", "color.session"]);
    repo.git(&["config", "--unset", "color.ui"]);

    if !have_script() {
        return;
    }
    // On a terminal: colored, unless NO_COLOR or --color=never.
    let mut cmd = env.git_session_command(&repo.dir);
    cmd.args(["list", "--no-pager"]);
    let tty = in_pty(cmd);
    assert!(
        tty.stdout.contains(&format!("{esc}33m{}", COMPACTED.id)),
        "{tty}"
    );
    let mut cmd = env.git_session_command(&repo.dir);
    cmd.args(["list", "--no-pager"]).env("NO_COLOR", "1");
    let no_color = in_pty(cmd);
    assert!(no_color.stdout.contains(COMPACTED.id), "{no_color}");
    assert!(!no_color.stdout.contains(esc), "NO_COLOR:\n{no_color}");
    let mut cmd = env.git_session_command(&repo.dir);
    cmd.args(["list", "--no-pager", "--color=never"]);
    let never = in_pty(cmd);
    assert!(!never.stdout.contains(esc), "--color=never:\n{never}");
}

#[test]
fn the_pager_runs_for_a_terminal_only_and_as_git_configures_it() {
    let env = TestEnv::new();
    let repo = saved_repo(&env);
    let pager = "sed 's/^/PAGED:/'";
    // Into a pipe: never paged.
    let mut cmd = env.git_session_command(&repo.dir);
    let piped = cmd
        .args(["log", COMPACTED.id])
        .env("GIT_PAGER", pager)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains("PAGED:"));
    if !have_script() {
        return;
    }
    let paged = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = env.git_session_command(&repo.dir);
        cmd.args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        in_pty(cmd)
    };
    let run = paged(&["log", COMPACTED.id], &[("GIT_PAGER", pager)]);
    assert!(
        run.stdout.contains("PAGED:"),
        "GIT_PAGER on a terminal:\n{run}"
    );
    assert!(
        run.stdout.contains(COMPACTED.id) || run.stdout.contains("manual"),
        "{run}"
    );
    // The pager gets LESS=FRX unless LESS is set, as git's does.
    let run = paged(&["list"], &[("GIT_PAGER", "echo LESS=$LESS; cat")]);
    assert!(run.stdout.contains("LESS=FRX"), "{run}");
    let run = paged(&["list", "--no-pager"], &[("GIT_PAGER", pager)]);
    assert!(!run.stdout.contains("PAGED:"), "--no-pager:\n{run}");
    // core.pager, then pager.session=false.
    repo.git(&["config", "core.pager", "sed 's/^/CORE:/'"]);
    let run = paged(&["search", "hello"], &[]);
    assert!(run.stdout.contains("CORE:"), "core.pager:\n{run}");
    repo.git(&["config", "pager.session", "false"]);
    let run = paged(&["search", "hello"], &[]);
    assert!(!run.stdout.contains("CORE:"), "pager.session=false:\n{run}");
    assert!(run.stdout.contains("hello"), "{run}");
}

#[test]
fn progress_shows_on_a_terminal_and_never_in_a_pipe() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("project");
    let folder = env.path("exports");
    std::fs::create_dir(&folder).unwrap();
    for example in crate::support::ALL_EXAMPLES {
        std::fs::copy(example.path(), folder.join(example.file)).unwrap();
    }
    let folder_arg = folder.display().to_string();
    // Into a pipe: the summary only, no bar, no escape sequence, no carriage return.
    let piped = repo.git_session(&["import", &folder_arg]).success();
    assert!(piped.stderr.contains("Imported 5 files"), "{piped}");
    for unwanted in ["Importing", "\r", "\u{1b}["] {
        assert!(
            !piped.stderr.contains(unwanted),
            "{unwanted:?} in a pipe:\n{piped}"
        );
    }
    let scanned = repo.git_session(&["scan"]).success();
    assert!(!scanned.stderr.contains("Scanning"), "{scanned}");
    if !have_script() {
        return;
    }
    let other = env.repo_with_commit("other");
    let mut cmd = env.git_session_command(&other.dir);
    cmd.args(["import", &folder_arg]);
    let tty = in_pty(cmd);
    assert_eq!(tty.code, Some(0), "{tty}");
    assert!(
        tty.stdout.contains("Importing ["),
        "a bar on the terminal:\n{tty}"
    );
    assert!(
        tty.stdout.contains("/5"),
        "counted over the 5 files:\n{tty}"
    );
    assert!(tty.stdout.contains("Imported 5 files"), "{tty}");
    let mut cmd = env.git_session_command(&other.dir);
    cmd.arg("scan");
    let tty = in_pty(cmd);
    assert!(tty.stdout.contains("Scanning ["), "{tty}");
}

#[test]
fn every_command_works_in_a_bare_repository() {
    let env = TestEnv::new();
    let repo = env.bare_repo("bare.git");
    let mut grown = COMPACTED.json();
    grown["messages"].as_array_mut().unwrap().pop();
    let first = env.path("first.json");
    crate::support::write_json(&first, &grown);
    repo.save(&[&first]);
    repo.save(&[&COMPACTED.path()]);
    assert_eq!(repo.commit_count(&COMPACTED.ref_name()), 2);
    // prune --keep-last moves the ref and has no reflog to expire there (a bare repository
    // keeps none): it succeeds, and so does gc.
    let pruned = repo.git_session(&["prune", "--keep-last", "1"]).success();
    assert!(
        pruned.stderr.contains("keeping the newest 1 of 2 saves"),
        "{pruned}"
    );
    assert_eq!(repo.commit_count(&COMPACTED.ref_name()), 1);
    let gc = repo.git_session(&["gc", "--json"]).success().json();
    assert_eq!(gc["after"]["looseObjects"], 0, "{gc:#}");
    for args in [
        &["list"][..],
        &["log", COMPACTED.id],
        &["search", "hello"],
        &["stats"],
        &["scan"],
        &["scrub", COMPACTED.id],
        &["repair", "--dry-run"],
        &["export", COMPACTED.id, "-o", "../bundle.gsb"],
    ] {
        repo.git_session(args).success();
    }
    assert_eq!(repo.show(COMPACTED.id, None), COMPACTED.json());
    repo.assert_fsck_clean();
}

#[test]
fn errors_name_the_problem_once_and_say_what_to_do() {
    let env = TestEnv::new();
    let repo = saved_repo(&env);
    let missing = env.path("missing.json").display().to_string();
    let nowhere = env.path("no/such/dir/out.gsb").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["save", "--from", &missing], &missing),
        (vec!["import", &missing], &missing),
        (vec!["-C", &missing, "list"], &missing),
        (vec!["export", COMPACTED.id, "-o", &nowhere], &nowhere),
    ];
    for (args, path) in cases {
        let run = repo.git_session(&args).failure();
        assert_eq!(run.stderr.matches("error:").count(), 1, "{run}");
        assert_eq!(run.stderr.matches(path).count(), 1, "the path once:\n{run}");
        assert!(
            run.stderr.matches(".tmp").count() == 0,
            "no temporary file named:\n{run}"
        );
        assert_eq!(run.hint_lines().len(), 1, "a hint:\n{run}");
    }
}

#[test]
fn push_takes_a_session_id_first_and_a_fresh_clone_is_told_to_pull() {
    let env = TestEnv::new();
    let (_remote, a, b) = crate::share::remote_and_two_clones(&env);
    a.git_session(&["remote", "add", "origin"]).success();
    a.save(&[&COMPACTED.path()]);
    a.save(&[&TOOLCALL.path()]);
    // `push ID`: that session, to the default remote.
    let pushed = a.git_session(&["push", &COMPACTED.id[..12]]).success();
    assert!(
        pushed
            .stderr
            .contains(&format!("pushed {} to origin", COMPACTED.id)),
        "{pushed}"
    );
    assert!(
        !pushed.stderr.contains(TOOLCALL.id),
        "only that session:\n{pushed}"
    );
    let neither = a.git_session(&["push", "nothing-by-that-name"]).failure();
    assert!(
        neither
            .stderr
            .contains("neither a remote nor a saved session"),
        "{neither}"
    );
    assert_eq!(neither.hint_lines().len(), 1, "{neither}");

    // b has no sessions yet, though origin has one: list says how to get them.
    let listed = b.git_session(&["list"]).success();
    assert_eq!(listed.stdout, "", "{listed}");
    assert!(listed.stderr.contains("git session pull"), "{listed}");
    b.git_session(&["pull"]).success();
    let listed = b.git_session(&["list"]).success();
    assert!(listed.stdout.contains(COMPACTED.id), "{listed}");
}

#[test]
fn readme_documents_every_flag_of_every_command() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut root = git_session::cli::Cli::command();
    root.build();
    let mut missing = Vec::new();
    for command in root
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
    {
        // The rows of the Commands table that describe this command.
        let rows: String = readme
            .lines()
            .filter(|l| {
                l.starts_with(&format!("| `{} ", command.get_name()))
                    || l.starts_with(&format!("| `{}`", command.get_name()))
            })
            .collect::<Vec<_>>()
            .join("\n");
        if rows.is_empty() {
            missing.push(format!(
                "{}: no row in README's Commands table",
                command.get_name()
            ));
            continue;
        }
        for arg in command
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            if arg.get_long() == Some("help") || arg.is_positional() {
                continue;
            }
            let long = arg.get_long().map(|l| format!("--{l}"));
            let short = arg.get_short().map(|s| format!("-{s}"));
            let documented = [&long, &short]
                .iter()
                .any(|f| f.as_ref().is_some_and(|f| rows.contains(f.as_str())));
            if !documented {
                missing.push(format!(
                    "{} {}",
                    command.get_name(),
                    long.or(short).unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README's Commands table lacks:\n{}",
        missing.join("\n")
    );
}
