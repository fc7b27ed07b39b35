//! Codex CLI's hooks: `PreCompact` and `SessionEnd` entries merged into a `hooks.json` (the
//! project's `.codex/hooks.json`, or `$CODEX_HOME/hooks.json` with `--global`), plus the entries
//! Codex needs to trust them in `$CODEX_HOME/config.toml`.
//!
//! Codex runs a hook only when `config.toml` holds its trust entry,
//! `[hooks.state."<hooks.json path>:<event>:<group>:<handler>"] trusted_hash = "sha256:<hex>"`,
//! the SHA-256 of the handler group as compact sorted-key JSON; otherwise the hook silently
//! never runs. The trust of a *project* (`[projects."<path>"] trust_level = "trusted"`) is the
//! user's decision: Codex ignores a project's `.codex/` until it is given, and git-session never
//! gives it; install says so when the project is not trusted.
//!
//! Both files are shared with the user and Codex, so they are edited, never replaced:
//! `hooks.json` keeps its key order (the Claude Code installer's [`Json`]); `config.toml` is
//! edited with `toml_edit`, which keeps its formatting and comments. The manifest keeps each
//! file's original bytes, so uninstall restores them exactly when a file still holds what install
//! wrote, and otherwise takes out only git-session's entries.
//!
//! The command is `git-session save --agent codex --hook-stdin || true`: it never exits non-zero
//! (a failed hook does not block compaction anyway), prints nothing on stdout, and Codex kills
//! it after `timeout` seconds (SessionEnd hooks are capped at 3 s by Codex).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item as TomlItem, Table};

use super::claude::{parse, render, Json};
use super::error::io;
use super::{
    hash, non_empty_env, Action, InstallError, Item, Manifest, Plan, Result, State, Which,
};

/// The command of git-session's hook entries.
pub const HOOK_COMMAND: &str = "git-session save --agent codex --hook-stdin || true";
/// Seconds Codex lets the hook run before killing it.
pub const HOOK_TIMEOUT: u64 = 10;
/// The events git-session saves on, with the names Codex's trust entries use.
pub const EVENTS: [(&str, &str); 2] =
    [("PreCompact", "pre_compact"), ("SessionEnd", "session_end")];

/// Codex's home: `$CODEX_HOME`, else `~/.codex`.
pub fn home() -> Option<PathBuf> {
    non_empty_env("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".codex")))
}

/// The hooks file in the Codex config directory `dir`.
pub fn hooks_path(dir: &Path) -> PathBuf {
    dir.join("hooks.json")
}

/// The user's Codex config file.
pub fn config_path(home: &Path) -> PathBuf {
    home.join("config.toml")
}

/// The trust hash Codex expects for a group holding git-session's one handler for `event`
/// (snake case): `sha256:` and the hex SHA-256 of the group as compact JSON with sorted keys.
pub fn trust_hash(event: &str) -> String {
    let group = serde_json::json!({
        "event_name": event,
        "hooks": [{"async": false, "command": HOOK_COMMAND, "timeout": HOOK_TIMEOUT, "type": "command"}],
        "matcher": "",
    });
    let digest = Sha256::digest(group.to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn get<'j>(json: &'j Json, key: &str) -> Option<&'j Json> {
    match json {
        Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn is_ours(handler: &Json) -> bool {
    matches!(get(handler, "command"), Some(Json::String(c)) if c.trim() == HOOK_COMMAND)
}

/// Where git-session's handler for `event` is in `hooks`: (group, handler) indexes.
pub(crate) fn position(hooks: &Json, event: &str) -> Option<(usize, usize)> {
    let Some(Json::Array(groups)) = get(hooks, "hooks").and_then(|h| get(h, event)) else {
        return None;
    };
    groups
        .iter()
        .enumerate()
        .find_map(|(g, group)| match get(group, "hooks") {
            Some(Json::Array(handlers)) => handlers.iter().position(is_ours).map(|h| (g, h)),
            _ => None,
        })
}

/// Appends git-session's group for `event` to `hooks`.
fn add_hook(hooks: &mut Json, event: &str) -> std::result::Result<(), String> {
    let Json::Object(top) = hooks else {
        return Err("it is not a JSON object".into());
    };
    if !top.iter().any(|(k, _)| k == "hooks") {
        top.push(("hooks".into(), Json::Object(Vec::new())));
    }
    let Some((_, Json::Object(events))) = top.iter_mut().find(|(k, _)| k == "hooks") else {
        return Err("its \"hooks\" is not an object".into());
    };
    if !events.iter().any(|(k, _)| k == event) {
        events.push((event.to_owned(), Json::Array(Vec::new())));
    }
    let Some((_, Json::Array(groups))) = events.iter_mut().find(|(k, _)| k == event) else {
        return Err(format!("its \"hooks\".\"{event}\" is not an array"));
    };
    groups.push(Json::Object(vec![
        ("matcher".into(), Json::String(String::new())),
        (
            "hooks".into(),
            Json::Array(vec![Json::Object(vec![
                ("type".into(), Json::String("command".into())),
                ("command".into(), Json::String(HOOK_COMMAND.into())),
                ("timeout".into(), Json::Number(HOOK_TIMEOUT.into())),
            ])]),
        ),
    ]));
    Ok(())
}

/// Removes git-session's handlers, and the groups, events and `hooks` object only they filled.
fn remove_hooks(hooks: &mut Json) -> bool {
    let Json::Object(top) = hooks else {
        return false;
    };
    let Some((_, Json::Object(events))) = top.iter_mut().find(|(k, _)| k == "hooks") else {
        return false;
    };
    let mut removed = false;
    for (_, groups) in events.iter_mut() {
        let Json::Array(groups) = groups else {
            continue;
        };
        groups.retain_mut(|group| {
            let Json::Object(fields) = group else {
                return true;
            };
            let Some((_, Json::Array(handlers))) = fields.iter_mut().find(|(k, _)| k == "hooks")
            else {
                return true;
            };
            let n = handlers.len();
            handlers.retain(|h| !is_ours(h));
            if handlers.len() == n {
                return true;
            }
            removed = true;
            !handlers.is_empty()
        });
    }
    if removed {
        events.retain(|(_, groups)| !matches!(groups, Json::Array(g) if g.is_empty()));
        if events.is_empty() {
            top.retain(|(k, _)| k != "hooks");
        }
    }
    removed
}

/// The trust key of a handler.
fn trust_key(hooks_file: &Path, event: &str, (group, handler): (usize, usize)) -> String {
    format!("{}:{event}:{group}:{handler}", hooks_file.display())
}

fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", path, e)),
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| InstallError::Settings {
                path: path.to_path_buf(),
                reason: "it is not UTF-8 text".into(),
            }),
    }
}

fn parse_toml(path: &Path, text: &str) -> Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| InstallError::Settings {
            path: path.to_path_buf(),
            reason: format!("it is not valid TOML ({})", e.to_string().trim()),
        })
}

/// The `trusted_hash` a config holds for `key`.
fn trusted(doc: &DocumentMut, key: &str) -> Option<String> {
    doc.get("hooks")?
        .get("state")?
        .get(key)?
        .get("trusted_hash")?
        .as_str()
        .map(str::to_owned)
}

/// Sets the trust entry `key` in `doc` (tables created implicit, so only
/// `[hooks.state."<key>"]` appears).
fn set_trust(doc: &mut DocumentMut, key: &str, value: &str) -> std::result::Result<(), String> {
    let hooks = doc
        .entry("hooks")
        .or_insert_with(|| implicit_table().into())
        .as_table_mut()
        .ok_or("its \"hooks\" is not a table")?;
    let state = hooks
        .entry("state")
        .or_insert_with(|| implicit_table().into())
        .as_table_mut()
        .ok_or("its \"hooks.state\" is not a table")?;
    let mut entry = Table::new();
    entry.insert("trusted_hash", toml_edit::value(value));
    state.insert(key, TomlItem::Table(entry));
    Ok(())
}

fn implicit_table() -> Table {
    let mut t = Table::new();
    t.set_implicit(true);
    t
}

/// Removes the trust entries for the handlers of `hooks_file` that git-session wrote (their hash
/// is git-session's), and `hooks.state` / `hooks` when that empties them. Returns whether
/// anything was removed.
fn remove_trust(doc: &mut DocumentMut, hooks_file: &Path) -> bool {
    let prefix = format!("{}:", hooks_file.display());
    let ours: Vec<String> = EVENTS.iter().map(|(_, e)| trust_hash(e)).collect();
    let Some(state) = doc
        .get_mut("hooks")
        .and_then(|h| h.get_mut("state"))
        .and_then(TomlItem::as_table_like_mut)
    else {
        return false;
    };
    let keys: Vec<String> = state
        .iter()
        .filter(|(k, v)| {
            k.starts_with(&prefix)
                && v.get("trusted_hash")
                    .and_then(TomlItem::as_str)
                    .is_some_and(|h| ours.iter().any(|o| o == h))
        })
        .map(|(k, _)| k.to_owned())
        .collect();
    for k in &keys {
        state.remove(k);
    }
    if keys.is_empty() {
        return false;
    }
    if state.is_empty() {
        if let Some(hooks) = doc.get_mut("hooks").and_then(TomlItem::as_table_like_mut) {
            hooks.remove("state");
            if hooks.is_empty() {
                doc.remove("hooks");
            }
        }
    }
    true
}

/// Whether the config trusts project `root`.
fn project_trusted(doc: &DocumentMut, root: &Path) -> bool {
    doc.get("projects")
        .and_then(|p| p.get(&*root.to_string_lossy()))
        .and_then(|p| p.get("trust_level"))
        .and_then(TomlItem::as_str)
        == Some("trusted")
}

/// Plans git-session's hooks in `dir/hooks.json` and their trust entries in `home/config.toml`.
/// `project` is the checkout root when `dir` is its `.codex/`: then a note says whether Codex
/// will read it.
pub(crate) fn plan(
    dir: &Path,
    home: &Path,
    project: Option<&Path>,
    which: Which,
    plan: &mut Plan,
) -> Result<()> {
    let hooks_file = hooks_path(dir);
    let original = read(&hooks_file)?;
    let mut hooks = match &original {
        None => Json::Object(Vec::new()),
        Some(text) => parse(text).map_err(|reason| InstallError::Settings {
            path: hooks_file.clone(),
            reason,
        })?,
    };
    let missing: Vec<&str> = EVENTS
        .iter()
        .map(|(e, _)| *e)
        .filter(|e| position(&hooks, e).is_none())
        .collect();
    for event in &missing {
        add_hook(&mut hooks, event).map_err(|reason| InstallError::Settings {
            path: hooks_file.clone(),
            reason,
        })?;
    }
    plan.component(
        "Codex hooks",
        hooks_file.display().to_string(),
        match missing.len() {
            0 => State::Installed,
            n if n == EVENTS.len() => State::Missing,
            _ => State::Outdated,
        },
    );
    if !missing.is_empty() {
        if original.is_none() && !dir.is_dir() {
            plan.push(
                which,
                Action::CreateDir {
                    path: dir.to_path_buf(),
                    opencode: false,
                },
            );
        }
        plan.push(
            which,
            Action::EditCodexFile {
                contents: render(&hooks, original.as_deref()),
                original,
                what: format!(
                    "Codex hooks {}: '{HOOK_COMMAND}', timeout {HOOK_TIMEOUT} s",
                    missing.join(", ")
                ),
                path: hooks_file.clone(),
                hooks_file: hooks_file.clone(),
            },
        );
    }

    let config = config_path(home);
    let config_original = read(&config)?;
    let mut doc = parse_toml(&config, config_original.as_deref().unwrap_or(""))?;
    let mut added = Vec::new();
    for (event, snake) in EVENTS {
        let at = position(&hooks, event).expect("added above");
        let key = trust_key(&hooks_file, snake, at);
        let value = trust_hash(snake);
        if trusted(&doc, &key).as_deref() != Some(value.as_str()) {
            set_trust(&mut doc, &key, &value).map_err(|reason| InstallError::Settings {
                path: config.clone(),
                reason: reason.to_owned(),
            })?;
            added.push(event);
        }
    }
    plan.component(
        "Codex hook trust",
        config.display().to_string(),
        if added.is_empty() {
            State::Installed
        } else {
            State::Missing
        },
    );
    if !added.is_empty() {
        if config_original.is_none() && !home.is_dir() {
            plan.push(
                which,
                Action::CreateDir {
                    path: home.to_path_buf(),
                    opencode: false,
                },
            );
        }
        plan.push(
            which,
            Action::EditCodexFile {
                path: config.clone(),
                contents: doc.to_string(),
                original: config_original,
                what: format!(
                    "trust entries for git-session's Codex hooks {} (without them Codex never runs the hooks)",
                    added.join(", ")
                ),
                hooks_file: hooks_file.clone(),
            },
        );
    }
    match project {
        Some(root) if !project_trusted(&doc, root) => plan.notes.push(format!(
            "Codex reads {} only in a project you trust, and {} is not trusted in {}: git-session does not trust it for you. Trust it in Codex (its first-run prompt, or 'codex exec --trust'), or install the hooks for every project with 'git session install --global --agent codex'",
            hooks_file.display(),
            root.display(),
            config.display()
        )),
        Some(root) => plan.notes.push(format!(
            "Codex runs the hooks of {} because {} is a trusted project in {}",
            hooks_file.display(),
            root.display(),
            config.display()
        )),
        None => plan.notes.push(format!(
            "{} is read by Codex in every project; its hook saves each session into the git repository Codex runs in (nothing outside one)",
            hooks_file.display()
        )),
    }
    Ok(())
}

/// Plans the undo of an edit recorded for `path`: the original bytes back when the file is what
/// install wrote, else git-session's entries (for `hooks_file`) taken out of what is there.
pub(crate) fn undo(
    path: &Path,
    hooks_file: &Path,
    original: Option<&str>,
    written: &str,
    which: Which,
    plan: &mut Plan,
) -> Result<()> {
    let Some(text) = read(path).ok().flatten() else {
        return Ok(());
    };
    if hash(text.as_bytes()) == written {
        plan.push(
            which,
            Action::RestoreCodexFile {
                path: path.to_path_buf(),
                contents: original.map(str::to_owned),
                edited: false,
            },
        );
        return Ok(());
    }
    let stripped = if path.extension().is_some_and(|x| x == "toml") {
        text.parse::<DocumentMut>()
            .ok()
            .and_then(|mut doc| remove_trust(&mut doc, hooks_file).then(|| doc.to_string()))
    } else {
        parse(&text).ok().and_then(|mut hooks| {
            remove_hooks(&mut hooks).then(|| {
                let empty = hooks == Json::Object(Vec::new());
                if empty && original.is_none() {
                    String::new()
                } else {
                    render(&hooks, Some(&text))
                }
            })
        })
    };
    let Some(contents) = stripped else {
        return Ok(());
    };
    plan.push(
        which,
        Action::RestoreCodexFile {
            path: path.to_path_buf(),
            contents: (!contents.is_empty() || original.is_some()).then_some(contents),
            edited: true,
        },
    );
    plan.notes.push(format!(
        "{} changed since git-session edited it; only git-session's entries are removed from it",
        path.display()
    ));
    Ok(())
}

/// The manifest record of a file install wrote `contents` into, keeping the original of an
/// earlier install.
pub(crate) fn item(
    manifest: &Manifest,
    path: &Path,
    hooks_file: &Path,
    original: Option<&str>,
    contents: &str,
) -> Item {
    let earlier = manifest.items.iter().find_map(|i| match i {
        Item::CodexFile {
            path: p, original, ..
        } if p == path => Some(original.clone()),
        _ => None,
    });
    Item::CodexFile {
        path: path.to_path_buf(),
        hooks_file: hooks_file.to_path_buf(),
        original: earlier.unwrap_or_else(|| original.map(str::to_owned)),
        hash: hash(contents.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "# my settings\nmodel = \"o3\"  # the best\n\n[projects.\"/w/app\"]\ntrust_level = \"trusted\"\n";

    #[test]
    fn the_trust_hash_is_sha256_of_the_sorted_compact_group() {
        // Computed outside this code: Python's json.dumps(group, sort_keys=True,
        // separators=(",", ":")) of the same group, hashed with hashlib.sha256.
        assert_eq!(
            trust_hash("pre_compact"),
            "sha256:a088f7028fb88193e2fb6d2af6e39cee2bac21e32c40acd123356a6292f982f7"
        );
        assert_eq!(
            trust_hash("session_end"),
            "sha256:333e4a0eacc8e224ea805715b4fdd40eeedb2a811f29ef14bc4053747e2ad0dd"
        );
    }

    #[test]
    fn trust_entries_keep_the_users_toml_and_come_out_again() {
        let mut doc = CONFIG.parse::<DocumentMut>().unwrap();
        let hooks = Path::new("/w/app/.codex/hooks.json");
        set_trust(
            &mut doc,
            &trust_key(hooks, "pre_compact", (1, 0)),
            &trust_hash("pre_compact"),
        )
        .unwrap();
        let text = doc.to_string();
        assert!(
            text.starts_with(CONFIG),
            "the user's lines stay as they were:\n{text}"
        );
        assert!(
            text.contains("[hooks.state.\"/w/app/.codex/hooks.json:pre_compact:1:0\"]\ntrusted_hash = \"sha256:"),
            "{text}"
        );
        assert!(project_trusted(&doc, Path::new("/w/app")));
        assert!(!project_trusted(&doc, Path::new("/w/other")));
        let mut doc = text.parse::<DocumentMut>().unwrap();
        assert!(remove_trust(&mut doc, hooks));
        assert_eq!(
            doc.to_string(),
            CONFIG,
            "byte for byte after the entry is taken out"
        );
    }

    #[test]
    fn hooks_are_appended_after_the_users_and_found_by_command() {
        let user = "{\n  \"hooks\": {\n    \"PreCompact\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"./mine.sh\"}]}]\n  }\n}\n";
        let mut hooks = parse(user).unwrap();
        let before = hooks.clone();
        for (event, _) in EVENTS {
            add_hook(&mut hooks, event).unwrap();
        }
        assert_eq!(
            position(&hooks, "PreCompact"),
            Some((1, 0)),
            "after the user's group"
        );
        assert_eq!(position(&hooks, "SessionEnd"), Some((0, 0)));
        let text = render(&hooks, Some(user));
        assert!(text.contains("./mine.sh"));
        let mut again = parse(&text).unwrap();
        assert!(remove_hooks(&mut again));
        assert_eq!(again, before);
    }
}
