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
//! # extern crate llm_traced_core as llm_traced;
//! use llm_traced::capture::{LlmResponse, ResponseInfo, Usage};
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

use serde_json::Value;

mod anthropic;
#[cfg(feature = "async-openai")]
mod async_openai;
mod errors;
mod gemini;
mod info;
mod openai;
pub mod stream;

pub use info::{CapturedError, Choice, ResponseInfo, ToolCall, Usage};
use stream::{LlmChunk, StreamAccumulator};

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
// JSON shapes: the dispatch; each provider's readers are in its own file

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
            if let Some(error) = errors::error_body(self) {
                info.error = Some(error);
                return;
            }
        }
        if obj.contains_key("choices") {
            openai::chat(self, info);
        } else if obj.get("object").and_then(Value::as_str) == Some("response")
            || obj.get("output").is_some_and(Value::is_array)
        {
            openai::responses(self, info);
        } else if obj.get("type").and_then(Value::as_str) == Some("message")
            || (obj.get("content").is_some_and(Value::is_array) && obj.contains_key("stop_reason"))
        {
            anthropic::message(self, info);
        } else if obj.contains_key("candidates") || obj.contains_key("usageMetadata") {
            gemini::generate_content(self, info);
        } else if obj.get("object").and_then(Value::as_str) == Some("list")
            && obj.contains_key("usage")
        {
            openai::embeddings(self, info);
        }
    }
}

pub(crate) fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(crate) fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_u64()
}

/// Tool-call arguments as JSON text, whether the provider sent text or an object.
pub(crate) fn arguments_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn u32_at(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).map(|n| n as u32)
}

pub(crate) fn str_ref<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// OpenAI chat completion chunks, Anthropic stream events (bare or in an
/// `{"event": …, "data": …}` envelope), and error payloads.
impl LlmChunk for Value {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        if let Some(data) = self.get("data").filter(|_| self.get("event").is_some()) {
            return data.accumulate(acc);
        }
        if self.get("choices").is_some() {
            return openai::accumulate_chunk(self, acc);
        }
        if self.get("candidates").is_some() || self.get("usageMetadata").is_some() {
            return gemini::accumulate_chunk(self, acc);
        }
        if str_ref(self, "type").is_some_and(|t| t.starts_with("response.")) {
            return openai::accumulate_responses_event(self, acc);
        }
        anthropic::accumulate_event(self, acc);
    }
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

// Steps: four choices, most specific first (call on `&&&&Probe<T>`): a
// `Result<T: Serialize, E: Display>` gives its error or its `Ok` value; a
// `Result<T, E: Display>` its error; a `Serialize` output its value; anything
// else nothing (a success).

/// For steps: a `Result<T: Serialize, E: Display>` output says whether the
/// step failed, and its `Ok` value is the result.
#[doc(hidden)]
pub trait ViaSerializeResultStep<T> {
    /// The probe for `T`.
    fn step_probe(&self) -> Option<StepProbe<T>>;
}

impl<T: serde::Serialize, E: std::fmt::Display> ViaSerializeResultStep<Result<T, E>>
    for &&&Probe<Result<T, E>>
{
    fn step_probe(&self) -> Option<StepProbe<Result<T, E>>> {
        Some(|out, step| match out {
            Ok(value) => step.result(value),
            Err(e) => step.error = Some(step_error(e)),
        })
    }
}

/// For steps: a `Result<T, E: Display>` output says whether the step failed.
#[doc(hidden)]
pub trait ViaResultStep<T> {
    /// The probe for `T`.
    fn step_probe(&self) -> Option<StepProbe<T>>;
}

impl<T, E: std::fmt::Display> ViaResultStep<Result<T, E>> for &&Probe<Result<T, E>> {
    fn step_probe(&self) -> Option<StepProbe<Result<T, E>>> {
        Some(|out, step| {
            if let Err(e) = out {
                step.error = Some(step_error(e));
            }
        })
    }
}

/// For steps: a `Serialize` output is the result.
#[doc(hidden)]
pub trait ViaSerializeStep<T> {
    /// The probe for `T`.
    fn step_probe(&self) -> Option<StepProbe<T>>;
}

impl<T: serde::Serialize> ViaSerializeStep<T> for &Probe<T> {
    fn step_probe(&self) -> Option<StepProbe<T>> {
        Some(|out, step| step.result(out))
    }
}

/// For steps: any other output is a success.
#[doc(hidden)]
pub trait ViaPlainStep<T> {
    /// No probe.
    fn step_probe(&self) -> Option<StepProbe<T>> {
        None
    }
}

impl<T> ViaPlainStep<T> for Probe<T> {}

fn step_error<E: std::fmt::Display>(e: &E) -> CapturedError {
    CapturedError {
        message: e.to_string(),
        type_name: std::any::type_name::<E>().to_owned(),
        ..CapturedError::default()
    }
}

use crate::diagnostics::HttpErrorDetails;

/// Reads a step's output: whether it is an error (`Result<_, E: Display>`),
/// and its value when it is `Serialize` (the `Ok` value of a `Result`).
pub type StepProbe<O> = fn(&O, &mut StepOutput);

/// What a [`StepProbe`] read of a step's output.
#[derive(Debug, Default)]
pub struct StepOutput {
    /// The error, when the output is an `Err`.
    pub error: Option<CapturedError>,
    /// The result, serialised (only when `wants_result`).
    pub result: Option<Value>,
    /// Whether some output keeps the result (a tool step's, with response
    /// content on).
    pub wants_result: bool,
}

impl StepOutput {
    /// Records the step's result, when it is wanted; a result that
    /// serialises to `null` (`()`, `None`) is left out.
    pub fn result<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        if self.wants_result {
            self.result = Some(json_value(value, "result")).filter(|v| !v.is_null());
        }
    }
}

/// A value as JSON, through its text as a client would send it (`to_value`
/// would widen an `f32`); a value that cannot be serialised leaves a note.
#[doc(hidden)]
pub fn json_value<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Value {
    serde_json::to_string(value)
        .and_then(|t| serde_json::from_str::<Value>(&t))
        .unwrap_or_else(|e| Value::String(format!("<{what} could not be serialised: {e}>")))
}
