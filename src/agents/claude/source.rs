//! Where Claude Code keeps transcripts, and reading one (with its subagents) for a save.
//!
//! `<config>/projects/<slug>/<sessionId>.jsonl`, where `<config>` is `$CLAUDE_CONFIG_DIR` or
//! `~/.claude` and `<slug>` is derived from the realpath of the directory Claude Code ran in
//! ([`slug`]). Subagents: `<sessionId>/subagents/agent-<agentId>.jsonl` (+ `.meta.json`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::transcript;
use crate::agents::InputError;
use crate::session::Session;

/// Slugs longer than this are cut and get a hash suffix.
const MAX_SLUG: usize = 200;

/// Claude Code's project-folder name for the directory `path` (pass its realpath).
///
/// Every UTF-16 code unit outside `[A-Za-z0-9]` becomes `-`; a result longer than 200 is cut to
/// 200 and gets `-` and the base-36 absolute value of the 32-bit Java-style string hash of
/// `path` (`h = h*31 + unit`, wrapping, signed).
pub fn slug(path: &str) -> String {
    let units: Vec<u16> = path.encode_utf16().collect();
    let mut out: String = units
        .iter()
        .map(|&u| match u8::try_from(u) {
            Ok(b) if b.is_ascii_alphanumeric() => b as char,
            _ => '-',
        })
        .collect();
    if out.len() <= MAX_SLUG {
        return out;
    }
    let mut h: i32 = 0;
    for &u in &units {
        h = h.wrapping_mul(31).wrapping_add(i32::from(u));
    }
    out.truncate(MAX_SLUG);
    out.push('-');
    out.push_str(&base36(i64::from(h).unsigned_abs()));
    out
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// Claude Code's config directory: `$CLAUDE_CONFIG_DIR`, else `$HOME/.claude`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    home_dir().map(|h| h.join(".claude"))
}

/// `$HOME`, when set.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The project folder of directory `dir` under `config`: `<config>/projects/<slug(realpath)>`.
pub fn project_dir(config: &Path, dir: &Path) -> PathBuf {
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    config.join("projects").join(slug(&real.to_string_lossy()))
}

/// What went wrong finding or reading a transcript.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Neither `CLAUDE_CONFIG_DIR` nor `HOME` is set.
    #[error(
        "cannot find Claude Code's config directory: neither CLAUDE_CONFIG_DIR nor HOME is set"
    )]
    NoConfig,
    /// No transcript in the project folder.
    #[error("no Claude Code transcript in {}", dir.display())]
    NoTranscript {
        /// The project folder looked at.
        dir: PathBuf,
    },
    /// No transcript with that id.
    #[error("no Claude Code transcript {id}.jsonl under {}", dir.display())]
    NoSuchSession {
        /// The session id.
        id: String,
        /// The projects folder searched.
        dir: PathBuf,
    },
    /// A session id that cannot be a file or ref name.
    #[error("{id:?} is not a Claude Code session id")]
    BadId {
        /// What was given.
        id: String,
    },
    /// The transcript could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
}

/// The transcript of session `id` (under the checkout's project folder first, then any project
/// folder), or the most recently modified transcript of the checkout when `id` is `None`.
pub fn find(config: &Path, checkout: &[PathBuf], id: Option<&str>) -> Result<PathBuf, SourceError> {
    let folders: Vec<PathBuf> = checkout.iter().map(|d| project_dir(config, d)).collect();
    match id {
        Some(id) => {
            if !crate::store::layout::is_safe_component(id) {
                return Err(SourceError::BadId { id: id.to_owned() });
            }
            let name = format!("{id}.jsonl");
            if let Some(p) = folders.iter().map(|f| f.join(&name)).find(|p| p.is_file()) {
                return Ok(p);
            }
            let projects = config.join("projects");
            let mut all: Vec<PathBuf> = std::fs::read_dir(&projects)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join(&name))
                .filter(|p| p.is_file())
                .collect();
            all.sort();
            all.into_iter().next().ok_or(SourceError::NoSuchSession {
                id: id.to_owned(),
                dir: projects,
            })
        }
        None => {
            for folder in &folders {
                let newest = std::fs::read_dir(folder)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                    .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                    .max();
                if let Some((_, path)) = newest {
                    return Ok(path);
                }
            }
            Err(SourceError::NoTranscript {
                dir: folders.into_iter().next().unwrap_or_default(),
            })
        }
    }
}

/// Every transcript of the checkout (the project folders of `checkout`), newest first.
pub fn find_all(config: &Path, checkout: &[PathBuf]) -> Result<Vec<PathBuf>, SourceError> {
    let folders: Vec<PathBuf> = checkout.iter().map(|d| project_dir(config, d)).collect();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for folder in &folders {
        found.extend(
            std::fs::read_dir(folder)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path()))),
        );
    }
    if found.is_empty() {
        return Err(SourceError::NoTranscript {
            dir: folders.into_iter().next().unwrap_or_default(),
        });
    }
    found.sort_by(|a, b| b.cmp(a));
    found.dedup_by(|a, b| a.1 == b.1);
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Reads transcript `path` with its subagent transcripts as children. The info gets
/// `projectDir` (the folder holding the file), and the caller adds where it came from.
pub fn read(path: &Path) -> Result<(Session, Vec<String>), SourceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = name.strip_suffix(".jsonl").unwrap_or(&name).to_owned();
    if !crate::store::layout::is_safe_component(&id) {
        return Err(SourceError::BadId { id });
    }
    let bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        source_name: path.display().to_string(),
        source,
    })?;
    let parsed = transcript::parse(bytes, &id, &name)?;
    let mut session = parsed.session;
    let mut warnings = parsed.warnings;
    let dir = path.parent().unwrap_or(Path::new("."));
    session.info["claude"]["projectDir"] = json!(dir.to_string_lossy());
    let sub = dir.join(&id).join("subagents");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for file in files {
        let fname = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cid = fname.strip_suffix(".jsonl").unwrap_or(&fname).to_owned();
        if !crate::store::layout::is_safe_component(&cid) {
            warnings.push(format!(
                "{}: skipped, its name cannot be stored",
                file.display()
            ));
            continue;
        }
        let bytes = std::fs::read(&file).map_err(|source| InputError::Unreadable {
            source_name: file.display().to_string(),
            source,
        })?;
        let parsed = transcript::parse(bytes, &cid, &fname)?;
        let mut child = parsed.session;
        warnings.extend(parsed.warnings);
        let meta_path = sub.join(format!("{cid}.meta.json"));
        if let Ok(text) = std::fs::read_to_string(&meta_path) {
            match serde_json::from_str::<Value>(&text) {
                Ok(meta) => child.info["claude"]["meta"] = meta,
                Err(e) => {
                    warnings.push(format!("{}: not JSON ({e}); left out", meta_path.display()))
                }
            }
        }
        session.children.push(child);
    }
    Ok((session, warnings))
}

pub use crate::agents::hook_payload::HookPayload;

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented algorithm, written out independently: Java `String.hashCode` over UTF-16.
    fn java_hash(s: &str) -> i32 {
        s.encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32))
    }

    #[test]
    fn short_paths_become_dashes_and_letters() {
        assert_eq!(slug("/home/dev/my.proj"), "-home-dev-my-proj");
        assert_eq!(slug("/home/dev/project"), "-home-dev-project");
        // One dash per UTF-16 code unit: é is one unit, 😀 is two.
        assert_eq!(slug("/a/é/😀"), "-a-----");
    }

    #[test]
    fn long_paths_are_cut_at_200_with_the_hash_in_base36() {
        let path = format!("/home/dev/{}/projé/{}", "a".repeat(120), "b-c.d".repeat(25));
        let s = slug(&path);
        let h = java_hash(&path);
        assert!(h != 0);
        let expected_hash = {
            let mut n = (h as i64).unsigned_abs();
            let mut d = Vec::new();
            while n > 0 {
                d.push(std::char::from_digit((n % 36) as u32, 36).unwrap());
                n /= 36;
            }
            d.iter().rev().collect::<String>()
        };
        let sanitized: String = path
            .encode_utf16()
            .map(|u| {
                if u < 128 && (u as u8).is_ascii_alphanumeric() {
                    u as u8 as char
                } else {
                    '-'
                }
            })
            .collect();
        assert_eq!(s, format!("{}-{expected_hash}", &sanitized[..200]));
        // Values computed outside this code (Python, the same documented algorithm).
        assert_eq!(
            slug(&format!("/{}", "x".repeat(250))),
            format!("-{}-v734pd", "x".repeat(199))
        );
        let mixed = format!("/tmp/{}/{}", "é".repeat(10), "long-dir-name-".repeat(16));
        assert!(slug(&mixed).ends_with("-n1kodk"), "{}", slug(&mixed));
        assert_eq!(slug(&"a".repeat(200)), "a".repeat(200), "200 is not cut");
    }

    #[test]
    fn hook_payloads_give_the_reason() {
        let p = HookPayload::parse(
            br#"{"session_id":"6b92","transcript_path":"/h/.claude/projects/-p/6b92.jsonl","cwd":"/p","hook_event_name":"PreCompact","trigger":"auto","custom_instructions":null}"#,
            super::super::AGENT,
        )
        .unwrap();
        assert_eq!(p.reason(), "pre-compaction");
        assert_eq!(p.trigger.as_deref(), Some("auto"));
        let p = HookPayload::parse(
            br#"{"session_id":"x","hook_event_name":"SessionEnd","reason":"other"}"#,
            super::super::AGENT,
        )
        .unwrap();
        assert_eq!(p.reason(), "session-end");
        assert!(HookPayload::parse(b"{\"cwd\":\"/p\"}", super::super::AGENT).is_err());
    }
}
