//! Anthropic Messages: whole responses and stream events.

use serde_json::Value;

use super::info::{CapturedError, ResponseInfo, ToolCall, Usage};
use super::stream::StreamAccumulator;
use super::{arguments_text, str_at, u64_at};
use super::{str_ref, u32_at};

pub(super) fn message(v: &Value, info: &mut ResponseInfo) {
    info.model = str_at(v, "model");
    info.id = str_at(v, "id");
    if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
        // Anthropic's `input_tokens` leaves out cache reads and writes; the
        // OpenTelemetry conventions count all input tokens, so add them.
        let base = u64_at(usage, &["input_tokens"]);
        let read = u64_at(usage, &["cache_read_input_tokens"]);
        let write = u64_at(usage, &["cache_creation_input_tokens"]);
        let input = base.map(|b| b + read.unwrap_or(0) + write.unwrap_or(0));
        let output = u64_at(usage, &["output_tokens"]);
        info.usage = Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input.zip(output).map(|(i, o)| i + o),
            cached_input_tokens: read,
            cache_creation_input_tokens: write,
            reasoning_tokens: None,
        });
    }
    let mut text = String::new();
    let mut has_text = false;
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                if let Some(t) = block.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                    has_text = true;
                }
            }
            Some("tool_use") | Some("server_tool_use") => info.tool_calls.push(ToolCall {
                id: str_at(block, "id"),
                name: str_at(block, "name").unwrap_or_default(),
                arguments: arguments_text(block.get("input")),
            }),
            _ => {}
        }
    }
    if has_text && info.wants_content() {
        info.text = Some(text);
    }
    if let Some(reason) = str_at(v, "stop_reason") {
        if reason == "refusal" {
            info.refusal = info.text.clone();
        }
        info.finish_reasons.push(reason);
    }
}

/// One Anthropic stream event (`message_start`, `content_block_*`,
/// `message_delta`, `error`).
pub(super) fn accumulate_event(v: &Value, acc: &mut StreamAccumulator) {
    match str_ref(v, "type") {
        Some("message_start") => {
            if let Some(message) = v.get("message") {
                if let Some(model) = str_ref(message, "model") {
                    acc.set_model(model);
                }
                if let Some(id) = str_ref(message, "id") {
                    acc.set_id(id);
                }
                if let Some(usage) = message.get("usage") {
                    acc.merge_usage(stream_usage(usage));
                }
            }
        }
        Some("content_block_start") => {
            let block = u32_at(v, "index").unwrap_or(0);
            if let Some(content) = v.get("content_block") {
                if str_ref(content, "type") == Some("tool_use") {
                    let index = acc.blocks.len() as u32;
                    acc.blocks.insert(block, index);
                    acc.tool_call_delta(
                        index,
                        str_ref(content, "id"),
                        str_ref(content, "name"),
                        None,
                    );
                }
            }
        }
        Some("content_block_delta") => {
            let block = u32_at(v, "index").unwrap_or(0);
            if let Some(delta) = v.get("delta") {
                match str_ref(delta, "type") {
                    Some("text_delta") => acc.push_text(0, str_ref(delta, "text").unwrap_or("")),
                    Some("input_json_delta") => {
                        if let Some(&index) = acc.blocks.get(&block) {
                            acc.tool_call_delta(index, None, None, str_ref(delta, "partial_json"));
                        }
                    }
                    _ => {}
                }
            }
        }
        Some("message_delta") => {
            if let Some(reason) = v.get("delta").and_then(|d| str_ref(d, "stop_reason")) {
                acc.set_finish_reason(0, reason);
            }
            if let Some(usage) = v.get("usage") {
                let mut u = stream_usage(usage);
                // message_delta's input counts, when present, repeat the start's.
                if u.input_tokens == Some(0) {
                    u.input_tokens = None;
                }
                acc.merge_usage(u);
            }
        }
        Some("error") => {
            if let Some(error) = v.get("error") {
                acc.set_error(CapturedError {
                    message: str_ref(error, "message")
                        .unwrap_or("stream error")
                        .to_owned(),
                    type_name: str_ref(error, "type").unwrap_or("error").to_owned(),
                    body: Some(v.to_string()),
                    ..CapturedError::default()
                });
            }
        }
        _ => {
            if let Some(error) = v.get("error") {
                acc.set_error(CapturedError {
                    message: str_ref(error, "message")
                        .unwrap_or("stream error")
                        .to_owned(),
                    type_name: str_ref(error, "code")
                        .or_else(|| str_ref(error, "type"))
                        .unwrap_or("error")
                        .to_owned(),
                    body: Some(v.to_string()),
                    ..CapturedError::default()
                });
            }
        }
    }
}

fn stream_usage(usage: &Value) -> Usage {
    let base = usage.get("input_tokens").and_then(Value::as_u64);
    let read = usage.get("cache_read_input_tokens").and_then(Value::as_u64);
    let write = usage
        .get("cache_creation_input_tokens")
        .and_then(Value::as_u64);
    Usage {
        input_tokens: base.map(|b| b + read.unwrap_or(0) + write.unwrap_or(0)),
        output_tokens: usage.get("output_tokens").and_then(Value::as_u64),
        total_tokens: None,
        cached_input_tokens: read,
        cache_creation_input_tokens: write,
        reasoning_tokens: None,
    }
}
