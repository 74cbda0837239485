//! The span fields and the end-of-call `tracing` event, named after the
//! OpenTelemetry GenAI semantic conventions.

use tracing::Span;

use super::{Ended, Output, Started};
use crate::record::{CallRecord, Status};

/// The call's `tracing` span and its end-of-call event.
pub(crate) struct Event;

impl Output for Event {
    /// Puts what is known at the start on the span.
    fn on_start(&self, call: &mut Started<'_>) {
        if call.span.is_disabled() {
            return;
        }
        // The span's static name is "{operation} {model}" for a literal
        // model and "{operation} {name}" for a step; a model known only at
        // run time completes it here.
        if let (false, Some(model), "llm") = (call.literal_model, call.model, call.kind) {
            call.span.record(
                "otel.name",
                format!("{} {}", call.operation, model).as_str(),
            );
        }
        // The name is final: the OpenTelemetry span may start, and its ids
        // become the call's. An exported span gets its attributes in one
        // batch when the call ends, under the conventions' names: the fields
        // below stay unset, so that they do not reach it under ours.
        if super::otel::adopt_ids(call) {
            return;
        }
        let span = call.span;
        span.record("gen_ai.operation.name", call.operation);
        let named = match call.kind {
            "tool" => Some("gen_ai.tool.name"),
            "agent" => Some("gen_ai.agent.name"),
            _ => None,
        };
        if let Some(field) = named {
            span.record(field, call.name);
        }
        if let Some(provider) = call.provider {
            span.record("gen_ai.provider.name", provider);
        }
        if let Some(model) = call.model {
            span.record("gen_ai.request.model", model);
        }
        span.record("request_id", call.request_id);
        let secret_free = |s: &str| crate::pipeline::scrub_secrets(s).into_owned();
        if let Some(user) = call.context.user_id() {
            span.record("user_id", secret_free(user).as_str());
        }
        if let Some(session) = call.context.session_id() {
            span.record("gen_ai.conversation.id", secret_free(session).as_str());
        }
        if let Some(tenant) = call.context.tenant_id() {
            span.record("tenant_id", secret_free(tenant).as_str());
        }
        span.record("code.function", call.function);
        if let Some(trace_id) = call.context.trace_id() {
            span.record("trace_id", trace_id.to_string().as_str());
        }
        if let Some(span_id) = call.context.span_id() {
            span.record("span_id", span_id.to_string().as_str());
        }
        if let Some(parent) = *call.parent_span_id {
            span.record("parent_span_id", parent.to_string().as_str());
        }
    }

    fn on_end(&self, call: &Ended<'_>, record: &CallRecord) {
        let exported = super::otel::finish_span(call.exported, record);
        emit(call.span, record, exported);
        crate::score::after_call(record, call.config);
    }
}

/// Records the outcome on the span and emits one event inside it: INFO on
/// success, ERROR on failure or panic, WARN when the call was cancelled.
/// An `exported` span has its attributes from OpenTelemetry already: its
/// fields stay unset.
fn emit(span: &Span, record: &CallRecord, exported: bool) {
    // Nothing to do when the span needs no fields (disabled, or exported
    // with its attributes set) and no layer takes the event (our
    // OpenTelemetry layer leaves it out).
    if (span.is_disabled() || exported)
        && !tracing::enabled!(target: "llm_traced", tracing::Level::ERROR)
    {
        return;
    }
    let finish_reasons =
        (!record.finish_reasons.is_empty()).then(|| format!("{:?}", record.finish_reasons));
    let input_tokens = record.usage.and_then(|u| u.input_tokens);
    let output_tokens = record.usage.and_then(|u| u.output_tokens);
    let error_type = record.error.as_ref().map(|e| e.error_type.as_str());
    let error_message = record.error.as_ref().map(|e| e.message.as_str());
    let latency_ms = record.latency_ms;
    let warnings = (!record.warnings.is_empty()).then(|| record.warnings.join(","));
    let warnings = warnings.as_deref();
    let cost_usd = record.cost_usd;

    if !span.is_disabled() && !exported {
        if let Some(model) = &record.response_model {
            span.record("gen_ai.response.model", model.as_str());
        }
        if let Some(id) = &record.response_id {
            span.record("gen_ai.response.id", id.as_str());
        }
        if let Some(reasons) = &finish_reasons {
            span.record("gen_ai.response.finish_reasons", reasons.as_str());
        }
        // Signed: OpenTelemetry has no unsigned integers, and its layer turns
        // `u64` fields into strings.
        let usage = record.usage.unwrap_or_default();
        for (field, count) in [
            ("gen_ai.usage.input_tokens", usage.input_tokens),
            ("gen_ai.usage.output_tokens", usage.output_tokens),
            (
                "gen_ai.usage.cache_read.input_tokens",
                usage.cached_input_tokens,
            ),
            (
                "gen_ai.usage.reasoning.output_tokens",
                usage.reasoning_tokens,
            ),
        ] {
            if let Some(n) = count.and_then(|n| i64::try_from(n).ok()) {
                span.record(field, n);
            }
        }
        if let Some(error) = &record.error {
            span.record("error.type", error.error_type.as_str());
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", error.message.as_str());
        }
        span.record("latency_ms", latency_ms);
        if let Some(id) = &record.tool_call_id {
            span.record("gen_ai.tool.call.id", id.as_str());
        }
        if let Some(ttft) = record.time_to_first_chunk_ms {
            // Seconds, as OpenTelemetry measures durations.
            span.record("gen_ai.response.time_to_first_chunk", ttft / 1000.0);
        }
    }

    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "llm_traced",
                $level,
                gen_ai.operation.name = &*record.operation,
                gen_ai.provider.name = record.provider.as_deref(),
                gen_ai.request.model = record.request_model.as_deref(),
                gen_ai.response.model = record.response_model.as_deref(),
                gen_ai.response.id = record.response_id.as_deref(),
                gen_ai.response.finish_reasons = finish_reasons.as_deref(),
                gen_ai.usage.input_tokens = input_tokens,
                gen_ai.usage.output_tokens = output_tokens,
                error.type = error_type,
                error.message = error_message,
                request_id = record.request_id.as_str(),
                latency_ms = latency_ms,
                code.function = &*record.function,
                status = record.status.as_str(),
                kind = &*record.kind,
                trace_id = record.trace_id.as_deref(),
                span_id = record.span_id.as_deref(),
                parent_span_id = record.parent_span_id.as_deref(),
                user_id = record.user_id.as_deref(),
                tenant_id = record.tenant_id.as_deref(),
                gen_ai.conversation.id = record.session_id.as_deref(),
                gen_ai.tool.call.id = record.tool_call_id.as_deref(),
                server.address = record.server_address.as_deref(),
                server.port = record.server_port,
                http.response.status_code = record.http.as_ref().and_then(|h| h.status),
                cost_usd = cost_usd,
                time_to_first_chunk_ms = record.time_to_first_chunk_ms,
                warnings = warnings,
                "llm_request"
            )
        };
    }
    span.in_scope(|| match (record.status, &*record.level) {
        (Status::Error | Status::Panic, _) => event!(tracing::Level::ERROR),
        (Status::Cancelled, _) | (_, "warn") => event!(tracing::Level::WARN),
        _ => event!(tracing::Level::INFO),
    });
}
