//! Codex CLI behind the [`Agent`] trait: rollout files under this machine's `$CODEX_HOME` for
//! sessions started in this checkout, read and written as files.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::source::{self, HookPayload, SourceError};
use super::{edits, load, merge, render, rollout, text, AGENT};
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

/// Codex CLI, through its rollout files.
pub struct CodexAgent;

impl SessionKind for CodexAgent {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn parent_id(&self, session: &Session) -> Option<String> {
        // A subagent's rollout read on its own (its hook, --from) joins its parent's save.
        rollout::parent(session)
    }

    fn title(&self, session: &Session) -> String {
        rollout::title(session)
    }

    fn version(&self, session: &Session) -> Option<String> {
        rollout::version(session)
    }

    fn merge_rules(&self) -> &dyn MergeRules {
        &merge::RULES
    }
}

impl Agent for CodexAgent {
    fn display_name(&self) -> &'static str {
        "Codex CLI"
    }

    fn file_extension(&self) -> &'static str {
        "jsonl"
    }

    /// A rollout starts with a `session_meta` record.
    fn claims_file(&self, bytes: &[u8]) -> bool {
        let first = bytes
            .split(|b| *b == b'\n')
            .find(|l| !l.iter().all(u8::is_ascii_whitespace));
        first.is_some_and(|line| {
            serde_json::from_slice::<Value>(line)
                .is_ok_and(|v| v.get("type").and_then(Value::as_str) == Some("session_meta"))
        })
    }

    fn read_local(
        &self,
        checkout: &Checkout,
        pick: &Pick,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Read, AgentError> {
        checkout.root(self.display_name())?;
        let home = codex_home()?;
        let paths = match pick {
            Pick::Id(id) => {
                if !crate::store::layout::is_safe_component(id) {
                    return Err(AgentError::new(format!("{id:?} is not a Codex session id"))
                        .hint("pass the session id as Codex prints it (a uuid)"));
                }
                vec![source::by_id(&home, id)?]
            }
            Pick::Newest => vec![source::of_checkout(&home, &checkout.dirs())?.remove(0).path],
            Pick::All => source::of_checkout(&home, &checkout.dirs())?
                .into_iter()
                .map(|f| f.path)
                .collect(),
        };
        let candidates = source::rollout_files(&source::sessions_dir(&home));
        file_sessions::read_each(&paths, progress, &mut |path, read| {
            read_rollout(checkout, path, &candidates, read)
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
                Some(path) => {
                    // Subagents are looked for next to the rollout (Codex puts them in its date folder).
                    let dir = path.parent().unwrap_or(Path::new("."));
                    let candidates = source::rollout_files(dir);
                    read_rollout(checkout, path, &candidates, &mut read)?;
                }
                None => {
                    let parsed = rollout::parse(source.bytes, &source.name).map_err(input_error)?;
                    let mut session = parsed.session;
                    stamp(checkout, &mut session);
                    read.warnings.extend(parsed.warnings);
                    read.sessions.push(session);
                }
            }
        }
        Ok(read)
    }

    /// PreCompact is awaited by Codex and the rollout is flushed before it runs, so the file
    /// holds everything up to the compaction; the compaction's own records are taken by the next
    /// save (the next PreCompact, SessionEnd, or by hand). A subagent's hook saves the
    /// subagent, which joins its parent's save.
    fn read_hook(&self, checkout: &Checkout, payload: &[u8]) -> Result<HookRead, AgentError> {
        let payload = HookPayload::parse(payload, AGENT).map_err(input_error)?;
        let home = codex_home()?;
        let path = match payload.transcript_path.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => {
                if !crate::store::layout::is_safe_component(&payload.session_id) {
                    return Err(AgentError::new(format!(
                        "{:?} is not a Codex session id",
                        payload.session_id
                    )));
                }
                source::by_id(&home, &payload.session_id)?
            }
        };
        let candidates = source::rollout_files(&source::sessions_dir(&home));
        let mut read = Read::default();
        read_rollout(checkout, &path, &candidates, &mut read)?;
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
            View::Native => lines::write(session, rollout::lines(session), out),
            View::Markdown => conversation::write_markdown(&render::view(session), time, out),
            View::Html => conversation::write_html(&render::view(session), time, out),
        }
    }

    /// Besides the checkout and home: `$CODEX_HOME` (`codex-home`), where rollouts live.
    fn machine_paths(&self, checkout: &Checkout) -> MachinePaths {
        let paths = crate::agents::machine_paths(checkout);
        match source::codex_home() {
            Some(home) => paths.with("codex-home", &home.to_string_lossy()),
            None => paths,
        }
    }

    fn restore(
        &self,
        checkout: &Checkout,
        mut session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError> {
        let root = checkout.root(self.display_name())?.to_path_buf();
        let home = codex_home()?;
        let info = |k: &str| rollout::info_str(&session, k);
        let old_root = info("root");
        let root_text = root.to_string_lossy().into_owned();
        let mut pairs = Vec::new();
        if let Some(old) = &old_root {
            pairs.push((old.clone(), root_text.clone()));
        }
        if let Some(old) = info("codexHome") {
            pairs.push((old, home.to_string_lossy().into_owned()));
        }
        if let (Some(old), Some(new)) = (info("home"), source::home_dir()) {
            pairs.push((old, new.to_string_lossy().into_owned()));
        }
        let rehomed = load::relocate(&mut session, &pairs);
        if fork {
            load::fork(&mut session, crate::agents::random_seed());
            load::rename_files(&mut session);
        }
        let files = load::files(&session, &home, !fork);
        let done = file_sessions::put_back(self, &checkout.state_dir, &files, fork, || {
            if !files[0].path.is_file() {
                return Ok(None);
            }
            let candidates = source::rollout_files(&source::sessions_dir(&home));
            Ok(Some(
                source::read_with_children(&files[0].path, &candidates)?.0,
            ))
        })?;
        // The files borrow the session, which the result takes.
        let file = files[0].path.clone();
        drop(files);
        Ok(Restored {
            continue_with: format!("codex resume {}", session.id),
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

/// Reads rollout `path` with its subagents, notes where it came from, and adds it to `read`.
fn read_rollout(
    checkout: &Checkout,
    path: &Path,
    candidates: &[PathBuf],
    read: &mut Read,
) -> Result<(), AgentError> {
    let (mut session, warnings) = source::read_with_children(path, candidates)?;
    stamp(checkout, &mut session);
    read.warnings.extend(warnings);
    read.sessions.push(session);
    Ok(())
}

/// Records where the session was saved from (checkout, Codex home, home), so a load on another
/// machine can rewrite these paths.
fn stamp(checkout: &Checkout, session: &mut Session) {
    let c = &mut session.info["codex"];
    if let Some(root) = &checkout.root {
        c["root"] = json!(root.to_string_lossy());
    }
    if let Some(home) = source::codex_home() {
        c["codexHome"] = json!(home.to_string_lossy());
    }
    if let Some(home) = source::home_dir() {
        c["home"] = json!(home.to_string_lossy());
    }
}

fn codex_home() -> Result<PathBuf, AgentError> {
    Ok(source::codex_home().ok_or(SourceError::NoHome)?)
}

/// A problem with a rollout or hook payload, with the hint for Codex's files.
fn input_error(e: InputError) -> AgentError {
    let hint = match &e {
        InputError::Unreadable { .. } => None,
        _ => Some(
            "pass a rollout as Codex writes it ($CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl), unchanged"
                .to_owned(),
        ),
    };
    AgentError::with_hint(e, hint)
}

impl From<SourceError> for AgentError {
    fn from(e: SourceError) -> Self {
        let hint = match &e {
            SourceError::Input(_) => None,
            SourceError::NoHome => Some("set HOME or CODEX_HOME".to_owned()),
            SourceError::NoRollout { .. } => Some(
                "run 'codex' in this checkout first, or name a session with --session <id>"
                    .to_owned(),
            ),
            SourceError::NoSuchSession { .. } => Some(
                "pass the session id as Codex prints it (a uuid); CODEX_HOME decides where Codex keeps sessions"
                    .to_owned(),
            ),
        };
        match e {
            SourceError::Input(input) => input_error(input),
            other => AgentError::with_hint(other, hint),
        }
    }
}
