//! The changes a plan is made of, and the one line that says what each does (as a plan: "would
//! ...", once done: in the past tense).

use std::path::PathBuf;

use super::claude;
use super::manifest::Which;

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
    /// Insert a git-session block at the top of a hook script (after its interpreter line), so it
    /// runs whatever the script ends with; undone like an appended block.
    InsertBlock {
        /// The hook.
        path: PathBuf,
        /// The block, markers included.
        block: String,
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
        /// Whose hooks.
        spec: &'static claude::Spec,
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
    /// Add git-session's entries to a Codex file (`hooks.json`, `config.toml`; created when
    /// missing).
    EditCodexFile {
        /// The file.
        path: PathBuf,
        /// Its new contents: what was there, with git-session's entries added.
        contents: String,
        /// What was there (`None`: no file).
        original: Option<String>,
        /// What is added, for people.
        what: String,
        /// The `hooks.json` the entries are for (trust entries name it).
        hooks_file: PathBuf,
    },
    /// Put a Codex file back as it was before install.
    RestoreCodexFile {
        /// The file.
        path: PathBuf,
        /// What to write (`None`: remove the file).
        contents: Option<String>,
        /// Whether the file changed since install, so only git-session's entries are taken out.
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
        Action::InsertBlock { path, .. } => (
            "insert",
            format!(
                "a git-session block at the top of {} (it runs first, whatever the hook ends with)",
                path.display()
            ),
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
            spec,
            ..
        } => (
            if original.is_some() {
                "add hooks to"
            } else {
                "write"
            },
            format!(
                "{} ({} {}: '{}', timeout {} {})",
                path.display(),
                spec.name.trim_end_matches(" hooks"),
                events.join(", "),
                spec.command,
                spec.timeout,
                spec.unit
            ),
        ),
        Action::EditCodexFile {
            path,
            original,
            what,
            ..
        } => (
            if original.is_some() {
                "add to"
            } else {
                "write"
            },
            format!("{} ({what})", path.display()),
        ),
        Action::RestoreCodexFile {
            path,
            contents,
            edited,
        } => match (contents, edited) {
            (None, _) => ("remove", path.display().to_string()),
            (Some(_), true) => (
                "remove",
                format!("git-session's Codex entries from {}", path.display()),
            ),
            (Some(_), false) => ("restore", path.display().to_string()),
        },
        Action::RestoreSettings {
            path,
            contents,
            edited,
        } => match (contents, edited) {
            (None, _) => ("remove", path.display().to_string()),
            (Some(_), true) => (
                "remove",
                format!(
                    "git-session's {} hooks from {}",
                    if path.parent().is_some_and(|d| d.ends_with(".gemini")) {
                        "Gemini CLI"
                    } else {
                        "Claude Code"
                    },
                    path.display()
                ),
            ),
            (Some(_), false) => ("restore", path.display().to_string()),
        },
    };
    let past = match verb {
        "create" => "created",
        "write" => "wrote",
        "update" => "updated",
        "append to" => "appended to",
        "insert" => "inserted",
        "wrap" => "wrapped",
        "set" => "set",
        "unset" => "unset",
        "remove" => "removed",
        "restore" => "restored",
        "add hooks to" => "added hooks to",
        "add to" => "added to",
        _ => verb,
    };
    if dry {
        format!("would {verb} {what}")
    } else {
        format!("{past} {what}")
    }
}
