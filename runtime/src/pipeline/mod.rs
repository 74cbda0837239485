//! What happens to a call's record between its capture and its outputs, in
//! order: secrets scrubbed from the metadata (error text, bound values), the
//! cost priced, the level and warnings assessed (retries, the cost budget);
//! then, once, the content scrubbed (see [`crate::outputs::finish`] for
//! where). Per-output steps (the log's truncation and content sampling) are
//! the outputs' own.

pub(crate) mod budget;
pub mod levels;
pub(crate) mod retries;
pub(crate) mod sampling;

use std::borrow::Cow;

use crate::config::Config;
use crate::pricing;
use crate::record::CallRecord;
use crate::redaction::Rules;

/// The post-processing that runs on the caller's thread: everything but the
/// content's scrubbing. `site_key` identifies the call site (for retries);
/// `refused` says whether the model refused.
pub(crate) fn post_process(
    record: &mut CallRecord,
    config: Option<&Config>,
    site_key: usize,
    refused: bool,
) {
    scrub_metadata(record);
    let price = match (&record.response_model, &record.request_model) {
        (Some(m), _) | (None, Some(m)) => pricing::lookup(m),
        _ => None,
    }
    .or_else(|| record.request_model.as_deref().and_then(pricing::lookup));
    if record.kind == "llm" {
        record.cost_usd = price
            .zip(record.usage.as_ref())
            .and_then(|(p, u)| p.cost(u));
    }
    levels::assess(record, config, price, site_key, refused);
}

/// Secrets masked in one piece of metadata (a bound value set on a span
/// when the call starts): secrets only, since ids are what filters and
/// per-tenant files are keyed by.
pub(crate) fn scrub_secrets(text: &str) -> Cow<'_, str> {
    crate::redaction::scrub_secrets(text)
}

/// Secrets masked in the record's metadata: the error text and its
/// diagnosis, and the bound context (user, session, tenant, tags, metadata).
fn scrub_metadata(record: &mut CallRecord) {
    Rules::global().scrub_metadata(record);
}

/// The content masked: prompts, the request, responses, tool-call
/// arguments and a tool step's arguments and result (personal data too
/// unless `LLM_REDACT=false`).
pub(crate) fn scrub_content(record: &mut CallRecord, config: Option<&Config>) {
    Rules::global().scrub_content(record, crate::redaction::pass::content_mode(config));
}

/// The response's content removed, for calls whose outputs keep none of it
/// (the audit log has hashed it by now): tool names stay, as metadata.
pub(crate) fn drop_response_content(record: &mut CallRecord) {
    record.response = None;
    record.tool_result = None;
    for call in &mut record.tool_calls {
        call.arguments.clear();
    }
}
