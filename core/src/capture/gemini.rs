//! Google Gemini `generateContent` and `streamGenerateContent` chunks.

use serde_json::Value;

use super::info::{Choice, ResponseInfo, ToolCall, Usage};
use super::stream::StreamAccumulator;
use super::{arguments_text, str_at, u64_at};

pub(super) fn generate_content(v: &Value, info: &mut ResponseInfo) {
    info.model = str_at(v, "modelVersion");
    info.id = str_at(v, "responseId");
    if let Some(usage) = v.get("usageMetadata").filter(|u| u.is_object()) {
        let thoughts = u64_at(usage, &["thoughtsTokenCount"]);
        let candidates = u64_at(usage, &["candidatesTokenCount"]);
        // Gemini reports thinking tokens apart from candidate tokens; output
        // tokens count both, as in the OpenTelemetry conventions.
        let output = match (candidates, thoughts) {
            (None, None) => None,
            (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
        };
        info.usage = Some(Usage {
            input_tokens: u64_at(usage, &["promptTokenCount"]),
            output_tokens: output,
            total_tokens: u64_at(usage, &["totalTokenCount"]),
            cached_input_tokens: u64_at(usage, &["cachedContentTokenCount"]),
            cache_creation_input_tokens: None,
            reasoning_tokens: thoughts,
        });
    }
    let candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (position, candidate) in candidates.iter().enumerate() {
        let index = u64_at(candidate, &["index"]).unwrap_or(position as u64) as u32;
        let finish = str_at(candidate, "finishReason");
        let mut text = String::new();
        let mut has_text = false;
        let parts = candidate
            .get("content")
            .and_then(|c| c.get("parts"))
            .and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            // Thought summaries are not the answer.
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                text.push_str(t);
                has_text = true;
            }
            if position == 0 {
                if let Some(call) = part.get("functionCall") {
                    info.tool_calls.push(ToolCall {
                        id: str_at(call, "id"),
                        name: str_at(call, "name").unwrap_or_default(),
                        arguments: arguments_text(call.get("args")),
                    });
                }
            }
        }
        let text = has_text.then_some(text);
        if let Some(reason) = &finish {
            info.finish_reasons.push(reason.clone());
        }
        if position == 0 && info.wants_content() {
            info.text = text.clone();
        }
        if candidates.len() > 1 {
            info.choices.push(Choice {
                index,
                text,
                finish_reason: finish,
            });
        }
    }
    if candidates.is_empty() {
        if let Some(reason) = v
            .get("promptFeedback")
            .and_then(|f| str_at(f, "blockReason"))
        {
            info.finish_reasons.push(reason);
        }
    }
}

/// One chunk of a streamed `streamGenerateContent` call (`alt=sse`): a
/// `GenerateContentResponse` holding the next parts of each candidate.
pub(super) fn accumulate_chunk(v: &Value, acc: &mut StreamAccumulator) {
    let mut info = ResponseInfo::metadata_only();
    generate_content(v, &mut info);
    if let Some(model) = &info.model {
        acc.set_model(model);
    }
    if let Some(id) = &info.id {
        acc.set_id(id);
    }
    if let Some(usage) = info.usage {
        acc.merge_usage(usage);
    }
    let candidates = v.get("candidates").and_then(Value::as_array);
    for (position, candidate) in candidates.into_iter().flatten().enumerate() {
        let index = u64_at(candidate, &["index"]).unwrap_or(position as u64) as u32;
        let parts = candidate
            .get("content")
            .and_then(|c| c.get("parts"))
            .and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                acc.push_text(index, t);
            }
            if let Some(call) = part.get("functionCall").filter(|_| index == 0) {
                acc.tool_call_delta(
                    acc.tool_call_count(),
                    call.get("id").and_then(Value::as_str),
                    call.get("name").and_then(Value::as_str),
                    Some(&arguments_text(call.get("args"))),
                );
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            acc.set_finish_reason(index, reason);
        }
    }
    if candidates.is_none_or(|c| c.is_empty()) {
        if let Some(reason) = v
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            acc.set_finish_reason(0, reason);
        }
    }
}
