//! A fake OpenAI Responses API on 127.0.0.1 for the real Codex CLI (std only).
//!
//! `POST /v1/responses` answers with server-sent events (`response.output_item.done`, then
//! `response.completed` with a usage), scripted by the request: a compaction request (its last
//! user message begins `You are performing a CONTEXT CHECKPOINT COMPACTION`) gets
//! `SUMMARY: fake summary of the session`; a request whose last input is a
//! `function_call_output` gets `Done. Tool said: <output>`; `TOOL:<command>` gets an
//! `exec_command` function call; `SPAWN:<task>` a `spawn_agent` call (Codex starts a subagent
//! with that task); anything else `Echo: <text>`. A prompt containing `HUGE`
//! makes the function call's answer report 950000 `input_tokens`, so Codex auto-compacts before
//! its next request; every other answer reports 100. Every request (its `x-codex-turn-metadata`
//! `request_kind` and body) is kept ([`FakeResponses::requests`]). The server stops when
//! dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One request Codex sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// `turn` or `compaction` (from `x-codex-turn-metadata`), empty when absent.
    pub kind: String,
    /// The JSON body.
    pub body: Value,
}

/// A running fake server.
pub struct FakeResponses {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeResponses {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let (shared, stopping) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let shared = Arc::clone(&shared);
                let n = counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared, n);
                });
            }
        });
        FakeResponses {
            addr,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:<port>/v1`, Codex's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every `/v1/responses` request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeResponses {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, n: usize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0usize;
    let mut kind = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("x-codex-turn-metadata") {
                let meta: Value = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                kind = meta["request_kind"].as_str().unwrap_or("").to_owned();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut out = stream;
    if !path.ends_with("/responses") {
        return write!(
            out,
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (item, tokens) = answer(&body, n);
    requests.lock().unwrap().push(Request { kind, body });
    let mut sse = String::new();
    let mut event = |name: &str, data: Value| {
        sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "response.output_item.done",
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
    );
    event(
        "response.completed",
        json!({"type": "response.completed", "response": {"id": format!("resp_fake_{n}"),
            "usage": {"input_tokens": tokens, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": tokens + 10}}}),
    );
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{sse}",
        sse.len()
    )?;
    out.flush()
}

/// The output item and the input_tokens to report.
fn answer(body: &Value, n: usize) -> (Value, u64) {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    let text_of = |item: &Value| -> String {
        item["content"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    let last_user = input
        .iter()
        .rev()
        .find(|i| i["type"] == "message" && i["role"] == "user")
        .map(text_of)
        .unwrap_or_default();
    let message = |text: &str| {
        json!({"type": "message", "role": "assistant", "id": format!("msg_{n}"),
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
    };
    if last_user.starts_with("You are performing a CONTEXT CHECKPOINT COMPACTION") {
        return (message("SUMMARY: fake summary of the session"), 100);
    }
    if let Some(last) = input.last().filter(|i| i["type"] == "function_call_output") {
        let output = match &last["output"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let said = output.lines().last().unwrap_or("").trim().to_owned();
        return (message(&format!("Done. Tool said: {said}")), 100);
    }
    if let Some(task) = last_user.strip_prefix("SPAWN:") {
        let args = json!({"message": task.trim()}).to_string();
        return (
            json!({"type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                "name": "spawn_agent", "namespace": "multi_agent_v1", "arguments": args}),
            100,
        );
    }
    if let Some(at) = last_user.find("TOOL:") {
        let command = last_user[at + 5..]
            .lines()
            .next()
            .unwrap_or("")
            .replace("HUGE", "");
        let tokens = if last_user.contains("HUGE") {
            950_000
        } else {
            100
        };
        let args = json!({"cmd": command.trim()}).to_string();
        return (
            json!({"type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                "name": "exec_command", "arguments": args}),
            tokens,
        );
    }
    let prompt = last_user
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.contains('<'))
        .unwrap_or("");
    (message(&format!("Echo: {prompt}")), 100)
}
