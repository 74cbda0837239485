//! The tower layer for async-openai's middleware stack.

use std::any::Any;
use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use tower_layer::Layer;
use tower_service::Service;

use super::{recognise, start, watch};
use crate::call::external::{self, Seen};
use crate::call::CallState;
use crate::capture::{CapturedError, ResponseInfo};
use crate::context::Context;
use crate::diagnostics::HttpErrorDetails;
use crate::record::HttpExchange;

/// Records every model call an async-openai client makes: install it
/// outside async-openai's retry layer, so that one logical call is one record
/// with its attempts.
///
/// ```no_run
/// # use llm_traced_runtime::middleware::LlmTracedLayer;
/// use async_openai::middleware::{retry::OpenAIRetryLayer, ReqwestService};
/// use tower_layer::Layer;
///
/// let traced = LlmTracedLayer::new();
/// // The same as `tower::ServiceBuilder::new().layer(traced)
/// // .layer(OpenAIRetryLayer::default()).layer(traced.attempts()).service(…)`.
/// let service = traced.layer(                   // one record per logical call
///     OpenAIRetryLayer::default().layer(        // async-openai's retries
///         traced.attempts().layer(              // each attempt's outcome
///             ReqwestService::new(reqwest::Client::new()),
///         ),
///     ),
/// );
/// let client = async_openai::Client::with_config(async_openai::config::OpenAIConfig::new())
///     .with_http_service(service);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LlmTracedLayer {
    audit: bool,
}

impl LlmTracedLayer {
    /// The layer.
    pub fn new() -> Self {
        LlmTracedLayer::default()
    }

    /// Writes the audit log's entries for every call (`query`, then
    /// `completion` or the failure), as `#[llm_traced(audit)]` does; the
    /// audit log is configured as for annotated functions (cargo feature
    /// `audit`).
    #[cfg(feature = "audit")]
    pub fn audit(mut self, on: bool) -> Self {
        self.audit = on;
        self
    }

    /// The inner half, for inside the retry layer: it tells the call the
    /// error class of each failed attempt (`failed_attempts`). Without it
    /// the record still counts the attempts.
    pub fn attempts(&self) -> AttemptsLayer {
        AttemptsLayer { _private: () }
    }
}

impl<S> Layer<S> for LlmTracedLayer {
    type Service = LlmTraced<S>;
    fn layer(&self, inner: S) -> LlmTraced<S> {
        LlmTraced {
            inner,
            audit: self.audit,
        }
    }
}

/// The service [`LlmTracedLayer`] builds.
#[derive(Debug, Clone)]
pub struct LlmTraced<S> {
    inner: S,
    audit: bool,
}

/// One logical call in progress, shared with the request factory (each
/// rebuild of the request is an attempt) and the attempts layer.
struct Shared(Mutex<Pending>);

struct Pending {
    /// The caller's context, taken when the request starts.
    context: Context,
    /// The enclosing annotated model call's sink, if any.
    enclosing: Option<Arc<Mutex<Seen>>>,
    attempts: u32,
    /// Each attempt's failure class (`None`: it got a success), from the
    /// attempts layer.
    outcomes: Vec<Option<String>>,
    call: Option<Box<CallState>>,
    recognised: bool,
    audit: bool,
}

impl Shared {
    fn attempt(&self, request: &reqwest::Request) {
        let Ok(mut pending) = self.0.lock() else {
            return;
        };
        pending.attempts += 1;
        if pending.attempts > 1 {
            return;
        }
        let Some(target) = recognise(request.method(), request.url()) else {
            return;
        };
        pending.recognised = true;
        // A multipart (streaming) body has no bytes in memory: absent.
        let body = request.body().and_then(reqwest::Body::as_bytes);
        if let Some(seen) = pending.enclosing.clone() {
            if let Ok(mut seen) = seen.lock() {
                if seen.wants_request {
                    if let Some(value) = body.and_then(|b| serde_json::from_slice(b).ok()) {
                        seen.requests.push(value);
                    }
                }
                if seen.server.is_none() {
                    seen.server = target.server.clone();
                }
            }
            return;
        }
        let _context = pending.context.enter();
        pending.call = start(target, body, pending.audit);
    }

    fn exchange(pending: &mut Pending, status: Option<u16>) -> HttpExchange {
        let last = pending.outcomes.len().saturating_sub(1);
        HttpExchange {
            status,
            attempts: pending.attempts.max(1),
            failed_attempts: pending.outcomes[..last].iter().flatten().cloned().collect(),
        }
    }
}

thread_local! {
    static ATTEMPTS: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

fn with_shared<R>(shared: &Arc<Shared>, f: impl FnOnce() -> R) -> R {
    let previous = ATTEMPTS.try_with(|c| c.replace(Some(shared.clone()))).ok();
    struct Restore(Option<Option<Arc<Shared>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                let _ = ATTEMPTS.try_with(|c| *c.borrow_mut() = previous);
            }
        }
    }
    let _restore = Restore(previous);
    f()
}

impl<S> Service<HttpRequestFactory> for LlmTraced<S>
where
    S: Service<HttpRequestFactory, Response = reqwest::Response>,
    S::Error: Display + 'static,
{
    type Response = reqwest::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let enclosing = external::enclosing();
        if enclosing.is_none() && !self.audit && crate::config::quiet() {
            // Nothing listens: the request as it is, no allocation.
            return ResponseFuture {
                shared: None,
                inner: self.inner.call(factory),
            };
        }
        let shared = Arc::new(Shared(Mutex::new(Pending {
            context: Context::current(),
            enclosing,
            attempts: 0,
            outcomes: Vec::new(),
            call: None,
            recognised: false,
            audit: self.audit,
        })));
        let for_factory = shared.clone();
        let wrapped = HttpRequestFactory::new(move || {
            let factory = factory.clone();
            let shared = for_factory.clone();
            async move {
                let request = factory.build().await?;
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    shared.attempt(&request)
                }));
                Ok(request)
            }
        });
        let inner = with_shared(&shared, || self.inner.call(wrapped));
        ResponseFuture {
            shared: Some(shared),
            inner,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a request through [`LlmTraced`].
    pub struct ResponseFuture<F> {
        shared: Option<Arc<Shared>>,
        #[pin]
        inner: F,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<reqwest::Response, E>>,
    E: Display + 'static,
{
    type Output = Result<reqwest::Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(shared) = this.shared.as_ref() else {
            return this.inner.poll(cx);
        };
        let polled = with_shared(shared, || this.inner.poll(cx));
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let shared = this.shared.take().expect("checked above");
        Poll::Ready(finish(&shared, result))
    }
}

/// Hands the response on, its body watched when the call is recorded.
fn finish<E: Display + 'static>(
    shared: &Shared,
    result: Result<reqwest::Response, E>,
) -> Result<reqwest::Response, E> {
    let Ok(mut pending) = shared.0.lock() else {
        return result;
    };
    if !pending.recognised {
        return result;
    }
    let status = result.as_ref().ok().map(|r| r.status().as_u16());
    if let Some(seen) = pending.enclosing.clone() {
        let exchange = Shared::exchange(&mut pending, status);
        if let Ok(mut seen) = seen.lock() {
            seen.http.status = exchange.status.or(seen.http.status);
            seen.http.attempts += exchange.attempts;
            seen.http.failed_attempts.extend(exchange.failed_attempts);
        }
        return result;
    }
    let Some(mut call) = pending.call.take() else {
        return result;
    };
    call.set_http(Shared::exchange(&mut pending, status));
    drop(pending);
    match result {
        Ok(response) => Ok(watch(response, call)),
        Err(error) => {
            let details = (&error as &dyn Any).downcast_ref::<OpenAIError>();
            let info = ResponseInfo::failed(Some(CapturedError {
                message: error.to_string(),
                type_name: std::any::type_name::<E>().to_owned(),
                http_status: details.and_then(HttpErrorDetails::http_status),
                body: details.and_then(HttpErrorDetails::response_body),
                transport: details.and_then(HttpErrorDetails::transport_failure),
                ..CapturedError::default()
            }));
            call.finish_info(info);
            Err(error)
        }
    }
}

/// The inner half of [`LlmTracedLayer`] (see [`LlmTracedLayer::attempts`]).
#[derive(Debug, Clone, Copy)]
pub struct AttemptsLayer {
    _private: (),
}

impl<S> Layer<S> for AttemptsLayer {
    type Service = LlmTracedAttempts<S>;
    fn layer(&self, inner: S) -> LlmTracedAttempts<S> {
        LlmTracedAttempts { inner }
    }
}

/// The service [`AttemptsLayer`] builds.
#[derive(Debug, Clone)]
pub struct LlmTracedAttempts<S> {
    inner: S,
}

impl<S> Service<HttpRequestFactory> for LlmTracedAttempts<S>
where
    S: Service<HttpRequestFactory, Response = reqwest::Response>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = reqwest::Response;
    type Error = S::Error;
    type Future = AttemptFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let shared = ATTEMPTS.try_with(|c| c.borrow().clone()).ok().flatten();
        AttemptFuture {
            shared,
            inner: self.inner.call(factory),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of one attempt through [`LlmTracedAttempts`].
    pub struct AttemptFuture<F> {
        shared: Option<Arc<Shared>>,
        #[pin]
        inner: F,
    }
}

impl<F, E> Future for AttemptFuture<F>
where
    F: Future<Output = Result<reqwest::Response, E>>,
    E: 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let polled = this.inner.poll(cx);
        let shared = match &polled {
            Poll::Ready(_) => this.shared.take(),
            Poll::Pending => None,
        };
        if let (Poll::Ready(result), Some(shared)) = (&polled, shared) {
            let outcome = match result {
                Ok(r) if r.status().as_u16() < 400 => None,
                Ok(r) => Some(super::attempt_class(Some(r.status().as_u16()), false)),
                Err(e) => {
                    let details = (e as &dyn Any).downcast_ref::<OpenAIError>();
                    let status = details.and_then(HttpErrorDetails::http_status);
                    Some(super::attempt_class(status, status.is_none()))
                }
            };
            if let Ok(mut pending) = shared.0.lock() {
                pending.outcomes.push(outcome);
            }
        }
        polled
    }
}
