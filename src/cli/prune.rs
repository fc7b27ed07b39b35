//! `git session prune`: delete sessions not saved for a while, and/or shorten every session's
//! history to its newest saves, so that git can reclaim the space.

use clap::Args;
use serde::Serialize;

use super::progress::Progress;
use super::{ui, CliError};
use crate::git_cli;
use crate::session::backup;
use crate::session::prune::{self, Shorten};
use crate::session::{SavedSession, SessionHistory};
use crate::store::{LockMode, Store};

/// Arguments of `git session prune`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session prune --older-than 30d --dry-run   # what would go
  git session prune --older-than 2w              # delete sessions last saved over 2 weeks ago
  git session prune --keep-last 5                # keep the newest 5 saves of every session
  git session prune --older-than 90d --keep-last 10

Durations: a number and a unit, s (seconds), m (minutes), h (hours), d (days), w (weeks).
--keep-last copies the newest N saves along first parents onto a new, shorter chain (same
trees, messages, authors and times; a merge among them keeps its first parent only) and moves
the ref by compare-and-swap. The dropped saves become unreachable: 'git session gc' reclaims
them. Only local refs change; a remote keeps its copy until you delete or force-push it.")]
pub struct PruneArgs {
    /// Delete sessions whose newest save is older than this (`30d`, `12h`, `2w`), and the
    /// backups `load` made of replaced local copies that are older than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<u64>,
    /// Keep only the newest N saves of every (remaining) session.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_last: Option<u64>,
    /// Print what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Parses `30d`, `12h`, `2w`, `15m`, `45s` into seconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' has no unit; use s, m, h, d or w (as in 30d)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number (as in 30d)"))?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "unknown unit '{other}'; use s, m, h, d or w (as in 30d)"
            ))
        }
    };
    n.checked_mul(unit_seconds)
        .ok_or_else(|| format!("'{text}' is too long a duration"))
}

pub(crate) fn run(store: &Store, args: PruneArgs) -> Result<(), CliError> {
    if args.older_than.is_none() && args.keep_last.is_none() {
        return Err(CliError::usage(
            "say what to prune: --older-than DURATION and/or --keep-last N",
        )
        .hint("git session prune --older-than 30d --dry-run"));
    }
    // Saves wait meanwhile, so the plan made from the refs below stays valid until every ref has
    // moved (a save in between would fail that session's change).
    let _lock = if args.dry_run {
        None
    } else {
        Some(store.lock_maintenance(LockMode::Exclusive, "git session prune")?)
    };
    let history = SessionHistory::new(store);
    let sessions = history.local_sessions()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (delete, keep): (Vec<SavedSession>, Vec<SavedSession>) =
        sessions.into_iter().partition(|s| {
            args.older_than
                .is_some_and(|age| s.seconds < now.saturating_sub(age as i64))
        });
    let mut shorten = Vec::new();
    if let Some(n) = args.keep_last {
        for saved in &keep {
            if let Some(plan) = prune::plan_keep_last(store, saved, n as usize)? {
                shorten.push((saved.clone(), plan));
            }
        }
    }

    let verb = |now: &str, later: &str| {
        if args.dry_run {
            later.to_owned()
        } else {
            now.to_owned()
        }
    };
    // Backups of replaced local copies expire with the same age.
    let backups = match args.older_than {
        Some(age) => backup::expire(
            &store.state_dir(),
            now.saturating_sub(age as i64),
            args.dry_run,
        )
        .map_err(|e| {
            CliError::user(format!("cannot remove an old backup: {e}"))
                .hint("check the permissions of .git/git-session/backups/, then run it again")
        })?,
        None => Vec::new(),
    };
    let mut lines = Vec::new();
    for b in &backups {
        lines.push(format!(
            "{} backup {} ({}, written {})",
            verb("removing", "would remove"),
            b.path.display(),
            ui::size(b.bytes),
            ui::local_time(b.seconds)
        ));
    }
    for s in &delete {
        lines.push(format!(
            "{} {} \"{}\": last saved {}, {}",
            verb("deleting", "would delete"),
            s.name.id,
            s.trailers.title,
            ui::local_time(s.seconds),
            ui::count(s.trailers.saves as usize, "save", "saves")
        ));
    }
    for (s, plan) in &shorten {
        let merges = match plan.merges_flattened {
            0 => String::new(),
            n => format!(", {} flattened", ui::count(n as usize, "merge", "merges")),
        };
        lines.push(format!(
            "{} {} \"{}\": keeping the newest {} of {} saves, dropping {}{merges}",
            verb("shortening", "would shorten"),
            s.name.id,
            s.trailers.title,
            plan.kept.len(),
            plan.saves_before,
            plan.dropped()
        ));
    }
    if !args.json {
        for line in &lines {
            ui::status(line);
        }
        if lines.is_empty() {
            ui::status("Nothing to prune.");
        }
    }

    let mut problems = Vec::new();
    let mut rewritten = Vec::new();
    if !args.dry_run {
        let progress = if args.json {
            Progress::hidden()
        } else {
            Progress::bar((delete.len() + shorten.len()) as u64, "Pruning")
        };
        for s in &delete {
            progress.inc(&s.name.id);
            if let Err(e) = prune::delete(store, s) {
                problems.push(format!("{} was not deleted: {e}", s.name.id));
            }
        }
        for (s, plan) in &shorten {
            progress.inc(&s.name.id);
            match prune::shorten(store, plan) {
                Ok(tip) => rewritten.push((plan.ref_name.clone(), tip)),
                Err(e) => problems.push(format!("{} was not shortened: {e}", s.name.id)),
            }
        }
        // The reflog would keep the dropped saves alive for git's reflog expiry (90 days):
        // forget only its entries the shortened history no longer reaches.
        let refs: Vec<String> = rewritten.iter().map(|(r, _)| r.clone()).collect();
        git_cli::expire_unreachable_reflogs(&store.common_dir(), &refs)
            .map_err(|e| super::gc::housekeeping_failed(e, "git session prune"))?;
        if !args.json && (!delete.is_empty() || !rewritten.is_empty()) {
            ui::status("The removed saves take space until git reclaims them: git session gc");
        }
    }
    if args.json {
        let mut document = report_json(&args, &delete, &shorten, &rewritten);
        document.backups = backups
            .iter()
            .map(|b| b.path.display().to_string())
            .collect();
        ui::out_json(&document);
    }
    match problems.len() {
        0 => Ok(()),
        n => {
            for p in &problems[..n - 1] {
                ui::status(&format!("error: {p}"));
            }
            Err(CliError::user(&problems[n - 1])
                .hint("another process saved meanwhile; run the command again"))
        }
    }
}

/// The `--json` document of `prune`: what was (or, with `--dry-run`, would be) deleted and
/// shortened.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PruneDocument<'a> {
    version: u32,
    dry_run: bool,
    deleted: Vec<DeletedJson<'a>>,
    shortened: Vec<ShortenedJson<'a>>,
    /// Backup files of replaced local copies removed (or, with `--dry-run`, that would be).
    backups: Vec<String>,
}

/// A session deleted by `--older-than`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedJson<'a> {
    session: &'a str,
    #[serde(rename = "ref")]
    ref_name: String,
    title: &'a str,
    /// RFC 3339 UTC.
    last_save: String,
    /// The tip the ref pointed at.
    commit: String,
}

/// A session shortened by `--keep-last`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ShortenedJson<'a> {
    session: &'a str,
    #[serde(rename = "ref")]
    ref_name: &'a str,
    saves_before: u64,
    kept: usize,
    dropped: u64,
    merges_flattened: u64,
    /// The tip before.
    from: String,
    /// The new tip; `null` with `--dry-run` or when the ref was not moved.
    to: Option<String>,
}

fn report_json<'a>(
    args: &PruneArgs,
    delete: &'a [SavedSession],
    shorten: &'a [(SavedSession, Shorten)],
    rewritten: &[(String, crate::store::ObjectId)],
) -> PruneDocument<'a> {
    let deleted = delete
        .iter()
        .map(|s| DeletedJson {
            session: &s.name.id,
            ref_name: s.name.full(),
            title: &s.trailers.title,
            last_save: ui::utc_rfc3339(s.seconds),
            commit: s.tip.to_string(),
        })
        .collect();
    let shortened = shorten
        .iter()
        .map(|(s, plan)| ShortenedJson {
            session: &s.name.id,
            ref_name: &plan.ref_name,
            saves_before: plan.saves_before,
            kept: plan.kept.len(),
            dropped: plan.dropped(),
            merges_flattened: plan.merges_flattened,
            from: plan.tip.to_string(),
            to: rewritten
                .iter()
                .find(|(r, _)| *r == plan.ref_name)
                .map(|(_, t)| t.to_string()),
        })
        .collect();
    PruneDocument {
        version: 1,
        dry_run: args.dry_run,
        deleted,
        shortened,
        backups: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_have_a_number_and_a_unit() {
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("45s"), Ok(45));
        assert_eq!(parse_duration("0d"), Ok(0));
        for bad in [
            "",
            "30",
            "d",
            "3x",
            "1.5d",
            "-1d",
            "30 d",
            "99999999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
