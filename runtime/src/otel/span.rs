//! What a call puts on its OpenTelemetry span: the parent in our context's
//! trace, the ids it adopts, and, when it ends, every attribute of the GenAI
//! conventions (v1.41) in one batch, under the exported names (see
//! [`attributes`](super::attributes)).

use opentelemetry::trace::{Status, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::context::{SpanId, TraceId};
use crate::record::CallRecord;

use super::bridge;

/// The ids a call takes from its OpenTelemetry span.
pub(crate) struct Ids {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// The span's parent as exported, which may be a span of the
    /// application's own (a request span, an `#[instrument]`ed function).
    pub(crate) parent_span_id: Option<SpanId>,
    /// The OpenTelemetry context holding the started span.
    pub(crate) cx: opentelemetry::Context,
}

/// Starts the call's OpenTelemetry span (its name is recorded by now) and
/// returns its ids, for our records to carry. Its parent is the current
/// OpenTelemetry span when that is in our context's trace; otherwise our
/// context's span (`parent`: a call on a thread the OpenTelemetry context
/// did not follow, or a remote caller, with its trace flags). `None` when no
/// OpenTelemetry layer listens.
pub(crate) fn start(span: &Span, parent: Option<(TraceId, SpanId, Option<u8>)>) -> Option<Ids> {
    bridge::register();
    let parent_span_id = match parent {
        Some((trace_id, span_id, remote)) => match bridge::active_in(trace_id) {
            Some(active) => Some(active),
            None => {
                // Without a layer this fails, and nothing is lost.
                let _ = span.set_parent(bridge::parent(trace_id, span_id, remote));
                Some(span_id)
            }
        },
        None => bridge::active().map(|(_, span_id)| span_id),
    };
    let cx = span.context();
    let ids = cx.span().span_context().clone();
    ids.is_valid().then(|| Ids {
        trace_id: TraceId(ids.trace_id().to_bytes()),
        span_id: SpanId(ids.span_id().to_bytes()),
        parent_span_id,
        cx,
    })
}

/// Puts the finished call on its OpenTelemetry span (in `cx`, from
/// [`start`]), all attributes at once, and the error status.
pub(crate) fn finish(cx: &opentelemetry::Context, record: &CallRecord, content: super::Content) {
    let otel_span = cx.span();
    otel_span.set_attributes(super::attributes::of(record, content));
    if let Some(error) = &record.error {
        otel_span.set_status(Status::error(error.message.clone()));
    }
}
