//! Nothing lost without a word: bursts of spans and scores exported to real
//! OTLP receivers on 127.0.0.1, over HTTP and gRPC, with the default settings
//! and with a queue too small for a slow collector; and a collector that
//! hangs or is down, which must neither slow the calls nor hold the exit.
//!
//! Each test runs its calls in a child process of its own, so that the
//! stderr lines it prints can be read and its pipeline is the only one.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::time::{Duration, Instant};

use futures::executor::block_on;
use llm_traced::llm_traced;
use llm_traced::otel::{Otel, Protocol};
use otlp::Receiver;
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;

/// One model call that scores itself: a span and a score record.
#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn burst_call(messages: &[Value]) -> Value {
    let _ = messages;
    let _ = llm_traced::score("grounded", true).record();
    common::fixture("openai_chat_completion_text_stop.json")
}

fn prompt(bytes: usize) -> Vec<Value> {
    vec![json!({"role": "user", "content": "x".repeat(bytes)})]
}

/// Makes `n` calls as fast as they go under `otel`'s layer; the time they took.
fn burst(otel: &Otel, n: usize, prompt_bytes: usize) -> Duration {
    let messages = prompt(prompt_bytes);
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    let started = Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..n {
            block_on(burst_call(&messages));
        }
    });
    started.elapsed()
}

/// The number in a stderr line `llm-traced: N OpenTelemetry <what> were not
/// exported (…)`, 0 when there is none.
fn not_exported(stderr: &str, what: &str) -> u64 {
    let needle = format!(" OpenTelemetry {what} were not exported");
    stderr
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("llm-traced: ")?;
            let at = rest.find(&needle)?;
            rest[..at].parse().ok()
        })
        .unwrap_or(0)
}

/// A value the child printed on stdout as `KEY value`.
fn printed(stdout: &str, key: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| {
            let at = l.find(key)?;
            l[at + key.len()..].trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("the child printed no {key}: {stdout}"))
}

const BURST: usize = 10_000;

#[test]
fn a_burst_over_http_arrives_whole_with_the_default_settings() {
    let test = "a_burst_over_http_arrives_whole_with_the_default_settings";
    if common::is_child() {
        let endpoint = std::env::var("TEST_ENDPOINT").unwrap();
        // Metrics on: they go through a periodic reader, with no queue.
        let otel = Otel::builder()
            .protocol(Protocol::HttpProtobuf)
            .endpoint(endpoint)
            .build()
            .unwrap();
        llm_traced::otel::install_metrics(otel.meter_provider().unwrap());
        burst(&otel, BURST, 100);
        otel.shutdown().expect("the receiver took everything");
        return;
    }
    let receiver = Receiver::start();
    let out = common::run_child(test, &[("TEST_ENDPOINT", receiver.endpoint.as_str())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let spans = receiver.wait_for_spans(BURST);
    assert_eq!(spans.len(), BURST, "every span arrived: {stderr}");
    let logs = receiver.logs();
    assert_eq!(logs.len(), BURST, "every score arrived");
    assert!(!stderr.contains("dropped"), "{stderr}");
    assert!(!stderr.contains("not exported"), "{stderr}");

    // The metrics' counts and sums match the calls (cumulative: the last
    // export has them all).
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let histogram = |name: &str| {
        let last = receiver
            .metrics(name)
            .pop()
            .unwrap_or_else(|| panic!("no {name}"));
        match last.data {
            Some(Data::Histogram(h)) => h.data_points,
            other => panic!("{name}: {other:?}"),
        }
    };
    let duration = histogram("gen_ai.client.operation.duration");
    let calls: u64 = duration.iter().map(|p| p.count).sum();
    assert_eq!(calls, BURST as u64, "one duration per call");
    let tokens = histogram("gen_ai.client.token.usage");
    let by_type = |kind: &str| -> (u64, f64) {
        tokens
            .iter()
            .filter(|p| otlp::str_attr(&p.attributes, "gen_ai.token.type") == kind)
            .fold((0, 0.0), |(n, s), p| {
                (n + p.count, s + p.sum.unwrap_or(0.0))
            })
    };
    assert_eq!(by_type("input"), (BURST as u64, 14.0 * BURST as f64));
    assert_eq!(by_type("output"), (BURST as u64, 37.0 * BURST as f64));
}

#[test]
fn a_burst_with_content_over_grpc_arrives_whole_in_messages_under_4_mib() {
    let test = "a_burst_with_content_over_grpc_arrives_whole_in_messages_under_4_mib";
    if !common::is_child() {
        common::run_child(
            test,
            &[("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")],
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The fake collector is tonic's server with its default 4 MiB limit on
    // a message: a batch of 512 spans of 10 KB each would be refused whole.
    let mut collector = rt
        .block_on(fake_opentelemetry_collector::FakeCollectorServer::start())
        .unwrap();
    let otel = Otel::builder()
        .protocol(Protocol::Grpc)
        .endpoint(collector.endpoint())
        .metrics(false)
        .build()
        .unwrap();
    let n = 2_000;
    // The collector hands what it receives over a channel of 64: drain it
    // while the calls run, or its handler (and so the export) waits.
    let drain = rt.spawn(async move {
        let (mut spans, mut logs) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(60);
        while (spans.len() < n || logs.len() < n) && Instant::now() < deadline {
            spans.extend(collector.exported_spans(0, Duration::ZERO).await);
            logs.extend(collector.exported_logs(0, Duration::ZERO).await);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        (spans, logs)
    });
    burst(&otel, n, 10_000);
    otel.flush().expect("the collector took every batch");
    let dropped = otel.dropped();
    otel.shutdown().expect("the collector took everything");
    assert_eq!(dropped.total(), 0, "{dropped:?}");
    let (spans, scores) = rt.block_on(drain).unwrap();
    assert_eq!(spans.len(), n);
    let content = spans[0]
        .attributes
        .get("gen_ai.input.messages")
        .expect("the content is exported");
    assert!(content.len() > 10_000, "the whole prompt went out");
    assert_eq!(scores.len(), n);
}

#[test]
fn a_queue_too_small_for_a_slow_collector_says_exactly_what_it_lost() {
    let test = "a_queue_too_small_for_a_slow_collector_says_exactly_what_it_lost";
    let n = 2_000;
    if common::is_child() {
        let endpoint = std::env::var("TEST_ENDPOINT").unwrap();
        let otel = Otel::builder()
            .protocol(Protocol::HttpProtobuf)
            .endpoint(endpoint)
            .metrics(false)
            .max_queue_size(64)
            .max_wait(Duration::from_millis(2))
            .build()
            .unwrap();
        burst(&otel, n, 100);
        let before = otel.dropped();
        assert!(before.spans.total() > 0, "some spans did not fit");
        otel.shutdown().expect("the receiver took what it was sent");
        let after = llm_traced::otel::dropped();
        println!("SPANS_DROPPED {}", after.spans.total());
        println!("SCORES_DROPPED {}", after.scores.total());
        return;
    }
    let receiver = Receiver::start_slow(Duration::from_millis(50));
    let out = common::run_child(test, &[("TEST_ENDPOINT", receiver.endpoint.as_str())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let spans = receiver.spans().len() as u64;
    let scores = receiver.logs().len() as u64;
    let n = n as u64;
    assert!(spans < n, "the queue was too small: {spans} of {n} arrived");

    // The first drop said so, naming the variable to raise.
    let first = stderr
        .lines()
        .find(|l| l.contains("OpenTelemetry spans are being dropped"))
        .unwrap_or_else(|| panic!("no line about the first drop: {stderr}"));
    // Set in code: the line names the builder's setting, not the variable.
    assert!(first.contains("max_queue_size"), "{first}");
    assert!(first.contains("64 spans"), "{first}");

    // The shutdown's totals are what the receiver is missing, exactly.
    assert_eq!(not_exported(&stderr, "spans"), n - spans, "{stderr}");
    assert_eq!(
        not_exported(&stderr, "score log records"),
        n - scores,
        "{stderr}"
    );
    assert_eq!(printed(&stdout, "SPANS_DROPPED"), n - spans);
    assert_eq!(printed(&stdout, "SCORES_DROPPED"), n - scores);
}

/// Runs `n` calls in a child exporting to `endpoint` with a queue of 100;
/// returns how long the calls took (ms), how long the child ran, and its stderr.
fn against(test: &str, endpoint: &str, n: usize) -> Option<(u64, Duration, String)> {
    if common::is_child() {
        let otel = Otel::builder()
            .protocol(Protocol::HttpProtobuf)
            .endpoint(std::env::var("TEST_ENDPOINT").unwrap())
            .metrics(false)
            .max_queue_size(100)
            .build()
            .unwrap();
        let took = burst(&otel, n, 100);
        println!("CALLS_MS {}", took.as_millis());
        drop(otel); // the guard's drop: bounded, and it prints the total
        return None;
    }
    let started = Instant::now();
    let out = common::run_child(test, &[("TEST_ENDPOINT", endpoint)]);
    let ran = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((
        printed(&stdout, "CALLS_MS"),
        ran,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A collector that hangs, or is down: the calls stay fast, the exit stays
/// bounded, and the total says every span was lost.
fn bounded(test: &str, endpoint: &str, exit_within: Duration) {
    let n = 3_000;
    let Some((calls_ms, ran, stderr)) = against(test, endpoint, n) else {
        return;
    };
    eprintln!("{test}: the calls took {calls_ms} ms, the child ran {ran:?}");
    // Without the breaker, each of the 2,900 calls that find the queue full
    // would wait its 100 ms: about five minutes; without the stall check,
    // until the exporter's own 10 s timeout fails the export. With it,
    // callers wait only until an export has failed, or hung for a second.
    assert!(calls_ms < 5_000, "the calls took {calls_ms} ms");
    assert!(ran < exit_within, "the child ran {ran:?}");
    assert_eq!(not_exported(&stderr, "spans"), n as u64, "{stderr}");
    assert!(
        stderr.contains("collector at http://127.0.0.1:"),
        "{stderr}"
    );
}

#[test]
fn a_hanging_collector_neither_slows_the_calls_nor_holds_the_exit() {
    // The shutdown's 5 s for spans, then for scores (metrics are off here).
    bounded(
        "a_hanging_collector_neither_slows_the_calls_nor_holds_the_exit",
        &otlp::hanging_endpoint(),
        Duration::from_secs(20),
    );
}

#[test]
fn a_collector_that_is_down_neither_slows_the_calls_nor_holds_the_exit() {
    bounded(
        "a_collector_that_is_down_neither_slows_the_calls_nor_holds_the_exit",
        &otlp::down_endpoint(),
        Duration::from_secs(10),
    );
}
