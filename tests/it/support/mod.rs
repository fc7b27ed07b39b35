//! Test support: a hermetic environment, repositories built with the real `git`, one runner for
//! `git-session`, and generators of export documents.
//!
//! Every process a test spawns (git and git-session) starts from an empty environment plus
//! `PATH`, a temporary `HOME`, a global git config written here, `GIT_CONFIG_NOSYSTEM=1`,
//! `LC_ALL=C`, `TZ=UTC`, `GIT_TERMINAL_PROMPT=0` (git never asks on the terminal) and
//! `GIT_CEILING_DIRECTORIES` set to the temporary root, so neither the developer's git config nor
//! a repository around the temp dir can change a result.

#![allow(dead_code)] // Not every test module uses every helper.

pub mod browser;
pub mod fake_anthropic;
pub mod fake_gemini;
pub mod fake_model;
pub mod fake_responses;
pub mod gen;
pub mod http_git;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The name tests configure as `user.name`.
pub const USER_NAME: &str = "Test User";
/// The email tests configure as `user.email`.
pub const USER_EMAIL: &str = "test@example.com";

/// One of the real `opencode export` documents in `tests/fixtures/opencode/`.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// File name under `tests/fixtures/opencode/`.
    pub file: &'static str,
    /// The session id (`info.id`).
    pub id: &'static str,
}

/// A session that went through a compaction (9 messages, a bash tool call).
pub const COMPACTED: Example = Example {
    file: "example-export-compacted.json",
    id: "ses_dfef21374ffempn7YoTB2Yx68n",
};
/// A session with reasoning and an attached file.
pub const REASONING: Example = Example {
    file: "example-export-reasoning-file.json",
    id: "ses_dfee779a0ffew2UIseJduPPCFE",
};
/// The parent of a `task` tool call (a subagent).
pub const TASK_PARENT: Example = Example {
    file: "example-export-task-parent.json",
    id: "ses_dfef9803bffejrqFuyT80VM1A0",
};
/// The subagent session spawned by [`TASK_PARENT`] (`info.parentID` names it).
pub const TASK_CHILD: Example = Example {
    file: "example-export-task-child.json",
    id: "ses_dfef9777cffewsDrK1lfxPkGDx",
};
/// A session with a bash tool call and a patch part.
pub const TOOLCALL: Example = Example {
    file: "example-export-toolcall.json",
    id: "ses_dfeff592effeKbpix6urO22sp9",
};
/// All five examples.
pub const ALL_EXAMPLES: [Example; 5] = [COMPACTED, REASONING, TASK_PARENT, TASK_CHILD, TOOLCALL];

impl Example {
    /// The fixture's path.
    pub fn path(&self) -> PathBuf {
        fixtures_dir().join("opencode").join(self.file)
    }

    /// The fixture's path as a string, for command lines.
    pub fn arg(&self) -> String {
        self.path().display().to_string()
    }

    /// The fixture parsed as JSON.
    pub fn json(&self) -> Value {
        read_json(&self.path())
    }

    /// The local ref its saves live on.
    pub fn ref_name(&self) -> String {
        session_ref(self.id)
    }
}

/// The local ref of a session id.
pub fn session_ref(id: &str) -> String {
    format!("refs/sessions/opencode/{id}")
}

/// `tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Writes `value` as pretty JSON (as `opencode export` does).
pub fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("a Value always serialises");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// `count` session files in `<env>/many`: the toolcall example under ids that differ in their
/// last 6 characters. Returns the files and the ids.
pub fn many_exports(env: &TestEnv, count: usize) -> (Vec<PathBuf>, Vec<String>) {
    let text = std::fs::read_to_string(TOOLCALL.path()).expect("read the toolcall example");
    let stem = &TOOLCALL.id[..TOOLCALL.id.len() - 6];
    let dir = env.path("many");
    std::fs::create_dir(&dir).expect("create the exports dir");
    (0..count)
        .map(|n| {
            let id = format!("{stem}{n:06}");
            let path = dir.join(format!("{id}.json"));
            std::fs::write(&path, text.replace(TOOLCALL.id, &id)).expect("write an export");
            (path, id)
        })
        .unzip()
}

/// The message ids of an export, in order.
pub fn message_ids(export: &Value) -> Vec<String> {
    export["messages"]
        .as_array()
        .expect("an export has a messages array")
        .iter()
        .map(|m| m["info"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A temporary root holding a home directory, a global git config and any repositories.
pub struct TestEnv {
    root: tempfile::TempDir,
    gitconfig: PathBuf,
}

impl TestEnv {
    /// An environment whose global git config sets `user.name`, `user.email` and
    /// `init.defaultBranch=main`.
    pub fn new() -> Self {
        Self::with_gitconfig(&format!(
            "[user]\n\tname = {USER_NAME}\n\temail = {USER_EMAIL}\n[init]\n\tdefaultBranch = main\n"
        ))
    }

    /// An environment whose global git config is empty: no identity at all.
    pub fn without_identity() -> Self {
        Self::with_gitconfig("")
    }

    fn with_gitconfig(text: &str) -> Self {
        let root = tempfile::Builder::new()
            .prefix("git-session-it.")
            .tempdir()
            .expect("create a temp dir");
        std::fs::create_dir(root.path().join("home")).expect("create HOME");
        let gitconfig = root.path().join("gitconfig");
        std::fs::write(&gitconfig, text).expect("write the global git config");
        TestEnv { root, gitconfig }
    }

    /// The temporary root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A path below the temporary root.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    /// A command for `program` with the hermetic environment, run in the temporary root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", &self.gitconfig)
            .env("GIT_CEILING_DIRECTORIES", self.root())
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            // Never ask on the developer's terminal (an HTTP remote without credentials fails).
            .env("GIT_TERMINAL_PROMPT", "0")
            .current_dir(self.root())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `git` in `dir` and returns its stdout; panics when git fails.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let run = Run::from(
            format!("git {}", args.join(" ")),
            self.command("git").current_dir(dir).args(args).output(),
        );
        run.success().stdout
    }

    /// A `git-session` command with the hermetic environment, run in `dir`.
    pub fn git_session_command(&self, dir: &Path) -> Command {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_git-session"));
        cmd.current_dir(dir);
        cmd
    }

    /// Runs `git-session` in `dir`.
    #[must_use = "assert the exit status or the output"]
    pub fn git_session_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run::from(
            format!("git-session {}", args.join(" ")),
            self.git_session_command(dir).args(args).output(),
        )
    }

    /// `git init <name>`: a repository without commits.
    pub fn repo(&self, name: &str) -> Repo<'_> {
        self.git_in(self.root(), &["init", "--quiet", name]);
        let dir = self.path(name);
        Repo {
            env: self,
            git_dir: dir.join(".git"),
            dir,
        }
    }

    /// A repository with one commit (`README.md`) on `main`.
    pub fn repo_with_commit(&self, name: &str) -> Repo<'_> {
        let repo = self.repo(name);
        std::fs::write(repo.dir.join("README.md"), "# project\n").expect("write README.md");
        repo.git(&["add", "README.md"]);
        repo.git(&["commit", "--quiet", "-m", "Initial commit"]);
        repo
    }

    /// `git init --bare <name>`.
    pub fn bare_repo(&self, name: &str) -> Repo<'_> {
        self.git_in(self.root(), &["init", "--quiet", "--bare", name]);
        let dir = self.path(name);
        Repo {
            env: self,
            git_dir: dir.clone(),
            dir,
        }
    }

    /// `git init --ref-format=reftable <name>` with one commit.
    pub fn reftable_repo(&self, name: &str) -> Repo<'_> {
        self.git_in(
            self.root(),
            &["init", "--quiet", "--ref-format=reftable", name],
        );
        let dir = self.path(name);
        let repo = Repo {
            env: self,
            git_dir: dir.join(".git"),
            dir,
        };
        std::fs::write(repo.dir.join("README.md"), "# project\n").expect("write README.md");
        repo.git(&["add", "README.md"]);
        repo.git(&["commit", "--quiet", "-m", "Initial commit"]);
        repo
    }
}

/// A repository inside a [`TestEnv`].
pub struct Repo<'a> {
    /// The environment every command runs in.
    pub env: &'a TestEnv,
    /// Where commands run: the worktree, or the git dir of a bare repository.
    pub dir: PathBuf,
    /// The git dir.
    pub git_dir: PathBuf,
}

impl Repo<'_> {
    /// Runs `git` here and returns stdout; panics when git fails.
    pub fn git(&self, args: &[&str]) -> String {
        self.env.git_in(&self.dir, args)
    }

    /// Runs `git` here, whatever its exit status.
    #[must_use = "assert the exit status or the output"]
    pub fn git_run(&self, args: &[&str]) -> Run {
        Run::from(
            format!("git {}", args.join(" ")),
            self.env
                .command("git")
                .current_dir(&self.dir)
                .args(args)
                .output(),
        )
    }

    /// Runs `git-session` here.
    #[must_use = "assert the exit status or the output"]
    pub fn git_session(&self, args: &[&str]) -> Run {
        self.env.git_session_in(&self.dir, args)
    }

    /// Runs `git-session` here with `input` on stdin.
    #[must_use = "assert the exit status or the output"]
    pub fn git_session_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .env
            .git_session_command(&self.dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn git-session");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(input).expect("write stdin");
        drop(stdin);
        Run::from(
            format!("git-session {} < stdin", args.join(" ")),
            child.wait_with_output(),
        )
    }

    /// `git-session save --from <each file>`, which must succeed.
    pub fn save(&self, files: &[&Path]) -> Run {
        let mut args = vec!["save".to_owned()];
        for f in files {
            args.push("--from".to_owned());
            args.push(f.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git_session(&args).success()
    }

    /// `git-session show <id> [--at SAVE]` parsed as JSON; the command must succeed.
    pub fn show(&self, id: &str, at: Option<&str>) -> Value {
        let mut args = vec!["show", id];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        self.git_session(&args).success().json()
    }

    /// The object a ref points to, or `None`.
    pub fn rev_parse(&self, name: &str) -> Option<String> {
        let run = self.git_run(&["rev-parse", "--verify", "--quiet", name]);
        (run.code == Some(0)).then(|| run.stdout.trim().to_owned())
    }

    /// Every ref with its value (`git for-each-ref`), to compare before and after a command.
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
    }

    /// `git count-objects -v`: loose and packed object counts and sizes.
    pub fn object_counts(&self) -> String {
        self.git(&["count-objects", "-v"])
    }

    /// The number of commits reachable from `name`.
    pub fn commit_count(&self, name: &str) -> usize {
        self.git(&["rev-list", "--count", name])
            .trim()
            .parse()
            .expect("rev-list --count prints a number")
    }

    /// Every message a save stores, by `<bucket path>:<message id>`, with its stored line
    /// (`["<id>",<canonical JSON>]`): equal lines are one stored form on both sides.
    pub fn stored_messages(&self, rev: &str) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for line in self.git(&["ls-tree", "-r", rev]).lines() {
            let Some((meta, path)) = line.split_once('\t') else {
                continue;
            };
            let Some(blob) = meta.split_whitespace().nth(2) else {
                continue;
            };
            if !path.contains("messages/") {
                continue;
            }
            for message in self.git(&["cat-file", "blob", blob]).lines() {
                let parsed: Value = serde_json::from_str(message).expect("a bucket line is JSON");
                let id = parsed[0]
                    .as_str()
                    .expect("a line starts with its id")
                    .to_owned();
                out.insert(format!("{path}:{id}"), message.to_owned());
            }
        }
        out
    }

    /// Every object reachable from `rev` (`--all` for every ref), decompressed:
    /// `git rev-list --objects` piped to `git cat-file --batch`. Returns (id, type, content).
    pub fn reachable_objects(&self, rev: &str) -> Vec<(String, String, Vec<u8>)> {
        use std::io::{BufRead, BufReader, Read, Write};
        let list = self.git(&["rev-list", "--objects", rev]);
        let ids: Vec<&str> = list
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let mut child = self
            .env
            .command("git")
            .current_dir(&self.dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn git cat-file");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = ids.join("\n") + "\n";
        // A writer thread: cat-file's output could fill the pipe before all input is written.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut objects = Vec::with_capacity(ids.len());
        for _ in &ids {
            let mut header = String::new();
            out.read_line(&mut header).expect("read a cat-file header");
            let fields: Vec<&str> = header.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "cat-file header: {header:?}");
            let size: usize = fields[2].parse().expect("an object size");
            let mut content = vec![0; size + 1];
            out.read_exact(&mut content).expect("read an object");
            content.pop();
            objects.push((fields[0].to_owned(), fields[1].to_owned(), content));
        }
        writer
            .join()
            .expect("writer thread")
            .expect("write object ids");
        assert!(child.wait().expect("wait for cat-file").success());
        objects
    }

    /// Asserts that `git fsck --strict` finds nothing wrong (dangling objects are allowed: a
    /// retried save leaves its first commit unreferenced, as git's own commands do).
    pub fn assert_fsck_clean(&self) {
        let run = self.git_run(&["fsck", "--strict", "--no-dangling", "--no-progress"]);
        // `notice:` lines are not problems ("HEAD points to an unborn branch" in a repository
        // whose only refs are sessions refs).
        let problems: Vec<&str> = run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| !l.trim().is_empty() && !l.starts_with("notice:"))
            .collect();
        assert!(
            run.code == Some(0) && problems.is_empty(),
            "git fsck --strict must be clean:\n{run}"
        );
    }
}

/// The outcome of one process: exit code, stdout and stderr, with the command line for messages.
pub struct Run {
    /// The command line, for failure messages.
    pub command: String,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    pub fn from(command: String, output: std::io::Result<Output>) -> Self {
        let output = output.unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
        Run {
            command,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success:\n{self}");
        self
    }

    /// Asserts exit code 1 (a problem the user can fix).
    #[track_caller]
    pub fn failure(self) -> Self {
        assert_eq!(self.code, Some(1), "expected exit code 1:\n{self}");
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// The stderr lines that start with `error:`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    /// Asserts exactly one `error:` line, containing every one of `needles`, and returns it.
    #[track_caller]
    pub fn single_error(&self, needles: &[&str]) -> String {
        let errors = self.error_lines();
        assert_eq!(errors.len(), 1, "expected one error: line:\n{self}");
        for needle in needles {
            assert!(
                errors[0].contains(needle),
                "the error must name {needle:?}:\n{self}"
            );
        }
        errors[0].to_owned()
    }

    /// The stderr lines that start with `hint:`.
    pub fn hint_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("hint:"))
            .collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "------- stdout -------\n{}", self.stdout)?;
        writeln!(f, "------- stderr -------\n{}", self.stderr)?;
        write!(f, "[exit status: {:?}]", self.code)
    }
}
