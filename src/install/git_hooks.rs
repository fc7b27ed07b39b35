//! The git side of an install: the `pre-push` hook in the hooks directory git actually uses, and
//! the fetch refspec that brings teammates' sessions with every `git fetch`.
//!
//! The hooks directory is `core.hooksPath` when set (husky and lefthook set it; a relative value
//! is relative to the worktree root, as git runs hooks there), else `<git-dir>/hooks`. For
//! husky 9 (`core.hooksPath=.husky/_`, generated stubs that husky rewrites) the hook goes into
//! `.husky/pre-push`, which the stub runs.
//!
//! An existing hook is chained, never replaced: a shell script gets the git-session block
//! appended (the block keeps the script's exit status); anything else (another interpreter, a
//! binary, a symlink, a script that ends with `exit`/`exec`, a hook that is not executable) is
//! moved to `<git-dir>/git-session/hooks/` and a new hook runs it first, then git-session.

use std::path::{Path, PathBuf};

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
}

/// Resolves the hooks directory of `repo`.
pub fn hooks_dir(repo: &RepoContext) -> Result<HooksDir> {
    let configured =
        git_cli::config_get(&repo.common_dir, "core.hooksPath", true)?.filter(|v| !v.is_empty());
    let Some(value) = configured else {
        return Ok(HooksDir {
            path: repo.common_dir.join("hooks"),
            configured: None,
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
    Ok(HooksDir {
        path,
        configured: Some(value),
    })
}

/// The refspec that fetches `remote`'s sessions into `refs/remotes/<remote>/sessions/*`.
pub fn fetch_refspec(remote: &str) -> String {
    format!("+refs/sessions/*:refs/remotes/{remote}/sessions/*")
}

/// Plans the pre-push hook and each remote's fetch refspec.
pub(crate) fn plan(repo: &RepoContext, manifest: &Manifest, plan: &mut Plan) -> Result<()> {
    plan_pre_push(repo, manifest, plan)?;
    plan_refspecs(repo, plan)
}

fn plan_pre_push(repo: &RepoContext, manifest: &Manifest, plan: &mut Plan) -> Result<()> {
    let hooks = hooks_dir(repo)?;
    let hook = hooks.path.join("pre-push");
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
                    contents: assets::PRE_PUSH.to_owned(),
                    executable: true,
                    replacing: false,
                },
            );
            plan.component("pre-push hook", target, State::Missing);
            note_tracked(repo, &hooks, plan);
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
        let ours_whole = manifest.file_hash(&hook) == Some(hash(&bytes).as_str());
        let state = if ours_whole && text != assets::PRE_PUSH {
            plan.push(
                Which::Repo,
                Action::WriteFile {
                    path: hook.clone(),
                    contents: assets::PRE_PUSH.to_owned(),
                    executable: true,
                    replacing: true,
                },
            );
            State::Outdated
        } else if &text[range] != assets::pre_push_block() {
            plan.push(
                Which::Repo,
                Action::ReplaceBlock {
                    path: hook.clone(),
                    block: assets::pre_push_block().to_owned(),
                },
            );
            State::Outdated
        } else {
            State::Installed
        };
        plan.components.push(Component {
            name: "pre-push hook",
            target,
            state,
            detail: chaining(manifest, &hook),
        });
        return Ok(());
    }
    let executable = is_executable(&meta);
    if meta.file_type().is_symlink() || !executable || !text.is_some_and(appendable) {
        let keep_at = keep_path(repo);
        let script = wrapper(&keep_at, executable);
        plan.push(
            Which::Repo,
            Action::WrapHook {
                path: hook,
                keep_at,
                script,
            },
        );
    } else {
        let text = text.unwrap_or_default();
        plan.push(
            Which::Repo,
            Action::AppendBlock {
                path: hook,
                block: assets::pre_push_block().to_owned(),
                separator: !text.is_empty() && !text.ends_with('\n'),
                create: false,
            },
        );
    }
    plan.component("pre-push hook", target, State::Missing);
    note_tracked(repo, &hooks, plan);
    Ok(())
}

/// How git-session's part of an installed hook is chained, from the manifest.
fn chaining(manifest: &Manifest, hook: &Path) -> Option<String> {
    manifest.items.iter().find_map(|item| match item {
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

fn note_tracked(repo: &RepoContext, hooks: &HooksDir, plan: &mut Plan) {
    if let Some(root) = &repo.worktree {
        if hooks.path.starts_with(root) && !hooks.path.starts_with(&repo.common_dir) {
            plan.notes.push(format!(
                "{} is in the worktree, so the hook change shows in 'git status'; committed, it does nothing where git-session is not installed",
                hooks.path.display()
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
    }
    Ok(())
}

/// Whether the git-session block can be appended to the hook script `text`: a shell script (no
/// interpreter line, or sh, bash, dash, zsh, ksh, ash) whose last command does not end it.
pub fn appendable(text: &str) -> bool {
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
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'));
    !last.is_some_and(|l| l == "exit" || l.starts_with("exit ") || l.starts_with("exec "))
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

/// Where a moved-aside hook is kept: `<git-dir>/git-session/hooks/pre-push` (numbered when taken).
fn keep_path(repo: &RepoContext) -> PathBuf {
    let dir = repo.common_dir.join("git-session").join("hooks");
    let mut candidate = dir.join("pre-push");
    let mut n = 2;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        candidate = dir.join(format!("pre-push.{n}"));
        n += 1;
    }
    candidate
}

/// The hook written in place of one that was moved to `kept`: it runs the old hook first (with
/// git's arguments and stdin) when it was executable, then git-session.
pub fn wrapper(kept: &Path, run_it: bool) -> String {
    let quoted = shell_quote(&kept.display().to_string());
    let mut script = String::from("#!/bin/sh\n");
    if run_it {
        script.push_str(&format!(
            "# git-session moved the pre-push hook that was here to {quoted}; it runs first, as before.\n\
             # 'git session uninstall' puts it back.\n\
             if [ -x {quoted} ]; then {quoted} \"$@\" || exit $?; fi\n"
        ));
    } else {
        script.push_str(&format!(
            "# git-session moved the pre-push hook that was here to {quoted}; it was not executable,\n\
             # so git did not run it, and it does not run now either. 'git session uninstall' puts it back.\n"
        ));
    }
    script.push_str(assets::pre_push_block());
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
    fn a_wrapper_runs_the_kept_hook_first_and_then_git_session() {
        let script = wrapper(Path::new("/r/.git/git-session/hooks/it's"), true);
        assert!(script.contains("if [ -x '/r/.git/git-session/hooks/it'\\''s' ]; then"));
        let run = script.find("\"$@\" || exit $?").unwrap();
        let ours = script.find("git session hook pre-push").unwrap();
        assert!(run < ours);
        let disabled = wrapper(Path::new("/k"), false);
        assert!(
            !disabled.contains("\"$@\" || exit"),
            "a disabled hook stays disabled"
        );
    }
}
