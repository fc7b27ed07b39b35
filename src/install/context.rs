//! The repository and the directories an install, uninstall or status looks at, worked out once
//! from the repository that was opened and the environment (`XDG_*`, `HOME`,
//! `CLAUDE_CONFIG_DIR`).

use std::path::PathBuf;

use super::manifest::Which;
use super::{claude, opencode};
use crate::store::Store;

/// Where the OpenCode plugin and commands go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The project's `.opencode/` directory (and this repository's info/exclude).
    Project,
    /// OpenCode's global config directory (`$XDG_CONFIG_HOME/opencode`, `~/.config/opencode`).
    Global,
}

/// The repository an install is for.
#[derive(Debug, Clone)]
pub struct RepoContext {
    /// The git dir shared by all worktrees (absolute).
    pub common_dir: PathBuf,
    /// The worktree root (absolute, symlinks resolved), if any.
    pub worktree: Option<PathBuf>,
    /// The remotes.
    pub remotes: Vec<String>,
    /// The remote sessions go to instead of the code's (`session.remote`), when set.
    pub sessions_remote: Option<SessionsRemote>,
}

/// Where sessions go when they have a repository of their own (`session.remote`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsRemote {
    /// The remote's name.
    pub name: String,
    /// Its URL, when the install adds the remote (`remote.<name>.url`).
    pub add_url: Option<String>,
    /// Whether the install sets `session.remote` to `name`.
    pub set_key: bool,
}

impl RepoContext {
    /// The repository `store` opened.
    pub fn from_store(store: &Store) -> Self {
        let common = store.common_dir();
        let common_dir = std::fs::canonicalize(&common).unwrap_or(common);
        let worktree = store
            .workdir()
            .map(|dir| std::fs::canonicalize(&dir).unwrap_or(dir));
        let remotes = store.remote_names();
        let sessions_remote = store
            .config_string("session.remote")
            .map(|v| v.trim().to_owned())
            .and_then(|value| {
                let name = if remotes.contains(&value) {
                    Some(value)
                } else {
                    remotes.iter().find_map(|r| {
                        store
                            .config_strings(&format!("remote.{r}.url"))
                            .contains(&value)
                            .then(|| r.clone())
                    })
                }?;
                Some(SessionsRemote {
                    name,
                    add_url: None,
                    set_key: false,
                })
            });
        RepoContext {
            common_dir,
            worktree,
            remotes,
            sessions_remote,
        }
    }

    /// The repository's install manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.common_dir.join("git-session").join("install.json")
    }
}

/// Everything an install, uninstall or status looks at.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository, if the command runs inside one.
    pub repo: Option<RepoContext>,
    /// OpenCode's global config directory, if it can be named.
    pub global_dir: Option<PathBuf>,
    /// The manifest of global installs.
    pub global_manifest: Option<PathBuf>,
    /// Claude Code's user config directory (`$CLAUDE_CONFIG_DIR`, `~/.claude`), if it can be named.
    pub claude_global_dir: Option<PathBuf>,
}

impl Context {
    /// The context for `repo` and the current environment (`XDG_CONFIG_HOME`, `XDG_STATE_HOME`,
    /// `HOME`).
    pub fn new(repo: Option<RepoContext>) -> Self {
        Context {
            repo,
            global_dir: opencode::global_config_dir(),
            global_manifest: state_home().map(|d| d.join("git-session").join("install.json")),
            claude_global_dir: claude::global_config_dir(),
        }
    }

    /// The manifest `which` changes are recorded in, if it can be named.
    pub(crate) fn manifest_path(&self, which: Which) -> Option<PathBuf> {
        match which {
            Which::Repo => self.repo.as_ref().map(RepoContext::manifest_path),
            Which::Global => self.global_manifest.clone(),
        }
    }
}

/// `$XDG_STATE_HOME`, else `~/.local/state`.
pub fn state_home() -> Option<PathBuf> {
    non_empty_env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".local/state")))
}

/// The environment variable `name`, unless it is unset or empty.
pub(crate) fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
