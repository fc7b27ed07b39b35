//! A deterministic union of two diverged saves of one session (git-bug's model: one ref per
//! entity, merge commits, no conflicts left to the user).
//!
//! Every message and child session of either side is kept. Where both sides hold different
//! versions of one message, the agent's [`MergeRules`] combine them and name what they had to
//! choose between; the version not kept stays in the history (the merge's other parent). The
//! result does not depend on which side is "ours": the same two saves merged on two machines give
//! the same session, hence the same tree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use super::codec::canonical_json;
use super::model::{Message, Session};

/// What an agent adapter knows about its own data that merging needs.
pub trait MergeRules {
    /// Orders two versions of a session's info: `Greater` when `a` is the newer one.
    fn compare_info(&self, a: &Value, b: &Value) -> Ordering;
    /// A key that sorts messages in conversation order (ties are broken by id).
    fn message_order(&self, message: &Message) -> i64;
    /// Combines two different versions of one message. `a` and `b` arrive in a fixed canonical
    /// order, so the result is the same whichever machine merges. Each choice that drops
    /// content from the merged tree is described in `conflicts`.
    fn merge_message(&self, id: &str, a: &Value, b: &Value, conflicts: &mut Vec<String>) -> Value;
}

/// The union of two sessions, and what had to be chosen.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged session.
    pub session: Session,
    /// One line per message or part where the two sides differed.
    pub conflicts: Vec<String>,
}

/// Merges two versions of one session (same id) into their union.
pub fn merge(a: &Session, b: &Session, rules: &dyn MergeRules) -> Merged {
    let mut conflicts = Vec::new();
    let session = merge_session(a, b, rules, &mut conflicts);
    Merged { session, conflicts }
}

fn merge_session(
    a: &Session,
    b: &Session,
    rules: &dyn MergeRules,
    conflicts: &mut Vec<String>,
) -> Session {
    let info = match rules.compare_info(&a.info, &b.info) {
        Ordering::Greater => a.info.clone(),
        Ordering::Less => b.info.clone(),
        Ordering::Equal => max_canonical(&a.info, &b.info).clone(),
    };

    let mut by_id: BTreeMap<&str, Message> = BTreeMap::new();
    for m in &a.messages {
        by_id.insert(&m.id, m.clone());
    }
    for m in &b.messages {
        match by_id.get_mut(m.id.as_str()) {
            None => {
                by_id.insert(&m.id, m.clone());
            }
            Some(existing) if existing.body.value() == m.body.value() => {}
            Some(existing) => {
                let (ours, theirs) = (existing.body.value(), m.body.value());
                let (x, y) = canonical_pair(&ours, &theirs);
                let mut found = Vec::new();
                let body = rules.merge_message(&m.id, x, y, &mut found);
                conflicts.extend(found.into_iter().map(|c| format!("{}: {c}", a.id)));
                drop((ours, theirs));
                existing.body = body.into();
            }
        }
    }
    let mut messages: Vec<Message> = by_id.into_values().collect();
    messages.sort_by(|x, y| {
        rules
            .message_order(x)
            .cmp(&rules.message_order(y))
            .then_with(|| x.id.cmp(&y.id))
    });

    let mut children: BTreeMap<&str, Session> = BTreeMap::new();
    for c in &a.children {
        children.insert(&c.id, c.clone());
    }
    for c in &b.children {
        let merged = match children.get(c.id.as_str()) {
            None => c.clone(),
            Some(existing) if existing == c => continue,
            Some(existing) => merge_session(existing, c, rules, conflicts),
        };
        children.insert(&c.id, merged);
    }

    Session {
        id: a.id.clone(),
        info,
        messages,
        children: children.into_values().collect(),
    }
}

/// Returns the two values in canonical byte order.
fn canonical_pair<'v>(a: &'v Value, b: &'v Value) -> (&'v Value, &'v Value) {
    if canonical_json(a) <= canonical_json(b) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Of two values, the one whose canonical bytes sort last: an arbitrary but fixed choice.
pub fn max_canonical<'v>(a: &'v Value, b: &'v Value) -> &'v Value {
    canonical_pair(a, b).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct ByTime;
    impl MergeRules for ByTime {
        fn compare_info(&self, a: &Value, b: &Value) -> Ordering {
            a["t"].as_i64().cmp(&b["t"].as_i64())
        }
        fn message_order(&self, m: &Message) -> i64 {
            m.body.value()["t"].as_i64().unwrap_or(0)
        }
        fn merge_message(&self, id: &str, _a: &Value, b: &Value, c: &mut Vec<String>) -> Value {
            c.push(format!("{id} differed"));
            b.clone()
        }
    }

    fn session(id: &str, t: i64, msgs: &[(&str, i64, &str)]) -> Session {
        Session {
            id: id.into(),
            info: json!({"t": t}),
            messages: msgs
                .iter()
                .map(|(mid, t, text)| Message {
                    id: (*mid).into(),
                    body: json!({"t": t, "text": text}).into(),
                })
                .collect(),
            children: vec![],
        }
    }

    #[test]
    fn the_union_keeps_every_message_in_conversation_order() {
        let a = session("s", 5, &[("m1", 1, "x"), ("m2", 2, "a-only")]);
        let b = session("s", 9, &[("m1", 1, "x"), ("m3", 3, "b-only")]);
        let merged = merge(&a, &b, &ByTime);
        let ids: Vec<&str> = merged
            .session
            .messages
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, ["m1", "m2", "m3"]);
        assert_eq!(merged.session.info, json!({"t": 9}), "newer info wins");
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn merging_is_symmetric_even_with_conflicts() {
        let mut a = session("s", 5, &[("m1", 1, "one"), ("m2", 2, "a")]);
        let mut b = session("s", 5, &[("m1", 1, "two"), ("m3", 3, "b")]);
        a.children.push(session("c", 1, &[("x", 1, "left")]));
        b.children.push(session("c", 1, &[("y", 2, "right")]));
        let ab = merge(&a, &b, &ByTime);
        let ba = merge(&b, &a, &ByTime);
        assert_eq!(ab.session, ba.session);
        assert_eq!(ab.conflicts.len(), 1, "{:?}", ab.conflicts);
        assert_eq!(ab.session.children[0].messages.len(), 2);
    }
}
