//! The record of one instrumented call, as saved in conversation files.
//!
//! [`CallRecord`] is the documented, versioned schema of the files that
//! `LLM_SAVE_CONVERSATIONS` writes; read them back with [`CallRecord::from_json`]
//! or [`read_conversation`]. New optional fields may appear within a schema
//! version; a change that breaks readers bumps [`SCHEMA_VERSION`].

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capture::{CapturedError, Choice, ToolCall, Usage};
use crate::diagnostics::Diagnosis;

/// A record's text field: borrowed from the call site when it is known at
/// compile time (no allocation per call), owned when read back.
pub type Text = std::borrow::Cow<'static, str>;

/// The schema version written in every record's `schema` field.
pub const SCHEMA_VERSION: u32 = 1;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It returned a value that is not an error.
    Ok,
    /// It returned an error (`Err`, or a provider's error body).
    Error,
    /// It panicked; the panic went on unchanged.
    Panic,
    /// Its future was dropped before it completed.
    Cancelled,
}

impl Status {
    /// `"ok"`, `"error"`, `"panic"` or `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Panic => "panic",
            Status::Cancelled => "cancelled",
        }
    }
}

/// What the model answered (present only when content is recorded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseContent {
    /// The assistant's text (the first choice when there are several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A refusal given instead of content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Every choice, when there were several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
}

/// What a streamed call's stream did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Chunks that passed to the caller.
    pub chunks: u64,
    /// Whether the stream reached its end (false: dropped early, "abandoned").
    pub completed: bool,
}

/// What the HTTP middleware saw of a call's requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpExchange {
    /// The status of the last response, when one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How many times the request was sent (retries included).
    pub attempts: u32,
    /// The error class of each failed attempt before the last (`rate_limit`,
    /// `server_error`, `network`, …), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<String>,
}

/// The error a call ended with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The error's text.
    pub message: String,
    /// The error class (`error.type`): a diagnosis class such as
    /// `rate_limit` or `context_length`, or `panic`, or `cancelled`.
    #[serde(rename = "type")]
    pub error_type: String,
    /// The Rust type of the error, when it came from an `Err`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The HTTP status, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What kind of failure it is, what to do, and whether to retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
    /// Whether a retry can help (in log lines, which leave out the diagnosis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// The delay the provider asked for (in log lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The provider's error code (in log lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorRecord {
    /// The record of a returned error, diagnosed: `error_type` is the
    /// diagnosis class (`rate_limit`, `context_length`, …).
    pub fn diagnosed(e: CapturedError, provider_hint: Option<&str>) -> Self {
        let diagnosis = crate::diagnostics::diagnose_call(
            e.http_status,
            e.body.as_deref(),
            &e.message,
            provider_hint,
            e.transport,
            e.retry_after_ms,
        );
        ErrorRecord {
            error_type: diagnosis.class.as_str().to_owned(),
            type_name: Some(e.type_name),
            message: e.message,
            http_status: diagnosis.http_status.or(e.http_status),
            diagnosis: Some(diagnosis),
            ..ErrorRecord::default()
        }
    }
}

/// One instrumented call: the body of a saved conversation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Unique, time-ordered id of this call (UUID v7).
    pub request_id: String,
    /// The trace this call belongs to (W3C, 32 hex digits): the same for
    /// every call of one user request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// This call's span (W3C, 16 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The enclosing call's span, or the remote caller's (`traceparent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// The id of the HTTP request being served (`X-Request-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_request_id: Option<String>,
    /// The request id of the recorded call this one replays (`llm-traced
    /// replay`, or [`Context::with_replay_of`](crate::context::Context::with_replay_of)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// `llm` for a model call; `chain`, `agent`, `tool` or `retrieval` for a step.
    #[serde(default = "default_kind")]
    pub kind: Text,
    /// The bound user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The bound session (`gen_ai.conversation.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The bound tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The bound tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The bound metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// The name given with `name = "…"`, else the function's name.
    pub name: Text,
    /// The function's path (`my_app::llm::ask`).
    pub function: Text,
    /// `gen_ai.operation.name`: `chat`, `text_completion`, `embeddings`, …
    pub operation: Text,
    /// `gen_ai.provider.name`: `openai`, `anthropic`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Text>,
    /// The model asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    /// The provider's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// When the call started (UTC, RFC 3339, microseconds; readers take
    /// any number of fractional digits).
    #[serde(with = "rfc3339_micros")]
    pub started_at: DateTime<Utc>,
    /// When it ended.
    #[serde(with = "rfc3339_micros")]
    pub ended_at: DateTime<Utc>,
    /// The call's place among the calls this process started (0, 1, 2, …,
    /// in start order): what orders two calls that started in the same
    /// microsecond. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Wall time of the call, in milliseconds, to the microsecond.
    pub latency_ms: f64,
    /// How it ended.
    pub status: Status,
    /// The request messages, as the function's `messages` serialised (or
    /// taken from the request's `messages`, `contents` or `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Value>,
    /// The whole request, as the function's `request` serialised: model,
    /// messages, every parameter (temperature, max tokens, seed, stop
    /// sequences, …), tools and tool choice, response format. Scrubbed like
    /// the messages and kept under the same switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// What the content's masking replaced, counted per kind (`email`,
    /// `phone`, `api_key`, `named_secret`, a user pattern's name, …) over the
    /// request (else the messages: they are usually the request's own),
    /// response and tool-call arguments: present only when something was
    /// masked, since a masked prompt is not the original.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub masked: BTreeMap<String, u64>,
    /// The request's parameters (temperature, max tokens, stop sequences…)
    /// without its content, when the whole request is not recorded: for the
    /// OpenTelemetry span only, never saved.
    #[serde(skip)]
    pub request_parameters: Option<Value>,
    /// A tool step's call id (`tool_call_id = …`): the id of the model's
    /// tool call it answers. Not content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// A tool step's description, the first paragraph of its doc comment:
    /// for the OpenTelemetry span only (`gen_ai.tool.description`), never
    /// saved.
    #[serde(skip)]
    pub tool_description: Option<Text>,
    /// A tool step's arguments (`arguments = …`, else its own `Serialize`
    /// arguments keyed by name): prompt content, scrubbed like the messages
    /// and kept under the same switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_arguments: Option<Value>,
    /// A tool step's result (its `Serialize` return value, or the `Ok` value
    /// of a `Result`): response content, scrubbed like the response and kept
    /// under the same switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<Value>,
    /// What the model answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseContent>,
    /// Tool calls the model asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Finish reasons, one per choice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// The error, when the call did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
    /// The estimated cost in USD, from the price table; absent (never 0) for
    /// a model the table does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Streams: time from the call's start to the first chunk, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_chunk_ms: Option<f64>,
    /// Streams: how many chunks passed and whether the stream ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamRecord>,
    /// The host the request went to (`server.address`), when the call was
    /// seen on the wire (the HTTP middleware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    /// Its port (`server.port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u16>,
    /// What the HTTP middleware saw: the final status and the attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpExchange>,
    /// `info`, `warn` or `error` (see `levels` for what sets each).
    #[serde(default = "default_level")]
    pub level: Text,
    /// Why the level is `warn`: `slow`, `truncated`, `content_filtered`,
    /// `near_context_limit`, `retry`, `budget_exceeded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl CallRecord {
    /// Parses a record from JSON text, checking the schema version.
    pub fn from_json(text: &str) -> Result<Self, ReadError> {
        let value: Value = serde_json::from_str(text).map_err(ReadError::Json)?;
        match value.get("schema").and_then(Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => return Err(ReadError::Schema(v)),
            None => return Err(ReadError::NotARecord),
        }
        serde_json::from_value(value).map_err(ReadError::Json)
    }

    /// Appends the record as pretty JSON, as a conversation file holds it.
    /// Not generic, so that the serializer is compiled here, once, and not
    /// in every crate that writes records.
    pub fn write_pretty(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(out, self)
    }

    /// Appends the record as one line of JSON (no newline), as the JSON log
    /// holds it.
    pub fn write_line(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }

    /// The record as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn default_level() -> Text {
    Text::Borrowed("info")
}

fn default_kind() -> Text {
    Text::Borrowed("llm")
}

/// Reads a saved conversation file.
pub fn read_conversation(path: impl AsRef<Path>) -> Result<CallRecord, ReadError> {
    let text = std::fs::read_to_string(path).map_err(ReadError::Io)?;
    CallRecord::from_json(&text)
}

/// Why a record could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The text is not valid JSON or not a record.
    Json(serde_json::Error),
    /// The JSON has no `schema` field: not an llm-traced record.
    NotARecord,
    /// The record has a schema version this build does not read.
    Schema(u64),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read the file: {e}"),
            ReadError::Json(e) => write!(f, "not a valid llm-traced record: {e}"),
            ReadError::NotARecord => f.write_str("not an llm-traced record (no `schema` field)"),
            ReadError::Schema(v) => write!(
                f,
                "record schema version {v} is not supported (this build reads version {SCHEMA_VERSION})"
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Json(e) => Some(e),
            _ => None,
        }
    }
}

/// Serde for UTC timestamps as RFC 3339 with microseconds
/// (`2026-11-27T08:35:16.123456Z`): the calls' start and end.
pub mod rfc3339_micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserializer, Serializer};

    /// Writes `2026-11-27T08:35:16.123456Z`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// Reads any RFC 3339 timestamp (milliseconds, as older records have
    /// them, included).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        super::rfc3339_millis::deserialize(d)
    }
}

/// Serde for UTC timestamps as RFC 3339 with milliseconds
/// (`2026-11-27T08:35:16.123Z`): when a score was given.
pub mod rfc3339_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `2026-11-27T08:35:16.123Z`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// One score as the JSON log and the file beside a conversation hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    /// Always `"score"`: what tells these lines from the calls'.
    #[serde(rename = "type")]
    pub kind: String,
    /// The score's name.
    pub name: String,
    /// The number, for numbers and yes/no (1 or 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The label, for labels and yes/no (`"true"`/`"false"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Why (scrubbed of secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When the score was given.
    #[serde(with = "crate::record::rfc3339_millis")]
    pub scored_at: DateTime<Utc>,
    /// The scored call's request id.
    pub request_id: String,
    /// The scored call's trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The scored call's span id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The scored call's function path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The model that answered (or was asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The provider's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// The scored call's tenant (its log file when the log is split by tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

impl ScoreLine {
    /// A line read back, or why it is not one.
    pub fn from_json(line: &str) -> serde_json::Result<ScoreLine> {
        serde_json::from_str(line)
    }

    /// The line's JSON, without its newline.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }

    /// A line about the call `record`, before a score's name and value are
    /// put in: the call's request, trace and span ids, function, model (the
    /// one that answered, else the one asked for), response id and tenant.
    pub fn about(record: &CallRecord) -> ScoreLine {
        ScoreLine {
            kind: "score".to_owned(),
            name: String::new(),
            value: None,
            label: None,
            comment: None,
            author: None,
            scored_at: Utc::now(),
            request_id: record.request_id.clone(),
            trace_id: record.trace_id.clone(),
            span_id: record.span_id.clone(),
            function: Some(record.function.to_string()),
            model: record
                .response_model
                .clone()
                .or_else(|| record.request_model.clone()),
            response_id: record.response_id.clone(),
            tenant_id: record.tenant_id.clone(),
        }
    }
}
