//! Applying a plan: each change is made, then recorded in (or, for an undo, removed from) its
//! manifest. The manifests are written once at the end, also after an error, so they always list
//! what was really done.

use super::action::{describe, Action, Change};
use super::error::{io, Result};
use super::files::{
    append_block, insert_block, remove_block, remove_dir, remove_empty_dir, remove_file,
    replace_block, rewrite, write_new,
};
use super::manifest::{hash, Item, Manifest, Manifests, Which};
use super::plan::Plan;
use super::{claude, codex, Context};
use crate::git_cli;

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

/// Makes one change and records it in its manifest. Returns the line that says what was done.
pub(crate) fn apply_one(
    ctx: &Context,
    change: &Change,
    manifests: &mut Manifests,
) -> Result<String> {
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
            append_block(path, block, *separator, *create)?;
            manifest.record(Item::Block {
                path: path.clone(),
                separator: *separator,
                created: *create,
            });
        }
        Action::InsertBlock { path, block } => {
            insert_block(path, block)?;
            manifest.record(Item::Block {
                path: path.clone(),
                separator: false,
                created: false,
            });
        }
        Action::ReplaceBlock { path, block } => {
            replace_block(path, block)?;
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
            remove_block(path, *separator, *created)?;
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
        Action::EditCodexFile {
            path,
            contents,
            original,
            hooks_file,
            ..
        } => {
            match original {
                None => write_new(path, contents.as_bytes(), 0o644)?,
                Some(_) => rewrite(path, contents.as_bytes())?,
            }
            let item = codex::item(manifest, path, hooks_file, original.as_deref(), contents);
            manifest.record(item);
        }
        Action::RestoreCodexFile { path, contents, .. } => {
            match contents {
                None => remove_file(path)?,
                Some(text) => rewrite(path, text.as_bytes())?,
            }
            forget(
                manifest,
                |i| matches!(i, Item::CodexFile { path: p, .. } if p == path),
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

/// Drops the records `matches` picks: what an undo has just undone.
fn forget(manifest: &mut Manifest, matches: impl Fn(&Item) -> bool) {
    manifest.items.retain(|i| !matches(i));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::assets;

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
