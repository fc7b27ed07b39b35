//! The pages of `serve`: every saved session, search results, and one session (its saves, what
//! each added, and the conversation as its agent's HTML view).
//!
//! Each page is read from the refs when asked for, built on the views' shared page shell, and
//! every text in it is HTML-escaped here or by the agent's renderer.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::http::{encode, error_page};
use crate::agents::render_util::{escape_html as esc, html_page, html_page_body};
use crate::agents::{TextField, View};
use crate::cli::list::unique_sessions;
use crate::cli::search::{matcher, search_sessions};
use crate::cli::{context, show, ui, CliError};
use crate::session::added::{added_by_saves, Added};
use crate::session::history::SaveRecord;
use crate::session::{SavedSession, SessionHistory};
use crate::store::layout::Origin;
use crate::store::Store;

/// Saves listed on a session's page, newest first; `git session log` lists them all.
const MAX_SAVES_SHOWN: usize = 50;
/// Search hits shown on one results page.
const MAX_HITS_SHOWN: usize = 500;
/// A save's "added" column shows this many characters of its first new text.
const PREVIEW_CHARS: usize = 100;
/// With this many saves or fewer, a session's page shows its saves table open.
const SAVES_OPEN_UP_TO: usize = 10;

/// An answer: an HTTP status and a whole HTML page.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The page.
    pub html: String,
}

/// The pages of one repository's saved sessions.
pub struct Site<'a> {
    store: &'a Store,
}

/// A commit of the project linked to a session, as the session's page lists it.
#[derive(Debug, Clone)]
pub struct LinkedCommit {
    /// The commit id.
    pub commit: String,
    /// Its subject line.
    pub subject: String,
    /// Commit time, seconds since the Unix epoch.
    pub seconds: i64,
}

/// The commits linked to `saved` by their `Session:` trailers (see `git session log`), newest
/// first, for its page's "Linked commits" section (shown when there are any).
pub fn linked_commits(store: &Store, saved: &SavedSession) -> Vec<LinkedCommit> {
    crate::cli::log::linked(store, &saved.name.namespace, &saved.name.id)
        .into_iter()
        .map(|c| LinkedCommit {
            seconds: time::OffsetDateTime::parse(
                &c.author_time,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| t.unix_timestamp())
            .unwrap_or(0),
            commit: c.id,
            subject: c.subject,
        })
        .collect()
}

impl<'a> Site<'a> {
    /// The site of the repository `store` opened.
    pub fn new(store: &'a Store) -> Self {
        Site { store }
    }

    /// The page at `path` with the decoded `query` pairs (404 for no page).
    pub fn route(&self, path: &str, query: &[(String, String)]) -> Reply {
        let arg = |key: &str| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let page = match path {
            "/" => self.list(),
            "/search" => match arg("q").map(str::trim).unwrap_or("") {
                "" => self.list(),
                words => self.search(words, arg("case").is_some(), arg("regex").is_some()),
            },
            _ => match path.strip_prefix("/session/") {
                Some(id) if !id.is_empty() && !id.contains('/') => self.session(id, arg("at")),
                _ => {
                    return error_page(
                        404,
                        "Not found",
                        &format!("There is no page {path}; the list of sessions is at /."),
                    )
                }
            },
        };
        page.unwrap_or_else(|(status, e)| {
            let text = match &e.hint {
                Some(hint) => format!("{} (hint: {hint})", e.message),
                None => e.message.clone(),
            };
            error_page(status, "Cannot show this page", &text)
        })
    }

    fn list(&self) -> Result<Reply, (u16, CliError)> {
        let sessions = unique_sessions(SessionHistory::new(self.store).sessions().map_err(server)?);
        let mut body = nav("");
        body.push_str("<h1>Saved sessions</h1>\n");
        if sessions.is_empty() {
            body.push_str(
                "<p>No saved sessions yet. Save one with <code>git session save</code>.</p>\n",
            );
            return Ok(ok(html_page("Saved sessions", &body)));
        }
        let _ = writeln!(
            body,
            "<p class=\"facts\">{} in this repository, newest save first.</p>",
            count(sessions.len(), "session")
        );
        body.push_str(
            "<table>\n<thead><tr><th>Title</th><th>Agent</th><th class=\"num\">Messages</th>\
             <th class=\"num\">Saves</th><th class=\"num\">Size</th><th>Last save</th>\
             <th>From</th></tr></thead>\n<tbody>\n",
        );
        for s in &sessions {
            let _ = writeln!(
                body,
                "<tr><td><a href=\"/session/{}\">{}</a><br><code class=\"when\">{}</code></td>\
                 <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                encode(&s.name.id),
                esc(title_or_id(&s.trailers.title, &s.name.id)),
                esc(&s.name.id),
                esc(&agent_name(&s.name.namespace)),
                s.trailers.messages,
                s.trailers.saves,
                esc(&ui::size(s.trailers.bytes)),
                esc(&ui::local_time(s.seconds)),
                esc(&origin(s)),
            );
        }
        body.push_str("</tbody>\n</table>\n");
        Ok(ok(html_page("Saved sessions", &body)))
    }

    fn search(&self, words: &str, case: bool, regex: bool) -> Result<Reply, (u16, CliError)> {
        let pattern = matcher(words, !case, !regex).map_err(|e| {
            (
                400,
                e.hint("untick “regular expression” to search for the text as it is"),
            )
        })?;
        let mut skipped = Vec::new();
        let mut body = nav(words);
        let _ = writeln!(body, "<h1>Search: {}</h1>", esc(words));
        let _ = writeln!(
            body,
            "<form action=\"/search\" method=\"get\" class=\"facts\">\
             <input type=\"hidden\" name=\"q\" value=\"{}\">\
             <label><input type=\"checkbox\" name=\"case\" value=\"1\"{}> match case</label> \
             <label><input type=\"checkbox\" name=\"regex\" value=\"1\"{}> regular expression</label> \
             <button type=\"submit\">Search again</button></form>",
            esc(words),
            if case { " checked" } else { "" },
            if regex { " checked" } else { "" },
        );
        let mut shown = 0;
        let mut total = 0;
        let mut results = String::new();
        let mut matched_sessions = 0;
        let searched = search_sessions(
            self.store,
            None,
            &pattern,
            &mut |line| skipped.push(line),
            &mut |found| {
                let (agent, hits) = (found.agent, found.hits);
                if hits.is_empty() {
                    return Ok(());
                }
                matched_sessions += 1;
                let lines: usize = hits.iter().map(|(_, h)| h.len()).sum();
                total += lines;
                let _ = writeln!(
                    results,
                    "<h2><a href=\"/session/{}\">{}</a> <span class=\"when\">{} · {}</span></h2>\n<ul>",
                    encode(&found.id),
                    esc(title_or_id(&found.title, &found.id)),
                    esc(agent.display_name()),
                    count(lines, "matching line"),
                );
                for (field, field_hits) in &hits {
                    for hit in field_hits {
                        if shown == MAX_HITS_SHOWN {
                            break;
                        }
                        shown += 1;
                        let _ = writeln!(
                            results,
                            "<li><a href=\"/session/{}#{}\"><code>{}</code></a> \
                             <span class=\"when\">{}, line {}</span>: {}</li>",
                            encode(&found.id),
                            encode(&field.message),
                            esc(&field.message),
                            esc(&field.field),
                            hit.line,
                            highlight(&hit.snippet, &hit.matched),
                        );
                    }
                }
                results.push_str("</ul>\n");
                Ok(())
            },
        )
        .map_err(server)?;
        let _ = writeln!(
            body,
            "<p class=\"facts\">{} in {} of {}{}.</p>",
            count(total, "matching line"),
            count(matched_sessions, "session"),
            count(searched, "saved session"),
            if shown < total {
                format!("; the first {shown} are shown")
            } else {
                String::new()
            }
        );
        for line in &skipped {
            let _ = writeln!(body, "<p class=\"note\">{}</p>", esc(line));
        }
        body.push_str(&results);
        Ok(ok(html_page(&format!("Search: {words}"), &body)))
    }

    fn session(&self, id: &str, at: Option<&str>) -> Result<Reply, (u16, CliError)> {
        let (agent, session) = show::load(self.store, id, at).map_err(|e| (404, e))?;
        let history = SessionHistory::new(self.store);
        let saved = history.resolve(id).map_err(|e| (404, e.into()))?.saved;
        let shown = history.find_save(&saved, at).map_err(|e| (404, e.into()))?;
        let saves = history.log(&saved).map_err(server)?;
        let listed = &saves[..saves.len().min(MAX_SAVES_SHOWN)];
        let added = added_by_saves(self.store, &saved, listed).map_err(server)?;
        let title = agent.title(&session);
        let page = String::from_utf8_lossy(&agent.render(&session, View::Html, &ui::local_time))
            .into_owned();

        let mut body = nav("");
        let mut facts = vec![
            format!(
                "{} session <code>{}</code>",
                esc(agent.display_name()),
                esc(&session.id)
            ),
            count(saves.len(), "save"),
            esc(&ui::size(saved.trailers.bytes)),
            format!("last saved {}", esc(&ui::local_time(saved.seconds))),
            esc(&origin(&saved)),
        ];
        if shown.commit != saved.tip {
            facts.push(format!(
                "<strong>showing the save of {}</strong> (<a href=\"/session/{}\">the newest</a>)",
                esc(&ui::local_time(shown.seconds)),
                encode(&session.id)
            ));
        }
        let _ = writeln!(body, "<p class=\"facts\">{}</p>", facts.join(" · "));
        let fields = agent.text_fields(&session);
        saves_table(
            &saved,
            &saves,
            &added,
            &shown,
            &first_texts(&fields),
            &mut body,
        );
        commits_section(&linked_commits(self.store, &saved), &mut body);
        match html_page_body(&page) {
            Some(conversation) => body.push_str(conversation),
            // An agent whose page is not on the shared shell: its text, escaped.
            None => {
                let _ = writeln!(body, "<pre>{}</pre>", esc(&page));
            }
        }
        Ok(ok(html_page(title_or_id(&title, &session.id), &body)))
    }
}

/// The first text of each message, by `(session id, message id)` (empty for a message without
/// one), for a preview of what a save added.
fn first_texts(fields: &[TextField]) -> HashMap<(&str, &str), &str> {
    let mut out: HashMap<(&str, &str), &str> = HashMap::new();
    for f in fields {
        let slot = out
            .entry((f.session.as_str(), f.message.as_str()))
            .or_insert("");
        if slot.is_empty() && f.field == "text" {
            *slot = &f.text;
        }
    }
    out
}

/// The table of a session's saves, newest first (as many as `added` describes): each links to
/// its view and says what it added, with a preview from `first_text`.
fn saves_table(
    saved: &SavedSession,
    saves: &[SaveRecord],
    added: &[Added],
    shown: &SaveRecord,
    first_text: &HashMap<(&str, &str), &str>,
    body: &mut String,
) {
    let listed = &saves[..added.len()];
    let _ = writeln!(
        body,
        "<details id=\"saves\"{}><summary>{}, newest first</summary>",
        if saves.len() <= SAVES_OPEN_UP_TO {
            " open"
        } else {
            ""
        },
        count(saves.len(), "save")
    );
    body.push_str(
        "<table>\n<thead><tr><th>Save</th><th>When</th><th>Reason</th>\
         <th class=\"num\">Messages</th><th>Added</th><th>By</th></tr></thead>\n<tbody>\n",
    );
    for (save, added) in listed.iter().zip(added) {
        let short = ui::short(&save.commit);
        let link = if save.commit == shown.commit {
            format!("<strong><code>{}</code></strong>", esc(&short))
        } else {
            format!(
                "<a href=\"/session/{}?at={}\"><code>{}</code></a>",
                encode(&saved.name.id),
                encode(&save.commit.to_string()),
                esc(&short)
            )
        };
        let merge = if save.parents.len() > 1 {
            " (merge)"
        } else {
            ""
        };
        let mut what = vec![format!("+{}", count(added.messages.len(), "message"))];
        if added.new_children > 0 {
            what.push(format!(
                "+{}",
                count(added.new_children, "subagent session")
            ));
        }
        let preview = added
            .messages
            .iter()
            .find_map(|(s, m)| {
                first_text
                    .get(&(s.as_str(), m.as_str()))
                    .filter(|t| !t.trim().is_empty())
            })
            .map(|t| format!(": “{}”", esc(&one_line(t, PREVIEW_CHARS))))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "<tr><td>{link}</td><td>{}</td><td>{}{merge}</td><td class=\"num\">{}</td>\
             <td>{}{preview}</td><td>{}</td></tr>",
            esc(&ui::local_time(save.seconds)),
            esc(&save.trailers.reason),
            save.trailers.messages,
            what.join(", "),
            esc(&save.committer),
        );
    }
    body.push_str("</tbody>\n</table>\n");
    if saves.len() > listed.len() {
        let _ = writeln!(
            body,
            "<p class=\"facts\">{} not shown; <code>git session log {}</code> lists every save.</p>",
            count(saves.len() - listed.len(), "older save"),
            esc(&saved.name.id)
        );
    }
    body.push_str("</details>\n");
}

/// The "Linked commits" section, when there are any.
fn commits_section(commits: &[LinkedCommit], body: &mut String) {
    if commits.is_empty() {
        return;
    }
    body.push_str("<section id=\"commits\"><h2>Linked commits</h2>\n<ul>\n");
    for c in commits {
        let _ = writeln!(
            body,
            "<li><code>{}</code> {} <span class=\"when\">· {}</span></li>",
            esc(&ui::short(&c.commit)),
            esc(&c.subject),
            esc(&ui::local_time(c.seconds))
        );
    }
    body.push_str("</ul>\n</section>\n");
}

/// The navigation bar: a link to the list and the search box (holding `words`).
fn nav(words: &str) -> String {
    format!(
        "<nav><a href=\"/\">All sessions</a>\
         <form action=\"/search\" method=\"get\" role=\"search\">\
         <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search the sessions\" \
         aria-label=\"Search the sessions\"> <button type=\"submit\">Search</button></form></nav>\n",
        esc(words)
    )
}

/// The snippet, escaped, with the first occurrence of the match marked.
fn highlight(snippet: &str, matched: &str) -> String {
    match snippet.find(matched).filter(|_| !matched.is_empty()) {
        Some(at) => format!(
            "{}<mark>{}</mark>{}",
            esc(&snippet[..at]),
            esc(matched),
            esc(&snippet[at + matched.len()..])
        ),
        None => esc(snippet),
    }
}

/// `n` and the noun, plural unless one: `1 save`, `3 saves`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The title, or the id for an untitled session.
fn title_or_id<'t>(title: &'t str, id: &'t str) -> &'t str {
    if title.trim().is_empty() {
        id
    } else {
        title
    }
}

/// The agent's name as people write it (its namespace for an agent this build does not know).
fn agent_name(namespace: &str) -> String {
    context::agent_for(namespace)
        .map(|a| a.display_name().to_owned())
        .unwrap_or_else(|_| namespace.to_owned())
}

/// Where the session's newest save comes from: `local`, or the remote it was fetched from.
fn origin(s: &SavedSession) -> String {
    match &s.name.origin {
        Origin::Local => "local".to_owned(),
        Origin::Remote(remote) => format!("from {remote}"),
    }
}

/// The first `max` characters of `text` on one line, `…` where it was cut.
fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn ok(html: String) -> Reply {
    Reply { status: 200, html }
}

/// A failure reading the store: the server's own problem (500).
fn server(e: impl Into<CliError>) -> (u16, CliError) {
    (500, e.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_is_marked_and_everything_escaped() {
        assert_eq!(
            highlight("a <b> NEEDLE & c", "NEEDLE"),
            "a &lt;b&gt; <mark>NEEDLE</mark> &amp; c"
        );
        assert_eq!(highlight("x < y", "z"), "x &lt; y");
        assert_eq!(count(1, "save"), "1 save");
        assert_eq!(count(2, "save"), "2 saves");
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdefghijkl", 5), "abcd…");
    }
}
