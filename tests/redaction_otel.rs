//! Secrets never reach OpenTelemetry: every secret of the corpus in the
//! messages, the answer, a tool call's arguments and an error, with the
//! content switches on, and nothing of them in what a real OTLP receiver
//! decodes.

mod common;
#[path = "corpus/mod.rs"]
mod corpus;
#[path = "common/otlp.rs"]
mod otlp;

use corpus::{embed, leaks, run_secrets, EMBEDDINGS};
use futures::executor::block_on;
use llm_traced::llm_traced;
use llm_traced::otel::{Otel, Protocol};
use otlp::Receiver;
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn leaky(messages: &[Value], answer: &str, fail: Option<String>) -> Result<Value, String> {
    if let Some(message) = fail {
        return Err(message);
    }
    let arguments = json!({"password": answer, "query": "weather"}).to_string();
    Ok(json!({"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": answer,
            "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}))
}

#[test]
fn no_secret_reaches_an_exported_span() {
    if !common::is_child() {
        common::run_child(
            "no_secret_reaches_an_exported_span",
            &[("LLM_LOG_PROMPTS", "1"), ("LLM_LOG_RESPONSES", "1")],
        );
        return;
    }
    let secrets = run_secrets();
    let prose: String = secrets
        .iter()
        .enumerate()
        .map(|(k, case)| embed(EMBEDDINGS[k % EMBEDDINGS.len()], &case.text) + "\n")
        .collect();
    let messages = [
        json!({"role": "system", "content": "You help with builds."}),
        json!({"role": "user", "content": prose}),
    ];
    let error = secrets
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ");

    let receiver = Receiver::start();
    let otel = Otel::builder()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(&receiver.endpoint)
        .metrics(false)
        .build()
        .expect("the pipeline builds");
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    // Bound values with secrets in them reach the span when the call
    // starts (user, session, tenant) and when it ends.
    let (tag, metadata_key, user) = corpus::bound_secrets();
    let context = llm_traced::context::Context::current()
        .with_user(user.clone())
        .with_session(format!("chat-{user}"))
        .with_tenant(format!("t-{tag}"))
        .with_tag(tag.clone())
        .with_metadata("api_key", metadata_key.clone());
    tracing::subscriber::with_default(subscriber, || {
        block_on(context.scope(async {
            leaky(&messages, &prose, None).await.unwrap();
            leaky(&messages, "", Some(error)).await.unwrap_err();
        }));
    });
    otel.shutdown().expect("the receiver took every span");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    // Every attribute, event and status, as the receiver decoded them.
    let exported = format!("{spans:?}");
    assert!(
        exported.contains("gen_ai.input.messages") && exported.contains("[API_KEY]"),
        "the content was exported, masked"
    );
    let leaked: Vec<&str> = secrets
        .iter()
        .map(|case| case.secret.as_str())
        .chain([tag.as_str(), metadata_key.as_str(), user.as_str()])
        .filter(|secret| leaks(&exported, secret))
        .collect();
    assert!(leaked.is_empty(), "exported: {leaked:?}");
}
