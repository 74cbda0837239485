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
use std::sync::Mutex;

use chrono::{NaiveDate, Utc};

use super::{Ended, Output};
use crate::config::Config;
use crate::record::CallRecord;

static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// The JSON log, written on the background record writer.
pub(crate) struct Log;

impl Output for Log {
    fn on_end(&self, call: &Ended<'_>, record: &CallRecord) {
        let Some(config) = call.config.filter(|c| c.log_file.is_some()) else {
            return;
        };
        let mut files = FILES.lock().unwrap_or_else(|p| p.into_inner());
        let files = files.get_or_insert_with(|| Writer::new(config));
        if let Err(e) = files.write(record) {
            super::warn_once(&WRITE_FAILED, || {
                format!(
                    "llm-traced: cannot write the log {}: {e}",
                    files.template.display()
                )
            });
        }
    }
}

/// The open log files. The record writer's thread takes the lock, and a
/// score's writer (any thread, rarely).
static FILES: Mutex<Option<Writer>> = Mutex::new(None);

/// Writes a score's line (`"type": "score"`) into the log its call went
/// to, through the same open file, rotation and tenant split, whole.
pub(crate) fn write_score(config: &'static Config, line: &crate::record::ScoreLine) {
    let mut files = FILES.lock().unwrap_or_else(|p| p.into_inner());
    let files = files.get_or_insert_with(|| Writer::new(config));
    let result = line
        .to_json()
        .map_err(std::io::Error::other)
        .and_then(|mut text| {
            text.push(b'\n');
            files.write_line(line.tenant_id.as_deref(), &text)?;
            // A score is rare and often given late: on disk at once.
            files.flush_all();
            Ok(())
        });
    if let Err(e) = result {
        super::warn_once(&WRITE_FAILED, || {
            format!(
                "llm-traced: cannot write the log {}: {e}",
                files.template.display()
            )
        });
    }
}

/// Flushes the open log files' buffers.
pub(crate) fn flush_open_files() {
    if let Some(files) = FILES.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        files.flush_all();
    }
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
}

static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

impl Writer {
    fn new(config: &'static Config) -> Self {
        let template = config.log_file.clone().unwrap_or_default();
        let per_tenant = template.to_string_lossy().contains("{tenant}");
        Writer {
            template,
            per_tenant,
            config,
            files: HashMap::new(),
            line: Vec::with_capacity(1024),
        }
    }

    fn write(&mut self, record: &CallRecord) -> std::io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let result = log_line(record, self.config)
            .write_line(&mut line)
            .map_err(std::io::Error::other)
            .and_then(|()| {
                line.push(b'\n');
                self.write_line(record.tenant_id.as_deref(), &line)
            });
        self.line = line;
        result
    }

    /// Writes one whole line into the file of `tenant`, rotating first when
    /// it is due.
    fn write_line(&mut self, tenant: Option<&str>, line: &[u8]) -> std::io::Result<()> {
        let path = if self.per_tenant {
            tenant_path(&self.template, tenant, &self.config.log_default_tenant)
        } else {
            self.template.clone()
        };
        let today = Utc::now().date_naive();
        let len = line.len() as u64;
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
        log.out.write_all(line)?;
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
/// that names sort by age), then prune to `keep` rotated files. A stamp is
/// never reused: when the newest rotated file already has this millisecond
/// (two rotations in one millisecond) or a later one (the clock went back),
/// the new name takes the next free millisecond after it, so that the names'
/// order stays the files' age order.
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    let (stem, ext) = split_name(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let rotated = rotated_files(path)?;
    let mut when = Utc::now().naive_utc();
    if let Some(newest) = rotated.last().and_then(|p| stamp_of(p, &stem, &ext)) {
        if newest >= when {
            when = newest + chrono::Duration::milliseconds(1);
        }
    }
    let target = loop {
        let target = dir.join(format!("{stem}.{}{ext}", when.format(STAMP)));
        if !target.exists() {
            break target;
        }
        when += chrono::Duration::milliseconds(1);
    };
    std::fs::rename(path, &target)?;
    let rotated = rotated_files(path)?;
    let excess = rotated.len().saturating_sub(keep);
    for old in rotated.into_iter().take(excess) {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

const STAMP: &str = "%Y%m%dT%H%M%S%3f";

/// The rotation time in a rotated file's name, and its `-N` suffix (names
/// written before stamps were made unique).
fn rotation_key(name: &str, stem: &str, ext: &str) -> Option<(chrono::NaiveDateTime, u32)> {
    let middle = name
        .strip_prefix(stem)?
        .strip_prefix('.')?
        .strip_suffix(ext)?;
    let (stamp, n) = match middle.split_once('-') {
        Some((stamp, n)) => (stamp, n.parse().ok()?),
        None => (middle, 0),
    };
    if stamp.len() != 18
        || !stamp.bytes().enumerate().all(|(i, b)| {
            if i == 8 {
                b == b'T'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return None;
    }
    let when = chrono::NaiveDateTime::parse_from_str(stamp, STAMP).ok()?;
    Some((when, n))
}

fn stamp_of(path: &Path, stem: &str, ext: &str) -> Option<chrono::NaiveDateTime> {
    let name = path.file_name()?.to_str()?;
    rotation_key(name, stem, ext).map(|(when, _)| when)
}

/// The rotated files of log `path`, oldest first (by the rotation time in
/// their names).
pub fn rotated_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (stem, ext) = split_name(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(key) = rotation_key(name, &stem, &ext) {
            out.push((key, dir.join(name)));
        }
    }
    out.sort();
    Ok(out.into_iter().map(|(_, path)| path).collect())
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
    let sampled =
        crate::pipeline::sampling::content_sampled(record.trace_id.as_deref(), config.sample_rate);
    let keep_prompts = config.log_prompts && sampled;
    let keep_response = config.log_responses && sampled;
    let has_content = record.messages.is_some()
        || record.request.is_some()
        || record.response.is_some()
        || record.tool_arguments.is_some()
        || record.tool_result.is_some()
        || record.tool_calls.iter().any(|t| !t.arguments.is_empty());
    let has_diagnosis = record.error.as_ref().is_some_and(|e| e.diagnosis.is_some());
    let needs_change = has_content || has_diagnosis;
    if !needs_change {
        return std::borrow::Cow::Borrowed(record);
    }
    let mut r = record.clone();
    let max = config.max_content_chars;
    if keep_prompts {
        for content in [&mut r.messages, &mut r.request, &mut r.tool_arguments]
            .into_iter()
            .flatten()
        {
            crate::text::cap_json_strings(content, max);
        }
    } else {
        r.messages = None;
        r.request = None;
        r.tool_arguments = None;
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
        if let Some(result) = &mut r.tool_result {
            crate::text::cap_json_strings(result, max);
        }
    } else {
        r.response = None;
        r.tool_result = None;
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
    fn rotations_in_one_millisecond_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.jsonl");
        // Far more rotations than milliseconds pass: every name is new and
        // the names' order is the order they were rotated in.
        for i in 0..50 {
            std::fs::write(&log, format!("{i}\n")).unwrap();
            rotate(&log, 5).unwrap();
        }
        let kept: Vec<String> = rotated_files(&log)
            .unwrap()
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(kept, ["45\n", "46\n", "47\n", "48\n", "49\n"]);
        // Names from before stamps were made unique (`-N`) sort after their
        // stamp and by N.
        let old = |name: &str| rotation_key(name, "calls", ".jsonl").unwrap();
        assert!(old("calls.20261127T091500123.jsonl") < old("calls.20261127T091500123-1.jsonl"));
        assert!(old("calls.20261127T091500123-2.jsonl") < old("calls.20261127T091500123-10.jsonl"));
        assert!(rotation_key("calls.2026.jsonl", "calls", ".jsonl").is_none());
        assert!(rotation_key("other.20261127T091500123.jsonl", "calls", ".jsonl").is_none());
    }

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
