//! Output: the one place that prints, formats times and sizes, and decides about terminals.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::process::Child;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

static LOCAL_OFFSET: OnceLock<time::UtcOffset> = OnceLock::new();

/// Captures the local UTC offset. Call once at startup, before any thread exists (the `time`
/// crate refuses to read it from a multi-threaded process).
pub fn init_local_offset() {
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// Formats epoch seconds as local time, `2026-11-22 14:03`.
pub fn local_time(seconds: i64) -> String {
    let offset = *LOCAL_OFFSET.get().unwrap_or(&time::UtcOffset::UTC);
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => {
            let t = t.to_offset(offset);
            let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
            t.format(&format).unwrap_or_else(|_| seconds.to_string())
        }
        Err(_) => seconds.to_string(),
    }
}

/// Formats epoch seconds as RFC 3339 UTC, for `--json`.
pub fn utc_rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

/// Formats a byte count for people: `512 B`, `12.3 KiB`, `4.0 MiB`.
pub fn size(bytes: u64) -> String {
    crate::agents::render_util::human_bytes(bytes)
}

/// The word for `count`: `1 save`, `2 saves` (only the word; the caller prints the number).
pub fn plural<'a>(count: u64, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// A count and its word: `1 file`, `3 files`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n as u64, one, many))
}

/// Shortens an object id for display.
pub fn short(id: &impl std::fmt::Display) -> String {
    id.to_string().chars().take(10).collect()
}

/// The pager the answer goes to, once [`super::pager::start`] started one.
static PAGER: Mutex<Option<Child>> = Mutex::new(None);

/// Sends what [`out`] writes from now on to `pager`'s stdin.
pub(crate) fn page_into(pager: Child) {
    if let Ok(mut slot) = PAGER.lock() {
        *slot = Some(pager);
    }
}

/// Closes the pager's input and waits until the user leaves it (as git does before exiting).
pub fn finish_pager() {
    let pager = PAGER.lock().ok().and_then(|mut slot| slot.take());
    if let Some(mut pager) = pager {
        drop(pager.stdin.take());
        let _ = pager.wait();
    }
}

/// Writes the command's answer to stdout (or the pager). A closed pipe (`git session list |
/// head`, or quitting the pager) ends the process quietly, as Unix tools do.
pub fn out(text: &str) {
    out_bytes(text.as_bytes());
    flush_out();
}

/// Like [`out`] for bytes, unflushed: [`Out`] writes a long answer through it piece by piece.
fn out_bytes(bytes: &[u8]) {
    let written = match PAGER
        .lock()
        .ok()
        .as_deref_mut()
        .and_then(|p| p.as_mut())
        .and_then(|p| p.stdin.as_mut())
    {
        Some(pager) => pager.write_all(bytes),
        None => std::io::stdout().lock().write_all(bytes),
    };
    if written.is_err() {
        finish_pager();
        std::process::exit(0);
    }
}

fn flush_out() {
    let flushed = match PAGER
        .lock()
        .ok()
        .as_deref_mut()
        .and_then(|p| p.as_mut())
        .and_then(|p| p.stdin.as_mut())
    {
        Some(pager) => pager.flush(),
        None => std::io::stdout().lock().flush(),
    };
    if flushed.is_err() {
        finish_pager();
        std::process::exit(0);
    }
}

/// The command's answer as a writer, for answers written as they are made (`show` of a long
/// session): buffered, and going where [`out`] goes, with the same end on a closed pipe.
pub struct Out {
    buffer: std::io::BufWriter<OutSink>,
}

struct OutSink;

impl Write for OutSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        out_bytes(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        flush_out();
        Ok(())
    }
}

impl Out {
    /// A writer of the answer.
    pub fn new() -> Self {
        Out {
            buffer: std::io::BufWriter::with_capacity(1 << 16, OutSink),
        }
    }
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Out {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.buffer.flush()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        let _ = self.buffer.flush();
    }
}

/// Writes one status line to stderr (not part of the answer), above a progress bar if one is
/// drawn.
pub fn status(text: &str) {
    super::progress::suspend(|| eprintln!("{text}"));
}

/// Writes a question on stderr without a newline, for an answer typed on the same line.
pub fn prompt(text: &str) {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
}

/// Writes a `--json` document as pretty JSON plus a newline to stdout.
pub fn out_json(document: &impl Serialize) {
    let mut text = serde_json::to_string_pretty(&json_value(document)).unwrap_or_default();
    text.push('\n');
    out(&text);
}

/// Returns a `--json` document as one line of compact JSON plus a newline (JSON Lines).
pub fn json_line(document: &impl Serialize) -> String {
    let mut text = json_value(document).to_string();
    text.push('\n');
    text
}

/// The document as a JSON value. Going through [`serde_json::Value`] (whose objects are sorted
/// maps) writes the keys in alphabetical order whatever a struct's field order is, as the
/// documents always have been: their text does not change when a field moves.
fn json_value(document: &impl Serialize) -> serde_json::Value {
    // The documents are plain structs of strings, numbers, lists and string-keyed maps, which
    // always serialise.
    serde_json::to_value(document).expect("a --json document serialises")
}

/// True when stderr is a terminal (progress may be shown).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Pads or cuts `text` to exactly `width` characters.
pub fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{}", " ".repeat(width - count))
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}
