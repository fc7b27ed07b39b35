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
