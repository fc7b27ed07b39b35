//! The hermetic environment benches run git and git-session in: a temp dir with a home and a
//! global git config of its own, and commands that see nothing else of the caller's environment.
//! Benches include it with `#[path = "support/hermetic.rs"] mod hermetic;`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temp dir holding `home/` and `gitconfig`, removed when dropped unless kept.
pub struct Hermetic {
    dir: tempfile::TempDir,
}

impl Hermetic {
    /// A temp dir named `<prefix>XXXXXX` with `home/` and a `gitconfig` holding a bench
    /// identity, `main` as the default branch, no automatic gc (one started in the background
    /// would take a core from what is measured after it), then `extra_config` (git config text).
    pub fn new(prefix: &str, extra_config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("a temp dir for the bench");
        std::fs::create_dir(dir.path().join("home")).expect("the bench's HOME");
        std::fs::write(
            dir.path().join("gitconfig"),
            format!(
                "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n{extra_config}"
            ),
        )
        .expect("the bench's gitconfig");
        Hermetic { dir }
    }

    /// The temp dir.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Keeps the temp dir after the bench ends, and returns it.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// `program` run in `dir` with nothing of the caller's environment but `PATH`: the temp
    /// home, its git config and no system one, the C locale, no terminal prompts, empty stdin.
    pub fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root().join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.root().join("gitconfig"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .current_dir(dir)
            .stdin(Stdio::null());
        cmd
    }
}
