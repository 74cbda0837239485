//! Redaction: throughput of the one-pass scanner on chat-like text with every
//! built-in detector on, the cost per call of scrubbing a typical exchange,
//! and what user patterns (`LLM_REDACT_PATTERNS`, `regex-lite`) add.
//!
//! ```sh
//! cargo bench --bench redaction
//! ```

use std::hint::black_box;

use llm_traced::redaction::{redact_with, Mode, Rules};
use llm_traced::CallRecord;

fn main() {
    divan::main();
}

/// Chat-like text of about `len` bytes: prose, a little code and config,
/// `key: value` lines, numbers and dates, some personal data; no secret
/// (the common case a scrubbing step sees).
fn chat_text(len: usize) -> String {
    let pieces = [
        "Please summarise the quarterly report for the team, version 2.4.1, due 2024-05-17. ",
        "The model said: the answer depends on the context window and the max_tokens setting. ",
        "Here is my config:\nmodel: gpt-4o\ntemperature: 0.2\nmax_tokens: 4096\n",
        "```rust\nfn main() { let x = vec![1, 2, 3]; println!(\"{:?}\", x); }\n```\n",
        "Can you explain why std::io::Error is returned at 10:30 when the file is missing? ",
        "Contact jane.doe@example.com or +1 (555) 123-4567 about order 1234567890. ",
        "See https://docs.example.com/guide?page=2&sort=asc for the details. ",
        "{\"role\": \"user\", \"content\": \"What is the capital of France?\", \"n\": 1}\n",
        "Sure! Paris is the capital of France; it has about 2.1 million inhabitants. ",
    ];
    let mut text = String::new();
    let mut k = 0;
    while text.len() < len {
        text.push_str(pieces[k % pieces.len()]);
        k += 7;
    }
    text
}

#[divan::bench(args = [1_000, 100_000])]
fn all_detectors(bencher: divan::Bencher, len: usize) {
    let text = chat_text(len);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| redact_with(black_box(&text), Mode::All));
}

/// A tool's JSON result: a `:` every few bytes, each a key to look at.
#[divan::bench(args = [Mode::All, Mode::SecretsOnly])]
fn json_tool_result_100kb(bencher: divan::Bencher, mode: Mode) {
    let row = r#"{"id": 1234, "name": "Widget", "price": 9.99, "in_stock": true, "tags": ["a", "b"], "updated_at": "2024-05-17T10:30:00Z", "max_tokens": 4096, "token_count": 12},"#;
    let mut text = String::from("[");
    while text.len() < 100_000 {
        text.push_str(row);
    }
    text.push_str("{}]");
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| redact_with(black_box(&text), mode));
}

#[divan::bench(args = [1_000, 100_000])]
fn secrets_only(bencher: divan::Bencher, len: usize) {
    let text = chat_text(len);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| redact_with(black_box(&text), Mode::SecretsOnly));
}

/// A typical exchange, as the record of one call: system and user messages,
/// an answer, a tool call with JSON arguments, the bound context.
fn exchange() -> CallRecord {
    let record = serde_json::json!({
        "schema": 1, "request_id": "0190b8e2-7f3a-7c1e-9d2b-3f4a5b6c7d8e",
        "kind": "llm", "name": "ask", "function": "app::ask", "operation": "chat",
        "started_at": "2026-11-27T08:35:16.123Z", "ended_at": "2026-11-27T08:35:17.456Z",
        "latency_ms": 1333.0, "status": "ok", "level": "info",
        "user_id": "u-42", "session_id": "chat-7", "tenant_id": "acme",
        "tags": ["beta", "eu"], "metadata": {"plan": "pro", "region": "eu-west-1"},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant for a travel agency. Answer briefly and cite the booking reference when there is one."},
            {"role": "user", "content": "Hi, I'm Jane (jane.doe@example.com). My flight LH 1234 on 2024-05-17 was cancelled; can you rebook me on the next one and tell me the new departure time? My booking reference is XK7P2Q."},
        ],
        "response": {"text": "I'm sorry about the cancellation. I've found LH 1236 departing at 14:35 the same day; shall I rebook you on it? Your booking reference stays XK7P2Q."},
        "tool_calls": [{"id": "call_1", "name": "search_flights",
            "arguments": "{\"from\": \"FRA\", \"to\": \"LHR\", \"date\": \"2024-05-17\", \"after\": \"12:00\"}"}],
    });
    CallRecord::from_json(&record.to_string()).unwrap()
}

#[divan::bench]
fn scrub_a_typical_exchange(bencher: divan::Bencher) {
    let rules = Rules::new();
    let record = exchange();
    bencher
        .with_inputs(|| record.clone())
        .bench_local_refs(|r| rules.scrub_record(r, Mode::All));
}

/// The clone that `scrub_a_typical_exchange` measures too: subtract it.
#[divan::bench]
fn clone_of_the_exchange(bencher: divan::Bencher) {
    let record = exchange();
    bencher
        .with_inputs(|| ())
        .bench_local_values(|()| black_box(record.clone()));
}

/// User patterns on 100 KB of chat-like text: 0, 1, 5 and 20 patterns of
/// the kind a user adds (an id format, a project code, a host), each
/// starting with a literal.
#[divan::bench(args = [0, 1, 5, 20])]
fn user_patterns(bencher: divan::Bencher, patterns: usize) {
    let lines: Vec<String> = (0..patterns)
        .map(|k| match k % 3 {
            0 => format!("employee_{k}: EMP{k}-[0-9]{{6}}"),
            1 => format!("PRJ{k}-[A-Z]{{3}}-[0-9]{{4}}"),
            _ => format!("internal{k}\\.example\\.net/[a-z0-9]+"),
        })
        .collect();
    let (rules, warnings) = Rules::new().with_patterns("bench", &lines.join("\n"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let text = chat_text(100_000);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| rules.redact(black_box(&text), Mode::All));
}

/// User patterns that start with no literal (a character class, a group):
/// `regex-lite` runs over every byte, once per pattern.
#[divan::bench(args = [1, 5])]
fn user_patterns_without_literal_prefix(bencher: divan::Bencher, patterns: usize) {
    let lines: Vec<String> = (0..patterns)
        .map(|k| format!("[A-Z]{{2}}{k}[0-9]{{7}}"))
        .collect();
    let (rules, warnings) = Rules::new().with_patterns("bench", &lines.join("\n"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let text = chat_text(100_000);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| rules.redact(black_box(&text), Mode::All));
}

/// What a call's start pays to scrub its bound ids (user, session, tenant)
/// for the span fields: `scrub_secrets` on three short strings.
#[divan::bench]
fn scrub_secrets_of_three_ids(bencher: divan::Bencher) {
    let ids = ["u-42", "chat-7f3a9c", "acme-eu"];
    bencher.bench_local(|| {
        for id in ids {
            black_box(llm_traced::redaction::scrub_secrets(black_box(id)));
        }
    });
}
