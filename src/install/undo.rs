//! Planning an uninstall: each [`Item`] the manifests record, newest first, becomes the change
//! that undoes it, from what is on disk now. A file changed since install is left in place (only
//! git-session's block is cut out of it, with a note); what is already gone is skipped.

use super::action::Action;
use super::error::Result;
use super::manifest::{hash, Item, Manifests, Which};
use super::plan::Plan;
use super::{assets, claude, codex, Context};
use crate::git_cli;

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

/// Plans the undo of one recorded `item`.
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
        Item::CodexFile {
            path,
            hooks_file,
            original,
            hash,
        } => codex::undo(path, hooks_file, original.as_deref(), hash, which, plan)?,
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
