//! OpenCode 1 export <-> OpenCode 2 export, both ways.
//!
//! The v2 shapes follow `packages/schema/src/session-transfer.ts` (the export: `{info,
//! messages}`), `session.ts` (`info`), `session-message.ts` (the `type`-tagged messages, the
//! assistant `content[]`, tool states), `tool.ts` (tool content), `prompt.ts` (user files),
//! `token-usage.ts` and `session-error.ts` in anomalyco/opencode.
//!
//! What maps: session info (ids, project, title, times, cost, tokens, model, directory <->
//! `location.directory`, `path` <-> `subpath`), user text, files and agents, assistant text,
//! reasoning and tools (renamed `bash` <-> `shell`, `apply_patch` <-> `patch`, `filePath` <->
//! `path` in inputs; states pending/running/completed/error <-> streaming/running/completed/
//! error with output <-> `content[]`, attachments <-> file content), compaction (v1's user
//! `compaction` part with the summary reply after it <-> one v2 `compaction` message), v2
//! `shell` (-> a v1 `bash` tool call), `synthetic`/`system`/`skill` (-> synthetic user text).
//!
//! What has no counterpart (v1 part ids, step-start/step-finish/patch parts, snapshots, titles
//! of tool calls, `slug`, `version`, `permission`, `summary`, v1 `tokens.total`; v2 `metadata`,
//! `native` provider state, the `agent-switched`/`model-switched`/`location-switched`/`idle`
//! messages, ...) is kept as a [`patch`] under `metadata["git-session"]`, so converting back
//! gives the original, JSON-equal. In a v2 document it is `"opencode1"` in the metadata of each
//! converted message and of the session. In a v1 document everything is in the session's
//! `info.metadata["git-session"].opencode2` (`info`, `patches` by message id, and whole
//! `messages` without any v1 counterpart with their position), because OpenCode 1.18.33's import
//! keeps a session's `metadata` but drops unknown keys of messages (seen with the real one).

use serde_json::{json, Map, Value};

use super::patch;

/// The `metadata` key under which a converted document keeps what the other format lacks.
pub const META: &str = "git-session";
const FROM_V1: &str = "opencode1";
const FROM_V2: &str = "opencode2";

/// Tool names that differ: (v1, v2).
const RENAMED_TOOLS: &[(&str, &str)] = &[("bash", "shell"), ("apply_patch", "patch")];

/// Whether an export document is in OpenCode 2's shape: `type`-tagged messages, or (with no
/// messages) an `info.location` instead of `info.directory`.
pub fn is_v2(doc: &Value) -> bool {
    if let Some(first) = doc
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.first())
    {
        return first.get("type").is_some_and(Value::is_string) && first.get("info").is_none();
    }
    doc.pointer("/info/location").is_some() && doc.pointer("/info/directory").is_none()
}

/// Converts a v1 export (`{info, messages: [{info, parts}]}`) into a v2 export.
pub fn to_v2(doc: &Value) -> Value {
    let info1 = doc.get("info").cloned().unwrap_or_else(|| json!({}));
    let (info1, back) = take_meta(info1, FROM_V2);
    let messages1: Vec<Value> = doc
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut info2 = info_to_v2(&info1);
    let orphans = back
        .as_ref()
        .and_then(|b| b.get("messages"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match &back {
        Some(b) => {
            if let Some(p) = b.get("info") {
                patch::apply(&mut info2, p);
            }
        }
        None => {
            if let Some(p) = patch::diff(&info_to_v1(&info2), &info1) {
                put_meta(&mut info2, FROM_V1, json!({ "info": p }));
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < messages1.len() {
        let take = if is_compaction_request(&messages1[i])
            && messages1.get(i + 1).is_some_and(is_summary)
        {
            2
        } else {
            1
        };
        let group: Vec<Value> = messages1[i..i + take].to_vec();
        i += take;
        let id = group
            .first()
            .map(|m| str_at(m, "/info/id"))
            .unwrap_or_default();
        let kept = back
            .as_ref()
            .and_then(|b| b.get("patches"))
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|p| p.get("id").and_then(Value::as_str) == Some(&id))
            })
            .and_then(|p| p.get("patch"))
            .cloned();
        out.push(group_to_v2(group, &info1, kept, back.is_some()));
    }
    for orphan in orphans {
        let at = orphan
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX) as usize;
        let message = orphan.get("message").cloned().unwrap_or(Value::Null);
        out.insert(at.min(out.len()), message);
    }
    json!({ "info": info2, "messages": out })
}

/// Converts a v2 export (`{info, messages: [{type, id, ..}]}`) into a v1 export.
pub fn to_v1(doc: &Value) -> Value {
    let info2 = doc.get("info").cloned().unwrap_or_else(|| json!({}));
    let (info2, back) = take_meta(info2, FROM_V1);
    let mut info1 = info_to_v1(&info2);
    let own_patch = match &back {
        Some(b) => {
            if let Some(p) = b.get("info") {
                patch::apply(&mut info1, p);
            }
            None
        }
        None => patch::diff(&info_to_v2(&info1), &info2),
    };
    let ctx = Ctx::of(&info1);
    let mut out = Vec::new();
    let mut orphans = Vec::new();
    // A list rather than a map by id: a fork rewrites ids where they are values.
    let mut patches = Vec::new();
    let mut last_user: Option<String> = None;
    let messages2 = doc
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, message) in messages2.into_iter().enumerate() {
        let (message, back) = take_meta(message, FROM_V1);
        let mut group = message_to_v1(&message, &ctx, last_user.as_deref());
        if group.is_empty() {
            orphans.push(json!({ "index": index, "message": message }));
            continue;
        }
        match back {
            Some(p) => {
                let mut array = Value::Array(group);
                patch::apply(&mut array, &p);
                group = match array {
                    Value::Array(items) => items,
                    other => vec![other],
                };
            }
            None => {
                let again = group_to_v2_plain(&group, &info1);
                if let Some(p) = patch::diff(&again, &message) {
                    patches.push(json!({"id": str_at(&message, "/id"), "patch": p}));
                }
            }
        }
        for m in &group {
            if m.pointer("/info/role").and_then(Value::as_str) == Some("user") {
                last_user = m
                    .pointer("/info/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
        out.extend(group);
    }
    let mut kept = Map::new();
    if let Some(p) = own_patch {
        kept.insert("info".into(), p);
    }
    if !orphans.is_empty() {
        kept.insert("messages".into(), Value::Array(orphans));
    }
    if !patches.is_empty() {
        kept.insert("patches".into(), Value::Array(patches));
    }
    if !kept.is_empty() {
        put_meta(&mut info1, FROM_V2, Value::Object(kept));
    }
    json!({ "info": info1, "messages": out })
}

/// Session defaults a v1 message needs and a v2 message does not carry.
struct Ctx {
    session: String,
    directory: String,
    agent: String,
    provider: String,
    model: String,
}

impl Ctx {
    fn of(info1: &Value) -> Ctx {
        let s = |p: &str, d: &str| {
            info1
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or(d)
                .to_owned()
        };
        Ctx {
            session: s("/id", ""),
            directory: s("/directory", ""),
            agent: s("/agent", "build"),
            provider: s("/model/providerID", "unknown"),
            model: s("/model/id", "unknown"),
        }
    }
}

fn is_compaction_request(m: &Value) -> bool {
    m.pointer("/info/role").and_then(Value::as_str) == Some("user")
        && parts(m)
            .iter()
            .any(|p| p.get("type").and_then(Value::as_str) == Some("compaction"))
}

fn is_summary(m: &Value) -> bool {
    m.pointer("/info/role").and_then(Value::as_str) == Some("assistant")
        && m.pointer("/info/summary").and_then(Value::as_bool) == Some(true)
}

fn parts(m: &Value) -> Vec<Value> {
    m.get("parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// One v1 message (or a compaction request with its summary) as one v2 message, with what v2
/// cannot hold kept in its metadata.
/// `kept`: what the v2 original had beyond the mapped fields, when the session came from v2
/// (`from_v2`); then nothing of v1's is kept.
fn group_to_v2(group: Vec<Value>, info1: &Value, kept: Option<Value>, from_v2: bool) -> Value {
    let mut m2 = group_to_v2_plain(&group, info1);
    match kept {
        Some(p) => patch::apply(&mut m2, &p),
        None if from_v2 => {}
        None => {
            let ctx = Ctx::of(info1);
            let parent = group
                .first()
                .and_then(|m| m.pointer("/info/parentID"))
                .and_then(Value::as_str);
            let again = Value::Array(message_to_v1(&m2, &ctx, parent));
            if let Some(p) = patch::diff(&again, &Value::Array(group)) {
                put_meta(&mut m2, FROM_V1, p);
            }
        }
    }
    m2
}

/// The mapped fields of a v1 message group as a v2 message (no metadata).
fn group_to_v2_plain(group: &[Value], info1: &Value) -> Value {
    let Some(first) = group.first() else {
        return Value::Null;
    };
    let info = first.get("info").cloned().unwrap_or_default();
    let id = str_at(&info, "/id");
    let created = info.pointer("/time/created").cloned().unwrap_or(json!(0));
    let role = str_at(&info, "/role");
    let ps = parts(first);
    if role == "user" {
        if let Some(c) = ps
            .iter()
            .find(|p| p.get("type").and_then(Value::as_str) == Some("compaction"))
        {
            let auto = c.get("auto").and_then(Value::as_bool).unwrap_or(false);
            let summary = group.get(1).map(|s| texts(&parts(s))).unwrap_or_default();
            let mut out = json!({
                "type": "compaction", "id": id, "time": {"created": created},
                "status": "completed", "reason": if auto {"auto"} else {"manual"},
                "summary": summary, "recent": "",
            });
            if let Some(s) = group.get(1).and_then(|s| s.get("info")) {
                if let Some(model) = model_ref(s) {
                    out["model"] = model;
                }
            }
            return out;
        }
        let text: Vec<String> = ps
            .iter()
            .filter(|p| {
                p.get("type").and_then(Value::as_str) == Some("text")
                    && p.get("synthetic").and_then(Value::as_bool) != Some(true)
            })
            .map(|p| str_at(p, "/text"))
            .collect();
        let files: Vec<Value> = ps
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("file"))
            .map(file_to_v2)
            .collect();
        let agents: Vec<Value> = ps
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("agent"))
            .map(|p| json!({"name": str_at(p, "/name")}))
            .collect();
        let mut out = json!({"type": "user", "id": id, "time": {"created": created}, "text": text.join("\n")});
        if !files.is_empty() {
            out["files"] = Value::Array(files);
        }
        if !agents.is_empty() {
            out["agents"] = Value::Array(agents);
        }
        return out;
    }
    // An assistant message.
    let mut content = Vec::new();
    for p in &ps {
        match p.get("type").and_then(Value::as_str) {
            Some("text") => content.push(json!({"type": "text", "text": str_at(p, "/text")})),
            Some("reasoning") => {
                let mut r = json!({"type": "reasoning", "text": str_at(p, "/text")});
                if let Some(start) = p.pointer("/time/start") {
                    r["time"] = json!({"created": start});
                    if let Some(end) = p.pointer("/time/end") {
                        r["time"]["completed"] = end.clone();
                    }
                }
                content.push(r);
            }
            Some("tool") => content.push(tool_to_v2(p, &created)),
            _ => {}
        }
    }
    let agent = info
        .get("agent")
        .or_else(|| info.get("mode"))
        .and_then(Value::as_str)
        .or_else(|| info1.get("agent").and_then(Value::as_str))
        .unwrap_or("build");
    let mut time = json!({"created": created});
    if let Some(done) = info.pointer("/time/completed") {
        time["completed"] = done.clone();
    }
    let mut out = json!({
        "type": "assistant", "id": id, "agent": agent,
        "model": model_ref(&info).unwrap_or_else(|| json!({"id": "unknown", "providerID": "unknown"})),
        "content": content, "time": time,
    });
    if let Some(finish) = info.get("finish").filter(|f| f.is_string()) {
        out["finish"] = finish.clone();
    }
    if let Some(tokens) = info.get("tokens").and_then(tokens_v2) {
        out["tokens"] = tokens;
    }
    if let Some(e) = info.get("error").filter(|e| e.is_object()) {
        out["error"] = json!({
            "type": e.get("name").and_then(Value::as_str).unwrap_or("error"),
            "message": e.pointer("/data/message").and_then(Value::as_str).unwrap_or(""),
        });
    }
    out
}

fn model_ref(info: &Value) -> Option<Value> {
    let id = info.get("modelID")?.as_str()?;
    let provider = info.get("providerID")?.as_str()?;
    Some(json!({"id": id, "providerID": provider}))
}

fn tokens_v2(t: &Value) -> Option<Value> {
    let n = |p: &str| t.pointer(p).and_then(Value::as_f64).map(num);
    Some(json!({
        "input": n("/input")?, "output": n("/output")?, "reasoning": n("/reasoning").unwrap_or(json!(0)),
        "cache": {"read": n("/cache/read").unwrap_or(json!(0)), "write": n("/cache/write").unwrap_or(json!(0))},
    }))
}

fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

fn file_to_v2(p: &Value) -> Value {
    let mut f = json!({"uri": str_at(p, "/url"), "mime": str_at(p, "/mime")});
    if let Some(name) = p.get("filename").and_then(Value::as_str) {
        f["name"] = json!(name);
    }
    f
}

fn tool_to_v2(p: &Value, created: &Value) -> Value {
    let name = str_at(p, "/tool");
    let name = RENAMED_TOOLS
        .iter()
        .find(|(v1, _)| *v1 == name)
        .map_or(name.clone(), |(_, v2)| (*v2).to_owned());
    let st = p.get("state").cloned().unwrap_or_default();
    let mut input = st.get("input").cloned().unwrap_or_else(|| json!({}));
    if let Some(obj) = input.as_object_mut() {
        if !obj.contains_key("path") {
            if let Some(fp) = obj.remove("filePath") {
                obj.insert("path".into(), fp);
            }
        }
    }
    if !input.is_object() {
        input = json!({});
    }
    let state = match st.get("status").and_then(Value::as_str) {
        Some("completed") => {
            let mut content = vec![json!({"type": "text", "text": str_at(&st, "/output")})];
            for a in st
                .get("attachments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut f = file_to_v2(a);
                f["type"] = json!("file");
                content.push(f);
            }
            let mut s = json!({"status": "completed", "input": input, "content": content});
            if let Some(m) = st.get("metadata").filter(|m| m.is_object()) {
                s["metadata"] = m.clone();
            }
            s
        }
        Some("error") => json!({"status": "error", "input": input,
            "error": {"type": "tool", "message": str_at(&st, "/error")}}),
        Some("running") => json!({"status": "running", "input": input,
            "metadata": st.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or_else(|| json!({}))}),
        _ => json!({"status": "streaming",
            "input": st.get("raw").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| input.to_string())}),
    };
    let mut time =
        json!({"created": st.pointer("/time/start").cloned().unwrap_or_else(|| created.clone())});
    if let Some(end) = st.pointer("/time/end") {
        time["completed"] = end.clone();
    }
    json!({"type": "tool", "id": str_at(p, "/callID"), "name": name, "state": state, "time": time})
}

/// One v2 message as the v1 messages it becomes (none: no counterpart).
fn message_to_v1(m: &Value, ctx: &Ctx, parent: Option<&str>) -> Vec<Value> {
    let id = str_at(m, "/id");
    let created = m.pointer("/time/created").cloned().unwrap_or(json!(0));
    let mut parts_out: Vec<Value> = Vec::new();
    let part = |n: usize, mut body: Value| {
        let suffix = id.strip_prefix("msg_").unwrap_or(&id);
        body["id"] = json!(format!("prt_{suffix}{n:03}"));
        body["sessionID"] = json!(ctx.session);
        body["messageID"] = json!(id);
        body
    };
    let user_info = |id: &str| {
        json!({"id": id, "sessionID": ctx.session, "role": "user", "time": {"created": created},
               "agent": ctx.agent, "model": {"providerID": ctx.provider, "modelID": ctx.model}})
    };
    let assistant_info = |id: &str, agent: &str, provider: &str, model: &str| {
        let mut info = json!({"id": id, "sessionID": ctx.session, "role": "assistant",
            "mode": agent, "agent": agent, "path": {"cwd": ctx.directory, "root": ctx.directory},
            "cost": 0, "tokens": {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
            "modelID": model, "providerID": provider, "time": {"created": created}});
        if let Some(p) = parent {
            info["parentID"] = json!(p);
        }
        info
    };
    match m.get("type").and_then(Value::as_str) {
        Some("user") => {
            parts_out.push(part(0, json!({"type": "text", "text": str_at(m, "/text")})));
            for f in m
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let n = parts_out.len();
                parts_out.push(part(n, file_to_v1(f)));
            }
            for a in m
                .get("agents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let n = parts_out.len();
                parts_out.push(part(
                    n,
                    json!({"type": "agent", "name": str_at(a, "/name")}),
                ));
            }
            vec![json!({"info": user_info(&id), "parts": parts_out})]
        }
        Some("synthetic") | Some("system") | Some("skill") => {
            parts_out.push(part(
                0,
                json!({"type": "text", "synthetic": true, "text": str_at(m, "/text")}),
            ));
            vec![json!({"info": user_info(&id), "parts": parts_out})]
        }
        Some("assistant") => {
            let agent = m.get("agent").and_then(Value::as_str).unwrap_or(&ctx.agent);
            let mut info = assistant_info(
                &id,
                agent,
                m.pointer("/model/providerID")
                    .and_then(Value::as_str)
                    .unwrap_or(&ctx.provider),
                m.pointer("/model/id")
                    .and_then(Value::as_str)
                    .unwrap_or(&ctx.model),
            );
            if let Some(done) = m.pointer("/time/completed") {
                info["time"]["completed"] = done.clone();
            }
            if let Some(f) = m.get("finish") {
                info["finish"] = f.clone();
            }
            if let Some(t) = m.get("tokens").and_then(tokens_v2) {
                info["tokens"] = t;
            }
            if let Some(e) = m.get("error") {
                info["error"] =
                    json!({"name": str_at(e, "/type"), "data": {"message": str_at(e, "/message")}});
            }
            for c in m
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let n = parts_out.len();
                let body = match c.get("type").and_then(Value::as_str) {
                    Some("text") => json!({"type": "text", "text": str_at(c, "/text")}),
                    Some("reasoning") => {
                        let start = c
                            .pointer("/time/created")
                            .cloned()
                            .unwrap_or_else(|| created.clone());
                        let mut r = json!({"type": "reasoning", "text": str_at(c, "/text"), "time": {"start": start}});
                        if let Some(end) = c.pointer("/time/completed") {
                            r["time"]["end"] = end.clone();
                        }
                        r
                    }
                    Some("tool") => tool_to_v1(c, &created, &|k, b| part(n * 100 + k + 1, b)),
                    _ => continue,
                };
                parts_out.push(part(n, body));
            }
            vec![json!({"info": info, "parts": parts_out})]
        }
        Some("shell") => {
            let mut info = assistant_info(&id, &ctx.agent, &ctx.provider, &ctx.model);
            if let Some(done) = m.pointer("/time/completed") {
                info["time"]["completed"] = done.clone();
            }
            let command = str_at(m, "/command");
            let output = m
                .get("output")
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                .unwrap_or_default();
            let mut metadata = json!({"output": output});
            if let Some(exit) = m.get("exit") {
                metadata["exit"] = exit.clone();
            }
            let end = m
                .pointer("/time/completed")
                .cloned()
                .unwrap_or_else(|| created.clone());
            parts_out.push(part(0, json!({"type": "tool", "tool": "bash", "callID": str_at(m, "/shellID"),
                "state": {"status": "completed", "input": {"command": command}, "output": output,
                          "metadata": metadata, "title": command, "time": {"start": created, "end": end}}})));
            vec![json!({"info": info, "parts": parts_out})]
        }
        Some("compaction") => {
            let auto = m.get("reason").and_then(Value::as_str) == Some("auto");
            let request = json!({"info": user_info(&id),
                "parts": [part(0, json!({"type": "compaction", "auto": auto}))]});
            if m.get("status").and_then(Value::as_str) != Some("completed") {
                return vec![request];
            }
            let sid = format!("{id}s");
            let mut info = assistant_info(
                &sid,
                "compaction",
                m.pointer("/model/providerID")
                    .and_then(Value::as_str)
                    .unwrap_or(&ctx.provider),
                m.pointer("/model/id")
                    .and_then(Value::as_str)
                    .unwrap_or(&ctx.model),
            );
            info["parentID"] = json!(id);
            info["summary"] = json!(true);
            info["time"]["completed"] = created.clone();
            let suffix = sid.strip_prefix("msg_").unwrap_or(&sid).to_owned();
            let summary = json!({"type": "text", "text": str_at(m, "/summary"),
                "id": format!("prt_{suffix}000"), "sessionID": ctx.session, "messageID": sid});
            vec![request, json!({"info": info, "parts": [summary]})]
        }
        _ => Vec::new(),
    }
}

fn file_to_v1(f: &Value) -> Value {
    let mut p = json!({"type": "file", "mime": str_at(f, "/mime"), "url": str_at(f, "/uri")});
    if let Some(name) = f.get("name").and_then(Value::as_str) {
        p["filename"] = json!(name);
    }
    p
}

fn tool_to_v1(c: &Value, created: &Value, attachment: &dyn Fn(usize, Value) -> Value) -> Value {
    let name = str_at(c, "/name");
    let name = RENAMED_TOOLS
        .iter()
        .find(|(_, v2)| *v2 == name)
        .map_or(name.clone(), |(v1, _)| (*v1).to_owned());
    let st = c.get("state").cloned().unwrap_or_default();
    let mut input = st.get("input").cloned().unwrap_or_else(|| json!({}));
    if matches!(name.as_str(), "read" | "write" | "edit") {
        if let Some(obj) = input.as_object_mut() {
            if !obj.contains_key("filePath") {
                if let Some(p) = obj.remove("path") {
                    obj.insert("filePath".into(), p);
                }
            }
        }
    }
    let start = c
        .pointer("/time/created")
        .cloned()
        .unwrap_or_else(|| created.clone());
    let end = c
        .pointer("/time/completed")
        .cloned()
        .unwrap_or_else(|| start.clone());
    let content: Vec<Value> = st
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let output = content
        .iter()
        .filter(|x| x.get("type").and_then(Value::as_str) == Some("text"))
        .map(|x| str_at(x, "/text"))
        .collect::<Vec<_>>()
        .join("\n");
    let state = match st.get("status").and_then(Value::as_str) {
        Some("completed") => {
            let mut s = json!({"status": "completed", "input": input, "output": output, "title": "",
                "metadata": st.get("metadata").cloned().unwrap_or_else(|| json!({})),
                "time": {"start": start, "end": end}});
            let files: Vec<Value> = content
                .iter()
                .filter(|x| x.get("type").and_then(Value::as_str) == Some("file"))
                .enumerate()
                .map(|(k, f)| attachment(k, file_to_v1(f)))
                .collect();
            if !files.is_empty() {
                s["attachments"] = Value::Array(files);
            }
            s
        }
        Some("error") => json!({"status": "error", "input": input,
            "error": st.pointer("/error/message").and_then(Value::as_str).unwrap_or(""),
            "time": {"start": start, "end": end}}),
        Some("running") => json!({"status": "running", "input": input,
            "metadata": st.get("metadata").cloned().unwrap_or_else(|| json!({})), "time": {"start": start}}),
        _ => {
            let raw = st.get("input").and_then(Value::as_str).unwrap_or("");
            let parsed = serde_json::from_str::<Value>(raw)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            json!({"status": "pending", "input": parsed, "raw": raw})
        }
    };
    json!({"type": "tool", "tool": name, "callID": str_at(c, "/id"), "state": state})
}

fn texts(ps: &[Value]) -> String {
    ps.iter()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
        .map(|p| str_at(p, "/text"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The mapped fields of v1 session info as v2 `Session.Info`.
fn info_to_v2(i: &Value) -> Value {
    let mut out = json!({
        "id": str_at(i, "/id"),
        "projectID": str_at(i, "/projectID"),
        "cost": i.get("cost").and_then(Value::as_f64).map_or(json!(0), num),
        "tokens": i.get("tokens").and_then(tokens_v2)
            .unwrap_or_else(|| json!({"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}})),
        "time": {"created": i.pointer("/time/created").cloned().unwrap_or(json!(0)),
                 "updated": i.pointer("/time/updated").cloned().unwrap_or(json!(0))},
        "title": str_at(i, "/title"),
        "location": {"directory": str_at(i, "/directory")},
    });
    if let Some(a) = i.pointer("/time/archived") {
        out["time"]["archived"] = a.clone();
    }
    if let Some(p) = i.get("parentID").filter(|p| p.is_string()) {
        out["parentID"] = p.clone();
    }
    if let Some(a) = i.get("agent").filter(|a| a.is_string()) {
        out["agent"] = a.clone();
    }
    if let (Some(id), Some(provider)) = (
        i.pointer("/model/id").and_then(Value::as_str),
        i.pointer("/model/providerID").and_then(Value::as_str),
    ) {
        out["model"] = json!({"id": id, "providerID": provider});
        if let Some(v) = i.pointer("/model/variant").filter(|v| v.is_string()) {
            out["model"]["variant"] = v.clone();
        }
    }
    if let Some(p) = i
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        out["subpath"] = json!(p);
    }
    out
}

/// The mapped fields of v2 `Session.Info` as v1 session info.
fn info_to_v1(i: &Value) -> Value {
    let mut out = json!({
        "id": str_at(i, "/id"),
        "slug": "",
        "projectID": str_at(i, "/projectID"),
        "directory": str_at(i, "/location/directory"),
        "path": i.get("subpath").and_then(Value::as_str).unwrap_or(""),
        "title": str_at(i, "/title"),
        "version": "2",
        "cost": i.get("cost").cloned().unwrap_or(json!(0)),
        "tokens": i.get("tokens").and_then(tokens_v2)
            .unwrap_or_else(|| json!({"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}})),
        "time": {"created": i.pointer("/time/created").cloned().unwrap_or(json!(0)),
                 "updated": i.pointer("/time/updated").cloned().unwrap_or(json!(0))},
    });
    if let Some(a) = i.pointer("/time/archived") {
        out["time"]["archived"] = a.clone();
    }
    for key in ["parentID", "agent", "model"] {
        if let Some(v) = i.get(key) {
            out[key] = v.clone();
        }
    }
    out
}

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Removes `metadata["git-session"][which]` from `v` (and the emptied containers), returning it.
fn take_meta(mut v: Value, which: &str) -> (Value, Option<Value>) {
    let Some(obj) = v.as_object_mut() else {
        return (v, None);
    };
    let Some(Value::Object(meta)) = obj.get_mut("metadata") else {
        return (v, None);
    };
    let Some(Value::Object(ours)) = meta.get_mut(META) else {
        return (v, None);
    };
    let taken = ours.remove(which);
    if ours.is_empty() {
        meta.remove(META);
    }
    if meta.is_empty() {
        obj.remove("metadata");
    }
    (v, taken)
}

fn put_meta(v: &mut Value, which: &str, value: Value) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        return;
    }
    let ours = meta
        .as_object_mut()
        .expect("checked")
        .entry(META)
        .or_insert_with(|| json!({}));
    if let Some(o) = ours.as_object_mut() {
        o.insert(which.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures(dir: &str) -> Vec<(String, Value)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (
                    p.display().to_string(),
                    serde_json::from_str(&text).unwrap(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(!out.is_empty(), "no fixtures in {}", dir.display());
        out
    }

    fn assert_v2_decodes(name: &str, doc: &Value) {
        let problems = super::super::schema::check(doc);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }

    #[test]
    fn every_v1_example_goes_to_v2_and_back_json_equal() {
        for (name, v1) in fixtures("tests/fixtures/opencode") {
            assert!(!is_v2(&v1), "{name}");
            let v2 = to_v2(&v1);
            assert!(is_v2(&v2), "{name}");
            assert_v2_decodes(&name, &v2);
            assert_eq!(to_v1(&v2), v1, "{name}");
        }
    }

    #[test]
    fn every_v2_example_goes_to_v1_and_back_json_equal() {
        for (name, v2) in fixtures("tests/fixtures/opencode2") {
            assert_v2_decodes(&name, &v2);
            assert!(is_v2(&v2), "{name}");
            let v1 = to_v1(&v2);
            assert!(!is_v2(&v1), "{name}");
            assert_eq!(to_v2(&v1), v2, "{name}");
        }
    }

    #[test]
    fn tools_states_reasoning_files_and_compaction_map_to_their_counterparts() {
        let (_, v1) = fixtures("tests/fixtures/opencode")
            .into_iter()
            .find(|(n, _)| n.ends_with("compacted.json"))
            .unwrap();
        let v2 = to_v2(&v1);
        let messages = v2["messages"].as_array().unwrap();
        let tool = &messages[1]["content"][0];
        assert_eq!(tool["name"], "shell", "{tool}");
        assert_eq!(tool["state"]["content"][0]["text"], "hello from file\n");
        let compaction = messages.iter().find(|m| m["type"] == "compaction").unwrap();
        assert_eq!(compaction["reason"], "auto");
        assert!(compaction["summary"]
            .as_str()
            .unwrap()
            .contains("Fake compaction summary"));
        // What v2 has no field for is kept, and said to be kept.
        assert!(tool.get("title").is_none());
        assert!(messages[1]["metadata"][META][FROM_V1].is_object());

        let (_, v2) = fixtures("tests/fixtures/opencode2").pop().unwrap();
        let plain = strip_all_meta(to_v1(&v2));
        let parts: Vec<&Value> = plain["messages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["parts"].as_array().unwrap())
            .collect();
        let tools: Vec<&str> = parts.iter().filter_map(|p| p["tool"].as_str()).collect();
        assert_eq!(
            tools,
            ["read", "bash", "task", "apply_patch", "bash"],
            "{tools:?}"
        );
        let read = parts.iter().find(|p| p["tool"] == "read").unwrap();
        assert_eq!(
            read["state"]["input"]["filePath"],
            "/home/dev/project/hello.txt"
        );
        let shell = parts.iter().find(|p| p["callID"] == "call_2").unwrap();
        assert_eq!(shell["state"]["attachments"][0]["filename"], "log.txt");
        let failed = parts.iter().find(|p| p["tool"] == "apply_patch").unwrap();
        assert_eq!(failed["state"]["status"], "error");
        assert_eq!(failed["state"]["error"], "patch did not apply");
        assert!(parts.iter().any(|p| p["type"] == "reasoning"));
        assert!(parts
            .iter()
            .any(|p| p["type"] == "file" && p["filename"] == "hello.txt"));
        assert!(parts
            .iter()
            .any(|p| p["type"] == "compaction" && p["auto"] == true));
    }

    fn strip_all_meta(mut v: Value) -> Value {
        if let Some(o) = v.as_object_mut() {
            o.remove("metadata");
            for x in o.values_mut() {
                *x = strip_all_meta(x.take());
            }
        } else if let Some(a) = v.as_array_mut() {
            for x in a {
                *x = strip_all_meta(x.take());
            }
        }
        v
    }
}
