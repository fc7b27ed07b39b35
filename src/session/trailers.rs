//! The commit message of a save: a readable subject and body, and trailers a script can read
//! (`git log --format='%(trailers:key=Reason,valueonly)' refs/sessions/<agent>/<id>`).

use super::portable::MachinePaths;

/// The storage format this build writes and the newest it reads. 3: messages in JSON-lines
/// buckets (see [`super::codec`]); 2: the saver's paths are placeholders in the tree
/// ([`super::portable`]) and `Path` trailers record them; 1 (and 0): the text as it was read.
pub const FORMAT: u32 = 3;

/// The first format whose trees hold the stored form of [`super::portable`].
pub const PORTABLE_FORMAT: u32 = 2;

/// What a save's commit message records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaveTrailers {
    /// The session id.
    pub session: String,
    /// The session title (one line).
    pub title: String,
    /// The agent (ref namespace).
    pub agent: String,
    /// The agent's version that wrote the session, when known.
    pub agent_version: Option<String>,
    /// Why the save was made: `manual`, `pre-compaction`, `idle`, `import`, ...
    pub reason: String,
    /// Messages of the root session.
    pub messages: usize,
    /// Child sessions at any depth.
    pub children: usize,
    /// How many saves this session's history holds, this one included.
    pub saves: u64,
    /// Size of the session as compact JSON.
    pub bytes: u64,
    /// Storage format of the tree.
    pub format: u32,
    /// The saver's roots its placeholders stand for (`Path: <name> <JSON string>`, one each).
    pub paths: MachinePaths,
}

impl SaveTrailers {
    /// Renders the commit message: subject, blank line, body, blank line, trailers.
    pub fn to_message(&self) -> String {
        let title = one_line(&self.title);
        let subject = if title.is_empty() {
            format!("Save {}", self.session)
        } else {
            title
        };
        let body = format!(
            "Saved {} ({}{}): {} messages, {} child sessions, reason {}.",
            self.session,
            self.agent,
            self.agent_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            self.messages,
            self.children,
            one_line(&self.reason),
        );
        self.to_message_with(&subject, &body)
    }

    /// Renders the commit message with a given subject and body, then the trailers.
    pub fn to_message_with(&self, subject: &str, body: &str) -> String {
        let title = one_line(&self.title);
        let mut m = format!("{}\n\n{body}\n\n", truncate(&one_line(subject), 72));
        m.push_str(&format!("Session: {}\n", self.session));
        m.push_str(&format!("Title: {title}\n"));
        m.push_str(&format!("Agent: {}\n", self.agent));
        if let Some(v) = &self.agent_version {
            m.push_str(&format!("Agent-Version: {}\n", one_line(v)));
        }
        m.push_str(&format!("Reason: {}\n", one_line(&self.reason)));
        m.push_str(&format!("Messages: {}\n", self.messages));
        m.push_str(&format!("Children: {}\n", self.children));
        m.push_str(&format!("Saves: {}\n", self.saves));
        m.push_str(&format!("Bytes: {}\n", self.bytes));
        m.push_str(&format!("Format: {}\n", self.format));
        for (name, path) in self.paths.entries() {
            let quoted = serde_json::to_string(path).expect("a string always serialises");
            m.push_str(&format!("Path: {name} {quoted}\n"));
        }
        m
    }

    /// Reads the trailers back from a commit message; missing ones stay at their defaults
    /// (format 0 means "not a git-session save").
    pub fn parse(message: &str) -> Self {
        let mut t = SaveTrailers::default();
        let block = message.trim_end().rsplit("\n\n").next().unwrap_or("");
        for line in block.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim();
            match key {
                "Session" => t.session = value.to_owned(),
                "Title" => t.title = value.to_owned(),
                "Agent" => t.agent = value.to_owned(),
                "Agent-Version" => t.agent_version = Some(value.to_owned()),
                "Reason" => t.reason = value.to_owned(),
                "Messages" => t.messages = value.parse().unwrap_or(0),
                "Children" => t.children = value.parse().unwrap_or(0),
                "Saves" => t.saves = value.parse().unwrap_or(0),
                "Bytes" => t.bytes = value.parse().unwrap_or(0),
                "Format" => t.format = value.parse().unwrap_or(0),
                "Path" => {
                    if let Some((name, quoted)) = value.split_once(' ') {
                        if let Ok(path) = serde_json::from_str::<String>(quoted) {
                            t.paths = std::mem::take(&mut t.paths).with(name, &path);
                        }
                    }
                }
                _ => {}
            }
        }
        t
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_round_trip_and_titles_stay_on_one_line() {
        let t = SaveTrailers {
            session: "ses_1".into(),
            title: "Fix the\nparser: now".into(),
            agent: "opencode".into(),
            agent_version: Some("1.18.33".into()),
            reason: "pre-compaction".into(),
            messages: 12,
            children: 1,
            saves: 3,
            bytes: 4096,
            format: FORMAT,
            paths: MachinePaths::none()
                .with("checkout", "/home/a/my \"project\" ")
                .with("home", "/home/a"),
        };
        let message = t.to_message();
        assert!(message.starts_with("Fix the parser: now\n\n"), "{message}");
        let back = SaveTrailers::parse(&message);
        assert_eq!(back.title, "Fix the parser: now");
        assert_eq!(
            back,
            SaveTrailers {
                title: "Fix the parser: now".into(),
                ..t
            }
        );
    }

    #[test]
    fn a_foreign_commit_has_format_zero() {
        assert_eq!(SaveTrailers::parse("just a commit\n").format, 0);
    }
}
