//! The quickstart: an instrumented function talking to a deterministic local
//! stand-in for an OpenAI-compatible model. No network, no API key.
//!
//! ```sh
//! LLM_DEBUG=1 LLM_LOG_PROMPTS=1 LLM_LOG_RESPONSES=1 LLM_SAVE_CONVERSATIONS=1 \
//!     cargo run --example quickstart
//! ```
//!
//! Each call prints a block on stderr; `./llm_conversations/` gets one JSON
//! file per call.

use llm_traced::llm_traced;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Serialize, Clone)]
struct Message {
    role: &'static str,
    content: String,
}

/// Errors the stand-in can return, like a real client would.
#[derive(Debug)]
enum ClientError {
    Api { status: u16, body: Value },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Api { status, body } => write!(f, "Error code: {status} - {body}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// A deterministic stand-in for `POST /v1/chat/completions`: it answers in the
/// OpenAI wire format, with usage counted from the words of the prompt.
async fn fake_openai(model: &str, messages: &[Message]) -> Result<Value, ClientError> {
    let prompt: String = messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let prompt_tokens = prompt.split_whitespace().count() as u64 + 4 * messages.len() as u64;
    if prompt.contains("weather") {
        return Ok(json!({
            "id": "chatcmpl-quickstart-2", "object": "chat.completion", "created": 1764230400,
            "model": format!("{model}-2024-08-06"),
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 12, "total_tokens": prompt_tokens + 12}
        }));
    }
    if prompt.len() > 200 {
        return Err(ClientError::Api {
            status: 400,
            body: json!({"error": {"message": "This model's maximum context length is 64 tokens.",
                "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
        });
    }
    let answer = format!(
        "You asked {} question(s); here is a short, deterministic answer.",
        messages.len()
    );
    let completion_tokens = answer.split_whitespace().count() as u64;
    Ok(json!({
        "id": "chatcmpl-quickstart-1", "object": "chat.completion", "created": 1764230400,
        "model": format!("{model}-2024-08-06"),
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": answer, "refusal": null}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0}}
    }))
}

/// The function a user instruments. `api_key` is an argument and is never
/// recorded: only `messages` (by name) and `model` (as asked) are captured.
#[llm_traced(provider = "openai", model = model)]
async fn ask(model: &str, messages: Vec<Message>, api_key: &str) -> Result<Value, ClientError> {
    let _ = api_key;
    fake_openai(model, &messages).await
}

fn user(text: &str) -> Message {
    Message {
        role: "user",
        content: text.to_owned(),
    }
}

fn main() {
    let system = Message {
        role: "system",
        content: "You are a concise assistant.".to_owned(),
    };
    let key = "sk-not-a-real-key";
    futures::executor::block_on(async {
        let first = ask(
            "gpt-4o",
            vec![system.clone(), user("What is tracing?")],
            key,
        )
        .await;
        println!(
            "answer: {}",
            first
                .as_ref()
                .map_or("-", |v| v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or("-"))
        );

        let second = ask(
            "gpt-4o",
            vec![system.clone(), user("What is the weather in Paris?")],
            key,
        )
        .await;
        println!(
            "tool call: {}",
            second
                .as_ref()
                .map_or("-", |v| v["choices"][0]["message"]["tool_calls"][0]
                    ["function"]["name"]
                    .as_str()
                    .unwrap_or("-"))
        );

        let long = "Please summarise this long document. ".repeat(8);
        match ask("gpt-4o-mini", vec![system, user(&long)], key).await {
            Ok(_) => println!("unexpected success"),
            Err(e) => println!("error (expected): {e}"),
        }
    });
    let config = llm_traced::config::current();
    if config.save_conversations {
        println!(
            "conversations saved in {}",
            config.conversations_dir.display()
        );
    } else {
        println!("tip: run with LLM_DEBUG=1 LLM_LOG_PROMPTS=1 LLM_LOG_RESPONSES=1 LLM_SAVE_CONVERSATIONS=1");
    }
}
