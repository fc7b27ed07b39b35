//! How two versions of a Claude Code session combine.
//!
//! Transcripts are append-only, so two saves of one session usually differ only by lines one of
//! them has and the other does not: the union by line id keeps them all. Records are ordered by
//! line number, then by id (the id carries the record's uuid prefix, see
//! [`super::transcript`]). When two machines appended different records after a common prefix,
//! records with a uuid get different ids and are both kept, interleaved by line number: Claude
//! Code links records by `parentUuid`, so the result is a conversation tree with two branches,
//! which its loader reads (the newest `last-prompt` names the leaf it resumes). Two different
//! versions of one line id (a bookkeeping line without uuid, or a line whose paths a `load`
//! rewrote) keep the one with the later `timestamp`, else the canonically larger one; the other
//! stays in the merge's other parent and is reported. The info with more lines wins.

use crate::agents::lines::LineRules;

/// Claude Code's merge rules: the line-id family ([`crate::agents::lines`]).
pub static RULES: LineRules = LineRules::new("claude");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::merge::merge;
    use crate::session::{Message, Session};
    use serde_json::json;
    use serde_json::Value;

    fn session(lines: &[(&str, Value)], n: u64) -> Session {
        Session {
            id: "s".into(),
            info: json!({"claude": {"lines": n}}),
            messages: lines
                .iter()
                .map(|(id, v)| Message {
                    id: (*id).into(),
                    body: v.clone().into(),
                })
                .collect(),
            children: vec![],
        }
    }

    #[test]
    fn diverged_appends_are_both_kept_in_line_order_whichever_side_merges() {
        let common = ("l000001-aaaa", json!({"uuid": "aaaa", "n": 1}));
        let a = session(
            &[
                common.clone(),
                ("l000002-bbbb", json!({"uuid": "bbbb"})),
                (
                    "l000003",
                    json!({"type": "last-prompt", "timestamp": "2026-01-02"}),
                ),
            ],
            3,
        );
        let b = session(
            &[
                common,
                ("l000002-cccc", json!({"uuid": "cccc"})),
                (
                    "l000003",
                    json!({"type": "last-prompt", "timestamp": "2026-01-01"}),
                ),
                ("l000004", json!({"type": "mode"})),
            ],
            4,
        );
        let ab = merge(&a, &b, &RULES);
        let ba = merge(&b, &a, &RULES);
        assert_eq!(ab.session, ba.session);
        let ids: Vec<&str> = ab.session.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "l000001-aaaa",
                "l000002-bbbb",
                "l000002-cccc",
                "l000003",
                "l000004"
            ]
        );
        assert_eq!(
            ab.session.messages[3].body.value()["timestamp"],
            "2026-01-02"
        );
        assert_eq!(ab.conflicts.len(), 1, "{:?}", ab.conflicts);
        assert_eq!(ab.session.info["claude"]["lines"], 4);
    }
}
