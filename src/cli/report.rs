//! What a save reports: one line per saved session on stderr, or a JSON document on stdout.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ui;
use crate::session::save_set::{Attached, SaveReport};
use crate::session::SaveOutcome;

/// Prints what each save did: one line per session on stderr, or JSON on stdout.
pub(crate) fn print_reports(reports: &[SaveReport], json: bool, quiet: bool) {
    if json {
        ui::out_json(&SavesDocument {
            version: 1,
            saves: saves_json(reports),
        });
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

/// The `--json` entries of `reports`, as [`print_reports`] prints them.
pub(crate) fn saves_json(reports: &[SaveReport]) -> Vec<SaveJson<'_>> {
    reports.iter().map(SaveJson::new).collect()
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
                "Saved {}{title}: {}{children}, save {saves} ({}).",
                report.session,
                ui::count(encoded.messages, "message", "messages"),
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

/// The `--json` document of `save` (its `saves` are also `import`'s): one entry per root
/// session saved.
#[derive(Debug, Serialize)]
struct SavesDocument<'a> {
    version: u32,
    saves: Vec<SaveJson<'a>>,
}

/// One saved session. The keys after `status` depend on it (see [`OutcomeJson`]).
#[derive(Debug, Serialize)]
pub(crate) struct SaveJson<'a> {
    session: &'a str,
    title: &'a str,
    #[serde(flatten)]
    outcome: OutcomeJson<'a>,
    #[serde(rename = "ref")]
    ref_name: &'a str,
    commit: String,
    note: Option<String>,
    redacted: bool,
}

/// What a save did, as `"status"` and the keys that status has.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum OutcomeJson<'a> {
    /// `"saved"`: a new save.
    Saved {
        previous: Option<String>,
        messages: usize,
        children: usize,
        saves: u64,
        bytes: u64,
        #[serde(rename = "keptFromMerge")]
        kept_from_merge: usize,
        redactions: &'a BTreeMap<String, usize>,
    },
    /// `"unchanged"`: the newest save already holds this content.
    Unchanged {
        messages: usize,
        children: usize,
        #[serde(rename = "keptFromMerge")]
        kept_from_merge: usize,
        redactions: &'a BTreeMap<String, usize>,
    },
    /// `"already-stored"`: an older save holds exactly this content.
    AlreadyStored,
}

impl<'a> SaveJson<'a> {
    fn new(report: &'a SaveReport) -> Self {
        let (outcome, commit, ref_name) = match &report.outcome {
            SaveOutcome::Saved {
                commit,
                previous,
                encoded,
                saves,
                ref_name,
                kept,
            } => (
                OutcomeJson::Saved {
                    previous: previous.map(|p| p.to_string()),
                    messages: encoded.messages,
                    children: encoded.children,
                    saves: *saves,
                    bytes: encoded.json_bytes,
                    kept_from_merge: *kept,
                    redactions: &encoded.redactions,
                },
                commit,
                ref_name,
            ),
            SaveOutcome::Unchanged {
                commit,
                encoded,
                ref_name,
                kept,
            } => (
                OutcomeJson::Unchanged {
                    messages: encoded.messages,
                    children: encoded.children,
                    kept_from_merge: *kept,
                    redactions: &encoded.redactions,
                },
                commit,
                ref_name,
            ),
            SaveOutcome::AlreadyStored { commit, ref_name } => {
                (OutcomeJson::AlreadyStored, commit, ref_name)
            }
        };
        SaveJson {
            session: &report.session,
            title: &report.title,
            outcome,
            ref_name,
            commit: commit.to_string(),
            note: note(report),
            redacted: report.redacted,
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::session::codec::Encoded;
    use crate::store::ObjectId;

    fn id(hex_digit: char) -> ObjectId {
        ObjectId::from_hex(hex_digit.to_string().repeat(40).as_bytes()).expect("40 hex digits")
    }

    fn report(outcome: SaveOutcome) -> SaveReport {
        SaveReport {
            session: "ses_1".to_owned(),
            title: "T".to_owned(),
            outcome,
            attached: Some(Attached::Alone {
                child: "ses_1".to_owned(),
                parent: "ses_0".to_owned(),
            }),
            redacted: true,
        }
    }

    fn encoded() -> Encoded {
        Encoded {
            tree: id('e'),
            messages: 3,
            children: 1,
            json_bytes: 1234,
            strings: 0,
            reused: 0,
            redactions: [("github-pat".to_owned(), 2)].into(),
        }
    }

    fn value(report: &SaveReport) -> serde_json::Value {
        serde_json::to_value(SaveJson::new(report)).expect("serialises")
    }

    #[test]
    fn each_save_status_has_its_own_keys() {
        let note = "ses_1 is a child of ses_0, which is not saved; stored on its own ref";
        let saved = report(SaveOutcome::Saved {
            commit: id('a'),
            previous: None,
            encoded: encoded(),
            saves: 2,
            ref_name: "refs/sessions/opencode/ses_1".to_owned(),
            kept: 1,
        });
        assert_eq!(
            value(&saved),
            json!({
                "session": "ses_1", "title": "T", "status": "saved",
                "ref": "refs/sessions/opencode/ses_1", "commit": "a".repeat(40),
                "previous": null, "messages": 3, "children": 1, "saves": 2, "bytes": 1234,
                "keptFromMerge": 1, "note": note, "redacted": true, "redactions": {"github-pat": 2},
            }),
            "a new save: previous stays a key (null for a first save)"
        );
        let unchanged = report(SaveOutcome::Unchanged {
            commit: id('b'),
            encoded: encoded(),
            ref_name: "refs/sessions/opencode/ses_1".to_owned(),
            kept: 0,
        });
        assert_eq!(
            value(&unchanged),
            json!({
                "session": "ses_1", "title": "T", "status": "unchanged",
                "ref": "refs/sessions/opencode/ses_1", "commit": "b".repeat(40),
                "messages": 3, "children": 1, "keptFromMerge": 0,
                "note": note, "redacted": true, "redactions": {"github-pat": 2},
            }),
            "unchanged: no previous, saves or bytes"
        );
        let stored = report(SaveOutcome::AlreadyStored {
            commit: id('c'),
            ref_name: "refs/sessions/opencode/ses_1".to_owned(),
        });
        assert_eq!(
            value(&stored),
            json!({
                "session": "ses_1", "title": "T", "status": "already-stored",
                "ref": "refs/sessions/opencode/ses_1", "commit": "c".repeat(40),
                "note": note, "redacted": true,
            }),
            "already stored: no counts at all"
        );
    }
}
