//! `git session repair`: find sessions refs whose saves lack objects, and mend them so that the
//! intact saves stay readable and `git gc` and `git fsck` work again (see
//! [`crate::session::repair`] for what is kept where).

use clap::Args;
use serde::Serialize;

use super::{ui, CliError};
use crate::git_cli;
use crate::session::repair::{self, Damage, Mended, RefKind};
use crate::store::{LockMode, Store};

/// Arguments of `git session repair`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session repair --dry-run   # what lacks objects, and what would change (exit 1 if anything)
  git session repair             # mend it

Checks every object of every sessions ref (local, fetched from remotes, and the backups under
refs/session-backups/) and what their reflogs reach. A local session keeps its intact saves: the
damaged ones are left out, the saves after them are copied onto the saves before them. The old
history, each damaged save reduced to what can still be read, is kept on
refs/session-backups/<agent>/<id>/<time> (never pushed). A damaged remote-tracking ref is
deleted; 'git session pull' fetches it again, with the missing objects, and merges the saves
left out back in. A later save of the same content also writes a missing object again, so run
this after such a save or pull, not before.

Objects go missing when they are deleted while a save writes them: 'git gc --prune=now' or 'git
prune' run by hand (git-session's own 'gc' waits for saves), or a failing disk.")]
pub struct RepairArgs {
    /// Report what lacks objects and what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What happened to one damaged ref.
struct Outcome<'a> {
    damage: &'a Damage,
    result: Option<Result<Mended, String>>,
}

pub(crate) fn run(store: &Store, args: RepairArgs) -> Result<(), CliError> {
    // Saves wait meanwhile: the refs must still hold what the scan read when they move.
    let _lock = if args.dry_run {
        None
    } else {
        Some(store.lock_maintenance(LockMode::Exclusive, "git session repair")?)
    };
    let scan = repair::scan(store)?;
    let mut outcomes = Vec::with_capacity(scan.damage.len());
    let mut expire = Vec::new();
    for damage in &scan.damage {
        let result = if args.dry_run {
            None
        } else {
            let result = repair::mend(store, damage).map_err(|e| e.to_string());
            // A deleted ref took its reflog with it.
            if matches!(result, Ok(Mended::Rewritten { .. } | Mended::ReflogOnly)) {
                expire.push(damage.ref_name.clone());
            }
            Some(result)
        };
        outcomes.push(Outcome { damage, result });
    }
    // The reflog would keep the left-out saves reachable, and git gc would still fail on them.
    git_cli::expire_broken_reflogs(&store.common_dir(), &expire)
        .map_err(|e| super::gc::housekeeping_failed(e, "git session repair"))?;

    if args.json {
        ui::out_json(&RepairDocument::new(&args, &scan, &outcomes));
    } else {
        report_text(store, &scan, &outcomes);
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            Some(Err(e)) => Some(format!("{} was not repaired: {e}", o.damage.ref_name)),
            _ => None,
        })
        .collect();
    if let Some(last) = failed.last() {
        for p in &failed[..failed.len() - 1] {
            ui::status(&format!("error: {p}"));
        }
        return Err(CliError::user(last).hint("run 'git session repair' again"));
    }
    if args.dry_run && !scan.damage.is_empty() {
        return Err(CliError::user(format!(
            "{} {} missing objects; nothing was changed",
            ui::count(scan.damage.len(), "sessions ref", "sessions refs"),
            ui::plural(scan.damage.len() as u64, "reaches", "reach")
        ))
        .hint("run 'git session repair' to mend them"));
    }
    Ok(())
}

fn report_text(store: &Store, scan: &repair::Scan, outcomes: &[Outcome<'_>]) {
    if outcomes.is_empty() {
        ui::status(&format!(
            "Nothing to repair: {}, {}, every object present.",
            ui::count(scan.refs, "sessions ref", "sessions refs"),
            ui::count(scan.saves, "save", "saves")
        ));
        return;
    }
    let mut dropped_local = false;
    for o in outcomes {
        let d = o.damage;
        let kind = match d.kind {
            RefKind::Local => "",
            RefKind::RemoteTracking => " (fetched from a remote)",
            RefKind::Backup => " (a backup)",
        };
        ui::status(&format!(
            "{}{kind}: {} of {} lack objects{}",
            d.ref_name,
            d.damaged.len(),
            ui::count(d.saves, "save", "saves"),
            if d.damaged_reflog {
                ", and its reflog reaches damaged saves"
            } else {
                ""
            }
        ));
        for save in &d.damaged {
            let shown: Vec<String> = save.missing.iter().take(3).map(ui::short).collect();
            let more = save.missing.len().saturating_sub(shown.len());
            ui::status(&format!(
                "  save {} lacks {}: {}{}",
                ui::short(&save.commit),
                ui::count(save.missing.len(), "object", "objects"),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        let line = match &o.result {
            None => "  would be repaired (--dry-run: nothing changed)".to_owned(),
            Some(Err(e)) => format!("  not repaired: {e}"),
            Some(Ok(Mended::ReflogOnly)) => {
                "  expired the reflog entries of the damaged saves".to_owned()
            }
            Some(Ok(Mended::Deleted { backup: None })) => {
                "  deleted; 'git session pull' fetches it again, with the objects".to_owned()
            }
            Some(Ok(Mended::Deleted {
                backup: Some((name, _)),
            })) => {
                dropped_local |= d.kind == RefKind::Local;
                format!(
                    "  no intact save was left: the ref was deleted; what is readable is on {name}"
                )
            }
            Some(Ok(Mended::Rewritten { tip, saves, backup })) => {
                dropped_local |= d.kind == RefKind::Local;
                let kept = match backup {
                    Some((name, _)) => format!("; the old history is on {name}"),
                    None => String::new(),
                };
                format!(
                    "  repaired: {} -> {}, {}{kept}",
                    ui::short(&d.tip),
                    ui::short(tip),
                    ui::count(*saves as usize, "save", "saves")
                )
            }
        };
        ui::status(&line);
    }
    if dropped_local && !store.remote_names().is_empty() {
        ui::status(
            "hint: if these sessions were pushed, 'git session pull' brings the left-out saves back, whole",
        );
    }
    if outcomes.iter().any(|o| matches!(o.result, Some(Ok(_)))) {
        ui::status("hint: check the whole repository with 'git fsck'; delete a backup ref once you no longer need it: git update-ref -d <ref>");
    }
}

/// The `--json` document of `repair`: what was checked, and each damaged ref with what was done.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RepairDocument {
    version: u32,
    dry_run: bool,
    /// Sessions refs checked: local, remote-tracking and backups.
    refs_checked: usize,
    /// Distinct saves checked.
    saves_checked: usize,
    damaged: Vec<DamagedRefJson>,
}

/// One ref that reached missing objects.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DamagedRefJson {
    #[serde(rename = "ref")]
    ref_name: String,
    /// `local`, `remote` or `backup`.
    kind: &'static str,
    agent: String,
    session: String,
    old_tip: String,
    /// Saves the history held.
    saves: usize,
    damaged_saves: Vec<DamagedSaveJson>,
    /// Its reflog reached damaged saves.
    reflog_damaged: bool,
    /// `damaged` (a dry run), `rewritten`, `deleted`, `reflogExpired` or `failed`.
    status: &'static str,
    new_tip: Option<String>,
    /// Saves the new history holds.
    saves_now: Option<u64>,
    /// The backup ref keeping the old history's readable parts.
    backup: Option<String>,
    error: Option<String>,
}

/// One save that lacks objects.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DamagedSaveJson {
    commit: String,
    missing: Vec<String>,
}

impl RepairDocument {
    fn new(args: &RepairArgs, scan: &repair::Scan, outcomes: &[Outcome<'_>]) -> Self {
        RepairDocument {
            version: 1,
            dry_run: args.dry_run,
            refs_checked: scan.refs,
            saves_checked: scan.saves,
            damaged: outcomes.iter().map(DamagedRefJson::new).collect(),
        }
    }
}

impl DamagedRefJson {
    fn new(o: &Outcome<'_>) -> Self {
        let d = o.damage;
        let (status, new_tip, saves_now, backup, error) = match &o.result {
            None => ("damaged", None, None, None, None),
            Some(Err(e)) => ("failed", None, None, None, Some(e.clone())),
            Some(Ok(Mended::ReflogOnly)) => ("reflogExpired", Some(d.tip), None, None, None),
            Some(Ok(Mended::Deleted { backup })) => ("deleted", None, None, backup.clone(), None),
            Some(Ok(Mended::Rewritten { tip, saves, backup })) => {
                ("rewritten", Some(*tip), Some(*saves), backup.clone(), None)
            }
        };
        DamagedRefJson {
            ref_name: d.ref_name.clone(),
            kind: match d.kind {
                RefKind::Local => "local",
                RefKind::RemoteTracking => "remote",
                RefKind::Backup => "backup",
            },
            agent: d.namespace.clone(),
            session: d.id.clone(),
            old_tip: d.tip.to_string(),
            saves: d.saves,
            damaged_saves: d
                .damaged
                .iter()
                .map(|s| DamagedSaveJson {
                    commit: s.commit.to_string(),
                    missing: s.missing.iter().map(ToString::to_string).collect(),
                })
                .collect(),
            reflog_damaged: d.damaged_reflog,
            status,
            new_tip: new_tip.map(|t| t.to_string()),
            saves_now,
            backup: backup.map(|(name, _)| name),
            error,
        }
    }
}
