//! Bringing a fetched (or bundled) save into the local ref: adopt a new session, fast-forward,
//! or merge diverged histories, always by compare-and-swap so a save made meanwhile is never
//! lost.

use super::codec;
use super::merge::{merge, MergeRules};
use super::portable::{self, MachinePaths};
use super::trailers::{SaveTrailers, FORMAT, PORTABLE_FORMAT};
use super::{Result, SessionError};
use crate::store::layout::RefName;
use crate::store::{LockMode, ObjectId, RefUpdate, Store, StoreError};

/// What integrating one fetched (or bundled) save did to the local ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integration {
    /// The session was new here: the local ref now points at the remote save.
    Adopted {
        /// The adopted save.
        tip: ObjectId,
    },
    /// The local ref moved forward to the remote save.
    FastForwarded {
        /// The old local save.
        from: ObjectId,
        /// The remote save.
        to: ObjectId,
    },
    /// Both sides had saves the other lacked: a merge commit joins them.
    Merged {
        /// The merge commit.
        commit: ObjectId,
        /// Where both sides differed on one message or part, and what was kept.
        conflicts: Vec<String>,
    },
    /// Both sides hold the same save.
    UpToDate,
    /// The local ref already contains the remote save (a push will send the rest).
    LocalAhead,
}

/// How many times integration is redone when a local save moves the ref meanwhile.
const MAX_ATTEMPTS: u32 = 50;

/// Integrates the remote-tracking ref `remote` into its local ref. `rules` merges sessions of
/// the ref's agent; `split_threshold` is the save setting used to write a merged tree.
pub fn integrate(
    store: &Store,
    remote: &RefName,
    rules: &dyn MergeRules,
    split_threshold: usize,
) -> Result<Integration> {
    let remote_name = remote.full();
    let Some(theirs) = store.find_ref(&remote_name)? else {
        return Ok(Integration::UpToDate);
    };
    let local = RefName::local(&remote.namespace, &remote.id);
    integrate_save(store, &local, theirs, &remote_name, rules, split_threshold)
}

/// Integrates the save `theirs` (its objects already in the repository), which came from
/// `source` (a remote-tracking ref, a bundle file; named in the reflog and a merge commit), into
/// the local ref `local`, as [`integrate`] does.
pub fn integrate_save(
    store: &Store,
    local: &RefName,
    theirs: ObjectId,
    source: &str,
    rules: &dyn MergeRules,
    split_threshold: usize,
) -> Result<Integration> {
    let local_name = local.full();
    // A merge writes objects no ref reaches until the swap: no `git session gc` meanwhile.
    let _lock = store.lock_maintenance(LockMode::Shared, "")?;
    for _ in 0..MAX_ATTEMPTS {
        let ours = store.find_ref(&local_name)?;
        let (expected, outcome, new) = match ours {
            None => (None, Integration::Adopted { tip: theirs }, theirs),
            Some(ours) if ours == theirs => return Ok(Integration::UpToDate),
            Some(ours) if store.is_ancestor(theirs, ours)? => return Ok(Integration::LocalAhead),
            Some(ours) if store.is_ancestor(ours, theirs)? => (
                Some(ours),
                Integration::FastForwarded {
                    from: ours,
                    to: theirs,
                },
                theirs,
            ),
            Some(ours) => {
                let (commit, conflicts) =
                    write_merge(store, local, source, ours, theirs, rules, split_threshold)?;
                (
                    Some(ours),
                    Integration::Merged { commit, conflicts },
                    commit,
                )
            }
        };
        let log_message = match &outcome {
            Integration::Adopted { .. } => format!("git-session: adopt from {source}"),
            Integration::FastForwarded { .. } => {
                format!("git-session: fast-forward to {source}")
            }
            _ => format!("git-session: merge {source}"),
        };
        match store.update_ref(&RefUpdate {
            name: &local_name,
            expected,
            new: Some(new),
            log_message: &log_message,
        }) {
            Ok(()) => return Ok(outcome),
            Err(StoreError::RefMoved { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(SessionError::Contended {
        name: local_name,
        attempts: MAX_ATTEMPTS,
    })
}

/// Writes the merge commit of `ours` and `theirs` (parents in that order, `theirs` from
/// `source`) for the session of `local`, and returns it.
fn write_merge(
    store: &Store,
    local: &RefName,
    source: &str,
    ours: ObjectId,
    theirs: ObjectId,
    rules: &dyn MergeRules,
    split_threshold: usize,
) -> Result<(ObjectId, Vec<String>)> {
    let read = |tip: ObjectId| -> Result<(SaveTrailers, super::Session)> {
        let commit = store.read_commit(tip)?;
        let trailers = SaveTrailers::parse(&commit.message);
        if trailers.format > FORMAT {
            return Err(SessionError::NewerFormat {
                commit: tip.to_string(),
                format: trailers.format,
                supported: FORMAT,
            });
        }
        let mut session = codec::decode(store, &local.id, commit.tree, &tip.to_string())?;
        if trailers.format < PORTABLE_FORMAT {
            // The earlier format stored the text as it was: its stored form only escapes.
            portable::contract(&mut session, &MachinePaths::none());
        }
        Ok((trailers, session))
    };
    let (our_trailers, our_session) = read(ours)?;
    let (their_trailers, their_session) = read(theirs)?;
    let merged = merge(&our_session, &their_session, rules);
    let encoded = codec::encode(store, &merged.session, split_threshold)?;
    // Describe the merge by the side whose session info was kept.
    let (newer, other) = if merged.session.info == their_session.info {
        (&their_trailers, &our_trailers)
    } else {
        (&our_trailers, &their_trailers)
    };
    let trailers = SaveTrailers {
        session: local.id.clone(),
        title: newer.title.clone(),
        agent: local.namespace.clone(),
        agent_version: newer.agent_version.clone(),
        reason: "merge".into(),
        messages: encoded.messages,
        children: encoded.children,
        saves: store.count_reachable(&[ours, theirs])? + 1,
        bytes: encoded.json_bytes,
        format: FORMAT,
        // Both sides are in the stored form: either side's roots expand it consistently.
        paths: newer.paths.or(&other.paths),
    };
    let mut body = format!(
        "Merged save {} (here) and {} (from {source}).",
        short(ours),
        short(theirs),
    );
    if !merged.conflicts.is_empty() {
        body.push_str(
            "\n\nBoth sides held different versions of these; the newer was kept and the other\nstays in its parent save:\n",
        );
        for c in &merged.conflicts {
            body.push_str(&format!("- {c}\n"));
        }
    }
    let subject = format!("Merge saves of {}", title_or_id(&trailers));
    let message = trailers.to_message_with(&subject, body.trim_end());
    let commit = store.write_commit(encoded.tree, &[ours, theirs], &message)?;
    Ok((commit, merged.conflicts))
}

fn title_or_id(t: &SaveTrailers) -> &str {
    if t.title.is_empty() {
        &t.session
    } else {
        &t.title
    }
}

fn short(id: ObjectId) -> String {
    id.to_string()[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use serde_json::{json, Value};

    use super::*;
    use crate::session::{Message, SaveMeta, Session, SessionHistory};

    struct ByTime;
    impl MergeRules for ByTime {
        fn compare_info(&self, a: &Value, b: &Value) -> Ordering {
            a["t"].as_i64().cmp(&b["t"].as_i64())
        }
        fn message_order(&self, m: &Message) -> i64 {
            m.body.value()["t"].as_i64().unwrap_or(0)
        }
        fn merge_message(&self, id: &str, _a: &Value, b: &Value, c: &mut Vec<String>) -> Value {
            c.push(format!("{id} differed"));
            b.clone()
        }
    }

    fn session(t: i64, msgs: &[(&str, &str)]) -> Session {
        Session {
            id: "ses_m".into(),
            info: json!({"t": t}),
            messages: msgs
                .iter()
                .enumerate()
                .map(|(i, (id, text))| Message {
                    id: (*id).into(),
                    body: json!({"t": i, "text": text}).into(),
                })
                .collect(),
            children: vec![],
        }
    }

    /// A save as git-session wrote them before the machine-independent form: the text as it
    /// was, `Format: 1`, no `Path` trailers.
    fn format_one(store: &Store, session: &Session, parents: &[ObjectId]) -> ObjectId {
        let tree = codec::encode(store, session, 1024).unwrap().tree;
        let trailers = SaveTrailers {
            session: session.id.clone(),
            agent: "agent-a".into(),
            reason: "manual".into(),
            format: 1,
            ..Default::default()
        };
        store
            .write_commit(tree, parents, &trailers.to_message())
            .unwrap()
    }

    #[test]
    fn a_save_of_the_earlier_format_merges_with_a_new_one_and_its_text_stays_literal() {
        let (_dir, store) = Store::temporary();
        let literal = "the store writes {git-session:home} literally";
        let base = session(1, &[("m1", literal)]);
        let first = format_one(&store, &base, &[]);
        let name = RefName::local("agent-a", "ses_m");
        store
            .update_ref(&RefUpdate {
                name: &name.full(),
                expected: None,
                new: Some(first),
                log_message: "test",
            })
            .unwrap();
        // Here, a save of the new format on top: a new turn naming this machine's home.
        let history = SessionHistory::new(&store);
        let meta = SaveMeta {
            agent: "agent-a".into(),
            agent_version: None,
            title: "M".into(),
            reason: "test".into(),
            split_threshold: 1024,
            skip_if_stored: false,
            paths: MachinePaths::none().with("home", "/home/a"),
        };
        let ours = session(2, &[("m1", literal), ("m2", "here: /home/a/x")]);
        history.save(&ours, &meta, None).unwrap();
        // A teammate's older git-session saved another turn on the same first save.
        let theirs = format_one(
            &store,
            &session(3, &[("m1", literal), ("m3", "there: {git-session:lit}")]),
            &[first],
        );

        let outcome = integrate_save(&store, &name, theirs, "a bundle", &ByTime, 1024).unwrap();
        let Integration::Merged { conflicts, .. } = outcome else {
            panic!("a merge: {outcome:?}");
        };
        assert_eq!(conflicts, Vec::<String>::new(), "only new turns differ");
        let saved = history.local_sessions().unwrap().remove(0);
        let read = history
            .read(&saved, &history.find_save(&saved, None).unwrap())
            .unwrap();
        let texts: Vec<String> = read
            .messages
            .iter()
            .map(|m| m.body.value()["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            texts,
            [literal, "here: /home/a/x", "there: {git-session:lit}"],
            "the earlier format's text reads back as it was written"
        );
    }
}
