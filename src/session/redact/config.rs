//! Redaction settings from git config.
//!
//! | key | meaning |
//! | --- | --- |
//! | `session.redact` | `true` (default) or `false`: redact before saving |
//! | `session.redactRule` | multi-valued, `name=regex`: a rule added to the built-in ones; the secret is the group named `secret`, else group 1, else the whole match |
//! | `session.redactAllow` | multi-valued regex: a found secret it matches (anywhere in the secret) is kept |
//!
//! The rules in force are the built-in ones plus the user's, never fewer: a user rule cannot
//! replace or disable a built-in one, and an invalid rule or pattern is an error naming its key,
//! never silently dropped.

use super::Redactor;
use crate::store::Store;

/// `session.redact`.
pub const KEY_ENABLED: &str = "session.redact";
/// `session.redactRule`.
pub const KEY_RULE: &str = "session.redactRule";
/// `session.redactAllow`.
pub const KEY_ALLOW: &str = "session.redactAllow";

/// A rule of the user's: a name for the marker and a regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRule {
    /// The rule id (`[REDACTED:<name>]`): ASCII letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The regex (`regex` crate syntax).
    pub pattern: String,
}

/// Redaction settings as git config holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactConfig {
    /// `session.redact`: redact before saving (default true).
    pub enabled: bool,
    /// `session.redactRule` values.
    pub rules: Vec<UserRule>,
    /// `session.redactAllow` values.
    pub allow: Vec<String>,
}

impl Default for RedactConfig {
    fn default() -> Self {
        RedactConfig {
            enabled: true,
            rules: Vec::new(),
            allow: Vec::new(),
        }
    }
}

/// A redaction setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `session.redact` is not a boolean.
    #[error("bad boolean value {value:?} for {KEY_ENABLED}")]
    InvalidBool {
        /// What the config holds.
        value: String,
    },
    /// A `session.redactRule` value is not `name=regex`, or its regex does not compile.
    #[error("{KEY_RULE} {value:?} is invalid: {problem}")]
    BadRule {
        /// The config value.
        value: String,
        /// What is wrong.
        problem: String,
    },
    /// A `session.redactAllow` pattern does not compile.
    #[error("{KEY_ALLOW} {value:?} is invalid: {problem}")]
    BadAllow {
        /// The config value.
        value: String,
        /// What is wrong.
        problem: String,
    },
}

impl RedactConfig {
    /// Reads the settings from the repository's git config (all scopes merged).
    pub fn read(store: &Store) -> Result<Self, ConfigError> {
        Self::from_values(
            store.config_string(KEY_ENABLED).as_deref(),
            &store.config_strings(KEY_RULE),
            &store.config_strings(KEY_ALLOW),
        )
    }

    /// Builds the settings from raw config values.
    pub fn from_values(
        enabled: Option<&str>,
        rules: &[String],
        allow: &[String],
    ) -> Result<Self, ConfigError> {
        let enabled = match enabled.map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            // `[session] redact` without a value means true, as in git.
            Some(v) if v.is_empty() => true,
            Some(v) if ["true", "yes", "on", "1"].contains(&v.as_str()) => true,
            Some(v) if ["false", "no", "off", "0"].contains(&v.as_str()) => false,
            Some(_) => {
                return Err(ConfigError::InvalidBool {
                    value: enabled.unwrap_or_default().to_owned(),
                })
            }
        };
        let rules = rules
            .iter()
            .map(|value| match value.split_once('=') {
                Some((name, pattern)) if !pattern.is_empty() => Ok(UserRule {
                    name: name.trim().to_owned(),
                    pattern: pattern.to_owned(),
                }),
                _ => Err(ConfigError::BadRule {
                    value: value.clone(),
                    problem: "expected name=regex".into(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config = RedactConfig {
            enabled,
            rules,
            allow: allow.to_vec(),
        };
        for rule in &config.rules {
            check_rule_name(rule)?;
        }
        Ok(config)
    }

    /// The redactor for these settings (built-in rules plus the user's), whether or not
    /// redaction is enabled.
    pub fn redactor(&self) -> Result<Redactor, ConfigError> {
        Redactor::new(&self.rules, &self.allow)
    }
}

/// A rule name must be usable in a marker: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub(crate) fn check_rule_name(rule: &UserRule) -> Result<(), ConfigError> {
    let ok = !rule.name.is_empty()
        && rule.name.len() <= 64
        && rule
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadRule {
            value: format!("{}={}", rule.name, rule.pattern),
            problem: "the name may hold only ASCII letters, digits, '.', '_' and '-' (at most 64)"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_on_with_no_user_rules() {
        let c = RedactConfig::from_values(None, &[], &[]).unwrap();
        assert_eq!(c, RedactConfig::default());
        assert!(
            RedactConfig::from_values(Some(""), &[], &[])
                .unwrap()
                .enabled
        );
        assert!(
            !RedactConfig::from_values(Some("false"), &[], &[])
                .unwrap()
                .enabled
        );
        assert!(
            !RedactConfig::from_values(Some("Off"), &[], &[])
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn a_bad_boolean_is_an_error_naming_the_key() {
        let e = RedactConfig::from_values(Some("maybe"), &[], &[]).unwrap_err();
        assert!(e.to_string().contains("session.redact"), "{e}");
    }

    #[test]
    fn user_rules_are_name_equals_regex() {
        let c = RedactConfig::from_values(None, &["acme=ACME-[0-9]{8}".into()], &[]).unwrap();
        assert_eq!(
            c.rules,
            vec![UserRule {
                name: "acme".into(),
                pattern: "ACME-[0-9]{8}".into()
            }]
        );
        for bad in ["no-equals-sign", "=ACME", "acme=", "bad name=x"] {
            let e = RedactConfig::from_values(None, &[bad.into()], &[]).unwrap_err();
            assert!(e.to_string().contains("session.redactRule"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_invalid_regex_is_an_error_never_dropped() {
        let c = RedactConfig::from_values(None, &["acme=ACME-[0-9".into()], &[]).unwrap();
        let e = c.redactor().unwrap_err();
        assert!(e.to_string().contains("session.redactRule"), "{e}");
        let c = RedactConfig::from_values(None, &[], &["(unclosed".into()]).unwrap();
        let e = c.redactor().unwrap_err();
        assert!(e.to_string().contains("session.redactAllow"), "{e}");
    }

    #[test]
    fn the_rules_id_changes_with_rules_and_allowlist() {
        let base = RedactConfig::default().redactor().unwrap();
        let with_rule = RedactConfig::from_values(None, &["acme=ACME-[0-9]{8}".into()], &[])
            .unwrap()
            .redactor()
            .unwrap();
        let with_allow = RedactConfig::from_values(None, &[], &["^AKIA".into()])
            .unwrap()
            .redactor()
            .unwrap();
        use crate::session::codec::Redact;
        assert_ne!(base.rules_id(), with_rule.rules_id());
        assert_ne!(base.rules_id(), with_allow.rules_id());
        assert_ne!(with_rule.rules_id(), with_allow.rules_id());
        assert_eq!(base.rules_id(), Redactor::builtin().rules_id(), "stable");
        assert!(
            with_rule.rule_ids().count() == base.rule_ids().count() + 1,
            "the built-in rules stay in force"
        );
    }
}
