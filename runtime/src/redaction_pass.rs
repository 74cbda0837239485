//! Masks recorded content before it reaches any output: personal data unless
//! `LLM_REDACT=false`, secrets always. Error messages are content's neighbours
//! (providers echo keys in them), so they get the same treatment.

use crate::config::Config;
use crate::record::CallRecord;
use crate::redaction::{redact_with, Mode};

pub(crate) fn apply(record: &mut CallRecord, config: Option<&Config>) {
    let mode = if config.is_none_or(|c| c.redact) {
        Mode::All
    } else {
        Mode::SecretsOnly
    };
    let mut mask = |text: &mut String| {
        if let std::borrow::Cow::Owned(masked) = redact_with(text, mode) {
            *text = masked;
        }
    };
    if let Some(messages) = &mut record.messages {
        crate::text::map_json_strings(messages, &mut mask);
    }
    if let Some(response) = &mut record.response {
        for text in [&mut response.text, &mut response.refusal]
            .into_iter()
            .flatten()
        {
            mask(text);
        }
        for choice in &mut response.choices {
            if let Some(text) = &mut choice.text {
                mask(text);
            }
        }
    }
    for call in &mut record.tool_calls {
        mask(&mut call.arguments);
    }
    if let Some(error) = &mut record.error {
        // Secrets only: the message is metadata, and e-mail-like or numeric
        // text in it is usually an identifier, not personal data.
        for text in std::iter::once(&mut error.message)
            .chain(error.diagnosis.as_mut().map(|d| &mut d.message))
        {
            if let std::borrow::Cow::Owned(masked) = redact_with(text, Mode::SecretsOnly) {
                *text = masked;
            }
        }
    }
}
