//! The agent-agnostic session: an info object, ordered messages and child sessions.

use serde_json::Value;

/// One session as an agent exported it, with its child sessions (subagents).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The session id (a ref and tree name component).
    pub id: String,
    /// The session's info object, kept as given.
    pub info: Value,
    /// Messages in conversation order.
    pub messages: Vec<Message>,
    /// Child sessions, each stored and restored with this one.
    pub children: Vec<Session>,
}

/// One message: its id and its whole JSON (for OpenCode `{"info": .., "parts": [..]}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message id (a tree entry name).
    pub id: String,
    /// The message's JSON, kept as given.
    pub body: Value,
}

impl Session {
    /// Returns this session and every descendant, depth first, parents before children.
    pub fn walk(&self) -> Vec<&Session> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// Counts the descendants (children, their children, ...).
    pub fn descendant_count(&self) -> usize {
        self.children.iter().map(|c| 1 + c.descendant_count()).sum()
    }

    /// Finds this session or a descendant by id.
    pub fn find(&self, id: &str) -> Option<&Session> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(id))
    }
}
