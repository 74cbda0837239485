//! The GenAI client metrics: `gen_ai.client.token.usage`,
//! `gen_ai.client.operation.duration` and, for streamed calls,
//! `gen_ai.client.operation.time_to_first_chunk` and
//! `gen_ai.client.operation.time_per_output_chunk` (one measurement per
//! chunk after the first: the time since the chunk before it), with the
//! conventions' buckets.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, RwLock};

use opentelemetry::metrics::{BoundHistogram, Histogram, MeterProvider};
use opentelemetry::{KeyValue, Value};
use rustc_hash::FxHashMap;

use super::attributes::text;
use crate::record::CallRecord;

struct Instruments {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    first_chunk: Histogram<f64>,
    per_chunk: Histogram<f64>,
    /// Whether the instruments can be bound to an attribute set (those of
    /// the OpenTelemetry SDK can): each series is then bound once and
    /// recorded through [`Instruments::series`], which spares the SDK's
    /// hashing of the attributes on every measurement (measured: most of a
    /// call's metric cost; BENCHMARKS.md).
    binds: bool,
    series: RwLock<FxHashMap<u64, Vec<Series>>>,
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
pub fn install<P: MeterProvider + Any>(provider: &P) {
    // A provider of another implementation may not support binding (its
    // bound instruments would drop what they are given): bind only the SDK's.
    let binds = (provider as &dyn Any)
        .downcast_ref::<opentelemetry_sdk::metrics::SdkMeterProvider>()
        .is_some();
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
        binds,
        series: RwLock::default(),
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
    if instruments.binds && instruments.record_bound(record, chunk_gaps) {
        return;
    }
    let mut attributes = base_attributes(record);
    measure(record, chunk_gaps, |which, value| match which {
        Which::Tokens(kind) => {
            attributes.push(KeyValue::new("gen_ai.token.type", kind));
            if let Value::I64(n) = value {
                instruments.tokens.record(n as u64, &attributes);
            }
            attributes.pop();
        }
        Which::Duration => {
            let extra = record.error.as_ref().map(|e| {
                attributes.push(KeyValue::new("error.type", e.error_type.clone()));
            });
            if let Value::F64(x) = value {
                instruments.duration.record(x, &attributes);
            }
            if extra.is_some() {
                attributes.pop();
            }
        }
        Which::FirstChunk | Which::PerChunk => {
            if let Value::F64(x) = value {
                let histogram = match which {
                    Which::FirstChunk => &instruments.first_chunk,
                    _ => &instruments.per_chunk,
                };
                histogram.record(x, &attributes);
            }
        }
    });
}

/// Which histogram a measurement goes to.
#[derive(Clone, Copy)]
enum Which {
    /// `gen_ai.client.token.usage`, with this `gen_ai.token.type`.
    Tokens(&'static str),
    /// `gen_ai.client.operation.duration`, with `error.type` on failures.
    Duration,
    FirstChunk,
    PerChunk,
}

/// Every measurement a call gives: tokens (as `I64`), seconds (as `F64`).
fn measure(record: &CallRecord, chunk_gaps: &[f32], mut to: impl FnMut(Which, Value)) {
    if let (Some(ttfc), None) = (record.time_to_first_chunk_ms, &record.error) {
        to(Which::FirstChunk, Value::F64(ttfc / 1000.0));
        for gap in chunk_gaps {
            to(Which::PerChunk, Value::F64(f64::from(*gap)));
        }
    }
    if let Some(usage) = &record.usage {
        for (kind, count) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            if let Some(count) = count.and_then(|n| i64::try_from(n).ok()) {
                to(Which::Tokens(kind), Value::I64(count));
            }
        }
    }
    to(Which::Duration, Value::F64(record.latency_ms / 1000.0));
}

/// The attributes every histogram of a call shares. Static names are
/// borrowed, not copied.
fn base_attributes(record: &CallRecord) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(8);
    attributes.push(KeyValue::new(
        "gen_ai.operation.name",
        text(&record.operation),
    ));
    if let Some(provider) = &record.provider {
        attributes.push(KeyValue::new("gen_ai.provider.name", text(provider)));
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
    attributes
}

/// At most this many attribute sets are kept bound; calls of further ones
/// are recorded unbound (as before binding).
const MAX_SERIES: usize = 1024;

/// What tells one series of measurements from another: the attributes a
/// call's histograms carry, as borrowed from its record.
#[derive(Hash, PartialEq, Eq)]
struct SeriesKey<'a> {
    operation: &'a str,
    provider: Option<&'a str>,
    request_model: Option<&'a str>,
    response_model: Option<&'a str>,
    server: Option<(&'a str, Option<u16>)>,
    error_type: Option<&'a str>,
}

impl<'a> SeriesKey<'a> {
    fn of(record: &'a CallRecord) -> Self {
        SeriesKey {
            operation: &record.operation,
            provider: record.provider.as_deref(),
            request_model: record.request_model.as_deref(),
            response_model: record.response_model.as_deref(),
            server: record
                .server_address
                .as_deref()
                .map(|a| (a, record.server_port)),
            error_type: record.error.as_ref().map(|e| e.error_type.as_str()),
        }
    }

    fn fingerprint(&self) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(self)
    }
}

/// The histograms of one attribute set, each bound on its first
/// measurement (binding one that never gets any would export an empty
/// series).
struct Series {
    operation: String,
    provider: Option<String>,
    request_model: Option<String>,
    response_model: Option<String>,
    server: Option<(String, Option<u16>)>,
    error_type: Option<String>,
    input_tokens: OnceLock<BoundHistogram<u64>>,
    output_tokens: OnceLock<BoundHistogram<u64>>,
    duration: OnceLock<BoundHistogram<f64>>,
    first_chunk: OnceLock<BoundHistogram<f64>>,
    per_chunk: OnceLock<BoundHistogram<f64>>,
}

impl Series {
    fn new(key: &SeriesKey<'_>) -> Self {
        Series {
            operation: key.operation.to_owned(),
            provider: key.provider.map(str::to_owned),
            request_model: key.request_model.map(str::to_owned),
            response_model: key.response_model.map(str::to_owned),
            server: key.server.map(|(a, p)| (a.to_owned(), p)),
            error_type: key.error_type.map(str::to_owned),
            input_tokens: OnceLock::new(),
            output_tokens: OnceLock::new(),
            duration: OnceLock::new(),
            first_chunk: OnceLock::new(),
            per_chunk: OnceLock::new(),
        }
    }

    fn key(&self) -> SeriesKey<'_> {
        SeriesKey {
            operation: &self.operation,
            provider: self.provider.as_deref(),
            request_model: self.request_model.as_deref(),
            response_model: self.response_model.as_deref(),
            server: self.server.as_ref().map(|(a, p)| (a.as_str(), *p)),
            error_type: self.error_type.as_deref(),
        }
    }

    fn record(&self, instruments: &Instruments, record: &CallRecord, chunk_gaps: &[f32]) {
        let with = |extra: Option<KeyValue>| {
            let mut attributes = base_attributes(record);
            attributes.extend(extra);
            attributes
        };
        measure(record, chunk_gaps, |which, value| match (which, value) {
            (Which::Tokens(kind), Value::I64(n)) => {
                let (slot, tokens) = match kind {
                    "input" => (&self.input_tokens, &instruments.tokens),
                    _ => (&self.output_tokens, &instruments.tokens),
                };
                slot.get_or_init(|| {
                    tokens.bind(&with(Some(KeyValue::new("gen_ai.token.type", kind))))
                })
                .record(n as u64);
            }
            (Which::Duration, Value::F64(x)) => self
                .duration
                .get_or_init(|| {
                    let error = self
                        .error_type
                        .as_ref()
                        .map(|e| KeyValue::new("error.type", e.clone()));
                    instruments.duration.bind(&with(error))
                })
                .record(x),
            (Which::FirstChunk, Value::F64(x)) => self
                .first_chunk
                .get_or_init(|| instruments.first_chunk.bind(&with(None)))
                .record(x),
            (Which::PerChunk, Value::F64(x)) => self
                .per_chunk
                .get_or_init(|| instruments.per_chunk.bind(&with(None)))
                .record(x),
            _ => {}
        });
    }
}

impl Instruments {
    /// Records the call through its series' bound histograms; `false` when
    /// the series is not bound and there is no room for it.
    fn record_bound(&self, record: &CallRecord, chunk_gaps: &[f32]) -> bool {
        let key = SeriesKey::of(record);
        let hash = key.fingerprint();
        if let Ok(series) = self.series.read() {
            if let Some(s) = series
                .get(&hash)
                .and_then(|list| list.iter().find(|s| s.key() == key))
            {
                s.record(self, record, chunk_gaps);
                return true;
            }
        }
        let Ok(mut series) = self.series.write() else {
            return false;
        };
        let count: usize = series.values().map(Vec::len).sum();
        let list = series.entry(hash).or_default();
        if !list.iter().any(|s| s.key() == key) {
            if count >= MAX_SERIES {
                return false;
            }
            list.push(Series::new(&key));
        }
        let Some(s) = list.iter().find(|s| s.key() == key) else {
            return false;
        };
        s.record(self, record, chunk_gaps);
        true
    }
}
