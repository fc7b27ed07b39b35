//! `git session gc`: let git pack the objects and reclaim what no ref reaches any more (saves
//! dropped by `prune` or `delete`), and report the object store's size before and after.
//!
//! It holds the maintenance lock exclusively while git runs, so no git-session save, import,
//! pull or scrub writes objects meanwhile: a save's new objects are unreachable until its ref
//! moves, and `--prune=now` would delete them.

use clap::Args;
use serde::Serialize;

use super::{ui, CliError};
use crate::git_cli::{self, Cause, GitError};
use crate::session::SessionHistory;
use crate::store::maintenance::DiskUsage;
use crate::store::{LockMode, Store};

/// Arguments of `git session gc`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Runs 'git gc' on the repository, as you would: it packs every object
(not only sessions) and removes unreachable ones older than gc.pruneExpire (two weeks by default).
Before that, reflog entries of sessions refs that point to saves 'git session prune' dropped are
expired, so those saves are unreachable.

  git session gc          # as git gc would
  git session gc --now    # also remove unreachable objects written recently (--prune=now)

git-session saves wait while it runs (up to session.lockTimeout seconds, 60 by default), and it
waits for saves in progress. A plain 'git gc --prune=now' knows nothing of this: run it while a
save writes and the save can lose objects ('git session repair' mends that)."
)]
pub struct GcArgs {
    /// Remove every unreachable object now (`git gc --prune=now`), however recent.
    #[arg(long)]
    pub now: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

/// The error of a git housekeeping command (`gc`, `reflog expire`), with the hint its output
/// points to.
pub(crate) fn housekeeping_failed(e: GitError, command: &str) -> CliError {
    let hint = match e.cause() {
        _ if matches!(e, GitError::NotFound) => return e.into(),
        Some(Cause::MissingObjects) => {
            "objects that refs reach are missing; run 'git session repair' to mend damaged sessions, then 'git fsck' for anything else".to_owned()
        }
        Some(Cause::DiskFull) => format!(
            "free space on the disk that holds the repository ('git gc' needs room for the new pack before it deletes the old ones), then run '{command}' again"
        ),
        Some(Cause::GcRunning) => format!(
            "another 'git gc' is running in this repository; run '{command}' again when it is done"
        ),
        _ => "the error ends with git's last lines; 'git gc' run by hand shows all of its output"
            .to_owned(),
    };
    CliError::user(e).hint(hint)
}

pub(crate) fn run(store: &Store, args: GcArgs) -> Result<(), CliError> {
    let command = if args.now {
        "git session gc --now"
    } else {
        "git session gc"
    };
    let _lock = store.lock_maintenance(LockMode::Exclusive, command)?;
    let before = store.disk_usage()?;
    let refs: Vec<String> = SessionHistory::new(store)
        .local_sessions()?
        .iter()
        .map(|s| s.name.full())
        .collect();
    let git_dir = store.common_dir();
    git_cli::expire_unreachable_reflogs(&git_dir, &refs)
        .map_err(|e| housekeeping_failed(e, command))?;
    let progress = !args.json && ui::stderr_is_terminal();
    git_cli::gc(&git_dir, args.now.then_some("now"), progress)
        .map_err(|e| housekeeping_failed(e, command))?;
    let after = store.disk_usage()?;
    let backups = crate::session::backup::list(&store.state_dir());
    if args.json {
        ui::out_json(&GcDocument {
            version: 1,
            before: UsageJson::from(&before),
            after: UsageJson::from(&after),
            reclaimed_bytes: before.total() as i64 - after.total() as i64,
            backups: BackupsJson {
                files: backups.len(),
                bytes: backups.iter().map(|b| b.bytes).sum(),
            },
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
    if !backups.is_empty() {
        text.push_str(&format!(
            "backups {}, {} kept outside the object store (git session prune --older-than 30d removes old ones)\n",
            ui::count(backups.len(), "file", "files"),
            ui::size(backups.iter().map(|b| b.bytes).sum())
        ));
    }
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
    /// Backups of replaced local copies: outside the object store, so gc keeps them.
    backups: BackupsJson,
}

/// Backup files and their bytes.
#[derive(Debug, Serialize)]
struct BackupsJson {
    files: usize,
    bytes: u64,
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
