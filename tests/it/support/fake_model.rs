//! A fake model server: OpenAI-compatible streaming chat completions on 127.0.0.1, so the real
//! OpenCode can run real sessions (tool calls, subagents) without any paid model.
//!
//! std only: a `TcpListener` on an ephemeral port, one thread accepting and one per connection,
//! HTTP/1.1 with `connection: close`, and server-sent events of `chat.completion.chunk`s. The
//! answers are scripted by the last message of each request:
//!
//! * a title-generator request (system prompt "You are a title generator") gets [`TITLE`];
//! * after a `role: tool` message, a short text that quotes the start of the tool's output;
//! * a user message with `TOOL:<name> <args>` segments gets one tool call per segment, all in
//!   one step: `TOOL:bash <command>`, `TOOL:read <absolute path>`, `TOOL:task <prompt>` (a
//!   subagent), or `TOOL:<name> {json arguments}` (when the request offers tools: OpenCode's
//!   compaction request offers none and refuses tool calls);
//! * any other user message gets `Echo: <its text>`;
//! * a user message containing `BIGTOKENS` is answered with a usage of 99000 prompt tokens, near
//!   the 100000-token context of [`FakeModel::opencode_config`], so OpenCode auto-compacts the
//!   session after that turn (once: the turns after it report 10 again).
//!
//! Every answer ends with a `usage` chunk and `data: [DONE]`. Every request body is kept for
//! assertions ([`FakeModel::requests`]). The server stops when the value is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// The model id the fake serves (`fake/fake-model` in OpenCode's config).
pub const MODEL: &str = "fake-model";
/// The title the fake gives every session.
pub const TITLE: &str = "Fake session title";

/// A running fake model server.
pub struct FakeModel {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    stop: AtomicBool,
    requests: Mutex<Vec<Value>>,
    calls: AtomicU64,
}

impl FakeModel {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
        });
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("fake-model".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&shared);
                    // Title and agent requests arrive in parallel: one thread per connection.
                    std::thread::spawn(move || {
                        let _ = serve(stream, &state);
                    });
                }
            })
            .expect("spawn the fake model thread");
        FakeModel {
            addr,
            state,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>/v1`, the provider's `baseURL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every chat-completion request body received so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// The agent requests (not title requests) received so far.
    pub fn agent_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| !is_title_request(r))
            .collect()
    }

    /// A project `opencode.json` that makes this server OpenCode's only model and allows the
    /// tools without asking.
    pub fn opencode_config(&self) -> Value {
        json!({
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": false,
            "share": "disabled",
            "model": format!("fake/{MODEL}"),
            "small_model": format!("fake/{MODEL}"),
            "provider": {
                "fake": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Fake local",
                    "options": { "baseURL": self.base_url(), "apiKey": "sk-fake" },
                    "models": {
                        MODEL: {
                            "name": "Fake Model",
                            "tool_call": true,
                            "limit": { "context": 100000, "output": 4096 }
                        }
                    }
                }
            },
            "permission": {
                "bash": "allow", "edit": "allow", "read": "allow", "external_directory": "allow"
            }
        })
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some((request_line, body)) = read_request(&stream)? else {
        return Ok(());
    };
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    if !request_line.starts_with("POST ") || !path.ends_with("/chat/completions") {
        let body = br#"{"error":{"message":"not found"}}"#;
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )?;
        stream.write_all(body)?;
        return stream.flush();
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .requests
        .lock()
        .expect("requests lock")
        .push(request.clone());
    let call = state.calls.fetch_add(1, Ordering::SeqCst);
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    );
    for chunk in reply(&request, call) {
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    stream.write_all(out.as_bytes())?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Reads one request: its request line and its body (by `content-length` or chunked).
fn read_request(stream: &TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(None);
    }
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                let mut end = String::new();
                reader.read_line(&mut end)?;
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            chunk.truncate(size);
            body.extend(chunk);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some((request_line.trim_end().to_owned(), body)))
}

/// The text of a message's `content` (a string, or an array of text parts).
pub fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn is_title_request(request: &Value) -> bool {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "system")
        .any(|m| content_text(m).starts_with("You are a title generator"))
}

/// The scripted answer to one request, as the JSON of each chunk.
pub fn reply(request: &Value, call: u64) -> Vec<Value> {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let mut chunks = Vec::new();
    if is_title_request(request) {
        chunks.push(chunk(json!({"role": "assistant", "content": TITLE}), None));
        chunks.push(chunk(json!({}), Some("stop")));
    } else if let Some(calls) = (last["role"] == "tool")
        .then(|| next_step(&messages))
        .flatten()
    {
        push_calls(&mut chunks, calls, call);
    } else if last["role"] == "tool" {
        let output: String = content_text(&last).chars().take(40).collect();
        let text = format!("The tool said: {}", output.trim());
        chunks.push(chunk(json!({"role": "assistant", "content": text}), None));
        chunks.push(chunk(json!({}), Some("stop")));
    } else {
        let text = content_text(&last);
        // Steps separated by ` THEN ` are called one after the other (see `next_step`).
        let text = text.split(" THEN ").next().unwrap_or("").to_owned();
        // OpenCode's compaction request offers no tools (and refuses calls): answer it in text.
        let offers_tools = request["tools"].as_array().is_some_and(|t| !t.is_empty());
        let calls = if offers_tools {
            tool_calls(&text)
        } else {
            Vec::new()
        };
        if calls.is_empty() {
            let echo = format!("Echo: {}", text.trim());
            chunks.push(chunk(json!({"role": "assistant", "content": echo}), None));
            chunks.push(chunk(json!({}), Some("stop")));
        } else {
            push_calls(&mut chunks, calls, call);
        }
    }
    let big = !is_title_request(request)
        && last["role"] == "user"
        && content_text(&last).contains("BIGTOKENS");
    let prompt_tokens = if big { 99_000 } else { 10 };
    chunks.push(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 5,
            "total_tokens": prompt_tokens + 5
        }
    }));
    chunks
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }]
    })
}

/// Adds the chunks of one step's tool calls.
fn push_calls(chunks: &mut Vec<Value>, calls: Vec<(String, Value)>, call: u64) {
    for (index, (name, arguments)) in calls.into_iter().enumerate() {
        chunks.push(chunk(
            json!({
                "role": "assistant",
                "tool_calls": [{
                    "index": index,
                    "id": format!("call_{call}_{index}"),
                    "type": "function",
                    "function": { "name": name, "arguments": arguments.to_string() }
                }]
            }),
            None,
        ));
    }
    chunks.push(chunk(json!({}), Some("tool_calls")));
}

/// The tool calls of the next step of the last user message when it has steps separated by
/// ` THEN ` (`TOOL:write {..} THEN TOOL:edit {..}`): one step per model call, each after the
/// previous step's results came back. `None` when every step was called.
fn next_step(messages: &[Value]) -> Option<Vec<(String, Value)>> {
    let at = messages.iter().rposition(|m| m["role"] == "user")?;
    let text = content_text(&messages[at]);
    let steps: Vec<&str> = text.split(" THEN ").collect();
    let done = messages[at..]
        .iter()
        .filter(|m| m["role"] == "assistant" && m["tool_calls"].is_array())
        .count();
    let calls = tool_calls(steps.get(done)?);
    (!calls.is_empty()).then_some(calls)
}

/// The `TOOL:<name> <args>` segments of a user message, as tool names and arguments.
pub fn tool_calls(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for segment in text.split("TOOL:").skip(1) {
        let segment = segment.trim();
        let (name, rest) = segment
            .split_once(char::is_whitespace)
            .unwrap_or((segment, ""));
        let rest = rest.trim();
        let arguments = match name {
            _ if rest.starts_with('{') => serde_json::from_str(rest).unwrap_or(json!({})),
            "bash" => json!({ "command": rest, "description": "Runs the command" }),
            "read" => json!({ "filePath": rest }),
            "task" => json!({
                "description": "Sub task",
                "prompt": rest,
                "subagent_type": "general"
            }),
            _ => json!({}),
        };
        out.push((name.to_owned(), arguments));
    }
    out
}

#[test]
fn the_fake_model_scripts_tool_calls_titles_and_echoes() {
    let calls = tool_calls("do this TOOL:bash cat a.txt TOOL:task look around");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0, "bash");
    assert_eq!(calls[0].1["command"], "cat a.txt");
    assert_eq!(calls[1].1["prompt"], "look around");

    let title = reply(
        &json!({"messages": [{"role": "system", "content": "You are a title generator. ..."},
                             {"role": "user", "content": "hi"}]}),
        0,
    );
    assert_eq!(title[0]["choices"][0]["delta"]["content"], TITLE);
    let echo = reply(
        &json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}),
        1,
    );
    assert_eq!(echo[0]["choices"][0]["delta"]["content"], "Echo: hi");
    assert!(echo.last().unwrap()["usage"].is_object());
    let big = reply(
        &json!({"messages": [{"role": "user", "content": "go on BIGTOKENS"}]}),
        2,
    );
    assert_eq!(big.last().unwrap()["usage"]["prompt_tokens"], 99_000);

    // Over HTTP: a streamed answer ending in [DONE], and the request kept.
    let server = FakeModel::start();
    let port = server.addr.port();
    let body = r#"{"model":"fake-model","stream":true,"tools":[{"type":"function","function":{"name":"bash"}}],"messages":[{"role":"user","content":"TOOL:bash ls"}]}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains(r#"\"command\":\"ls\""#), "{answer}");
    assert!(answer.trim_end().ends_with("data: [DONE]"), "{answer}");
    assert_eq!(server.requests().len(), 1);
    let state = Arc::clone(&server.state);
    drop(server);
    // Stopped: nothing answers on its port any more, or (when the port was already given to
    // another test's server) what answers is not this server.
    if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
        let _ = write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.read_to_string(&mut String::new());
    }
    assert_eq!(
        state.requests.lock().unwrap().len(),
        1,
        "the server stops when dropped"
    );
}
