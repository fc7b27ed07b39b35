//! How two versions of a Codex session combine: the Claude Code rule family.
//!
//! Rollouts are append-only, so two saves of one session usually differ only by lines one of
//! them has and the other does not: the union by line id keeps them all, ordered by line number,
//! then by id (the id carries the record's timestamp, see [`super::rollout`]). When two machines
//! appended different records after a common prefix, both are kept, interleaved by line number.
//! Two different versions of one line id (a record whose paths a `load` rewrote) keep the one
//! with the later `timestamp`, else the canonically larger one; the other stays in the merge's
//! other parent and is reported. The info with more lines wins.

use crate::agents::lines::LineRules;

/// Codex's merge rules: the line-id family ([`crate::agents::lines`]).
pub static RULES: LineRules = LineRules::new("codex");

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
            info: json!({"codex": {"lines": n}}),
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
    fn records_appended_on_two_machines_are_all_kept_in_line_order() {
        let meta = ("l000001-1", json!({"type": "session_meta", "cwd": "/a"}));
        let a = session(&[meta.clone(), ("l000002-20", json!({"n": "a"}))], 2);
        let b = session(
            &[
                ("l000001-1", json!({"type": "session_meta", "cwd": "/b"})),
                ("l000002-21", json!({"n": "b"})),
                ("l000003-30", json!({"n": "b2"})),
            ],
            3,
        );
        let ab = merge(&a, &b, &RULES);
        let ba = merge(&b, &a, &RULES);
        assert_eq!(ab.session, ba.session, "the same whichever side merges");
        let ids: Vec<&str> = ab.session.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["l000001-1", "l000002-20", "l000002-21", "l000003-30"]);
        assert_eq!(
            ab.conflicts.len(),
            1,
            "the re-homed meta: {:?}",
            ab.conflicts
        );
        assert_eq!(ab.session.info["codex"]["lines"], 3);
    }
}
