//! `git session status`: the state of every part, found by planning an install and keeping only
//! the parts it looked at (so status and install cannot disagree).

use super::error::Result;
use super::git_hooks;
use super::manifest::{Manifests, Which};
use super::plan::{claude_dir, codex_dir, gemini_dir, Component, Plan, State};
use super::{claude, codex, gemini, opencode, Context, Scope};

/// What is installed where, for `git session status`.
#[derive(Debug, Clone)]
pub struct Status {
    /// The project's `.opencode/` files and ignore rules (`None` outside a worktree).
    pub project: Option<Vec<Component>>,
    /// The files in OpenCode's global config directory (`None` when it cannot be named).
    pub global: Option<Vec<Component>>,
    /// The hooks directory, the pre-push hook and the refspecs (`None` outside a repository).
    pub git: Option<(git_hooks::HooksDir, Vec<Component>)>,
    /// Claude Code's hooks in the project's `.claude/settings.json` (`None` outside a worktree).
    pub claude_project: Option<Component>,
    /// Claude Code's hooks in the user's settings (`None` when HOME is unset).
    pub claude_global: Option<Component>,
    /// Codex's hooks in the project's `.codex/hooks.json` and their trust in its `config.toml`
    /// (`None` outside a worktree, or when HOME is unset).
    pub codex_project: Option<Vec<Component>>,
    /// Codex's hooks in `$CODEX_HOME/hooks.json` and their trust (`None` when HOME is unset).
    pub codex_global: Option<Vec<Component>>,
    /// Gemini CLI's hooks in the project's `.gemini/settings.json` (`None` outside a worktree).
    pub gemini_project: Option<Component>,
    /// Gemini CLI's hooks in `~/.gemini/settings.json` (`None` when HOME is unset).
    pub gemini_global: Option<Component>,
}

/// Looks at what is installed, changing nothing.
pub fn status(ctx: &Context, manifests: &Manifests) -> Result<Status> {
    let project = match ctx
        .repo
        .as_ref()
        .and_then(|r| r.worktree.as_ref().map(|w| (r, w)))
    {
        Some((repo, root)) => {
            let mut plan = Plan::default();
            opencode::plan(
                &root.join(".opencode"),
                Which::Repo,
                &manifests.repo,
                Some((root, &repo.common_dir)),
                &mut plan,
            )?;
            Some(plan.components)
        }
        None => None,
    };
    let global = match &ctx.global_dir {
        Some(dir) => {
            let mut plan = Plan::default();
            opencode::plan(dir, Which::Global, &manifests.global, None, &mut plan)?;
            Some(plan.components)
        }
        None => None,
    };
    let git = match &ctx.repo {
        Some(repo) => {
            let mut plan = Plan::default();
            git_hooks::plan(repo, &manifests.repo, &mut plan)?;
            Some((git_hooks::hooks_dir(repo)?, plan.components))
        }
        None => None,
    };
    Ok(Status {
        project,
        global,
        git,
        claude_project: claude_dir(ctx, Scope::Project).map(|d| claude::component(&d)),
        claude_global: claude_dir(ctx, Scope::Global).map(|d| claude::component(&d)),
        codex_project: codex_components(ctx, Scope::Project),
        codex_global: codex_components(ctx, Scope::Global),
        gemini_project: gemini_dir(ctx, Scope::Project)
            .map(|d| claude::component_of(&d, &gemini::GEMINI)),
        gemini_global: gemini_dir(ctx, Scope::Global)
            .map(|d| claude::component_of(&d, &gemini::GEMINI)),
    })
}

/// The state of Codex's hooks and their trust entries for `scope`, from the install plan (a
/// file git-session cannot read is a part in the way).
fn codex_components(ctx: &Context, scope: Scope) -> Option<Vec<Component>> {
    let dir = codex_dir(ctx, scope)?;
    let home = codex::home()?;
    let project = match scope {
        Scope::Project => ctx.repo.as_ref().and_then(|r| r.worktree.clone()),
        Scope::Global => None,
    };
    let mut plan = Plan::default();
    match codex::plan(&dir, &home, project.as_deref(), Which::Repo, &mut plan) {
        Ok(()) => Some(plan.components),
        Err(e) => Some(vec![Component {
            name: "Codex hooks",
            target: codex::hooks_path(&dir).display().to_string(),
            state: State::InTheWay,
            detail: Some(e.to_string()),
        }]),
    }
}
