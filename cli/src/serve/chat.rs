//! Request messages as a chat: OpenAI, Anthropic and Gemini shapes, tool
//! calls with their arguments as formatted JSON, tool results, refusals.
//! Anything else is shown as formatted JSON. Every string is escaped.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::html::esc;

/// The messages of a request, as chat bubbles.
pub fn messages(out: &mut String, messages: &Value) {
    match messages {
        Value::Array(list) => {
            for m in list {
                message(out, m);
            }
        }
        Value::String(prompt) => bubble(out, "user", "prompt", |o| text(o, prompt)),
        Value::Object(o) => {
            // Wrappers: Anthropic's `system` + `messages`, Gemini's
            // `systemInstruction` + `contents`.
            let system = o.get("system").or_else(|| o.get("systemInstruction"));
            let list = o.get("messages").or_else(|| o.get("contents"));
            if list.is_some() || system.is_some() {
                if let Some(s) = system {
                    bubble(out, "system", "system", |o| content(o, s));
                }
                if let Some(l) = list {
                    self::messages(out, l);
                }
            } else {
                message(out, messages);
            }
        }
        other => bubble(out, "other", "message", |o| json_block(o, other)),
    }
}

fn message(out: &mut String, m: &Value) {
    let Value::Object(o) = m else {
        bubble(out, "other", "message", |out| content(out, m));
        return;
    };
    let role = o.get("role").and_then(Value::as_str).unwrap_or("message");
    let mut label = role.to_owned();
    if let Some(name) = o.get("name").and_then(Value::as_str) {
        let _ = write!(label, " · {name}");
    }
    if let Some(id) = o.get("tool_call_id").and_then(Value::as_str) {
        let _ = write!(label, " · result of {id}");
    }
    let class = match role {
        "user" | "human" => "user",
        "assistant" | "model" | "ai" => "assistant",
        "system" | "developer" => "system",
        "tool" | "function" => "tool",
        _ => "other",
    };
    bubble(out, class, &label, |out| {
        if let Some(c) = o.get("content") {
            content(out, c);
        }
        if let Some(parts) = o.get("parts") {
            content(out, parts);
        }
        if let Some(r) = o.get("refusal").and_then(Value::as_str) {
            refusal(out, r);
        }
        if let Some(Value::Array(calls)) = o.get("tool_calls") {
            for call in calls {
                let (name, args) = crate::conversations::tool_call_parts(call);
                tool_call(out, name, call.get("id").and_then(Value::as_str), args);
            }
        }
        let known = [
            "role",
            "content",
            "parts",
            "name",
            "tool_call_id",
            "tool_calls",
            "refusal",
        ];
        let rest: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !rest.is_empty() {
            out.push_str("<div class=\"extra\">");
            json_block(out, &Value::Object(rest));
            out.push_str("</div>");
        }
    });
}

/// A message's content: a string, or parts/blocks.
fn content(out: &mut String, c: &Value) {
    match c {
        Value::String(s) => text(out, s),
        Value::Null => {}
        Value::Array(parts) => {
            for p in parts {
                part(out, p);
            }
        }
        other => part(out, other),
    }
}

fn part(out: &mut String, p: &Value) {
    let Value::Object(o) = p else {
        match p {
            Value::String(s) => text(out, s),
            other => json_block(out, other),
        }
        return;
    };
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "tool_use" | "function_call" | "tool_call" => {
            let name = o.get("name").and_then(Value::as_str).unwrap_or("?");
            let args = o.get("input").or_else(|| o.get("arguments"));
            tool_call(out, name, o.get("id").and_then(Value::as_str), args);
            return;
        }
        "tool_result" | "function_call_output" | "tool_call_response" => {
            let id = o
                .get("tool_use_id")
                .or_else(|| o.get("call_id"))
                .or_else(|| o.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let _ = write!(
                out,
                "<div class=\"tool-result\"><div class=\"tool-head\">tool result {}</div>",
                esc(id)
            );
            if let Some(c) = o
                .get("content")
                .or_else(|| o.get("output"))
                .or_else(|| o.get("response"))
            {
                content(out, c);
            }
            out.push_str("</div>");
            return;
        }
        "refusal" => {
            if let Some(r) = o.get("refusal").and_then(Value::as_str) {
                refusal(out, r);
                return;
            }
        }
        _ => {}
    }
    if let Some(fc) = o.get("functionCall") {
        let name = fc.get("name").and_then(Value::as_str).unwrap_or("?");
        tool_call(out, name, None, fc.get("args"));
        return;
    }
    if let Some(fr) = o.get("functionResponse") {
        let name = fr.get("name").and_then(Value::as_str).unwrap_or("");
        let _ = write!(
            out,
            "<div class=\"tool-result\"><div class=\"tool-head\">tool result {}</div>",
            esc(name)
        );
        if let Some(r) = fr.get("response") {
            json_block(out, r);
        }
        out.push_str("</div>");
        return;
    }
    match o.get("text").and_then(Value::as_str) {
        Some(t) => text(out, t),
        None => json_block(out, p),
    }
}

/// Text, escaped, its line breaks kept (by CSS).
pub fn text(out: &mut String, s: &str) {
    let _ = write!(out, "<div class=\"text\">{}</div>", esc(s));
}

/// A refusal.
pub fn refusal(out: &mut String, s: &str) {
    let _ = write!(
        out,
        "<div class=\"refusal\"><span class=\"badge warn\">refusal</span> {}</div>",
        esc(s)
    );
}

/// A tool call: its name and id, its arguments as formatted JSON (given as
/// JSON text or as a value).
pub fn tool_call(out: &mut String, name: &str, id: Option<&str>, args: Option<&Value>) {
    let _ = write!(
        out,
        "<div class=\"tool-call\"><div class=\"tool-head\">tool call <b>{}</b>",
        esc(name)
    );
    if let Some(id) = id {
        let _ = write!(out, " <span class=\"mono note\">{}</span>", esc(id));
    }
    out.push_str("</div>");
    match args {
        Some(Value::String(s)) if s.is_empty() => {
            out.push_str("<div class=\"note\">(arguments not recorded)</div>")
        }
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => json_block(out, &v),
            Err(_) => {
                let _ = write!(out, "<pre>{}</pre>", esc(s));
            }
        },
        Some(v) => json_block(out, v),
        None => out.push_str("<div class=\"note\">(arguments not recorded)</div>"),
    }
    out.push_str("</div>");
}

/// A value as formatted JSON.
pub fn json_block(out: &mut String, v: &Value) {
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = write!(out, "<pre class=\"json\">{}</pre>", esc(&pretty));
}

fn bubble(out: &mut String, class: &str, label: &str, body: impl FnOnce(&mut String)) {
    let _ = write!(
        out,
        "<div class=\"msg {class}\"><div class=\"role\">{}</div>",
        esc(label)
    );
    body(out);
    out.push_str("</div>");
}

/// The assistant's answer as a bubble.
pub fn response(out: &mut String, r: &llm_traced_runtime::record::ResponseContent) {
    bubble(out, "assistant response", "response", |out| {
        if let Some(t) = &r.text {
            text(out, t);
        }
        if let Some(t) = &r.refusal {
            refusal(out, t);
        }
        if r.choices.len() > 1 {
            for c in &r.choices {
                let _ = write!(
                    out,
                    "<div class=\"choice\"><div class=\"tool-head\">choice {}{}</div>",
                    c.index,
                    c.finish_reason
                        .as_deref()
                        .map(|f| format!(" · {}", esc(f)))
                        .unwrap_or_default()
                );
                if let Some(t) = &c.text {
                    text(out, t);
                }
                out.push_str("</div>");
            }
        }
    });
}

/// The last message of a request (the new turn), for the session view.
pub fn last_message(out: &mut String, messages: &Value) {
    let list = match messages {
        Value::Array(l) => Some(l),
        Value::Object(o) => o
            .get("messages")
            .or_else(|| o.get("contents"))
            .and_then(Value::as_array),
        _ => None,
    };
    match list.and_then(|l| l.last()) {
        Some(m) => message(out, m),
        None => self::messages(out, messages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(v: Value) -> String {
        let mut out = String::new();
        messages(&mut out, &v);
        out
    }

    #[test]
    fn anthropic_blocks_tool_use_and_results() {
        let html = render(json!({"system": "Be brief.", "messages": [
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "rust"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 results"}]}
        ]}));
        assert!(
            html.contains("<div class=\"role\">system</div><div class=\"text\">Be brief.</div>")
        );
        assert!(html.contains("tool call <b>search</b> <span class=\"mono note\">toolu_1</span>"));
        assert!(html.contains("{\n  &quot;q&quot;: &quot;rust&quot;\n}"));
        assert!(html.contains("tool result toolu_1</div><div class=\"text\">3 results</div>"));
    }

    #[test]
    fn gemini_parts_function_calls_and_responses() {
        let html = render(json!({"contents": [
            {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}}}]},
            {"role": "function", "parts": [{"functionResponse": {"name": "weather", "response": {"c": -3}}}]}
        ]}));
        assert!(html.contains("<div class=\"msg user\"><div class=\"role\">user</div><div class=\"text\">Weather in Oslo?</div>"));
        assert!(html.contains("<div class=\"msg assistant\"><div class=\"role\">model</div>"));
        assert!(html.contains("tool call <b>weather</b>"));
        assert!(html.contains("tool result weather"));
        assert!(html.contains("&quot;c&quot;: -3"));
    }

    #[test]
    fn odd_shapes_are_shown_as_json_never_lost() {
        let html = render(json!([42, null, {"role": 7, "content": {"weird": true}}, "plain"]));
        assert!(html.contains("42"));
        assert!(html.contains("&quot;weird&quot;: true"));
        assert!(html.contains("plain"));
        let html = render(json!("just a prompt"));
        assert!(html.contains("just a prompt"));
        let html = render(json!(3.5));
        assert!(html.contains("3.5"));
        // Arguments that are not JSON are shown as they are; empty ones say so.
        let mut out = String::new();
        tool_call(&mut out, "f", None, Some(&json!("{not json")));
        assert!(out.contains("<pre>{not json</pre>"));
        let mut out = String::new();
        tool_call(&mut out, "f", None, Some(&json!("")));
        assert!(out.contains("(arguments not recorded)"));
    }

    #[test]
    fn every_string_is_escaped() {
        let evil = "<b onclick=x>&\"'";
        let html = render(json!([{"role": evil, "name": evil, "content": evil,
            "tool_calls": [{"id": evil, "function": {"name": evil, "arguments": evil}}]}]));
        assert!(!html.contains("<b onclick"));
        assert!(html.contains("&lt;b onclick=x&gt;&amp;&quot;&#39;"));
    }
}
