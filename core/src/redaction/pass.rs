//! The pass over a record before it reaches any output: content (messages,
//! response text, tool calls) loses personal data unless `LLM_REDACT=false`
//! and secrets always; error text and the bound context (user, session,
//! tenant, tags, metadata) lose secrets only, since ids are what filters,
//! per-tenant files and audit entries are keyed by.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use super::{Mode, Rules};
use crate::config::Config;
use crate::context::Bound;
use crate::record::CallRecord;

/// The text a masked structured value becomes: it names nothing secret.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// The content's mode: personal data too unless `LLM_REDACT=false`.
#[doc(hidden)]
pub fn content_mode(config: Option<&Config>) -> Mode {
    if config.is_none_or(|c| c.redact) {
        Mode::All
    } else {
        Mode::SecretsOnly
    }
}

impl Rules {
    /// Masks a record: content in `mode`, error text and bound context for
    /// secrets only.
    pub fn scrub_record(&self, record: &mut CallRecord, mode: Mode) {
        self.scrub_metadata(record);
        self.scrub_content(record, mode);
    }

    /// Masks a record's content in `mode`: the messages, the request, the
    /// response, tool-call arguments and a tool step's arguments and result. What was masked is counted per kind
    /// in [`CallRecord::masked`] (`email`, `api_key`, `named_secret`, a user
    /// pattern's name, …), since a masked prompt is not the original.
    pub fn scrub_content(&self, record: &mut CallRecord, mode: Mode) {
        let counts = &mut std::mem::take(&mut record.masked);
        // The messages are usually the request's own: counted once, in the
        // request, when there is one.
        if let Some(messages) = &mut record.messages {
            let mut apart = Counts::new();
            let into = if record.request.is_some() {
                &mut apart
            } else {
                &mut *counts
            };
            self.scrub_json_counted(messages, mode, into);
        }
        if let Some(request) = &mut record.request {
            self.scrub_json_counted(request, mode, counts);
        }
        if let Some(response) = &mut record.response {
            for text in [&mut response.text, &mut response.refusal]
                .into_iter()
                .flatten()
            {
                self.scrub_string_counted(text, mode, counts);
            }
            for choice in &mut response.choices {
                if let Some(text) = &mut choice.text {
                    self.scrub_string_counted(text, mode, counts);
                }
            }
        }
        for call in &mut record.tool_calls {
            self.scrub_string_counted(&mut call.arguments, mode, counts);
        }
        for tool in [&mut record.tool_arguments, &mut record.tool_result]
            .into_iter()
            .flatten()
        {
            self.scrub_json_counted(tool, mode, counts);
        }
        record.masked = std::mem::take(counts);
    }

    /// Masks a record's metadata for secrets only: the error text and its
    /// diagnosis, the bound context and a tool step's call id.
    pub fn scrub_metadata(&self, record: &mut CallRecord) {
        if let Some(error) = &mut record.error {
            // Secrets only: the message is metadata, and e-mail-like or numeric
            // text in it is usually an identifier, not personal data.
            self.scrub_string(&mut error.message, Mode::SecretsOnly);
            if let Some(code) = &mut error.code {
                self.scrub_string(code, Mode::SecretsOnly);
            }
            if let Some(diagnosis) = &mut error.diagnosis {
                let texts = [&mut diagnosis.message, &mut diagnosis.summary]
                    .into_iter()
                    .chain(diagnosis.suggestions.iter_mut());
                for text in texts {
                    self.scrub_string(text, Mode::SecretsOnly);
                }
            }
        }
        for id in [
            &mut record.user_id,
            &mut record.session_id,
            &mut record.tenant_id,
            &mut record.http_request_id,
            &mut record.tool_call_id,
        ]
        .into_iter()
        .flatten()
        {
            self.scrub_string(id, Mode::SecretsOnly);
        }
        for tag in &mut record.tags {
            self.scrub_string(tag, Mode::SecretsOnly);
        }
        self.scrub_map(&mut record.metadata);
    }

    /// Masks the secrets in bound values (user, session, tenant, tags,
    /// metadata), never personal data.
    pub fn scrub_bound(&self, bound: &mut Bound) {
        for id in [
            &mut bound.user_id,
            &mut bound.session_id,
            &mut bound.tenant_id,
        ]
        .into_iter()
        .flatten()
        {
            self.scrub_string(id, Mode::SecretsOnly);
        }
        for tag in &mut bound.tags {
            self.scrub_string(tag, Mode::SecretsOnly);
        }
        self.scrub_map(&mut bound.metadata);
    }

    /// Metadata: a value under a secret key is masked, others are walked;
    /// keys that hold a secret themselves are masked too.
    fn scrub_map(&self, map: &mut std::collections::BTreeMap<String, Value>) {
        let renamed: Vec<(String, String)> = map
            .keys()
            .filter_map(|k| match self.redact(k, Mode::SecretsOnly) {
                Cow::Owned(masked) => Some((k.clone(), masked)),
                Cow::Borrowed(_) => None,
            })
            .collect();
        for (old, new) in renamed {
            if let Some(v) = map.remove(&old) {
                map.insert(new, v);
            }
        }
        let counts = &mut Counts::new();
        for (key, value) in map.iter_mut() {
            self.scrub_entry(key, value, Mode::SecretsOnly, counts);
        }
    }

    fn scrub_entry(&self, key: &str, value: &mut Value, mode: Mode, counts: &mut Counts) -> bool {
        let scalar = match value {
            Value::String(s) => !s.is_empty(),
            Value::Number(_) => true,
            _ => false,
        };
        if scalar && self.is_secret_key(key) {
            if value.as_str() == Some(REDACTED) {
                return false;
            }
            *value = Value::String(REDACTED.to_owned());
            *counts.entry(NAMED_SECRET.to_owned()).or_default() += 1;
            return true;
        }
        self.scrub_json_counted(value, mode, counts)
    }

    /// Masks a JSON value in place: strings are scanned (and parsed, when
    /// they hold JSON, so that tool arguments and results get key names
    /// too); a string or number under a key that names a secret becomes
    /// `"[REDACTED]"`; objects and arrays under such a key are walked.
    /// Returns whether anything changed.
    pub fn scrub_json(&self, value: &mut Value, mode: Mode) -> bool {
        self.scrub_json_counted(value, mode, &mut Counts::new())
    }

    fn scrub_json_counted(&self, value: &mut Value, mode: Mode, counts: &mut Counts) -> bool {
        match value {
            Value::String(s) => self.scrub_string_counted(s, mode, counts),
            Value::Array(items) => items.iter_mut().fold(false, |changed, v| {
                self.scrub_json_counted(v, mode, counts) | changed
            }),
            Value::Object(map) => map.iter_mut().fold(false, |changed, (k, v)| {
                self.scrub_entry(k, v, mode, counts) | changed
            }),
            _ => false,
        }
    }

    /// Masks a string in place; one holding a JSON object or array (tool-call
    /// arguments, a tool's result) is walked as JSON, then scanned as text.
    /// Returns whether anything changed.
    pub fn scrub_string(&self, text: &mut String, mode: Mode) -> bool {
        self.scrub_string_counted(text, mode, &mut Counts::new())
    }

    fn scrub_string_counted(&self, text: &mut String, mode: Mode, counts: &mut Counts) -> bool {
        let trimmed = text.trim();
        let json_like = (trimmed.starts_with('{') && trimmed.ends_with('}'))
            || (trimmed.starts_with('[') && trimmed.ends_with(']'));
        let mut changed = false;
        if json_like {
            if let Ok(mut inner) = serde_json::from_str::<Value>(trimmed) {
                if self.scrub_json_counted(&mut inner, mode, counts) {
                    *text = inner.to_string();
                    changed = true;
                }
            }
        }
        let spans = self.find(text, mode);
        if !spans.is_empty() {
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for (range, placeholder) in spans {
                // A placeholder masked again (a JSON string walked, then
                // scanned) is not a new match.
                if text[range.clone()] != *placeholder {
                    *counts.entry(kind_name(placeholder)).or_default() += 1;
                }
                out.push_str(&text[last..range.start]);
                out.push_str(placeholder);
                last = range.end;
            }
            out.push_str(&text[last..]);
            *text = out;
            changed = true;
        }
        changed
    }
}

/// Masked matches per kind name.
type Counts = BTreeMap<String, u64>;

/// The kind name of a value masked because its key names a secret.
const NAMED_SECRET: &str = "named_secret";

/// The name a placeholder is counted under: the [`super::Kind`]'s name in
/// snake case for the built-in detectors, a user pattern's own name
/// (`[EMPLOYEE_ID]` → `employee_id`), `named_secret` for `[REDACTED]`
/// (a `key: value` secret or an unnamed user pattern).
fn kind_name(placeholder: &str) -> String {
    let known = match placeholder {
        "[EMAIL]" => "email",
        "[PHONE]" => "phone",
        "[SSN]" => "ssn",
        "[CARD]" => "card_number",
        "[IP]" => "ip_address",
        "[API_KEY]" => "api_key",
        "[AWS_KEY]" => "aws_access_key",
        "[GITHUB_TOKEN]" => "github_token",
        "[JWT]" => "jwt",
        "[BEARER_TOKEN]" => "bearer_token",
        "[PRIVATE_KEY]" => "private_key",
        "[TOKEN]" => "access_token",
        "[WEBHOOK]" => "webhook_url",
        "[PASSWORD]" => "password",
        "[BASIC_AUTH]" => "basic_credentials",
        REDACTED => NAMED_SECRET,
        other => return other.trim_matches(['[', ']']).to_ascii_lowercase(),
    };
    known.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> CallRecord {
        let mut base = json!({
            "schema": 1, "request_id": "r", "kind": "llm", "name": "ask", "function": "f",
            "operation": "chat", "started_at": "2026-11-27T08:35:16.123Z",
            "ended_at": "2026-11-27T08:35:16.124Z", "latency_ms": 1.0, "status": "ok",
        });
        base.as_object_mut()
            .unwrap()
            .extend(value.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn content_json_strings_and_bound_values() {
        let token = format!("ghp_{}", "aB3".repeat(12));
        let mut r = record(json!({
            "user_id": "jane@example.com", "tenant_id": "acme", "session_id": token,
            "tags": [format!("token={token}"), "beta"],
            "metadata": {"api_key": "plain-looking", "retries": 3, "pin": 1234,
                         "nested": {"client_secret": 42, "schema": {"password": {"type": "string"}}}},
            "messages": [
                {"role": "user", "content": "mail jane@example.com, password: hunter2"},
                {"role": "tool", "content": "{\"password\":\"hunter2\",\"rows\":3}"},
            ],
            "tool_calls": [{"name": "login", "arguments": "{\"user\": \"jane\", \"apiKey\": 12345}"}],
            "error": {"message": format!("bad key {token} for jane@example.com"), "type": "authentication"},
        }));
        Rules::new()
            .with_keys(["pin"])
            .scrub_record(&mut r, Mode::All);
        // Ids keep personal data (they are keys); secrets go.
        assert_eq!(r.user_id.as_deref(), Some("jane@example.com"));
        assert_eq!(r.tenant_id.as_deref(), Some("acme"));
        assert_eq!(r.session_id.as_deref(), Some("[GITHUB_TOKEN]"));
        assert_eq!(r.tags, ["token=[GITHUB_TOKEN]", "beta"]);
        let m = serde_json::to_value(&r.metadata).unwrap();
        assert_eq!(
            m,
            json!({"api_key": "[REDACTED]", "retries": 3, "pin": "[REDACTED]",
                   "nested": {"client_secret": "[REDACTED]", "schema": {"password": {"type": "string"}}}})
        );
        let messages = r.messages.clone().unwrap();
        assert_eq!(messages[0]["content"], "mail [EMAIL], password: [REDACTED]");
        let tool: Value = serde_json::from_str(messages[1]["content"].as_str().unwrap()).unwrap();
        assert_eq!(tool, json!({"password": "[REDACTED]", "rows": 3}));
        let args: Value = serde_json::from_str(&r.tool_calls[0].arguments).unwrap();
        assert_eq!(args, json!({"user": "jane", "apiKey": "[REDACTED]"}));
        // Content masks are counted per kind; metadata masks are not content.
        let masked = serde_json::to_value(&r.masked).unwrap();
        assert_eq!(masked, json!({"email": 1, "named_secret": 3}));
        // Scrubbing again finds nothing new: the counts stay.
        Rules::new().scrub_content(&mut r, Mode::All);
        assert_eq!(serde_json::to_value(&r.masked).unwrap(), masked);
        assert_eq!(
            r.error.unwrap().message,
            "bad key [GITHUB_TOKEN] for jane@example.com"
        );
    }

    #[test]
    fn masked_kinds_are_counted_and_absent_when_nothing_was_masked() {
        let key = format!("sk-proj-{}", "x1".repeat(12));
        let mut r = record(json!({
            "request": {"model": "m", "messages": [{"role": "user",
                "content": format!("call +44 20 7946 0958 or bob@example.com, ann@example.org; key {key}")}]},
            // Taken from the request: masked too, counted once.
            "messages": [{"role": "user",
                "content": format!("call +44 20 7946 0958 or bob@example.com, ann@example.org; key {key}")}],
            "response": {"text": "EMP-123456 noted"},
        }));
        let (rules, _) = Rules::new().with_patterns("p", "employee_id: EMP-[0-9]{6}");
        rules.scrub_content(&mut r, Mode::All);
        let line = serde_json::to_value(&r).unwrap();
        assert!(!line["messages"].to_string().contains("bob@"), "{line}");
        assert_eq!(
            line["masked"],
            json!({"api_key": 1, "email": 2, "employee_id": 1, "phone": 1})
        );
        let mut clean = record(json!({"messages": [{"role": "user", "content": "hello"}]}));
        rules.scrub_content(&mut clean, Mode::All);
        assert!(serde_json::to_value(&clean)
            .unwrap()
            .get("masked")
            .is_none());
    }

    #[test]
    fn bound_values_lose_secrets_only() {
        let mut bound = Bound {
            user_id: Some("+1 415 555 2671".into()),
            tags: vec![format!("sk-proj-{}", "x1".repeat(12))],
            ..Bound::default()
        };
        bound
            .metadata
            .insert("password".into(), Value::String("pw".into()));
        Rules::new().scrub_bound(&mut bound);
        assert_eq!(bound.user_id.as_deref(), Some("+1 415 555 2671"));
        assert_eq!(bound.tags, ["[API_KEY]"]);
        assert_eq!(bound.metadata["password"], "[REDACTED]");
    }
}
