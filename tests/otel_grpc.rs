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
