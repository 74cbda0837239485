//! An axum endpoint whose handler calls an instrumented LLM function, behind
//! `TraceContextLayer`: every record of a request carries the request's trace.
//!
//! ```sh
//! LLM_DEBUG=1 cargo run -p llm-traced-integration --example axum_server --features http
//! # in another terminal:
//! curl -si localhost:3000/ask -H 'content-type: application/json' \
//!      -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
//!      -d '{"user": "u-42", "question": "What is a trace?"}'
//! ```
//!
//! The response carries `x-trace-id` and `x-request-id`; the debug blocks on
//! the server's stderr show the same trace id, user u-42, and the chain →
//! model call nesting. `PORT` changes the port.

use axum::routing::post;
use axum::{Json, Router};
use llm_traced::context::Context;
use llm_traced::http::TraceContextLayer;
use llm_traced::llm_traced;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Ask {
    user: String,
    question: String,
}

/// A deterministic stand-in for an OpenAI-compatible model.
#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn complete(messages: Vec<Value>) -> Value {
    let question = messages
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    json!({"id": "chatcmpl-axum", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": format!("An answer to {question:?}.")}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}})
}

#[llm_traced(kind = "chain")]
async fn answer(question: String) -> Result<String, String> {
    let reply = complete(vec![
        json!({"role": "system", "content": "Answer briefly."}),
        json!({"role": "user", "content": question}),
    ])
    .await;
    reply["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no content".to_owned())
}

async fn ask(Json(body): Json<Ask>) -> Json<Value> {
    let ctx = Context::current().with_user(body.user);
    let trace = ctx.trace_id().map(|t| t.to_string());
    let result = ctx.scope(answer(body.question)).await;
    Json(json!({"answer": result.ok(), "trace_id": trace}))
}

fn app() -> Router {
    Router::new()
        .route("/ask", post(ask))
        .layer(TraceContextLayer::new())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}
