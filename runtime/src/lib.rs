//! The runtime of [llm-traced](https://docs.rs/llm-traced): what the code that
//! `#[llm_traced]` generates calls into.
//!
//! Use it through the `llm-traced` crate, which re-exports everything here.
//! Modules, one concern each:
//!
//! - [`config`]: the switches, read once from the environment or installed in code.
//! - [`capture`]: the [`LlmResponse`] trait that reads a function's output.
//! - [`context`]: trace ids and bound values (user, session, tenant, tags).
//! - [`record`]: [`CallRecord`], the versioned schema of saved conversations.
//! - [`diagnostics`]: what kind of failure an error is, and what to do about it.
//! - `otel` (cargo feature `otel`): OpenTelemetry export with the GenAI conventions.
//! - `call`, `pipeline`, `outputs` and `worker` (private): the per-call state,
//!   the record's post-processing, where records go, the background writers.

// On docs.rs, each item shows the cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_code)]

#[cfg(feature = "audit")]
pub mod audit;
pub use llm_traced_core::{capture, config, context, diagnostics, pricing, record, redaction};
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "_middleware")]
pub mod middleware;
#[cfg(feature = "otel")]
pub mod otel;
pub mod score;
#[cfg(feature = "subscriber")]
pub mod subscriber;
use llm_traced_core::text;

/// Streamed responses: [`LlmChunk`](stream::LlmChunk) reads a chunk into the
/// call's [`StreamAccumulator`](stream::StreamAccumulator).
pub use capture::stream;

mod call;
mod ended;
mod outputs;
mod pipeline;
mod worker;

pub use pipeline::levels;

pub use capture::{LlmResponse, ResponseInfo, ToolCall, Usage};
pub use config::Config;
pub use context::{Context, FutureExt};
pub use diagnostics::{diagnose, diagnose_text, Diagnosis, ErrorClass, HttpErrorDetails};
pub use llm_traced_macros::llm_traced;
pub use record::{read_conversation, CallRecord, Status};
pub use score::{score, Score, ScoreError, ScoreValue};

/// The structured log (`LLM_LOG_FILE`): flushing and counters.
pub mod log {
    pub use crate::outputs::files::{dropped, flush_timeout};
    pub use crate::outputs::log::{rotated_files, sanitize_tenant, tenant_path, written};

    /// Waits until every record handed to the log so far is written and
    /// flushed (at most 30 seconds). True when it was.
    pub fn flush() -> bool {
        flush_timeout(std::time::Duration::from_secs(30))
    }

    /// Flushes the log when dropped: keep it alive in `main`.
    #[must_use = "the log is flushed when the guard is dropped"]
    #[derive(Debug, Default)]
    pub struct LogGuard {
        _private: (),
    }

    /// A guard that flushes the log when dropped. (The log is also flushed
    /// when the process exits normally.)
    pub fn guard() -> LogGuard {
        LogGuard { _private: () }
    }

    impl Drop for LogGuard {
        fn drop(&mut self) {
            flush();
        }
    }
}

/// Waits until everything handed to the background writers so far is
/// written: conversation files, the JSON log and the audit log (at most
/// `timeout` for each). True when it was. A test that reads a saved
/// conversation right after a call flushes first.
pub fn flush_timeout(timeout: std::time::Duration) -> bool {
    let files = outputs::files::flush_timeout(timeout);
    #[cfg(feature = "audit")]
    let files = audit::flush_timeout(timeout) && files;
    files
}

/// [`flush_timeout`] with 30 seconds.
pub fn flush() -> bool {
    flush_timeout(std::time::Duration::from_secs(30))
}

/// Flushes every background writer when dropped: keep it alive in `main`.
/// (They are also drained when the process exits normally.)
#[must_use = "the writers are flushed when the guard is dropped"]
#[derive(Debug, Default)]
pub struct FlushGuard {
    _private: (),
}

/// A guard that flushes every background writer when dropped.
pub fn guard() -> FlushGuard {
    FlushGuard { _private: () }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        flush();
    }
}

pub(crate) use llm_traced_core::warn_once;

/// Renders the debug block `LLM_DEBUG` prints for a record.
pub fn render_debug_block(config: &Config, record: &CallRecord) -> String {
    outputs::debug::render(config, record)
}

/// The file name a saved conversation gets: it sorts by start time and is
/// unique per call.
pub fn conversation_file_name(record: &CallRecord) -> String {
    outputs::conversation::file_name(record)
}

/// The door between generated code and the runtime. Not a public API: it may
/// change in any release, in step with the macro crate, which this crate pins.
#[doc(hidden)]
pub mod __private {
    pub use crate::call::stream::{
        wrap_result_stream, wrap_stream, TracedStream, ViaBoxedStream, ViaResultBoxedStream,
    };
    pub use crate::call::{
        quiet, run_step, run_stream, run_sync, start, traced, traced_step, traced_stream,
        ArgumentProbe, CallState, Capture, Finish, LlmFinish, RequestProbe, Site, StepFinish,
        StreamFinish, Traced, ViaOpaqueArgument, ViaOpaqueRequest, ViaSerializeArgument,
        ViaSerializeRequest, MARKER,
    };
    pub use crate::capture::{
        LlmResponse, Probe, StepOutput, StepProbe, ViaHttpDetails, ViaPlain, ViaPlainStep,
        ViaResultStep, ViaSerializeResultStep, ViaSerializeStep,
    };
    pub use std::sync::OnceLock;
    pub use tracing;

    pub use crate::__llm_traced_require_audit as require_audit;
    pub use crate::__llm_traced_span as span;
}

/// What `#[llm_traced(audit)]` expands to first: nothing with the `audit`
/// feature, a compile error without it (never a call silently left out of
/// the audit log).
#[cfg(feature = "audit")]
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_traced_require_audit {
    () => {};
}

/// What `#[llm_traced(audit)]` expands to first: nothing with the `audit`
/// feature, a compile error without it (never a call silently left out of
/// the audit log).
#[cfg(not(feature = "audit"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_traced_require_audit {
    () => {
        ::core::compile_error!(
            "`#[llm_traced(audit)]` needs the audit log: enable llm-traced's `audit` feature"
        );
    };
}

/// The span of an instrumented call, with every field it will record declared
/// up front. Generated code calls it with a literal name.
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_traced_span {
    ($name:literal, $otel_kind:literal) => {
        $crate::__private::tracing::span!(
            target: "llm_traced",
            $crate::__private::tracing::Level::INFO,
            $name,
            otel.name = $crate::__private::tracing::field::Empty,
            otel.kind = $otel_kind,
            otel.status_code = $crate::__private::tracing::field::Empty,
            otel.status_description = $crate::__private::tracing::field::Empty,
            gen_ai.operation.name = $crate::__private::tracing::field::Empty,
            gen_ai.provider.name = $crate::__private::tracing::field::Empty,
            gen_ai.request.model = $crate::__private::tracing::field::Empty,
            gen_ai.response.model = $crate::__private::tracing::field::Empty,
            gen_ai.response.id = $crate::__private::tracing::field::Empty,
            gen_ai.response.finish_reasons = $crate::__private::tracing::field::Empty,
            gen_ai.usage.input_tokens = $crate::__private::tracing::field::Empty,
            gen_ai.usage.output_tokens = $crate::__private::tracing::field::Empty,
            gen_ai.usage.cache_read.input_tokens = $crate::__private::tracing::field::Empty,
            gen_ai.usage.reasoning.output_tokens = $crate::__private::tracing::field::Empty,
            error.type = $crate::__private::tracing::field::Empty,
            request_id = $crate::__private::tracing::field::Empty,
            latency_ms = $crate::__private::tracing::field::Empty,
            code.function = $crate::__private::tracing::field::Empty,
            trace_id = $crate::__private::tracing::field::Empty,
            span_id = $crate::__private::tracing::field::Empty,
            parent_span_id = $crate::__private::tracing::field::Empty,
            user_id = $crate::__private::tracing::field::Empty,
            tenant_id = $crate::__private::tracing::field::Empty,
            gen_ai.conversation.id = $crate::__private::tracing::field::Empty,
            gen_ai.tool.name = $crate::__private::tracing::field::Empty,
            gen_ai.tool.call.id = $crate::__private::tracing::field::Empty,
            gen_ai.agent.name = $crate::__private::tracing::field::Empty,
            gen_ai.response.time_to_first_chunk = $crate::__private::tracing::field::Empty,
        )
    };
}
