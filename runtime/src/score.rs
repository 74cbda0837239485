//! Scores: a judgement attached to a call (user feedback, an evaluator's
//! grade), during the call or any time after it in the same process.
//!
//! ```
//! # async fn example() {
//! // Inside an instrumented call (or a function it calls): this call.
//! let _ = llm_traced_runtime::score("helpfulness", 0.9).comment("clear answer").record();
//! // Later, for a call whose request id you kept (from
//! // `llm_traced::score::last_request_id()` right after it, for instance):
//! # let request_id = "019a0000-0000-7000-8000-000000000001";
//! let _ = llm_traced_runtime::score("thumbs_up", true)
//!     .request(request_id)
//!     .author("user:42")
//!     .record();
//! # }
//! ```
//!
//! Each score is its own record, written where the call went:
//!
//! - a `"type": "score"` line in the JSON log (`LLM_LOG_FILE`), with the
//!   call's request id, function and model, which `llm-traced stats` reads;
//! - a line in `<conversation>.scores.jsonl` beside the saved conversation
//!   (`LLM_SAVE_CONVERSATIONS`), appended under a file lock, which
//!   `llm-traced show`, `ls` and `serve` merge;
//! - with the `otel` feature and [`otel`](crate::otel) set up, a
//!   `gen_ai.evaluation.result` event: an OpenTelemetry log record in the
//!   call's trace and span.
//!
//! A score given during a call is written when the call ends (its model and
//! response id are known then). Comments are scrubbed of secrets.

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::context::{Context, SpanId};
use crate::record::CallRecord;

/// A score's value: a number, a label or a yes/no.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreValue {
    /// A number (a grade, a probability, a rating).
    Number(f64),
    /// A label (`"correct"`, `"off-topic"`).
    Label(String),
    /// Yes or no (thumbs up or down): written as the number 1 or 0 and the
    /// label `"true"` or `"false"`.
    Bool(bool),
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl From<$t> for ScoreValue {
            fn from(x: $t) -> Self {
                ScoreValue::Number(x as f64)
            }
        }
    )*};
}
number!(f64, f32, i32, i64, u32, u64, u8);

impl From<bool> for ScoreValue {
    fn from(b: bool) -> Self {
        ScoreValue::Bool(b)
    }
}

impl From<&str> for ScoreValue {
    fn from(s: &str) -> Self {
        ScoreValue::Label(s.to_owned())
    }
}

impl From<String> for ScoreValue {
    fn from(s: String) -> Self {
        ScoreValue::Label(s)
    }
}

impl ScoreValue {
    /// Reads a value as the command line gives it: `true`/`false`, a
    /// number, or else a label.
    pub fn parse(text: &str) -> ScoreValue {
        match text.trim() {
            "true" => ScoreValue::Bool(true),
            "false" => ScoreValue::Bool(false),
            t => match t.parse::<f64>() {
                Ok(x) if x.is_finite() => ScoreValue::Number(x),
                _ => ScoreValue::Label(text.to_owned()),
            },
        }
    }

    /// The number a line holds: the number, or 1/0 for yes/no.
    pub fn number(&self) -> Option<f64> {
        match self {
            ScoreValue::Number(x) => Some(*x),
            ScoreValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            ScoreValue::Label(_) => None,
        }
    }

    /// The label a line holds: the label, or `"true"`/`"false"`.
    pub fn label(&self) -> Option<String> {
        match self {
            ScoreValue::Number(_) => None,
            ScoreValue::Bool(b) => Some(b.to_string()),
            ScoreValue::Label(l) => Some(l.clone()),
        }
    }
}

/// A score about to be recorded: see [`score`].
#[derive(Debug, Clone)]
#[must_use = "a score is only recorded by `.record()`"]
pub struct Score {
    name: String,
    value: ScoreValue,
    comment: Option<String>,
    author: Option<String>,
    request_id: Option<String>,
}

/// A score named `name` for the call running now; [`Score::request`] names
/// another call. Nothing is written until [`Score::record`].
pub fn score(name: impl Into<String>, value: impl Into<ScoreValue>) -> Score {
    Score {
        name: name.into(),
        value: value.into(),
        comment: None,
        author: None,
        request_id: None,
    }
}

/// Why a score could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScoreError {
    /// No request id was given and no instrumented call is running.
    NoCall,
    /// No call with this request id ended in this process (recently): use
    /// `llm-traced score` for calls of other processes.
    UnknownCall(String),
}

impl fmt::Display for ScoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScoreError::NoCall => {
                f.write_str("no call to score: none is running and no request id was given")
            }
            ScoreError::UnknownCall(id) => write!(
                f,
                "no call {id} ended in this process (use `llm-traced score` for others)"
            ),
        }
    }
}

impl std::error::Error for ScoreError {}

impl Score {
    /// Why: the grader's reasoning, the user's words (scrubbed of secrets).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Who scored: a user, an evaluator, a model.
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// The call to score, by its request id, instead of the running one.
    pub fn request(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Records the score: at once for a call that has ended, when it ends
    /// for the running one.
    pub fn record(self) -> Result<(), ScoreError> {
        if let Some(id) = self.request_id.clone() {
            let find = || recent().iter().rev().find(|c| c.request_id == id).cloned();
            // A call that has just ended may still be on its way through the
            // record writer, which remembers it.
            let info = find().or_else(|| {
                crate::outputs::files::flush_timeout(std::time::Duration::from_secs(5));
                find()
            });
            let Some(info) = info else {
                return Err(ScoreError::UnknownCall(id));
            };
            write(&info, &self);
            return Ok(());
        }
        let span = Context::current().span_id().ok_or(ScoreError::NoCall)?;
        let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
        }
        pending.push_back((span, self));
        HAS_PENDING.store(true, Ordering::Release);
        Ok(())
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

/// What is kept of a call that ended, for scores given later.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallInfo {
    request_id: String,
    trace_id: Option<String>,
    span_id: Option<String>,
    function: Option<String>,
    model: Option<String>,
    response_id: Option<String>,
    tenant_id: Option<String>,
    /// Where the saved conversation is, when conversations are saved: its
    /// directory, start and name (the file's path is made only when a
    /// score is written, not for every call).
    conversation: Option<(&'static Path, DateTime<Utc>, crate::record::Text)>,
    /// The configuration the call ran under (where its JSON log is).
    config: Option<&'static Config>,
}

impl CallInfo {
    fn of(record: &CallRecord, config: Option<&'static Config>) -> CallInfo {
        let conversation = config.filter(|c| c.save_conversations).map(|c| {
            (
                c.conversations_dir.as_path(),
                record.started_at,
                record.name.clone(),
            )
        });
        CallInfo {
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
            conversation,
            config,
        }
    }

    /// The line a score of this call is written as.
    fn line(
        &self,
        name: &str,
        value: &ScoreValue,
        comment: Option<&str>,
        author: Option<&str>,
    ) -> ScoreLine {
        ScoreLine {
            kind: "score".to_owned(),
            name: name.to_owned(),
            value: value.number(),
            label: value.label(),
            comment: comment.map(|c| crate::pipeline::scrub_secrets(c).into_owned()),
            author: author.map(str::to_owned),
            scored_at: Utc::now(),
            request_id: self.request_id.clone(),
            trace_id: self.trace_id.clone(),
            span_id: self.span_id.clone(),
            function: self.function.clone(),
            model: self.model.clone(),
            response_id: self.response_id.clone(),
            tenant_id: self.tenant_id.clone(),
        }
    }
}

const MAX_RECENT: usize = 10_000;
const MAX_PENDING: usize = 1_000;

static RECENT: Mutex<VecDeque<CallInfo>> = Mutex::new(VecDeque::new());
static PENDING: Mutex<VecDeque<(SpanId, Score)>> = Mutex::new(VecDeque::new());
static HAS_PENDING: AtomicBool = AtomicBool::new(false);
/// Set while an OpenTelemetry logs pipeline takes scores.
pub(crate) static EXPORTERS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LAST: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The request id of the last call that ended on this thread, to score it
/// later (user feedback): `None` when no call has ended here, or when no
/// score of it could go anywhere (no JSON log, no saved conversations, no
/// OpenTelemetry).
pub fn last_request_id() -> Option<String> {
    LAST.with(|last| last.borrow().clone())
}

fn recent() -> std::sync::MutexGuard<'static, VecDeque<CallInfo>> {
    RECENT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Called when a call ends, on its thread: notes it as this thread's last
/// call when a score of it could go somewhere, writes the scores given
/// during it, and remembers it for later scores when only OpenTelemetry
/// takes them. A call whose files are written is remembered by the record
/// writer instead ([`remember`]), off the caller's thread.
pub(crate) fn after_call(record: &CallRecord, config: Option<&'static Config>) {
    let to_files = config.is_some_and(|c| c.log_file.is_some() || c.save_conversations);
    let exported = EXPORTERS.load(Ordering::Relaxed) > 0;
    let pending = HAS_PENDING.load(Ordering::Acquire);
    if !to_files && !exported && !pending {
        return;
    }
    if pending {
        let mine: Vec<Score> = {
            let span = record.span_id.as_deref();
            let mut all = PENDING.lock().unwrap_or_else(|p| p.into_inner());
            let mut mine = Vec::new();
            all.retain(|(s, score)| {
                if Some(s.to_string().as_str()) == span {
                    mine.push(score.clone());
                    false
                } else {
                    true
                }
            });
            HAS_PENDING.store(!all.is_empty(), Ordering::Release);
            mine
        };
        if !mine.is_empty() {
            let info = CallInfo::of(record, config);
            for score in &mine {
                write(&info, score);
            }
        }
    }
    if to_files || exported {
        LAST.with(|last| *last.borrow_mut() = Some(record.request_id.clone()));
    }
    if exported && !to_files {
        remember(record, config);
    }
}

/// Remembers a call for scores given after it ended (by request id): on the
/// record writer's thread for calls whose files are written, else at once.
pub(crate) fn remember(record: &CallRecord, config: Option<&'static Config>) {
    let info = CallInfo::of(record, config);
    let mut recent = recent();
    if recent.len() >= MAX_RECENT {
        recent.pop_front();
    }
    recent.push_back(info);
}

fn write(info: &CallInfo, score: &Score) {
    let line = info.line(
        &score.name,
        &score.value,
        score.comment.as_deref(),
        score.author.as_deref(),
    );
    if let Some(config) = info.config.filter(|c| c.log_file.is_some()) {
        crate::outputs::log::write_score(config, &line);
    }
    if let Some((dir, started_at, name)) = &info.conversation {
        let conversation = dir.join(crate::outputs::conversation::file_name_of(
            *started_at,
            name,
            &info.request_id,
        ));
        if let Err(e) = append(&scores_path(&conversation), &line) {
            crate::warn_once(&SCORE_FILE_FAILED, || {
                format!(
                    "llm-traced: cannot write the score beside {}: {e}",
                    conversation.display()
                )
            });
        }
    }
    #[cfg(feature = "otel")]
    crate::otel::logs::emit(&line);
}

static SCORE_FILE_FAILED: AtomicBool = AtomicBool::new(false);

/// The scores file beside a saved conversation:
/// `…_<request id>.json` → `…_<request id>.scores.jsonl`.
pub fn scores_path(conversation: &Path) -> PathBuf {
    conversation.with_extension("scores.jsonl")
}

/// Appends one line to a scores file under an exclusive lock, so that
/// writers in several threads and processes never interleave.
pub fn append(path: &Path, line: &ScoreLine) -> std::io::Result<()> {
    let mut text = serde_json::to_vec(line).map_err(std::io::Error::other)?;
    text.push(b'\n');
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // std's `File::lock`: `flock` on Unix; released when the file closes.
    file.lock()?;
    file.write_all(&text)?;
    file.flush()
}

/// Reads the scores beside a saved conversation (none when there is no
/// file); lines that are not scores are skipped.
pub fn read_scores(conversation: &Path) -> Vec<ScoreLine> {
    let Ok(file) = std::fs::File::open(scores_path(conversation)) else {
        return Vec::new();
    };
    if file.lock_shared().is_err() {
        return Vec::new();
    }
    let text = std::io::read_to_string(&file).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<ScoreLine>(l).ok())
        .filter(|s| s.kind == "score")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_the_command_line_gives_them() {
        assert_eq!(ScoreValue::parse("0.75"), ScoreValue::Number(0.75));
        assert_eq!(ScoreValue::parse("true"), ScoreValue::Bool(true));
        assert_eq!(
            ScoreValue::parse("off-topic"),
            ScoreValue::Label("off-topic".into())
        );
        assert_eq!(ScoreValue::parse("NaN"), ScoreValue::Label("NaN".into()));
    }

    #[test]
    fn scores_files_sit_beside_the_conversation() {
        let p = Path::new("/d/20261127T083516.123Z_ask_019a.json");
        assert_eq!(
            scores_path(p),
            Path::new("/d/20261127T083516.123Z_ask_019a.scores.jsonl")
        );
    }
}
