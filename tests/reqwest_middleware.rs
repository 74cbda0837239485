//! `LlmTracedMiddleware`: a real `reqwest_middleware::ClientWithMiddleware`
//! against a server started on 127.0.0.1 that replays the recorded payloads
//! and SSE streams of `tests/fixtures` (OpenAI chat and Responses, Anthropic,
//! Gemini, error bodies with their statuses). Each test has its own server,
//! so its records are the ones with its port.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::everything_on;
use futures::StreamExt;
use llm_traced::middleware::LlmTracedMiddleware;
use llm_traced::{llm_traced, CallRecord, Status};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{json, Value};

/// Shaped like a real key, so that the scrubber knows it.
const KEY: &str = "sk-ant-api03-Zm9yVGVzdGluZ09ubHlOb3RBUmVhbEtleTEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk";
const GEMINI_KEY: &str = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI";

fn fixture_text(path: &str) -> String {
    std::fs::read_to_string(common::fixtures_dir().join(path)).unwrap()
}

fn reply(status: u16, content_type: &str, retry_after: Option<&str>, text: String) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(header::CONTENT_TYPE, content_type);
    if let Some(after) = retry_after {
        builder = builder.header("retry-after", after);
    }
    builder.body(Body::from(text)).unwrap()
}

/// The stand-in for the models: the path picks the provider, the model name
/// the recorded answer.
async fn model(uri: Uri, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or("");
    let stream =
        body["stream"].as_bool().unwrap_or(false) || uri.path().ends_with(":streamGenerateContent");
    let json = |file: &str| reply(200, "application/json", None, fixture_text(file));
    let sse = |file: &str| reply(200, "text/event-stream", None, fixture_text(file));
    match (uri.path(), model, stream) {
        (_, "rate-limited", _) => reply(429, "application/json", Some("7"), fixture_text("openai_error_429_rate_limit_exceeded_tpm.json")),
        (_, "broken", _) => reply(500, "application/json", None, json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}}).to_string()),
        (_, "bad-key", _) => {
            let given = headers["x-api-key"].to_str().unwrap().to_owned();
            reply(401, "application/json", None, fixture_text("openai_error_401_invalid_api_key.json").replace("<not-a-r****key>", &given))
        }
        (_, "dropped", true) => {
            let text = fixture_text("raw_sse/openai_chat_stream_include_usage_text.sse");
            let head: String = text.split_inclusive("\n\n").take(2).collect();
            let body = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(String::new())
            }));
            Response::builder().header(header::CONTENT_TYPE, "text/event-stream").body(Body::from_stream(body)).unwrap()
        }
        ("/v1/chat/completions", _, false) => json("openai_chat_completion_text_stop.json"),
        ("/v1/chat/completions", _, true) => sse("raw_sse/openai_chat_stream_include_usage_text.sse"),
        ("/v1/responses", _, false) => json("openai_responses_text.json"),
        ("/v1/embeddings", _, false) => json("openai_embeddings.json"),
        ("/v1/completions", _, false) => json("openai_completion_legacy_length.json"),
        ("/v1/responses", _, true) => sse("raw_sse/openai_responses_stream_text.sse"),
        ("/v1/messages", _, false) => json("anthropic_message_end_turn.json"),
        ("/v1/messages", _, true) => sse("raw_sse/anthropic_stream_text.sse"),
        (_, _, true) => sse("raw_sse/gemini_stream_text.sse"),
        _ => reply(404, "application/json", None, "{}".into()),
    }
}

async fn serve() -> u16 {
    let app = Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": []})) }),
        )
        .route("/v1/other", post(|| async { "other" }))
        .fallback(post(model));
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

fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(LlmTracedMiddleware::new())
        .build()
}

async fn send(port: u16, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("x-api-key", KEY)
        .header("authorization", format!("Bearer {KEY}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
           "messages": [{"role": "user", "content": "What's the weather?"}], "temperature": 0.2, "seed": 7})
}

/// The records of calls to `port`, waiting a little for those that end later.
fn records_for(port: u16, expected: usize) -> Vec<CallRecord> {
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

fn by_model<'a>(records: &'a [CallRecord], model: &str) -> &'a CallRecord {
    records
        .iter()
        .find(|r| r.request_model.as_deref() == Some(model))
        .unwrap_or_else(|| panic!("no record for {model}"))
}

fn saved_text() -> String {
    assert!(llm_traced::flush());
    std::fs::read_dir(&everything_on().dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_whole_and_streamed() {
    everything_on();
    let port = serve().await;
    let answer: Value = send(port, "/v1/chat/completions", chat("gpt-4o", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["model"], "gpt-4o-2024-08-06");
    let streamed = send(port, "/v1/chat/completions", chat("gpt-4o-stream", true))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        streamed,
        fixture_text("raw_sse/openai_chat_stream_include_usage_text.sse"),
        "byte for byte"
    );
    send(
        port,
        "/v1/responses",
        json!({"model": "gpt-4.1-stream", "input": "Say hi.", "stream": true}),
    )
    .await
    .bytes()
    .await
    .unwrap();
    send(port, "/v1/messages", json!({"model": "claude-stream", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "Hello"}]})).await.bytes().await.unwrap();
    send(port, "/v1/messages", json!({"model": "claude-whole", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]})).await.bytes().await.unwrap();
    let gemini =
        format!("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key={GEMINI_KEY}");
    send(port, &gemini, json!({"contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}]})).await.bytes().await.unwrap();

    let records = records_for(port, 6);
    let r = by_model(&records, "gpt-4o");
    assert_eq!(
        (r.name.as_ref(), r.function.as_ref(), r.provider.as_deref()),
        ("chat.completions", "POST /chat/completions", Some("openai"))
    );
    assert_eq!(r.server_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.usage.unwrap().total_tokens, Some(51));
    assert_eq!(r.finish_reasons, ["stop"]);
    assert_eq!(r.request.as_ref().unwrap()["seed"], 7);
    assert_eq!(r.http.as_ref().unwrap().status, Some(200));
    let s = by_model(&records, "gpt-4o-stream");
    assert!(s
        .response
        .as_ref()
        .unwrap()
        .text
        .as_deref()
        .unwrap()
        .starts_with("I'm unable to provide real-time weather"));
    assert_eq!(s.usage.unwrap().total_tokens, Some(44));
    assert!(s.stream.unwrap().completed && s.time_to_first_chunk_ms.is_some());
    assert_eq!(
        by_model(&records, "gpt-4.1-stream")
            .response
            .as_ref()
            .unwrap()
            .text
            .as_deref(),
        Some("Hi there!")
    );
    let c = by_model(&records, "claude-stream");
    assert_eq!(
        (
            c.provider.as_deref(),
            c.response.as_ref().unwrap().text.as_deref()
        ),
        (Some("anthropic"), Some("Hello there!"))
    );
    assert_eq!(
        by_model(&records, "claude-whole").finish_reasons,
        ["end_turn"]
    );
    let g = by_model(&records, "gemini-2.0-flash");
    assert_eq!(
        (g.provider.as_deref(), g.operation.as_ref()),
        (Some("gcp.gemini"), "generate_content")
    );
    assert_eq!(
        g.response.as_ref().unwrap().text.as_deref(),
        Some("The capital of France is Paris.\n")
    );
    assert_eq!(g.usage.unwrap().total_tokens, Some(15));

    let saved = saved_text();
    assert!(
        !saved.contains(GEMINI_KEY) && !saved.contains(&KEY[14..50]),
        "a key reached a conversation file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_requests_pass_untouched() {
    everything_on();
    let port = serve().await;
    let models: Value = client()
        .get(format!("http://127.0.0.1:{port}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models, json!({"object": "list", "data": []}));
    let other = client()
        .post(format!("http://127.0.0.1:{port}/v1/other"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(other.text().await.unwrap(), "other");
    send(port, "/v1/chat/completions", chat("after-others", false))
        .await
        .bytes()
        .await
        .unwrap();
    let records = records_for(port, 1);
    assert_eq!(
        records.len(),
        1,
        "only the model call is recorded: {records:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_a_dropped_stream() {
    let h = everything_on();
    let port = serve().await;
    assert_eq!(
        send(port, "/v1/chat/completions", chat("rate-limited", false))
            .await
            .bytes()
            .await
            .map(|_| ())
            .ok(),
        Some(())
    );
    send(port, "/v1/chat/completions", chat("broken", false))
        .await
        .bytes()
        .await
        .unwrap();
    send(
        port,
        "/v1/messages",
        json!({"model": "bad-key", "max_tokens": 8, "messages": []}),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let mut dropped = send(port, "/v1/chat/completions", chat("dropped", true)).await;
    assert!(dropped.chunk().await.unwrap().is_some());
    drop(dropped);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(client()
        .post(format!(
            "http://127.0.0.1:{closed_port}/v1/chat/completions"
        ))
        .json(&chat("nobody-home", false))
        .send()
        .await
        .is_err());

    let records = records_for(port, 4);
    let limited = by_model(&records, "rate-limited").error.as_ref().unwrap();
    assert_eq!(
        (limited.error_type.as_str(), limited.http_status),
        ("rate_limit", Some(429))
    );
    assert_eq!(
        limited.diagnosis.as_ref().unwrap().retry_after_ms,
        Some(7000),
        "from the retry-after header"
    );
    let broken = by_model(&records, "broken");
    assert_eq!(broken.status, Status::Error);
    assert_eq!(broken.error.as_ref().unwrap().error_type, "server_error");
    assert_eq!(broken.http.as_ref().unwrap().status, Some(500));
    let bad = by_model(&records, "bad-key").error.as_ref().unwrap();
    assert_eq!(
        (bad.error_type.as_str(), bad.http_status),
        ("authentication", Some(401))
    );
    let dropped = by_model(&records, "dropped");
    assert_eq!(
        (
            dropped.status,
            dropped.error.as_ref().unwrap().error_type.as_str()
        ),
        (Status::Cancelled, "abandoned")
    );
    assert!(!dropped.stream.unwrap().completed);
    let refused = records_for(closed_port, 1);
    assert_eq!(refused[0].error.as_ref().unwrap().error_type, "network");

    let saved = saved_text();
    assert!(saved.contains("\"bad-key\""));
    assert!(
        !saved.contains(&KEY[14..50]),
        "the echoed key reached a conversation file"
    );
    assert!(
        !h.debug.text().contains(&KEY[14..50]),
        "the echoed key reached the debug block"
    );
    // The debug block names the server and what HTTP said.
    let block = common::debug_block(&h.debug, "broken");
    assert!(
        block.contains(&format!(
            "server    127.0.0.1:{port} · HTTP 500 · 1 attempt(s)"
        )),
        "{block}"
    );
}

#[llm_traced(kind = "agent")]
async fn agent(port: u16) -> Result<(), reqwest_middleware::Error> {
    send(port, "/v1/chat/completions", chat("in-agent", false))
        .await
        .bytes()
        .await?;
    Ok(())
}

#[llm_traced(name = "annotated_call", provider = "openai")]
async fn annotated(port: u16) -> Result<Value, reqwest_middleware::Error> {
    Ok(send(port, "/v1/chat/completions", chat("in-llm", false))
        .await
        .json()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_under_a_step_and_folded_into_a_model_call() {
    let h = everything_on();
    let port = serve().await;
    agent(port).await.unwrap();
    annotated(port).await.unwrap();
    let records = records_for(port, 2);
    assert_eq!(records.len(), 2, "none doubled");
    let child = by_model(&records, "in-agent");
    let parent = common::one_record(&h.dir, "agent");
    assert_eq!(
        (child.parent_span_id.as_ref(), child.trace_id.as_ref()),
        (parent.span_id.as_ref(), parent.trace_id.as_ref())
    );
    let folded = by_model(&records, "in-llm");
    assert_eq!(folded.name, "annotated_call");
    assert_eq!(folded.request.as_ref().unwrap()["temperature"], 0.2);
    assert_eq!(folded.http.as_ref().unwrap().status, Some(200));
    assert_eq!(
        folded.usage.unwrap().total_tokens,
        Some(51),
        "the function's own output decides the usage"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_and_legacy_completions() {
    everything_on();
    let port = serve().await;
    send(
        port,
        "/v1/embeddings",
        json!({"model": "text-embedding-ada-002", "input": "The food was delicious"}),
    )
    .await
    .bytes()
    .await
    .unwrap();
    send(
        port,
        "/v1/completions",
        json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7}),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let records = records_for(port, 2);
    let e = by_model(&records, "text-embedding-ada-002");
    assert_eq!(
        (e.name.as_ref(), e.operation.as_ref()),
        ("embeddings", "embeddings")
    );
    assert_eq!(
        (e.usage.unwrap().input_tokens, e.usage.unwrap().total_tokens),
        (Some(8), Some(8))
    );
    assert_eq!(e.response_model.as_deref(), Some("text-embedding-ada-002"));
    let c = by_model(&records, "gpt-3.5-turbo-instruct");
    assert_eq!(
        (c.name.as_ref(), c.operation.as_ref()),
        ("completions", "text_completion")
    );
    assert_eq!(
        c.response.as_ref().unwrap().text.as_deref(),
        Some("\n\nThis is indeed a test")
    );
    assert_eq!(c.finish_reasons, ["length"]);
    assert!(c.warnings.iter().any(|w| w == "truncated"));
    assert_eq!(
        c.messages.as_ref().unwrap(),
        "Say this is a test",
        "the prompt stands for the messages"
    );
}

#[test]
fn child_audited_middleware_calls() {
    if !common::is_child() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let port = serve().await;
        let client = ClientBuilder::new(reqwest::Client::new())
            .with(LlmTracedMiddleware::new().audit(true))
            .build();
        for model in ["gpt-4o", "rate-limited"] {
            // The call ends when its body has been read.
            client
                .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
                .header("authorization", format!("Bearer {KEY}"))
                .json(&chat(model, false))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        }
    });
    assert!(llm_traced::flush());
}

#[test]
fn audit_entries_for_middleware_calls_when_asked() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("audit.jsonl");
    // Only the audit log is configured: nothing else is switched on.
    common::run_child(
        "child_audited_middleware_calls",
        &[("LLM_AUDIT_FILE", path.to_str().unwrap())],
    );
    let entries = common::json_lines(&path);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["query", "completion", "query", "completion"],
        "{entries:#?}"
    );
    assert_eq!(entries[1]["details"]["status"], "ok", "{:#?}", entries[1]);
    assert_eq!(entries[3]["details"]["status"], "error");
    assert_eq!(entries[3]["details"]["error_type"], "rate_limit");
    for entry in &entries {
        assert_eq!(
            entry["details"]["function"], "POST /chat/completions",
            "{entry}"
        );
        assert!(entry["details"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36));
    }
    // The request's hash on each query, the answer's on the completion that
    // had one.
    for entry in [&entries[0], &entries[1], &entries[2]] {
        assert!(
            entry["content_hash"]
                .as_str()
                .is_some_and(|h| h.len() == 64),
            "{entry}"
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(KEY) && !text.contains("weather"),
        "hashes, never content or keys"
    );
    let report = llm_traced::audit::verify_file(&path, None, None).unwrap();
    assert!(report.is_ok() && report.entries == 4, "{report}");
}
