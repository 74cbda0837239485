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
use crate::record::{CallRecord, ScoreLine};

/// What is kept of a call that ended, for scores given later.
#[derive(Debug, Clone)]
pub(crate) struct CallInfo {
    /// The line its scores are written as, but for the score itself.
    pub(crate) about: ScoreLine,
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
            about: ScoreLine::about(record),
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
        .find(|c| c.about.request_id == request_id)
        .cloned()
}
