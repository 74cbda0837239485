//! OpenTelemetry export checked at the other end of the wire: a real OTLP/HTTP
//! receiver on 127.0.0.1 decodes what the exporter sends, and the tests read
//! the spans and metrics a backend would see.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::cell::RefCell;

use futures::executor::block_on;
use llm_traced::context::Context;
use llm_traced::llm_traced;
use llm_traced::otel::{Otel, Protocol};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otlp::{
    attr, bool_attr, double_attr, hex, int_attr, str_array_attr, str_attr, ReceivedSpan, Receiver,
};
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;

thread_local! {
    /// The (trace id, span id) each call saw as its own, in call order.
    static SEEN: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Notes the ids of the call running now, as our own records see them.
fn remember_ids() {
    let cx = Context::current();
    let ids = (
        cx.trace_id().expect("a call has a trace").to_string(),
        cx.span_id().expect("a call has a span").to_string(),
    );
    SEEN.with(|seen| seen.borrow_mut().push(ids));
}

fn seen() -> Vec<(String, String)> {
    SEEN.with(|seen| seen.borrow_mut().drain(..).collect())
}

/// Runs `f` with a subscriber that exports to a fresh receiver, flushes, and
/// returns what arrived.
fn with_otel<R>(f: impl FnOnce() -> R) -> (R, Vec<ReceivedSpan>) {
    let receiver = Receiver::start();
    let otel = Otel::builder()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(&receiver.endpoint)
        .metrics(false)
        .build()
        .expect("the pipeline builds");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    let out = tracing::subscriber::with_default(subscriber, f);
    otel.shutdown().expect("the receiver took every span");
    (out, receiver.spans())
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.span.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = spans.iter().map(|s| &s.span.name).collect();
            panic!("no span named {name:?} among {names:?}")
        })
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn cached_chat(messages: &[Value]) -> Value {
    let _ = messages;
    remember_ids();
    common::fixture("openai_chat_completion_cached_tokens.json")
}

#[test]
fn a_chat_call_is_a_client_span_with_the_genai_attributes() {
    let prompt = [json!({"role": "user", "content": "How should I structure a schema?"})];
    let (_, spans) = with_otel(|| block_on(cached_chat(&prompt)));
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let s = &spans[0];
    let a = &s.span.attributes;
    assert_eq!(s.span.name, "chat gpt-4o");
    assert_eq!(s.span.kind, SpanKind::Client as i32);
    assert_eq!(s.scope, "llm-traced");
    assert_eq!(str_attr(a, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(a, "gen_ai.provider.name"), "openai");
    assert_eq!(str_attr(a, "gen_ai.request.model"), "gpt-4o");
    assert_eq!(str_attr(a, "gen_ai.response.model"), "gpt-4o-2024-08-06");
    assert_eq!(
        str_attr(a, "gen_ai.response.id"),
        "chatcmpl-Blow9uSMZxSQ3hActddbFVhCQm28X"
    );
    assert_eq!(
        str_array_attr(a, "gen_ai.response.finish_reasons"),
        ["length"]
    );
    assert_eq!(int_attr(a, "gen_ai.usage.input_tokens"), 2620);
    assert_eq!(int_attr(a, "gen_ai.usage.output_tokens"), 100);
    assert_eq!(int_attr(a, "gen_ai.usage.cache_read.input_tokens"), 2560);
    assert_eq!(int_attr(a, "gen_ai.usage.reasoning.output_tokens"), 0);
    // The deprecated name is not sent, nor any content (off by default).
    for absent in [
        "gen_ai.system",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "error.type",
    ] {
        assert!(attr(a, absent).is_none(), "{absent} should be absent");
    }
    assert!(s
        .span
        .status
        .as_ref()
        .is_none_or(|st| st.code == StatusCode::Unset as i32));
    assert!(s.span.parent_span_id.is_empty(), "a root span");
    assert!(
        s.span.events.is_empty(),
        "the end-of-call event is not copied into the span: {:?}",
        s.span.events
    );
    // Our own ids are OpenTelemetry's: logs and traces join.
    let [(trace_id, span_id)] = seen().try_into().unwrap();
    assert_eq!(hex(&s.span.trace_id), trace_id);
    assert_eq!(hex(&s.span.span_id), span_id);
}

/// An application that set up OpenTelemetry itself, with
/// `tracing-opentelemetry`'s default layer and no help from us, gets the
/// same GenAI span.
#[test]
fn an_own_opentelemetry_setup_gets_genai_spans_too() {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig;

    let receiver = Receiver::start();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", receiver.endpoint))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("my-app"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let prompt = [json!({"role": "user", "content": "Hello"})];
    tracing::subscriber::with_default(subscriber, || block_on(cached_chat(&prompt)));
    provider.shutdown().unwrap();
    let spans = receiver.wait_for_spans(1);
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    assert_eq!(s.span.name, "chat gpt-4o");
    assert_eq!(s.span.kind, SpanKind::Client as i32);
    assert_eq!(s.scope, "my-app");
    let a = &s.span.attributes;
    assert_eq!(int_attr(a, "gen_ai.usage.input_tokens"), 2620);
    assert_eq!(
        str_array_attr(a, "gen_ai.response.finish_reasons"),
        ["length"]
    );
    let [(trace_id, _)] = seen().try_into().unwrap();
    assert_eq!(hex(&s.span.trace_id), trace_id);
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn draft() -> Value {
    remember_ids();
    common::fixture("openai_chat_completion_text_stop.json")
}

#[llm_traced(provider = "anthropic", model = "claude-haiku-4-5")]
async fn review() -> Value {
    remember_ids();
    common::fixture("anthropic_message_end_turn.json")
}

#[llm_traced(name = "search_docs", kind = "tool")]
async fn search_docs() -> Result<Vec<String>, String> {
    Ok(vec!["doc-1".to_owned()])
}

#[llm_traced(name = "write_answer", kind = "chain")]
async fn write_answer() -> Result<(), String> {
    remember_ids();
    draft().await;
    search_docs().await?;
    review().await;
    Ok(())
}

#[test]
fn a_chain_of_two_calls_is_one_trace_under_an_internal_span() {
    let session = Context::new_trace()
        .with_session("session-42")
        .with_user("user-7");
    let trace = session.trace_id().unwrap().to_string();
    let (result, spans) = with_otel(|| block_on(session.scope(write_answer())));
    result.unwrap();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let chain = named(&spans, "chain write_answer");
    let tool = named(&spans, "execute_tool search_docs");
    assert_eq!(tool.span.kind, SpanKind::Internal as i32);
    assert_eq!(
        str_attr(&tool.span.attributes, "gen_ai.tool.name"),
        "search_docs"
    );
    assert_eq!(
        str_attr(&tool.span.attributes, "gen_ai.operation.name"),
        "execute_tool"
    );
    assert_eq!(tool.span.parent_span_id, chain.span.span_id);
    let first = named(&spans, "chat gpt-4o");
    let second = named(&spans, "chat claude-haiku-4-5");
    assert_eq!(chain.span.kind, SpanKind::Internal as i32);
    assert_eq!(first.span.kind, SpanKind::Client as i32);
    assert_eq!(
        str_attr(&second.span.attributes, "gen_ai.provider.name"),
        "anthropic"
    );
    assert_eq!(
        str_array_attr(&second.span.attributes, "gen_ai.response.finish_reasons"),
        ["end_turn"]
    );
    for s in [chain, first, second] {
        assert_eq!(
            hex(&s.span.trace_id),
            trace,
            "{}: the context's trace",
            s.span.name
        );
        assert_eq!(
            str_attr(&s.span.attributes, "gen_ai.conversation.id"),
            "session-42"
        );
    }
    assert!(chain.span.parent_span_id.is_empty());
    assert_eq!(first.span.parent_span_id, chain.span.span_id);
    assert_eq!(second.span.parent_span_id, chain.span.span_id);
    // The ids each call saw are the exported ones.
    let ids = seen();
    assert_eq!(ids.len(), 3);
    for (s, (trace_id, span_id)) in [chain, first, second].into_iter().zip(ids) {
        assert_eq!(hex(&s.span.trace_id), trace_id);
        assert_eq!(hex(&s.span.span_id), span_id);
    }
}

#[llm_traced(provider = "openai", model = "gpt-4o-mini")]
fn summarise_in_thread() -> Value {
    common::fixture("openai_chat_completion_text_stop.json")
}

/// A step hands its context to a plain thread, where neither the `tracing`
/// span nor OpenTelemetry's context follows: the call still nests under it.
#[llm_traced(name = "fan_out", kind = "chain")]
async fn fan_out() -> Result<(), String> {
    remember_ids();
    let context = Context::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || context.in_scope(summarise_in_thread))
    })
    .join()
    .map_err(|_| "the thread panicked".to_owned())?;
    Ok(())
}

#[test]
fn a_call_on_another_thread_keeps_its_parent() {
    let (result, spans) = with_otel(|| block_on(fan_out()));
    result.unwrap();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let step = named(&spans, "chain fan_out");
    let call = named(&spans, "chat gpt-4o-mini");
    assert_eq!(call.span.trace_id, step.span.trace_id);
    assert_eq!(call.span.parent_span_id, step.span.span_id);
    let [(trace_id, span_id)] = seen().try_into().unwrap();
    assert_eq!(hex(&step.span.trace_id), trace_id);
    assert_eq!(hex(&step.span.span_id), span_id);
}

#[llm_traced(provider = "openai", model = "gpt-4o", stream)]
fn stream_reply() -> impl futures::Stream<Item = Value> {
    remember_ids();
    futures::stream::iter(common::sse_events(
        "openai_chat_stream_include_usage_text.sse",
    ))
}

#[test]
fn a_streamed_call_ends_its_span_when_the_stream_ends() {
    use futures::StreamExt;

    let (chunks, spans) = with_otel(|| block_on(stream_reply().collect::<Vec<_>>()));
    assert_eq!(chunks.len(), 33);
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let a = &s.span.attributes;
    assert_eq!(s.span.name, "chat gpt-4o");
    assert_eq!(str_attr(a, "gen_ai.response.model"), "gpt-4o-2024-08-06");
    assert_eq!(
        str_array_attr(a, "gen_ai.response.finish_reasons"),
        ["stop"]
    );
    assert_eq!(int_attr(a, "gen_ai.usage.input_tokens"), 14);
    assert_eq!(int_attr(a, "gen_ai.usage.output_tokens"), 30);
    let [(trace_id, span_id)] = seen().try_into().unwrap();
    assert_eq!(hex(&s.span.trace_id), trace_id);
    assert_eq!(hex(&s.span.span_id), span_id);
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn throttled() -> Result<Value, String> {
    Err("Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000. Please try again in 2s.".into())
}

#[test]
fn a_failed_call_is_an_error_span_with_its_type() {
    let (result, spans) = with_otel(|| block_on(throttled()));
    assert!(result.is_err(), "the error reaches the caller untouched");
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let status = s.span.status.as_ref().expect("a status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert!(status.message.contains("Rate limit reached"), "{status:?}");
    assert_eq!(str_attr(&s.span.attributes, "error.type"), "rate_limit");
    assert!(attr(&s.span.attributes, "gen_ai.usage.input_tokens").is_none());
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn never_answers() -> Value {
    futures::future::pending::<()>().await;
    Value::Null
}

#[test]
fn a_cancelled_call_is_an_error_span() {
    use futures::FutureExt;

    // Polled once, then dropped: a timeout or a client that went away.
    let (out, spans) = with_otel(|| never_answers().now_or_never());
    assert!(out.is_none());
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let status = s.span.status.as_ref().expect("a status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(str_attr(&s.span.attributes, "error.type"), "cancelled");
}

/// A handler's call, inside a request span of the application's own.
#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn answer_request() -> Value {
    common::fixture("openai_chat_completion_text_stop.json")
}

#[test]
fn an_incoming_traceparent_is_the_parent_of_the_spans() {
    use axum::routing::get;
    use llm_traced::http::TraceContextLayer;
    use tracing::Instrument;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    let (headers, spans) = with_otel(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let app = axum::Router::new()
                .route(
                    "/with-span",
                    get(|| async {
                        let request = tracing::info_span!("GET /with-span");
                        answer_request().instrument(request).await;
                        "ok"
                    }),
                )
                .route(
                    "/bare",
                    get(|| async {
                        answer_request().await;
                        "ok"
                    }),
                )
                .layer(TraceContextLayer::new());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            let client = reqwest::Client::new();
            let mut headers = Vec::new();
            // The last caller decided not to sample: nothing of it is exported.
            for (path, flags) in [("/with-span", "01"), ("/bare", "01"), ("/bare", "00")] {
                let response = client
                    .get(format!("{url}{path}"))
                    .header("traceparent", format!("00-{TRACE}-{PARENT}-{flags}"))
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                headers.push(
                    response.headers()["x-trace-id"]
                        .to_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            headers
        })
    });
    assert_eq!(headers, [TRACE, TRACE, TRACE]);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let request = named(&spans, "GET /with-span");
    assert_eq!(hex(&request.span.trace_id), TRACE);
    assert_eq!(hex(&request.span.parent_span_id), PARENT);
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.span.name == "chat gpt-4o")
        .collect();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(hex(&call.span.trace_id), TRACE);
    }
    // Under the application's request span, or straight under the remote
    // parent when there is none.
    let parents: Vec<_> = calls.iter().map(|c| hex(&c.span.parent_span_id)).collect();
    assert!(parents.contains(&hex(&request.span.span_id)), "{parents:?}");
    assert!(parents.contains(&PARENT.to_owned()), "{parents:?}");
    for call in &calls {
        // The span says its parent: no attribute repeats it.
        assert!(attr(&call.span.attributes, "parent_span_id").is_none());
        otlp::assert_conventional_names(&call.span.attributes);
    }
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn use_tools(messages: &[Value]) -> Value {
    let _ = messages;
    common::fixture("openai_chat_completion_parallel_tool_calls.json")
}

/// With the content switches on, the messages go out in the conventions'
/// structure, redacted; the saved conversation and the JSON log carry the
/// exported ids.
#[test]
fn content_is_exported_only_when_switched_on() {
    if !common::is_child() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.jsonl");
        common::run_child(
            "content_is_exported_only_when_switched_on",
            &[
                ("LLM_LOG_PROMPTS", "true"),
                ("LLM_LOG_RESPONSES", "true"),
                ("LLM_SAVE_CONVERSATIONS", "true"),
                ("LLM_CONVERSATIONS_DIR", dir.path().to_str().unwrap()),
                ("LLM_LOG_FILE", log.to_str().unwrap()),
                ("TEST_OUTPUT_DIR", dir.path().to_str().unwrap()),
            ],
        );
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("TEST_OUTPUT_DIR").unwrap());
    let messages = [
        json!({"role": "system", "content": "You are a travel assistant."}),
        json!({"role": "user", "content": "Weather in Edinburgh and AAPL? Mail jane.doe@example.com"}),
    ];
    let (_, spans) = with_otel(|| block_on(use_tools(&messages)));
    assert!(llm_traced::log::flush());
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let input: Value =
        serde_json::from_str(&str_attr(&s.span.attributes, "gen_ai.input.messages")).unwrap();
    assert_eq!(
        input[0],
        json!({"role": "system", "parts": [{"type": "text", "content": "You are a travel assistant."}]})
    );
    let user_text = input[1]["parts"][0]["content"].as_str().unwrap();
    assert_eq!(input[1]["role"], "user");
    assert!(user_text.starts_with("Weather in Edinburgh and AAPL?"));
    assert!(
        !user_text.contains("jane.doe@example.com"),
        "redacted: {user_text}"
    );
    let output: Value =
        serde_json::from_str(&str_attr(&s.span.attributes, "gen_ai.output.messages")).unwrap();
    assert_eq!(
        output,
        json!([{
            "role": "assistant",
            "finish_reason": "tool_calls",
            "parts": [
                {"type": "tool_call", "id": "call_fdNz3vOBKYgOIpMdWotB9MjY", "name": "GetWeatherArgs",
                 "arguments": {"city": "Edinburgh", "country": "GB", "units": "c"}},
                {"type": "tool_call", "id": "call_h1DWI1POMJLb0KwIyQHWXD4p", "name": "get_stock_price",
                 "arguments": {"ticker": "AAPL", "exchange": "NASDAQ"}}
            ]
        }])
    );
    let trace_id = hex(&s.span.trace_id);
    let span_id = hex(&s.span.span_id);
    let record = common::one_record(&dir, "use_tools");
    assert_eq!(record.trace_id.as_deref(), Some(trace_id.as_str()));
    assert_eq!(record.span_id.as_deref(), Some(span_id.as_str()));
    let lines = common::json_lines(&dir.join("calls.jsonl"));
    let line = lines.iter().find(|l| l["name"] == "use_tools").unwrap();
    assert_eq!(line["trace_id"], trace_id.as_str());
    assert_eq!(line["span_id"], span_id.as_str());
}

/// Saving conversations captures the messages, but without
/// `LLM_LOG_PROMPTS` they stay on this machine; the response goes out because
/// `LLM_LOG_RESPONSES` says so.
#[test]
fn saved_prompts_are_not_exported_without_their_switch() {
    if !common::is_child() {
        let dir = tempfile::tempdir().unwrap();
        common::run_child(
            "saved_prompts_are_not_exported_without_their_switch",
            &[
                ("LLM_LOG_RESPONSES", "true"),
                ("LLM_SAVE_CONVERSATIONS", "true"),
                ("LLM_CONVERSATIONS_DIR", dir.path().to_str().unwrap()),
                ("TEST_OUTPUT_DIR", dir.path().to_str().unwrap()),
            ],
        );
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("TEST_OUTPUT_DIR").unwrap());
    let messages = [json!({"role": "user", "content": "a private question"})];
    let (_, spans) = with_otel(|| block_on(use_tools(&messages)));
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    assert!(attr(&s.span.attributes, "gen_ai.input.messages").is_none());
    assert!(attr(&s.span.attributes, "gen_ai.output.messages").is_some());
    let record = common::one_record(&dir, "use_tools");
    assert!(
        record.messages.is_some(),
        "the messages were captured, for the saved conversation"
    );
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn one_shot() -> Value {
    common::fixture("openai_chat_completion_cached_tokens.json")
}

/// A program that sets up OpenTelemetry from the environment, makes one call
/// and exits: its span and metrics reach the receiver.
#[test]
fn a_short_lived_program_loses_nothing() {
    if common::is_child() {
        let _otel = llm_traced::otel::init().expect("set up from the environment");
        block_on(one_shot());
        // A failure and a step: the duration metric counts the first, with
        // its error type, and not the second.
        let _ = block_on(throttled());
        let _ = block_on(search_docs());
        return; // `_otel` drops: flushed before the process exits.
    }
    let receiver = Receiver::start();
    common::run_child(
        "a_short_lived_program_loses_nothing",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "short-lived"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=test",
            ),
            ("RUST_LOG", "info"),
        ],
    );
    let spans = receiver.wait_for_spans(3);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let s = &spans[0];
    assert_eq!(s.span.name, "chat gpt-4o");
    assert_eq!(str_attr(&s.resource, "service.name"), "short-lived");
    assert_eq!(str_attr(&s.resource, "deployment.environment.name"), "test");

    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let tokens = receiver.metrics("gen_ai.client.token.usage");
    let [tokens] = &tokens[..] else {
        panic!("one token histogram expected: {tokens:#?}")
    };
    assert_eq!(tokens.unit, "{token}");
    let Some(Data::Histogram(h)) = &tokens.data else {
        panic!("a histogram: {tokens:?}")
    };
    let mut by_type: Vec<(String, f64)> = h
        .data_points
        .iter()
        .map(|p| (str_attr(&p.attributes, "gen_ai.token.type"), p.sum.unwrap()))
        .collect();
    by_type.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_type,
        [("input".to_owned(), 2620.0), ("output".to_owned(), 100.0)]
    );
    let p = &h.data_points[0];
    assert_eq!(str_attr(&p.attributes, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(&p.attributes, "gen_ai.provider.name"), "openai");
    assert_eq!(str_attr(&p.attributes, "gen_ai.request.model"), "gpt-4o");
    assert_eq!(p.explicit_bounds.first(), Some(&1.0));
    assert_eq!(p.explicit_bounds.last(), Some(&67108864.0));

    let duration = receiver.metrics("gen_ai.client.operation.duration");
    let [duration] = &duration[..] else {
        panic!("one duration histogram expected: {duration:#?}")
    };
    assert_eq!(duration.unit, "s");
    let Some(Data::Histogram(h)) = &duration.data else {
        panic!("a histogram: {duration:?}")
    };
    assert_eq!(
        h.data_points.len(),
        2,
        "one series per outcome, none for the step"
    );
    let ok = h
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "error.type").is_none())
        .unwrap();
    let failed = h
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "error.type").is_some())
        .unwrap();
    assert_eq!(str_attr(&failed.attributes, "error.type"), "rate_limit");
    assert_eq!((ok.count, failed.count), (1, 1));
    assert_eq!(ok.explicit_bounds.first(), Some(&0.01));
    assert_eq!(ok.explicit_bounds.last(), Some(&81.92));
    assert!(ok.sum.unwrap() < 5.0, "seconds, not milliseconds");
}

fn tuned_request() -> Value {
    json!({
        "model": "gpt-4o",
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Plan a trip"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 100,
        "seed": 42,
        "stop": ["END", "STOP"],
        "n": 2,
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
        }}]
    })
}

#[llm_traced(provider = "openai")]
async fn tuned_chat(request: Value) -> Value {
    let _ = request;
    common::fixture("openai_chat_completion_cached_tokens.json")
}

#[llm_traced(provider = "anthropic", model = "claude-sonnet-4-5")]
async fn cache_writer() -> Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Noted."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 3100, "cache_creation_input_tokens": 1024,
                  "cache_read_input_tokens": 2048, "output_tokens": 5}
    })
}

/// Every attribute of a model call, with the type the conventions give it:
/// the request's parameters (no content without a switch), the bound
/// context under the conventions' names, ours under `llm_traced.`, and none
/// of the un-namespaced or deprecated names.
#[test]
fn request_parameters_and_context_are_exported_with_their_types() {
    let context = Context::current()
        .with_user("u-42")
        .with_session("conv-7")
        .with_tenant("acme")
        .with_tag("beta")
        .with_replay_of("01a21c54-0000-7000-8000-00000000e001");
    let (_, spans) = with_otel(|| {
        block_on(context.scope(async {
            tuned_chat(tuned_request()).await;
            cache_writer().await;
        }))
    });
    let s = named(&spans, "chat gpt-4o");
    let a = &s.span.attributes;
    assert_eq!(double_attr(a, "gen_ai.request.temperature"), 0.2);
    assert_eq!(double_attr(a, "gen_ai.request.top_p"), 0.9);
    assert_eq!(int_attr(a, "gen_ai.request.max_tokens"), 100);
    assert_eq!(int_attr(a, "gen_ai.request.seed"), 42);
    assert_eq!(int_attr(a, "gen_ai.request.choice.count"), 2);
    assert_eq!(
        str_array_attr(a, "gen_ai.request.stop_sequences"),
        ["END", "STOP"]
    );
    assert!(!bool_attr(a, "gen_ai.request.stream"));
    assert_eq!(str_attr(a, "gen_ai.request.model"), "gpt-4o");
    assert_eq!(str_attr(a, "user.id"), "u-42");
    assert_eq!(str_attr(a, "gen_ai.conversation.id"), "conv-7");
    assert_eq!(str_attr(a, "llm_traced.tenant_id"), "acme");
    assert_eq!(str_array_attr(a, "llm_traced.tags"), ["beta"]);
    assert_eq!(
        str_attr(a, "llm_traced.replay_of"),
        "01a21c54-0000-7000-8000-00000000e001"
    );
    assert_eq!(str_attr(a, "code.function.name"), "otel::tuned_chat");
    assert_eq!(str_attr(a, "llm_traced.request_id").len(), 36);
    assert!(double_attr(a, "llm_traced.cost_usd") > 0.0);
    assert_eq!(int_attr(a, "gen_ai.usage.cache_read.input_tokens"), 2560);
    // Content stays home without a switch: messages, instructions, tools.
    for absent in [
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.output.messages",
        "gen_ai.tool.definitions",
        // Not on this server-less call.
        "server.address",
        "server.port",
    ] {
        assert!(attr(a, absent).is_none(), "{absent} should be absent");
    }
    otlp::assert_conventional_names(a);

    let anthropic = named(&spans, "chat claude-sonnet-4-5");
    let a = &anthropic.span.attributes;
    assert_eq!(
        int_attr(a, "gen_ai.usage.cache_creation.input_tokens"),
        1024
    );
    assert_eq!(int_attr(a, "gen_ai.usage.cache_read.input_tokens"), 2048);
    assert!(
        attr(a, "gen_ai.request.temperature").is_none(),
        "none asked"
    );
    otlp::assert_conventional_names(a);
}

#[llm_traced(name = "trip_planner", kind = "agent")]
async fn trip_planner() -> Result<(), String> {
    search_docs().await?;
    Ok(())
}

/// An agent is an in-process `invoke_agent` span (INTERNAL), its tool an
/// `execute_tool` span, both with the conventions' names only.
#[test]
fn agent_and_tool_spans_follow_the_conventions() {
    let (_, spans) = with_otel(|| block_on(trip_planner()).unwrap());
    let agent = named(&spans, "invoke_agent trip_planner");
    assert_eq!(agent.span.kind, SpanKind::Internal as i32);
    let a = &agent.span.attributes;
    assert_eq!(str_attr(a, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(str_attr(a, "gen_ai.agent.name"), "trip_planner");
    otlp::assert_conventional_names(a);
    let tool = named(&spans, "execute_tool search_docs");
    assert_eq!(tool.span.kind, SpanKind::Internal as i32);
    assert_eq!(tool.span.parent_span_id, agent.span.span_id);
    let t = &tool.span.attributes;
    assert_eq!(str_attr(t, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(str_attr(t, "gen_ai.tool.name"), "search_docs");
    assert_eq!(str_attr(t, "gen_ai.tool.type"), "function");
    assert!(
        attr(t, "gen_ai.request.stream").is_none(),
        "not a model call"
    );
    otlp::assert_conventional_names(t);
}

/// Runs a call with tools, a system prompt and a reply under `switch`, in a
/// child process, and returns the span's content attributes present.
fn content_under(test: &str, env: &[(&str, &str)]) -> Option<Vec<String>> {
    if !common::is_child() {
        common::run_child(test, env);
        return None;
    }
    let (_, spans) = with_otel(|| block_on(tuned_chat(tuned_request())));
    let [s] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let a = &s.span.attributes;
    otlp::assert_conventional_names(a);
    if let Some(definitions) = attr(a, "gen_ai.tool.definitions") {
        let Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(text)) =
            Some(definitions.clone())
        else {
            panic!("a JSON string")
        };
        let tools: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            tools,
            json!([{"type": "function", "name": "get_weather", "description": "Weather in a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
        );
    }
    let mut present: Vec<String> = [
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.output.messages",
    ]
    .iter()
    .filter(|k| attr(a, k).is_some())
    .map(|k| k.to_string())
    .collect();
    present.sort();
    Some(present)
}

/// The conventions' own switch exports all the content.
#[test]
fn the_standard_capture_switch_exports_the_content() {
    let test = "the_standard_capture_switch_exports_the_content";
    let env = [("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")];
    if let Some(present) = content_under(test, &env) {
        assert_eq!(
            present,
            [
                "gen_ai.input.messages",
                "gen_ai.output.messages",
                "gen_ai.system_instructions",
                "gen_ai.tool.definitions"
            ]
        );
    }
}

/// `LLM_LOG_PROMPTS` exports what was asked (tool definitions included),
/// not the reply.
#[test]
fn the_prompts_switch_exports_the_prompts_and_tools() {
    let test = "the_prompts_switch_exports_the_prompts_and_tools";
    if let Some(present) = content_under(test, &[("LLM_LOG_PROMPTS", "true")]) {
        assert_eq!(
            present,
            [
                "gen_ai.input.messages",
                "gen_ai.system_instructions",
                "gen_ai.tool.definitions"
            ]
        );
    }
}

/// `LLM_LOG_RESPONSES` exports the reply only; `false` for the standard
/// switch exports nothing more.
#[test]
fn the_responses_switch_exports_the_reply_only() {
    let test = "the_responses_switch_exports_the_reply_only";
    let env = [
        ("LLM_LOG_RESPONSES", "true"),
        (
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        ),
    ];
    if let Some(present) = content_under(test, &env) {
        assert_eq!(present, ["gen_ai.output.messages"]);
    }
}

/// A streamed call says so, has its time to first chunk on the span, and
/// records the time-to-first-chunk metric with the conventions' buckets; an
/// unstreamed call records none.
#[test]
fn a_streamed_call_records_the_time_to_first_chunk_metric() {
    use futures::StreamExt;

    if common::is_child() {
        let _otel = llm_traced::otel::init().expect("set up from the environment");
        block_on(stream_reply().collect::<Vec<_>>());
        block_on(one_shot());
        return;
    }
    let receiver = Receiver::start();
    common::run_child(
        "a_streamed_call_records_the_time_to_first_chunk_metric",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str())],
    );
    let spans = receiver.wait_for_spans(2);
    let streamed = spans
        .iter()
        .find(|s| attr(&s.span.attributes, "gen_ai.response.time_to_first_chunk").is_some())
        .expect("the streamed span");
    let a = &streamed.span.attributes;
    assert!(bool_attr(a, "gen_ai.request.stream"));
    let ttfc = double_attr(a, "gen_ai.response.time_to_first_chunk");
    assert!((0.0..5.0).contains(&ttfc), "seconds: {ttfc}");
    let p = streamed_seconds(&receiver, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(p.count, 1);
    assert_eq!(str_attr(&p.attributes, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(&p.attributes, "gen_ai.provider.name"), "openai");
}

/// The one series of the seconds histogram `name` (the streamed call's; an
/// unstreamed call records none), with the conventions' buckets.
fn streamed_seconds(
    receiver: &Receiver,
    name: &str,
) -> opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;

    let metrics = receiver.metrics(name);
    let [metric] = &metrics[..] else {
        panic!("one {name} histogram expected: {metrics:#?}")
    };
    assert_eq!(metric.unit, "s");
    let Some(Data::Histogram(h)) = &metric.data else {
        panic!("a histogram: {metric:?}")
    };
    let [p] = &h.data_points[..] else {
        panic!("one series, for the streamed call only: {h:#?}")
    };
    assert_eq!(
        p.explicit_bounds,
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    );
    p.clone()
}

/// The first five chunks of the recorded stream, 15 ms apart.
#[llm_traced(provider = "openai", model = "gpt-4o", stream)]
fn paced_reply() -> impl futures::Stream<Item = Value> {
    use futures::StreamExt;
    let events = common::sse_events("openai_chat_stream_include_usage_text.sse");
    futures::stream::iter(events.into_iter().take(5)).map(|event| {
        std::thread::sleep(std::time::Duration::from_millis(15));
        event
    })
}

/// A streamed call records one time-per-output-chunk measurement for each
/// chunk after the first (the time since the chunk before it), with the
/// conventions' buckets; an unstreamed call records none.
#[test]
fn a_streamed_call_records_the_time_per_output_chunk_metric() {
    use futures::StreamExt;

    if common::is_child() {
        let _otel = llm_traced::otel::init().expect("set up from the environment");
        assert_eq!(block_on(paced_reply().collect::<Vec<_>>()).len(), 5);
        block_on(one_shot());
        return;
    }
    let receiver = Receiver::start();
    common::run_child(
        "a_streamed_call_records_the_time_per_output_chunk_metric",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str())],
    );
    receiver.wait_for_spans(2);
    let p = streamed_seconds(&receiver, "gen_ai.client.operation.time_per_output_chunk");
    assert_eq!(p.count, 4, "five chunks: four gaps");
    let sum = p.sum.expect("a sum");
    assert!(
        (0.06..2.0).contains(&sum),
        "four gaps of 15 ms or more: {sum}"
    );
    assert_eq!(p.bucket_counts[0], 0, "no gap under 10 ms: {p:?}");
    assert_eq!(str_attr(&p.attributes, "gen_ai.request.model"), "gpt-4o");
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn graded_answer() -> Value {
    remember_ids();
    llm_traced::score("grounded", true)
        .comment("cites the docs")
        .author("grader-v1")
        .record()
        .expect("scored during the call");
    common::fixture("openai_chat_completion_text_stop.json")
}

/// A score given during the call and eight given after it, from eight
/// threads at once: each is a `gen_ai.evaluation.result` log record in the
/// call's trace and span, a `"type": "score"` line in the JSON log with the
/// call's request id, function and model, and a whole line in the file
/// beside the saved conversation.
#[test]
fn scores_during_and_after_a_call_reach_every_output() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

    if !common::is_child() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.jsonl");
        common::run_child(
            "scores_during_and_after_a_call_reach_every_output",
            &[
                ("LLM_SAVE_CONVERSATIONS", "true"),
                ("LLM_CONVERSATIONS_DIR", dir.path().to_str().unwrap()),
                ("LLM_LOG_FILE", log.to_str().unwrap()),
                ("TEST_OUTPUT_DIR", dir.path().to_str().unwrap()),
            ],
        );
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("TEST_OUTPUT_DIR").unwrap());
    let receiver = Receiver::start();
    let otel = Otel::builder()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(&receiver.endpoint)
        .metrics(false)
        .build()
        .expect("the pipeline builds");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || block_on(graded_answer()));
    let id = llm_traced::score::last_request_id().expect("the call's request id");
    std::thread::scope(|s| {
        for i in 0..8 {
            let id = id.clone();
            s.spawn(move || {
                llm_traced::score("helpfulness", 0.5 + f64::from(i) / 20.0)
                    .request(id)
                    .author(format!("rater-{i}"))
                    .record()
                    .expect("scored after the call")
            });
        }
    });
    assert_eq!(
        llm_traced::score("helpfulness", 1)
            .request("no-such-call")
            .record(),
        Err(llm_traced::ScoreError::UnknownCall("no-such-call".into()))
    );
    otel.shutdown().expect("the receiver took everything");
    assert!(llm_traced::flush());

    let spans = receiver.spans();
    let [span] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    let logs = receiver.logs();
    assert_eq!(logs.len(), 9, "{logs:#?}");
    for (record, scope) in &logs {
        assert_eq!(record.event_name, "gen_ai.evaluation.result");
        assert_eq!(scope, "llm-traced");
        assert_eq!(record.trace_id, span.span.trace_id, "in the call's trace");
        assert_eq!(record.span_id, span.span.span_id, "on the call's span");
        assert_eq!(
            str_attr(&record.attributes, "gen_ai.response.id"),
            str_attr(&span.span.attributes, "gen_ai.response.id")
        );
        assert_eq!(str_attr(&record.attributes, "llm_traced.request_id"), id);
    }
    let grounded = logs
        .iter()
        .map(|(r, _)| r)
        .find(|r| str_attr(&r.attributes, "gen_ai.evaluation.name") == "grounded")
        .expect("the score given during the call");
    let a = &grounded.attributes;
    assert_eq!(double_attr(a, "gen_ai.evaluation.score.value"), 1.0);
    assert_eq!(str_attr(a, "gen_ai.evaluation.score.label"), "true");
    assert_eq!(
        str_attr(a, "gen_ai.evaluation.explanation"),
        "cites the docs"
    );
    let rated = logs
        .iter()
        .filter(|(r, _)| {
            matches!(
                attr(&r.attributes, "gen_ai.evaluation.score.value"),
                Some(Any::DoubleValue(x)) if (0.5..0.9).contains(x)
            )
        })
        .count();
    assert_eq!(rated, 8);

    let lines = common::json_lines(&dir.join("calls.jsonl"));
    let scores: Vec<&Value> = lines.iter().filter(|l| l["type"] == "score").collect();
    assert_eq!(scores.len(), 9);
    assert_eq!(lines.len(), 10, "the call's own line and the scores'");
    for line in &scores {
        assert_eq!(line["request_id"], id.as_str());
        assert_eq!(line["function"], "otel::graded_answer");
        assert_eq!(line["model"], "gpt-4o-2024-08-06");
        assert_eq!(line["trace_id"], hex(&span.span.trace_id).as_str());
    }

    let record = common::one_record(&dir, "graded_answer");
    assert_eq!(record.request_id, id);
    let conversation = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let beside = llm_traced::score::scores_path(&conversation);
    let text = std::fs::read_to_string(&beside).unwrap();
    assert_eq!(text.lines().count(), 9, "{text}");
    let read = llm_traced::score::read_scores(&conversation);
    assert_eq!(read.len(), 9, "every line whole: {text}");
    let mut authors: Vec<_> = read.iter().filter_map(|s| s.author.clone()).collect();
    authors.sort();
    assert_eq!(authors.len(), 9);
    assert_eq!(authors[0], "grader-v1");
}

/// Finds a customer's open invoices
/// by e-mail.
///
/// Only the first paragraph is the tool's description.
#[llm_traced(kind = "tool", tool_call_id = call.id)]
async fn find_invoices(
    call: &ToolCallRef,
    email: &str,
    note: &str,
    limit: u32,
) -> Result<Value, String> {
    Ok(json!({"invoices": ["INV-1", "INV-2"], "owner": email, "limit": limit, "note": note}))
}

/// The model's tool call a tool step answers.
struct ToolCallRef {
    id: String,
}

/// Runs the tool step under `env` in a child process; in the child, checks
/// the span's tool attributes that never depend on a switch and returns the
/// arguments and result exported, parsed.
fn tool_content_under(test: &str, env: &[(&str, &str)]) -> Option<(Option<Value>, Option<Value>)> {
    if !common::is_child() {
        common::run_child(test, env);
        return None;
    }
    let call = ToolCallRef {
        id: "call_Q7xkz2".to_owned(),
    };
    let (result, spans) = with_otel(|| {
        block_on(find_invoices(
            &call,
            "jane.doe@example.com",
            "key sk-proj-AbCdEfGhIjKlMnOpQrStUv",
            2,
        ))
    });
    assert_eq!(
        result.unwrap()["owner"],
        "jane.doe@example.com",
        "untouched"
    );
    let s = named(&spans, "execute_tool find_invoices");
    let a = &s.span.attributes;
    otlp::assert_conventional_names(a);
    assert_eq!(str_attr(a, "gen_ai.tool.name"), "find_invoices");
    assert_eq!(str_attr(a, "gen_ai.tool.call.id"), "call_Q7xkz2");
    assert_eq!(
        str_attr(a, "gen_ai.tool.description"),
        "Finds a customer's open invoices by e-mail."
    );
    let json = |key: &str| {
        attr(a, key).map(|_| {
            let text = str_attr(a, key);
            assert!(!text.contains("jane.doe@example.com"), "{key}: {text}");
            assert!(!text.contains("sk-proj-"), "{key}: {text}");
            serde_json::from_str::<Value>(&text).unwrap()
        })
    };
    Some((
        json("gen_ai.tool.call.arguments"),
        json("gen_ai.tool.call.result"),
    ))
}

fn tool_arguments() -> Value {
    json!({"email": "[EMAIL]", "note": "key [API_KEY]", "limit": 2})
}

fn tool_result() -> Value {
    json!({"invoices": ["INV-1", "INV-2"], "owner": "[EMAIL]", "limit": 2, "note": "key [API_KEY]"})
}

/// A tool step's id and description go out always; its arguments and result
/// are content, absent with no switch on.
#[test]
fn a_tool_step_exports_its_call_id_and_description_and_no_content_by_default() {
    let test = "a_tool_step_exports_its_call_id_and_description_and_no_content_by_default";
    if let Some(content) = tool_content_under(test, &[]) {
        assert_eq!(content, (None, None));
    }
}

/// The conventions' switch exports a tool step's arguments and result,
/// redacted.
#[test]
fn the_standard_capture_switch_exports_tool_arguments_and_result() {
    let test = "the_standard_capture_switch_exports_tool_arguments_and_result";
    let env = [("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")];
    if let Some(content) = tool_content_under(test, &env) {
        assert_eq!(content, (Some(tool_arguments()), Some(tool_result())));
    }
}

/// `LLM_LOG_PROMPTS` exports a tool step's arguments, not its result.
#[test]
fn the_prompts_switch_exports_tool_arguments_only() {
    let test = "the_prompts_switch_exports_tool_arguments_only";
    if let Some(content) = tool_content_under(test, &[("LLM_LOG_PROMPTS", "true")]) {
        assert_eq!(content, (Some(tool_arguments()), None));
    }
}

/// `LLM_LOG_RESPONSES` exports a tool step's result, not its arguments.
#[test]
fn the_responses_switch_exports_tool_result_only() {
    let test = "the_responses_switch_exports_tool_result_only";
    if let Some(content) = tool_content_under(test, &[("LLM_LOG_RESPONSES", "true")]) {
        assert_eq!(content, (None, Some(tool_result())));
    }
}
