//! Where the OpenCode plugin and slash commands go, and the ignore rules that keep them out of
//! `git status` and OpenCode's worktree snapshots.
//!
//! OpenCode 1.18.33 loads `{plugin,plugins}/*.{ts,js}` and `{command,commands}/**/*.md` from each
//! config directory: the global one (`$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`) and
//! every `.opencode/` from the project directory up to the worktree root. The singular names are
//! used unless only the plural one exists.
//!
//! OpenCode 2 reads plugins from `plugins/` only (`.opencode/plugins/`, `~/.config/opencode/
//! plugins/`: anomalyco/opencode `packages/core/src/plugin/`), so the same plugin file also goes
//! there when the singular folder is used; OpenCode 1 then finds two copies, of which one stays
//! quiet (the plugin guards against loading twice).

use std::path::{Path, PathBuf};

use super::{assets, hash, non_empty_env, Action, Component, Manifest, Plan, Result, State, Which};

/// OpenCode's global config directory: `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`.
pub fn global_config_dir() -> Option<PathBuf> {
    non_empty_env("XDG_CONFIG_HOME")
        .map(|d| PathBuf::from(d).join("opencode"))
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".config/opencode")))
}

/// The three files in one OpenCode config directory.
#[derive(Debug, Clone)]
pub struct Files {
    /// The plugin directory (`plugin/`, or an existing `plugins/`).
    pub plugin_dir: PathBuf,
    /// The command directory (`command/`, or an existing `commands/`).
    pub command_dir: PathBuf,
    /// `<plugin_dir>/git-session.js`.
    pub plugin: PathBuf,
    /// `plugins/git-session.js`, the copy OpenCode 2 reads (the same file as `plugin` when
    /// `plugin_dir` is `plugins/`).
    pub plugin_v2: PathBuf,
    /// `<command_dir>/session-save.md`.
    pub save: PathBuf,
    /// `<command_dir>/session-load.md`.
    pub load: PathBuf,
}

/// The files git-session puts into the OpenCode config directory `base`.
pub fn files(base: &Path) -> Files {
    let pick = |one: &str, many: &str| {
        if !base.join(one).exists() && base.join(many).is_dir() {
            base.join(many)
        } else {
            base.join(one)
        }
    };
    let plugin_dir = pick("plugin", "plugins");
    let command_dir = pick("command", "commands");
    Files {
        plugin: plugin_dir.join("git-session.js"),
        plugin_v2: base.join("plugins").join("git-session.js"),
        save: command_dir.join("session-save.md"),
        load: command_dir.join("session-load.md"),
        plugin_dir,
        command_dir,
    }
}

/// The state of a file git-session writes whole: absent, current, an older version it wrote
/// (the manifest has its hash), or someone else's.
pub fn file_state(path: &Path, contents: &str, manifest: &Manifest) -> State {
    match std::fs::read(path) {
        Err(_) => State::Missing,
        Ok(bytes) if bytes == contents.as_bytes() => State::Installed,
        Ok(bytes) if manifest.file_hash(path) == Some(hash(&bytes).as_str()) => State::Outdated,
        Ok(_) => State::InTheWay,
    }
}

/// Plans the plugin and commands in the OpenCode config directory `base`. `project` is the
/// worktree root and the git dir for a project install: the files are then also listed in the
/// repository's `info/exclude`.
pub(crate) fn plan(
    base: &Path,
    which: Which,
    manifest: &Manifest,
    project: Option<(&Path, &Path)>,
    plan: &mut Plan,
) -> Result<()> {
    let files = files(base);
    let mut wanted = vec![
        ("plugin", &files.plugin, assets::PLUGIN),
        ("save command", &files.save, assets::SAVE_COMMAND),
        ("load command", &files.load, assets::LOAD_COMMAND),
    ];
    if files.plugin_v2 != files.plugin {
        wanted.insert(1, ("OpenCode 2 plugin", &files.plugin_v2, assets::PLUGIN));
    }
    let mut writes = Vec::new();
    for (name, path, contents) in wanted {
        let state = file_state(path, contents, manifest);
        if matches!(state, State::Missing | State::Outdated) {
            writes.push(Action::WriteFile {
                path: path.clone(),
                contents: contents.to_owned(),
                executable: false,
                replacing: state == State::Outdated,
            });
        }
        plan.component(name, path.display().to_string(), state);
    }
    if !writes.is_empty() {
        let mut dirs = vec![(base.to_path_buf(), true)];
        let v2_dir = files.plugin_v2.parent().map(Path::to_path_buf);
        for dir in [
            Some(&files.plugin_dir),
            v2_dir.as_ref(),
            Some(&files.command_dir),
        ]
        .into_iter()
        .flatten()
        {
            if !dirs.iter().any(|(d, _)| d == dir) {
                dirs.push((dir.clone(), false));
            }
        }
        for (dir, opencode) in dirs {
            if !dir.is_dir() {
                plan.push(
                    which,
                    Action::CreateDir {
                        path: dir,
                        opencode,
                    },
                );
            }
        }
        for action in writes {
            plan.push(which, action);
        }
    }
    if let Some((root, git_dir)) = project {
        plan_exclude(root, git_dir, &files, plan);
    }
    Ok(())
}

/// The `info/exclude` block for the project files: they stay out of `git status`, and out of
/// OpenCode's snapshots of the worktree (which copy the repository's `info/exclude`).
pub fn exclude_block(root: &Path, files: &Files) -> String {
    let mut block = format!(
        "{} (OpenCode files of 'git session install'; 'git session uninstall' removes them)\n",
        assets::BLOCK_START
    );
    let mut paths = vec![&files.plugin, &files.save, &files.load];
    if files.plugin_v2 != files.plugin {
        paths.insert(1, &files.plugin_v2);
    }
    for path in paths {
        let relative = path.strip_prefix(root).unwrap_or(path);
        let relative: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        block.push('/');
        block.push_str(&relative.join("/"));
        block.push('\n');
    }
    block.push_str(assets::BLOCK_END);
    block.push('\n');
    block
}

fn plan_exclude(root: &Path, git_dir: &Path, files: &Files, plan: &mut Plan) {
    let path = git_dir.join("info").join("exclude");
    let block = exclude_block(root, files);
    let text = std::fs::read_to_string(&path).ok();
    let existing = text
        .as_deref()
        .and_then(|t| assets::find_block(t).map(|r| &t[r]));
    let state = match existing {
        Some(b) if b == block => State::Installed,
        Some(_) => State::Outdated,
        None => State::Missing,
    };
    match (&state, &text) {
        (State::Outdated, _) => plan.push(
            Which::Repo,
            Action::ReplaceBlock {
                path: path.clone(),
                block,
            },
        ),
        (State::Missing, Some(text)) => plan.push(
            Which::Repo,
            Action::AppendBlock {
                path: path.clone(),
                block,
                separator: !text.is_empty() && !text.ends_with('\n'),
                create: false,
            },
        ),
        (State::Missing, None) => {
            let info = git_dir.join("info");
            if !info.is_dir() {
                plan.push(
                    Which::Repo,
                    Action::CreateDir {
                        path: info,
                        opencode: false,
                    },
                );
            }
            plan.push(
                Which::Repo,
                Action::AppendBlock {
                    path: path.clone(),
                    block,
                    separator: false,
                    create: true,
                },
            );
        }
        _ => {}
    }
    plan.components.push(Component {
        name: "ignore rules",
        target: path.display().to_string(),
        state,
        detail: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_plural_directory_is_used_and_the_singular_one_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        assert_eq!(files(base).plugin, base.join("plugin/git-session.js"));
        std::fs::create_dir(base.join("commands")).unwrap();
        assert_eq!(files(base).save, base.join("commands/session-save.md"));
        std::fs::create_dir(base.join("command")).unwrap();
        assert_eq!(files(base).save, base.join("command/session-save.md"));
    }

    #[test]
    fn the_exclude_block_lists_the_files_from_the_worktree_root() {
        let root = Path::new("/work/repo");
        let block = exclude_block(root, &files(&root.join(".opencode")));
        assert!(
            block.contains("\n/.opencode/plugin/git-session.js\n"),
            "{block}"
        );
        assert!(
            block.contains("\n/.opencode/command/session-load.md\n"),
            "{block}"
        );
        assert_eq!(assets::find_block(&block), Some(0..block.len()));
    }
}
