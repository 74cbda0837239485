//! Streamed responses: the recorded SSE streams in `core/tests/fixtures/raw_sse`
//! replayed chunk by chunk; streams cut mid-way, dropped early, failing.

mod common;

use std::pin::Pin;
use std::time::Duration;

use common::{everything_on, one_record, sse_events};
use futures::{Stream, StreamExt};
use llm_traced::{llm_traced, Status};
use serde_json::Value;

#[llm_traced(name = "replay", provider = "openai", model = "gpt-4o")]
fn replay(fixture: &str) -> impl Stream<Item = Value> {
    futures::stream::iter(sse_events(fixture))
}

async fn replay_and_read(fixture: &'static str) -> (Vec<Value>, llm_traced::CallRecord) {
    let h = everything_on();
    let before: std::collections::HashSet<_> = common::records_named(&h.dir, "replay")
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    let chunks: Vec<Value> = replay(fixture).collect().await;
    let record = common::records_named(&h.dir, "replay")
        .into_iter()
        .find(|r| !before.contains(&r.request_id))
        .unwrap();
    (chunks, record)
}

#[tokio::test]
async fn replayed_streams_are_recorded_like_any_call() {
    // One at a time: the records of `replay` are told apart by what is new.
    let (chunks, r) = replay_and_read("openai_chat_stream_include_usage_text.sse").await;
    assert_eq!(
        chunks,
        sse_events("openai_chat_stream_include_usage_text.sse"),
        "chunks pass through untouched"
    );
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some("I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.")
    );
    assert_eq!(r.finish_reasons, ["stop"]);
    let u = r.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (Some(14), Some(30), Some(44))
    );
    assert_eq!(r.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(r.stream.unwrap().chunks, 33);
    assert!(r.stream.unwrap().completed);
    assert!(r.time_to_first_chunk_ms.is_some());
    assert_eq!(r.status, Status::Ok);

    let (_, r) = replay_and_read("openai_chat_stream_include_usage_parallel_tool_calls.sse").await;
    assert_eq!(r.finish_reasons, ["tool_calls"]);
    assert_eq!(
        r.tool_calls.len(),
        2,
        "parallel tool calls assembled by index"
    );
    for call in &r.tool_calls {
        assert!(call.id.as_deref().unwrap().starts_with("call_"));
        let _: Value = serde_json::from_str(&call.arguments).expect("fragments assemble into JSON");
    }
    assert_eq!(r.usage.unwrap().total_tokens, Some(209));

    let (_, r) = replay_and_read("openai_chat_stream_include_usage_tool_call.sse").await;
    assert_eq!(r.tool_calls.len(), 1);
    let _: Value = serde_json::from_str(&r.tool_calls[0].arguments).unwrap();

    let (_, r) = replay_and_read("openai_chat_stream_include_usage_finish_length.sse").await;
    assert_eq!(r.finish_reasons, ["length"]);
    assert_eq!(r.response.unwrap().text.as_deref(), Some("{\""));
    assert_eq!(r.level, "warn");
    assert_eq!(r.warnings, ["truncated"]);

    let (_, r) = replay_and_read("anthropic_stream_text.sse").await;
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some("Hello there!")
    );
    assert_eq!(r.finish_reasons, ["end_turn"]);
    assert_eq!(r.response_model.as_deref(), Some("claude-3-opus-latest"));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens),
        (Some(11), Some(6)),
        "message_start + message_delta"
    );

    let (_, r) = replay_and_read("anthropic_stream_tool_use.sse").await;
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some("I'll check the current weather in Paris for you.")
    );
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&r.tool_calls[0].arguments).unwrap(),
        serde_json::json!({"location": "Paris"})
    );
    assert_eq!(r.finish_reasons, ["tool_use"]);
    assert_eq!(r.usage.unwrap().output_tokens, Some(65));
}

#[llm_traced(name = "slow_start", model = "gpt-4o")]
async fn slow_start() -> Result<impl Stream<Item = Value>, String> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let events = sse_events("openai_chat_stream_include_usage_text.sse");
    Ok(futures::stream::iter(events).then(|e| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        e
    }))
}

#[tokio::test]
async fn time_to_first_chunk_and_total_duration() {
    let h = everything_on();
    let stream = slow_start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await; // the caller takes its time
    let n = stream.count().await;
    assert_eq!(n, 33);
    let r = one_record(&h.dir, "slow_start");
    let ttft = r.time_to_first_chunk_ms.unwrap();
    assert!(ttft >= 20.0, "{ttft}");
    assert!(
        r.latency_ms >= ttft + 30.0,
        "the call lasts until the stream ends: {} vs {ttft}",
        r.latency_ms
    );
    assert_eq!(r.status, Status::Ok);
}

#[llm_traced(name = "cut_stream", model = "gpt-4o")]
fn cut_stream() -> impl Stream<Item = Result<Value, std::io::Error>> {
    let mut items: Vec<Result<Value, std::io::Error>> =
        sse_events("openai_chat_stream_include_usage_text.sse")
            .into_iter()
            .take(4)
            .map(Ok)
            .collect();
    items.push(Err(std::io::Error::other("connection reset by peer")));
    futures::stream::iter(items)
}

#[tokio::test]
async fn a_stream_failing_mid_way_keeps_the_partial_text() {
    let h = everything_on();
    let items: Vec<_> = cut_stream().collect().await;
    assert_eq!(items.len(), 5);
    assert!(items[4].is_err(), "the error passes through to the caller");
    let r = one_record(&h.dir, "cut_stream");
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.response.unwrap().text.as_deref(), Some("I'm unable to"));
    let error = r.error.unwrap();
    assert_eq!(error.message, "connection reset by peer");
    assert_eq!(error.error_type, "network");
}

#[llm_traced(name = "dropped_stream", model = "gpt-4o")]
fn dropped_stream() -> impl Stream<Item = Value> {
    futures::stream::iter(sse_events("openai_chat_stream_include_usage_text.sse"))
}

#[tokio::test]
async fn a_stream_dropped_early_is_marked_abandoned_with_what_it_received() {
    let h = everything_on();
    let mut stream = Box::pin(dropped_stream());
    let _first = stream.next().await.unwrap();
    drop(stream);
    let r = one_record(&h.dir, "dropped_stream");
    assert_eq!(r.status, Status::Cancelled);
    assert_eq!(r.error.as_ref().unwrap().error_type, "abandoned");
    assert!(r
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("after 1 chunk(s)"));
    assert_eq!(
        r.stream.unwrap(),
        llm_traced::record::StreamRecord {
            chunks: 1,
            completed: false
        }
    );
    assert_eq!(
        r.response.unwrap().text.as_deref(),
        Some(""),
        "the first chunk only sets the role"
    );
}

#[llm_traced(name = "refused_stream", model = "gpt-4o")]
async fn refused_stream() -> Result<impl Stream<Item = Value>, String> {
    if true {
        return Err("HTTP 401 Unauthorized: invalid api key".to_owned());
    }
    Ok(futures::stream::iter(Vec::new()))
}

#[tokio::test]
async fn a_call_that_fails_before_streaming_is_an_error_record() {
    let h = everything_on();
    assert!(refused_stream().await.is_err());
    let r = one_record(&h.dir, "refused_stream");
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error.unwrap().error_type, "authentication");
    assert!(r.stream.is_none());
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Value, String>> + Send>>;

#[llm_traced(name = "boxed_stream", model = "gpt-4o", stream)]
async fn boxed_stream() -> Result<Chunks, String> {
    let events: Vec<Result<Value, String>> =
        sse_events("openai_chat_stream_include_usage_tool_call.sse")
            .into_iter()
            .map(Ok)
            .collect();
    Ok(Box::pin(futures::stream::iter(events)))
}

#[tokio::test]
async fn named_boxed_streams_with_the_stream_argument() {
    let h = everything_on();
    let stream: Chunks = boxed_stream().await.unwrap();
    assert_eq!(stream.count().await, 10);
    let r = one_record(&h.dir, "boxed_stream");
    assert_eq!(r.tool_calls.len(), 1);
    assert!(r.stream.unwrap().completed);
    assert_eq!(r.finish_reasons, ["tool_calls"]);
}

#[llm_traced(name = "string_stream")]
fn string_stream() -> impl Stream<Item = String> {
    futures::stream::iter(vec!["Hel".to_owned(), "lo".to_owned()])
}

#[tokio::test]
async fn text_deltas_as_strings() {
    let h = everything_on();
    assert_eq!(string_stream().collect::<Vec<_>>().await.concat(), "Hello");
    assert_eq!(
        one_record(&h.dir, "string_stream")
            .response
            .unwrap()
            .text
            .as_deref(),
        Some("Hello")
    );
}

#[llm_traced(name = "truncated_stream", model = "gpt-4o")]
fn truncated_stream() -> impl Stream<Item = Value> {
    // The connection closed after six events: no finish reason, no usage.
    futures::stream::iter(
        sse_events("openai_chat_stream_include_usage_text.sse")
            .into_iter()
            .take(6),
    )
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_flagged() {
    let h = everything_on();
    assert_eq!(truncated_stream().count().await, 6);
    let r = one_record(&h.dir, "truncated_stream");
    assert_eq!(
        r.response.unwrap().text.as_deref(),
        Some("I'm unable to provide real")
    );
    assert!(r.finish_reasons.is_empty() && r.usage.is_none());
    assert_eq!(r.level, "warn");
    assert_eq!(r.warnings, ["stream_cut"]);
}
