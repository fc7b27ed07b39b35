//! The session settings as the commands read them: once per command, with the warning when
//! redaction is off and the hint when a setting cannot be used.

use super::{ui, CliError};
use crate::session::redact::{ConfigError, Redactor};
use crate::session::settings::{self, RedactionOff, Settings};
use crate::store::Store;

pub(crate) use crate::session::settings::split_threshold;

/// The settings for a save, warning on stderr when secrets will be stored as they are.
pub(crate) fn for_save(store: &Store, no_redact: bool) -> Result<Settings, CliError> {
    const SENT: &str =
        "secrets in the session are stored as they are, and 'git session push' sends them";
    let settings = Settings::read(store, no_redact).map_err(config_error)?;
    match settings.redaction_off {
        Some(RedactionOff::ByFlag) => ui::status(&format!("warning: --no-redact: {SENT}")),
        Some(RedactionOff::ByConfig) => {
            ui::status(&format!("warning: session.redact is false: {SENT}"))
        }
        None => {}
    }
    Ok(settings)
}

/// The redaction rules in force, whatever `session.redact` says (for scan and scrub).
pub(crate) fn configured_redactor(store: &Store) -> Result<Redactor, CliError> {
    settings::configured_redactor(store).map_err(config_error)
}

/// A redaction setting that cannot be used, with the next step.
fn config_error(e: ConfigError) -> CliError {
    let key = match &e {
        ConfigError::InvalidBool { .. } => "session.redact",
        ConfigError::BadRule { .. } => "session.redactRule",
        ConfigError::BadAllow { .. } => "session.redactAllow",
    };
    CliError::user(e).hint(format!(
        "fix or remove that value: git config --show-origin --get-all {key}"
    ))
}
