//! Whole sessions (with their children) converted between the two export formats.

use std::borrow::Cow;

use super::convert;
use crate::agents::opencode::export;
use crate::session::Session;

/// Which OpenCode export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenCode 1.x: `{info, messages: [{info, parts}]}`.
    V1,
    /// OpenCode 2: `{info, messages: [{type, id, ..}]}`.
    V2,
}

/// The format a session was saved in.
pub fn format_of(session: &Session) -> Format {
    if export::is_v2(session) {
        Format::V2
    } else {
        Format::V1
    }
}

/// The session and its children in `format`, converted where they are in the other one.
pub fn convert_tree(session: &Session, format: Format) -> Session {
    let mut out = if format_of(session) == format {
        Session {
            id: session.id.clone(),
            info: session.info.clone(),
            messages: session.messages.clone(),
            children: Vec::new(),
        }
    } else {
        let doc = export::to_value(session);
        let converted = match format {
            Format::V1 => convert::to_v1(&doc),
            Format::V2 => convert::to_v2(&doc),
        };
        export::from_value(converted, &session.id)
            .expect("a converted export always has ids and message lists")
    };
    out.children = session
        .children
        .iter()
        .map(|c| convert_tree(c, format))
        .collect();
    out
}

/// The session as OpenCode 1 would hold it (for views, search and restores into 1.x).
pub fn as_v1(session: &Session) -> Cow<'_, Session> {
    if session.walk().iter().any(|s| export::is_v2(s)) {
        Cow::Owned(convert_tree(session, Format::V1))
    } else {
        Cow::Borrowed(session)
    }
}
