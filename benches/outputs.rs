//! Per-call cost with outputs on: saved conversation files (a JSON file per
//! call), and debug blocks (rendered into `io::sink()`) plus saved files.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench outputs                                  # save
//! LLM_TRACED_BENCH_OUTPUTS=debug_save cargo bench -p llm-traced-integration --bench outputs
//! ```
//!
//! The configuration is process-wide, hence one mode per run.
//!
//! Before the divan samples, a sustained burst: 20,000 calls with a prompt of
//! about 300 tokens, timed on the caller's side (mean per call), then the
//! flush that waits for every file, which gives the files written per second.
//! `LLM_TRACED_BENCH_BURST=0` leaves it out.

use std::hint::black_box;
use std::sync::OnceLock;

use llm_traced::llm_traced;

mod thread_cpu;
use serde_json::{json, Value};

fn main() {
    let dir = std::env::temp_dir().join(format!("llm-traced-bench-{}", std::process::id()));
    let mode = std::env::var("LLM_TRACED_BENCH_OUTPUTS").unwrap_or_else(|_| "save".to_owned());
    let config = llm_traced::Config::default()
        .save_conversations(true)
        .conversations_dir(&dir);
    let config = match mode.as_str() {
        "save" => config,
        "debug_save" => config
            .debug(true)
            .log_prompts(true)
            .log_responses(true)
            .debug_to(std::io::sink()),
        other => panic!("LLM_TRACED_BENCH_OUTPUTS={other}: expected save or debug_save"),
    };
    eprintln!("outputs: {mode}, files in {}", dir.display());
    config.install().unwrap();
    if std::env::var("LLM_TRACED_BENCH_BURST").as_deref() != Ok("0") {
        burst(&dir, 20_000);
    }
    divan::main();
    let _ = std::fs::remove_dir_all(&dir);
}

fn response() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"}}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28}})
    })
}

fn messages() -> Vec<Value> {
    vec![
        json!({"role": "system", "content": "You are a helpful assistant."}),
        json!({"role": "user", "content": "Hello there, who are you?"}),
    ]
}

/// A burst of `calls` calls with a ~300-token prompt: the caller's mean cost,
/// then the time until every file is written.
fn burst(dir: &std::path::Path, calls: usize) {
    let prompt = "Summarise the following meeting notes for the team, keeping every \
        decision and owner, and list open questions at the end. "
        .repeat(10);
    let m = vec![
        json!({"role": "system", "content": "You are a careful assistant that writes short summaries."}),
        json!({"role": "user", "content": prompt}),
    ];
    let start = std::time::Instant::now();
    let cpu = thread_cpu::now();
    for _ in 0..calls {
        black_box(traced(black_box(&m)));
    }
    let called = start.elapsed();
    let cpu = thread_cpu::now() - cpu;
    assert!(llm_traced::flush(), "the writer did not finish");
    let written = start.elapsed();
    let files = std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
            .count()
        })
        .unwrap_or(0);
    eprintln!(
        "burst: {calls} calls, {:.2} µs per call on the caller's thread ({:.2} µs of its CPU time); {files} files written in {:.2} s ({:.0} files/s)",
        called.as_secs_f64() * 1e6 / calls as f64,
        cpu.as_secs_f64() * 1e6 / calls as f64,
        written.as_secs_f64(),
        files as f64 / written.as_secs_f64(),
    );
}

#[inline(never)]
fn bare(messages: &[Value]) -> &'static Value {
    black_box(messages);
    response()
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
fn traced(messages: &[Value]) -> &'static Value {
    black_box(messages);
    response()
}

#[divan::bench(sample_count = 30, sample_size = 20)]
fn bare_call(bencher: divan::Bencher) {
    let m = messages();
    bencher.bench_local(|| bare(black_box(&m)));
}

#[divan::bench(sample_count = 30, sample_size = 20)]
fn llm_traced_call(bencher: divan::Bencher) {
    let m = messages();
    bencher.bench_local(|| traced(black_box(&m)));
}
