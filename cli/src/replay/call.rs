//! Sending a replayed request, through `#[llm_traced]` functions so that the
//! new call is recorded like any other (conversation file, JSON log, debug
//! block, OpenTelemetry when configured): one plain and one streaming
//! function per provider, since the provider is a literal of the attribute.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::Stream;
use llm_traced_runtime::llm_traced;
use llm_traced_runtime::stream::{LlmChunk, StreamAccumulator};
use llm_traced_runtime::{ErrorClass, HttpErrorDetails};
use serde_json::Value;

use super::wire::{Prepared, Wire};

/// Why a replayed call failed. Its text never holds the key.
#[derive(Debug)]
pub struct ReplayError {
    /// The HTTP status, when the provider answered.
    pub status: Option<u16>,
    /// The provider's error body.
    pub body: Option<String>,
    /// What went wrong.
    pub message: String,
    /// A timeout or a connection failure.
    pub transport: Option<ErrorClass>,
    retry_after: Option<Duration>,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.status, &self.body) {
            (Some(s), Some(b)) => write!(f, "HTTP {s}: {b}"),
            (Some(s), None) => write!(f, "HTTP {s}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ReplayError {}

impl HttpErrorDetails for ReplayError {
    fn http_status(&self) -> Option<u16> {
        self.status
    }
    fn response_body(&self) -> Option<String> {
        self.body.clone()
    }
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    fn transport_failure(&self) -> Option<ErrorClass> {
        self.transport
    }
}

fn transport(e: &reqwest::Error) -> ReplayError {
    // reqwest's text names the URL (never the key: it is in a header).
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    ReplayError {
        status: None,
        body: None,
        message,
        transport: Some(if e.is_timeout() {
            ErrorClass::Timeout
        } else {
            ErrorClass::Network
        }),
        retry_after: None,
    }
}

/// The HTTP client: rustls, the system's roots.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))
}

async fn send(
    p: &Prepared,
    client: &reqwest::Client,
    key: &str,
) -> Result<reqwest::Response, ReplayError> {
    let (header, format) = p.wire.key_header();
    let mut request = client
        .post(&p.url)
        .header(header, format.replace("{}", key))
        .body(p.body.to_string());
    for (name, value) in p.wire.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| transport(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let body = response.text().await.unwrap_or_default();
    Err(ReplayError {
        status: Some(status.as_u16()),
        body: (!body.is_empty()).then_some(body),
        message: status.canonical_reason().unwrap_or("error").to_owned(),
        transport: None,
        retry_after,
    })
}

async fn whole(p: &Prepared, client: &reqwest::Client, key: &str) -> Result<Value, ReplayError> {
    let response = send(p, client, key).await?;
    let text = response.text().await.map_err(|e| transport(&e))?;
    serde_json::from_str(&text).map_err(|e| ReplayError {
        status: None,
        body: Some(text.chars().take(2000).collect()),
        message: format!("the response is not JSON: {e}"),
        transport: None,
        retry_after: None,
    })
}

/// Server-sent events: each `data:` line's JSON, until `[DONE]` or the end.
struct Events {
    response: reqwest::Response,
    buffer: Vec<u8>,
    ready: VecDeque<Value>,
    done: bool,
}

async fn events(
    p: &Prepared,
    client: &reqwest::Client,
    key: &str,
) -> Result<impl Stream<Item = Result<Value, ReplayError>>, ReplayError> {
    let response = send(p, client, key).await?;
    let state = Events {
        response,
        buffer: Vec::new(),
        ready: VecDeque::new(),
        done: false,
    };
    Ok(futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(v) = s.ready.pop_front() {
                return Some((Ok(v), s));
            }
            if s.done {
                return None;
            }
            match s.response.chunk().await {
                Ok(Some(bytes)) => s.buffer.extend_from_slice(&bytes),
                Ok(None) => {
                    s.done = true;
                    s.buffer.push(b'\n');
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(transport(&e)), s));
                }
            }
            while let Some(end) = s.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = s.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(data) = line.trim_end().strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    s.done = true;
                    s.buffer.clear();
                    break;
                }
                if let Ok(v) = serde_json::from_str(data) {
                    s.ready.push_back(v);
                }
            }
        }
    }))
}

/// A Gemini `streamGenerateContent` chunk: a whole `GenerateContentResponse`
/// per event, text in `parts`, usage cumulative.
pub struct GeminiChunk(pub Value);

impl LlmChunk for GeminiChunk {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        let v = &self.0;
        if let Some(model) = v.get("modelVersion").and_then(Value::as_str) {
            acc.set_model(model);
        }
        if let Some(id) = v.get("responseId").and_then(Value::as_str) {
            acc.set_id(id);
        }
        let candidates = v.get("candidates").and_then(Value::as_array);
        for (i, c) in candidates.into_iter().flatten().enumerate() {
            let index = c
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(u32::try_from(i).unwrap_or(0));
            let parts = c.pointer("/content/parts").and_then(Value::as_array);
            for (k, part) in parts.into_iter().flatten().enumerate() {
                if part.get("thought").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let Some(text) = part.get("text").and_then(Value::as_str) {
                    acc.push_text(index, text);
                } else if let Some(call) = part.get("functionCall") {
                    let args = call.get("args").map(Value::to_string);
                    acc.tool_call_delta(
                        u32::try_from(k).unwrap_or(0),
                        call.get("id").and_then(Value::as_str),
                        call.get("name").and_then(Value::as_str),
                        args.as_deref(),
                    );
                }
            }
            if let Some(reason) = c.get("finishReason").and_then(Value::as_str) {
                acc.set_finish_reason(index, reason);
            }
        }
        if let Some(u) = v.get("usageMetadata") {
            let n = |k: &str| u.get(k).and_then(Value::as_u64);
            let usage = llm_traced_runtime::Usage {
                input_tokens: n("promptTokenCount"),
                output_tokens: match (n("candidatesTokenCount"), n("thoughtsTokenCount")) {
                    (None, None) => None,
                    (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
                },
                total_tokens: n("totalTokenCount"),
                cached_input_tokens: n("cachedContentTokenCount"),
                reasoning_tokens: n("thoughtsTokenCount"),
                ..Default::default()
            };
            acc.merge_usage(usage);
        }
    }
}

// rustfmt re-indents the attribute's second line inside a macro on every
// run; the macro is left as written.
#[rustfmt::skip]
macro_rules! traced {
    ($plain:ident, $streamed:ident, $provider:tt) => {
        #[llm_traced(crate = "llm_traced_runtime", name = "replay", provider = $provider,
                     model = p.model, request = p.body)]
        async fn $plain(
            p: &Prepared,
            client: &reqwest::Client,
            key: &str,
        ) -> Result<Value, ReplayError> {
            whole(p, client, key).await
        }

        #[llm_traced(crate = "llm_traced_runtime", name = "replay", provider = $provider,
                     model = p.model, request = p.body)]
        async fn $streamed(
            p: &Prepared,
            client: &reqwest::Client,
            key: &str,
        ) -> Result<impl Stream<Item = Result<Value, ReplayError>>, ReplayError> {
            events(p, client, key).await
        }
    };
}

/// An embeddings request, recorded as the `embeddings` operation.
#[rustfmt::skip]
macro_rules! embeddings {
    ($name:ident, $provider:tt) => {
        #[llm_traced(crate = "llm_traced_runtime", name = "replay", provider = $provider,
                     operation = "embeddings", model = p.model, request = p.body)]
        async fn $name(
            p: &Prepared,
            client: &reqwest::Client,
            key: &str,
        ) -> Result<Value, ReplayError> {
            whole(p, client, key).await
        }
    };
}

embeddings!(openai_embeddings, "openai");
embeddings!(azure_embeddings, "azure.ai.openai");

traced!(openai, openai_stream, "openai");
traced!(anthropic, anthropic_stream, "anthropic");
traced!(azure, azure_stream, "azure.ai.openai");

#[llm_traced(crate = "llm_traced_runtime", name = "replay", provider = "gcp.gemini",
             model = p.model, request = p.body)]
async fn gemini(p: &Prepared, client: &reqwest::Client, key: &str) -> Result<Value, ReplayError> {
    whole(p, client, key).await
}

#[llm_traced(crate = "llm_traced_runtime", name = "replay", provider = "gcp.gemini",
             model = p.model, request = p.body)]
async fn gemini_stream(
    p: &Prepared,
    client: &reqwest::Client,
    key: &str,
) -> Result<impl Stream<Item = Result<GeminiChunk, ReplayError>>, ReplayError> {
    use futures_util::StreamExt;
    Ok(events(p, client, key).await?.map(|c| c.map(GeminiChunk)))
}

async fn drain<T, S: Stream<Item = Result<T, ReplayError>>>(
    stream: Result<S, ReplayError>,
) -> Result<(), ReplayError> {
    use futures_util::StreamExt;
    let stream = stream?;
    futures_util::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        item?;
    }
    Ok(())
}

/// Sends the request through the traced function of its provider, reading
/// a stream to its end. The result is what the call returned; what it
/// recorded is read back from its conversation file.
pub async fn run(p: &Prepared, client: &reqwest::Client, key: &str) -> Result<(), ReplayError> {
    match (p.wire, p.stream) {
        (Wire::OpenAi, false) if p.embeddings => openai_embeddings(p, client, key).await.map(drop),
        (Wire::Azure, false) if p.embeddings => azure_embeddings(p, client, key).await.map(drop),
        (Wire::OpenAi, false) => openai(p, client, key).await.map(drop),
        (Wire::Anthropic, false) => anthropic(p, client, key).await.map(drop),
        (Wire::Gemini, false) => gemini(p, client, key).await.map(drop),
        (Wire::Azure, false) => azure(p, client, key).await.map(drop),
        (Wire::OpenAi, true) => drain(openai_stream(p, client, key).await).await,
        (Wire::Anthropic, true) => drain(anthropic_stream(p, client, key).await).await,
        (Wire::Gemini, true) => drain(gemini_stream(p, client, key).await).await,
        (Wire::Azure, true) => drain(azure_stream(p, client, key).await).await,
    }
}
