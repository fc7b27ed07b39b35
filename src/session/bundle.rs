//! The portable bundle file, for handing a session over without a shared remote (`git session
//! export` / `import`): a zstd stream, in one of two versions.
//!
//! * Version 2, written by `export`: the session's saves themselves. One line of JSON (the
//!   header: agent, session id, tip, title, saves) and then a git bundle (gitformat-bundle v2) of
//!   `refs/sessions/<agent>/<id>` at the tip, with no prerequisites: every commit, tree and blob
//!   reachable from the tip, as one pack. An import gets the same commit ids, so the receiver
//!   and the original share one history (a later fetch fast-forwards). After `zstd -d`, every
//!   byte after the first newline is a file `git bundle verify` and `git fetch` read.
//! * Version 1: one session (with its children) at one save as one JSON document. `load` writes
//!   its backups this way (a local copy that was never saved has no history to carry), and
//!   exports of earlier git-session versions are such files; both still import.
//!
//! zstd belongs here and not in the object store: inside blobs it would defeat git's delta
//! compression and make blob ids depend on the libzstd version.

use std::io::{Read, Write};

use serde_json::{json, Map, Value};

use super::model::{Message, Session};
use super::trailers::SaveTrailers;
use crate::store::layout::{is_safe_component, RefName};
use crate::store::{ObjectId, Store};

/// The first bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const FORMAT_NAME: &str = "git-session-bundle";
/// The version of a one-save bundle (a session as JSON).
const SNAPSHOT_VERSION: u64 = 1;
/// The version of a bundle of saves (a git bundle).
const HISTORY_VERSION: u64 = 2;
/// zstd level of a snapshot: within a few percent of level 19's size at many times its speed.
const LEVEL: i32 = 12;
/// zstd level of a history bundle: git's pack is already zlib-compressed and deltified, so a
/// higher level only costs time.
const HISTORY_LEVEL: i32 = 3;
/// A bundle larger than this when decompressed is refused rather than exhausting memory.
const MAX_DECOMPRESSED: u64 = 4 << 30;
/// The first line of a git bundle of format v2.
const GIT_BUNDLE_SIGNATURE: &[u8] = b"# v2 git bundle\n";

/// A session at one save, as a version 1 bundle carries it.
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

/// What a version 2 bundle says about the saves it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryHeader {
    /// The agent (ref namespace).
    pub agent: String,
    /// The session id (of the root session, whose ref the saves are on).
    pub session: String,
    /// The newest save carried: the ref's value in the git bundle.
    pub tip: ObjectId,
    /// The session title at the tip.
    pub title: String,
    /// How many saves the bundle carries.
    pub saves: u64,
    /// Time of the tip save, seconds since the Unix epoch.
    pub seconds: i64,
}

impl HistoryHeader {
    /// The local ref the saves belong on.
    pub fn ref_name(&self) -> RefName {
        RefName::local(&self.agent, &self.session)
    }
}

/// A version 2 bundle: a session's saves as a git bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryBundle {
    /// What the bundle says it carries.
    pub header: HistoryHeader,
    /// The git bundle (header lines and pack).
    git_bundle: Vec<u8>,
    /// Where the pack starts in `git_bundle`.
    pack_start: usize,
}

impl HistoryBundle {
    /// The git pack of every object reachable from the tip.
    pub fn pack(&self) -> &[u8] {
        &self.git_bundle[self.pack_start..]
    }
}

/// What a bundle file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum BundleFile {
    /// Version 1: one save as JSON.
    Snapshot(Bundle),
    /// Version 2: the saves themselves.
    History(HistoryBundle),
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
    /// The bundle was written by a newer git-session.
    #[error("the bundle has version {version}; this git-session reads versions {SNAPSHOT_VERSION} and {HISTORY_VERSION}")]
    Newer {
        /// The version the bundle declares.
        version: u64,
    },
    /// The saves unpacked from a bundle are not what its header says.
    #[error("the bundle's save {tip} is not a save of {session}: {problem}")]
    NotItsSave {
        /// The tip the header names.
        tip: String,
        /// The session the header names.
        session: String,
        /// What does not match.
        problem: String,
    },
}

/// Returns true when `bytes` start like a bundle (a zstd frame).
pub fn looks_like_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// Writes `bundle` to `out` as a version 1 bundle (one save as JSON).
pub fn write(bundle: &Bundle, out: impl Write) -> std::io::Result<()> {
    let doc = json!({
        "format": FORMAT_NAME,
        "version": SNAPSHOT_VERSION,
        "agent": bundle.agent,
        "agentVersion": bundle.agent_version,
        "title": bundle.title,
        "session": node(&bundle.session),
    });
    let mut encoder = zstd::Encoder::new(out, LEVEL)?;
    serde_json::to_writer(&mut encoder, &doc)?;
    encoder.finish()?.flush()
}

/// Writes a version 2 bundle to `out`: `header`, then a git bundle of its ref at its tip whose
/// pack is `pack` (every object reachable from the tip, as `git pack-objects --revs` writes it).
pub fn write_history(header: &HistoryHeader, pack: &[u8], out: impl Write) -> std::io::Result<()> {
    let doc = json!({
        "format": FORMAT_NAME,
        "version": HISTORY_VERSION,
        "agent": header.agent,
        "session": header.session,
        "tip": header.tip.to_string(),
        "title": header.title,
        "saves": header.saves,
        "time": header.seconds,
    });
    let mut encoder = zstd::Encoder::new(out, HISTORY_LEVEL)?;
    serde_json::to_writer(&mut encoder, &doc)?;
    encoder.write_all(b"\n")?;
    encoder.write_all(GIT_BUNDLE_SIGNATURE)?;
    let ref_line = format!("{} {}\n\n", header.tip, header.ref_name().full());
    encoder.write_all(ref_line.as_bytes())?;
    encoder.write_all(pack)?;
    encoder.finish()?.flush()
}

/// Reads a bundle file of either version from its bytes.
pub fn read(bytes: &[u8]) -> Result<BundleFile, BundleError> {
    let decoder = zstd::Decoder::new(bytes).map_err(|e| BundleError::Decompress(e.to_string()))?;
    let mut content = Vec::new();
    decoder
        .take(MAX_DECOMPRESSED)
        .read_to_end(&mut content)
        .map_err(|e| BundleError::Decompress(e.to_string()))?;
    // Version 1 is one compact JSON document, which holds no newline; version 2's header is the
    // first line.
    let header_end = content
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(content.len());
    let doc: Value = serde_json::from_slice(&content[..header_end])
        .map_err(|e| BundleError::Format(e.to_string()))?;
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
        return Err(BundleError::Format("no git-session-bundle header".into()));
    }
    match doc.get("version").and_then(Value::as_u64).unwrap_or(0) {
        SNAPSHOT_VERSION => read_snapshot(&doc).map(BundleFile::Snapshot),
        HISTORY_VERSION => {
            let git_bundle = content.get(header_end + 1..).unwrap_or_default().to_vec();
            read_history(&doc, git_bundle).map(BundleFile::History)
        }
        version if version > HISTORY_VERSION => Err(BundleError::Newer { version }),
        version => Err(BundleError::Format(format!(
            "unknown bundle version {version}"
        ))),
    }
}

fn read_snapshot(doc: &Value) -> Result<Bundle, BundleError> {
    let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Bundle {
        agent: text("agent").ok_or_else(|| BundleError::Format("no agent".into()))?,
        agent_version: text("agentVersion"),
        title: text("title").unwrap_or_default(),
        session: session(doc.get("session").unwrap_or(&Value::Null))?,
    })
}

fn read_history(doc: &Value, git_bundle: Vec<u8>) -> Result<HistoryBundle, BundleError> {
    let bad = |what: String| BundleError::Format(what);
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("no {key} in the header")))
    };
    let (agent, session) = (text("agent")?, text("session")?);
    // Both become a ref name here: nothing but a plain name component is accepted.
    for (what, value) in [("agent", &agent), ("session", &session)] {
        if !is_safe_component(value) {
            return Err(bad(format!(
                "{what} {value:?} cannot be a ref name component"
            )));
        }
    }
    let tip_hex = text("tip")?;
    let tip = ObjectId::from_hex(tip_hex.as_bytes())
        .map_err(|_| bad(format!("tip {tip_hex:?} is not an object id")))?;
    let header = HistoryHeader {
        agent,
        session,
        tip,
        title: doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        saves: doc.get("saves").and_then(Value::as_u64).unwrap_or(0),
        seconds: doc.get("time").and_then(Value::as_i64).unwrap_or(0),
    };
    let pack_start = git_bundle_pack_start(&git_bundle, &header)?;
    Ok(HistoryBundle {
        header,
        git_bundle,
        pack_start,
    })
}

/// Checks the git bundle's own header (no prerequisites, exactly the one ref the header names, at
/// its tip) and returns where its pack starts.
fn git_bundle_pack_start(bytes: &[u8], header: &HistoryHeader) -> Result<usize, BundleError> {
    let bad = |what: &str| BundleError::Format(format!("the git bundle inside {what}"));
    if !bytes.starts_with(GIT_BUNDLE_SIGNATURE) {
        return Err(bad("lacks its signature"));
    }
    let mut at = GIT_BUNDLE_SIGNATURE.len();
    let mut refs = Vec::new();
    loop {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| at + n)
            .ok_or_else(|| bad("is cut off"))?;
        let line = std::str::from_utf8(&bytes[at..end]).map_err(|_| bad("has a bad header"))?;
        at = end + 1;
        if line.is_empty() {
            break;
        }
        if line.starts_with('-') {
            return Err(bad("needs saves it does not carry (prerequisites)"));
        }
        refs.push(line.to_owned());
    }
    let expected = format!("{} {}", header.tip, header.ref_name().full());
    if refs != [expected] {
        return Err(bad("names other refs than its header"));
    }
    if !bytes[at..].starts_with(b"PACK") {
        return Err(bad("holds no pack"));
    }
    Ok(at)
}

/// Checks that the tip a bundle brought (its objects now in the repository) is a git-session
/// save of the session the header names, so a bundle cannot put another history on its ref.
pub fn check_tip(store: &Store, header: &HistoryHeader) -> Result<(), BundleError> {
    let not_its = |problem: String| BundleError::NotItsSave {
        tip: header.tip.to_string(),
        session: header.session.clone(),
        problem,
    };
    let commit = store
        .read_commit(header.tip)
        .map_err(|e| not_its(e.to_string()))?;
    let trailers = SaveTrailers::parse(&commit.message);
    if trailers.format == 0 {
        return Err(not_its("it is not a git-session save".into()));
    }
    if trailers.session != header.session {
        return Err(not_its(format!("it is a save of {}", trailers.session)));
    }
    if !trailers.agent.is_empty() && trailers.agent != header.agent {
        return Err(not_its(format!("it is a save of agent {}", trailers.agent)));
    }
    Ok(())
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
        assert_eq!(read(&bytes).unwrap(), BundleFile::Snapshot(bundle));
        assert!(
            read(&bytes[..bytes.len() / 2]).is_err(),
            "a cut-off bundle is refused"
        );
    }

    fn header(tip: ObjectId) -> HistoryHeader {
        HistoryHeader {
            agent: "agent-a".into(),
            session: "ses_root".into(),
            tip,
            title: "Title".into(),
            saves: 3,
            seconds: 1_700_000_000,
        }
    }

    fn oid(hex_digit: char) -> ObjectId {
        ObjectId::from_hex(hex_digit.to_string().repeat(40).as_bytes()).unwrap()
    }

    /// A version 2 bundle whose git bundle part is `git_bundle`, under `header`.
    fn with_git_bundle(header: &Value, git_bundle: &[u8]) -> Vec<u8> {
        let mut content = serde_json::to_vec(header).unwrap();
        content.push(b'\n');
        content.extend_from_slice(git_bundle);
        zstd::encode_all(&content[..], 3).unwrap()
    }

    #[test]
    fn a_history_bundle_round_trips_and_holds_a_git_bundle() {
        let header = header(oid('a'));
        let pack = b"PACK\0\0\0\x02 pack bytes".to_vec();
        let mut bytes = Vec::new();
        write_history(&header, &pack, &mut bytes).unwrap();
        assert!(looks_like_bundle(&bytes));
        let BundleFile::History(read) = read(&bytes).unwrap() else {
            panic!("a history bundle reads back as one");
        };
        assert_eq!(read.header, header);
        assert_eq!(read.pack(), &pack[..]);
        let content = zstd::decode_all(&bytes[..]).unwrap();
        let after_header = &content[content.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let git_header = format!(
            "# v2 git bundle\n{} refs/sessions/agent-a/ses_root\n\n",
            oid('a')
        );
        assert!(
            after_header.starts_with(git_header.as_bytes()),
            "after the first line comes a git bundle of the session's ref"
        );
    }

    #[test]
    fn a_history_bundle_that_is_not_what_its_header_says_is_refused() {
        let tip = oid('a');
        let doc = json!({"format": FORMAT_NAME, "version": 2, "agent": "agent-a",
            "session": "ses_root", "tip": tip.to_string()});
        let refused = |doc: &Value, git_bundle: String| {
            read(&with_git_bundle(doc, git_bundle.as_bytes())).unwrap_err()
        };
        let good = format!("# v2 git bundle\n{tip} refs/sessions/agent-a/ses_root\n\nPACK");
        assert!(read(&with_git_bundle(&doc, good.as_bytes())).is_ok());
        let prerequisite = format!(
            "# v2 git bundle\n-{} \n{tip} refs/sessions/agent-a/ses_root\n\nPACK",
            oid('b')
        );
        assert!(refused(&doc, prerequisite)
            .to_string()
            .contains("prerequisites"));
        let other_ref = format!("# v2 git bundle\n{tip} refs/heads/main\n\nPACK");
        assert!(refused(&doc, other_ref).to_string().contains("other refs"));
        let other_tip = format!(
            "# v2 git bundle\n{} refs/sessions/agent-a/ses_root\n\nPACK",
            oid('b')
        );
        assert!(refused(&doc, other_tip).to_string().contains("other refs"));
        let mut escaping = doc.clone();
        escaping["session"] = "../../heads/main".into();
        assert!(refused(&escaping, good.clone())
            .to_string()
            .contains("ref name"));
        let mut newer = doc.clone();
        newer["version"] = 3.into();
        assert!(matches!(
            refused(&newer, good),
            BundleError::Newer { version: 3 }
        ));
    }

    #[test]
    fn a_tip_must_be_a_save_of_the_session_its_header_names() {
        let (_dir, store) = Store::temporary();
        let tree = store.write_tree(&[]).unwrap();
        let save = |session: &str| {
            let trailers = SaveTrailers {
                session: session.into(),
                agent: "agent-a".into(),
                format: 1,
                ..SaveTrailers::default()
            };
            store
                .write_commit(tree, &[], &trailers.to_message())
                .unwrap()
        };
        let ours = save("ses_root");
        assert!(check_tip(&store, &header(ours)).is_ok());
        let other = save("ses_other");
        let e = check_tip(&store, &header(other)).unwrap_err();
        assert!(e.to_string().contains("ses_other"), "{e}");
        let plain = store.write_commit(tree, &[], "not a save\n").unwrap();
        assert!(check_tip(&store, &header(plain)).is_err());
        assert!(
            check_tip(&store, &header(oid('c'))).is_err(),
            "a missing tip"
        );
    }
}
