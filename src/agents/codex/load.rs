//! Putting a saved Codex session back as files: re-homing paths, fork ids, and the rollouts'
//! places under this machine's `$CODEX_HOME/sessions/`.
//!
//! Only the rollouts are written: Codex rebuilds its SQLite index (`state_5.sqlite`) from a
//! rollout it has not seen when the session is resumed (`codex resume <id>`), with the cwd it is
//! resumed in, so nothing else needs to change.

use std::path::Path;

use serde_json::json;

use super::source;
use crate::agents::file_sessions::{rename_ids, SessionFile};
use crate::session::Session;

pub use crate::agents::file_sessions::relocate;

/// Gives the session and every subagent a new id: each old id, in every string of every
/// rollout (ids, parent ids, paths), becomes the new one. Returns the new root id.
pub fn fork(session: &mut Session, seed: u64) -> String {
    let mut pairs = Vec::new();
    for (n, s) in session.walk().into_iter().enumerate() {
        pairs.push((s.id.clone(), new_uuid(seed.wrapping_add(n as u64))));
    }
    rename_ids(session, &pairs);
    session.id.clone()
}

/// A version-7 UUID (Codex's thread id form): the current time in milliseconds, then bits
/// from `seed`.
pub fn new_uuid(seed: u64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
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
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        (ms >> 16) & 0xFFFF_FFFF,
        ms & 0xFFFF,
        a & 0xFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// Where each rollout of the session goes under `home` (`$CODEX_HOME`): over the local copy
/// of that session when there is one (`keep_local`), else `sessions/<YYYY/MM/DD>/<file>` from
/// the info. Returns the session's file, then each subagent's.
pub fn files<'a>(session: &'a Session, home: &Path, keep_local: bool) -> Vec<SessionFile<'a>> {
    session
        .walk()
        .into_iter()
        .map(|s| {
            let local = keep_local
                .then(|| source::by_id(home, &s.id).ok())
                .flatten();
            let path = local.unwrap_or_else(|| {
                let info = |k: &str| super::rollout::info_str(s, k);
                let meta = super::rollout::Meta {
                    id: s.id.clone(),
                    ..Default::default()
                };
                source::sessions_dir(home)
                    .join(info("dir").unwrap_or_else(|| meta.date_dir()))
                    .join(info("file").unwrap_or_else(|| meta.file_name()))
            });
            let lines = super::rollout::lines(s);
            SessionFile {
                path,
                write: Box::new(move |out| crate::agents::lines::write(s, lines, out)),
            }
        })
        .collect()
}

/// Sets the info's file name to the one a forked session gets (`rollout-<stamp>-<new id>`).
pub fn rename_files(session: &mut Session) {
    let id = session.id.clone();
    if let Some(file) = super::rollout::info_str(session, "file") {
        if !file.contains(&id) {
            let stamp = file.get(8..27).unwrap_or("1970-01-01T00-00-00").to_owned();
            session.info["codex"]["file"] = json!(format!("rollout-{stamp}-{id}.jsonl"));
        }
    }
    for child in &mut session.children {
        rename_files(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::codex::rollout;

    fn example() -> Session {
        let text = include_str!("../../../tests/fixtures/codex/rollout-with-compaction.jsonl");
        rollout::parse(
            text.as_bytes().to_vec(),
            "rollout-2026-11-30T11-43-44-01a22c44-a04c-71c1-bfce-80b4f6d80cd3.jsonl",
        )
        .unwrap()
        .session
    }

    #[test]
    fn a_fork_renames_the_session_everywhere_and_ids_are_v7() {
        let mut s = example();
        let old = s.id.clone();
        let new = fork(&mut s, 42);
        rename_files(&mut s);
        assert_eq!(new.len(), 36);
        assert_eq!(&new[14..15], "7");
        assert_eq!(s.id, new);
        let text = rollout::render(&s);
        assert!(!text.contains(&old), "no trace of the old id");
        assert!(text.contains(&new));
        assert_eq!(
            rollout::info_str(&s, "file").unwrap(),
            format!("rollout-2026-11-30T11-43-44-{new}.jsonl")
        );
    }

    #[test]
    fn paths_go_under_codex_home_by_date_and_the_checkout_is_rehomed() {
        let mut s = example();
        let n = relocate(
            &mut s,
            &[("/home/alice/work/app".into(), "/srv/bob/co".into())],
        );
        assert!(n > 3, "{n}");
        let text = rollout::render(&s);
        assert!(!text.contains("/home/alice/work/app"));
        assert!(text.contains("<cwd>/srv/bob/co</cwd>"));
        let files = files(&s, Path::new("/h/.codex"), false);
        assert_eq!(
            files[0].path,
            Path::new("/h/.codex/sessions/2026/11/30/rollout-2026-11-30T11-43-44-01a22c44-a04c-71c1-bfce-80b4f6d80cd3.jsonl")
        );
    }
}
