//! Gemini CLI behind the [`Agent`] trait: session files under this machine's `~/.gemini/tmp/`
//! for the folder Gemini maps this checkout to, read and written as files.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::source::{self, HookPayload, SourceError};
use super::{load, log, render, AGENT};
use crate::agents::file_sessions;
use crate::agents::lines::LineRules;
use crate::agents::{
    Agent, AgentError, Checkout, HookRead, HookStamp, InputError, Pick, Progress, Read, Restored,
    Source, TextField, View,
};
use crate::session::codec::SaveCache;
use crate::session::merge::MergeRules;
use crate::session::{Session, SessionKind};

/// The merge rules: those of line-id sessions (every line kept, in line order).
static RULES: LineRules = LineRules::new("gemini");

/// Gemini CLI, through its session files.
pub struct GeminiAgent;

impl SessionKind for GeminiAgent {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn parent_id(&self, session: &Session) -> Option<String> {
        log::parent(session)
    }

    fn title(&self, session: &Session) -> String {
        log::title(session)
    }

    fn version(&self, _session: &Session) -> Option<String> {
        None
    }

    fn merge_rules(&self) -> &dyn MergeRules {
        &RULES
    }
}

impl Agent for GeminiAgent {
    fn display_name(&self) -> &'static str {
        "Gemini CLI"
    }

    fn file_extension(&self) -> &'static str {
        "jsonl"
    }

    /// A Gemini session file starts with a header holding `sessionId` and `projectHash`.
    fn claims_file(&self, bytes: &[u8]) -> bool {
        let first = bytes
            .split(|b| *b == b'\n')
            .find(|l| !l.iter().all(u8::is_ascii_whitespace));
        first.is_some_and(|line| {
            serde_json::from_slice::<Value>(line).is_ok_and(|v| {
                v.get("sessionId").is_some_and(Value::is_string)
                    && v.get("projectHash").is_some_and(Value::is_string)
            })
        })
    }

    fn read_local(
        &self,
        checkout: &Checkout,
        pick: &Pick,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Read, AgentError> {
        let root = checkout.root(self.display_name())?;
        let gemini = gemini_dir()?;
        let paths = match pick {
            Pick::Id(id) => {
                if !crate::store::layout::is_safe_component(id) {
                    return Err(
                        AgentError::new(format!("{id:?} is not a Gemini session id")).hint(
                            "pass the session id as 'gemini --list-sessions' shows it (a uuid)",
                        ),
                    );
                }
                let here = source::slug_of(&gemini, root).map(|s| source::chats_dir(&gemini, &s));
                vec![source::by_id(&gemini, here.as_deref(), id)?]
            }
            Pick::Newest => vec![
                source::of_checkout(&gemini, &checkout.dirs())?
                    .remove(0)
                    .path,
            ],
            Pick::All => source::of_checkout(&gemini, &checkout.dirs())?
                .into_iter()
                .map(|f| f.path)
                .collect(),
        };
        file_sessions::read_each(&paths, progress, &mut |path, read| {
            read_file(checkout, path, read)
        })
    }

    fn read_sources(
        &self,
        checkout: &Checkout,
        sources: Vec<Source>,
        _cache_for: &dyn Fn(&str) -> SaveCache,
    ) -> Result<Read, AgentError> {
        let mut read = Read::default();
        for source in sources {
            let name = source
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.name.clone());
            // A subagent's file is in its parent's folder: chats/<parent id>/<child id>.jsonl.
            let parent = source
                .path
                .as_ref()
                .and_then(|p| p.parent())
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| n != "chats");
            let parsed = log::parse(source.bytes, &name, parent.as_deref()).map_err(input_error)?;
            let mut session = parsed.session;
            stamp(checkout, &mut session);
            read.warnings.extend(parsed.warnings);
            read.sessions.push(session);
        }
        Ok(read)
    }

    /// `PreCompress` fires before every model request (and `SessionEnd` at exit), with the main
    /// session's id and file also for a subagent's requests, so the whole session with its
    /// subagents is read. Strays a resume left next to the file are removed first (see
    /// [`source::remove_strays`]).
    fn read_hook(&self, checkout: &Checkout, payload: &[u8]) -> Result<HookRead, AgentError> {
        let payload = HookPayload::parse(payload, AGENT).map_err(input_error)?;
        let path = hook_path(&payload)?;
        source::remove_strays(&path, &payload.session_id);
        let mut read = Read::default();
        read_file(checkout, &path, &mut read)?;
        Ok(HookRead {
            read,
            reason: payload.reason(),
        })
    }

    fn hook_stamp(&self, _checkout: &Checkout, payload: &[u8]) -> Option<HookStamp> {
        let payload = HookPayload::parse(payload, AGENT).ok()?;
        let path = hook_path(&payload).ok()?;
        Some(HookStamp {
            stamp: source::stamp(&path, &payload.session_id)?,
            session: payload.session_id,
        })
    }

    fn text_fields(&self, session: &Session) -> Vec<TextField> {
        render::fields(session)
    }

    fn part_count(&self, message: &Value) -> u64 {
        render::part_count(message)
    }

    fn render_to(
        &self,
        session: &Session,
        view: View,
        _time: &dyn Fn(i64) -> String,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        // The state at the end of the log is replayed whole, so each view is built whole.
        let text = match view {
            View::Native => log::render(session),
            View::Markdown => render::markdown(session),
            View::Html => render::html(session),
        };
        out.write_all(text.as_bytes())
    }

    fn restore(
        &self,
        checkout: &Checkout,
        mut session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError> {
        let root = checkout.root(self.display_name())?.to_path_buf();
        let gemini = gemini_dir()?;
        let slug = load::ensure_project(&gemini, &root).map_err(|e| {
            AgentError::new(format!(
                "cannot register {} in {}: {e}",
                root.display(),
                source::projects_path(&gemini).display()
            ))
            .hint("check that Gemini's folder is writable, then load again")
        })?;
        let chats = source::chats_dir(&gemini, &slug);
        let info = |k: &str| log::info_str(&session, k);
        let old_root = info("root");
        let root_text = root.to_string_lossy().into_owned();
        let mut pairs = Vec::new();
        if let (Some(old), Some(old_slug)) = (info("geminiDir"), info("slug")) {
            let old_tmp = format!("{old}/tmp/{old_slug}");
            pairs.push((
                old_tmp,
                gemini
                    .join("tmp")
                    .join(&slug)
                    .to_string_lossy()
                    .into_owned(),
            ));
        }
        if let Some(old) = &old_root {
            pairs.push((old.clone(), root_text.clone()));
            pairs.push((sha256_hex(old), sha256_hex(&root_text)));
        }
        if let Some(old) = info("geminiDir") {
            pairs.push((old, gemini.to_string_lossy().into_owned()));
        }
        if let (Some(old), Some(new)) = (info("home"), source::home_dir()) {
            pairs.push((old, new.to_string_lossy().into_owned()));
        }
        let rehomed = load::relocate(&mut session, &pairs);
        if fork {
            load::fork(&mut session, crate::agents::random_seed());
        }
        load::freshen(&mut session, time::OffsetDateTime::now_utc());
        let files = load::files(&session, &chats, !fork);
        let done = file_sessions::put_back(self, &checkout.state_dir, &files, fork, || {
            if !files[0].path.is_file() {
                return Ok(None);
            }
            Ok(Some(source::read_with_children(&files[0].path)?.0))
        })?;
        source::remove_strays(&files[0].path, &session.id);
        // The files borrow the session, which the result takes.
        let file = files[0].path.clone();
        drop(files);
        Ok(Restored {
            continue_with: format!("gemini --resume {}", session.id),
            file: Some(file),
            identical: done.identical,
            replaced: done.replaced,
            backups: done.backups,
            rehomed_from: old_root.filter(|o| *o != root_text && rehomed > 0),
            directory: root_text,
            session,
        })
    }
}

/// The session file a hook payload names: its `transcript_path`, else found by id.
fn hook_path(payload: &HookPayload) -> Result<PathBuf, AgentError> {
    match payload.transcript_path.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => {
            if !crate::store::layout::is_safe_component(&payload.session_id) {
                return Err(AgentError::new(format!(
                    "{:?} is not a Gemini session id",
                    payload.session_id
                )));
            }
            Ok(source::by_id(&gemini_dir()?, None, &payload.session_id)?)
        }
    }
}

/// The hex SHA-256 of `text`: Gemini's `projectHash` of a directory.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads the session file `path` with its subagents, notes where it came from, adds it to `read`.
fn read_file(
    checkout: &Checkout,
    path: &std::path::Path,
    read: &mut Read,
) -> Result<(), AgentError> {
    let (mut session, warnings) = source::read_with_children(path)?;
    if let Some(slug) = path
        .parent()
        .and_then(|chats| chats.parent())
        .and_then(|p| p.file_name())
    {
        session.info["gemini"]["slug"] = json!(slug.to_string_lossy());
    }
    stamp(checkout, &mut session);
    read.warnings.extend(warnings);
    read.sessions.push(session);
    Ok(())
}

/// Records where the session was saved from (checkout, Gemini's folder, home), so a load on
/// another machine can rewrite these paths.
fn stamp(checkout: &Checkout, session: &mut Session) {
    let g = &mut session.info["gemini"];
    if let Some(root) = &checkout.root {
        g["root"] = json!(root.to_string_lossy());
    }
    if let Some(dir) = source::gemini_dir() {
        g["geminiDir"] = json!(dir.to_string_lossy());
    }
    if let Some(home) = source::home_dir() {
        g["home"] = json!(home.to_string_lossy());
    }
}

fn gemini_dir() -> Result<PathBuf, AgentError> {
    Ok(source::gemini_dir().ok_or(SourceError::NoHome)?)
}

/// A problem with a session file or hook payload, with the hint for Gemini's files.
fn input_error(e: InputError) -> AgentError {
    let hint = match &e {
        InputError::Unreadable { .. } => None,
        _ => Some(
            "pass a session file as Gemini writes it (~/.gemini/tmp/<project>/chats/session-*.jsonl), unchanged"
                .to_owned(),
        ),
    };
    AgentError::with_hint(e, hint)
}

impl From<SourceError> for AgentError {
    fn from(e: SourceError) -> Self {
        let hint = match &e {
            SourceError::Input(_) => None,
            SourceError::NoHome => Some("set HOME (or GEMINI_CLI_HOME)".to_owned()),
            SourceError::NoSession { .. } => Some(
                "run 'gemini' in this checkout first, or name a session with --session <id>"
                    .to_owned(),
            ),
            SourceError::NoSuchSession { .. } => {
                Some("pass the session id as 'gemini --list-sessions' shows it (a uuid)".to_owned())
            }
        };
        match e {
            SourceError::Input(input) => input_error(input),
            other => AgentError::with_hint(other, hint),
        }
    }
}
