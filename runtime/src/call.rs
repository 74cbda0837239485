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
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tracing::Span;

use crate::capture::{Enricher, LlmResponse, ResponseInfo};
use crate::config::{self, Config};
use crate::record::{CallRecord, ErrorRecord, ResponseContent, Status, SCHEMA_VERSION};
use crate::sinks;

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
}

/// The marker item's name in generated code; [`Site::function`] strips it.
pub const MARKER: &str = "__llm_traced_here";

impl Site {
    /// The function's path, e.g. `my_app::Client::ask`.
    pub fn function(&self) -> String {
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

    /// Records the request messages (`messages = …`), serialised only when
    /// some enabled output shows content.
    pub fn messages<T: Serialize + ?Sized>(&mut self, messages: &T) {
        if self.state.config.is_some_and(Config::wants_messages) {
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
    started: Instant,
    started_at: DateTime<Utc>,
    request_id: String,
    model: Option<String>,
    messages: Option<Value>,
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
    if config.is_none() && span.is_disabled() {
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

impl CallState {
    #[inline(never)]
    fn begin(site: &'static Site, span: Span, config: Option<&'static Config>) -> Box<Self> {
        Box::new(CallState {
            site,
            span,
            config,
            started: Instant::now(),
            started_at: Utc::now(),
            request_id: uuid::Uuid::now_v7().to_string(),
            model: site.model.map(str::to_owned),
            messages: None,
            finished: false,
        })
    }

    /// Puts what is known at the start on the span.
    fn announce(&self) {
        if self.span.is_disabled() {
            return;
        }
        let span = &self.span;
        span.record("gen_ai.operation.name", self.site.operation);
        if let Some(provider) = self.site.provider {
            span.record("gen_ai.provider.name", provider);
        }
        if let Some(model) = &self.model {
            span.record("gen_ai.request.model", model.as_str());
            span.record(
                "otel.name",
                format!("{} {}", self.site.operation, model).as_str(),
            );
        } else {
            span.record("otel.name", self.site.operation);
        }
        span.record("request_id", self.request_id.as_str());
        span.record("code.function", self.site.function().as_str());
    }

    /// The span of this call.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Ends the call with its output.
    pub fn finish<T: LlmResponse>(mut self: Box<Self>, output: &T, enrich: Option<Enricher<T>>) {
        let captured = catch_unwind(AssertUnwindSafe(|| {
            let mut info = ResponseInfo::default();
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
        let ended_at = self.started_at
            + chrono::Duration::from_std(latency).unwrap_or_else(|_| chrono::Duration::zero());
        let config = self.config;
        let wants_response = config.is_some_and(Config::wants_response);
        let (status, info, error) = match outcome {
            Outcome::Returned(info) => {
                let mut info = *info;
                match info.error.take() {
                    Some(e) => {
                        let record = ErrorRecord::diagnosed(e, self.site.provider);
                        (Status::Error, info, Some(record))
                    }
                    None => (Status::Ok, info, None),
                }
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
        let response = (wants_response && (info.text.is_some() || info.refusal.is_some()))
            .then_some(ResponseContent {
                text: info.text,
                refusal: info.refusal,
                choices: info.choices,
            });
        let mut tool_calls = info.tool_calls;
        if !wants_response {
            // Tool names are metadata; their arguments are content.
            for call in &mut tool_calls {
                call.arguments.clear();
            }
        }
        let record = CallRecord {
            schema: SCHEMA_VERSION,
            request_id: std::mem::take(&mut self.request_id),
            name: self.site.name.to_owned(),
            function: self.site.function(),
            operation: self.site.operation.to_owned(),
            provider: self.site.provider.map(str::to_owned),
            request_model: self.model.take(),
            response_model: info.model,
            response_id: info.id,
            started_at: self.started_at,
            ended_at,
            latency_ms: latency.as_secs_f64() * 1000.0,
            status,
            messages: self.messages.take(),
            response,
            tool_calls,
            usage: info.usage,
            finish_reasons: info.finish_reasons,
            error,
        };
        sinks::tracing_event::emit(&self.span, &record);
        if let Some(config) = config {
            if config.debug {
                sinks::debug::emit(config, &record);
            }
            if config.save_conversations {
                sinks::conversation::save(config, &record);
            }
        }
    }
}

enum Outcome {
    Returned(Box<ResponseInfo>),
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

pin_project_lite::pin_project! {
    /// The future of an instrumented `async fn`.
    #[must_use = "futures do nothing unless polled"]
    pub struct Traced<F: Future> {
        state: Option<Box<CallState>>,
        enrich: Option<Enricher<F::Output>>,
        #[pin]
        inner: F,
    }
}

impl<F> Future for Traced<F>
where
    F: Future,
    F::Output: LlmResponse,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.state.is_none() {
            return this.inner.poll(cx);
        }
        poll_active(this.state, *this.enrich, this.inner, cx)
    }
}

/// The poll of a call that something listens to: inside the span, with panics
/// recorded and resumed.
#[inline]
fn poll_active<F>(
    slot: &mut Option<Box<CallState>>,
    enrich: Option<Enricher<F::Output>>,
    inner: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output>
where
    F: Future,
    F::Output: LlmResponse,
{
    let polled = match slot.as_ref() {
        Some(state) => {
            let _entered = state.span.enter();
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        }
        None => return inner.poll(cx),
    };
    match polled {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(output)) => {
            if let Some(state) = slot.take() {
                state.finish(&output, enrich);
            }
            Poll::Ready(output)
        }
        Err(payload) => {
            if let Some(state) = slot.take() {
                state.finish_panic(&*payload);
            }
            resume_unwind(payload)
        }
    }
}

/// Wraps the body's future of an instrumented `async fn`.
#[inline]
pub fn traced<F>(
    state: Option<Box<CallState>>,
    enrich: Option<Enricher<F::Output>>,
    inner: F,
) -> Traced<F>
where
    F: Future,
    F::Output: LlmResponse,
{
    Traced {
        state,
        enrich,
        inner,
    }
}

/// Runs the body of an instrumented plain `fn`.
#[inline]
pub fn run_sync<R: LlmResponse>(
    state: Option<Box<CallState>>,
    enrich: Option<Enricher<R>>,
    body: impl FnOnce() -> R,
) -> R {
    match state {
        None => body(),
        Some(state) => run_active(state, enrich, body),
    }
}

#[inline(never)]
fn run_active<R: LlmResponse>(
    state: Box<CallState>,
    enrich: Option<Enricher<R>>,
    body: impl FnOnce() -> R,
) -> R {
    let result = {
        let _entered = state.span.enter();
        catch_unwind(AssertUnwindSafe(body))
    };
    match result {
        Ok(output) => {
            state.finish(&output, enrich);
            output
        }
        Err(payload) => {
            state.finish_panic(&*payload);
            resume_unwind(payload)
        }
    }
}
