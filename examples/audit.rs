//! A few audited LLM interactions written to a tamper-evident audit log.
//!
//! ```text
//! cargo run --example audit -- /tmp/audit.jsonl
//! LLM_AUDIT_KEY=some-long-secret cargo run --example audit -- /tmp/audit.jsonl
//! llm-traced audit verify /tmp/audit.jsonl --head /tmp/audit.jsonl.head
//! ```
//!
//! It records a query, a retrieval (RAG), a completion and a content-filter
//! hit for a user bound in the context, prints the head (keep it apart from
//! the log: another host, a WORM bucket), and verifies the file. Running it
//! again appends to the same chain. The prompts and answers are never stored:
//! only their SHA-256.

use llm_traced::audit::{self, AuditLog, FileOptions};
use llm_traced::context::Context;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: audit <AUDIT_FILE.jsonl>");
        std::process::exit(2);
    };
    let key = std::env::var("LLM_AUDIT_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    // The head is also written to `<path>.head` after each append.
    let mut log = AuditLog::open_file(&path, FileOptions::new())?;
    if let Some(key) = &key {
        log = log.with_key(key.as_bytes().to_vec());
    }

    // What an HTTP handler would bind for the request.
    let request = Context::current()
        .with_metadata("ip_address", "203.0.113.42")
        .with_metadata("user_agent", "support-portal/3.1");
    let head = request.in_scope(|| -> Result<_, audit::AuditError> {
        let user = "customer-1017";
        let question = "Why was I charged twice in March?";
        log.query(user, "gpt-4o", question, json!({"channel": "support-chat"}))?;
        log.data_access(user, "billing-db", "charges of customer-1017 in March", 2)?;
        log.completion(
            user,
            "gpt-4o",
            "You were charged once for March and once for the annual plan…",
            json!({"input_tokens": 812, "output_tokens": 64}),
        )?;
        log.content_filter(
            user,
            "gpt-4o",
            "(a follow-up the provider's filter blocked)",
            json!({"filter_result": {"category": "harassment"}, "action_taken": "blocked"}),
        )
    })?;

    println!("audit log: {path}");
    println!("head:      {}", head.to_json());
    println!("           (also in {path}.head; keep a copy where the log's writers cannot write)");
    let report = audit::verify_file(&path, key.as_deref().map(str::as_bytes), Some(head))?;
    println!("verify:    {report}");
    if !report.is_ok() {
        std::process::exit(1);
    }
    Ok(())
}
