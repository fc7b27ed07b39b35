//! Where Gemini CLI keeps session files, and reading one (with its subagents) for a save.
//!
//! `<gemini>/tmp/<slug>/chats/session-<YYYY-MM-DDTHH-MM>-<first 8 hex of the id>.jsonl`, where
//! `<gemini>` is `$GEMINI_CLI_HOME/.gemini` (else `~/.gemini`) and `<slug>` is what
//! `<gemini>/projects.json` (`{"projects": {"<project dir>": "<slug>"}}`) maps the directory
//! Gemini ran in to. A subagent's file is `chats/<parent id>/<child id>.jsonl`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::log;
use crate::agents::InputError;
use crate::session::Session;

/// The home Gemini uses: `$GEMINI_CLI_HOME`, else `$HOME`.
pub fn home_dir() -> Option<PathBuf> {
    ["GEMINI_CLI_HOME", "HOME"]
        .into_iter()
        .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
}

/// Gemini's folder: `<home>/.gemini`.
pub fn gemini_dir() -> Option<PathBuf> {
    home_dir().map(|h| h.join(".gemini"))
}

/// `<gemini>/projects.json`.
pub fn projects_path(gemini: &Path) -> PathBuf {
    gemini.join("projects.json")
}

/// The slug `projects.json` maps `project` to, when it has an entry.
pub fn slug_of(gemini: &Path, project: &Path) -> Option<String> {
    let text = std::fs::read_to_string(projects_path(gemini)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let key = project.to_string_lossy();
    v.get("projects")?
        .get(key.as_ref())?
        .as_str()
        .filter(|s| is_slug(s))
        .map(str::to_owned)
}

/// Whether `s` is a slug Gemini accepts (`[a-z0-9-]+`).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The folder of the sessions of the project with `slug`.
pub fn chats_dir(gemini: &Path, slug: &str) -> PathBuf {
    gemini.join("tmp").join(slug).join("chats")
}

/// What went wrong finding or reading a session file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Neither `GEMINI_CLI_HOME` nor `HOME` is set.
    #[error("cannot find Gemini's folder: neither GEMINI_CLI_HOME nor HOME is set")]
    NoHome,
    /// No session of this checkout.
    #[error("no Gemini CLI session under {} was started in {}", dir.display(), checkout.display())]
    NoSession {
        /// The folder looked at.
        dir: PathBuf,
        /// The checkout.
        checkout: PathBuf,
    },
    /// No session file with that id.
    #[error("no Gemini CLI session file of session {id} under {}", dir.display())]
    NoSuchSession {
        /// The session id.
        id: String,
        /// The folder searched.
        dir: PathBuf,
    },
    /// The file could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
}

/// One session file found on disk, with its header.
#[derive(Debug, Clone)]
pub struct Found {
    /// The file.
    pub path: PathBuf,
    /// Its session id.
    pub id: String,
    /// Its size in bytes.
    pub len: u64,
    /// When it was last written.
    pub modified: std::time::SystemTime,
}

/// The first line of a session file: its header's `sessionId` (`None` for a subagent's or a
/// file that has none).
pub fn peek(path: &Path) -> Option<Found> {
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    let mut head = Vec::new();
    file.take(64 * 1024).read_to_end(&mut head).ok()?;
    let line = head.split(|b| *b == b'\n').next()?;
    let v: Value = serde_json::from_slice(line).ok()?;
    if v.get("kind").and_then(Value::as_str) == Some("subagent") {
        return None;
    }
    Some(Found {
        path: path.to_path_buf(),
        id: v.get("sessionId")?.as_str()?.to_owned(),
        len: meta.len(),
        modified: meta.modified().ok()?,
    })
}

/// The session files directly in `chats` (`session-*.jsonl`), sorted by name.
pub fn session_files(chats: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(chats)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("session-") && n.ends_with(".jsonl"))
        })
        .collect();
    out.sort();
    out
}

/// The main sessions of the checkout whose directories are `dirs`, newest first; of several
/// files of one session (a resume's stray) the largest.
pub fn of_checkout(gemini: &Path, dirs: &[PathBuf]) -> Result<Vec<Found>, SourceError> {
    let mut found: Vec<Found> = Vec::new();
    let mut looked = gemini.join("tmp");
    for dir in dirs {
        let Some(slug) = slug_of(gemini, dir) else {
            continue;
        };
        looked = chats_dir(gemini, &slug);
        for f in session_files(&looked).iter().filter_map(|p| peek(p)) {
            match found.iter_mut().find(|g| g.id == f.id) {
                Some(g) if g.len < f.len => *g = f,
                Some(_) => {}
                None => found.push(f),
            }
        }
    }
    if found.is_empty() {
        return Err(SourceError::NoSession {
            dir: looked,
            checkout: dirs.last().cloned().unwrap_or_default(),
        });
    }
    found.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.path.cmp(&b.path)));
    Ok(found)
}

/// Every project's chats folder under `gemini`.
fn all_chats(gemini: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(gemini.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("chats"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// The file of session `id` in `chats` (of several, the largest), if any.
pub fn in_chats(chats: &Path, id: &str) -> Option<PathBuf> {
    let short = short_id(id);
    session_files(chats)
        .into_iter()
        .filter(|p| {
            p.file_stem()
                .is_some_and(|s| s.to_string_lossy().ends_with(&format!("-{short}")))
        })
        .filter_map(|p| peek(&p))
        .filter(|f| f.id == id)
        .max_by_key(|f| f.len)
        .map(|f| f.path)
}

/// The file of session `id`, in any project's folder (this checkout's first).
pub fn by_id(gemini: &Path, preferred: Option<&Path>, id: &str) -> Result<PathBuf, SourceError> {
    preferred
        .into_iter()
        .map(Path::to_path_buf)
        .chain(all_chats(gemini))
        .find_map(|chats| in_chats(&chats, id))
        .ok_or(SourceError::NoSuchSession {
            id: id.to_owned(),
            dir: gemini.join("tmp"),
        })
}

/// The first 8 characters of a session id: what Gemini's file names carry.
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Reads the file at `path`, of the subagent of `parent` when given.
pub fn read_one(path: &Path, parent: Option<&str>) -> Result<(Session, Vec<String>), SourceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        source_name: path.display().to_string(),
        source,
    })?;
    let parsed = log::parse(bytes, &name, parent)?;
    Ok((parsed.session, parsed.warnings))
}

/// The subagent files of session `id` next to its file in `chats`: `chats/<id>/*.jsonl`.
pub fn child_files(chats: &Path, id: &str) -> Vec<PathBuf> {
    if !crate::store::layout::is_safe_component(id) {
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(chats.join(id))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    out.sort();
    out
}

/// Reads the session file at `path` with its subagents (and theirs) as children.
pub fn read_with_children(path: &Path) -> Result<(Session, Vec<String>), SourceError> {
    let (mut session, mut warnings) = read_one(path, None)?;
    let chats = path.parent().unwrap_or(Path::new("."));
    attach(&mut session, chats, &mut warnings, 0)?;
    Ok((session, warnings))
}

fn attach(
    session: &mut Session,
    chats: &Path,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), SourceError> {
    if depth > 16 {
        return Ok(());
    }
    for file in child_files(chats, &session.id) {
        let (mut child, w) = read_one(&file, Some(&session.id))?;
        warnings.extend(w);
        if child.id == session.id {
            continue;
        }
        attach(&mut child, chats, warnings, depth + 1)?;
        session.children.push(child);
    }
    Ok(())
}

/// A stamp of the files of the session at `path` (and its subagents): size, modification time
/// and inode of each. It changes whenever Gemini appends to any of them; equal stamps mean
/// nothing new to save. Reads no file contents, so it costs the same for any session length.
pub fn stamp(path: &Path, id: &str) -> Option<String> {
    let one = |p: &Path| -> Option<String> {
        let m = std::fs::metadata(p).ok()?;
        let modified = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let ino = 0u64;
        Some(format!("{}:{modified}:{ino}", m.len()))
    };
    let chats = path.parent()?;
    let mut parts = vec![format!("{}={}", path.display(), one(path)?)];
    let mut stack = vec![id.to_owned()];
    while let Some(parent) = stack.pop() {
        for child in child_files(chats, &parent) {
            parts.push(format!("{}={}", child.display(), one(&child)?));
            if let Some(stem) = child.file_stem() {
                stack.push(stem.to_string_lossy().into_owned());
            }
        }
        if stack.len() > 256 {
            break;
        }
    }
    Some(parts.join(" "))
}

/// Removes the strays Gemini leaves next to session `id`'s file `keep`: a resume in a later
/// minute than the file's name starts a `session-<now>-<short id>.jsonl` that never gets a
/// message, and Gemini's cleanup at a later start judges it not resumable and deletes every file
/// with that short id, the real session included. A stray is a file of the same session id with
/// no message record (a user or gemini message); anything else is left alone. Returns the
/// files removed.
pub fn remove_strays(keep: &Path, id: &str) -> Vec<PathBuf> {
    let Some(chats) = keep.parent() else {
        return Vec::new();
    };
    let short = short_id(id);
    let mut removed = Vec::new();
    for path in session_files(chats) {
        if path == keep
            || !path
                .file_stem()
                .is_some_and(|s| s.to_string_lossy().ends_with(&format!("-{short}")))
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.len() > 1024 * 1024 {
            continue;
        }
        let records: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let same = records
            .first()
            .and_then(|h| h.get("sessionId"))
            .and_then(Value::as_str)
            == Some(id);
        let state = super::state::replay(&records);
        let has_message = records.iter().any(|r| {
            r.get("id").is_some_and(Value::is_string)
                && matches!(
                    r.get("type").and_then(Value::as_str),
                    Some("user" | "gemini")
                )
                && !super::state::content_text(r)
                    .trim_start()
                    .starts_with("<session_context>")
        }) || state.messages.iter().any(super::state::is_prompt);
        if same && !has_message && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

pub use crate::agents::hook_payload::HookPayload;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_projects_json_and_files_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        let chats = chats_dir(&g, "gapp");
        std::fs::create_dir_all(chats.join("6203f4cf-4c8e-4963-a204-de72fefce4e5")).unwrap();
        std::fs::write(
            projects_path(&g),
            r#"{"projects":{"/home/alice/work/gapp":"gapp","/x":"NOT A SLUG"}}"#,
        )
        .unwrap();
        assert_eq!(
            slug_of(&g, Path::new("/home/alice/work/gapp")).as_deref(),
            Some("gapp")
        );
        assert_eq!(slug_of(&g, Path::new("/x")), None);
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini");
        let main = chats.join("session-2026-11-30T11-48-6203f4cf.jsonl");
        std::fs::copy(format!("{fixtures}/session-resumed-3x.jsonl"), &main).unwrap();
        let child = chats.join("6203f4cf-4c8e-4963-a204-de72fefce4e5/4322b6cc.jsonl");
        std::fs::copy(format!("{fixtures}/subagent.jsonl"), &child).unwrap();
        let stray = chats.join("session-2026-11-30T12-00-6203f4cf.jsonl");
        let head = std::fs::read_to_string(&main).unwrap();
        let two: Vec<&str> = head.lines().take(2).collect();
        std::fs::write(&stray, format!("{}\n", two.join("\n"))).unwrap();
        let id = "6203f4cf-4c8e-4963-a204-de72fefce4e5";
        assert_eq!(
            by_id(&g, None, id).unwrap(),
            main,
            "the largest file of the id"
        );
        let found = of_checkout(&g, &[PathBuf::from("/home/alice/work/gapp")]).unwrap();
        assert_eq!(found.len(), 1);
        let (session, _) = read_with_children(&main).unwrap();
        assert_eq!(session.children.len(), 1);
        assert_eq!(log::parent(&session.children[0]).as_deref(), Some(id));
        let before = stamp(&main, id).unwrap();
        assert!(before.contains("4322b6cc.jsonl"), "{before}");
        assert_eq!(remove_strays(&main, id), vec![stray.clone()]);
        assert!(main.is_file() && !stray.exists());
        std::fs::write(&child, "{}\n").unwrap();
        assert_ne!(
            stamp(&main, id).unwrap(),
            before,
            "a child's change changes the stamp"
        );
    }
}
