//! OTLP over gRPC (feature `otel-grpc`) into a real gRPC collector: the
//! `fake-opentelemetry-collector` crate's tonic server on 127.0.0.1.

mod common;

use std::time::Duration;

use fake_opentelemetry_collector::FakeCollectorServer;
use futures::executor::block_on;
use llm_traced::llm_traced;
use llm_traced::otel::{Otel, Protocol};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn over_grpc() -> Value {
    common::fixture("openai_chat_completion_cached_tokens.json")
}

#[test]
fn spans_and_metrics_reach_a_grpc_collector() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut collector = rt.block_on(FakeCollectorServer::start()).unwrap();
    let otel = Otel::builder()
        .protocol(Protocol::Grpc)
        .endpoint(collector.endpoint())
        .build()
        .expect("the gRPC pipeline builds outside any runtime");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || block_on(over_grpc()));
    otel.shutdown().expect("the collector took everything");

    let spans = rt.block_on(collector.exported_spans(1, Duration::from_secs(10)));
    let [span] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    assert_eq!(span.name, "chat gpt-4o");
    assert_eq!(span.kind, "SPAN_KIND_CLIENT");
    // The collector shows each attribute's protobuf value in Debug form.
    let attribute = |key: &str| span.attributes.get(key).cloned().unwrap_or_default();
    assert!(attribute("gen_ai.provider.name").contains(r#"StringValue("openai")"#));
    assert!(attribute("gen_ai.usage.input_tokens").contains("IntValue(2620)"));
    assert!(attribute("gen_ai.usage.cache_read.input_tokens").contains("IntValue(2560)"));
    let metrics = rt.block_on(collector.exported_metrics(1, Duration::from_secs(10)));
    assert!(
        !metrics.is_empty(),
        "the GenAI metrics arrive over gRPC too"
    );
}

/// The guard owns the gRPC exporters' runtime; dropping it inside async code
/// (a `#[tokio::main]` program) must neither panic nor lose the spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_guard_drops_inside_async_code() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let otel = Otel::builder()
        .protocol(Protocol::Grpc)
        .endpoint(collector.endpoint())
        .metrics(false)
        .build()
        .expect("the gRPC pipeline builds inside a runtime too");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    let default = tracing::subscriber::set_default(subscriber);
    over_grpc().await;
    drop(default);
    drop(otel);
    let spans = collector.exported_spans(1, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "chat gpt-4o");
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn from_env() -> Value {
    common::fixture("openai_chat_completion_text_stop.json")
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` alone switches a program set up with
/// `otel::init()` to gRPC.
#[test]
fn the_environment_picks_grpc() {
    if common::is_child() {
        let _otel = llm_traced::otel::init().expect("set up from the environment");
        block_on(from_env());
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut collector = rt.block_on(FakeCollectorServer::start()).unwrap();
    common::run_child(
        "the_environment_picks_grpc",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint().as_str()),
        ],
    );
    let spans = rt.block_on(collector.exported_spans(1, Duration::from_secs(10)));
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "chat gpt-4o");
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn graded_over_grpc() -> Value {
    llm_traced::score("grounded", 0.75)
        .comment("one source")
        .record()
        .expect("scored during the call");
    common::fixture("openai_chat_completion_cached_tokens.json")
}

/// Over gRPC too: the span has only the conventions' names and ours, and a
/// score arrives as a log record on the call's span. (In a process of its
/// own: the score logger is process-wide, and the other tests set up
/// pipelines of their own at the same time.)
#[test]
fn names_and_scores_reach_a_grpc_collector() {
    if !common::is_child() {
        common::run_child("names_and_scores_reach_a_grpc_collector", &[]);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut collector = rt.block_on(FakeCollectorServer::start()).unwrap();
    let otel = Otel::builder()
        .protocol(Protocol::Grpc)
        .endpoint(collector.endpoint())
        .metrics(false)
        .build()
        .expect("the gRPC pipeline builds");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || block_on(graded_over_grpc()));
    otel.shutdown().expect("the collector took everything");

    let spans = rt.block_on(collector.exported_spans(1, Duration::from_secs(10)));
    let [span] = &spans[..] else {
        panic!("one span expected: {spans:#?}")
    };
    for name in [
        "request_id",
        "user_id",
        "latency_ms",
        "trace_id",
        "span_id",
        "parent_span_id",
        "code.function",
    ] {
        assert!(!span.attributes.contains_key(name), "{name} is exported");
    }
    assert!(span.attributes["code.function.name"].contains("otel_grpc::graded_over_grpc"));
    assert!(span.attributes.contains_key("llm_traced.request_id"));
    assert!(span.attributes["gen_ai.request.stream"].contains("BoolValue(false)"));
    let logs = rt.block_on(collector.exported_logs(1, Duration::from_secs(10)));
    let [log] = &logs[..] else {
        panic!("one score expected: {logs:#?}")
    };
    assert_eq!(log.trace_id, span.trace_id);
    assert_eq!(log.span_id, span.span_id);
    assert!(log.attributes["gen_ai.evaluation.name"].contains("grounded"));
    assert!(log.attributes["gen_ai.evaluation.score.value"].contains("DoubleValue(0.75)"));
    assert!(log.attributes["gen_ai.evaluation.explanation"].contains("one source"));
}
