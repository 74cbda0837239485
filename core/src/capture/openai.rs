//! OpenAI: Chat Completions (and legacy completions), the Responses API,
//! embeddings, chat completion stream chunks and Responses API events.

use serde_json::Value;

use super::info::{Choice, ResponseInfo, ToolCall, Usage};
use super::stream::StreamAccumulator;
use super::{arguments_text, str_at, u64_at};
use super::{str_ref, u32_at};

pub(super) fn chat(v: &Value, info: &mut ResponseInfo) {
    // One pass over each object rather than a lookup per field: this runs on
    // every recorded call.
    let Some(obj) = v.as_object() else { return };
    let mut choices: &[Value] = &[];
    for (key, value) in obj {
        match key.as_str() {
            "model" => info.model = value.as_str().map(str::to_owned),
            "id" => info.id = value.as_str().map(str::to_owned),
            "usage" => info.usage = usage(value),
            "choices" => choices = value.as_array().map(Vec::as_slice).unwrap_or(&[]),
            _ => {}
        }
    }
    for (position, choice) in choices.iter().enumerate() {
        let Some(choice) = choice.as_object() else {
            continue;
        };
        let (mut index, mut finish, mut message, mut legacy_text) =
            (position as u32, None, None, None);
        for (key, value) in choice {
            match key.as_str() {
                "index" => index = value.as_u64().map_or(index, |i| i as u32),
                "finish_reason" => finish = value.as_str().map(str::to_owned),
                "message" => message = value.as_object(),
                "text" => legacy_text = value.as_str(),
                _ => {}
            }
        }
        let (mut content, mut refusal, mut tool_calls, mut function_call) =
            (None, None, None, None);
        for (key, value) in message.into_iter().flatten() {
            match key.as_str() {
                "content" => content = Some(value),
                "refusal" => refusal = value.as_str(),
                "tool_calls" => tool_calls = value.as_array(),
                "function_call" => function_call = Some(value),
                _ => {}
            }
        }
        // Chat completions carry `message.content`; legacy completions `text`.
        let text = if info.wants_content() {
            content
                .and_then(content_text)
                .or_else(|| legacy_text.map(str::to_owned))
        } else {
            None
        };
        if let Some(reason) = &finish {
            info.finish_reasons.push(reason.clone());
        }
        if position == 0 {
            if info.wants_content() {
                info.text = text.clone();
            }
            info.refusal = refusal.map(str::to_owned);
            if let Some(calls) = tool_calls {
                for call in calls {
                    let function = call.get("function");
                    info.tool_calls.push(ToolCall {
                        id: str_at(call, "id"),
                        name: function.and_then(|f| str_at(f, "name")).unwrap_or_default(),
                        arguments: arguments_text(function.and_then(|f| f.get("arguments"))),
                    });
                }
            } else if let Some(call) = function_call {
                // The deprecated single `function_call`.
                info.tool_calls.push(ToolCall {
                    id: None,
                    name: str_at(call, "name").unwrap_or_default(),
                    arguments: arguments_text(call.get("arguments")),
                });
            }
        }
        if choices.len() > 1 {
            info.choices.push(Choice {
                index,
                text,
                finish_reason: finish,
            });
        }
    }
}

fn usage(usage: &Value) -> Option<Usage> {
    let usage = usage.as_object()?;
    let mut out = Usage::default();
    for (key, value) in usage {
        match key.as_str() {
            "prompt_tokens" => out.input_tokens = value.as_u64(),
            "completion_tokens" => out.output_tokens = value.as_u64(),
            "total_tokens" => out.total_tokens = value.as_u64(),
            "prompt_tokens_details" => {
                out.cached_input_tokens = value.get("cached_tokens").and_then(Value::as_u64)
            }
            "completion_tokens_details" => {
                out.reasoning_tokens = value.get("reasoning_tokens").and_then(Value::as_u64)
            }
            _ => {}
        }
    }
    Some(out)
}

/// Embeddings: the model and the input tokens (no text to record).
pub(super) fn embeddings(v: &Value, info: &mut ResponseInfo) {
    info.model = str_at(v, "model");
    info.usage = v.get("usage").and_then(usage);
}

/// Message content that is either text or a list of parts with `text`.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        _ => None,
    }
}

pub(super) fn responses(v: &Value, info: &mut ResponseInfo) {
    info.model = str_at(v, "model");
    info.id = str_at(v, "id");
    if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
        info.usage = Some(Usage {
            input_tokens: u64_at(usage, &["input_tokens"]),
            output_tokens: u64_at(usage, &["output_tokens"]),
            total_tokens: u64_at(usage, &["total_tokens"]),
            cached_input_tokens: u64_at(usage, &["input_tokens_details", "cached_tokens"]),
            cache_creation_input_tokens: None,
            reasoning_tokens: u64_at(usage, &["output_tokens_details", "reasoning_tokens"]),
        });
    }
    let mut text = String::new();
    let mut has_text = false;
    for item in v
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") | Some("text") => {
                            if let Some(t) = part.get("text").and_then(Value::as_str) {
                                text.push_str(t);
                                has_text = true;
                            }
                        }
                        Some("refusal") => info.refusal = str_at(part, "refusal"),
                        _ => {}
                    }
                }
            }
            Some("function_call") | Some("custom_tool_call") => info.tool_calls.push(ToolCall {
                id: str_at(item, "call_id").or_else(|| str_at(item, "id")),
                name: str_at(item, "name").unwrap_or_default(),
                arguments: arguments_text(item.get("arguments").or_else(|| item.get("input"))),
            }),
            _ => {}
        }
    }
    if has_text && info.wants_content() {
        info.text = Some(text);
    } else if let Some(t) = str_at(v, "output_text") {
        info.text = Some(t);
    }
    // The Responses API has a status instead of finish reasons: an incomplete
    // response says why (`max_output_tokens`, `content_filter`).
    let reason = v
        .get("incomplete_details")
        .and_then(|d| str_at(d, "reason"))
        .or_else(|| str_at(v, "status"));
    if let Some(reason) = reason {
        info.finish_reasons.push(reason);
    }
}

pub(super) fn accumulate_chunk(v: &Value, acc: &mut StreamAccumulator) {
    if let Some(model) = str_ref(v, "model") {
        acc.set_model(model);
    }
    if let Some(id) = str_ref(v, "id") {
        acc.set_id(id);
    }
    if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
        acc.merge_usage(Usage {
            input_tokens: usage.get("prompt_tokens").and_then(Value::as_u64),
            output_tokens: usage.get("completion_tokens").and_then(Value::as_u64),
            total_tokens: usage.get("total_tokens").and_then(Value::as_u64),
            cached_input_tokens: usage
                .pointer("/prompt_tokens_details/cached_tokens")
                .and_then(Value::as_u64),
            cache_creation_input_tokens: None,
            reasoning_tokens: usage
                .pointer("/completion_tokens_details/reasoning_tokens")
                .and_then(Value::as_u64),
        });
    }
    for choice in v
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let index = u32_at(choice, "index").unwrap_or(0);
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = str_ref(delta, "content") {
                acc.push_text(index, text);
            }
            if let Some(refusal) = str_ref(delta, "refusal") {
                acc.push_refusal(refusal);
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let function = call.get("function");
                acc.tool_call_delta(
                    u32_at(call, "index").unwrap_or(0),
                    str_ref(call, "id"),
                    function.and_then(|f| str_ref(f, "name")),
                    function.and_then(|f| str_ref(f, "arguments")),
                );
            }
        }
        if let Some(reason) = str_ref(choice, "finish_reason") {
            acc.set_finish_reason(index, reason);
        }
    }
}

/// One event of a streamed Responses API call (`response.created`,
/// `response.output_text.delta`, `response.function_call_arguments.delta`,
/// `response.completed`, …). Tool calls are keyed by their output index.
pub(super) fn accumulate_responses_event(v: &Value, acc: &mut StreamAccumulator) {
    let index = u32_at(v, "output_index").unwrap_or(0);
    match str_ref(v, "type").unwrap_or_default() {
        "response.output_text.delta" => {
            if let Some(delta) = str_ref(v, "delta") {
                acc.push_text(0, delta);
            }
        }
        "response.refusal.delta" => {
            if let Some(delta) = str_ref(v, "delta") {
                acc.push_refusal(delta);
            }
        }
        "response.output_item.added" | "response.output_item.done" => {
            if let Some(item) = v.get("item") {
                if matches!(
                    str_ref(item, "type"),
                    Some("function_call") | Some("custom_tool_call")
                ) {
                    acc.tool_call_delta(
                        index,
                        str_ref(item, "call_id").or_else(|| str_ref(item, "id")),
                        str_ref(item, "name"),
                        None,
                    );
                }
            }
        }
        "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
            acc.tool_call_delta(index, None, None, str_ref(v, "delta"));
        }
        "response.created"
        | "response.in_progress"
        | "response.completed"
        | "response.incomplete"
        | "response.failed" => {
            let Some(response) = v.get("response") else {
                return;
            };
            let mut info = ResponseInfo::metadata_only();
            responses(response, &mut info);
            if let Some(model) = &info.model {
                acc.set_model(model);
            }
            if let Some(id) = &info.id {
                acc.set_id(id);
            }
            if let Some(usage) = info.usage {
                acc.merge_usage(usage);
            }
            let terminal = !matches!(
                str_ref(v, "type"),
                Some("response.created") | Some("response.in_progress")
            );
            if terminal {
                if let Some(reason) = info.finish_reasons.first() {
                    acc.set_finish_reason(0, reason);
                }
                if let Some(error) = response.get("error").filter(|e| e.is_object()) {
                    acc.set_error(super::CapturedError {
                        message: str_at(error, "message").unwrap_or_default(),
                        type_name: str_at(error, "code").unwrap_or_else(|| "error".to_owned()),
                        ..Default::default()
                    });
                }
            }
        }
        "error" => acc.set_error(super::CapturedError {
            message: str_at(v, "message").unwrap_or_default(),
            type_name: str_at(v, "code").unwrap_or_else(|| "error".to_owned()),
            ..Default::default()
        }),
        _ => {}
    }
}
