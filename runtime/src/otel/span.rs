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

/// Starts the call's OpenTelemetry span (its name is recorded by now) and
/// returns its ids, for our records to carry. Its parent is the current
/// OpenTelemetry span when that is in our context's trace, the context's
/// span otherwise (a call on a thread the OpenTelemetry context did not
/// follow). `None` when no OpenTelemetry layer listens.
pub(crate) fn start(span: &Span, parent: Option<(TraceId, SpanId)>) -> Option<(TraceId, SpanId)> {
    if let Some((trace_id, span_id)) = parent {
        let current = opentelemetry::Context::current();
        let active = current.span().span_context().clone();
        if !active.is_valid() || active.trace_id().to_bytes() != trace_id.0 {
            // Without a layer this fails, and nothing is lost.
            let _ = span.set_parent(bridge::remote_parent(trace_id, span_id));
        }
    }
    let cx = span.context();
    let ids = cx.span().span_context().clone();
    ids.is_valid().then(|| {
        (
            TraceId(ids.trace_id().to_bytes()),
            SpanId(ids.span_id().to_bytes()),
        )
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
        }
    }
    if responses {
        if let Some(messages) = super::messages::output_messages(record) {
            span.set_attribute("gen_ai.output.messages", messages.to_string());
        }
    }
}
