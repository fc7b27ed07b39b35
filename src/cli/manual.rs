//! `git session man`: the manual pages, generated from the command-line definition with
//! clap_mangen (so they always describe the code they ship with), printed or installed where
//! `man` finds them. `git help session` and `git session --help` (git turns it into `git help
//! session`) then show git-session(1), and `man git-session-<command>` (or `git help git-session-<command>`) a command's page.
//!
//! Where they go: beside the git-session that git runs, `<prefix>/share/man/man1` for
//! `<prefix>/bin/git-session` on PATH, which man-db (and macOS's man) search for every PATH
//! directory; else, when that is not writable, `~/.local/share/man/man1`, with the MANPATH line
//! that makes `man` look there when it does not already.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Args, CommandFactory};

use super::{ui, Cli, CliError};

/// Arguments of `git session man`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session man --install           # once per machine: then 'git help session' works
  git session man --install --dir ~/man
  git session man | man -l -          # read it without installing")]
pub struct ManArgs {
    /// Install the pages (git-session.1 and one git-session-<command>.1 per command) where
    /// `man` finds them, instead of printing git-session(1) as roff.
    #[arg(long)]
    pub install: bool,
    /// Install into DIR/man1 instead (a man directory: what MANPATH lists).
    #[arg(long, value_name = "DIR", requires = "install")]
    pub dir: Option<PathBuf>,
}

/// What installing the pages did.
pub(crate) struct Installed {
    /// The man directory (its `man1/` holds the pages).
    pub dir: PathBuf,
    /// How many pages were written (0 when all were up to date).
    pub written: usize,
    /// Whether `man` finds git-session(1) there: `None` when there is no `man` to ask.
    pub found: Option<bool>,
}

pub(crate) fn run(args: ManArgs) -> Result<(), CliError> {
    if !args.install {
        let (_, page) = pages().swap_remove(0);
        ui::out(&String::from_utf8_lossy(&page));
        return Ok(());
    }
    let installed = install(args.dir.as_deref())?;
    report(&installed, true);
    Ok(())
}

/// Says what [`install`] did: always with `verbose`, else only when it wrote something or `man`
/// will not find the pages.
pub(crate) fn report(installed: &Installed, verbose: bool) {
    let page = installed.dir.join("man1").join("git-session.1");
    if installed.written > 0 {
        ui::status(&format!(
            "Installed the manual: {} (and a page per command)",
            page.display()
        ));
    } else if verbose {
        ui::status(&format!("The manual is up to date: {}", page.display()));
    }
    match installed.found {
        Some(true) if verbose || installed.written > 0 => {
            ui::status("'git help session' (or 'git session --help') shows it.")
        }
        Some(false) if verbose || installed.written > 0 => ui::status(&format!(
            "note: man does not look in {dir}; add it for your shell: export MANPATH=\"{dir}:$MANPATH\"",
            dir = installed.dir.display()
        )),
        _ => {}
    }
}

/// Writes every page into `dir/man1` (default: [`default_dir`]); a page already there with the
/// same text is left alone.
pub(crate) fn install(dir: Option<&Path>) -> Result<Installed, CliError> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => default_dir(),
    };
    let man1 = dir.join("man1");
    let hint = "choose a writable man directory: git session man --install --dir DIR";
    std::fs::create_dir_all(&man1)
        .map_err(|e| CliError::user(format!("cannot create {}: {e}", man1.display())).hint(hint))?;
    let mut written = 0;
    for (name, text) in pages() {
        let path = man1.join(name);
        if std::fs::read(&path).is_ok_and(|old| old == text) {
            continue;
        }
        crate::fsutil::write_atomically(&path, &text).map_err(|e| {
            CliError::user(format!("cannot write {}: {e}", path.display())).hint(hint)
        })?;
        written += 1;
    }
    Ok(Installed {
        found: man_finds(&man1.join("git-session.1")),
        dir,
        written,
    })
}

/// The man directory beside the git-session on PATH (`<prefix>/share/man` for
/// `<prefix>/bin/git-session`) when it can be written, else `~/.local/share/man`
/// (`$XDG_DATA_HOME/man`).
pub(crate) fn default_dir() -> PathBuf {
    let beside = super::status::on_path("git-session")
        .or_else(|| std::env::current_exe().ok())
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share").join("man")));
    if let Some(dir) = beside.filter(|d| writable(d)) {
        return dir;
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from(".local/share"));
    data.join("man")
}

/// Whether a directory (or the nearest existing one above it) can be written to.
fn writable(dir: &Path) -> bool {
    let existing = dir.ancestors().find(|d| d.exists());
    existing.is_some_and(|d| {
        tempfile::Builder::new()
            .prefix(".git-session-probe")
            .tempfile_in(d)
            .is_ok()
    })
}

/// Asks `man -w git-session` where the page is: whether it names `page`.
fn man_finds(page: &Path) -> Option<bool> {
    let output = Command::new("man")
        .args(["-w", "git-session"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let said = String::from_utf8_lossy(&output.stdout);
    let page = std::fs::canonicalize(page).unwrap_or_else(|_| page.to_path_buf());
    Some(said.lines().any(|line| {
        let found = Path::new(line.trim());
        std::fs::canonicalize(found).is_ok_and(|f| f == page)
    }))
}

/// Every page as (file name, roff): git-session.1 first, then one per visible command.
pub(crate) fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![render(root.clone())];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(render(sub.clone()));
    }
    pages
}

fn render(command: clap::Command) -> (String, Vec<u8>) {
    let man = clap_mangen::Man::new(command).manual("Git Manual");
    let mut text = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render(&mut text);
    (man.get_filename(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_has_a_page_named_as_git_help_finds_it() {
        let pages = pages();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "git-session.1");
        for command in ["save", "load", "list", "search", "man", "completions"] {
            assert!(
                names.contains(&format!("git-session-{command}.1").as_str()),
                "{names:?}"
            );
        }
        assert!(
            !names.iter().any(|n| n.contains("hook")),
            "hidden commands have none"
        );
        let root = String::from_utf8_lossy(&pages[0].1);
        assert!(root.contains("git\\-session\\-save(1)"), "{root}");
    }
}
