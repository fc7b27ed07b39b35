//! `CliError`: what went wrong, the next step for the user, and the exit code.
//!
//! Lower layers say what happened; this is the one place that knows which command the user ran
//! and what to suggest.

use crate::agents::{AgentError, InputError};
use crate::session::bundle::BundleError;
use crate::session::SessionError;
use crate::store::StoreError;

/// The exit code of a usage error: git's option parser exits 129.
pub const USAGE: u8 = 129;

/// An error as shown to the user: `error: <message>` and an optional `hint: <hint>`.
#[derive(Debug)]
pub struct CliError {
    /// One line naming the problem.
    pub message: String,
    /// One line naming the next step.
    pub hint: Option<String>,
    /// Process exit code, as git's: 1 for an error (and for a negative answer such as `search`
    /// finding nothing), 129 for a usage error (a bad option or value, as git's option parser).
    pub code: u8,
}

impl CliError {
    /// A problem the user can fix (exit code 1).
    pub fn user(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            hint: None,
            code: 1,
        }
    }

    /// A usage error (exit code 129, as git's).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            hint: None,
            code: USAGE,
        }
    }

    /// A negative answer that is no error, such as `search` finding nothing (exit code 1, as
    /// `git grep`): nothing more is printed.
    pub fn negative() -> Self {
        CliError {
            message: String::new(),
            hint: None,
            code: 1,
        }
    }

    /// Adds the next step.
    pub fn hint(mut self, hint: impl std::fmt::Display) -> Self {
        self.hint = Some(hint.to_string());
        self
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let hint = match &e {
            StoreError::NotARepository { .. } => {
                Some("run git-session inside a git repository, or create one with 'git init'".to_owned())
            }
            StoreError::Reftable { .. } => Some(
                "convert the repository with 'git refs migrate --ref-format=files', or save in a files-backend clone"
                    .to_owned(),
            ),
            StoreError::UnsupportedObjectFormat { .. } => {
                Some("use a sha1 repository for sessions".to_owned())
            }
            StoreError::RefMoved { .. } => {
                Some("another process changed the session meanwhile; run the command again".to_owned())
            }
            StoreError::StaleLock { lock, .. } => Some(format!(
                "no git-session holds a ref lock this long; if no git command is running, remove it: rm '{}'",
                lock.display()
            )),
            StoreError::MaintenanceBusy { wanted: crate::store::LockMode::Shared, .. } => Some(format!(
                "run the command again once it has finished (the lock goes with its process, so it is never stale; git config {} sets the wait in seconds)",
                crate::store::lock::LOCK_TIMEOUT_KEY
            )),
            StoreError::MaintenanceBusy { .. } => Some(
                "run it again when no git-session save, import, pull or scrub is running in this repository (the lock goes with its process, so it is never stale)"
                    .to_owned(),
            ),
            StoreError::DiskFull { .. } => Some(
                "free space on that disk, then run the command again; no ref moved, so nothing is half-saved"
                    .to_owned(),
            ),
            StoreError::MissingObject { .. } => Some(
                "the repository lost objects a save needs; 'git session repair' mends the damaged sessions (keeping every intact save), and 'git session pull' restores them from a remote that has them"
                    .to_owned(),
            ),
            _ => None,
        };
        CliError {
            message: e.to_string(),
            hint,
            code: 1,
        }
    }
}

impl From<SessionError> for CliError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Store(store) => store.into(),
            SessionError::NotFound { .. } => {
                CliError::user(e).hint("run 'git session list' to see saved sessions")
            }
            SessionError::Ambiguous { .. } => {
                CliError::user(e).hint("type more characters of the id")
            }
            SessionError::SaveNotFound { ref session, .. } => {
                let hint = format!("run 'git session log {session}' to see its saves");
                CliError::user(e).hint(hint)
            }
            SessionError::NewerFormat { .. } => {
                CliError::user(e).hint("upgrade git-session to read this save")
            }
            SessionError::Contended { .. } => CliError::user(e).hint(
                "other processes are saving the same session in a loop; run the command again",
            ),
            SessionError::ObjectsVanished { .. } => CliError::user(e).hint(
                "something deletes unreachable objects while sessions are saved, such as a 'git gc --prune=now' or 'git prune' run by hand; let it finish, then save again",
            ),
            SessionError::Corrupt { .. } => CliError::user(e)
                .hint("run 'git session repair' (it mends saves that lack objects) and 'git fsck'; a remote with an intact copy restores it: 'git session pull'"),
            other => CliError::user(other),
        }
    }
}

impl From<InputError> for CliError {
    fn from(e: InputError) -> Self {
        let hint = match &e {
            InputError::Unreadable { .. } => {
                "check the path: --from takes an agent's session file (an 'opencode export' JSON, a Claude Code or Codex .jsonl), or - for stdin"
            }
            InputError::Truncated { .. } => {
                "the file was cut while written; export it again (a piped 'opencode export' is cut at 64 KiB: write it to a file with > instead)"
            }
            _ => "pass the file 'opencode export <id>' writes, or an agent's .jsonl transcript (with --agent claude or codex)",
        };
        CliError::user(e).hint(hint)
    }
}

impl CliError {
    /// `-C DIR` (or another directory to run in) names nothing.
    pub fn no_such_directory(dir: &std::path::Path) -> Self {
        CliError::user(format!("{} does not exist", dir.display()))
            .hint("-C names the directory to run in: check the path (relative ones start from the current directory)")
    }
}

impl From<AgentError> for CliError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::Agent { message, hint } => CliError {
                message,
                hint,
                code: 1,
            },
            AgentError::Session(session) => session.into(),
        }
    }
}

impl From<BundleError> for CliError {
    fn from(e: BundleError) -> Self {
        match e {
            BundleError::Newer { .. } => {
                CliError::user(e).hint("upgrade git-session to import it")
            }
            BundleError::NotItsSave { .. } => CliError::user(e).hint(
                "the bundle was not written by 'git session export' or was changed since; nothing was stored on the session's ref",
            ),
            _ => CliError::user(e).hint("pass a file written by 'git session export'"),
        }
    }
}
