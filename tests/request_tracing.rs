//! Trace ids across nested calls, tasks, threads and executors, and bound
//! context, checked through the saved conversation files alone.

mod common;

use std::collections::{HashMap, HashSet};

use common::{everything_on, records_named};
use llm_traced::context::{Context, FutureExt};
use llm_traced::{llm_traced, CallRecord};
use serde_json::{json, Value};

fn chat_reply(text: &str) -> Value {
    json!({"id": "c1", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})
}

#[llm_traced(name = "tree_expand", model = "gpt-4o-mini")]
async fn expand_query(question: &str) -> Value {
    chat_reply(&format!("expanded: {question}"))
}

#[llm_traced(name = "tree_search", kind = "tool")]
async fn search(query: &str) -> Result<Vec<String>, String> {
    tokio::task::yield_now().await;
    Ok(vec![format!("doc about {query}")])
}

#[llm_traced(name = "tree_answer", model = "gpt-4o")]
async fn answer(question: &str, docs: &[String]) -> Value {
    chat_reply(&format!("{question} / {}", docs.len()))
}

#[llm_traced(name = "tree_chain", kind = "chain")]
async fn rag_chain(question: &str) -> Result<String, String> {
    let expanded = expand_query(question).await;
    let docs = search(
        expanded["choices"][0]["message"]["content"]
            .as_str()
            .unwrap(),
    )
    .await?;
    let reply = answer(question, &docs).await;
    Ok(reply["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned())
}

/// Rebuilds the call tree of one trace from records: parent span → children.
fn tree(records: &[CallRecord]) -> HashMap<Option<String>, Vec<&CallRecord>> {
    let mut children: HashMap<Option<String>, Vec<&CallRecord>> = HashMap::new();
    for r in records {
        children
            .entry(r.parent_span_id.clone())
            .or_default()
            .push(r);
    }
    children
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_rebuilt_from_saved_files_into_its_tree() {
    let h = everything_on();
    let request = Context::new_trace()
        .with_user("u-tree")
        .with_session("s-tree");
    let trace = request.trace_id().unwrap().to_string();
    let out = request.scope(rag_chain("what is a trace?")).await.unwrap();
    assert_eq!(out, "what is a trace? / 1");

    let mut records = Vec::new();
    for name in ["tree_chain", "tree_expand", "tree_search", "tree_answer"] {
        records.extend(records_named(&h.dir, name));
    }
    assert_eq!(records.len(), 4);
    assert!(
        records
            .iter()
            .all(|r| r.trace_id.as_deref() == Some(trace.as_str())),
        "one trace"
    );
    assert!(records
        .iter()
        .all(|r| r.user_id.as_deref() == Some("u-tree")));
    assert!(records
        .iter()
        .all(|r| r.session_id.as_deref() == Some("s-tree")));
    for r in &records {
        assert_eq!(r.trace_id.as_ref().unwrap().len(), 32);
        assert_eq!(r.span_id.as_ref().unwrap().len(), 16);
    }

    let children = tree(&records);
    let roots = &children[&None];
    assert_eq!(roots.len(), 1);
    let chain = roots[0];
    assert_eq!(
        (&*chain.name, &*chain.kind, &*chain.operation),
        ("tree_chain", "chain", "chain")
    );
    assert!(chain.usage.is_none(), "a step records no usage");
    let mut under_chain: Vec<(&str, &str)> = children[&chain.span_id]
        .iter()
        .map(|r| (&*r.name, &*r.kind))
        .collect();
    under_chain.sort();
    assert_eq!(
        under_chain,
        [
            ("tree_answer", "llm"),
            ("tree_expand", "llm"),
            ("tree_search", "tool")
        ]
    );
    let tool = children[&chain.span_id]
        .iter()
        .find(|r| r.kind == "tool")
        .unwrap();
    assert_eq!(tool.operation, "execute_tool");
    // The children ran inside the chain's time.
    for child in &children[&chain.span_id] {
        assert!(child.started_at >= chain.started_at && child.ended_at <= chain.ended_at);
    }
}

#[llm_traced(name = "step_fails", kind = "retrieval")]
fn failing_retrieval() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("index offline"))
}

#[test]
fn a_failing_step_records_its_error() {
    let h = everything_on();
    failing_retrieval().unwrap_err();
    let r = common::one_record(&h.dir, "step_fails");
    assert_eq!(r.status, llm_traced::Status::Error);
    assert_eq!(r.kind, "retrieval");
    assert_eq!(r.error.unwrap().message, "index offline");
    assert!(
        r.parent_span_id.is_none() && r.trace_id.is_some(),
        "no enclosing context: a new trace"
    );
}

#[llm_traced(name = "bound_call")]
async fn bound_call(tag: &str) -> String {
    tag.to_owned()
}

#[tokio::test]
async fn inner_bindings_override_for_their_scope_only() {
    let h = everything_on();
    let outer = Context::current()
        .with_user("outer-user")
        .with_tenant("acme")
        .with_tag("beta")
        .with_metadata("plan", "pro");
    outer
        .scope(async {
            bound_call("first").await;
            Context::current()
                .with_user("inner-user")
                .scope(bound_call("inner"))
                .await;
            bound_call("last").await;
        })
        .await;
    let records = records_named(&h.dir, "bound_call");
    let by_text: HashMap<String, &CallRecord> = records
        .iter()
        .map(|r| (r.response.as_ref().unwrap().text.clone().unwrap(), r))
        .collect();
    assert_eq!(by_text["first"].user_id.as_deref(), Some("outer-user"));
    assert_eq!(by_text["inner"].user_id.as_deref(), Some("inner-user"));
    assert_eq!(by_text["last"].user_id.as_deref(), Some("outer-user"));
    for r in &records {
        assert_eq!(r.tenant_id.as_deref(), Some("acme"));
        assert_eq!(r.tags, ["beta"]);
        assert_eq!(r.metadata["plan"], "pro");
    }
    let traces: HashSet<_> = records.iter().map(|r| r.trace_id.clone()).collect();
    assert_eq!(traces.len(), 1, "one scope, one trace");
}

#[llm_traced(name = "spawned_call")]
async fn spawned_call(label: &str) -> String {
    tokio::task::yield_now().await;
    label.to_owned()
}

#[llm_traced(name = "blocking_call")]
fn blocking_call(label: &str) -> String {
    label.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_work_inherits_only_when_asked() {
    let h = everything_on();
    let ctx = Context::new_trace().with_user("spawner");
    let trace = ctx.trace_id().unwrap().to_string();
    ctx.scope(async {
        tokio::spawn(spawned_call("adapter").in_current_context())
            .await
            .unwrap();
        tokio::spawn(spawned_call("bare")).await.unwrap();
        let captured = Context::current();
        tokio::task::spawn_blocking(move || {
            let _guard = captured.attach();
            blocking_call("spawn_blocking")
        })
        .await
        .unwrap();
        let captured = Context::current();
        std::thread::spawn(move || captured.in_scope(|| blocking_call("thread")))
            .join()
            .unwrap();
    })
    .await;

    let records: Vec<CallRecord> = [
        records_named(&h.dir, "spawned_call"),
        records_named(&h.dir, "blocking_call"),
    ]
    .concat();
    let by_text: HashMap<String, &CallRecord> = records
        .iter()
        .map(|r| (r.response.as_ref().unwrap().text.clone().unwrap(), r))
        .collect();
    for inherited in ["adapter", "spawn_blocking", "thread"] {
        assert_eq!(
            by_text[inherited].trace_id.as_deref(),
            Some(trace.as_str()),
            "{inherited}"
        );
        assert_eq!(
            by_text[inherited].user_id.as_deref(),
            Some("spawner"),
            "{inherited}"
        );
    }
    let bare = by_text["bare"];
    assert_ne!(
        bare.trace_id.as_deref(),
        Some(trace.as_str()),
        "a bare spawn starts its own trace"
    );
    assert_eq!(bare.user_id, None);
}

#[llm_traced(name = "other_executor")]
async fn other_executor_call() -> String {
    "futures".to_owned()
}

#[llm_traced(name = "other_executor_outer", kind = "agent")]
async fn other_executor_outer() -> String {
    other_executor_call().await
}

#[test]
fn works_on_another_executor() {
    let h = everything_on();
    futures::executor::block_on(
        Context::current()
            .with_user("on-futures")
            .scope(other_executor_outer()),
    );
    let inner = common::one_record(&h.dir, "other_executor");
    let outer = common::one_record(&h.dir, "other_executor_outer");
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(inner.parent_span_id, outer.span_id);
    assert_eq!(inner.user_id.as_deref(), Some("on-futures"));
    assert_eq!(outer.operation, "invoke_agent");
}

#[llm_traced(name = "load_call", model = "gpt-4o")]
async fn load_call(i: usize) -> Value {
    tokio::task::yield_now().await;
    chat_reply(&format!("reply {i}"))
}

#[llm_traced(name = "load_chain", kind = "chain")]
async fn load_chain(i: usize) -> usize {
    load_call(i).await;
    tokio::task::yield_now().await;
    load_call(i).await;
    i
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_never_mix_ids() {
    let h = everything_on();
    let mut tasks = Vec::new();
    let mut expected = HashMap::new();
    for i in 0..1000 {
        let ctx = Context::new_trace().with_user(format!("user-{i}"));
        expected.insert(format!("user-{i}"), ctx.trace_id().unwrap().to_string());
        tasks.push(tokio::spawn(ctx.scope(load_chain(i))));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let chains = records_named(&h.dir, "load_chain");
    let calls = records_named(&h.dir, "load_call");
    assert_eq!(chains.len(), 1000);
    assert_eq!(calls.len(), 2000);
    let chain_span: HashMap<&str, &str> = chains
        .iter()
        .map(|c| {
            (
                c.trace_id.as_deref().unwrap(),
                c.span_id.as_deref().unwrap(),
            )
        })
        .collect();
    for r in chains.iter().chain(calls.iter()) {
        let user = r.user_id.as_deref().unwrap();
        assert_eq!(
            r.trace_id.as_deref(),
            Some(expected[user].as_str()),
            "{user}"
        );
    }
    for call in &calls {
        let i: usize = call.user_id.as_deref().unwrap()["user-".len()..]
            .parse()
            .unwrap();
        assert_eq!(
            call.response.as_ref().unwrap().text.as_deref(),
            Some(format!("reply {i}").as_str())
        );
        assert_eq!(
            call.parent_span_id.as_deref(),
            Some(chain_span[call.trace_id.as_deref().unwrap()])
        );
    }
}
