//! The cost of `LlmTracedLayer` on one request of an async-openai client
//! stack: a stand-in transport answers a chat completion from memory, so the
//! numbers are the layer's, not a network's.
//!
//! ```sh
//! # Every output off: the layer must add no allocation and no body copy.
//! cargo bench -p llm-traced-integration --bench middleware --features async-openai-middleware
//! # Outputs on (the JSON log, prompts and responses, to a temporary file).
//! LLM_BENCH_OUTPUTS=1 cargo bench -p llm-traced-integration --bench middleware --features async-openai-middleware
//! ```
//!
//! Futures are polled once with a no-op waker (they complete at once).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use divan::AllocProfiler;
use llm_traced::middleware::LlmTracedLayer;
use tower::{Layer, Service};

mod shared;
use shared::poll_once;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const REQUEST: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is tracing?"}],"max_completion_tokens":200}"#;
const RESPONSE: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1727346168,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Following work across calls."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#;

/// The transport: builds the request as `ReqwestService` does, then answers
/// from memory.
#[derive(Clone)]
struct StandIn;

impl Service<HttpRequestFactory> for StandIn {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        Box::pin(async move {
            let request = factory.build().await?;
            drop(request);
            let response = http::Response::builder()
                .header("content-type", "application/json")
                .body(reqwest::Body::from(RESPONSE))
                .unwrap();
            Ok(reqwest::Response::from(response))
        })
    }
}

fn factory() -> HttpRequestFactory {
    let url: reqwest::Url = "http://127.0.0.1:9/v1/chat/completions".parse().unwrap();
    HttpRequestFactory::new(move || {
        let url = url.clone();
        async move {
            let mut request = reqwest::Request::new(reqwest::Method::POST, url);
            *request.body_mut() = Some(reqwest::Body::from(REQUEST));
            Ok(request)
        }
    })
}

fn main() {
    if std::env::var_os("LLM_BENCH_OUTPUTS").is_some() {
        let dir = std::env::temp_dir().join(format!("llm-traced-bench-{}", std::process::id()));
        llm_traced::Config::default()
            .log_prompts(true)
            .log_responses(true)
            .log_file(dir.join("calls.jsonl"))
            .install()
            .unwrap();
    } else {
        llm_traced::Config::default().install().unwrap();
    }
    divan::main();
}

/// One request and its whole body read, as the client does.
fn roundtrip<S>(service: &mut S, factory: HttpRequestFactory) -> usize
where
    S: Service<HttpRequestFactory, Response = reqwest::Response>,
    S::Error: std::fmt::Debug,
{
    let response = poll_once(service.call(factory)).unwrap();
    poll_once(response.bytes()).unwrap().len()
}

#[divan::bench]
fn bare(bencher: divan::Bencher) {
    let factory = factory();
    let mut service = StandIn;
    bencher.bench_local(|| roundtrip(&mut service, factory.clone()));
}

#[divan::bench]
fn with_layer(bencher: divan::Bencher) {
    let factory = factory();
    let mut service = LlmTracedLayer::new().layer(StandIn);
    bencher.bench_local(|| roundtrip(&mut service, factory.clone()));
    llm_traced::flush();
}
