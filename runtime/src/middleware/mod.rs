//! Instrument without annotating: HTTP middleware that records every model
//! call a client makes.
//!
//! - `LlmTracedLayer` (feature `async-openai-middleware`): a tower layer for
//!   async-openai's middleware stack (`Client::with_http_service`).
//! - `LlmTracedMiddleware` (feature `reqwest-middleware`): a
//!   `reqwest_middleware::Middleware` for any `ClientWithMiddleware`.
//!
//! A request is recognised by its path: `/chat/completions`, `/responses`,
//! `/completions` and `/embeddings` (OpenAI and compatible servers),
//! `/v1/messages` (Anthropic), `:generateContent` and `:streamGenerateContent`
//! (Gemini). Other requests pass through untouched and unrecorded.
//!
//! Each recognised request becomes one call, recorded exactly like an
//! annotated one (span, event, debug block, conversation file, JSON log,
//! OpenTelemetry), named after its endpoint (`chat.completions`,
//! `responses`, `completions`, `embeddings`, `messages`, `generateContent`)
//! with the function `POST /<endpoint>`. The provider comes from the host
//! (see `provider_of`); `server_address` and `server_port` from the URL;
//! the whole request from the JSON body (a multipart body is not read); the
//! response from the body as it passes to the client, whole or as
//! server-sent events, never held back. Headers are never read, so the API
//! key is never recorded; a key in the URL (`?key=`) stays out of the record,
//! and one echoed in an error body is scrubbed like all content.
//!
//! Inside an annotated model call (`kind = "llm"`) no second call is
//! recorded: the request, HTTP status and attempts are added to the
//! enclosing call's record. Inside an annotated step the middleware call is
//! the step's child.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde_json::Value;

use crate::call::external;
use crate::call::stream::{ChunkClock, StreamEnd};
use crate::call::{CallState, Site};
use crate::capture::stream::{LlmChunk, StreamAccumulator};
use crate::capture::{CapturedError, LlmResponse, ResponseInfo};

#[cfg(feature = "async-openai-middleware")]
mod async_openai;
#[cfg(feature = "reqwest-middleware")]
mod with_reqwest;
#[cfg(feature = "async-openai-middleware")]
pub use async_openai::{
    AttemptsLayer, LlmTraced, LlmTracedAttempts, LlmTracedLayer, ResponseFuture,
};
#[cfg(feature = "reqwest-middleware")]
pub use with_reqwest::{AttemptsMiddleware, LlmTracedMiddleware};

/// What an attempt's outcome says, as an error class, for `failed_attempts`.
pub(crate) fn attempt_class(status: Option<u16>, transport: bool) -> String {
    let class = crate::diagnostics::diagnose_call(
        status,
        None,
        "",
        None,
        transport.then_some(crate::diagnostics::ErrorClass::Network),
        None,
    )
    .class;
    class.as_str().to_owned()
}

/// The endpoints the middleware records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Chat,
    Responses,
    Completions,
    Embeddings,
    Messages,
    GenerateContent,
}

macro_rules! site {
    ($name:literal, $function:literal, $operation:literal, $audit:literal) => {
        Site {
            name: $name,
            path: || $function,
            operation: $operation,
            provider: None,
            model: None,
            kind: "llm",
            audit: $audit,
            description: None,
            function_cache: std::sync::OnceLock::new(),
        }
    };
}

/// Each endpoint's site, plain and audited (`.audit(true)`).
static SITES: [[Site; 2]; 6] = [
    [
        site!("chat.completions", "POST /chat/completions", "chat", false),
        site!("chat.completions", "POST /chat/completions", "chat", true),
    ],
    [
        site!("responses", "POST /responses", "chat", false),
        site!("responses", "POST /responses", "chat", true),
    ],
    [
        site!("completions", "POST /completions", "text_completion", false),
        site!("completions", "POST /completions", "text_completion", true),
    ],
    [
        site!("embeddings", "POST /embeddings", "embeddings", false),
        site!("embeddings", "POST /embeddings", "embeddings", true),
    ],
    [
        site!("messages", "POST /v1/messages", "chat", false),
        site!("messages", "POST /v1/messages", "chat", true),
    ],
    [
        site!(
            "generateContent",
            "POST :generateContent",
            "generate_content",
            false
        ),
        site!(
            "generateContent",
            "POST :generateContent",
            "generate_content",
            true
        ),
    ],
];

impl Endpoint {
    fn site(self, audit: bool) -> &'static Site {
        let row = match self {
            Endpoint::Chat => 0,
            Endpoint::Responses => 1,
            Endpoint::Completions => 2,
            Endpoint::Embeddings => 3,
            Endpoint::Messages => 4,
            Endpoint::GenerateContent => 5,
        };
        &SITES[row][usize::from(audit)]
    }

    fn span(self) -> tracing::Span {
        match self {
            Endpoint::Chat | Endpoint::Responses | Endpoint::Messages => {
                crate::__llm_traced_span!("chat", "client")
            }
            Endpoint::Completions => crate::__llm_traced_span!("text_completion", "client"),
            Endpoint::Embeddings => crate::__llm_traced_span!("embeddings", "client"),
            Endpoint::GenerateContent => crate::__llm_traced_span!("generate_content", "client"),
        }
    }
}

/// A request the middleware records.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    pub(crate) provider: &'static str,
    pub(crate) server: Option<(String, u16)>,
    pub(crate) model: Option<String>,
}

/// Recognises a model call by its method and path.
pub(crate) fn recognise(method: &http::Method, url: &reqwest::Url) -> Option<Target> {
    if method != http::Method::POST {
        return None;
    }
    let path = url.path().trim_end_matches('/');
    let (endpoint, model) = if let Some((before, action)) = path.rsplit_once(':') {
        match action {
            "generateContent" | "streamGenerateContent" => (
                Endpoint::GenerateContent,
                before.rsplit_once("/models/").map(|(_, m)| m.to_owned()),
            ),
            _ => return None,
        }
    } else if path.ends_with("/chat/completions") {
        (Endpoint::Chat, None)
    } else if path.ends_with("/v1/messages") {
        (Endpoint::Messages, None)
    } else if path.ends_with("/responses") {
        (Endpoint::Responses, None)
    } else if path.ends_with("/completions") {
        (Endpoint::Completions, None)
    } else if path.ends_with("/embeddings") {
        (Endpoint::Embeddings, None)
    } else {
        return None;
    };
    let host = url.host_str().unwrap_or_default();
    let provider = provider_of(host, endpoint);
    // Azure OpenAI names the deployment in the path, not in the body.
    let model = model.or_else(|| {
        let rest = path.split_once("/openai/deployments/")?.1;
        Some(rest.split('/').next()?.to_owned())
    });
    let server = url
        .port_or_known_default()
        .map(|port| (host.to_owned(), port));
    Some(Target {
        endpoint,
        provider,
        server,
        model,
    })
}

/// The `gen_ai.provider.name` of a host: `openai` for api.openai.com,
/// `azure.ai.openai` for `*.openai.azure.com` (and Azure AI Foundry hosts),
/// `anthropic`, `gcp.gemini`, and the known OpenAI-compatible hosts by name
/// (`groq`, `deepseek`, `mistral_ai`, `x_ai`, `openrouter`, `together_ai`,
/// `perplexity`, `fireworks`); any other host by the endpoint's shape
/// (`/v1/messages`: `anthropic`, `:generateContent`: `gcp.gemini`, else
/// `openai`).
pub(crate) fn provider_of(host: &str, path_hint: Endpoint) -> &'static str {
    let host = host.to_ascii_lowercase();
    let is = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if is("openai.azure.com") || is("services.ai.azure.com") || is("cognitiveservices.azure.com") {
        "azure.ai.openai"
    } else if is("api.openai.com") {
        "openai"
    } else if is("anthropic.com") {
        "anthropic"
    } else if is("generativelanguage.googleapis.com") {
        "gcp.gemini"
    } else if is("aiplatform.googleapis.com") {
        "gcp.vertex_ai"
    } else if is("groq.com") {
        "groq"
    } else if is("deepseek.com") {
        "deepseek"
    } else if is("mistral.ai") {
        "mistral_ai"
    } else if is("x.ai") {
        "x_ai"
    } else if is("openrouter.ai") {
        "openrouter"
    } else if is("together.xyz") || is("together.ai") {
        "together_ai"
    } else if is("perplexity.ai") {
        "perplexity"
    } else if is("fireworks.ai") {
        "fireworks"
    } else {
        match path_hint {
            Endpoint::Messages => "anthropic",
            Endpoint::GenerateContent => "gcp.gemini",
            _ => "openai",
        }
    }
}

/// Starts the record of a recognised request; `audit` writes the audit
/// log's entries for it, as `#[llm_traced(audit)]` does.
pub(crate) fn start(target: Target, body: Option<&[u8]>, audit: bool) -> Option<Box<CallState>> {
    let site = target.endpoint.site(audit);
    external::start(
        external::Request {
            site,
            provider: target.provider,
            server: target.server,
            model: target.model,
            body,
        },
        target.endpoint.span(),
    )
}

/// The delay a `retry-after` (seconds) or `retry-after-ms` header asks for.
pub(crate) fn retry_after_ms(headers: &http::HeaderMap) -> Option<u64> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(ms as u64);
    }
    let secs = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    Some((secs * 1000.0) as u64)
}

/// The response body, read as it passes: whole (JSON) or as server-sent
/// events. The bytes go on to the client unchanged; the call ends when the
/// body ends, fails, or is dropped.
pub(crate) struct Watched<B> {
    inner: B,
    watch: Option<Box<Watch>>,
}

struct Watch {
    call: Box<CallState>,
    status: u16,
    retry_after_ms: Option<u64>,
    how: How,
}

// `Watch`, which holds it, is boxed once per call.
#[allow(clippy::large_enum_variant)]
enum How {
    Whole(Vec<u8>),
    Events(Events),
}

struct Events {
    line: Vec<u8>,
    acc: StreamAccumulator,
    clock: ChunkClock,
    /// A terminal event (`[DONE]`, `message_stop`, `response.completed`)
    /// was seen: a client may drop the body after it without reading on.
    ended: bool,
}

impl Events {
    fn feed(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            if piece.last() == Some(&b'\n') {
                if self.line.is_empty() {
                    self.line_done(piece);
                } else {
                    self.line.extend_from_slice(piece);
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line);
                }
            } else {
                self.line.extend_from_slice(piece);
            }
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.strip_prefix(b" ").unwrap_or(data);
        if data == b"[DONE]" {
            self.ended = true;
            return;
        }
        let Ok(value) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        self.clock.tick();
        if matches!(
            value.get("type").and_then(Value::as_str),
            Some("message_stop" | "response.completed" | "response.incomplete" | "response.failed")
        ) {
            self.ended = true;
        }
        if value.get("error").is_some() && value.get("choices").is_none() {
            // An error event in the stream (OpenAI, Anthropic `error`).
            let mut info = ResponseInfo::metadata_only();
            value.capture(&mut info);
            if let Some(error) = info.error {
                self.acc.set_error(error);
                return;
            }
        }
        value.accumulate(&mut self.acc);
    }
}

impl<B> Watched<B> {
    /// Wraps `inner`; reads it as events when the response is a successful
    /// `text/event-stream`.
    pub(crate) fn new(
        inner: B,
        call: Box<CallState>,
        status: u16,
        headers: &http::HeaderMap,
    ) -> Self {
        let events = status < 400
            && headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
        let how = if events {
            How::Events(Events {
                line: Vec::new(),
                acc: StreamAccumulator::default(),
                clock: ChunkClock::new(call.started()),
                ended: false,
            })
        } else {
            How::Whole(Vec::new())
        };
        Watched {
            inner,
            watch: Some(Box::new(Watch {
                call,
                status,
                retry_after_ms: retry_after_ms(headers),
                how,
            })),
        }
    }
}

impl Watch {
    fn feed(&mut self, bytes: &[u8]) {
        match &mut self.how {
            How::Whole(buffer) => buffer.extend_from_slice(bytes),
            How::Events(events) => events.feed(bytes),
        }
    }

    /// Ends the call: `failure` is a transport error that cut the body.
    fn end(self: Box<Self>, complete: bool, failure: Option<String>) {
        let Watch {
            call,
            status,
            retry_after_ms,
            how,
        } = *self;
        match how {
            How::Events(mut events) => {
                if complete && !events.line.is_empty() {
                    let line = std::mem::take(&mut events.line);
                    events.line_done(&line);
                }
                if let Some(message) = failure {
                    events.acc.set_error(transport_error(message));
                }
                let completed = complete || events.ended || events.acc.has_error();
                let end = if completed {
                    StreamEnd::Completed
                } else {
                    StreamEnd::Abandoned
                };
                call.finish_stream(events.acc, events.clock.facts(end));
            }
            How::Whole(buffer) => {
                if !complete && failure.is_none() {
                    // Dropped before the body was read: the call was
                    // cancelled (the state's drop records it so).
                    drop(call);
                    return;
                }
                let mut info = if call.wants_response() {
                    ResponseInfo::default()
                } else {
                    ResponseInfo::metadata_only()
                };
                let value = serde_json::from_slice::<Value>(&buffer).ok();
                if let Some(value) = &value {
                    value.capture(&mut info);
                }
                if status >= 400 {
                    let body = String::from_utf8_lossy(&buffer).into_owned();
                    let mut error = info.error.take().unwrap_or_else(|| CapturedError {
                        message: format!("HTTP {status}"),
                        type_name: "http".to_owned(),
                        ..CapturedError::default()
                    });
                    error.http_status = Some(status);
                    error.body = Some(body);
                    error.retry_after_ms = error.retry_after_ms.or(retry_after_ms);
                    info.error = Some(error);
                } else if let Some(message) = failure {
                    info.error = Some(transport_error(message));
                }
                call.finish_info(info);
            }
        }
    }
}

fn transport_error(message: String) -> CapturedError {
    CapturedError {
        message,
        type_name: "reqwest::Error".to_owned(),
        transport: Some(crate::diagnostics::ErrorClass::Network),
        ..CapturedError::default()
    }
}

impl<B> HttpBody for Watched<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Some(watch) = this.watch.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            watch.feed(data)
                        }));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let message = e.to_string();
                    if let Some(watch) = this.watch.take() {
                        watch.end(false, Some(message));
                    }
                }
                Poll::Ready(None) => {
                    if let Some(watch) = this.watch.take() {
                        watch.end(true, None);
                    }
                }
                Poll::Pending => {}
            }
            if this.inner.is_end_stream() {
                if let Some(watch) = this.watch.take() {
                    watch.end(true, None);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for Watched<B> {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watch.end(false, None)));
        }
    }
}

/// The same response, its body read as it passes.
pub(crate) fn watch(response: reqwest::Response, call: Box<CallState>) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    let status = response.status().as_u16();
    let url = response.url().clone();
    let response: http::Response<reqwest::Body> = response.into();
    let (mut parts, body) = response.into_parts();
    // Keep the URL the client may read (the conversion drops it).
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let watched = Watched::new(body, call, status, &parts.headers);
    reqwest::Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(watched),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Option<Target> {
        recognise(&http::Method::POST, &url.parse().unwrap())
    }

    #[test]
    fn endpoints_by_path_and_providers_by_host() {
        let t = target("https://api.openai.com/v1/chat/completions").unwrap();
        assert_eq!((t.endpoint, t.provider), (Endpoint::Chat, "openai"));
        assert_eq!(t.server, Some(("api.openai.com".to_owned(), 443)));
        let t = target("https://acme.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21").unwrap();
        assert_eq!(
            (t.provider, t.model.as_deref()),
            ("azure.ai.openai", Some("gpt4o-prod"))
        );
        let t = target("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?key=AIza").unwrap();
        assert_eq!(
            (t.endpoint, t.provider, t.model.as_deref()),
            (
                Endpoint::GenerateContent,
                "gcp.gemini",
                Some("gemini-2.5-flash")
            )
        );
        assert_eq!(
            target("https://api.anthropic.com/v1/messages")
                .unwrap()
                .provider,
            "anthropic"
        );
        for (host, provider) in [
            ("api.groq.com/openai", "groq"),
            ("api.deepseek.com", "deepseek"),
            ("api.mistral.ai", "mistral_ai"),
            ("api.x.ai", "x_ai"),
            ("openrouter.ai/api", "openrouter"),
            ("api.together.xyz", "together_ai"),
            ("api.perplexity.ai", "perplexity"),
            ("api.fireworks.ai/inference", "fireworks"),
            ("localhost:8080", "openai"),
        ] {
            assert_eq!(
                target(&format!("https://{host}/v1/chat/completions"))
                    .unwrap()
                    .provider,
                provider,
                "{host}"
            );
        }
        assert_eq!(
            target("http://localhost:8080/v1/messages")
                .unwrap()
                .provider,
            "anthropic"
        );
        assert_eq!(
            target("http://127.0.0.1/v1/responses").unwrap().endpoint,
            Endpoint::Responses
        );
        assert_eq!(
            target("http://127.0.0.1/v1/completions").unwrap().endpoint,
            Endpoint::Completions
        );
        assert_eq!(
            target("http://127.0.0.1/v1/embeddings").unwrap().endpoint,
            Endpoint::Embeddings
        );
        assert!(target("http://127.0.0.1/v1/files").is_none());
        assert!(target("http://127.0.0.1/v1/models/gpt-4o:delete").is_none());
        assert!(recognise(
            &http::Method::GET,
            &"http://127.0.0.1/v1/chat/completions".parse().unwrap()
        )
        .is_none());
    }

    #[test]
    fn events_split_across_frames() {
        let mut events = Events {
            line: Vec::new(),
            acc: StreamAccumulator::default(),
            clock: ChunkClock::new(std::time::Instant::now()),
            ended: false,
        };
        let text = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        for byte in text.as_bytes().chunks(3) {
            events.feed(byte);
        }
        assert_eq!(events.clock.facts(StreamEnd::Completed).chunks, 2);
        assert!(events.ended);
        let info = events.acc.into_info(true);
        assert_eq!(info.text.as_deref(), Some("Hello"));
        assert_eq!(info.finish_reasons, ["stop"]);
    }
}
