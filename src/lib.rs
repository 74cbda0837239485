// The README is the crate's documentation; its examples are compiled as doc
// tests by the `integration` package, which has the crates they use.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
// On docs.rs, each item shows the cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use llm_traced_runtime::{
    capture, config, context, conversation_file_name, diagnose, diagnose_text, diagnostics, flush,
    flush_timeout, guard, levels, log, pricing, read_conversation, record, redaction,
    render_debug_block, score, CallRecord, Config, Diagnosis, ErrorClass, FlushGuard,
    HttpErrorDetails, LlmResponse, ResponseInfo, Score, ScoreError, ScoreValue, Status, ToolCall,
    Usage,
};

/// Instruments a function that calls a large language model.
///
/// ```ignore
/// #[llm_traced(provider = "openai", model = "gpt-4o")]
/// async fn ask(messages: &[Message]) -> Result<serde_json::Value, Error> { /* … */ }
/// ```
///
/// | argument | value | default |
/// |---|---|---|
/// | `name` | string literal | the function's name |
/// | `model` | string literal, or an expression over the arguments (`model = req.model`) | none |
/// | `provider` | string literal (`gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, …) | none |
/// | `operation` | `chat`, `text_completion`, `generate_content`, `embeddings`, `create_agent`, `invoke_agent`, `execute_tool` | `chat` |
/// | `messages` | an expression over the arguments whose type is `serde::Serialize` | the argument named `messages` |
/// | `crate` | path of a renamed `llm_traced` dependency | `::llm_traced` |
///
/// Nothing else of the arguments is ever captured. The return type must
/// implement [`LlmResponse`]; the value is handed back untouched.
pub use llm_traced_runtime::llm_traced;

#[cfg(feature = "audit")]
pub use llm_traced_runtime::audit;

#[cfg(feature = "http")]
pub use llm_traced_runtime::http;

#[cfg(any(feature = "async-openai-middleware", feature = "reqwest-middleware"))]
pub use llm_traced_runtime::middleware;
#[cfg(feature = "otel")]
pub use llm_traced_runtime::otel;

#[cfg(feature = "subscriber")]
pub use llm_traced_runtime::subscriber::{self, init};

#[doc(hidden)]
pub use llm_traced_runtime::__private;
