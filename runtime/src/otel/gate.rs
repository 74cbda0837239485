//! Export without silent loss: a gate in front of the SDK's batch processors.
//!
//! The SDK's `BatchSpanProcessor` (and `BatchLogProcessor`) `try_send` into a
//! bounded queue and drop what does not fit while an export is in flight; the
//! count of what they drop is private. A burst of a few thousand spans in a
//! second lost half of them that way, without a word. The gate keeps the
//! SDK's queue from ever overflowing:
//!
//! - [`Gate`] counts what has been handed to the SDK and not yet exported,
//!   in items and in (estimated) bytes. The SDK's queue is sized to the
//!   gate's capacity, so whatever the gate lets through fits.
//! - When the gate is full, the thread ending a span waits for room, at most
//!   [`Limits::max_wait`] (100 ms by default); then the span is counted as
//!   dropped. A breaker turns the waiting off while exports fail or one has
//!   been in flight for longer than [`STALL`] (a collector that hangs must not
//!   throttle the application), and on again when an export succeeds.
//! - [`Counted`] wraps the exporter: each export that returns gives its room
//!   back; a failed export counts its items as dropped. Spans are exported
//!   in pieces of at most [`MAX_EXPORT_BYTES`], under the 4 MiB message
//!   limit of a collector's gRPC server.
//! - Every drop is counted by its reason; the first prints one line on
//!   stderr naming the variable to raise, and the pipeline's shutdown prints
//!   the total.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

/// An export in flight for longer than this opens the breaker: the
/// collector is taken to be hanging, and callers stop waiting for room.
pub(crate) const STALL: Duration = Duration::from_secs(1);

/// The most (estimated) bytes of spans sent in one export request: under a
/// collector's default gRPC message limit of 4 MiB, with room for the
/// resource, the scopes and the estimate's error.
pub(crate) const MAX_EXPORT_BYTES: usize = 3 << 20;

/// How many items and bytes may wait for export, and how long a caller
/// waits for room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Items handed to the SDK and not yet exported.
    pub(crate) capacity: usize,
    /// Their estimated bytes.
    pub(crate) capacity_bytes: usize,
    /// How long a caller waits for room when the gate is full.
    pub(crate) max_wait: Duration,
    /// What sets `capacity` (an environment variable, or the builder's
    /// method when it was set in code): what the first drop's line says to
    /// raise.
    pub(crate) capacity_setting: &'static str,
    /// What sets `capacity_bytes`.
    pub(crate) bytes_setting: &'static str,
}

/// Why an item was not exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// The gate stayed full for the whole wait.
    Timeout,
    /// The gate was full and the breaker open (exports failing or hanging).
    BreakerOpen,
    /// The exporter sent it and the collector did not take it.
    ExportFailed,
    /// Still waiting for export when the pipeline shut down.
    Shutdown,
}

/// What a pipeline did not export, by reason: see
/// [`Otel::dropped`](super::Otel::dropped) and [`dropped`](super::dropped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DropCounts {
    /// The export queue stayed full for the whole wait
    /// ([`OtelBuilder::max_wait`](super::OtelBuilder::max_wait)).
    pub queue_full: u64,
    /// The queue was full while exports were failing or hanging: not waited for.
    pub breaker_open: u64,
    /// Sent, and refused or never answered by the collector.
    pub export_failed: u64,
    /// Still queued when the pipeline's shutdown timed out.
    pub shutdown: u64,
}

impl DropCounts {
    /// Everything not exported.
    pub fn total(&self) -> u64 {
        self.queue_full + self.breaker_open + self.export_failed + self.shutdown
    }
}

/// What was not exported: spans, and scores (log records).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// Spans.
    pub spans: DropCounts,
    /// Score log records (`gen_ai.evaluation.result`).
    pub scores: DropCounts,
}

impl Dropped {
    /// Spans and scores together.
    pub fn total(&self) -> u64 {
        self.spans.total() + self.scores.total()
    }
}

/// Counts per reason, atomically.
#[derive(Debug, Default)]
struct Counters([AtomicU64; 4]);

impl Counters {
    fn add(&self, reason: Reason, n: u64) {
        self.0[reason as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn read(&self) -> DropCounts {
        let at = |r: Reason| self.0[r as usize].load(Ordering::Relaxed);
        DropCounts {
            queue_full: at(Reason::Timeout),
            breaker_open: at(Reason::BreakerOpen),
            export_failed: at(Reason::ExportFailed),
            shutdown: at(Reason::Shutdown),
        }
    }
}

/// The process's totals, over every pipeline: what [`super::dropped`] reads.
static SPANS_DROPPED: Counters = Counters([const { AtomicU64::new(0) }; 4]);
static SCORES_DROPPED: Counters = Counters([const { AtomicU64::new(0) }; 4]);

/// What every pipeline of this process did not export so far.
pub(crate) fn dropped_in_process() -> Dropped {
    Dropped {
        spans: SPANS_DROPPED.read(),
        scores: SCORES_DROPPED.read(),
    }
}

/// Which signal a gate is for: its words and its variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Spans,
    Scores,
}

impl Signal {
    fn plural(self) -> &'static str {
        match self {
            Signal::Spans => "spans",
            Signal::Scores => "score log records",
        }
    }

    fn process_counters(self) -> &'static Counters {
        match self {
            Signal::Spans => &SPANS_DROPPED,
            Signal::Scores => &SCORES_DROPPED,
        }
    }
}

/// The room in front of one batch processor.
#[derive(Debug)]
pub(crate) struct Gate {
    signal: Signal,
    limits: Limits,
    /// Where the exports go, for the messages.
    endpoint: String,
    /// Items handed on and not yet exported.
    items: AtomicUsize,
    /// Their estimated bytes.
    bytes: AtomicUsize,
    /// Callers waiting for room: a release only locks to wake them.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    room: Condvar,
    /// Whether the last export failed.
    failing: AtomicBool,
    /// When the export in flight started, in ns since `epoch` (0: none).
    in_flight_since: AtomicU64,
    epoch: Instant,
    counters: Counters,
    /// Whether the first drop was told on stderr.
    told: AtomicBool,
    /// The last export error, for the shutdown line.
    last_error: Mutex<Option<String>>,
    /// Set at shutdown, when what was left is counted: an export that
    /// returns later (the SDK's thread outlives a shutdown that timed out)
    /// neither counts nor gives back room again.
    finished: AtomicBool,
}

impl Gate {
    pub(crate) fn new(signal: Signal, limits: Limits, endpoint: String) -> Arc<Gate> {
        Arc::new(Gate {
            signal,
            limits,
            endpoint,
            items: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            room: Condvar::new(),
            failing: AtomicBool::new(false),
            in_flight_since: AtomicU64::new(0),
            epoch: Instant::now(),
            counters: Counters::default(),
            told: AtomicBool::new(false),
            last_error: Mutex::new(None),
            finished: AtomicBool::new(false),
        })
    }

    /// What this gate did not let through or saw fail.
    pub(crate) fn dropped(&self) -> DropCounts {
        self.counters.read()
    }

    /// Takes room for one item of `size` bytes: at once when there is room,
    /// else after waiting for it (unless the breaker is open). False: the
    /// item is dropped, and counted.
    pub(crate) fn admit(&self, size: usize) -> bool {
        if self.try_take(size) {
            return true;
        }
        self.admit_slow(size)
    }

    fn try_take(&self, size: usize) -> bool {
        // Only callers that saw room go on, so no more than `capacity` are
        // ever handed on: a failed increment is taken back, and may at most
        // make another caller wait.
        if self.items.fetch_add(1, Ordering::SeqCst) >= self.limits.capacity {
            self.items.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        let before = self.bytes.fetch_add(size, Ordering::SeqCst);
        // An item larger than the whole byte budget still goes when nothing
        // else waits, so that it is not refused forever.
        if before != 0 && before + size > self.limits.capacity_bytes {
            self.bytes.fetch_sub(size, Ordering::SeqCst);
            self.items.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn admit_slow(&self, size: usize) -> bool {
        if self.breaker_open() {
            self.drop_items(Reason::BreakerOpen, 1);
            return false;
        }
        let deadline = Instant::now() + self.limits.max_wait;
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let admitted = loop {
            if self.try_take(size) {
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            if self.breaker_open() {
                break false;
            }
            // Woken by each export that returns, or at the deadline; a
            // short step, so that a hanging export opens the breaker for
            // callers already waiting.
            let step = (deadline - now).min(Duration::from_millis(20));
            guard = match self.room.wait_timeout(guard, step) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        if !admitted {
            let reason = if self.breaker_open() {
                Reason::BreakerOpen
            } else {
                Reason::Timeout
            };
            self.drop_items(reason, 1);
        }
        admitted
    }

    /// Gives back the room of items that left the queue (exported, or not).
    fn release(&self, items: usize, bytes: usize) {
        self.items.fetch_sub(items, Ordering::SeqCst);
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.room.notify_all();
        }
    }

    /// Whether callers should not wait: the last export failed, or the one
    /// in flight has hung for longer than [`STALL`].
    fn breaker_open(&self) -> bool {
        if self.failing.load(Ordering::Relaxed) {
            return true;
        }
        let since = self.in_flight_since.load(Ordering::Relaxed);
        since != 0 && self.nanos_now().saturating_sub(since) > STALL.as_nanos() as u64
    }

    fn nanos_now(&self) -> u64 {
        // Never 0, which means "no export in flight".
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    fn export_started(&self) {
        self.in_flight_since
            .store(self.nanos_now(), Ordering::Relaxed);
    }

    fn export_ended(&self, items: usize, bytes: usize, result: &OTelSdkResult) {
        self.in_flight_since.store(0, Ordering::Relaxed);
        if self.finished.load(Ordering::SeqCst) {
            // Counted at shutdown already, as still queued.
            return;
        }
        match result {
            Ok(()) => self.failing.store(false, Ordering::Relaxed),
            Err(e) => {
                self.failing.store(true, Ordering::Relaxed);
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                self.drop_items(Reason::ExportFailed, items as u64);
            }
        }
        self.release(items, bytes);
    }

    fn drop_items(&self, reason: Reason, n: u64) {
        if n == 0 {
            return;
        }
        self.counters.add(reason, n);
        self.signal.process_counters().add(reason, n);
        if !self.told.swap(true, Ordering::Relaxed) {
            let by_bytes = self.items.load(Ordering::SeqCst) < self.limits.capacity;
            let why = match reason {
                Reason::Timeout if by_bytes => format!(
                    "the export queue's {} MiB stayed full for {} ms; raise {} \
                     (or the wait, LLM_OTEL_MAX_WAIT_MS) if the collector is only slow",
                    self.limits.capacity_bytes >> 20,
                    self.limits.max_wait.as_millis(),
                    self.limits.bytes_setting,
                ),
                Reason::Timeout => format!(
                    "the export queue ({} {}) stayed full for {} ms; raise {} \
                     (or the wait, LLM_OTEL_MAX_WAIT_MS) if the collector is only slow",
                    self.limits.capacity,
                    self.signal.plural(),
                    self.limits.max_wait.as_millis(),
                    self.limits.capacity_setting,
                ),
                Reason::BreakerOpen => format!(
                    "the export queue is full and the collector at {} is failing or not \
                     answering; check the collector",
                    self.endpoint
                ),
                Reason::ExportFailed => format!(
                    "the collector at {} did not take them; check the collector",
                    self.endpoint
                ),
                Reason::Shutdown => "they were still queued at shutdown".to_owned(),
            };
            eprintln!(
                "llm-traced: OpenTelemetry {} are being dropped: {why} \
                 (the total is printed at shutdown)",
                self.signal.plural(),
            );
        }
    }

    /// At shutdown: whatever is still queued is lost; prints the total when
    /// anything was.
    pub(crate) fn finish(&self) -> DropCounts {
        self.finished.store(true, Ordering::SeqCst);
        let left = self.items.swap(0, Ordering::SeqCst);
        self.bytes.store(0, Ordering::SeqCst);
        if left > 0 {
            self.counters.add(Reason::Shutdown, left as u64);
            self.signal
                .process_counters()
                .add(Reason::Shutdown, left as u64);
        }
        let counts = self.counters.read();
        if counts.total() > 0 {
            let cause = self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let cause = match cause {
                Some(e) => format!("collector at {}: {e}", self.endpoint),
                None if counts.shutdown > 0 => format!(
                    "the collector at {} had not taken them when the shutdown's time was up",
                    self.endpoint
                ),
                None => format!("export queue full; raise {}", self.limits.capacity_setting),
            };
            eprintln!(
                "llm-traced: {} OpenTelemetry {} were not exported ({cause})",
                counts.total(),
                self.signal.plural(),
            );
        }
        counts
    }
}

/// A span or log processor that lets an item through to `inner` (the SDK's
/// batch processor) only when the gate has room for it.
#[derive(Debug)]
pub(crate) struct Gated<P> {
    pub(crate) gate: Arc<Gate>,
    pub(crate) inner: P,
}

impl<P> Gated<P> {
    /// Shuts `inner` down with `shutdown`, then counts (and tells) what was
    /// left queued.
    fn shut(&self, shutdown: impl FnOnce(&P) -> OTelSdkResult) -> OTelSdkResult {
        let result = shutdown(&self.inner);
        self.gate.finish();
        result
    }
}

impl<P: SpanProcessor> SpanProcessor for Gated<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.gate.admit(span_bytes(&span)) {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shut(|inner| inner.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        SpanProcessor::set_resource(&mut self.inner, resource);
    }
}

impl<P: LogProcessor> LogProcessor for Gated<P> {
    fn emit(&self, data: &mut SdkLogRecord, scope: &opentelemetry::InstrumentationScope) {
        if self.gate.admit(log_bytes(data)) {
            self.inner.emit(data, scope);
        }
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shut(|inner| inner.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        LogProcessor::set_resource(&mut self.inner, resource);
    }
}

/// An exporter that tells the gate what each export took out of the queue,
/// and how it went.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    pub(crate) gate: Arc<Gate>,
    pub(crate) inner: E,
    /// The most estimated bytes per request (spans only).
    pub(crate) max_bytes: usize,
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let sizes: Vec<usize> = batch.iter().map(span_bytes).collect();
        let mut result = Ok(());
        let mut batch = batch.into_iter();
        for piece in pieces(&sizes, self.max_bytes) {
            let spans: Vec<SpanData> = batch.by_ref().take(piece.len()).collect();
            let bytes = piece.iter().sum();
            self.gate.export_started();
            let outcome = self.inner.export(spans).await;
            self.gate.export_ended(piece.len(), bytes, &outcome);
            if outcome.is_err() {
                result = outcome;
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        // Score records are small (a name, a number, a label, a scrubbed
        // comment): a batch of them is far under a gRPC message's limit.
        let (items, bytes) = batch
            .iter()
            .fold((0, 0), |(n, b), (record, _)| (n + 1, b + log_bytes(record)));
        self.gate.export_started();
        let outcome = self.inner.export(batch).await;
        self.gate.export_ended(items, bytes, &outcome);
        outcome
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Consecutive pieces of `sizes` whose sums stay within `max` (a single
/// larger item is a piece of its own).
fn pieces(sizes: &[usize], max: usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut sum = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if i > start && sum + s > max {
            out.push(&sizes[start..i]);
            start = i;
            sum = 0;
        }
        sum += s;
    }
    if start < sizes.len() {
        out.push(&sizes[start..]);
    }
    out
}

/// About what a span takes encoded (and, within a small factor, in memory):
/// its ids, times and fixed fields, its name, and its attributes and events.
pub(crate) fn span_bytes(span: &SpanData) -> usize {
    let events: usize = span
        .events
        .iter()
        .map(|e| 24 + e.name.len() + attributes_bytes(&e.attributes))
        .sum();
    let links: usize = span
        .links
        .iter()
        .map(|l| 48 + attributes_bytes(&l.attributes))
        .sum();
    96 + span.name.len() + attributes_bytes(&span.attributes) + events + links
}

fn log_bytes(record: &SdkLogRecord) -> usize {
    let body = record.body().map_or(0, any_value_bytes);
    let attributes: usize = record
        .attributes_iter()
        .map(|(k, v)| 8 + k.as_str().len() + any_value_bytes(v))
        .sum();
    96 + record.event_name().map_or(0, str::len) + body + attributes
}

fn any_value_bytes(v: &opentelemetry::logs::AnyValue) -> usize {
    use opentelemetry::logs::AnyValue;
    match v {
        AnyValue::String(s) => s.as_str().len() + 2,
        AnyValue::Bytes(b) => b.len() + 2,
        AnyValue::ListAny(list) => list.iter().map(any_value_bytes).sum::<usize>() + 2,
        AnyValue::Map(map) => map
            .iter()
            .map(|(k, v)| 4 + k.as_str().len() + any_value_bytes(v))
            .sum::<usize>(),
        _ => 9,
    }
}

fn attributes_bytes(attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| 8 + kv.key.as_str().len() + value_bytes(&kv.value))
        .sum()
}

fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_str().len() + 2,
        Value::Array(Array::String(items)) => items.iter().map(|s| s.as_str().len() + 4).sum(),
        Value::Array(Array::Bool(items)) => items.len() * 2,
        Value::Array(Array::I64(items)) => items.len() * 10,
        Value::Array(Array::F64(items)) => items.len() * 9,
        // Numbers and booleans; kinds added to the API later count the same.
        _ => 9,
    }
}

/// A queue setting: the variable when it is set to a number (at least
/// `min`), else `default`.
pub(crate) fn from_env(variable: &str, default: usize, min: usize) -> usize {
    match std::env::var(variable) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= min => n,
            _ => {
                eprintln!("llm-traced: {variable}={v:?} is not a positive number; using {default}");
                default
            }
        },
        Err(_) => default,
    }
}

/// A name for the endpoint in messages.
pub(crate) fn endpoint_name(endpoint: Option<&str>) -> Cow<'static, str> {
    match endpoint {
        Some(e) => Cow::Owned(e.to_owned()),
        None => match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Ok(e) if !e.trim().is_empty() => Cow::Owned(e),
            _ => Cow::Borrowed("the default OTLP endpoint"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(capacity: usize, bytes: usize, wait_ms: u64) -> Arc<Gate> {
        Gate::new(
            Signal::Spans,
            Limits {
                capacity,
                capacity_bytes: bytes,
                max_wait: Duration::from_millis(wait_ms),
                capacity_setting: "OTEL_BSP_MAX_QUEUE_SIZE",
                bytes_setting: "LLM_OTEL_MAX_QUEUE_BYTES",
            },
            "http://127.0.0.1:1".to_owned(),
        )
    }

    #[test]
    fn the_gate_admits_up_to_its_capacity_then_counts_what_it_drops() {
        let g = gate(3, 1 << 20, 0);
        assert!(g.admit(10) && g.admit(10) && g.admit(10));
        assert!(!g.admit(10), "full");
        assert_eq!(g.dropped().queue_full, 1);
        g.export_ended(2, 20, &Ok(()));
        assert!(g.admit(10) && g.admit(10));
        assert!(!g.admit(10));
        assert_eq!(g.dropped().total(), 2);
    }

    #[test]
    fn bytes_are_a_limit_too_but_one_large_item_still_goes() {
        let g = gate(100, 1000, 0);
        assert!(g.admit(5000), "alone, larger than the budget");
        assert!(!g.admit(10), "nothing more while it waits");
        g.export_ended(1, 5000, &Ok(()));
        assert!(g.admit(600));
        assert!(!g.admit(600));
        assert!(g.admit(400));
    }

    #[test]
    fn a_waiting_caller_gets_the_room_an_export_gives_back() {
        let g = gate(1, 1 << 20, 5_000);
        assert!(g.admit(1));
        let g2 = g.clone();
        let exporter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            g2.export_ended(1, 1, &Ok(()));
        });
        let started = Instant::now();
        assert!(g.admit(1), "admitted once the export returned");
        assert!(started.elapsed() < Duration::from_secs(4));
        exporter.join().unwrap();
        assert_eq!(g.dropped().total(), 0);
    }

    #[test]
    fn a_failing_collector_opens_the_breaker_and_a_success_closes_it() {
        let g = gate(1, 1 << 20, 10_000);
        assert!(g.admit(1));
        g.export_ended(
            1,
            1,
            &Err(opentelemetry_sdk::error::OTelSdkError::Timeout(STALL)),
        );
        assert_eq!(g.dropped().export_failed, 1);
        assert!(g.admit(1));
        let started = Instant::now();
        assert!(!g.admit(1), "no wait while the breaker is open");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(g.dropped().breaker_open, 1);
        g.export_ended(1, 1, &Ok(()));
        assert!(!g.breaker_open());
    }

    #[test]
    fn an_export_that_hangs_opens_the_breaker() {
        let g = gate(1, 1 << 20, 60_000);
        assert!(g.admit(1));
        g.export_started();
        let started = Instant::now();
        assert!(!g.admit(1));
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert!(g.breaker_open());
        let again = Instant::now();
        assert!(!g.admit(1));
        assert!(again.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn what_is_queued_at_shutdown_is_counted_once() {
        let g = gate(10, 1 << 20, 0);
        assert!(g.admit(1) && g.admit(1));
        assert_eq!(g.finish().shutdown, 2);
        // The SDK's thread finishes its export after the shutdown timed out:
        // neither counted again nor given back twice.
        g.export_ended(
            2,
            2,
            &Err(opentelemetry_sdk::error::OTelSdkError::Timeout(STALL)),
        );
        assert_eq!(g.dropped().total(), 2);
        assert_eq!(g.items.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn batches_are_cut_by_bytes() {
        let sizes = [4, 4, 4, 10, 1, 1];
        let cut = pieces(&sizes, 8);
        assert_eq!(cut, vec![&[4, 4][..], &[4][..], &[10][..], &[1, 1][..]]);
        assert!(pieces(&[], 8).is_empty());
    }
}
