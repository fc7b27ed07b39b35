//! The payload an agent's hook gets on stdin (Claude Code and Codex send the same shape), and
//! the save reason its event gives.

use serde::Deserialize;

use super::InputError;

/// What Claude Code and Codex write on a hook's stdin (the fields git-session uses; both send
/// the same shape).
#[derive(Debug, Clone, Deserialize)]
pub struct HookPayload {
    /// The session id.
    pub session_id: String,
    /// The session file (a transcript, a rollout).
    #[serde(default)]
    pub transcript_path: Option<String>,
    /// The directory the agent runs in.
    #[serde(default)]
    pub cwd: Option<String>,
    /// `PreCompact`, `SessionEnd`, ...
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// `manual` or `auto` (compaction hooks).
    #[serde(default)]
    pub trigger: Option<String>,
}

impl HookPayload {
    /// Parses a hook payload of `agent`.
    pub fn parse(bytes: &[u8], agent: &'static str) -> Result<Self, InputError> {
        crate::agents::parse_json(bytes, "the hook payload on stdin")?;
        serde_json::from_slice(bytes).map_err(|e| InputError::WrongShape {
            source_name: "the hook payload on stdin".into(),
            agent,
            problem: e.to_string(),
        })
    }

    /// The save reason for this hook: `pre-compaction` for PreCompact, `session-end` for
    /// SessionEnd, otherwise the event name in kebab case.
    pub fn reason(&self) -> String {
        match self.hook_event_name.as_deref() {
            Some("PreCompact") => "pre-compaction".into(),
            Some("SessionEnd") => "session-end".into(),
            Some(other) => {
                let mut out = String::new();
                for (i, c) in other.chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        out.push('-');
                    }
                    out.push(c.to_ascii_lowercase());
                }
                out
            }
            None => "hook".into(),
        }
    }
}
