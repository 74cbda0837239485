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

/// A boxed stream, as clients name them (`Pin<Box<dyn Stream + Send>>`).
pub type BoxedStream<'a, I> = std::pin::Pin<Box<dyn futures_core::Stream<Item = I> + Send + 'a>>;

use super::info::{CapturedError, Choice, ResponseInfo, ToolCall, Usage};

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
    pub(super) blocks: BTreeMap<u32, u32>,
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

    /// How many tool calls have been seen (the next one's index, for
    /// providers that send each call whole).
    pub fn tool_call_count(&self) -> u32 {
        self.tool_calls.len() as u32
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
