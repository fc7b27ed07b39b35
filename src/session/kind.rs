//! What the session layer needs to know about an agent's sessions, without knowing the agent:
//! its ref namespace, how a session names its parent, its title and version, and how two
//! versions of one session merge. Every agent adapter implements [`SessionKind`].

use super::merge::MergeRules;
use super::model::Session;

/// The session layer's view of one agent's sessions.
pub trait SessionKind: Sync {
    /// The agent's name, which is also its ref namespace (`refs/sessions/<name>/<id>`).
    fn name(&self) -> &'static str;
    /// The parent session id of a child session read on its own (a subagent), if any.
    fn parent_id(&self, session: &Session) -> Option<String>;
    /// The session's title, or an empty string.
    fn title(&self, session: &Session) -> String;
    /// The version of the agent that wrote the session, when it says.
    fn version(&self, session: &Session) -> Option<String>;
    /// How two diverged versions of one session are combined.
    fn merge_rules(&self) -> &dyn MergeRules;
}
