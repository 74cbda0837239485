//! One instrumented call, from start to record.
//!
//! The code `#[llm_traced]` generates calls [`start`] with the call site, the
//! `tracing` span and a closure that captures the model and messages. When no
//! output is on and no subscriber wants the span, `start` returns `None` after
//! one relaxed atomic load and the wrapper polls the body as it is. Otherwise a
//! boxed [`CallState`] rides along, and the output of the body, a panic in it,
//! or its future being dropped ends the call and produces the records.

use std::any::Any;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use tracing::Span;

use crate::capture::{json_value, Enricher, LlmResponse, ResponseInfo, StepOutput, StepProbe};
use crate::config::{self, Config};
use crate::context::{Context, SpanId, TraceId};
use crate::outputs;

#[cfg(feature = "_middleware")]
pub(crate) mod external;
pub(crate) mod stream;
mod wrap;

use crate::record::{CallRecord, ErrorRecord, ResponseContent, Status, Text, SCHEMA_VERSION};
pub use wrap::{
    run_step, run_stream, run_sync, traced, traced_step, traced_stream, Finish, LlmFinish,
    StepFinish, StreamFinish, Traced,
};

/// What the macro knows about an instrumented function at compile time.
#[derive(Debug)]
pub struct Site {
    /// `name = "…"`, or the function's name.
    pub name: &'static str,
    /// Returns the type name of a marker item inside the function, from which
    /// the function's path is read.
    pub path: fn() -> &'static str,
    /// `gen_ai.operation.name`.
    pub operation: &'static str,
    /// `gen_ai.provider.name`.
    pub provider: Option<&'static str>,
    /// The model, when given as a string literal.
    pub model: Option<&'static str>,
    /// `llm` for a model call; `chain`, `agent`, `tool` or `retrieval` for a
    /// step around model calls (timing and errors, no usage).
    pub kind: &'static str,
    /// `audit`: write audit-log entries (`query`, then `completion` or the
    /// failure) for each call, whatever else is on.
    pub audit: bool,
    /// A tool step's description: the first paragraph of the function's
    /// doc comment (`gen_ai.tool.description`).
    pub description: Option<&'static str>,
    /// [`Site::function`], computed once.
    pub function_cache: std::sync::OnceLock<String>,
}

/// The marker item's name in generated code; [`Site::function`] strips it.
pub const MARKER: &str = "__llm_traced_here";

impl Site {
    /// The function's path, e.g. `my_app::Client::ask`.
    pub fn function(&'static self) -> &'static str {
        self.function_cache.get_or_init(|| self.compute_function())
    }

    fn compute_function(&self) -> String {
        let raw = (self.path)();
        let raw = raw.strip_suffix(MARKER).unwrap_or(raw);
        let raw = raw.strip_suffix("::").unwrap_or(raw);
        // Methods show as `<impl my_app::Client>::ask` or `my_app::{impl#0}::ask`
        // depending on the compiler; keep whatever it gives, minus closures.
        raw.replace("::{{closure}}", "")
    }
}

/// Lets the generated closure hand over the model and messages.
pub struct Capture<'a> {
    state: &'a mut CallState,
}

impl Capture<'_> {
    /// Records the model asked for (`model = …`).
    pub fn model<M: Display + ?Sized>(&mut self, model: &M) {
        self.state.model = Some(model.to_string());
    }

    /// Records the whole request (`request = …`, or an argument named
    /// `request` whose type is `Serialize`), serialised only when some
    /// enabled output shows content. Without `model = …`, its `model` is the
    /// model asked for; without messages, its `messages` (OpenAI, Anthropic),
    /// `contents` (Gemini) or `input` (the Responses API) are the messages.
    /// When no output shows content but an OpenTelemetry layer may export
    /// the call, only the request's parameters are kept (for the span's
    /// `gen_ai.request.*` attributes), never its content.
    pub fn request<T: Serialize + ?Sized>(&mut self, request: &T) {
        let parameters_only = !self.state.wants_messages;
        if parameters_only && !self.state.wants_parameters {
            return;
        }
        // Through the text, as a client sends it: `to_value` would widen an
        // `f32` (0.2 becomes 0.20000000298023224), the text keeps it short.
        let text = serde_json::to_string(request);
        let Ok(value) = text.and_then(|t| serde_json::from_str::<Value>(&t)) else {
            return;
        };
        if self.state.model.is_none() {
            if let Some(model) = value.get("model").and_then(Value::as_str) {
                self.state.model = Some(model.to_owned());
            }
        }
        if parameters_only {
            self.state.request_parameters = Some(request_parameters(value));
            return;
        }
        if self.state.messages.is_none() {
            self.state.messages = ["messages", "contents", "input"]
                .iter()
                .find_map(|key| value.get(key))
                .cloned();
        }
        self.state.request = Some(value);
    }

    /// Records a tool step's call id (`tool_call_id = …`): not content.
    pub fn tool_call_id<D: Display + ?Sized>(&mut self, id: &D) {
        self.state.tool_call_id = Some(id.to_string());
    }

    /// Whether a tool step's arguments are recorded: some enabled output
    /// shows the prompts' content (the audit log does not hash them).
    pub fn wants_tool_arguments(&self) -> bool {
        self.state.shows_prompts
    }

    /// Records a tool step's arguments (`arguments = …`), serialised only
    /// when some enabled output shows the prompts' content.
    pub fn tool_arguments<T: Serialize + ?Sized>(&mut self, arguments: &T) {
        if self.state.shows_prompts {
            self.state.tool_arguments = Some(json_value(arguments, "arguments"));
        }
    }

    /// Records one of a tool step's own arguments under its parameter's name
    /// (the default without `arguments = …`): the arguments are the object
    /// of every parameter whose type is `Serialize`.
    pub fn tool_argument<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) {
        if !self.state.shows_prompts {
            return;
        }
        let value = json_value(value, "argument");
        match &mut self.state.tool_arguments {
            Some(Value::Object(map)) => {
                map.insert(name.to_owned(), value);
            }
            _ => {
                let mut map = serde_json::Map::new();
                map.insert(name.to_owned(), value);
                self.state.tool_arguments = Some(Value::Object(map));
            }
        }
    }

    /// Records the request messages (`messages = …`), serialised only when
    /// some enabled output shows content.
    pub fn messages<T: Serialize + ?Sized>(&mut self, messages: &T) {
        // An audited call hashes its messages even when no output shows them.
        if self.state.wants_messages {
            self.state.messages = Some(serde_json::to_value(messages).unwrap_or_else(|e| {
                Value::String(format!("<messages could not be serialised: {e}>"))
            }));
        }
    }
}

/// The state of one call in progress. Boxed, and only when something listens.
pub struct CallState {
    site: &'static Site,
    span: Span,
    config: Option<&'static Config>,
    /// The context the body runs in: this call's trace, its span as the
    /// parent of nested calls, and the bound values it inherited.
    context: Context,
    parent_span_id: Option<SpanId>,
    /// The trace flags of the parent when it is remote (a `traceparent`).
    remote_flags: Option<u8>,
    started: Instant,
    started_at: DateTime<Utc>,
    request_id: String,
    /// Its place in the process's start order (the record's `seq`).
    seq: u64,
    model: Option<String>,
    messages: Option<Value>,
    request: Option<Value>,
    request_parameters: Option<Value>,
    /// A tool step's call id, arguments and result.
    tool_call_id: Option<String>,
    tool_arguments: Option<Value>,
    tool_result: Option<Value>,
    stream: Option<stream::StreamFacts>,
    /// `gen_ai.provider.name`: the site's, or what the middleware read from
    /// the URL.
    provider: Option<&'static str>,
    /// `server.address` and `server.port` (middleware calls).
    server: Option<(String, u16)>,
    /// What the middleware saw on the wire.
    http: Option<crate::record::HttpExchange>,
    /// A model call's sink for what middleware below it sees (see
    /// `external::Seen`).
    #[cfg(feature = "_middleware")]
    seen: Option<external::SeenCell>,
    /// Whether some output (or the audit log) records the messages, and the
    /// response's content.
    wants_messages: bool,
    /// Whether some output shows the prompts' content (the audit log only
    /// hashes the messages).
    shows_prompts: bool,
    /// Whether an OpenTelemetry layer may export the call: it shows the
    /// request's parameters.
    wants_parameters: bool,
    wants_response: bool,
    /// Whether some output shows the response's content (the audit log
    /// only hashes it).
    keeps_response: bool,
    /// The exported OpenTelemetry span, when a layer exports the call.
    exported: Option<outputs::otel::Exported>,
    finished: bool,
}

/// Whether the call can be skipped without even building its span: see
/// [`config::quiet`].
#[inline(always)]
pub fn quiet() -> bool {
    config::quiet()
}

/// Starts a call: `None`, at the cost of one atomic load and a branch, when no
/// output is on and the span is disabled.
#[inline(always)]
pub fn start<F>(site: &'static Site, span: Span, capture: F) -> Option<Box<CallState>>
where
    F: FnOnce(&mut Capture<'_>),
{
    let config = config::active();
    if config.is_none() && span.is_disabled() && !site.audit {
        // A disabled span holds no subscriber and no id: nothing to drop.
        std::mem::forget(span);
        return None;
    }
    Some(start_active(site, span, config, capture))
}

#[inline(never)]
fn start_active<F>(
    site: &'static Site,
    span: Span,
    config: Option<&'static Config>,
    capture: F,
) -> Box<CallState>
where
    F: FnOnce(&mut Capture<'_>),
{
    let mut state = CallState::begin(site, span, config);
    // A panic in user code evaluating `model`/`messages` must not escape from
    // the instrumentation: the body has not run yet, so just record less.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        capture(&mut Capture { state: &mut state })
    }));
    state.announce();
    state
}

// The state is boxed from its start to its end: ending it consumes the box.
#[allow(clippy::boxed_local)]
impl CallState {
    #[inline(never)]
    fn begin(site: &'static Site, span: Span, config: Option<&'static Config>) -> Box<Self> {
        let outer = Context::current();
        let trace_id = outer.trace_id().unwrap_or_else(TraceId::random);
        let parent_span_id = outer.span_id();
        let (otel_prompts, otel_responses) = otel_content(&span);
        let span_disabled = span.is_disabled();
        // An audited call hashes its content even when no output shows it.
        let shows_prompts = otel_prompts || config.is_some_and(Config::wants_messages);
        let wants_messages = site.audit || shows_prompts;
        let keeps_response = otel_responses || config.is_some_and(Config::wants_response);
        let wants_response = keeps_response || site.audit;
        // To the microsecond, as the record is written, so that what the
        // outputs hold and what is read back agree.
        let started_at = Utc::now().trunc_subsecs(6);
        Box::new(CallState {
            site,
            span,
            config,
            context: outer.child(trace_id, SpanId::random()),
            parent_span_id,
            remote_flags: outer.remote_flags(),
            started: Instant::now(),
            started_at,
            request_id: crate::context::request_id(started_at),
            seq: crate::context::next_seq(),
            model: site.model.map(str::to_owned),
            messages: None,
            request: None,
            request_parameters: None,
            tool_call_id: None,
            tool_arguments: None,
            tool_result: None,
            stream: None,
            provider: site.provider,
            server: None,
            http: None,
            #[cfg(feature = "_middleware")]
            seen: (site.kind == "llm").then(external::SeenCell::new),
            wants_messages,
            shows_prompts,
            wants_parameters: cfg!(feature = "otel") && !span_disabled,
            wants_response,
            keeps_response,
            exported: None,
            finished: false,
        })
    }

    /// Tells every output that the call starts.
    fn announce(&mut self) {
        let state = &mut *self;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            outputs::start(&mut outputs::Started {
                span: &state.span,
                audit: state.site.audit,
                name: state.site.name,
                function: state.site.function(),
                kind: state.site.kind,
                operation: state.site.operation,
                provider: state.provider,
                literal_model: state.site.model.is_some(),
                model: state.model.as_deref(),
                messages: state.messages.as_ref(),
                request_id: &state.request_id,
                context: &mut state.context,
                parent_span_id: &mut state.parent_span_id,
                remote_flags: state.remote_flags,
                exported: &mut state.exported,
            })
        }));
    }

    /// Ends the call with its output.
    pub fn finish<T: LlmResponse>(mut self: Box<Self>, output: &T, enrich: Option<Enricher<T>>) {
        let wants_content = self.wants_response;
        let captured = catch_unwind(AssertUnwindSafe(|| {
            let mut info = if wants_content {
                ResponseInfo::default()
            } else {
                ResponseInfo::metadata_only()
            };
            output.capture(&mut info);
            if let Some(enrich) = enrich {
                enrich(output, &mut info);
            }
            info
        }));
        let outcome = match captured {
            Ok(info) => Outcome::Returned(Box::new(info)),
            Err(_) => Outcome::Returned(Box::default()),
        };
        self.complete(outcome);
    }

    /// When the call started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Enters the call's context and span (for polls of its stream).
    pub(crate) fn enter(&self) -> (crate::context::ContextGuard, tracing::span::Entered<'_>) {
        (self.context.enter(), self.span.enter())
    }

    /// Ends a streaming call with what its stream said.
    pub(crate) fn finish_stream(
        mut self: Box<Self>,
        acc: crate::capture::stream::StreamAccumulator,
        facts: stream::StreamFacts,
    ) {
        let wants_content = self.wants_response;
        let abandoned = facts.end == stream::StreamEnd::Abandoned;
        self.stream = Some(facts);
        let info = acc.into_info(wants_content);
        if abandoned && info.error.is_none() {
            self.complete(Outcome::Abandoned(Box::new(info)));
        } else {
            self.complete(Outcome::Returned(Box::new(info)));
        }
    }

    /// Ends a streaming call whose function returned an error before any stream.
    pub(crate) fn finish_stream_error<E: std::fmt::Display + ?Sized>(
        mut self: Box<Self>,
        error: &E,
        type_name: &str,
    ) {
        let info = ResponseInfo::failed(Some(crate::capture::CapturedError {
            message: error.to_string(),
            type_name: type_name.to_owned(),
            ..Default::default()
        }));
        self.complete(Outcome::Returned(Box::new(info)));
    }

    /// Ends a step (not a model call) with its output: whether it failed,
    /// and a tool step's result when some output keeps response content.
    pub fn finish_step<T>(mut self: Box<Self>, output: &T, probe: Option<StepProbe<T>>) {
        let wants_result = self.keeps_response && self.site.kind == "tool";
        let captured = catch_unwind(AssertUnwindSafe(|| {
            let mut step = StepOutput {
                wants_result,
                ..StepOutput::default()
            };
            if let Some(probe) = probe {
                probe(output, &mut step);
            }
            step
        }));
        let step = captured.unwrap_or_default();
        self.tool_result = step.result;
        let info = ResponseInfo::failed(step.error);
        self.complete(Outcome::Returned(Box::new(info)));
    }

    /// Ends the call with a panic coming out of the body.
    pub fn finish_panic(mut self: Box<Self>, payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the function panicked".to_owned());
        self.complete(Outcome::Panicked(message));
    }

    #[inline(never)]
    fn complete(&mut self, outcome: Outcome) {
        self.finished = true;
        let _ = catch_unwind(AssertUnwindSafe(|| self.emit(outcome)));
    }

    fn emit(&mut self, outcome: Outcome) {
        let latency = self.started.elapsed();
        // Rounded to the microsecond, like the start.
        let micros = (latency.as_nanos() + 500) / 1000;
        let latency = Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
        let ended_at = self.started_at
            + chrono::Duration::from_std(latency).unwrap_or_else(|_| chrono::Duration::zero());
        let config = self.config;
        let (status, info, error) = match outcome {
            Outcome::Returned(info) => {
                let mut info = *info;
                match info.error.take() {
                    Some(e) => {
                        let record = ErrorRecord::diagnosed(e, self.provider);
                        (Status::Error, info, Some(record))
                    }
                    None => (Status::Ok, info, None),
                }
            }
            Outcome::Abandoned(info) => {
                let chunks = self.stream.as_ref().map_or(0, |s| s.chunks);
                (
                    Status::Cancelled,
                    *info,
                    Some(ErrorRecord {
                        message: format!(
                            "the stream was dropped after {chunks} chunk(s) and {:.1} ms, before it ended",
                            latency.as_secs_f64() * 1000.0
                        ),
                        error_type: "abandoned".to_owned(),
                        ..ErrorRecord::default()
                    }),
                )
            }
            Outcome::Panicked(message) => (
                Status::Panic,
                ResponseInfo::default(),
                Some(ErrorRecord {
                    message,
                    error_type: "panic".to_owned(),
                    ..ErrorRecord::default()
                }),
            ),
            Outcome::Cancelled => (
                Status::Cancelled,
                ResponseInfo::default(),
                Some(ErrorRecord {
                    message: format!(
                        "the call's future was dropped after {:.1} ms, before it completed",
                        latency.as_secs_f64() * 1000.0
                    ),
                    error_type: "cancelled".to_owned(),
                    ..ErrorRecord::default()
                }),
            ),
        };
        let refused = info.refusal.is_some();
        let response = (info.text.is_some() || info.refusal.is_some()).then_some(ResponseContent {
            text: info.text,
            refusal: info.refusal,
            choices: info.choices,
        });
        #[cfg(feature = "_middleware")]
        self.adopt_seen();
        let bound = self.context.bound().cloned().unwrap_or_default();
        let record = CallRecord {
            schema: SCHEMA_VERSION,
            request_id: std::mem::take(&mut self.request_id),
            trace_id: self.context.trace_id().map(|t| t.to_string()),
            span_id: self.context.span_id().map(|s| s.to_string()),
            parent_span_id: self.parent_span_id.map(|s| s.to_string()),
            http_request_id: self.context.request_id().map(str::to_owned),
            replay_of: self.context.replay_of().map(str::to_owned),
            kind: Text::Borrowed(self.site.kind),
            user_id: bound.user_id,
            session_id: bound.session_id,
            tenant_id: bound.tenant_id,
            tags: bound.tags,
            metadata: bound.metadata,
            name: Text::Borrowed(self.site.name),
            function: Text::Borrowed(self.site.function()),
            operation: Text::Borrowed(self.site.operation),
            provider: self.provider.map(Text::Borrowed),
            request_model: self.model.take(),
            response_model: info.model,
            response_id: info.id,
            started_at: self.started_at,
            ended_at,
            seq: Some(self.seq),
            // Whole microseconds over a thousand: printed as `303.742`,
            // not `303.74224399999997`.
            latency_ms: latency.as_micros() as f64 / 1000.0,
            status,
            messages: self.messages.take(),
            request: self.request.take(),
            masked: Default::default(),
            request_parameters: self.request_parameters.take(),
            tool_call_id: self.tool_call_id.take(),
            tool_description: self.site.description.map(Text::Borrowed),
            tool_arguments: self.tool_arguments.take(),
            tool_result: self.tool_result.take(),
            response,
            tool_calls: info.tool_calls,
            usage: info.usage,
            finish_reasons: info.finish_reasons,
            error,
            cost_usd: None,
            time_to_first_chunk_ms: self
                .stream
                .as_ref()
                .and_then(|s| s.first_chunk_after)
                .map(|d| d.as_secs_f64() * 1000.0),
            stream: self.stream.as_ref().map(|s| crate::record::StreamRecord {
                chunks: s.chunks,
                completed: s.end == stream::StreamEnd::Completed,
            }),
            server_address: self.server.as_ref().map(|s| s.0.clone()),
            server_port: self.server.as_ref().map(|s| s.1),
            http: self.http.take(),
            level: Text::Borrowed("info"),
            warnings: Vec::new(),
        };
        let mut record = record;
        crate::pipeline::post_process(
            &mut record,
            config,
            self.site as *const Site as usize,
            refused,
        );
        let chunk_gaps = self
            .stream
            .as_mut()
            .map(|s| std::mem::take(&mut s.gaps))
            .unwrap_or_default();
        outputs::finish(
            &outputs::Ended {
                span: &self.span,
                config,
                audit: self.site.audit,
                chunk_gaps: &chunk_gaps,
                exported: self.exported.as_ref(),
            },
            record,
            self.keeps_response,
        );
    }
}

/// Whether an OpenTelemetry export may carry the prompts and the responses:
/// with the `otel` feature, the content switches alone decide, whatever the
/// local outputs.
/// A request body's parameters, without its content: what the
/// OpenTelemetry span's `gen_ai.request.*` attributes read.
fn request_parameters(request: Value) -> Value {
    const KEYS: &[&str] = &[
        "temperature",
        "top_p",
        "topP",
        "top_k",
        "topK",
        "frequency_penalty",
        "presence_penalty",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "seed",
        "n",
        "stop",
        "stop_sequences",
        "stream",
        "generationConfig",
        "generation_config",
    ];
    match request {
        Value::Object(mut map) => {
            map.retain(|k, _| KEYS.contains(&k.as_str()));
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

fn otel_content(span: &Span) -> (bool, bool) {
    #[cfg(feature = "otel")]
    if !span.is_disabled() {
        let content = crate::otel::Content::current();
        return (content.prompts, content.responses);
    }
    let _ = span;
    (false, false)
}

enum Outcome {
    Returned(Box<ResponseInfo>),
    /// A stream dropped before its end, with what it had said.
    Abandoned(Box<ResponseInfo>),
    Panicked(String),
    Cancelled,
}

impl Drop for CallState {
    fn drop(&mut self) {
        if !self.finished {
            let outcome = if std::thread::panicking() {
                Outcome::Panicked("the function panicked".to_owned())
            } else {
                Outcome::Cancelled
            };
            self.complete(outcome);
        }
    }
}

/// Picks, by autoref, whether one of a tool step's arguments is recorded
/// (without `arguments = …`): when its type is `Serialize`.
pub struct ArgumentProbe<'a, T: ?Sized>(pub &'a T);

/// The specialised choice: a `Serialize` argument is recorded.
pub trait ViaSerializeArgument {
    /// Records the argument under `name`.
    fn capture_argument(&self, name: &'static str, capture: &mut Capture<'_>);
}

impl<T: Serialize + ?Sized> ViaSerializeArgument for ArgumentProbe<'_, T> {
    fn capture_argument(&self, name: &'static str, capture: &mut Capture<'_>) {
        capture.tool_argument(name, self.0);
    }
}

/// The fallback: anything else is left out.
pub trait ViaOpaqueArgument {
    /// Does nothing.
    fn capture_argument(&self, _name: &'static str, _capture: &mut Capture<'_>) {}
}

impl<T: ?Sized> ViaOpaqueArgument for &ArgumentProbe<'_, T> {}

/// Picks, by autoref, what an argument named `request` is: recorded when its
/// type is `Serialize`, left alone otherwise (an HTTP request, an extractor).
pub struct RequestProbe<'a, T: ?Sized>(pub &'a T);

/// The specialised choice: a `Serialize` request is recorded.
pub trait ViaSerializeRequest {
    /// Records the request.
    fn capture_request(&self, capture: &mut Capture<'_>);
}

impl<T: Serialize + ?Sized> ViaSerializeRequest for RequestProbe<'_, T> {
    fn capture_request(&self, capture: &mut Capture<'_>) {
        capture.request(self.0);
    }
}

/// The fallback: anything else is not recorded.
pub trait ViaOpaqueRequest {
    /// Does nothing.
    fn capture_request(&self, _capture: &mut Capture<'_>) {}
}

impl<T: ?Sized> ViaOpaqueRequest for &RequestProbe<'_, T> {}
