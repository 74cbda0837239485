//! A real OTLP/HTTP receiver on 127.0.0.1: an axum server that decodes the
//! protobuf bodies the exporters send (with the OpenTelemetry project's own
//! generated types) and keeps them for the test to read.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

#[derive(Default)]
struct Received {
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
    /// How long each request is held before it is answered (a slow collector).
    delay: Duration,
}

/// A running receiver; it stops with the process.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT`, the base address to give the exporter.
    pub endpoint: String,
    received: Arc<Mutex<Received>>,
}

/// One exported span with its resource's attributes.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub span: Span,
    pub resource: Vec<KeyValue>,
    pub scope: String,
}

impl Receiver {
    /// Starts a receiver on a free port, served by a runtime of its own so
    /// that it answers while the test thread waits on a flush.
    pub fn start() -> Receiver {
        Receiver::start_slow(Duration::ZERO)
    }

    /// A receiver that holds each request for `delay` before it takes it: a
    /// collector slower than the program.
    pub fn start_slow(delay: Duration) -> Receiver {
        let received = Arc::new(Mutex::new(Received {
            delay,
            ..Received::default()
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let state = received.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = Router::new()
                    .route("/v1/traces", post(traces))
                    .route("/v1/metrics", post(metrics))
                    .route("/v1/logs", post(logs))
                    .with_state(state);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        Receiver {
            endpoint: format!("http://{addr}"),
            received,
        }
    }

    /// Every log record received so far, with its scope's name.
    pub fn logs(&self) -> Vec<(LogRecord, String)> {
        let received = self.received.lock().unwrap();
        let mut out = Vec::new();
        for request in &received.logs {
            for rl in &request.resource_logs {
                for sl in &rl.scope_logs {
                    let scope = sl
                        .scope
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    for record in &sl.log_records {
                        out.push((record.clone(), scope.clone()));
                    }
                }
            }
        }
        out
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let received = self.received.lock().unwrap();
        let mut out = Vec::new();
        for request in &received.traces {
            for rs in &request.resource_spans {
                let resource = rs
                    .resource
                    .clone()
                    .map(|r| r.attributes)
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    let scope = ss
                        .scope
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    for span in &ss.spans {
                        out.push(ReceivedSpan {
                            span: span.clone(),
                            resource: resource.clone(),
                            scope: scope.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Waits (10 s at most) until `n` spans have arrived.
    pub fn wait_for_spans(&self, n: usize) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every metric received so far, by name, newest export last.
    pub fn metrics(&self, name: &str) -> Vec<Metric> {
        let received = self.received.lock().unwrap();
        received
            .metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == name)
            .cloned()
            .collect()
    }
}

async fn traces(State(state): State<Arc<Mutex<Received>>>, body: Bytes) -> impl IntoResponse {
    let delay = state.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            state.lock().unwrap().traces.push(request);
            protobuf(ExportTraceServiceResponse::default().encode_to_vec())
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn logs(State(state): State<Arc<Mutex<Received>>>, body: Bytes) -> impl IntoResponse {
    let delay = state.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    match ExportLogsServiceRequest::decode(body) {
        Ok(request) => {
            state.lock().unwrap().logs.push(request);
            protobuf(ExportLogsServiceResponse::default().encode_to_vec())
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn metrics(State(state): State<Arc<Mutex<Received>>>, body: Bytes) -> impl IntoResponse {
    let delay = state.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    match ExportMetricsServiceRequest::decode(body) {
        Ok(request) => {
            state.lock().unwrap().metrics.push(request);
            protobuf(ExportMetricsServiceResponse::default().encode_to_vec())
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

fn protobuf(body: Vec<u8>) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}

/// A collector that takes connections and never answers: `http://127.0.0.1:PORT`.
pub fn hanging_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // read nothing, answer nothing, close nothing
        }
    });
    format!("http://{addr}")
}

/// An address where nothing listens: `http://127.0.0.1:PORT`.
pub fn down_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The value of attribute `key`, if present.
pub fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

/// Attribute `key` as a string; panics when it is missing or not a string.
pub fn str_attr(attrs: &[KeyValue], key: &str) -> String {
    match attr(attrs, key) {
        Some(Value::StringValue(s)) => s.clone(),
        other => panic!("attribute {key}: expected a string, got {other:?}"),
    }
}

/// Attribute `key` as an integer; panics when it is missing or not one.
pub fn int_attr(attrs: &[KeyValue], key: &str) -> i64 {
    match attr(attrs, key) {
        Some(Value::IntValue(n)) => *n,
        other => panic!("attribute {key}: expected an integer, got {other:?}"),
    }
}

/// Attribute `key` as a list of strings; panics otherwise.
pub fn str_array_attr(attrs: &[KeyValue], key: &str) -> Vec<String> {
    match attr(attrs, key) {
        Some(Value::ArrayValue(list)) => list
            .values
            .iter()
            .map(|v| match &v.value {
                Some(Value::StringValue(s)) => s.clone(),
                other => panic!("attribute {key}: expected strings, got {other:?}"),
            })
            .collect(),
        other => panic!("attribute {key}: expected an array, got {other:?}"),
    }
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A double attribute's value; panics when it is missing or of another type.
pub fn double_attr(attrs: &[KeyValue], key: &str) -> f64 {
    match attr(attrs, key) {
        Some(Value::DoubleValue(x)) => *x,
        other => panic!("{key}: expected a double, got {other:?}"),
    }
}

/// A boolean attribute's value; panics when it is missing or of another type.
pub fn bool_attr(attrs: &[KeyValue], key: &str) -> bool {
    match attr(attrs, key) {
        Some(Value::BoolValue(b)) => *b,
        other => panic!("{key}: expected a boolean, got {other:?}"),
    }
}

/// The attribute names our spans must never export: un-namespaced names of
/// our own and the deprecated `code.function`.
pub const NOT_EXPORTED: &[&str] = &[
    "user_id",
    "tenant_id",
    "latency_ms",
    "request_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "code.function",
    "cost_usd",
    "gen_ai.system",
];

/// Asserts that none of [`NOT_EXPORTED`] is among `attrs`, and that every
/// name outside the conventions' namespaces is under `llm_traced.`.
pub fn assert_conventional_names(attrs: &[KeyValue]) {
    for kv in attrs {
        let key = kv.key.as_str();
        assert!(!NOT_EXPORTED.contains(&key), "{key} must not be exported");
        assert!(
            [
                "gen_ai.",
                "server.",
                "error.",
                "code.",
                "user.",
                "llm_traced."
            ]
            .iter()
            .any(|ns| key.starts_with(ns)),
            "{key} is outside the conventions and our namespace"
        );
    }
}
