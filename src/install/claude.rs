//! Claude Code's hooks: `PreCompact` and `SessionEnd` entries merged into a `settings.json` (the
//! project's `.claude/settings.json`, or the user's `$CLAUDE_CONFIG_DIR/settings.json`, else
//! `~/.claude/settings.json`).
//!
//! The file is shared with the user and Claude Code, so it is edited, never replaced: every other
//! setting and hook stays, in its order; git-session's entries are appended to each event's array
//! and recognised by their command. The manifest keeps the file's original bytes, so uninstall
//! restores them exactly when the file still holds what install wrote, and otherwise removes only
//! git-session's entries.
//!
//! The command is `git-session save --agent claude --hook-stdin || true`: the save never exits
//! non-zero, and `|| true` also covers a binary too old to know `--hook-stdin` (an exit status of
//! 2 would block compaction). Claude Code kills the hook after `timeout` seconds.

use std::path::{Path, PathBuf};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::error::io;
use super::{hash, Which};
use super::{non_empty_env, Action, Component, InstallError, Item, Manifest, Plan, Result, State};

/// The command of git-session's hook entries.
pub const HOOK_COMMAND: &str = "git-session save --agent claude --hook-stdin || true";
/// Seconds Claude Code lets the hook run before killing it.
pub const HOOK_TIMEOUT: u64 = 10;
/// The events git-session saves on.
pub const EVENTS: [&str; 2] = ["PreCompact", "SessionEnd"];

/// The hooks of an agent whose `settings.json` has Claude Code's `hooks` shape (Claude Code,
/// Gemini CLI): `{"hooks": {"<event>": [{"hooks": [{"type": "command", "command", "timeout"}]}]}}`.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    /// The component's name in plans and status (`Claude Code hooks`).
    pub name: &'static str,
    /// The command of git-session's entries.
    pub command: &'static str,
    /// The events git-session saves on.
    pub events: &'static [&'static str],
    /// The `timeout` value.
    pub timeout: u64,
    /// Its unit, for people (`s`, `ms`).
    pub unit: &'static str,
    /// Whether each group gets an empty `matcher`.
    pub matcher: bool,
}

/// Claude Code's hooks.
pub static CLAUDE: Spec = Spec {
    name: "Claude Code hooks",
    command: HOOK_COMMAND,
    events: &EVENTS,
    timeout: HOOK_TIMEOUT,
    unit: "s",
    matcher: true,
};

/// Every command git-session's settings hooks have (a file holds one agent's).
const COMMANDS: [&str; 2] = [HOOK_COMMAND, super::gemini::HOOK_COMMAND];

/// The user's Claude Code config directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn global_config_dir() -> Option<PathBuf> {
    non_empty_env("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".claude")))
}

/// The settings file in the Claude Code config directory `dir`.
pub fn settings_path(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}

/// A JSON value that keeps the order of object keys (serde_json's `Value` sorts them here), so
/// an edited settings file differs from the original only by what was added or removed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at `key` of an object, inserted (as `empty`) at the end when missing.
    fn entry(&mut self, key: &str, empty: Json) -> Option<&mut Json> {
        let Json::Object(entries) = self else {
            return None;
        };
        let index = match entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                entries.push((key.to_owned(), empty));
                entries.len() - 1
            }
        };
        Some(&mut entries[index].1)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries: Vec<(String, Json)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    // A repeated key: the last one wins, as in JavaScript.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Json::Object(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Parses a settings file: a JSON object. Comments (`//`, `/* */`, which Gemini CLI accepts and
/// keeps) are read as whitespace.
pub(crate) fn parse(text: &str) -> Result<Json, String> {
    let stripped;
    let text = match serde_json::from_str::<Json>(text) {
        Ok(_) => text,
        Err(_) => {
            stripped = strip_comments(text);
            &stripped
        }
    };
    match serde_json::from_str::<Json>(text) {
        Ok(value @ Json::Object(_)) => Ok(value),
        Ok(_) => Err("it is not a JSON object".to_owned()),
        Err(e) => Err(format!("it is not valid JSON ({e})")),
    }
}

/// `text` with every comment outside strings turned into spaces (newlines kept), so byte
/// positions stay where they were.
fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
            continue;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |e| i + 2 + e + 2);
            for o in out.iter_mut().take(end).skip(i) {
                if *o != b'\n' {
                    *o = b' ';
                }
            }
            i = end;
            continue;
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// The new contents of a settings file with comments (`original`) that had no `hooks`, with
/// git-session's `hooks` (the last key of `settings`) written before the closing brace, so every
/// comment stays. `None` when that does not give `settings` back.
fn insert_hooks(original: &str, settings: &Json) -> Option<String> {
    let hooks = settings.get("hooks")?;
    let stripped = strip_comments(original);
    let close = stripped.rfind('}')?;
    let before = stripped[..close].trim_end();
    let comma = if before.ends_with('{') { "" } else { "," };
    let at = before.len();
    let rendered = render(hooks, Some(original));
    let indent: String = original
        .split('\n')
        .nth(1)
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').collect())
        .filter(|i: &String| !i.is_empty())
        .unwrap_or_else(|| "  ".to_owned());
    let body = rendered.trim_end().replace('\n', &format!("\n{indent}"));
    let text = format!(
        "{}{comma}\n{indent}\"hooks\": {body}{}",
        &original[..at],
        &original[at..]
    );
    (parse(&text).ok()? == *settings).then_some(text)
}

/// Writes `value` pretty-printed with the indentation `like` uses (two spaces for a new file or a
/// one-line one), ending with a newline when `like` does (or is new).
pub(crate) fn render(value: &Json, like: Option<&str>) -> String {
    let indent: String = like
        .and_then(|t| t.split('\n').nth(1))
        .map(|line| {
            line.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect()
        })
        .filter(|i: &String| !i.is_empty())
        .unwrap_or_else(|| "  ".to_owned());
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .expect("a JSON value serialises");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    if like.is_none_or(|t| t.ends_with('\n')) {
        text.push('\n');
    }
    text
}

fn is_ours(hook: &Json) -> bool {
    matches!(hook.get("command"), Some(Json::String(c)) if COMMANDS.contains(&c.trim()))
}

/// Whether `settings` has git-session's hook for `event`.
pub(crate) fn has_hook(settings: &Json, event: &str) -> bool {
    has_hook_of(settings, event)
}

fn has_hook_of(settings: &Json, event: &str) -> bool {
    let Some(Json::Array(groups)) = settings.get("hooks").and_then(|h| h.get(event)) else {
        return false;
    };
    groups.iter().any(
        |group| matches!(group.get("hooks"), Some(Json::Array(hooks)) if hooks.iter().any(is_ours)),
    )
}

/// Appends git-session's hook for `event` to `settings` (a new matcher group at the end of the
/// event's array).
fn add_hook(settings: &mut Json, event: &str, spec: &Spec) -> Result<(), String> {
    let hooks = settings
        .entry("hooks", Json::Object(Vec::new()))
        .filter(|h| matches!(h, Json::Object(_)))
        .ok_or("its \"hooks\" is not an object")?;
    let Some(Json::Array(groups)) = hooks.entry(event, Json::Array(Vec::new())) else {
        return Err(format!("its \"hooks\".\"{event}\" is not an array"));
    };
    let hook = Json::Object(vec![
        ("type".into(), Json::String("command".into())),
        ("command".into(), Json::String(spec.command.into())),
        ("timeout".into(), Json::Number(spec.timeout.into())),
    ]);
    let mut group = Vec::new();
    if spec.matcher {
        group.push(("matcher".into(), Json::String(String::new())));
    }
    group.push(("hooks".into(), Json::Array(vec![hook])));
    groups.push(Json::Object(group));
    Ok(())
}

/// Removes git-session's hooks from `settings`, and the groups, event arrays and `hooks` object
/// that only held them. Returns whether anything was removed.
pub(crate) fn remove_hooks(settings: &mut Json) -> bool {
    let Some(Json::Object(events)) = settings.get_mut("hooks") else {
        return false;
    };
    let mut removed = false;
    let mut emptied = Vec::new();
    for (event, groups) in events.iter_mut() {
        let Json::Array(groups) = groups else {
            continue;
        };
        let before = groups.len();
        groups.retain_mut(|group| {
            let Some(Json::Array(hooks)) = group.get_mut("hooks") else {
                return true;
            };
            let n = hooks.len();
            hooks.retain(|h| !is_ours(h));
            if hooks.len() == n {
                return true;
            }
            removed = true;
            !hooks.is_empty()
        });
        if before > 0 && groups.is_empty() {
            emptied.push(event.clone());
        }
    }
    events.retain(|(event, _)| !emptied.contains(event));
    if removed && events.is_empty() {
        if let Json::Object(entries) = settings {
            entries.retain(|(k, _)| k != "hooks");
        }
    }
    removed
}

/// What is in a settings file now.
enum Found {
    Missing,
    Parsed { text: String, settings: Json },
    Invalid(String),
}

fn inspect(path: &Path) -> Result<Found> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
        Err(e) => Err(io("cannot read", path, e)),
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(_) => Ok(Found::Invalid("it is not UTF-8 text".into())),
            Ok(text) => Ok(match parse(&text) {
                Ok(settings) => Found::Parsed { text, settings },
                Err(reason) => Found::Invalid(reason),
            }),
        },
    }
}

/// The state of git-session's hooks in the settings file of the config directory `dir`.
pub fn component(dir: &Path) -> Component {
    component_of(dir, &CLAUDE)
}

/// The state of `spec`'s hooks in the settings file of the config directory `dir`.
pub fn component_of(dir: &Path, spec: &Spec) -> Component {
    let path = settings_path(dir);
    let (state, detail) = match inspect(&path) {
        Ok(Found::Missing) => (State::Missing, None),
        Ok(Found::Parsed { settings, .. }) => {
            let present: Vec<&str> = spec
                .events
                .iter()
                .copied()
                .filter(|e| has_hook(&settings, e))
                .collect();
            match present.len() {
                0 => (State::Missing, None),
                n if n == spec.events.len() => (State::Installed, Some(spec.events.join(", "))),
                _ => (
                    State::Outdated,
                    Some(format!("only {}", present.join(", "))),
                ),
            }
        }
        Ok(Found::Invalid(reason)) => (State::InTheWay, Some(reason)),
        Err(e) => (State::InTheWay, Some(e.to_string())),
    };
    Component {
        name: spec.name,
        target: path.display().to_string(),
        state,
        detail,
    }
}

/// Plans git-session's hooks in the settings file of the Claude Code config directory `dir`.
pub(crate) fn plan(dir: &Path, which: Which, plan: &mut Plan) -> Result<()> {
    plan_of(dir, which, plan, &CLAUDE)
}

/// Plans `spec`'s hooks in the settings file of the config directory `dir`.
pub(crate) fn plan_of(
    dir: &Path,
    which: Which,
    plan: &mut Plan,
    spec: &'static Spec,
) -> Result<()> {
    let path = settings_path(dir);
    let (original, mut settings) = match inspect(&path)? {
        Found::Missing => (None, Json::Object(Vec::new())),
        Found::Parsed { text, settings } => (Some(text), settings),
        Found::Invalid(reason) => return Err(InstallError::Settings { path, reason }),
    };
    let missing: Vec<&str> = spec
        .events
        .iter()
        .copied()
        .filter(|e| !has_hook(&settings, e))
        .collect();
    let state = match missing.len() {
        0 => State::Installed,
        n if n == spec.events.len() => State::Missing,
        _ => State::Outdated,
    };
    plan.component(spec.name, path.display().to_string(), state);
    if missing.is_empty() {
        return Ok(());
    }
    for event in &missing {
        add_hook(&mut settings, event, spec).map_err(|reason| InstallError::Settings {
            path: path.clone(),
            reason,
        })?;
    }
    if original.is_none() && !dir.is_dir() {
        plan.push(
            which,
            Action::CreateDir {
                path: dir.to_path_buf(),
                opencode: false,
            },
        );
    }
    let mut contents = render(&settings, original.as_deref());
    if let Some(text) = original.as_deref() {
        if strip_comments(text) != text {
            match parse(text).ok().filter(|o| o.get("hooks").is_none()) {
                Some(_) => {
                    if let Some(kept) = insert_hooks(text, &settings) {
                        contents = kept;
                    }
                }
                None => plan.notes.push(format!(
                    "{} has comments; adding to its \"hooks\" rewrites it without them (uninstall puts the file back as it was)",
                    path.display()
                )),
            }
        }
    }
    plan.push(
        which,
        Action::MergeSettings {
            path,
            contents,
            original,
            events: missing.into_iter().map(str::to_owned).collect(),
            spec,
        },
    );
    Ok(())
}

/// Plans the undo of a settings file install recorded: the original bytes back when the file
/// is what install wrote, else git-session's entries taken out of what is there.
pub(crate) fn undo(
    path: &Path,
    original: Option<&str>,
    written: &str,
    which: Which,
    plan: &mut Plan,
) -> Result<()> {
    let found = inspect(path)?;
    let text = match &found {
        Found::Missing => return Ok(()),
        Found::Parsed { text, .. } => Some(text.as_str()),
        Found::Invalid(_) => None,
    };
    if text.is_some_and(|t| hash(t.as_bytes()) == written) {
        plan.push(
            which,
            Action::RestoreSettings {
                path: path.to_path_buf(),
                contents: original.map(str::to_owned),
                edited: false,
            },
        );
        return Ok(());
    }
    match found {
        Found::Parsed { text, mut settings } => {
            if !remove_hooks(&mut settings) {
                return Ok(());
            }
            let contents = if original.is_none() && settings == Json::Object(Vec::new()) {
                None
            } else {
                Some(render(&settings, Some(&text)))
            };
            plan.push(
                which,
                Action::RestoreSettings {
                    path: path.to_path_buf(),
                    contents,
                    edited: true,
                },
            );
            plan.notes.push(format!(
                "{} changed since git-session wrote it; only git-session's hooks are removed from it",
                path.display()
            ));
        }
        Found::Invalid(reason) => plan.notes.push(format!(
            "{} changed since git-session wrote it and {reason}; remove git-session's hooks ('git-session save ... --hook-stdin') by hand",
            path.display()
        )),
        Found::Missing => {}
    }
    Ok(())
}

/// The manifest record of a settings file install wrote `contents` into, keeping the original
/// of an earlier install.
pub(crate) fn item(
    manifest: &Manifest,
    path: &Path,
    original: Option<&str>,
    contents: &str,
) -> Item {
    let earlier = manifest.items.iter().find_map(|i| match i {
        Item::Settings {
            path: p, original, ..
        } if p == path => Some(original.clone()),
        _ => None,
    });
    Item::Settings {
        path: path.to_path_buf(),
        original: earlier.unwrap_or_else(|| original.map(str::to_owned)),
        hash: hash(contents.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"{
    "permissions": {"allow": ["Bash(ls:*)"]},
    "model": "opus",
    "hooks": {
        "PreCompact": [{"matcher": "manual", "hooks": [{"type": "command", "command": "./mine.sh"}]}]
    }
}
"#;

    #[test]
    fn adding_keeps_order_and_indentation_and_removing_gives_the_same_value_back() {
        let mut settings = parse(USER).unwrap();
        let original = settings.clone();
        for event in EVENTS {
            add_hook(&mut settings, event, &CLAUDE).unwrap();
        }
        let text = render(&settings, Some(USER));
        assert!(text.starts_with("{\n    \"permissions\""), "{text}");
        assert!(text.find("\"model\"").unwrap() < text.find("\"hooks\"").unwrap());
        assert!(
            text.contains("./mine.sh") && text.ends_with("}\n"),
            "{text}"
        );
        let reparsed = parse(&text).unwrap();
        assert!(EVENTS.iter().all(|e| has_hook(&reparsed, e)));
        let mut removed = reparsed;
        assert!(remove_hooks(&mut removed));
        assert_eq!(removed, original);
        let mut empty = parse("{}").unwrap();
        add_hook(&mut empty, "SessionEnd", &CLAUDE).unwrap();
        assert!(remove_hooks(&mut empty));
        assert_eq!(empty, Json::Object(Vec::new()));
    }

    #[test]
    fn a_file_that_is_not_an_object_or_has_odd_hooks_is_refused() {
        assert!(parse("[]").is_err());
        assert!(parse("{").is_err());
        let commented = "{\n  // mine\n  \"ui\": {\"theme\": \"x\"} /* end */\n}";
        let mut settings = parse(commented).unwrap();
        add_hook(&mut settings, "SessionEnd", &CLAUDE).unwrap();
        let kept = insert_hooks(commented, &settings).unwrap();
        assert!(
            kept.contains("// mine") && kept.contains("/* end */"),
            "{kept}"
        );
        assert_eq!(parse(&kept).unwrap(), settings);
        let mut odd = parse(r#"{"hooks": []}"#).unwrap();
        assert!(add_hook(&mut odd, "PreCompact", &CLAUDE).is_err());
        let mut odd = parse(r#"{"hooks": {"PreCompact": {}}}"#).unwrap();
        assert!(add_hook(&mut odd, "PreCompact", &CLAUDE).is_err());
    }
}
