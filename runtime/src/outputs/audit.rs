//! The audit entries of `#[llm_traced(audit)]` calls: a `query` entry when
//! the call starts (handed to the writer before the body runs, so that a
//! crash mid-call leaves it), then `completion` (status `ok` or `error`) or
//! `content_filter` when it ends.
//!
//! Both carry the call's request id, trace id and span id in `details`, taken
//! from the call itself, bound scope or not, so that an auditor can join
//! them to the call's other records. Content hashes are taken over the
//! original content (the entries hold hashes, never content); the bound
//! values they name are scrubbed of secrets like every output's.

use serde_json::{Map, Value};

use super::{Ended, Output, Started};
use crate::audit::{Action, NewEntry};
use crate::record::{CallRecord, Status};

/// The audit log's hook.
pub(crate) struct Audit;

impl Output for Audit {
    fn on_start(&self, call: &mut Started<'_>) {
        if !call.audit || !crate::audit::enabled() {
            return;
        }
        let bound = call.context.bound();
        let secret_free = |s: &str| crate::pipeline::scrub_secrets(s).into_owned();
        let ids = Ids {
            function: call.function,
            model: call.model,
            request_id: call.request_id,
            trace_id: call.context.trace_id().map(|t| t.to_string()),
            span_id: call.context.span_id().map(|s| s.to_string()),
            session_id: call.context.session_id().map(secret_free),
            tenant_id: call.context.tenant_id().map(secret_free),
        };
        let mut entry = start_entry(&ids, call.messages);
        entry.user_id = call.context.user_id().map(secret_free);
        let meta = |key: &str| {
            bound
                .and_then(|b| b.metadata.get(key))
                .and_then(Value::as_str)
                .map(secret_free)
        };
        entry.ip_address = meta("ip_address");
        entry.user_agent = meta("user_agent");
        crate::audit::submit(entry);
    }

    fn on_end(&self, call: &Ended<'_>, record: &CallRecord) {
        if !call.audit || !crate::audit::enabled() {
            return;
        }
        let ids = Ids {
            function: &record.function,
            model: record.request_model.as_deref(),
            request_id: &record.request_id,
            trace_id: record.trace_id.clone(),
            span_id: record.span_id.clone(),
            session_id: record.session_id.clone(),
            tenant_id: record.tenant_id.clone(),
        };
        let text = record.response.as_ref().and_then(|r| r.text.as_deref());
        let mut entry = end_entry(
            &ids,
            record.status,
            record.error.as_ref().map(|e| e.error_type.as_str()),
            text,
        );
        entry.user_id = record.user_id.clone();
        let meta = |key: &str| {
            record
                .metadata
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        entry.ip_address = meta("ip_address");
        entry.user_agent = meta("user_agent");
        crate::audit::submit(entry);
    }
}

/// What both entries say of the call.
struct Ids<'a> {
    function: &'a str,
    model: Option<&'a str>,
    request_id: &'a str,
    trace_id: Option<String>,
    span_id: Option<String>,
    session_id: Option<String>,
    tenant_id: Option<String>,
}

impl Ids<'_> {
    fn details(&self) -> Map<String, Value> {
        let mut details = Map::new();
        details.insert("function".to_owned(), Value::from(self.function));
        if let Some(model) = self.model {
            details.insert("model".to_owned(), Value::from(model));
        }
        details.insert("request_id".to_owned(), Value::from(self.request_id));
        for (key, value) in [
            ("trace_id", &self.trace_id),
            ("span_id", &self.span_id),
            ("session_id", &self.session_id),
            ("tenant_id", &self.tenant_id),
        ] {
            if let Some(value) = value {
                details.insert(key.to_owned(), Value::from(value.as_str()));
            }
        }
        details
    }
}

/// The `query` entry: the SHA-256 of the canonical JSON of the messages.
fn start_entry(ids: &Ids<'_>, messages: Option<&Value>) -> NewEntry {
    let mut details = ids.details();
    if let Some(Value::Array(items)) = messages {
        details.insert("messages".to_owned(), Value::from(items.len()));
    }
    let entry = NewEntry::new(Action::Query, ids.model.unwrap_or(ids.function))
        .details(Value::Object(details));
    match messages {
        Some(messages) => entry.content_json(messages),
        None => entry,
    }
}

/// The outcome entry: `content_filter` when the provider's filter stopped
/// the call, else `completion` (status `ok` or `error`, with the SHA-256 of
/// the response text).
fn end_entry(
    ids: &Ids<'_>,
    status: Status,
    error_type: Option<&str>,
    response_text: Option<&str>,
) -> NewEntry {
    let ok = status == Status::Ok;
    let mut details = ids.details();
    details.insert(
        "status".to_owned(),
        Value::from(if ok { "ok" } else { "error" }),
    );
    if let Some(error_type) = error_type {
        details.insert("error_type".to_owned(), Value::from(error_type));
    }
    let action = if !ok && error_type == Some("content_filter") {
        Action::ContentFilter
    } else {
        Action::Completion
    };
    let entry =
        NewEntry::new(action, ids.model.unwrap_or(ids.function)).details(Value::Object(details));
    match response_text {
        Some(text) => entry.content(text),
        None => entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(model: Option<&'static str>) -> Ids<'static> {
        Ids {
            function: "ask",
            model,
            request_id: "019a0000-0000-7000-8000-000000000001",
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            span_id: Some("00f067aa0ba902b7".to_owned()),
            session_id: Some("s-1".to_owned()),
            tenant_id: None,
        }
    }

    #[test]
    fn entries_name_the_call_and_hash_its_content() {
        let messages = json!([{"role": "user", "content": "hi"}]);
        let start = start_entry(&ids(Some("gpt-4o")), Some(&messages));
        assert_eq!(start.action, Action::Query);
        assert_eq!(start.resource, "gpt-4o");
        assert_eq!(start.details["session_id"], "s-1");
        assert_eq!(
            start.details["request_id"],
            "019a0000-0000-7000-8000-000000000001"
        );
        assert_eq!(
            start.details["trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(start.details["span_id"], "00f067aa0ba902b7");
        assert_eq!(start.details["messages"], 1);
        assert_eq!(
            start.content_hash.as_deref(),
            Some(crate::audit::chain::sha256_hex(br#"[{"content":"hi","role":"user"}]"#).as_str())
        );
        assert!(
            !start.details.to_string().contains("hi\""),
            "no content kept"
        );

        let done = end_entry(&ids(None), Status::Ok, None, Some("hello"));
        assert_eq!(done.action, Action::Completion);
        assert_eq!(done.resource, "ask");
        assert_eq!(done.details["status"], "ok");
        assert_eq!(done.details["request_id"], start.details["request_id"]);
        assert_eq!(
            done.content_hash.as_deref(),
            Some(crate::audit::chain::sha256_hex(b"hello").as_str())
        );

        let failed = end_entry(&ids(Some("m")), Status::Error, Some("rate_limit"), None);
        assert_eq!(failed.action, Action::Completion);
        assert_eq!(failed.details["error_type"], "rate_limit");
        let filtered = end_entry(&ids(Some("m")), Status::Error, Some("content_filter"), None);
        assert_eq!(filtered.action, Action::ContentFilter);
    }
}
