//! Listing, reading and compare-and-swap updates of refs, with a reflog for every move.
//!
//! A ref only moves from the value its writer read at the start; otherwise the update fails with
//! [`StoreError::RefMoved`] and nothing changes, so callers re-read and retry. gix takes
//! `<ref>.lock`, re-reads the ref under it and renames the lock over the ref: a crash leaves the
//! ref at its old or its new value. A lock file left by a killed process is reported as
//! [`StoreError::StaleLock`] instead of waited on forever.

use std::time::{Duration, Instant, SystemTime};

use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;

use super::{ObjectId, Result, Store, StoreError};

/// How old a ref lock must be before it is reported as stale: sessions refs are held for
/// milliseconds, so ten seconds means the holder died.
const STALE_LOCK_AGE: Duration = Duration::from_secs(10);

/// How long to keep retrying on a held lock before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(20);

/// A compare-and-swap ref update.
#[derive(Debug, Clone)]
pub struct RefUpdate<'a> {
    /// Full ref name.
    pub name: &'a str,
    /// The value read at the start: `None` when the ref must not exist yet.
    pub expected: Option<ObjectId>,
    /// The new value; `None` deletes the ref.
    pub new: Option<ObjectId>,
    /// The reflog message.
    pub log_message: &'a str,
}

impl Store {
    /// Lists `(full name, target id)` of every ref under `prefix` (such as `refs/sessions/`),
    /// sorted by name. Symbolic and unreadable refs are skipped.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let platform = self
            .repo
            .references()
            .map_err(|e| StoreError::git("listing refs", e))?;
        let iter = platform
            .prefixed(prefix)
            .map_err(|e| StoreError::git(format!("listing refs under {prefix}"), e))?;
        let mut out = Vec::new();
        for reference in iter.flatten() {
            if let Some(id) = reference.try_id() {
                out.push((reference.name().as_bstr().to_string(), id.detach()));
            }
        }
        out.sort();
        self.overlay_batched_refs(prefix, &mut out);
        Ok(out)
    }

    /// Returns the object a ref points to, or `None` when it does not exist (for a batched
    /// store, what the batch will set it to).
    pub fn find_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        match self.batch_view(name)? {
            Some(value) => Ok(value),
            None => self.find_ref_on_disk(name),
        }
    }

    /// The ref's value in the repository, whatever a batch recorded.
    pub(super) fn find_ref_on_disk(&self, name: &str) -> Result<Option<ObjectId>> {
        let reference = self
            .repo
            .try_find_reference(name)
            .map_err(|e| StoreError::git(format!("reading {name}"), e))?;
        Ok(reference.and_then(|r| r.try_id().map(|id| id.detach())))
    }

    /// The ref's reflog as `(old, new)` values, oldest first (`old` is the null id for a
    /// creation); empty when the ref or its reflog does not exist.
    pub fn reflog(&self, name: &str) -> Result<Vec<(ObjectId, ObjectId)>> {
        let Some(reference) = self
            .repo
            .try_find_reference(name)
            .map_err(|e| StoreError::git(format!("reading {name}"), e))?
        else {
            return Ok(Vec::new());
        };
        let mut platform = reference.log_iter();
        let lines = platform.all().map_err(|source| StoreError::Io {
            context: format!("reading the reflog of {name}"),
            source,
        })?;
        Ok(lines
            .into_iter()
            .flatten()
            .flatten()
            .map(|line| (line.previous_oid(), line.new_oid()))
            .collect())
    }

    /// Moves (or creates, or deletes) a ref if and only if it still holds `expected`, writing a
    /// reflog entry. Waits for a briefly held lock; reports a stale one. A batched store
    /// checks the update now and records it for [`Self::commit_batch`].
    pub fn update_ref(&self, update: &RefUpdate<'_>) -> Result<()> {
        if self.record_update(update)? {
            return Ok(());
        }
        self.update_ref_now(update)
    }

    /// [`Self::update_ref`] on the repository itself, batched or not.
    pub(super) fn update_ref_now(&self, update: &RefUpdate<'_>) -> Result<()> {
        let name = full_name(update.name)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match self.try_update_ref(&name, update) {
                Ok(()) => return Ok(()),
                Err(err) if err.is_conflict() => {
                    let actual = self.find_ref_on_disk(update.name)?;
                    if actual == update.expected {
                        // Conflict reported while the value matches: a concurrent writer was
                        // mid-flight. Try again.
                    } else {
                        return Err(StoreError::RefMoved {
                            name: update.name.to_owned(),
                            expected: show(update.expected),
                            actual: show(actual),
                        });
                    }
                }
                Err(err) => {
                    let lock = self.repo.common_dir().join(format!("{}.lock", update.name));
                    let lock_age = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    match lock_age {
                        Some(age) if age >= STALE_LOCK_AGE => {
                            return Err(StoreError::StaleLock {
                                name: update.name.to_owned(),
                                lock,
                                age_secs: age.as_secs(),
                            })
                        }
                        Some(_) if started.elapsed() < LOCK_PATIENCE => {}
                        _ => return Err(StoreError::git(format!("updating {}", update.name), err)),
                    }
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    fn try_update_ref(
        &self,
        name: &gix::refs::FullName,
        update: &RefUpdate<'_>,
    ) -> std::result::Result<(), gix::Error> {
        self.edit_refs(vec![edit_of(name.clone(), update)])
    }

    /// Who reflog entries are written by: the same identity (with its fallback) as the commits,
    /// so a repository with no git identity configured can still save.
    fn reflog_signature(&self) -> gix::actor::Signature {
        let who = self.committer();
        gix::actor::Signature {
            name: who.name.as_str().into(),
            email: who.email.as_str().into(),
            time: gix::date::Time {
                seconds: who.seconds,
                offset: who.offset,
            },
        }
    }

    /// Applies `edits` in one gix transaction, with reflog entries by the committer: all of
    /// them, or none when one's expected value does not hold.
    pub(super) fn edit_refs(&self, edits: Vec<RefEdit>) -> std::result::Result<(), gix::Error> {
        let signature = self.reflog_signature();
        let mut time = gix::date::parse::TimeBuf::default();
        self.repo
            .edit_references_as(edits, Some(signature.to_ref(&mut time)))?;
        Ok(())
    }

    /// Like [`Store::edit_refs`], writing the new values into `packed-refs` (one file) instead
    /// of one loose file per ref, as `git clone` does for the refs it fetches: for a batch of
    /// thousands of new refs, which listing then reads in one go. Each ref is still locked and
    /// checked against its expected value, and gets its reflog entry.
    pub(super) fn edit_refs_packed(
        &self,
        edits: Vec<RefEdit>,
    ) -> std::result::Result<(), gix::Error> {
        use gix::lock::acquire::Fail;
        use gix::refs::file::transaction::PackedRefs;
        let signature = self.reflog_signature();
        let mut time = gix::date::parse::TimeBuf::default();
        // git's defaults for core.filesRefLockTimeout and core.packedRefsTimeout.
        let (file_lock, packed_lock) = (
            Fail::AfterDurationWithBackoff(Duration::from_millis(100)),
            Fail::AfterDurationWithBackoff(Duration::from_millis(1000)),
        );
        self.repo
            .refs
            .transaction()
            .packed_refs(
                PackedRefs::DeletionsAndNonSymbolicUpdatesRemoveLooseSourceReference(Box::new(
                    self.repo.objects.clone(),
                )),
            )
            .prepare(edits, file_lock, packed_lock)?
            .commit(Some(signature.to_ref(&mut time)))?;
        Ok(())
    }
}

/// The transaction edit of a compare-and-swap update, with its reflog entry.
pub(super) fn edit_of(name: gix::refs::FullName, update: &RefUpdate<'_>) -> RefEdit {
    let expected = match update.expected {
        Some(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
        None => PreviousValue::MustNotExist,
    };
    let change = match update.new {
        Some(new) => Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: true,
                message: update.log_message.into(),
            },
            expected,
            new: Target::Object(new),
        },
        None => Change::Delete {
            expected,
            log: RefLog::AndReference,
        },
    };
    RefEdit {
        change,
        name,
        deref: false,
    }
}

/// A ref name as gix takes it; an invalid one is an input error naming it.
pub(super) fn full_name(name: &str) -> Result<gix::refs::FullName> {
    name.try_into().map_err(|e| StoreError::Io {
        context: format!("updating {name}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")),
    })
}

pub(super) fn show(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| id.to_string())
}
