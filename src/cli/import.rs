//! `git session import PATH`: store sessions from bundle files and export JSON files, or from a
//! whole directory of them (for example a `.opencode/sessions/` folder filled by a save command).
//! Session files are recognised by the extension each agent gives its files.
//!
//! A bundle of saves (what `export` writes) joins its saves to the session's ref the way `pull`
//! joins a remote's: the session is adopted when it is new here, fast-forwarded when the ref is
//! behind, merged when both moved; its commits keep their ids. An agent's file and a one-save
//! bundle (load's backups, exports of earlier versions) are saved like `save` does.
//!
//! A directory is read twice: first to order the files (parents before children, then by the
//! session's own update time, then by path), then to store each one. What is already stored
//! (equal to any earlier save of that session) is skipped, so importing twice adds nothing.

use std::path::{Path, PathBuf};

use clap::Args;

use serde::Serialize;

use super::progress::Progress;
use super::report::{print_reports, saves_json, SaveJson};
use super::share::{Pulled, PulledJson};
use super::{context, settings, ui, CliError};
use crate::agents::{registry, Agent, Source};
use crate::git_cli;
use crate::session::bundle::{self, BundleFile, HistoryBundle};
use crate::session::integrate::{integrate_save, Integration};
use crate::session::save_set::{self, SaveReport};
use crate::session::{SaveOutcome, Session, SessionHistory, Settings};
use crate::store::{LockMode, Store, StoreError};

/// Arguments of `git session import`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  git session import handover.gsb          # a bundle from 'git session export'
  git session import session.json          # an 'opencode export' JSON file
  git session import 6b927b1f.jsonl        # a Claude Code transcript (with its subagents)
  git session import .opencode/sessions/   # every export and bundle below a directory")]
pub struct ImportArgs {
    /// A bundle, an agent's session file, or a directory to search for both.
    pub path: PathBuf,
    /// The reason recorded on each save (a bundle of saves keeps its saves as they are).
    #[arg(long, default_value = "import")]
    pub reason: String,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// How many bytes of new objects an import keeps in memory before writing them as a pack.
const BATCH_BYTES: u64 = 64 << 20;

struct Candidate {
    path: PathBuf,
    is_child: bool,
    updated: i64,
}

pub(crate) fn run(store: &Store, args: ImportArgs) -> Result<(), CliError> {
    if !args.path.exists() {
        return Err(
            CliError::user(format!("{} does not exist", args.path.display())).hint(
                "pass a bundle written by 'git session export', an agent's session file, or a directory holding them",
            ),
        );
    }
    let settings = settings::for_save(store, false)?;
    if args.path.is_file() {
        let imported = import_file(store, &args.path, &args.reason, &settings)?;
        context::gc_auto(store);
        imported.print(args.json);
        return Ok(());
    }
    let mut candidates = Vec::new();
    let mut failed = Vec::new();
    let mut ignored = 0usize;
    for entry in walkdir::WalkDir::new(&args.path)
        .sort_by_file_name()
        .into_iter()
        // Subagent transcripts are read with their parent's.
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "subagents")
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                failed.push(format!("{e}"));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        match classify(store, entry.path()) {
            Ok(Some(c)) => candidates.push(c),
            Ok(None) => ignored += 1,
            Err(e) => failed.push(format!("{}: {}", entry.path().display(), e.message)),
        }
    }
    candidates
        .sort_by(|a, b| (a.is_child, a.updated, &a.path).cmp(&(b.is_child, b.updated, &b.path)));
    let mut imported = Imported::default();
    let total = candidates.len();
    let progress = if args.json {
        Progress::hidden()
    } else {
        Progress::bar(total as u64, "Importing")
    };
    // Many files: their objects go into packs and their refs move in one transaction per
    // pack, instead of loose objects and a ref lock per session (see store::batch).
    let batch = store.batched();
    let mut files = Vec::new();
    for candidate in &candidates {
        progress.message(&candidate.path.display().to_string());
        let outcome = import_file(&batch, &candidate.path, &args.reason, &settings);
        progress.inc("");
        match outcome {
            Ok(i) => {
                files.extend(i.refs().into_iter().map(|r| (r, candidate.path.clone())));
                imported.saves.extend(i.saves);
                imported.joined.extend(i.joined);
            }
            Err(e) => failed.push(format!("{}: {}", candidate.path.display(), e.message)),
        }
        if batch.batch_bytes() >= BATCH_BYTES {
            flush(&batch, &mut files, &mut imported, &mut failed)?;
        }
    }
    flush(&batch, &mut files, &mut imported, &mut failed)?;
    drop(progress);
    context::gc_auto(store);
    imported.print(args.json);
    if !args.json {
        let saved = imported
            .saves
            .iter()
            .filter(|r| matches!(r.outcome, crate::session::SaveOutcome::Saved { .. }))
            .count();
        let joined = imported
            .joined
            .iter()
            .filter(|j| {
                !matches!(
                    j.pulled.outcome,
                    Integration::UpToDate | Integration::LocalAhead
                )
            })
            .count();
        ui::status(&format!(
            "Imported {} from {}: {}, {} of saves joined, {} already stored, {} ignored.",
            ui::count(total, "file", "files"),
            args.path.display(),
            ui::count(saved, "new save", "new saves"),
            ui::count(joined, "bundle", "bundles"),
            total.saturating_sub(saved + joined),
            ui::count(ignored, "other file", "other files"),
        ));
    }
    if !failed.is_empty() {
        for f in &failed {
            ui::status(&format!("error: {f}"));
        }
        return Err(CliError::user(format!(
            "{} under {} could not be imported; the others were stored",
            ui::count(failed.len(), "file", "files"),
            args.path.display()
        ))
        .hint("fix or remove those files and run the import again (stored files are skipped)"));
    }
    Ok(())
}

/// Writes the batch's objects as one pack (indexed by `git index-pack`), then moves its refs in
/// one transaction. A ref another process moved meanwhile stays as it is: the files that saved
/// to it are reported as failed, and their saves dropped from the report.
fn flush(
    batch: &Store,
    files: &mut Vec<(String, PathBuf)>,
    imported: &mut Imported,
    failed: &mut Vec<String>,
) -> Result<(), CliError> {
    if let Some(pack) = batch.take_pack()? {
        git_cli::index_pack(&batch.common_dir(), &pack).map_err(|e| {
            CliError::user(format!("the imported sessions could not be written: {e}"))
                .hint("check the disk and run the import again (stored files are skipped)")
        })?;
    }
    for (name, error) in batch.commit_batch()? {
        imported.saves.retain(|r| ref_of(&r.outcome) != name);
        imported.joined.retain(|j| j.pulled.name.full() != name);
        let next = match error {
            StoreError::RefMoved { .. } => {
                "another process saved this session meanwhile; importing again adds this file"
            }
            StoreError::StaleLock { .. } => {
                "if no git or git-session is running, remove the lock file and import again"
            }
            _ => "import again (stored files are skipped)",
        };
        for (_, path) in files.iter().filter(|(r, _)| *r == name) {
            failed.push(format!("{}: {error} ({next})", path.display()));
        }
    }
    files.clear();
    Ok(())
}

/// The ref a save wrote (or would have).
fn ref_of(outcome: &SaveOutcome) -> &str {
    match outcome {
        SaveOutcome::Saved { ref_name, .. }
        | SaveOutcome::AlreadyStored { ref_name, .. }
        | SaveOutcome::Unchanged { ref_name, .. } => ref_name,
    }
}

/// Looks at a file: a bundle or a session file of a known agent becomes a candidate, anything
/// else is ignored.
fn classify(store: &Store, path: &Path) -> Result<Option<Candidate>, CliError> {
    let candidate = |is_child, updated| {
        Some(Candidate {
            path: path.to_path_buf(),
            is_child,
            updated,
        })
    };
    Ok(match read_file(store, path)? {
        None => None,
        Some(Content::Sessions(agent, sessions)) => {
            let first = sessions.first();
            candidate(
                first.is_some_and(|s| agent.parent_id(s).is_some()),
                first.and_then(|s| agent.updated_ms(s)).unwrap_or(i64::MAX),
            )
        }
        // Saves are joined by ancestry, not by time; the newest save's time still orders them
        // among the files of the same session.
        Some(Content::Saves(_, b)) => candidate(false, b.header.seconds.saturating_mul(1000)),
    })
}

/// What one file holds, with the agent it belongs to.
enum Content {
    /// Sessions to save: an agent's session file, or a one-save bundle.
    Sessions(&'static dyn Agent, Vec<Session>),
    /// A session's saves: a bundle `export` wrote.
    Saves(&'static dyn Agent, HistoryBundle),
}

/// What importing files did.
#[derive(Default)]
struct Imported {
    /// Sessions saved from agents' files and one-save bundles.
    saves: Vec<SaveReport>,
    /// Bundles of saves joined to the sessions' refs.
    joined: Vec<Joined>,
}

/// A bundle of saves joined to its session's ref.
struct Joined {
    /// The file's name (not its path, which would name a folder of this machine).
    file: String,
    /// How many saves the bundle carries.
    saves: u64,
    /// The session and what joining did to its ref.
    pulled: Pulled,
}

impl Imported {
    /// The refs these saves and joins moved.
    fn refs(&self) -> Vec<String> {
        let saves = self.saves.iter().map(|r| ref_of(&r.outcome).to_owned());
        saves
            .chain(self.joined.iter().map(|j| j.pulled.name.full()))
            .collect()
    }

    /// Prints one line per session on stderr, or one JSON document on stdout.
    fn print(&self, json: bool) {
        if json {
            ui::out_json(&ImportDocument {
                version: 1,
                saves: saves_json(&self.saves),
                bundles: self
                    .joined
                    .iter()
                    .map(|j| JoinedJson {
                        file: &j.file,
                        saves: j.saves,
                        pulled: PulledJson::new(&j.pulled),
                    })
                    .collect(),
            });
            return;
        }
        print_reports(&self.saves, false, false);
        for j in &self.joined {
            ui::status(&joined_line(j));
        }
    }
}

/// The `--json` document of `import`: `save`'s, and the bundles of saves joined.
#[derive(Debug, Serialize)]
struct ImportDocument<'a> {
    version: u32,
    /// One entry per root session saved from a file, as `save --json` writes it.
    saves: Vec<SaveJson<'a>>,
    /// One entry per bundle of saves: the keys `pull --json` writes per session, and the file.
    bundles: Vec<JoinedJson<'a>>,
}

/// A bundle of saves joined to its session's ref.
#[derive(Debug, Serialize)]
struct JoinedJson<'a> {
    /// The file's name.
    file: &'a str,
    /// How many saves the bundle carries.
    saves: u64,
    #[serde(flatten)]
    pulled: PulledJson<'a>,
}

/// One line for a joined bundle, in the words `pull` uses.
fn joined_line(j: &Joined) -> String {
    let (id, file) = (&j.pulled.name.id, &j.file);
    match &j.pulled.outcome {
        Integration::Adopted { tip } => format!(
            "adopted {id} from {file}: {}, the newest {}",
            ui::count(j.saves as usize, "save", "saves"),
            ui::short(tip)
        ),
        Integration::FastForwarded { from, to } => format!(
            "fast-forwarded {id} {}..{} from {file}",
            ui::short(from),
            ui::short(to)
        ),
        Integration::Merged { commit, conflicts } if conflicts.is_empty() => format!(
            "merged {id} with the saves of {file} ({})",
            ui::short(commit)
        ),
        Integration::Merged { commit, conflicts } => format!(
            "merged {id} with the saves of {file} ({}); {} resolved to the newer, listed in the merge commit",
            ui::short(commit),
            ui::count(conflicts.len(), "version conflict", "version conflicts")
        ),
        Integration::UpToDate => {
            format!("{id} is up to date with {file}; nothing written")
        }
        Integration::LocalAhead => {
            format!("{id} already holds every save of {file}; nothing written")
        }
    }
}

/// Reads a bundle (any known agent's) or an agent's session file (by its extension); `None`
/// for other files.
fn read_file(store: &Store, path: &Path) -> Result<Option<Content>, CliError> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::user(format!("cannot read {}: {e}", path.display()))
            .hint("check that the file exists and that you may read it")
    })?;
    if bundle::looks_like_bundle(&bytes) {
        let read = bundle::read(&bytes)?;
        let agent_name = match &read {
            BundleFile::Snapshot(b) => &b.agent,
            BundleFile::History(b) => &b.header.agent,
        };
        let agent = registry::by_name(agent_name).ok_or_else(|| {
            CliError::user(format!(
                "{} holds a {agent_name} session, which this git-session cannot store",
                path.display(),
            ))
            .hint("upgrade git-session to import it")
        })?;
        return Ok(Some(match read {
            BundleFile::Snapshot(b) => Content::Sessions(agent, vec![b.session]),
            BundleFile::History(b) => Content::Saves(agent, b),
        }));
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(agent) = registry::all()
        .iter()
        .copied()
        .find(|a| a.file_extension() == extension && a.claims_file(&bytes))
    else {
        return Ok(None);
    };
    let history = SessionHistory::new(store);
    let cache_for = |id: &str| history.save_cache(agent.name(), id);
    let source = Source {
        name: path.display().to_string(),
        path: Some(path.to_path_buf()),
        bytes,
    };
    let read = agent.read_sources(&context::checkout(store), vec![source], &cache_for)?;
    for w in &read.warnings {
        ui::status(&format!("warning: {w}"));
    }
    Ok(Some(Content::Sessions(agent, read.sessions)))
}

fn import_file(
    store: &Store,
    path: &Path,
    reason: &str,
    settings: &Settings,
) -> Result<Imported, CliError> {
    match read_file(store, path)? {
        None => Err(CliError::user(format!(
            "{} is neither a bundle nor a session file git-session knows",
            path.display()
        ))
        .hint("pass a file written by 'git session export', or an agent's session file")),
        // A child on its own joins its saved parent, as with `save`.
        Some(Content::Sessions(agent, sessions)) => Ok(Imported {
            saves: save_set::save_all(
                store,
                agent,
                sessions,
                reason,
                true,
                settings,
                &agent.machine_paths(&context::checkout(store)),
            )?,
            joined: Vec::new(),
        }),
        Some(Content::Saves(agent, b)) => Ok(Imported {
            saves: Vec::new(),
            joined: vec![join_saves(store, agent, path, &b, settings)?],
        }),
    }
}

/// Stores the objects of a bundle of saves and joins its tip to the session's ref, as `pull`
/// joins a fetched save.
fn join_saves(
    store: &Store,
    agent: &dyn Agent,
    path: &Path,
    b: &HistoryBundle,
    settings: &Settings,
) -> Result<Joined, CliError> {
    let header = &b.header;
    let name = header.ref_name();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let bad = |e: git_cli::GitError| {
        CliError::user(format!("{} could not be unpacked: {e}", path.display()))
            .hint("the bundle is damaged; export it again with 'git session export <id> -o FILE'")
    };
    // Held from the unpack until the ref points at what was unpacked, so a concurrent
    // 'git session gc --now' cannot prune the new objects in between.
    let _lock = store.lock_maintenance(LockMode::Shared, "")?;
    // Importing a bundle twice unpacks nothing the second time.
    let known = match store.find_ref(&name.full())? {
        Some(local) => store.is_ancestor(header.tip, local)?,
        None => false,
    };
    if !known {
        git_cli::index_pack(&store.common_dir(), b.pack()).map_err(bad)?;
    }
    bundle::check_tip(store, header)?;
    let outcome = integrate_save(
        store,
        &name,
        header.tip,
        &format!("bundle {file}"),
        agent.merge_rules(),
        settings.split_threshold,
    )?;
    Ok(Joined {
        file,
        saves: header.saves,
        pulled: Pulled { name, outcome },
    })
}
