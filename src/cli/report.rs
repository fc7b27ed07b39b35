//! What a save reports: one line per saved session on stderr, or a JSON document on stdout.

use std::collections::BTreeMap;

use serde_json::json;

use super::ui;
use crate::session::save_set::{Attached, SaveReport};
use crate::session::SaveOutcome;

/// Prints what each save did: one line per session on stderr, or JSON on stdout.
pub(crate) fn print_reports(reports: &[SaveReport], json: bool, quiet: bool) {
    if json {
        let items: Vec<serde_json::Value> = reports.iter().map(report_json).collect();
        ui::out_json(&json!({"version": 1, "saves": items}));
        return;
    }
    if quiet {
        return;
    }
    for report in reports {
        if let Some(note) = note(report) {
            ui::status(&format!("note: {note}"));
        }
        ui::status(&report_line(report));
        if let SaveOutcome::Saved { encoded, .. } = &report.outcome {
            if let Some(line) = redactions_line(&encoded.redactions) {
                ui::status(&line);
            }
        }
        if let Some(line) = kept_line(report) {
            ui::status(&line);
        }
    }
}

/// `Redacted 3 secrets: github-pat 2, aws-access-key-id 1.` (never the values), or `None`.
pub(crate) fn redactions_line(found: &BTreeMap<String, usize>) -> Option<String> {
    let total: usize = found.values().sum();
    if total == 0 {
        return None;
    }
    let mut rules: Vec<(&String, &usize)> = found.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let list: Vec<String> = rules
        .iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();
    let noun = if total == 1 { "secret" } else { "secrets" };
    Some(format!("Redacted {total} {noun}: {}.", list.join(", ")))
}

fn report_line(report: &SaveReport) -> String {
    let title = if report.title.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", report.title)
    };
    match &report.outcome {
        SaveOutcome::Saved {
            commit,
            encoded,
            saves,
            ..
        } => {
            let children = match encoded.children {
                0 => String::new(),
                1 => ", 1 child session".to_owned(),
                n => format!(", {n} child sessions"),
            };
            format!(
                "Saved {}{title}: {} messages{children}, save {saves} ({}).",
                report.session,
                encoded.messages,
                ui::short(commit)
            )
        }
        SaveOutcome::Unchanged { commit, .. } => format!(
            "{} is unchanged since its last save ({}); nothing written.",
            report.session,
            ui::short(commit)
        ),
        SaveOutcome::AlreadyStored { commit, .. } => format!(
            "{} is already stored as save {}; nothing written.",
            report.session,
            ui::short(commit)
        ),
    }
}

fn report_json(report: &SaveReport) -> serde_json::Value {
    match &report.outcome {
        SaveOutcome::Saved {
            commit,
            previous,
            encoded,
            saves,
            ref_name,
            kept,
        } => json!({
            "session": report.session,
            "title": report.title,
            "status": "saved",
            "ref": ref_name,
            "commit": commit.to_string(),
            "previous": previous.map(|p| p.to_string()),
            "messages": encoded.messages,
            "children": encoded.children,
            "saves": saves,
            "bytes": encoded.json_bytes,
            "keptFromMerge": kept,
            "note": note(report),
            "redacted": report.redacted,
            "redactions": encoded.redactions,
        }),
        SaveOutcome::Unchanged {
            commit,
            encoded,
            ref_name,
            kept,
        } => json!({
            "session": report.session,
            "title": report.title,
            "status": "unchanged",
            "ref": ref_name,
            "commit": commit.to_string(),
            "keptFromMerge": kept,
            "messages": encoded.messages,
            "children": encoded.children,
            "note": note(report),
            "redacted": report.redacted,
            "redactions": encoded.redactions,
        }),
        SaveOutcome::AlreadyStored { commit, ref_name } => json!({
            "session": report.session,
            "title": report.title,
            "status": "already-stored",
            "ref": ref_name,
            "commit": commit.to_string(),
            "note": note(report),
            "redacted": report.redacted,
        }),
    }
}

/// What the save kept that the local copy lacks, and how to have it there.
fn kept_line(report: &SaveReport) -> Option<String> {
    let kept = match &report.outcome {
        SaveOutcome::Saved { kept, .. } | SaveOutcome::Unchanged { kept, .. } => *kept,
        SaveOutcome::AlreadyStored { .. } => 0,
    };
    let noun = match kept {
        0 => return None,
        1 => "message",
        _ => "messages",
    };
    Some(format!(
        "Kept {kept} {noun} that arrived by merge and are not in the local copy; to continue with them, load it: git session load {}",
        report.session
    ))
}

/// The note about where a child session read on its own went.
fn note(report: &SaveReport) -> Option<String> {
    Some(match report.attached.as_ref()? {
        Attached::ToSavedParent {
            child,
            parent,
            root,
        } => format!("{child} is a child of {parent}; saved with {root}"),
        Attached::Alone { child, parent } => {
            format!("{child} is a child of {parent}, which is not saved; stored on its own ref")
        }
    })
}
