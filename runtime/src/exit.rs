//! Flushing the structured log when the process exits normally.
//!
//! Statics are never dropped, so without help the records still queued when
//! `main` returns would be lost. The first time a log writer starts, a C
//! `atexit` handler is registered that waits (at most a few seconds) until
//! the writer has written and flushed everything handed to it.

use std::sync::Once;
use std::time::Duration;

/// The longest the exit handler waits for the writer.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

extern "C" fn flush_on_exit() {
    // Never unwind into C, never hang the exit for long.
    let _ = std::panic::catch_unwind(|| crate::sinks::log::flush_timeout(EXIT_FLUSH_TIMEOUT));
}

/// Registers the exit handler, once per process.
pub(crate) fn flush_at_exit() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `atexit` stores a pointer to an `extern "C" fn()` with no
        // captured state; the handler catches panics, so none crosses into C.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(flush_on_exit);
        }
    });
}
