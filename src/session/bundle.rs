//! The portable bundle file: one session (with its children) at one save, as zstd-compressed
//! JSON, for handing a session over without a shared remote (`git session export` / `import`).
//!
//! zstd belongs here and not in the object store: inside blobs it would defeat git's delta
//! compression and make blob ids depend on the libzstd version.

use std::io::{Read, Write};

use serde_json::{json, Map, Value};

use super::model::{Message, Session};

/// The first bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const FORMAT_NAME: &str = "git-session-bundle";
const VERSION: u64 = 1;
/// zstd level: within a few percent of level 19's size at many times its speed.
const LEVEL: i32 = 12;
/// A bundle larger than this when decompressed is refused rather than exhausting memory.
const MAX_DECOMPRESSED: u64 = 4 << 30;

/// A session as carried by a bundle file.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The agent (ref namespace).
    pub agent: String,
    /// The agent version recorded at the save.
    pub agent_version: Option<String>,
    /// The session title.
    pub title: String,
    /// The session with its children.
    pub session: Session,
}

/// What is wrong with a bundle file.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The file is not a zstd stream, or is cut off.
    #[error("not a readable git-session bundle: {0}")]
    Decompress(String),
    /// The content is not a bundle of a version this build reads.
    #[error("not a git-session bundle this version reads: {0}")]
    Format(String),
}

/// Returns true when `bytes` start like a bundle (a zstd frame).
pub fn looks_like_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// Writes `bundle` to `out`.
pub fn write(bundle: &Bundle, out: impl Write) -> std::io::Result<()> {
    let doc = json!({
        "format": FORMAT_NAME,
        "version": VERSION,
        "agent": bundle.agent,
        "agentVersion": bundle.agent_version,
        "title": bundle.title,
        "session": node(&bundle.session),
    });
    let mut encoder = zstd::Encoder::new(out, LEVEL)?;
    serde_json::to_writer(&mut encoder, &doc)?;
    encoder.finish()?.flush()
}

/// Reads a bundle from its bytes.
pub fn read(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let decoder = zstd::Decoder::new(bytes).map_err(|e| BundleError::Decompress(e.to_string()))?;
    let mut json = Vec::new();
    decoder
        .take(MAX_DECOMPRESSED)
        .read_to_end(&mut json)
        .map_err(|e| BundleError::Decompress(e.to_string()))?;
    let doc: Value =
        serde_json::from_slice(&json).map_err(|e| BundleError::Format(e.to_string()))?;
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
        return Err(BundleError::Format("no git-session-bundle header".into()));
    }
    let version = doc.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != VERSION {
        return Err(BundleError::Format(format!(
            "bundle version {version}; this build reads version {VERSION}"
        )));
    }
    let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Bundle {
        agent: text("agent").ok_or_else(|| BundleError::Format("no agent".into()))?,
        agent_version: text("agentVersion"),
        title: text("title").unwrap_or_default(),
        session: session(doc.get("session").unwrap_or(&Value::Null))?,
    })
}

fn node(session: &Session) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), session.id.clone().into());
    map.insert("info".into(), session.info.clone());
    map.insert(
        "messages".into(),
        session
            .messages
            .iter()
            .map(|m| json!({"id": m.id, "body": m.body.value()}))
            .collect(),
    );
    map.insert(
        "children".into(),
        session.children.iter().map(node).collect(),
    );
    Value::Object(map)
}

fn session(value: &Value) -> Result<Session, BundleError> {
    let bad = |what: &str| BundleError::Format(format!("session node without {what}"));
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("id"))?;
    let info = value.get("info").cloned().ok_or_else(|| bad("info"))?;
    let mut messages = Vec::new();
    for m in value
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("messages"))?
    {
        messages.push(Message {
            id: m
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("message id"))?
                .to_owned(),
            body: m
                .get("body")
                .cloned()
                .ok_or_else(|| bad("message body"))?
                .into(),
        });
    }
    let mut children = Vec::new();
    for c in value
        .get("children")
        .and_then(Value::as_array)
        .unwrap_or(&Vec::new())
    {
        children.push(session(c)?);
    }
    Ok(Session {
        id: id.to_owned(),
        info,
        messages,
        children,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_and_is_recognised() {
        let child = Session {
            id: "ses_child".into(),
            info: json!({"info": {"id": "ses_child"}}),
            messages: vec![],
            children: vec![],
        };
        let bundle = Bundle {
            agent: "opencode".into(),
            agent_version: Some("1.18.33".into()),
            title: "Title".into(),
            session: Session {
                id: "ses_root".into(),
                info: json!({"info": {"id": "ses_root", "title": "Title"}}),
                messages: vec![Message {
                    id: "msg_1".into(),
                    body: json!({"info": {"id": "msg_1"}, "parts": ["x".repeat(5000)]}).into(),
                }],
                children: vec![child],
            },
        };
        let mut bytes = Vec::new();
        write(&bundle, &mut bytes).unwrap();
        assert!(looks_like_bundle(&bytes));
        assert!(
            bytes.len() < 1000,
            "5000 repeated bytes compress: {}",
            bytes.len()
        );
        assert_eq!(read(&bytes).unwrap(), bundle);
        assert!(
            read(&bytes[..bytes.len() / 2]).is_err(),
            "a cut-off bundle is refused"
        );
    }
}
