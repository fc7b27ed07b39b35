//! Saves on refs: write a save with compare-and-swap, list saved sessions, walk a session's
//! saves, resolve what the user typed, and read a save back.
//!
//! A save is one commit on `refs/sessions/<agent>/<id>` whose parent is the previous save. The
//! tree is written first (it does not depend on the parent), then the commit, then the ref moves
//! from the value read at the start; when another writer moved it meanwhile, the commit is
//! rebuilt on the new tip and the swap retried, so no save is ever lost.
//!
//! A save holds the maintenance lock shared from its first object to its ref update, so a
//! `git session gc` (which holds it exclusively) never prunes the objects of a save in flight.
//! Right before the ref moves, the save checks that every object its tree adds to what the
//! previous save holds is present; a pruning run outside git-session may have deleted some, and
//! then the save writes them again (they are all in memory) instead of committing a hole.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

use super::codec::{self, Encoded, Redact, SaveCache};
use super::keep::{self, LocalCopy};
use super::merge::MergeRules;
use super::model::Session;
use super::portable::{self, Contractor, MachinePaths};
use super::trailers::{SaveTrailers, FORMAT, PORTABLE_FORMAT};
use super::{Result, SessionError};
use crate::store::layout::{Origin, RefName, LOCAL_PREFIX, REMOTES_PREFIX};
use crate::store::{CommitInfo, LockMode, ObjectId, RefUpdate, Store, StoreError};

/// What a save added to the session it was given, from the save it follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Added {
    /// Child sessions it lacked (path, tree).
    children: Vec<(String, ObjectId)>,
    /// Messages that arrived by merge and were kept.
    kept: usize,
    /// The save they were kept from.
    on: Option<ObjectId>,
}

/// How many times a save is rebuilt on a moved ref before giving up.
const MAX_ATTEMPTS: u32 = 200;

/// How many times a save writes its objects again after finding some deleted before giving up.
const MAX_REWRITES: u32 = 3;

/// What describes a save besides the session itself.
#[derive(Debug, Clone)]
pub struct SaveMeta {
    /// The agent, used as the ref namespace (`refs/sessions/<agent>/<id>`).
    pub agent: String,
    /// The agent's version, when known.
    pub agent_version: Option<String>,
    /// The session title.
    pub title: String,
    /// Why this save is made.
    pub reason: String,
    /// Strings at least this long are split into blobs of their own.
    pub split_threshold: usize,
    /// Write nothing when any earlier save of the session (not only the newest) holds exactly
    /// this content: importing the same files twice then adds nothing.
    pub skip_if_stored: bool,
    /// This machine's roots (checkout, home, ...): stored as placeholders, recorded in the
    /// trailers (see [`super::portable`]).
    pub paths: MachinePaths,
}

/// What a save did.
#[derive(Debug, Clone)]
pub enum SaveOutcome {
    /// A new commit was written and the ref moved to it.
    Saved {
        /// The new save.
        commit: ObjectId,
        /// The save it follows, if any.
        previous: Option<ObjectId>,
        /// What was encoded.
        encoded: Encoded,
        /// Saves in the history now.
        saves: u64,
        /// Full ref name.
        ref_name: String,
        /// Messages of the newest save the local copy lacks, kept (they arrived by merge).
        kept: usize,
    },
    /// An earlier save (not the newest) holds exactly this content; nothing was written.
    AlreadyStored {
        /// That earlier save.
        commit: ObjectId,
        /// Full ref name.
        ref_name: String,
    },
    /// The session equals its last save; nothing was written.
    Unchanged {
        /// The existing save.
        commit: ObjectId,
        /// What was encoded (all of it already stored).
        encoded: Encoded,
        /// Full ref name.
        ref_name: String,
        /// Messages of the newest save the local copy lacks, kept (they arrived by merge).
        kept: usize,
    },
}

/// A saved session as its ref's tip describes it.
#[derive(Debug, Clone)]
pub struct SavedSession {
    /// The ref.
    pub name: RefName,
    /// The newest save.
    pub tip: ObjectId,
    /// What the tip's commit message records.
    pub trailers: SaveTrailers,
    /// Time of the newest save, seconds since the Unix epoch.
    pub seconds: i64,
}

/// A saved session's ref with the time of its newest save: what ordering the sessions needs,
/// without the trailers a [`SavedSession`] holds (see [`SessionHistory::session_tips`]).
#[derive(Debug, Clone)]
pub struct SessionTip {
    /// The ref.
    pub name: RefName,
    /// The newest save.
    pub tip: ObjectId,
    /// Time of the newest save, seconds since the Unix epoch.
    pub seconds: i64,
}

/// One save in a session's history.
#[derive(Debug, Clone)]
pub struct SaveRecord {
    /// The save's commit.
    pub commit: ObjectId,
    /// Its parents (the previous save; two for a merge).
    pub parents: Vec<ObjectId>,
    /// Its root tree.
    pub tree: ObjectId,
    /// Commit time, seconds since the Unix epoch.
    pub seconds: i64,
    /// Who saved it.
    pub committer: String,
    /// What its message records.
    pub trailers: SaveTrailers,
}

/// A resolved user query: the saved session and, when the query named a child, that child's id.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The root session's ref.
    pub saved: SavedSession,
    /// The child session named by the query, if it was not the root.
    pub child: Option<String>,
}

/// The sessions store of one repository.
pub struct SessionHistory<'a> {
    store: &'a Store,
}

impl<'a> SessionHistory<'a> {
    /// Wraps an opened store.
    pub fn new(store: &'a Store) -> Self {
        SessionHistory { store }
    }

    /// Saves `session` as the next save of its ref, passing every string (the title in the
    /// commit message included) through `redact` first when given. Writes nothing when it equals
    /// the last save.
    pub fn save(
        &self,
        session: &Session,
        meta: &SaveMeta,
        redact: Option<&dyn Redact>,
    ) -> Result<SaveOutcome> {
        self.save_local_copy(session, meta, redact, None)
    }

    /// Saves `session`, the agent's local copy, as the next save of its ref. With `rules`, the
    /// messages of the newest save that the local copy lacks and did not remove itself since its
    /// last save or load (they arrived by merge) are kept, in conversation order; see
    /// [`super::keep`]. Children the local copy lacks are always kept.
    pub fn save_local_copy(
        &self,
        session: &Session,
        meta: &SaveMeta,
        redact: Option<&dyn Redact>,
        rules: Option<&dyn MergeRules>,
    ) -> Result<SaveOutcome> {
        // Until the ref has moved: no `git session gc` may prune what this save writes.
        let _lock = self.store.lock_maintenance(LockMode::Shared, "")?;
        let cache_path = self.cache_path(&meta.agent, &session.id);
        let mut cache = SaveCache::load(&cache_path);
        let copy_path = self.local_copy_path(&meta.agent, &session.id);
        let copy = LocalCopy::load(&copy_path);
        let contractor = Contractor::shared(&meta.paths);
        let encode = |session: &Session, cache: &mut SaveCache| -> Result<Encoded> {
            let (encoded, next) = codec::encode_cached(
                self.store,
                session,
                meta.split_threshold,
                Some(cache),
                redact,
                Some(&contractor),
            )?;
            *cache = next;
            Ok(encoded)
        };
        // What was added to the session as given (children and merged messages it lacks), for
        // the encoding in hand; it is encoded again only when that changes.
        let mut encoded_with: Option<Added> = None;
        let mut encoded = None;
        let title = match redact {
            Some(redact) => {
                let mut title = serde_json::Value::String(meta.title.clone());
                redact.redact(&mut title, &mut Default::default());
                title.as_str().unwrap_or_default().to_owned()
            }
            None => meta.title.clone(),
        };
        // A root that redaction changes is recorded redacted: `show` then prints the marker.
        let recorded = match redact {
            Some(redact) => {
                let mut out = MachinePaths::none();
                for (name, path) in meta.paths.entries() {
                    let mut value = serde_json::Value::String(path.clone());
                    redact.redact(&mut value, &mut Default::default());
                    out = out.with(name, value.as_str().unwrap_or_default());
                }
                out
            }
            None => meta.paths.clone(),
        };
        let ref_name = RefName::local(&meta.agent, &session.id).full();
        let mut rewrites = 0;
        let mut write_again = false;
        for attempt in 1..=MAX_ATTEMPTS {
            let tip = self.store.find_ref(&ref_name)?;
            let previous = match tip {
                Some(id) => Some(self.store.read_commit(id)?),
                None => None,
            };
            let (whole, added) = self.with_what_it_lacks(
                session,
                previous.as_ref(),
                copy.as_ref(),
                rules,
                &meta.paths,
            )?;
            if write_again || encoded.is_none() || encoded_with.as_ref() != Some(&added) {
                write_again = false;
                encoded = Some(encode(&whole, &mut cache)?);
                encoded_with = Some(added.clone());
            }
            let encoded = encoded.clone().expect("encoded above");
            let kept = added.kept;
            // Only a speed-up for the next save: losing it costs time, never data.
            let _ = cache.store(&cache_path);
            if let Some(prev) = &previous {
                if prev.tree == encoded.tree {
                    let now = LocalCopy::of(session, prev.id, kept == 0);
                    // An unchanged save (a hook's common case) rewrites nothing.
                    if copy.as_ref() != Some(&now) {
                        let _ = now.store(&copy_path);
                    }
                    return Ok(SaveOutcome::Unchanged {
                        commit: prev.id,
                        encoded,
                        ref_name,
                        kept,
                    });
                }
                if meta.skip_if_stored {
                    if let Some(earlier) = self.find_tree_in_history(prev.id, encoded.tree)? {
                        return Ok(SaveOutcome::AlreadyStored {
                            commit: earlier,
                            ref_name,
                        });
                    }
                }
            }
            let saves = match &previous {
                Some(prev) => self.count_saves(prev.id, &prev.message)? + 1,
                None => 1,
            };
            let trailers = SaveTrailers {
                session: session.id.clone(),
                title: title.clone(),
                agent: meta.agent.clone(),
                agent_version: meta.agent_version.clone(),
                reason: meta.reason.clone(),
                messages: encoded.messages,
                children: encoded.children,
                saves,
                bytes: encoded.json_bytes,
                format: FORMAT,
                paths: recorded.clone(),
            };
            let parents: Vec<ObjectId> = tip.into_iter().collect();
            let commit = self
                .store
                .write_commit(encoded.tree, &parents, &trailers.to_message())?;
            before_check(self.store, commit);
            let lacking = self.lacking(commit, encoded.tree, previous.as_ref().map(|p| p.tree))?;
            if !lacking.is_empty() {
                if rewrites == MAX_REWRITES {
                    return Err(SessionError::ObjectsVanished {
                        name: ref_name,
                        missing: lacking.iter().map(ObjectId::to_string).collect(),
                    });
                }
                // Encode without the cache: every object is written (or freshened) again.
                rewrites += 1;
                cache = SaveCache::default();
                write_again = true;
                continue;
            }
            let log_message = format!("git-session save: {}", meta.reason);
            match self.store.update_ref(&RefUpdate {
                name: &ref_name,
                expected: tip,
                new: Some(commit),
                log_message: &log_message,
            }) {
                Ok(()) => {
                    let _ = LocalCopy::of(session, commit, kept == 0).store(&copy_path);
                    return Ok(SaveOutcome::Saved {
                        commit,
                        previous: tip,
                        encoded,
                        saves,
                        ref_name,
                        kept,
                    });
                }
                Err(StoreError::RefMoved { .. }) => backoff(attempt),
                Err(other) => return Err(other.into()),
            }
        }
        Err(SessionError::Contended {
            name: ref_name,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The objects a new save needs that the object database lacks: its commit, and what its
    /// tree adds to `base` (the tree of the save it follows, which its ref already keeps).
    fn lacking(
        &self,
        commit: ObjectId,
        tree: ObjectId,
        base: Option<ObjectId>,
    ) -> Result<Vec<ObjectId>> {
        let mut out = Vec::new();
        if !self.store.has_object(commit) {
            out.push(commit);
        }
        out.extend(self.store.missing_beyond(tree, base)?);
        Ok(out)
    }

    /// Lists every saved session, local and fetched from remotes, newest save first.
    pub fn sessions(&self) -> Result<Vec<SavedSession>> {
        let mut out = Vec::new();
        self.each_session_ref(&mut |name, tip, commit| {
            out.push(SavedSession {
                name,
                tip,
                trailers: SaveTrailers::parse(&commit.message),
                seconds: commit.seconds,
            })
        })?;
        out.sort_by(|a, b| b.seconds.cmp(&a.seconds).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Lists the sessions [`Self::sessions`] lists, in the same order, holding only their refs
    /// and times: for walking many sessions one at a time ([`Self::newest`] reads each).
    pub fn session_tips(&self) -> Result<Vec<SessionTip>> {
        let mut out = Vec::new();
        self.each_session_ref(&mut |name, tip, commit| {
            out.push(SessionTip {
                name,
                tip,
                seconds: commit.seconds,
            })
        })?;
        out.sort_by(|a, b| b.seconds.cmp(&a.seconds).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Hands every session ref (local, and remote-tracking ones) to `visit` with its tip's
    /// commit, in ref order. The commits are read on as many threads as there are cores: a
    /// repository with thousands of sessions lists them in a fraction of the time.
    fn each_session_ref(&self, visit: &mut dyn FnMut(RefName, ObjectId, CommitInfo)) -> Result<()> {
        let mut refs = self.store.list_refs(LOCAL_PREFIX)?;
        refs.extend(
            self.store
                .list_refs(REMOTES_PREFIX)?
                .into_iter()
                .filter(|(name, _)| name.contains("/sessions/")),
        );
        let named: Vec<(RefName, ObjectId)> = refs
            .into_iter()
            .filter_map(|(full, tip)| Some((RefName::parse(&full)?, tip)))
            .collect();
        self.store.for_each_in_order(
            &named,
            &|store: &Store, (name, tip)| Ok((name.clone(), *tip, store.read_commit(*tip)?)),
            &mut |(name, tip, commit)| {
                visit(name, tip, commit);
                Ok(())
            },
        )
    }

    /// The saved session at `tip` with its newest save, from one read of its commit.
    pub fn newest(&self, tip: &SessionTip) -> Result<(SavedSession, SaveRecord)> {
        let save = self.record(tip.tip)?;
        let saved = SavedSession {
            name: tip.name.clone(),
            tip: tip.tip,
            trailers: save.trailers.clone(),
            seconds: save.seconds,
        };
        Ok((saved, save))
    }

    /// Lists local saved sessions only (what this repository saved or adopted).
    pub fn local_sessions(&self) -> Result<Vec<SavedSession>> {
        Ok(self
            .sessions()?
            .into_iter()
            .filter(|s| s.name.origin == Origin::Local)
            .collect())
    }

    /// Resolves an id or a unique id prefix to a saved session, or to a child session inside the
    /// newest save of one. An exact id wins; a prefix must match exactly one id among sessions
    /// and their children. A local save wins over a remote-tracking copy of the same session.
    pub fn resolve(&self, query: &str) -> Result<Resolved> {
        let sessions = self.sessions()?;
        let preferred = |s: &SavedSession| (s.name.origin != Origin::Local, s.name.origin.clone());
        if let Some(saved) = sessions
            .iter()
            .filter(|s| s.name.id == query)
            .min_by_key(|s| preferred(s))
        {
            return Ok(Resolved {
                saved: saved.clone(),
                child: None,
            });
        }
        let is_prefix = |id: &str| query.len() >= 2 && id.starts_with(query);
        // Candidates: (id, the root session holding it, whether it is a child).
        let mut found: Vec<(String, &SavedSession, bool)> = sessions
            .iter()
            .filter(|s| is_prefix(&s.name.id))
            .map(|s| (s.name.id.clone(), s, false))
            .collect();
        for saved in &sessions {
            let commit = self.store.read_commit(saved.tip)?;
            for child in self.child_ids(commit.tree)? {
                if child == query {
                    return Ok(Resolved {
                        saved: saved.clone(),
                        child: Some(child),
                    });
                }
                if is_prefix(&child) {
                    found.push((child, saved, true));
                }
            }
        }
        let mut ids: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
        ids.sort();
        ids.dedup();
        match ids.len() {
            0 => Err(SessionError::NotFound {
                query: query.to_owned(),
            }),
            1 => {
                let (id, saved, is_child) = found
                    .iter()
                    .min_by_key(|(_, s, _)| preferred(s))
                    .expect("one match");
                Ok(Resolved {
                    saved: (*saved).clone(),
                    child: is_child.then(|| id.clone()),
                })
            }
            _ => Err(SessionError::Ambiguous {
                query: query.to_owned(),
                candidates: ids.into_iter().map(str::to_owned).collect(),
            }),
        }
    }

    /// Lists the saves of a session, newest first.
    pub fn log(&self, saved: &SavedSession) -> Result<Vec<SaveRecord>> {
        let mut seen = HashSet::new();
        let mut queue = vec![saved.tip];
        let mut out = Vec::new();
        while let Some(id) = queue.pop() {
            if !seen.insert(id) {
                continue;
            }
            let commit = self.store.read_commit(id)?;
            queue.extend(commit.parents.iter().copied());
            out.push(SaveRecord {
                commit: id,
                parents: commit.parents.clone(),
                tree: commit.tree,
                seconds: commit.seconds,
                committer: commit.committer_name.clone(),
                trailers: SaveTrailers::parse(&commit.message),
            });
        }
        out.sort_by(|a, b| {
            b.seconds
                .cmp(&a.seconds)
                .then_with(|| b.trailers.saves.cmp(&a.trailers.saves))
        });
        Ok(out)
    }

    /// Finds one save of a session: `None` for the newest, a commit id prefix (4+ hex digits),
    /// or `~N` for N saves before the newest along first parents.
    pub fn find_save(&self, saved: &SavedSession, at: Option<&str>) -> Result<SaveRecord> {
        let not_found = || SessionError::SaveNotFound {
            session: saved.name.id.clone(),
            at: at.unwrap_or("").to_owned(),
        };
        let Some(at) = at else {
            return self.record(saved.tip);
        };
        if let Some(n) = at.strip_prefix('~') {
            let n: usize = n.parse().map_err(|_| not_found())?;
            let mut id = saved.tip;
            for _ in 0..n {
                let commit = self.store.read_commit(id)?;
                id = *commit.parents.first().ok_or_else(not_found)?;
            }
            return self.record(id);
        }
        let at = at.to_ascii_lowercase();
        if at.len() < 4 || !at.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<SaveRecord> = self
            .log(saved)?
            .into_iter()
            .filter(|r| r.commit.to_string().starts_with(&at))
            .collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(not_found()),
            _ => Err(SessionError::Ambiguous {
                query: at,
                candidates: matches.iter().map(|r| r.commit.to_string()).collect(),
            }),
        }
    }

    /// Reads a save back as it was saved: the root session with its children, paths as the
    /// saver's machine had them (what `show` and `export` print).
    pub fn read(&self, saved: &SavedSession, save: &SaveRecord) -> Result<Session> {
        self.read_for(saved, save, &MachinePaths::none())
    }

    /// Reads a save back for this machine, whose roots are `here`: the placeholders of a save
    /// of the machine-independent format stand for these paths (roots `here` lacks for the
    /// saver's). A save of the earlier format is read as it was saved (the agent re-homes it).
    pub fn read_here(
        &self,
        saved: &SavedSession,
        save: &SaveRecord,
        here: &MachinePaths,
    ) -> Result<Session> {
        self.read_for(saved, save, here)
    }

    fn read_for(
        &self,
        saved: &SavedSession,
        save: &SaveRecord,
        here: &MachinePaths,
    ) -> Result<Session> {
        check_format(save.commit, save.trailers.format)?;
        self.decode_for(
            &saved.name.id,
            save.tree,
            &save.commit.to_string(),
            &save.trailers,
            here,
        )
    }

    /// Decodes `tree` of a save with these trailers, its placeholders expanded for the roots
    /// `here` (the saver's own where `here` has none).
    fn decode_for(
        &self,
        id: &str,
        tree: ObjectId,
        commit: &str,
        trailers: &SaveTrailers,
        here: &MachinePaths,
    ) -> Result<Session> {
        let expander = (trailers.format >= PORTABLE_FORMAT)
            .then(|| portable::Expander::new(&here.or(&trailers.paths)));
        codec::decode_expanded(self.store, id, tree, commit, expander.as_ref())
    }

    /// Reads a save's tree as it is stored (placeholders unexpanded in the machine-independent
    /// format): what rewriting a history (scrub) works on.
    pub fn read_tree(&self, saved: &SavedSession, save: &SaveRecord) -> Result<Session> {
        check_format(save.commit, save.trailers.format)?;
        codec::decode(
            self.store,
            &saved.name.id,
            save.tree,
            &save.commit.to_string(),
        )
    }

    fn record(&self, id: ObjectId) -> Result<SaveRecord> {
        let commit = self.store.read_commit(id)?;
        Ok(SaveRecord {
            commit: id,
            parents: commit.parents,
            tree: commit.tree,
            seconds: commit.seconds,
            committer: commit.committer_name,
            trailers: SaveTrailers::parse(&commit.message),
        })
    }

    /// Lists `(path, tree)` of the child sessions the save with root `tree` holds and `session`
    /// lacks, at any depth.
    fn missing_children(
        &self,
        session: &Session,
        tree: ObjectId,
    ) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        for (id, child_tree) in self.child_trees(tree)? {
            match session.children.iter().find(|c| c.id == id) {
                Some(given) => {
                    for (path, t) in self.missing_children(given, child_tree)? {
                        out.push((format!("{id}/{path}"), t));
                    }
                }
                None => out.push((id, child_tree)),
            }
        }
        Ok(out)
    }

    /// Adds to `session` the child sessions its previous save (root tree `tree`) holds and it
    /// lacks. An agent's export of a session never contains its subagents, so a child that is
    /// not given means "not given", not "deleted": it stays in the newest save.
    fn carry_children(
        &self,
        session: &mut Session,
        tree: ObjectId,
        commit: &CommitInfo,
        here: &MachinePaths,
    ) -> Result<()> {
        for (id, child_tree) in self.child_trees(tree)? {
            match session.children.iter_mut().find(|c| c.id == id) {
                Some(given) => self.carry_children(given, child_tree, commit, here)?,
                None => session
                    .children
                    .push(self.decode_here(&id, child_tree, commit, here)?),
            }
        }
        Ok(())
    }

    /// Decodes `tree` of save `commit` for this machine (roots `here`), as the agent's local
    /// copy would hold it: a save is encoded from that form.
    fn decode_here(
        &self,
        id: &str,
        tree: ObjectId,
        commit: &CommitInfo,
        here: &MachinePaths,
    ) -> Result<Session> {
        let trailers = SaveTrailers::parse(&commit.message);
        self.decode_for(id, tree, &commit.id.to_string(), &trailers, here)
    }

    fn child_trees(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
        let entries = self.store.read_tree(tree)?;
        match entries.iter().find(|e| e.name == "children") {
            Some(children) => Ok(self
                .store
                .read_tree(children.id)?
                .into_iter()
                .filter(|e| e.kind == crate::store::EntryKind::Tree)
                .map(|e| (e.name, e.id))
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// The session to store on top of `previous`: `session` with the child sessions it lacks
    /// and (with `rules`, when the ref moved since the local copy's last save or load) the
    /// merged messages it lacks, and what was added.
    fn with_what_it_lacks<'s>(
        &self,
        session: &'s Session,
        previous: Option<&CommitInfo>,
        copy: Option<&LocalCopy>,
        rules: Option<&dyn MergeRules>,
        here: &MachinePaths,
    ) -> Result<(Cow<'s, Session>, Added)> {
        let Some(prev) = previous else {
            return Ok((Cow::Borrowed(session), Added::default()));
        };
        let mut whole = Cow::Borrowed(session);
        let mut added = Added::default();
        let moved = copy.is_none_or(|c| c.may_lack_some_of(prev.id));
        if let (Some(rules), true) = (rules, moved) {
            let newest = self.decode_here(&session.id, prev.tree, prev, here)?;
            let mut local = session.clone();
            added.kept = keep::keep_merged(&mut local, &newest, copy, rules);
            if added.kept > 0 {
                added.on = Some(prev.id);
                whole = Cow::Owned(local);
            }
        }
        added.children = self.missing_children(&whole, prev.tree)?;
        if !added.children.is_empty() {
            let mut owned = whole.into_owned();
            self.carry_children(&mut owned, prev.tree, prev, here)?;
            whole = Cow::Owned(owned);
        }
        Ok((whole, added))
    }

    /// Remembers that the agent's local copy of `session` (of `agent`) now holds save `commit`,
    /// as after a load.
    pub fn loaded_into_agent(&self, agent: &str, session: &Session, commit: ObjectId) {
        if crate::store::layout::is_safe_component(agent)
            && crate::store::layout::is_safe_component(&session.id)
        {
            // Only lets later saves tell a local removal from a message that arrived by merge:
            // losing it means keeping more, never less.
            let path = self.local_copy_path(agent, &session.id);
            let _ = LocalCopy::of(session, commit, true).store(&path);
        }
    }

    fn local_copy_path(&self, agent: &str, id: &str) -> std::path::PathBuf {
        self.store
            .state_dir()
            .join("local-copy")
            .join(agent)
            .join(id)
    }

    fn cache_path(&self, agent: &str, id: &str) -> std::path::PathBuf {
        self.store.state_dir().join("cache").join(agent).join(id)
    }

    /// What the last save of session `id` of `agent` remembers about its messages (empty when
    /// nothing is remembered); a reader may use it to skip work on bytes seen before.
    pub fn save_cache(&self, agent: &str, id: &str) -> SaveCache {
        if !crate::store::layout::is_safe_component(agent)
            || !crate::store::layout::is_safe_component(id)
        {
            return SaveCache::default();
        }
        SaveCache::load(&self.cache_path(agent, id))
    }

    fn find_tree_in_history(&self, tip: ObjectId, tree: ObjectId) -> Result<Option<ObjectId>> {
        let saved = SavedSession {
            name: RefName::local("", ""),
            tip,
            trailers: SaveTrailers::default(),
            seconds: 0,
        };
        Ok(self
            .log(&saved)?
            .into_iter()
            .find(|r| r.tree == tree)
            .map(|r| r.commit))
    }

    fn count_saves(&self, tip: ObjectId, message: &str) -> Result<u64> {
        let trailers = SaveTrailers::parse(message);
        if trailers.saves > 0 {
            return Ok(trailers.saves);
        }
        let saved = SavedSession {
            name: RefName::local("", ""),
            tip,
            trailers,
            seconds: 0,
        };
        Ok(self.log(&saved)?.len() as u64)
    }

    fn child_ids(&self, tree: ObjectId) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let entries = self.store.read_tree(tree)?;
        if let Some(children) = entries.iter().find(|e| e.name == "children") {
            for child in self.store.read_tree(children.id)? {
                out.push(child.name.clone());
                out.extend(self.child_ids(child.id)?);
            }
        }
        Ok(out)
    }
}

/// Refuses a save written in a newer storage format than this build reads.
fn check_format(commit: ObjectId, format: u32) -> Result<()> {
    if format > FORMAT {
        return Err(SessionError::NewerFormat {
            commit: commit.to_string(),
            format,
            supported: FORMAT,
        });
    }
    Ok(())
}

/// Runs right before a save checks its objects (tests delete objects here, as a prune running
/// meanwhile would).
#[cfg(not(test))]
fn before_check(_store: &Store, _commit: ObjectId) {}

/// Sleeps a little, longer and jittered as attempts grow, so racing savers spread out.
fn backoff(attempt: u32) {
    let jitter = std::process::id() as u64
        ^ u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0),
        );
    let base = u64::from(attempt.min(10)) * 2;
    std::thread::sleep(Duration::from_millis(base + jitter % (base + 3)));
}

#[cfg(test)]
use self::tests::before_check;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Message;
    use serde_json::json;
    use std::cell::RefCell;

    /// What runs between a save's commit and its check.
    type Hook = Box<dyn FnMut(&Store)>;

    thread_local! {
        /// The hook of this test thread.
        static BEFORE_CHECK: RefCell<Option<Hook>> = RefCell::new(None);
    }

    pub(super) fn before_check(store: &Store, _commit: ObjectId) {
        BEFORE_CHECK.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook(store);
            }
        });
    }

    /// `git prune --expire=now`: what a `git gc --prune=now` run by hand does to the objects of
    /// a save in flight (they are loose and unreachable until the ref moves).
    fn prune_now(store: &Store) {
        let status = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(store.common_dir())
            .args(["prune", "--expire=now"])
            .status()
            .expect("run git prune");
        assert!(status.success());
    }

    fn session(n: usize) -> Session {
        Session {
            id: "ses_v".into(),
            info: json!({"info": {"id": "ses_v"}}),
            messages: (0..n)
                .map(|i| Message {
                    id: format!("msg_{i:03}"),
                    body: json!({"info": {"id": i}, "parts": [{"text": "x".repeat(2000 + i)}]})
                        .into(),
                })
                .collect(),
            children: vec![],
        }
    }

    fn meta() -> SaveMeta {
        SaveMeta {
            agent: "opencode".into(),
            agent_version: None,
            title: "V".into(),
            reason: "test".into(),
            split_threshold: 1024,
            skip_if_stored: false,
            paths: MachinePaths::none(),
        }
    }

    #[test]
    fn a_save_writes_again_what_a_prune_deleted_before_its_ref_moved() {
        let (_dir, store) = Store::temporary();
        let history = SessionHistory::new(&store);
        history.save(&session(2), &meta(), None).unwrap();
        let mut pruned = 0;
        BEFORE_CHECK.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move |store: &Store| {
                if pruned == 0 {
                    prune_now(store);
                }
                pruned += 1;
            }))
        });
        let outcome = history.save(&session(4), &meta(), None);
        BEFORE_CHECK.with(|hook| hook.borrow_mut().take());
        let SaveOutcome::Saved { commit, .. } = outcome.unwrap() else {
            panic!("a new save");
        };
        let tree = store.read_commit(commit).unwrap().tree;
        assert!(
            store.missing_beyond(tree, None).unwrap().is_empty(),
            "the ref moved to a complete save"
        );
        let saved = history.local_sessions().unwrap().remove(0);
        assert_eq!(saved.tip, commit);
        let back = history
            .read(&saved, &history.find_save(&saved, None).unwrap())
            .unwrap();
        assert_eq!(back.messages.len(), 4);
    }

    #[test]
    fn a_save_whose_objects_keep_vanishing_leaves_the_ref_alone() {
        let (_dir, store) = Store::temporary();
        let history = SessionHistory::new(&store);
        history.save(&session(2), &meta(), None).unwrap();
        let before = history.local_sessions().unwrap().remove(0).tip;
        BEFORE_CHECK.with(|hook| *hook.borrow_mut() = Some(Box::new(prune_now)));
        let outcome = history.save(&session(3), &meta(), None);
        BEFORE_CHECK.with(|hook| hook.borrow_mut().take());
        let err = outcome.expect_err("the ref must not reach deleted objects");
        assert!(matches!(err, SessionError::ObjectsVanished { .. }), "{err}");
        assert_eq!(history.local_sessions().unwrap().remove(0).tip, before);
    }
}
