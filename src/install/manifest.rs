//! The manifest: the record of what installs did, written so uninstall can undo exactly that.
//!
//! `<git-dir>/git-session/install.json` for the repository, `$XDG_STATE_HOME/git-session/install.json`
//! for OpenCode's and Claude Code's global config directories. Each [`Item`] names one target (a
//! file, a directory, a block, a moved hook, a config value); a newer record of the same target
//! replaces the older, so installing twice records nothing twice. A manifest that records nothing
//! is no file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{io, InstallError, Result};
use super::files::{remove_empty_dir, remove_file};
use super::Context;

/// Which manifest a change is recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// `<git-dir>/git-session/install.json`.
    Repo,
    /// `$XDG_STATE_HOME/git-session/install.json`.
    Global,
}

/// One thing an install did, as recorded in the manifest: what uninstall undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A directory it created.
    Dir {
        /// The directory.
        path: PathBuf,
        /// An OpenCode config dir (OpenCode's own files there go with it).
        #[serde(default)]
        opencode: bool,
    },
    /// A file it wrote, with the xxh3-128 of its contents.
    File {
        /// The file.
        path: PathBuf,
        /// The hash of what was written.
        hash: String,
    },
    /// A block it appended.
    Block {
        /// The file.
        path: PathBuf,
        /// Whether a newline was added before the block.
        separator: bool,
        /// Whether the file was created for the block.
        created: bool,
    },
    /// A hook it moved aside and replaced by one that runs it.
    WrappedHook {
        /// The hook.
        path: PathBuf,
        /// Where the original is kept.
        original: PathBuf,
    },
    /// A Claude Code settings file it added hooks to.
    Settings {
        /// The file.
        path: PathBuf,
        /// Its contents before the first install (`None`: there was no file).
        original: Option<String>,
        /// The hash of what install wrote.
        hash: String,
    },
    /// A Codex file (`hooks.json`, `config.toml`) it added entries to.
    CodexFile {
        /// The file.
        path: PathBuf,
        /// The `hooks.json` the entries are for.
        hooks_file: PathBuf,
        /// Its contents before the first install (`None`: there was no file).
        original: Option<String>,
        /// The hash of what install wrote.
        hash: String,
    },
    /// A git config value it added.
    Config {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

impl Item {
    /// Whether `other` records the same file, directory or config value.
    fn same_target(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Dir { path: a, .. }, Item::Dir { path: b, .. })
            | (Item::File { path: a, .. }, Item::File { path: b, .. })
            | (Item::Block { path: a, .. }, Item::Block { path: b, .. })
            | (Item::WrappedHook { path: a, .. }, Item::WrappedHook { path: b, .. })
            | (Item::Settings { path: a, .. }, Item::Settings { path: b, .. })
            | (Item::CodexFile { path: a, .. }, Item::CodexFile { path: b, .. }) => a == b,
            (Item::Config { key: a, value: x }, Item::Config { key: b, value: y }) => {
                a == b && x == y
            }
            _ => false,
        }
    }
}

/// The record of what installs did, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format (1).
    pub version: u32,
    /// What was done, oldest first.
    pub items: Vec<Item>,
}

impl Manifest {
    /// Reads the manifest at `path`; an absent file is an empty manifest.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| InstallError::Manifest {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest {
                version: 1,
                items: Vec::new(),
            }),
            Err(source) => Err(InstallError::Io {
                action: "cannot read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the manifest to `path`, or removes the file when it records nothing.
    pub fn store(&self, path: &Path) -> Result<()> {
        if self.items.is_empty() {
            remove_file(path)?;
            remove_empty_dir(path.parent());
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
        }
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        crate::fsutil::write_atomically(path, text.as_bytes())
            .map_err(|e| io("cannot write", path, e))
    }

    /// Records `item`, replacing an older record of the same file or config value.
    pub fn record(&mut self, item: Item) {
        if let Some(old) = self.items.iter_mut().find(|i| i.same_target(&item)) {
            *old = item;
        } else {
            self.items.push(item);
        }
    }

    /// The recorded hash of a file git-session wrote at `path`.
    pub fn file_hash(&self, path: &Path) -> Option<&str> {
        self.items.iter().find_map(|i| match i {
            Item::File { path: p, hash } if p == path => Some(hash.as_str()),
            _ => None,
        })
    }
}

/// The xxh3-128 of `bytes` as 32 hex digits.
pub fn hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// The manifests of `ctx`, as read now.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// The repository's.
    pub repo: Manifest,
    /// The global one.
    pub global: Manifest,
}

impl Manifests {
    /// Reads both manifests of `ctx`.
    pub fn load(ctx: &Context) -> Result<Self> {
        let read = |which| match ctx.manifest_path(which) {
            Some(path) => Manifest::load(&path),
            None => Ok(Manifest::default()),
        };
        Ok(Manifests {
            repo: read(Which::Repo)?,
            global: read(Which::Global)?,
        })
    }

    /// The manifest `which`.
    pub(crate) fn get(&self, which: Which) -> &Manifest {
        match which {
            Which::Repo => &self.repo,
            Which::Global => &self.global,
        }
    }

    /// The manifest `which`, to record in.
    pub(crate) fn get_mut(&mut self, which: Which) -> &mut Manifest {
        match which {
            Which::Repo => &mut self.repo,
            Which::Global => &mut self.global,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_records_one_item_per_target_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("install.json");
        let mut manifest = Manifest::load(&path).unwrap();
        assert!(manifest.items.is_empty(), "no file is an empty manifest");
        manifest.record(Item::File {
            path: "a".into(),
            hash: "1".into(),
        });
        manifest.record(Item::File {
            path: "a".into(),
            hash: "2".into(),
        });
        manifest.record(Item::Config {
            key: "remote.origin.fetch".into(),
            value: "x".into(),
        });
        assert_eq!(
            manifest.items.len(),
            2,
            "a newer record of a file replaces the older"
        );
        assert_eq!(manifest.file_hash(Path::new("a")), Some("2"));
        manifest.store(&path).unwrap();
        assert_eq!(Manifest::load(&path).unwrap(), manifest);
        manifest.items.clear();
        manifest.store(&path).unwrap();
        assert!(!path.exists(), "an empty manifest is no file");
    }
}
