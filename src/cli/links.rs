//! What `blame`, `why`, `log`, `show` and the commit hook share about commits linked to sessions:
//! the edits of every saved session (indexed once per save in `<git-dir>/git-session/links.json`),
//! the writer of each line of a file, and the commits whose trailers name a session.
//!
//! A line is attributed through its commit's `Session:` trailers first (a session named there
//! that wrote the line), else by its content: the latest edit of any saved session that wrote
//! exactly that line (surrounding whitespace aside) to a file of that path, made before the
//! commit's author time when one is (a content match; lines without four letters or digits are
//! never matched by content alone, since `}` would match everything).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{context, CliError};
use crate::git_cli::{self, BlameLine, CommitSummary};
use crate::session::links::{
    is_distinctive, trailer_links, EditIndex, FileEdit, IndexedSession, SessionLink, Writer,
    Writers,
};
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// How far a commit's author time may be before an edit it holds (clocks of two machines).
const CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;

/// How a line or commit was linked to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum How {
    /// A `Session:` trailer of the commit names the session.
    Trailer,
    /// The session's edits hold the line (no trailer says so).
    Content,
}

/// The saved sessions' edits, by session.
pub(crate) struct Linker<'a> {
    store: &'a Store,
    /// The worktree root (symlinks resolved).
    pub root: PathBuf,
    index: EditIndex,
    /// The saved session behind each link (local preferred).
    saved: HashMap<SessionLink, SavedSession>,
}

impl<'a> Linker<'a> {
    /// Reads the index and brings it up to date with every saved session (local, and copies
    /// fetched from remotes): a session whose newest save changed is decoded once.
    pub fn open(store: &'a Store) -> Result<Self, CliError> {
        let root = context::checkout(store).root.ok_or_else(|| {
            CliError::user("this repository is bare: commits are linked in a checkout")
                .hint("run it in a clone with a working tree")
        })?;
        let history = SessionHistory::new(store);
        let mut saved: HashMap<SessionLink, SavedSession> = HashMap::new();
        for s in history.sessions()? {
            let link = SessionLink {
                agent: s.name.namespace.clone(),
                id: s.name.id.clone(),
            };
            let better = saved.get(&link).is_none_or(|old| {
                old.name.origin != Origin::Local && s.name.origin == Origin::Local
            });
            if better {
                saved.insert(link, s);
            }
        }
        let path = index_path(store);
        let mut index = EditIndex::load(&path);
        let mut changed = false;
        let live: HashSet<String> = saved.values().map(|s| s.name.full()).collect();
        let before = index.sessions.len();
        index.sessions.retain(|name, _| live.contains(name));
        changed |= index.sessions.len() != before;
        for s in saved.values() {
            let tip = s.tip.to_string();
            if index
                .sessions
                .get(&s.name.full())
                .is_some_and(|i| i.tip == tip)
            {
                continue;
            }
            let Ok(agent) = context::agent_for(&s.name.namespace) else {
                continue;
            };
            let session = history.read(s, &history.find_save(s, None)?)?;
            let edits = session
                .walk()
                .into_iter()
                .map(|child| {
                    let compact: Vec<FileEdit> =
                        agent.file_edits(child).iter().map(compact).collect();
                    (child.id.clone(), compact)
                })
                .filter(|(_, e)| !e.is_empty())
                .collect();
            index
                .sessions
                .insert(s.name.full(), IndexedSession { tip, edits });
            changed = true;
        }
        if changed {
            index.store(&path);
        }
        Ok(Linker {
            store,
            root,
            index,
            saved,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// The saved session behind `link`, when there is one.
    pub fn saved(&self, link: &SessionLink) -> Option<&SavedSession> {
        self.saved.get(link)
    }

    /// Who wrote which lines of the repository file `path`, from every saved session.
    pub fn writers(&self, path: &str) -> Writers {
        let mut writers = Writers::default();
        for (link, s) in &self.saved {
            if let Some(indexed) = self.index.sessions.get(&s.name.full()) {
                for (session, edits) in &indexed.edits {
                    writers.add(link, session, edits, path);
                }
            }
        }
        writers
    }

    /// The repository path of `file` (relative to the current directory or absolute).
    pub fn repo_path(&self, file: &Path) -> Result<String, CliError> {
        let absolute = std::env::current_dir()
            .map(|cwd| cwd.join(file))
            .unwrap_or_else(|_| file.to_path_buf());
        let parent = absolute.parent().unwrap_or(Path::new("/"));
        let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
        let full = parent.join(absolute.file_name().unwrap_or_default());
        full.strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .map_err(|_| {
                CliError::user(format!("{} is outside this checkout", file.display()))
                    .hint("name a file of this repository's worktree")
            })
    }
}

/// An edit reduced to what matching needs: the lines it wrote.
fn compact(edit: &FileEdit) -> FileEdit {
    let mut new = edit.written_lines().join("\n");
    new.push('\n');
    FileEdit {
        path: edit.path.clone(),
        old: String::new(),
        new,
        message: edit.message.clone(),
        time_ms: edit.time_ms,
    }
}

fn index_path(store: &Store) -> PathBuf {
    store.state_dir().join("links.json")
}

/// One line of `blame`: what git says, and the session that wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Attributed {
    /// git's blame of the line.
    pub blame: BlameLine,
    /// The writer, and how it was found.
    pub writer: Option<(Writer, How)>,
}

/// The commits of `lines` with their trailers' links.
pub(crate) fn commit_links(
    dir: &Path,
    commits: &[String],
) -> Result<HashMap<String, (CommitSummary, Vec<SessionLink>)>, CliError> {
    let real: Vec<String> = commits
        .iter()
        .filter(|c| c.bytes().any(|b| b != b'0'))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(git_cli::commits(dir, &real)?
        .into_iter()
        .map(|c| {
            let links = trailer_links(&c.message);
            (c.id.clone(), (c, links))
        })
        .collect())
}

/// Attributes each blamed line of repository file `path` to the session that wrote it.
pub(crate) fn attribute(
    linker: &Linker<'_>,
    path: &str,
    lines: Vec<BlameLine>,
) -> Result<Vec<Attributed>, CliError> {
    let writers = linker.writers(path);
    let commits: Vec<String> = lines.iter().map(|l| l.commit.clone()).collect();
    let links = commit_links(&linker.root, &commits)?;
    Ok(lines
        .into_iter()
        .map(|blame| {
            let writer = writer_of(&writers, &links, &blame);
            Attributed { blame, writer }
        })
        .collect())
}

fn writer_of(
    writers: &Writers,
    links: &HashMap<String, (CommitSummary, Vec<SessionLink>)>,
    blame: &BlameLine,
) -> Option<(Writer, How)> {
    if writers.is_empty() {
        return None;
    }
    let trailers = links.get(&blame.commit).map(|(_, l)| l.as_slice());
    if let Some(named) = trailers.filter(|l| !l.is_empty()) {
        if let Some(w) = writers.writer_of(&blame.text, Some(named), None) {
            return Some((w.clone(), How::Trailer));
        }
    }
    if !is_distinctive(&blame.text) {
        return None;
    }
    let before = (blame.author_time > 0).then(|| blame.author_time * 1000 + CLOCK_SLACK_MS);
    writers
        .writer_of(&blame.text, None, before)
        .map(|w| (w.clone(), How::Content))
}

/// The sessions behind `commit`: those its trailers name, then those whose edits hold lines it
/// added (content matches), each with how.
pub(crate) fn commit_sessions(
    linker: &Linker<'_>,
    commit: &CommitSummary,
) -> Result<Vec<(SessionLink, How)>, CliError> {
    let mut out: Vec<(SessionLink, How)> = trailer_links(&commit.message)
        .into_iter()
        .map(|l| (l, How::Trailer))
        .collect();
    let before = commit.author_time * 1000 + CLOCK_SLACK_MS;
    for change in git_cli::commit_changes(&linker.root, &commit.id)? {
        let writers = linker.writers(&change.path);
        if writers.is_empty() {
            continue;
        }
        for line in change.added.iter().filter(|l| is_distinctive(l)) {
            if let Some(w) = writers.writer_of(line, None, Some(before)) {
                if !out.iter().any(|(l, _)| *l == w.link) {
                    out.push((w.link.clone(), How::Content));
                }
            }
        }
    }
    Ok(out)
}

/// The commits whose trailers name `link`, on branches, tags, remote branches and HEAD.
pub(crate) fn linked_commits(
    dir: &Path,
    link: &SessionLink,
) -> Result<Vec<CommitSummary>, CliError> {
    let escape = |s: &str| regex::escape(s);
    let pattern = format!(
        "^{}: {}/{}$",
        crate::session::links::TRAILER_KEY,
        escape(&link.agent),
        escape(&link.id)
    );
    Ok(git_cli::commits_matching(dir, &pattern)?
        .into_iter()
        .filter(|c| trailer_links(&c.message).contains(link))
        .collect())
}
