//! OpenTelemetry export: a small agent (a tool step, a streamed model call
//! and a model call with request parameters, which fails the second time)
//! sends its spans, metrics and scores over OTLP to whatever listens on the
//! standard endpoint. The model is a local stand-in
//! speaking the OpenAI wire format: no API key.
//!
//! ```sh
//! # A local backend with a UI (Jaeger takes OTLP on 4318, shows traces on 16686):
//! docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one
//! OTEL_SERVICE_NAME=otel-example LLM_LOG_PROMPTS=1 LLM_LOG_RESPONSES=1 \
//!     cargo run -p llm-traced-integration --example otel --features otel
//! ```
//!
//! Without a collector the example still runs; the exporter reports on
//! stderr that nothing could be sent.

use llm_traced::context::Context;
use llm_traced::llm_traced;
use serde_json::{json, Value};

/// The stand-in for `POST /v1/chat/completions`.
fn completion(model: &str, text: &str, prompt_tokens: u64) -> Value {
    json!({
        "id": format!("chatcmpl-otel-{prompt_tokens}"), "object": "chat.completion",
        "created": 1764230400, "model": format!("{model}-2024-08-06"),
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 9,
            "total_tokens": prompt_tokens + 9,
            "prompt_tokens_details": {"cached_tokens": 0}}
    })
}

#[llm_traced(provider = "openai", model = "gpt-4o-mini")]
async fn classify(messages: &[Value]) -> Value {
    let _ = messages;
    completion("gpt-4o-mini", "billing", 31)
}

/// Finds a customer's latest invoice.
///
/// The span carries the first paragraph as `gen_ai.tool.description`, the
/// call id as `gen_ai.tool.call.id`, and with the content switches the
/// arguments and the `Ok` value as `gen_ai.tool.call.arguments` and
/// `gen_ai.tool.call.result`.
#[llm_traced(name = "lookup_invoice", kind = "tool", tool_call_id = call_id)]
async fn lookup_invoice(call_id: &str, customer: &str) -> Result<Value, String> {
    Ok(json!({"customer": customer, "invoice": "INV-1042", "amount_eur": 129.0}))
}

/// A streamed call: the stand-in's chunks, as `stream: true` returns them.
/// Its span gets `gen_ai.request.stream = true` and
/// `gen_ai.response.time_to_first_chunk`, and the time-to-first-chunk
/// metric a point.
#[llm_traced(provider = "openai", model = "gpt-4o-mini")]
fn classify_stream(messages: &[Value]) -> impl futures::Stream<Item = Value> {
    let _ = messages;
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-otel-stream", "object": "chat.completion.chunk",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut usage = chunk(json!({}), Value::Null);
    usage["choices"] = json!([]);
    usage["usage"] = json!({"prompt_tokens": 31, "completion_tokens": 2, "total_tokens": 33});
    futures::stream::iter(vec![
        chunk(json!({"role": "assistant", "content": "bill"}), Value::Null),
        chunk(json!({"content": "ing"}), Value::Null),
        chunk(json!({}), json!("stop")),
        usage,
    ])
}

/// The whole request is recorded (an argument named `request`): its
/// temperature, max tokens and seed become `gen_ai.request.*` attributes.
#[llm_traced(provider = "openai")]
async fn answer(request: Value) -> Result<Value, String> {
    let question = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    if question.contains("twice") {
        return Err(
            "Rate limit reached for gpt-4o on tokens per min (TPM). Please try again in 2s.".into(),
        );
    }
    Ok(completion(
        "gpt-4o",
        "Invoice INV-1042 (129.00 EUR) was paid on 3 November.",
        88,
    ))
}

#[llm_traced(name = "support_agent", kind = "agent")]
async fn support_agent(question: &str) -> Result<String, String> {
    let mut messages = vec![json!({"role": "user", "content": question})];
    classify(&messages).await;
    {
        use futures::StreamExt;
        let kind: Vec<Value> = classify_stream(&messages).collect().await;
        let _ = kind;
    }
    let invoice = lookup_invoice("call_1", "cust-77").await?;
    messages
        .push(json!({"role": "tool", "tool_call_id": "call_1", "content": invoice.to_string()}));
    let reply = answer(json!({
        "model": "gpt-4o", "messages": messages,
        "temperature": 0.2, "max_tokens": 256, "seed": 7
    }))
    .await?;
    // A score for this agent call, given during it: written when it ends.
    let _ = llm_traced::score("tool_used", true)
        .comment("looked the invoice up")
        .author("agent-checks")
        .record();
    Ok(reply["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn main() {
    let otel = match llm_traced::otel::init() {
        Ok(otel) => otel,
        Err(e) => {
            eprintln!("OpenTelemetry could not be set up: {e}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    rt.block_on(async {
        for (user, question) in [
            ("user-1", "Was my last invoice paid?"),
            ("user-2", "Why was I charged twice?"),
        ] {
            let request = Context::new_trace()
                .with_user(user)
                .with_session(format!("session-{user}"));
            let trace = request.trace_id().expect("a new trace");
            let reply = request.scope(support_agent(question)).await;
            println!("trace {trace}: {reply:?}");
            // The user's feedback arrives later: a score for the agent call,
            // by its request id, as a `gen_ai.evaluation.result` event.
            if let Some(id) = llm_traced::score::last_request_id() {
                let helpful = if reply.is_ok() { 1.0 } else { 0.0 };
                let _ = llm_traced::score("helpfulness", helpful)
                    .request(id)
                    .author(user)
                    .record();
            }
        }
    });
    // Dropping the guard exports what is still pending.
    if let Err(e) = otel.shutdown() {
        eprintln!("{e}");
    }
}
