//! The maintenance lock: object writers hold it shared, pruning holds it exclusively.
//!
//! git's pruning deletes every unreachable object older than its expiry, and with `--prune=now`
//! that includes the objects a save has written but not yet made reachable (the ref moves last).
//! So writing objects and pruning must not overlap. Every object this store writes or reuses is
//! written under `<common dir>/git-session/maintenance.lock` held shared: within a
//! [`MaintenanceGuard`] when the caller took one, else from the first write until the [`Store`] is
//! dropped. `git session gc` and `prune` hold it exclusively. Shared holders never wait for each
//! other, so saves run in parallel as before.
//!
//! It is an OS file lock (`flock` on Unix, `LockFileEx` on Windows). The kernel drops it when its
//! process ends, however it ends, so a killed save or gc never leaves a stale lock behind: waiting
//! always means waiting for a live process. Waiting is bounded by `session.lockTimeout` (seconds,
//! default 60); then [`StoreError::MaintenanceBusy`] says who holds it. An exclusive holder writes
//! what it is into the file (and empties it when done) for that message.
//!
//! git itself knows nothing of this lock: a `git gc --prune=now` run by hand while a save writes
//! can still remove the save's new objects, as it can for any git command that writes (git's
//! documentation of `gc` and `prune` warns about it). Saves check their objects before the ref
//! moves, and `git session repair` mends a history damaged that way.

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Result, Store, StoreError};

/// How long to wait for a conflicting holder when `session.lockTimeout` is not set.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The git config key that sets the wait, in seconds.
pub const LOCK_TIMEOUT_KEY: &str = "session.lockTimeout";

/// How the maintenance lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Writing objects and moving refs: any number of holders at once.
    Shared,
    /// Pruning objects: no other holder.
    Exclusive,
}

/// What this store holds of the maintenance lock: one open file, locked once, and counts of the
/// guards using it.
#[derive(Debug, Default)]
pub(super) struct Held {
    file: Option<File>,
    path: PathBuf,
    shared: u32,
    exclusive: u32,
    /// Taken by a write outside any guard; kept until the store is dropped.
    sticky: bool,
}

/// The maintenance lock held by this store until the guard is dropped.
#[must_use = "the lock is released when the guard is dropped"]
#[derive(Debug)]
pub struct MaintenanceGuard<'a> {
    held: &'a RefCell<Held>,
    mode: LockMode,
}

impl Drop for MaintenanceGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.held.borrow_mut();
        match self.mode {
            LockMode::Shared => held.shared -= 1,
            LockMode::Exclusive => held.exclusive -= 1,
        }
        if held.exclusive == 0 && self.mode == LockMode::Exclusive {
            // Say nobody holds it any more; the lock itself goes with the file below, or is
            // already shared by an inner guard.
            if let Some(file) = held.file.as_mut() {
                let _ = file.set_len(0);
            }
        }
        if held.shared == 0 && held.exclusive == 0 && !held.sticky {
            // Closing the file releases the lock.
            held.file = None;
        }
    }
}

impl Store {
    /// Takes the maintenance lock in `mode` for as long as the guard lives, waiting for a
    /// conflicting holder up to `session.lockTimeout`. `what` names the holder in other
    /// processes' messages (exclusive mode only), such as `git session gc --now`.
    ///
    /// Nested guards of one store share one lock: a shared guard inside an exclusive one costs
    /// nothing. An exclusive guard while this store holds the lock shared is refused, since
    /// converting a file lock is not atomic.
    pub fn lock_maintenance(&self, mode: LockMode, what: &str) -> Result<MaintenanceGuard<'_>> {
        let mut held = self.maintenance.borrow_mut();
        match mode {
            LockMode::Shared if held.file.is_some() => held.shared += 1,
            LockMode::Exclusive if held.exclusive > 0 => held.exclusive += 1,
            LockMode::Exclusive if held.file.is_some() => {
                return Err(StoreError::Io {
                    context: format!("locking {} exclusively", held.path.display()),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "this process already holds it shared",
                    ),
                })
            }
            _ => {
                let (path, mut file) = self.open_lock_file()?;
                wait_for(&path, &file, mode, self.lock_timeout())?;
                if mode == LockMode::Exclusive {
                    describe_holder(&mut file, what);
                }
                held.file = Some(file);
                held.path = path;
                match mode {
                    LockMode::Shared => held.shared = 1,
                    LockMode::Exclusive => held.exclusive = 1,
                }
            }
        }
        Ok(MaintenanceGuard {
            held: &self.maintenance,
            mode,
        })
    }

    /// Makes sure the lock is held at least shared before an object is written or reused: when
    /// no guard holds it, takes it shared until this store is dropped.
    pub(super) fn hold_for_writing(&self) -> Result<()> {
        if self.maintenance.borrow().file.is_some() {
            return Ok(());
        }
        let guard = self.lock_maintenance(LockMode::Shared, "")?;
        self.maintenance.borrow_mut().sticky = true;
        drop(guard);
        Ok(())
    }

    /// The lock file's path.
    pub fn maintenance_lock_path(&self) -> PathBuf {
        self.state_dir().join("maintenance.lock")
    }

    fn lock_timeout(&self) -> Duration {
        match self.config_integer(LOCK_TIMEOUT_KEY) {
            Some(seconds) if seconds >= 0 => Duration::from_secs(seconds as u64),
            _ => DEFAULT_LOCK_TIMEOUT,
        }
    }

    fn open_lock_file(&self) -> Result<(PathBuf, File)> {
        let path = self.maintenance_lock_path();
        let io = |source| StoreError::io(format!("opening {}", path.display()), &path, source);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => file,
            // A lock file another user created (a shared repository): locking needs no write
            // access, only the holder's description does.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                File::open(&path).map_err(io)?
            }
            Err(e) => return Err(io(e)),
        };
        Ok((path, file))
    }
}

/// Locks `file` in `mode`, retrying with growing pauses until `timeout` has passed.
fn wait_for(path: &std::path::Path, file: &File, mode: LockMode, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let attempt = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::MaintenanceBusy {
                    lock: path.to_path_buf(),
                    wanted: mode,
                    holder: read_holder(path),
                    waited_secs: started.elapsed().as_secs(),
                })
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    context: format!("locking {}", path.display()),
                    source,
                })
            }
        }
        std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Writes `<what> (pid <pid>)` into the lock file (best effort: it only serves messages).
fn describe_holder(file: &mut File, what: &str) {
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{what} (pid {})", std::process::id());
}

/// The exclusive holder's description, when the file has one.
fn read_holder(path: &std::path::Path) -> Option<String> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_coexist_and_exclude_an_exclusive_one() {
        let (dir, _) = Store::temporary();
        let status = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(dir.path())
            .args(["config", LOCK_TIMEOUT_KEY, "0"])
            .status()
            .unwrap();
        assert!(status.success());
        let (a, b) = (
            Store::open(dir.path()).unwrap(),
            Store::open(dir.path()).unwrap(),
        );
        let shared = a.lock_maintenance(LockMode::Shared, "").unwrap();
        let _also = b.lock_maintenance(LockMode::Shared, "").unwrap();
        drop(_also);
        let refused = b
            .lock_maintenance(LockMode::Exclusive, "gc")
            .expect_err("a shared holder keeps an exclusive one out");
        assert!(
            matches!(
                refused,
                StoreError::MaintenanceBusy {
                    wanted: LockMode::Exclusive,
                    ..
                }
            ),
            "{refused:?}"
        );
        drop(shared);
        let exclusive = b
            .lock_maintenance(LockMode::Exclusive, "git session gc")
            .unwrap();
        let c = Store::open(dir.path()).unwrap();
        let busy = c
            .write_blob(b"x")
            .expect_err("a write waits for the exclusive holder");
        let text = busy.to_string();
        assert!(
            text.contains(&format!("git session gc (pid {})", std::process::id())),
            "the message names the holder: {text}"
        );
        drop(exclusive);
        c.write_blob(b"x")
            .expect("the write goes ahead once gc is done");
    }

    #[test]
    fn nested_guards_share_one_lock_and_a_write_inside_takes_nothing_more() {
        let (_dir, store) = Store::temporary();
        let outer = store
            .lock_maintenance(LockMode::Exclusive, "prune")
            .unwrap();
        let inner = store.lock_maintenance(LockMode::Shared, "").unwrap();
        store.write_blob(b"inside").unwrap();
        drop(inner);
        assert!(
            !store.maintenance.borrow().sticky,
            "the write used the guard"
        );
        drop(outer);
        assert!(store.maintenance.borrow().file.is_none(), "released");
        store.write_blob(b"outside").unwrap();
        assert!(
            store.maintenance.borrow().sticky,
            "held until the store goes"
        );
        let refused = store.lock_maintenance(LockMode::Exclusive, "gc");
        assert!(refused.is_err(), "no exclusive lock over a shared one");
    }
}
