//! The only module that runs the `git` binary: housekeeping that gix does not do, push and
//! fetch, and the config entries `git session install` adds. Reading and writing objects and
//! refs never goes through here.

use std::path::Path;
use std::process::{Command, Stdio};

/// git's default `gc.auto`: loose objects before `git gc --auto` packs them.
const DEFAULT_GC_AUTO: i64 = 6700;
/// git's default `gc.autoPackLimit`.
const DEFAULT_AUTO_PACK_LIMIT: i64 = 50;

/// Runs `git gc --auto` when git would consider it due, as git does after its own commands (gix
/// writes never trigger it). The estimate mirrors git's: loose objects in `objects/17` times 256,
/// and the number of packs. Cheap when nothing is due (one directory read, no process).
/// Failures are ignored: housekeeping must never fail a save.
pub fn gc_auto(objects_dir: &Path, git_dir: &Path, gc_auto: Option<i64>, pack_limit: Option<i64>) {
    let gc_auto = gc_auto.unwrap_or(DEFAULT_GC_AUTO);
    if gc_auto <= 0 {
        return;
    }
    let pack_limit = pack_limit.unwrap_or(DEFAULT_AUTO_PACK_LIMIT);
    let loose_estimate = std::fs::read_dir(objects_dir.join("17"))
        .map(|d| d.count() as i64 * 256)
        .unwrap_or(0);
    let packs = std::fs::read_dir(objects_dir.join("pack"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
                .count() as i64
        })
        .unwrap_or(0);
    if loose_estimate <= gc_auto && (pack_limit <= 0 || packs <= pack_limit) {
        return;
    }
    // git itself decides again and detaches (gc.autoDetach), so this returns quickly.
    let _ = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["gc", "--auto", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A failure of the `git` binary.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` is not installed or not on PATH.
    #[error("the git binary was not found on PATH")]
    NotFound,
    /// git ran and failed.
    #[error("git {command} failed: {detail}")]
    Failed {
        /// The subcommand, such as `push origin` (a URL in it without its user and password).
        command: String,
        /// The last lines git printed (URLs without user and password).
        detail: String,
        /// The remote (name, or URL without user and password) git was talking to, if any.
        remote: Option<String>,
    },
}

/// What a failed git command's output points to, when this module recognises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An object a ref or reflog reaches is missing or unreadable (`unable to read`, `bad
    /// object`, `missing blob`): the repository is damaged.
    MissingObjects,
    /// The disk or the user's quota is full.
    DiskFull,
    /// Another `git gc` holds `gc.pid`.
    GcRunning,
    /// The remote asked for credentials and got none that it accepted (`Authentication failed`,
    /// or none at all: `could not read Username`).
    Authentication,
    /// The remote answered but will not let this user in (HTTP 403).
    Forbidden,
    /// Nothing answered at the remote's address (name not resolved, connection refused, timeout).
    Unreachable,
    /// The remote answered but has no repository at that URL (HTTP 404, no such path).
    NoRepository,
}

impl GitError {
    /// Recognises the cause of a failure from git's last lines, for the hint.
    pub fn cause(&self) -> Option<Cause> {
        let GitError::Failed { detail, .. } = self else {
            return None;
        };
        let has = |needles: &[&str]| needles.iter().any(|n| detail.contains(n));
        if has(&[
            "Authentication failed",
            "could not read Username",
            "could not read Password",
            "The requested URL returned error: 401",
            "Permission denied (publickey",
        ]) {
            Some(Cause::Authentication)
        } else if has(&["The requested URL returned error: 403"]) {
            Some(Cause::Forbidden)
        } else if has(&[
            "Could not resolve host",
            "Could not resolve hostname",
            "Failed to connect",
            "Connection refused",
            "Connection timed out",
            "Network is unreachable",
        ]) {
            Some(Cause::Unreachable)
        } else if has(&[
            "does not appear to be a git repository",
            "Repository not found",
            "The requested URL returned error: 404",
        ]) {
            Some(Cause::NoRepository)
        } else if has(&["No space left on device", "Disk quota exceeded"]) {
            Some(Cause::DiskFull)
        } else if has(&["gc is already running"]) {
            Some(Cause::GcRunning)
        } else if has(&[
            "unable to read",
            "bad object",
            "bad tree object",
            "missing blob",
            "missing tree",
            "missing commit",
            "is corrupt",
            "did not send all necessary objects",
        ]) {
            Some(Cause::MissingObjects)
        } else {
            None
        }
    }

    /// The remote git was talking to (a name, or a URL without user and password), if any.
    pub fn remote(&self) -> Option<&str> {
        match self {
            GitError::Failed { remote, .. } => remote.as_deref(),
            GitError::NotFound => None,
        }
    }
}

/// `text` with the user and password taken out of every URL in it
/// (`https://user:token@host/x` becomes `https://host/x`), as git does in its own messages: a
/// remote given as a URL may carry a token, and nothing git-session prints may repeat it.
pub fn without_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@").expect("a valid regex")
    });
    USERINFO.replace_all(text, "$1")
}

/// Set in the environment of every push this module runs; `git session hook pre-push` does
/// nothing when it sees it, so a sessions push never pushes sessions again.
pub const HOOK_GUARD_ENV: &str = "GIT_SESSION_PUSHING";

/// What the remote did with one pushed ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    /// The ref was created on the remote.
    Created,
    /// The remote ref moved forward.
    Updated,
    /// The remote already had this value.
    UpToDate,
    /// The ref was deleted on the remote.
    Deleted,
    /// The remote has commits this side lacks (a fetch and merge is needed first).
    Behind,
    /// The remote refused the update (a hook, permissions, protected refs).
    Refused,
}

/// One line of `git push --porcelain`.
#[derive(Debug, Clone)]
pub struct PushedRef {
    /// The remote ref name.
    pub remote_ref: String,
    /// What happened.
    pub status: PushStatus,
    /// git's summary, such as `[remote rejected] (pre-receive hook declined)`.
    pub summary: String,
    /// For a refused ref: the first line the remote printed during the push (its `remote:`
    /// lines, such as a hook's reason); empty when it printed none.
    pub remote_said: String,
}

/// Every fetch keeps what arrives as a pack: git then holds a `.keep` file on it until the
/// fetched refs reach it, so no gc (git-session's or one run by hand) can prune it in between. A
/// small fetch (under git's default `fetch.unpackLimit` of 100 objects) would otherwise be
/// unpacked into loose objects that nothing reaches until the refs move.
const UNPACK_LIMIT: &str = "fetch.unpackLimit=1";

/// Fetches only `remote`'s deletion records (`refs/session-deletions/*`, small commits with an
/// empty tree) into `refs/remotes/<remote>/session-deletions/*`, pruning those it removed.
/// What a push asks before it sends sessions refs; never shows progress.
pub fn fetch_deletions(git_dir: &Path, remote: &str) -> Result<(), GitError> {
    fetch(git_dir, remote, &[deletions_refspec(remote)], true, false)
}

/// The refspec that fetches `remote`'s deletion records into
/// `refs/remotes/<remote>/session-deletions/*`.
pub fn deletions_refspec(remote: &str) -> String {
    format!("+refs/session-deletions/*:refs/remotes/{remote}/session-deletions/*")
}

/// The refspec that fetches `remote`'s session summaries (see `session::summary`) into
/// `refs/remotes/<remote>/session-index/*`: what `list` needs of every shared session, without
/// the sessions.
pub fn summaries_refspec(remote: &str) -> String {
    format!("+refs/session-index/*:refs/remotes/{remote}/session-index/*")
}

/// The refspec that fetches every session of `remote` into `refs/remotes/<remote>/sessions/*`
/// (what installs before summaries added to `remote.<name>.fetch`).
pub fn sessions_refspec(remote: &str) -> String {
    format!("+refs/sessions/*:refs/remotes/{remote}/sessions/*")
}

/// Fetches `refspecs` from `remote` (a remote's name or a URL) with a plain `git fetch`, so it
/// works over every transport git has (file://, ssh, smart HTTP) and asks the server for nothing
/// special. With `prune`, tracking refs matched by a wildcard refspec whose source the remote no
/// longer has are removed. What arrives is kept as a pack (see `UNPACK_LIMIT`).
pub fn fetch(
    git_dir: &Path,
    remote: &str,
    refspecs: &[String],
    prune: bool,
    progress: bool,
) -> Result<(), GitError> {
    let mut cmd = git(git_dir);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.args(["-c", UNPACK_LIMIT]);
    cmd.args(["fetch", "--no-tags", "--no-write-fetch-head"]);
    if prune {
        cmd.arg("--prune");
    }
    cmd.arg(if progress { "--progress" } else { "--quiet" });
    cmd.arg(remote);
    cmd.args(refspecs);
    let what = format!("fetch {}", without_credentials(remote));
    let output = run(cmd, progress, &what)?;
    if !output.status.success() {
        return Err(failed_with(&what, remote, &output));
    }
    Ok(())
}

/// Pushes `refspecs` to `remote` without force and reports each ref. Never runs the user's
/// pre-push hook (which may itself push sessions). A rejected ref is a result, not an error;
/// an error means git could not talk to the remote at all.
pub fn push(
    git_dir: &Path,
    remote: &str,
    refspecs: &[String],
    progress: bool,
) -> Result<Vec<PushedRef>, GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--no-verify"]);
    // --no-verify already skips pre-push hooks; the variable also stops a hook manager that runs
    // hooks some other way from pushing sessions again from inside this push.
    cmd.env(HOOK_GUARD_ENV, "1");
    // Not --quiet: it silences the porcelain report too.
    if progress {
        cmd.arg("--progress");
    }
    cmd.arg(remote);
    cmd.args(refspecs);
    let what = format!("push {}", without_credentials(remote));
    let output = run(cmd, progress, &what)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut pushed = parse_push_porcelain(&stdout);
    if pushed.is_empty() && !output.status.success() {
        return Err(failed_with(&what, remote, &output));
    }
    attach_remote_lines(&mut pushed, &output.stderr);
    Ok(pushed)
}

/// Pushes `refspecs` all or nothing (`git push --atomic`): when the remote refuses one ref it
/// takes none, and reports the others as refused with "atomic push failure". A remote that
/// cannot push atomically gets an ordinary [`push`]. Never runs the pre-push hook, and shows no
/// progress.
pub fn push_atomic(
    git_dir: &Path,
    remote: &str,
    refspecs: &[String],
) -> Result<Vec<PushedRef>, GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--no-verify", "--atomic"]);
    cmd.env(HOOK_GUARD_ENV, "1");
    cmd.arg(remote);
    cmd.args(refspecs);
    let what = format!("push --atomic {}", without_credentials(remote));
    let output = run(cmd, false, &what)?;
    let mut pushed = parse_push_porcelain(&String::from_utf8_lossy(&output.stdout));
    if pushed.is_empty() && !output.status.success() {
        if String::from_utf8_lossy(&output.stderr).contains("does not support --atomic") {
            return push(git_dir, remote, refspecs, false);
        }
        return Err(failed_with(&what, remote, &output));
    }
    attach_remote_lines(&mut pushed, &output.stderr);
    Ok(pushed)
}

/// The object id `remote` holds at exactly the ref `name` (`git ls-remote`), or `None` when it
/// has no such ref. Never asks for credentials: a remote that would is an error like one that
/// cannot be reached.
pub fn remote_ref_value(
    git_dir: &Path,
    remote: &str,
    name: &str,
) -> Result<Option<String>, GitError> {
    let what = format!("ls-remote {}", without_credentials(remote));
    let mut cmd = git(git_dir);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.args(["ls-remote", "--refs", remote, name]);
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed_with(&what, remote, &output));
    }
    // The pattern matches any ref ending in `name`; only the exact one counts.
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .find(|(_, refname)| *refname == name)
        .map(|(id, _)| id.to_owned()))
}

/// Writes a pack of every object reachable from `tips` (hex commit ids): `git pack-objects
/// --revs --stdout`, self-contained (no thin deltas), for a bundle file.
pub fn pack_objects(git_dir: &Path, tips: &[String]) -> Result<Vec<u8>, GitError> {
    let what = "pack-objects";
    let mut cmd = git(git_dir);
    cmd.args([
        "pack-objects",
        "--revs",
        "--stdout",
        "--quiet",
        "--delta-base-offset",
    ]);
    let input: String = tips.iter().map(|t| format!("{t}\n")).collect();
    let output = run_with_input(cmd, input.as_bytes(), what)?;
    if !output.status.success() || !output.stdout.starts_with(b"PACK") {
        return Err(failed(what, &output));
    }
    Ok(output.stdout)
}

/// Stores the objects of `pack` in the repository (`git index-pack --stdin --strict`): a pack
/// with a broken object, or one that refers to an object neither it nor the repository holds,
/// is refused and nothing is stored. The pack stays a pack, as a fetch leaves it.
pub fn index_pack(git_dir: &Path, pack: &[u8]) -> Result<(), GitError> {
    let what = "index-pack";
    let mut cmd = git(git_dir);
    cmd.args(["index-pack", "--stdin", "--strict"]);
    let output = run_with_input(cmd, pack, what)?;
    if !output.status.success() {
        return Err(failed(what, &output));
    }
    Ok(())
}

/// A ref of a remote as `git ls-remote` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The full ref name on the remote.
    pub name: String,
    /// The object it points to (hex).
    pub id: String,
}

/// The refs of `remote` below any of `prefixes`, with the objects they point to (one `git
/// ls-remote --refs`). Works for a remote's name and for a URL.
pub fn remote_refs(
    git_dir: &Path,
    remote: &str,
    prefixes: &[&str],
) -> Result<Vec<RemoteRef>, GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["ls-remote", "--refs", remote]);
    cmd.args(prefixes.iter().map(|prefix| format!("{prefix}*")));
    let what = format!("ls-remote {}", without_credentials(remote));
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed_with(&what, remote, &output));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, name)| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .map(|(id, name)| RemoteRef {
            name: name.to_owned(),
            id: id.to_owned(),
        })
        .collect())
}

/// One object's sizes, as `git cat-file --batch-check` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectSizes {
    /// Size of the content (uncompressed, as `git cat-file -p` prints it).
    pub content: u64,
    /// Bytes it takes on disk: the zlib-compressed loose file, or its entry in a pack (compressed,
    /// and a delta against another object when git deltified it).
    pub disk: u64,
}

/// Asks git for the content and on-disk sizes of `ids` (object ids, written as hex), in the same
/// order. An object git does not have is an error.
pub fn object_sizes<T: std::fmt::Display + Sync>(
    git_dir: &Path,
    ids: &[T],
) -> Result<Vec<ObjectSizes>, GitError> {
    use std::io::{BufRead, BufReader, Write};
    let what = "cat-file --batch-check";
    let mut cmd = git(git_dir);
    cmd.args([
        "cat-file",
        "--batch-check=%(objectname) %(objectsize) %(objectsize:disk)",
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(e, what))?;
    let stdin = child.stdin.take().expect("piped stdin");
    std::thread::scope(|scope| {
        // Written from a thread, as they are asked (not gathered first): git's answers could fill
        // the pipe before all questions are written.
        let writer = scope.spawn(move || {
            let mut stdin = std::io::BufWriter::new(stdin);
            for id in ids {
                writeln!(stdin, "{id}")?;
            }
            stdin.flush()
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut out = Vec::with_capacity(ids.len());
        let mut problem = None;
        let mut unreadable = None;
        for line in BufReader::new(stdout).lines() {
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    // Stop git, so the writer is not left waiting on a full pipe.
                    let _ = child.kill();
                    unreadable = Some(e);
                    break;
                }
            };
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                [_, content, disk] => match (content.parse(), disk.parse()) {
                    (Ok(content), Ok(disk)) => out.push(ObjectSizes { content, disk }),
                    _ => problem = Some(format!("unexpected answer {line:?}")),
                },
                _ => {
                    problem.get_or_insert_with(|| format!("object {line}"));
                }
            }
        }
        let _ = writer.join();
        let status = child.wait().map_err(|e| spawn_error(e, what))?;
        if let Some(e) = unreadable {
            return Err(spawn_error(e, what));
        }
        if let Some(detail) = problem {
            return Err(GitError::Failed {
                command: what.to_owned(),
                detail,
                remote: None,
            });
        }
        if !status.success() || out.len() != ids.len() {
            return Err(GitError::Failed {
                command: what.to_owned(),
                detail: format!("answered {} of {} objects", out.len(), ids.len()),
                remote: None,
            });
        }
        Ok(out)
    })
}

/// The refs of `refs` that have a reflog (`logs/<ref>` in the common git dir). A bare repository
/// keeps none by default (`core.logAllRefUpdates`), and `git reflog expire` fails on a ref
/// without one ("points nowhere"): there is nothing to expire for it.
fn with_reflog<'a>(git_dir: &Path, refs: &'a [String]) -> Vec<&'a String> {
    refs.iter()
        .filter(|r| git_dir.join("logs").join(r.as_str()).is_file())
        .collect()
}

/// Removes the reflog entries of `refs` that point to commits no longer reachable from the ref
/// (saves a history rewrite dropped), so that `git gc` may reclaim them. Other entries stay.
pub fn expire_unreachable_reflogs(git_dir: &Path, refs: &[String]) -> Result<(), GitError> {
    let refs = with_reflog(git_dir, refs);
    if refs.is_empty() {
        return Ok(());
    }
    let what = "reflog expire";
    let mut cmd = git(git_dir);
    cmd.args(["reflog", "expire", "--expire-unreachable=now"]);
    cmd.args(refs);
    let output = run(cmd, false, what)?;
    if !output.status.success() {
        return Err(failed(what, &output));
    }
    Ok(())
}

/// Like [`expire_unreachable_reflogs`], and also removes the entries that name commits which
/// are missing or reach missing objects (`--stale-fix`, which walks every reachable object, as
/// `git prune` does): after a repair, `git gc` and `git fsck` would still fail on them.
pub fn expire_broken_reflogs(git_dir: &Path, refs: &[String]) -> Result<(), GitError> {
    let refs = with_reflog(git_dir, refs);
    if refs.is_empty() {
        return Ok(());
    }
    let what = "reflog expire --stale-fix";
    let mut cmd = git(git_dir);
    cmd.args([
        "reflog",
        "expire",
        "--stale-fix",
        "--expire-unreachable=now",
    ]);
    cmd.args(refs);
    let output = run(cmd, false, what)?;
    if !output.status.success() {
        return Err(failed(what, &output));
    }
    Ok(())
}

/// Runs `git gc` as a user would (`--prune=<prune>` when given, else git's own setting,
/// `gc.pruneExpire`, two weeks by default). Progress goes to the terminal when `progress` is set.
pub fn gc(git_dir: &Path, prune: Option<&str>, progress: bool) -> Result<(), GitError> {
    let mut cmd = git(git_dir);
    cmd.arg("gc");
    if !progress {
        cmd.arg("--quiet");
    }
    if let Some(prune) = prune {
        cmd.arg(format!("--prune={prune}"));
    }
    let output = run(cmd, progress, "gc")?;
    if !output.status.success() {
        return Err(failed("gc", &output));
    }
    Ok(())
}

/// The value of a git config key as git resolves it (every scope; `~/` expanded when `path`),
/// or `None` when it is not set.
pub fn config_get(git_dir: &Path, key: &str, path: bool) -> Result<Option<String>, GitError> {
    let mut cmd = git(git_dir);
    cmd.arg("config");
    if path {
        cmd.arg("--type=path");
    }
    cmd.args(["--get", key]);
    let what = format!("config --get {key}");
    let output = run(cmd, false, &what)?;
    match output.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&output.stdout)
                .trim_end_matches('\n')
                .to_owned(),
        )),
        Some(1) => Ok(None),
        _ => Err(failed(&what, &output)),
    }
}

/// Every value of a multi-valued git config key (every scope, in git's order); empty when unset.
pub fn config_get_all(git_dir: &Path, key: &str) -> Result<Vec<String>, GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--get-all", key]);
    let what = format!("config --get-all {key}");
    let output = run(cmd, false, &what)?;
    match output.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()),
        Some(1) => Ok(Vec::new()),
        _ => Err(failed(&what, &output)),
    }
}

/// Every key matching the regular expression `pattern` read as a boolean (every scope, git's
/// order; `git config --type=bool --get-regexp`), as (key, value); empty when none is set. A value
/// git cannot read as a boolean is an error that names it.
pub fn config_bools(git_dir: &Path, pattern: &str) -> Result<Vec<(String, bool)>, GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--type=bool", "--get-regexp", pattern]);
    let what = format!("config --get-regexp {pattern}");
    let output = run(cmd, false, &what)?;
    match output.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                Some((key.to_owned(), value == "true"))
            })
            .collect()),
        Some(1) => Ok(Vec::new()),
        _ => Err(failed(&what, &output)),
    }
}

/// Sets `key` to `value` in the repository's own config, replacing every value it had there
/// (`git config --replace-all`).
pub fn config_set(git_dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--local", "--replace-all", key, value]);
    let what = format!("config {key}");
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    Ok(())
}

/// Adds `value` to the multi-valued key in the repository's own config (`git config --add`).
pub fn config_add(git_dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--local", "--add", key, value]);
    let what = format!("config --add {key}");
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    Ok(())
}

/// Removes the one entry of `key` whose value is exactly `value` from the repository's own
/// config, leaving every other line of the file as it was.
pub fn config_unset_value(git_dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--local", "--fixed-value", "--unset", key, value]);
    let what = format!("config --unset {key}");
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    Ok(())
}

fn spawn_error(e: std::io::Error, what: &str) -> GitError {
    match e.kind() {
        std::io::ErrorKind::NotFound => GitError::NotFound,
        _ => GitError::Failed {
            command: what.to_owned(),
            detail: e.to_string(),
            remote: None,
        },
    }
}

fn parse_push_porcelain(stdout: &str) -> Vec<PushedRef> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(flag), Some(spec), Some(summary)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let remote_ref = spec.rsplit(':').next().unwrap_or(spec).to_owned();
        let status = match flag {
            "*" => PushStatus::Created,
            " " | "+" => PushStatus::Updated,
            "=" => PushStatus::UpToDate,
            "-" => PushStatus::Deleted,
            "!" if summary.contains("remote rejected") => PushStatus::Refused,
            "!" if summary.contains("fetch first")
                || summary.contains("non-fast-forward")
                || summary.contains("stale info") =>
            {
                PushStatus::Behind
            }
            "!" => PushStatus::Refused,
            _ => continue,
        };
        out.push(PushedRef {
            remote_ref,
            status,
            summary: summary.to_owned(),
            remote_said: String::new(),
        });
    }
    out
}

/// One file of a diff: its path (in the repository) and the lines added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffFile {
    /// The path, relative to the repository root.
    pub path: String,
    /// The lines added.
    pub added: Vec<String>,
    /// Whether lines (or the file) were removed.
    pub removes: bool,
}

/// The staged changes of the worktree at `dir` (`git diff --cached -U0`), against the index git
/// uses (a hook inherits `GIT_INDEX_FILE`, such as `git commit -a`'s temporary index).
pub fn staged_changes(dir: &Path) -> Result<Vec<DiffFile>, GitError> {
    let mut cmd = git_here(dir);
    cmd.args([
        "-c",
        "core.quotePath=false",
        "diff",
        "--cached",
        "--no-color",
        "--no-ext-diff",
    ])
    .args(["--no-renames", "--no-textconv", "-U0"]);
    let output = run(cmd, false, "diff --cached")?;
    if !output.status.success() {
        return Err(failed("diff --cached", &output));
    }
    Ok(parse_diff(&String::from_utf8_lossy(&output.stdout)))
}

/// The changes `commit` made to its first parent (`git show -U0`).
pub fn commit_changes(dir: &Path, commit: &str) -> Result<Vec<DiffFile>, GitError> {
    let mut cmd = git_here(dir);
    cmd.args([
        "-c",
        "core.quotePath=false",
        "show",
        "--format=",
        "--no-color",
        "--no-ext-diff",
    ])
    .args([
        "--no-renames",
        "--no-textconv",
        "--diff-merges=first-parent",
        "-U0",
        commit,
    ]);
    let what = format!("show {commit}");
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    Ok(parse_diff(&String::from_utf8_lossy(&output.stdout)))
}

/// Reads a `-U0` patch: each file's new path and added lines.
fn parse_diff(text: &str) -> Vec<DiffFile> {
    let mut out: Vec<DiffFile> = Vec::new();
    let mut in_hunk = false;
    for line in text.lines() {
        if line.starts_with("diff --git ") {
            out.push(DiffFile::default());
            in_hunk = false;
            continue;
        }
        let Some(file) = out.last_mut() else {
            continue;
        };
        if !in_hunk {
            if let Some(path) = line.strip_prefix("+++ b/") {
                file.path = path.to_owned();
            } else if let Some(path) = line.strip_prefix("--- a/") {
                if file.path.is_empty() {
                    file.path = path.to_owned();
                }
            } else if line.starts_with("deleted file") {
                file.removes = true;
            }
        }
        if line.starts_with("@@") {
            in_hunk = true;
        } else if in_hunk {
            if let Some(added) = line.strip_prefix('+') {
                file.added.push(added.to_owned());
            } else if line.starts_with('-') {
                file.removes = true;
            }
        }
    }
    out.retain(|f| !f.path.is_empty());
    out
}

/// One line of `git blame --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlameLine {
    /// The commit that last changed it (all zeros: not committed yet).
    pub commit: String,
    /// Its number in the file now (1-based).
    pub line: usize,
    /// Its text.
    pub text: String,
    /// The commit's author time, seconds since the epoch.
    pub author_time: i64,
    /// The commit's author.
    pub author: String,
    /// The commit's subject.
    pub summary: String,
}

/// `git blame --porcelain` of `file` in the worktree at `dir` (only line `only` when given).
pub fn blame(dir: &Path, file: &Path, only: Option<usize>) -> Result<Vec<BlameLine>, GitError> {
    let mut cmd = git_here(dir);
    cmd.args(["blame", "--porcelain"]);
    if let Some(n) = only {
        cmd.arg(format!("-L{n},{n}"));
    }
    cmd.arg("--").arg(file);
    let what = format!("blame {}", file.display());
    let output = run(cmd, false, &what)?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut known: std::collections::HashMap<String, (i64, String, String)> = Default::default();
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for line in text.lines() {
        if let Some(content) = line.strip_prefix('\t') {
            if let Some((commit, n)) = current.take() {
                let (author_time, author, summary) =
                    known.get(&commit).cloned().unwrap_or_default();
                out.push(BlameLine {
                    commit,
                    line: n,
                    text: content.to_owned(),
                    author_time,
                    author,
                    summary,
                });
            }
            continue;
        }
        let mut words = line.split(' ');
        let first = words.next().unwrap_or("");
        if first.len() >= 40 && first.bytes().all(|b| b.is_ascii_hexdigit()) {
            let n = words.nth(1).and_then(|w| w.parse().ok()).unwrap_or(0);
            known.entry(first.to_owned()).or_default();
            current = Some((first.to_owned(), n));
        } else if let Some((commit, _)) = &current {
            let entry = known.entry(commit.clone()).or_default();
            let rest = line.split_once(' ').map_or("", |(_, r)| r);
            match first {
                "author-time" => entry.0 = rest.parse().unwrap_or(0),
                "author" => entry.1 = rest.to_owned(),
                "summary" => entry.2 = rest.to_owned(),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// A commit as `why` and `log` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// The full id.
    pub id: String,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    /// The subject line.
    pub subject: String,
    /// The whole message.
    pub message: String,
}

/// The commits `revs` (ids or anything `git log --no-walk` takes), as given.
pub fn commits(dir: &Path, revs: &[String]) -> Result<Vec<CommitSummary>, GitError> {
    if revs.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = git_here(dir);
    cmd.args([
        "log",
        "--no-walk=unsorted",
        "--format=%H%x00%at%x00%s%x00%B%x01",
    ])
    .args(revs)
    .arg("--");
    read_commits(cmd, "log --no-walk")
}

/// The commits on branches, tags, remote branches (not sessions refs) and HEAD whose message
/// has a line matching the extended regular expression `pattern`, newest first.
pub fn commits_matching(dir: &Path, pattern: &str) -> Result<Vec<CommitSummary>, GitError> {
    let mut cmd = git_here(dir);
    cmd.args(["log", "--format=%H%x00%at%x00%s%x00%B%x01", "-E"])
        .arg(format!("--grep={pattern}"))
        .args([
            "--exclude=refs/remotes/*/sessions/*",
            "--exclude=refs/remotes/*/session-deletions/*",
        ])
        .args(["--remotes", "--branches", "--tags", "HEAD", "--"]);
    read_commits(cmd, "log --grep")
}

fn read_commits(cmd: Command, what: &str) -> Result<Vec<CommitSummary>, GitError> {
    let output = run(cmd, false, what)?;
    if !output.status.success() {
        // A repository without commits has no HEAD: nothing matches.
        if String::from_utf8_lossy(&output.stderr).contains("HEAD") {
            return Ok(Vec::new());
        }
        return Err(failed(what, &output));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split('\u{1}')
        .filter_map(|record| {
            let mut fields = record.trim_start_matches('\n').splitn(4, '\0');
            let id = fields.next()?.to_owned();
            if id.is_empty() {
                return None;
            }
            Some(CommitSummary {
                id,
                author_time: fields.next()?.parse().unwrap_or(0),
                subject: fields.next()?.to_owned(),
                message: fields.next().unwrap_or("").to_owned(),
            })
        })
        .collect())
}

/// The commit `rev` names, as a full id, or `None` when it names none.
pub fn rev_parse_commit(dir: &Path, rev: &str) -> Result<Option<String>, GitError> {
    let mut cmd = git_here(dir);
    cmd.args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"));
    let output = run(cmd, false, "rev-parse")?;
    Ok(output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()))
}

/// Adds `trailers` (`Key: value`) to the commit message in `file` as `git interpret-trailers`
/// does, each only when the message lacks it (`--if-exists addIfDifferent`).
pub fn add_trailers(dir: &Path, file: &Path, trailers: &[String]) -> Result<(), GitError> {
    let mut cmd = git_here(dir);
    cmd.args([
        "interpret-trailers",
        "--in-place",
        "--if-exists",
        "addIfDifferent",
    ]);
    for t in trailers {
        cmd.arg("--trailer").arg(t);
    }
    cmd.arg(file);
    let output = run(cmd, false, "interpret-trailers")?;
    if !output.status.success() {
        return Err(failed("interpret-trailers", &output));
    }
    Ok(())
}

/// `git` run in the worktree `dir`, with the environment it was given (inside a hook: git's own
/// `GIT_DIR` and `GIT_INDEX_FILE`).
fn git_here(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).stdin(Stdio::null());
    cmd
}

fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir").arg(git_dir).stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, progress: bool, what: &str) -> Result<std::process::Output, GitError> {
    cmd.stdout(Stdio::piped());
    cmd.stderr(if progress {
        Stdio::inherit()
    } else {
        Stdio::piped()
    });
    cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GitError::NotFound,
        _ => GitError::Failed {
            command: what.to_owned(),
            detail: e.to_string(),
            remote: None,
        },
    })
}

/// Runs `cmd` with `input` on its stdin (written from a thread, so that git's output cannot
/// fill its pipe while it waits for the rest of the input) and collects its output.
fn run_with_input(
    mut cmd: Command,
    input: &[u8],
    what: &str,
) -> Result<std::process::Output, GitError> {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(e, what))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    std::thread::scope(|scope| {
        // A write error means git stopped reading; its exit status and stderr say why.
        scope.spawn(move || {
            let _ = stdin.write_all(input);
        });
        child.wait_with_output().map_err(|e| spawn_error(e, what))
    })
}

fn failed(command: &str, output: &std::process::Output) -> GitError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let detail: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let detail = match detail.len() {
        0 => format!("exit status {}", output.status.code().unwrap_or(-1)),
        n => detail[n.saturating_sub(2)..].join(" / "),
    };
    GitError::Failed {
        command: command.to_owned(),
        detail: without_credentials(&detail).into_owned(),
        remote: None,
    }
}

/// [`failed`] for a command that talked to `remote` (kept without user and password).
fn failed_with(command: &str, remote: &str, output: &std::process::Output) -> GitError {
    match failed(command, output) {
        GitError::Failed {
            command, detail, ..
        } => GitError::Failed {
            command,
            detail,
            remote: Some(without_credentials(remote).into_owned()),
        },
        other => other,
    }
}

/// Gives each refused ref the first line the remote printed (`remote: ...` on git's stderr; a
/// hook usually says why first, and often once per ref), so that a refusal can say why in the
/// host's own words.
fn attach_remote_lines(pushed: &mut [PushedRef], stderr: &[u8]) {
    if !pushed.iter().any(|p| p.status == PushStatus::Refused) {
        return;
    }
    let stderr = String::from_utf8_lossy(stderr);
    let mut lines = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty());
    // Credentials out first: a cut could leave a URL's user and token without its `@`.
    let first = |line: &str| shorten(&without_credentials(line));
    let said = match (lines.next(), lines.count()) {
        (None, _) => String::new(),
        (Some(line), 0) => first(line),
        (Some(line), more) => format!("{} (and {more} more line(s))", first(line)),
    };
    for p in pushed
        .iter_mut()
        .filter(|p| p.status == PushStatus::Refused)
    {
        p.remote_said = said.clone();
    }
}

/// How many characters of a remote's line a refusal quotes.
const REMOTE_LINE_CHARS: usize = 200;

/// `line` cut to [`REMOTE_LINE_CHARS`] characters (a host's banner can be long).
fn shorten(line: &str) -> String {
    match line.char_indices().nth(REMOTE_LINE_CHARS) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_context_diff_gives_each_file_its_added_lines() {
        let diff = "diff --git a/a.txt b/a.txt\nindex 1..2 100644\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n-old\n+new\n+++ plus\ndiff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let files = parse_diff(diff);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "a.txt");
        assert_eq!(files[0].added, ["new", "++ plus"]);
        assert!(files[0].removes);
        assert_eq!(files[1].path, "gone.txt");
        assert!(files[1].added.is_empty() && files[1].removes);
    }

    #[test]
    fn failures_are_recognised_by_what_git_printed() {
        let failed = |detail: &str| GitError::Failed {
            command: "gc".into(),
            detail: detail.into(),
            remote: None,
        };
        let cases = [
            (
                "fatal: unable to read 4d4bc1c77f63bd5429cb0ab4d74cb8729570d293 / fatal: failed to run repack",
                Some(Cause::MissingObjects),
            ),
            (
                "fatal: bad tree object e3b9860193e52038620c6545eb248b31319e7804 / fatal: failed to run repack",
                Some(Cause::MissingObjects),
            ),
            (
                "fatal: sha1 file '.git/objects/pack/tmp_pack_X' write error: No space left on device / fatal: failed to run repack",
                Some(Cause::DiskFull),
            ),
            (
                "fatal: gc is already running on machine 'host' pid 12 (use --force if not)",
                Some(Cause::GcRunning),
            ),
            (
                "fatal: Authentication failed for 'http://127.0.0.1:8080/git/team.git/'",
                Some(Cause::Authentication),
            ),
            (
                "fatal: could not read Username for 'https://example.com': terminal prompts disabled",
                Some(Cause::Authentication),
            ),
            (
                "fatal: unable to access 'https://example.com/x.git/': The requested URL returned error: 403",
                Some(Cause::Forbidden),
            ),
            (
                "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server",
                Some(Cause::Unreachable),
            ),
            (
                "fatal: 'origin' does not appear to be a git repository",
                Some(Cause::NoRepository),
            ),
            ("error: some other failure", None),
        ];
        for (detail, cause) in cases {
            assert_eq!(failed(detail).cause(), cause, "{detail}");
        }
        assert_eq!(GitError::NotFound.cause(), None);
    }

    #[test]
    fn a_refused_ref_carries_the_remotes_first_line_without_credentials() {
        let mut pushed = parse_push_porcelain(
            "!\trefs/sessions/a/x:refs/sessions/a/x\t[remote rejected] (pre-receive hook declined)\n",
        );
        let stderr = format!(
            "remote: custom refs are not accepted at https://u:tok@host/x\nremote: second\nremote: {}\nerror: failed to push some refs\n",
            "y".repeat(300)
        );
        attach_remote_lines(&mut pushed, stderr.as_bytes());
        assert_eq!(
            pushed[0].remote_said,
            "custom refs are not accepted at https://host/x (and 2 more line(s))"
        );
        assert_eq!(shorten(&"y".repeat(300)).len(), REMOTE_LINE_CHARS + 3);
    }

    #[test]
    fn urls_lose_their_user_and_password() {
        assert_eq!(
            without_credentials("push https://alice:tok3n@example.com/x.git and http://u@h:1/y"),
            "push https://example.com/x.git and http://h:1/y"
        );
        assert_eq!(
            without_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(without_credentials("origin"), "origin");
    }

    #[test]
    fn push_porcelain_lines_are_classified() {
        let out = [
            "To /tmp/remote.git",
            "*\trefs/sessions/opencode/a:refs/sessions/opencode/a\t[new reference]",
            " \trefs/sessions/opencode/b:refs/sessions/opencode/b\tabc..def",
            "=\trefs/sessions/opencode/c:refs/sessions/opencode/c\t[up to date]",
            "!\trefs/sessions/opencode/d:refs/sessions/opencode/d\t[rejected] (fetch first)",
            "!\trefs/sessions/opencode/e:refs/sessions/opencode/e\t[remote rejected] (pre-receive hook declined)",
            "Done",
        ]
        .join("\n");
        let out = out.as_str();
        let statuses: Vec<PushStatus> =
            parse_push_porcelain(out).iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            [
                PushStatus::Created,
                PushStatus::Updated,
                PushStatus::UpToDate,
                PushStatus::Behind,
                PushStatus::Refused
            ]
        );
    }
}
