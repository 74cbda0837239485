//! Where records go: the `tracing` event, the debug block, the conversation file.
//!
//! No sink may fail or slow the user's call beyond its own work: an I/O error
//! gives one warning on stderr (per sink and process) and the call goes on.

pub(crate) mod conversation;
pub(crate) mod debug;
pub(crate) mod log;
pub(crate) mod tracing_event;

use std::sync::atomic::{AtomicBool, Ordering};

/// Prints `message` on stderr the first time `flag` is seen unset.
pub(crate) fn warn_once(flag: &AtomicBool, message: impl FnOnce() -> String) {
    if !flag.swap(true, Ordering::Relaxed) {
        eprintln!(
            "{} (further errors of this kind are not reported)",
            message()
        );
    }
}
