//! `LlmTracedMiddleware`: a real `reqwest_middleware::ClientWithMiddleware`
//! against a server started on 127.0.0.1 that replays the recorded payloads
//! and SSE streams of `core/tests/fixtures` (OpenAI chat and Responses, Anthropic,
//! Gemini, error bodies with their statuses: `common/standin.rs`). Each test
//! has its own server, so its records are the ones with its port.

#[path = "common/collect.rs"]
mod collect;
mod common;
#[path = "common/standin.rs"]
mod standin;

use collect::Collect;
use common::{everything_on, fixture_text};
use llm_traced::middleware::LlmTracedMiddleware;
use llm_traced::{llm_traced, Status};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{json, Value};
use standin::{by_model, records_for, saved_text, RetryAfter};

/// Shaped like a real key, so that the scrubber knows it.
const KEY: &str = "sk-ant-api03-Zm9yVGVzdGluZ09ubHlOb3RBUmVhbEtleTEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk";
const GEMINI_KEY: &str = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI";

/// A stand-in of its own: a 429 says `retry-after: 7`.
fn serve() -> u16 {
    standin::serve(RetryAfter::OnRateLimit)
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

/// Around reqwest-retry's retry middleware, with the attempts half inside
/// it: one record per logical call, each attempt counted and each failed
/// one's class kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_inside_a_retry_middleware_are_recorded() {
    use reqwest_retry::policies::ExponentialBackoff;
    use reqwest_retry::RetryTransientMiddleware;

    // In a process of its own: its "broken" calls' debug blocks must not
    // mix with those another test here looks for.
    if !common::is_child() {
        common::run_child("attempts_inside_a_retry_middleware_are_recorded", &[]);
        return;
    }
    everything_on();
    let port = serve();
    let traced = LlmTracedMiddleware::new();
    let policy = ExponentialBackoff::builder()
        .retry_bounds(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        )
        .build_with_max_retries(2);
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(traced)
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .with(traced.attempts())
        .build();
    for model in ["flaky", "broken"] {
        let _ = client
            .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
            .json(&chat(model, false))
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
    }
    let records = records_for(port, 2);
    assert_eq!(records.len(), 2, "one record per logical call: {records:?}");
    let http = |model: &str| by_model(&records, model).http.clone().unwrap();
    let flaky = http("flaky");
    assert_eq!(flaky.status, Some(200));
    assert_eq!(flaky.attempts, 2);
    assert_eq!(flaky.failed_attempts, ["server_error"]);
    let broken = http("broken");
    assert_eq!(broken.status, Some(500));
    assert_eq!(broken.attempts, 3, "the first try and two retries");
    assert_eq!(broken.failed_attempts, ["server_error", "server_error"]);
    assert_eq!(by_model(&records, "broken").status, Status::Error);
}

/// A chat call to `port`, where nothing listens: the call fails.
async fn chat_refused(port: u16, model: &str) {
    assert!(client()
        .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
        .json(&chat(model, false))
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_whole_and_streamed() {
    everything_on();
    let port = serve();
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
    let port = serve();
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
    let port = serve();
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

    let closed_port = standin::closed_port();
    chat_refused(closed_port, "nobody-home").await;

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

/// The end-of-call `tracing` event of a call the middleware recorded names
/// the server it went to and what HTTP said: 127.0.0.1, the stand-in's port
/// and 200 for an answer, the status of a refusal, no status where no answer
/// came.
#[test]
fn the_end_of_call_event_names_the_server_and_the_http_status() {
    // In a process of its own: a test on another thread, with no subscriber,
    // reaching the event's call site first could leave `tracing` caching
    // "never" for it while this test's collector is being set up.
    if !common::is_child() {
        common::run_child(
            "the_end_of_call_event_names_the_server_and_the_http_status",
            &[],
        );
        return;
    }
    everything_on();
    let port = serve();
    let closed_port = standin::closed_port();
    let collect = Collect::default();
    // The calls run on this thread, where the collector is the subscriber.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(collect.subscriber(), || {
        runtime.block_on(async {
            for model in ["event-ok", "rate-limited", "broken"] {
                // The call ends when its body has been read.
                send(port, "/v1/chat/completions", chat(model, false))
                    .await
                    .bytes()
                    .await
                    .unwrap();
            }
            chat_refused(closed_port, "event-refused").await;
        })
    });

    let events = collect.events.lock().unwrap().clone();
    let event = |model: &str| {
        let found: Vec<_> = events
            .iter()
            .filter(|(_, _, e)| {
                e.fields.get("message").map(String::as_str) == Some("llm_request")
                    && e.fields.get("gen_ai.request.model").map(String::as_str) == Some(model)
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one end-of-call event for {model}: {events:#?}"
        );
        let (level, parent, seen) = found[0];
        assert!(parent.is_some(), "the event sits inside the call's span");
        (level.as_str(), &seen.fields)
    };
    let port = port.to_string();
    for (model, level, status) in [
        ("event-ok", "INFO", "200"),
        ("rate-limited", "ERROR", "429"),
        ("broken", "ERROR", "500"),
    ] {
        let (seen_level, f) = event(model);
        assert_eq!(seen_level, level, "{model}: {f:#?}");
        assert_eq!(f["server.address"], "127.0.0.1", "{model}: {f:#?}");
        assert_eq!(f["server.port"], port, "{model}: {f:#?}");
        assert_eq!(f["http.response.status_code"], status, "{model}: {f:#?}");
    }
    let (level, f) = event("event-refused");
    assert_eq!(level, "ERROR");
    assert_eq!(f["server.address"], "127.0.0.1", "{f:#?}");
    assert_eq!(f["server.port"], closed_port.to_string(), "{f:#?}");
    assert_eq!(f["error.type"], "network", "{f:#?}");
    assert!(
        !f.contains_key("http.response.status_code"),
        "no answer, no status: {f:#?}"
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
    let port = serve();
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
    let port = serve();
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
    standin::in_audited_child(async {
        let port = serve();
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
}

#[test]
fn audit_entries_for_middleware_calls_when_asked() {
    let log = standin::audit_log_of("child_audited_middleware_calls");
    let entries = &log.entries;
    assert_eq!(
        log.actions(),
        ["query", "completion", "query", "completion"],
        "{entries:#?}"
    );
    assert_eq!(entries[1]["details"]["status"], "ok", "{:#?}", entries[1]);
    assert_eq!(entries[3]["details"]["status"], "error");
    assert_eq!(entries[3]["details"]["error_type"], "rate_limit");
    for entry in entries {
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
    assert!(
        !log.text.contains(KEY) && !log.text.contains("weather"),
        "hashes, never content or keys"
    );
    let report = llm_traced::audit::verify_file(&log.path, None, None).unwrap();
    assert!(report.is_ok() && report.entries == 4, "{report}");
}
