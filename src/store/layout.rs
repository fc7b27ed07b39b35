//! Ref names of the sessions store.
//!
//! Local saves live at `refs/sessions/<namespace>/<id>`, one ref per stored entity (git-bug's
//! model); what a fetch brought from a remote lives at `refs/remotes/<remote>/sessions/<namespace>/<id>`.
//! The namespace is opaque here (the agent layer passes its name); nothing is ever written under
//! `refs/heads/`. A deleted entity's record lives at `refs/session-deletions/<namespace>/<id>`
//! (fetched copies: `refs/remotes/<remote>/session-deletions/<namespace>/<id>`), and its summary
//! at `refs/session-index/<namespace>/<id>` (fetched: `refs/remotes/<remote>/session-index/...`).

/// Prefix of every local sessions ref.
pub const LOCAL_PREFIX: &str = "refs/sessions/";

/// Prefix of every remote-tracking ref.
pub const REMOTES_PREFIX: &str = "refs/remotes/";

/// Prefix of the deletion records a `delete --remote` leaves, one ref per deleted entity:
/// `refs/session-deletions/<namespace>/<id>`. Pushed and fetched like the sessions refs, so a
/// deletion reaches every clone.
pub const DELETIONS_PREFIX: &str = "refs/session-deletions/";

/// The folder below `refs/remotes/<remote>/` that holds deletion records fetched from that
/// remote: `refs/remotes/<remote>/session-deletions/<namespace>/<id>`.
pub const DELETIONS_TRACKING_DIR: &str = "session-deletions";

/// Prefix of the session summaries a push writes, one ref per session:
/// `refs/session-index/<namespace>/<id>`, a small commit that describes the session's newest
/// save without reaching it, so a fetch of these refs brings a list of sessions, not their
/// contents.
pub const SUMMARY_PREFIX: &str = "refs/session-index/";

/// The folder below `refs/remotes/<remote>/` that holds summaries fetched from that remote:
/// `refs/remotes/<remote>/session-index/<namespace>/<id>`.
pub const SUMMARY_TRACKING_DIR: &str = "session-index";

/// A family of per-entity refs beside the sessions refs (deletion records, summaries):
/// `<prefix><namespace>/<id>` here, `refs/remotes/<remote>/<tracking_dir>/<namespace>/<id>` as
/// fetched from a remote.
#[derive(Debug, Clone, Copy)]
pub struct RefFamily {
    /// Prefix of the local refs, such as [`DELETIONS_PREFIX`].
    pub prefix: &'static str,
    /// The folder below `refs/remotes/<remote>/` that holds the fetched ones.
    pub tracking_dir: &'static str,
}

/// Deletion records: [`DELETIONS_PREFIX`], fetched into [`DELETIONS_TRACKING_DIR`].
pub const DELETIONS: RefFamily = RefFamily {
    prefix: DELETIONS_PREFIX,
    tracking_dir: DELETIONS_TRACKING_DIR,
};

/// Session summaries: [`SUMMARY_PREFIX`], fetched into [`SUMMARY_TRACKING_DIR`].
pub const SUMMARIES: RefFamily = RefFamily {
    prefix: SUMMARY_PREFIX,
    tracking_dir: SUMMARY_TRACKING_DIR,
};

impl RefFamily {
    /// The full name of the ref of entity `id` in `namespace`, here or as fetched.
    pub fn full(&self, origin: &Origin, namespace: &str, id: &str) -> String {
        match origin {
            Origin::Local => format!("{}{namespace}/{id}", self.prefix),
            Origin::Remote(remote) => {
                format!(
                    "{REMOTES_PREFIX}{remote}/{}/{namespace}/{id}",
                    self.tracking_dir
                )
            }
        }
    }

    /// Parses a full ref name of this family into (origin, namespace, id).
    pub fn parse(&self, full: &str) -> Option<(Origin, String, String)> {
        let (origin, rest) = match full.strip_prefix(self.prefix) {
            Some(rest) => (Origin::Local, rest),
            None => {
                let rest = full.strip_prefix(REMOTES_PREFIX)?;
                let (remote, rest) = rest.split_once(&format!("/{}/", self.tracking_dir))?;
                if remote.is_empty() {
                    return None;
                }
                (Origin::Remote(remote.to_owned()), rest)
            }
        };
        let (namespace, id) = split_two(rest)?;
        Some((origin, namespace, id))
    }
}

/// Where a ref lives: in this repository's own saves, or fetched from a remote.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// `refs/sessions/...`: saved here (or adopted).
    Local,
    /// `refs/remotes/<remote>/sessions/...`: as last fetched from that remote.
    Remote(String),
}

/// A parsed sessions ref name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefName {
    /// Local or remote-tracking.
    pub origin: Origin,
    /// The opaque namespace (an agent name, chosen by the layer above).
    pub namespace: String,
    /// The entity id (a session id).
    pub id: String,
}

impl RefName {
    /// Returns the local ref for an entity.
    pub fn local(namespace: &str, id: &str) -> Self {
        RefName {
            origin: Origin::Local,
            namespace: namespace.to_owned(),
            id: id.to_owned(),
        }
    }

    /// Returns the full ref name, such as `refs/sessions/<namespace>/<id>`.
    pub fn full(&self) -> String {
        match &self.origin {
            Origin::Local => format!("{LOCAL_PREFIX}{}/{}", self.namespace, self.id),
            Origin::Remote(remote) => {
                format!(
                    "{REMOTES_PREFIX}{remote}/sessions/{}/{}",
                    self.namespace, self.id
                )
            }
        }
    }

    /// Parses a full ref name; returns `None` for refs that are not sessions refs.
    pub fn parse(full: &str) -> Option<Self> {
        if let Some(rest) = full.strip_prefix(LOCAL_PREFIX) {
            let (namespace, id) = split_two(rest)?;
            return Some(RefName {
                origin: Origin::Local,
                namespace,
                id,
            });
        }
        let rest = full.strip_prefix(REMOTES_PREFIX)?;
        let (remote, rest) = rest.split_once("/sessions/")?;
        if remote.is_empty() {
            return None;
        }
        let (namespace, id) = split_two(rest)?;
        Some(RefName {
            origin: Origin::Remote(remote.to_owned()),
            namespace,
            id,
        })
    }
}

fn split_two(rest: &str) -> Option<(String, String)> {
    let (namespace, id) = rest.split_once('/')?;
    if namespace.is_empty() || id.is_empty() || id.contains('/') {
        return None;
    }
    Some((namespace.to_owned(), id.to_owned()))
}

/// Returns true when `component` can be used as one ref-name component and one tree entry name.
///
/// Deliberately stricter than git: ASCII letters, digits, `_`, `-` and `.`, not starting with `.`
/// or `-`, without `..`, not ending in `.lock`, at most 200 bytes.
pub fn is_safe_component(component: &str) -> bool {
    !component.is_empty()
        && component.len() <= 200
        && !component.starts_with('.')
        && !component.starts_with('-')
        && !component.contains("..")
        && !component.ends_with(".lock")
        && component
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_remote_names_round_trip() {
        let local = RefName::local("agent-a", "ses_1");
        assert_eq!(local.full(), "refs/sessions/agent-a/ses_1");
        assert_eq!(RefName::parse(&local.full()), Some(local));
        let remote = RefName {
            origin: Origin::Remote("origin".into()),
            namespace: "agent-a".into(),
            id: "ses_2".into(),
        };
        assert_eq!(remote.full(), "refs/remotes/origin/sessions/agent-a/ses_2");
        assert_eq!(RefName::parse(&remote.full()), Some(remote));
    }

    #[test]
    fn other_refs_are_not_sessions_refs() {
        assert_eq!(RefName::parse("refs/heads/main"), None);
        assert_eq!(RefName::parse("refs/remotes/origin/main"), None);
        assert_eq!(RefName::parse("refs/sessions/agent-a"), None);
        assert_eq!(RefName::parse("refs/sessions/agent-a/a/b"), None);
    }

    #[test]
    fn unsafe_components_are_refused() {
        assert!(is_safe_component("ses_dfeff592effeKbpix6urO22sp9"));
        assert!(is_safe_component("4f9a1c2e-1b2c-4d5e-8f90-123456789abc"));
        for bad in ["", ".hidden", "a/b", "a..b", "x.lock", "-x", "a b", "é"] {
            assert!(!is_safe_component(bad), "{bad:?} must be refused");
        }
    }
}
