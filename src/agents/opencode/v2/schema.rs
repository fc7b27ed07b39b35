//! The rules OpenCode 2's import decodes an export by, as checks: required fields and their
//! types, the message and content tags, tool states. Written from `packages/schema/src/`
//! `session-transfer.ts`, `session.ts`, `session-message.ts`, `location.ts`, `prompt.ts`,
//! `tool.ts`, `token-usage.ts` and `session-error.ts` in anomalyco/opencode. Unknown keys are
//! not errors (effect's `Schema.Struct` drops them on decode).

use serde_json::Value;

/// Every rule `doc` breaks, as `path: problem` lines (empty: it decodes).
pub fn check(doc: &Value) -> Vec<String> {
    let mut c = Checker(Vec::new());
    let Some(info) = doc.get("info") else {
        return vec!["info: missing".into()];
    };
    c.prefixed("info", info, "/id", "ses_");
    c.string("info", info, "/projectID");
    c.number("info", info, "/cost");
    c.tokens("info.tokens", info.get("tokens"));
    c.number("info", info, "/time/created");
    c.number("info", info, "/time/updated");
    c.string("info", info, "/location/directory");
    c.optional_prefixed("info", info, "/parentID", "ses_");
    if let Some(model) = info.get("model") {
        c.model("info.model", model);
    }
    let Some(messages) = doc.get("messages").and_then(Value::as_array) else {
        c.0.push("messages: not an array".into());
        return c.0;
    };
    for (i, m) in messages.iter().enumerate() {
        c.message(&format!("messages[{i}]"), m);
    }
    c.0
}

struct Checker(Vec<String>);

impl Checker {
    fn fail(&mut self, at: &str, pointer: &str, problem: &str) {
        self.0
            .push(format!("{at}{}: {problem}", pointer.replace('/', ".")));
    }

    fn string(&mut self, at: &str, v: &Value, pointer: &str) {
        if !v.pointer(pointer).is_some_and(Value::is_string) {
            self.fail(at, pointer, "not a string");
        }
    }

    fn number(&mut self, at: &str, v: &Value, pointer: &str) {
        if !v.pointer(pointer).is_some_and(Value::is_number) {
            self.fail(at, pointer, "not a number");
        }
    }

    fn optional_number(&mut self, at: &str, v: &Value, pointer: &str) {
        if v.pointer(pointer).is_some() {
            self.number(at, v, pointer);
        }
    }

    fn prefixed(&mut self, at: &str, v: &Value, pointer: &str, prefix: &str) {
        match v.pointer(pointer).and_then(Value::as_str) {
            Some(s) if s.starts_with(prefix) => {}
            _ => self.fail(at, pointer, &format!("not a string starting with {prefix}")),
        }
    }

    fn optional_prefixed(&mut self, at: &str, v: &Value, pointer: &str, prefix: &str) {
        if v.pointer(pointer).is_some() {
            self.prefixed(at, v, pointer, prefix);
        }
    }

    fn object(&mut self, at: &str, v: &Value, pointer: &str) {
        if !v.pointer(pointer).is_some_and(Value::is_object) {
            self.fail(at, pointer, "not an object");
        }
    }

    fn tokens(&mut self, at: &str, t: Option<&Value>) {
        let Some(t) = t else {
            return self.0.push(format!("{at}: missing"));
        };
        for p in [
            "/input",
            "/output",
            "/reasoning",
            "/cache/read",
            "/cache/write",
        ] {
            self.number(at, t, p);
        }
    }

    fn model(&mut self, at: &str, m: &Value) {
        self.string(at, m, "/id");
        self.string(at, m, "/providerID");
    }

    fn error(&mut self, at: &str, e: &Value) {
        self.string(at, e, "/type");
        self.string(at, e, "/message");
        self.optional_number(at, e, "/status");
    }

    fn message(&mut self, at: &str, m: &Value) {
        self.prefixed(at, m, "/id", "msg_");
        self.number(at, m, "/time/created");
        if m.get("metadata").is_some() {
            self.object(at, m, "/metadata");
        }
        match m.get("type").and_then(Value::as_str) {
            Some("user") => {
                self.string(at, m, "/text");
                for (i, f) in array(m, "files").iter().enumerate() {
                    let at = format!("{at}.files[{i}]");
                    self.string(&at, f, "/uri");
                    self.string(&at, f, "/mime");
                }
                for (i, a) in array(m, "agents").iter().enumerate() {
                    self.string(&format!("{at}.agents[{i}]"), a, "/name");
                }
            }
            Some("synthetic") | Some("system") => self.string(at, m, "/text"),
            Some("skill") => {
                for p in ["/skill", "/name", "/text"] {
                    self.string(at, m, p);
                }
            }
            Some("shell") => {
                self.string(at, m, "/shellID");
                self.string(at, m, "/command");
                self.string(at, m, "/status");
                self.optional_number(at, m, "/exit");
            }
            Some("agent-switched") => self.string(at, m, "/agent"),
            Some("model-switched") => self.model(&format!("{at}.model"), &m["model"]),
            Some("location-switched") => self.string(at, m, "/location/directory"),
            Some("idle") => self.one_of(at, m, "/outcome", &["succeeded", "failed", "interrupted"]),
            Some("compaction") => {
                self.one_of(at, m, "/reason", &["auto", "manual"]);
                match m.get("status").and_then(Value::as_str) {
                    Some("running") | Some("completed") => {
                        self.string(at, m, "/summary");
                        self.string(at, m, "/recent");
                    }
                    Some("failed") => self.error(&format!("{at}.error"), &m["error"]),
                    _ => self.fail(at, "/status", "not running, completed or failed"),
                }
                if let Some(model) = m.get("model") {
                    self.model(&format!("{at}.model"), model);
                }
            }
            Some("assistant") => {
                self.string(at, m, "/agent");
                self.model(&format!("{at}.model"), &m["model"]);
                if let Some(t) = m.get("tokens") {
                    self.tokens(&format!("{at}.tokens"), Some(t));
                }
                if let Some(e) = m.get("error") {
                    self.error(&format!("{at}.error"), e);
                }
                self.optional_number(at, m, "/time/completed");
                let Some(content) = m.get("content").and_then(Value::as_array) else {
                    return self.fail(at, "/content", "not an array");
                };
                for (i, c) in content.iter().enumerate() {
                    self.content(&format!("{at}.content[{i}]"), c);
                }
            }
            _ => self.fail(at, "/type", "not a known message type"),
        }
    }

    fn one_of(&mut self, at: &str, v: &Value, pointer: &str, allowed: &[&str]) {
        match v.pointer(pointer).and_then(Value::as_str) {
            Some(s) if allowed.contains(&s) => {}
            _ => self.fail(at, pointer, &format!("not one of {}", allowed.join(", "))),
        }
    }

    fn content(&mut self, at: &str, c: &Value) {
        match c.get("type").and_then(Value::as_str) {
            Some("text") => self.string(at, c, "/text"),
            Some("reasoning") => {
                self.string(at, c, "/text");
                if c.get("time").is_some() {
                    self.number(at, c, "/time/created");
                }
            }
            Some("tool") => {
                self.string(at, c, "/id");
                self.string(at, c, "/name");
                self.number(at, c, "/time/created");
                let st = &c["state"];
                let at = format!("{at}.state");
                match st.get("status").and_then(Value::as_str) {
                    Some("streaming") => self.string(&at, st, "/input"),
                    Some("running") => {
                        self.object(&at, st, "/input");
                        self.object(&at, st, "/metadata");
                    }
                    Some("completed") => {
                        self.object(&at, st, "/input");
                        self.tool_content(&at, st, true);
                    }
                    Some("error") => {
                        self.object(&at, st, "/input");
                        self.error(&format!("{at}.error"), &st["error"]);
                        if st.get("content").is_some() {
                            self.tool_content(&at, st, true);
                        }
                    }
                    _ => self.fail(&at, "/status", "not a known tool state"),
                }
            }
            _ => self.fail(at, "/type", "not text, reasoning or tool"),
        }
    }

    fn tool_content(&mut self, at: &str, st: &Value, non_empty: bool) {
        let items = array(st, "content");
        if non_empty && items.is_empty() {
            return self.fail(at, "/content", "not a non-empty array");
        }
        for (i, x) in items.iter().enumerate() {
            let at = format!("{at}.content[{i}]");
            match x.get("type").and_then(Value::as_str) {
                Some("text") => self.string(&at, x, "/text"),
                Some("file") => {
                    self.string(&at, x, "/uri");
                    self.string(&at, x, "/mime");
                }
                _ => self.fail(&at, "/type", "not text or file"),
            }
        }
    }
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
