//! Session summaries: what a teammate's clone needs to list a shared session without fetching it.
//!
//! A summary is a commit with the empty tree and no parent on `refs/session-index/<agent>/<id>`.
//! Its message is the message of the session's newest save (title, agent, messages, saves,
//! bytes: the trailers `list` shows) plus a `Tip: <commit>` trailer naming that save, and its
//! author and committer are the save's committer and time (who saved it, when). It is made from
//! the save alone, so every clone that pushes the same save makes the same commit and concurrent
//! pushers never conflict; and it never reaches the save, so fetching summaries fetches a few
//! hundred bytes per session. A push sends it in the same atomic push as the session ref.
//! Summaries fetched from a remote live at `refs/remotes/<remote>/session-index/<agent>/<id>`.

use super::trailers::SaveTrailers;
use super::Result;
use crate::store::layout::{self, Origin, REMOTES_PREFIX, SUMMARY_TRACKING_DIR};
use crate::store::{Identity, ObjectId, Store};

/// The trailer that names the save a summary describes.
const TIP: &str = "Tip";

/// One session as its summary describes it.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Where the summary lives: a remote it was fetched from (or, rarely, this clone).
    pub origin: Origin,
    /// The session's agent (its ref namespace).
    pub namespace: String,
    /// The session's id.
    pub id: String,
    /// The save it describes (the session ref's value when it was pushed).
    pub tip: ObjectId,
    /// That save's trailers.
    pub trailers: SaveTrailers,
    /// Who saved it (the save's committer).
    pub by: String,
    /// Their email.
    pub email: String,
    /// When, seconds since the Unix epoch.
    pub seconds: i64,
}

/// The full name of a summary ref: `refs/session-index/<namespace>/<id>` on the remote (and
/// here), `refs/remotes/<remote>/session-index/<namespace>/<id>` as fetched.
pub fn ref_name(origin: &Origin, namespace: &str, id: &str) -> String {
    layout::SUMMARIES.full(origin, namespace, id)
}

/// Parses a summary's full ref name into (origin, namespace, id).
pub fn parse_ref_name(full: &str) -> Option<(Origin, String, String)> {
    layout::SUMMARIES.parse(full)
}

/// Writes the summary commit of the save `tip` (which must be here) and returns it. Moves no
/// ref. The same save always gives the same commit.
pub fn write(store: &Store, tip: ObjectId) -> Result<ObjectId> {
    let save = store.read_commit(tip)?;
    let empty = store.write_tree(&[])?;
    let message = format!("{}\n{TIP}: {tip}\n", save.message.trim_end());
    let who = Identity {
        name: save.committer_name,
        email: save.committer_email,
        seconds: save.seconds,
        offset: 0,
    };
    Ok(store.write_commit_as(empty, &[], &message, &who)?)
}

/// Every summary fetched from a remote (`refs/remotes/<remote>/session-index/...`), newest save
/// first. A summary whose commit names no save is left out.
pub fn list_fetched(store: &Store) -> Result<Vec<Summary>> {
    let tracking = format!("/{SUMMARY_TRACKING_DIR}/");
    let mut out = Vec::new();
    for (full, commit) in store.list_refs(REMOTES_PREFIX)? {
        if !full.contains(&tracking) {
            continue;
        }
        if let Some(summary) = decode(store, &full, commit)? {
            out.push(summary);
        }
    }
    out.sort_by(|a, b| b.seconds.cmp(&a.seconds).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

fn decode(store: &Store, full: &str, commit: ObjectId) -> Result<Option<Summary>> {
    let Some((origin, namespace, id)) = parse_ref_name(full) else {
        return Ok(None);
    };
    let info = store.read_commit(commit)?;
    let block = info.message.trim_end().rsplit("\n\n").next().unwrap_or("");
    let tip = block.lines().find_map(|line| {
        let (k, v) = line.split_once(": ")?;
        (k == TIP).then(|| ObjectId::from_hex(v.trim().as_bytes()).ok())?
    });
    let Some(tip) = tip else {
        return Ok(None);
    };
    Ok(Some(Summary {
        origin,
        namespace,
        id,
        tip,
        trailers: SaveTrailers::parse(&info.message),
        by: info.committer_name,
        email: info.committer_email,
        seconds: info.seconds,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_ref_names_round_trip() {
        let here = ref_name(&Origin::Local, "opencode", "ses_1");
        assert_eq!(here, "refs/session-index/opencode/ses_1");
        assert_eq!(
            parse_ref_name(&here),
            Some((Origin::Local, "opencode".into(), "ses_1".into()))
        );
        let fetched = ref_name(&Origin::Remote("origin".into()), "claude", "a-b");
        assert_eq!(fetched, "refs/remotes/origin/session-index/claude/a-b");
        assert_eq!(
            parse_ref_name(&fetched),
            Some((
                Origin::Remote("origin".into()),
                "claude".into(),
                "a-b".into()
            ))
        );
        assert_eq!(parse_ref_name("refs/remotes/origin/sessions/x/y"), None);
        assert_eq!(parse_ref_name("refs/session-index/x/y/z"), None);
    }
}
