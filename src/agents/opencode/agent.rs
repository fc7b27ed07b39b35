//! OpenCode behind the [`Agent`] trait: sessions read with its CLI (`opencode export`), restored
//! by delete-then-import, rendered from export JSON.

use serde_json::Value;

use super::cli::{OpenCode, OpenCodeError, BINARY_ENV};
use super::source::{self, Which};
use super::{edits, export, load, merge, render, render_html, render_md, text, v2, AGENT};
use crate::agents::{
    Agent, AgentError, Checkout, FileEdit, InputError, Pick, Progress, Read, Restored, Source,
    TextField, Turn, View,
};
use crate::session::codec::SaveCache;
use crate::session::merge::MergeRules;
use crate::session::{backup, Session, SessionKind};
use v2::session::Format;

/// OpenCode 1.x, through its CLI.
pub struct OpenCodeAgent;

impl SessionKind for OpenCodeAgent {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn parent_id(&self, session: &Session) -> Option<String> {
        export::parent_id(session)
    }

    fn title(&self, session: &Session) -> String {
        export::title(session)
    }

    fn version(&self, session: &Session) -> Option<String> {
        export::version(session)
    }

    fn merge_rules(&self) -> &dyn MergeRules {
        &merge::OpenCodeRules
    }
}

impl Agent for OpenCodeAgent {
    fn display_name(&self) -> &'static str {
        "OpenCode"
    }

    fn file_extension(&self) -> &'static str {
        "json"
    }

    fn read_local(
        &self,
        checkout: &Checkout,
        pick: &Pick,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Read, AgentError> {
        let opencode = OpenCode::from_env(checkout.root(self.display_name())?)?;
        let which = match pick {
            Pick::Newest => Which::Latest,
            Pick::Id(id) => Which::Session(id.clone()),
            Pick::All => Which::All,
        };
        let mut step = |p: source::Progress<'_>| {
            progress(Progress {
                id: p.id,
                index: p.index,
                total: p.total,
            })
        };
        let read = if opencode.major_version()? >= 2 {
            v2::source::read(&opencode, &which, &mut step)?
        } else {
            source::read(&opencode, &which, &mut step)?
        };
        let mut warnings = Vec::new();
        if let Some((_, dir)) = read.other_checkouts.first() {
            warnings.push(format!(
                "left out {} session(s) of other checkouts of this project (such as {dir}); save them there, or name one with --session <id>",
                read.other_checkouts.len()
            ));
        }
        Ok(Read {
            sessions: read.sessions,
            warnings,
        })
    }

    fn read_sources(
        &self,
        _checkout: &Checkout,
        sources: Vec<Source>,
        cache_for: &dyn Fn(&str) -> SaveCache,
    ) -> Result<Read, AgentError> {
        let mut read = Read::default();
        for source in sources {
            let session = export::parse_remembering(source.bytes, &source.name, cache_for)
                .map_err(input_error)?;
            read.sessions.push(session);
        }
        Ok(read)
    }

    fn text_fields(&self, session: &Session) -> Vec<TextField> {
        text::fields(&v2::session::as_v1(session))
    }

    fn part_count(&self, message: &Value) -> u64 {
        if message.get("info").is_none() && message.get("type").is_some() {
            // An OpenCode 2 message: its content blocks, or itself.
            return message
                .get("content")
                .and_then(Value::as_array)
                .map_or(1, |c| c.len() as u64);
        }
        render::part_count(message)
    }

    fn file_edits(&self, session: &Session) -> Vec<FileEdit> {
        edits::file_edits(&v2::session::as_v1(session))
    }

    fn turns(&self, session: &Session) -> Vec<Turn> {
        edits::turns(&v2::session::as_v1(session))
    }

    fn checkout_edits(
        &self,
        checkout: &Checkout,
    ) -> Result<Vec<(String, Vec<FileEdit>)>, AgentError> {
        match edits::checkout_edits(checkout) {
            // OpenCode 2 has no `db` command to read the edits with: no links from its sessions.
            Err(_)
                if checkout
                    .root(self.display_name())
                    .ok()
                    .and_then(|root| OpenCode::from_env(root).ok())
                    .and_then(|o| o.major_version().ok())
                    .is_some_and(|major| major >= 2) =>
            {
                Ok(Vec::new())
            }
            other => other,
        }
    }

    fn updated_ms(&self, session: &Session) -> Option<i64> {
        export::updated_ms(session)
    }

    fn render_to(
        &self,
        session: &Session,
        view: View,
        time: &dyn Fn(i64) -> String,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let time_ms = |ms: i64| time(ms.div_euclid(1000));
        match view {
            View::Native => {
                export::write_pretty(session, out)?;
                out.write_all(b"\n")
            }
            // Written out turn by turn: the view never holds the whole page.
            View::Markdown => render_md::write_markdown(
                &render::view(&v2::session::as_v1(session)),
                &time_ms,
                out,
            ),
            View::Html => {
                render_html::write_html(&render::view(&v2::session::as_v1(session)), &time_ms, out)
            }
        }
    }

    fn render_native_version(
        &self,
        session: &Session,
        version: &str,
    ) -> Result<Vec<u8>, AgentError> {
        let format = match version {
            "1" => Format::V1,
            "2" => Format::V2,
            other => {
                return Err(AgentError::new(format!(
                    "OpenCode has export formats 1 and 2, not {other:?}"
                ))
                .hint("pass --format-version 1 (OpenCode 1.x) or --format-version 2 (OpenCode 2)"))
            }
        };
        let converted = v2::session::convert_tree(session, format);
        let mut text = serde_json::to_string_pretty(&export::to_value(&converted))
            .expect("a JSON value always serialises");
        text.push('\n');
        Ok(text.into_bytes())
    }

    fn restore(
        &self,
        checkout: &Checkout,
        session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError> {
        let root = checkout.root(self.display_name())?.to_path_buf();
        let opencode = OpenCode::from_env(&root)?;
        let root_text = root.to_string_lossy().into_owned();
        // Re-homing and forking work on OpenCode 1's shape; a save is converted into the format
        // of the OpenCode installed here (kept fields make the way back exact).
        let target = if opencode.major_version()? >= 2 {
            Format::V2
        } else {
            Format::V1
        };
        // Taken, not copied: the texts re-homing replaces are freed as it goes.
        let mut session = v2::session::into_v1(session);
        let from = load::saved_root(&session);
        let rehomed = match &from {
            Some(from) => load::rehome(&mut session, from, &root_text),
            None => 0,
        };
        if fork {
            load::fork(&mut session, crate::agents::random_seed());
        }
        let backup_dir = backup::dir(&checkout.state_dir, AGENT);
        let written = v2::session::convert_tree(&session, target);
        let restored = match target {
            Format::V1 => load::restore(&opencode, &session, fork, &backup_dir, &|s| {
                load::import_dir(s, &root)
            })?,
            Format::V2 => {
                let dirs: std::collections::HashMap<String, std::path::PathBuf> = session
                    .walk()
                    .iter()
                    .map(|s| (s.id.clone(), load::import_dir(s, &root)))
                    .collect();
                v2::load::restore(&opencode, &written, fork, &backup_dir, &|s| {
                    dirs.get(&s.id).cloned().unwrap_or_else(|| root.clone())
                })?
            }
        };
        Ok(Restored {
            continue_with: format!("opencode -s {}", session.id),
            session: written,
            file: None,
            identical: restored.identical,
            replaced: restored.replaced,
            backups: restored.backups,
            rehomed_from: from.filter(|_| rehomed > 0),
            directory: root_text,
        })
    }
}

/// A problem with an export document, with the hint for OpenCode's exports.
pub(crate) fn input_error(e: InputError) -> AgentError {
    let hint = match &e {
        InputError::Truncated { .. } => Some(
            "a piped 'opencode export' is cut at 64 KiB; write it to a file: opencode export <id> > session.json",
        ),
        InputError::Empty { .. } => Some("pass the JSON that 'opencode export <id>' prints"),
        InputError::Malformed { .. } | InputError::WrongShape { .. } => {
            Some("pass the JSON that 'opencode export <id>' prints, unchanged")
        }
        InputError::Unreadable { .. } => None,
    };
    AgentError::with_hint(e, hint.map(str::to_owned))
}

impl From<OpenCodeError> for AgentError {
    fn from(e: OpenCodeError) -> Self {
        let hint = hint_for(&e);
        AgentError::with_hint(e, hint)
    }
}

/// What to do about `e`, for the user.
fn hint_for(e: &OpenCodeError) -> Option<String> {
    match e {
        OpenCodeError::Spawn { .. } if e.is_missing_binary() => Some(format!(
            "install OpenCode ('npm install -g opencode-ai') or set {BINARY_ENV} to its path"
        )),
        OpenCodeError::Spawn { .. } => Some(format!(
            "check that {BINARY_ENV} (or 'opencode' on PATH) is the OpenCode binary"
        )),
        OpenCodeError::Failed { command, .. } => Some(format!(
            "run '{command}' in this repository to see OpenCode's own output"
        )),
        OpenCodeError::Output { .. } => {
            Some("run the command again; if it persists, check 'opencode --version'".to_owned())
        }
        OpenCodeError::NoSuchSession { .. } => {
            Some("run 'opencode session list' here to see this project's sessions".to_owned())
        }
        OpenCodeError::NoSessions { .. } => Some(
            "start a session with 'opencode' in this repository, or save an export file with --from FILE"
                .to_owned(),
        ),
        OpenCodeError::OnlyInOtherCheckouts { .. } => Some(
            "run 'git session save' in that checkout, or name a session with --session <id>"
                .to_owned(),
        ),
        OpenCodeError::OtherProject { .. } => {
            Some("run 'git session save' in that project's checkout".to_owned())
        }
        OpenCodeError::BadId { .. } => {
            Some("pass an id as 'opencode session list' prints it".to_owned())
        }
        OpenCodeError::AlreadyExists { id, .. } => Some(format!(
            "delete it first ('opencode session delete {id}') or load a copy under new ids with --fork"
        )),
        OpenCodeError::ImportRefused {
            refused, backups, ..
        } => {
            let first = match refused.as_ref() {
                // The command named a scratch file that is gone: a retry is what can be run.
                OpenCodeError::Failed { .. } => Some(
                    "the saved session may hold what this OpenCode does not accept: check 'opencode --version', then 'git session load' again"
                        .to_owned(),
                ),
                other => hint_for(other),
            };
            let kept = (!backups.is_empty()).then(|| {
                let files: Vec<String> =
                    backups.iter().map(|b| b.display().to_string()).collect();
                format!(
                    "the local copy it replaced is kept in {} ('git session import' it to store it)",
                    files.join(", ")
                )
            });
            match (first, kept) {
                (Some(first), Some(kept)) => Some(format!("{first}; {kept}")),
                (first, kept) => first.or(kept),
            }
        }
        OpenCodeError::Io { .. } => None,
    }
}
