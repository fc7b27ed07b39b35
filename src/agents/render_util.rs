//! What the agents' readable views share: the HTML page shell (its Content-Security-Policy and
//! style sheet) and HTML escaping, line diffs of file edits, Markdown code fences and tag escaping,
//! and words and sizes for people.
//!
//! Every function here depends on its input only, so a session renders to the same bytes on every
//! machine and in every run; none of them knows an agent's format. `git session serve` builds its
//! pages on the same shell, so a session looks the same in a file and in the browser view.

use std::fmt::Write as _;

use similar::{Algorithm, ChangeTag};

/// Unchanged lines shown around each change in a [`line_diff`].
const DIFF_CONTEXT: usize = 3;

/// The Content-Security-Policy of every page: nothing is loaded (no script, no external style,
/// font, frame or image; only inline styles and `data:` images), and forms only go back to the
/// page's own origin (the search form of `git session serve`; a file page has none).
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'";

/// The style sheet of every page: light and dark colours, turns, tool calls, diffs, and the
/// tables and navigation of `git session serve`.
pub const PAGE_STYLE: &str = "
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e;
  --line: #d1d9e0; --code: #f6f8fa; --user: #ddf4ff; --add: #dafbe1; --del: #ffebe9;
  --note: #fff8c5; --link: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1;
  --line: #3d444d; --code: #151b23; --user: #0c2d6b; --add: #12361f; --del: #4b1113;
  --note: #3b2e00; --link: #4493f8; } }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
a { color: var(--link); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; border-top: 1px solid var(--line); padding-top: 1rem; margin-top: 2rem; }
.facts, .when, .trim { color: var(--muted); font-size: .85rem; }
.turn { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem; }
.turn.user { background: var(--user); }
.turn.summary { border: 2px solid #bf8700; }
.turn h3 { font-size: 1rem; margin: .25rem 0 .5rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.note { background: var(--note); border-radius: 4px; padding: .25rem .5rem; }
pre { background: var(--code); border-radius: 4px; padding: .5rem; overflow-x: auto;
  font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre; }
.tool { border-left: 3px solid var(--line); padding-left: .75rem; margin: .75rem 0; }
.tool .label { font-weight: 600; font-size: .85rem; margin: .25rem 0 0; }
.add { background: var(--add); display: block; }
.del { background: var(--del); display: block; }
.hunk { color: var(--muted); display: block; }
details > summary { cursor: pointer; color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
nav { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; padding: .5rem 0 1rem;
  border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
nav form { margin-left: auto; }
input[type=search] { font: inherit; padding: .2rem .4rem; min-width: 16rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
mark { background: var(--note); color: inherit; }
#saves { margin-bottom: 1.5rem; }
";

/// Returns one complete, self-contained HTML page: `title` (escaped here) and `body` (HTML,
/// escaped by its writer) inside `<main>`, with [`CONTENT_SECURITY_POLICY`] and [`PAGE_STYLE`].
pub fn html_page(title: &str, body: &str) -> String {
    let mut out = html_page_start(title);
    out.reserve(body.len() + HTML_PAGE_END.len());
    out.push_str(body);
    out.push_str(HTML_PAGE_END);
    out
}

/// What a page of [`html_page`] starts with, up to where its body goes: for a renderer that
/// writes the body out as it goes, then [`HTML_PAGE_END`].
pub fn html_page_start(title: &str) -> String {
    let mut out = String::with_capacity(PAGE_STYLE.len() + 512);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"git-session\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape_html(title));
    let _ = writeln!(out, "<style>{PAGE_STYLE}</style>\n</head>\n<body>\n<main>");
    out
}

/// What a page of [`html_page`] ends with, after its body.
pub const HTML_PAGE_END: &str = "</main>\n</body>\n</html>\n";

/// Returns what a page made by [`html_page`] holds inside `<main>` (to show it inside another
/// page), or `None` for any other document.
pub fn html_page_body(page: &str) -> Option<&str> {
    let start = page.find("<main>\n")? + "<main>\n".len();
    let end = page.rfind("</main>\n</body>")?;
    page.get(start..end)
}

/// Escapes `text` for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and
/// `'` become character references, everything else stays as it is.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Returns a line diff of `old` and `new`: unchanged lines prefixed with a space (at most three
/// around each change; a longer run becomes one `@@` line), removed ones with `-`, added ones with
/// `+`, each line ending in a newline.
///
/// Lines are compared without their line ending (`\n` or `\r\n`), so a text and the same text
/// with a final newline are equal. The diff is Myers' (git's default), computed by `similar`
/// without a deadline: its search is bounded by the texts' sizes, not by a clock, so large, very
/// different texts stay fast and the same texts always give the same diff.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = similar::capture_diff_slices(Algorithm::Myers, &a, &b);
    let mut out = String::new();
    // Lines of `old` before this index are shown or stand for an `@@` already written.
    let mut done = 0;
    for group in similar::group_diff_ops(ops, DIFF_CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if first.old_range().start > done {
            out.push_str("@@\n");
        }
        for change in group.iter().flat_map(|op| op.iter_changes(&a, &b)) {
            out.push(match change.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            });
            out.push_str(change.value());
            out.push('\n');
        }
        done = last.old_range().end;
    }
    if done < a.len() {
        out.push_str("@@\n");
    }
    out
}

/// Appends a Markdown `diff` block of `diff`, headed `Diff of <file>:` (or `Diff:` without a file).
pub fn diff_md(file: &str, diff: &str, out: &mut String) {
    if file.is_empty() {
        out.push_str("Diff:\n\n");
    } else {
        let _ = writeln!(out, "Diff of `{file}`:\n");
    }
    fenced("diff", diff, out);
}

/// Appends a fenced Markdown code block whose fence is longer than any backtick run inside
/// `text`, so no text can end it early; a blank line follows it.
pub fn fenced(lang: &str, text: &str, out: &mut String) {
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}");
    out.push_str(text.trim_end_matches('\n'));
    let _ = writeln!(out, "\n{fence}\n");
}

/// Markdown text with `<` escaped outside code spans and fenced blocks, so that a tag in the
/// conversation (`<task id=..>`, `<path>`) shows as text instead of vanishing as raw HTML.
/// Markdown's own escape (`\<`), not HTML's: code keeps its `<`, and `&` stays as written.
pub fn escape_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let uniform = marker.chars().all(|c| marker.starts_with(c));
        if let Some(open) = &fence {
            // A fence closes with a run of the same character, at least as long, alone on its line.
            if uniform
                && marker.len() >= open.len()
                && marker[..1] == open[..1]
                && trimmed.trim_end() == marker
            {
                fence = None;
            }
            out.push_str(line);
            continue;
        }
        if marker.len() >= 3 && uniform {
            fence = Some(marker);
            out.push_str(line);
            continue;
        }
        // Outside fences: keep code spans (a backtick run up to the same run), escape `<`.
        let mut rest = line;
        while let Some(i) = rest.find(['`', '<']) {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if rest.starts_with('<') {
                out.push_str("\\<");
                rest = &rest[1..];
                continue;
            }
            let run = rest.len() - rest.trim_start_matches('`').len();
            let ticks = &rest[..run];
            match rest[run..].find(ticks) {
                Some(end) => {
                    out.push_str(&rest[..run + end + run]);
                    rest = &rest[run + end + run..];
                }
                None => {
                    out.push_str(ticks);
                    rest = &rest[run..];
                }
            }
        }
        out.push_str(rest);
    }
    out
}

/// Returns the length of the longest run of `c` in `text`.
pub fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Returns `text` with its first character in upper case (`user` -> `User`).
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Formats a byte count for people: `512 B`, `4.5 KiB`, `1.2 MiB`, up to TiB, one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_become_references_and_nothing_else_changes() {
        assert_eq!(
            escape_html("<a href=\"x\">Tom's & Jerry's</a> · é"),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&#39;s&lt;/a&gt; · é"
        );
        assert_eq!(
            escape_html("&amp;"),
            "&amp;amp;",
            "escaping twice shows the text"
        );
    }

    #[test]
    fn a_page_is_self_contained_and_its_body_comes_back_out() {
        let page = html_page("<x> & y", "<p>body</p>\n");
        assert!(page.starts_with("<!DOCTYPE html>\n"), "{page}");
        assert!(page.contains("<title>&lt;x&gt; &amp; y</title>"), "{page}");
        assert!(
            page.contains(&format!("content=\"{CONTENT_SECURITY_POLICY}\"")),
            "the policy is in the page: {page}"
        );
        assert_eq!(html_page_body(&page), Some("<p>body</p>\n"));
        assert_eq!(html_page_body("<html><body>x</body></html>"), None);
        for forbidden in ["src=", "href=", "@import", "url(", "<script"] {
            assert!(!page.contains(forbidden), "nothing is loaded: {forbidden}");
        }
    }

    #[test]
    fn a_diff_keeps_three_lines_of_context_and_marks_what_it_skips() {
        let old: String = (1..=30).map(|n| format!("l{n}\n")).collect();
        let new = old.replace("l2\n", "two\n").replace("l20\n", "");
        assert_eq!(
            line_diff(&old, &new),
            " l1\n-l2\n+two\n l3\n l4\n l5\n@@\n l17\n l18\n l19\n-l20\n l21\n l22\n l23\n@@\n",
            "a change at the start has no @@ before it; one at each gap of more than six lines"
        );
        let joined = old.replace("l6\n", "six\n").replace("l12\n", "twelve\n");
        assert!(
            line_diff(&old, &joined).contains(" l9\n l10\n l11\n-l12\n"),
            "six unchanged lines between two changes are all shown"
        );
    }

    #[test]
    fn equal_texts_and_empty_texts_give_the_obvious_diffs() {
        assert_eq!(line_diff("", ""), "");
        assert_eq!(
            line_diff("a\nb\n", "a\nb"),
            "@@\n",
            "a final newline is no change"
        );
        assert_eq!(line_diff("a\r\nb\r\n", "a\nb\n"), "@@\n", "nor is CRLF");
        assert_eq!(line_diff("a\nb\n", ""), "-a\n-b\n");
    }

    #[test]
    fn a_small_edit_of_a_long_text_is_a_small_diff() {
        // 20,000 lines each side: a quadratic table would need 400 million cells here.
        let old: String = (0..20_000).map(|n| format!("line {n}\n")).collect();
        let new = old.replace("line 10000\n", "changed\n");
        let diff = line_diff(&old, &new);
        assert_eq!(
            diff,
            "@@\n line 9997\n line 9998\n line 9999\n-line 10000\n+changed\n line 10001\n \
             line 10002\n line 10003\n@@\n"
        );
    }

    #[test]
    fn tags_in_text_are_escaped_outside_code() {
        assert_eq!(escape_tags("a <b> `<c>` d"), "a \\<b> `<c>` d");
        assert_eq!(
            escape_tags("x\n```\n<y>\n```\n<z>"),
            "x\n```\n<y>\n```\n\\<z>"
        );
        assert_eq!(escape_tags("no tags"), "no tags");
    }

    #[test]
    fn a_diff_block_names_its_file() {
        let mut out = String::new();
        diff_md("src/a.rs", "-x\n+y\n", &mut out);
        assert_eq!(out, "Diff of `src/a.rs`:\n\n```diff\n-x\n+y\n```\n\n");
        let mut out = String::new();
        diff_md("", "+```\n", &mut out);
        assert_eq!(
            out, "Diff:\n\n````diff\n+```\n````\n\n",
            "the fence outgrows the text's"
        );
    }

    #[test]
    fn words_and_sizes_for_people() {
        assert_eq!(capitalise("assistant"), "Assistant");
        assert_eq!(capitalise(""), "");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(70), "70 B");
        assert_eq!(human_bytes(4608), "4.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }
}
