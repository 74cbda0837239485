//! The `reqwest_middleware::Middleware`.

use ::reqwest_middleware::{Middleware, Next, Result};
use http::Extensions;

use super::{recognise, start, watch};
use crate::call::external;
use crate::capture::{CapturedError, ResponseInfo};
use crate::diagnostics::HttpErrorDetails;
use crate::record::HttpExchange;

/// Records the model calls of a `reqwest_middleware::ClientWithMiddleware`,
/// recognised by path; other requests pass untouched. Put it before (outside)
/// a retry middleware for one record per logical call.
///
/// ```no_run
/// # use llm_traced_runtime::middleware::LlmTracedMiddleware;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(LlmTracedMiddleware::new())
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
    /// audit log is configured as for annotated functions.
    pub fn audit(mut self, on: bool) -> Self {
        self.audit = on;
        self
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
            let result = next.run(request, extensions).await;
            if let Ok(mut seen) = seen.lock() {
                seen.http.attempts += 1;
                if let Ok(response) = &result {
                    seen.http.status = Some(response.status().as_u16());
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
        let result = next.run(request, extensions).await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        call.set_http(HttpExchange {
            status,
            attempts: 1,
            failed_attempts: Vec::new(),
        });
        match result {
            Ok(response) => Ok(watch(response, call)),
            Err(error) => {
                let transport = match &error {
                    ::reqwest_middleware::Error::Reqwest(e) => e.transport_failure(),
                    ::reqwest_middleware::Error::Middleware(_) => None,
                };
                call.finish_info(ResponseInfo {
                    error: Some(CapturedError {
                        message: error.to_string(),
                        type_name: "reqwest_middleware::Error".to_owned(),
                        transport,
                        ..CapturedError::default()
                    }),
                    ..ResponseInfo::default()
                });
                Err(error)
            }
        }
    }
}
