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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::Utc;

use crate::config::Config;
use crate::context::{Context, SpanId};
use crate::ended::{remember, CallInfo};
use crate::record::CallRecord;
pub use crate::record::ScoreLine;

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

    /// This score as the line written about a call (`about`: see
    /// [`ScoreLine::about`]), given now, its comment scrubbed of secrets.
    pub fn line(&self, about: &ScoreLine) -> ScoreLine {
        ScoreLine {
            name: self.name.clone(),
            value: self.value.number(),
            label: self.value.label(),
            comment: self
                .comment
                .as_deref()
                .map(|c| crate::pipeline::scrub_secrets(c).into_owned()),
            author: self.author.clone(),
            scored_at: Utc::now(),
            ..about.clone()
        }
    }

    /// Records the score: at once for a call that has ended, when it ends
    /// for the running one.
    pub fn record(self) -> Result<(), ScoreError> {
        if let Some(id) = self.request_id.clone() {
            let find = || crate::ended::find(&id);
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

const MAX_PENDING: usize = 1_000;

static PENDING: Mutex<VecDeque<(SpanId, Score)>> = Mutex::new(VecDeque::new());
static HAS_PENDING: AtomicBool = AtomicBool::new(false);

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

/// Called when a call ends, on its thread: notes it as this thread's last
/// call when a score of it could go somewhere, writes the scores given
/// during it, and remembers it for later scores when only OpenTelemetry
/// takes them. A call whose files are written is remembered by the record
/// writer instead ([`remember`]), off the caller's thread.
pub(crate) fn after_call(record: &CallRecord, config: Option<&'static Config>) {
    let to_files = config.is_some_and(|c| c.log_file.is_some() || c.save_conversations);
    #[cfg(feature = "otel")]
    let exported = crate::otel::logs::takes_scores();
    #[cfg(not(feature = "otel"))]
    let exported = false;
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

fn write(info: &CallInfo, score: &Score) {
    let line = score.line(&info.about);
    if let Some(config) = info.config.filter(|c| c.log_file.is_some()) {
        crate::outputs::log::write_score(config, &line);
    }
    if let Some((dir, started_at, name)) = &info.conversation {
        let conversation = dir.join(crate::outputs::conversation::file_name_of(
            *started_at,
            name,
            &info.about.request_id,
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
    let mut text = line.to_json().map_err(std::io::Error::other)?;
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
        .filter_map(|l| ScoreLine::from_json(l).ok())
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
