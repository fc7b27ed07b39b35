//! `git session install` / `uninstall` / `status`: the OpenCode plugin and slash commands, the git
//! `pre-push` hook and the fetch refspec that make saving and sharing sessions automatic.
//!
//! Installing is planned first, from what is on disk and in git config now: every part is either
//! already there (nothing to do), missing (one [`Change`] each), or in the way (a file of the same
//! name that git-session did not write: nothing is changed at all). Applying the plan records
//! each change as an [`Item`] in a manifest (`<git-dir>/git-session/install.json` for the
//! repository, `$XDG_STATE_HOME/git-session/install.json` for OpenCode's global config dir), and
//! uninstalling undoes exactly those items, newest first: files and directories it created are
//! removed, blocks it appended to shared files (an existing hook, `info/exclude`) are cut out so
//! the file is byte-equal to what it was, a hook it moved aside is moved back, the refspecs it
//! added are unset. So installing twice changes nothing the second time, and install then
//! uninstall leaves every file, mode and config line as it was.
//!
//! Invariants: nothing here overwrites a file git-session did not write; a hook that existed keeps
//! running (git-session's part is chained after it, preserving its exit status); nothing that
//! grows is written into the worktree (OpenCode snapshots the worktree at every step).

pub mod assets;
pub mod claude;
pub mod git_hooks;
pub mod opencode;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::git_cli::{self, GitError};
use crate::store::Store;

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
}

impl RepoContext {
    /// The repository `store` opened.
    pub fn from_store(store: &Store) -> Self {
        let common = store.common_dir();
        let common_dir = std::fs::canonicalize(&common).unwrap_or(common);
        let worktree = store
            .workdir()
            .map(|dir| std::fs::canonicalize(&dir).unwrap_or(dir));
        RepoContext {
            common_dir,
            worktree,
            remotes: store.remote_names(),
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

    fn manifest_path(&self, which: Which) -> Option<PathBuf> {
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

pub(crate) fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Which manifest a change is recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// `<git-dir>/git-session/install.json`.
    Repo,
    /// `$XDG_STATE_HOME/git-session/install.json`.
    Global,
}

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

/// One change to make.
#[derive(Debug, Clone)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// Where it is recorded.
    pub which: Which,
}

/// A change to a file, a directory or git config.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create a directory.
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// An OpenCode config dir: on uninstall, the files OpenCode itself put there go too.
        opencode: bool,
    },
    /// Write a whole file (new, or replacing git-session's own older version).
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Its contents.
        contents: String,
        /// Whether it is a hook (mode 755).
        executable: bool,
        /// True when an older version written by git-session is replaced.
        replacing: bool,
    },
    /// Append a git-session block to a file (created when missing).
    AppendBlock {
        /// The file.
        path: PathBuf,
        /// The block, markers included.
        block: String,
        /// Whether a newline goes before it (the file did not end with one).
        separator: bool,
        /// Whether the file is created.
        create: bool,
    },
    /// Replace an older git-session block in a file by the current one.
    ReplaceBlock {
        /// The file.
        path: PathBuf,
        /// The current block.
        block: String,
    },
    /// Move an existing hook aside and write one that runs it, then git-session's part.
    WrapHook {
        /// The hook.
        path: PathBuf,
        /// Where the existing hook is kept.
        keep_at: PathBuf,
        /// The new hook.
        script: String,
    },
    /// Add a value to a multi-valued git config key.
    AddConfig {
        /// The key, such as `remote.origin.fetch`.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a value git-session added to git config.
    RemoveConfig {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a file git-session wrote.
    RemoveFile {
        /// The file.
        path: PathBuf,
    },
    /// Cut git-session's block out of a file.
    RemoveBlock {
        /// The file.
        path: PathBuf,
        /// Whether the newline before the block was added with it.
        separator: bool,
        /// Whether the file was created for the block (removed when nothing else is left).
        created: bool,
    },
    /// Put a hook that was moved aside back in place of git-session's.
    RestoreHook {
        /// The hook.
        path: PathBuf,
        /// Where it was kept.
        from: PathBuf,
    },
    /// Add git-session's hooks to a Claude Code settings file (created when missing).
    MergeSettings {
        /// The settings file.
        path: PathBuf,
        /// Its new contents: what was there, with the hooks appended.
        contents: String,
        /// What was there (`None`: no file).
        original: Option<String>,
        /// The events hooks are added for.
        events: Vec<String>,
    },
    /// Put a Claude Code settings file back as it was before install.
    RestoreSettings {
        /// The settings file.
        path: PathBuf,
        /// What to write (`None`: remove the file).
        contents: Option<String>,
        /// Whether the file changed since install, so only git-session's hooks are taken out.
        edited: bool,
    },
    /// Remove a directory git-session created, when nothing else is in it.
    RemoveDir {
        /// The directory.
        path: PathBuf,
        /// Whether OpenCode's own dependency files there may go too.
        opencode: bool,
    },
}

/// Files OpenCode writes into each of its config directories (its plugin dependencies and the
/// `.gitignore` for them). When git-session created the directory, they go with it.
const OPENCODE_ARTIFACTS: [&str; 5] = [
    ".gitignore",
    "package.json",
    "package-lock.json",
    "bun.lock",
    "node_modules",
];

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

    fn push(&mut self, which: Which, action: Action) {
        self.changes.push(Change { action, which });
    }

    fn component(&mut self, name: &'static str, target: impl Into<String>, state: State) {
        self.components.push(Component {
            name,
            target: target.into(),
            state,
            detail: None,
        });
    }
}

/// One thing an install did, as recorded in the manifest: what uninstall undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A directory it created.
    Dir {
        /// The directory.
        path: PathBuf,
        /// An OpenCode config dir (OpenCode's own files there go with it).
        #[serde(default)]
        opencode: bool,
    },
    /// A file it wrote, with the xxh3-128 of its contents.
    File {
        /// The file.
        path: PathBuf,
        /// The hash of what was written.
        hash: String,
    },
    /// A block it appended.
    Block {
        /// The file.
        path: PathBuf,
        /// Whether a newline was added before the block.
        separator: bool,
        /// Whether the file was created for the block.
        created: bool,
    },
    /// A hook it moved aside and replaced by one that runs it.
    WrappedHook {
        /// The hook.
        path: PathBuf,
        /// Where the original is kept.
        original: PathBuf,
    },
    /// A Claude Code settings file it added hooks to.
    Settings {
        /// The file.
        path: PathBuf,
        /// Its contents before the first install (`None`: there was no file).
        original: Option<String>,
        /// The hash of what install wrote.
        hash: String,
    },
    /// A git config value it added.
    Config {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

impl Item {
    fn same_target(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Dir { path: a, .. }, Item::Dir { path: b, .. })
            | (Item::File { path: a, .. }, Item::File { path: b, .. })
            | (Item::Block { path: a, .. }, Item::Block { path: b, .. })
            | (Item::WrappedHook { path: a, .. }, Item::WrappedHook { path: b, .. })
            | (Item::Settings { path: a, .. }, Item::Settings { path: b, .. }) => a == b,
            (Item::Config { key: a, value: x }, Item::Config { key: b, value: y }) => {
                a == b && x == y
            }
            _ => false,
        }
    }
}

/// The record of what installs did, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format (1).
    pub version: u32,
    /// What was done, oldest first.
    pub items: Vec<Item>,
}

impl Manifest {
    /// Reads the manifest at `path`; an absent file is an empty manifest.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| InstallError::Manifest {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest {
                version: 1,
                items: Vec::new(),
            }),
            Err(source) => Err(InstallError::Io {
                action: "cannot read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the manifest to `path`, or removes the file when it records nothing.
    pub fn store(&self, path: &Path) -> Result<()> {
        if self.items.is_empty() {
            remove_file(path)?;
            remove_empty_dir(path.parent());
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
        }
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| io("cannot write", path, e))
    }

    /// Records `item`, replacing an older record of the same file or config value.
    pub fn record(&mut self, item: Item) {
        if let Some(old) = self.items.iter_mut().find(|i| i.same_target(&item)) {
            *old = item;
        } else {
            self.items.push(item);
        }
    }

    /// The recorded hash of a file git-session wrote at `path`.
    pub fn file_hash(&self, path: &Path) -> Option<&str> {
        self.items.iter().find_map(|i| match i {
            Item::File { path: p, hash } if p == path => Some(hash.as_str()),
            _ => None,
        })
    }
}

/// The xxh3-128 of `bytes` as 32 hex digits.
pub fn hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> InstallError {
    InstallError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The manifests of `ctx`, as read now.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// The repository's.
    pub repo: Manifest,
    /// The global one.
    pub global: Manifest,
}

impl Manifests {
    /// Reads both manifests of `ctx`.
    pub fn load(ctx: &Context) -> Result<Self> {
        let read = |which| match ctx.manifest_path(which) {
            Some(path) => Manifest::load(&path),
            None => Ok(Manifest::default()),
        };
        Ok(Manifests {
            repo: read(Which::Repo)?,
            global: read(Which::Global)?,
        })
    }

    fn get(&self, which: Which) -> &Manifest {
        match which {
            Which::Repo => &self.repo,
            Which::Global => &self.global,
        }
    }

    fn get_mut(&mut self, which: Which) -> &mut Manifest {
        match which {
            Which::Repo => &mut self.repo,
            Which::Global => &mut self.global,
        }
    }
}

/// An agent whose hooks install can put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// OpenCode: the plugin and slash commands.
    OpenCode,
    /// Claude Code: `PreCompact` and `SessionEnd` hooks in its settings.
    Claude,
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

/// The agents an install is for: those in `only`, else OpenCode, and Claude Code when its config
/// directory of `scope` exists.
pub fn agents(ctx: &Context, scope: Scope, only: &[Agent]) -> Vec<Agent> {
    if !only.is_empty() {
        return [Agent::OpenCode, Agent::Claude]
            .into_iter()
            .filter(|a| only.contains(a))
            .collect();
    }
    let mut agents = vec![Agent::OpenCode];
    if claude_dir(ctx, scope).is_some_and(|d| d.is_dir()) {
        agents.push(Agent::Claude);
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

/// Plans an uninstall of what the manifests record (the global one only with `global`).
pub fn plan_uninstall(ctx: &Context, global: bool, manifests: &Manifests) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut whiches = Vec::new();
    if ctx.repo.is_some() {
        whiches.push(Which::Repo);
    }
    if global {
        whiches.push(Which::Global);
    }
    for which in whiches {
        for item in manifests.get(which).items.iter().rev() {
            undo(item, which, ctx, &mut plan)?;
        }
    }
    Ok(plan)
}

fn undo(item: &Item, which: Which, ctx: &Context, plan: &mut Plan) -> Result<()> {
    match item {
        Item::Dir { path, opencode } => {
            if path.is_dir() {
                plan.push(
                    which,
                    Action::RemoveDir {
                        path: path.clone(),
                        opencode: *opencode,
                    },
                );
            }
        }
        Item::File {
            path,
            hash: recorded,
        } => match std::fs::read(path) {
            Ok(bytes) if hash(&bytes) == *recorded => {
                plan.push(which, Action::RemoveFile { path: path.clone() });
            }
            Ok(bytes) => {
                let has_block = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(assets::find_block)
                    .is_some();
                if has_block {
                    plan.push(
                        which,
                        Action::RemoveBlock {
                            path: path.clone(),
                            separator: false,
                            created: false,
                        },
                    );
                }
                plan.notes.push(format!(
                    "{} changed since git-session wrote it; it is left in place{}",
                    path.display(),
                    if has_block {
                        " without git-session's block"
                    } else {
                        ""
                    }
                ));
            }
            Err(_) => {}
        },
        Item::Block {
            path,
            separator,
            created,
        } => {
            let has_block = std::fs::read_to_string(path)
                .ok()
                .is_some_and(|t| assets::find_block(&t).is_some());
            if has_block {
                plan.push(
                    which,
                    Action::RemoveBlock {
                        path: path.clone(),
                        separator: *separator,
                        created: *created,
                    },
                );
            }
        }
        Item::WrappedHook { path, original } => {
            if std::fs::symlink_metadata(original).is_ok() {
                plan.push(
                    which,
                    Action::RestoreHook {
                        path: path.clone(),
                        from: original.clone(),
                    },
                );
            } else {
                plan.notes.push(format!(
                    "the hook that was at {} is no longer kept at {}; nothing to put back",
                    path.display(),
                    original.display()
                ));
            }
        }
        Item::Settings {
            path,
            original,
            hash,
        } => claude::undo(path, original.as_deref(), hash, which, plan)?,
        Item::Config { key, value } => {
            let git_dir = ctx.repo.as_ref().map(|r| r.common_dir.clone());
            if let Some(git_dir) = git_dir {
                if git_cli::config_get_all(&git_dir, key)?.contains(value) {
                    plan.push(
                        which,
                        Action::RemoveConfig {
                            key: key.clone(),
                            value: value.clone(),
                        },
                    );
                }
            }
        }
    }
    Ok(())
}

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
    })
}

/// Applies an uninstall plan; afterwards the manifests uninstalled (the repository's, and the
/// global one with `global`) record nothing, since everything they listed was undone or found
/// already gone.
pub fn apply_uninstall(
    ctx: &Context,
    plan: &Plan,
    global: bool,
    manifests: &mut Manifests,
) -> Result<Vec<String>> {
    let done = apply(ctx, plan, manifests)?;
    let mut whiches = vec![Which::Repo];
    if global {
        whiches.push(Which::Global);
    }
    for which in whiches {
        if let Some(path) = ctx.manifest_path(which) {
            let manifest = manifests.get_mut(which);
            manifest.items.clear();
            manifest.store(&path)?;
        }
    }
    Ok(done)
}

/// Applies `plan` and updates the manifests. Returns what was done, one line per change, with
/// notes of things left alone. Stops at the first error; what was done until then is recorded.
pub fn apply(ctx: &Context, plan: &Plan, manifests: &mut Manifests) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut touched = Vec::new();
    let mut result = Ok(());
    for change in &plan.changes {
        match apply_one(ctx, change, manifests) {
            Ok(line) => {
                done.push(line);
                if !touched.contains(&change.which) {
                    touched.push(change.which);
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    for which in touched {
        if let Some(path) = ctx.manifest_path(which) {
            manifests.get(which).store(&path)?;
        }
    }
    result.map(|()| done)
}

fn apply_one(ctx: &Context, change: &Change, manifests: &mut Manifests) -> Result<String> {
    let manifest = manifests.get_mut(change.which);
    let line = describe(&change.action, false);
    match &change.action {
        Action::CreateDir { path, opencode } => {
            std::fs::create_dir_all(path).map_err(|e| io("cannot create", path, e))?;
            manifest.record(Item::Dir {
                path: path.clone(),
                opencode: *opencode,
            });
        }
        Action::WriteFile {
            path,
            contents,
            executable,
            ..
        } => {
            let mode = if *executable { 0o755 } else { 0o644 };
            write_new(path, contents.as_bytes(), mode)?;
            manifest.record(Item::File {
                path: path.clone(),
                hash: hash(contents.as_bytes()),
            });
        }
        Action::AppendBlock {
            path,
            block,
            separator,
            create,
        } => {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(*create)
                .open(path)
                .map_err(|e| io("cannot open", path, e))?;
            let text = if *separator {
                format!("\n{block}")
            } else {
                block.clone()
            };
            file.write_all(text.as_bytes())
                .map_err(|e| io("cannot write", path, e))?;
            manifest.record(Item::Block {
                path: path.clone(),
                separator: *separator,
                created: *create,
            });
        }
        Action::ReplaceBlock { path, block } => {
            let text = read_text(path)?;
            if let Some(range) = assets::find_block(&text) {
                let mut new = text.clone();
                new.replace_range(range, block);
                rewrite(path, new.as_bytes())?;
            }
        }
        Action::WrapHook {
            path,
            keep_at,
            script,
        } => {
            if let Some(dir) = keep_at.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
            }
            std::fs::rename(path, keep_at).map_err(|e| io("cannot move", path, e))?;
            manifest.record(Item::WrappedHook {
                path: path.clone(),
                original: keep_at.clone(),
            });
            write_new(path, script.as_bytes(), 0o755)?;
        }
        Action::AddConfig { key, value } => {
            let repo = ctx
                .repo
                .as_ref()
                .expect("config changes are planned in a repository");
            git_cli::config_add(&repo.common_dir, key, value)?;
            manifest.record(Item::Config {
                key: key.clone(),
                value: value.clone(),
            });
        }
        Action::RemoveConfig { key, value } => {
            let repo = ctx
                .repo
                .as_ref()
                .expect("config changes are planned in a repository");
            git_cli::config_unset_value(&repo.common_dir, key, value)?;
            forget(
                manifest,
                |i| matches!(i, Item::Config { key: k, value: v } if k == key && v == value),
            );
        }
        Action::RemoveFile { path } => {
            remove_file(path)?;
            forget(
                manifest,
                |i| matches!(i, Item::File { path: p, .. } if p == path),
            );
        }
        Action::RemoveBlock {
            path,
            separator,
            created,
        } => {
            let text = read_text(path)?;
            if let Some(range) = assets::find_block(&text) {
                let mut start = range.start;
                if *separator && text[..start].ends_with('\n') {
                    start -= 1;
                }
                let mut new = text.clone();
                new.replace_range(start..range.end, "");
                if *created && new.is_empty() {
                    remove_file(path)?;
                } else {
                    rewrite(path, new.as_bytes())?;
                }
            }
            forget(
                manifest,
                |i| matches!(i, Item::Block { path: p, .. } | Item::File { path: p, .. } if p == path),
            );
        }
        Action::RestoreHook { path, from } => {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot remove", path, e)),
            }
            std::fs::rename(from, path).map_err(|e| io("cannot move", from, e))?;
            remove_empty_dir(from.parent());
            forget(
                manifest,
                |i| matches!(i, Item::WrappedHook { path: p, .. } if p == path),
            );
        }
        Action::MergeSettings {
            path,
            contents,
            original,
            ..
        } => {
            match original {
                None => write_new(path, contents.as_bytes(), 0o644)?,
                Some(_) => rewrite(path, contents.as_bytes())?,
            }
            let item = claude::item(manifest, path, original.as_deref(), contents);
            manifest.record(item);
        }
        Action::RestoreSettings { path, contents, .. } => {
            match contents {
                None => remove_file(path)?,
                Some(text) => rewrite(path, text.as_bytes())?,
            }
            forget(
                manifest,
                |i| matches!(i, Item::Settings { path: p, .. } if p == path),
            );
        }
        Action::RemoveDir { path, opencode } => {
            forget(
                manifest,
                |i| matches!(i, Item::Dir { path: p, .. } if p == path),
            );
            return remove_dir(path, *opencode).map(|left| match left {
                None => line,
                Some(left) => format!(
                    "kept {} (it holds files git-session did not write: {left})",
                    path.display()
                ),
            });
        }
    }
    Ok(line)
}

fn forget(manifest: &mut Manifest, matches: impl Fn(&Item) -> bool) {
    manifest.items.retain(|i| !matches(i));
}

/// One line saying what `action` does (`dry`: as a plan, "would ...").
pub fn describe(action: &Action, dry: bool) -> String {
    let (verb, what) = match action {
        Action::CreateDir { path, .. } => ("create", format!("{}/", path.display())),
        Action::WriteFile {
            path, replacing, ..
        } => (
            if *replacing { "update" } else { "write" },
            path.display().to_string(),
        ),
        Action::AppendBlock { path, create, .. } => (
            if *create { "write" } else { "append to" },
            format!("{} (a git-session block)", path.display()),
        ),
        Action::ReplaceBlock { path, .. } => (
            "update",
            format!("the git-session block in {}", path.display()),
        ),
        Action::WrapHook { path, keep_at, .. } => (
            "wrap",
            format!(
                "{} (the hook there is kept at {} and runs first)",
                path.display(),
                keep_at.display()
            ),
        ),
        Action::AddConfig { key, value } => ("set", format!("git config --add {key} '{value}'")),
        Action::RemoveConfig { key, value } => ("unset", format!("git config {key} '{value}'")),
        Action::RemoveFile { path } => ("remove", path.display().to_string()),
        Action::RemoveBlock { path, .. } => (
            "remove",
            format!("the git-session block from {}", path.display()),
        ),
        Action::RestoreHook { path, from } => (
            "restore",
            format!("{} (from {})", path.display(), from.display()),
        ),
        Action::RemoveDir { path, .. } => ("remove", format!("{}/", path.display())),
        Action::MergeSettings {
            path,
            original,
            events,
            ..
        } => (
            if original.is_some() {
                "add hooks to"
            } else {
                "write"
            },
            format!(
                "{} (Claude Code {}: '{}', timeout {} s)",
                path.display(),
                events.join(", "),
                claude::HOOK_COMMAND,
                claude::HOOK_TIMEOUT
            ),
        ),
        Action::RestoreSettings {
            path,
            contents,
            edited,
        } => match (contents, edited) {
            (None, _) => ("remove", path.display().to_string()),
            (Some(_), true) => (
                "remove",
                format!("git-session's Claude Code hooks from {}", path.display()),
            ),
            (Some(_), false) => ("restore", path.display().to_string()),
        },
    };
    let past = match verb {
        "create" => "created",
        "write" => "wrote",
        "update" => "updated",
        "append to" => "appended to",
        "wrap" => "wrapped",
        "set" => "set",
        "unset" => "unset",
        "remove" => "removed",
        "restore" => "restored",
        "add hooks to" => "added hooks to",
        _ => verb,
    };
    if dry {
        format!("would {verb} {what}")
    } else {
        format!("{past} {what}")
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| io("cannot read", path, e))
}

/// Writes a new file with `mode` (on Unix); fails if something is in the way.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| io("cannot write", path, e))?;
    file.write_all(bytes)
        .map_err(|e| io("cannot write", path, e))?;
    // The mode given to open() is reduced by the umask; a replaced file keeps its old mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("cannot set the mode of", path, e))?;
    }
    Ok(())
}

/// Replaces the contents of an existing file, keeping its mode: written next to it and renamed
/// over it, so a crash leaves the old or the new contents.
fn rewrite(path: &Path, bytes: &[u8]) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| io("cannot read", path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.git-session.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| io("cannot write", &tmp, e))?;
    let moved = std::fs::set_permissions(&tmp, meta.permissions())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = moved {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("cannot write", path, e));
    }
    Ok(())
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("cannot remove", path, e)),
    }
}

/// Removes `dir` if it exists and is empty (a directory git-session's own state lived in).
fn remove_empty_dir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes a directory git-session created. Returns the names that kept it, if any.
fn remove_dir(path: &Path, opencode: bool) -> Result<Option<String>> {
    let entries: Vec<String> = match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot read", path, e)),
    };
    let foreign: Vec<&String> = entries
        .iter()
        .filter(|name| !(opencode && OPENCODE_ARTIFACTS.contains(&name.as_str())))
        .collect();
    if !foreign.is_empty() {
        let mut names: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        return Ok(Some(names.join(", ")));
    }
    for name in &entries {
        let entry = path.join(name);
        let removed = if entry.is_dir() && !entry.is_symlink() {
            std::fs::remove_dir_all(&entry)
        } else {
            std::fs::remove_file(&entry)
        };
        removed.map_err(|e| io("cannot remove", &entry, e))?;
    }
    std::fs::remove_dir(path).map_err(|e| io("cannot remove", path, e))?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_records_one_item_per_target_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("install.json");
        let mut manifest = Manifest::load(&path).unwrap();
        assert!(manifest.items.is_empty(), "no file is an empty manifest");
        manifest.record(Item::File {
            path: "a".into(),
            hash: "1".into(),
        });
        manifest.record(Item::File {
            path: "a".into(),
            hash: "2".into(),
        });
        manifest.record(Item::Config {
            key: "remote.origin.fetch".into(),
            value: "x".into(),
        });
        assert_eq!(
            manifest.items.len(),
            2,
            "a newer record of a file replaces the older"
        );
        assert_eq!(manifest.file_hash(Path::new("a")), Some("2"));
        manifest.store(&path).unwrap();
        assert_eq!(Manifest::load(&path).unwrap(), manifest);
        manifest.items.clear();
        manifest.store(&path).unwrap();
        assert!(!path.exists(), "an empty manifest is no file");
    }

    #[test]
    fn removing_a_block_restores_the_file_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context {
            repo: None,
            global_dir: None,
            global_manifest: None,
            claude_global_dir: None,
        };
        let mut manifests = Manifests::default();
        for original in ["#!/bin/sh\necho hi\n", "#!/bin/sh\necho no newline", ""] {
            let path = dir.path().join("hook");
            std::fs::write(&path, original).unwrap();
            let separator = !original.is_empty() && !original.ends_with('\n');
            let block = assets::pre_push_block().to_owned();
            let append = Change {
                action: Action::AppendBlock {
                    path: path.clone(),
                    block,
                    separator,
                    create: false,
                },
                which: Which::Repo,
            };
            apply_one(&ctx, &append, &mut manifests).unwrap();
            assert!(std::fs::read_to_string(&path)
                .unwrap()
                .contains("git session hook pre-push"));
            let remove = Change {
                action: Action::RemoveBlock {
                    path: path.clone(),
                    separator,
                    created: false,
                },
                which: Which::Repo,
            };
            apply_one(&ctx, &remove, &mut manifests).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        }
        assert!(manifests.repo.items.is_empty());
    }
}
