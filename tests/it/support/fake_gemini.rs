//! A fake Gemini API on 127.0.0.1 for the real Gemini CLI (`GOOGLE_GEMINI_BASE_URL`, std only).
//!
//! `POST /v1beta/models/<model>:generateContent` answers one JSON response: the router's
//! complexity question gets `{"complexity_reasoning": "simple", "complexity_score": 1}`, a
//! compression request (its text names `<state_snapshot>`) gets
//! `<state_snapshot>fake summary of the session</state_snapshot>`, anything else (a title)
//! `Echo summary`. `POST .../<model>:streamGenerateContent?alt=sse` answers one SSE event: after a
//! `functionResponse` part `Done. Tool said: <output>`; a prompt `TOOL:<command>` a
//! `run_shell_command` function call; anything else `Echo: <prompt>`. A prompt containing `HUGE`
//! makes the function call's answer report 990000 `promptTokenCount`, so Gemini compresses before
//! its next request; every other answer reports 100. Every request is kept
//! ([`FakeGemini::requests`]). The server stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One request Gemini sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// The path (`/v1beta/models/...:streamGenerateContent?alt=sse`).
    pub path: String,
    /// The JSON body.
    pub body: Value,
}

impl Request {
    /// Whether this is a conversation turn (a streamed request).
    pub fn is_turn(&self) -> bool {
        self.path.contains(":streamGenerateContent")
    }

    /// Every text of the request's contents, joined.
    pub fn texts(&self) -> String {
        self.body["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A running fake server.
pub struct FakeGemini {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeGemini {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        FakeGemini {
            addr,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:<port>`, Gemini's `GOOGLE_GEMINI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeGemini {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
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
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let request = Request { path, body };
        let mut out = stream.try_clone()?;
        if request.is_turn() {
            let answer = turn(&request.body);
            requests.lock().unwrap().push(request);
            let sse = format!("data: {answer}\r\n\r\n");
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{sse}",
                sse.len()
            )?;
        } else if request.path.contains(":generateContent") {
            let answer = generate(&request.body).to_string();
            requests.lock().unwrap().push(request);
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            )?;
        } else {
            write!(out, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
        }
        out.flush()?;
    }
}

fn response(parts: Value, prompt_tokens: u64) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": 10,
            "totalTokenCount": prompt_tokens + 10}})
}

/// The answer of a `generateContent` request: the router, a compression, a title.
fn generate(body: &Value) -> Value {
    let all = body.to_string();
    let text = if all.contains("complexity_score") {
        json!({"complexity_reasoning": "simple", "complexity_score": 1}).to_string()
    } else if all.contains("state_snapshot") {
        "<state_snapshot>fake summary of the session</state_snapshot>".to_owned()
    } else {
        "Echo summary".to_owned()
    };
    response(json!([{ "text": text }]), 100)
}

/// The answer of a streamed turn.
fn turn(body: &Value) -> Value {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let last = contents.last().cloned().unwrap_or(Value::Null);
    let parts = last["parts"].as_array().cloned().unwrap_or_default();
    if let Some(r) = parts.iter().find_map(|p| p.get("functionResponse")) {
        let output = match r.pointer("/response/output") {
            Some(Value::String(s)) => s.clone(),
            _ => r["response"].to_string(),
        };
        let said = output
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned();
        return response(json!([{ "text": format!("Done. Tool said: {said}") }]), 100);
    }
    let prompt = parts
        .iter()
        .rev()
        .find_map(|p| p["text"].as_str())
        .unwrap_or("")
        .to_owned();
    if let Some(at) = prompt.find("TOOL:") {
        let command = prompt[at + 5..]
            .lines()
            .next()
            .unwrap_or("")
            .replace("HUGE", "");
        let tokens = if prompt.contains("HUGE") {
            990_000
        } else {
            100
        };
        return response(
            json!([{"functionCall": {"name": "run_shell_command", "args": {"command": command.trim()}}}]),
            tokens,
        );
    }
    response(json!([{ "text": format!("Echo: {prompt}") }]), 100)
}
