//! HTTP: carry the trace across services (cargo feature `http`).
//!
//! [`TraceContextLayer`] is a `tower::Layer` for axum, hyper or any tower
//! server. For each request it takes the trace from an incoming `traceparent`
//! header, else from `X-Trace-ID`, else starts a new trace; it makes that
//! context current for the request's future, so that every `#[llm_traced]`
//! call of the request records the same trace id; and it adds `X-Trace-ID`
//! and `X-Request-ID` to the response. A malformed header never fails the
//! request: it is ignored with a debug-level note, and a new trace starts.
//!
//! ```no_run
//! # #[cfg(any())] {
//! let app = axum::Router::new()
//!     .route("/ask", axum::routing::post(ask))
//!     .layer(llm_traced::http::TraceContextLayer::new());
//! # }
//! ```
//!
//! On the client side, [`inject`] puts the current `traceparent` on an
//! outgoing request's headers (and, with the `reqwest` feature,
//! [`RequestBuilderExt::with_trace_context`] does it on a reqwest builder).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};

use crate::context::{Context, SpanId, TraceId, TraceParent, WithContext};

/// The W3C `traceparent` header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The plain trace id header (`X-Trace-ID`) many services read and write beside `traceparent`.
pub const X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");
/// The id of one HTTP request, set on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Where a request's trace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceSource {
    /// A valid `traceparent` header: the caller's span is the parent.
    TraceParent,
    /// A valid `X-Trace-ID` header (32 hex digits, or a UUID).
    XTraceId,
    /// No usable header: a new trace.
    New,
}

/// The context a request's headers ask for, and where it came from. Invalid
/// headers are skipped with a debug-level `tracing` note.
pub fn extract(headers: &HeaderMap) -> (Context, TraceSource) {
    if let Some(value) = headers.get(TRACEPARENT) {
        match value.to_str().ok().and_then(TraceParent::parse) {
            Some(parent) => return (Context::from_traceparent(parent), TraceSource::TraceParent),
            None => tracing::debug!(
                target: "llm_traced::http",
                header = "traceparent",
                value = ?value,
                "ignoring a malformed traceparent header"
            ),
        }
    }
    if let Some(value) = headers.get(X_TRACE_ID) {
        match value.to_str().ok().and_then(parse_trace_id) {
            Some(trace_id) => return (Context::from_trace_id(trace_id), TraceSource::XTraceId),
            None => tracing::debug!(
                target: "llm_traced::http",
                header = "x-trace-id",
                value = ?value,
                "ignoring a malformed X-Trace-ID header"
            ),
        }
    }
    (Context::new_trace(), TraceSource::New)
}

/// 32 hex digits, or a UUID written with dashes.
fn parse_trace_id(value: &str) -> Option<TraceId> {
    let value = value.trim();
    if value.len() == 36 && value.matches('-').count() == 4 {
        return TraceId::from_hex(&value.replace('-', ""));
    }
    TraceId::from_hex(value)
}

/// Puts the current context's `traceparent` on `headers`, so that the
/// service called continues this trace. Inside an instrumented call the
/// call's span is the parent; in a scope without a span, a new span id is
/// made for the hop. Returns whether a header was set (false outside any
/// trace).
pub fn inject(headers: &mut HeaderMap) -> bool {
    let context = Context::current();
    let Some(trace_id) = context.trace_id() else {
        return false;
    };
    let parent = TraceParent {
        trace_id,
        parent_span_id: context.span_id().unwrap_or_else(SpanId::random),
        flags: 1,
    };
    match HeaderValue::from_str(&parent.to_string()) {
        Ok(value) => {
            headers.insert(TRACEPARENT, value);
            true
        }
        Err(_) => false,
    }
}

/// Puts the current trace on a reqwest request.
#[cfg(feature = "reqwest")]
pub trait RequestBuilderExt {
    /// Adds the current `traceparent` header, when a trace is active.
    fn with_trace_context(self) -> Self;
}

#[cfg(feature = "reqwest")]
impl RequestBuilderExt for reqwest::RequestBuilder {
    fn with_trace_context(self) -> Self {
        let mut headers = HeaderMap::new();
        if inject(&mut headers) {
            self.headers(headers)
        } else {
            self
        }
    }
}

/// The `tower::Layer` that gives each HTTP request its trace context.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextLayer {
    _private: (),
}

impl TraceContextLayer {
    /// The layer.
    pub fn new() -> Self {
        TraceContextLayer { _private: () }
    }
}

impl<S> tower_layer::Layer<S> for TraceContextLayer {
    type Service = TraceContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContextService { inner }
    }
}

/// The service [`TraceContextLayer`] makes.
#[derive(Debug, Clone)]
pub struct TraceContextService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for TraceContextService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = TraceContextFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (context, _source) = extract(request.headers());
        let request_id = crate::context::request_id(chrono::Utc::now());
        let context = context.with_request_id(request_id.clone());
        let trace_id = context
            .trace_id()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let inner = {
            // The inner service's synchronous part runs in the context too.
            let _guard = context.enter();
            self.inner.call(request)
        };
        TraceContextFuture {
            inner: context.scope(inner),
            trace_id: HeaderValue::from_str(&trace_id).ok(),
            request_id: HeaderValue::from_str(&request_id).ok(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`TraceContextService`].
    pub struct TraceContextFuture<F> {
        #[pin]
        inner: WithContext<F>,
        trace_id: Option<HeaderValue>,
        request_id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for TraceContextFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(mut response)) => {
                let headers = response.headers_mut();
                if let Some(trace_id) = this.trace_id.take() {
                    headers.insert(X_TRACE_ID, trace_id);
                }
                if let Some(request_id) = this.request_id.take() {
                    headers.insert(X_REQUEST_ID, request_id);
                }
                Poll::Ready(Ok(response))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn traceparent_first_then_x_trace_id_then_new() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (c, s) = extract(&headers(&[
            ("traceparent", tp),
            ("x-trace-id", "0af7651916cd43dd8448eb211c80319c"),
        ]));
        assert_eq!(s, TraceSource::TraceParent);
        assert_eq!(
            c.trace_id().unwrap().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(c.span_id().unwrap().to_string(), "00f067aa0ba902b7");

        let (c, s) = extract(&headers(&[
            ("traceparent", "junk"),
            ("x-trace-id", "0AF76519-16CD-43DD-8448-EB211C80319C"),
        ]));
        assert_eq!(s, TraceSource::XTraceId);
        assert_eq!(
            c.trace_id().unwrap().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(c.span_id(), None);

        let (c, s) = extract(&headers(&[("x-trace-id", "not-a-trace")]));
        assert_eq!(s, TraceSource::New);
        assert!(c.trace_id().is_some());
    }

    #[test]
    fn inject_writes_the_current_trace() {
        let mut map = HeaderMap::new();
        assert!(!inject(&mut map), "no trace, no header");
        let ctx = Context::new_trace();
        let trace = ctx.trace_id().unwrap().to_string();
        ctx.in_scope(|| assert!(inject(&mut map)));
        let value = map.get(TRACEPARENT).unwrap().to_str().unwrap();
        assert_eq!(
            TraceParent::parse(value).unwrap().trace_id.to_string(),
            trace
        );
    }
}
