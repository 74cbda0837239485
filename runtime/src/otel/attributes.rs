//! The attributes an exported call carries, named after the OpenTelemetry
//! GenAI semantic conventions v1.41 (`gen_ai.*`, `server.*`, `user.id`,
//! `code.function.name`, `error.type`); what the conventions do not name is
//! ours, under `llm_traced.*`. Nothing the span itself says (its duration,
//! its ids, its parent) is repeated as an attribute.

use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde_json::{Map, Value as Json};

use crate::record::{CallRecord, Text};

use super::Content;

/// Every attribute of a finished call, the content ones only when `content`
/// allows them.
pub(crate) fn of(record: &CallRecord, content: Content) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(24);
    let s = |out: &mut Vec<KeyValue>, key: &'static str, value: &str| {
        out.push(KeyValue::new(key, value.to_owned()));
    };
    // The names known at compile time are borrowed, not copied.
    let t = |out: &mut Vec<KeyValue>, key: &'static str, value: &Text| {
        out.push(KeyValue::new(key, text(value)));
    };
    t(&mut out, "gen_ai.operation.name", &record.operation);
    match &*record.kind {
        "tool" => {
            t(&mut out, "gen_ai.tool.name", &record.name);
            out.push(KeyValue::new("gen_ai.tool.type", "function"));
            if let Some(id) = &record.tool_call_id {
                s(&mut out, "gen_ai.tool.call.id", id);
            }
            if let Some(description) = &record.tool_description {
                t(&mut out, "gen_ai.tool.description", description);
            }
        }
        "agent" => t(&mut out, "gen_ai.agent.name", &record.name),
        _ => {}
    }
    if let Some(provider) = &record.provider {
        t(&mut out, "gen_ai.provider.name", provider);
    }
    if let Some(model) = &record.request_model {
        s(&mut out, "gen_ai.request.model", model);
    }
    if let Some(model) = &record.response_model {
        s(&mut out, "gen_ai.response.model", model);
    }
    if let Some(id) = &record.response_id {
        s(&mut out, "gen_ai.response.id", id);
    }
    if !record.finish_reasons.is_empty() {
        out.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            strings(record.finish_reasons.iter().cloned()),
        ));
    }
    if let Some(usage) = &record.usage {
        for (key, count) in [
            ("gen_ai.usage.input_tokens", usage.input_tokens),
            ("gen_ai.usage.output_tokens", usage.output_tokens),
            (
                "gen_ai.usage.cache_read.input_tokens",
                usage.cached_input_tokens,
            ),
            (
                "gen_ai.usage.cache_creation.input_tokens",
                usage.cache_creation_input_tokens,
            ),
            (
                "gen_ai.usage.reasoning.output_tokens",
                usage.reasoning_tokens,
            ),
        ] {
            if let Some(n) = count.and_then(|n| i64::try_from(n).ok()) {
                out.push(KeyValue::new(key, n));
            }
        }
    }
    if let Some(ttfc) = record.time_to_first_chunk_ms {
        // Seconds, as OpenTelemetry measures durations.
        out.push(KeyValue::new(
            "gen_ai.response.time_to_first_chunk",
            ttfc / 1000.0,
        ));
    }
    let request = record.request.as_ref().and_then(Json::as_object);
    if record.kind == "llm" {
        let parameters = record.request_parameters.as_ref().and_then(Json::as_object);
        request_parameters(&mut out, request.or(parameters));
        let streamed = request
            .and_then(|r| r.get("stream"))
            .and_then(Json::as_bool)
            .unwrap_or(record.stream.is_some());
        out.push(KeyValue::new("gen_ai.request.stream", streamed));
    }
    if let Some(address) = &record.server_address {
        s(&mut out, "server.address", address);
        if let Some(port) = record.server_port {
            out.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(error) = &record.error {
        s(&mut out, "error.type", &error.error_type);
    }
    if let Some(user) = &record.user_id {
        s(&mut out, "user.id", user);
    }
    if let Some(session) = &record.session_id {
        s(&mut out, "gen_ai.conversation.id", session);
    }
    t(&mut out, "code.function.name", &record.function);
    s(&mut out, "llm_traced.request_id", &record.request_id);
    if let Some(id) = &record.http_request_id {
        s(&mut out, "llm_traced.http_request_id", id);
    }
    if let Some(id) = &record.replay_of {
        s(&mut out, "llm_traced.replay_of", id);
    }
    if let Some(tenant) = &record.tenant_id {
        s(&mut out, "llm_traced.tenant_id", tenant);
    }
    if !record.tags.is_empty() {
        out.push(KeyValue::new(
            "llm_traced.tags",
            strings(record.tags.iter().cloned()),
        ));
    }
    if let Some(cost) = record.cost_usd {
        out.push(KeyValue::new("llm_traced.cost_usd", cost));
    }
    if record.level != "info" {
        t(&mut out, "llm_traced.level", &record.level);
    }
    content_attributes(&mut out, record, request, content);
    out
}

/// A string value, borrowed when it is `'static`.
pub(crate) fn text(value: &Text) -> Value {
    Value::String(match value {
        std::borrow::Cow::Borrowed(s) => StringValue::from(*s),
        std::borrow::Cow::Owned(s) => StringValue::from(s.clone()),
    })
}

fn strings(items: impl Iterator<Item = String>) -> Value {
    Value::Array(Array::String(items.map(StringValue::from).collect()))
}

/// The request parameters, from a request body in the OpenAI, Anthropic or
/// Gemini shape (Gemini's sit in `generationConfig`).
fn request_parameters(out: &mut Vec<KeyValue>, request: Option<&Map<String, Json>>) {
    let Some(request) = request else {
        return;
    };
    let gemini = request
        .get("generationConfig")
        .or_else(|| request.get("generation_config"))
        .and_then(Json::as_object);
    let get = |names: &[&str]| {
        names.iter().find_map(|name| {
            request
                .get(*name)
                .or_else(|| gemini.and_then(|g| g.get(*name)))
                .filter(|v| !v.is_null())
        })
    };
    for (key, names) in [
        ("gen_ai.request.temperature", &["temperature"][..]),
        ("gen_ai.request.top_p", &["top_p", "topP"][..]),
        ("gen_ai.request.top_k", &["top_k", "topK"][..]),
        (
            "gen_ai.request.frequency_penalty",
            &["frequency_penalty", "frequencyPenalty"][..],
        ),
        (
            "gen_ai.request.presence_penalty",
            &["presence_penalty", "presencePenalty"][..],
        ),
    ] {
        if let Some(x) = get(names).and_then(Json::as_f64) {
            out.push(KeyValue::new(key, x));
        }
    }
    let max_tokens = [
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "maxOutputTokens",
    ];
    if let Some(n) = get(&max_tokens).and_then(Json::as_i64) {
        out.push(KeyValue::new("gen_ai.request.max_tokens", n));
    }
    if let Some(n) = get(&["seed"]).and_then(Json::as_i64) {
        out.push(KeyValue::new("gen_ai.request.seed", n));
    }
    // Only when the request asks for other than one choice.
    if let Some(n) = get(&["n", "candidateCount", "candidate_count"]).and_then(Json::as_i64) {
        if n != 1 {
            out.push(KeyValue::new("gen_ai.request.choice.count", n));
        }
    }
    match get(&["stop", "stop_sequences", "stopSequences"]) {
        Some(Json::String(one)) => out.push(KeyValue::new(
            "gen_ai.request.stop_sequences",
            strings(std::iter::once(one.clone())),
        )),
        Some(Json::Array(many)) => out.push(KeyValue::new(
            "gen_ai.request.stop_sequences",
            strings(many.iter().filter_map(Json::as_str).map(str::to_owned)),
        )),
        _ => {}
    }
}

/// The content the switches allow: messages, system instructions, tool
/// definitions and a tool step's arguments with the prompts; the output
/// messages and a tool step's result with the responses. The record is
/// scrubbed by now.
fn content_attributes(
    out: &mut Vec<KeyValue>,
    record: &CallRecord,
    request: Option<&Map<String, Json>>,
    content: Content,
) {
    if content.prompts {
        if let Some(messages) = &record.messages {
            let json = super::messages::input_messages(messages).to_string();
            out.push(KeyValue::new("gen_ai.input.messages", json));
        }
        // A system prompt given apart: in the messages (a whole body given as
        // `messages = …`) or in the recorded request.
        let system = record
            .messages
            .as_ref()
            .and_then(super::messages::system_instructions)
            .or_else(|| {
                record
                    .request
                    .as_ref()
                    .and_then(super::messages::system_instructions)
            });
        if let Some(system) = system {
            out.push(KeyValue::new(
                "gen_ai.system_instructions",
                system.to_string(),
            ));
        }
        if let Some(tools) = request
            .and_then(|r| r.get("tools"))
            .and_then(tool_definitions)
        {
            out.push(KeyValue::new("gen_ai.tool.definitions", tools.to_string()));
        }
        if let Some(arguments) = &record.tool_arguments {
            out.push(KeyValue::new(
                "gen_ai.tool.call.arguments",
                arguments.to_string(),
            ));
        }
    }
    if content.responses {
        if let Some(messages) = super::messages::output_messages(record) {
            out.push(KeyValue::new(
                "gen_ai.output.messages",
                messages.to_string(),
            ));
        }
        if let Some(result) = &record.tool_result {
            out.push(KeyValue::new("gen_ai.tool.call.result", result.to_string()));
        }
    }
}

/// The conventions' tool definitions (`{type, name, description,
/// parameters}`) from a request's `tools`, in the OpenAI (chat and
/// Responses), Anthropic or Gemini shape.
pub(crate) fn tool_definitions(tools: &Json) -> Option<Json> {
    let tools = tools.as_array()?;
    let mut out = Vec::new();
    for tool in tools {
        let Some(tool) = tool.as_object() else {
            continue;
        };
        // Gemini: {functionDeclarations: [...]}.
        if let Some(Json::Array(declarations)) = tool
            .get("functionDeclarations")
            .or_else(|| tool.get("function_declarations"))
        {
            for d in declarations {
                out.push(definition(d.as_object(), "function", &["parameters"]));
            }
            continue;
        }
        let kind = tool
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("function");
        let body = match tool.get("function").and_then(Json::as_object) {
            Some(function) => Some(function),
            None => Some(tool),
        };
        out.push(definition(body, kind, &["parameters", "input_schema"]));
    }
    (!out.is_empty()).then_some(Json::Array(out))
}

fn definition(body: Option<&Map<String, Json>>, kind: &str, schema: &[&str]) -> Json {
    let mut def = Map::new();
    def.insert("type".into(), Json::from(kind));
    if let Some(body) = body {
        for key in ["name", "description"] {
            if let Some(v) = body.get(key) {
                def.insert(key.into(), v.clone());
            }
        }
        if let Some(p) = schema.iter().find_map(|k| body.get(*k)) {
            def.insert("parameters".into(), p.clone());
        }
    }
    Json::Object(def)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_definitions_follow_the_conventions_from_each_shape() {
        let openai = json!([{"type": "function", "function": {"name": "w", "description": "d", "parameters": {"type": "object"}}}]);
        let anthropic =
            json!([{"name": "w", "description": "d", "input_schema": {"type": "object"}}]);
        let want = json!([{"type": "function", "name": "w", "description": "d", "parameters": {"type": "object"}}]);
        assert_eq!(tool_definitions(&openai).unwrap(), want);
        assert_eq!(tool_definitions(&anthropic).unwrap(), want);
        let gemini = json!([{"functionDeclarations": [{"name": "w", "description": "d", "parameters": {"type": "object"}}]}]);
        assert_eq!(tool_definitions(&gemini).unwrap(), want);
    }
}
