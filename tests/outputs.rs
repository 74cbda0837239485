//! What a user sees with every output on: saved files, debug blocks, and the
//! call's own behaviour left untouched (results, panics, cancellation).

mod common;

use std::collections::HashSet;

use common::{debug_block, everything_on, one_record, records_named};
use llm_traced::{llm_traced, Status};
use serde_json::{json, Value};

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn concurrent_call(messages: Vec<Value>, i: usize) -> Value {
    tokio::task::yield_now().await;
    json!({"id": format!("chatcmpl-{i}"), "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": format!("answer {i}")}}],
        "usage": {"prompt_tokens": i, "completion_tokens": 1, "total_tokens": i + 1}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_calls_give_two_hundred_valid_distinct_files() {
    let h = everything_on();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            tokio::spawn(concurrent_call(
                vec![json!({"role": "user", "content": format!("q{i}")})],
                i,
            ))
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let records = records_named(&h.dir, "concurrent_call");
    assert_eq!(records.len(), 200);
    let ids: HashSet<_> = records.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), 200, "request ids are unique");
    let answers: HashSet<_> = records
        .iter()
        .map(|r| r.response_id.clone().unwrap())
        .collect();
    assert_eq!(answers.len(), 200, "each file holds its own call");
    for r in &records {
        let i: u64 = r.response_id.as_ref().unwrap()["chatcmpl-".len()..]
            .parse()
            .unwrap();
        assert_eq!(r.usage.unwrap().input_tokens, Some(i));
        assert_eq!(r.messages.as_ref().unwrap()[0]["content"], format!("q{i}"));
        assert_eq!(
            r.response.as_ref().unwrap().text.as_deref(),
            Some(format!("answer {i}").as_str())
        );
    }
    // Names sort by time: the file order is the start order.
    assert!(llm_traced::flush());
    let mut names: Vec<String> = std::fs::read_dir(&h.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let sorted = {
        let mut s = names.clone();
        s.sort();
        s
    };
    names.sort_by_key(|n| n[..19].to_owned());
    assert_eq!(
        names.iter().map(|n| &n[..19]).collect::<Vec<_>>(),
        sorted.iter().map(|n| &n[..19]).collect::<Vec<_>>()
    );
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "no temporary file left behind"
    );
}

#[llm_traced(name = "utf8_call")]
async fn utf8_call(messages: Vec<Value>) -> String {
    "é".repeat(100)
}

#[tokio::test]
async fn debug_block_shortens_at_character_boundaries() {
    let h = everything_on();
    let crabs = "🦀".repeat(60);
    utf8_call(vec![json!({"role": "user", "content": crabs})]).await;
    let block = debug_block(&h.debug, "utf8_call");
    // debug_max_chars is 40 in this harness.
    assert!(
        block.contains(&format!("[user] {}… [+27 chars]", "🦀".repeat(33))),
        "{block}"
    );
    assert!(
        block.contains(&format!("response  {}… [+60 chars]", "é".repeat(40))),
        "{block}"
    );
    // The saved file keeps everything.
    let r = one_record(&h.dir, "utf8_call");
    assert_eq!(r.response.unwrap().text.unwrap().chars().count(), 100);
}

#[llm_traced(name = "debug_fields", model = "gpt-4o", provider = "openai")]
async fn debug_fields() -> Value {
    common::fixture("openai_chat_completion_cached_tokens.json")
}

#[tokio::test]
async fn debug_block_shows_function_model_latency_tokens_and_finish() {
    let h = everything_on();
    debug_fields().await;
    let block = debug_block(&h.debug, "debug_fields");
    assert!(
        block.contains("LLM call  debug_fields  (outputs::debug_fields)"),
        "{block}"
    );
    assert!(
        block.contains("model     gpt-4o -> gpt-4o-2024-08-06 · openai · chat"),
        "{block}"
    );
    assert!(
        block.contains("tokens    2620 in (2560 cached) · 100 out · 2720 total"),
        "{block}"
    );
    assert!(block.contains("finish    length"), "{block}");
    assert!(block.contains(" ms · request "), "{block}");
}

/// An error type that can tell its HTTP status and body, like a real client's.
#[derive(Debug, PartialEq)]
struct ApiError {
    status: u16,
    body: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error code: {}", self.status)
    }
}

impl llm_traced::HttpErrorDetails for ApiError {
    fn http_status(&self) -> Option<u16> {
        Some(self.status)
    }
    fn response_body(&self) -> Option<String> {
        Some(self.body.clone())
    }
}

fn rate_limited() -> ApiError {
    ApiError {
        status: 429,
        body: common::fixture("openai_error_429_rate_limit_exceeded_tpm.json").to_string(),
    }
}

#[llm_traced(name = "fallible", provider = "openai")]
async fn fallible(fail: bool) -> Result<Value, ApiError> {
    if fail {
        Err(rate_limited())
    } else {
        Ok(common::fixture("openai_chat_completion_text_stop.json"))
    }
}

#[tokio::test]
async fn results_pass_through_untouched_and_errors_are_diagnosed() {
    let h = everything_on();
    assert_eq!(fallible(true).await, Err(rate_limited()));
    assert_eq!(
        fallible(false).await.unwrap(),
        common::fixture("openai_chat_completion_text_stop.json")
    );
    let records = records_named(&h.dir, "fallible");
    assert_eq!(records.len(), 2);
    let failed = records.iter().find(|r| r.status == Status::Error).unwrap();
    let error = failed.error.as_ref().unwrap();
    assert_eq!(error.message, "Error code: 429");
    assert_eq!(error.error_type, "rate_limit");
    assert_eq!(error.http_status, Some(429));
    assert_eq!(error.type_name.as_deref(), Some("outputs::ApiError"));
    let diagnosis = error.diagnosis.as_ref().unwrap();
    assert_eq!(diagnosis.class, llm_traced::ErrorClass::RateLimit);
    assert_eq!(diagnosis.retry_after_ms, Some(26604));
    assert!(diagnosis.retryable);
    assert_eq!(diagnosis.code.as_deref(), Some("rate_limit_exceeded"));
    let block = debug_block(&h.debug, "Error code: 429");
    assert!(block.contains("status    error"), "{block}");
    assert!(
        block.contains("error     [rate_limit] Error code: 429"),
        "{block}"
    );
    assert!(block.contains("retry: yes, after 26.6 s"), "{block}");
    assert!(
        block.contains("docs: https://platform.openai.com/"),
        "{block}"
    );
}

/// An error that only has text: diagnosed from the text, and never confused
/// by numbers that merely contain 429.
#[llm_traced(name = "text_error")]
fn text_error(text: &str) -> Result<String, String> {
    Err(text.to_owned())
}

#[test]
fn text_errors_are_diagnosed_from_their_text() {
    let h = everything_on();
    text_error("This model's maximum context length is 8192 tokens").unwrap_err();
    text_error("prompt used 4290 tokens and failed validation").unwrap_err();
    let records = records_named(&h.dir, "text_error");
    let types: Vec<_> = records
        .iter()
        .map(|r| r.error.as_ref().unwrap().error_type.as_str())
        .collect();
    assert!(types.contains(&"context_length"), "{types:?}");
    assert!(!types.contains(&"rate_limit"), "{types:?}");
}

#[llm_traced(name = "panicking_async")]
async fn panicking_async(messages: Vec<Value>) -> String {
    tokio::task::yield_now().await;
    panic!("model client exploded");
}

#[llm_traced(name = "panicking_sync")]
fn panicking_sync() -> String {
    let n = std::hint::black_box(42);
    panic!("sync exploded {n}");
}

#[tokio::test]
async fn panics_are_recorded_and_go_on_unchanged() {
    let h = everything_on();
    let joined = tokio::spawn(panicking_async(vec![json!("hello")]))
        .await
        .unwrap_err();
    let payload = joined.into_panic();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"model client exploded")
    );
    let r = one_record(&h.dir, "panicking_async");
    assert_eq!(r.status, Status::Panic);
    assert_eq!(r.error.as_ref().unwrap().error_type, "panic");
    assert_eq!(r.error.as_ref().unwrap().message, "model client exploded");

    let caught = std::panic::catch_unwind(panicking_sync).unwrap_err();
    let message = caught
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| caught.downcast_ref::<&str>().map(|s| s.to_string()));
    assert_eq!(message.as_deref(), Some("sync exploded 42"));
    let r = one_record(&h.dir, "panicking_sync");
    assert_eq!(r.status, Status::Panic);
    assert_eq!(r.error.unwrap().message, "sync exploded 42");
}

#[llm_traced(name = "never_finishes")]
async fn never_finishes() -> String {
    std::future::pending::<()>().await;
    unreachable!()
}

#[tokio::test]
async fn a_dropped_future_is_recorded_as_cancelled() {
    let h = everything_on();
    let result = tokio::time::timeout(std::time::Duration::from_millis(30), never_finishes()).await;
    assert!(result.is_err());
    let r = one_record(&h.dir, "never_finishes");
    assert_eq!(r.status, Status::Cancelled);
    assert!(
        r.latency_ms >= 25.0,
        "time until the drop: {}",
        r.latency_ms
    );
    assert!(r.error.unwrap().message.contains("dropped after"));

    // A future dropped before its first poll is a call that never started:
    // no record at all.
    drop(never_finishes());
    assert_eq!(records_named(&h.dir, "never_finishes").len(), 1);
}

// ---------------------------------------------------------------------------
// Tool steps: call id, arguments and result

/// Books a table.
#[llm_traced(kind = "tool", tool_call_id = call_id)]
fn book_table(call_id: &str, guest_email: &str, seats: u8) -> Result<Value, String> {
    Ok(json!({"booking": "B-17", "confirmation_to": guest_email, "seats": seats}))
}

fn book() {
    book_table("call_b1", "jane.doe@example.com", 4).unwrap();
}

const BOOK_ARGUMENTS: &str = r#"{"call_id":"call_b1","guest_email":"[EMAIL]","seats":4}"#;
const BOOK_RESULT: &str = r#"{"booking":"B-17","confirmation_to":"[EMAIL]","seats":4}"#;

#[test]
fn a_tool_step_shows_its_call_id_arguments_and_result_scrubbed() {
    let h = everything_on();
    book();
    let block = debug_block(&h.debug, "book_table");
    assert!(block.contains("tool step  book_table"), "{block}");
    assert!(block.contains("  call id   call_b1"), "{block}");
    // debug_max_chars is 40 in this harness.
    assert!(
        block.contains(r#"  arguments {"call_id":"call_b1","guest_email":"[EMA… [+15 chars]"#),
        "{block}"
    );
    assert!(
        block.contains(r#"  result    {"booking":"B-17","confirmation_to":"[EM… [+16 chars]"#),
        "{block}"
    );
    assert!(!block.contains("jane.doe"), "{block}");
    let r = one_record(&h.dir, "book_table");
    assert_eq!(r.tool_call_id.as_deref(), Some("call_b1"));
    assert_eq!(r.tool_arguments.unwrap().to_string(), BOOK_ARGUMENTS);
    assert_eq!(r.tool_result.unwrap().to_string(), BOOK_RESULT);
    assert_eq!(r.masked.get("email"), Some(&2));
}

#[test]
fn child_tool_step() {
    if common::is_child() {
        book();
        assert!(llm_traced::flush());
    }
}

/// Runs the tool step in a child that saves conversations and logs to a
/// file, with `env`; returns the saved record and the log line, as JSON.
fn tool_step_under(env: &[(&str, &str)]) -> (Value, Value) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("conversations");
    let log = temp.path().join("calls.jsonl");
    let mut all = vec![
        ("LLM_SAVE_CONVERSATIONS", "true"),
        ("LLM_CONVERSATIONS_DIR", dir.to_str().unwrap()),
        ("LLM_LOG_FILE", log.to_str().unwrap()),
    ];
    all.extend_from_slice(env);
    common::run_child("child_tool_step", &all);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let [file] = &files[..] else {
        panic!("one saved file expected: {files:?}")
    };
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let [line] = &common::json_lines(&log)[..] else {
        panic!("one log line expected")
    };
    (saved, line.clone())
}

/// The saved conversation keeps a tool step's arguments and result (saving
/// is the consent); the JSON log keeps each only under its switch, and the
/// call id always.
#[test]
fn tool_content_follows_the_switches_in_the_saved_file_and_the_log() {
    let arguments: Value = serde_json::from_str(BOOK_ARGUMENTS).unwrap();
    let result: Value = serde_json::from_str(BOOK_RESULT).unwrap();
    for (env, log_arguments, log_result) in [
        (&[][..], false, false),
        (&[("LLM_LOG_PROMPTS", "true")][..], true, false),
        (&[("LLM_LOG_RESPONSES", "true")][..], false, true),
        (
            &[("LLM_LOG_PROMPTS", "true"), ("LLM_LOG_RESPONSES", "true")][..],
            true,
            true,
        ),
    ] {
        let (saved, line) = tool_step_under(env);
        assert_eq!(saved["tool_call_id"], "call_b1", "{env:?}");
        assert_eq!(saved["tool_arguments"], arguments, "{env:?}");
        assert_eq!(saved["tool_result"], result, "{env:?}");
        assert!(saved.get("tool_description").is_none(), "{saved}");
        assert_eq!(line["tool_call_id"], "call_b1", "{env:?}");
        assert_eq!(
            line.get("tool_arguments"),
            log_arguments.then_some(&arguments),
            "{env:?}"
        );
        assert_eq!(
            line.get("tool_result"),
            log_result.then_some(&result),
            "{env:?}"
        );
    }
}

#[llm_traced(kind = "tool")]
fn think_fast(i: u32) -> u32 {
    i
}

#[llm_traced(kind = "tool")]
fn search_fast(i: u32) -> u32 {
    i
}

#[llm_traced(kind = "agent")]
fn fast_agent() {
    for i in 0..500 {
        think_fast(i);
        search_fast(i);
    }
}

/// A thousand steps far shorter than a millisecond: their records carry
/// microsecond times, a `seq` in the order they started and request ids
/// that grow with it, so that sorting by (start, seq, id) gives the run.
#[test]
fn sub_millisecond_steps_are_recorded_in_the_order_they_ran() {
    let h = everything_on();
    fast_agent();
    let agent = one_record(&h.dir, "fast_agent");
    let mut steps: Vec<_> = records_named(&h.dir, "think_fast")
        .into_iter()
        .chain(records_named(&h.dir, "search_fast"))
        .filter(|r| r.trace_id == agent.trace_id)
        .collect();
    assert_eq!(steps.len(), 1000);
    steps.sort_by(|a, b| {
        (a.started_at, a.seq, &a.request_id).cmp(&(b.started_at, b.seq, &b.request_id))
    });
    let names: Vec<&str> = steps.iter().map(|r| &*r.name).collect();
    let ran: Vec<&str> = (0..1000)
        .map(|i| {
            if i % 2 == 0 {
                "think_fast"
            } else {
                "search_fast"
            }
        })
        .collect();
    assert_eq!(names, ran);
    assert!(steps.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(steps.windows(2).all(|w| w[0].request_id < w[1].request_id));
    assert!(agent.seq < steps[0].seq, "the agent started first");

    // What the file holds: six fractional digits, latency to the µs.
    let file = std::fs::read_dir(&h.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(&steps[0].request_id))
        .unwrap();
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(name.find('Z'), Some(22), "yyyymmddThhmmss.ffffffZ: {name}");
    let text = std::fs::read_to_string(&file).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    for field in ["started_at", "ended_at"] {
        let t = saved[field].as_str().unwrap();
        assert_eq!(t.len(), "2026-12-01T10:00:00.000000Z".len(), "{field}: {t}");
    }
    let latency = saved["latency_ms"].as_f64().unwrap();
    assert_eq!((latency * 1000.0).round() / 1000.0, latency);
    let printed = saved["latency_ms"].to_string();
    assert!(
        printed.split('.').nth(1).is_none_or(|f| f.len() <= 3),
        "{printed}"
    );
    assert!(saved["seq"].is_u64());
}
