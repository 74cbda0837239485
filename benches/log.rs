//! The structured log: what a call costs its caller with the JSON-lines sink
//! on (the writing happens on the background thread), and how many records
//! per second the writer sustains.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench log
//! ```

use std::hint::black_box;
use std::time::Instant;

use llm_traced::llm_traced;

mod thread_cpu;
use serde_json::{json, Value};

fn response() -> &'static Value {
    static R: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"}}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28}})
    })
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
fn traced(messages: &[Value]) -> &'static Value {
    black_box(messages);
    response()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("llm-traced-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("calls.jsonl");
    // A queue big enough for the sustained run, so that the callers' time is
    // their own, not time spent waiting for the writer; lossy beyond it, so
    // that the divan samples below measure the caller, not back-pressure.
    llm_traced::Config::default()
        .log_file(&log)
        .log_queue(1 << 20)
        .log_lossy(true)
        .install()
        .unwrap();

    // Sustained: records per second from call to flushed line.
    let n = 200_000;
    let messages = vec![json!({"role": "user", "content": "Hello there, who are you?"})];
    let start = Instant::now();
    let cpu = thread_cpu::now();
    for _ in 0..n {
        traced(black_box(&messages));
    }
    let handed_over = start.elapsed();
    let cpu = thread_cpu::now() - cpu;
    assert!(llm_traced::log::flush());
    let flushed = start.elapsed();
    let bytes = std::fs::metadata(&log).unwrap().len();
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(lines, n, "no record lost");
    eprintln!(
        "sustained: {n} records written and flushed in {:.3} s = {:.0} records/s ({:.1} MB/s of JSON lines); \
         the callers spent {:.2} µs per call ({:.2} µs of their CPU time)",
        flushed.as_secs_f64(),
        n as f64 / flushed.as_secs_f64(),
        bytes as f64 / 1e6 / flushed.as_secs_f64(),
        handed_over.as_secs_f64() * 1e6 / n as f64,
        cpu.as_secs_f64() * 1e6 / n as f64
    );
    divan::main();
    let _ = std::fs::remove_dir_all(&dir);
}

#[divan::bench(sample_count = 100, sample_size = 200)]
fn caller_cost_with_json_log(bencher: divan::Bencher) {
    let messages = vec![json!({"role": "user", "content": "Hello there, who are you?"})];
    bencher.bench_local(|| traced(black_box(&messages)));
}

#[divan::bench(args = [1_000, 100_000])]
fn redaction_throughput(bencher: divan::Bencher, len: usize) {
    let sentence =
        "Please summarise the quarterly report for the team, version 2.4.1, due 2024-05-17. ";
    let mut text = String::new();
    while text.len() < len {
        text.push_str(sentence);
        if text.len().is_multiple_of(7) {
            text.push_str("Contact jane.doe@example.com or +1 (555) 123-4567. ");
        }
    }
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| llm_traced::redaction::redact(black_box(&text)));
}
