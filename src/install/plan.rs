//! Planning an install from what is there now: every part is already there (nothing to do),
//! missing (one [`Change`] each), outdated (git-session's older version, replaced) or in the way
//! (a file of that name git-session did not write: the install refuses and changes nothing).
//!
//! Planning reads files and git config and changes nothing, so `--dry-run` and `status` are the
//! same code as the install itself. The per-part planning is in [`opencode`], [`claude`] and
//! [`git_hooks`].

use std::path::PathBuf;

use super::action::{Action, Change};
use super::error::{InstallError, Result};
use super::manifest::{Manifests, Which};
use super::{claude, codex, gemini, git_hooks, opencode, Context, Scope};

/// How far one part of the installation is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Installed and current.
    Installed,
    /// Installed by an older git-session; install updates it.
    Outdated,
    /// Not there.
    Missing,
    /// A file of that name exists that git-session did not write.
    InTheWay,
}

/// One part of the installation (a file, the hook, one remote's refspec) and its state.
#[derive(Debug, Clone)]
pub struct Component {
    /// What it is: `plugin`, `save command`, `load command`, `pre-push hook`, `fetch refspec`,
    /// `ignore rules`.
    pub name: &'static str,
    /// Where: a path, or a remote's name for a refspec.
    pub target: String,
    /// Its state.
    pub state: State,
    /// More about it (how a hook is chained), for people.
    pub detail: Option<String>,
}

/// An install or uninstall, worked out before anything changes.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every part looked at, with its state.
    pub components: Vec<Component>,
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// Things the user should know (one line each).
    pub notes: Vec<String>,
}

impl Plan {
    /// The files in the way of an install.
    pub fn in_the_way(&self) -> Vec<PathBuf> {
        self.components
            .iter()
            .filter(|c| c.state == State::InTheWay)
            .map(|c| PathBuf::from(&c.target))
            .collect()
    }

    /// Adds the change `action`, recorded in the manifest `which`.
    pub(crate) fn push(&mut self, which: Which, action: Action) {
        self.changes.push(Change { action, which });
    }

    /// Adds the part `name` at `target` in `state`, without details.
    pub(crate) fn component(
        &mut self,
        name: &'static str,
        target: impl Into<String>,
        state: State,
    ) {
        self.components.push(Component {
            name,
            target: target.into(),
            state,
            detail: None,
        });
    }
}

/// An agent whose hooks install can put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// OpenCode: the plugin and slash commands.
    OpenCode,
    /// Claude Code: `PreCompact` and `SessionEnd` hooks in its settings.
    Claude,
    /// Codex CLI: `PreCompact` and `SessionEnd` hooks in its `hooks.json`, trusted in its
    /// `config.toml`.
    Codex,
    /// Gemini CLI: `PreCompress` and `SessionEnd` hooks in its settings.
    Gemini,
}

impl Agent {
    /// The install parts of the registered agent named `name` (see `crate::agents::registry`),
    /// or `None` when install has nothing for it.
    pub fn named(name: &str) -> Option<Agent> {
        match name {
            crate::agents::opencode::AGENT => Some(Agent::OpenCode),
            crate::agents::claude::AGENT => Some(Agent::Claude),
            crate::agents::codex::AGENT => Some(Agent::Codex),
            crate::agents::gemini::AGENT => Some(Agent::Gemini),
            _ => None,
        }
    }
}

/// The Claude Code config directory of `scope`: the project's `.claude/` or the user's.
pub fn claude_dir(ctx: &Context, scope: Scope) -> Option<PathBuf> {
    match scope {
        Scope::Project => ctx
            .repo
            .as_ref()
            .and_then(|r| r.worktree.as_ref())
            .map(|root| root.join(".claude")),
        Scope::Global => ctx.claude_global_dir.clone(),
    }
}

/// The Codex config directory of `scope`: the project's `.codex/` or `$CODEX_HOME`.
pub fn codex_dir(ctx: &Context, scope: Scope) -> Option<PathBuf> {
    match scope {
        Scope::Project => ctx
            .repo
            .as_ref()
            .and_then(|r| r.worktree.as_ref())
            .map(|root| root.join(".codex")),
        Scope::Global => codex::home(),
    }
}

/// The Gemini CLI folder of `scope`: the project's `.gemini/` or the user's `~/.gemini`.
pub fn gemini_dir(ctx: &Context, scope: Scope) -> Option<PathBuf> {
    match scope {
        Scope::Project => ctx
            .repo
            .as_ref()
            .and_then(|r| r.worktree.as_ref())
            .map(|root| root.join(".gemini")),
        Scope::Global => gemini::global_dir(),
    }
}

/// The agents an install is for: those in `only`, else OpenCode, and Claude Code and Codex when
/// their config directory of `scope` exists.
pub fn agents(ctx: &Context, scope: Scope, only: &[Agent]) -> Vec<Agent> {
    if !only.is_empty() {
        return [Agent::OpenCode, Agent::Claude, Agent::Codex, Agent::Gemini]
            .into_iter()
            .filter(|a| only.contains(a))
            .collect();
    }
    let mut agents = vec![Agent::OpenCode];
    if claude_dir(ctx, scope).is_some_and(|d| d.is_dir()) {
        agents.push(Agent::Claude);
    }
    if codex_dir(ctx, scope).is_some_and(|d| d.is_dir()) {
        agents.push(Agent::Codex);
    }
    if gemini_dir(ctx, scope).is_some_and(|d| d.is_dir()) {
        agents.push(Agent::Gemini);
    }
    agents
}

/// Plans an install for `agents`: the OpenCode files into the project's `.opencode/` (or
/// OpenCode's global config dir), Claude Code's hooks into the project's `.claude/settings.json`
/// (or the user's), and, inside a repository, the pre-push hook and each remote's fetch refspec.
pub fn plan_install(
    ctx: &Context,
    scope: Scope,
    agents: &[Agent],
    manifests: &Manifests,
) -> Result<Plan> {
    let mut plan = Plan::default();
    if agents.contains(&Agent::OpenCode) {
        plan_opencode(ctx, scope, manifests, &mut plan)?;
    }
    if agents.contains(&Agent::Claude) {
        let which = match scope {
            Scope::Project => Which::Repo,
            Scope::Global => Which::Global,
        };
        let dir = match scope {
            Scope::Project if ctx.repo.is_none() => return Err(InstallError::NoWorktree),
            Scope::Project => claude_dir(ctx, scope).ok_or(InstallError::NoWorktree)?,
            Scope::Global => claude_dir(ctx, scope).ok_or(InstallError::NoConfigDir)?,
        };
        claude::plan(&dir, which, &mut plan)?;
    }
    if agents.contains(&Agent::Codex) {
        let (which, project) = match scope {
            Scope::Project => (
                Which::Repo,
                ctx.repo.as_ref().and_then(|r| r.worktree.clone()),
            ),
            Scope::Global => (Which::Global, None),
        };
        if scope == Scope::Project && project.is_none() {
            return Err(InstallError::NoWorktree);
        }
        let dir = codex_dir(ctx, scope).ok_or(InstallError::NoConfigDir)?;
        let home = codex::home().ok_or(InstallError::NoConfigDir)?;
        codex::plan(&dir, &home, project.as_deref(), which, &mut plan)?;
    }
    if agents.contains(&Agent::Gemini) {
        let which = match scope {
            Scope::Project => Which::Repo,
            Scope::Global => Which::Global,
        };
        let dir = match scope {
            Scope::Project if ctx.repo.is_none() => return Err(InstallError::NoWorktree),
            Scope::Project => gemini_dir(ctx, scope).ok_or(InstallError::NoWorktree)?,
            Scope::Global => gemini_dir(ctx, scope).ok_or(InstallError::NoConfigDir)?,
        };
        claude::plan_of(&dir, which, &mut plan, &gemini::GEMINI)?;
    }
    if let Some(repo) = &ctx.repo {
        git_hooks::plan(repo, &manifests.repo, &mut plan)?;
    }
    Ok(plan)
}

fn plan_opencode(
    ctx: &Context,
    scope: Scope,
    manifests: &Manifests,
    plan: &mut Plan,
) -> Result<()> {
    match scope {
        Scope::Project => {
            let repo = ctx.repo.as_ref().ok_or(InstallError::NoWorktree)?;
            let root = repo.worktree.as_ref().ok_or(InstallError::NoWorktree)?;
            opencode::plan(
                &root.join(".opencode"),
                Which::Repo,
                &manifests.repo,
                Some((root, &repo.common_dir)),
                plan,
            )?;
        }
        Scope::Global => {
            let dir = ctx.global_dir.as_ref().ok_or(InstallError::NoConfigDir)?;
            opencode::plan(dir, Which::Global, &manifests.global, None, plan)?;
        }
    }
    Ok(())
}
