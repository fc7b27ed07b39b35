//! `git session blame <file>`: `git blame` with the session and message that wrote each line
//! (see [`super::links`] for how a line is attributed).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::links::{attribute, How, Linker};
use super::{ui, CliError};
use crate::git_cli;
use crate::store::Store;

/// Arguments of `git session blame`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Each line: commit, the session that wrote it (agent/id) and the message, then the line.
A session found through the commit's `Session:` trailer is shown as is; one found only by the
line's content (a squash merge or rebase that lost the trailer, a commit made by hand) is marked
with `~`. `-` means no saved session wrote the line.

Examples:
  git session blame src/lib.rs
  git session blame src/lib.rs --json | jq '.lines[] | select(.session)'"
)]
pub struct BlameArgs {
    /// The file (in this checkout).
    pub file: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document of `blame`.
#[derive(Debug, Serialize)]
struct BlameDocument {
    version: u32,
    file: String,
    lines: Vec<LineJson>,
}

/// One line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LineJson {
    line: usize,
    commit: Option<String>,
    text: String,
    /// `<agent>/<id>` of the saved session that wrote it, or null.
    session: Option<String>,
    /// The session (root or child) whose message made the edit.
    edited_in: Option<String>,
    message: Option<String>,
    /// `trailer` or `content`.
    how: Option<How>,
}

pub(crate) fn run(store: &Store, args: BlameArgs) -> Result<(), CliError> {
    let linker = Linker::open(store)?;
    let path = linker.repo_path(&args.file)?;
    let lines = git_cli::blame(&linker.root, std::path::Path::new(&path), None)?;
    let attributed = attribute(&linker, &path, lines)?;
    if args.json {
        ui::out_json(&BlameDocument {
            version: 1,
            file: path,
            lines: attributed
                .into_iter()
                .map(|a| {
                    let committed = a.blame.commit.bytes().any(|b| b != b'0');
                    LineJson {
                        line: a.blame.line,
                        commit: committed.then(|| a.blame.commit.clone()),
                        text: a.blame.text,
                        session: a.writer.as_ref().map(|(w, _)| w.link.to_string()),
                        edited_in: a.writer.as_ref().map(|(w, _)| w.session.clone()),
                        message: a.writer.as_ref().map(|(w, _)| w.message.clone()),
                        how: a.writer.as_ref().map(|(_, h)| *h),
                    }
                })
                .collect(),
        });
        return Ok(());
    }
    let who: Vec<String> = attributed
        .iter()
        .map(|a| match &a.writer {
            Some((w, how)) => format!(
                "{}{} {}",
                if *how == How::Content { "~" } else { "" },
                w.link,
                w.message
            ),
            None => "-".to_owned(),
        })
        .collect();
    let width = who.iter().map(|w| w.chars().count()).max().unwrap_or(1);
    let digits = attributed.len().to_string().len();
    let mut text = String::new();
    for (a, who) in attributed.iter().zip(&who) {
        text.push_str(&format!(
            "{} {:<width$} {:>digits$}) {}\n",
            ui::short(&a.blame.commit)
                .chars()
                .take(8)
                .collect::<String>(),
            who,
            a.blame.line,
            a.blame.text,
        ));
    }
    ui::out(&text);
    Ok(())
}
