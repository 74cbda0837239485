//! The `tracing` span and event every call produces, with no llm-traced
//! output switched on: a subscriber alone is enough.

#[path = "common/collect.rs"]
mod collect;

use collect::Collect;
use llm_traced::{llm_traced, Config};
use serde_json::Value;

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn traced_ok() -> Value {
    serde_json::from_str(include_str!(
        "../core/tests/fixtures/openai_chat_completion_parallel_tool_calls.json"
    ))
    .unwrap()
}

#[llm_traced(provider = "anthropic", model = model)]
async fn traced_err(model: &str) -> Result<String, std::io::Error> {
    let _ = model;
    Err(std::io::Error::other("connection reset"))
}

#[llm_traced(kind = "tool", tool_call_id = call_id)]
fn traced_tool(call_id: &str, city: &str) -> Result<String, std::io::Error> {
    Ok(format!("sunny in {city}"))
}

#[test]
fn span_and_event_follow_the_genai_conventions() {
    Config::default().install().unwrap();
    let collect = Collect::default();
    tracing::subscriber::with_default(collect.subscriber(), || {
        futures::executor::block_on(async {
            traced_ok().await;
            traced_err("claude-sonnet-4-5").await.unwrap_err();
        });
        traced_tool("call_t9", "Oslo").unwrap();
    });

    let spans = collect.spans.lock().unwrap().clone();
    let events = collect.events.lock().unwrap().clone();
    assert_eq!(spans.len(), 3);
    assert_eq!(events.len(), 3);

    let (ok_id, ok_span) = spans
        .iter()
        .find(|(_, s)| s.name == "chat gpt-4o")
        .expect("span named after operation and model");
    let f = &ok_span.fields;
    assert_eq!(f["gen_ai.operation.name"], "chat");
    assert_eq!(f["gen_ai.provider.name"], "openai");
    assert_eq!(f["gen_ai.request.model"], "gpt-4o");
    assert_eq!(f["gen_ai.response.model"], "gpt-4o-2024-08-06");
    assert_eq!(
        f["gen_ai.response.id"],
        "chatcmpl-ABfvyvfNWKcl7Ohqos4UFrmMs1v4C"
    );
    assert_eq!(f["gen_ai.usage.input_tokens"], "149");
    assert_eq!(f["gen_ai.usage.output_tokens"], "60");
    // (An exported span gets them as a string array instead, with every
    // attribute under the conventions' names: tests/otel.rs.)
    assert_eq!(f["gen_ai.response.finish_reasons"], "[\"tool_calls\"]");
    assert!(
        !f.contains_key("otel.name"),
        "a literal model names the span at compile time"
    );
    assert_eq!(f["code.function"], "tracing_span::traced_ok");
    assert_eq!(f["request_id"].len(), 36);
    assert!(f.contains_key("latency_ms"));
    assert!(!f.contains_key("error.type"));

    let (level, parent, ok_event) = events
        .iter()
        .find(|(_, _, e)| {
            e.fields.get("gen_ai.provider.name").map(String::as_str) == Some("openai")
        })
        .unwrap();
    assert_eq!(level, "INFO");
    assert_eq!(
        *parent,
        Some(*ok_id),
        "the event sits inside the call's span"
    );
    assert_eq!(ok_event.fields["message"], "llm_request");
    assert_eq!(ok_event.fields["gen_ai.usage.input_tokens"], "149");
    assert_eq!(ok_event.fields["request_id"], f["request_id"]);
    assert_eq!(ok_event.fields["status"], "ok");

    // A model given by expression: the span's static name is the operation,
    // and `otel.name` carries the full name for OpenTelemetry.
    let (_, err_span) = spans.iter().find(|(_, s)| s.name == "chat").unwrap();
    assert_eq!(err_span.fields["otel.name"], "chat claude-sonnet-4-5");
    assert_eq!(err_span.fields["gen_ai.request.model"], "claude-sonnet-4-5");
    assert_eq!(
        err_span.fields["error.type"], "network",
        "diagnosed from \"connection reset\""
    );
    assert_eq!(err_span.fields["otel.status_code"], "ERROR");
    let (level, _, err_event) = events
        .iter()
        .find(|(_, _, e)| e.fields.get("status").map(String::as_str) == Some("error"))
        .unwrap();
    assert_eq!(level, "ERROR");
    assert_eq!(err_event.fields["error.message"], "connection reset");

    // A tool step: its name and call id, never its arguments or result.
    let (tool_id, tool_span) = spans
        .iter()
        .find(|(_, s)| s.name == "execute_tool traced_tool")
        .unwrap();
    assert_eq!(tool_span.fields["gen_ai.tool.name"], "traced_tool");
    assert_eq!(tool_span.fields["gen_ai.tool.call.id"], "call_t9");
    let (_, _, tool_event) = events
        .iter()
        .find(|(_, parent, _)| *parent == Some(*tool_id))
        .unwrap();
    assert_eq!(tool_event.fields["gen_ai.tool.call.id"], "call_t9");
    assert_eq!(tool_event.fields["kind"], "tool");
    let everything = format!("{tool_span:?} {tool_event:?}");
    assert!(!everything.contains("Oslo"), "{everything}");
}
