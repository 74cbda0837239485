//! The calls that ended in this process, kept (the last 10,000) so that a
//! score given later by request id finds where the call went: its ids,
//! model, saved conversation and JSON log. The record writer remembers the
//! calls whose files it writes; a call that only OpenTelemetry takes is
//! remembered when it ends.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::record::CallRecord;

/// What is kept of a call that ended, for scores given later.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallInfo {
    pub(crate) request_id: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) span_id: Option<String>,
    pub(crate) function: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) response_id: Option<String>,
    pub(crate) tenant_id: Option<String>,
    /// Where the saved conversation is, when conversations are saved: its
    /// directory, start and name (the file's path is made only when a
    /// score is written, not for every call).
    pub(crate) conversation: Option<(&'static Path, DateTime<Utc>, crate::record::Text)>,
    /// The configuration the call ran under (where its JSON log is).
    pub(crate) config: Option<&'static Config>,
}

impl CallInfo {
    pub(crate) fn of(record: &CallRecord, config: Option<&'static Config>) -> CallInfo {
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
}

const MAX_RECENT: usize = 10_000;

static RECENT: Mutex<VecDeque<CallInfo>> = Mutex::new(VecDeque::new());

fn recent() -> std::sync::MutexGuard<'static, VecDeque<CallInfo>> {
    RECENT.lock().unwrap_or_else(|p| p.into_inner())
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

/// The call with this request id, if it ended here and is still kept.
pub(crate) fn find(request_id: &str) -> Option<CallInfo> {
    recent()
        .iter()
        .rev()
        .find(|c| c.request_id == request_id)
        .cloned()
}
