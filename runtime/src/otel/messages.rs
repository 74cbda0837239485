//! Message content in the GenAI conventions' JSON structure
//! (`gen_ai.input.messages`, `gen_ai.output.messages`): a list of
//! `{role, parts: [...]}`, each part `{type: "text", content}`,
//! `{type: "tool_call", id, name, arguments}` or
//! `{type: "tool_call_response", id, response}`; output messages add a
//! `finish_reason`.
//!
//! Inputs come in the providers' own shapes (OpenAI chat, Anthropic, Gemini)
//! and are read structurally; anything else becomes one text part holding
//! the JSON, so that nothing the user asked to log is lost.

use serde_json::{json, Map, Value};

use crate::record::CallRecord;

/// The conventions' input messages for what a call was asked, in any of the
/// providers' shapes: a list of messages, one message, or plain text.
pub fn input_messages(messages: &Value) -> Value {
    match messages {
        Value::Array(list) => list.iter().map(input_message).collect(),
        Value::Object(map) if map.contains_key("messages") => {
            // A whole request body: its system prompt, then its messages.
            let mut out = Vec::new();
            if let Some(system) = map.get("system") {
                out.push(message("system", text_parts(system)));
            }
            if let Some(Value::Array(list)) = map.get("messages") {
                out.extend(list.iter().map(input_message));
            }
            Value::Array(out)
        }
        Value::Object(_) => Value::Array(vec![input_message(messages)]),
        other => Value::Array(vec![message("user", text_parts(other))]),
    }
}

/// The conventions' output messages for a finished call: the assistant's
/// text (or refusal) and tool calls, with the finish reason.
pub fn output_messages(record: &CallRecord) -> Option<Value> {
    let mut parts = Vec::new();
    if let Some(response) = &record.response {
        if let Some(text) = response.text.as_deref().or(response.refusal.as_deref()) {
            parts.push(text_part(text));
        }
    }
    for call in &record.tool_calls {
        let mut part = Map::new();
        part.insert("type".into(), "tool_call".into());
        if let Some(id) = &call.id {
            part.insert("id".into(), id.as_str().into());
        }
        part.insert("name".into(), call.name.as_str().into());
        if !call.arguments.is_empty() {
            part.insert("arguments".into(), arguments(&call.arguments));
        }
        parts.push(Value::Object(part));
    }
    if parts.is_empty() {
        return None;
    }
    let mut out = message("assistant", parts);
    let reason = record.finish_reasons.first().map_or("stop", String::as_str);
    out["finish_reason"] = reason.into();
    Some(Value::Array(vec![out]))
}

fn message(role: &str, parts: Vec<Value>) -> Value {
    json!({ "role": role, "parts": parts })
}

fn text_part(text: &str) -> Value {
    json!({ "type": "text", "content": text })
}

/// Tool arguments are JSON text; the conventions want the object.
fn arguments(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn input_message(m: &Value) -> Value {
    let Value::Object(map) = m else {
        return message("user", text_parts(m));
    };
    // Gemini says "model" where the others say "assistant".
    let role = match map.get("role").and_then(Value::as_str) {
        Some("model") => "assistant",
        Some(role) => role,
        None => "user",
    };
    let mut parts = Vec::new();
    if role == "tool" {
        // OpenAI: {role: tool, tool_call_id, content}.
        parts.push(tool_response(m, "tool_call_id"));
        return message("tool", parts);
    }
    if let Some(content) = map.get("content") {
        parts.extend(content_parts(content));
    }
    if let Some(Value::Array(gemini)) = map.get("parts") {
        parts.extend(gemini.iter().flat_map(gemini_part));
    }
    if let Some(Value::Array(calls)) = map.get("tool_calls") {
        // OpenAI: {id, type: function, function: {name, arguments}}.
        for call in calls {
            let function = call.get("function").unwrap_or(call);
            let mut part = Map::new();
            part.insert("type".into(), "tool_call".into());
            if let Some(id) = call.get("id") {
                part.insert("id".into(), id.clone());
            }
            if let Some(name) = function.get("name") {
                part.insert("name".into(), name.clone());
            }
            if let Some(args) = function.get("arguments") {
                let args = match args {
                    Value::String(text) => arguments(text),
                    other => other.clone(),
                };
                part.insert("arguments".into(), args);
            }
            parts.push(Value::Object(part));
        }
    }
    message(role, parts)
}

/// A tool's result: `content`, matched to its call by the `id_key` field.
fn tool_response(source: &Value, id_key: &str) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), "tool_call_response".into());
    if let Some(id) = source.get(id_key) {
        part.insert("id".into(), id.clone());
    }
    part.insert(
        "response".into(),
        source.get("content").cloned().unwrap_or(Value::Null),
    );
    Value::Object(part)
}

/// A message's `content`: text, or a list of typed blocks.
fn content_parts(content: &Value) -> Vec<Value> {
    match content {
        Value::Null => Vec::new(),
        Value::Array(blocks) => blocks.iter().map(block_part).collect(),
        other => text_parts(other),
    }
}

/// One block of OpenAI or Anthropic content.
fn block_part(block: &Value) -> Value {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" | "input_text" | "output_text" => match block.get("text") {
            Some(Value::String(text)) => text_part(text),
            _ => text_part(&block.to_string()),
        },
        // Anthropic: {type: tool_use, id, name, input}.
        "tool_use" => {
            let mut part = Map::new();
            part.insert("type".into(), "tool_call".into());
            for (from, to) in [("id", "id"), ("name", "name"), ("input", "arguments")] {
                if let Some(v) = block.get(from) {
                    part.insert(to.into(), v.clone());
                }
            }
            Value::Object(part)
        }
        // Anthropic: {type: tool_result, tool_use_id, content}.
        "tool_result" => tool_response(block, "tool_use_id"),
        // Images, audio, files: kept as they came, under their own type.
        _ => block.clone(),
    }
}

/// One Gemini part: `{text}`, `{functionCall}`, `{functionResponse}`.
fn gemini_part(part: &Value) -> Option<Value> {
    if let Some(Value::String(text)) = part.get("text") {
        return Some(text_part(text));
    }
    if let Some(call) = part.get("functionCall") {
        return Some(json!({
            "type": "tool_call",
            "name": call.get("name").cloned().unwrap_or(Value::Null),
            "arguments": call.get("args").cloned().unwrap_or(Value::Null),
        }));
    }
    if let Some(response) = part.get("functionResponse") {
        return Some(json!({
            "type": "tool_call_response",
            "id": response.get("name").cloned().unwrap_or(Value::Null),
            "response": response.get("response").cloned().unwrap_or(Value::Null),
        }));
    }
    Some(part.clone())
}

fn text_parts(v: &Value) -> Vec<Value> {
    match v {
        Value::String(text) => vec![text_part(text)],
        Value::Null => Vec::new(),
        Value::Array(blocks) => blocks.iter().map(block_part).collect(),
        other => vec![text_part(&other.to_string())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_chat_messages_with_tools() {
        let messages = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"}
        ]);
        assert_eq!(
            input_messages(&messages),
            json!([
                {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                {"role": "assistant", "parts": [
                    {"type": "tool_call", "id": "call_1", "name": "weather",
                     "arguments": {"city": "Paris"}}
                ]},
                {"role": "tool", "parts": [
                    {"type": "tool_call_response", "id": "call_1", "response": "18°C"}
                ]}
            ])
        );
    }

    #[test]
    fn anthropic_request_body_and_blocks() {
        let body = json!({
            "system": "Be brief.",
            "messages": [
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "tu_1", "name": "weather", "input": {"city": "Oslo"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "tu_1", "content": "2°C"}
                ]}
            ]
        });
        assert_eq!(
            input_messages(&body),
            json!([
                {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                {"role": "assistant", "parts": [
                    {"type": "tool_call", "id": "tu_1", "name": "weather", "arguments": {"city": "Oslo"}}
                ]},
                {"role": "user", "parts": [
                    {"type": "tool_call_response", "id": "tu_1", "response": "2°C"}
                ]}
            ])
        );
    }

    #[test]
    fn gemini_contents_and_plain_text() {
        let contents = json!([{"role": "model", "parts": [{"text": "Hi"}]}]);
        assert_eq!(
            input_messages(&contents),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Hi"}]}])
        );
        assert_eq!(
            input_messages(&json!("just a prompt")),
            json!([{"role": "user", "parts": [{"type": "text", "content": "just a prompt"}]}])
        );
        // Unknown shapes keep their JSON as text.
        assert_eq!(
            input_messages(&json!(42)),
            json!([{"role": "user", "parts": [{"type": "text", "content": "42"}]}])
        );
    }
}
