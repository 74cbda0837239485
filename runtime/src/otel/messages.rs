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
/// providers' shapes: a list of messages, one message, a whole request body,
/// or plain text. A system prompt given apart from the messages (Anthropic's
/// `system`, Gemini's `systemInstruction`) is left to
/// [`system_instructions`].
pub fn input_messages(messages: &Value) -> Value {
    match messages {
        Value::Array(list) => list.iter().map(input_message).collect(),
        Value::Object(map) if map.contains_key("messages") || map.contains_key("contents") => {
            // A whole request body.
            match map.get("messages").or_else(|| map.get("contents")) {
                Some(Value::Array(list)) => list.iter().map(input_message).collect(),
                Some(one) => Value::Array(vec![input_message(one)]),
                None => Value::Array(Vec::new()),
            }
        }
        Value::Object(_) => Value::Array(vec![input_message(messages)]),
        other => Value::Array(vec![message("user", text_parts(other))]),
    }
}

/// The conventions' `gen_ai.system_instructions`: a system prompt a request
/// body gives apart from its messages, as a list of parts.
pub fn system_instructions(messages: &Value) -> Option<Value> {
    let Value::Object(map) = messages else {
        return None;
    };
    let system = map
        .get("system")
        .or_else(|| map.get("systemInstruction"))
        .or_else(|| map.get("system_instruction"))?;
    let parts = match system {
        // Gemini: a content, `{parts: [{text}]}`.
        Value::Object(content) => match content.get("parts") {
            Some(Value::Array(parts)) => parts.iter().filter_map(gemini_part).collect(),
            _ => text_parts(system),
        },
        other => text_parts(other),
    };
    (!parts.is_empty()).then_some(Value::Array(parts))
}

/// The conventions' output messages for a finished call: one per choice,
/// with its text (or refusal), the tool calls, and why it ended.
pub fn output_messages(record: &CallRecord) -> Option<Value> {
    let fallback_reason = match (record.finish_reasons.first(), &record.error) {
        (Some(reason), _) => reason.as_str(),
        (None, Some(_)) => "error",
        (None, None) => "stop",
    };
    let mut out = Vec::new();
    if let Some(response) = &record.response {
        for choice in &response.choices {
            let parts = choice.text.as_deref().map(text_part).into_iter().collect();
            let reason = choice.finish_reason.as_deref().unwrap_or(fallback_reason);
            out.push(output_message(parts, reason));
        }
        if out.is_empty() {
            if let Some(text) = response.text.as_deref().or(response.refusal.as_deref()) {
                out.push(output_message(vec![text_part(text)], fallback_reason));
            }
        }
    }
    let calls: Vec<Value> = record.tool_calls.iter().map(tool_call_part).collect();
    if !calls.is_empty() {
        // Tool calls belong to the first choice (providers make them with n=1).
        match out.first_mut() {
            Some(first) => {
                if let Some(Value::Array(parts)) = first.get_mut("parts") {
                    parts.extend(calls);
                }
            }
            None => out.push(output_message(calls, fallback_reason)),
        }
    }
    (!out.is_empty()).then_some(Value::Array(out))
}

fn output_message(parts: Vec<Value>, finish_reason: &str) -> Value {
    json!({ "role": "assistant", "parts": parts, "finish_reason": finish_reason })
}

fn tool_call_part(call: &crate::capture::ToolCall) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), "tool_call".into());
    if let Some(id) = &call.id {
        part.insert("id".into(), id.as_str().into());
    }
    part.insert("name".into(), call.name.as_str().into());
    if !call.arguments.is_empty() {
        part.insert("arguments".into(), arguments(&call.arguments));
    }
    Value::Object(part)
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
        parts.extend(text_parts(content));
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
        // Gemini matches a response to its call by name, and by id when the
        // call had one.
        let mut out = Map::new();
        out.insert("type".into(), "tool_call_response".into());
        if let Some(id) = response.get("id") {
            out.insert("id".into(), id.clone());
        }
        out.insert(
            "response".into(),
            response.get("response").cloned().unwrap_or(Value::Null),
        );
        return Some(Value::Object(out));
    }
    Some(part.clone())
}

/// Content as parts: text, a list of typed blocks, or other JSON kept as
/// text.
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
            system_instructions(&body),
            Some(json!([{"type": "text", "content": "Be brief."}]))
        );
        assert_eq!(
            input_messages(&body),
            json!([
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
    fn gemini_request_body() {
        let body = json!({
            "systemInstruction": {"parts": [{"text": "Answer in French."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Lyon"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"c": 21}}}]}
            ]
        });
        assert_eq!(
            system_instructions(&body),
            Some(json!([{"type": "text", "content": "Answer in French."}]))
        );
        assert_eq!(
            input_messages(&body),
            json!([
                {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
                {"role": "assistant", "parts": [
                    {"type": "tool_call", "name": "weather", "arguments": {"city": "Lyon"}}
                ]},
                {"role": "user", "parts": [{"type": "tool_call_response", "response": {"c": 21}}]}
            ])
        );
        assert_eq!(system_instructions(&json!([{"role": "user"}])), None);
    }

    #[test]
    fn output_messages_per_choice_with_reasons() {
        use crate::record::ResponseContent;
        let mut record: CallRecord = serde_json::from_value(json!({
            "schema": 1, "request_id": "r", "name": "n", "function": "f",
            "operation": "chat", "kind": "llm", "started_at": "2026-11-27T00:00:00Z",
            "ended_at": "2026-11-27T00:00:01Z", "latency_ms": 1.0, "status": "ok"
        }))
        .unwrap();
        assert_eq!(output_messages(&record), None, "nothing said, nothing sent");
        record.response = Some(ResponseContent {
            text: Some("a".into()),
            refusal: None,
            choices: vec![
                crate::capture::Choice {
                    index: 0,
                    text: Some("a".into()),
                    finish_reason: Some("stop".into()),
                },
                crate::capture::Choice {
                    index: 1,
                    text: Some("b".into()),
                    finish_reason: Some("length".into()),
                },
            ],
        });
        assert_eq!(
            output_messages(&record).unwrap(),
            json!([
                {"role": "assistant", "parts": [{"type": "text", "content": "a"}], "finish_reason": "stop"},
                {"role": "assistant", "parts": [{"type": "text", "content": "b"}], "finish_reason": "length"}
            ])
        );
        // A stream cut short with text so far: no reason given, an error recorded.
        record.response.as_mut().unwrap().choices.clear();
        record.error = Some(crate::record::ErrorRecord::default());
        assert_eq!(
            output_messages(&record).unwrap()[0]["finish_reason"],
            "error"
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
