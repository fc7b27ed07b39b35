//! Gemini CLI's hooks: `PreCompress` and `SessionEnd` entries merged into a `settings.json` (the
//! project's `.gemini/settings.json`, or the user's `~/.gemini/settings.json`), the same shape as
//! Claude Code's, edited and undone by the same code ([`super::claude`]): every other setting
//! stays in its order, uninstall restores the file exactly or removes only git-session's entries.
//!
//! `PreCompress` fires before every model request, so the save it runs is cheap when nothing
//! changed (see `git session save --hook-stdin`). Gemini's `timeout` is in milliseconds; a hook
//! past it is killed and Gemini goes on.

use std::path::PathBuf;

use super::claude::Spec;

/// The command of git-session's hook entries.
pub const HOOK_COMMAND: &str = "git-session save --agent gemini --hook-stdin || true";

/// Gemini CLI's hooks.
pub static GEMINI: Spec = Spec {
    name: "Gemini CLI hooks",
    command: HOOK_COMMAND,
    events: &["PreCompress", "SessionEnd"],
    timeout: 10_000,
    unit: "ms",
    matcher: false,
};

/// The user's Gemini folder: `$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`.
pub fn global_dir() -> Option<PathBuf> {
    crate::agents::gemini::source::gemini_dir()
}
