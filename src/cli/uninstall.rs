//! `git session uninstall [--global] [--dry-run]`: undo what `git session install` did, exactly
//! (its manifest lists every file, block, moved hook and config value it added).

use std::path::Path;

use clap::Args;

use super::install::{context, print_notes, shown};
use super::{ui, CliError};
use crate::install::{self, Manifests};

/// Arguments of `git session uninstall`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Removes the files git-session wrote (a file changed since is left in
place, without git-session's block), puts Claude Code's settings.json back byte for byte (or,
if it changed since, takes only git-session's hooks out of it), cuts its block out of hooks it was added to, puts back a
hook it moved aside and unsets the fetch refspecs it added: every file, mode and config line is
as it was before 'git session install'. Saved sessions are not touched.

Examples:
  git session uninstall --dry-run   # print what would be removed
  git session uninstall             # this repository and this project's .opencode/
  git session uninstall --global    # also the global OpenCode files and ~/.claude/settings.json hooks"
)]
pub struct UninstallArgs {
    /// Also remove what `git session install --global` put into OpenCode's global config
    /// directory and Claude Code's user settings.
    #[arg(long)]
    pub global: bool,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub(crate) fn run(dir: &Path, args: UninstallArgs) -> Result<(), CliError> {
    let ctx = context(dir, args.global)?;
    let mut manifests = Manifests::load(&ctx)?;
    let plan = install::plan_uninstall(&ctx, args.global, &manifests)?;
    if plan.changes.is_empty() && plan.notes.is_empty() {
        ui::status("git-session is not installed here; nothing changed.");
        if !args.global && !manifests.global.items.is_empty() {
            ui::status(
                "note: it is installed globally; 'git session uninstall --global' removes that",
            );
        }
        if !args.dry_run {
            install::apply_uninstall(&ctx, &plan, args.global, &mut manifests)?;
        }
        return Ok(());
    }
    if args.dry_run {
        for change in &plan.changes {
            ui::status(&shown(&ctx, &install::describe(&change.action, true)));
        }
        print_notes(&ctx, &plan.notes);
        ui::status("Nothing was changed (--dry-run).");
        return Ok(());
    }
    for line in install::apply_uninstall(&ctx, &plan, args.global, &mut manifests)? {
        ui::status(&shown(&ctx, &line));
    }
    print_notes(&ctx, &plan.notes);
    ui::status("Uninstalled. Saved sessions stay on refs/sessions/*.");
    Ok(())
}
