//! The process-wide audit log: configured from the environment on first use
//! or installed in code, written by a background thread so that an audited
//! call never blocks on the storage (and the blocking PostgreSQL client never
//! runs on an async runtime's thread).

use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::time::Duration;

use super::entry::NewEntry;
use super::error::AuditError;
use super::file::{FileOptions, Fsync};
use super::AuditLog;
use crate::warn_once;
use crate::worker::{Job, Policy, Worker};

/// How many entries may wait for the writer before callers wait for room.
const QUEUE: usize = 4096;

/// Appends each entry to the log; never drops one (lossless).
struct Appender(&'static AuditLog);

impl Job for Appender {
    type Item = Box<NewEntry>;

    fn handle(&mut self, entry: Box<NewEntry>) {
        if let Err(e) = self.0.append(*entry) {
            warn_once(&WRITE_FAILED, || {
                format!("llm-traced: cannot write the audit log: {e}")
            });
        }
    }
}

type Writer = Worker<Box<NewEntry>>;

static LOG: OnceLock<AuditLog> = OnceLock::new();
static WRITER: OnceLock<Option<Writer>> = OnceLock::new();

static CONFIG_FAILED: AtomicBool = AtomicBool::new(false);
static START_FAILED: AtomicBool = AtomicBool::new(false);
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Opens the audit log the environment configures, if any:
///
/// - `LLM_AUDIT_FILE=path`: a JSON-lines file (head file `path.head`);
///   `LLM_AUDIT_FSYNC=always|never|N` sets its fsync policy (default `always`;
///   a value that cannot be read gives a warning and `always`);
/// - `LLM_AUDIT_DB=sqlite:///abs/path.db` (or `sqlite://rel/path.db`) or
///   `LLM_AUDIT_DB=postgres://user:password@host/db`: a database (when both
///   are set, `LLM_AUDIT_DB` wins);
/// - `LLM_AUDIT_KEY`: the HMAC key (its bytes, as given).
///
/// The variables are read by [`AuditSettings`](crate::config::AuditSettings).
/// `Ok(None)` when neither `LLM_AUDIT_FILE` nor `LLM_AUDIT_DB` is set; an
/// error when the log cannot be opened.
pub fn from_env() -> Result<Option<AuditLog>, AuditError> {
    open(crate::config::AuditSettings::from_env())
}

fn open(settings: crate::config::AuditSettings) -> Result<Option<AuditLog>, AuditError> {
    let log = if let Some(url) = &settings.db {
        if settings.file.is_some() {
            eprintln!("llm-traced: both LLM_AUDIT_DB and LLM_AUDIT_FILE are set; auditing to LLM_AUDIT_DB");
        }
        AuditLog::open_url(url)?
    } else if let Some(path) = &settings.file {
        let options = FileOptions::new().fsync(Fsync::every(settings.fsync_every));
        AuditLog::open_file(path, options)?
    } else {
        return Ok(None);
    };
    Ok(Some(match settings.key {
        Some(key) => log.with_key(key),
        None => log,
    }))
}

/// Makes `log` the process-wide audit log (what `#[llm_traced(audit)]` and
/// [`record`] write to). Call it before the first audited call: once the
/// process-wide log is set (or found unset in the environment), the log is
/// handed back as the error.
pub fn install(log: AuditLog) -> Result<(), AuditLog> {
    let mut log = Some(log);
    WRITER.get_or_init(|| {
        let log = log.take()?;
        start(move || Ok(Some(log)))
    });
    match log {
        None => Ok(()),
        Some(log) => Err(log),
    }
}

/// The process-wide audit log, configured from the environment on first use
/// (see [`from_env`]) unless [`install`] set one.
pub fn global() -> Option<&'static AuditLog> {
    writer()?;
    LOG.get()
}

fn writer() -> Option<&'static Writer> {
    WRITER
        .get_or_init(|| {
            let settings = crate::config::AuditSettings::from_env();
            // Opened on the writer's thread: the PostgreSQL client must not
            // start on a thread that runs an async runtime.
            settings
                .configured()
                .then(|| start(move || open(settings)))
                .flatten()
        })
        .as_ref()
}

/// Starts the writer thread, which opens the log with `open` and then writes
/// what it is handed. Waits for the opening.
fn start(
    open: impl FnOnce() -> Result<Option<AuditLog>, AuditError> + Send + 'static,
) -> Option<Writer> {
    let started = Worker::start("llm-traced-audit", QUEUE, Policy::Lossless, move || {
        let log = match open() {
            Ok(Some(log)) => log,
            Ok(None) => return None,
            Err(e) => {
                warn_once(&CONFIG_FAILED, || {
                    format!("llm-traced: audit log disabled: {e}")
                });
                return None;
            }
        };
        LOG.set(log).ok()?;
        LOG.get().map(Appender)
    });
    match started {
        Ok(writer) => writer,
        Err(e) => {
            warn_once(&START_FAILED, || {
                format!("llm-traced: cannot start the audit writer: {e}")
            });
            None
        }
    }
}

/// Hands `entry` to the process-wide audit log's writer; a no-op when there
/// is none. The user, IP address and user agent not set in `entry` are taken
/// from the bound [`Context`](crate::context::Context) (see [`NewEntry::from_context`]), and the time
/// is taken now. Waits only when the writer is far behind; a failure to write
/// is reported once on stderr.
pub fn record(entry: NewEntry) {
    let Some(writer) = writer() else { return };
    send(writer, entry.from_context());
}

fn send(writer: &'static Writer, mut entry: NewEntry) {
    if entry.timestamp.is_none() {
        entry.timestamp = Some(chrono::Utc::now());
    }
    writer.drain_at_exit_once();
    writer.submit(Box::new(entry));
}

/// Waits until every entry handed to the process-wide log so far is written
/// (at most `timeout`). True when it was, or when there is no such log.
pub fn flush_timeout(timeout: Duration) -> bool {
    match WRITER.get() {
        Some(Some(writer)) => writer.flush_timeout(timeout),
        _ => true,
    }
}

/// Waits until every entry handed to the process-wide log so far is written
/// (at most 30 seconds). True when it was.
pub fn flush() -> bool {
    flush_timeout(Duration::from_secs(30))
}

/// Whether a process-wide audit log is configured (opening it on first use).
pub(crate) fn enabled() -> bool {
    writer().is_some()
}

/// Hands an entry, already filled, to the process-wide log's writer; a no-op
/// when there is none.
pub(crate) fn submit(entry: NewEntry) {
    if let Some(writer) = writer() {
        send(writer, entry);
    }
}
