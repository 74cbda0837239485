//! The `reqwest_middleware::Middleware`.

use std::sync::{Arc, Mutex};

use ::reqwest_middleware::{Middleware, Next, Result};
use http::Extensions;

use super::{recognise, start, watch};
use crate::call::external;
use crate::capture::{CapturedError, ResponseInfo};
use crate::diagnostics::HttpErrorDetails;
use crate::record::HttpExchange;

/// Records the model calls of a `reqwest_middleware::ClientWithMiddleware`,
/// recognised by path; other requests pass untouched. Put it before (outside)
/// a retry middleware for one record per logical call, and its
/// [`attempts`](LlmTracedMiddleware::attempts) after (inside) the retry
/// middleware to record each attempt's outcome.
///
/// ```no_run
/// # use llm_traced_runtime::middleware::LlmTracedMiddleware;
/// let traced = LlmTracedMiddleware::new();
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(traced)
///     // .with(a retry middleware, e.g. reqwest_retry::RetryTransientMiddleware)
///     .with(traced.attempts())
///     .build();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LlmTracedMiddleware {
    audit: bool,
}

impl LlmTracedMiddleware {
    /// The middleware.
    pub fn new() -> Self {
        LlmTracedMiddleware::default()
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

    /// The inner half: placed after (inside) a retry middleware, it tells
    /// the call recorded around it of each attempt and its outcome, for the
    /// record's `attempts` and `failed_attempts`. Without it the record
    /// counts the one request this middleware passed on.
    pub fn attempts(&self) -> AttemptsMiddleware {
        AttemptsMiddleware { _private: () }
    }
}

/// Each attempt's failure class (`None`: it got an answer), reported by
/// [`AttemptsMiddleware`] through the request's extensions to the
/// [`LlmTracedMiddleware`] around the retry middleware.
#[derive(Debug, Clone, Default)]
struct AttemptLog(Arc<Mutex<Vec<Option<String>>>>);

impl AttemptLog {
    /// The attempts and the classes of the failed ones before the last.
    fn exchange(&self, status: Option<u16>) -> HttpExchange {
        let outcomes = self.0.lock().map(|o| o.clone()).unwrap_or_default();
        let last = outcomes.len().saturating_sub(1);
        HttpExchange {
            status,
            attempts: u32::try_from(outcomes.len()).unwrap_or(u32::MAX).max(1),
            failed_attempts: outcomes[..last].iter().flatten().cloned().collect(),
        }
    }
}

/// Passes the request on with an attempt log in its extensions (for an
/// [`AttemptsMiddleware`] inside a retry middleware), and says what the
/// exchange was: the last status, the attempts, the failed ones' classes.
async fn run_counted(
    request: reqwest::Request,
    extensions: &mut Extensions,
    next: Next<'_>,
) -> (Result<reqwest::Response>, HttpExchange) {
    let log = AttemptLog::default();
    extensions.insert(log.clone());
    let result = next.run(request, extensions).await;
    extensions.remove::<AttemptLog>();
    let status = result.as_ref().ok().map(|r| r.status().as_u16());
    (result, log.exchange(status))
}

/// The inner half of [`LlmTracedMiddleware`]: see
/// [`LlmTracedMiddleware::attempts`].
#[derive(Debug, Clone, Copy)]
pub struct AttemptsMiddleware {
    _private: (),
}

#[async_trait::async_trait]
impl Middleware for AttemptsMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let Some(log) = extensions.get::<AttemptLog>().cloned() else {
            return next.run(request, extensions).await;
        };
        let result = next.run(request, extensions).await;
        let outcome = match &result {
            Ok(r) if r.status().as_u16() < 400 => None,
            Ok(r) => Some(super::attempt_class(Some(r.status().as_u16()), false)),
            Err(::reqwest_middleware::Error::Reqwest(e)) => {
                let status = e.status().map(|s| s.as_u16());
                Some(super::attempt_class(status, status.is_none()))
            }
            Err(::reqwest_middleware::Error::Middleware(_)) => {
                Some(super::attempt_class(None, false))
            }
        };
        if let Ok(mut outcomes) = log.0.lock() {
            outcomes.push(outcome);
        }
        result
    }
}

#[async_trait::async_trait]
impl Middleware for LlmTracedMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        // Read where the request starts: the caller's task, its context.
        let enclosing = external::enclosing();
        if enclosing.is_none() && !self.audit && crate::config::quiet() {
            return next.run(request, extensions).await;
        }
        let Some(target) = recognise(request.method(), request.url()) else {
            return next.run(request, extensions).await;
        };
        let body = request.body().and_then(reqwest::Body::as_bytes);
        if let Some(seen) = enclosing {
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
            let (result, exchange) = run_counted(request, extensions, next).await;
            if let Ok(mut seen) = seen.lock() {
                seen.http.attempts += exchange.attempts;
                seen.http.failed_attempts.extend(exchange.failed_attempts);
                if exchange.status.is_some() {
                    seen.http.status = exchange.status;
                }
            }
            return result;
        }
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            start(target, body, self.audit)
        }));
        let Some(mut call) = started.ok().flatten() else {
            return next.run(request, extensions).await;
        };
        let (result, exchange) = run_counted(request, extensions, next).await;
        call.set_http(exchange);
        match result {
            Ok(response) => Ok(watch(response, call)),
            Err(error) => {
                let transport = match &error {
                    ::reqwest_middleware::Error::Reqwest(e) => e.transport_failure(),
                    ::reqwest_middleware::Error::Middleware(_) => None,
                };
                call.finish_info(ResponseInfo::failed(Some(CapturedError {
                    message: error.to_string(),
                    type_name: "reqwest_middleware::Error".to_owned(),
                    transport,
                    ..CapturedError::default()
                })));
                Err(error)
            }
        }
    }
}
