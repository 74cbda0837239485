//! Where our [`Context`](crate::Context) and OpenTelemetry's meet: trace ids
//! for root spans, and remote parents made current.

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};

use crate::context::{Context, SpanId, TraceId};

/// An OpenTelemetry id generator that starts root spans in the trace of the
/// current [`Context`](crate::Context), so that the calls of one request
/// share a trace even when no span encloses them. Random ids otherwise.
///
/// [`Otel::builder`](super::Otel::builder) installs it; add it to a tracer
/// provider of your own with `SdkTracerProvider::builder().with_id_generator(…)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContextIdGenerator {
    _private: (),
}

impl opentelemetry_sdk::trace::IdGenerator for ContextIdGenerator {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        let id = Context::current()
            .trace_id()
            .unwrap_or_else(TraceId::random);
        opentelemetry::trace::TraceId::from_bytes(id.0)
    }

    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        opentelemetry::trace::SpanId::from_bytes(SpanId::random().0)
    }
}

/// A parent span from our context: remote (with its trace flags) when it
/// came in a `traceparent`, a span of this process otherwise.
pub(crate) fn parent(
    trace_id: TraceId,
    span_id: SpanId,
    remote: Option<u8>,
) -> opentelemetry::Context {
    let flags = remote.map_or(TraceFlags::SAMPLED, TraceFlags::new);
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(trace_id.0),
        opentelemetry::trace::SpanId::from_bytes(span_id.0),
        flags,
        remote.is_some(),
        TraceState::default(),
    ))
}

/// The current OpenTelemetry span's trace and span ids, if there is one.
pub(crate) fn active() -> Option<(TraceId, SpanId)> {
    let current = opentelemetry::Context::current();
    let active = current.span().span_context().clone();
    active.is_valid().then(|| {
        (
            TraceId(active.trace_id().to_bytes()),
            SpanId(active.span_id().to_bytes()),
        )
    })
}

/// The current OpenTelemetry span, when it is in trace `trace_id`.
pub(crate) fn active_in(trace_id: TraceId) -> Option<SpanId> {
    active().and_then(|(t, s)| (t == trace_id).then_some(s))
}

/// Makes a remote parent OpenTelemetry's current context, unless a span of
/// the same trace is current already (a span of the user's, nested under it).
fn enter_remote(trace_id: TraceId, span_id: SpanId, flags: u8) -> Option<Box<dyn std::any::Any>> {
    if active_in(trace_id).is_some() {
        return None;
    }
    Some(Box::new(parent(trace_id, span_id, Some(flags)).attach()))
}

/// Registers [`enter_remote`] with our context (once): every OpenTelemetry
/// setup path calls it (`init`, the builder, `layer`), and so does the first
/// call whose span an OpenTelemetry layer exports.
pub(crate) fn register() {
    let _ = crate::context::ON_REMOTE.set(enter_remote);
}
