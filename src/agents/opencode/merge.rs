//! How two versions of an OpenCode session combine: the newer session info by `time.updated`,
//! messages in `(time.created, id)` order as OpenCode keeps them, and within one message the union
//! of parts by part id, the newer version of a part by its own time fields.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::session::merge::{max_canonical, MergeRules};
use crate::session::Message;

/// OpenCode's merge rules.
pub struct OpenCodeRules;

impl MergeRules for OpenCodeRules {
    fn compare_info(&self, a: &Value, b: &Value) -> Ordering {
        let updated = |v: &Value| v.pointer("/info/time/updated").and_then(Value::as_i64);
        updated(a).cmp(&updated(b))
    }

    fn message_order(&self, message: &Message) -> i64 {
        // OpenCode 1 keeps the time in `info`, OpenCode 2 on the message itself.
        let value = message.body.value();
        value
            .pointer("/info/time/created")
            .or_else(|| value.pointer("/time/created"))
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX)
    }

    fn merge_message(&self, id: &str, a: &Value, b: &Value, conflicts: &mut Vec<String>) -> Value {
        let (Some(a_obj), Some(b_obj)) = (a.as_object(), b.as_object()) else {
            conflicts.push(format!("message {id} differed; kept one version"));
            return max_canonical(a, b).clone();
        };
        if !a_obj.contains_key("info") && a_obj.contains_key("type") {
            // An OpenCode 2 message has no parts with ids: keep the later-finished version.
            let done = |v: &Value| {
                let t = |p: &str| v.pointer(p).and_then(Value::as_i64).unwrap_or(0);
                (t("/time/completed"), t("/time/created"))
            };
            let pick = match done(a).cmp(&done(b)) {
                Ordering::Greater => a,
                Ordering::Less => b,
                Ordering::Equal => max_canonical(a, b),
            };
            conflicts.push(format!(
                "message {id} differed; kept the later-finished version"
            ));
            return pick.clone();
        }
        let mut out = serde_json::Map::new();
        // The message info: the later-finished version.
        let info_a = a_obj.get("info").unwrap_or(&Value::Null);
        let info_b = b_obj.get("info").unwrap_or(&Value::Null);
        let info = if info_a == info_b {
            info_a.clone()
        } else {
            let pick = newer(info_a, info_b, message_time);
            conflicts.push(format!(
                "message {id} info differed; kept the {} version",
                describe_message(pick)
            ));
            pick.clone()
        };
        out.insert("info".into(), info);

        let mut parts: BTreeMap<String, Value> = BTreeMap::new();
        let mut unnamed = Vec::new();
        for part in parts_of(a).iter().chain(parts_of(b).iter()) {
            let Some(pid) = part.get("id").and_then(Value::as_str) else {
                if !unnamed.contains(part) {
                    unnamed.push(part.clone());
                }
                continue;
            };
            match parts.get(pid) {
                None => {
                    parts.insert(pid.to_owned(), part.clone());
                }
                Some(existing) if existing == part => {}
                Some(existing) => {
                    let pick = newer(existing, part, part_time).clone();
                    conflicts.push(format!(
                        "message {id} part {pid} differed; kept the {} version",
                        describe_part(&pick)
                    ));
                    parts.insert(pid.to_owned(), pick);
                }
            }
        }
        let mut merged_parts: Vec<Value> = parts.into_values().collect();
        merged_parts.extend(unnamed);
        out.insert("parts".into(), Value::Array(merged_parts));

        // Any other key: from the version whose info was kept.
        let source = if out["info"] == *info_a { a_obj } else { b_obj };
        for (key, value) in source {
            if key != "info" && key != "parts" {
                out.insert(key.clone(), value.clone());
            }
        }
        Value::Object(out)
    }
}

/// Picks the newer of two versions by `time_of`, falling back to a fixed canonical choice.
fn newer<'v>(a: &'v Value, b: &'v Value, time_of: fn(&Value) -> (i64, i64)) -> &'v Value {
    match time_of(a).cmp(&time_of(b)) {
        Ordering::Greater => a,
        Ordering::Less => b,
        Ordering::Equal => max_canonical(a, b),
    }
}

/// (finished?, latest time): a finished message beats a streaming one.
fn message_time(info: &Value) -> (i64, i64) {
    let t = |p: &str| info.pointer(p).and_then(Value::as_i64);
    match t("/time/completed") {
        Some(done) => (1, done),
        None => (0, t("/time/created").unwrap_or(0)),
    }
}

/// (status rank, latest time): completed or failed beats running beats pending.
fn part_time(part: &Value) -> (i64, i64) {
    let t = |p: &str| part.pointer(p).and_then(Value::as_i64);
    let rank = match part.pointer("/state/status").and_then(Value::as_str) {
        Some("completed") | Some("error") => 2,
        Some("running") => 1,
        Some(_) => 0,
        None => i64::from(t("/time/end").is_some()) * 2,
    };
    let latest = [
        t("/state/time/end"),
        t("/state/time/start"),
        t("/time/end"),
        t("/time/start"),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    (rank, latest)
}

fn describe_message(info: &Value) -> &'static str {
    if info.pointer("/time/completed").is_some() {
        "completed"
    } else {
        "newer"
    }
}

fn describe_part(part: &Value) -> String {
    match part.pointer("/state/status").and_then(Value::as_str) {
        Some(status) => status.to_owned(),
        None if part.pointer("/time/end").is_some() => "finished".to_owned(),
        None => "newer".to_owned(),
    }
}

fn parts_of(message: &Value) -> Vec<Value> {
    message
        .get("parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_completed_part_beats_a_running_one_and_the_choice_is_reported() {
        let running = json!({"info": {"id": "m", "time": {"created": 1}}, "parts": [
            {"id": "p1", "type": "text", "text": "hi"},
            {"id": "p2", "type": "tool", "state": {"status": "running", "time": {"start": 5}}}]});
        let done = json!({"info": {"id": "m", "time": {"created": 1, "completed": 9}}, "parts": [
            {"id": "p2", "type": "tool", "state": {"status": "completed", "output": "ok", "time": {"start": 5, "end": 8}}},
            {"id": "p3", "type": "step-finish"}]});
        let mut conflicts = Vec::new();
        let merged = OpenCodeRules.merge_message("m", &running, &done, &mut conflicts);
        let ids: Vec<&str> = merged["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["p1", "p2", "p3"], "union of parts in id order");
        assert_eq!(merged["parts"][1]["state"]["status"], "completed");
        assert_eq!(merged["info"]["time"]["completed"], 9);
        assert_eq!(conflicts.len(), 2, "{conflicts:?}");
        let mut again = Vec::new();
        assert_eq!(
            OpenCodeRules.merge_message("m", &done, &running, &mut again),
            merged,
            "symmetric"
        );
    }
}
