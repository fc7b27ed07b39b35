//! A fake Anthropic Messages API on 127.0.0.1 for the real Claude Code (std only).
//!
//! `POST /v1/messages` answers with server-sent events, scripted by the newest user message
//! (role `system` entries are skipped): a compaction request ("CRITICAL: Respond with TEXT
//! ONLY") gets `<analysis>…</analysis><summary>…</summary>`; a message holding a `tool_result`
//! gets `Done. Tool said: <result>`; `TOOL:bash <command>` gets a `Bash` tool_use; anything else
//! `Echo: <text>`. A prompt containing `HUGE` makes the tool_use answer report 990000
//! `input_tokens`, so Claude Code auto-compacts before its next request. Other paths get
//! `{"input_tokens": 10}`. Every request body is kept ([`FakeAnthropic::requests`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// A running fake server (it lives until the test process ends).
pub struct FakeAnthropic {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeAnthropic {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        FakeAnthropic { addr, requests }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `/v1/messages` request body so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut out = stream;
    if !path.starts_with("/v1/messages") || path.contains("count_tokens") {
        let text = json!({"input_tokens": 10}).to_string();
        return write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    requests.lock().unwrap().push(request.clone());
    let model = request["model"].clone();
    let (blocks, tokens) = answer(&request);
    let stop = if blocks.iter().any(|b| b["type"] == "tool_use") {
        "tool_use"
    } else {
        "end_turn"
    };
    let mut sse = String::new();
    let mut event = |name: &str, data: Value| {
        sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": tokens, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
    );
    for (i, b) in blocks.iter().enumerate() {
        if b["type"] == "text" {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": b["text"]}}),
            );
        } else {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": b["input"].to_string()}}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        );
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 20}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n{sse}"
    )?;
    out.flush()
}

/// For a first prompt made of `TOOL:<Name> {json input}` steps (`TOOL:Write {..} TOOL:Edit
/// {..}`): the next step's `tool_use` (one per request, each after the previous result came
/// back), then `Done.`. `None` for other prompts.
fn json_step(request: &Value) -> Option<Vec<Value>> {
    let messages = request["messages"].as_array()?;
    let first = messages.iter().find(|m| m["role"] == "user")?;
    let text = match &first["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    let mut steps = Vec::new();
    for segment in text.split("TOOL:").skip(1) {
        let (name, rest) = segment.split_once(' ')?;
        let input = serde_json::Deserializer::from_str(rest.trim_start())
            .into_iter::<Value>()
            .next()?
            .ok()?;
        steps.push((name.to_owned(), input));
    }
    if steps.is_empty() {
        return None;
    }
    let done = messages
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .count();
    Some(match steps.get(done) {
        Some((name, input)) => vec![
            json!({"type": "text", "text": format!("Step {}.", done + 1)}),
            json!({"type": "tool_use", "id": format!("toolu_fake_step_{done}"), "name": name, "input": input}),
        ],
        None => vec![json!({"type": "text", "text": "Done. Every step ran."})],
    })
}

/// The answer blocks and the input_tokens to report.
fn answer(request: &Value) -> (Vec<Value>, u64) {
    let last = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut text = String::new();
    let mut result = None;
    match &last["content"] {
        Value::String(s) => text.push_str(s),
        Value::Array(blocks) => {
            for b in blocks {
                match b["type"].as_str() {
                    Some("text") => text.push_str(b["text"].as_str().unwrap_or("")),
                    Some("tool_result") => {
                        result = Some(match &b["content"] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                    }
                    _ => {}
                }
                text.push('\n');
            }
        }
        _ => {}
    }
    let t = |s: &str| json!({"type": "text", "text": s});
    if text.contains("CRITICAL: Respond with TEXT ONLY") {
        return (vec![t("<analysis>fake analysis</analysis>\n<summary>fake summary of the session</summary>")], 100);
    }
    if let Some(step) = json_step(request) {
        return (step, 1000);
    }
    if let Some(r) = result {
        return (vec![t(&format!("Done. Tool said: {}", r.trim()))], 1000);
    }
    if let Some(at) = text.find("TOOL:bash ") {
        let rest = &text[at + "TOOL:bash ".len()..];
        let command = rest.lines().next().unwrap_or("").replace("HUGE", "");
        let tokens = if text.contains("HUGE") { 990_000 } else { 1000 };
        return (
            vec![
                t("I will run a command."),
                json!({"type": "tool_use", "id": "toolu_fake_1", "name": "Bash", "input": {"command": command.trim(), "description": "fake run"}}),
            ],
            tokens,
        );
    }
    let prompt = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.contains('<'))
        .unwrap_or("");
    (vec![t(&format!("Echo: {prompt}"))], 1000)
}
