//! The process-wide audit log: configured from the environment on first use
//! or installed in code, written by a background thread so that an audited
//! call never blocks on the storage (and the blocking PostgreSQL client never
//! runs on an async runtime's thread).

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value};

use super::entry::{Action, NewEntry};
use super::error::AuditError;
use super::file::{FileOptions, Fsync};
use super::AuditLog;
use crate::context::Context;
use crate::sinks::warn_once;

/// How many entries may wait for the writer before callers wait for room.
const QUEUE: usize = 4096;

/// The longest the exit handler waits for the writer.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

enum Message {
    Entry(Box<NewEntry>),
    Flush(mpsc::Sender<()>),
}

struct Writer {
    sender: SyncSender<Message>,
}

static LOG: OnceLock<AuditLog> = OnceLock::new();
static WRITER: OnceLock<Option<Writer>> = OnceLock::new();

static CONFIG_FAILED: AtomicBool = AtomicBool::new(false);
static START_FAILED: AtomicBool = AtomicBool::new(false);
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Opens the audit log the environment configures, if any:
///
/// - `LLM_AUDIT_FILE=path`: a JSON-lines file (head file `path.head`);
///   `LLM_AUDIT_FSYNC=always|never|N` sets its fsync policy (default `always`);
/// - `LLM_AUDIT_DB=sqlite:///abs/path.db` (or `sqlite://rel/path.db`) or
///   `LLM_AUDIT_DB=postgres://user:password@host/db`: a database (when both
///   are set, `LLM_AUDIT_DB` wins);
/// - `LLM_AUDIT_KEY`: the HMAC key (its bytes, as given).
///
/// `Ok(None)` when neither `LLM_AUDIT_FILE` nor `LLM_AUDIT_DB` is set.
pub fn from_env() -> Result<Option<AuditLog>, AuditError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let log = if let Some(url) = var("LLM_AUDIT_DB") {
        if var("LLM_AUDIT_FILE").is_some() {
            eprintln!("llm-traced: both LLM_AUDIT_DB and LLM_AUDIT_FILE are set; auditing to LLM_AUDIT_DB");
        }
        AuditLog::open_url(&url)?
    } else if let Some(path) = var("LLM_AUDIT_FILE") {
        let mut options = FileOptions::new();
        if let Some(policy) = var("LLM_AUDIT_FSYNC") {
            let fsync = Fsync::parse(&policy).ok_or_else(|| {
                AuditError::Config(format!(
                    "LLM_AUDIT_FSYNC={policy:?}: expected always, never or a number"
                ))
            })?;
            options = options.fsync(fsync);
        }
        AuditLog::open_file(path, options)?
    } else {
        return Ok(None);
    };
    Ok(Some(match std::env::var_os("LLM_AUDIT_KEY") {
        Some(key) if !key.is_empty() => log.with_key(key.into_encoded_bytes()),
        _ => log,
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
            let configured = ["LLM_AUDIT_FILE", "LLM_AUDIT_DB"]
                .iter()
                .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
            // Opened on the writer's thread: the PostgreSQL client must not
            // start on a thread that runs an async runtime.
            configured.then(|| start(from_env)).flatten()
        })
        .as_ref()
}

/// Starts the writer thread, which opens the log with `open` and then writes
/// what it is handed. Waits for the opening.
fn start(
    open: impl FnOnce() -> Result<Option<AuditLog>, AuditError> + Send + 'static,
) -> Option<Writer> {
    let (sender, receiver) = mpsc::sync_channel(QUEUE);
    let (ready, opened) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("llm-traced-audit".to_owned())
        .spawn(move || {
            let log = match open() {
                Ok(Some(log)) => log,
                Ok(None) => return,
                Err(e) => {
                    warn_once(&CONFIG_FAILED, || {
                        format!("llm-traced: audit log disabled: {e}")
                    });
                    return;
                }
            };
            if LOG.set(log).is_err() {
                return;
            }
            let Some(log) = LOG.get() else { return };
            let _ = ready.send(());
            run(log, receiver);
        });
    match spawned {
        Ok(_) => {
            opened.recv().ok()?;
            flush_at_exit();
            Some(Writer { sender })
        }
        Err(e) => {
            warn_once(&START_FAILED, || {
                format!("llm-traced: cannot start the audit writer: {e}")
            });
            None
        }
    }
}

fn run(log: &'static AuditLog, receiver: Receiver<Message>) {
    for message in receiver {
        match message {
            Message::Entry(entry) => {
                if let Err(e) = log.append(*entry) {
                    warn_once(&WRITE_FAILED, || {
                        format!("llm-traced: cannot write the audit log: {e}")
                    });
                }
            }
            Message::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

/// Hands `entry` to the process-wide audit log's writer; a no-op when there
/// is none. The user, IP address and user agent not set in `entry` are taken
/// from the bound [`Context`] (see [`NewEntry::from_context`]), and the time
/// is taken now. Waits only when the writer is far behind; a failure to write
/// is reported once on stderr.
pub fn record(entry: NewEntry) {
    let Some(writer) = writer() else { return };
    send(writer, entry.from_context());
}

fn send(writer: &Writer, mut entry: NewEntry) {
    if entry.timestamp.is_none() {
        entry.timestamp = Some(chrono::Utc::now());
    }
    let _ = writer.sender.send(Message::Entry(Box::new(entry)));
}

/// Waits until every entry handed to the process-wide log so far is written
/// (at most `timeout`). True when it was, or when there is no such log.
pub fn flush_timeout(timeout: Duration) -> bool {
    let Some(Some(writer)) = WRITER.get() else {
        return true;
    };
    let (ack, done) = mpsc::channel();
    if writer.sender.send(Message::Flush(ack)).is_err() {
        return false;
    }
    done.recv_timeout(timeout).is_ok()
}

/// Waits until every entry handed to the process-wide log so far is written
/// (at most 30 seconds). True when it was.
pub fn flush() -> bool {
    flush_timeout(Duration::from_secs(30))
}

extern "C" fn flush_on_exit() {
    let _ = std::panic::catch_unwind(|| flush_timeout(EXIT_FLUSH_TIMEOUT));
}

fn flush_at_exit() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `atexit` stores a pointer to an `extern "C" fn()` with no
        // captured state; the handler catches panics, so none crosses into C.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(flush_on_exit);
        }
    });
}

// ---------------------------------------------------------------------------
// Hooks for `#[llm_traced(audit)]`

/// The `query` entry of an audited call, before the context fills it.
pub(crate) fn call_start_entry(
    function: &str,
    model: Option<&str>,
    messages: Option<&Value>,
    context: &Context,
) -> NewEntry {
    let mut details = call_details(function, model, context);
    if let Some(Value::Array(items)) = messages {
        details.insert("messages".to_owned(), Value::from(items.len()));
    }
    let entry =
        NewEntry::new(Action::Query, model.unwrap_or(function)).details(Value::Object(details));
    let entry = match messages {
        Some(messages) => entry.content_json(messages),
        None => entry,
    };
    entry.fill_from(context)
}

/// The outcome entry of an audited call: `content_filter` when the provider's
/// filter stopped it, else `completion` (with `status` `ok` or `error`).
pub(crate) fn call_end_entry(
    function: &str,
    model: Option<&str>,
    ok: bool,
    error_type: Option<&str>,
    response_text: Option<&str>,
    context: &Context,
) -> NewEntry {
    let mut details = call_details(function, model, context);
    details.insert(
        "status".to_owned(),
        Value::from(if ok { "ok" } else { "error" }),
    );
    if let Some(error_type) = error_type {
        details.insert("error_type".to_owned(), Value::from(error_type));
    }
    let action = if !ok && error_type == Some("content_filter") {
        Action::ContentFilter
    } else {
        Action::Completion
    };
    let entry = NewEntry::new(action, model.unwrap_or(function)).details(Value::Object(details));
    let entry = match response_text {
        Some(text) => entry.content(text),
        None => entry,
    };
    entry.fill_from(context)
}

fn call_details(function: &str, model: Option<&str>, context: &Context) -> Map<String, Value> {
    let mut details = Map::new();
    details.insert("function".to_owned(), Value::from(function));
    if let Some(model) = model {
        details.insert("model".to_owned(), Value::from(model));
    }
    if let Some(trace) = context.trace_id() {
        details.insert("trace_id".to_owned(), Value::from(trace.to_string()));
    }
    if let Some(session) = context.session_id() {
        details.insert("session_id".to_owned(), Value::from(session));
    }
    if let Some(tenant) = context.tenant_id() {
        details.insert("tenant_id".to_owned(), Value::from(tenant));
    }
    details
}

/// Records the start of an audited call: a `query` entry with the SHA-256 of
/// the canonical JSON of `messages`, the user from the bound context, and the
/// IP address and user agent from its metadata. Free when no audit log is
/// configured; never fails the call.
pub(crate) fn on_call_start(function: &str, model: Option<&str>, messages: Option<&Value>) {
    let Some(writer) = writer() else { return };
    let context = Context::current();
    send(
        writer,
        call_start_entry(function, model, messages, &context),
    );
}

/// Records the end of an audited call: a `completion` entry (status `ok` or
/// `error`, with the SHA-256 of the response text), or a `content_filter`
/// entry when the error's diagnosis is `content_filter`. Free when no audit
/// log is configured; never fails the call.
pub(crate) fn on_call_end(
    function: &str,
    model: Option<&str>,
    ok: bool,
    error_type: Option<&str>,
    response_text: Option<&str>,
) {
    let Some(writer) = writer() else { return };
    let context = Context::current();
    send(
        writer,
        call_end_entry(function, model, ok, error_type, response_text, &context),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hook_entries() {
        let ctx = Context::default()
            .with_user("u-7")
            .with_session("s-1")
            .with_metadata("ip_address", "192.0.2.1")
            .with_metadata("user_agent", "app/1.0");
        let messages = json!([{"role": "user", "content": "hi"}]);
        let start = call_start_entry("ask", Some("gpt-4o"), Some(&messages), &ctx);
        assert_eq!(start.action, Action::Query);
        assert_eq!(start.resource, "gpt-4o");
        assert_eq!(start.user_id.as_deref(), Some("u-7"));
        assert_eq!(start.ip_address.as_deref(), Some("192.0.2.1"));
        assert_eq!(start.user_agent.as_deref(), Some("app/1.0"));
        assert_eq!(
            start.content_hash.as_deref(),
            Some(super::super::chain::sha256_hex(br#"[{"content":"hi","role":"user"}]"#).as_str())
        );
        assert_eq!(start.details["session_id"], "s-1");
        assert_eq!(start.details["messages"], 1);
        assert!(!start.details.to_string().contains("hi"), "no content kept");

        let done = call_end_entry("ask", None, true, None, Some("hello"), &ctx);
        assert_eq!(done.action, Action::Completion);
        assert_eq!(done.resource, "ask");
        assert_eq!(done.details["status"], "ok");
        assert_eq!(
            done.content_hash.as_deref(),
            Some(super::super::chain::sha256_hex(b"hello").as_str())
        );

        let failed = call_end_entry("ask", Some("m"), false, Some("rate_limit"), None, &ctx);
        assert_eq!(failed.action, Action::Completion);
        assert_eq!(failed.details["error_type"], "rate_limit");
        let filtered = call_end_entry("ask", Some("m"), false, Some("content_filter"), None, &ctx);
        assert_eq!(filtered.action, Action::ContentFilter);
    }
}
