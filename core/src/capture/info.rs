//! What a call's output says: [`ResponseInfo`] and its parts.

use serde::{Deserialize, Serialize};

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

/// Everything [`LlmResponse::capture`](super::LlmResponse::capture) can tell about a call.
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
    /// What a call that failed with `error` tells, and nothing else.
    pub fn failed(error: Option<CapturedError>) -> ResponseInfo {
        ResponseInfo {
            error,
            ..ResponseInfo::default()
        }
    }
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
