//! What a call adds to its span when an OpenTelemetry layer listens: the
//! parent in our context's trace, the ids it adopts, typed attributes that
//! `tracing` fields cannot carry, and the content.

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Array, StringValue, Value};
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
    })
}

/// Puts what `tracing` fields cannot say on the span: the finish reasons as
/// a string array, and the content the switches allow.
pub(crate) fn finish(span: &Span, record: &CallRecord, prompts: bool, responses: bool) {
    if span.is_disabled() {
        return;
    }
    if !record.finish_reasons.is_empty() {
        let reasons: Vec<StringValue> = record
            .finish_reasons
            .iter()
            .map(|r| StringValue::from(r.clone()))
            .collect();
        span.set_attribute(
            "gen_ai.response.finish_reasons",
            Value::Array(Array::String(reasons)),
        );
    }
    if prompts {
        if let Some(messages) = &record.messages {
            let json = super::messages::input_messages(messages).to_string();
            span.set_attribute("gen_ai.input.messages", json);
            if let Some(system) = super::messages::system_instructions(messages) {
                span.set_attribute("gen_ai.system_instructions", system.to_string());
            }
        }
    }
    if responses {
        if let Some(messages) = super::messages::output_messages(record) {
            span.set_attribute("gen_ai.output.messages", messages.to_string());
        }
    }
}
