//! `#[llm_traced(audit)]`: `query` and `completion` (or failure) entries for
//! each call, with the user from the bound context, and `content_filter`
//! entries when the diagnosis says so; the content itself never stored.

mod common;

use common::{is_child, json_lines, run_child};
use llm_traced::context::Context;
use llm_traced::llm_traced;
use serde_json::{json, Value};

const PROMPT: &str = "Summarise patient 4417's file for Dr. Grey";

#[llm_traced(provider = "openai", model = "gpt-4o", audit)]
async fn audited(messages: Vec<Value>, filtered: bool) -> Result<Value, String> {
    if filtered {
        return Err(common::fixture("azure_openai_error_400_content_filter.json").to_string());
    }
    Ok(
        json!({"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "A confidential summary."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}}),
    )
}

#[test]
fn child_audited_calls() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(
        Context::new_trace()
            .with_user("dr-grey")
            .with_metadata("ip_address", "10.1.2.3")
            .scope(async {
                let messages = vec![json!({"role": "user", "content": PROMPT})];
                audited(messages.clone(), false).await.unwrap();
                audited(messages, true).await.unwrap_err();
            }),
    );
}

#[test]
fn audited_calls_write_a_verifiable_chain_without_content() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("audit.jsonl");
    // Nothing else is switched on: auditing works on its own.
    run_child(
        "child_audited_calls",
        &[("LLM_AUDIT_FILE", path.to_str().unwrap())],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("patient 4417") && !text.contains("confidential"),
        "content is never stored"
    );
    let entries = json_lines(&path);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["query", "completion", "query", "content_filter"],
        "{entries:#?}"
    );
    for entry in &entries {
        assert_eq!(entry["user_id"], "dr-grey");
        assert!(
            entry["content_hash"]
                .as_str()
                .is_some_and(|h| h.len() == 64)
                || entry["action"] == "content_filter"
        );
    }
    assert_eq!(entries[0]["ip_address"], "10.1.2.3");
    let report = llm_traced::audit::verify_file(&path, None, None).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 4);
}

#[test]
fn child_unscoped_audited_call() {
    if !is_child() {
        return;
    }
    let messages = vec![json!({"role": "user", "content": PROMPT})];
    futures::executor::block_on(audited(messages, false)).unwrap();
}

#[test]
fn audit_entries_carry_the_call_ids_outside_any_scope() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("audit.jsonl");
    let convs = temp.path().join("convs");
    run_child(
        "child_unscoped_audited_call",
        &[
            ("LLM_AUDIT_FILE", path.to_str().unwrap()),
            ("LLM_SAVE_CONVERSATIONS", "1"),
            ("LLM_CONVERSATIONS_DIR", convs.to_str().unwrap()),
        ],
    );
    let record = common::one_record(&convs, "audited");
    let entries = json_lines(&path);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    for entry in &entries {
        let details = &entry["details"];
        assert_eq!(details["request_id"], record.request_id.as_str(), "{entry}");
        assert_eq!(
            details["trace_id"].as_str(),
            record.trace_id.as_deref(),
            "{entry}"
        );
        assert_eq!(
            details["span_id"].as_str(),
            record.span_id.as_deref(),
            "{entry}"
        );
    }
    let report = llm_traced::audit::verify_file(&path, None, None).unwrap();
    assert!(report.is_ok(), "{report:?}");
}
