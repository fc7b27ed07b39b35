//! `git session install [--global] [--agent ...] [--dry-run]`: the OpenCode plugin and slash
//! commands, Claude Code's PreCompact and SessionEnd hooks, the git pre-push and
//! prepare-commit-msg hooks and the fetch refspec, so sessions are saved before compaction and shared with every push and fetch. The
//! work is planned and done in [`crate::install`].

use std::path::Path;

use clap::Args;

use super::{ui, CliError};
use crate::agents::AgentArg;
use crate::install::{
    self, Agent, Context, InstallError, Manifests, RepoContext, Scope, SessionsRemote,
};
use crate::store::{Store, StoreError};

/// Arguments of `git session install`.
#[derive(Debug, Args)]
#[command(after_long_help = "What it installs:
  .opencode/plugin/git-session.js        saves the session before OpenCode compacts it (and before
                                         a revert drops messages); failures are logged, never fatal
  .opencode/command/session-{save,load}.md   the /session-save and /session-load commands
  .claude/settings.json                  Claude Code hooks PreCompact and SessionEnd (when the
                                         project has .claude/, or with --agent claude): run
                                         'git-session save --agent claude --hook-stdin || true',
                                         timeout 10 s; other settings and hooks are kept
  <hooks dir>/pre-push                   'git push' also pushes refs/sessions/* (never forced; a
                                         refusal warns and never fails your push)
  <hooks dir>/prepare-commit-msg         saves the sessions whose edits are staged and adds a
                                         'Session: <agent>/<id>' trailer per session (off with
                                         git config session.commitTrailer false); never fails
                                         or blocks a commit
  remote.<name>.fetch                    +refs/session-index/*:refs/remotes/<name>/session-index/*
                                         +refs/session-deletions/*:refs/remotes/<name>/session-deletions/*
                                         a plain 'git fetch' brings a summary of each session
                                         (what 'list' shows), not the sessions: 'load', 'show'
                                         and 'search --session' fetch one when needed; an older
                                         install's +refs/sessions/* refspec is replaced
  remote.<name>.sessions                 true: sessions are pushed to the remotes present now;
                                         a remote added later gets none until
                                         'git session remote add <name>'
The hooks directory is core.hooksPath (husky, lefthook) or .git/hooks. An existing hook is
chained, not replaced; one in a committed hooks directory keeps its logic in place and gets a
block that names no path of this machine and does nothing where git-session is missing. Running
it again changes nothing; 'git session uninstall' restores every file and config line exactly.

Examples:
  git session install --dry-run    # print the plan, change nothing
  git session install              # into this project (.opencode/ and this repository)
  git session install --global     # the OpenCode files into ~/.config/opencode instead (and
                                   # the Claude Code hooks into ~/.claude/settings.json)
  git session install --agent claude   # only Claude Code's hooks (and the git side)
  git session install --sessions-remote git@host:team/sessions.git
                                   # sessions in a repository of their own (session.remote)")]
pub struct InstallArgs {
    /// Put the OpenCode plugin and commands into OpenCode's global config directory
    /// (`$XDG_CONFIG_HOME/opencode` or `~/.config/opencode`) instead of this project's
    /// `.opencode/`. The git hook and refspecs still go into the current repository, if any.
    #[arg(long)]
    pub global: bool,
    /// Install for this agent only (repeatable). Default: OpenCode, and Claude Code when the
    /// project has a `.claude/` directory (with `--global`: when `~/.claude` exists).
    #[arg(long, value_enum)]
    pub agent: Vec<AgentArg>,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep sessions in a repository of their own at URL (a private one next to a public code
    /// repository): adds it as the remote 'sessions' (unless a remote has that URL) and sets
    /// session.remote, so push, pull, load and the pre-push hook use it and never the code's
    /// remote.
    #[arg(long, value_name = "URL")]
    pub sessions_remote: Option<String>,
}

pub(crate) fn run(dir: &Path, args: InstallArgs) -> Result<(), CliError> {
    let mut ctx = context(dir, args.global)?;
    if let Some(url) = &args.sessions_remote {
        let repo = ctx.repo.as_mut().ok_or_else(|| {
            CliError::usage("--sessions-remote needs a repository")
                .hint("run it inside the project's repository")
        })?;
        repo.sessions_remote = Some(sessions_remote(dir, repo, url)?);
    }
    let manifests = Manifests::load(&ctx)?;
    let scope = if args.global {
        Scope::Global
    } else {
        Scope::Project
    };
    let only = args
        .agent
        .iter()
        .map(|a| {
            Agent::named(a.0.name()).ok_or_else(|| {
                CliError::user(format!(
                    "git session install has nothing to install for {} yet",
                    a.0.display_name()
                ))
                .hint(format!(
                    "save its sessions by hand: git session save --agent {}",
                    a.0.name()
                ))
            })
        })
        .collect::<Result<Vec<Agent>, CliError>>()?;
    let agents = install::agents(&ctx, scope, &only);
    let plan = install::plan_install(&ctx, scope, &agents, &manifests)?;
    let in_the_way = plan.in_the_way();
    if !in_the_way.is_empty() {
        return Err(InstallError::InTheWay { paths: in_the_way }.into());
    }
    if plan.changes.is_empty() {
        ui::status("git-session is already installed here; nothing changed.");
        // Such as a hook git-session leaves alone: said again, as it is still not chained.
        print_notes(&ctx, &plan.notes);
        print_remotes(dir, &ctx);
        install_manual();
        return Ok(());
    }
    if args.dry_run {
        for change in &plan.changes {
            ui::status(&shown(&ctx, &install::describe(&change.action, true)));
        }
        print_notes(&ctx, &plan.notes);
        ui::status(&format!(
            "would install the manual pages into {}",
            super::manual::default_dir().join("man1").display()
        ));
        ui::status("Nothing was changed (--dry-run).");
        return Ok(());
    }
    let mut manifests = manifests;
    for line in install::apply(&ctx, &plan, &mut manifests)? {
        ui::status(&shown(&ctx, &line));
    }
    print_notes(&ctx, &plan.notes);
    print_remotes(dir, &ctx);
    install_manual();
    if super::status::on_path("git-session").is_none() {
        ui::status(
            "warning: git-session is not on PATH, and the hooks call it by name; install it (cargo install) or the hooks do nothing",
        );
    }
    ui::status(
        "Installed. 'git session status' shows what is where; 'git session uninstall' removes it.",
    );
    Ok(())
}

/// Installs the manual pages for `git help session` (user-wide, beside git-session: they stay
/// when the per-repository install is undone); a failure is a warning, never the install's.
fn install_manual() {
    match super::manual::install(None) {
        Ok(installed) => super::manual::report(&installed, false),
        Err(e) => ui::status(&format!(
            "warning: the manual was not installed: {} (git session man --install --dir DIR puts it elsewhere)",
            e.message
        )),
    }
}

/// The install context for `dir`: its repository, or (for `--global` and `status`) none when
/// `dir` is not inside one.
pub(crate) fn context(dir: &Path, outside_ok: bool) -> Result<Context, CliError> {
    if !dir.exists() {
        return Err(CliError::no_such_directory(dir));
    }
    match Store::discover(dir) {
        Ok(store) => Ok(Context::new(Some(RepoContext::from_store(&store)))),
        Err(StoreError::NotARepository { .. }) if outside_ok => Ok(Context::new(None)),
        Err(e) => Err(e.into()),
    }
}

/// The remote `--sessions-remote URL` names: the remote that has this URL, else a new one named
/// `sessions` (`sessions-2`, ... when taken). `session.remote` already set to another is an error.
fn sessions_remote(dir: &Path, repo: &RepoContext, url: &str) -> Result<SessionsRemote, CliError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(CliError::usage("--sessions-remote needs a URL")
            .hint("git session install --sessions-remote <url of the sessions repository>"));
    }
    let store = Store::discover(dir)?;
    let has_url = |remote: &str| {
        store
            .config_strings(&format!("remote.{remote}.url"))
            .iter()
            .any(|u| u == url)
    };
    let existing = repo.remotes.iter().find(|r| has_url(r)).cloned();
    let set = store.config_string(super::remote::SESSIONS_REMOTE_KEY);
    if let Some(set) = set.map(|s| s.trim().to_owned()) {
        let same = set == url || existing.as_deref() == Some(set.as_str());
        if !same {
            return Err(CliError::user(format!(
                "{} is already {set}; sessions go there",
                super::remote::SESSIONS_REMOTE_KEY
            ))
            .hint(format!(
                "to move them: git config --unset {}, then run this again",
                super::remote::SESSIONS_REMOTE_KEY
            )));
        }
        let name = existing.unwrap_or(set);
        return Ok(SessionsRemote {
            name,
            add_url: None,
            set_key: false,
        });
    }
    if let Some(name) = existing {
        return Ok(SessionsRemote {
            name,
            add_url: None,
            set_key: true,
        });
    }
    let name = std::iter::once("sessions".to_owned())
        .chain((2..).map(|n| format!("sessions-{n}")))
        .find(|n| !repo.remotes.contains(n))
        .expect("a free name");
    Ok(SessionsRemote {
        name,
        add_url: Some(url.to_owned()),
        set_key: true,
    })
}

/// Says which remotes sessions will be pushed to (see [`super::remote`]).
fn print_remotes(dir: &Path, ctx: &Context) {
    if ctx.repo.is_none() {
        return;
    }
    let Ok(store) = Store::discover(dir) else {
        return;
    };
    if let Ok(Some(sessions)) = super::remote::sessions_remote(&store) {
        ui::status(&format!(
            "Sessions will be pushed to {sessions} only (session.remote), whichever remote the code goes to."
        ));
        return;
    }
    match super::remote::enabled_remotes(&store) {
        Ok(remotes) if remotes.is_empty() => ui::status(
            "Sessions will be pushed to no remote yet; enable one with: git session remote add <name>",
        ),
        Ok(remotes) => ui::status(&format!(
            "Sessions will be pushed to: {} (others only after 'git session remote add <name>')",
            remotes.join(", ")
        )),
        Err(_) => {}
    }
}

/// A line with paths below the worktree root shown relative to it.
pub(crate) fn shown(ctx: &Context, line: &str) -> String {
    match ctx.repo.as_ref().and_then(|r| r.worktree.as_ref()) {
        Some(root) => line.replace(&format!("{}/", root.display()), ""),
        None => line.to_owned(),
    }
}

pub(crate) fn print_notes(ctx: &Context, notes: &[String]) {
    for note in notes {
        ui::status(&shown(ctx, &format!("note: {note}")));
    }
}

impl From<InstallError> for CliError {
    fn from(e: InstallError) -> Self {
        match e {
            InstallError::Git(git) => git.into(),
            InstallError::InTheWay { .. } => CliError::user(e)
                .hint("move them away (or delete them) and run 'git session install' again"),
            InstallError::Manifest { ref path, .. } => {
                let hint = format!(
                    "it records what 'git session install' did; if it is damaged, move it away ({}) and remove the installed files by hand",
                    path.display()
                );
                CliError::user(e).hint(hint)
            }
            InstallError::NoWorktree => CliError::user(e)
                .hint("install the OpenCode files globally instead: git session install --global"),
            InstallError::NoConfigDir => {
                CliError::user(e).hint("set HOME (or XDG_CONFIG_HOME) and run it again")
            }
            InstallError::Settings { .. } => CliError::user(e).hint(
                "fix the file (it must be a JSON object whose \"hooks\" maps event names to arrays) and run 'git session install' again",
            ),
            InstallError::Io { .. } => CliError::user(e),
        }
    }
}
