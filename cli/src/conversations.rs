//! Saved conversations, as every command reads them: the files of a
//! directory (by name, which is by start time), a whole record when one is
//! shown, and only the metadata ([`Meta`]: no message bodies built) when
//! calls are listed or indexed, so that a listing's memory stays small
//! however large the files are.

use std::path::{Path, PathBuf};

use llm_traced_runtime::capture::Usage;
use llm_traced_runtime::record::{CallRecord, ReadError, Status};
use serde::Deserialize;

/// A conversation file, read.
pub struct Loaded {
    /// Its path.
    pub path: PathBuf,
    /// Its text, as saved.
    pub text: String,
    /// The record.
    pub record: CallRecord,
}

/// Why a file was left out.
pub enum Skip {
    /// It could not be read (exit 3 when it was named explicitly).
    Unreadable(PathBuf, std::io::Error),
    /// It is not an llm-traced record (exit 1).
    NotARecord(PathBuf, ReadError),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Unreadable(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            Skip::NotARecord(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

/// Reads one conversation file.
pub fn load(path: &Path) -> Result<Loaded, Skip> {
    let text = std::fs::read_to_string(path).map_err(|e| Skip::Unreadable(path.to_owned(), e))?;
    let record = CallRecord::from_json(&text).map_err(|e| Skip::NotARecord(path.to_owned(), e))?;
    Ok(Loaded {
        path: path.to_owned(),
        text,
        record,
    })
}

/// The conversation files of a directory (`*.json`, not hidden), by name.
pub fn conversation_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
                && p.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The metadata of a record, as read from a file or a log line: every
/// field the index keeps and nothing else (message bodies are skipped
/// without being built).
#[derive(Debug, Deserialize)]
pub struct Meta {
    pub(crate) schema: Option<u64>,
    pub(crate) request_id: String,
    #[serde(default)]
    pub(crate) trace_id: Option<String>,
    #[serde(default)]
    pub(crate) span_id: Option<String>,
    #[serde(default)]
    pub(crate) parent_span_id: Option<String>,
    #[serde(default)]
    pub(crate) kind: Option<String>,
    pub(crate) name: String,
    pub(crate) function: String,
    #[serde(default)]
    pub(crate) provider: Option<String>,
    #[serde(default)]
    pub(crate) request_model: Option<String>,
    #[serde(default)]
    pub(crate) response_model: Option<String>,
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    #[serde(default)]
    pub(crate) session_id: Option<String>,
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    pub(crate) started_at: String,
    #[serde(default)]
    pub(crate) seq: Option<u64>,
    pub(crate) latency_ms: f64,
    pub(crate) status: Status,
    #[serde(default)]
    pub(crate) error: Option<MetaError>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
    #[serde(default)]
    pub(crate) cost_usd: Option<f64>,
    #[serde(default)]
    pub(crate) level: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MetaError {
    #[serde(default, rename = "type")]
    pub(crate) error_type: Option<String>,
}

impl Meta {
    /// Reads a record's metadata, checking what `CallRecord::from_json`
    /// checks: JSON, a record (a `schema` field) of the version this build reads.
    pub fn parse(bytes: &[u8]) -> Result<Meta, String> {
        let meta: Meta = serde_json::from_slice(bytes).map_err(|e| {
            if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
                format!("not valid JSON: {e}")
            } else {
                format!("not an llm-traced record: {e}")
            }
        })?;
        match meta.schema {
            Some(v) if v == u64::from(llm_traced_runtime::record::SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "record schema version {v} is not supported (this build reads version {})",
                    llm_traced_runtime::record::SCHEMA_VERSION
                ))
            }
            None => return Err("not an llm-traced record (no `schema` field)".to_owned()),
        }
        if crate::when::rfc3339_micros(&meta.started_at).is_none() {
            return Err(format!("`started_at` is not a time: {}", meta.started_at));
        }
        if !meta.latency_ms.is_finite() {
            return Err("`latency_ms` is not a number".to_owned());
        }
        if meta.request_id.is_empty() {
            return Err("`request_id` is empty".to_owned());
        }
        Ok(meta)
    }
}

/// Where a call goes among others, first to last: by start, to the
/// microsecond; then, for calls that started in the same microsecond, by
/// their place in the process's start order (`seq`: records written before
/// it existed come first); then by request id (monotonic within a process).
/// Every command that orders calls sorts by it, so that fast steps of one
/// trace are listed in the order they ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Order<'a> {
    /// The start, epoch microseconds.
    pub started_us: i64,
    /// The record's `seq`.
    pub seq: Option<u64>,
    /// The request id.
    pub request_id: &'a str,
}

impl<'a> Order<'a> {
    /// A whole record's place.
    pub fn of_record(r: &'a CallRecord) -> Self {
        Order {
            started_us: r.started_at.timestamp_micros(),
            seq: r.seq,
            request_id: &r.request_id,
        }
    }
}

/// A tool call in a message, in the OpenAI shape (`function.name`,
/// `function.arguments`) or a flat one (`name`, `arguments`): its name
/// (`?` when absent) and its arguments.
pub fn tool_call_parts(call: &serde_json::Value) -> (&str, Option<&serde_json::Value>) {
    let function = call.get("function");
    let name = function
        .and_then(|f| f.get("name"))
        .or_else(|| call.get("name"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?");
    let arguments = function
        .and_then(|f| f.get("arguments"))
        .or_else(|| call.get("arguments"));
    (name, arguments)
}

/// The filters `ls` and `export` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Filter {
    /// Only calls whose model (asked for or answering) contains this text.
    #[arg(long)]
    pub model: Option<String>,
    /// Only calls that did not succeed.
    #[arg(long)]
    pub errors: bool,
    /// Only calls that started at or after this time.
    #[arg(long, value_parser = crate::when::parse_when, value_name = "TIME")]
    pub since: Option<i64>,
    /// Only calls that started before this time.
    #[arg(long, value_parser = crate::when::parse_when, value_name = "TIME")]
    pub until: Option<i64>,
    /// Only calls of this trace (a prefix of the trace id is enough).
    #[arg(long, value_name = "TRACE_ID")]
    pub trace: Option<String>,
    /// Only calls of this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Only calls of this user.
    #[arg(long)]
    pub user: Option<String>,
}

/// What [`Filter`] looks at in a call, from a whole record or its metadata.
pub struct Call<'a> {
    request_model: Option<&'a str>,
    response_model: Option<&'a str>,
    status: Status,
    /// The start, epoch microseconds.
    started: i64,
    trace_id: Option<&'a str>,
    session_id: Option<&'a str>,
    user_id: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// From a listing's metadata.
    pub fn of_meta(m: &'a Meta, started: i64) -> Self {
        Call {
            request_model: m.request_model.as_deref(),
            response_model: m.response_model.as_deref(),
            status: m.status,
            started,
            trace_id: m.trace_id.as_deref(),
            session_id: m.session_id.as_deref(),
            user_id: m.user_id.as_deref(),
        }
    }

    /// From a whole record.
    pub fn of_record(r: &'a CallRecord, started: i64) -> Self {
        Call {
            request_model: r.request_model.as_deref(),
            response_model: r.response_model.as_deref(),
            status: r.status,
            started,
            trace_id: r.trace_id.as_deref(),
            session_id: r.session_id.as_deref(),
            user_id: r.user_id.as_deref(),
        }
    }
}

impl Filter {
    /// Whether `call` passes every filter given.
    pub fn matches(&self, call: &Call<'_>) -> bool {
        if let Some(model) = &self.model {
            let needle = model.to_lowercase();
            let hit = [call.request_model, call.response_model]
                .into_iter()
                .flatten()
                .any(|m| m.to_lowercase().contains(&needle));
            if !hit {
                return false;
            }
        }
        if (self.errors && call.status == Status::Ok)
            || self
                .since
                .is_some_and(|s| call.started < s.saturating_mul(1000))
            || self
                .until
                .is_some_and(|u| call.started >= u.saturating_mul(1000))
        {
            return false;
        }
        if let Some(trace) = &self.trace {
            let hit = call
                .trace_id
                .is_some_and(|t| t.to_lowercase().starts_with(&trace.to_lowercase()));
            if !hit {
                return false;
            }
        }
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        same(&self.session, call.session_id) && same(&self.user, call.user_id)
    }
}
