//! Streamed responses: the chunks pass through to the caller untouched and
//! unbuffered, while the record assembles the text from the deltas, the tool
//! calls from their argument fragments (parallel calls by index), the finish
//! reasons and the usage of the final chunk, and the time to the first chunk.
//!
//! The record is emitted when the stream ends, when it fails mid-way (the
//! partial text is kept and the error recorded), or when it is dropped early
//! (marked abandoned, with what was received).
//!
//! A chunk type is read through [`LlmChunk`]; implementations ship for
//! `serde_json::Value` (OpenAI chat completion chunks and Anthropic stream
//! events, with or without their `{"event", "data"}` envelope), strings (text
//! deltas), `Result<T, E: Display>` and references.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use serde_json::Value;

use crate::call::CallState;
use crate::capture::{CapturedError, Choice, ResponseInfo, ToolCall, Usage};

/// Reads one chunk of a streamed response into the accumulator.
#[diagnostic::on_unimplemented(
    message = "`#[llm_traced]` cannot read stream chunks of type `{Self}`",
    label = "the stream's items do not implement `llm_traced::stream::LlmChunk`",
    note = "implement `llm_traced::stream::LlmChunk` for `{Self}` (one method that feeds a `StreamAccumulator`), or stream `serde_json::Value`, `String` or `Result<T, E: Display>` of those"
)]
pub trait LlmChunk {
    /// Adds what this chunk says to `acc`.
    fn accumulate(&self, acc: &mut StreamAccumulator);
}

#[derive(Debug, Default, Clone)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// What the chunks of one stream have said so far.
#[derive(Debug, Default)]
pub struct StreamAccumulator {
    model: Option<String>,
    id: Option<String>,
    texts: BTreeMap<u32, String>,
    refusal: Option<String>,
    tool_calls: BTreeMap<u32, PartialCall>,
    finish_reasons: BTreeMap<u32, String>,
    usage: Option<Usage>,
    error: Option<CapturedError>,
    /// Anthropic: content block index → tool-call index.
    blocks: BTreeMap<u32, u32>,
}

impl StreamAccumulator {
    /// Sets the model that answered.
    pub fn set_model(&mut self, model: &str) {
        self.model.get_or_insert_with(|| model.to_owned());
    }

    /// Sets the provider's response id.
    pub fn set_id(&mut self, id: &str) {
        self.id.get_or_insert_with(|| id.to_owned());
    }

    /// Appends a text delta to choice `choice`.
    pub fn push_text(&mut self, choice: u32, delta: &str) {
        self.texts.entry(choice).or_default().push_str(delta);
    }

    /// Appends a refusal delta.
    pub fn push_refusal(&mut self, delta: &str) {
        self.refusal.get_or_insert_with(String::new).push_str(delta);
    }

    /// Adds to tool call `index`: its id and name when first seen, then
    /// argument fragments in order.
    pub fn tool_call_delta(
        &mut self,
        index: u32,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
    ) {
        let call = self.tool_calls.entry(index).or_default();
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name.filter(|s| !s.is_empty()) {
            call.name = name.to_owned();
        }
        if let Some(arguments) = arguments {
            call.arguments.push_str(arguments);
        }
    }

    /// Sets why choice `choice` ended.
    pub fn set_finish_reason(&mut self, choice: u32, reason: &str) {
        self.finish_reasons.insert(choice, reason.to_owned());
    }

    /// Merges usage counts (later chunks fill or overwrite what they give).
    pub fn merge_usage(&mut self, usage: Usage) {
        let current = self.usage.get_or_insert_with(Usage::default);
        macro_rules! take {
            ($($f:ident),*) => { $( if usage.$f.is_some() { current.$f = usage.$f; } )* };
        }
        take!(
            input_tokens,
            output_tokens,
            total_tokens,
            cached_input_tokens,
            cache_creation_input_tokens,
            reasoning_tokens
        );
    }

    /// Records an error the stream delivered.
    pub fn set_error(&mut self, error: CapturedError) {
        self.error.get_or_insert(error);
    }

    /// Whether an error was seen.
    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// What the stream said, as a [`ResponseInfo`].
    pub fn into_info(self, wants_content: bool) -> ResponseInfo {
        let mut info = if wants_content {
            ResponseInfo::default()
        } else {
            ResponseInfo::metadata_only()
        };
        info.model = self.model;
        info.id = self.id;
        info.usage = self.usage.map(|mut u| {
            if u.total_tokens.is_none() {
                u.total_tokens = u.total();
            }
            u
        });
        info.finish_reasons = self.finish_reasons.into_values().collect();
        info.refusal = self.refusal;
        info.tool_calls = self
            .tool_calls
            .into_values()
            .map(|c| ToolCall {
                id: c.id,
                name: c.name,
                arguments: if wants_content {
                    c.arguments
                } else {
                    String::new()
                },
            })
            .collect();
        if wants_content {
            if self.texts.len() > 1 {
                info.choices = self
                    .texts
                    .iter()
                    .map(|(i, t)| Choice {
                        index: *i,
                        text: Some(t.clone()),
                        finish_reason: None,
                    })
                    .collect();
            }
            info.text = self.texts.into_iter().next().map(|(_, t)| t);
        }
        info.error = self.error;
        info
    }
}

fn u32_at(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).map(|n| n as u32)
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
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
            return openai_chunk(self, acc);
        }
        match str_at(self, "type") {
            Some("message_start") => {
                if let Some(message) = self.get("message") {
                    if let Some(model) = str_at(message, "model") {
                        acc.set_model(model);
                    }
                    if let Some(id) = str_at(message, "id") {
                        acc.set_id(id);
                    }
                    if let Some(usage) = message.get("usage") {
                        acc.merge_usage(anthropic_usage(usage));
                    }
                }
            }
            Some("content_block_start") => {
                let block = u32_at(self, "index").unwrap_or(0);
                if let Some(content) = self.get("content_block") {
                    if str_at(content, "type") == Some("tool_use") {
                        let index = acc.blocks.len() as u32;
                        acc.blocks.insert(block, index);
                        acc.tool_call_delta(
                            index,
                            str_at(content, "id"),
                            str_at(content, "name"),
                            None,
                        );
                    }
                }
            }
            Some("content_block_delta") => {
                let block = u32_at(self, "index").unwrap_or(0);
                if let Some(delta) = self.get("delta") {
                    match str_at(delta, "type") {
                        Some("text_delta") => acc.push_text(0, str_at(delta, "text").unwrap_or("")),
                        Some("input_json_delta") => {
                            if let Some(&index) = acc.blocks.get(&block) {
                                acc.tool_call_delta(
                                    index,
                                    None,
                                    None,
                                    str_at(delta, "partial_json"),
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
            Some("message_delta") => {
                if let Some(reason) = self.get("delta").and_then(|d| str_at(d, "stop_reason")) {
                    acc.set_finish_reason(0, reason);
                }
                if let Some(usage) = self.get("usage") {
                    let mut u = anthropic_usage(usage);
                    // message_delta's input counts, when present, repeat the start's.
                    if u.input_tokens == Some(0) {
                        u.input_tokens = None;
                    }
                    acc.merge_usage(u);
                }
            }
            Some("error") => {
                if let Some(error) = self.get("error") {
                    acc.set_error(CapturedError {
                        message: str_at(error, "message")
                            .unwrap_or("stream error")
                            .to_owned(),
                        type_name: str_at(error, "type").unwrap_or("error").to_owned(),
                        body: Some(self.to_string()),
                        ..CapturedError::default()
                    });
                }
            }
            _ => {
                if let Some(error) = self.get("error") {
                    acc.set_error(CapturedError {
                        message: str_at(error, "message")
                            .unwrap_or("stream error")
                            .to_owned(),
                        type_name: str_at(error, "code")
                            .or_else(|| str_at(error, "type"))
                            .unwrap_or("error")
                            .to_owned(),
                        body: Some(self.to_string()),
                        ..CapturedError::default()
                    });
                }
            }
        }
    }
}

fn anthropic_usage(usage: &Value) -> Usage {
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

fn openai_chunk(v: &Value, acc: &mut StreamAccumulator) {
    if let Some(model) = str_at(v, "model") {
        acc.set_model(model);
    }
    if let Some(id) = str_at(v, "id") {
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
            if let Some(text) = str_at(delta, "content") {
                acc.push_text(index, text);
            }
            if let Some(refusal) = str_at(delta, "refusal") {
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
                    str_at(call, "id"),
                    function.and_then(|f| str_at(f, "name")),
                    function.and_then(|f| str_at(f, "arguments")),
                );
            }
        }
        if let Some(reason) = str_at(choice, "finish_reason") {
            acc.set_finish_reason(index, reason);
        }
    }
}

impl LlmChunk for str {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        acc.push_text(0, self);
    }
}

impl LlmChunk for String {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        acc.push_text(0, self);
    }
}

impl<T: LlmChunk + ?Sized> LlmChunk for &T {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        (**self).accumulate(acc)
    }
}

impl<T: LlmChunk + ?Sized> LlmChunk for Box<T> {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        (**self).accumulate(acc)
    }
}

/// An `Err` item is the stream failing mid-way: recorded, and passed on.
impl<T: LlmChunk, E: Display> LlmChunk for Result<T, E> {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        match self {
            Ok(chunk) => chunk.accumulate(acc),
            Err(e) => acc.set_error(CapturedError {
                message: e.to_string(),
                type_name: std::any::type_name::<E>().to_owned(),
                ..CapturedError::default()
            }),
        }
    }
}

/// How a stream's record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The stream returned `None`.
    Completed,
    /// It was dropped before its end.
    Abandoned,
}

/// What is known of a stream when its record is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamFacts {
    pub(crate) end: StreamEnd,
    pub(crate) chunks: u64,
    pub(crate) first_chunk_after: Option<Duration>,
}

struct Live {
    call: Box<CallState>,
    acc: StreamAccumulator,
    chunks: u64,
    first_chunk_after: Option<Duration>,
    started: Instant,
}

pin_project_lite::pin_project! {
    /// A stream whose chunks are recorded as they pass. Inert (a plain
    /// pass-through) when nothing listens.
    #[must_use = "streams do nothing unless polled"]
    pub struct TracedStream<S> {
        live: Option<Box<Live>>,
        #[pin]
        inner: S,
    }

    impl<S> PinnedDrop for TracedStream<S> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(live) = this.live.take() {
                finish(live, StreamEnd::Abandoned);
            }
        }
    }
}

impl<S> TracedStream<S> {
    /// Wraps `inner`; `call` is the call's state (none when nothing listens).
    pub fn new(call: Option<Box<CallState>>, inner: S) -> Self {
        let live = call.map(|call| {
            let started = call.started();
            Box::new(Live {
                call,
                acc: StreamAccumulator::default(),
                chunks: 0,
                first_chunk_after: None,
                started,
            })
        });
        TracedStream { live, inner }
    }
}

fn finish(live: Box<Live>, end: StreamEnd) {
    let Live {
        call,
        acc,
        chunks,
        first_chunk_after,
        ..
    } = *live;
    call.finish_stream(
        acc,
        StreamFacts {
            end,
            chunks,
            first_chunk_after,
        },
    );
}

impl<S> Stream for TracedStream<S>
where
    S: Stream,
    S::Item: LlmChunk,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(live) = this.live.as_mut() else {
            return this.inner.poll_next(cx);
        };
        let polled = {
            let (_context, _span) = live.call.enter();
            this.inner.poll_next(cx)
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(item)) => {
                live.chunks += 1;
                if live.first_chunk_after.is_none() {
                    live.first_chunk_after = Some(live.started.elapsed());
                }
                let acc = &mut live.acc;
                let _ = catch_unwind(AssertUnwindSafe(|| item.accumulate(acc)));
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                if let Some(live) = this.live.take() {
                    finish(live, StreamEnd::Completed);
                }
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Wraps a bare stream output (`-> impl Stream`).
pub fn wrap_stream<S>(call: Option<Box<CallState>>, stream: S) -> TracedStream<S> {
    TracedStream::new(call, stream)
}

/// Wraps the stream of a `Result` output (`-> Result<impl Stream, E>`); an
/// `Err` ends the call at once as a failure.
pub fn wrap_result_stream<S, E: Display>(
    call: Option<Box<CallState>>,
    output: Result<S, E>,
) -> Result<TracedStream<S>, E> {
    match output {
        Ok(stream) => Ok(TracedStream::new(call, stream)),
        Err(e) => {
            if let Some(call) = call {
                call.finish_stream_error(&e, std::any::type_name::<E>());
            }
            Err(e)
        }
    }
}

/// A boxed stream, as clients name them (`Pin<Box<dyn Stream + Send>>`).
pub type BoxedStream<'a, I> = Pin<Box<dyn Stream<Item = I> + Send + 'a>>;

/// Picks, at compile time, how a named stream type is wrapped (`stream`
/// argument): a boxed stream, or a `Result` of one.
#[doc(hidden)]
pub trait ViaBoxedStream<R> {
    /// The wrapper.
    fn stream_wrapper(&self) -> fn(Option<Box<CallState>>, R) -> R;
}

impl<'a, I: LlmChunk + 'a> ViaBoxedStream<BoxedStream<'a, I>>
    for &crate::capture::Probe<BoxedStream<'a, I>>
{
    fn stream_wrapper(
        &self,
    ) -> fn(Option<Box<CallState>>, BoxedStream<'a, I>) -> BoxedStream<'a, I> {
        |call, stream| Box::pin(TracedStream::new(call, stream))
    }
}

/// The `Result` case of [`ViaBoxedStream`].
#[doc(hidden)]
pub trait ViaResultBoxedStream<R> {
    /// The wrapper.
    fn stream_wrapper(&self) -> fn(Option<Box<CallState>>, R) -> R;
}

impl<'a, I: LlmChunk + 'a, E: Display> ViaResultBoxedStream<Result<BoxedStream<'a, I>, E>>
    for crate::capture::Probe<Result<BoxedStream<'a, I>, E>>
{
    fn stream_wrapper(
        &self,
    ) -> fn(Option<Box<CallState>>, Result<BoxedStream<'a, I>, E>) -> Result<BoxedStream<'a, I>, E>
    {
        |call, output| wrap_result_stream(call, output).map(|s| Box::pin(s) as BoxedStream<'a, I>)
    }
}

#[cfg(feature = "async-openai")]
mod async_openai_impls {
    use super::{LlmChunk, StreamAccumulator};
    use crate::capture::{LlmResponse, ResponseInfo};
    use async_openai::types::chat::{
        CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
    };

    /// async-openai's chat completion, read as its JSON.
    impl LlmResponse for CreateChatCompletionResponse {
        fn capture(&self, info: &mut ResponseInfo) {
            if let Ok(value) = serde_json::to_value(self) {
                value.capture(info);
            }
        }
    }

    /// async-openai's stream chunk, read as its JSON.
    impl LlmChunk for CreateChatCompletionStreamResponse {
        fn accumulate(&self, acc: &mut StreamAccumulator) {
            if let Ok(value) = serde_json::to_value(self) {
                value.accumulate(acc);
            }
        }
    }
}
