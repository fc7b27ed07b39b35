//! Claude Code sessions as the commands use them: transcripts under this machine's Claude Code
//! config folder for this checkout (save by hand or from a hook, load, show).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::save::{self, Report, SaveArgs};
use super::{ui, CliError};
use crate::agents::claude::source::{self, HookPayload, SourceError};
use crate::agents::claude::{self, load, transcript};
use crate::session::codec::Redact;
use crate::session::{SaveMeta, Session, SessionHistory};
use crate::store::Store;

/// How long the hook waits for its payload on stdin.
const HOOK_STDIN_WAIT: Duration = Duration::from_secs(5);

impl From<SourceError> for CliError {
    fn from(e: SourceError) -> Self {
        let hint = match &e {
            SourceError::NoConfig => Some("set HOME or CLAUDE_CONFIG_DIR".to_owned()),
            SourceError::NoTranscript { .. } => Some(
                "run 'claude' in this checkout first, or name one with --session <uuid>".to_owned(),
            ),
            SourceError::NoSuchSession { .. } => {
                Some("pass the session id as Claude Code prints it (a uuid)".to_owned())
            }
            _ => None,
        };
        let mut err = CliError::user(e);
        err.hint = hint;
        err
    }
}

/// The worktree root (realpath), or an error for a bare repository.
fn worktree_root(store: &Store, command: &str) -> Result<PathBuf, CliError> {
    super::local_opencode::worktree_root(store, command)
}

fn config_dir() -> Result<PathBuf, CliError> {
    Ok(source::config_dir().ok_or(SourceError::NoConfig)?)
}

/// `git session save --agent claude`: the transcript named by `--from`, `--session`, or the most
/// recent one of this checkout; with its subagents.
pub(crate) fn save(store: &Store, args: &SaveArgs) -> Result<(), CliError> {
    let mut paths = Vec::new();
    for from in &args.from {
        paths.push(from.clone());
    }
    if paths.is_empty() {
        let root = worktree_root(store, "save")?;
        let mut dirs = Vec::new();
        if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
            if cwd.starts_with(&root) && cwd != root {
                dirs.push(cwd);
            }
        }
        dirs.push(root);
        paths.push(source::find(
            &config_dir()?,
            &dirs,
            args.session.as_deref(),
        )?);
    }
    let mut reports = Vec::new();
    for path in paths {
        reports.push(save_transcript(store, &path, &args.reason, args.no_redact)?);
    }
    save::print_reports(&reports, args.json, args.quiet);
    Ok(())
}

/// `git session save --agent claude --hook-stdin`: the hook payload on stdin names the
/// transcript. Never fails: a problem is one line on stderr and exit code 0, so the hook never
/// blocks or disturbs compaction. Nothing is printed on stdout (Claude Code would add a
/// PreCompact hook's stdout to the summary prompt).
///
/// PreCompact saves what is on disk now, without waiting for Claude Code's batched writer (up to
/// about 1 s behind): the hook runs synchronously, so a wait would delay every compaction, and
/// the transcript is append-only and compaction deletes nothing, so lines not yet written are
/// taken by the next save (SessionEnd, or the next PreCompact). A last line caught mid-write is
/// left out with a warning.
pub(crate) fn save_hook(dir: &Path, args: SaveArgs) {
    let outcome = (|| -> Result<(), CliError> {
        let payload = HookPayload::parse(&read_stdin_bounded()?)?;
        let store = Store::discover(dir)?;
        let path = match payload.transcript_path.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => {
                let cwd = payload.cwd.as_deref().map(PathBuf::from);
                let dirs: Vec<PathBuf> = cwd.into_iter().chain(store.workdir()).collect();
                source::find(&config_dir()?, &dirs, Some(&payload.session_id))?
            }
        };
        let reason = if args.reason == "manual" {
            payload.reason()
        } else {
            args.reason.clone()
        };
        let report = save_transcript(&store, &path, &reason, args.no_redact)?;
        save::print_reports(&[report], false, args.quiet);
        Ok(())
    })();
    if let Err(e) = outcome {
        ui::status(&format!(
            "git-session: Claude Code session not saved: {}",
            e.message
        ));
    }
}

fn read_stdin_bounded() -> Result<Vec<u8>, CliError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes);
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

/// Reads and saves one transcript with its subagents.
fn save_transcript(
    store: &Store,
    path: &Path,
    reason: &str,
    no_redact: bool,
) -> Result<Report, CliError> {
    let (mut session, warnings) = source::read(path)?;
    for w in &warnings {
        ui::status(&format!("warning: {w}"));
    }
    // Where it came from, so a load elsewhere can rewrite these paths.
    let c = &mut session.info["claude"];
    if let Some(root) = store.workdir() {
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        c["root"] = json!(root.to_string_lossy());
    }
    if let Some(config) = source::config_dir() {
        c["configDir"] = json!(config.to_string_lossy());
    }
    if let Some(home) = source::home_dir() {
        c["home"] = json!(home.to_string_lossy());
    }
    let redactor = save::redactor(store, no_redact)?;
    let meta = SaveMeta {
        agent: claude::AGENT.to_owned(),
        agent_version: transcript::version(&session),
        title: transcript::title(&session),
        reason: reason.to_owned(),
        split_threshold: save::split_threshold(store),
        skip_if_stored: false,
    };
    let history = SessionHistory::new(store);
    let outcome = history.save(&session, &meta, redactor.as_ref().map(|r| r as &dyn Redact))?;
    Ok(Report {
        session: session.id.clone(),
        title: save::redacted_title(redactor.as_ref(), meta.title),
        outcome,
        note: None,
        redacted: redactor.is_some(),
    })
}

/// The session as JSONL, line for line (what `show --format json` prints for Claude Code).
pub(crate) fn jsonl(session: &Session) -> String {
    transcript::render(session)
}

/// What a load wrote.
pub(crate) struct Loaded {
    /// The session as written (re-homed, maybe forked).
    pub session: Session,
    /// The transcript file.
    pub path: PathBuf,
    /// Files written (transcript, subagents, meta files).
    pub files: usize,
    /// Whether a local copy was replaced.
    pub replaced: bool,
    /// The backup of the replaced copy.
    pub backup: Option<PathBuf>,
    /// Strings whose paths were rewritten.
    pub rehomed: usize,
    /// The old checkout root, when it differed.
    pub from_root: Option<String>,
    /// This checkout's root.
    pub root: String,
}

/// Writes `session` under this machine's Claude Code project folder for this checkout, paths
/// re-homed; with `fork`, under a new session id. A local copy is backed up as a bundle first.
pub(crate) fn load(store: &Store, mut session: Session, fork: bool) -> Result<Loaded, CliError> {
    let root = worktree_root(store, "load")?;
    let config = config_dir()?;
    let info = |k: &str| transcript::info_str(&session, k);
    let old_root = info("root");
    // The directory Claude Code ran in, moved into this checkout.
    let cwd = match (&old_root, info("cwd")) {
        (Some(old), Some(cwd)) => match Path::new(&cwd).strip_prefix(old) {
            Ok(rel) => root.join(rel),
            Err(_) => root.clone(),
        },
        _ => root.clone(),
    };
    let project_dir = source::project_dir(&config, &cwd);
    let mut pairs = Vec::new();
    if let Some(old) = info("projectDir") {
        pairs.push((old, project_dir.to_string_lossy().into_owned()));
    }
    let root_text = root.to_string_lossy().into_owned();
    if let Some(old) = &old_root {
        pairs.push((old.clone(), root_text.clone()));
    }
    if let Some(old) = info("configDir") {
        pairs.push((old, config.to_string_lossy().into_owned()));
    }
    if let (Some(old), Some(new)) = (info("home"), source::home_dir()) {
        pairs.push((old, new.to_string_lossy().into_owned()));
    }
    let rehomed = load::relocate(&mut session, &pairs);
    if fork {
        load::fork(
            &mut session,
            &load::new_uuid(super::super::agents::opencode::load::random_seed()),
        );
    }
    let mut replaced = false;
    let mut backup = None;
    if !fork && load::exists(&project_dir, &session.id) {
        replaced = true;
        ui::status(&format!(
            "A local copy of {} exists in {}; backing it up, then replacing it with the saved one.",
            session.id,
            project_dir.display()
        ));
        let local = load::read_local(&project_dir, &session.id)?;
        backup = Some(write_backup(store, local)?);
    }
    let files = load::files(&session, &project_dir);
    load::write(&files).map_err(|e| {
        CliError::user(format!("cannot write under {}: {e}", project_dir.display()))
    })?;
    Ok(Loaded {
        path: files[0].0.clone(),
        files: files.len(),
        session,
        replaced,
        backup,
        rehomed,
        from_root: old_root.filter(|o| *o != root_text),
        root: root_text,
    })
}

fn write_backup(store: &Store, local: Session) -> Result<PathBuf, CliError> {
    let dir = store.state_dir().join("backups").join(claude::AGENT);
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("{}-{seconds}.gsb", local.id));
    let bundle = crate::session::bundle::Bundle {
        agent: claude::AGENT.to_owned(),
        agent_version: transcript::version(&local),
        title: transcript::title(&local),
        session: local,
    };
    let mut bytes = Vec::new();
    let fail = |e: std::io::Error| {
        CliError::user(format!("cannot write the backup {}: {e}", path.display()))
    };
    crate::session::bundle::write(&bundle, &mut bytes).map_err(fail)?;
    std::fs::create_dir_all(&dir).map_err(fail)?;
    std::fs::write(&path, bytes).map_err(fail)?;
    Ok(path)
}

/// `git session show` of a Claude Code session: JSONL line for line, or the conversation as
/// Markdown or HTML.
pub(crate) fn show(session: &Session, format: super::show::ShowFormat) -> Result<(), CliError> {
    use super::show::ShowFormat;
    match format {
        ShowFormat::Json => ui::out(&jsonl(session)),
        ShowFormat::Md => ui::out(&crate::agents::claude::render::markdown(session)),
        ShowFormat::Html => ui::out(&crate::agents::claude::render::html(session)),
    }
    Ok(())
}

/// `git session load` of a Claude Code session.
pub(crate) fn run_load(
    store: &Store,
    args: &super::load::LoadArgs,
    resolved: &crate::session::history::Resolved,
) -> Result<(), CliError> {
    let history = SessionHistory::new(store);
    let save = history.find_save(&resolved.saved, args.at.as_deref())?;
    let session = history.read(&resolved.saved, &save)?;
    let saved_id = session.id.clone();
    let loaded = load(store, session, args.fork)?;
    let continue_with = format!("claude --resume {}", loaded.session.id);
    let remote = match &resolved.saved.name.origin {
        crate::store::layout::Origin::Local => None,
        crate::store::layout::Origin::Remote(r) => Some(r.clone()),
    };
    if args.json {
        ui::out_json(&json!({
            "version": 1,
            "agent": claude::AGENT,
            "session": loaded.session.id,
            "saved_session": saved_id,
            "forked": args.fork,
            "save": save.commit.to_string(),
            "remote": remote,
            "title": transcript::title(&loaded.session),
            "messages": loaded.session.messages.len(),
            "children": loaded.session.children.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            "transcript": loaded.path.display().to_string(),
            "files": loaded.files,
            "replaced": loaded.replaced,
            "backups": loaded.backup.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "rehomed_from": loaded.from_root,
            "directory": loaded.root,
            "continue": continue_with,
        }));
        return Ok(());
    }
    let children = match loaded.session.children.len() {
        0 => String::new(),
        1 => ", 1 subagent".to_owned(),
        n => format!(", {n} subagents"),
    };
    let source = match &remote {
        Some(r) => format!("save {} from {r}", ui::short(&save.commit)),
        None => format!("save {}", ui::short(&save.commit)),
    };
    if args.fork {
        ui::status(&format!(
            "Loaded {saved_id} into Claude Code as a fork, {}: {} records{children} ({source}); any local copy of {saved_id} is untouched.",
            loaded.session.id,
            loaded.session.messages.len()
        ));
    } else {
        ui::status(&format!(
            "Loaded {}: {} records{children} ({source}) into {}.",
            loaded.session.id,
            loaded.session.messages.len(),
            loaded.path.display()
        ));
    }
    if let Some(backup) = &loaded.backup {
        ui::status(&format!(
            "Replaced the local copy; it is kept in {} (git session import it to store it).",
            backup.display()
        ));
    }
    if let Some(from) = &loaded.from_root {
        ui::status(&format!(
            "Paths under {from} now point to {} ({} strings).",
            loaded.root, loaded.rehomed
        ));
    }
    ui::status(&format!("Continue it with: {continue_with}"));
    Ok(())
}
