//! Agent adapters: each reads one agent's own session format into a [`Session`] and puts it
//! back, behind one trait, [`Agent`]. The [`registry`] maps a name to its adapter; the command
//! line dispatches through it only. Adding an agent is a folder here and one registry line.

pub mod claude;
pub mod codex;
pub mod conversation;
pub mod gemini;
pub mod opencode;

mod error;
pub mod file_sessions;
pub mod hook_payload;
mod input;
pub mod lines;
pub mod patch_text;
pub mod pretty_json;
pub mod registry;
pub mod render_util;
mod text;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::session::codec::SaveCache;
use crate::session::portable::MachinePaths;
use crate::session::{Session, SessionKind};

pub use crate::session::links::{FileEdit, Turn};

pub use error::AgentError;
pub use input::{parse_json, InputError};
pub use registry::AgentArg;
pub use text::TextField;

/// The checkout git-session runs for: where the agent's sessions are found and restored.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The worktree root with symlinks resolved, or `None` in a bare repository.
    pub root: Option<PathBuf>,
    /// The directory the command runs in (symlinks resolved).
    pub cwd: PathBuf,
    /// git-session's own folder in the repository (`<git dir>/git-session`).
    pub state_dir: PathBuf,
}

impl Checkout {
    /// The worktree root, or an error naming `agent` for a bare repository.
    pub fn root(&self, agent: &str) -> Result<&Path, AgentError> {
        self.root.as_deref().ok_or_else(|| {
            AgentError::new(format!(
                "this repository is bare: {agent} sessions belong to a checkout"
            ))
            .hint("run it in a clone with a working tree")
        })
    }

    /// The directories whose sessions belong to this checkout: the current directory when it
    /// is inside the worktree below its root, then the root.
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            if self.cwd.starts_with(root) && &self.cwd != root {
                out.push(self.cwd.clone());
            }
            out.push(root.clone());
        }
        out
    }
}

/// Which of this checkout's sessions to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The most recently updated one.
    Newest,
    /// This one (with its children).
    Id(String),
    /// Every one.
    All,
}

/// A session document named on the command line (`--from FILE`, or stdin).
#[derive(Debug, Clone)]
pub struct Source {
    /// How to name it in messages: the path, or `stdin`.
    pub name: String,
    /// The file, when it is one (an agent may read files next to it).
    pub path: Option<PathBuf>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Sessions read from an agent, flat (children may be separate entries, named by
/// [`SessionKind::parent_id`]) or already nested, with warnings about what was left out.
#[derive(Debug, Default)]
pub struct Read {
    /// The sessions read.
    pub sessions: Vec<Session>,
    /// One line each about something skipped or repaired.
    pub warnings: Vec<String>,
}

/// What a hook payload names: the sessions to save and the save's reason.
#[derive(Debug)]
pub struct HookRead {
    /// The sessions read.
    pub read: Read,
    /// The reason recorded on the save (`pre-compaction`, `session-end`, ...).
    pub reason: String,
}

/// One step of a long read, for a progress line.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// The session being read.
    pub id: &'a str,
    /// Its position (1-based).
    pub index: usize,
    /// How many are read in all.
    pub total: usize,
}

/// How `show` and `export` render a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The agent's own format, equal to what was saved (export JSON, JSONL transcript).
    Native,
    /// The conversation as readable Markdown.
    Markdown,
    /// The conversation as one self-contained HTML page.
    Html,
}

/// What a restore wrote on this machine.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The session as written (paths re-homed, maybe under new ids).
    pub session: Session,
    /// The agent's own file for it, when it has one (a transcript).
    pub file: Option<PathBuf>,
    /// The local copy already held exactly this save: nothing was written, no backup made.
    pub identical: bool,
    /// Whether a local copy was replaced.
    pub replaced: bool,
    /// Bundles holding the replaced local copies (`git session import` stores one back).
    pub backups: Vec<PathBuf>,
    /// The saver's checkout root, when paths under it were rewritten to this checkout.
    pub rehomed_from: Option<String>,
    /// This checkout's root.
    pub directory: String,
    /// The command that continues the session.
    pub continue_with: String,
}

/// A cheap stamp of what a hook payload names (sizes and times of the session's files, no
/// contents): equal stamps mean the files did not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStamp {
    /// The session the payload names.
    pub session: String,
    /// The stamp.
    pub stamp: String,
}

/// One agent: how its sessions are found, read, searched, shown and restored on this machine.
pub trait Agent: SessionKind {
    /// The agent's name as people write it (`OpenCode`, `Claude Code`).
    fn display_name(&self) -> &'static str;

    /// The extension of its session files (`json`, `jsonl`), for `--from` and `import`.
    fn file_extension(&self) -> &'static str;

    /// Whether a session file with this agent's extension is one of its own, by its content
    /// (`import` asks each agent in registry order: an agent that shares its extension with
    /// another tells its files apart). Default: every such file.
    fn claims_file(&self, bytes: &[u8]) -> bool {
        let _ = bytes;
        true
    }

    /// Reads this checkout's sessions from the agent on this machine, children included.
    fn read_local(
        &self,
        checkout: &Checkout,
        pick: &Pick,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Read, AgentError>;

    /// Reads session documents named on the command line. `cache_for(id)` knows the messages
    /// of the session's last save, so unchanged messages need no second look.
    fn read_sources(
        &self,
        checkout: &Checkout,
        sources: Vec<Source>,
        cache_for: &dyn Fn(&str) -> SaveCache,
    ) -> Result<Read, AgentError>;

    /// Reads what a hook payload on stdin names. Agents without such hooks refuse.
    fn read_hook(&self, checkout: &Checkout, payload: &[u8]) -> Result<HookRead, AgentError> {
        let _ = (checkout, payload);
        Err(AgentError::new(format!(
            "{} has no hooks that pass a payload on stdin",
            self.display_name()
        ))
        .hint(format!(
            "save {} sessions with 'git session save --agent {}'",
            self.display_name(),
            self.name()
        )))
    }

    /// A stamp of the files a hook payload names, without reading them, for agents whose hook
    /// fires often (Gemini's before every model request): a hook whose stamp equals the one
    /// recorded at the session's last save from a hook skips the read and the save. Default:
    /// `None` (every hook reads).
    fn hook_stamp(&self, checkout: &Checkout, payload: &[u8]) -> Option<HookStamp> {
        let _ = (checkout, payload);
        None
    }

    /// Every searchable text of a session and its children, in conversation order.
    fn text_fields(&self, session: &Session) -> Vec<TextField>;

    /// How many parts (content blocks) one stored message has.
    fn part_count(&self, message: &Value) -> u64;

    /// When the session was last updated, in epoch milliseconds, when it says (by default it
    /// does not: a folder import then stores it after the sessions that do).
    fn updated_ms(&self, _session: &Session) -> Option<i64> {
        None
    }

    /// Writes the session rendered as `view` to `out`, as it goes (a long session is never
    /// rendered whole in memory first); `time` formats epoch seconds for readable views.
    fn render_to(
        &self,
        session: &Session,
        view: View,
        time: &dyn Fn(i64) -> String,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()>;

    /// The session rendered as `view`, in memory (see [`Agent::render_to`]).
    fn render(&self, session: &Session, view: View, time: &dyn Fn(i64) -> String) -> Vec<u8> {
        let mut text = Vec::new();
        self.render_to(session, view, time, &mut text)
            .expect("writing to memory cannot fail");
        text
    }

    /// The session in one version of the agent's own format (`export --format-version 2`), converted
    /// when it was saved in another. Agents with one format refuse.
    fn render_native_version(
        &self,
        session: &Session,
        version: &str,
    ) -> Result<Vec<u8>, AgentError> {
        let _ = (session, version);
        Err(AgentError::new(format!(
            "{} sessions have one file format",
            self.display_name()
        ))
        .hint("leave out the format version"))
    }

    /// This machine's roots that sessions of this agent name: a save stores them as placeholders
    /// and a load expands them (see [`crate::session::portable`]). Default: the checkout root
    /// and the home directory ([`machine_paths`]); an agent adds the folders of its own.
    fn machine_paths(&self, checkout: &Checkout) -> MachinePaths {
        machine_paths(checkout)
    }

    /// The file edits and writes the session's own tool calls made (not its children's), in
    /// conversation order: the path, the text replaced and the text written, the message.
    /// Default: none (commits are then linked to this agent's sessions by nothing).
    fn file_edits(&self, session: &Session) -> Vec<FileEdit> {
        let _ = session;
        Vec::new()
    }

    /// The user prompts and assistant answers of the session (not its children), in order, for
    /// `why`. Default: none.
    fn turns(&self, session: &Session) -> Vec<Turn> {
        let _ = session;
        Vec::new()
    }

    /// This checkout's sessions with their edits, for the commit hook: each root session's id
    /// and the edits of it and its children. Default: every session read with
    /// [`Agent::read_local`] and its [`Agent::file_edits`]; an agent with a cheaper way to
    /// find the edits says so.
    fn checkout_edits(
        &self,
        checkout: &Checkout,
    ) -> Result<Vec<(String, Vec<FileEdit>)>, AgentError> {
        let read = self.read_local(checkout, &Pick::All, &mut |_| {})?;
        let parents: std::collections::HashMap<String, Option<String>> = read
            .sessions
            .iter()
            .map(|s| (s.id.clone(), self.parent_id(s)))
            .collect();
        let root_of = |id: &str| {
            let mut id = id.to_owned();
            for _ in 0..64 {
                match parents.get(&id) {
                    Some(Some(parent)) if parents.contains_key(parent) => id = parent.clone(),
                    _ => break,
                }
            }
            id
        };
        let mut out: Vec<(String, Vec<FileEdit>)> = Vec::new();
        for session in &read.sessions {
            let root = root_of(&session.id);
            let edits: Vec<FileEdit> = session
                .walk()
                .iter()
                .flat_map(|s| self.file_edits(s))
                .collect();
            match out.iter_mut().find(|(id, _)| *id == root) {
                Some((_, all)) => all.extend(edits),
                None => out.push((root, edits)),
            }
        }
        Ok(out)
    }

    /// Puts a saved session back into the agent on this machine, exactly (a local copy is
    /// backed up first, then replaced; one that is already identical is left alone) or with
    /// `fork` as a new session beside it; paths of the saver's checkout are re-homed to this one.
    fn restore(
        &self,
        checkout: &Checkout,
        session: Session,
        fork: bool,
    ) -> Result<Restored, AgentError>;
}

/// The roots every agent's sessions name: the checkout root (`checkout`) and `$HOME` (`home`,
/// and `home-real` with symlinks resolved when that differs).
pub fn machine_paths(checkout: &Checkout) -> MachinePaths {
    let mut paths = MachinePaths::none();
    if let Some(root) = &checkout.root {
        paths = paths.with("checkout", &root.to_string_lossy());
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        paths = paths.with("home", &home.to_string_lossy());
        if let Ok(real) = std::fs::canonicalize(&home) {
            if real != home {
                paths = paths.with("home-real", &real.to_string_lossy());
            }
        }
    }
    paths
}

/// A seed for new ids (a fork's) from the clock, the process and the hasher's random keys.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}
