//! `git session why <commit | file:line>`: the sessions behind a commit or a line, and for each
//! the turns that led to it (user prompts, the assistant's answers, the edits to the commit's
//! files), read from the session's newest save.
//!
//! The turns shown run from the start of the session up to its last edit of the commit's files
//! (for a line: up to the message that wrote it); what came after is left out.

use std::path::Path;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::links::{attribute, commit_sessions, How, Linker};
use super::{context, ui, CliError};
use crate::git_cli;
use crate::session::links::{path_matches, SessionLink};
use crate::session::SessionHistory;
use crate::store::Store;

/// Output formats of `why`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WhyFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Md,
}

/// Arguments of `git session why`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session why HEAD
  git session why src/lib.rs:42
  git session why 3fa29c1 --format md > why.md
  git session why HEAD --json")]
pub struct WhyArgs {
    /// A commit (anything git rev-parse takes), or FILE:LINE.
    pub target: String,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Output format (without --json).
    #[arg(long, value_enum, default_value = "text")]
    pub format: WhyFormat,
}

/// The `--json` document of `why`.
#[derive(Debug, Serialize)]
struct WhyDocument {
    version: u32,
    commit: Option<CommitJson>,
    /// For FILE:LINE: the file, the line and its text.
    line: Option<LineJson>,
    sessions: Vec<SessionJson>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitJson {
    id: String,
    subject: String,
    author_time: i64,
}

#[derive(Debug, Serialize)]
struct LineJson {
    file: String,
    line: usize,
    text: String,
    message: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionJson {
    session: String,
    how: How,
    title: String,
    /// The save read (null when the session is not saved here).
    save: Option<String>,
    turns: Vec<TurnJson>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TurnJson {
    message: String,
    /// `user`, `assistant` or `edit`.
    kind: String,
    time_ms: Option<i64>,
    /// The prompt or answer; for an edit, the path.
    text: String,
    /// For an edit: the text replaced and written.
    old: Option<String>,
    new: Option<String>,
}

pub(crate) fn run(store: &Store, args: WhyArgs) -> Result<(), CliError> {
    let linker = Linker::open(store)?;
    let (commit, line, sessions) = match file_line(&args.target) {
        Some((file, n)) => {
            let path = linker.repo_path(Path::new(file))?;
            let blamed = git_cli::blame(&linker.root, Path::new(&path), Some(n))?;
            let Some(a) = attribute(&linker, &path, blamed)?.into_iter().next() else {
                return Err(CliError::user(format!("{file} has no line {n}")));
            };
            let commit = git_cli::commits(&linker.root, std::slice::from_ref(&a.blame.commit))?
                .into_iter()
                .next();
            let sessions = match &a.writer {
                Some((w, how)) => vec![(w.link.clone(), *how)],
                None => Vec::new(),
            };
            let line = LineJson {
                file: path,
                line: n,
                text: a.blame.text.clone(),
                message: a.writer.as_ref().map(|(w, _)| w.message.clone()),
            };
            (commit, Some(line), sessions)
        }
        None => {
            let id = git_cli::rev_parse_commit(&linker.root, &args.target)?.ok_or_else(|| {
                CliError::user(format!("'{}' names no commit", args.target))
                    .hint("give a commit (HEAD, a branch, an id) or FILE:LINE")
            })?;
            let commit = git_cli::commits(&linker.root, &[id])?
                .into_iter()
                .next()
                .ok_or_else(|| CliError::user(format!("cannot read commit {}", args.target)))?;
            let sessions = commit_sessions(&linker, &commit)?;
            (Some(commit), None, sessions)
        }
    };
    let files: Vec<String> = match (&line, &commit) {
        (Some(l), _) => vec![l.file.clone()],
        (None, Some(c)) => git_cli::commit_changes(&linker.root, &c.id)?
            .into_iter()
            .map(|f| f.path)
            .collect(),
        _ => Vec::new(),
    };
    let until = line.as_ref().and_then(|l| l.message.clone());
    let mut out = Vec::new();
    for (link, how) in sessions {
        out.push(session_turns(
            &linker,
            &link,
            how,
            &files,
            until.as_deref(),
        )?);
    }
    let document = WhyDocument {
        version: 1,
        commit: commit.as_ref().map(|c| CommitJson {
            id: c.id.clone(),
            subject: c.subject.clone(),
            author_time: c.author_time,
        }),
        line,
        sessions: out,
    };
    if args.json {
        ui::out_json(&document);
    } else {
        ui::out(&render(&document, matches!(args.format, WhyFormat::Md)));
    }
    Ok(())
}

/// `FILE:LINE` when `target` ends with `:<digits>` after an existing file.
fn file_line(target: &str) -> Option<(&str, usize)> {
    let (file, n) = target.rsplit_once(':')?;
    let n: usize = n.parse().ok().filter(|n| *n > 0)?;
    Path::new(file).is_file().then_some((file, n))
}

/// The turns of the session behind `link` that led to its edits of `files` (up to the message
/// `until`, when given).
fn session_turns(
    linker: &Linker<'_>,
    link: &SessionLink,
    how: How,
    files: &[String],
    until: Option<&str>,
) -> Result<SessionJson, CliError> {
    let Some(saved) = linker.saved(link) else {
        return Ok(SessionJson {
            session: link.to_string(),
            how,
            title: String::new(),
            save: None,
            turns: Vec::new(),
        });
    };
    let history = SessionHistory::new(linker.store());
    let save = history.find_save(saved, None)?;
    let root = history.read(saved, &save)?;
    let agent = context::agent_for(&saved.name.namespace)?;
    let mut turns: Vec<(usize, TurnJson)> = Vec::new();
    let order: std::collections::HashMap<&str, usize> = root
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    for t in agent.turns(&root) {
        let at = order.get(t.message.as_str()).copied().unwrap_or(usize::MAX);
        turns.push((
            at,
            TurnJson {
                message: t.message,
                kind: t.role,
                time_ms: t.time_ms,
                text: t.text,
                old: None,
                new: None,
            },
        ));
    }
    let mut last = None;
    for session in root.walk() {
        for e in agent.file_edits(session) {
            if !files.iter().any(|f| path_matches(&e.path, f)) {
                continue;
            }
            // A child session's edit sits where the root's conversation stood when it ended.
            let at = order
                .get(e.message.as_str())
                .copied()
                .unwrap_or(usize::MAX - 1);
            let is_until = until.is_some_and(|u| u == e.message);
            if until.is_none() || is_until {
                last = Some(last.map_or(at, |l: usize| l.max(at)));
            }
            turns.push((
                at,
                TurnJson {
                    message: e.message,
                    kind: "edit".to_owned(),
                    time_ms: e.time_ms,
                    text: e.path,
                    old: Some(e.old),
                    new: Some(e.new),
                },
            ));
        }
    }
    turns.sort_by_key(|(at, _)| *at);
    if let Some(last) = last {
        // The answer that reports the last edit comes right after it: keep up to the next
        // user prompt.
        let next_prompt = turns
            .iter()
            .filter(|(at, t)| *at > last && t.kind == "user")
            .map(|(at, _)| *at)
            .min()
            .unwrap_or(usize::MAX);
        turns.retain(|(at, _)| *at < next_prompt);
    }
    Ok(SessionJson {
        session: link.to_string(),
        how,
        title: saved.trailers.title.clone(),
        save: Some(save.commit.to_string()),
        turns: turns.into_iter().map(|(_, t)| t).collect(),
    })
}

fn render(doc: &WhyDocument, markdown: bool) -> String {
    let mut out = String::new();
    let when = |ms: Option<i64>| {
        ms.map(|ms| ui::local_time(ms.div_euclid(1000)))
            .unwrap_or_default()
    };
    if let Some(c) = &doc.commit {
        if markdown {
            out.push_str(&format!("# Why {} {}\n\n", ui::short(&c.id), c.subject));
        } else {
            out.push_str(&format!("commit {} {}\n", c.id, c.subject));
        }
    }
    if let Some(l) = &doc.line {
        out.push_str(&format!("{}:{}: {}\n", l.file, l.line, l.text.trim()));
        if markdown {
            out.push('\n');
        }
    }
    if doc.sessions.is_empty() {
        out.push_str("No saved session wrote this.\n");
        return out;
    }
    for s in &doc.sessions {
        let how = match s.how {
            How::Trailer => "named by the commit's trailer",
            How::Content => "found by content match",
        };
        if markdown {
            out.push_str(&format!("\n## Session {} ({how})\n\n", s.session));
            if !s.title.is_empty() {
                out.push_str(&format!("*{}*\n\n", s.title));
            }
        } else {
            out.push_str(&format!("\nsession {} ({how}) {}\n", s.session, s.title));
        }
        if s.save.is_none() {
            out.push_str("  not saved in this repository (git session pull may fetch it)\n");
        }
        for t in &s.turns {
            let time = when(t.time_ms);
            match (t.kind.as_str(), markdown) {
                ("edit", true) => {
                    out.push_str(&format!("**Edit** ({time}, {})\n\n", t.message));
                    let diff = crate::agents::render_util::line_diff(
                        t.old.as_deref().unwrap_or(""),
                        t.new.as_deref().unwrap_or(""),
                    );
                    crate::agents::render_util::diff_md(&t.text, &diff, &mut out);
                    out.push('\n');
                }
                ("edit", false) => {
                    out.push_str(&format!("  edit {} ({time}, {})\n", t.text, t.message));
                    for l in t.new.as_deref().unwrap_or("").lines() {
                        out.push_str(&format!("    + {l}\n"));
                    }
                }
                (role, true) => {
                    let who = if role == "user" { "User" } else { "Assistant" };
                    out.push_str(&format!(
                        "**{who}** ({time}, {}):\n\n{}\n\n",
                        t.message,
                        t.text.trim()
                    ));
                }
                (role, false) => {
                    out.push_str(&format!("  {role} ({time}, {}):\n", t.message));
                    for l in t.text.trim().lines() {
                        out.push_str(&format!("    {l}\n"));
                    }
                }
            }
        }
    }
    out
}
