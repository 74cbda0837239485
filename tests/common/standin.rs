//! A stand-in for the model providers on 127.0.0.1, for the middleware
//! tests: an axum server that replays the recorded payloads and SSE streams
//! of `core/tests/fixtures` (OpenAI chat, Responses, embeddings and legacy
//! completions, Anthropic, Gemini, error bodies with their statuses), the
//! helpers that read back the records of the calls made to it, and those
//! that run audited calls in a child process.
//!
//! A test binary that uses it includes `common` as well:
//! `mod common;` and `#[path = "common/standin.rs"] mod standin;`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use llm_traced::CallRecord;
use serde_json::{json, Value};

use crate::common::{everything_on, fixture_text};

/// The `retry-after` header of the stand-in's replies.
#[derive(Clone, Copy, Debug)]
pub enum RetryAfter {
    /// "7" on a 429 alone, as the providers send it.
    OnRateLimit,
    /// "0" on every reply, so that a client's retry layer retries at once.
    AtOnce,
}

#[derive(Clone)]
struct Stand {
    retry_after: RetryAfter,
    /// Requests for the model "flaky" so far: the first one fails.
    flaky: Arc<AtomicUsize>,
}

impl Stand {
    fn reply(&self, status: u16, content_type: &str, text: String) -> Response {
        let retry_after = match (self.retry_after, status) {
            (RetryAfter::AtOnce, _) => Some("0"),
            (RetryAfter::OnRateLimit, 429) => Some("7"),
            (RetryAfter::OnRateLimit, _) => None,
        };
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header(header::CONTENT_TYPE, content_type);
        if let Some(after) = retry_after {
            builder = builder.header("retry-after", after);
        }
        builder.body(Body::from(text)).unwrap()
    }
}

/// The stand-in for the models: the path picks the provider, the model name
/// the recorded answer.
///
/// Models that answer alike on every path: "rate-limited" (429), "broken"
/// (500), "flaky" (500 the first time, then an answer), "bad-key" (401, with
/// an error body that echoes the key it was given, as the real API does) and
/// "dropped" (a stream that sends its first events and then nothing). On
/// `/v1/chat/completions` "tools" answers with parallel tool calls.
async fn model(
    State(stand): State<Stand>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let model = body["model"].as_str().unwrap_or("");
    let stream =
        body["stream"].as_bool().unwrap_or(false) || uri.path().ends_with(":streamGenerateContent");
    let json = |file: &str| stand.reply(200, "application/json", fixture_text(file));
    let sse = |file: &str| stand.reply(200, "text/event-stream", fixture_text(file));
    match (uri.path(), model, stream) {
        (_, "rate-limited", _) => stand.reply(
            429,
            "application/json",
            fixture_text("openai_error_429_rate_limit_exceeded_tpm.json"),
        ),
        (_, "broken", _) => server_error(&stand),
        (_, "flaky", _) if stand.flaky.fetch_add(1, Ordering::SeqCst) == 0 => server_error(&stand),
        (_, "bad-key", _) => {
            let given = match headers.get("x-api-key") {
                Some(key) => key.to_str().unwrap(),
                None => headers[header::AUTHORIZATION]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("Bearer "),
            };
            let text = fixture_text("openai_error_401_invalid_api_key.json")
                .replace("<not-a-r****key>", given);
            stand.reply(401, "application/json", text)
        }
        (_, "dropped", true) => {
            // The first events now, the rest never: the client stops reading.
            let text = fixture_text("raw_sse/openai_chat_stream_include_usage_text.sse");
            let head: String = text.split_inclusive("\n\n").take(2).collect();
            let body = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
                futures::stream::once(async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(String::new())
                }),
            );
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(body))
                .unwrap()
        }
        ("/v1/chat/completions", "tools", false) => {
            json("openai_chat_completion_parallel_tool_calls.json")
        }
        ("/v1/chat/completions", "tools", true) => {
            sse("raw_sse/openai_chat_stream_include_usage_parallel_tool_calls.sse")
        }
        ("/v1/chat/completions", _, false) => json("openai_chat_completion_text_stop.json"),
        ("/v1/chat/completions", _, true) => {
            sse("raw_sse/openai_chat_stream_include_usage_text.sse")
        }
        ("/v1/responses", _, false) => json("openai_responses_text.json"),
        ("/v1/responses", _, true) => sse("raw_sse/openai_responses_stream_text.sse"),
        ("/v1/embeddings", _, false) => json("openai_embeddings.json"),
        ("/v1/completions", _, false) => json("openai_completion_legacy_length.json"),
        ("/v1/messages", _, false) => json("anthropic_message_end_turn.json"),
        ("/v1/messages", _, true) => sse("raw_sse/anthropic_stream_text.sse"),
        (_, _, true) => sse("raw_sse/gemini_stream_text.sse"),
        _ => stand.reply(404, "application/json", "{}".into()),
    }
}

fn server_error(stand: &Stand) -> Response {
    let body = json!({"error": {"message": "The server had an error while processing your request.",
        "type": "server_error", "param": null, "code": null}});
    stand.reply(500, "application/json", body.to_string())
}

/// Starts a stand-in of its own and returns its port. Besides the models
/// (any POST), it serves `GET /v1/models` (an empty list) and
/// `POST /v1/other` ("other"), which are no model calls.
pub fn serve(retry_after: RetryAfter) -> u16 {
    let stand = Stand {
        retry_after,
        flaky: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": []})) }),
        )
        .route("/v1/other", post(|| async { "other" }))
        .fallback(post(model))
        .with_state(stand);
    serve_forever(app)
}

/// Serves `app` on 127.0.0.1 from a thread of its own for the rest of the
/// process, so that no later test's server gets the same port: the records
/// of a test are those with its port.
fn serve_forever(app: Router) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap()
        })
    });
    port
}

/// A port of 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// The records of calls to `port`, waiting a little for those that end
/// later or in another task (a stream read by a client's reader task).
pub fn records_for(port: u16, expected: usize) -> Vec<CallRecord> {
    let h = everything_on();
    for _ in 0..100 {
        assert!(llm_traced::flush());
        let records: Vec<CallRecord> = std::fs::read_dir(&h.dir)
            .map(|d| {
                // A file being written has a temporary name until it is
                // renamed: read only finished ones, and skip one renamed away.
                d.filter_map(|e| {
                    let path = e.ok()?.path();
                    (path.extension()? == "json").then_some(())?;
                    llm_traced::read_conversation(path).ok()
                })
                .collect()
            })
            .unwrap_or_default();
        let mine: Vec<CallRecord> = records
            .into_iter()
            .filter(|r| r.server_port == Some(port))
            .collect();
        if mine.len() >= expected {
            return mine;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("fewer than {expected} record(s) for port {port}");
}

/// The record of the call that asked for `model`.
pub fn by_model<'a>(records: &'a [CallRecord], model: &str) -> &'a CallRecord {
    records
        .iter()
        .find(|r| r.request_model.as_deref() == Some(model))
        .unwrap_or_else(|| panic!("no record for {model}"))
}

/// Every saved file, one after the other: for looking for what must not be
/// in any.
pub fn saved_text() -> String {
    assert!(llm_traced::flush());
    std::fs::read_dir(&everything_on().dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect()
}

/// In the child process that [`audit_log_of`] starts: runs `calls` on a
/// runtime of two workers, then flushes the outputs. Elsewhere (the child is
/// a test of its binary like any other) it does nothing.
pub fn in_audited_child(calls: impl std::future::Future<Output = ()>) {
    if !crate::common::is_child() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(calls);
    assert!(llm_traced::flush());
}

/// The audit log a child process wrote.
pub struct AuditLog {
    pub path: PathBuf,
    pub text: String,
    pub entries: Vec<Value>,
    _temp: tempfile::TempDir,
}

impl AuditLog {
    /// Every entry's `action`, in order.
    pub fn actions(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect()
    }
}

/// Runs test `child` of this binary in a child process with only the audit
/// log configured (`LLM_AUDIT_FILE`: nothing else is switched on), and reads
/// the log it wrote.
pub fn audit_log_of(child: &str) -> AuditLog {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("audit.jsonl");
    crate::common::run_child(child, &[("LLM_AUDIT_FILE", path.to_str().unwrap())]);
    AuditLog {
        entries: crate::common::json_lines(&path),
        text: std::fs::read_to_string(&path).unwrap(),
        path,
        _temp: temp,
    }
}
