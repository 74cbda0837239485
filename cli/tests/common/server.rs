//! A running `llm-traced serve` and a small HTTP/1.1 client that sends
//! exactly the request line and headers given (paths are not normalised,
//! so traversal attempts reach the server as written).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A viewer started for a test; stopped when dropped.
pub struct Server {
    child: Child,
    /// The URL it printed.
    pub url: String,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// What it printed on stderr before the URL.
    pub banner: String,
}

impl Server {
    /// Starts `llm-traced serve ARGS --port 0` (polling every 100 ms) and
    /// waits for its URL.
    pub fn start(args: &[&str]) -> Server {
        Server::start_in(args, None, &[])
    }

    /// The same, in `dir` with these environment variables.
    pub fn start_in(args: &[&str], dir: Option<&Path>, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-traced"));
        cmd.arg("serve")
            .args(args)
            .args(["--port", "0", "--poll-ms", "100"])
            .env_remove("LLM_CONVERSATIONS_DIR")
            .env_remove("LLM_LOG_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start serve: {e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut reader = BufReader::new(stderr);
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let mut line = String::new();
            let n = reader.line_read(&mut line);
            if n == 0 || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve stopped before printing its URL:\n{banner}");
            }
            banner.push_str(&line);
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = reader.read_to_string(&mut sink);
        });
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let port = addr.rsplit(':').next().unwrap_or_default();
        Server {
            child,
            addr: format!("127.0.0.1:{port}"),
            url,
            banner,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end; its exit code (`None`: still running
    /// after `limit`, or killed by a signal).
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `GET path` with `Host: 127.0.0.1:port`.
    pub fn get(&self, path: &str) -> Response {
        let host = self.addr.clone();
        self.request(path, &[("Host", &host)])
    }

    /// `GET path`, a 200 expected; the body.
    pub fn page(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    /// `GET path` with exactly these headers.
    pub fn request(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers, None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

trait LineRead {
    fn line_read(&mut self, line: &mut String) -> usize;
}

impl<R: Read> LineRead for BufReader<R> {
    fn line_read(&mut self, line: &mut String) -> usize {
        self.read_line(line).unwrap_or(0)
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding undone).
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request (`Connection: close`), the whole response read.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream
        .write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = read_response(&mut stream);
    parse(&raw).unwrap_or_else(|| panic!("not an HTTP response: {}", String::from_utf8_lossy(&raw)))
}

/// Reads one response: to its `Content-Length`, to its last chunk, or to the
/// end of the connection (some servers keep it open despite `close`).
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let body = &raw[split + 4..];
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                break;
            }
            if head.contains("transfer-encoding: chunked") && body.ends_with(b"0\r\n\r\n") {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    raw
}

fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = data.get(end + 2..).unwrap_or(&[]);
    }
    out
}

/// An open server-sent events stream.
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    /// Opens `path` (the headers are read).
    pub fn open(server: &Server, path: &str) -> Events {
        let mut stream = TcpStream::connect(&server.addr).unwrap_or_else(|e| panic!("{e}"));
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            server.addr
        );
        stream
            .write_all(req.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while status.is_empty() && Instant::now() < deadline {
            let _ = reader.read_line(&mut status);
        }
        assert!(status.contains(" 200 "), "events: {status}");
        loop {
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            if line == "\r\n" {
                break;
            }
            if Instant::now() > deadline {
                panic!("events: no end of headers");
            }
        }
        Events { reader }
    }

    /// The data of `event` events seen within `wait` (chunk framing lines
    /// are skipped: an SSE line never starts with a hex size alone).
    pub fn collect(&mut self, event: &str, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        let mut data = String::new();
        while Instant::now() < deadline {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => continue,
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(e) = l.strip_prefix("event:") {
                current = Some(e.trim().to_owned());
            } else if let Some(d) = l.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            } else if l.is_empty() && current.is_some() {
                if current.as_deref() == Some(event) {
                    out.push(std::mem::take(&mut data));
                }
                data.clear();
                current = None;
            }
        }
        out
    }
}

// The fixture shared by the server and browser tests.

use crate::common::{record, write_conversation};
use serde_json::json;

pub const T1: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const T2: &str = "5c0a3e0d1c2b4a5f8e7d6c5b4a392817";
pub const T3: &str = "6d1b4f1e2d3c5b6a9f8e7d6c5b4a3928";

pub fn rid(n: u32) -> String {
    format!("01a21c54-0000-7000-8000-{n:012}")
}

/// Six calls: an agent run (an agent step, a model call with a tool call, a
/// tool, a failed model call), a call of another user, a cancelled call.
pub fn fixture(dir: &std::path::Path) {
    let calls = [
        json!({"request_id": rid(1), "trace_id": T1, "span_id": "a000000000000001", "kind": "agent",
               "name": "support_agent", "function": "app::agents::support_agent", "started_at": "2026-11-27T09:00:00.000Z",
               "latency_ms": 5000.0, "user_id": "alice", "session_id": "s-1", "tenant_id": "acme", "tags": ["beta"],
               "metadata": {"plan": "pro"}}),
        json!({"request_id": rid(2), "trace_id": T1, "span_id": "a000000000000002", "parent_span_id": "a000000000000001",
               "name": "ask", "function": "app::llm::ask", "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
               "started_at": "2026-11-27T09:00:01.000Z", "latency_ms": 1200.0, "user_id": "alice", "session_id": "s-1",
               "tenant_id": "acme",
               "messages": [
                   {"role": "system", "content": "You are the support assistant."},
                   {"role": "user", "content": "Where is my order A-17?"},
                   {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "lookup_order", "arguments": "{\"order_id\":\"A-17\"}"}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\": \"packed\"}"}
               ],
               "response": {"text": "Your ORDER ships tomorrow."},
               "usage": {"input_tokens": 1200, "output_tokens": 30, "total_tokens": 1230, "cached_input_tokens": 1024, "reasoning_tokens": 12},
               "finish_reasons": ["stop"], "cost_usd": 0.0035, "time_to_first_chunk_ms": 180.5,
               "stream": {"chunks": 12, "completed": true}}),
        json!({"request_id": rid(3), "trace_id": T1, "span_id": "a000000000000003", "parent_span_id": "a000000000000001",
               "kind": "tool", "name": "lookup_order", "function": "app::tools::lookup_order",
               "started_at": "2026-11-27T09:00:02.300Z", "latency_ms": 50.0, "user_id": "alice", "session_id": "s-1",
               "tenant_id": "acme"}),
        json!({"request_id": rid(4), "trace_id": T1, "span_id": "a000000000000004", "parent_span_id": "a000000000000001",
               "name": "ask", "function": "app::llm::ask", "request_model": "gpt-4o-mini",
               "started_at": "2026-11-27T09:00:02.500Z", "latency_ms": 300.0, "status": "error", "level": "error",
               "user_id": "alice", "session_id": "s-1", "tenant_id": "acme",
               "messages": [{"role": "user", "content": "And the invoice?"}],
               "error": {"message": "Error code: 429 - {'error': {'code': 'rate_limit_exceeded', 'message': 'Rate limit reached for gpt-4o-mini'}}",
                         "type": "rate_limit", "http_status": 429}}),
        json!({"request_id": rid(5), "trace_id": T2, "span_id": "b000000000000001", "name": "summarize",
               "function": "app::rag::summarize", "request_model": "claude-sonnet-4-5", "provider": "anthropic",
               "started_at": "2026-11-27T10:00:00.000Z", "latency_ms": 2500.0, "user_id": "bob", "session_id": "s-2",
               "tenant_id": "globex",
               "messages": {"system": "Summarise.", "messages": [{"role": "user", "content": [{"type": "text", "text": "The trip to Zanzibar"}]}]},
               "response": {"refusal": "I can't help with that."},
               "usage": {"input_tokens": 40, "output_tokens": 8}}),
        json!({"request_id": rid(6), "trace_id": T3, "span_id": "c000000000000001", "name": "ask",
               "function": "app::llm::ask", "request_model": "gpt-4o", "started_at": "2026-11-27T11:00:00.000Z",
               "latency_ms": 20.0, "status": "cancelled", "user_id": "alice", "session_id": "s-1", "tenant_id": "acme",
               "error": {"message": "the future was dropped", "type": "cancelled"}}),
    ];
    for c in calls {
        write_conversation(dir, &record(c));
    }
}
