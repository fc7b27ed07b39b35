//! Batched writes, for commands that store many sessions at once (`import` of a folder).
//!
//! A [`Store::batched`] store keeps the objects it writes in memory (gix's object memory: reads
//! see them at once) and records its ref updates instead of applying them. [`Store::take_pack`]
//! then hands out every object written so far as one pack stream, for the caller to index
//! (`git index-pack`), and [`Store::commit_batch`] applies the recorded updates in one ref
//! transaction. So a thousand small saves cost one pack and one transaction instead of a
//! thousand loose-object and lock-file storms.
//!
//! The store's guarantees hold: a recorded update is checked against the ref's current value
//! when it is recorded (a moved ref fails at once, as [`Store::update_ref`] does), and again
//! when it is applied (compare-and-swap on what was read; a ref moved meanwhile is refused and
//! reported, never overwritten); refs move only after every object they reach is in the object
//! database (checked before the transaction), so a crash at any point leaves each ref at its
//! old value or at a complete save. Dropping a batched store without committing writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use gix::objs::Kind;
use gix::refs::transaction::RefEdit;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::Status;

use super::refs::{edit_of, full_name, show, RefUpdate};
use super::{ObjectId, Result, Store, StoreError};

/// What a batched store holds back: its ref updates, and the ids and size of the objects in
/// memory.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Full ref name -> the update recorded for it (the first expected value, the last new one).
    refs: BTreeMap<String, Pending>,
    /// Objects written to memory since the last [`Store::take_pack`].
    objects: HashSet<ObjectId>,
    /// Their bytes.
    bytes: u64,
    /// What refs the batch has not updated held when it first read them: each is read from disk
    /// once (the commit checks them again).
    read: HashMap<String, Option<ObjectId>>,
}

/// A ref update recorded by a batched store.
#[derive(Debug, Clone)]
struct Pending {
    /// What the ref held when the batch first updated it.
    expected: Option<ObjectId>,
    /// What it holds once the batch is committed.
    new: Option<ObjectId>,
    /// The reflog message of the last update.
    log_message: String,
}

impl Store {
    /// A store on the same repository whose object writes stay in memory and whose ref updates
    /// are recorded, until [`Self::take_pack`] and [`Self::commit_batch`] (see the module docs).
    pub fn batched(&self) -> Store {
        Store {
            repo: self.repo.clone().with_object_memory(),
            maintenance: Default::default(),
            packs: Default::default(),
            batch: std::cell::RefCell::new(Some(Batch::default())),
            state_dir: self.state_dir.clone(),
        }
    }

    /// The bytes of the objects a batched store holds in memory (0 for other stores).
    pub fn batch_bytes(&self) -> u64 {
        self.batch.borrow().as_ref().map_or(0, |b| b.bytes)
    }

    /// Whether `id` was written to this batched store's memory.
    pub(super) fn in_batch(&self, id: ObjectId) -> bool {
        self.batch
            .borrow()
            .as_ref()
            .is_some_and(|b| b.objects.contains(&id))
    }

    /// Counts an object written to memory; false when this store is not batched.
    pub(super) fn note_batched(&self, id: ObjectId, bytes: usize) -> bool {
        match self.batch.borrow_mut().as_mut() {
            Some(b) => {
                if b.objects.insert(id) {
                    b.bytes += bytes as u64;
                }
                true
            }
            None => false,
        }
    }

    /// The value of `name` for a batched store: the batch's update, else what the ref held when
    /// the batch first read it. `None` for a store that is not batched.
    pub(super) fn batch_view(&self, name: &str) -> Result<Option<Option<ObjectId>>> {
        {
            let batch = self.batch.borrow();
            let Some(batch) = batch.as_ref() else {
                return Ok(None);
            };
            if let Some(p) = batch.refs.get(name) {
                return Ok(Some(p.new));
            }
            if let Some(value) = batch.read.get(name) {
                return Ok(Some(*value));
            }
        }
        let value = self.find_ref_on_disk(name)?;
        if let Some(batch) = self.batch.borrow_mut().as_mut() {
            batch.read.insert(name.to_owned(), value);
        }
        Ok(Some(value))
    }

    /// Puts the batch's updates of refs under `prefix` over `refs` (sorted by name).
    pub(super) fn overlay_batched_refs(&self, prefix: &str, refs: &mut Vec<(String, ObjectId)>) {
        let batch = self.batch.borrow();
        let Some(batch) = batch.as_ref() else { return };
        let updated = batch.refs.range(prefix.to_owned()..);
        let mut changed = false;
        for (name, pending) in updated.take_while(|(n, _)| n.starts_with(prefix)) {
            refs.retain(|(n, _)| n != name);
            if let Some(new) = pending.new {
                refs.push((name.clone(), new));
            }
            changed = true;
        }
        if changed {
            refs.sort();
        }
    }

    /// Records `update` in a batched store after checking it against the ref's current value
    /// (the batch's own, else the one on disk). Returns false when this store is not batched.
    pub(super) fn record_update(&self, update: &RefUpdate<'_>) -> Result<bool> {
        let Some(current) = self.batch_view(update.name)? else {
            return Ok(false);
        };
        if current != update.expected {
            return Err(StoreError::RefMoved {
                name: update.name.to_owned(),
                expected: show(update.expected),
                actual: show(current),
            });
        }
        let mut batch = self.batch.borrow_mut();
        let batch = batch.as_mut().expect("checked above");
        batch
            .refs
            .entry(update.name.to_owned())
            .and_modify(|p| {
                p.new = update.new;
                p.log_message = update.log_message.to_owned();
            })
            .or_insert_with(|| Pending {
                expected: update.expected,
                new: update.new,
                log_message: update.log_message.to_owned(),
            });
        Ok(true)
    }

    /// Takes the objects written to memory so far as one pack stream (version 2, objects
    /// zlib-compressed whole at the level git packs with, no deltas: `git gc` finds those later), or `None` when there are none. The objects stay
    /// readable only once the caller has indexed the pack into the repository.
    pub fn take_pack(&self) -> Result<Option<Vec<u8>>> {
        let Some(storage) = self.repo.objects.reset_object_memory() else {
            return Ok(None);
        };
        if let Some(b) = self.batch.borrow_mut().as_mut() {
            b.objects.clear();
            b.bytes = 0;
        }
        if storage.is_empty() {
            return Ok(None);
        }
        let mut objects: Vec<(&ObjectId, &(Kind, Vec<u8>))> = storage.iter().collect();
        // Commits, trees, then blobs, as git orders a pack's objects by type.
        objects.sort_by_key(|(id, (kind, _))| (kind_order(*kind), **id));
        let io = |source| StoreError::Io {
            context: "writing a pack of the batch's objects".into(),
            source,
        };
        let mut pack = Vec::new();
        pack.extend_from_slice(b"PACK");
        pack.extend_from_slice(&2u32.to_be_bytes());
        pack.extend_from_slice(&(objects.len() as u32).to_be_bytes());
        // One compressor for the whole pack: making one costs more than compressing a small
        // object with it.
        let mut z = Compress::new(gix::zlib::Compression::DEFAULT);
        for (_, (kind, data)) in objects {
            pack.extend_from_slice(&entry_header(*kind, data.len() as u64));
            deflate_onto(&mut z, data, &mut pack).map_err(io)?;
        }
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        hasher.update(&pack);
        let digest = hasher
            .try_finalize()
            .map_err(|e| StoreError::git("hashing the batch's pack", e))?;
        pack.extend_from_slice(digest.as_slice());
        Ok(Some(pack))
    }

    /// Applies the recorded ref updates in one transaction, each only if its ref still holds
    /// what the batch read. When one of them fails, each is applied on its own instead, so
    /// the others still move; returns the refs that did not move, with why. Every object a
    /// moved ref reaches must be in the object database: call after indexing [`Self::take_pack`].
    pub fn commit_batch(&self) -> Result<Vec<(String, StoreError)>> {
        let pending = match self.batch.borrow_mut().as_mut() {
            Some(b) => {
                b.read.clear();
                std::mem::take(&mut b.refs)
            }
            None => return Ok(Vec::new()),
        };
        // A new pack was indexed: the freshening list of packs is out of date.
        *self.packs.borrow_mut() = None;
        let mut failed = Vec::new();
        let mut ready = Vec::new();
        for (name, p) in pending {
            match p.new.filter(|id| !self.has_object(*id)) {
                Some(missing) => failed.push((
                    name,
                    StoreError::MissingObject {
                        id: missing.to_string(),
                    },
                )),
                None if p.new == p.expected => {}
                None => ready.push((name, p)),
            }
        }
        if ready.is_empty() {
            return Ok(failed);
        }
        let edits = ready
            .iter()
            .map(|(name, p)| edit(name, p))
            .collect::<Result<Vec<_>>>()?;
        if self.edit_refs_packed(edits).is_ok() {
            return Ok(failed);
        }
        // One of them moved (or its lock is held): apply them one by one, as a save would.
        for (name, p) in ready {
            let update = RefUpdate {
                name: &name,
                expected: p.expected,
                new: p.new,
                log_message: &p.log_message,
            };
            if let Err(e) = self.update_ref_now(&update) {
                failed.push((name, e));
            }
        }
        Ok(failed)
    }
}

/// The transaction edit of one recorded update.
fn edit(name: &str, p: &Pending) -> Result<RefEdit> {
    let update = RefUpdate {
        name,
        expected: p.expected,
        new: p.new,
        log_message: &p.log_message,
    };
    Ok(edit_of(full_name(name)?, &update))
}

/// zlib-compresses `data` as one whole stream onto the end of `out`, with `z` reset first.
fn deflate_onto(z: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    z.reset();
    let mut buf = [0u8; 16 * 1024];
    let mut input = data;
    loop {
        let (read, written) = (z.total_in(), z.total_out());
        let status = z
            .compress(input, &mut buf, FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        out.extend_from_slice(&buf[..(z.total_out() - written) as usize]);
        input = &input[(z.total_in() - read) as usize..];
        if status == Status::StreamEnd {
            return Ok(());
        }
        if z.total_in() == read && z.total_out() == written {
            return Err(std::io::Error::other("zlib made no progress"));
        }
    }
}

/// The type-and-size header of a pack entry: type in bits 4-6 of the first byte, the size in
/// 4 bits there and 7 bits in each following byte, least significant first.
fn entry_header(kind: Kind, size: u64) -> Vec<u8> {
    let code: u8 = match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    };
    let mut out = Vec::with_capacity(10);
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest > 0 {
        out.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    out.push(byte);
    out
}

fn kind_order(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 0,
        Kind::Tag => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EntryKind, TreeEntry};
    use std::io::Write as _;

    fn git(store: &Store, args: &[&str], input: Option<&[u8]>) -> String {
        let mut child = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(store.common_dir())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run git");
        if let Some(bytes) = input {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn save(store: &Store, text: &str, parent: Option<ObjectId>) -> ObjectId {
        let blob = store.write_blob(text.as_bytes()).unwrap();
        let tree = store
            .write_tree(&[TreeEntry {
                name: "m".into(),
                kind: EntryKind::Blob,
                id: blob,
            }])
            .unwrap();
        store
            .write_commit(tree, &parent.into_iter().collect::<Vec<_>>(), "save\n")
            .unwrap()
    }

    #[test]
    fn one_compressor_writes_one_whole_stream_per_object() {
        // Empty, small, and larger than the output buffer even compressed (an LCG's bytes).
        let mut seed = 7u64;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (seed >> 56) as u8
            })
            .collect();
        let inputs: [&[u8]; 4] = [b"", b"hello hello hello", &noise, b"after a large one"];
        let mut z = Compress::new(gix::zlib::Compression::DEFAULT);
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for input in inputs {
            deflate_onto(&mut z, input, &mut out).unwrap();
            ends.push(out.len());
        }
        let mut start = 0;
        for (input, end) in inputs.iter().zip(ends) {
            let mut back = vec![0u8; input.len() + 1];
            let (status, read, written) = gix::zlib::Inflate::default()
                .once(&out[start..end], &mut back)
                .unwrap();
            assert_eq!(status, Status::StreamEnd);
            assert_eq!((read, &back[..written]), (end - start, *input));
            start = end;
        }
    }

    #[test]
    fn a_batch_writes_nothing_until_its_pack_is_indexed_and_committed() {
        let (_dir, store) = Store::temporary();
        let batch = store.batched();
        let a = save(&batch, &"a large message ".repeat(100), None);
        let update = |name, new| RefUpdate {
            name,
            expected: None,
            new: Some(new),
            log_message: "import",
        };
        batch.update_ref(&update("refs/sessions/x/a", a)).unwrap();
        assert_eq!(batch.find_ref("refs/sessions/x/a").unwrap(), Some(a));
        assert_eq!(
            batch.list_refs("refs/sessions/").unwrap(),
            vec![("refs/sessions/x/a".to_owned(), a)],
            "the batch sees its own updates"
        );
        assert!(batch.has_object(a), "and its own objects");
        assert_eq!(store.find_ref("refs/sessions/x/a").unwrap(), None);
        assert!(!store.has_object(a), "nothing on disk yet");
        assert!(
            batch
                .update_ref(&update("refs/sessions/x/a", a))
                .is_err_and(|e| matches!(e, StoreError::RefMoved { .. })),
            "a second creation is refused, as on disk"
        );
        let pack = batch.take_pack().unwrap().expect("a pack");
        git(&store, &["index-pack", "--stdin", "--strict"], Some(&pack));
        assert!(batch.commit_batch().unwrap().is_empty());
        assert_eq!(store.find_ref("refs/sessions/x/a").unwrap(), Some(a));
        assert_eq!(
            git(&store, &["fsck", "--strict", "--no-dangling"], None),
            ""
        );
        assert_eq!(
            git(&store, &["count-objects", "-v"], None)
                .lines()
                .find(|l| l.starts_with("count:")),
            Some("count: 0"),
            "no loose object"
        );
    }

    #[test]
    fn a_ref_moved_under_a_batch_is_refused_and_the_others_move() {
        let (_dir, store) = Store::temporary();
        let batch = store.batched();
        let a = save(&batch, "a", None);
        let b = save(&batch, "b", None);
        for (name, id) in [("refs/sessions/x/a", a), ("refs/sessions/x/b", b)] {
            batch
                .update_ref(&RefUpdate {
                    name,
                    expected: None,
                    new: Some(id),
                    log_message: "import",
                })
                .unwrap();
        }
        let pack = batch.take_pack().unwrap().unwrap();
        git(&store, &["index-pack", "--stdin"], Some(&pack));
        let other = save(&store, "someone else's", None);
        git(
            &store,
            &["update-ref", "refs/sessions/x/a", &other.to_string()],
            None,
        );
        let failed = batch.commit_batch().unwrap();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].0, "refs/sessions/x/a");
        assert!(matches!(failed[0].1, StoreError::RefMoved { .. }));
        assert_eq!(
            store.find_ref("refs/sessions/x/a").unwrap(),
            Some(other),
            "never overwritten"
        );
        assert_eq!(store.find_ref("refs/sessions/x/b").unwrap(), Some(b));
    }

    #[test]
    fn refs_never_point_at_objects_that_were_not_written() {
        let (_dir, store) = Store::temporary();
        let batch = store.batched();
        let a = save(&batch, "a", None);
        batch
            .update_ref(&RefUpdate {
                name: "refs/sessions/x/a",
                expected: None,
                new: Some(a),
                log_message: "import",
            })
            .unwrap();
        // The pack is taken but never indexed (a failed index-pack).
        let _ = batch.take_pack().unwrap();
        let failed = batch.commit_batch().unwrap();
        assert!(matches!(
            failed[..],
            [(_, StoreError::MissingObject { .. })]
        ));
        assert_eq!(store.find_ref("refs/sessions/x/a").unwrap(), None);
    }

    #[test]
    fn entry_headers_carry_type_and_size() {
        assert_eq!(entry_header(Kind::Blob, 5), vec![0x35]);
        assert_eq!(entry_header(Kind::Commit, 0x10), vec![0x90, 0x01]);
        assert_eq!(entry_header(Kind::Tree, 1000), vec![0xa8, 0x3e]);
    }
}
