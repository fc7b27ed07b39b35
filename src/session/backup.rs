//! Backups of local copies before a load replaces them: a bundle file per session under
//! `<git dir>/git-session/backups/<agent>/`, which `git session import` stores back.

use std::path::{Path, PathBuf};

use super::bundle::{self, Bundle};
use super::kind::SessionKind;
use super::model::Session;

/// The folder that holds an agent's backups below a repository's state folder.
pub fn dir(state_dir: &Path, agent: &str) -> PathBuf {
    state_dir.join("backups").join(agent)
}

/// Writes `session` (a local copy about to be replaced) as a bundle named
/// `<id>-<unix time>.gsb` in `dir`, and returns its path.
pub fn write(dir: &Path, kind: &dyn SessionKind, session: Session) -> std::io::Result<PathBuf> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut path = dir.join(format!("{}-{seconds}.gsb", session.id));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{}-{seconds}-{n}.gsb", session.id));
        n += 1;
    }
    let bundle = Bundle {
        agent: kind.name().to_owned(),
        agent_version: kind.version(&session),
        title: kind.title(&session),
        session,
    };
    let mut bytes = Vec::new();
    bundle::write(&bundle, &mut bytes)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, bytes)?;
    Ok(path)
}

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// The file.
    pub path: PathBuf,
    /// The agent whose local copy it holds.
    pub agent: String,
    /// Its size.
    pub bytes: u64,
    /// When it was written, seconds since the Unix epoch.
    pub seconds: i64,
}

/// Every backup below `state_dir`, oldest first.
pub fn list(state_dir: &Path) -> Vec<BackupFile> {
    let root = state_dir.join("backups");
    let mut out: Vec<BackupFile> = walkdir::WalkDir::new(&root)
        .min_depth(2)
        .max_depth(2)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.path().extension().is_some_and(|x| x == "gsb"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let seconds = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some(BackupFile {
                agent: e
                    .path()
                    .parent()?
                    .file_name()?
                    .to_string_lossy()
                    .into_owned(),
                path: e.into_path(),
                bytes: meta.len(),
                seconds,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.seconds, &a.path).cmp(&(b.seconds, &b.path)));
    out
}

/// The backups written before `cutoff` (seconds since the Unix epoch), removed unless
/// `dry_run`. Returns them.
pub fn expire(state_dir: &Path, cutoff: i64, dry_run: bool) -> std::io::Result<Vec<BackupFile>> {
    let old: Vec<BackupFile> = list(state_dir)
        .into_iter()
        .filter(|b| b.seconds < cutoff)
        .collect();
    if !dry_run {
        for b in &old {
            std::fs::remove_file(&b.path)?;
        }
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_are_listed_oldest_first_and_expire_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path().join("backups/claude");
        std::fs::create_dir_all(&claude).unwrap();
        let (old, new) = (claude.join("a-1.gsb"), claude.join("b-2.gsb"));
        std::fs::write(&old, b"old").unwrap();
        std::fs::write(&new, b"newer").unwrap();
        std::fs::write(claude.join("notes.txt"), b"not a backup").unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let listed = list(dir.path());
        assert_eq!(listed.len(), 2);
        assert_eq!(
            (listed[0].path.clone(), listed[0].agent.as_str()),
            (old.clone(), "claude")
        );
        assert_eq!(listed[1].bytes, 5);
        let cutoff = listed[1].seconds - 60;
        assert_eq!(expire(dir.path(), cutoff, true).unwrap().len(), 1);
        assert!(old.exists(), "a dry run removes nothing");
        assert_eq!(expire(dir.path(), cutoff, false).unwrap()[0].path, old);
        assert!(!old.exists() && new.exists());
    }
}
