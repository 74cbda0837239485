//! Scores as OpenTelemetry events: each one a `gen_ai.evaluation.result`
//! log record, in the scored call's trace and span, through the logs
//! pipeline [`Otel::builder`](super::Otel::builder) sets up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::SystemTime;

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

use crate::record::ScoreLine;

/// The conventions' event name for an evaluation's result.
pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";

/// The logger scores go through, and which installation put it there.
static LOGGER: RwLock<Option<(u64, SdkLogger)>> = RwLock::new(None);
static INSTALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
/// Whether [`LOGGER`] holds a logger: read at the end of every call.
static TAKES: AtomicBool = AtomicBool::new(false);

/// Whether scores go out as OpenTelemetry log records now.
pub(crate) fn takes_scores() -> bool {
    TAKES.load(Ordering::Relaxed)
}

/// Sends every score, from now on, as a `gen_ai.evaluation.result` log
/// record through this logger provider (replacing the one installed
/// before). [`Otel::builder`](super::Otel::builder) calls it; call it
/// yourself when you build your own provider.
pub fn install_logs(provider: &SdkLoggerProvider) {
    install(provider);
}

/// Installs and returns the installation's token, for [`uninstall`].
pub(crate) fn install(provider: &SdkLoggerProvider) -> u64 {
    let token = INSTALLS.fetch_add(1, Ordering::Relaxed);
    let mut slot = LOGGER.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some((token, provider.logger(super::SCOPE)));
    TAKES.store(true, Ordering::Relaxed);
    token
}

/// Stops sending scores when the logger is still installation `token`'s
/// (its pipeline is gone; a later pipeline's logger stays).
pub(crate) fn uninstall(token: u64) {
    let mut slot = LOGGER.write().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|(t, _)| *t == token) {
        *slot = None;
        TAKES.store(false, Ordering::Relaxed);
    }
}

/// Emits one score, linked to its call's trace and span.
pub(crate) fn emit(line: &ScoreLine) {
    let Ok(slot) = LOGGER.read() else {
        return;
    };
    let Some((_, logger)) = slot.as_ref() else {
        return;
    };
    let mut record = logger.create_log_record();
    record.set_event_name(EVALUATION_EVENT);
    record.set_timestamp(SystemTime::from(line.scored_at));
    record.set_observed_timestamp(SystemTime::now());
    record.set_severity_number(Severity::Info);
    let trace = line
        .trace_id
        .as_deref()
        .and_then(|t| TraceId::from_hex(t).ok());
    let span = line
        .span_id
        .as_deref()
        .and_then(|s| SpanId::from_hex(s).ok());
    if let (Some(trace), Some(span)) = (trace, span) {
        record.set_trace_context(trace, span, Some(TraceFlags::SAMPLED));
    }
    record.add_attribute("gen_ai.evaluation.name", line.name.clone());
    if let Some(value) = line.value {
        record.add_attribute("gen_ai.evaluation.score.value", value);
    }
    if let Some(label) = &line.label {
        record.add_attribute("gen_ai.evaluation.score.label", label.clone());
    }
    if let Some(comment) = &line.comment {
        record.add_attribute("gen_ai.evaluation.explanation", comment.clone());
    }
    if let Some(id) = &line.response_id {
        record.add_attribute("gen_ai.response.id", id.clone());
    }
    record.add_attribute("llm_traced.request_id", line.request_id.clone());
    if let Some(author) = &line.author {
        record.add_attribute("llm_traced.score.author", author.clone());
    }
    logger.emit(record);
}
