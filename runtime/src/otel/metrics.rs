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
use opentelemetry::KeyValue;
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
    /// Set once [`MAX_SERIES`] series are bound: a call of another series
    /// then goes unbound without taking the write lock.
    full: AtomicBool,
    /// This installation's, for [`uninstall_if`].
    token: u64,
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
    install_token(provider);
}

/// [`install`], returning the installation's token for [`uninstall_if`].
pub(crate) fn install_token<P: MeterProvider + Any>(provider: &P) -> u64 {
    let token = INSTALLS.fetch_add(1, Ordering::Relaxed);
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
        full: AtomicBool::new(false),
        token,
    }));
    token
}

/// Stops recording, whichever installation is in place.
#[cfg(test)]
pub(crate) fn uninstall() {
    set(None);
}

/// Stops recording when the instruments are still installation `token`'s
/// (its pipeline is shut down; a later pipeline's instruments stay).
pub(crate) fn uninstall_if(token: u64) {
    let installed = INSTRUMENTS
        .read()
        .map(|slot| slot.as_ref().map(|i| i.token))
        .unwrap_or_else(|p| p.into_inner().as_ref().map(|i| i.token));
    if installed == Some(token) {
        set(None);
    }
}

/// Counts installations, for their tokens.
static INSTALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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
    measure(record, chunk_gaps, |m| match m {
        Measurement::Tokens(kind, n) => {
            attributes.push(KeyValue::new("gen_ai.token.type", kind));
            instruments.tokens.record(n, &attributes);
            attributes.pop();
        }
        Measurement::Duration(x) => {
            let base = attributes.len();
            attributes.extend(
                record
                    .error
                    .as_ref()
                    .map(|e| KeyValue::new("error.type", e.error_type.clone())),
            );
            instruments.duration.record(x, &attributes);
            attributes.truncate(base);
        }
        Measurement::FirstChunk(x) => instruments.first_chunk.record(x, &attributes),
        Measurement::PerChunk(x) => instruments.per_chunk.record(x, &attributes),
    });
}

/// One measurement of a call, with the histogram it goes to.
#[derive(Clone, Copy)]
enum Measurement {
    /// `gen_ai.client.token.usage`, with this `gen_ai.token.type`.
    Tokens(&'static str, u64),
    /// `gen_ai.client.operation.duration` (seconds), with `error.type` on
    /// failures.
    Duration(f64),
    /// `gen_ai.client.operation.time_to_first_chunk` (seconds).
    FirstChunk(f64),
    /// `gen_ai.client.operation.time_per_output_chunk` (seconds).
    PerChunk(f64),
}

/// Every measurement a call gives.
fn measure(record: &CallRecord, chunk_gaps: &[f32], mut to: impl FnMut(Measurement)) {
    if let (Some(ttfc), None) = (record.time_to_first_chunk_ms, &record.error) {
        to(Measurement::FirstChunk(ttfc / 1000.0));
        for gap in chunk_gaps {
            to(Measurement::PerChunk(f64::from(*gap)));
        }
    }
    if let Some(usage) = &record.usage {
        for (kind, count) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            if let Some(count) = count {
                to(Measurement::Tokens(kind, count));
            }
        }
    }
    to(Measurement::Duration(record.latency_ms / 1000.0));
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
        measure(record, chunk_gaps, |m| match m {
            Measurement::Tokens(kind, n) => {
                let slot = match kind {
                    "input" => &self.input_tokens,
                    _ => &self.output_tokens,
                };
                slot.get_or_init(|| {
                    let kind = KeyValue::new("gen_ai.token.type", kind);
                    instruments.tokens.bind(&with(Some(kind)))
                })
                .record(n);
            }
            Measurement::Duration(x) => self
                .duration
                .get_or_init(|| {
                    let error = self
                        .error_type
                        .as_ref()
                        .map(|e| KeyValue::new("error.type", e.clone()));
                    instruments.duration.bind(&with(error))
                })
                .record(x),
            Measurement::FirstChunk(x) => self
                .first_chunk
                .get_or_init(|| instruments.first_chunk.bind(&with(None)))
                .record(x),
            Measurement::PerChunk(x) => self
                .per_chunk
                .get_or_init(|| instruments.per_chunk.bind(&with(None)))
                .record(x),
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
        if self.full.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(mut series) = self.series.write() else {
            return false;
        };
        let count: usize = series.values().map(Vec::len).sum();
        let known = series
            .get(&hash)
            .is_some_and(|list| list.iter().any(|s| s.key() == key));
        // Checked before taking an entry: a series left out must not leave
        // an empty slot behind (the map would grow with every one).
        if !known && count >= MAX_SERIES {
            self.full.store(true, Ordering::Relaxed);
            return false;
        }
        let list = series.entry(hash).or_default();
        if !known {
            list.push(Series::new(&key));
        }
        let Some(s) = list.iter().find(|s| s.key() == key) else {
            return false;
        };
        s.record(self, record, chunk_gaps);
        true
    }
}

#[cfg(test)]
mod tests {
    //! What an exporter receives: every test installs a provider whose
    //! reader exports to [`Collect`], records calls, flushes and looks at
    //! the data points.

    use super::*;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex, MutexGuard};

    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
    use serde_json::{json, Value as Json};

    const DURATION: &str = "gen_ai.client.operation.duration";
    const TOKENS: &str = "gen_ai.client.token.usage";
    const FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
    const PER_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";

    /// [`INSTRUMENTS`] is one for the process: one test at a time, and
    /// nothing left installed after it (even when it fails).
    static SERIAL: Mutex<()> = Mutex::new(());

    struct Serial {
        _guard: MutexGuard<'static, ()>,
    }

    fn serial() -> Serial {
        Serial {
            _guard: SERIAL.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    impl Drop for Serial {
        fn drop(&mut self) {
            uninstall();
        }
    }

    /// One histogram data point as exported.
    #[derive(Debug, Clone)]
    struct Point {
        metric: String,
        attributes: BTreeMap<String, String>,
        count: u64,
        sum: f64,
    }

    /// A push exporter keeping the points of the last export (cumulative:
    /// the last export holds everything recorded).
    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<Point>>>);

    impl PushMetricExporter for Collect {
        fn export(
            &self,
            metrics: &ResourceMetrics,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            let mut points = Vec::new();
            for scope in metrics.scope_metrics() {
                for metric in scope.metrics() {
                    let mut push = |attributes: BTreeMap<String, String>, count, sum| {
                        points.push(Point {
                            metric: metric.name().to_owned(),
                            attributes,
                            count,
                            sum,
                        })
                    };
                    let attributes = |kvs: &mut dyn Iterator<Item = &KeyValue>| {
                        kvs.map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
                            .collect::<BTreeMap<_, _>>()
                    };
                    match metric.data() {
                        AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                            for p in h.data_points() {
                                push(attributes(&mut p.attributes()), p.count(), p.sum());
                            }
                        }
                        AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                            for p in h.data_points() {
                                push(attributes(&mut p.attributes()), p.count(), p.sum() as f64);
                            }
                        }
                        _ => panic!("{} is not a histogram", metric.name()),
                    }
                }
            }
            *self.0.lock().unwrap() = points;
            std::future::ready(Ok(()))
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }

        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }

    /// An SDK provider exporting to what the returned [`Collect`] holds.
    fn sdk() -> (SdkMeterProvider, Collect) {
        let collect = Collect::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(collect.clone()).build())
            .build();
        (provider, collect)
    }

    /// Every point exported so far, after a flush.
    fn exported(provider: &SdkMeterProvider, collect: &Collect) -> Vec<Point> {
        provider.force_flush().unwrap();
        collect.0.lock().unwrap().clone()
    }

    /// A meter provider that is not the SDK's (it delegates to it).
    struct Wrapped(SdkMeterProvider);

    impl MeterProvider for Wrapped {
        fn meter_with_scope(&self, scope: InstrumentationScope) -> opentelemetry::metrics::Meter {
            self.0.meter_with_scope(scope)
        }
    }

    /// A finished model call: a chat with openai's gpt-4o through
    /// api.openai.com:443, answered by `gpt-4o-2024-08-06`, with `extra`
    /// fields on top.
    fn call(extra: Json) -> CallRecord {
        let mut base = json!({
            "schema": 1, "request_id": "r", "kind": "llm", "name": "ask", "function": "f",
            "operation": "chat", "provider": "openai", "request_model": "gpt-4o",
            "response_model": "gpt-4o-2024-08-06",
            "server_address": "api.openai.com", "server_port": 443,
            "started_at": "2026-11-27T08:35:16.123Z", "ended_at": "2026-11-27T08:35:16.124Z",
            "latency_ms": 1.0, "status": "ok",
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    /// The attributes of a call made by [`call`], answered by `model`, and
    /// `extra`.
    fn attributes(model: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut a: BTreeMap<String, String> = [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.response.model", model),
            ("server.address", "api.openai.com"),
            ("server.port", "443"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        a.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        a
    }

    fn of<'p>(points: &'p [Point], metric: &str) -> Vec<&'p Point> {
        points.iter().filter(|p| p.metric == metric).collect()
    }

    /// The one point of `metric` with exactly these attributes.
    fn point<'p>(
        points: &'p [Point],
        metric: &str,
        attributes: &BTreeMap<String, String>,
    ) -> &'p Point {
        let found: Vec<_> = of(points, metric)
            .into_iter()
            .filter(|p| &p.attributes == attributes)
            .collect();
        assert_eq!(found.len(), 1, "{metric} {attributes:?} in {points:#?}");
        found[0]
    }

    fn assert_point(p: &Point, count: u64, sum: f64) {
        assert_eq!(p.count, count, "{p:?}");
        assert!((p.sum - sum).abs() < 1e-6, "sum {} != {sum}: {p:?}", p.sum);
    }

    const MINI: &str = "gpt-4o-mini";

    /// Three unstreamed calls of one series, a streamed one answered by
    /// another model, a failed one.
    fn record_scenario() {
        for (ms, input, output) in [(100.0, 10, 1), (200.0, 20, 2), (300.0, 30, 3)] {
            record(
                &call(json!({"latency_ms": ms,
                             "usage": {"input_tokens": input, "output_tokens": output}})),
                &[],
            );
        }
        record(
            &call(json!({"response_model": MINI, "latency_ms": 400.0,
                         "time_to_first_chunk_ms": 50.0,
                         "usage": {"input_tokens": 5, "output_tokens": 7}})),
            &[0.01, 0.02, 0.03],
        );
        record(
            &call(json!({"latency_ms": 500.0, "status": "error",
                         "error": {"message": "slow down", "type": "rate_limit"}})),
            &[],
        );
        // Steps are no model calls: no metric.
        record(&call(json!({"kind": "tool", "latency_ms": 9000.0})), &[]);
    }

    /// What [`record_scenario`] must export, whichever path recorded it.
    fn check_scenario(points: &[Point]) {
        let model = "gpt-4o-2024-08-06";
        // Duration: one point per series, error.type on the failed one only.
        assert_eq!(of(points, DURATION).len(), 3, "{points:#?}");
        assert_point(point(points, DURATION, &attributes(model, &[])), 3, 0.6);
        assert_point(point(points, DURATION, &attributes(MINI, &[])), 1, 0.4);
        assert_point(
            point(
                points,
                DURATION,
                &attributes(model, &[("error.type", "rate_limit")]),
            ),
            1,
            0.5,
        );
        // Tokens: input and output per series with usage.
        assert_eq!(of(points, TOKENS).len(), 4, "{points:#?}");
        let tokens = |model, kind| attributes(model, &[("gen_ai.token.type", kind)]);
        assert_point(point(points, TOKENS, &tokens(model, "input")), 3, 60.0);
        assert_point(point(points, TOKENS, &tokens(model, "output")), 3, 6.0);
        assert_point(point(points, TOKENS, &tokens(MINI, "input")), 1, 5.0);
        assert_point(point(points, TOKENS, &tokens(MINI, "output")), 1, 7.0);
        // Chunks: the streamed series only, one per-chunk measurement a gap.
        assert_eq!(of(points, FIRST_CHUNK).len(), 1, "{points:#?}");
        assert_point(point(points, FIRST_CHUNK, &attributes(MINI, &[])), 1, 0.05);
        assert_eq!(of(points, PER_CHUNK).len(), 1, "{points:#?}");
        assert_point(point(points, PER_CHUNK, &attributes(MINI, &[])), 3, 0.06);
        assert_eq!(points.len(), 9, "{points:#?}");
    }

    /// Runs `f` on the installed instruments.
    fn installed<T>(f: impl FnOnce(&Instruments) -> T) -> T {
        f(INSTRUMENTS.read().unwrap().as_ref().expect("installed"))
    }

    fn series_count(instruments: &Instruments) -> usize {
        instruments
            .series
            .read()
            .unwrap()
            .values()
            .map(Vec::len)
            .sum()
    }

    #[test]
    fn sdk_provider_records_through_lazily_bound_series() {
        let _serial = serial();
        let (provider, collect) = sdk();
        install(&provider);
        assert!(times_chunks());
        record_scenario();
        check_scenario(&exported(&provider, &collect));
        // The SDK's instruments are bound: one series per attribute set,
        // each histogram bound only once it had a measurement.
        installed(|i| {
            assert!(i.binds);
            let series = i.series.read().unwrap();
            let all: Vec<&Series> = series.values().flatten().collect();
            assert_eq!(all.len(), 3);
            for s in all {
                let streamed = s.response_model.as_deref() == Some(MINI);
                let failed = s.error_type.is_some();
                assert!(s.duration.get().is_some());
                assert_eq!(s.input_tokens.get().is_some(), !failed);
                assert_eq!(s.output_tokens.get().is_some(), !failed);
                assert_eq!(s.first_chunk.get().is_some(), streamed);
                assert_eq!(s.per_chunk.get().is_some(), streamed);
            }
        });
        // Recording again goes through the same series.
        record(&call(json!({"latency_ms": 1000.0})), &[]);
        let points = exported(&provider, &collect);
        assert_point(
            point(&points, DURATION, &attributes("gpt-4o-2024-08-06", &[])),
            4,
            1.6,
        );
        assert_eq!(installed(series_count), 3);
        assert_eq!(points.len(), 9, "{points:#?}");
    }

    #[test]
    fn series_past_the_limit_are_recorded_unbound() {
        let _serial = serial();
        let (provider, collect) = sdk();
        install(&provider);
        // No usage: the SDK's own cardinality limit (2000) would fold the
        // 2 × 1100 token series.
        let models: Vec<String> = (0..MAX_SERIES + 76).map(|i| format!("m{i}")).collect();
        for round in 1..=2u64 {
            for model in &models {
                record(
                    &call(json!({"response_model": model, "latency_ms": 10.0})),
                    &[],
                );
            }
            let points = exported(&provider, &collect);
            let durations = of(&points, DURATION);
            assert_eq!(durations.len(), models.len());
            for model in &models {
                assert_point(
                    point(&points, DURATION, &attributes(model, &[])),
                    round,
                    0.01 * round as f64,
                );
            }
            assert_eq!(points.len(), models.len(), "only durations");
            // Bound as far as the limit, and no further (not even empty
            // slots of the series left out).
            installed(|i| {
                assert_eq!(series_count(i), MAX_SERIES);
                assert_eq!(i.series.read().unwrap().len(), MAX_SERIES);
            });
        }
    }

    #[test]
    fn another_provider_gets_every_measurement_unbound() {
        let _serial = serial();
        let (provider, collect) = sdk();
        install(&Wrapped(provider.clone()));
        assert!(times_chunks());
        record_scenario();
        check_scenario(&exported(&provider, &collect));
        installed(|i| {
            assert!(!i.binds);
            assert_eq!(series_count(i), 0);
        });
    }

    #[test]
    fn reinstalling_sends_later_calls_to_the_new_provider_only() {
        let _serial = serial();
        let (first, first_collect) = sdk();
        install(&first);
        record(&call(json!({"latency_ms": 100.0})), &[]);
        let (second, second_collect) = sdk();
        install(&second);
        // The same series again: not through what was bound on the first.
        record(&call(json!({"latency_ms": 200.0})), &[]);
        record(
            &call(json!({"response_model": MINI, "latency_ms": 300.0})),
            &[],
        );
        let model = "gpt-4o-2024-08-06";

        let points = exported(&first, &first_collect);
        assert_eq!(points.len(), 1, "{points:#?}");
        assert_point(point(&points, DURATION, &attributes(model, &[])), 1, 0.1);

        let points = exported(&second, &second_collect);
        assert_eq!(points.len(), 2, "{points:#?}");
        assert_point(point(&points, DURATION, &attributes(model, &[])), 1, 0.2);
        assert_point(point(&points, DURATION, &attributes(MINI, &[])), 1, 0.3);

        // Uninstalled, nothing is recorded.
        uninstall();
        assert!(!times_chunks());
        record(&call(json!({"latency_ms": 400.0})), &[]);
        let points = exported(&second, &second_collect);
        assert_point(point(&points, DURATION, &attributes(model, &[])), 1, 0.2);
        let points = exported(&first, &first_collect);
        assert_point(point(&points, DURATION, &attributes(model, &[])), 1, 0.1);
    }
}
