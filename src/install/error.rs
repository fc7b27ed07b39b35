//! What goes wrong while installing or uninstalling, as one error type with the paths involved.

use std::path::{Path, PathBuf};

use crate::git_cli::GitError;

/// What went wrong while installing or uninstalling.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A file could not be read, written, moved or removed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, such as `cannot write`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A git command (config) failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The manifest of a previous install cannot be read.
    #[error("cannot read the install manifest {}: {source}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: serde_json::Error,
    },
    /// Files that git-session would write exist and were not written by it.
    #[error("{} already exist{} and {} not written by git-session", list(paths), if paths.len() == 1 { "s" } else { "" }, if paths.len() == 1 { "was" } else { "were" })]
    InTheWay {
        /// The files.
        paths: Vec<PathBuf>,
    },
    /// The project install needs a worktree (the plugin goes into its `.opencode/`).
    #[error("this repository has no worktree, so it has no project .opencode/ directory")]
    NoWorktree,
    /// A Claude Code settings file that git-session cannot edit.
    #[error("cannot add git-session's hooks to {}: {reason}", path.display())]
    Settings {
        /// The settings file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set, so OpenCode's config dir is unknown.
    #[error("cannot find OpenCode's config directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigDir,
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Result type of this module.
pub type Result<T, E = InstallError> = std::result::Result<T, E>;

/// An [`InstallError::Io`] for `action` on `path`.
pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> InstallError {
    InstallError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
