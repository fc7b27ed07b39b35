//! Running the `opencode` binary: the one place that spawns it.
//!
//! Every command's stdout goes to a file in a scratch directory, never to a pipe: OpenCode cuts
//! piped output at 64 KiB multiples and still exits 0 (upstream issue #29330). What it printed is
//! then validated as JSON, so a cut-off document is an error instead of a shorter session.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::export;
use crate::agents::{parse_json, InputError};
use crate::session::Session;

/// The environment variable naming the `opencode` binary to run (else `opencode` on `PATH`).
pub const BINARY_ENV: &str = "GIT_SESSION_OPENCODE";

/// What went wrong while running OpenCode or reading what it printed.
#[derive(Debug, thiserror::Error)]
pub enum OpenCodeError {
    /// The binary could not be started at all.
    #[error("cannot run {}: {source}", program.to_string_lossy())]
    Spawn {
        /// The program that was started.
        program: OsString,
        /// Why it could not be started (`NotFound` when it is not installed).
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("'{command}' failed ({status}): {detail}")]
    Failed {
        /// The command line, such as `opencode export ses_1`.
        command: String,
        /// The exit status, as text.
        status: String,
        /// The last line it printed on stderr.
        detail: String,
    },
    /// The command printed something that is not what it should print.
    #[error("'{command}' printed unexpected output: {source}")]
    Output {
        /// The command line.
        command: String,
        /// What is wrong with the output.
        #[source]
        source: InputError,
    },
    /// No session with this id exists in the local OpenCode.
    #[error("OpenCode has no session {id}")]
    NoSuchSession {
        /// The id asked for.
        id: String,
    },
    /// The current project has no OpenCode sessions.
    #[error("OpenCode has no sessions for the project in {}", dir.display())]
    NoSessions {
        /// The directory OpenCode was run in.
        dir: PathBuf,
    },
    /// The project's sessions all ran in other checkouts of it.
    #[error("OpenCode has no sessions for the checkout {} (the project's {} session(s) ran in other checkouts: {})", dir.display(), others.len(), others.join(", "))]
    OnlyInOtherCheckouts {
        /// This checkout's root.
        dir: PathBuf,
        /// The directories the project's sessions ran in.
        others: Vec<String>,
    },
    /// The session belongs to another project than the one in the current directory.
    #[error("session {id} belongs to another OpenCode project (its directory is {directory})")]
    OtherProject {
        /// The session.
        id: String,
        /// The session's directory as OpenCode recorded it.
        directory: String,
    },
    /// An id that cannot be a session id (it would not survive quoting into SQL or a ref name).
    #[error("{id:?} is not an OpenCode session id")]
    BadId {
        /// What was given.
        id: String,
    },
    /// OpenCode 2's import found a session with this id and left it as it was (it says
    /// `Session already exists` and still exits 0).
    #[error(
        "OpenCode kept its own copy of session {id}: '{command}' said \"Session already exists\""
    )]
    AlreadyExists {
        /// The session.
        id: String,
        /// The command line.
        command: String,
    },
    /// An import a restore ran failed, after the local copies it replaced were backed up and
    /// deleted (the export it imported was a scratch file, gone with the run).
    #[error("OpenCode did not import session {session}: {}", refused.reason())]
    ImportRefused {
        /// The session whose import failed.
        session: String,
        /// Why.
        refused: Box<OpenCodeError>,
        /// Bundles of the local copies deleted before the import, oldest first.
        backups: Vec<PathBuf>,
    },
    /// The scratch files could not be written or read.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl OpenCodeError {
    /// What went wrong, without the command line: a failed command's last line, else the error.
    pub fn reason(&self) -> String {
        match self {
            OpenCodeError::Failed { status, detail, .. } => format!("{detail} ({status})"),
            other => other.to_string(),
        }
    }

    /// True when the `opencode` binary itself was not found.
    pub fn is_missing_binary(&self) -> bool {
        matches!(self, OpenCodeError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Result type of this module.
pub type Result<T, E = OpenCodeError> = std::result::Result<T, E>;

/// One line of `opencode session list --format json`.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The session id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its project.
    pub project_id: String,
    /// The directory it ran in (a project's checkouts share the project).
    pub directory: String,
}

/// The local OpenCode, run in one directory (the project's worktree).
#[derive(Debug)]
pub struct OpenCode {
    program: OsString,
    dir: PathBuf,
    scratch: Scratch,
    major: std::sync::OnceLock<u32>,
}

impl OpenCode {
    /// OpenCode as named by `GIT_SESSION_OPENCODE`, else `opencode` on `PATH`, run in `dir`.
    pub fn from_env(dir: &Path) -> Result<Self> {
        let program = std::env::var_os(BINARY_ENV)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "opencode".into());
        Self::new(program, dir)
    }

    /// OpenCode as `program`, run in `dir`.
    pub fn new(program: impl Into<OsString>, dir: &Path) -> Result<Self> {
        Ok(OpenCode {
            program: program.into(),
            dir: dir.to_path_buf(),
            scratch: Scratch::new()?,
            major: std::sync::OnceLock::new(),
        })
    }

    /// The major version of the installed OpenCode: what `opencode --version` prints, or, when
    /// that is no version number, 2 if `opencode export` answers with its help and exit 0
    /// (OpenCode 2 has no top-level `export`: `packages/cli/src/commands/commands.ts`).
    pub fn major_version(&self) -> Result<u32> {
        if let Some(major) = self.major.get() {
            return Ok(*major);
        }
        let (_, stdout, _) = self.run_capturing(&["--version".to_owned()], &self.dir)?;
        let text = String::from_utf8_lossy(&stdout);
        let major = match parse_major(&text) {
            Some(major) => major,
            None => match self.run_capturing(&["export".to_owned()], &self.dir) {
                Ok((_, out, err)) => {
                    let said = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(&err)
                    )
                    .to_lowercase();
                    if said.contains("usage") || said.contains("commands") {
                        2
                    } else {
                        1
                    }
                }
                Err(OpenCodeError::Failed { .. }) => 1,
                Err(e) => return Err(e),
            },
        };
        Ok(*self.major.get_or_init(|| major))
    }

    /// `opencode session export <id>` (OpenCode 2), validated: the session without its
    /// children, in OpenCode 2's export format.
    pub fn session_export(&self, id: &str) -> Result<Session> {
        self.export_with(&["session", "export"], id)
    }

    /// `opencode session import <file> --directory <cwd>` (OpenCode 2), run in `cwd`. An
    /// answer of `Session already exists` (on stderr, with exit 0) is an error, not success.
    pub fn session_import(&self, file: &Path, id: &str, cwd: &Path) -> Result<()> {
        let args = [
            "session".to_owned(),
            "import".to_owned(),
            file.display().to_string(),
            "--directory".to_owned(),
            cwd.display().to_string(),
        ];
        let (command, stdout, stderr) = self.run_capturing(&args, cwd)?;
        let said = format!(
            "{}\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
        if said.contains("Session already exists") {
            return Err(OpenCodeError::AlreadyExists {
                id: id.to_owned(),
                command,
            });
        }
        Ok(())
    }

    /// The directory commands run in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path for a file of this run's own (removed when `self` is dropped).
    pub fn scratch_file(&self, name: &str) -> PathBuf {
        self.scratch.file(name)
    }

    /// `opencode session list [-n N] --format json`: root sessions of the project, most recently
    /// updated first. No sessions is an empty list (OpenCode prints nothing then).
    pub fn session_list(&self, limit: Option<usize>) -> Result<Vec<Listed>> {
        let mut args = vec!["session".to_owned(), "list".to_owned()];
        if let Some(n) = limit {
            args.extend(["-n".to_owned(), n.to_string()]);
        }
        args.extend(["--format".to_owned(), "json".to_owned()]);
        let (command, stdout) = self.run(&args, &self.dir)?;
        if stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let value = parse_json(&stdout, "its output").map_err(|source| OpenCodeError::Output {
            command: command.clone(),
            source,
        })?;
        let wrong = |problem: &str| OpenCodeError::Output {
            command: command.clone(),
            source: InputError::WrongShape {
                source_name: "its output".into(),
                agent: super::AGENT,
                problem: problem.to_owned(),
            },
        };
        let Value::Array(items) = value else {
            return Err(wrong("it is not a JSON array"));
        };
        items
            .iter()
            .map(|item| {
                let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
                if id.is_empty() {
                    return Err(wrong("an entry has no \"id\""));
                }
                // OpenCode 1 prints `projectId` and `directory`; OpenCode 2's `Session.Info` has
                // `projectID` and `location.directory` (`packages/schema/src/session.ts`).
                let or = |a: String, b: &str| if a.is_empty() { str_at(item, b) } else { a };
                Ok(Listed {
                    id: id.to_owned(),
                    title: str_of(item, "title"),
                    project_id: or(str_of(item, "projectId"), "/projectID"),
                    directory: or(str_of(item, "directory"), "/location/directory"),
                })
            })
            .collect()
    }

    /// `opencode db "<sql>" --format json`: the rows as JSON objects.
    pub fn query(&self, sql: &str) -> Result<Vec<Value>> {
        let args = [
            "db".to_owned(),
            sql.to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
        ];
        let (command, stdout) = self.run(&args, &self.dir)?;
        // Name the command by what it does, not by its (long) SQL.
        let command = format!(
            "{} db <query>",
            command.split(' ').next().unwrap_or("opencode")
        );
        if stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        match parse_json(&stdout, "its output") {
            Ok(Value::Array(rows)) => Ok(rows),
            Ok(_) => Err(OpenCodeError::Output {
                command,
                source: InputError::WrongShape {
                    source_name: "its output".into(),
                    agent: super::AGENT,
                    problem: "it is not a JSON array of rows".into(),
                },
            }),
            Err(source) => Err(OpenCodeError::Output { command, source }),
        }
    }

    /// `opencode export <id>`, validated: the session without its children.
    pub fn export(&self, id: &str) -> Result<Session> {
        self.export_with(&["export"], id)
    }

    /// Runs `opencode <command> <id>` and validates its output as the export of session `id`.
    fn export_with(&self, command: &[&str], id: &str) -> Result<Session> {
        check_id(id)?;
        let args: Vec<String> = command
            .iter()
            .map(|a| (*a).to_owned())
            .chain([id.to_owned()])
            .collect();
        let (command, stdout) = match self.run(&args, &self.dir) {
            Err(OpenCodeError::Failed { detail, .. })
                if detail.to_lowercase().contains("not found") =>
            {
                return Err(OpenCodeError::NoSuchSession { id: id.to_owned() })
            }
            other => other?,
        };
        let session = export::parse(stdout, &format!("'{command}'")).map_err(|source| {
            OpenCodeError::Output {
                command: command.clone(),
                source,
            }
        })?;
        if session.id != id {
            return Err(OpenCodeError::Output {
                command,
                source: InputError::WrongShape {
                    source_name: "its output".into(),
                    agent: super::AGENT,
                    problem: format!("it is session {}, not {id}", session.id),
                },
            });
        }
        Ok(session)
    }

    /// `opencode session delete <id>` (OpenCode deletes the session's children with it).
    pub fn delete(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let args = ["session".to_owned(), "delete".to_owned(), id.to_owned()];
        self.run(&args, &self.dir).map(|_| ())
    }

    /// `opencode import <file>`, run in `cwd` (OpenCode puts the session into the project and
    /// directory it is run in).
    pub fn import(&self, file: &Path, cwd: &Path) -> Result<()> {
        let args = ["import".to_owned(), file.display().to_string()];
        self.run(&args, cwd).map(|_| ())
    }

    /// Runs `opencode <args>` in `cwd` with stdin closed and stdout and stderr going to files.
    /// Returns the command line (for messages) and stdout.
    fn run(&self, args: &[String], cwd: &Path) -> Result<(String, Vec<u8>)> {
        self.run_capturing(args, cwd)
            .map(|(command, stdout, _)| (command, stdout))
    }

    /// Like [`Self::run`], also returning stderr.
    fn run_capturing(&self, args: &[String], cwd: &Path) -> Result<(String, Vec<u8>, Vec<u8>)> {
        let program_name = Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "opencode".into());
        let mut shown = vec![program_name];
        shown.extend(args.iter().take(2).cloned());
        let command = shown.join(" ");
        let n = self.scratch.next();
        let out_path = self.scratch.file(&format!("stdout-{n}"));
        let err_path = self.scratch.file(&format!("stderr-{n}"));
        let io = |context: String| move |source| OpenCodeError::Io { context, source };
        let stdout = std::fs::File::create(&out_path)
            .map_err(io(format!("cannot create {}", out_path.display())))?;
        let stderr = std::fs::File::create(&err_path)
            .map_err(io(format!("cannot create {}", err_path.display())))?;
        let status = Command::new(&self.program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .map_err(|source| OpenCodeError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let stdout =
            std::fs::read(&out_path).map_err(io(format!("cannot read {}", out_path.display())))?;
        let stderr = std::fs::read(&err_path).unwrap_or_default();
        let _ = std::fs::remove_file(&out_path);
        let _ = std::fs::remove_file(&err_path);
        if !status.success() {
            let status = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".to_owned(),
            };
            return Err(OpenCodeError::Failed {
                command,
                status,
                detail: last_line(&stderr),
            });
        }
        Ok((command, stdout, stderr))
    }
}

/// The major version in `opencode --version` output (`1.18.33`, `v2.0.1`), if it is one.
fn parse_major(text: &str) -> Option<u32> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let line = line.strip_prefix('v').unwrap_or(line);
    let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !line[digits.len()..].starts_with('.') {
        return None;
    }
    digits.parse().ok()
}

/// Refuses ids that are not plain OpenCode ids (letters, digits, `_`, `-`), which keeps them
/// safe to put into SQL and command lines.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(OpenCodeError::BadId { id: id.to_owned() })
    }
}

fn str_at(item: &Value, pointer: &str) -> String {
    item.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn str_of(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The last non-empty line of `stderr`, without terminal colour codes.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(strip_ansi)
        .map(|l| l.trim().to_owned())
        .rfind(|l| !l.is_empty())
        .unwrap_or_else(|| "it printed nothing on stderr".to_owned());
    line.strip_prefix("Error: ")
        .map(str::to_owned)
        .unwrap_or(line)
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A private temporary directory, removed on drop.
#[derive(Debug)]
struct Scratch {
    dir: PathBuf,
    counter: AtomicU64,
}

impl Scratch {
    fn new() -> Result<Self> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut last_error = None;
        for attempt in 0..16u32 {
            let dir = base.join(format!(
                "git-session-opencode.{}.{nanos:x}.{}.{attempt}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(Scratch {
                        dir,
                        counter: AtomicU64::new(0),
                    })
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(OpenCodeError::Io {
            context: format!("cannot create a temporary directory in {}", base.display()),
            source: last_error.unwrap_or_else(|| std::io::Error::other("no attempt made")),
        })
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_stderr_line_loses_its_colours_and_error_prefix() {
        let stderr =
            b"Exporting session: ses_x\n\x1b[91m\x1b[1mError: \x1b[0mSession not found: ses_x\n\n";
        assert_eq!(last_line(stderr), "Session not found: ses_x");
        assert_eq!(last_line(b""), "it printed nothing on stderr");
    }

    #[test]
    fn only_plain_ids_are_accepted() {
        assert!(check_id("ses_dfe922447ffeglaVpn2VDcwxyx").is_ok());
        for bad in ["", "ses_'; drop table session; --", "a b", "../x", "ses_ü"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_binary_is_recognised() {
        let dir = std::env::temp_dir();
        let oc = OpenCode::new("/nonexistent/opencode", &dir).unwrap();
        let err = oc.session_list(Some(1)).unwrap_err();
        assert!(err.is_missing_binary(), "{err}");
        assert!(err.to_string().contains("/nonexistent/opencode"), "{err}");
    }
}
