//! A real async-openai client through `#[llm_traced]`, streaming and not.
//! It reads `OPENAI_BASE_URL` (default `https://api.openai.com/v1`) and
//! `OPENAI_API_KEY`, so it works against any OpenAI-compatible server.
//!
//! ```sh
//! OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=sk-… LLM_DEBUG=1 LLM_LOG_RESPONSES=1 \
//!     cargo run -p llm-traced-integration --example openai_client --features async-openai -- gpt-4o-mini "Say hi"
//! ```
//!
//! The default build of async-openai that llm-traced enables speaks plain
//! HTTP; for `https://` endpoints, also enable one of async-openai's TLS
//! features in your application (`rustls`, `native-tls`).

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use async_openai::Client;
use futures::StreamExt;
use llm_traced::llm_traced;
use serde_json::json;

/// One chat completion. The model is read from the request; the API key in
/// the client is never recorded.
#[llm_traced(provider = "openai", model = request.model)]
async fn chat(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request).await
}

/// The same, streamed: the record is made when the stream ends, with the
/// time to the first chunk.
#[llm_traced(provider = "openai", model = request.model, stream)]
async fn chat_stream(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

/// A request built from its wire format. The argument of `chat` is named
/// `request` and its type is `Serialize`, so the whole request (these
/// parameters too) is saved with the call.
fn request(model: &str, prompt: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.2, "max_completion_tokens": 200});
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    serde_json::from_value(body).expect("a valid chat completion request")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().unwrap_or_else(|| "gpt-4o-mini".to_owned());
    let prompt = args
        .next()
        .unwrap_or_else(|| "Say hi in five words.".to_owned());
    let base =
        std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".to_owned());
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let client = Client::with_config(OpenAIConfig::new().with_api_base(base).with_api_key(key));

    match chat(&client, request(&model, &prompt, false)).await {
        Ok(response) => {
            let text = response
                .choices
                .first()
                .and_then(|c| c.message.content.clone())
                .unwrap_or_default();
            println!("answer: {text}");
        }
        Err(e) => println!("error: {e}\n{}", llm_traced::diagnose(&e).render()),
    }

    match chat_stream(&client, request(&model, &prompt, true)).await {
        Ok(mut stream) => {
            print!("streamed: ");
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        for choice in chunk.choices {
                            print!("{}", choice.delta.content.unwrap_or_default());
                        }
                    }
                    Err(e) => {
                        println!("\nstream error: {e}");
                        break;
                    }
                }
            }
            println!();
        }
        Err(e) => println!("stream error: {e}"),
    }
    Ok(())
}
