//! `git session save`: read sessions from an agent (or files), save them, report.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::progress::Progress;
use super::{context, report, settings, ui, CliError};
use crate::agents::{registry, AgentArg, InputError, Pick, Source};
use crate::session::save_set::{self, SaveReport};
use crate::session::stamp;
use crate::session::SessionHistory;
use crate::store::Store;

/// How long the hook waits for its payload on stdin.
const HOOK_STDIN_WAIT: Duration = Duration::from_secs(5);

/// Arguments of `git session save`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session save                        # the most recent OpenCode session of this project
  git session save --session ses_123      # that session, with its subagent sessions
  git session save --all                  # every OpenCode session of this project
  opencode export ses_123 > session.json && git session save --from session.json
  git session save --from parent.json --from child.json --reason pre-compaction
  cat session.json | git session save --from -
  git session save --agent claude         # the most recent Claude Code session of this checkout
  git session save --agent claude --all   # every Claude Code session of this checkout
  git session save --agent claude --session 6b927b1f-9cdd-4002-848b-30b3c6c958e5")]
pub struct SaveArgs {
    /// A session file of the agent (an `opencode export` JSON file, a Claude Code `.jsonl`
    /// transcript), or `-` for stdin. Repeat it to save a session with its child sessions
    /// (subagents) in one go. Without `--from`, sessions are read from the agent on this
    /// machine (the most recent one of this checkout unless `--session` or `--all`).
    #[arg(long = "from", value_name = "FILE", required = false, conflicts_with_all = ["session", "all"])]
    pub from: Vec<PathBuf>,
    /// Read this session (and its child sessions) from the agent on this machine.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub session: Option<String>,
    /// Read every session of this checkout from the agent on this machine (children come along).
    #[arg(long)]
    pub all: bool,
    /// Why this save is made; recorded in the commit's `Reason:` trailer.
    #[arg(long, default_value = "manual")]
    pub reason: String,
    /// Print a JSON report on stdout instead of a line on stderr.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
    /// Which agent's sessions (default: the first listed).
    #[arg(long, value_enum, default_value_t = AgentArg(registry::default_agent()))]
    pub agent: AgentArg,
    /// Read the agent's hook payload on stdin (Claude Code: `session_id`, `transcript_path`,
    /// ...) and save that session, with the reason the event gives unless `--reason` is given.
    /// Never fails: a problem is one line on stderr and exit code 0.
    #[arg(long, conflicts_with_all = ["from", "session", "all"])]
    pub hook_stdin: bool,
    /// Store the session as it is, without removing secrets (prints a warning: whatever is
    /// saved is sent by `git session push`).
    #[arg(long)]
    pub no_redact: bool,
}

pub(crate) fn run(store: &Store, args: SaveArgs) -> Result<(), CliError> {
    let agent = args.agent.0;
    let checkout = context::checkout(store);
    let read = if args.from.is_empty() {
        let pick = match (&args.session, args.all) {
            (Some(id), _) => Pick::Id(id.clone()),
            (None, true) => Pick::All,
            (None, false) => Pick::Newest,
        };
        let show_progress = !args.quiet && !args.json && ui::stderr_is_terminal();
        let mut progress = |p: crate::agents::Progress<'_>| {
            if show_progress {
                ui::status(&format!(
                    "Reading {} from {} ({}/{})…",
                    p.id,
                    agent.display_name(),
                    p.index,
                    p.total
                ));
            }
        };
        agent.read_local(&checkout, &pick, &mut progress)?
    } else {
        let sources = args
            .from
            .iter()
            .map(|p| read_source(p))
            .collect::<Result<Vec<_>, _>>()?;
        // Messages this session's last save already read are recognised by their bytes.
        let history = SessionHistory::new(store);
        let cache_for = |id: &str| history.save_cache(agent.name(), id);
        agent.read_sources(&checkout, sources, &cache_for)?
    };
    for w in &read.warnings {
        ui::status(&format!("warning: {w}"));
    }
    let settings = settings::for_save(store, args.no_redact)?;
    let paths = agent.machine_paths(&checkout);
    let spinner = if args.quiet || args.json {
        Progress::hidden()
    } else {
        let what = match read.sessions.as_slice() {
            [one] => one.id.clone(),
            many => ui::count(many.len(), "session", "sessions"),
        };
        Progress::spinner(&format!("Saving {what}"))
    };
    let reports = save_set::save_all(
        store,
        agent,
        read.sessions,
        &args.reason,
        false,
        &settings,
        &paths,
    );
    drop(spinner);
    let reports = reports?;
    context::gc_auto(store);
    report::print_reports(&reports, args.json, args.quiet);
    Ok(())
}

/// `git session save --hook-stdin`: the agent's hook payload on stdin names the session. Never
/// fails: a problem is one line on stderr and exit code 0, so the hook never blocks or disturbs
/// the agent. Nothing is printed on stdout (an agent may add a hook's stdout to its prompt).
pub(crate) fn run_hook(dir: &Path, args: SaveArgs) {
    let agent = args.agent.0;
    let outcome = (|| -> Result<Vec<SaveReport>, CliError> {
        let payload = read_stdin_bounded()?;
        let store = super::open(dir)?;
        let checkout = context::checkout(&store);
        // A hook that fires before every model request: unchanged files are not read again.
        let stamp = agent.hook_stamp(&checkout, &payload);
        if let Some(s) = &stamp {
            if stamp::is_current(&store, agent.name(), &s.session, &s.stamp) {
                return Ok(Vec::new());
            }
        }
        let hook = agent.read_hook(&checkout, &payload)?;
        for w in &hook.read.warnings {
            ui::status(&format!("warning: {w}"));
        }
        let reason = if args.reason == "manual" {
            hook.reason
        } else {
            args.reason.clone()
        };
        let settings = settings::for_save(&store, args.no_redact)?;
        let paths = agent.machine_paths(&checkout);
        let reports = save_set::save_all(
            &store,
            agent,
            hook.read.sessions,
            &reason,
            false,
            &settings,
            &paths,
        )?;
        if let Some(s) = &stamp {
            if let Some(r) = reports.iter().find(|r| r.session == s.session) {
                stamp::record(&store, agent.name(), &s.session, &s.stamp, &r.outcome);
            }
        }
        context::gc_auto(&store);
        Ok(reports)
    })();
    match outcome {
        Ok(reports) => report::print_reports(&reports, false, args.quiet),
        Err(e) => ui::status(&format!(
            "git-session: {} session not saved: {}",
            agent.display_name(),
            e.message
        )),
    }
}

fn read_stdin_bounded() -> Result<Vec<u8>, CliError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = std::io::stdin().read_to_end(&mut bytes).map(|_| bytes);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(HOOK_STDIN_WAIT) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(CliError::user(format!("cannot read the hook payload: {e}"))),
        Err(_) => Err(CliError::user(format!(
            "no hook payload on stdin within {} s",
            HOOK_STDIN_WAIT.as_secs()
        ))),
    }
}

/// Reads a `--from` source: a file, or stdin for `-`.
pub(crate) fn read_source(path: &Path) -> Result<Source, CliError> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| InputError::Unreadable {
                source_name: "stdin".into(),
                source,
            })?;
        return Ok(Source {
            name: "stdin".into(),
            path: None,
            bytes,
        });
    }
    let name = path.display().to_string();
    bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        source_name: name.clone(),
        source,
    })?;
    Ok(Source {
        name,
        path: Some(path.to_path_buf()),
        bytes,
    })
}
