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
use crate::redaction::{redact_with, Mode};

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

/// Secrets masked in one piece of metadata (a bound value, an error text):
/// secrets only, since ids are what filters and per-tenant files are keyed
/// by, and e-mail-like or numeric text there is usually an identifier.
pub(crate) fn scrub_secrets(text: &str) -> Cow<'_, str> {
    redact_with(text, Mode::SecretsOnly)
}

fn scrub_in_place(text: &mut String) {
    if let Cow::Owned(masked) = scrub_secrets(text) {
        *text = masked;
    }
}

/// Secrets masked in the record's metadata: the error text and its
/// diagnosis, and the bound context (user, session, tenant, tags, metadata).
fn scrub_metadata(record: &mut CallRecord) {
    if let Some(error) = &mut record.error {
        scrub_in_place(&mut error.message);
        if let Some(d) = &mut error.diagnosis {
            scrub_in_place(&mut d.message);
        }
    }
    for text in [
        &mut record.user_id,
        &mut record.session_id,
        &mut record.tenant_id,
    ]
    .into_iter()
    .flatten()
    {
        scrub_in_place(text);
    }
    for tag in &mut record.tags {
        scrub_in_place(tag);
    }
    for value in record.metadata.values_mut() {
        crate::text::map_json_strings(value, &mut scrub_in_place);
    }
}

/// The content masked: prompts, the request, responses and tool-call
/// arguments.
pub(crate) fn scrub_content(record: &mut CallRecord, config: Option<&Config>) {
    crate::redaction_pass::apply(record, config);
    if let Some(request) = &mut record.request {
        let mode = if config.is_none_or(|c| c.redact) {
            Mode::All
        } else {
            Mode::SecretsOnly
        };
        crate::text::map_json_strings(request, &mut |text: &mut String| {
            if let Cow::Owned(masked) = redact_with(text, mode) {
                *text = masked;
            }
        });
    }
}

/// The response's content removed, for calls whose outputs keep none of it
/// (the audit log has hashed it by now): tool names stay, as metadata.
pub(crate) fn drop_response_content(record: &mut CallRecord) {
    record.response = None;
    for call in &mut record.tool_calls {
        call.arguments.clear();
    }
}
