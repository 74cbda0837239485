//! Several writers, one chain: 8 threads × 1,000 entries and 4 processes ×
//! 500 entries into one log, on each backend; the result is one valid chain
//! with every entry present exactly once.
//!
//! The processes are this test binary run again as children (the test
//! `audit_child_writer`, which does nothing unless `AUDIT_CHILD_ROLE` is set).

#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use llm_traced::audit::{Action, AuditLog, FileOptions, Fsync, Head, NewEntry};
use serde_json::json;

const THREADS: u64 = 8;
const PER_THREAD: u64 = 1_000;
const PROCESSES: u64 = 4;
const PER_PROCESS: u64 = 500;

/// Opens the log at `target`: `file:PATH`, `sqlite://PATH` or a PostgreSQL URL.
fn open(target: &str) -> AuditLog {
    if let Some(path) = target.strip_prefix("file:") {
        AuditLog::open_file(
            path,
            FileOptions::new()
                .fsync(Fsync::Never)
                .head_file(format!("{path}.head")),
        )
        .expect("open file log")
    } else {
        AuditLog::open_url(target).expect("open log")
    }
}

fn write(log: &AuditLog, writer: u64, count: u64) {
    for i in 0..count {
        log.append(
            NewEntry::new(Action::Query, "model")
                .user(format!("writer-{writer}"))
                .content(format!("prompt {writer}/{i}"))
                .details(json!({"writer": writer, "i": i})),
        )
        .unwrap_or_else(|e| panic!("writer {writer}, entry {i}: {e}"));
    }
}

/// The log is one valid chain holding each (writer, i) exactly once.
fn check(target: &str, writers: u64, per_writer: u64) -> Head {
    let log = open(target);
    let head = log.head().unwrap();
    let report = log.verify(Some(&head)).unwrap();
    assert!(report.is_ok(), "{target}: {report}");
    let total = writers * per_writer;
    assert_eq!(report.entries, total, "{target}: {report}");
    assert_eq!(head.seq, total);
    let entries = log.entries().unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let seen: BTreeSet<(u64, u64)> = entries
        .iter()
        .map(|e| {
            (
                e.details["writer"].as_u64().unwrap(),
                e.details["i"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len() as u64, total, "{target}: an entry is missing");
    head
}

fn threads(target: &str) {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            // Each thread its own handle (connection, file descriptor): the
            // storage's lock, not a mutex in this process, orders them.
            s.spawn(move || write(&open(target), t, PER_THREAD));
        }
    });
    let written = started.elapsed();
    check(target, THREADS, PER_THREAD);
    eprintln!(
        "{target}: {THREADS} threads × {PER_THREAD} entries in {written:.2?} ({:.0} entries/s)",
        (THREADS * PER_THREAD) as f64 / written.as_secs_f64()
    );
}

fn processes(target: &str) {
    let started = Instant::now();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let mut cmd = std::process::Command::new(&exe);
            cmd.args([
                "audit_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ]);
            for (var, _) in std::env::vars() {
                if var.starts_with("LLM_") {
                    cmd.env_remove(var);
                }
            }
            cmd.env("AUDIT_CHILD_ROLE", "writer")
                .env("AUDIT_CHILD_TARGET", target)
                .env("AUDIT_CHILD_ID", p.to_string())
                .env("AUDIT_CHILD_COUNT", PER_PROCESS.to_string())
                .env("LLM_TRACED_CHILD", "1")
                .spawn()
                .expect("start child")
        })
        .collect();
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a child writer failed: {status}");
    }
    let written = started.elapsed();
    check(target, PROCESSES, PER_PROCESS);
    eprintln!(
        "{target}: {PROCESSES} processes × {PER_PROCESS} entries in {written:.2?} (process start included)"
    );
}

/// The child's side of [`processes`].
#[test]
fn audit_child_writer() {
    if std::env::var("AUDIT_CHILD_ROLE").as_deref() != Ok("writer") {
        return;
    }
    let target = std::env::var("AUDIT_CHILD_TARGET").unwrap();
    let id: u64 = std::env::var("AUDIT_CHILD_ID").unwrap().parse().unwrap();
    let count: u64 = std::env::var("AUDIT_CHILD_COUNT").unwrap().parse().unwrap();
    write(&open(&target), id, count);
}

fn file_target(dir: &Path) -> String {
    format!("file:{}", dir.join("audit.jsonl").display())
}

#[test]
fn file_threads_write_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let target = file_target(dir.path());
    threads(&target);
    // Every handle advanced the shared head file; it ends at the last entry.
    let head = Head::read(dir.path().join("audit.jsonl.head")).unwrap();
    assert_eq!(head.seq, THREADS * PER_THREAD);
    let report =
        llm_traced::audit::verify_file(dir.path().join("audit.jsonl"), None, Some(head)).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn file_processes_write_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let target = file_target(dir.path());
    processes(&target);
    let head = Head::read(dir.path().join("audit.jsonl.head")).unwrap();
    assert_eq!(head.seq, PROCESSES * PER_PROCESS);
}

#[test]
fn shared_handle_threads_write_one_chain() {
    // One `AuditLog` shared by threads (its mutex plus the file lock).
    let dir = tempfile::tempdir().unwrap();
    let target = file_target(dir.path());
    let log = open(&target);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = &log;
            s.spawn(move || write(log, t, 250));
        }
    });
    check(&target, THREADS, 250);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_threads_write_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    threads(&format!(
        "sqlite://{}",
        dir.path().join("audit.db").display()
    ));
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_processes_write_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    processes(&format!(
        "sqlite://{}",
        dir.path().join("audit.db").display()
    ));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_threads_write_one_chain() {
    let Some(url) = pg::database("threads") else {
        return;
    };
    threads(&url);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_processes_write_one_chain() {
    let Some(url) = pg::database("processes") else {
        return;
    };
    processes(&url);
}
