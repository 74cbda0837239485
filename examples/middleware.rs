//! Every call of an async-openai client recorded, with no `#[llm_traced]`
//! anywhere: `LlmTracedLayer` in the client's tower stack. A plain and a
//! streamed chat completion. It reads `OPENAI_BASE_URL` (default
//! `https://api.openai.com/v1`), `OPENAI_API_KEY` and `OPENAI_MODEL`
//! (default `gpt-4o-mini`), so it runs against any OpenAI-compatible server.
//!
//! ```sh
//! OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=sk-… LLM_DEBUG=1 LLM_LOG_RESPONSES=1 \
//!     cargo run -p llm-traced-integration --example middleware --features async-openai-middleware
//! ```
//!
//! For `https://` endpoints, enable one of async-openai's TLS features in
//! your application (`rustls`, `native-tls`).

use async_openai::config::OpenAIConfig;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::CreateChatCompletionRequest;
use async_openai::Client;
use futures::StreamExt;
use llm_traced::middleware::LlmTracedLayer;
use serde_json::json;

fn request(model: &str, prompt: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": prompt}],
        "max_completion_tokens": 200});
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    serde_json::from_value(body).expect("a valid chat completion request")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base =
        std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());

    // The whole stack: installing a service replaces async-openai's default
    // one, so its retry layer is named here, inside ours.
    let traced = LlmTracedLayer::new();
    let service = tower::ServiceBuilder::new()
        .layer(traced) // one record per logical call
        .layer(OpenAIRetryLayer::default()) // async-openai's retries
        .layer(traced.attempts()) // each failed attempt's error class
        .service(ReqwestService::new(reqwest::Client::new()));
    let client = Client::with_config(OpenAIConfig::new().with_api_base(base).with_api_key(key))
        .with_http_service(service);

    let answer = client
        .chat()
        .create(request(&model, "Say hi in five words.", false))
        .await?;
    println!(
        "{}",
        answer.choices[0]
            .message
            .content
            .as_deref()
            .unwrap_or_default()
    );

    let mut stream = client
        .chat()
        .create_stream(request(&model, "Count to five.", true))
        .await?;
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            print!("{}", choice.delta.content.unwrap_or_default());
        }
    }
    println!();
    llm_traced::flush();
    Ok(())
}
