//! Each provider's response shape, read through `LlmResponse`, from the
//! recorded payloads in `core/tests/fixtures` and the providers' documented shapes.

mod common;

use common::fixture;
use llm_traced::{LlmResponse, ResponseInfo, ToolCall, Usage};
use serde_json::json;

fn read(value: &impl LlmResponse) -> ResponseInfo {
    let mut info = ResponseInfo::default();
    value.capture(&mut info);
    info
}

#[test]
fn openai_text_stop() {
    let info = read(&fixture("openai_chat_completion_text_stop.json"));
    assert_eq!(info.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        info.id.as_deref(),
        Some("chatcmpl-ABfvaueLEMLNYbT8YzpJxsmiQ6HSY")
    );
    assert_eq!(info.finish_reasons, ["stop"]);
    assert!(info
        .text
        .as_deref()
        .unwrap()
        .starts_with("I'm unable to provide real-time weather"));
    let usage = info.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(14), Some(37), Some(51))
    );
    assert_eq!(usage.reasoning_tokens, Some(0));
    assert!(info.tool_calls.is_empty() && info.choices.is_empty() && info.error.is_none());
}

#[test]
fn openai_cached_tokens() {
    let usage = read(&fixture("openai_chat_completion_cached_tokens.json"))
        .usage
        .unwrap();
    assert_eq!(usage.input_tokens, Some(2620));
    assert_eq!(usage.cached_input_tokens, Some(2560));
    assert_eq!(usage.output_tokens, Some(100));
}

#[test]
fn openai_finish_length() {
    let info = read(&fixture("openai_chat_completion_finish_length.json"));
    assert_eq!(info.finish_reasons, ["length"]);
    assert_eq!(info.text.as_deref(), Some("{\""));
}

#[test]
fn openai_parallel_tool_calls() {
    let info = read(&fixture("openai_chat_completion_parallel_tool_calls.json"));
    assert_eq!(info.finish_reasons, ["tool_calls"]);
    assert_eq!(info.text, None);
    assert_eq!(
        info.tool_calls,
        [
            ToolCall {
                id: Some("call_fdNz3vOBKYgOIpMdWotB9MjY".into()),
                name: "GetWeatherArgs".into(),
                arguments: r#"{"city": "Edinburgh", "country": "GB", "units": "c"}"#.into(),
            },
            ToolCall {
                id: Some("call_h1DWI1POMJLb0KwIyQHWXD4p".into()),
                name: "get_stock_price".into(),
                arguments: r#"{"ticker": "AAPL", "exchange": "NASDAQ"}"#.into(),
            },
        ]
    );
}

#[test]
fn openai_refusal() {
    let info = read(&fixture("openai_chat_completion_refusal.json"));
    assert_eq!(info.text, None);
    assert_eq!(
        info.refusal.as_deref(),
        Some("I'm very sorry, but I can't assist with that.")
    );
}

#[test]
fn openai_three_choices() {
    let info = read(&fixture("openai_chat_completion_n3_choices.json"));
    assert_eq!(info.finish_reasons, ["stop", "stop", "stop"]);
    assert_eq!(info.choices.len(), 3);
    assert_eq!(info.choices[2].index, 2);
    assert!(info.choices[2].text.as_deref().unwrap().contains("63.0"));
    assert_eq!(info.text, info.choices[0].text);
    assert_eq!(info.usage.unwrap().total_tokens, Some(123));
}

#[test]
fn anthropic_end_turn() {
    let info = read(&fixture("anthropic_message_end_turn.json"));
    assert_eq!(info.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    assert_eq!(info.finish_reasons, ["end_turn"]);
    assert!(info.text.as_deref().unwrap().contains("20°C"));
    let usage = info.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(705), Some(25), Some(730))
    );
    assert_eq!(usage.cached_input_tokens, Some(0));
}

#[test]
fn anthropic_text_and_tool_use() {
    let info = read(&fixture("anthropic_message_text_and_tool_use.json"));
    assert_eq!(info.finish_reasons, ["tool_use"]);
    assert!(info
        .text
        .as_deref()
        .unwrap()
        .starts_with("I'll get the weather"));
    assert_eq!(info.tool_calls.len(), 1);
    assert_eq!(info.tool_calls[0].name, "get_weather");
    assert_eq!(
        info.tool_calls[0].id.as_deref(),
        Some("toolu_01LRanfq6DmHn1yDTB4d1SAh")
    );
    let args: serde_json::Value = serde_json::from_str(&info.tool_calls[0].arguments).unwrap();
    assert_eq!(args, json!({"location": "San Francisco, CA", "units": "f"}));
}

#[test]
fn anthropic_cache_reads_count_as_input() {
    let info = read(
        &json!({"type": "message", "id": "msg_1", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "max_tokens",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 50, "output_tokens": 5}}),
    );
    let usage = info.usage.unwrap();
    assert_eq!(usage.input_tokens, Some(1060));
    assert_eq!(usage.cached_input_tokens, Some(1000));
    assert_eq!(usage.cache_creation_input_tokens, Some(50));
    assert_eq!(info.finish_reasons, ["max_tokens"]);
}

#[test]
fn openai_responses_api() {
    // The shape of `POST /v1/responses`, as the API reference documents it.
    let info = read(&json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc054267", "object": "response", "status": "completed",
        "model": "gpt-4.1-2025-04-14",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "In a peaceful grove", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}
        ],
        "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 12},
                  "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 40}, "total_tokens": 123}
    }));
    assert_eq!(info.model.as_deref(), Some("gpt-4.1-2025-04-14"));
    assert_eq!(info.text.as_deref(), Some("In a peaceful grove"));
    assert_eq!(info.finish_reasons, ["completed"]);
    assert_eq!(info.tool_calls[0].id.as_deref(), Some("call_9"));
    assert_eq!(
        info.usage,
        Some(Usage {
            input_tokens: Some(36),
            output_tokens: Some(87),
            total_tokens: Some(123),
            cached_input_tokens: Some(12),
            cache_creation_input_tokens: None,
            reasoning_tokens: Some(40),
        })
    );
    let cut = read(&json!({"object": "response", "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"}, "output": []}));
    assert_eq!(cut.finish_reasons, ["max_output_tokens"]);
}

#[test]
fn gemini_generate_content() {
    let info = read(&json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "thinking…", "thought": true},
                {"text": "Paris is "}, {"text": "the capital."},
                {"functionCall": {"name": "lookup", "args": {"q": "Paris"}}}
            ]},
            "finishReason": "STOP", "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 6, "thoughtsTokenCount": 20,
                          "cachedContentTokenCount": 4, "totalTokenCount": 34},
        "modelVersion": "gemini-2.5-flash", "responseId": "abc123"
    }));
    assert_eq!(info.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(info.id.as_deref(), Some("abc123"));
    assert_eq!(info.text.as_deref(), Some("Paris is the capital."));
    assert_eq!(info.finish_reasons, ["STOP"]);
    assert_eq!(info.tool_calls[0].name, "lookup");
    assert_eq!(info.tool_calls[0].arguments, r#"{"q":"Paris"}"#);
    let usage = info.usage.unwrap();
    assert_eq!(usage.input_tokens, Some(8));
    assert_eq!(usage.output_tokens, Some(26));
    assert_eq!(usage.reasoning_tokens, Some(20));
    assert_eq!(usage.cached_input_tokens, Some(4));
    assert_eq!(usage.total_tokens, Some(34));

    let blocked = read(
        &json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}),
    );
    assert_eq!(blocked.finish_reasons, ["SAFETY"]);
}

#[test]
fn provider_error_bodies_are_errors() {
    for (file, kind) in [
        (
            "openai_error_400_context_length_exceeded.json",
            "context_length_exceeded",
        ),
        ("openai_error_401_invalid_api_key.json", "invalid_api_key"),
        (
            "openai_error_429_rate_limit_exceeded_tpm.json",
            "rate_limit_exceeded",
        ),
        (
            "anthropic_error_429_rate_limit_error.json",
            "rate_limit_error",
        ),
        (
            "azure_openai_error_400_content_filter.json",
            "content_filter",
        ),
    ] {
        let error = read(&fixture(file))
            .error
            .unwrap_or_else(|| panic!("{file} is an error"));
        assert_eq!(error.type_name, kind, "{file}");
        assert!(!error.message.is_empty());
    }
    let gemini = read(
        &json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}),
    );
    assert_eq!(gemini.error.unwrap().http_status, Some(429));
}

#[test]
fn strings_options_results_and_wrappers() {
    assert_eq!(read(&"plain").text.as_deref(), Some("plain"));
    assert_eq!(read(&String::from("owned")).text.as_deref(), Some("owned"));
    assert_eq!(read(&None::<String>), ResponseInfo::default());
    assert_eq!(
        read(&Some(Box::new("boxed".to_owned()))).text.as_deref(),
        Some("boxed")
    );
    let ok: Result<String, std::io::Error> = Ok("fine".into());
    assert_eq!(read(&ok).text.as_deref(), Some("fine"));
    let err: Result<String, std::io::Error> = Err(std::io::Error::other("disk on fire"));
    let e = read(&err).error.unwrap();
    assert_eq!(e.message, "disk on fire");
    assert_eq!(e.type_name, "std::io::error::Error");
    assert_eq!(
        read(&json!(42)),
        ResponseInfo::default(),
        "unknown shapes capture nothing"
    );
}
