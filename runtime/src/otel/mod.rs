//! OpenTelemetry export (cargo feature `otel`): every instrumented call as a
//! span that follows the OpenTelemetry GenAI semantic conventions, sent over
//! OTLP to a Collector, Jaeger, Grafana Tempo, Langfuse, Arize Phoenix…
//!
//! [`init`] sets up everything from the standard environment variables:
//!
//! ```no_run
//! // OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_SERVICE_NAME=support-bot
//! let _otel = llm_traced_runtime::otel::init().expect("OpenTelemetry is set up");
//! // … instrumented calls; spans and metrics are flushed when `_otel` drops …
//! ```
//!
//! To compose with subscriber layers of your own (fmt, `EnvFilter`), build
//! the pipeline and add its [`layer`](Otel::layer):
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let otel = llm_traced_runtime::otel::Otel::builder()
//!     .service_name("support-bot")
//!     .build()
//!     .expect("OpenTelemetry is set up");
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info"))
//!     .with(otel.layer())
//!     .init();
//! ```
//!
//! Users who set up OpenTelemetry themselves need none of this: any
//! `tracing_opentelemetry` layer turns the calls' spans into GenAI spans.
//! Add [`ContextIdGenerator`] to their tracer provider so that calls in one
//! [`Context`](crate::Context) share a trace, and [`install_metrics`] for the
//! two GenAI metrics.
//!
//! Nothing is dropped without a word: the pipeline's batch processors sit
//! behind a gate that sizes the SDK's queue to what it lets through, makes a
//! call that ends while the queue is full wait for room (at most
//! [`OtelBuilder::max_wait`]; never while the collector fails or hangs), and
//! counts what is not exported by reason ([`dropped`], [`Otel::dropped`]).
//! A provider of your own can have the same with
//! [`OtelBuilder::span_processor`].
//!
//! What the spans carry, and how our trace ids become OpenTelemetry's: see
//! the README's "OpenTelemetry" section.

pub(crate) mod attributes;
pub(crate) mod bridge;
mod gate;
pub(crate) mod logs;
mod messages;
pub(crate) mod metrics;
pub(crate) mod span;

use std::fmt;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

pub use bridge::ContextIdGenerator;
pub use gate::{DropCounts, Dropped};
pub use logs::{install_logs, EVALUATION_EVENT};
pub use messages::{input_messages, output_messages, system_instructions};
pub use metrics::install as install_metrics;

/// The instrumentation scope our spans and metrics are reported under.
pub const SCOPE: &str = "llm-traced";

/// The version of the OpenTelemetry semantic conventions (GenAI and
/// general) our spans, metrics and events follow.
pub const SEMCONV_VERSION: &str = "1.41.0";

/// Which content an exported span may carry: the prompts (input messages,
/// system instructions, tool definitions) and the responses (output
/// messages). The conventions' `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`
/// switches both on; `LLM_LOG_PROMPTS` and `LLM_LOG_RESPONSES` each one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) prompts: bool,
    pub(crate) responses: bool,
}

impl Content {
    /// The switches as the environment and the installed configuration set them.
    pub(crate) fn current() -> Content {
        static STANDARD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let standard = *STANDARD.get_or_init(|| {
            std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
        });
        let config = crate::config::current();
        Content {
            prompts: standard || config.log_prompts,
            responses: standard || config.log_responses,
        }
    }

    /// Whether any content goes out.
    pub(crate) fn any(self) -> bool {
        self.prompts || self.responses
    }
}

/// How spans and metrics travel to the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over HTTP with protobuf bodies (port 4318), the default.
    HttpProtobuf,
    /// OTLP over gRPC (port 4317): cargo feature `otel-grpc`.
    Grpc,
}

impl Protocol {
    /// The protocol `OTEL_EXPORTER_OTLP_PROTOCOL` names: `http/protobuf` when
    /// it is unset, an error for values we cannot speak (`http/json`, typos).
    pub fn from_env() -> Result<Protocol, OtelError> {
        match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Err(_) => Ok(Protocol::HttpProtobuf),
            Ok(value) => Protocol::parse(&value),
        }
    }

    fn parse(value: &str) -> Result<Protocol, OtelError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "grpc" => Ok(Protocol::Grpc),
            _ => Err(OtelError::Protocol(value.to_owned())),
        }
    }
}

/// Why OpenTelemetry could not be set up or flushed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtelError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol we do not speak.
    Protocol(String),
    /// gRPC was asked for, but the `otel-grpc` feature is off.
    GrpcNotCompiled,
    /// The exporter could not be built (a bad endpoint, for instance).
    Exporter(opentelemetry_otlp::ExporterBuildError),
    /// The Tokio runtime for gRPC could not start.
    Runtime(std::io::Error),
    /// Another global `tracing` subscriber is installed already.
    Subscriber(tracing_subscriber::util::TryInitError),
    /// Flushing or shutting down failed (the backend is unreachable, …).
    Flush(opentelemetry_sdk::error::OTelSdkError),
}

impl fmt::Display for OtelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OtelError::Protocol(p) => write!(
                f,
                "OTEL_EXPORTER_OTLP_PROTOCOL={p:?} is not supported: use \"http/protobuf\" or \"grpc\""
            ),
            OtelError::GrpcNotCompiled => f.write_str(
                "OTLP over gRPC needs the `otel-grpc` cargo feature of llm-traced (or use http/protobuf)",
            ),
            OtelError::Exporter(e) => write!(f, "the OTLP exporter could not be built: {e}"),
            OtelError::Runtime(e) => write!(f, "the Tokio runtime for gRPC could not start: {e}"),
            OtelError::Subscriber(e) => write!(f, "a tracing subscriber is installed already: {e}"),
            OtelError::Flush(e) => write!(f, "OpenTelemetry data could not be flushed (is a collector listening?): {e}"),
        }
    }
}

impl std::error::Error for OtelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OtelError::Exporter(e) => Some(e),
            OtelError::Runtime(e) => Some(e),
            OtelError::Subscriber(e) => Some(e),
            OtelError::Flush(e) => Some(e),
            _ => None,
        }
    }
}

/// A `tracing-opentelemetry` layer for `tracer`, set up for GenAI spans: the
/// calls' end-of-call `tracing` event is left out (the span carries all it
/// says, and OpenTelemetry would copy it into a span event), and so are the
/// layer's own extras outside the conventions (busy/idle times, thread and
/// target attributes). Other spans and events pass as usual.
pub fn layer<S>(tracer: SdkTracer) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    bridge::register();
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_target(false)
        // Not `is_event()`: `tracing::enabled!` asks with a hint, which is
        // neither an event nor a span, and must get the same answer.
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() || meta.target() != "llm_traced"
        }))
}

/// Sets up OTLP export from the environment and installs it as the global
/// `tracing` subscriber, filtered by `RUST_LOG` (`info` when unset). Keep the
/// returned guard alive in `main`: dropping it flushes what is pending.
pub fn init() -> Result<Otel, OtelError> {
    Otel::builder().install()
}

/// Configures an [`Otel`] pipeline. Every setting left alone follows the
/// standard `OTEL_*` environment variables.
#[derive(Debug, Clone)]
#[must_use]
pub struct OtelBuilder {
    protocol: Option<Protocol>,
    endpoint: Option<String>,
    service_name: Option<String>,
    metrics: bool,
    max_queue_size: Option<usize>,
    max_queue_bytes: Option<usize>,
    max_export_batch_size: Option<usize>,
    max_wait: Option<Duration>,
    shutdown_timeout: Option<Duration>,
}

/// Spans (and score records) that may wait for export when nothing says
/// otherwise: room for a burst of a few thousand agent steps.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 32_768;
/// The most bytes of spans (as encoded, estimated) that may wait for export
/// when nothing says otherwise; the memory they take is within a small
/// factor of it.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 64 << 20;
/// How long a call that ends while the export queue is full waits for room
/// when nothing says otherwise.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_millis(100);
/// How long the pipeline's shutdown waits for each signal's last export.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the process's pipelines did not export so far, by reason (spans and
/// score records): nothing, when the collector kept up. Beside
/// [`log::dropped`](crate::log::dropped) for the JSON log.
pub fn dropped() -> Dropped {
    gate::dropped_in_process()
}

impl OtelBuilder {
    /// The transport; `OTEL_EXPORTER_OTLP_PROTOCOL` decides when unset.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The collector's base address, `http://localhost:4318` for instance
    /// (`/v1/traces` and `/v1/metrics` are added for HTTP). Without it,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` or the protocol's default applies.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The service name to report when `OTEL_SERVICE_NAME` (or
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) does not give one: the
    /// environment wins, so that a deployment can rename a service.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Whether to export the GenAI metrics (on by default).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// How many ended spans (and, separately, score records) may wait for
    /// export; [`DEFAULT_MAX_QUEUE_SIZE`] unless `OTEL_BSP_MAX_QUEUE_SIZE`
    /// (`OTEL_BLRP_MAX_QUEUE_SIZE` for scores) says otherwise. Set here, it
    /// wins over both.
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = Some(spans.max(1));
        self
    }

    /// How many bytes of spans (as encoded, estimated) may wait for export:
    /// [`DEFAULT_MAX_QUEUE_BYTES`] unless `LLM_OTEL_MAX_QUEUE_BYTES` says
    /// otherwise; set here, it wins.
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.max_queue_bytes = Some(bytes.max(1));
        self
    }

    /// How many spans go in one export request at most (the SDK's 512
    /// unless `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` says otherwise; set here, it
    /// wins). Requests are also cut to stay under 3 MiB, below a gRPC
    /// collector's 4 MiB message limit.
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = Some(spans.max(1));
        self
    }

    /// How long a call that ends while the export queue is full waits for
    /// room before its span is dropped (and counted): [`DEFAULT_MAX_WAIT`]
    /// unless `LLM_OTEL_MAX_WAIT_MS` says otherwise; set here, it wins. No
    /// call waits while exports are failing or one hangs.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }

    /// How long the shutdown (the guard's drop) waits for each signal's
    /// last exports: spans, scores and metrics, one after the other;
    /// [`SHUTDOWN_TIMEOUT`] (5 s) by default. What is still queued when the
    /// time is up is counted as not exported.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The gate's limits for one signal: what is set here, else the
    /// environment, else our defaults.
    fn limits(&self, queue_variable: &'static str) -> gate::Limits {
        gate::Limits {
            capacity: self
                .max_queue_size
                .unwrap_or_else(|| gate::from_env(queue_variable, DEFAULT_MAX_QUEUE_SIZE, 1)),
            capacity_bytes: self.max_queue_bytes.unwrap_or_else(|| {
                gate::from_env("LLM_OTEL_MAX_QUEUE_BYTES", DEFAULT_MAX_QUEUE_BYTES, 1)
            }),
            max_wait: self.max_wait.unwrap_or_else(|| {
                Duration::from_millis(gate::from_env(
                    "LLM_OTEL_MAX_WAIT_MS",
                    DEFAULT_MAX_WAIT.as_millis() as usize,
                    0,
                ) as u64)
            }),
            capacity_setting: match self.max_queue_size {
                Some(_) => "Otel::builder().max_queue_size(…)",
                None => queue_variable,
            },
            bytes_setting: match self.max_queue_bytes {
                Some(_) => "Otel::builder().max_queue_bytes(…)",
                None => "LLM_OTEL_MAX_QUEUE_BYTES",
            },
        }
    }

    /// The SDK's batch span processor for `exporter`, behind a gate.
    fn gated_spans<E: opentelemetry_sdk::trace::SpanExporter + 'static>(
        &self,
        exporter: E,
        endpoint: String,
    ) -> (
        gate::Gated<opentelemetry_sdk::trace::BatchSpanProcessor>,
        std::sync::Arc<gate::Gate>,
    ) {
        let limits = self.limits("OTEL_BSP_MAX_QUEUE_SIZE");
        let gate = gate::Gate::new(gate::Signal::Spans, limits, endpoint);
        let exporter = gate::Counted {
            gate: gate.clone(),
            inner: exporter,
            max_bytes: gate::MAX_EXPORT_BYTES,
        };
        // The SDK's queue holds what the gate lets through: it never fills.
        let batches = opentelemetry_sdk::trace::BatchConfigBuilder::default()
            .with_max_queue_size(limits.capacity)
            .with_max_export_batch_size(self.batch_size(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                opentelemetry_sdk::trace::OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
            ))
            .build();
        let processor = gate::Gated {
            gate: gate.clone(),
            inner: opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
                .with_batch_config(batches)
                .build(),
        };
        (processor, gate)
    }

    /// A batch span processor for a tracer provider of your own, with the
    /// same guarantee as the pipeline [`build`](OtelBuilder::build) makes:
    /// the SDK's queue never overflows, a full queue makes the ending call
    /// wait at most [`max_wait`](OtelBuilder::max_wait), and what is not
    /// exported is counted in [`dropped`] and told on stderr (the total when
    /// the provider shuts down). The queue settings are this builder's.
    ///
    /// ```no_run
    /// # fn exporter() -> opentelemetry_otlp::SpanExporter { unimplemented!() }
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
    ///     .with_span_processor(llm_traced_runtime::otel::Otel::builder().span_processor(exporter()))
    ///     .with_id_generator(llm_traced_runtime::otel::ContextIdGenerator::default())
    ///     .build();
    /// ```
    pub fn span_processor<E>(&self, exporter: E) -> impl opentelemetry_sdk::trace::SpanProcessor
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        let endpoint = gate::endpoint_name(self.endpoint.as_deref()).into_owned();
        self.gated_spans(exporter, endpoint).0
    }

    fn batch_size(&self, variable: &str, default: usize) -> usize {
        self.max_export_batch_size
            .unwrap_or_else(|| gate::from_env(variable, default, 1))
    }

    /// Builds the exporters and providers (batched, in background threads)
    /// without installing a subscriber: add [`Otel::layer`] to your own.
    pub fn build(self) -> Result<Otel, OtelError> {
        bridge::register();
        let protocol = match self.protocol {
            Some(p) => p,
            None => Protocol::from_env()?,
        };
        let resource = self.resource();
        let runtime = match protocol {
            Protocol::HttpProtobuf => None,
            Protocol::Grpc => Some(grpc::runtime()?),
        };
        // gRPC clients bind to the runtime they are built in.
        let _entered = runtime.as_ref().map(grpc::Runtime::enter);
        let endpoint = gate::endpoint_name(self.endpoint.as_deref()).into_owned();
        let (span_processor, span_gate) =
            self.gated_spans(self.span_exporter(protocol)?, endpoint.clone());
        let tracer_provider = SdkTracerProvider::builder()
            .with_span_processor(span_processor)
            .with_id_generator(ContextIdGenerator::default())
            .with_resource(resource.clone())
            .build();
        let meter_provider = if self.metrics {
            let exporter = self.metric_exporter(protocol)?;
            let provider = SdkMeterProvider::builder()
                .with_periodic_exporter(exporter)
                .with_resource(resource)
                .build();
            Some(provider)
        } else {
            None
        };
        let score_limits = self.limits("OTEL_BLRP_MAX_QUEUE_SIZE");
        let score_gate = gate::Gate::new(gate::Signal::Scores, score_limits, endpoint);
        let score_exporter = gate::Counted {
            gate: score_gate.clone(),
            inner: self.log_exporter(protocol)?,
            max_bytes: gate::MAX_EXPORT_BYTES,
        };
        let score_batches = opentelemetry_sdk::logs::BatchConfigBuilder::default()
            .with_max_queue_size(score_limits.capacity)
            .with_max_export_batch_size(self.batch_size(
                "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                opentelemetry_sdk::logs::OTEL_BLRP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
            ))
            .build();
        let score_processor = gate::Gated {
            gate: score_gate.clone(),
            inner: opentelemetry_sdk::logs::BatchLogProcessor::builder(score_exporter)
                .with_batch_config(score_batches)
                .build(),
        };
        let logger_provider = SdkLoggerProvider::builder()
            .with_log_processor(score_processor)
            .with_resource(self.resource())
            .build();
        let logs_token = logs::install(&logger_provider);
        let metrics_token = meter_provider.as_ref().map(metrics::install_token);
        Ok(Otel {
            tracer: tracer_provider.tracer(SCOPE),
            tracer_provider,
            meter_provider,
            logger_provider,
            logs_token,
            metrics_token,
            shut_down: false,
            runtime,
            gates: [span_gate, score_gate],
            shutdown_timeout: self.shutdown_timeout.unwrap_or(SHUTDOWN_TIMEOUT),
        })
    }

    /// Builds the pipeline, makes its providers OpenTelemetry's global ones,
    /// and installs a `tracing` subscriber with its layer, filtered by
    /// `RUST_LOG` (`info` when unset).
    pub fn install(self) -> Result<Otel, OtelError> {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;

        let otel = self.build()?;
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        if let Err(e) = tracing_subscriber::registry()
            .with(filter)
            .with(otel.layer())
            .try_init()
        {
            // The pipeline goes: its metric instruments and logger must not
            // outlive it.
            if let Some(token) = otel.metrics_token {
                metrics::uninstall_if(token);
            }
            logs::uninstall(otel.logs_token);
            return Err(OtelError::Subscriber(e));
        }
        opentelemetry::global::set_tracer_provider(otel.tracer_provider.clone());
        if let Some(meters) = &otel.meter_provider {
            opentelemetry::global::set_meter_provider(meters.clone());
        }
        Ok(otel)
    }

    fn resource(&self) -> Resource {
        let from_env = Resource::builder().build();
        let named_by_env = std::env::var_os("OTEL_SERVICE_NAME").is_some()
            || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
                .is_ok_and(|attrs| attrs.contains("service.name="));
        match &self.service_name {
            Some(name) if !named_by_env => {
                Resource::builder().with_service_name(name.clone()).build()
            }
            _ => from_env,
        }
    }

    fn signal_endpoint(&self, protocol: Protocol, path: &str) -> Option<String> {
        let base = self.endpoint.as_deref()?;
        Some(match protocol {
            Protocol::HttpProtobuf => format!("{}/{path}", base.trim_end_matches('/')),
            Protocol::Grpc => base.to_owned(),
        })
    }

    fn span_exporter(
        &self,
        protocol: Protocol,
    ) -> Result<opentelemetry_otlp::SpanExporter, OtelError> {
        let endpoint = self.signal_endpoint(protocol, "v1/traces");
        match protocol {
            Protocol::HttpProtobuf => {
                let mut b = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                b.build().map_err(OtelError::Exporter)
            }
            Protocol::Grpc => grpc::span_exporter(endpoint),
        }
    }

    fn log_exporter(
        &self,
        protocol: Protocol,
    ) -> Result<opentelemetry_otlp::LogExporter, OtelError> {
        let endpoint = self.signal_endpoint(protocol, "v1/logs");
        match protocol {
            Protocol::HttpProtobuf => {
                let mut b = opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                b.build().map_err(OtelError::Exporter)
            }
            Protocol::Grpc => grpc::log_exporter(endpoint),
        }
    }

    fn metric_exporter(
        &self,
        protocol: Protocol,
    ) -> Result<opentelemetry_otlp::MetricExporter, OtelError> {
        let endpoint = self.signal_endpoint(protocol, "v1/metrics");
        match protocol {
            Protocol::HttpProtobuf => {
                let mut b = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                b.build().map_err(OtelError::Exporter)
            }
            Protocol::Grpc => grpc::metric_exporter(endpoint),
        }
    }
}

/// A running OpenTelemetry pipeline, and the guard that flushes it: spans and
/// metrics still pending are exported when it drops (or on
/// [`shutdown`](Otel::shutdown)), so that a short-lived program loses none.
#[must_use = "spans and metrics are flushed when the guard drops"]
pub struct Otel {
    tracer: SdkTracer,
    tracer_provider: SdkTracerProvider,
    meter_provider: Option<SdkMeterProvider>,
    /// Scores, as `gen_ai.evaluation.result` log records.
    logger_provider: SdkLoggerProvider,
    /// Which installation of the score logger is this pipeline's.
    logs_token: u64,
    /// The metric instruments' installation, when metrics are on.
    metrics_token: Option<u64>,
    shut_down: bool,
    /// gRPC only: the runtime the exporters' connections live on, stopped
    /// after them.
    runtime: Option<grpc::Runtime>,
    /// What counts the spans and the score records not exported.
    gates: [std::sync::Arc<gate::Gate>; 2],
    /// How long the shutdown waits for each signal.
    shutdown_timeout: Duration,
}

impl fmt::Debug for Otel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otel")
            .field("metrics", &self.meter_provider.is_some())
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

impl Otel {
    /// A pipeline configured by the environment and by what you set.
    pub fn builder() -> OtelBuilder {
        OtelBuilder {
            protocol: None,
            endpoint: None,
            service_name: None,
            metrics: true,
            max_queue_size: None,
            max_queue_bytes: None,
            max_export_batch_size: None,
            max_wait: None,
            shutdown_timeout: None,
        }
    }

    /// What this pipeline did not export so far, by reason. After
    /// [`shutdown`](Otel::shutdown) (or the guard's drop), what was still
    /// queued is counted too, and the total has been printed on stderr.
    pub fn dropped(&self) -> Dropped {
        Dropped {
            spans: self.gates[0].dropped(),
            scores: self.gates[1].dropped(),
        }
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans, to add
    /// to a subscriber of your own: see [`layer`](fn@layer).
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        layer(self.tracer.clone())
    }

    /// The tracer provider, to hand to other OpenTelemetry instrumentation.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The logger provider scores are sent through.
    pub fn logger_provider(&self) -> &SdkLoggerProvider {
        &self.logger_provider
    }

    /// The meter provider, when metrics are on.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// Exports every finished span and the metrics now, waiting for the
    /// backend to answer.
    pub fn flush(&self) -> Result<(), OtelError> {
        self.tracer_provider
            .force_flush()
            .map_err(OtelError::Flush)?;
        if let Some(meters) = &self.meter_provider {
            meters.force_flush().map_err(OtelError::Flush)?;
        }
        self.logger_provider
            .force_flush()
            .map_err(OtelError::Flush)?;
        Ok(())
    }

    /// Flushes and stops the exporters. Spans that end afterwards are not
    /// exported.
    pub fn shutdown(mut self) -> Result<(), OtelError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), OtelError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        // Five seconds each at most by default: an unreachable collector
        // must not hold the program's exit for long.
        let timeout = self.shutdown_timeout;
        logs::uninstall(self.logs_token);
        if let Some(token) = self.metrics_token {
            metrics::uninstall_if(token);
        }
        let spans = self.tracer_provider.shutdown_with_timeout(timeout);
        let scores = self.logger_provider.shutdown_with_timeout(timeout);
        let meters = match &self.meter_provider {
            Some(m) => m.shutdown_with_timeout(timeout),
            None => Ok(()),
        };
        if let Some(runtime) = self.runtime.take() {
            // Not a blocking drop: the guard may go inside async code.
            grpc::stop(runtime);
        }
        spans.and(meters).and(scores).map_err(OtelError::Flush)
    }
}

impl Drop for Otel {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("llm-traced: {e}");
        }
    }
}

/// gRPC transport, with a Tokio runtime of its own for tonic.
#[cfg(feature = "otel-grpc")]
mod grpc {
    use super::OtelError;
    use opentelemetry_otlp::WithExportConfig;

    pub(super) type Runtime = tokio::runtime::Runtime;

    /// Stops the runtime without waiting on it, which works inside another
    /// runtime's tasks too (dropping it there would panic).
    pub(super) fn stop(runtime: Runtime) {
        runtime.shutdown_background();
    }

    /// One worker: exports are small and batched. Multi-thread, because a
    /// current-thread runtime cannot drive the exporter from the SDK's own
    /// threads.
    pub(super) fn runtime() -> Result<Runtime, OtelError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llm-traced-otlp")
            .enable_all()
            .build()
            .map_err(OtelError::Runtime)
    }

    pub(super) fn span_exporter(
        endpoint: Option<String>,
    ) -> Result<opentelemetry_otlp::SpanExporter, OtelError> {
        let mut b = opentelemetry_otlp::SpanExporter::builder().with_tonic();
        if let Some(e) = endpoint {
            b = b.with_endpoint(e);
        }
        b.build().map_err(OtelError::Exporter)
    }

    pub(super) fn log_exporter(
        endpoint: Option<String>,
    ) -> Result<opentelemetry_otlp::LogExporter, OtelError> {
        let mut b = opentelemetry_otlp::LogExporter::builder().with_tonic();
        if let Some(e) = endpoint {
            b = b.with_endpoint(e);
        }
        b.build().map_err(OtelError::Exporter)
    }

    pub(super) fn metric_exporter(
        endpoint: Option<String>,
    ) -> Result<opentelemetry_otlp::MetricExporter, OtelError> {
        let mut b = opentelemetry_otlp::MetricExporter::builder().with_tonic();
        if let Some(e) = endpoint {
            b = b.with_endpoint(e);
        }
        b.build().map_err(OtelError::Exporter)
    }
}

/// Without the `otel-grpc` feature, asking for gRPC is a clear error.
#[cfg(not(feature = "otel-grpc"))]
mod grpc {
    use super::OtelError;

    /// Never built: there is no runtime without gRPC.
    pub(super) enum Runtime {}

    impl Runtime {
        pub(super) fn enter(&self) {
            match *self {}
        }
    }

    pub(super) fn stop(runtime: Runtime) {
        match runtime {}
    }

    pub(super) fn runtime() -> Result<Runtime, OtelError> {
        Err(OtelError::GrpcNotCompiled)
    }

    pub(super) fn span_exporter(
        _: Option<String>,
    ) -> Result<opentelemetry_otlp::SpanExporter, OtelError> {
        Err(OtelError::GrpcNotCompiled)
    }

    pub(super) fn metric_exporter(
        _: Option<String>,
    ) -> Result<opentelemetry_otlp::MetricExporter, OtelError> {
        Err(OtelError::GrpcNotCompiled)
    }

    pub(super) fn log_exporter(
        _: Option<String>,
    ) -> Result<opentelemetry_otlp::LogExporter, OtelError> {
        Err(OtelError::GrpcNotCompiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_follow_the_specification() {
        assert_eq!(
            Protocol::parse("http/protobuf").unwrap(),
            Protocol::HttpProtobuf
        );
        assert_eq!(Protocol::parse("GRPC").unwrap(), Protocol::Grpc);
        assert_eq!(Protocol::parse(" ").unwrap(), Protocol::HttpProtobuf);
        let err = Protocol::parse("http/json").unwrap_err().to_string();
        assert!(err.contains("\"http/json\" is not supported"), "{err}");
    }

    #[test]
    fn http_endpoints_get_the_signal_path() {
        let b = Otel::builder().endpoint("http://127.0.0.1:4318/");
        assert_eq!(
            b.signal_endpoint(Protocol::HttpProtobuf, "v1/traces")
                .as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            b.signal_endpoint(Protocol::Grpc, "v1/traces").as_deref(),
            Some("http://127.0.0.1:4318/")
        );
        assert_eq!(
            Otel::builder().signal_endpoint(Protocol::Grpc, "v1/traces"),
            None
        );
    }
}
