//! The command line: `git session <command>`. One file per command, one dispatch here.

mod blame;
mod browser;
mod commit_hook;
mod completions;
mod context;
mod delete;
pub mod error;
mod export;
mod gc;
mod hook;
mod import;
mod install;
mod links;
mod list;
mod load;
mod log;
mod manual;
mod on_demand;
mod pager;
mod progress;
mod prune;
mod pull;
mod push;
mod remote;
mod repair;
mod report;
mod save;
mod scan;
mod scrub;
mod search;
mod serve;
mod settings;
mod share;
mod show;
mod stats;
mod status;
pub mod style;
mod sync;
pub mod ui;
mod uninstall;
mod why;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

use crate::store::Store;

/// Keep AI coding-agent sessions in this git repository, on refs of their own.
///
/// Sessions are stored as deduplicated git objects on refs/sessions/<agent>/<id>, never in the
/// working tree, the index, HEAD or any branch.
#[derive(Debug, Parser)]
#[command(
    name = "git-session",
    bin_name = "git session",
    version,
    after_long_help = "Exit status, as git's: 0 success; 1 an error (an 'error:' line and a 'hint:'), and the
negative answers: search found nothing, scan found secrets, repair --dry-run found damage;
129 a usage error (an unknown option, a missing or bad value).

Configuration is read as git reads it, 'git -c key=value' included: session.redact,
session.redactRule, session.redactAllow, session.splitThreshold, session.lockTimeout,
remote.<name>.sessions; color.session and color.ui (--color), core.pager, pager.session and
the GIT_PAGER and PAGER variables (--no-pager), NO_COLOR.

Each command has its page: man git-session-<command>, or git session help <command>.
Shell completion: git session completions bash|zsh|fish."
)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save an agent's session (from the agent on this machine, or its files) as the next save on its ref.
    Save(save::SaveArgs),
    /// Restore a saved session into its agent on this machine (exactly, or as a fork).
    Load(load::LoadArgs),
    /// List saved sessions, newest save first.
    List(list::ListArgs),
    /// List the saves of one session, newest first.
    Log(log::LogArgs),
    /// Print a saved session back in its agent's format, or as Markdown or HTML.
    Show(show::ShowArgs),
    /// Write a session to a portable file (a zstd bundle, or plain export JSON).
    Export(export::ExportArgs),
    /// Store sessions from bundles or agents' session files (a file or a whole directory).
    Import(import::ImportArgs),
    /// Push sessions refs to a remote (never forced).
    Push(push::PushArgs),
    /// Fetch a remote's sessions and adopt, fast-forward or merge them into the local refs.
    Pull(pull::PullArgs),
    /// Pull, then push; repeat when the remote moved in between.
    Sync(sync::SyncArgs),
    /// Choose the remotes sessions are sent to (add, remove, list).
    Remote(remote::RemoteArgs),
    /// Look for secrets in every save already on the sessions refs (exit 1 when found).
    Scan(scan::ScanArgs),
    /// Rewrite a session's saves without the secrets the rules in force find.
    Scrub(scrub::ScrubArgs),
    /// Counts and sizes: sessions, saves, messages, parts, bytes raw and stored, the largest.
    Stats(stats::StatsArgs),
    /// Find text in saved sessions (messages, tool inputs and outputs), like git grep.
    Search(search::SearchArgs),
    /// Browse the saved sessions in a web browser: a read-only view on 127.0.0.1.
    Serve(serve::ServeArgs),
    /// Delete sessions refs here (and with --remote, on a remote).
    Delete(delete::DeleteArgs),
    /// Delete sessions not saved for a while, or keep only each session's newest saves.
    Prune(prune::PruneArgs),
    /// Pack the objects and reclaim unreachable ones (git gc), reporting the bytes.
    Gc(gc::GcArgs),
    /// Find sessions whose saves lack objects and mend them (intact saves kept, the rest backed up).
    Repair(repair::RepairArgs),
    /// Like git blame: the session and message that wrote each line of a file.
    Blame(blame::BlameArgs),
    /// The sessions behind a commit or a line, and the turns that led to it.
    Why(why::WhyArgs),
    /// Install the OpenCode plugin and commands, the git hooks and the fetch refspec.
    Install(install::InstallArgs),
    /// Remove what `install` installed, restoring every file and config line exactly.
    Uninstall(uninstall::UninstallArgs),
    /// Show what is installed where, and whether the hooks can find git-session.
    Status(status::StatusArgs),
    /// Print the manual page, or install the pages where `man` (and `git help session`) finds them.
    Man(manual::ManArgs),
    /// Print a shell completion script that plugs into git's (`git session <TAB>`).
    Completions(completions::CompletionsArgs),
    /// Run by the installed git hooks.
    #[command(hide = true)]
    Hook(hook::HookArgs),
}

/// Parses the command line, runs it and returns the exit code, printing errors as
/// `error: ...` and `hint: ...` lines.
pub fn main() -> ExitCode {
    ui::init_local_offset();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print on stdout and succeed; a usage error exits as git's do.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(error::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Ctrl-C or SIGTERM removes gix's lock files, then ends the process as usual; `serve`, which
    // writes nothing, sees the first one and stops by itself (a second ends it at once).
    let grace = usize::from(matches!(cli.command, Command::Serve(_)));
    let _ = gix::interrupt::init_handler_default(grace);
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.message.is_empty() {
                ui::status(&format!("error: {}", err.message));
            }
            if let Some(hint) = &err.hint {
                ui::status(&format!("hint: {hint}"));
            }
            ExitCode::from(err.code)
        }
    };
    ui::finish_pager();
    code
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    match cli.command {
        Command::Save(args) if args.hook_stdin => {
            save::run_hook(&dir, args);
            Ok(())
        }
        Command::Save(args) => save::run(&open(&dir)?, args),
        Command::Load(args) => load::run(&open(&dir)?, args),
        Command::List(args) => list::run(&open(&dir)?, args),
        Command::Log(args) => log::run(&open(&dir)?, args),
        Command::Show(args) => show::run(&open(&dir)?, args),
        Command::Export(args) => export::run(&open(&dir)?, args),
        Command::Import(args) => import::run(&open(&dir)?, args),
        Command::Push(args) => push::run(&open(&dir)?, args),
        Command::Pull(args) => pull::run(&open(&dir)?, args),
        Command::Sync(args) => sync::run(&open(&dir)?, args),
        Command::Remote(args) => remote::run(&open(&dir)?, args),
        Command::Scan(args) => scan::run(&open(&dir)?, args),
        Command::Scrub(args) => scrub::run(&open(&dir)?, args),
        Command::Stats(args) => stats::run(&open(&dir)?, args),
        Command::Search(args) => search::run(&open(&dir)?, args),
        Command::Serve(args) => serve::run(&open(&dir)?, args),
        Command::Delete(args) => delete::run(&open(&dir)?, args),
        Command::Prune(args) => prune::run(&open(&dir)?, args),
        Command::Gc(args) => gc::run(&open(&dir)?, args),
        Command::Repair(args) => repair::run(&open(&dir)?, args),
        Command::Blame(args) => blame::run(&open(&dir)?, args),
        Command::Why(args) => why::run(&open(&dir)?, args),
        Command::Install(args) => install::run(&dir, args),
        Command::Uninstall(args) => uninstall::run(&dir, args),
        Command::Status(args) => status::run(&dir, args),
        Command::Hook(args) => hook::run(&dir, args),
        Command::Man(args) => manual::run(args),
        Command::Completions(args) => completions::run(args),
    }
}

fn open(dir: &std::path::Path) -> Result<Store, CliError> {
    if !dir.exists() {
        return Err(CliError::no_such_directory(dir));
    }
    Ok(Store::discover(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
