//! `git session status [--json]`: what `git session install` put where, whether the binary the
//! hooks call is on PATH, which events the OpenCode plugin saves on, and its last logged problem.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::install::{context, shown};
use super::{ui, CliError};
use crate::install::{self, Component, Context, Manifests, State};

/// Arguments of `git session status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

/// The events the plugin saves on when neither `GIT_SESSION_SAVE_ON` nor `session.saveOn` says.
const DEFAULT_SAVE_ON: &str = "compaction,revert";

/// The `--json` document of `status`. A `null` component list or component means there is no
/// place for it (not in a worktree, not in a repository, HOME unset).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusDocument<'a> {
    version: u32,
    /// OpenCode's files in the project.
    project: Option<Vec<ComponentJson<'a>>>,
    /// OpenCode's files in its global config directory.
    global: Option<Vec<ComponentJson<'a>>>,
    /// The hooks directory git uses.
    hooks_dir: Option<String>,
    /// `core.hooksPath`, when set.
    hooks_path: Option<&'a str>,
    /// The pre-push hook and the fetch refspecs.
    git: Option<Vec<ComponentJson<'a>>>,
    claude_project: Option<ComponentJson<'a>>,
    claude_global: Option<ComponentJson<'a>>,
    /// Codex's hooks and their trust entries in the project's `.codex/` and the user's config.
    codex_project: Option<Vec<ComponentJson<'a>>>,
    /// Codex's hooks in `$CODEX_HOME` and their trust entries.
    codex_global: Option<Vec<ComponentJson<'a>>>,
    /// Where `git-session` is on PATH.
    binary: Option<String>,
    /// `GIT_SESSION_BIN`, when set.
    plugin_binary: Option<String>,
    /// The events the OpenCode plugin saves on.
    save_on: Vec<&'a str>,
    plugin_log: Option<String>,
    /// The plugin log's last line.
    last_plugin_problem: Option<&'a str>,
}

/// One installed (or missing) thing.
#[derive(Debug, Serialize)]
struct ComponentJson<'a> {
    name: &'static str,
    target: &'a str,
    /// `installed`, `outdated`, `missing` or `in-the-way`.
    state: &'static str,
    detail: Option<&'a str>,
}

pub(crate) fn run(dir: &Path, args: StatusArgs) -> Result<(), CliError> {
    let ctx = context(dir, true)?;
    let manifests = Manifests::load(&ctx)?;
    let status = install::status(&ctx, &manifests)?;
    let binary = on_path("git-session");
    let plugin_binary = std::env::var_os("GIT_SESSION_BIN").filter(|v| !v.is_empty());
    let (save_on, save_on_from) = save_on(&ctx);
    let log = install::state_home().map(|d| d.join("git-session").join("opencode-plugin.log"));
    let last_problem = log
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| t.lines().last().map(str::to_owned));
    let hooks = status.git.as_ref();

    if args.json {
        ui::out_json(&StatusDocument {
            version: 1,
            project: status.project.as_deref().map(ComponentJson::list),
            global: status.global.as_deref().map(ComponentJson::list),
            hooks_dir: hooks.map(|(h, _)| h.path.display().to_string()),
            hooks_path: hooks.and_then(|(h, _)| h.configured.as_deref()),
            git: hooks.map(|(_, c)| ComponentJson::list(c)),
            claude_project: status.claude_project.as_ref().map(ComponentJson::new),
            claude_global: status.claude_global.as_ref().map(ComponentJson::new),
            codex_project: status.codex_project.as_deref().map(ComponentJson::list),
            codex_global: status.codex_global.as_deref().map(ComponentJson::list),
            binary: binary.as_ref().map(|p| p.display().to_string()),
            plugin_binary: plugin_binary
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            save_on: save_on
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
            plugin_log: log.as_ref().map(|p| p.display().to_string()),
            last_plugin_problem: last_problem.as_deref(),
        });
        return Ok(());
    }

    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<18}{}\n", shown(&ctx, &value)));
    };
    match &status.project {
        Some(c) => line("OpenCode project", opencode_summary(c)),
        None => line("OpenCode project", "(not in a worktree)".to_owned()),
    }
    match &status.global {
        Some(c) => line("OpenCode global", opencode_summary(c)),
        None => line(
            "OpenCode global",
            "(no config directory: HOME unset)".to_owned(),
        ),
    }
    line(
        "Claude project",
        match &status.claude_project {
            Some(c) => claude_summary(c),
            None => "(not in a worktree)".to_owned(),
        },
    );
    line(
        "Claude global",
        match &status.claude_global {
            Some(c) => claude_summary(c),
            None => "(no config directory: HOME unset)".to_owned(),
        },
    );
    for (label, parts) in [
        ("Codex project", &status.codex_project),
        ("Codex global", &status.codex_global),
    ] {
        line(
            label,
            match parts {
                Some(parts) => parts
                    .iter()
                    .map(|c| format!("{} {} ({})", c.name, state_text(&c.state), c.target))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "(not in a worktree, or HOME unset)".to_owned(),
            },
        );
    }
    match hooks {
        Some((dir, components)) => {
            for c in components
                .iter()
                .filter(|c| c.name == "pre-push hook" || c.name == "prepare-commit-msg hook")
            {
                let from = match &dir.configured {
                    Some(v) => format!("core.hooksPath={v}"),
                    None => "the repository's hooks directory".to_owned(),
                };
                let mut text = format!("{} ({from}): {}", c.target, state_text(&c.state));
                if let Some(detail) = &c.detail {
                    text.push_str(&format!(", {detail}"));
                }
                let label = if c.name == "pre-push hook" {
                    c.name
                } else {
                    "commit hook"
                };
                line(label, text);
            }
            let refspecs: Vec<String> = components
                .iter()
                .filter(|c| c.name == "fetch refspec")
                .map(|c| format!("{} {}", c.target, state_text(&c.state)))
                .collect();
            line(
                "fetch refspec",
                if refspecs.is_empty() {
                    "(no remotes)".to_owned()
                } else {
                    refspecs.join(", ")
                },
            );
        }
        None => line("git hooks", "(not in a repository)".to_owned()),
    }
    line(
        "binary",
        match &binary {
            Some(p) => format!("git-session on PATH: {}", p.display()),
            None => "git-session is NOT on PATH: the hooks and commands call it by name".to_owned(),
        },
    );
    if let Some(bin) = &plugin_binary {
        line(
            "plugin binary",
            format!("GIT_SESSION_BIN={}", bin.to_string_lossy()),
        );
    }
    line("plugin saves on", format!("{save_on} ({save_on_from})"));
    if let (Some(problem), Some(log)) = (&last_problem, &log) {
        line("last problem", format!("{problem} (in {})", log.display()));
    }
    ui::out(&out);
    Ok(())
}

fn opencode_summary(components: &[Component]) -> String {
    let files: Vec<&Component> = components
        .iter()
        .filter(|c| c.name != "ignore rules")
        .collect();
    let installed = files.iter().filter(|c| c.state == State::Installed).count();
    let dir = files
        .first()
        .and_then(|c| Path::new(&c.target).parent()?.parent())
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    match installed {
        0 if files.iter().all(|c| c.state == State::Missing) => format!("not installed ({dir})"),
        n if n == files.len() => format!("plugin and commands installed in {dir}"),
        _ => {
            let parts: Vec<String> = files
                .iter()
                .map(|c| format!("{} {}", c.name, state_text(&c.state)))
                .collect();
            format!("{} ({dir})", parts.join(", "))
        }
    }
}

fn claude_summary(c: &Component) -> String {
    let mut text = match c.state {
        State::Installed => format!("hooks installed in {}", c.target),
        State::Missing => format!("not installed ({})", c.target),
        _ => format!("{} ({})", state_text(&c.state), c.target),
    };
    if let Some(detail) = &c.detail {
        text.push_str(&format!(": {detail}"));
    }
    text
}

fn state_text(state: &State) -> &'static str {
    match state {
        State::Installed => "installed",
        State::Outdated => "outdated (run 'git session install')",
        State::Missing => "missing",
        State::InTheWay => "taken by a file git-session did not write",
    }
}

impl<'a> ComponentJson<'a> {
    fn new(c: &'a Component) -> Self {
        ComponentJson {
            name: c.name,
            target: &c.target,
            state: match c.state {
                State::Installed => "installed",
                State::Outdated => "outdated",
                State::Missing => "missing",
                State::InTheWay => "in-the-way",
            },
            detail: c.detail.as_deref(),
        }
    }

    fn list(components: &'a [Component]) -> Vec<Self> {
        components.iter().map(ComponentJson::new).collect()
    }
}

/// The events the plugin saves on, and where that comes from.
fn save_on(ctx: &Context) -> (String, &'static str) {
    if let Some(v) = std::env::var_os("GIT_SESSION_SAVE_ON") {
        return (v.to_string_lossy().into_owned(), "GIT_SESSION_SAVE_ON");
    }
    let configured = ctx.repo.as_ref().and_then(|r| {
        crate::git_cli::config_get(&r.common_dir, "session.saveOn", false)
            .ok()
            .flatten()
    });
    match configured {
        Some(v) => (v, "git config session.saveOn"),
        None => (
            DEFAULT_SAVE_ON.to_owned(),
            "default; set GIT_SESSION_SAVE_ON or git config session.saveOn",
        ),
    }
}

/// The first executable file called `name` in the directories of `PATH`.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}
