//! The registry: every agent git-session speaks, by name. The command line finds agents here
//! and nowhere else; `--agent` takes exactly these names.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use super::Agent;

/// Every agent, in the order `--agent` lists them; the first is the default for `save`. Codex
/// and Gemini CLI come before Claude Code: all three write `.jsonl`, and Codex and Gemini claim only
/// their own files.
static AGENTS: &[&dyn Agent] = &[
    &super::opencode::OpenCodeAgent,
    &super::codex::CodexAgent,
    &super::gemini::GeminiAgent,
    &super::claude::ClaudeAgent,
];

/// Every agent.
pub fn all() -> &'static [&'static dyn Agent] {
    AGENTS
}

/// The agent whose name (and ref namespace) is `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Agent> {
    AGENTS.iter().copied().find(|a| a.name() == name)
}

/// The agent `save` reads when `--agent` is not given.
pub fn default_agent() -> &'static dyn Agent {
    AGENTS[0]
}

/// An `--agent` value: one of the registered agents.
#[derive(Clone, Copy)]
pub struct AgentArg(pub &'static dyn Agent);

impl std::fmt::Debug for AgentArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

static ARGS: std::sync::LazyLock<Vec<AgentArg>> =
    std::sync::LazyLock::new(|| AGENTS.iter().map(|a| AgentArg(*a)).collect());

impl ValueEnum for AgentArg {
    fn value_variants<'a>() -> &'a [Self] {
        &ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.display_name()))
    }
}
