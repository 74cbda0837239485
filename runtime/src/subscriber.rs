//! A JSON `tracing` subscriber for applications that have none yet (cargo
//! feature `subscriber`): structlog's JSON setup, in Rust.
//!
//! Every line is one JSON object with an ISO 8601 timestamp, the level, the
//! target, the event's fields (its message as `event`, as structlog names it),
//! the names of the enclosing spans, and the bound context (trace and span
//! ids, user, session, tenant, tags, metadata). `RUST_LOG` filters, `info`
//! when unset.
//!
//! ```no_run
//! let _guard = llm_traced_runtime::subscriber::init().expect("no other subscriber yet");
//! // … the log is flushed when `_guard` drops …
//! ```

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::context::Context;

/// Installs the JSON subscriber on stdout, filtered by `RUST_LOG` (default
/// `info`), and returns a guard that flushes the structured log on drop.
pub fn init() -> Result<crate::log::LogGuard, tracing_subscriber::util::TryInitError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(layer().with_filter(filter))
        .try_init()?;
    Ok(crate::log::guard())
}

/// The JSON formatting layer alone, writing to stdout, to compose with other
/// layers and filters of your own.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .event_format(JsonWithContext)
        .with_writer(std::io::stdout)
}

/// The event format: one JSON object per line, with the bound context.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonWithContext;

impl<S, N> FormatEvent<S, N> for JsonWithContext
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        line.insert(
            "level".into(),
            meta.level().as_str().to_ascii_lowercase().into(),
        );
        line.insert("target".into(), meta.target().into());
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        if let Some(message) = fields.remove("message") {
            line.insert("event".into(), message);
        }
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<Value> = scope.from_root().map(|s| Value::from(s.name())).collect();
            if !spans.is_empty() {
                line.insert("spans".into(), spans.into());
            }
        }
        line.extend(fields);
        // The bound context, unless the event says otherwise.
        let context = Context::current();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                line.entry(key.to_owned()).or_insert(value);
            }
        };
        put("trace_id", context.trace_id().map(|t| t.to_string().into()));
        put("span_id", context.span_id().map(|s| s.to_string().into()));
        put("http_request_id", context.request_id().map(Value::from));
        if let Some(bound) = context.bound() {
            // Bound values lose their secrets here as in every output.
            let mut bound = bound.clone();
            crate::redaction::scrub_bound(&mut bound);
            put("user_id", bound.user_id.clone().map(Value::from));
            put("session_id", bound.session_id.clone().map(Value::from));
            put("tenant_id", bound.tenant_id.clone().map(Value::from));
            put(
                "tags",
                (!bound.tags.is_empty()).then(|| bound.tags.clone().into()),
            );
            put(
                "metadata",
                (!bound.metadata.is_empty())
                    .then(|| Value::Object(bound.metadata.clone().into_iter().collect())),
            );
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
