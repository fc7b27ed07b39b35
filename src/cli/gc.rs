//! `git session gc`: let git pack the objects and reclaim what no ref reaches any more (saves
//! dropped by `prune` or `delete`), and report the object store's size before and after.

use clap::Args;
use serde::Serialize;

use super::{ui, CliError};
use crate::git_cli;
use crate::session::SessionHistory;
use crate::store::maintenance::DiskUsage;
use crate::store::Store;

/// Arguments of `git session gc`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Runs 'git gc' on the repository, as you would: it packs every object
(not only sessions) and removes unreachable ones older than gc.pruneExpire (two weeks by default).
Before that, reflog entries of sessions refs that point to saves 'git session prune' dropped are
expired, so those saves are unreachable.

  git session gc          # as git gc would
  git session gc --now    # also remove unreachable objects written recently (--prune=now);
                          # do not run it while another git command or save is writing"
)]
pub struct GcArgs {
    /// Remove every unreachable object now (`git gc --prune=now`), however recent.
    #[arg(long)]
    pub now: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(store: &Store, args: GcArgs) -> Result<(), CliError> {
    let before = store.disk_usage()?;
    let refs: Vec<String> = SessionHistory::new(store)
        .local_sessions()?
        .iter()
        .map(|s| s.name.full())
        .collect();
    let git_dir = store.common_dir();
    git_cli::expire_unreachable_reflogs(&git_dir, &refs)?;
    let progress = !args.json && ui::stderr_is_terminal();
    git_cli::gc(&git_dir, args.now.then_some("now"), progress)?;
    let after = store.disk_usage()?;
    if args.json {
        ui::out_json(&GcDocument {
            version: 1,
            before: UsageJson::from(&before),
            after: UsageJson::from(&after),
            reclaimed_bytes: before.total() as i64 - after.total() as i64,
        });
        return Ok(());
    }
    let line = |label: &str, u: &DiskUsage| {
        format!(
            "{label}  {:>10}  ({} B: {} loose objects {}, {} pack(s) {})\n",
            ui::size(u.total()),
            u.total(),
            u.loose_objects,
            ui::size(u.loose_bytes),
            u.packs,
            ui::size(u.pack_bytes)
        )
    };
    let mut text = line("before", &before);
    text.push_str(&line("after ", &after));
    let saved = before.total() as i64 - after.total() as i64;
    text.push_str(&if saved >= 0 {
        format!("reclaimed {} ({saved} B)\n", ui::size(saved as u64))
    } else {
        format!(
            "grew by {} (packs with their indexes)\n",
            ui::size(saved.unsigned_abs())
        )
    });
    ui::out(&text);
    // After a gc, loose objects or a second (cruft) pack hold unreachable objects kept
    // because they are recent.
    if !args.now && (after.loose_objects > 0 || after.packs > 1) {
        ui::status(
            "note: unreachable objects younger than gc.pruneExpire (two weeks by default) are kept; 'git session gc --now' removes them at once",
        );
    }
    Ok(())
}

/// The `--json` document of `gc`: the object store's size before and after.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GcDocument {
    version: u32,
    before: UsageJson,
    after: UsageJson,
    /// Bytes before minus bytes after: negative when the store grew (packs and their indexes).
    reclaimed_bytes: i64,
}

/// The object store's size on disk.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson {
    /// Loose and packed bytes together.
    bytes: u64,
    loose_objects: u64,
    loose_bytes: u64,
    packs: u64,
    pack_bytes: u64,
}

impl From<&DiskUsage> for UsageJson {
    fn from(u: &DiskUsage) -> Self {
        UsageJson {
            bytes: u.total(),
            loose_objects: u.loose_objects,
            loose_bytes: u.loose_bytes,
            packs: u.packs,
            pack_bytes: u.pack_bytes,
        }
    }
}
