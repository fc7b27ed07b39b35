//! The searchable texts of a session, as each agent names them.

/// One searchable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextField {
    /// The session (root or child) it belongs to.
    pub session: String,
    /// The message id.
    pub message: String,
    /// The part id (or `#<index>` when a part has no id).
    pub part: String,
    /// What the text is: `text`, `reasoning`, `input.command`, `output`, `error`, `title`, ...
    pub field: String,
    /// The text.
    pub text: String,
}
