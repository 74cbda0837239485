//! `LlmTracedLayer`: a real async-openai client, its whole tower stack
//! installed with `with_http_service` and no `#[llm_traced]` on the calls,
//! against an OpenAI-compatible server started on 127.0.0.1 that replays the
//! recorded payloads and SSE streams of `core/tests/fixtures` (`common/standin.rs`).
//! Each test has its own server (kept for the whole run), so its records are
//! the ones with its port.

mod common;
#[path = "common/standin.rs"]
mod standin;

use async_openai::config::OpenAIConfig;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use async_openai::Client;
use common::{everything_on, fixture_text};
use futures::StreamExt;
use llm_traced::middleware::LlmTracedLayer;
use llm_traced::{llm_traced, Status};
use serde_json::{json, Value};
use standin::{by_model, records_for, saved_text, RetryAfter};
use tower::Service;

/// Shaped like a real project key, so that the scrubber knows it.
const KEY: &str = "sk-proj-Zm9yVGVzdGluZ09ubHlOb3RBUmVhbEtleTEyMzQ1Njc4OTBhYmNkZWY";

/// A stand-in of its own: every reply says `retry-after: 0`, so that
/// async-openai's retry layer retries at once.
fn serve() -> u16 {
    standin::serve(RetryAfter::AtOnce)
}

fn client(port: u16) -> Client<OpenAIConfig> {
    let traced = LlmTracedLayer::new();
    let service = tower::ServiceBuilder::new()
        .layer(traced)
        .layer(OpenAIRetryLayer::new(1))
        .layer(traced.attempts())
        .service(ReqwestService::new(reqwest::Client::new()));
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(format!("http://127.0.0.1:{port}/v1"))
            .with_api_key(KEY),
    )
    .with_http_service(service)
}

fn request(model: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "What's the weather?"}],
            "temperature": 0.2, "max_completion_tokens": 200, "seed": 7});
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    serde_json::from_value(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_chat_call_is_recorded_whole() {
    everything_on();
    let port = serve();
    let client = client(port);
    let answer = client
        .chat()
        .create(request("gpt-4o", false))
        .await
        .unwrap();
    assert_eq!(
        answer.model, "gpt-4o-2024-08-06",
        "the response reaches the client unchanged"
    );
    client.chat().create(request("tools", false)).await.unwrap();

    let records = records_for(port, 2);
    let r = by_model(&records, "gpt-4o");
    assert_eq!(r.name, "chat.completions");
    assert_eq!(r.function, "POST /chat/completions");
    assert_eq!(r.kind, "llm");
    assert_eq!(r.operation, "chat");
    assert_eq!(r.provider.as_deref(), Some("openai"));
    assert_eq!(r.server_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(r.response_id.as_deref(), Some(answer.id.as_str()));
    assert_eq!(r.usage.unwrap().total_tokens, Some(51));
    assert_eq!(r.finish_reasons, ["stop"]);
    let text = r.response.as_ref().unwrap().text.as_deref().unwrap();
    assert_eq!(Some(text), answer.choices[0].message.content.as_deref());
    let sent = r.request.as_ref().expect("the request body is recorded");
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(sent["max_completion_tokens"], 200);
    assert_eq!(sent["seed"], 7);
    assert_eq!(
        r.messages.as_ref().unwrap(),
        &json!([{"role": "user", "content": "What's the weather?"}])
    );
    let http = r.http.as_ref().unwrap();
    assert_eq!((http.status, http.attempts), (Some(200), 1));
    assert!(http.failed_attempts.is_empty());
    assert!(r.cost_usd.is_some());
    assert!(r.trace_id.is_some() && r.span_id.is_some() && r.parent_span_id.is_none());

    let tools = by_model(&records, "tools");
    assert_eq!(tools.tool_calls.len(), 2);
    assert_eq!(tools.finish_reasons, ["tool_calls"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_call_is_read_as_it_passes() {
    everything_on();
    let port = serve();
    let client = client(port);
    let mut stream = client
        .chat()
        .create_stream(request("gpt-4o-stream", true))
        .await
        .unwrap();
    let mut text = String::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunks += 1;
        for choice in chunk.unwrap().choices {
            text.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    let mut tools = client
        .chat()
        .create_stream(request("tools", true))
        .await
        .unwrap();
    while tools.next().await.is_some() {}

    let records = records_for(port, 2);
    let r = by_model(&records, "gpt-4o-stream");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some(text.as_str())
    );
    let stream = r.stream.unwrap();
    assert!(stream.completed);
    assert_eq!(
        stream.chunks, chunks,
        "every data event, as the client saw them"
    );
    let ttfc = r.time_to_first_chunk_ms.unwrap();
    assert!(ttfc > 0.0 && ttfc <= r.latency_ms);
    assert_eq!(r.usage.unwrap().total_tokens, Some(44));
    assert_eq!(r.finish_reasons, ["stop"]);
    assert_eq!(r.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(r.request.as_ref().unwrap()["stream"], true);

    let tools = by_model(&records, "tools");
    assert_eq!(tools.tool_calls.len(), 2);
    assert!(tools
        .tool_calls
        .iter()
        .all(|c| c.arguments.starts_with('{') && c.arguments.ends_with('}')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_is_recorded_as_abandoned() {
    everything_on();
    let port = serve();
    let client = client(port);
    let mut stream = client
        .chat()
        .create_stream(request("dropped", true))
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.model, "gpt-4o-2024-08-06");
    drop(stream);
    let records = records_for(port, 1);
    let r = by_model(&records, "dropped");
    assert_eq!(r.status, Status::Cancelled);
    assert_eq!(r.error.as_ref().unwrap().error_type, "abandoned");
    assert!(!r.stream.unwrap().completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_carry_attempts_status_and_diagnosis() {
    everything_on();
    let port = serve();
    let client = client(port);
    assert!(client
        .chat()
        .create(request("rate-limited", false))
        .await
        .is_err());
    client.chat().create(request("flaky", false)).await.unwrap();
    assert!(client
        .chat()
        .create(request("bad-key", false))
        .await
        .is_err());

    let records = records_for(port, 3);
    let limited = by_model(&records, "rate-limited");
    assert_eq!(limited.status, Status::Error);
    let error = limited.error.as_ref().unwrap();
    assert_eq!(error.error_type, "rate_limit");
    assert_eq!(error.http_status, Some(429));
    assert!(error.diagnosis.as_ref().unwrap().retryable);
    let http = limited.http.as_ref().unwrap();
    assert_eq!(http.attempts, 2, "one retry (the layer allows one)");
    assert_eq!(http.failed_attempts, ["rate_limit"]);

    let flaky = by_model(&records, "flaky");
    assert_eq!(
        flaky.status,
        Status::Ok,
        "the retry succeeded: one logical call"
    );
    let http = flaky.http.as_ref().unwrap();
    assert_eq!((http.status, http.attempts), (Some(200), 2));
    assert_eq!(http.failed_attempts, ["server_error"]);

    let bad = by_model(&records, "bad-key");
    let error = bad.error.as_ref().unwrap();
    assert_eq!(
        (error.error_type.as_str(), error.http_status),
        ("authentication", Some(401))
    );

    // The key was in a header (never read) and echoed in an error body
    // (scrubbed): no output holds it.
    let saved = saved_text();
    let h = everything_on();
    assert!(saved.contains("\"bad-key\""));
    assert!(
        !saved.contains(KEY) && !saved.contains(&KEY[8..40]),
        "the key leaked into a conversation file"
    );
    assert!(
        !h.debug.text().contains(&KEY[8..40]),
        "the key leaked into the debug block"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_network_error() {
    everything_on();
    let port = standin::closed_port();
    let client = client(port);
    assert!(client
        .chat()
        .create(request("nobody-home", false))
        .await
        .is_err());
    let records = records_for(port, 1);
    let r = by_model(&records, "nobody-home");
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error.as_ref().unwrap().error_type, "network");
    let http = r.http.as_ref().unwrap();
    assert_eq!((http.status, http.attempts), (None, 2));
    assert_eq!(http.failed_attempts, ["network"]);
}

#[llm_traced(kind = "chain")]
async fn answer_chain(client: &Client<OpenAIConfig>) -> Result<String, std::io::Error> {
    let r = client
        .chat()
        .create(request("in-chain", false))
        .await
        .map_err(std::io::Error::other)?;
    Ok(r.id)
}

#[llm_traced(name = "annotated_model_call", provider = "openai")]
async fn annotated(
    client: &Client<OpenAIConfig>,
) -> Result<CreateChatCompletionResponse, std::io::Error> {
    client
        .chat()
        .create(request("in-llm", false))
        .await
        .map_err(std::io::Error::other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_under_a_step_and_folded_into_a_model_call() {
    let h = everything_on();
    let port = serve();
    let client = client(port);
    answer_chain(&client).await.unwrap();
    annotated(&client).await.unwrap();

    let records = records_for(port, 2);
    assert_eq!(records.len(), 2, "one record per call: none doubled");
    let child = by_model(&records, "in-chain");
    let chain = common::one_record(&h.dir, "answer_chain");
    assert_eq!(
        child.parent_span_id, chain.span_id,
        "the middleware call is the step's child"
    );
    assert_eq!(child.trace_id, chain.trace_id);

    let folded = by_model(&records, "in-llm");
    assert_eq!(
        folded.name, "annotated_model_call",
        "the annotated call's own record"
    );
    assert_eq!(
        folded.request.as_ref().unwrap()["seed"],
        7,
        "with the request the middleware saw"
    );
    let http = folded.http.as_ref().unwrap();
    assert_eq!((http.status, http.attempts), (Some(200), 1));
    assert_eq!(folded.usage.unwrap().total_tokens, Some(51));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_requests_pass_untouched() {
    everything_on();
    let port = serve();
    let mut service = tower::ServiceBuilder::new()
        .layer(LlmTracedLayer::new())
        .service(ReqwestService::new(reqwest::Client::new()));
    let url = format!("http://127.0.0.1:{port}/v1/models");
    let factory = HttpRequestFactory::new(move || {
        let url = url.clone();
        async move { Ok(reqwest::Client::new().get(url).build().unwrap()) }
    });
    let response = service.call(factory).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/v1/models");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"object": "list", "data": []}));
    // A recorded call from the same server shows the records are readable.
    client(port)
        .chat()
        .create(request("after-models", false))
        .await
        .unwrap();
    let records = records_for(port, 1);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].request_model.as_deref(), Some("after-models"));
}

async fn send(port: u16, path: &str, body: Value) -> (u16, bytes::Bytes) {
    let mut service = tower::ServiceBuilder::new()
        .layer(LlmTracedLayer::new())
        .service(ReqwestService::new(reqwest::Client::new()));
    let url = format!("http://127.0.0.1:{port}{path}");
    let factory = HttpRequestFactory::new(move || {
        let (url, body) = (url.clone(), body.to_string());
        async move {
            Ok(reqwest::Client::new()
                .post(url)
                .header("x-api-key", KEY)
                .header("content-type", "application/json")
                .body(body)
                .build()
                .unwrap())
        }
    });
    let response = service.call(factory).await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap())
}

/// A body with no bytes in memory (a stream, as multipart uploads are sent)
/// is not read: the call is recorded with its request absent, and the
/// server still gets the body whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_is_recorded_as_absent() {
    everything_on();
    let port = serve();
    let mut service = tower::ServiceBuilder::new()
        .layer(LlmTracedLayer::new())
        .service(ReqwestService::new(reqwest::Client::new()));
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let body = serde_json::to_vec(&request("streamed-body", false)).unwrap();
    let factory = HttpRequestFactory::new(move || {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let (head, tail) = body.split_at(body.len() / 2);
            let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
                vec![Ok(head.to_vec()), Ok(tail.to_vec())];
            Ok(reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
                .build()
                .unwrap())
        }
    });
    let response = service.call(factory).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        answer["object"], "chat.completion",
        "the server read the body: {answer}"
    );
    let records = records_for(port, 1);
    let [r] = &records[..] else {
        panic!("one record: {records:?}")
    };
    assert_eq!(r.request, None, "{r:?}");
    assert_eq!(r.messages, None, "{r:?}");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.http.as_ref().and_then(|h| h.status), Some(200));
    assert!(
        r.response.as_ref().is_some_and(|c| c.text.is_some()),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_anthropic_and_gemini_by_path() {
    everything_on();
    let port = serve();

    let gemini_key = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI";
    let calls = [
        (
            "/v1/responses",
            json!({"model": "gpt-4.1", "input": "Tell me a story.", "temperature": 1.0}),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-4.1-stream", "input": "Say hi.", "stream": true}),
        ),
        (
            "/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}),
        ),
        (
            "/v1/messages",
            json!({"model": "claude-stream", "max_tokens": 1024, "stream": true, "messages": [{"role": "user", "content": "Hello"}]}),
        ),
    ];
    for (path, body) in calls {
        let (status, bytes) = send(port, path, body).await;
        assert_eq!(status, 200);
        assert!(!bytes.is_empty(), "the body reaches the client");
    }
    let gemini_path =
        format!("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key={gemini_key}");
    let (_, bytes) = send(port, &gemini_path, json!({"contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}]})).await;
    assert_eq!(
        bytes,
        fixture_text("raw_sse/gemini_stream_text.sse").as_bytes(),
        "byte for byte"
    );

    let records = records_for(port, 5);
    let whole = by_model(&records, "gpt-4.1");
    assert_eq!(
        (whole.name.as_ref(), whole.provider.as_deref()),
        ("responses", Some("openai"))
    );
    assert!(whole
        .response
        .as_ref()
        .unwrap()
        .text
        .as_deref()
        .unwrap()
        .starts_with("In a peaceful grove"));
    assert_eq!(whole.usage.unwrap().total_tokens, Some(123));
    assert_eq!(whole.response_model.as_deref(), Some("gpt-4.1-2025-04-14"));
    assert_eq!(whole.request.as_ref().unwrap()["input"], "Tell me a story.");

    let streamed = by_model(&records, "gpt-4.1-stream");
    assert_eq!(
        streamed.response.as_ref().unwrap().text.as_deref(),
        Some("Hi there!")
    );
    assert_eq!(streamed.usage.unwrap().total_tokens, Some(48));
    assert_eq!(streamed.finish_reasons, ["completed"]);
    assert_eq!(
        streamed.response_id.as_deref(),
        Some("resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654")
    );
    assert!(streamed.stream.unwrap().completed && streamed.time_to_first_chunk_ms.is_some());

    let claude = by_model(&records, "claude-sonnet-4-5");
    assert_eq!(
        (claude.name.as_ref(), claude.provider.as_deref()),
        ("messages", Some("anthropic"))
    );
    assert_eq!(claude.finish_reasons, ["end_turn"]);
    assert!(claude.usage.unwrap().input_tokens.is_some());
    let claude = by_model(&records, "claude-stream");
    assert_eq!(
        claude.response.as_ref().unwrap().text.as_deref(),
        Some("Hello there!")
    );
    assert_eq!(claude.finish_reasons, ["end_turn"]);
    assert!(claude.stream.unwrap().completed);

    let gemini = by_model(&records, "gemini-2.0-flash");
    assert_eq!(
        (gemini.name.as_ref(), gemini.provider.as_deref()),
        ("generateContent", Some("gcp.gemini"))
    );
    assert_eq!(gemini.operation, "generate_content");
    assert_eq!(
        gemini.response.as_ref().unwrap().text.as_deref(),
        Some("The capital of France is Paris.\n")
    );
    assert_eq!(gemini.usage.unwrap().total_tokens, Some(15));
    assert_eq!(gemini.usage.unwrap().output_tokens, Some(7));
    assert_eq!(gemini.finish_reasons, ["STOP"]);
    assert_eq!(
        gemini.response_id.as_deref(),
        Some("mZJ2aMDVIoG1nvgPhO7XiAc")
    );
    assert_eq!(gemini.stream.unwrap().chunks, 3);

    let saved = saved_text();
    assert!(
        !saved.contains(gemini_key) && !saved.contains(&KEY[8..40]),
        "a key reached a conversation file"
    );
}

#[test]
fn child_audited_layer_call() {
    standin::in_audited_child(async {
        let port = serve();
        let traced = LlmTracedLayer::new().audit(true);
        let service = tower::ServiceBuilder::new()
            .layer(traced)
            .layer(OpenAIRetryLayer::new(1))
            .layer(traced.attempts())
            .service(ReqwestService::new(reqwest::Client::new()));
        let client = Client::with_config(
            OpenAIConfig::new()
                .with_api_base(format!("http://127.0.0.1:{port}/v1"))
                .with_api_key(KEY),
        )
        .with_http_service(service);
        client
            .chat()
            .create(request("gpt-4o", false))
            .await
            .unwrap();
    });
}

#[test]
fn the_layer_writes_audit_entries_when_asked() {
    let log = standin::audit_log_of("child_audited_layer_call");
    let entries = &log.entries;
    assert_eq!(log.actions(), ["query", "completion"], "{entries:#?}");
    assert_eq!(entries[1]["details"]["status"], "ok", "{:#?}", entries[1]);
    assert_eq!(
        entries[0]["details"]["request_id"],
        entries[1]["details"]["request_id"]
    );
    assert!(
        !log.text.contains(KEY) && !log.text.contains("weather"),
        "hashes, never content or keys"
    );
    let report = llm_traced::audit::verify_file(&log.path, None, None).unwrap();
    assert!(report.is_ok() && report.entries == 2, "{report}");
}
