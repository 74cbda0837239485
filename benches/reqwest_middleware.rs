//! The cost of `LlmTracedMiddleware` on one request of a
//! `reqwest_middleware::ClientWithMiddleware`: a stand-in middleware at the
//! end of the chain answers a chat completion from memory, so the numbers are
//! the middleware's, not a network's.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench reqwest_middleware --features reqwest-middleware
//! LLM_BENCH_OUTPUTS=1 cargo bench -p llm-traced-integration --bench reqwest_middleware --features reqwest-middleware
//! ```

use divan::AllocProfiler;
use http::Extensions;
use llm_traced::middleware::LlmTracedMiddleware;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

mod shared;
use shared::poll_once;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const REQUEST: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is tracing?"}],"max_completion_tokens":200}"#;
const RESPONSE: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1727346168,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Following work across calls."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#;

/// The end of the chain: answers without sending.
struct StandIn;

#[async_trait::async_trait]
impl Middleware for StandIn {
    async fn handle(
        &self,
        _request: reqwest::Request,
        _extensions: &mut Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let response = http::Response::builder()
            .header("content-type", "application/json")
            .body(reqwest::Body::from(RESPONSE))
            .unwrap();
        Ok(reqwest::Response::from(response))
    }
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

fn roundtrip(client: &ClientWithMiddleware) -> usize {
    let request = client
        .post("http://127.0.0.1:9/v1/chat/completions")
        .body(REQUEST)
        .build()
        .unwrap();
    let response = poll_once(client.execute(request)).unwrap();
    poll_once(response.bytes()).unwrap().len()
}

#[divan::bench]
fn bare(bencher: divan::Bencher) {
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(StandIn)
        .build();
    bencher.bench_local(|| roundtrip(&client));
}

#[divan::bench]
fn with_middleware(bencher: divan::Bencher) {
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(LlmTracedMiddleware::new())
        .with(StandIn)
        .build();
    bencher.bench_local(|| roundtrip(&client));
    llm_traced::flush();
}
