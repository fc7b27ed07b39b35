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

/// The session as OpenCode 1 would hold it, taking it: what a restore rewrites, so that
/// nothing else holds the texts it replaces.
pub fn into_v1(session: Session) -> Session {
    match as_v1(&session) {
        Cow::Owned(converted) => converted,
        Cow::Borrowed(_) => session,
    }
}

/// The session as OpenCode 1 would hold it (for views, search and restores into 1.x).
pub fn as_v1(session: &Session) -> Cow<'_, Session> {
    if session.walk().iter().any(|s| export::is_v2(s)) {
        Cow::Owned(convert_tree(session, Format::V1))
    } else {
        Cow::Borrowed(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forked_v2_session_keeps_what_v1_has_no_field_for_under_its_new_ids() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/opencode2/example-v2-export.json");
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let session = export::from_value(doc.clone(), "fixture").unwrap();
        assert_eq!(format_of(&session), Format::V2);
        let mut v1 = as_v1(&session).into_owned();
        assert_eq!(format_of(&v1), Format::V1);
        let map = crate::agents::opencode::load::fork(&mut v1, 7);
        let forked = export::to_value(&convert_tree(&v1, Format::V2));
        let old_id = doc["messages"][2]["id"].as_str().unwrap();
        assert_eq!(forked["messages"][2]["id"], map[old_id].as_str());
        assert_ne!(forked["info"]["id"], doc["info"]["id"]);
        // The provider state of the reasoning block has no v1 field, and survives the fork.
        assert_eq!(
            forked["messages"][2]["content"][0]["native"],
            doc["messages"][2]["content"][0]["native"]
        );
        assert_eq!(forked["messages"][0]["type"], "agent-switched");
        let kept_id = doc["messages"][0]["id"].as_str().unwrap();
        assert_eq!(forked["messages"][0]["id"], map[kept_id].as_str());
    }
}
