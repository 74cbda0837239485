//! The GenAI client metrics: `gen_ai.client.token.usage`,
//! `gen_ai.client.operation.duration` and, for streamed calls,
//! `gen_ai.client.operation.time_to_first_chunk` and
//! `gen_ai.client.operation.time_per_output_chunk` (one measurement per
//! chunk after the first: the time since the chunk before it), with the
//! conventions' buckets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use opentelemetry::metrics::{Histogram, MeterProvider};
use opentelemetry::{KeyValue, StringValue, Value};

use crate::record::CallRecord;

struct Instruments {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    first_chunk: Histogram<f64>,
    per_chunk: Histogram<f64>,
}

/// Set by [`install`]; replaced when it is called again (a global meter
/// taken before a provider exists would stay a no-op for good).
static INSTRUMENTS: RwLock<Option<Instruments>> = RwLock::new(None);

/// Whether [`INSTRUMENTS`] holds instruments: streams time each chunk only
/// then.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether a stream starting now should time its chunks.
pub(crate) fn times_chunks() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Records the GenAI metrics of every model call (not of steps) with this
/// meter provider from now on. [`Otel::builder`](super::Otel::builder) calls
/// it; call it yourself when you build your own provider.
pub fn install<P: MeterProvider + ?Sized>(provider: &P) {
    let meter = provider.meter(super::SCOPE);
    let tokens = meter
        .u64_histogram("gen_ai.client.token.usage")
        .with_unit("{token}")
        .with_description("Number of input and output tokens used")
        .with_boundaries(
            (0..14).map(|i| 4f64.powi(i)).collect(), // 1, 4, 16, … 67108864
        )
        .build();
    // 0.01, 0.02, 0.04, … 81.92 seconds, for both durations.
    let seconds = || (0..14).map(|i| 0.01 * 2f64.powi(i)).collect::<Vec<_>>();
    let duration = meter
        .f64_histogram("gen_ai.client.operation.duration")
        .with_unit("s")
        .with_description("GenAI operation duration")
        .with_boundaries(seconds())
        .build();
    let first_chunk = meter
        .f64_histogram("gen_ai.client.operation.time_to_first_chunk")
        .with_unit("s")
        .with_description("Time to receive the first chunk of a streamed response")
        .with_boundaries(seconds())
        .build();
    let per_chunk = meter
        .f64_histogram("gen_ai.client.operation.time_per_output_chunk")
        .with_unit("s")
        .with_description("Time per output chunk of a streamed response, after the first")
        .with_boundaries(seconds())
        .build();
    set(Some(Instruments {
        tokens,
        duration,
        first_chunk,
        per_chunk,
    }));
}

/// Stops recording (the pipeline that owned the instruments is gone).
pub(crate) fn uninstall() {
    set(None);
}

fn set(instruments: Option<Instruments>) {
    INSTALLED.store(instruments.is_some(), Ordering::Relaxed);
    match INSTRUMENTS.write() {
        Ok(mut slot) => *slot = instruments,
        Err(poisoned) => *poisoned.into_inner() = instruments,
    }
}

/// Records one finished call; `chunk_gaps` are a stream's times between
/// chunks (see `ChunkClock`).
pub(crate) fn record(record: &CallRecord, chunk_gaps: &[f32]) {
    if record.kind != "llm" {
        return;
    }
    let Ok(slot) = INSTRUMENTS.read() else {
        return;
    };
    let Some(instruments) = slot.as_ref() else {
        return;
    };
    // Static names are borrowed, not copied; one attribute list serves
    // every histogram (the token type pushed and popped in place).
    let text = |t: &crate::record::Text| match t {
        std::borrow::Cow::Borrowed(s) => StringValue::from(*s),
        std::borrow::Cow::Owned(s) => StringValue::from(s.clone()),
    };
    let mut attributes = Vec::with_capacity(8);
    attributes.push(KeyValue::new(
        "gen_ai.operation.name",
        Value::String(text(&record.operation)),
    ));
    if let Some(provider) = &record.provider {
        attributes.push(KeyValue::new(
            "gen_ai.provider.name",
            Value::String(text(provider)),
        ));
    }
    if let Some(model) = &record.request_model {
        attributes.push(KeyValue::new("gen_ai.request.model", model.clone()));
    }
    if let Some(model) = &record.response_model {
        attributes.push(KeyValue::new("gen_ai.response.model", model.clone()));
    }
    if let Some(address) = &record.server_address {
        attributes.push(KeyValue::new("server.address", address.clone()));
        if let Some(port) = record.server_port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let (Some(ttfc), None) = (record.time_to_first_chunk_ms, &record.error) {
        instruments.first_chunk.record(ttfc / 1000.0, &attributes);
        for gap in chunk_gaps {
            instruments.per_chunk.record(f64::from(*gap), &attributes);
        }
    }
    if let Some(usage) = &record.usage {
        for (kind, count) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            if let Some(count) = count {
                attributes.push(KeyValue::new("gen_ai.token.type", kind));
                instruments.tokens.record(count, &attributes);
                attributes.pop();
            }
        }
    }
    if let Some(error) = &record.error {
        attributes.push(KeyValue::new("error.type", error.error_type.clone()));
    }
    instruments
        .duration
        .record(record.latency_ms / 1000.0, &attributes);
}
