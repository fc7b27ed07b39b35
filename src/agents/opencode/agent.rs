//! OpenCode behind the [`Agent`] trait: sessions read with its CLI (`opencode export`), restored
//! by delete-then-import, rendered from export JSON.

use serde_json::Value;

use super::cli::{OpenCode, OpenCodeError, BINARY_ENV};
use super::source::{self, Which};
use super::{edits, export, load, merge, render, render_html, render_md, text, AGENT};
use crate::agents::{
    Agent, AgentError, Checkout, FileEdit, InputError, Pick, Progress, Read, Restored, Source,
    TextField, Turn, View,
};
use crate::session::codec::SaveCache;
use crate::session::merge::MergeRules;
use crate::session::{backup, Session, SessionKind};

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
        let read = source::read(&opencode, &which, &mut step)?;
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
        text::fields(session)
    }

    fn part_count(&self, message: &Value) -> u64 {
        render::part_count(message)
    }

    fn file_edits(&self, session: &Session) -> Vec<FileEdit> {
        edits::file_edits(session)
    }

    fn turns(&self, session: &Session) -> Vec<Turn> {
        edits::turns(session)
    }

    fn checkout_edits(
        &self,
        checkout: &Checkout,
    ) -> Result<Vec<(String, Vec<FileEdit>)>, AgentError> {
        edits::checkout_edits(checkout)
    }

    fn updated_ms(&self, session: &Session) -> Option<i64> {
        export::updated_ms(session)
    }

    fn render(&self, session: &Session, view: View, time: &dyn Fn(i64) -> String) -> Vec<u8> {
        let time_ms = |ms: i64| time(ms.div_euclid(1000));
        match view {
            View::Native => {
                let mut text = serde_json::to_string_pretty(&export::to_value(session))
                    .expect("a JSON value always serialises");
                text.push('\n');
                text.into_bytes()
            }
            View::Markdown => render_md::markdown(&render::view(session), &time_ms).into_bytes(),
            View::Html => render_html::html(&render::view(session), &time_ms).into_bytes(),
        }
    }

    fn restore(
        &self,
        checkout: &Checkout,
        mut session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError> {
        let root = checkout.root(self.display_name())?.to_path_buf();
        let opencode = OpenCode::from_env(&root)?;
        let root_text = root.to_string_lossy().into_owned();
        let from = load::saved_root(&session);
        let rehomed = match &from {
            Some(from) => load::rehome(&mut session, from, &root_text),
            None => 0,
        };
        if fork {
            load::fork(&mut session, crate::agents::random_seed());
        }
        let backup_dir = backup::dir(&checkout.state_dir, AGENT);
        let restored = load::restore(&opencode, &session, fork, &backup_dir, &|s| {
            load::import_dir(s, &root)
        })?;
        Ok(Restored {
            continue_with: format!("opencode -s {}", session.id),
            session,
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
        let hint = match &e {
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
            OpenCodeError::Io { .. } => None,
        };
        AgentError::with_hint(e, hint)
    }
}
