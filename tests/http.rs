//! The HTTP layer with a real axum server on 127.0.0.1 and a real reqwest
//! client: incoming trace ids reach the records of nested calls, concurrent
//! requests never mix ids, bad headers never fail a request.

mod common;

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::{everything_on, records_named};
use llm_traced::context::Context;
use llm_traced::http::{RequestBuilderExt, TraceContextLayer};
use llm_traced::llm_traced;
use serde_json::{json, Value};

#[llm_traced(name = "http_llm", model = "gpt-4o")]
async fn http_llm(question: &str) -> Value {
    tokio::task::yield_now().await;
    json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": question}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
}

#[llm_traced(name = "http_chain", kind = "chain")]
async fn http_chain(question: String) -> String {
    let first = http_llm(&question).await;
    let second = http_llm(&format!("again: {question}")).await;
    format!(
        "{} | {}",
        first["choices"][0]["message"]["content"], second["choices"][0]["message"]["content"]
    )
}

/// Calls the downstream service with the current trace, from inside a call.
#[llm_traced(name = "http_outgoing", kind = "tool")]
async fn call_downstream(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client
        .post(url)
        .json(&json!({"user": "downstream", "question": "hop"}))
        .with_trace_context()
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned())
}

#[derive(Clone)]
struct AppState {
    client: reqwest::Client,
    downstream: Option<String>,
}

async fn ask(State(state): State<AppState>, Json(body): Json<Value>) -> Json<Value> {
    let user = body["user"].as_str().unwrap_or("anon").to_owned();
    let question = body["question"].as_str().unwrap_or("").to_owned();
    let ctx = Context::current().with_user(user);
    let answer = ctx.clone().scope(http_chain(question)).await;
    let downstream = match &state.downstream {
        Some(url) => ctx.scope(call_downstream(&state.client, url)).await.ok(),
        None => None,
    };
    Json(json!({"answer": answer, "downstream_trace": downstream}))
}

async fn serve(downstream: Option<String>) -> String {
    let state = AppState {
        client: reqwest::Client::new(),
        downstream,
    };
    let app = Router::new()
        .route("/ask", post(ask))
        .with_state(state)
        .layer(TraceContextLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/ask")
}

async fn post_ask(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    user: &str,
    question: &str,
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .json(&json!({"user": user, "question": question}));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_traceparent_reaches_nested_calls_and_response_headers() {
    let h = everything_on();
    let url = serve(None).await;
    let client = reqwest::Client::new();
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = post_ask(&client, &url, &[("traceparent", tp)], "u-tp", "q-tp").await;
    assert_eq!(
        header(&response, "x-trace-id"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    let request_id = header(&response, "x-request-id");
    assert_eq!(request_id.len(), 36);

    let chain = records_named(&h.dir, "http_chain")
        .into_iter()
        .find(|r| r.user_id.as_deref() == Some("u-tp"))
        .unwrap();
    assert_eq!(
        chain.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        chain.parent_span_id.as_deref(),
        Some("00f067aa0ba902b7"),
        "the caller's span is the parent"
    );
    assert_eq!(chain.http_request_id.as_deref(), Some(request_id.as_str()));
    let calls: Vec<_> = records_named(&h.dir, "http_llm")
        .into_iter()
        .filter(|r| r.trace_id == chain.trace_id)
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(calls
        .iter()
        .all(|c| c.parent_span_id == chain.span_id && c.user_id.as_deref() == Some("u-tp")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_trace_id_is_honoured_and_bad_headers_start_a_new_trace() {
    let h = everything_on();
    let url = serve(None).await;
    let client = reqwest::Client::new();
    let response = post_ask(
        &client,
        &url,
        &[("x-trace-id", "0af7651916cd43dd8448eb211c80319c")],
        "u-x",
        "q",
    )
    .await;
    assert_eq!(
        header(&response, "x-trace-id"),
        "0af7651916cd43dd8448eb211c80319c"
    );

    for (i, bad) in [
        ("traceparent", "00-zzzz-00f067aa0ba902b7-01"),
        (
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ),
        ("x-trace-id", "../../etc/passwd"),
        ("x-trace-id", ""),
    ]
    .iter()
    .enumerate()
    {
        let user = format!("u-bad-{i}");
        let response = post_ask(&client, &url, &[*bad], &user, "q").await;
        let trace = header(&response, "x-trace-id");
        assert_eq!(trace.len(), 32, "{bad:?}: a fresh trace");
        assert!(trace.chars().all(|c| c.is_ascii_hexdigit()));
        let chain = records_named(&h.dir, "http_chain")
            .into_iter()
            .find(|r| r.user_id.as_deref() == Some(user.as_str()))
            .unwrap();
        assert_eq!(chain.trace_id.as_deref(), Some(trace.as_str()));
        assert_eq!(chain.parent_span_id, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_mix_ids() {
    let h = everything_on();
    let url = serve(None).await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let trace = format!("{:032x}", 0xabc0_0000_u128 + i as u128);
            let tp = format!("00-{trace}-00f067aa0ba902b7-01");
            let response = post_ask(
                &client,
                &url,
                &[("traceparent", &tp)],
                &format!("u-conc-{i}"),
                &format!("q{i}"),
            )
            .await;
            assert_eq!(header(&response, "x-trace-id"), trace);
            (format!("u-conc-{i}"), trace)
        }));
    }
    let mut expected = HashMap::new();
    for t in tasks {
        let (user, trace) = t.await.unwrap();
        expected.insert(user, trace);
    }
    let records: Vec<_> = [
        records_named(&h.dir, "http_chain"),
        records_named(&h.dir, "http_llm"),
    ]
    .concat()
    .into_iter()
    .filter(|r| {
        r.user_id
            .as_deref()
            .is_some_and(|u| u.starts_with("u-conc-"))
    })
    .collect();
    assert_eq!(records.len(), 64 * 3);
    for r in &records {
        assert_eq!(
            r.trace_id.as_ref(),
            Some(&expected[r.user_id.as_deref().unwrap()])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_requests_carry_the_trace_to_the_next_service() {
    let h = everything_on();
    let downstream = serve(None).await;
    let upstream = serve(Some(downstream)).await;
    let client = reqwest::Client::new();
    let response = post_ask(&client, &upstream, &[], "u-hop", "q").await;
    let trace = header(&response, "x-trace-id");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["downstream_trace"],
        trace.as_str(),
        "the next service joined the trace"
    );
    let outgoing = records_named(&h.dir, "http_outgoing")
        .into_iter()
        .find(|r| r.trace_id.as_deref() == Some(trace.as_str()))
        .unwrap();
    let remote_chain = records_named(&h.dir, "http_chain")
        .into_iter()
        .find(|r| {
            r.user_id.as_deref() == Some("downstream")
                && r.trace_id.as_deref() == Some(trace.as_str())
        })
        .unwrap();
    assert_eq!(
        remote_chain.parent_span_id, outgoing.span_id,
        "the calling span is the remote parent"
    );
}
