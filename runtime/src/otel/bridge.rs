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

/// The span context of a remote parent, sampled (we record what we see).
pub(crate) fn remote_parent(trace_id: TraceId, span_id: SpanId) -> opentelemetry::Context {
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(trace_id.0),
        opentelemetry::trace::SpanId::from_bytes(span_id.0),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// Makes a remote parent OpenTelemetry's current context, unless a span of
/// the same trace is current already (a span of the user's, nested under it).
pub(crate) fn enter_remote(
    trace_id: TraceId,
    span_id: SpanId,
) -> Option<opentelemetry::ContextGuard> {
    let current = opentelemetry::Context::current();
    let active = current.span().span_context().clone();
    if active.is_valid() && active.trace_id().to_bytes() == trace_id.0 {
        return None;
    }
    Some(remote_parent(trace_id, span_id).attach())
}
