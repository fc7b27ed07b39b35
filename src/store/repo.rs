//! Opening the user's repository, with the guards gix needs, and the identity saves are made as.

use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};

use super::{Result, StoreError};

/// The user's repository, opened for the sessions store.
///
/// Works the same in a worktree, a linked worktree, a bare repository and a repository with no
/// commits: the sessions refs need neither a worktree nor HEAD.
pub struct Store {
    pub(super) repo: gix::Repository,
    /// What this store holds of the maintenance lock (see [`super::lock`]).
    pub(super) maintenance: RefCell<super::lock::Held>,
    /// The pack indexes, read when an object is first looked for in packs (see
    /// [`super::objects`]).
    pub(super) packs: RefCell<Option<Vec<super::objects::PackIndex>>>,
    /// What a batched store holds back (see [`super::batch`]); `None` for a plain store.
    pub(super) batch: RefCell<Option<super::batch::Batch>>,
    /// [`Self::state_dir`], resolved once (a save asks for it several times).
    pub(super) state_dir: OnceCell<PathBuf>,
}

/// Who a commit is made by: name, email and time (seconds since the epoch, with the UTC offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name, from git config or the fallback.
    pub name: String,
    /// Email, from git config or the fallback.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

/// The open options with the settings given as `git -c key=value` applied on top of every config
/// file, as git applies them. git passes them to a subcommand such as `git session` in
/// `GIT_CONFIG_PARAMETERS` (gix itself reads only `GIT_CONFIG_COUNT`, the other way).
fn with_command_line_config() -> gix::sec::trust::Mapping<gix::open::Options> {
    let mut mapping = gix::sec::trust::Mapping::<gix::open::Options>::default();
    let parameters = std::env::var("GIT_CONFIG_PARAMETERS")
        .map(|text| config_parameters(&text))
        .unwrap_or_default();
    if !parameters.is_empty() {
        mapping.full = mapping.full.cli_overrides(parameters.clone());
        mapping.reduced = mapping.reduced.cli_overrides(parameters);
    }
    mapping
}

/// Parses git's `GIT_CONFIG_PARAMETERS`: shell-quoted words, each `'key'='value'`, `'key'` (a
/// key without value, which is true) or the older `'key=value'`; returned as `key=value` or `key`.
/// A word that is not quoted as git quotes it ends the list, as git stops there too.
pub(crate) fn config_parameters(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        // One word: quoted runs, backslash escapes between them, and at most one bare `=`.
        let (mut key, mut value, mut in_value) = (String::new(), String::new(), false);
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            let part = if in_value { &mut value } else { &mut key };
            match c {
                '\'' => {
                    let mut closed = false;
                    for q in chars.by_ref() {
                        if q == '\'' {
                            closed = true;
                            break;
                        }
                        part.push(q);
                    }
                    if !closed {
                        return out;
                    }
                }
                '\\' => match chars.next() {
                    Some(escaped) => part.push(escaped),
                    None => return out,
                },
                '=' if !in_value => in_value = true,
                _ => return out,
            }
        }
        out.push(if in_value {
            format!("{key}={value}")
        } else {
            key
        });
    }
}

/// Opens a [`Store`]'s repository again, from any thread (see [`Store::for_each_in_order`]).
#[derive(Clone)]
struct Reopener {
    git_dir: PathBuf,
    options: gix::open::Options,
}

impl Reopener {
    /// A new store on the same repository.
    fn open(&self) -> Result<Store> {
        let repo = gix::open_opts(&self.git_dir, self.options.clone()).map_err(|_| {
            StoreError::NotARepository {
                path: self.git_dir.clone(),
            }
        })?;
        Store::checked(repo)
    }
}

impl Store {
    /// Finds the repository containing `path` (honouring `GIT_DIR` and friends) and checks that
    /// gix can write its refs and objects correctly.
    pub fn discover(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
            path,
            Default::default(),
            with_command_line_config(),
        )
        .map(gix::Repository::from)
        .map_err(|err| {
            let text = err.to_string();
            if text.contains("bject format") || text.contains("sha256") {
                StoreError::UnsupportedObjectFormat {
                    git_dir: path.to_path_buf(),
                    format: "sha256".into(),
                }
            } else {
                StoreError::NotARepository {
                    path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
                }
            }
        })?;
        Self::checked(repo)
    }

    /// Opens the repository at exactly `git_dir_or_worktree`, without searching upwards.
    pub fn open(git_dir_or_worktree: impl AsRef<Path>) -> Result<Self> {
        let path = git_dir_or_worktree.as_ref();
        let options = with_command_line_config();
        let repo = gix::open_opts(path, options.full).map_err(|_| StoreError::NotARepository {
            path: path.to_path_buf(),
        })?;
        Self::checked(repo)
    }

    /// What opens this repository again, with the options this store was opened with: each
    /// thread that reads sessions opens a store of its own (a store is not shared between
    /// threads). `None` for a batched store, whose pending objects and refs only it can see.
    fn reopener(&self) -> Option<Reopener> {
        if self.batch.borrow().is_some() {
            return None;
        }
        Some(Reopener {
            git_dir: self.repo.git_dir().to_path_buf(),
            options: self.repo.open_options().clone(),
        })
    }

    /// Runs `work` on every item with a store, on every core (each thread with a store of its
    /// own, this one's on this thread when there are few items or it is batched), and hands the
    /// results to `visit` in the items' order: see [`crate::parallel::for_each_in_order`].
    pub fn for_each_in_order<T, R, E>(
        &self,
        items: &[T],
        work: &(dyn Fn(&Store, &T) -> std::result::Result<R, E> + Sync),
        visit: &mut dyn FnMut(R) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        T: Sync,
        R: Send,
        E: Send + From<StoreError>,
    {
        let open = self
            .reopener()
            .map(|reopener| move || -> std::result::Result<Store, E> { Ok(reopener.open()?) });
        type Open<'a, E> = &'a (dyn Fn() -> std::result::Result<Store, E> + Sync);
        crate::parallel::for_each_in_order(
            items,
            self,
            open.as_ref().map(|f| f as Open<'_, E>),
            work,
            visit,
        )
    }

    fn checked(mut repo: gix::Repository) -> Result<Self> {
        Self::check_formats(&repo)?;
        Self::prefer_default_compression(&mut repo);
        Ok(Store {
            repo,
            maintenance: RefCell::default(),
            packs: RefCell::default(),
            batch: RefCell::default(),
            state_dir: OnceCell::new(),
        })
    }

    /// Writes loose objects at zlib's default level (the level git packs with) unless the user
    /// chose one: git's loose default (level 1) favours speed, but a save writes little, and its
    /// objects stay loose until the next gc. Measured: 7-14% fewer bytes on disk.
    fn prefer_default_compression(repo: &mut gix::Repository) {
        let config = repo.config_snapshot();
        let chosen = config.integer("core.looseCompression").is_some()
            || config.integer("core.compression").is_some();
        if chosen {
            return;
        }
        let mut config = repo.config_snapshot_mut();
        if config
            .set_value(&gix::config::tree::Core::LOOSE_COMPRESSION, "-1")
            .is_ok()
        {
            let _ = config.commit();
        }
    }

    fn check_formats(repo: &gix::Repository) -> Result<()> {
        let config = repo.config_snapshot();
        // gix 0.90 writes loose ref files in a reftable repository, which git never reads: a save
        // would be invisible to git and its objects pruned by the next gc. Refuse instead.
        if let Some(storage) = config.string("extensions.refStorage") {
            if storage.to_string().eq_ignore_ascii_case("reftable") {
                return Err(StoreError::Reftable {
                    git_dir: repo.git_dir().to_path_buf(),
                });
            }
        }
        if let Some(format) = config.string("extensions.objectFormat") {
            let format = format.to_string();
            if !format.eq_ignore_ascii_case("sha1") {
                return Err(StoreError::UnsupportedObjectFormat {
                    git_dir: repo.git_dir().to_path_buf(),
                    format,
                });
            }
        }
        Ok(())
    }

    /// A new bare repository in a temporary directory, for unit tests (uses the `git` binary to
    /// create it, as a user would).
    #[cfg(test)]
    pub(crate) fn temporary() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let status = std::process::Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(dir.path())
            .status()
            .expect("run git init");
        assert!(status.success(), "git init --bare");
        let store = Store::open(dir.path()).expect("open the new repository");
        (dir, store)
    }

    /// The git dir shared by all worktrees (where refs and objects live).
    pub fn common_dir(&self) -> PathBuf {
        self.repo.common_dir().to_path_buf()
    }

    /// The git dir of this worktree (equal to [`Self::common_dir`] outside linked worktrees).
    pub fn git_dir(&self) -> PathBuf {
        self.repo.git_dir().to_path_buf()
    }

    /// A directory for git-session's own local state (caches), inside the common git dir so
    /// all worktrees share it and nothing lands in the working tree.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .get_or_init(|| {
                let common = self.repo.common_dir();
                let absolute =
                    std::fs::canonicalize(common).unwrap_or_else(|_| common.to_path_buf());
                absolute.join("git-session")
            })
            .clone()
    }

    /// The worktree root, or `None` in a bare repository.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.repo.workdir().map(Path::to_path_buf)
    }

    /// The directory holding the object database.
    pub fn objects_dir(&self) -> PathBuf {
        self.repo.objects.store_ref().path().to_path_buf()
    }

    /// A string value from the repository's git config (all scopes merged), such as `gc.auto`.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }

    /// Every value of a multi-valued key from the repository's git config (all scopes merged,
    /// in the order git reads them), such as `session.redactRule`; empty when unset.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.repo
            .config_snapshot()
            .plumbing()
            .strings(key)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.to_string())
            .collect()
    }

    /// An integer value from the repository's git config.
    pub fn config_integer(&self, key: &str) -> Option<i64> {
        self.repo.config_snapshot().integer(key)
    }

    /// The identity to commit as: `GIT_COMMITTER_*`, then `user.name`/`user.email`, then a
    /// fallback of `git-session <$USER@localhost>` so saving works before git is configured.
    pub fn committer(&self) -> Identity {
        let now = gix::date::Time::now_local_or_utc();
        let fallback_user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "git-session".to_owned());
        match self.repo.committer() {
            Some(Ok(sig)) => {
                let time = sig.time().unwrap_or(now);
                Identity {
                    name: sig.name.to_string(),
                    email: sig.email.to_string(),
                    seconds: time.seconds,
                    offset: time.offset,
                }
            }
            _ => Identity {
                name: "git-session".to_owned(),
                email: format!("{fallback_user}@localhost"),
                seconds: now.seconds,
                offset: now.offset,
            },
        }
    }
}

#[cfg(test)]
mod command_line_config_tests {
    use super::config_parameters;

    #[test]
    fn git_config_parameters_are_read_as_git_writes_them() {
        // What git 2.47 sets for: -c session.redactRule='a=b c' -c user.name="A 'B" -c core.bare
        let text = r#"'session.redactRule'='a=b c' 'user.name'='A '\''B' 'core.bare' 'x.y'= 'alias.e'=''\!'ls'"#;
        assert_eq!(
            config_parameters(text),
            [
                "session.redactRule=a=b c",
                "user.name=A 'B",
                "core.bare",
                "x.y=",
                "alias.e=!ls"
            ]
        );
        // Older git quoted key and value as one word.
        assert_eq!(
            config_parameters("'user.name=Old Style'"),
            ["user.name=Old Style"]
        );
        assert!(config_parameters("").is_empty());
        assert_eq!(config_parameters("'a.b'='1' garbage"), ["a.b=1"]);
    }
}
