//! Generated export documents: grown sessions, long tool outputs, update times.
//!
//! Everything starts from a real example and changes only what the test needs, so the documents
//! keep OpenCode's shape.

use serde_json::{json, Value};

/// Returns `export` with `count` user messages appended, their ids `msg_zz<tag>_<n>` (distinct from
/// every OpenCode id, which never has `zz` after `msg_`), and `info.time.updated` moved past them.
pub fn grow(export: &Value, tag: &str, count: usize) -> Value {
    let mut out = export.clone();
    let session_id = out["info"]["id"].as_str().expect("info.id").to_owned();
    let base = updated_ms(&out);
    let messages = out["messages"].as_array_mut().expect("messages array");
    for n in 1..=count {
        let message_id = format!("msg_zz{tag}_{n}");
        let created = base + n as i64 * 1000;
        messages.push(json!({
            "info": {
                "id": message_id,
                "sessionID": session_id,
                "role": "user",
                "time": {"created": created},
                "agent": "build",
                "model": {"providerID": "fake", "modelID": "fake-model"}
            },
            "parts": [{
                "id": format!("prt_zz{tag}_{n}"),
                "sessionID": session_id,
                "messageID": message_id,
                "type": "text",
                "text": format!("follow-up {n} from {tag}: please keep going")
            }]
        }));
    }
    let updated = base + count as i64 * 1000;
    set_updated(&mut out, updated);
    out
}

/// `info.time.updated` in epoch milliseconds.
pub fn updated_ms(export: &Value) -> i64 {
    export["info"]["time"]["updated"]
        .as_i64()
        .expect("info.time.updated")
}

/// Sets `info.time.updated`.
pub fn set_updated(export: &mut Value, ms: i64) {
    export["info"]["time"]["updated"] = json!(ms);
}

/// A text of at least `bytes` bytes made of numbered lines, different for every `seed`.
pub fn long_text(seed: &str, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 80);
    let mut n = 0;
    while text.len() < bytes {
        n += 1;
        text.push_str(&format!(
            "{seed}: line {n:05} of the build log, compiling module_{n} ... ok\n"
        ));
    }
    text
}

/// Returns `export` (the toolcall example) with its bash tool part's `state.output` and
/// `state.metadata.output` both set to `output`, as OpenCode stores a command's output twice.
pub fn with_bash_output(export: &Value, output: &str) -> Value {
    let mut out = export.clone();
    let part = out["messages"]
        .as_array_mut()
        .expect("messages array")
        .iter_mut()
        .flat_map(|m| m["parts"].as_array_mut().expect("parts array").iter_mut())
        .find(|p| p["type"] == "tool" && p["tool"] == "bash")
        .expect("the export has a bash tool part");
    part["state"]["output"] = json!(output);
    part["state"]["metadata"]["output"] = json!(output);
    out
}
