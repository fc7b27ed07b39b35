//! `git session search <pattern>`: find text in the newest save of every saved session, like
//! `git grep`: one `session:message:part: snippet` line per matching line.

use clap::Args;
use regex::{Regex, RegexBuilder};
use serde::Serialize;

use super::list::unique_by_ref;
use super::style::{styles, DisplayArgs, Palette};
use super::{context, ui, CliError};
use crate::agents::{Agent, TextField};
use crate::session::{Session, SessionHistory, SessionTip};
use crate::store::Store;

/// Snippets are cut to about this many characters around the match.
const SNIPPET_CHARS: usize = 160;

/// Arguments of `git session search`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Searches message text, reasoning, tool names, titles, inputs,
outputs and errors, attached file names and patch file lists, in the newest save of every saved
session (and its child sessions). Each matching line prints as
  <session>:<message>:<part>: <snippet>

Examples:
  git session search 'panicked at'
  git session search -i --fixed-strings 'TODO(' --session ses_dfef
  git session search 'error\\[E\\d+\\]' --json | jq .session"
)]
pub struct SearchArgs {
    /// A regular expression (Rust `regex` syntax), or a plain string with --fixed-strings.
    pub pattern: String,
    /// Search only this session (id or unique prefix; a child session's id works too).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Ignore case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Take the pattern as a plain string, not a regular expression.
    #[arg(short = 'F', long)]
    pub fixed_strings: bool,
    /// Print one JSON object per match (JSON Lines) for scripts.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    pub line: usize,
    pub snippet: String,
    pub matched: String,
}

pub(crate) fn run(store: &Store, args: SearchArgs) -> Result<(), CliError> {
    let regex = matcher(&args.pattern, args.ignore_case, args.fixed_strings)?;
    let palette = if args.json {
        Palette::new(false)
    } else {
        super::style::start(store, &args.display)
    };
    let mut text = String::new();
    let mut count = 0;
    let searched = search_sessions(
        store,
        args.session.as_deref(),
        &regex,
        &mut |line| ui::status(&format!("warning: {line}")),
        &mut |found| {
            for (field, hits) in found.hits {
                for hit in hits {
                    count += 1;
                    if args.json {
                        text.push_str(&ui::json_line(&HitJson::new(&field, &hit)));
                    } else {
                        let sep = palette.paint(styles::SEPARATOR, ":");
                        text.push_str(&format!(
                            "{}{sep}{}{sep}{}{sep} {}\n",
                            palette.paint(styles::FILENAME, &field.session),
                            palette.paint(styles::LINE_NUMBER, &field.message.to_string()),
                            palette.paint(styles::LINE_NUMBER, &field.part.to_string()),
                            highlight(palette, &regex, &hit.snippet)
                        ));
                    }
                }
            }
            // Print as we go: a search over many sessions shows its first results early.
            if !text.is_empty() {
                ui::out(&std::mem::take(&mut text));
            }
            Ok(())
        },
    )?;
    if count == 0 && !args.json {
        let scope = match &args.session {
            Some(id) => format!("session {id}"),
            None => format!(
                "{searched} saved {}",
                ui::plural(searched as u64, "session", "sessions")
            ),
        };
        ui::status(&format!("No match for '{}' in {scope}.", args.pattern));
    }
    if count == 0 {
        // As `git grep`: exit 1 when nothing matched, so scripts can test it.
        return Err(CliError::negative());
    }
    Ok(())
}

/// The snippet with every match painted as `git grep` paints them.
fn highlight(palette: Palette, regex: &Regex, snippet: &str) -> String {
    if !palette.enabled() {
        return snippet.to_owned();
    }
    let mut out = String::new();
    let mut last = 0;
    for m in regex.find_iter(snippet).filter(|m| !m.is_empty()) {
        out.push_str(&snippet[last..m.start()]);
        out.push_str(&palette.paint(styles::MATCH, m.as_str()));
        last = m.end();
    }
    out.push_str(&snippet[last..]);
    out
}

/// What a search found in one session.
pub(crate) struct SessionHits {
    /// The session's agent.
    pub agent: &'static dyn Agent,
    /// The (root) session's id.
    pub id: String,
    /// Its title, as its agent reads it (empty when nothing matched).
    pub title: String,
    /// Its texts that matched, each with its matching lines, in conversation order.
    pub hits: Vec<(TextField, Vec<Hit>)>,
}

/// Searches the sessions a search looks at and hands what each one matched to `visit`, in the
/// order `list` shows them: the one `only` names, or the newest save of every saved session;
/// `skipped` gets a line for each session whose agent this git-session does not know. Returns
/// how many sessions were searched. `git session serve` searches the same way.
///
/// Sessions are read one at a time and dropped as soon as they are searched, so memory follows
/// the largest session, never how many there are (only their refs and times are listed first,
/// to search them in `list`'s order).
pub(crate) fn search_sessions(
    store: &Store,
    only: Option<&str>,
    regex: &Regex,
    skipped: &mut dyn FnMut(String),
    visit: &mut dyn FnMut(SessionHits) -> Result<(), CliError>,
) -> Result<usize, CliError> {
    if let Some(id) = only {
        let (agent, session) = super::show::load(store, id, None)?;
        visit(hits_of(agent, &session, regex))?;
        return Ok(1);
    }
    let history = SessionHistory::new(store);
    // Only refs and times are listed first (to keep `list`'s order); each session's summary is
    // read with it, on as many threads as there are cores, each with a store of its own.
    let tips = unique_by_ref(history.session_tips()?, |t| &t.name);
    let mut searched = 0;
    store.for_each_in_order(
        &tips,
        &|store, tip| search_one(store, tip, regex),
        &mut |outcome| match outcome {
            Outcome::Unknown(line) => {
                skipped(line);
                Ok(())
            }
            Outcome::Searched(found) => {
                searched += 1;
                visit(found)
            }
        },
    )?;
    Ok(searched)
}

/// What searching one saved session came to.
enum Outcome {
    /// Its agent is not known to this build: the line saying it was skipped.
    Unknown(String),
    /// What it matched (nothing, often).
    Searched(SessionHits),
}

/// Reads the newest save of the session at `tip` and searches it; the session is dropped before
/// the next one is read.
fn search_one(store: &Store, tip: &SessionTip, regex: &Regex) -> Result<Outcome, CliError> {
    let Ok(agent) = context::agent_for(&tip.name.namespace) else {
        return Ok(Outcome::Unknown(format!(
            "skipped {}: sessions of agent '{}' are not known to this git-session",
            tip.name.id, tip.name.namespace
        )));
    };
    let history = SessionHistory::new(store);
    let (saved, save) = history.newest(tip)?;
    let session = history.read(&saved, &save)?;
    Ok(Outcome::Searched(hits_of(agent, &session, regex)))
}

/// What `regex` matches in `session`.
fn hits_of(agent: &'static dyn Agent, session: &Session, regex: &Regex) -> SessionHits {
    let hits = session_hits(agent, session, regex);
    SessionHits {
        agent,
        id: session.id.clone(),
        // Only a session that matched is shown with its title.
        title: match hits.is_empty() {
            true => String::new(),
            false => agent.title(session),
        },
        hits,
    }
}

/// The texts of `session` (and its children) that `regex` matches, each with its matching lines,
/// in conversation order.
pub(crate) fn session_hits(
    agent: &dyn Agent,
    session: &Session,
    regex: &Regex,
) -> Vec<(TextField, Vec<Hit>)> {
    agent
        .text_fields(session)
        .into_iter()
        .filter_map(|field| {
            let hits = find(regex, &field.text);
            (!hits.is_empty()).then_some((field, hits))
        })
        .collect()
}

/// Builds the regular expression: the pattern itself, or escaped with `fixed`.
pub(crate) fn matcher(pattern: &str, ignore_case: bool, fixed: bool) -> Result<Regex, CliError> {
    let source = if fixed {
        regex::escape(pattern)
    } else {
        pattern.to_owned()
    };
    RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .build()
        .map_err(|e| {
            // regex's message draws the pattern over several lines; its last line names the problem.
            let text = e.to_string();
            let problem = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let problem = problem.trim().trim_start_matches("error: ");
            CliError::usage(format!(
                "the pattern is not a valid regular expression: {problem}"
            ))
            .hint("pass --fixed-strings (-F) to search for the text as it is")
        })
}

/// Every line of `text` that matches, with a snippet around the first match on it.
pub(crate) fn find(regex: &Regex, text: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(m) = regex.find(line) else { continue };
        out.push(Hit {
            line: index + 1,
            snippet: snippet(line, m.start(), m.end()),
            matched: m.as_str().to_owned(),
        });
    }
    out
}

/// The line around `start..end`, cut to about [`SNIPPET_CHARS`] characters, with `…` where
/// something was left out, and whitespace runs shown as one space.
fn snippet(line: &str, start: usize, end: usize) -> String {
    let matched = &line[start..end];
    let before: Vec<char> = line[..start].chars().collect();
    let after: Vec<char> = line[end..].chars().collect();
    let budget = SNIPPET_CHARS.saturating_sub(matched.chars().count());
    // Half the room on each side; room one side does not need goes to the other.
    let left = (budget / 2).max(budget.saturating_sub(after.len()));
    let from = before.len().saturating_sub(left);
    let right = budget - (before.len() - from).min(budget);
    let mut s = String::new();
    if from > 0 {
        s.push('…');
    }
    s.extend(&before[from..]);
    s.push_str(matched);
    s.extend(after.iter().take(right));
    if after.len() > right {
        s.push('…');
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line of `search --json` (JSON Lines, one object per matching line; no `version` key).
#[derive(Debug, Serialize)]
struct HitJson<'a> {
    session: &'a str,
    message: &'a str,
    part: &'a str,
    /// What the text is: `text`, `reasoning`, `input.command`, `output`, ...
    field: &'a str,
    /// The line number in that text, from 1.
    line: usize,
    snippet: &'a str,
    #[serde(rename = "match")]
    matched: &'a str,
}

impl<'a> HitJson<'a> {
    fn new(field: &'a TextField, hit: &'a Hit) -> Self {
        HitJson {
            session: &field.session,
            message: &field.message,
            part: &field.part,
            field: &field.field,
            line: hit.line,
            snippet: &hit.snippet,
            matched: &hit.matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_regular_expressions_unless_fixed() {
        let re = matcher(r"err(or)?\[E\d+\]", false, false).unwrap();
        assert_eq!(find(&re, "ok\nerror[E0425]: x\n")[0].line, 2);
        let fixed = matcher("a.b(", false, true).unwrap();
        assert_eq!(find(&fixed, "axb(\na.b( here").len(), 1);
        assert_eq!(find(&fixed, "a.b( here")[0].matched, "a.b(");
        let ci = matcher("HELLO", true, false).unwrap();
        assert_eq!(find(&ci, "say hello")[0].matched, "hello");
        assert!(find(&matcher("HELLO", false, false).unwrap(), "say hello").is_empty());
        let bad = matcher("(", false, false).unwrap_err();
        assert_eq!(
            bad.message,
            "the pattern is not a valid regular expression: unclosed group"
        );
    }

    #[test]
    fn snippets_keep_the_match_and_cut_long_lines() {
        let re = matcher("NEEDLE", false, false).unwrap();
        let line = format!("{}NEEDLE{}", "a".repeat(500), "b".repeat(500));
        let hit = &find(&re, &line)[0];
        assert!(hit.snippet.contains("NEEDLE"), "{}", hit.snippet);
        assert!(
            hit.snippet.starts_with('…') && hit.snippet.ends_with('…'),
            "{}",
            hit.snippet
        );
        assert!(
            hit.snippet.chars().count() <= SNIPPET_CHARS + 2,
            "{}",
            hit.snippet
        );
        let short = &find(&re, "  x   NEEDLE  y")[0];
        assert_eq!(short.snippet, "x NEEDLE y");
        let at_start = &find(&re, &format!("NEEDLE{}", "é".repeat(300)))[0];
        assert!(
            at_start.snippet.starts_with("NEEDLE"),
            "{}",
            at_start.snippet
        );
        assert!(at_start.snippet.chars().count() <= SNIPPET_CHARS + 1);
    }
}
