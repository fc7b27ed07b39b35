//! The git side of an install: the `pre-push` and `prepare-commit-msg` hooks (each chained the
//! same way, see [`GitHook`]) in the hooks directory git actually uses, and
//! the fetch refspec that brings teammates' sessions with every `git fetch`, and the
//! `remote.<name>.sessions` key that enables sending sessions to each remote present.
//!
//! The hooks directory is `core.hooksPath` when set (husky and lefthook set it; a relative value
//! is relative to the worktree root, as git runs hooks there), else `<git-dir>/hooks`. For
//! husky 9 (`core.hooksPath=.husky/_`, generated stubs that husky rewrites) the hook goes into
//! `.husky/pre-push`, which the stub runs.
//!
//! An existing hook is chained, never replaced: a shell script gets the git-session block
//! appended (the block keeps the script's exit status). What appending cannot reach depends on
//! whose the hooks directory is:
//!
//! * The repository's own (`<git-dir>/hooks`, or a `core.hooksPath` inside the git dir): another
//!   interpreter, a binary, a symlink, a script that ends with `exit`/`exec` or a hook that is not
//!   executable is moved to `<git-dir>/git-session/hooks/`, and a new hook runs it first, then
//!   git-session.
//! * Shared (`core.hooksPath` outside the git dir: committed in the worktree, as with husky, or
//!   used by several repositories): a hook there is never moved aside, because the wrapper would
//!   name a path of this machine and every other clone would silently stop running the hook. A
//!   shell script that ends with `exit`/`exec` gets [`assets::PRE_PUSH_INSERT`] after its
//!   interpreter line instead: it runs first, reads none of git's stdin and does nothing where
//!   git-session is not on PATH. Any other hook there is left alone, with a note.

use std::path::{Path, PathBuf};

use super::files::top_of_script;
use super::{assets, hash, Action, Component, Item, Manifest, Plan, RepoContext, Result, State};
use super::{InstallError, Which};
use crate::git_cli;

/// The hooks directory git uses for a repository.
#[derive(Debug, Clone)]
pub struct HooksDir {
    /// The directory (absolute).
    pub path: PathBuf,
    /// `core.hooksPath` as configured, if it is.
    pub configured: Option<String>,
    /// Whether the directory is outside the repository's git dir: in the worktree (committed, so
    /// its hooks run in every clone) or elsewhere (shared by several repositories). A hook there
    /// is never moved aside, and nothing git-session writes there names a path of this machine.
    pub shared: bool,
    /// Whether it is husky 9's directory (`core.hooksPath=.husky/_`): husky's stubs run the hooks
    /// in it with `sh -e`, executable or not.
    pub husky: bool,
}

/// Resolves the hooks directory of `repo`.
pub fn hooks_dir(repo: &RepoContext) -> Result<HooksDir> {
    let configured =
        git_cli::config_get(&repo.common_dir, "core.hooksPath", true)?.filter(|v| !v.is_empty());
    let Some(value) = configured else {
        return Ok(HooksDir {
            path: repo.common_dir.join("hooks"),
            configured: None,
            shared: false,
            husky: false,
        });
    };
    let given = PathBuf::from(&value);
    let base = repo.worktree.as_ref().unwrap_or(&repo.common_dir);
    let mut path = if given.is_absolute() {
        given
    } else {
        base.join(given)
    };
    let husky_stubs = path.file_name().is_some_and(|n| n == "_")
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".husky")
        && path.join("h").is_file();
    if husky_stubs {
        path.pop();
    }
    let resolved = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    Ok(HooksDir {
        shared: !resolved.starts_with(&repo.common_dir),
        path,
        configured: Some(value),
        husky: husky_stubs,
    })
}

/// The refspec that fetches `remote`'s sessions into `refs/remotes/<remote>/sessions/*`.
pub fn fetch_refspec(remote: &str) -> String {
    format!("+refs/sessions/*:refs/remotes/{remote}/sessions/*")
}

/// One git hook git-session chains itself to.
#[derive(Debug, Clone, Copy)]
pub struct GitHook {
    /// The hook's file name (`pre-push`).
    pub name: &'static str,
    /// The component's name in plans and status (`pre-push hook`).
    pub component: &'static str,
    /// The whole hook, written where none exists.
    pub full: &'static str,
    /// The block inserted at the top of a hook in a shared directory.
    pub insert: &'static str,
}

impl GitHook {
    /// The block appended to a hook that exists.
    pub fn block(&self) -> &'static str {
        assets::block_of(self.full)
    }
}

/// The pre-push hook: `git push` also pushes the sessions refs.
pub const PRE_PUSH: GitHook = GitHook {
    name: "pre-push",
    component: "pre-push hook",
    full: assets::PRE_PUSH,
    insert: assets::PRE_PUSH_INSERT,
};

/// The prepare-commit-msg hook: a commit is linked to the sessions that wrote it.
pub const PREPARE_COMMIT_MSG: GitHook = GitHook {
    name: "prepare-commit-msg",
    component: "prepare-commit-msg hook",
    full: assets::PREPARE_COMMIT_MSG,
    insert: assets::PREPARE_COMMIT_MSG_INSERT,
};

/// Plans the pre-push and prepare-commit-msg hooks and each remote's fetch refspec.
pub(crate) fn plan(repo: &RepoContext, manifest: &Manifest, plan: &mut Plan) -> Result<()> {
    plan_hook(repo, manifest, plan, &PRE_PUSH)?;
    plan_hook(repo, manifest, plan, &PREPARE_COMMIT_MSG)?;
    plan_refspecs(repo, plan)
}

fn plan_hook(
    repo: &RepoContext,
    manifest: &Manifest,
    plan: &mut Plan,
    kind: &GitHook,
) -> Result<()> {
    let hooks = hooks_dir(repo)?;
    let hook = hooks.path.join(kind.name);
    let target = hook.display().to_string();
    let meta = match std::fs::symlink_metadata(&hook) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !hooks.path.is_dir() {
                plan.push(
                    Which::Repo,
                    Action::CreateDir {
                        path: hooks.path.clone(),
                        opencode: false,
                    },
                );
            }
            plan.push(
                Which::Repo,
                Action::WriteFile {
                    path: hook,
                    contents: kind.full.to_owned(),
                    executable: true,
                    replacing: false,
                },
            );
            plan.component(kind.component, target, State::Missing);
            note_tracked(repo, &hooks, plan, kind);
            return Ok(());
        }
        Err(source) => {
            return Err(InstallError::Io {
                action: "cannot read",
                path: hook,
                source,
            })
        }
    };
    let bytes = std::fs::read(&hook).unwrap_or_default();
    let text = std::str::from_utf8(&bytes).ok();
    if let Some(range) = text.and_then(assets::find_block) {
        let text = text.unwrap_or_default();
        if hooks.shared {
            if let Some(kept) = moved_aside(manifest, &hook) {
                return plan_move_back(repo, &hooks, &hook, &kept, plan, kind);
            }
        }
        let ours_whole = manifest.file_hash(&hook) == Some(hash(&bytes).as_str());
        let block = &text[range.clone()];
        let at_top = !text[range.end..].trim().is_empty();
        let state = if ours_whole && text != kind.full {
            plan.push(
                Which::Repo,
                Action::WriteFile {
                    path: hook.clone(),
                    contents: kind.full.to_owned(),
                    executable: true,
                    replacing: true,
                },
            );
            State::Outdated
        } else if block == kind.block() || block == kind.insert {
            State::Installed
        } else {
            // An older version of the block: replaced by the current one of its kind.
            let current = if at_top { kind.insert } else { kind.block() };
            plan.push(
                Which::Repo,
                Action::ReplaceBlock {
                    path: hook.clone(),
                    block: current.to_owned(),
                },
            );
            State::Outdated
        };
        plan.components.push(Component {
            name: kind.component,
            target,
            state,
            detail: chaining(manifest, &hook, at_top),
        });
        return Ok(());
    }
    if let Err(reason) = plan_chain(repo, &hooks, &hook, &meta, text, plan, kind) {
        leave(&hooks, &hook, reason, plan, kind);
        return Ok(());
    }
    plan.component(kind.component, target, State::Missing);
    note_tracked(repo, &hooks, plan, kind);
    Ok(())
}

/// How git-session's part is added to a pre-push hook that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    /// Append the block: the script runs to its end.
    Append,
    /// Insert the block at the top: the script ends with `exit`/`exec` and may not be moved.
    Insert,
    /// Move the hook aside and write a wrapper that runs it (the git dir's own hooks only).
    MoveAside,
    /// Leave it as it is, for this reason: nothing can be added without moving it.
    Leave(&'static str),
}

/// Chooses how to chain git-session's part to the hook with metadata `meta` and contents `text`
/// (`None`: not UTF-8) in `hooks`.
fn chain(hooks: &HooksDir, meta: &std::fs::Metadata, text: Option<&str>) -> Chain {
    let symlink = meta.file_type().is_symlink();
    let runs = hooks.husky || is_executable(meta);
    let script = text.filter(|t| is_shell_script(t));
    match script {
        Some(t) if !symlink && runs && !ends_the_script(t) => Chain::Append,
        _ if !hooks.shared => Chain::MoveAside,
        _ if symlink => Chain::Leave("a symlink"),
        _ if !runs => Chain::Leave("not executable, so git does not run it"),
        None => Chain::Leave("not a shell script"),
        Some(t) if top_of_script(t).is_none() => Chain::Leave("a script without a line end"),
        Some(_) => Chain::Insert,
    }
}

/// Plans the change that chains git-session's part to the hook at `hook` (for a hook moved back,
/// `meta` and `text` are those of the kept file). Returns the reason when it must be left alone.
fn plan_chain(
    repo: &RepoContext,
    hooks: &HooksDir,
    hook: &Path,
    meta: &std::fs::Metadata,
    text: Option<&str>,
    plan: &mut Plan,
    kind: &GitHook,
) -> std::result::Result<(), &'static str> {
    let action = match chain(hooks, meta, text) {
        Chain::Append => {
            let text = text.unwrap_or_default();
            Action::AppendBlock {
                path: hook.to_path_buf(),
                block: kind.block().to_owned(),
                separator: !text.is_empty() && !text.ends_with('\n'),
                create: false,
            }
        }
        Chain::Insert => Action::InsertBlock {
            path: hook.to_path_buf(),
            block: kind.insert.to_owned(),
        },
        Chain::MoveAside => {
            let keep_at = keep_path(repo, kind.name);
            let script = wrapper(&keep_at, is_executable(meta), kind);
            Action::WrapHook {
                path: hook.to_path_buf(),
                keep_at,
                script,
            }
        }
        Chain::Leave(reason) => return Err(reason),
    };
    plan.push(Which::Repo, action);
    Ok(())
}

/// A hook in a shared directory that git-session cannot add its part to: left alone, and said.
fn leave(hooks: &HooksDir, hook: &Path, reason: &str, plan: &mut Plan, kind: &GitHook) {
    plan.components.push(Component {
        name: kind.component,
        target: hook.display().to_string(),
        state: State::Missing,
        detail: Some(format!("not chained: it is {reason}")),
    });
    plan.notes.push(format!(
        "{} is {reason}, and a hook in {} is not moved aside (every other clone or repository using it would stop running it), so {}; add the line '{}' to it yourself{}",
        hook.display(),
        hooks.path.display(),
        if kind.name == PRE_PUSH.name { "'git push' does not push sessions here" } else { "commits are not linked to sessions by trailer here" },
        kind.insert.lines().find(|l| !l.starts_with('#')).unwrap_or_default(),
        if kind.name == PRE_PUSH.name { ", or run 'git session push'" } else { "" }
    ));
}

/// Where an older install moved the hook at `hook` to, when the manifest says it did and the file
/// is still there.
fn moved_aside(manifest: &Manifest, hook: &Path) -> Option<PathBuf> {
    manifest.items.iter().find_map(|item| match item {
        Item::WrappedHook { path, original }
            if path == hook && std::fs::symlink_metadata(original).is_ok() =>
        {
            Some(original.clone())
        }
        _ => None,
    })
}

/// A hook that an older git-session moved out of a shared directory (the wrapper it left names
/// this machine's path): it goes back, chained as a hook there is now.
fn plan_move_back(
    repo: &RepoContext,
    hooks: &HooksDir,
    hook: &Path,
    kept: &Path,
    plan: &mut Plan,
    kind: &GitHook,
) -> Result<()> {
    let meta = std::fs::symlink_metadata(kept).map_err(|source| InstallError::Io {
        action: "cannot read",
        path: kept.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::read(kept).unwrap_or_default();
    let text = std::str::from_utf8(&bytes).ok();
    plan.push(
        Which::Repo,
        Action::RestoreHook {
            path: hook.to_path_buf(),
            from: kept.to_path_buf(),
        },
    );
    plan.notes.push(format!(
        "an older git-session moved the hook that was at {} to {} and left a wrapper naming that path; the hook goes back",
        hook.display(),
        kept.display()
    ));
    match plan_chain(repo, hooks, hook, &meta, text, plan, kind) {
        Ok(()) => {
            plan.components.push(Component {
                name: kind.component,
                target: hook.display().to_string(),
                state: State::Outdated,
                detail: Some(format!("moved aside to {}", kept.display())),
            });
            note_tracked(repo, hooks, plan, kind);
        }
        Err(reason) => leave(hooks, hook, reason, plan, kind),
    }
    Ok(())
}

/// How git-session's part of an installed hook is chained, from the manifest (`at_top`: its
/// block is at the top of the hook).
fn chaining(manifest: &Manifest, hook: &Path, at_top: bool) -> Option<String> {
    manifest.items.iter().find_map(|item| match item {
        Item::Block { path, .. } if path == hook && at_top => {
            Some("inserted at the top of the hook that was there, and runs first".to_owned())
        }
        Item::Block { path, .. } if path == hook => {
            Some("appended to the hook that was there".to_owned())
        }
        Item::WrappedHook { path, original } if path == hook => Some(format!(
            "the hook that was there is kept at {} and runs first",
            original.display()
        )),
        Item::File { path, .. } if path == hook => Some("git-session's own hook".to_owned()),
        _ => None,
    })
}

/// The note for a hooks directory in the worktree: the change shows in `git status`, and may be
/// committed.
fn note_tracked(repo: &RepoContext, hooks: &HooksDir, plan: &mut Plan, kind: &GitHook) {
    if let Some(root) = &repo.worktree {
        if hooks.shared && hooks.path.starts_with(root) {
            plan.notes.push(format!(
                "{} is in the worktree, so the change to its {} shows in 'git status'; it can be committed: the hook's own logic stays in it, and git-session's block names no path of this machine and does nothing where git-session is not on PATH",
                hooks.path.display(),
                kind.component
            ));
        }
    }
}

fn plan_refspecs(repo: &RepoContext, plan: &mut Plan) -> Result<()> {
    if repo.remotes.is_empty() {
        plan.notes.push(
            "this repository has no remote yet; run 'git session install' again after 'git remote add' to fetch sessions with 'git fetch'"
                .to_owned(),
        );
    }
    // Once any remote has the sessions key, sending is configured: a remote added since gets
    // none until the user enables it, also when install runs again.
    let mut first = true;
    for remote in &repo.remotes {
        if !git_cli::config_get_all(&repo.common_dir, &sessions_key(remote))?.is_empty() {
            first = false;
        }
    }
    for remote in &repo.remotes {
        let key = format!("remote.{remote}.fetch");
        let value = fetch_refspec(remote);
        let present = git_cli::config_get_all(&repo.common_dir, &key)?.contains(&value);
        if !present {
            plan.push(Which::Repo, Action::AddConfig { key, value });
        }
        plan.component(
            "fetch refspec",
            remote.clone(),
            if present {
                State::Installed
            } else {
                State::Missing
            },
        );
        plan_sessions_key(repo, remote, first, plan)?;
    }
    Ok(())
}

/// The key that enables sending sessions to `remote` (the pre-push hook, `push`, `sync`).
pub fn sessions_key(remote: &str) -> String {
    format!("remote.{remote}.sessions")
}

/// Plans `remote.<remote>.sessions = true` for a remote present at the `first` install that
/// sets such keys. A value the user chose is left as it is (with a note when it is not true), and
/// a remote added after that install is left without the key, with a note.
fn plan_sessions_key(repo: &RepoContext, remote: &str, first: bool, plan: &mut Plan) -> Result<()> {
    let key = sessions_key(remote);
    let values = git_cli::config_get_all(&repo.common_dir, &key)?;
    let state = match values.last() {
        None if !first => {
            plan.notes.push(format!(
                "sessions are not pushed to {remote} (added after install); enable with: git session remote add {remote}"
            ));
            return Ok(());
        }
        None => {
            plan.push(
                Which::Repo,
                Action::AddConfig {
                    key,
                    value: "true".to_owned(),
                },
            );
            State::Missing
        }
        Some(v) => {
            if !matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1") {
                plan.notes.push(format!(
                    "sessions are not pushed to {remote} ({key}={v}); enable with: git session remote add {remote}"
                ));
            }
            State::Installed
        }
    };
    plan.component("sessions push", remote.to_owned(), state);
    Ok(())
}

/// Whether the git-session block can be appended to the hook script `text`: a shell script (see
/// [`is_shell_script`]) whose last command does not end it.
pub fn appendable(text: &str) -> bool {
    is_shell_script(text) && !ends_the_script(text)
}

/// Whether `text` is a shell script: no interpreter line, or sh, bash, dash, zsh, ksh, ash.
pub fn is_shell_script(text: &str) -> bool {
    if text.contains('\0') {
        return false;
    }
    if let Some(interpreter) = text.lines().next().and_then(|l| l.strip_prefix("#!")) {
        let mut words = interpreter.split_whitespace();
        let mut program = basename(words.next().unwrap_or(""));
        if program == "env" {
            program = basename(words.find(|w| !w.starts_with('-')).unwrap_or(""));
        }
        if !matches!(program, "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash") {
            return false;
        }
    }
    true
}

/// Whether the last command of the script `text` ends it (`exit`, `exec`), so nothing appended
/// would run.
fn ends_the_script(text: &str) -> bool {
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'));
    last.is_some_and(|l| l == "exit" || l.starts_with("exit ") || l.starts_with("exec "))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Where a moved-aside hook is kept: `<git-dir>/git-session/hooks/<name>` (numbered when taken).
fn keep_path(repo: &RepoContext, name: &str) -> PathBuf {
    let dir = repo.common_dir.join("git-session").join("hooks");
    let mut candidate = dir.join(name);
    let mut n = 2;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        candidate = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    candidate
}

/// The hook written in place of one that was moved to `kept`: it runs the old hook first (with
/// git's arguments and stdin) when it was executable, then git-session.
pub fn wrapper(kept: &Path, run_it: bool, kind: &GitHook) -> String {
    let quoted = shell_quote(&kept.display().to_string());
    let name = kind.name;
    let mut script = String::from("#!/bin/sh\n");
    if run_it {
        script.push_str(&format!(
            "# git-session moved the {name} hook that was here to {quoted}; it runs first, as before.\n\
             # 'git session uninstall' puts it back.\n\
             if [ -x {quoted} ]; then {quoted} \"$@\" || exit $?; fi\n"
        ));
    } else {
        script.push_str(&format!(
            "# git-session moved the {name} hook that was here to {quoted}; it was not executable,\n\
             # so git did not run it, and it does not run now either. 'git session uninstall' puts it back.\n"
        ));
    }
    script.push_str(kind.block());
    script
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_scripts_are_appended_to_and_others_are_not() {
        assert!(appendable("#!/bin/sh\nnpm test\n"));
        assert!(
            appendable("npm test\n"),
            "husky 9 scripts have no interpreter line"
        );
        assert!(appendable("#!/usr/bin/env bash\nset -e\nmake check\n"));
        assert!(appendable("#!/usr/bin/env -S bash -e\nmake\n"));
        assert!(!appendable("#!/usr/bin/env python3\nprint(1)\n"));
        assert!(
            !appendable("#!/bin/sh\nrun-checks\nexit 0\n"),
            "the block would never run"
        );
        assert!(!appendable(
            "#!/bin/sh\nexec lefthook run pre-push \"$@\"\n"
        ));
        assert!(!appendable("\u{0}ELF"));
    }

    #[test]
    fn a_hook_in_a_shared_directory_is_never_moved_aside() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let own = HooksDir {
            path: dir.path().to_path_buf(),
            configured: None,
            shared: false,
            husky: false,
        };
        let shared = HooksDir {
            shared: true,
            ..own.clone()
        };
        let husky = HooksDir {
            husky: true,
            ..shared.clone()
        };
        let hook = |name: &str, text: &str, mode: u32| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            (std::fs::symlink_metadata(&path).unwrap(), text.to_owned())
        };
        let decide = |hooks: &HooksDir, (meta, text): &(std::fs::Metadata, String)| {
            chain(hooks, meta, Some(text))
        };

        let runs_to_its_end = hook("a", "#!/bin/sh\nmake\n", 0o755);
        assert_eq!(decide(&own, &runs_to_its_end), Chain::Append);
        assert_eq!(decide(&shared, &runs_to_its_end), Chain::Append);

        let exits = hook("b", "#!/bin/sh\nmake\nexit 0\n", 0o755);
        assert_eq!(decide(&own, &exits), Chain::MoveAside);
        assert_eq!(decide(&shared, &exits), Chain::Insert);

        let husky_9 = hook("c", "make\nexit $?\n", 0o644);
        assert_eq!(decide(&own, &husky_9), Chain::MoveAside);
        assert_eq!(
            decide(&shared, &husky_9),
            Chain::Leave("not executable, so git does not run it")
        );
        assert_eq!(
            decide(&husky, &husky_9),
            Chain::Insert,
            "husky runs it with sh, executable or not"
        );

        let python = hook("d", "#!/usr/bin/env python3\nprint(1)\n", 0o755);
        assert_eq!(decide(&own, &python), Chain::MoveAside);
        assert_eq!(decide(&shared, &python), Chain::Leave("not a shell script"));

        std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("e")).unwrap();
        let link = std::fs::symlink_metadata(dir.path().join("e")).unwrap();
        assert_eq!(chain(&own, &link, Some("make\n")), Chain::MoveAside);
        assert_eq!(
            chain(&shared, &link, Some("make\n")),
            Chain::Leave("a symlink")
        );
    }

    #[test]
    fn a_wrapper_runs_the_kept_hook_first_and_then_git_session() {
        let script = wrapper(Path::new("/r/.git/git-session/hooks/it's"), true, &PRE_PUSH);
        assert!(script.contains("if [ -x '/r/.git/git-session/hooks/it'\\''s' ]; then"));
        let run = script.find("\"$@\" || exit $?").unwrap();
        let ours = script.find("git session hook pre-push").unwrap();
        assert!(run < ours);
        let disabled = wrapper(Path::new("/k"), false, &PRE_PUSH);
        assert!(
            !disabled.contains("\"$@\" || exit"),
            "a disabled hook stays disabled"
        );
    }
}
