//! `git session hook pre-push <remote> <url>` (hidden): what the installed pre-push hook runs.
//!
//! With `session.remote` set, it pushes the sessions there instead of to the remote being pushed
//! to, whichever that is (see [`super::remote`]).
//!
//! It pushes nothing to a remote not enabled for sessions (see [`super::remote`]; to a URL, when
//! no enabled remote has it): one line says so, and how to enable it.
//!
//! Otherwise it pushes every local sessions ref to the remote being pushed to, without force and without
//! running hooks again (the push uses `--no-verify` and sets [`git_cli::HOOK_GUARD_ENV`], which
//! makes a nested call return at once). It never fails the user's push: whatever goes wrong is
//! one warning line that says how to sync, and the exit code is 0. No progress is shown. It reads
//! nothing from stdin: git's ref lines there belong to the user's own hook, and the block
//! inserted at the top of one gives this command `/dev/null` instead. Sessions deleted on the
//! remote (it has their deletion records, fetched first) or by this clone are not pushed: one
//! line each says so.

use std::path::Path;

use clap::{Args, Subcommand};

use super::share;
use super::{ui, CliError};
use crate::git_cli::{self, PushStatus};
use crate::store::Store;

/// Arguments of `git session hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The hook being run.
    #[command(subcommand)]
    pub hook: Hook,
}

/// The git hooks git-session implements.
#[derive(Debug, Subcommand)]
pub enum Hook {
    /// Push the sessions refs to the remote being pushed to (the pre-push hook's arguments).
    PrePush {
        /// The remote's name (or its URL when pushing to a URL).
        remote: Option<String>,
        /// The remote's URL.
        url: Option<String>,
    },
    /// Link the commit being made to the sessions that wrote its staged changes (the
    /// prepare-commit-msg hook's arguments).
    PrepareCommitMsg {
        /// The file holding the commit message.
        file: std::path::PathBuf,
        /// Where the message comes from (`message`, `template`, `merge`, `squash`, `commit`).
        source: Option<String>,
        /// The commit, for `commit`.
        commit: Option<String>,
    },
}

pub(crate) fn run(dir: &Path, args: HookArgs) -> Result<(), CliError> {
    match args.hook {
        Hook::PrePush { remote, url } => pre_push(dir, remote, url),
        Hook::PrepareCommitMsg { file, source, .. } => super::commit_hook::run(dir, file, source),
    }
    Ok(())
}

fn pre_push(dir: &Path, remote: Option<String>, url: Option<String>) {
    if std::env::var_os(git_cli::HOOK_GUARD_ENV).is_some() {
        return;
    }
    // Inside the user's `git push` no git this hook runs may wait on a password prompt (the hook
    // must stay bounded): without a credential helper that has the password, the sessions push
    // fails and says so in one line instead, and the user's push goes on.
    std::env::set_var("GIT_TERMINAL_PROMPT", "0");
    let Some(remote) = remote.or(url).filter(|r| !r.is_empty()) else {
        ui::status(
            "warning: git-session: the pre-push hook got no remote; sessions were not pushed",
        );
        return;
    };
    // A URL may carry a user and a token (`git push https://user:token@host/x`); git hands
    // it to the hook as it is. Every line printed names the remote without them.
    let shown = git_cli::without_credentials(&remote).into_owned();
    let store = match Store::discover(dir) {
        Ok(store) => store,
        Err(e) => return warn(None, &shown, &e.to_string()),
    };
    // With session.remote set, sessions go there whichever remote the code goes to, and never
    // to the code's remote.
    let remote = match super::remote::sessions_remote(&store) {
        Ok(Some(sessions)) => sessions,
        Ok(None) => {
            match super::remote::allows(&store, &remote) {
                Ok(true) => {}
                Ok(false) => return ui::status(&skipped_remote_line(&store, &shown)),
                Err(e) => return warn(Some(&store), &shown, &e.to_string()),
            }
            remote
        }
        Err(e) => return warn(Some(&store), &shown, &e.to_string()),
    };
    let shown = git_cli::without_credentials(&remote).into_owned();
    let share::Pushed {
        refs: pushed,
        skipped,
        ..
    } = match share::push(&store, &remote, &[], &[]) {
        Ok(pushed) => pushed,
        Err(e) => return warn(Some(&store), &shown, &e.message),
    };
    for s in &skipped {
        ui::status(&format!("git-session: {}", share::skipped_line(s, &shown)));
    }
    if let Some(refused) = share::refusal(&shown, &pushed) {
        // Syncing would be refused again: say what the host refused and how to stop sending.
        return ui::status(&format!(
            "warning: git-session: {}; your push goes on and nothing was lost locally; {}",
            refused.line,
            refused.hint(&shown)
        ));
    }
    let count =
        |wanted: &[PushStatus]| pushed.iter().filter(|p| wanted.contains(&p.status)).count();
    let sent = count(&[PushStatus::Created, PushStatus::Updated]);
    let behind = count(&[PushStatus::Behind]);
    if behind > 0 {
        let what = format!(
            "{behind} of {} not pushed: {behind} {} newer saves there",
            ui::count(pushed.len(), "session", "sessions"),
            if behind == 1 { "has" } else { "have" }
        );
        return warn(Some(&store), &shown, &what);
    }
    if sent > 0 {
        ui::status(&format!(
            "git-session: pushed {} to {shown}",
            ui::count(sent, "session", "sessions")
        ));
    }
}

/// The line that says a remote not enabled for sessions got none, and how to enable it.
fn skipped_remote_line(store: &Store, remote: &str) -> String {
    if store.remote_names().iter().any(|r| r == remote) {
        format!("git-session: sessions not pushed to {remote} (not enabled; enable with: git session remote add {remote})")
    } else {
        format!("git-session: sessions not pushed to {remote} (no remote enabled for sessions has this URL; enable one with: git session remote add <name>)")
    }
}

/// The one warning line: what went wrong and how to sync by hand.
fn warn(store: Option<&Store>, remote: &str, why: &str) {
    let named = store.is_some_and(|s| s.remote_names().iter().any(|r| r == remote));
    let how = if named {
        format!("run 'git session sync {remote}'")
    } else {
        "add it as a remote and run 'git session sync <remote>'".to_owned()
    };
    ui::status(&format!(
        "warning: git-session: sessions were not pushed to {remote} ({}); your push goes on; {how}",
        why.trim_end_matches('.')
    ));
}
