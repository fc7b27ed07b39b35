//! Where Codex keeps rollouts, and reading one (with its subagents) for a save.
//!
//! `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDTHH-MM-SS>-<id>.jsonl`, `$CODEX_HOME`
//! defaulting to `~/.codex`. A session belongs to the checkout its `session_meta.cwd` is in. A
//! subagent has a rollout of its own (usually in the same date folder, started after its parent)
//! whose `session_meta` names its parent thread; it is read as a child of that parent.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::rollout::{self, Meta};
use crate::agents::InputError;
use crate::session::Session;

/// Codex's home: `$CODEX_HOME`, else `$HOME/.codex`.
pub fn codex_home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CODEX_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    home_dir().map(|h| h.join(".codex"))
}

/// `$HOME`, when set.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The folder holding every rollout below `home` (`$CODEX_HOME`).
pub fn sessions_dir(home: &Path) -> PathBuf {
    home.join("sessions")
}

/// What went wrong finding or reading a rollout.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Neither `CODEX_HOME` nor `HOME` is set.
    #[error("cannot find Codex's home: neither CODEX_HOME nor HOME is set")]
    NoHome,
    /// No rollout of this checkout.
    #[error("no Codex rollout under {} was started in {}", dir.display(), checkout.display())]
    NoRollout {
        /// The sessions folder looked at.
        dir: PathBuf,
        /// The checkout.
        checkout: PathBuf,
    },
    /// No rollout with that id.
    #[error("no Codex rollout of session {id} under {}", dir.display())]
    NoSuchSession {
        /// The session id.
        id: String,
        /// The sessions folder searched.
        dir: PathBuf,
    },
    /// The rollout could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
}

/// One rollout file found on disk, with its first record.
#[derive(Debug, Clone)]
pub struct Found {
    /// The file.
    pub path: PathBuf,
    /// Its `session_meta`.
    pub meta: Meta,
    /// When it was last written.
    pub modified: std::time::SystemTime,
}

/// Every rollout file below `sessions` (any depth), sorted by path.
pub fn rollout_files(sessions: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(sessions)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
        })
        .collect();
    out.sort();
    out
}

/// Reads the first record of rollout `path`; `None` when it has no `session_meta`.
pub fn peek(path: &Path) -> Option<Found> {
    let file = std::fs::File::open(path).ok()?;
    let modified = file.metadata().ok()?.modified().ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    Some(Found {
        path: path.to_path_buf(),
        meta: Meta::of_line(&line)?,
        modified,
    })
}

/// Whether a session that ran in `cwd` belongs to the checkout whose directories are `dirs`.
fn in_checkout(cwd: &str, dirs: &[PathBuf]) -> bool {
    let cwd = Path::new(cwd);
    let real = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    dirs.iter()
        .any(|d| cwd.starts_with(d) || real.starts_with(d))
}

/// The root rollouts (not subagents) of the checkout whose directories are `dirs`, newest first.
pub fn of_checkout(home: &Path, dirs: &[PathBuf]) -> Result<Vec<Found>, SourceError> {
    let sessions = sessions_dir(home);
    let mut found: Vec<Found> = rollout_files(&sessions)
        .iter()
        .filter_map(|p| peek(p))
        .filter(|f| f.meta.parent.is_none())
        .filter(|f| f.meta.cwd.as_deref().is_some_and(|c| in_checkout(c, dirs)))
        .collect();
    if found.is_empty() {
        return Err(SourceError::NoRollout {
            dir: sessions,
            checkout: dirs.last().cloned().unwrap_or_default(),
        });
    }
    found.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.path.cmp(&b.path)));
    Ok(found)
}

/// The rollout of session `id`, wherever it ran.
pub fn by_id(home: &Path, id: &str) -> Result<PathBuf, SourceError> {
    let sessions = sessions_dir(home);
    let suffix = format!("-{id}.jsonl");
    rollout_files(&sessions)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(&suffix))
        .find(|p| peek(p).is_some_and(|f| f.meta.id == id))
        .ok_or(SourceError::NoSuchSession {
            id: id.to_owned(),
            dir: sessions,
        })
}

/// Reads rollout `path`. The info gets the folder it was in.
pub fn read_one(path: &Path) -> Result<(Session, Vec<String>), SourceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        source_name: path.display().to_string(),
        source,
    })?;
    let parsed = rollout::parse(bytes, &name)?;
    Ok((parsed.session, parsed.warnings))
}

/// Reads rollout `path` with the rollouts of its subagents (and theirs) as children. Subagent
/// rollouts are looked for among `candidates` (files named after the parent's start, so only
/// later rollouts are opened).
pub fn read_with_children(
    path: &Path,
    candidates: &[PathBuf],
) -> Result<(Session, Vec<String>), SourceError> {
    let (mut session, mut warnings) = read_one(path)?;
    let start = path.file_name().map(|n| n.to_string_lossy().into_owned());
    // rollout-<timestamp>-<id>.jsonl: the timestamp is the 19 characters after "rollout-".
    let stamp = |name: &str| name.get(8..27).map(str::to_owned);
    let after = start.as_deref().and_then(stamp);
    let mut metas: Vec<Found> = candidates
        .iter()
        .filter(|p| p.as_path() != path)
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            match (&after, name.as_deref().and_then(stamp)) {
                (Some(a), Some(b)) => b >= *a,
                _ => true,
            }
        })
        .filter_map(|p| peek(p))
        .filter(|f| f.meta.parent.is_some())
        .collect();
    metas.sort_by(|a, b| a.path.cmp(&b.path));
    attach(&mut session, &metas, &mut warnings, 0)?;
    Ok((session, warnings))
}

/// Adds the subagents of `session` (and theirs) found in `metas` as its children.
fn attach(
    session: &mut Session,
    metas: &[Found],
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), SourceError> {
    if depth > 16 {
        return Ok(());
    }
    for found in metas
        .iter()
        .filter(|f| f.meta.parent.as_deref() == Some(&session.id))
    {
        let (mut child, w) = read_one(&found.path)?;
        warnings.extend(w);
        attach(&mut child, metas, warnings, depth + 1)?;
        session.children.push(child);
    }
    Ok(())
}

pub use crate::agents::hook_payload::HookPayload;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_payload_gives_the_reason_and_the_rollout() {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/codex/precompact-payload.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let p = HookPayload::parse(&bytes, super::super::AGENT).unwrap();
        assert_eq!(p.reason(), "pre-compaction");
        assert!(p.transcript_path.unwrap().ends_with(".jsonl"));
        let end = HookPayload::parse(
            br#"{"session_id":"x","hook_event_name":"SessionEnd"}"#,
            super::super::AGENT,
        );
        assert_eq!(end.unwrap().reason(), "session-end");
        assert!(HookPayload::parse(b"{\"cwd\":\"/p\"}", super::super::AGENT).is_err());
    }

    #[test]
    fn a_subagent_rollout_is_found_as_the_child_of_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("sessions/2026/11/30");
        std::fs::create_dir_all(&day).unwrap();
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/codex");
        let child_text =
            std::fs::read_to_string(format!("{fixtures}/rollout-subagent.jsonl")).unwrap();
        let parent_id = "01a22c45-ffef-7331-bc5b-b08c5f8a8640";
        // A parent rollout: the compaction example under the subagent's parent id.
        let parent_text =
            std::fs::read_to_string(format!("{fixtures}/rollout-with-compaction.jsonl"))
                .unwrap()
                .replace("01a22c44-a04c-71c1-bfce-80b4f6d80cd3", parent_id);
        let parent = day.join(format!("rollout-2026-11-30T11-45-10-{parent_id}.jsonl"));
        std::fs::write(&parent, parent_text).unwrap();
        let child =
            day.join("rollout-2026-11-30T11-45-14-01a22c46-0099-7512-a0bc-6622d26d9a82.jsonl");
        std::fs::write(&child, child_text).unwrap();
        let files = rollout_files(&dir.path().join("sessions"));
        assert_eq!(files.len(), 2);
        let (session, warnings) = read_with_children(&parent, &files).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(session.id, parent_id);
        assert_eq!(session.children.len(), 1);
        assert_eq!(
            session.children[0].id,
            "01a22c46-0099-7512-a0bc-6622d26d9a82"
        );
        let roots = of_checkout(dir.path(), &[PathBuf::from("/home/alice/work/app")]).unwrap();
        assert_eq!(roots.len(), 1, "the subagent is no root of its own");
        assert_eq!(roots[0].path, parent);
        assert!(of_checkout(dir.path(), &[PathBuf::from("/elsewhere")]).is_err());
        assert_eq!(by_id(dir.path(), parent_id).unwrap(), parent);
    }
}
