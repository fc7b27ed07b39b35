//! Paging long output the way `git log` does: only when stdout is a terminal, through
//! `GIT_PAGER`, else `core.pager`, else `PAGER`, else `less`; `pager.session=false` (or
//! `--no-pager`, or `git --no-pager session ...`, which sets `GIT_PAGER=cat`) turns it off, a
//! `pager.session` that is no boolean names the pager to use. `LESS=FRX` and `LV=-c` are set
//! unless already set, so a short output prints and exits as with git.

use std::io::IsTerminal;
use std::process::{Command, Stdio};

use super::style::git_bool;
use super::ui;
use crate::store::Store;

/// Starts the pager when the output goes to a terminal and one is configured; returns whether
/// it runs (the answer then goes to it, see [`ui::out`]).
pub(crate) fn start(store: &Store) -> bool {
    if !std::io::stdout().is_terminal() {
        return false;
    }
    let Some(pager) = choose(
        store.config_string("pager.session").as_deref(),
        store.config_string("core.pager").as_deref(),
    ) else {
        return false;
    };
    let mut command = Command::new("sh");
    command.arg("-c").arg(&pager).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        command.env("LESS", "FRX");
    }
    if std::env::var_os("LV").is_none() {
        command.env("LV", "-c");
    }
    // As git: what the pager runs can tell (git's own color auto treats it as a terminal).
    command.env("GIT_PAGER_IN_USE", "true");
    match command.spawn() {
        Ok(child) => {
            ui::page_into(child);
            true
        }
        Err(_) => false,
    }
}

/// The pager command, or `None` for none: `pager.session` false turns it off and a non-boolean
/// value is the pager; else `GIT_PAGER`, `core.pager`, `PAGER`, `less`; empty or `cat` is none.
fn choose(pager_session: Option<&str>, core_pager: Option<&str>) -> Option<String> {
    let chosen = match pager_session {
        Some(value) if git_bool(value) == Some(false) => return None,
        Some(value) if git_bool(value).is_none() => value.to_owned(),
        _ => std::env::var("GIT_PAGER")
            .ok()
            .or_else(|| core_pager.map(str::to_owned))
            .or_else(|| std::env::var("PAGER").ok())
            .unwrap_or_else(|| "less".to_owned()),
    };
    let trimmed = chosen.trim();
    (!trimmed.is_empty() && trimmed != "cat").then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn pager_session_turns_paging_off_or_names_the_pager() {
        assert_eq!(choose(Some("false"), Some("more")), None);
        assert_eq!(
            choose(Some("most -s"), Some("more")).as_deref(),
            Some("most -s")
        );
        assert_eq!(choose(Some("true"), Some("cat")), None, "cat is no pager");
    }
}
