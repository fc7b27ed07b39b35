//! Putting a saved Claude Code session back as files: re-homing paths, fork ids, writing the
//! transcript and its subagents under this machine's project folder (with a backup of any local
//! copy first).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{source, transcript};
pub use crate::agents::file_sessions::relocate;
use crate::agents::file_sessions::{rename_ids, SessionFile};
use crate::session::Session;

/// Gives the session a new session id: every occurrence of the old id in every string (the
/// `sessionId` fields, transcript paths in summaries) becomes `new_id`. Record uuids stay.
pub fn fork(session: &mut Session, new_id: &str) {
    let old = session.id.clone();
    rename_ids(session, &[(old, new_id.to_owned())]);
    session.info["claude"]["file"] = json!(format!("{new_id}.jsonl"));
}

/// A random version-4 UUID from `seed`.
pub fn new_uuid(seed: u64) -> String {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// The files a session occupies in `project_dir`: the transcript, then each subagent's
/// transcript and meta file.
pub fn files<'a>(session: &'a Session, project_dir: &Path) -> Vec<SessionFile<'a>> {
    let transcript = |path: PathBuf, s: &'a Session| {
        let lines = transcript::lines(s);
        SessionFile {
            path,
            write: Box::new(move |out| crate::agents::lines::write(s, lines, out)),
        }
    };
    let mut out = vec![transcript(
        project_dir.join(format!("{}.jsonl", session.id)),
        session,
    )];
    let sub = project_dir.join(&session.id).join("subagents");
    for child in &session.children {
        out.push(transcript(sub.join(format!("{}.jsonl", child.id)), child));
        if let Some(meta) = child.info.pointer("/claude/meta") {
            let text = serde_json::to_string(meta).unwrap_or_default();
            out.push(SessionFile {
                path: sub.join(format!("{}.meta.json", child.id)),
                write: Box::new(move |out| out.write_all(text.as_bytes())),
            });
        }
    }
    out
}

/// Whether a local copy of session `id` exists in `project_dir`.
pub fn exists(project_dir: &Path, id: &str) -> bool {
    project_dir.join(format!("{id}.jsonl")).exists()
}

/// Reads the local copy of session `id` in `project_dir` (for a backup).
pub fn read_local(project_dir: &Path, id: &str) -> Result<Session, source::SourceError> {
    source::read(&project_dir.join(format!("{id}.jsonl"))).map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::Value;

    fn session(lines: &[Value]) -> Session {
        Session {
            id: "6b92".into(),
            info: json!({"claude": {"cwd": "/pathA/project", "lines": lines.len()}}),
            messages: lines
                .iter()
                .enumerate()
                .map(|(i, v)| Message {
                    id: transcript::line_id(i + 1, None),
                    body: v.clone().into(),
                })
                .collect(),
            children: vec![],
        }
    }

    #[test]
    fn paths_are_rewritten_in_every_string_longest_first_on_component_boundaries() {
        let mut s = session(&[json!({
            "cwd": "/pathA/project",
            "text": "read /home/a/.claude/projects/-pathA-project/6b92.jsonl and /pathA/project/src. Not /pathA/project2 or /pathA/project.d",
            "nested": [{"p": "/home/a/.claude/settings.json"}]
        })]);
        let n = relocate(
            &mut s,
            &[
                ("/pathA/project".into(), "/pathB/co".into()),
                (
                    "/home/a/.claude/projects/-pathA-project".into(),
                    "/home/b/.claude/projects/-pathB-co".into(),
                ),
                ("/home/a".into(), "/home/b".into()),
            ],
        );
        let v = s.messages[0].body.value().into_owned();
        assert_eq!(v["cwd"], "/pathB/co");
        assert_eq!(
            v["text"],
            "read /home/b/.claude/projects/-pathB-co/6b92.jsonl and /pathB/co/src. Not /pathA/project2 or /pathA/project.d"
        );
        assert_eq!(v["nested"][0]["p"], "/home/b/.claude/settings.json");
        assert_eq!(s.info["claude"]["cwd"], "/pathB/co");
        assert_eq!(n, 4);
    }

    #[test]
    fn a_fork_renames_the_session_everywhere_and_uuids_are_v4() {
        let mut s = session(&[json!({"sessionId": "6b92", "uuid": "u1", "t": "at /p/6b92.jsonl"})]);
        let id = new_uuid(42);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(new_uuid(43), id);
        fork(&mut s, &id);
        assert_eq!(s.id, id);
        assert_eq!(s.messages[0].body.value()["sessionId"], id.as_str());
        assert_eq!(s.messages[0].body.value()["uuid"], "u1");
        assert_eq!(s.messages[0].body.value()["t"], format!("at /p/{id}.jsonl"));
    }
}
