//! Claude Code behind the [`Agent`] trait: JSONL transcripts under this machine's Claude Code
//! config folder for this checkout, read and written as files.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::source::{self, HookPayload, SourceError};
use super::{edits, load, merge, render, text, transcript, AGENT};
use crate::agents::file_sessions;
use crate::agents::{conversation, lines};
use crate::agents::{
    Agent, AgentError, Checkout, HookRead, InputError, Pick, Progress, Read, Restored, Source,
    TextField, View,
};
use crate::session::codec::SaveCache;
use crate::session::merge::MergeRules;
use crate::session::portable::MachinePaths;
use crate::session::{Session, SessionKind};

/// Claude Code, through its transcript files.
pub struct ClaudeAgent;

impl SessionKind for ClaudeAgent {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn parent_id(&self, _session: &Session) -> Option<String> {
        // Subagent transcripts are read with their parent, as its children.
        None
    }

    fn title(&self, session: &Session) -> String {
        transcript::title(session)
    }

    fn version(&self, session: &Session) -> Option<String> {
        transcript::version(session)
    }

    fn merge_rules(&self) -> &dyn MergeRules {
        &merge::RULES
    }
}

impl Agent for ClaudeAgent {
    fn display_name(&self) -> &'static str {
        "Claude Code"
    }

    fn file_extension(&self) -> &'static str {
        "jsonl"
    }

    fn read_local(
        &self,
        checkout: &Checkout,
        pick: &Pick,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Read, AgentError> {
        checkout.root(self.display_name())?;
        let config = config_dir()?;
        let dirs = checkout.dirs();
        let paths = match pick {
            Pick::Newest => vec![source::find(&config, &dirs, None)?],
            Pick::Id(id) => vec![source::find(&config, &dirs, Some(id))?],
            Pick::All => source::find_all(&config, &dirs)?,
        };
        file_sessions::read_each(&paths, progress, &mut |path, read| {
            read_transcript(checkout, path, read)
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
            match &source.path {
                Some(path) => read_transcript(checkout, path, &mut read)?,
                None => {
                    let id = first_session_id(&source.bytes).ok_or_else(|| {
                        AgentError::new(format!(
                            "{} names no Claude Code session (no \"sessionId\" on any line)",
                            source.name
                        ))
                        .hint("pass the transcript file itself: --from <config>/projects/<slug>/<id>.jsonl")
                    })?;
                    let parsed =
                        transcript::parse(source.bytes, &id, &source.name).map_err(input_error)?;
                    let mut session = parsed.session;
                    stamp(checkout, &mut session);
                    read.warnings.extend(parsed.warnings);
                    read.sessions.push(session);
                }
            }
        }
        Ok(read)
    }

    /// PreCompact saves what is on disk now, without waiting for Claude Code's batched writer
    /// (up to about 1 s behind): the hook runs synchronously, so a wait would delay every
    /// compaction, and the transcript is append-only and compaction deletes nothing, so lines
    /// not yet written are taken by the next save (SessionEnd, or the next PreCompact). A last
    /// line caught mid-write is left out with a warning.
    fn read_hook(&self, checkout: &Checkout, payload: &[u8]) -> Result<HookRead, AgentError> {
        let payload = HookPayload::parse(payload, AGENT).map_err(input_error)?;
        let path = match payload.transcript_path.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => {
                let cwd = payload.cwd.as_deref().map(PathBuf::from);
                let dirs: Vec<PathBuf> = cwd.into_iter().chain(checkout.root.clone()).collect();
                source::find(&config_dir()?, &dirs, Some(&payload.session_id))?
            }
        };
        let mut read = Read::default();
        read_transcript(checkout, &path, &mut read)?;
        Ok(HookRead {
            read,
            reason: payload.reason(),
        })
    }

    fn text_fields(&self, session: &Session) -> Vec<TextField> {
        text::fields(session)
    }

    fn part_count(&self, message: &Value) -> u64 {
        text::part_count(message)
    }

    fn file_edits(&self, session: &Session) -> Vec<crate::agents::FileEdit> {
        edits::file_edits(session)
    }

    fn turns(&self, session: &Session) -> Vec<crate::agents::Turn> {
        edits::turns(session)
    }

    fn render_to(
        &self,
        session: &Session,
        view: View,
        time: &dyn Fn(i64) -> String,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match view {
            View::Native => lines::write(session, transcript::lines(session), out),
            View::Markdown => conversation::write_markdown(&render::view(session), time, out),
            View::Html => conversation::write_html(&render::view(session), time, out),
        }
    }

    /// Besides the checkout and home: the config folder (`claude-config`) and the checkout's
    /// project folder name under it (`claude-project`, a slug of its path), which transcripts
    /// name in paths (the memory folder, a compacted transcript's own file).
    fn machine_paths(&self, checkout: &Checkout) -> MachinePaths {
        let mut paths = crate::agents::machine_paths(checkout);
        if let Some(config) = source::config_dir() {
            paths = paths.with("claude-config", &config.to_string_lossy());
            if let Some(root) = &checkout.root {
                let project = source::project_dir(&config, root);
                if let Some(name) = project.file_name() {
                    paths = paths.with("claude-project", &name.to_string_lossy());
                }
            }
        }
        paths
    }

    fn restore(
        &self,
        checkout: &Checkout,
        mut session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError> {
        let root = checkout.root(self.display_name())?.to_path_buf();
        let config = config_dir()?;
        let info = |k: &str| transcript::info_str(&session, k);
        let old_root = info("root");
        // The directory Claude Code ran in, moved into this checkout.
        let cwd = match (&old_root, info("cwd")) {
            (Some(old), Some(cwd)) => match Path::new(&cwd).strip_prefix(old) {
                Ok(rel) => root.join(rel),
                Err(_) => root.clone(),
            },
            _ => root.clone(),
        };
        let project_dir = source::project_dir(&config, &cwd);
        let mut pairs = Vec::new();
        if let Some(old) = info("projectDir") {
            pairs.push((old, project_dir.to_string_lossy().into_owned()));
        }
        let root_text = root.to_string_lossy().into_owned();
        if let Some(old) = &old_root {
            pairs.push((old.clone(), root_text.clone()));
        }
        if let Some(old) = info("configDir") {
            pairs.push((old, config.to_string_lossy().into_owned()));
        }
        if let (Some(old), Some(new)) = (info("home"), source::home_dir()) {
            pairs.push((old, new.to_string_lossy().into_owned()));
        }
        let rehomed = load::relocate(&mut session, &pairs);
        if fork {
            load::fork(&mut session, &load::new_uuid(crate::agents::random_seed()));
        }
        let files = load::files(&session, &project_dir);
        let done = file_sessions::put_back(self, &checkout.state_dir, &files, fork, || {
            if load::exists(&project_dir, &session.id) {
                Ok(Some(load::read_local(&project_dir, &session.id)?))
            } else {
                Ok(None)
            }
        })?;
        // The files borrow the session, which the result takes.
        let file = files[0].path.clone();
        drop(files);
        Ok(Restored {
            continue_with: format!("claude --resume {}", session.id),
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

/// Reads transcript `path` with its subagents, notes where it came from, and adds it to `read`.
fn read_transcript(checkout: &Checkout, path: &Path, read: &mut Read) -> Result<(), AgentError> {
    let (mut session, warnings) = source::read(path)?;
    stamp(checkout, &mut session);
    read.warnings.extend(warnings);
    read.sessions.push(session);
    Ok(())
}

/// Records where the session was saved from (checkout, config folder, home), so a load on
/// another machine can rewrite these paths.
fn stamp(checkout: &Checkout, session: &mut Session) {
    let c = &mut session.info["claude"];
    if let Some(root) = &checkout.root {
        c["root"] = json!(root.to_string_lossy());
    }
    if let Some(config) = source::config_dir() {
        c["configDir"] = json!(config.to_string_lossy());
    }
    if let Some(home) = source::home_dir() {
        c["home"] = json!(home.to_string_lossy());
    }
}

/// The `sessionId` of the first line that has one.
fn first_session_id(bytes: &[u8]) -> Option<String> {
    bytes.split(|b| *b == b'\n').find_map(|line| {
        let v: Value = serde_json::from_slice(line).ok()?;
        let id = v.get("sessionId")?.as_str()?;
        crate::store::layout::is_safe_component(id).then(|| id.to_owned())
    })
}

fn config_dir() -> Result<PathBuf, AgentError> {
    Ok(source::config_dir().ok_or(SourceError::NoConfig)?)
}

/// A problem with a transcript or hook payload, with the hint for Claude Code's files.
fn input_error(e: InputError) -> AgentError {
    let hint = match &e {
        InputError::Unreadable { .. } => None,
        _ => Some(
            "pass a transcript as Claude Code writes it (<config>/projects/<slug>/<id>.jsonl), unchanged"
                .to_owned(),
        ),
    };
    AgentError::with_hint(e, hint)
}

impl From<SourceError> for AgentError {
    fn from(e: SourceError) -> Self {
        let hint = match &e {
            SourceError::Input(_) | SourceError::BadId { .. } => None,
            SourceError::NoConfig => Some("set HOME or CLAUDE_CONFIG_DIR".to_owned()),
            SourceError::NoTranscript { .. } => Some(
                "run 'claude' in this checkout first, or name one with --session <uuid>".to_owned(),
            ),
            SourceError::NoSuchSession { .. } => {
                Some("pass the session id as Claude Code prints it (a uuid)".to_owned())
            }
        };
        match e {
            SourceError::Input(input) => input_error(input),
            other => AgentError::with_hint(other, hint),
        }
    }
}
