//! The conversation as it stands at the end of a Gemini session log, replayed as Gemini replays
//! it on `--resume`: a message record adds or replaces the message with its `id`, `$rewindTo`
//! drops that message and everything after it, `$set` merges metadata and its `messages` (when
//! present) replaces the whole list, a header merges metadata.
//!
//! A `$set messages` that brings messages never seen before while dropping ones the list held
//! is a compression: the dropped messages are kept aside as compressed history (the readable
//! views show them, marked) and the new ones are its summary. The sets a start or resume writes
//! only repeat known messages, so they are no compression.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// A history replaced by a compression.
#[derive(Debug, Clone, Default)]
pub struct Compressed {
    /// The messages the compression replaced.
    pub replaced: Vec<Value>,
    /// The ids of the messages it brought (the summary and its acknowledgement).
    pub summary_ids: HashSet<String>,
}

/// The replayed state of a session log.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The messages, in order.
    pub messages: Vec<Value>,
    /// The merged metadata (`sessionId`, `startTime`, `lastUpdated`, `summary`, ...).
    pub meta: Map<String, Value>,
    /// Every compression, oldest first.
    pub compressions: Vec<Compressed>,
}

impl State {
    /// The compressed histories' messages, then the current ones.
    pub fn all_messages(&self) -> impl Iterator<Item = &Value> {
        self.compressions
            .iter()
            .flat_map(|c| c.replaced.iter())
            .chain(self.messages.iter())
    }

    /// Whether message `id` is the summary (or its acknowledgement) of a compression.
    pub fn is_summary(&self, id: &str) -> bool {
        self.compressions.iter().any(|c| c.summary_ids.contains(id))
    }
}

fn id_of(v: &Value) -> Option<&str> {
    v.get("id").and_then(Value::as_str)
}

/// Replays `records` (a log's lines in order, references resolved).
pub fn replay(records: &[Value]) -> State {
    let mut state = State::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let reindex = |messages: &[Value], index: &mut HashMap<String, usize>| {
        index.clear();
        for (i, m) in messages.iter().enumerate() {
            if let Some(id) = id_of(m) {
                index.insert(id.to_owned(), i);
            }
        }
    };
    for record in records {
        let Value::Object(map) = record else { continue };
        if let Some(Value::String(to)) = map.get("$rewindTo") {
            match index.get(to) {
                Some(&at) => state.messages.truncate(at),
                None => state.messages.clear(),
            }
            reindex(&state.messages, &mut index);
        } else if let Some(id) = map.get("id").and_then(Value::as_str) {
            seen.insert(id.to_owned());
            match index.get(id) {
                Some(&at) => state.messages[at] = record.clone(),
                None => {
                    index.insert(id.to_owned(), state.messages.len());
                    state.messages.push(record.clone());
                }
            }
        } else if let Some(Value::Object(set)) = map.get("$set") {
            if let Some(Value::Array(list)) = set.get("messages") {
                let list: Vec<Value> = list
                    .iter()
                    .filter(|m| id_of(m).is_some())
                    .cloned()
                    .collect();
                let new: HashSet<String> = list
                    .iter()
                    .filter_map(id_of)
                    .filter(|id| !seen.contains(*id))
                    .map(str::to_owned)
                    .collect();
                let kept: HashSet<&str> = list.iter().filter_map(id_of).collect();
                let dropped = state
                    .messages
                    .iter()
                    .any(|m| id_of(m).is_some_and(|id| !kept.contains(id)));
                let replaced = std::mem::replace(&mut state.messages, list);
                if !new.is_empty() && dropped && !replaced.is_empty() {
                    state.compressions.push(Compressed {
                        replaced,
                        summary_ids: new.clone(),
                    });
                }
                seen.extend(new);
                reindex(&state.messages, &mut index);
            }
            for (k, v) in set {
                if k != "messages" {
                    state.meta.insert(k.clone(), v.clone());
                }
            }
        } else if map.get("sessionId").is_some_and(Value::is_string) {
            for (k, v) in map {
                if k != "messages" {
                    state.meta.insert(k.clone(), v.clone());
                }
            }
        }
    }
    state
}

/// The text of a message's `content`: a string, or the `text` of its parts.
pub fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Whether a message is something the user typed (not Gemini's own `<session_context>`, a slash
/// command, or empty).
pub fn is_prompt(message: &Value) -> bool {
    if message.get("type").and_then(Value::as_str) != Some("user") {
        return false;
    }
    let text = content_text(message);
    let t = text.trim_start();
    !t.is_empty() && !t.starts_with("<session_context>") && !t.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resumes_repeat_and_a_compression_replaces() {
        let ctx = json!({"id": "c", "type": "user", "content": [{"text": "<session_context>"}]});
        let a = json!({"id": "a", "type": "user", "content": [{"text": "first"}]});
        let b = json!({"id": "b", "type": "gemini", "content": "answer"});
        let s = json!({"id": "s", "type": "user", "content": [{"text": "<state_snapshot>"}]});
        let records = vec![
            json!({"sessionId": "x", "projectHash": "h", "kind": "main"}),
            json!({"$set": {"messages": [ctx]}}),
            a.clone(),
            b.clone(),
            json!({"$set": {"lastUpdated": "t"}}),
            json!({"sessionId": "x", "projectHash": "h2"}),
            json!({"$set": {"messages": [ctx]}}),
            json!({"$set": {"messages": [ctx, a, b]}}),
            json!({"id": "b", "type": "gemini", "content": "answer, edited"}),
        ];
        let state = replay(&records);
        assert_eq!(state.messages.len(), 3);
        assert!(state.compressions.is_empty(), "a resume is no compression");
        assert_eq!(state.messages[2]["content"], "answer, edited");
        assert_eq!(state.meta["projectHash"], "h2");
        let mut more = records.clone();
        more.push(json!({"$set": {"messages": [ctx, s]}}));
        more.push(json!({"$rewindTo": "nothing"}));
        let state = replay(&more[..more.len() - 1]);
        assert_eq!(state.compressions.len(), 1);
        assert_eq!(state.compressions[0].replaced.len(), 3);
        assert!(state.is_summary("s") && !state.is_summary("c"));
        assert!(
            replay(&more).messages.is_empty(),
            "an unknown rewind clears"
        );
        assert_eq!(state.all_messages().filter(|m| is_prompt(m)).count(), 2);
    }
}
