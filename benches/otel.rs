//! Per-call cost with the OpenTelemetry layer listening (feature `otel`):
//! every call becomes an OpenTelemetry span, batched to an exporter that
//! discards them (the network is not what is measured), and records the two
//! GenAI metrics (exported, and discarded, once a minute).
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench otel --features otel
//! ```
//!
//! The calling thread's CPU time per call, no exporter and exported,
//! alternately (`cpu N`):
//!
//! ```sh
//! BIN=$(ls -t target/release/deps/otel-* | grep -v '\.d$' | head -1)
//! "$BIN" cpu 200000
//! ```
//!
//! Instruction counts of a model call exported against the same call with
//! a plain registry (no exporter), under callgrind:
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench otel --features otel --no-run
//! BIN=$(ls -t target/release/deps/otel-* | grep -v '\.d$' | head -1)
//! for v in empty registry exported exported_sdk; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" instructions "$v" 100000 2>&1 | grep refs
//! done
//! ```

//!
//! The caller's time when the export queue is full (a slow and a hanging
//! collector, a queue of 64): `"$BIN" full 2000`.

use std::hint::black_box;

use llm_traced::llm_traced;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;

mod shared;
use shared::*;
#[path = "thread_cpu.rs"]
mod thread_cpu;

/// An exporter that drops what it is given.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        drop(batch);
        std::future::ready(Ok(()))
    }
}

impl PushMetricExporter for Discard {
    fn export(
        &self,
        _: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

static PROVIDER: std::sync::OnceLock<SdkTracerProvider> = std::sync::OnceLock::new();
static SDK_PROVIDER: std::sync::OnceLock<SdkTracerProvider> = std::sync::OnceLock::new();

/// The provider `Otel::builder()` builds: the SDK's batch processor behind
/// our gate (which counts what waits for export, so nothing is dropped
/// without a word).
fn provider() -> &'static SdkTracerProvider {
    PROVIDER.get_or_init(|| {
        SdkTracerProvider::builder()
            .with_span_processor(llm_traced::otel::Otel::builder().span_processor(Discard))
            .with_id_generator(llm_traced::otel::ContextIdGenerator::default())
            .build()
    })
}

/// The SDK's batch processor alone, as before the gate.
fn sdk_provider() -> &'static SdkTracerProvider {
    SDK_PROVIDER.get_or_init(|| {
        SdkTracerProvider::builder()
            .with_batch_exporter(Discard)
            .with_id_generator(llm_traced::otel::ContextIdGenerator::default())
            .build()
    })
}

/// An exporter that takes `delay` per batch: a slow (or, with a long
/// delay, hanging) collector.
#[derive(Debug)]
struct Slow(std::time::Duration);

impl SpanExporter for Slow {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::thread::sleep(self.0);
        drop(batch);
        std::future::ready(Ok(()))
    }
}

/// The caller's time when the gate is full: `n` calls against a collector
/// that takes `delay` per batch of 64, with a queue of 64 spans; prints the
/// per-call wall time's median, p99 and maximum, and what was dropped.
fn full(n: usize) {
    for (what, delay) in [
        (
            "slow collector (50 ms a batch)",
            std::time::Duration::from_millis(50),
        ),
        (
            "hanging collector (30 s a batch)",
            std::time::Duration::from_secs(30),
        ),
    ] {
        let before = llm_traced::otel::dropped().spans.total();
        let processor = llm_traced::otel::Otel::builder()
            .max_queue_size(64)
            .span_processor(Slow(delay));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let layer = llm_traced::otel::layer(provider.tracer("bench"));
        let mut times = Vec::with_capacity(n);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for _ in 0..n {
                let start = std::time::Instant::now();
                black_box(poll_once(chat_json(black_box(MESSAGES))));
                times.push(start.elapsed());
            }
        });
        let dropped = llm_traced::otel::dropped().spans.total() - before;
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "{what}: {n} calls, median {:?}, p99 {:?}, max {:?}, total {:?}; {dropped} spans dropped",
            at(0.5),
            at(0.99),
            times[times.len() - 1],
            times.iter().sum::<std::time::Duration>(),
        );
        // Not waited for: the hanging exporter would hold the exit.
        std::mem::forget(provider);
    }
}

fn main() {
    llm_traced::Config::default().install().unwrap();
    let meters = SdkMeterProvider::builder()
        .with_periodic_exporter(Discard)
        .build();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, n, ..] = &args[..] {
        if mode == "full" {
            full(n.parse().expect("a count"));
            return;
        }
        if mode == "cpu" {
            llm_traced::otel::install_metrics(&meters);
            cpu(n.parse().expect("a count"));
            provider().shutdown().unwrap();
            return;
        }
    }
    if let [mode, variant, n, ..] = &args[..] {
        if mode == "instructions" {
            // No exporter: no metrics either.
            if variant.starts_with("exported") {
                llm_traced::otel::install_metrics(&meters);
            }
            instructions(variant, n.parse().expect("a count"));
            match variant.as_str() {
                "exported_sdk" => sdk_provider().shutdown().unwrap(),
                _ => provider().shutdown().unwrap(),
            }
            return;
        }
    }
    // `LLM_TRACED_BENCH_METRICS=0`: no metrics, so that the no-exporter row
    // records none either.
    if std::env::var("LLM_TRACED_BENCH_METRICS").as_deref() != Ok("0") {
        llm_traced::otel::install_metrics(&meters);
    }
    divan::main();
    provider().shutdown().unwrap();
}

/// `n` OpenAI-shaped model calls: `exported` under our OpenTelemetry layer
/// with the metrics, through the gate as `Otel::builder()` sets it up;
/// `exported_sdk` the same through the SDK's batch processor alone;
/// `registry` under a plain registry (recorded, no exporter, no metrics),
/// `empty` none.
fn instructions(variant: &str, n: u64) {
    let call = || {
        for _ in 0..n {
            black_box(poll_once(chat_json(black_box(MESSAGES))));
        }
    };
    match variant {
        "empty" => {
            for _ in 0..n {
                black_box(MESSAGES);
            }
        }
        "registry" => tracing::subscriber::with_default(tracing_subscriber::registry(), call),
        "exported" => {
            let layer = llm_traced::otel::layer(provider().tracer("bench"));
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), call)
        }
        "exported_sdk" => {
            let layer = llm_traced::otel::layer(sdk_provider().tracer("bench"));
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), call)
        }
        other => panic!("unknown variant {other}"),
    }
}

/// `n` calls under a plain registry, then `n` under our layer, alternately
/// three times, both with the metrics installed: the calling thread's CPU
/// time per call, which time spent descheduled (the exporter's thread and
/// other processes share the cores) does not inflate as it does the wall
/// time.
fn cpu(n: u64) {
    let run = || {
        let start = thread_cpu::now();
        for _ in 0..n {
            black_box(poll_once(chat_json(black_box(MESSAGES))));
        }
        (thread_cpu::now() - start).as_secs_f64() * 1e6 / n as f64
    };
    for _ in 0..3 {
        let plain = tracing::subscriber::with_default(tracing_subscriber::registry(), run);
        let layer = llm_traced::otel::layer(provider().tracer("bench"));
        let exported =
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), run);
        println!(
            "calling thread's CPU per call: no exporter {plain:.2} µs, exported {exported:.2} µs, over {:.2} µs",
            exported - plain
        );
    }
}

/// Runs the benchmark under our layer (`llm_traced::otel::layer`), or under
/// `tracing-opentelemetry`'s defaults.
fn with_layer(ours: bool, bencher: divan::Bencher, f: impl Fn()) {
    let tracer = provider().tracer("bench");
    let run = || bencher.bench_local(&f);
    if ours {
        let subscriber = tracing_subscriber::registry().with(llm_traced::otel::layer(tracer));
        tracing::subscriber::with_default(subscriber, run);
    } else {
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, run);
    }
}

fn response() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Hi."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
    })
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn chat_json(messages: &[&str]) -> Value {
    let _ = messages;
    black_box(response())
}

#[inline(never)]
async fn bare_json(messages: &[&str]) -> Value {
    let _ = messages;
    black_box(response())
}

#[divan::bench]
fn async_bare_json() -> Value {
    poll_once(bare_json(black_box(MESSAGES)))
}

#[divan::bench(args = [true, false])]
fn async_tracing_instrument_exported(bencher: divan::Bencher, ours: bool) {
    with_layer(ours, bencher, || {
        black_box(poll_once(instrument_async(black_box(MESSAGES))));
    });
}

#[divan::bench(args = [true, false])]
fn async_llm_traced_exported(bencher: divan::Bencher, ours: bool) {
    with_layer(ours, bencher, || {
        black_box(poll_once(llm_traced_async(black_box(MESSAGES))));
    });
}

/// The same model call recorded with no exporter: a plain registry listens.
#[divan::bench]
fn async_llm_traced_openai_json_no_exporter(bencher: divan::Bencher) {
    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        bencher.bench_local(|| black_box(poll_once(chat_json(black_box(MESSAGES)))));
    });
}

#[divan::bench(args = [true, false])]
fn async_llm_traced_exported_openai_json(bencher: divan::Bencher, ours: bool) {
    with_layer(ours, bencher, || {
        black_box(poll_once(chat_json(black_box(MESSAGES))));
    });
}
