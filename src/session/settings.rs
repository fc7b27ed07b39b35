//! The settings every command that writes sessions reads once: the split threshold and the
//! redaction pass, from git config.

use super::codec::{Redact, DEFAULT_SPLIT_THRESHOLD};
use super::redact::{ConfigError, RedactConfig, Redactor};
use crate::store::Store;

/// Why a save stores secrets as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactionOff {
    /// `--no-redact` was given.
    ByFlag,
    /// `session.redact=false` is set.
    ByConfig,
}

/// What a save writes with: the split threshold and the redaction pass.
pub struct Settings {
    /// Strings at least this long are stored as blobs of their own.
    pub split_threshold: usize,
    /// The redaction pass, or `None` when redaction is off.
    pub redactor: Option<Redactor>,
    /// Why redaction is off, when it is.
    pub redaction_off: Option<RedactionOff>,
}

impl Settings {
    /// Reads the settings from git config; `no_redact` turns redaction off.
    pub fn read(store: &Store, no_redact: bool) -> Result<Self, ConfigError> {
        let split_threshold = split_threshold(store);
        if no_redact {
            return Ok(Settings {
                split_threshold,
                redactor: None,
                redaction_off: Some(RedactionOff::ByFlag),
            });
        }
        let config = RedactConfig::read(store)?;
        if !config.enabled {
            return Ok(Settings {
                split_threshold,
                redactor: None,
                redaction_off: Some(RedactionOff::ByConfig),
            });
        }
        Ok(Settings {
            split_threshold,
            redactor: Some(config.redactor()?),
            redaction_off: None,
        })
    }

    /// The redaction pass as the codec takes it.
    pub fn redact(&self) -> Option<&dyn Redact> {
        self.redactor.as_ref().map(|r| r as &dyn Redact)
    }

    /// `title` as a save's commit message records it: redacted when the session is.
    pub fn redacted_title(&self, title: String) -> String {
        self.redactor
            .as_ref()
            .and_then(|r| r.redact_text(&title, &mut Default::default()))
            .unwrap_or(title)
    }
}

/// The split threshold: `session.splitThreshold` from git config, or the default.
pub fn split_threshold(store: &Store) -> usize {
    store
        .config_integer("session.splitThreshold")
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(DEFAULT_SPLIT_THRESHOLD)
}

/// The rules in force, from git config, whatever `session.redact` says (a scan always looks).
pub fn configured_redactor(store: &Store) -> Result<Redactor, ConfigError> {
    RedactConfig::read(store).and_then(|c| c.redactor())
}
