//! The readable block `LLM_DEBUG` prints per call.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use serde_json::Value;

use super::{Ended, Output};
use crate::config::{Config, DebugOutput};
use crate::record::{CallRecord, Status};
use crate::text::shorten;

static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// The debug block (`LLM_DEBUG`), written on the caller's thread so that it
/// keeps its place among the program's own stderr lines.
pub(crate) struct Debug;

impl Output for Debug {
    fn on_end(&self, call: &Ended<'_>, record: &CallRecord) {
        if let Some(config) = call.config.filter(|c| c.debug) {
            emit(config, record);
        }
    }
}

/// Writes the block in one `write_all`, so that concurrent calls never
/// interleave their lines.
fn emit(config: &Config, record: &CallRecord) {
    let block = render(config, record);
    let result = match &config.debug_output {
        DebugOutput::Stderr => std::io::stderr().lock().write_all(block.as_bytes()),
        DebugOutput::Writer(writer) => match writer.lock() {
            Ok(mut w) => w.write_all(block.as_bytes()).and_then(|_| w.flush()),
            Err(poisoned) => {
                let mut w = poisoned.into_inner();
                w.write_all(block.as_bytes())
            }
        },
    };
    if let Err(e) = result {
        super::warn_once(&WRITE_FAILED, || {
            format!("llm-traced: cannot write the debug block: {e}")
        });
    }
}

const RULE: &str = "============================================================";

/// The block for one call.
pub(crate) fn render(config: &Config, r: &CallRecord) -> String {
    let max = config.debug_max_chars;
    let mut out = String::with_capacity(512);
    let _ = writeln!(out, "\n{RULE}");
    if r.kind != "llm" {
        let _ = writeln!(out, "{} step  {}  ({})", r.kind, r.name, r.function);
    } else {
        let _ = writeln!(out, "LLM call  {}  ({})", r.name, r.function);
    }
    if let Some(trace) = &r.trace_id {
        let mut line = format!("{trace} span {}", r.span_id.as_deref().unwrap_or("?"));
        if let Some(parent) = &r.parent_span_id {
            let _ = write!(line, " parent {parent}");
        }
        let _ = writeln!(out, "  trace     {line}");
    }
    if let Some(address) = &r.server_address {
        let mut line = match r.server_port {
            Some(port) => format!("{address}:{port}"),
            None => address.clone(),
        };
        if let Some(http) = &r.http {
            if let Some(status) = http.status {
                let _ = write!(line, " · HTTP {status}");
            }
            let _ = write!(line, " · {} attempt(s)", http.attempts);
            if !http.failed_attempts.is_empty() {
                let _ = write!(line, " ({} failed)", http.failed_attempts.join(", "));
            }
        }
        let _ = writeln!(out, "  server    {line}");
    }
    let mut who = Vec::new();
    for (label, value) in [
        ("user", &r.user_id),
        ("session", &r.session_id),
        ("tenant", &r.tenant_id),
    ] {
        if let Some(v) = value {
            who.push(format!("{label} {v}"));
        }
    }
    if !r.tags.is_empty() {
        who.push(format!("tags {}", r.tags.join(",")));
    }
    if !who.is_empty() {
        let _ = writeln!(out, "  context   {}", who.join(" · "));
    }
    if r.kind != "llm" {
        let _ = writeln!(
            out,
            "  status    {} · {}",
            r.status.as_str(),
            format_ms(r.latency_ms)
        );
        if let Some(id) = &r.tool_call_id {
            let _ = writeln!(out, "  call id   {id}");
        }
        if let (true, Some(arguments)) = (config.log_prompts, &r.tool_arguments) {
            let _ = writeln!(out, "  arguments {}", shorten(&arguments.to_string(), max));
        }
        if let (true, Some(result)) = (config.log_responses, &r.tool_result) {
            let _ = writeln!(out, "  result    {}", shorten(&result.to_string(), max));
        }
        render_error(&mut out, r, max);
        let _ = writeln!(out, "{RULE}");
        return out;
    }
    let mut model = r.request_model.clone().unwrap_or_else(|| "?".to_owned());
    if let Some(answered) = r
        .response_model
        .as_deref()
        .filter(|m| Some(*m) != r.request_model.as_deref())
    {
        let _ = write!(model, " -> {answered}");
    }
    let provider = r
        .provider
        .as_deref()
        .map(|p| format!(" · {p}"))
        .unwrap_or_default();
    let _ = writeln!(out, "  model     {model}{provider} · {}", r.operation);
    let _ = writeln!(
        out,
        "  status    {} · {} · request {}",
        r.status.as_str(),
        format_ms(r.latency_ms),
        r.request_id
    );
    if let Some(u) = &r.usage {
        let n = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
        let mut line = format!("{} in", n(u.input_tokens));
        if let Some(cached) = u.cached_input_tokens.filter(|c| *c > 0) {
            let _ = write!(line, " ({cached} cached)");
        }
        let _ = write!(line, " · {} out", n(u.output_tokens));
        if let Some(reasoning) = u.reasoning_tokens.filter(|c| *c > 0) {
            let _ = write!(line, " ({reasoning} reasoning)");
        }
        let _ = write!(line, " · {} total", n(u.total()));
        let _ = writeln!(out, "  tokens    {line}");
    }
    if !r.finish_reasons.is_empty() {
        let _ = writeln!(out, "  finish    {}", r.finish_reasons.join(", "));
    }
    if let Some(stream) = &r.stream {
        let first = r
            .time_to_first_chunk_ms
            .map(|t| format!(" · first after {}", format_ms(t)))
            .unwrap_or_default();
        let end = if stream.completed {
            ""
        } else {
            " · abandoned"
        };
        let _ = writeln!(out, "  stream    {} chunk(s){first}{end}", stream.chunks);
    }
    if config.log_prompts {
        if let Some(params) = r.request.as_ref().and_then(request_parameters) {
            let _ = writeln!(out, "  params    {}", shorten(&params, max));
        }
        if let Some(messages) = &r.messages {
            let mut first = true;
            for line in message_lines(messages) {
                let label = if first { "prompt" } else { "" };
                first = false;
                let _ = writeln!(out, "  {label:<9} {}", indent(&shorten(&line, max)));
            }
        }
    }
    if config.log_responses {
        if let Some(resp) = &r.response {
            if let Some(text) = &resp.text {
                let _ = writeln!(out, "  response  {}", indent(&shorten(text, max)));
            }
            if let Some(refusal) = &resp.refusal {
                let _ = writeln!(out, "  refusal   {}", indent(&shorten(refusal, max)));
            }
            for choice in resp.choices.iter().skip(1) {
                let text = choice.text.as_deref().unwrap_or("");
                let _ = writeln!(
                    out,
                    "  choice {:<2} {}",
                    choice.index,
                    indent(&shorten(text, max))
                );
            }
        }
    }
    for call in &r.tool_calls {
        if config.log_responses && !call.arguments.is_empty() {
            let _ = writeln!(
                out,
                "  tool      {}({})",
                call.name,
                shorten(&call.arguments, max)
            );
        } else {
            let _ = writeln!(out, "  tool      {}", call.name);
        }
    }
    render_error(&mut out, r, max);
    let _ = writeln!(out, "{RULE}");
    out
}

fn render_error(out: &mut String, r: &CallRecord, max: usize) {
    if let Some(error) = &r.error {
        let label = if r.status == Status::Cancelled {
            "cancelled"
        } else {
            "error"
        };
        let _ = writeln!(
            out,
            "  {label:<9} [{}] {}",
            error.error_type,
            indent(&shorten(&error.message, max * 2))
        );
        if let Some(type_name) = &error.type_name {
            let _ = writeln!(out, "            ({type_name})");
        }
        if let Some(d) = &error.diagnosis {
            let _ = writeln!(out, "  diagnosis {}", d.summary);
            let retry = match (d.retryable, d.retry_after_ms) {
                (true, Some(ms)) => format!("retry: yes, after {:.1} s", ms as f64 / 1000.0),
                (true, None) => "retry: yes, with exponential backoff and jitter".to_owned(),
                (false, _) => "retry: no, fix the cause first".to_owned(),
            };
            let _ = writeln!(out, "            {retry}");
            for suggestion in d.suggestions.iter().take(3) {
                let _ = writeln!(out, "            - {suggestion}");
            }
            if let Some(doc) = d.docs.first() {
                let _ = writeln!(out, "            docs: {doc}");
            }
        }
    }
}

/// `0.3 ms`, `12 ms`, `1.84 s`.
fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Continuation lines of a multi-line value, aligned under its first line.
fn indent(text: &str) -> String {
    text.replace('\n', "\n            ")
}

/// The request's parameters on one line (`temperature=0.2 max_tokens=100`):
/// everything but the model, the messages and the tools, which show
/// elsewhere or would not fit.
fn request_parameters(request: &Value) -> Option<String> {
    const SHOWN_ELSEWHERE: &[&str] = &[
        "model",
        "messages",
        "contents",
        "input",
        "system",
        "instructions",
        "systemInstruction",
        "tools",
    ];
    let params: Vec<String> = request
        .as_object()?
        .iter()
        .filter(|(k, _)| !SHOWN_ELSEWHERE.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    (!params.is_empty()).then(|| params.join(" "))
}

/// One line per message: `[role] text`, for chat-shaped messages; the JSON
/// otherwise.
fn message_lines(messages: &Value) -> Vec<String> {
    let one = |m: &Value| -> String {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content").map(|c| match c {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .map(|p| match p.get("text").and_then(Value::as_str) {
                    Some(t) => t.to_owned(),
                    None => p.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Value::Null => String::new(),
            other => other.to_string(),
        });
        match (role, content) {
            (Some(role), Some(content)) => format!("[{role}] {content}"),
            _ => m.to_string(),
        }
    };
    match messages {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![one(other)],
    }
}
