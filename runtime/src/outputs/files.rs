//! The background writer of the files a call produces (conversation files,
//! the JSON log), on the shared [`worker`](crate::worker) machinery.
//!
//! The caller's thread only hands the record over; scrubbing the content
//! (unless an output on the caller's thread already needed it scrubbed),
//! rendering and writing happen here. One thread writes every file, so log
//! lines are never interleaved. Lossless by default: with a full queue the
//! caller waits; with `LLM_LOG_LOSSY` the record is dropped, counted and
//! reported.

use std::time::Duration;

use once_cell::sync::OnceCell;
use tracing::Span;

use super::{Ended, WRITTEN};
use crate::config::Config;
use crate::record::CallRecord;
use crate::worker::{Job, Policy, Worker};

/// A finished record on its way to the files.
pub(crate) struct Written {
    record: CallRecord,
    config: &'static Config,
    scrubbed: bool,
}

struct Files;

impl Job for Files {
    type Item = Box<Written>;

    fn handle(&mut self, item: Box<Written>) {
        let Written {
            mut record,
            config,
            scrubbed,
        } = *item;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if !scrubbed {
                crate::pipeline::scrub_content(&mut record, Some(config));
            }
            let span = Span::none();
            let call = Ended {
                span: &span,
                config: Some(config),
                audit: false,
                chunk_gaps: &[],
                exported: None,
            };
            for output in WRITTEN {
                output.on_end(&call, &record);
            }
            crate::ended::remember(&record, Some(config));
        }));
    }

    fn flush(&mut self) {
        super::log::flush_open_files();
    }

    fn report_dropped(&mut self, new: u64, total: u64) {
        eprintln!(
            "llm-traced: the record writer's queue was full: {new} record(s) dropped from the conversation files and the log ({total} in all)"
        );
        tracing::warn!(target: "llm_traced", dropped = new, dropped_total = total, "llm_log_records_dropped");
    }
}

static WORKER: OnceCell<Option<Worker<Box<Written>>>> = OnceCell::new();
static START_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `config` switches on an output written here.
pub(crate) fn wanted(config: &Config) -> bool {
    config.save_conversations || config.log_file.is_some()
}

fn worker(config: &'static Config) -> Option<&'static Worker<Box<Written>>> {
    WORKER
        .get_or_init(|| {
            let policy = if config.log_lossy {
                Policy::Lossy
            } else {
                Policy::Lossless
            };
            match Worker::start("llm-traced-files", config.log_queue, policy, || Some(Files)) {
                Ok(worker) => worker,
                Err(e) => {
                    super::warn_once(&START_FAILED, || {
                        format!("llm-traced: cannot start the record writer: {e}")
                    });
                    None
                }
            }
        })
        .as_ref()
        .inspect(|w| w.drain_at_exit_once())
}

/// Hands a record to the writer.
pub(crate) fn submit(config: &'static Config, record: CallRecord, scrubbed: bool) {
    if let Some(worker) = worker(config) {
        worker.submit(Box::new(Written {
            record,
            config,
            scrubbed,
        }));
    }
}

/// Waits until every record handed over so far is written and flushed, at
/// most `timeout`. True when it was; true at once when nothing was handed over.
pub fn flush_timeout(timeout: Duration) -> bool {
    match WORKER.get() {
        Some(Some(worker)) => worker.flush_timeout(timeout),
        _ => true,
    }
}

/// Records dropped in lossy mode since the process started.
pub fn dropped() -> u64 {
    match WORKER.get() {
        Some(Some(worker)) => worker.dropped(),
        _ => 0,
    }
}
