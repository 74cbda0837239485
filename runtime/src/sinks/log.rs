//! The structured log (`LLM_LOG_FILE`): one JSON object per call per line,
//! written by a background thread so that the calling task never waits on
//! the disk.
//!
//! Callers hand the record over a bounded queue. Lossless by default: when
//! the queue is full the caller waits. In lossy mode (`LLM_LOG_LOSSY`) the
//! record is dropped and counted, and the writer reports the count. One
//! thread writes every file, each line in one piece, so lines are never
//! interleaved or torn. Files rotate by size and/or by UTC day, keeping N
//! rotated files; a `{tenant}` in the path gives each tenant its own file.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use once_cell::sync::OnceCell;

use crate::config::Config;
use crate::record::CallRecord;

enum Message {
    Record(Box<CallRecord>),
    Flush(mpsc::Sender<()>),
}

struct Sink {
    sender: SyncSender<Message>,
    lossy: bool,
    /// The writer thread, unparked when someone waits on it (a flush, a full
    /// queue); records alone never wake it, so a call pays no system call.
    writer: std::thread::Thread,
}

static SINK: OnceCell<Option<Sink>> = OnceCell::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static START_FAILED: AtomicBool = AtomicBool::new(false);

fn sink(config: &'static Config) -> Option<&'static Sink> {
    SINK.get_or_init(|| start(config)).as_ref()
}

fn start(config: &'static Config) -> Option<Sink> {
    let template = config.log_file.clone()?;
    let (sender, receiver) = mpsc::sync_channel(config.log_queue.max(1));
    let writer = Writer::new(config, template);
    let spawned = std::thread::Builder::new()
        .name("llm-traced-log".to_owned())
        .spawn(move || writer.run(receiver));
    match spawned {
        Ok(handle) => {
            crate::exit::flush_at_exit();
            Some(Sink {
                sender,
                lossy: config.log_lossy,
                writer: handle.thread().clone(),
            })
        }
        Err(e) => {
            super::warn_once(&START_FAILED, || {
                format!("llm-traced: cannot start the log writer: {e}")
            });
            None
        }
    }
}

/// Hands a record to the writer. Waits when the queue is full, unless lossy.
pub(crate) fn submit(config: &'static Config, record: CallRecord) {
    let Some(sink) = sink(config) else { return };
    let message = Message::Record(Box::new(record));
    match sink.sender.try_send(message) {
        Ok(()) => {}
        Err(TrySendError::Full(message)) => {
            sink.writer.unpark();
            if sink.lossy {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            } else {
                // Lossless: wait for room.
                let _ = sink.sender.send(message);
            }
        }
        Err(TrySendError::Disconnected(_)) => {}
    }
}

/// Waits until every record handed over so far is written and flushed, at
/// most `timeout`. True when it was; true at once when no log is configured.
pub fn flush_timeout(timeout: Duration) -> bool {
    let Some(Some(sink)) = SINK.get() else {
        return true;
    };
    let (ack, done) = mpsc::channel();
    // The flush message waits behind the records already queued.
    let sent = if timeout.is_zero() {
        sink.sender.try_send(Message::Flush(ack)).is_ok()
    } else {
        send_within(sink, Message::Flush(ack), timeout)
    };
    sink.writer.unpark();
    sent && done.recv_timeout(timeout).is_ok()
}

fn send_within(sink: &Sink, mut message: Message, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match sink.sender.try_send(message) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(m)) => {
                if std::time::Instant::now() >= deadline {
                    return false;
                }
                message = m;
                sink.writer.unpark();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Records dropped in lossy mode since the process started.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Lines written since the process started.
pub fn written() -> u64 {
    WRITTEN.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// The writer thread

struct OpenLog {
    out: BufWriter<File>,
    size: u64,
    day: NaiveDate,
}

struct Writer {
    template: PathBuf,
    per_tenant: bool,
    config: &'static Config,
    files: HashMap<PathBuf, OpenLog>,
    line: Vec<u8>,
    reported_drops: u64,
}

static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

impl Writer {
    fn new(config: &'static Config, template: PathBuf) -> Self {
        let per_tenant = template.to_string_lossy().contains("{tenant}");
        Writer {
            template,
            per_tenant,
            config,
            files: HashMap::new(),
            line: Vec::with_capacity(1024),
            reported_drops: 0,
        }
    }

    /// Drains the queue, flushes once per batch, then parks: 1 ms after a
    /// busy spell, backing off to 100 ms when idle. Flushes and a full queue
    /// unpark it at once.
    fn run(mut self, receiver: Receiver<Message>) {
        const BUSY: Duration = Duration::from_millis(1);
        const IDLE: Duration = Duration::from_millis(100);
        let mut pause = BUSY;
        loop {
            let mut handled = false;
            loop {
                match receiver.try_recv() {
                    Ok(message) => {
                        self.handle(message);
                        handled = true;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        self.flush_all();
                        return;
                    }
                }
            }
            if handled {
                self.flush_all();
                self.report_drops();
                pause = BUSY;
            } else {
                pause = (pause * 2).min(IDLE);
            }
            std::thread::park_timeout(pause);
        }
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Record(record) => {
                if let Err(e) = self.write(&record) {
                    super::warn_once(&WRITE_FAILED, || {
                        format!(
                            "llm-traced: cannot write the log {}: {e}",
                            self.template.display()
                        )
                    });
                }
            }
            Message::Flush(ack) => {
                self.flush_all();
                self.report_drops();
                let _ = ack.send(());
            }
        }
    }

    fn write(&mut self, record: &CallRecord) -> std::io::Result<()> {
        let path = if self.per_tenant {
            tenant_path(
                &self.template,
                record.tenant_id.as_deref(),
                &self.config.log_default_tenant,
            )
        } else {
            self.template.clone()
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &log_line(record, self.config))
            .map_err(std::io::Error::other)?;
        self.line.push(b'\n');
        let today = Utc::now().date_naive();
        let len = self.line.len() as u64;
        let config = self.config;
        if !self.files.contains_key(&path) {
            let log = open(&path)?;
            self.files.insert(path.clone(), log);
        }
        let log = self.files.get_mut(&path).expect("inserted above");
        let too_big = config
            .log_max_bytes
            .is_some_and(|max| log.size > 0 && log.size + len > max);
        let new_day = config.log_rotate_daily && log.day != today;
        if too_big || new_day {
            log.out.flush()?;
            rotate(&path, config.log_keep)?;
            *log = open(&path)?;
            log.day = today;
        }
        log.out.write_all(&self.line)?;
        log.size += len;
        WRITTEN.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flush_all(&mut self) {
        for (path, log) in &mut self.files {
            if let Err(e) = log.out.flush() {
                super::warn_once(&WRITE_FAILED, || {
                    format!("llm-traced: cannot write the log {}: {e}", path.display())
                });
            }
        }
    }

    fn report_drops(&mut self) {
        let dropped = DROPPED.load(Ordering::Relaxed);
        if dropped > self.reported_drops {
            let new = dropped - self.reported_drops;
            self.reported_drops = dropped;
            eprintln!(
                "llm-traced: the log's queue was full: {new} record(s) dropped ({dropped} in all)"
            );
            tracing::warn!(target: "llm_traced", dropped = new, dropped_total = dropped, "llm_log_records_dropped");
        }
    }
}

fn open(path: &Path) -> std::io::Result<OpenLog> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let meta = file.metadata()?;
    let day = meta
        .modified()
        .ok()
        .map(|t| chrono::DateTime::<Utc>::from(t).date_naive())
        .unwrap_or_else(|| Utc::now().date_naive());
    Ok(OpenLog {
        out: BufWriter::with_capacity(64 * 1024, file),
        size: meta.len(),
        day,
    })
}

/// `calls.jsonl` → `calls.20261127T091500123.jsonl` (the rotation time, so
/// that names sort by age), then prune to `keep` rotated files.
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    let (stem, ext) = split_name(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%3f");
    let mut target = dir.join(format!("{stem}.{stamp}{ext}"));
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{stem}.{stamp}-{n}{ext}"));
        n += 1;
    }
    std::fs::rename(path, &target)?;
    let mut rotated = rotated_files(path)?;
    rotated.sort();
    let excess = rotated.len().saturating_sub(keep);
    for old in rotated.into_iter().take(excess) {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

/// The rotated files of log `path`, in no particular order.
pub fn rotated_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (stem, ext) = split_name(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!("{stem}.");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(middle) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(&ext))
        else {
            continue;
        };
        let stamp = middle.split('-').next().unwrap_or("");
        if stamp.len() == 18
            && stamp.as_bytes()[8] == b'T'
            && stamp.bytes().filter(u8::is_ascii_digit).count() == 17
        {
            out.push(dir.join(name));
        }
    }
    Ok(out)
}

fn split_name(path: &Path) -> (String, String) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("llm.log");
    match name.rfind('.') {
        Some(dot) if dot > 0 => (name[..dot].to_owned(), name[dot..].to_owned()),
        _ => (name.to_owned(), String::new()),
    }
}

/// The path of a tenant's log: `{tenant}` in the template replaced by the
/// sanitised tenant id, or by `default` for records with no tenant.
pub fn tenant_path(template: &Path, tenant: Option<&str>, default: &str) -> PathBuf {
    let text = template.to_string_lossy();
    if !text.contains("{tenant}") {
        return template.to_path_buf();
    }
    let name = match tenant {
        Some(t) => sanitize_tenant(t),
        None => sanitize_tenant(default),
    };
    PathBuf::from(text.replace("{tenant}", &name))
}

/// A tenant id made safe as one file-name component: only ASCII letters,
/// digits, `-`, `_` and inner dots; never `.`/`..`, a separator or NUL; at
/// most 64 characters. An id that had to change gets a hash of the original
/// appended, so two different ids never share a file.
pub fn sanitize_tenant(id: &str) -> String {
    let mut clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // No hidden files, no `.`/`..`.
    let leading_dots = clean.len() - clean.trim_start_matches('.').len();
    clean.replace_range(..leading_dots, &"_".repeat(leading_dots));
    if clean.is_empty() {
        clean.push('_');
    }
    if clean == id && clean.len() <= 64 {
        return clean;
    }
    clean.truncate(48);
    format!("{clean}-{:016x}", fnv1a(id.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------
// The line

/// What the log keeps of a record: content only when the configuration says
/// so (and the trace is sampled), capped; the diagnosis reduced to what
/// queries need.
fn log_line<'a>(record: &'a CallRecord, config: &Config) -> std::borrow::Cow<'a, CallRecord> {
    let sampled = crate::levels::content_sampled(record.trace_id.as_deref(), config.sample_rate);
    let keep_prompts = config.log_prompts && sampled;
    let keep_response = config.log_responses && sampled;
    let has_content = record.messages.is_some()
        || record.response.is_some()
        || record.tool_calls.iter().any(|t| !t.arguments.is_empty());
    let has_diagnosis = record.error.as_ref().is_some_and(|e| e.diagnosis.is_some());
    let needs_change = has_content || has_diagnosis;
    if !needs_change {
        return std::borrow::Cow::Borrowed(record);
    }
    let mut r = record.clone();
    let max = config.max_content_chars;
    if keep_prompts {
        if let Some(messages) = &mut r.messages {
            crate::text::cap_json_strings(messages, max);
        }
    } else {
        r.messages = None;
    }
    if keep_response {
        if let Some(response) = &mut r.response {
            for text in [&mut response.text, &mut response.refusal]
                .into_iter()
                .flatten()
            {
                crate::text::cap_in_place(text, max);
            }
            for choice in &mut response.choices {
                if let Some(text) = &mut choice.text {
                    crate::text::cap_in_place(text, max);
                }
            }
        }
        for call in &mut r.tool_calls {
            crate::text::cap_in_place(&mut call.arguments, max);
        }
    } else {
        r.response = None;
        for call in &mut r.tool_calls {
            call.arguments.clear();
        }
    }
    if let Some(error) = &mut r.error {
        if let Some(d) = error.diagnosis.take() {
            error.retryable = Some(d.retryable);
            error.retry_after_ms = d.retry_after_ms;
            error.code = d.code;
        }
    }
    std::borrow::Cow::Owned(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_tenant_ids_stay_inside_the_directory() {
        let template = Path::new("/logs/{tenant}.jsonl");
        for id in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "..",
            ".",
            ".hidden",
            "nul\0byte",
            "ä",
            "",
        ] {
            let path = tenant_path(template, Some(id), "_default");
            assert_eq!(
                path.parent(),
                Some(Path::new("/logs")),
                "{id:?} → {}",
                path.display()
            );
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(!name.starts_with('.'), "{id:?} → {name}");
            assert!(!name.contains('\0') && !name.contains('/'));
        }
        let long = "t".repeat(10_000);
        let name = sanitize_tenant(&long);
        assert!(name.len() <= 65, "{}", name.len());
        assert_ne!(
            sanitize_tenant("a/b"),
            sanitize_tenant("a_b"),
            "sanitising never merges two tenants"
        );
        assert_eq!(
            sanitize_tenant("acme-corp_1"),
            "acme-corp_1",
            "clean ids are kept as they are"
        );
        assert_eq!(
            tenant_path(template, None, "_default"),
            Path::new("/logs/_default.jsonl")
        );
    }
}
