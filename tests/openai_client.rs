//! async-openai through `#[llm_traced]`, against an OpenAI-compatible server
//! started on 127.0.0.1 in the test, speaking the real wire format: JSON
//! bodies, SSE streams, and errors with their real status codes and bodies
//! from `core/tests/fixtures`.

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use async_openai::Client;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use common::{everything_on, records_named};
use futures::StreamExt;
use llm_traced::{llm_traced, Status};
use serde_json::{json, Value};

fn fixture_text(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../core/tests/fixtures")
            .join(path),
    )
    .unwrap()
}

/// The stand-in for the model: the model name picks the recorded answer.
async fn completions(Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or("");
    let stream = body["stream"].as_bool().unwrap_or(false);
    let (status, content_type, text) = match (model, stream) {
        ("rate-limited", _) => (
            429,
            "application/json",
            fixture_text("openai_error_429_rate_limit_exceeded_tpm.json"),
        ),
        ("bad-key", _) => (
            401,
            "application/json",
            fixture_text("openai_error_401_invalid_api_key.json"),
        ),
        ("too-long", _) => (
            400,
            "application/json",
            fixture_text("openai_error_400_context_length_exceeded.json"),
        ),
        ("tools", true) => (
            200,
            "text/event-stream",
            fixture_text("raw_sse/openai_chat_stream_include_usage_parallel_tool_calls.sse"),
        ),
        ("tools", false) => (
            200,
            "application/json",
            fixture_text("openai_chat_completion_parallel_tool_calls.json"),
        ),
        (_, true) => (
            200,
            "text/event-stream",
            fixture_text("raw_sse/openai_chat_stream_include_usage_text.sse"),
        ),
        (_, false) => (
            200,
            "application/json",
            fixture_text("openai_chat_completion_text_stop.json"),
        ),
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(text))
        .unwrap()
}

async fn server() -> Client<OpenAIConfig> {
    let app = Router::new().route("/v1/chat/completions", post(completions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(format!("http://{addr}/v1"))
            .with_api_key("sk-test-not-recorded"),
    )
}

fn request(model: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "What's the weather?"}],
            "temperature": 0.2, "max_completion_tokens": 200, "seed": 7, "stop": ["\n\n"]});
    if stream {
        body["stream"] = json!(true);
    }
    serde_json::from_value(body).unwrap()
}

#[llm_traced(name = "oa_chat", provider = "openai", model = request.model)]
async fn chat(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request).await
}

#[llm_traced(name = "oa_stream", provider = "openai", model = request.model, stream)]
async fn chat_stream(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_responses_and_errors() {
    let h = everything_on();
    let client = server().await;
    let ok = chat(&client, request("gpt-4o", false)).await.unwrap();
    assert_eq!(ok.model, "gpt-4o-2024-08-06");
    chat(&client, request("tools", false)).await.unwrap();
    for model in ["rate-limited", "bad-key", "too-long"] {
        assert!(
            chat(&client, request(model, false)).await.is_err(),
            "{model}"
        );
    }
    let records = records_named(&h.dir, "oa_chat");
    let by_model = |m: &str| {
        records
            .iter()
            .find(|r| r.request_model.as_deref() == Some(m))
            .unwrap()
    };
    let r = by_model("gpt-4o");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.usage.unwrap().total_tokens, Some(51));
    assert!(r
        .response
        .as_ref()
        .unwrap()
        .text
        .as_deref()
        .unwrap()
        .starts_with("I'm unable"));
    assert!(r.cost_usd.is_some());
    // The argument named `request` is async-openai's request type: recorded
    // whole, with its parameters, and the messages taken from it.
    let sent = r.request.as_ref().expect("the request is recorded");
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(sent["max_completion_tokens"], 200);
    assert_eq!(sent["seed"], 7);
    assert_eq!(sent["stop"], json!(["\n\n"]));
    assert_eq!(
        r.messages.as_ref().unwrap(),
        &json!([{"role": "user", "content": "What's the weather?"}])
    );
    assert_eq!(by_model("tools").tool_calls.len(), 2);
    for (model, class, status) in [
        ("rate-limited", "rate_limit", 429),
        ("bad-key", "authentication", 401),
        ("too-long", "context_length", 400),
    ] {
        let error = by_model(model).error.as_ref().unwrap();
        assert_eq!(error.error_type, class, "{model}");
        assert_eq!(
            error.http_status,
            Some(status),
            "{model}: the status from async-openai's error"
        );
    }
    assert!(llm_traced::flush());
    let saved = std::fs::read_dir(&h.dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(!saved.contains("sk-test-not-recorded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_with_the_real_client() {
    let h = everything_on();
    let client = server().await;
    let mut text = String::new();
    let mut stream = chat_stream(&client, request("gpt-4o-stream", true))
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        for choice in chunk.unwrap().choices {
            text.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    assert!(text.starts_with("I'm unable to provide real-time weather"));
    let mut tools = chat_stream(&client, request("tools", true)).await.unwrap();
    while tools.next().await.is_some() {}
    assert!(chat_stream(&client, request("rate-limited", true))
        .await
        .is_err());

    let records = records_named(&h.dir, "oa_stream");
    let by_model = |m: &str| {
        records
            .iter()
            .find(|r| r.request_model.as_deref() == Some(m))
            .unwrap()
    };
    let r = by_model("gpt-4o-stream");
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some(text.as_str())
    );
    assert_eq!(r.usage.unwrap().total_tokens, Some(44));
    assert!(r.time_to_first_chunk_ms.is_some() && r.stream.unwrap().completed);
    assert_eq!(r.finish_reasons, ["stop"]);
    let t = by_model("tools");
    assert_eq!(t.tool_calls.len(), 2);
    assert_eq!(t.finish_reasons, ["tool_calls"]);
    let e = by_model("rate-limited");
    assert_eq!(e.status, Status::Error);
    assert_eq!(e.error.as_ref().unwrap().error_type, "rate_limit");
}
