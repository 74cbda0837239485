//! One JSON file per call (`LLM_SAVE_CONVERSATIONS`), written on the
//! background record writer.
//!
//! Names sort by time and never collide: `20261127T083516.123Z_ask_<uuid-v7>.json`.
//! Each file is written to a hidden temporary name in the same directory, then
//! renamed, so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{Ended, Output};
use crate::record::CallRecord;

static SAVE_FAILED: AtomicBool = AtomicBool::new(false);

/// The conversation files.
pub(crate) struct Conversation;

impl Output for Conversation {
    fn on_end(&self, call: &Ended<'_>, record: &CallRecord) {
        let Some(config) = call.config.filter(|c| c.save_conversations) else {
            return;
        };
        if let Err(e) = write(&config.conversations_dir, record) {
            super::warn_once(&SAVE_FAILED, || {
                format!(
                    "llm-traced: cannot save the conversation in {}: {e}",
                    config.conversations_dir.display()
                )
            });
        }
    }
}

/// The file name of a record: time first, then the function, then the id.
pub(crate) fn file_name(record: &CallRecord) -> String {
    file_name_of(record.started_at, &record.name, &record.request_id)
}

/// [`file_name`] from its parts: the start, the call's name, its id.
pub(crate) fn file_name_of(
    started_at: chrono::DateTime<chrono::Utc>,
    name: &str,
    request_id: &str,
) -> String {
    let stamp = started_at.format("%Y%m%dT%H%M%S%.3fZ");
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    format!("{stamp}_{name}_{request_id}.json")
}

fn write(dir: &Path, record: &CallRecord) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = file_name(record);
    let target = dir.join(&name);
    let temp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut body = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        body.push(b'\n');
        file.write_all(&body)?;
        drop(file);
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|_| target)
}
