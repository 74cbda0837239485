//! Where calls go: every output implements [`Output`], with one hook when a
//! call starts and one when it ends, and receives the same call state and
//! record. [`start`] and [`finish`] are the one dispatcher.
//!
//! On the caller's thread: the audit log's hand-over (its content hashes are
//! taken over the original content), the `tracing` span and event (which an
//! OpenTelemetry layer exports), the OpenTelemetry attributes and metrics,
//! and the debug block (written at once, so it keeps its place among the
//! program's own stderr lines). Everything that writes files (the
//! conversation files, the JSON log) runs on one background writer
//! ([`files`]), which also scrubs the content when no output on the caller's
//! thread needed it scrubbed first.
//!
//! No output may fail or slow the user's call beyond its own work: an I/O
//! error gives one warning on stderr (per output and process) and the call
//! goes on.

#[cfg(feature = "audit")]
pub(crate) mod audit;
pub(crate) mod conversation;
pub(crate) mod debug;
pub(crate) mod event;
pub(crate) mod files;
pub(crate) mod log;
pub(crate) mod otel;

use serde_json::Value;
use tracing::Span;

use crate::config::Config;
use crate::context::{Context, SpanId};
use crate::record::CallRecord;

/// What every output sees of a call when it starts.
pub(crate) struct Started<'a> {
    /// The call's `tracing` span.
    pub(crate) span: &'a Span,
    /// Whether the call is audited (`#[llm_traced(audit)]`).
    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    pub(crate) audit: bool,
    /// `name = …` or the function's name.
    pub(crate) name: &'static str,
    /// The function's path.
    pub(crate) function: &'static str,
    /// `llm`, `chain`, `agent`, `tool` or `retrieval`.
    pub(crate) kind: &'static str,
    /// `gen_ai.operation.name`.
    pub(crate) operation: &'static str,
    /// `gen_ai.provider.name`.
    pub(crate) provider: Option<&'static str>,
    /// Whether the model was a literal (the span's name already holds it).
    pub(crate) literal_model: bool,
    /// The model asked for.
    pub(crate) model: Option<&'a str>,
    /// The request messages, as captured (not yet scrubbed).
    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    pub(crate) messages: Option<&'a Value>,
    /// The call's request id.
    pub(crate) request_id: &'a str,
    /// The context the body runs in: the call's trace and span ids and the
    /// bound values. An output may replace the ids (the OpenTelemetry span's
    /// become the call's).
    pub(crate) context: &'a mut Context,
    /// The parent span's id.
    pub(crate) parent_span_id: &'a mut Option<SpanId>,
    /// The trace flags of a remote parent (a `traceparent`).
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) remote_flags: Option<u8>,
    /// Set when an OpenTelemetry layer exports the call's span: the span,
    /// kept for its end.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) exported: &'a mut Option<otel::Exported>,
}

/// What every output sees of a call when it ends, beside its record.
pub(crate) struct Ended<'a> {
    /// The call's `tracing` span (`Span::none()` on the background writer).
    pub(crate) span: &'a Span,
    /// The configuration, when one is active.
    pub(crate) config: Option<&'static Config>,
    /// Whether the call is audited.
    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    pub(crate) audit: bool,
    /// A stream's gaps between chunks, in seconds, when they were timed
    /// (see `ChunkClock`); empty otherwise.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) chunk_gaps: &'a [f32],
    /// The exported OpenTelemetry span, when there is one.
    pub(crate) exported: Option<&'a otel::Exported>,
}

/// One output.
pub(crate) trait Output: Sync {
    /// When the call starts, before its body runs.
    fn on_start(&self, _call: &mut Started<'_>) {}
    /// When the call has ended, with its finished record.
    fn on_end(&self, call: &Ended<'_>, record: &CallRecord);
}

/// Outputs that see the original content: they keep hashes, never content.
#[cfg(feature = "audit")]
const ORIGINAL: &[&dyn Output] = &[&audit::Audit];
#[cfg(not(feature = "audit"))]
const ORIGINAL: &[&dyn Output] = &[];
/// Outputs on the caller's thread that see the scrubbed record, in order: the
/// span comes first (its OpenTelemetry ids become the call's).
const INLINE: &[&dyn Output] = &[&event::Event, &otel::Otel, &debug::Debug];
/// Outputs on the background writer, in order.
pub(crate) const WRITTEN: &[&dyn Output] = &[&conversation::Conversation, &log::Log];

/// Runs every output's start hook.
pub(crate) fn start(call: &mut Started<'_>) {
    for output in INLINE.iter().chain(ORIGINAL).chain(WRITTEN) {
        output.on_start(call);
    }
}

/// Hands a finished record to every output. The post-processing is done but
/// for the content's scrubbing, which happens here, once: on the caller's
/// thread when an output there shows content, else on the background writer.
pub(crate) fn finish(call: &Ended<'_>, mut record: CallRecord, keeps_response: bool) {
    for output in ORIGINAL {
        output.on_end(call, &record);
    }
    if !keeps_response {
        crate::pipeline::drop_response_content(&mut record);
    }
    let scrubbed = shows_content_inline(call);
    if scrubbed {
        crate::pipeline::scrub_content(&mut record, call.config);
    }
    for output in INLINE {
        output.on_end(call, &record);
    }
    if let Some(config) = call.config.filter(|c| files::wanted(c)) {
        files::submit(config, record, scrubbed);
    }
}

/// Whether an output on the caller's thread shows content: the debug block,
/// or OpenTelemetry attributes.
fn shows_content_inline(call: &Ended<'_>) -> bool {
    if call.config.is_some_and(|c| c.debug) {
        return true;
    }
    #[cfg(feature = "otel")]
    if !call.span.is_disabled() {
        return crate::otel::Content::current().any();
    }
    false
}

pub(crate) use crate::warn_once;
