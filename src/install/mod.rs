//! `git session install` / `uninstall` / `status`: the OpenCode plugin and slash commands, the git
//! `pre-push` hook and the fetch refspec that make saving and sharing sessions automatic.
//!
//! Installing is planned first, from what is on disk and in git config now: every part is either
//! already there (nothing to do), missing (one [`Change`] each), or in the way (a file of the same
//! name that git-session did not write: nothing is changed at all). Applying the plan records
//! each change as an [`Item`] in a manifest (`<git-dir>/git-session/install.json` for the
//! repository, `$XDG_STATE_HOME/git-session/install.json` for OpenCode's global config dir), and
//! uninstalling undoes exactly those items, newest first: files and directories it created are
//! removed, blocks it added to shared files (an existing hook, `info/exclude`) are cut out so
//! the file is byte-equal to what it was, a hook it moved aside is moved back, the refspecs it
//! added are unset. So installing twice changes nothing the second time, and install then
//! uninstall leaves every file, mode and config line as it was.
//!
//! Invariants: nothing here overwrites a file git-session did not write; a hook that existed keeps
//! running (git-session's part is chained to it, preserving its exit status); a hook in a hooks
//! directory outside the git dir (committed, or shared) stays where it is, and nothing written
//! there names a path of this machine or fails where git-session is missing; nothing that grows
//! is written into the worktree (OpenCode snapshots the worktree at every step).
//!
//! One job per module: `context` (the repository and the directories looked at), `plan` (what
//! to install), `undo` (what to uninstall), `action` (the changes, and the line describing each),
//! `apply` (making and recording them), `manifest` (the record), `files` (writing files and
//! cutting blocks out of them byte for byte), `status`. The parts themselves are planned in
//! [`opencode`], [`claude`], [`codex`] and [`git_hooks`]; the files written are embedded by [`assets`].

pub mod assets;
pub mod claude;
pub mod codex;
pub mod gemini;
pub mod git_hooks;
pub mod opencode;

mod action;
mod apply;
mod context;
mod error;
mod files;
mod manifest;
mod plan;
mod status;
mod undo;

pub use action::{describe, Action, Change};
pub use apply::{apply, apply_uninstall};
pub use context::{state_home, Context, RepoContext, Scope, SessionsRemote};
pub use error::{InstallError, Result};
pub use manifest::{hash, Item, Manifest, Manifests, Which};
pub use plan::{agents, claude_dir, codex_dir, plan_install, Agent, Component, Plan, State};
pub use status::{status, Status};
pub use undo::plan_uninstall;

pub(crate) use context::non_empty_env;
