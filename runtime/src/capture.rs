//! What `#[llm_traced]` reads from a function's output.
//!
//! The macro hands the value a traced function returns to [`LlmResponse::capture`],
//! which fills a [`ResponseInfo`]: the model that answered, the response id, token
//! usage, finish reasons, the assistant's text and tool calls, or the error. The
//! value itself is handed back to the caller untouched.
//!
//! Implementations ship for [`serde_json::Value`] (OpenAI Chat Completions, the
//! OpenAI Responses API, Anthropic Messages, Google Gemini `generateContent`, and
//! the providers' error bodies), for strings, and for `Option`, `Result`, `Box`,
//! `Arc` and references around any of those. A response type of your own takes a
//! few lines:
//!
//! ```
//! use llm_traced_runtime::capture::{LlmResponse, ResponseInfo, Usage};
//!
//! struct MyReply { text: String, tokens_in: u64, tokens_out: u64 }
//!
//! impl LlmResponse for MyReply {
//!     fn capture(&self, info: &mut ResponseInfo) {
//!         info.text = Some(self.text.clone());
//!         info.usage = Some(Usage::new(self.tokens_in, self.tokens_out));
//!     }
//! }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Reads what an instrumented call produced.
///
/// Implement it for your own response type to let `#[llm_traced]` record model,
/// usage, finish reasons, text and tool calls. [`capture`](LlmResponse::capture) is
/// only called when some output is switched on, so it may allocate freely.
#[diagnostic::on_unimplemented(
    message = "`#[llm_traced]` cannot read the output type `{Self}`",
    label = "this return type does not implement `llm_traced::LlmResponse`",
    note = "implement `llm_traced::LlmResponse` for `{Self}` (one method that fills a `ResponseInfo`: see its docs), or return a type that has it: `serde_json::Value`, `String`, `Option<T>`, `Result<T, E: Display>`"
)]
pub trait LlmResponse {
    /// Fills `info` with what this value tells about the call.
    fn capture(&self, info: &mut ResponseInfo);
}

/// Token counts of one call. Absent counts are `None`, never a made-up zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input (prompt) tokens, cached ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output (completion) tokens, reasoning ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Total tokens, as the provider reports it or input + output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Input tokens served from the provider's prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    /// Input tokens written to the provider's prompt cache (Anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Output tokens spent on hidden reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Usage with input and output counts; the total is their sum.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            total_tokens: Some(input_tokens.saturating_add(output_tokens)),
            ..Usage::default()
        }
    }

    /// The total, or input + output when the provider gave no total.
    pub fn total(&self) -> Option<u64> {
        self.total_tokens
            .or(match (self.input_tokens, self.output_tokens) {
                (Some(i), Some(o)) => Some(i.saturating_add(o)),
                (Some(i), None) => Some(i),
                (None, Some(o)) => Some(o),
                (None, None) => None,
            })
    }
}

/// A tool (function) call the model asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, used to match the tool's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them (JSON text).
    #[serde(default)]
    pub arguments: String,
}

/// One of several alternative answers (`n > 1`, Gemini candidates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The choice's index.
    pub index: u32,
    /// The text of this choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why this choice ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// The error a call returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedError {
    /// The error's text (`Display`).
    pub message: String,
    /// The error's Rust type, or the provider's error type for error bodies.
    pub type_name: String,
    /// The HTTP status, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The provider's error body, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The delay the provider asked for before a retry (`retry-after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// `Timeout` or `Network` when the transport itself failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<crate::diagnostics::ErrorClass>,
}

/// Everything [`LlmResponse::capture`] can tell about a call.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ResponseInfo {
    /// The model that answered (`gen_ai.response.model`).
    pub model: Option<String>,
    /// The provider's response id (`gen_ai.response.id`).
    pub id: Option<String>,
    /// Token usage.
    pub usage: Option<Usage>,
    /// Finish reasons, one per choice (`gen_ai.response.finish_reasons`).
    pub finish_reasons: Vec<String>,
    /// The assistant's text (the first choice when there are several).
    pub text: Option<String>,
    /// A refusal the model gave instead of content.
    pub refusal: Option<String>,
    /// Tool calls the model asked for (parallel calls in order).
    pub tool_calls: Vec<ToolCall>,
    /// All choices, when the provider returned more than one.
    pub choices: Vec<Choice>,
    /// The error, when the call failed.
    pub error: Option<CapturedError>,
    pub(crate) skip_content: bool,
}

impl ResponseInfo {
    /// Whether any output will show the response's text and tool arguments.
    /// When not, an implementation may leave [`text`](Self::text), choice
    /// texts and tool-call arguments out: they would be thrown away.
    pub fn wants_content(&self) -> bool {
        !self.skip_content
    }

    /// A `ResponseInfo` that says no content is wanted.
    pub fn metadata_only() -> Self {
        ResponseInfo {
            skip_content: true,
            ..ResponseInfo::default()
        }
    }

    /// Whether the call failed.
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

// ---------------------------------------------------------------------------
// Wrappers

impl<T: LlmResponse + ?Sized> LlmResponse for &T {
    fn capture(&self, info: &mut ResponseInfo) {
        (**self).capture(info)
    }
}

impl<T: LlmResponse + ?Sized> LlmResponse for &mut T {
    fn capture(&self, info: &mut ResponseInfo) {
        (**self).capture(info)
    }
}

impl<T: LlmResponse + ?Sized> LlmResponse for Box<T> {
    fn capture(&self, info: &mut ResponseInfo) {
        (**self).capture(info)
    }
}

impl<T: LlmResponse + ?Sized> LlmResponse for Arc<T> {
    fn capture(&self, info: &mut ResponseInfo) {
        (**self).capture(info)
    }
}

/// `None` records a call that produced nothing; `Some` is read through.
impl<T: LlmResponse> LlmResponse for Option<T> {
    fn capture(&self, info: &mut ResponseInfo) {
        if let Some(value) = self {
            value.capture(info)
        }
    }
}

/// `Ok` is read through; `Err` records the error's text and type name. The
/// `Result` itself is handed back to the caller untouched.
impl<T: LlmResponse, E: std::fmt::Display> LlmResponse for Result<T, E> {
    fn capture(&self, info: &mut ResponseInfo) {
        match self {
            Ok(value) => value.capture(info),
            Err(error) => {
                info.error = Some(CapturedError {
                    message: error.to_string(),
                    type_name: std::any::type_name::<E>().to_owned(),
                    ..CapturedError::default()
                })
            }
        }
    }
}

impl LlmResponse for str {
    fn capture(&self, info: &mut ResponseInfo) {
        if info.wants_content() {
            info.text = Some(self.to_owned());
        }
    }
}

impl LlmResponse for String {
    fn capture(&self, info: &mut ResponseInfo) {
        self.as_str().capture(info)
    }
}

impl LlmResponse for Cow<'_, str> {
    fn capture(&self, info: &mut ResponseInfo) {
        self.as_ref().capture(info)
    }
}

// ---------------------------------------------------------------------------
// JSON shapes

/// Reads the JSON shapes of the main providers: OpenAI Chat Completions (and
/// legacy completions), the OpenAI Responses API, Anthropic Messages, Google
/// Gemini `generateContent`, and their error bodies. Unknown shapes capture
/// nothing.
impl LlmResponse for Value {
    fn capture(&self, info: &mut ResponseInfo) {
        let Some(obj) = self.as_object() else {
            if let Some(text) = self.as_str() {
                info.text = Some(text.to_owned());
            }
            return;
        };
        if obj.get("type").and_then(Value::as_str) == Some("error") || obj.contains_key("error") {
            if let Some(error) = error_body(self) {
                info.error = Some(error);
                return;
            }
        }
        if obj.contains_key("choices") {
            openai_chat(self, info);
        } else if obj.get("object").and_then(Value::as_str) == Some("response")
            || obj.get("output").is_some_and(Value::is_array)
        {
            openai_responses(self, info);
        } else if obj.get("type").and_then(Value::as_str) == Some("message")
            || (obj.get("content").is_some_and(Value::is_array) && obj.contains_key("stop_reason"))
        {
            anthropic_message(self, info);
        } else if obj.contains_key("candidates") || obj.contains_key("usageMetadata") {
            gemini(self, info);
        }
    }
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_u64()
}

/// Tool-call arguments as JSON text, whether the provider sent text or an object.
fn arguments_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn openai_chat(v: &Value, info: &mut ResponseInfo) {
    // One pass over each object rather than a lookup per field: this runs on
    // every recorded call.
    let Some(obj) = v.as_object() else { return };
    let mut choices: &[Value] = &[];
    for (key, value) in obj {
        match key.as_str() {
            "model" => info.model = value.as_str().map(str::to_owned),
            "id" => info.id = value.as_str().map(str::to_owned),
            "usage" => info.usage = openai_usage(value),
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

fn openai_usage(usage: &Value) -> Option<Usage> {
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

fn openai_responses(v: &Value, info: &mut ResponseInfo) {
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

fn anthropic_message(v: &Value, info: &mut ResponseInfo) {
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

fn gemini(v: &Value, info: &mut ResponseInfo) {
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

/// The error in a provider's error body: OpenAI/Azure `{"error":{…}}`,
/// Anthropic `{"type":"error","error":{…}}`, Gemini `{"error":{"status":…}}`.
fn error_body(v: &Value) -> Option<CapturedError> {
    let error = v.get("error")?;
    if let Some(message) = error.as_str() {
        return Some(CapturedError {
            message: message.to_owned(),
            type_name: "error".to_owned(),
            body: Some(v.to_string()),
            ..CapturedError::default()
        });
    }
    let message = str_at(error, "message")?;
    let type_name = str_at(error, "code")
        .or_else(|| str_at(error, "type"))
        .or_else(|| str_at(error, "status"))
        .unwrap_or_else(|| "error".to_owned());
    let http_status = error
        .get("code")
        .and_then(Value::as_u64)
        .or_else(|| error.get("status").and_then(Value::as_u64))
        .and_then(|s| u16::try_from(s).ok());
    Some(CapturedError {
        message,
        type_name,
        http_status,
        body: Some(v.to_string()),
        ..CapturedError::default()
    })
}

// ---------------------------------------------------------------------------
// HTTP details of errors, found at compile time

/// Chooses, by autoref, how generated code reads a function's output: for a
/// `Result<T, E>` whose `E` implements [`HttpErrorDetails`], the error's HTTP
/// status, body and retry delay are read too; for anything else nothing more.
#[doc(hidden)]
pub struct Probe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// The probe for output type `T`.
    #[doc(hidden)]
    pub const fn new() -> Self {
        Probe(std::marker::PhantomData)
    }
}

/// A function that adds what the output's error type knows to the capture.
#[doc(hidden)]
pub type Enricher<T> = fn(&T, &mut ResponseInfo);

/// The specialised choice: `Result<T, E: HttpErrorDetails>`.
#[doc(hidden)]
pub trait ViaHttpDetails<T> {
    /// The enricher for `T`.
    fn enricher(&self) -> Option<Enricher<T>>;
}

impl<T, E> ViaHttpDetails<Result<T, E>> for &Probe<Result<T, E>>
where
    E: HttpErrorDetails + std::fmt::Display,
{
    fn enricher(&self) -> Option<Enricher<Result<T, E>>> {
        Some(enrich_result::<T, E>)
    }
}

/// The fallback: nothing more to read.
#[doc(hidden)]
pub trait ViaPlain<T> {
    /// No enricher.
    fn enricher(&self) -> Option<Enricher<T>> {
        None
    }
}

impl<T> ViaPlain<T> for Probe<T> {}

fn enrich_result<T, E: HttpErrorDetails + std::fmt::Display>(
    out: &Result<T, E>,
    info: &mut ResponseInfo,
) {
    if let (Err(e), Some(captured)) = (out, info.error.as_mut()) {
        captured.http_status = e.http_status().or(captured.http_status);
        captured.body = e.response_body().or(captured.body.take());
        captured.retry_after_ms = e
            .retry_after()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .or(captured.retry_after_ms);
        captured.transport = e.transport_failure().or(captured.transport);
    }
}

/// For steps: a `Result<T, E: Display>` output says whether the step failed.
#[doc(hidden)]
pub trait ViaResultStep<T> {
    /// The probe for `T`.
    fn step_probe(&self) -> Option<fn(&T) -> Option<CapturedError>>;
}

impl<T, E: std::fmt::Display> ViaResultStep<Result<T, E>> for &Probe<Result<T, E>> {
    fn step_probe(&self) -> Option<fn(&Result<T, E>) -> Option<CapturedError>> {
        Some(|out| match out {
            Ok(_) => None,
            Err(e) => Some(CapturedError {
                message: e.to_string(),
                type_name: std::any::type_name::<E>().to_owned(),
                ..CapturedError::default()
            }),
        })
    }
}

/// For steps: any other output is a success.
#[doc(hidden)]
pub trait ViaPlainStep<T> {
    /// No probe.
    fn step_probe(&self) -> Option<fn(&T) -> Option<CapturedError>> {
        None
    }
}

impl<T> ViaPlainStep<T> for Probe<T> {}

use crate::diagnostics::HttpErrorDetails;
