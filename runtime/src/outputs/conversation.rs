//! One JSON file per call (`LLM_SAVE_CONVERSATIONS`), written on the
//! background record writer.
//!
//! Names sort by time and never collide: `20261127T083516.123456Z_ask_<uuid-v7>.json`.
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
/// Written field by field (the record writer makes one per call; chrono's
/// format string was a tenth of its work on a saved call, measured).
pub(crate) fn file_name_of(
    started_at: chrono::DateTime<chrono::Utc>,
    name: &str,
    request_id: &str,
) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;

    let mut out = String::with_capacity(25 + name.len().min(48) + request_id.len() + 6);
    let _ = write!(
        out,
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z_",
        started_at.year(),
        started_at.month(),
        started_at.day(),
        started_at.hour(),
        started_at.minute(),
        started_at.second(),
        started_at.nanosecond() % 1_000_000_000 / 1_000,
    );
    out.extend(name.chars().take(48).map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out.push('_');
    out.push_str(request_id);
    out.push_str(".json");
    out
}

fn write(dir: &Path, record: &CallRecord) -> std::io::Result<PathBuf> {
    let name = file_name(record);
    let target = dir.join(&name);
    let temp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
        };
        // The directory is made when it is missing, not checked per file.
        let mut file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                open()?
            }
            other => other?,
        };
        // One buffer per writer thread, kept between files: growing a new
        // one for every file was a tenth of the writer's work (measured).
        thread_local! {
            static BODY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BODY.with_borrow_mut(|body| {
            body.clear();
            record.write_pretty(body).map_err(std::io::Error::other)?;
            body.push(b'\n');
            file.write_all(body)?;
            if body.capacity() > 1 << 20 {
                // Not a megabyte kept for good after one large record.
                *body = Vec::new();
            }
            Ok::<_, std::io::Error>(())
        })?;
        drop(file);
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|_| target)
}

#[cfg(test)]
mod tests {
    use super::file_name_of;
    use chrono::TimeZone;

    /// The names are what `%Y%m%dT%H%M%S%.6fZ_{name}_{id}.json` gives.
    #[test]
    fn file_names_keep_their_format() {
        for (secs, nanos) in [
            (0_i64, 0_u32),
            (1_764_232_516, 123_456_789),
            (1_764_232_516, 999_999_999),
            (-62_000_000_000, 7_000_000),
            (253_402_300_799, 1_000_000),
        ] {
            let t = chrono::Utc.timestamp_opt(secs, nanos).unwrap();
            let name = "ask the model/ünïcode and a name longer than forty-eight characters";
            let want_name: String = name
                .chars()
                .take(48)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let want = format!(
                "{}_{want_name}_0199-id.json",
                t.format("%Y%m%dT%H%M%S%.6fZ")
            );
            assert_eq!(file_name_of(t, name, "0199-id"), want);
        }
    }
}
